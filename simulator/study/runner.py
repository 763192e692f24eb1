"""Monte Carlo runs: seeds, replications, common random numbers, parallel backends.

Every replication r gets its own random streams from
``SeedSequence(seed, spawn_key=(r, source))`` (see :class:`simulator.model.replication.Streams`);
every policy in that replication sees the same demand path and lead-time
streams (common random numbers). Results depend only on (scenario, seed,
replication index), so the serial, process and Dask backends give identical
tables whatever the worker count.
"""

from __future__ import annotations

import gc
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.data.scenario import Scenario
from simulator.model.policies import abc_classes, policy_classes, service_target
from simulator.model.replication import Streams, build_policies, draw_demand, make_plans, simulate
from simulator.study.metrics import DAILY_FIELDS, daily_paths, replication_rows

__all__ = [
    "BACKENDS",
    "DAILY_BAND_REPLICATIONS",
    "Batch",
    "RunResult",
    "WorkerLost",
    "check_replications",
    "prepared",
    "resolve_engine",
    "run_batch",
    "run_scenario",
]

BACKENDS = ("serial", "processes", "dask")
DAILY_BAND_REPLICATIONS = 1000
"""Daily percentile bands use the first this-many replications (memory stays flat)."""
PER_SKU_DAILY_LIMIT = 10
"""Per-SKU daily bands are kept for scenarios with at most this many SKUs."""


@dataclass
class Batch:
    """What a batch of replications returns: the rows of ``runs`` and daily paths.

    The rows travel as columns (a list or an array per column): far cheaper to send
    between processes and to turn into a table than one dict per row.
    """

    replications: list[int]
    columns: dict[str, Sequence[Any]]
    """Column name -> values, a list or a numpy array (the fast engine's numbers)."""
    daily: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    """(policy, sku) -> float32 array[replications kept, fields, days]. A one-SKU
    scenario has no ("ALL") keys: its portfolio paths are the SKU's."""

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as one dict each (for inspection and tests)."""
        names = list(self.columns)
        return [
            dict(zip(names, values, strict=True))
            for values in zip(*(_as_list(v) for v in self.columns.values()), strict=True)
        ]


def _as_list(values: Sequence[Any]) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def join_columns(batches: Iterable[Batch]) -> dict[str, Any]:
    """Return the batches' columns end to end, in the order given (for a DataFrame).

    A column every batch holds as an array is joined as one array; any other becomes
    one list (arrays turned into Python values).
    """
    pieces: dict[str, list[Sequence[Any]]] = {}
    for b in batches:
        for name, values in b.columns.items():
            pieces.setdefault(name, []).append(values)
    out: dict[str, Any] = {}
    for name, parts in pieces.items():
        if all(isinstance(v, np.ndarray) for v in parts):
            out[name] = np.concatenate(parts)
        else:
            out[name] = [x for v in parts for x in _as_list(v)]
    return out


def run_batch(scenario: Scenario, replications: list[int], engine: str = "simpy") -> Batch:
    """Simulate the given replications under every policy of the scenario.

    ``engine`` is ``simpy`` (the reference), ``fast`` (the compiled loop,
    :mod:`simulator.model.kernel`) or ``auto`` (``fast`` where it supports the
    scenario); both give the same rows (docs/engines.md).

    Python's cyclic garbage collector is paused while batches run (see
    :func:`_collector_paused`): the model allocates many small containers (a
    day's customer orders, SimPy events), none of them in reference cycles
    worth chasing, and the collector's passes over them cost a busy catalogue a
    quarter of its time (docs/profiling.md).
    """
    if resolve_engine(scenario, engine)[0] == "fast":
        from simulator.study.engines import fast_batch

        return fast_batch(scenario, replications)
    with _collector_paused():
        return _run_batch(scenario, replications)


_ENGINES: dict[tuple[str, str], tuple[str, str]] = {}


def resolve_engine(scenario: Scenario, engine: str) -> tuple[str, str]:
    """Return the engine that runs ``scenario`` (``simpy`` or ``fast``) and why.

    ``auto`` is ``fast`` when the fast engine supports every feature of the scenario,
    else ``simpy`` (:func:`simulator.study.engines.choose_engine`). Remembered per
    scenario content in the process.
    """
    if engine == "simpy":
        return "simpy", "asked for"
    key = (scenario.content_hash(), engine)
    if key not in _ENGINES:
        from simulator.study.engines import choose_engine

        if len(_ENGINES) >= 64:
            _ENGINES.clear()
        _ENGINES[key] = choose_engine(scenario, engine)
    return _ENGINES[key]


_pause_lock = threading.Lock()
_pause = {"batches": 0, "was_enabled": False}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while at least one batch runs in this process.

    The collector is process-wide, so batches running at once in threads (a
    Dask worker with several threads) share one pause: the first to start
    turns it off, the last to finish turns it back on if it was on. The few
    cycles a replication leaves (about eight objects: a SimPy environment) are
    collected then.
    """
    with _pause_lock:
        if _pause["batches"] == 0:
            _pause["was_enabled"] = gc.isenabled()
            gc.disable()
        _pause["batches"] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pause["batches"] -= 1
            if _pause["batches"] == 0 and _pause["was_enabled"]:
                gc.enable()


def check_replications(scenario: Scenario, replications) -> list[str]:
    """Replay replications with the event log and check every invariant of the traces.

    The same seed gives the same traces as the run, so this checks what the run
    measured (:func:`simulator.study.invariants.check_traces`: units conserved,
    nothing negative, backorders first in first out, IP at every review,
    windows respected, the traces equal to the log). One line per violation.
    """
    from simulator.study.invariants import check_traces

    plans, policies = prepared(scenario)
    out: list[str] = []
    for r in replications:
        streams = Streams(scenario.seed, r)
        demand = draw_demand(scenario, streams, plans)
        for name, built in policies.items():
            log: list = []
            traces = simulate(scenario, built, demand, streams, log=log, plans=plans)
            out += check_traces(scenario, traces, log, where=f"replication {r}, policy {name}")
    return out


_PREPARED: dict[str, tuple[list, dict[str, list]]] = {}
_prepared_lock = threading.Lock()


def prepared(scenario: Scenario) -> tuple[list, dict[str, list]]:
    """Return the plans and built policies of a scenario, built once per process.

    They depend on the scenario alone (policies hold no run state), and a
    catalogue's buffers take a second or two to size; every batch a process
    runs reuses them. Keyed by the scenario's content hash; a few are kept.
    """
    key = scenario.content_hash()
    with _prepared_lock:
        if key not in _PREPARED:
            if len(_PREPARED) >= 8:
                _PREPARED.pop(next(iter(_PREPARED)))
            plans = make_plans(scenario)
            _PREPARED[key] = (plans, build_policies(scenario, plans))
        return _PREPARED[key]


def _run_batch(scenario: Scenario, replications: list[int]) -> Batch:
    plans, policies = prepared(scenario)
    classes = {
        name: {p.sku.id: pol.abc_class for p, pol in zip(plans, built, strict=True)}
        for name, built in policies.items()
    }
    per_sku = len(scenario.skus) <= PER_SKU_DAILY_LIMIT
    rows: list[dict[str, Any]] = []
    daily: dict[tuple[str, str], list[np.ndarray]] = {}
    for r in replications:
        streams = Streams(scenario.seed, r)
        demand = draw_demand(scenario, streams, plans)
        for name, built in policies.items():
            traces = simulate(scenario, built, demand, streams, plans=plans)
            rows += replication_rows(
                r, scenario.seed, name, traces, scenario.skus, classes[name]
            )
            if r < DAILY_BAND_REPLICATIONS:
                for sku, arr in daily_paths(traces, scenario.skus, per_sku).items():
                    daily.setdefault((name, sku), []).append(arr.astype(np.float32))
    return Batch(
        replications=list(replications),
        columns={name: [row[name] for row in rows] for name in rows[0]} if rows else {},
        daily={k: np.stack(v) for k, v in daily.items()},
    )


@dataclass
class RunResult:
    """Everything a run produced, before it is written to a results folder."""

    scenario: Scenario
    runs: Any  # pandas.DataFrame, one row per replication × policy × SKU (+ "ALL")
    daily: Any  # pandas.DataFrame of daily bands
    summary: Any  # pandas.DataFrame
    differences: Any  # pandas.DataFrame
    metadata: dict[str, Any]


class WorkerLost(RuntimeError):
    """A worker process (or a Dask worker) died while running a batch: killed, or out of memory."""


def _batches(todo: Sequence[int], workers: int) -> list[list[int]]:
    """Split the replications to run into contiguous batches, a few per worker.

    ``todo`` is ``range(n)`` for a fresh run; a resumed run passes what its
    checkpoints lack, and batches never span a gap (a checkpoint is one
    contiguous range of replications).
    """
    size = max(1, min(50, math.ceil(len(todo) / (workers * 4)))) if todo else 1
    out: list[list[int]] = []
    for r in todo:
        if out and len(out[-1]) < size and out[-1][-1] == r - 1:
            out[-1].append(r)
        else:
            out.append([r])
    return out


def _execute(
    scenario: Scenario,
    backend: str,
    workers: int,
    scheduler: str | None,
    todo: Sequence[int],
    engine: str = "simpy",
) -> Iterator[Batch]:
    """Yield the batches of ``todo`` as they finish (processes: in any order)."""
    batches = _batches(todo, workers)
    if backend == "serial" or (backend == "processes" and workers == 1):
        for b in batches:
            yield run_batch(scenario, b, engine)
    elif backend == "processes":
        yield from _run_in_processes(scenario, batches, workers, engine)
    elif backend == "dask":
        from simulator.study.dask_backend import run_batches_dask

        yield from run_batches_dask(scenario, batches, workers, scheduler, engine)
    else:
        raise ValueError(f"--backend: must be one of {', '.join(BACKENDS)}, got '{backend}'")


def _worker_init() -> None:
    """Leave stopping to the parent: a worker ignores Ctrl-C and dies on SIGTERM.

    Ctrl-C in a terminal reaches the whole process group. A worker that took
    it as ``KeyboardInterrupt`` would hand it back as that batch's result and
    carry on with the next one, so the parent alone decides, and terminates
    the workers. Forked workers inherit the parent's SIGTERM and SIGHUP handlers; the
    default (die) is restored.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _run_in_processes(
    scenario: Scenario, batches: list[list[int]], workers: int, engine: str = "simpy"
) -> Iterator[Batch]:
    """Run batches on a process pool, yielding each as it finishes.

    However the generator ends early (an interrupt, an error, the consumer
    closing it), pending batches are cancelled and the worker processes are
    terminated before it returns: none outlives the run.
    """
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
    futures: list[Future] = []
    procs: list[Any] = []
    finished = False
    try:
        for b in batches:
            futures.append(pool.submit(run_batch, scenario, b, engine))
            if not procs:  # the first submit starts the workers: keep them, to stop them
                procs = list((pool._processes or {}).values())  # or to ask how they died
        for future in as_completed(futures):
            yield future.result()
        finished = True
    except BrokenProcessPool:
        codes = sorted({-p.exitcode for p in procs if p.exitcode is not None and p.exitcode < 0})
        how = f"killed by {', '.join(signal.Signals(c).name for c in codes)}" if codes else "exited"
        raise WorkerLost(f"a worker process died ({how}; out of memory?)") from None
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _stop_pool(pool, procs)


def _stop_pool(pool: ProcessPoolExecutor, procs: list[Any]) -> None:
    """Terminate the workers, wait (briefly) until they are gone, let the pool wind down.

    Nothing is cancelled here: with its workers dead, the pool's own manager
    thread fails every pending batch (``BrokenProcessPool``) and closes its
    queues in order. Cancelling futures under it makes that thread fail
    (Python 3.11 sets an exception on a cancelled future) and print a traceback.
    """
    with _signals_held():
        procs = procs or list((pool._processes or {}).values())
        for p in procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + 3.0
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(1.0)
        manager = getattr(pool, "_executor_manager_thread", None)
        if manager is not None:
            manager.join(2.0)
        pool.shutdown(wait=False)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ignore a second Ctrl-C, SIGTERM or SIGHUP while the workers stop (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    stops = [getattr(signal, name) for name in names if hasattr(signal, name)]
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in stops}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def run_scenario(
    scenario: Scenario,
    backend: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
    done: Sequence[Batch] = (),
    on_batch: Callable[[Batch], None] | None = None,
    engine: str = "simpy",
) -> RunResult:
    """Run every policy of ``scenario`` over its replications and summarise.

    Args:
        scenario: the validated scenario (replications and seed are its own).
        backend: ``serial``, ``processes`` or ``dask``.
        workers: parallel workers (default: all cores; ignored by ``serial``).
        scheduler: Dask scheduler address (``dask`` backend; none = local cluster).
        progress: called as ``progress(done, total)`` after each batch.
        command: the command line that asked for this run (for provenance).
        done: batches already run (checkpoints of an interrupted run); only the
            other replications are simulated. The result is the same either way.
        on_batch: called with each newly finished batch (to checkpoint it).
        engine: ``simpy``, ``fast`` or ``auto`` (:func:`resolve_engine`); the
            engine used and why are in the metadata (``engine``, ``engine_reason``).

    Raises:
        WorkerLost: a worker process died; no result is made from the rest.

    """
    import pandas as pd

    from simulator.study.metrics import daily_bands, paired_differences, summarize

    workers = 1 if backend == "serial" else (workers or os.cpu_count() or 1)
    engine_used, why = resolve_engine(scenario, engine)
    started = time.perf_counter()
    n = scenario.replications
    have = {r for b in done for r in b.replications}
    todo = [r for r in range(n) if r not in have]
    # Batches arrive in any order; they are absorbed in replication order, so the
    # tables are the same as a serial run's whatever the backend, workers or resume.
    starts = sorted([b.replications[0] for b in done] + [b[0] for b in _batches(todo, workers)])
    waiting: dict[int, Batch] = {}
    ordered: list[Batch] = []
    stacks: dict[tuple[str, str], list[np.ndarray]] = {}
    absorbed = 0

    def absorb(batch: Batch) -> None:
        nonlocal absorbed
        waiting[batch.replications[0]] = batch
        while absorbed < len(starts) and starts[absorbed] in waiting:
            b = waiting.pop(starts[absorbed])
            ordered.append(Batch(b.replications, b.columns))  # the rows; daily paths below
            for key, arr in b.daily.items():
                stacks.setdefault(key, []).append(arr)
            absorbed += 1

    count = 0
    for batch in done:
        absorb(batch)
        count += len(batch.replications)
    if progress is not None and count:
        progress(count, n)
    with closing(_execute(scenario, backend, workers, scheduler, todo, engine_used)) as batches:
        for batch in batches:
            if on_batch is not None:
                on_batch(batch)
            absorb(batch)
            count += len(batch.replications)
            if progress is not None:
                progress(count, n)
    if absorbed != len(starts) or count != n:
        raise RuntimeError(f"replications: ran {count} of {n}; refusing to summarise a partial run")

    runs = pd.DataFrame(join_columns(ordered))
    runs = runs.sort_values(["replication"], kind="stable").reset_index(drop=True)
    runs["replication"] = runs["replication"].astype("int64")
    runs["seed"] = runs["seed"].astype("int64")
    full = {k: np.concatenate(v) for k, v in stacks.items()}
    samples = {k: v[0] for k, v in full.items()}
    dates = pd.date_range(pd.Timestamp(scenario.start_date), periods=scenario.horizon_days)
    one = scenario.skus[0].id if len(scenario.skus) == 1 else None
    daily = daily_bands(full, samples, _levels(scenario), dates, portfolio=one)
    baseline = scenario.baseline_policy
    summary = summarize(runs)
    differences = paired_differences(runs, baseline)
    wall = time.perf_counter() - started
    metadata = _metadata(scenario, backend, workers, wall, command)
    metadata["engine"] = engine_used
    metadata["engine_reason"] = why
    return RunResult(scenario, runs, daily, summary, differences, metadata)


def _levels(scenario: Scenario) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Reorder point and order-up-to level of each policy × SKU over the measured days."""
    plans, _ = prepared(scenario)
    out = {}
    w0 = scenario.warmup_days
    for name, built in prepared(scenario)[1].items():
        for plan, pol in zip(plans, built, strict=True):
            rop, upto = pol.levels()
            out[(name, plan.sku.id)] = (
                np.asarray(rop[w0 : scenario.n_days], dtype=float),
                np.asarray(upto[w0 : scenario.n_days], dtype=float),
            )
    return out


def _metadata(
    scenario: Scenario, backend: str, workers: int, wall: float, command: str
) -> dict[str, Any]:
    """Provenance of a run: seeds, versions, backend, timing, what was simulated."""
    import datetime as dt
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("supplysim", "simpy", "numpy", "pandas", "pyarrow", "scipy", "matplotlib",
                "click", "pydantic", "pyyaml", "rich"):  # fmt: skip
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    import platform

    versions["python"] = platform.python_version()
    from simulator.data.distributions import describe

    classes = abc_classes(scenario)
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "policies": list(scenario.policies),
        "baseline": scenario.baseline_policy,
        "horizon_days": scenario.horizon_days,
        "warmup_days": scenario.warmup_days,
        "start_date": scenario.start_date.isoformat(),
        "unmet_demand": scenario.unmet_demand,
        "currency": scenario.currency,
        "backend": backend,
        "workers": workers,
        "wall_time_s": round(wall, 3),
        "scenario_hash": scenario.content_hash(),
        "command": command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": versions,
        "daily_band_replications": min(scenario.replications, DAILY_BAND_REPLICATIONS),
        "daily_fields": list(DAILY_FIELDS),
        "skus": [
            {
                "id": s.id,
                "abc_class": classes[s.id],
                "supplier": s.supplier,
                "unit_cost": s.unit_cost,
                "price": s.price,
            }
            for s in scenario.skus
        ],
        "suppliers": {
            name: {
                "lead_time": f"{describe(sp.lead_time)} days",
                "order_cost": sp.order_cost,
            }
            for name, sp in scenario.suppliers.items()
        },
        "calendar": scenario.calendar(),
        "service_targets": _targets(scenario),
    }


def _targets(scenario: Scenario) -> list[dict[str, Any]]:
    """List the cycle service level each policy aims at, per SKU (policies that set one)."""
    out = []
    for name, spec in scenario.policies.items():
        classes = policy_classes(scenario, spec)
        for s in scenario.skus:
            target = service_target(spec, classes[s.id])
            if target is not None:
                out.append({"policy": name, "sku": s.id, "abc_class": classes[s.id],
                            "target": target})  # fmt: skip
    return out
