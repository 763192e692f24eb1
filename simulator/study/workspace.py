"""The results folder of a run in progress: claimed first, checkpointed, renamed into place.

A run claims its destination before it simulates anything, so that two runs
never write to one folder and a finished run is never lost:

* the destination ``DIR`` is created empty with :func:`os.mkdir` (atomic: of
  two runs started in the same second, one gets ``results/x/20260101-120000``,
  the other ``…-120000-2``), unless it already is a folder supplysim wrote and
  ``--force`` was given;
* the work happens in the sibling ``.DIR.tmp``, also made with :func:`os.mkdir`
  and locked (``fcntl.flock``) while the run is alive; each finished batch of
  replications is checkpointed there (``batches/rSTART-END.parquet`` with its
  rows, ``.npz`` with its daily paths);
* at the end the tables go into the work folder, the checkpoints are removed
  and the work folder is renamed onto ``DIR`` (an empty folder is replaced
  atomically; an old results folder is swapped out, then deleted).

An interrupted run leaves its work folder with the checkpoints; ``--resume``
picks them up after checking that the scenario, seed, replications and the
versions that fix the random streams are the same. Nothing else is ever
replaced: ``--force`` replaces only a folder holding supplysim's
``metadata.json``, or an empty one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from simulator.study.results import ResultsError

try:  # POSIX: a lock tells a live run's work folder from an interrupted one's
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the work folder is still exclusive
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MANIFEST",
    "Workspace",
    "check_out_path",
    "is_results_folder",
    "stamp",
]

MANIFEST = "checkpoint.json"
"""The work folder's record of what is being run (scenario hash, seed, versions)."""
BATCHES = "batches"
LOCK = ".lock"
FORMAT = 1
VERSIONED = ("supplysim", "numpy")
"""Packages whose versions fix the random streams: a resume needs the same ones."""


def stamp() -> str:
    """Return the local time to the second, as in default folder names."""
    return time.strftime("%Y%m%d-%H%M%S")


def check_out_path(path: Path) -> None:
    """Refuse an output path that names no folder (``.``, ``..``, ``/``).

    Raises:
        ResultsError: the path's last part is empty, ``.`` or ``..``.

    """
    if path.name in ("", ".", ".."):
        raise ResultsError(
            f"--out: must name a new or supplysim-written folder, got '{path}' "
            "(give a folder name, e.g. --out results/my-run)"
        )


def is_results_folder(path: Path) -> bool:
    """Return whether ``path`` is a folder that supplysim wrote (it holds our metadata.json)."""
    try:
        meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and {"scenario_hash", "seed", "replications"} <= set(meta)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in VERSIONED:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _work_of(target: Path) -> Path:
    return target.parent / f".{target.name}.tmp"


def _listing(path: Path, limit: int = 3) -> str:
    names = sorted(p.name for p in path.iterdir())
    more = f", … ({len(names)} entries)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


@dataclass
class Workspace:
    """A claimed destination folder and the work folder where its run writes.

    Build one with :meth:`claim`; end it with :meth:`commit` (success),
    :meth:`suspend` (interrupted: keep the checkpoints for ``--resume``) or
    :meth:`discard` (failed before anything worth keeping).
    """

    target: Path
    work: Path
    identity: dict[str, Any]
    made_target: bool = False
    """The destination was created (empty) by this run, to claim it."""
    replace: bool = False
    """The destination holds an earlier supplysim folder, swapped out at commit."""
    resumed: bool = False
    """Checkpoints of an interrupted run with the same identity were found."""
    kept: bool = False
    """The finished results could not be renamed into place and stay in the work folder."""
    notes: list[str] = field(default_factory=list)
    """Things the user should know (nothing to resume, a stale work folder replaced)."""
    _lock: IO[str] | None = None

    # ----------------------------------------------------------------- claiming

    @classmethod
    def claim(
        cls,
        target: Path | None,
        identity: dict[str, Any],
        *,
        force: bool = False,
        resume: bool = False,
        root: Path = Path("results"),
    ) -> Workspace:
        """Claim the destination and its work folder before anything is simulated.

        Args:
            target: the ``--out`` folder, or None for ``root/<scenario>/<timestamp>``
                (made unique with ``-2``, ``-3``… when another run took the name).
            identity: what is run: ``scenario`` (name), ``scenario_hash``, ``seed``,
                ``replications``; a resumed run must match it.
            force: replace an earlier supplysim results folder (or an empty
                folder, or the checkpoints of an interrupted run) at ``target``.
            resume: continue from the checkpoints of an interrupted run.
            root: where default folders go.

        Raises:
            ResultsError: the destination is taken or is not ours to replace,
                or the checkpoints are of a different run (one line each).

        """
        identity = {**identity, "versions": _versions()}
        if target is None:
            if resume:
                found = cls._latest_interrupted(root / identity["scenario"], identity)
                if found is not None:
                    target = found
            if target is None:
                ws = cls._claim_default(root / identity["scenario"], identity)
                if resume:
                    ws.notes.append(
                        f"--resume: no interrupted run of '{identity['scenario']}' in "
                        f"{root / identity['scenario']}; starting afresh"
                    )
                return ws
        check_out_path(target)
        ws = cls(target=target, work=_work_of(target), identity=identity)
        ws._claim_target(force=force, resume=resume)
        try:
            ws._claim_work(force=force, resume=resume)
        except BaseException:
            ws._release_target()
            raise
        return ws

    @classmethod
    def _claim_default(cls, parent: Path, identity: dict[str, Any]) -> Workspace:
        parent.mkdir(parents=True, exist_ok=True)
        base = stamp()
        for k in range(1, 10_000):
            target = parent / (base if k == 1 else f"{base}-{k}")
            if _work_of(target).exists():
                continue  # an interrupted run's checkpoints: keep its name for --resume
            try:
                os.mkdir(target)
            except FileExistsError:
                continue
            ws = cls(target=target, work=_work_of(target), identity=identity, made_target=True)
            try:
                ws._claim_work(force=False, resume=False)
            except ResultsError:
                ws._release_target()  # lost a race for the work folder: try the next name
                continue
            except BaseException:
                ws._release_target()
                raise
            return ws
        raise ResultsError(f"{parent}: cannot find a free folder name for {base}")

    def _claim_target(self, force: bool, resume: bool) -> None:
        t = self.target
        if t.is_symlink() or (t.exists() and not t.is_dir()):
            raise ResultsError(
                f"--out: '{t}' is a file, not a results folder; supplysim replaces only "
                "folders it wrote, so choose another --out"
            )
        if t.is_dir():
            if not any(t.iterdir()):
                return  # empty: ours from an interrupted claim, or the user's; rename replaces it
            if not is_results_folder(t):
                raise ResultsError(
                    f"--out: '{t}' holds files supplysim did not write ({_listing(t)}); "
                    "it is never replaced, even with --force: choose another --out"
                )
            if force:
                self.replace = True
                return
            if resume and _work_of(t).exists():
                raise ResultsError(
                    f"{t}: already holds a finished run as well as an interrupted one; add "
                    "--force to replace the finished one with the resumed one"
                )
            if resume:
                raise ResultsError(
                    f"--resume: '{t}' already holds a finished run; nothing to resume "
                    "(use --force without --resume to run it again)"
                )
            raise ResultsError(f"{t}: already exists; use --force to replace it or --out elsewhere")
        t.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(t)
        except FileExistsError:
            raise ResultsError(f"{t}: already exists (another run just claimed it)") from None
        self.made_target = True

    def _claim_work(self, force: bool, resume: bool) -> None:
        w = self.work
        try:
            os.mkdir(w)
            fresh = True
        except FileExistsError:
            fresh = False
        if fresh:
            self._lock_work()
            if resume:
                self.notes.append(f"--resume: no interrupted run at {self.target}; starting afresh")
            self._write_manifest()
            return
        if not w.is_dir() or w.is_symlink():
            raise ResultsError(
                f"{w}: is in the way of the work folder; remove it or choose another --out"
            )
        self._lock_work()  # raises if a live run holds it
        manifest = self._read_manifest()
        if manifest is None:
            self._unlock()
            raise ResultsError(
                f"{w}: exists but holds no supplysim checkpoints; remove it or choose another --out"
            )
        if resume:
            problem = self._mismatch(manifest)
            if problem is None:
                self.resumed = True
                return
            if not force:
                self._unlock()
                raise ResultsError(
                    f"--resume: the checkpoints in {w} {problem}; resume with the same "
                    "scenario and options, or use --force to start over"
                )
        elif not force:
            self._unlock()
            done = self.checkpointed()
            raise ResultsError(
                f"{self.target}: an interrupted run left {done} of {manifest.get('replications')} "
                f"replications checkpointed in {w}; add --resume to continue it, or --force "
                "to start over"
            )
        # --force: the stale checkpoints are ours to drop
        self.notes.append(f"--force: dropped the checkpoints of an interrupted run in {w}")
        shutil.rmtree(w / BATCHES, ignore_errors=True)
        self._write_manifest()

    @classmethod
    def _latest_interrupted(cls, parent: Path, identity: dict[str, Any]) -> Path | None:
        """Return the destination of the newest interrupted run of this very scenario."""
        if not parent.is_dir():
            return None
        found = []
        for w in parent.glob(".*.tmp"):
            try:
                manifest = json.loads((w / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            probe = cls(target=w.parent / w.name[1:-4], work=w, identity=identity)
            if probe._mismatch(manifest) is None:
                found.append((w.stat().st_mtime, probe.target))
        return max(found)[1] if found else None

    def _mismatch(self, manifest: dict[str, Any]) -> str | None:
        """Say how the checkpoints' run differs from this one (None: they match)."""
        mine = self.identity
        for key, what in (("seed", "seed"), ("replications", "replications")):
            if manifest.get(key) != mine[key]:
                return f"are for {what} {manifest.get(key)}, not {mine[key]}"
        if manifest.get("scenario_hash") != mine["scenario_hash"]:
            return (
                f"are for another scenario (hash {manifest.get('scenario_hash')}, "
                f"this one {mine['scenario_hash']})"
            )
        theirs = manifest.get("versions", {})
        for pkg in VERSIONED:
            if theirs.get(pkg) != mine["versions"][pkg]:
                return f"were made with {pkg} {theirs.get(pkg)}, this is {mine['versions'][pkg]}"
        return None

    # ----------------------------------------------------------------- the lock and manifest

    def _lock_work(self) -> None:
        handle = open(self.work / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                pid = handle.read().strip() or "?"
                handle.close()
                raise ResultsError(
                    f"{self.target}: another supplysim run (pid {pid}) is writing it now"
                ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing releases the flock
            self._lock = None

    def _read_manifest(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.work / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("format") == FORMAT else None

    def _write_manifest(self) -> None:
        data = {"format": FORMAT, **self.identity, "target": str(self.target)}
        part = self.work / (MANIFEST + ".part")
        part.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(part, self.work / MANIFEST)

    # ----------------------------------------------------------------- checkpoints

    def save_batch(
        self, replications: list[int], columns: dict[str, list[Any]], daily: dict[Any, np.ndarray]
    ) -> None:
        """Checkpoint one finished batch (a contiguous range of replications).

        The rows go to Parquet, the daily paths to ``.npz``; each file is written
        under a ``.part`` name and renamed, the Parquet last, so a batch counts
        as done only once both are whole.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not replications:
            return
        first, last = replications[0], replications[-1]
        if list(replications) != list(range(first, last + 1)):
            raise ValueError(f"batch: replications must be contiguous, got {replications}")
        folder = self.work / BATCHES
        folder.mkdir(exist_ok=True)
        stem = folder / f"r{first:09d}-{last:09d}"
        keys = list(daily)
        arrays = {f"a{i}": daily[k] for i, k in enumerate(keys)}
        with open(f"{stem}.npz.part", "wb") as fh:
            np.savez(fh, keys=np.array(json.dumps([list(k) for k in keys])), **arrays)
        table = pa.table({name: pa.array(values) for name, values in columns.items()})
        pq.write_table(table, f"{stem}.parquet.part")
        os.replace(f"{stem}.npz.part", f"{stem}.npz")
        os.replace(f"{stem}.parquet.part", f"{stem}.parquet")

    def load_batches(
        self,
    ) -> Iterator[tuple[list[int], dict[str, list[Any]], dict[tuple[str, ...], np.ndarray]]]:
        """Yield ``(replications, columns, daily)`` of every checkpointed batch, in order."""
        import pyarrow.parquet as pq

        for path in sorted((self.work / BATCHES).glob("r*-*.parquet")):
            first, last = (int(x) for x in path.stem[1:].split("-"))
            npz = path.with_suffix(".npz")
            if not npz.is_file():
                continue
            columns = pq.read_table(path).to_pydict()
            with np.load(npz, allow_pickle=False) as data:
                keys = [tuple(k) for k in json.loads(str(data["keys"]))]
                daily = {k: data[f"a{i}"] for i, k in enumerate(keys)}
            yield list(range(first, last + 1)), columns, daily

    def checkpointed(self) -> int:
        """Return how many replications are checkpointed in the work folder."""
        total = 0
        for path in (self.work / BATCHES).glob("r*-*.parquet"):
            first, last = (int(x) for x in path.stem[1:].split("-"))
            total += last - first + 1
        return total

    # ----------------------------------------------------------------- ending

    def commit(self, write: Callable[[Path], None]) -> Path:
        """Write the results with ``write(work)``, drop the checkpoints, rename into place.

        Raises:
            ResultsError: something else filled the destination during the run
                (the results are left in the work folder, and the message says so).

        """
        write(self.work)
        shutil.rmtree(self.work / BATCHES, ignore_errors=True)
        (self.work / MANIFEST).unlink(missing_ok=True)
        (self.work / LOCK).unlink(missing_ok=True)
        if self.replace and self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            self.target.rename(old)
            self.work.rename(self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.rename(self.work, self.target)  # replaces our empty claim atomically
            except OSError:
                self._unlock()
                self.kept = True
                raise ResultsError(
                    f"{self.target}: something else was written there during the run; "
                    f"the complete results are in {self.work}"
                ) from None
        self._unlock()
        return self.target

    def suspend(self) -> None:
        """Stop, keeping the checkpoints for ``--resume``; release the empty claim."""
        self._unlock()
        if not any((self.work / BATCHES).glob("*.parquet")):
            self.discard()
            return
        self._release_target()

    def discard(self) -> None:
        """Stop and remove everything this run wrote (work folder, empty claim)."""
        self._unlock()
        if self.kept:
            return  # the complete results wait there: the error message says so
        shutil.rmtree(self.work, ignore_errors=True)
        self._release_target()

    def _release_target(self) -> None:
        if self.made_target:
            try:
                self.target.rmdir()  # only if still empty: never anyone's files
            except OSError:
                pass
            self.made_target = False


def claim_named(
    out: Path | None, base: str, identity: dict[str, Any], force: bool,
    root: Path = Path("results"),
) -> Workspace:
    """Claim ``out``, or a new folder ``root/<base>-<timestamp>`` (for compare, plan).

    Default names are made unique with ``-2``, ``-3``… when another command took one.

    Raises:
        simulator.study.results.ResultsError: ``out`` is taken (without ``force``) or not ours.

    """
    if out is not None:
        return Workspace.claim(out, identity, force=force)
    base = f"{base}-{stamp()}"
    for k in range(1, 1000):
        target = root / (base if k == 1 else f"{base}-{k}")
        if target.exists() or target.with_name(f".{target.name}.tmp").exists():
            continue
        try:
            return Workspace.claim(target, identity)
        except ResultsError:
            if target.exists():
                continue  # another command took the name between the look and the claim
            raise
    raise ResultsError(f"{root}: cannot find a free folder name for {base}")
