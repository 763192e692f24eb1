"""Writing and reading a results folder (Parquet, CSV, JSON metadata).

A folder holds ``scenario.yaml``, ``metadata.json``, ``runs.parquet``,
``summary.csv``, ``differences.csv``, ``daily.parquet`` and, when charts are
made, ``figures/`` and ``report.html``. It is written whole or not at all: the
files go to a temporary sibling folder that is renamed into place at the end,
and an existing folder is replaced only when ``force`` is given.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "REQUIRED_FILES",
    "Results",
    "ResultsError",
    "default_folder",
    "load",
    "write_results",
]

REQUIRED_FILES = (
    "scenario.yaml",
    "metadata.json",
    "runs.parquet",
    "summary.csv",
    "differences.csv",
    "daily.parquet",
)


class ResultsError(ValueError):
    """A results folder cannot be written (it exists) or read (it is not one)."""


@dataclass
class Results:
    """A results folder loaded back into memory."""

    path: Path
    runs: Any
    summary: Any
    differences: Any
    daily: Any
    metadata: dict[str, Any]
    scenario_yaml: str


def default_folder(scenario_name: str, root: Path = Path("results")) -> Path:
    """Return ``results/<scenario>/<timestamp>`` (local time, to the second)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / scenario_name / stamp


def write_results(
    result: Any,
    folder: str | Path,
    force: bool = False,
    finish: Callable[[Path], None] | None = None,
) -> Path:
    """Write a :class:`~simulator.runner.RunResult` to ``folder`` atomically.

    Args:
        result: what :func:`simulator.runner.run_scenario` returned.
        folder: the results folder to create.
        force: replace an existing folder.
        finish: called with the temporary folder after the tables are written
            (charts and report go in there too, so they appear all at once).

    Raises:
        ResultsError: the folder exists and ``force`` is not given.

    """
    target = Path(folder)
    if target.exists() and not force:
        raise ResultsError(
            f"{target}: already exists; use --force to replace it or --out elsewhere"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        (tmp / "scenario.yaml").write_text(result.scenario.to_yaml(), encoding="utf-8")
        (tmp / "metadata.json").write_text(
            json.dumps(result.metadata, indent=2, default=str) + "\n", encoding="utf-8"
        )
        result.runs.to_parquet(tmp / "runs.parquet", index=False)
        result.daily.to_parquet(tmp / "daily.parquet", index=False)
        result.summary.to_csv(tmp / "summary.csv", index=False)
        result.differences.to_csv(tmp / "differences.csv", index=False)
        if finish is not None:
            finish(tmp)
        os.chmod(tmp, 0o755)
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def load(folder: str | Path) -> Results:
    """Read a results folder.

    Raises:
        ResultsError: the folder is missing or lacks one of the required files.

    """
    import pandas as pd

    path = Path(folder)
    if not path.is_dir():
        raise ResultsError(f"{path}: no such results folder")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ResultsError(f"{path}: not a results folder (missing {', '.join(missing)})")
    return Results(
        path=path,
        runs=pd.read_parquet(path / "runs.parquet"),
        summary=pd.read_csv(path / "summary.csv"),
        differences=pd.read_csv(path / "differences.csv"),
        daily=pd.read_parquet(path / "daily.parquet"),
        metadata=json.loads((path / "metadata.json").read_text(encoding="utf-8")),
        scenario_yaml=(path / "scenario.yaml").read_text(encoding="utf-8"),
    )
