"""Writing and reading a results folder (Parquet, CSV, JSON metadata).

A folder holds ``scenario.yaml``, ``metadata.json``, ``runs.parquet``,
``summary.csv``, ``differences.csv``, ``daily.parquet`` and, when charts are
made, ``figures/`` and ``report.html``. It is written whole or not at all: the
files go to a temporary sibling folder that is renamed into place at the end,
and an existing folder is replaced only when ``force`` is given and supplysim
wrote it (:mod:`simulator.study.workspace` claims, checkpoints and renames).
"""

from __future__ import annotations

import datetime as dt
import json
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
    "write_tables",
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
    """Return ``results/<scenario>/<timestamp>`` (local time, to the second).

    Two runs started in the same second get the same name here; a run claims a
    unique one with :meth:`simulator.study.workspace.Workspace.claim`.
    """
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / scenario_name / stamp


def write_tables(result: Any, folder: Path) -> None:
    """Write the tables of a :class:`~simulator.study.runner.RunResult` into an existing folder."""
    (folder / "scenario.yaml").write_text(result.scenario.to_yaml(), encoding="utf-8")
    (folder / "metadata.json").write_text(
        json.dumps(result.metadata, indent=2, default=str) + "\n", encoding="utf-8"
    )
    result.runs.to_parquet(folder / "runs.parquet", index=False)
    result.daily.to_parquet(folder / "daily.parquet", index=False)
    result.summary.to_csv(folder / "summary.csv", index=False)
    result.differences.to_csv(folder / "differences.csv", index=False)


def write_results(
    result: Any,
    folder: str | Path,
    force: bool = False,
    finish: Callable[[Path], None] | None = None,
) -> Path:
    """Write a :class:`~simulator.study.runner.RunResult` to ``folder`` atomically.

    The folder is claimed and written as a run's would be (see
    :mod:`simulator.study.workspace`): it appears whole or not at all.

    Args:
        result: what :func:`simulator.study.runner.run_scenario` returned.
        folder: the results folder to create.
        force: replace an existing folder, if supplysim wrote it (or it is empty).
        finish: called with the temporary folder after the tables are written
            (charts and report go in there too, so they appear all at once).

    Raises:
        ResultsError: the folder exists and ``force`` is not given, or it holds
            files supplysim did not write.

    """
    from simulator.study.workspace import Workspace

    meta = result.metadata
    identity = {k: meta[k] for k in ("scenario", "scenario_hash", "seed", "replications")}
    ws = Workspace.claim(Path(folder), identity, force=force)

    def write(tmp: Path) -> None:
        write_tables(result, tmp)
        if finish is not None:
            finish(tmp)

    try:
        return ws.commit(write)
    except BaseException:
        ws.discard()
        raise


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
        differences=_read_differences(path / "differences.csv"),
        daily=pd.read_parquet(path / "daily.parquet"),
        metadata=json.loads((path / "metadata.json").read_text(encoding="utf-8")),
        scenario_yaml=(path / "scenario.yaml").read_text(encoding="utf-8"),
    )


def _read_differences(file: Path):
    """Read ``differences.csv``; a one-policy run's (written empty by older versions) too."""
    import pandas as pd

    try:
        return pd.read_csv(file)
    except pd.errors.EmptyDataError:
        from simulator.study.metrics import DIFFERENCE_COLUMNS  # imports scipy: only here

        return pd.DataFrame(columns=list(DIFFERENCE_COLUMNS))
