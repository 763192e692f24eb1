"""Runs behind the app: a cache of results by scenario, and runs a newer request supersedes.

The explorer asks for a run on every slider move. :class:`Simulations` answers from a
cache keyed by the scenario's content hash (which includes its seed and replications)
when it can, and otherwise runs :func:`simulator.study.runner.run_scenario` on a worker
thread. Requests belong to a *lane* (one per browser session); a newer request in a lane
supersedes the older one: a superseded run that has not started is skipped, and one
that is running stops after its current batch of replications (the runner calls back
after every batch, and the callback raises :class:`Superseded`). Results are identical
to ``supplysim run`` with the same scenario (serial backend; the ``auto`` engine).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from simulator.data.scenario import Scenario

__all__ = ["Outcome", "ResultCache", "Simulations", "Superseded"]


class Superseded(Exception):
    """A run was dropped because a newer request in its lane came in."""


@dataclass(frozen=True)
class Outcome:
    """One finished run, as the pages show it."""

    scenario: Scenario
    runs: Any  # pandas.DataFrame: one row per replication × policy × SKU (+ "ALL")
    summary: Any  # pandas.DataFrame: mean, sd, 95 % CI, percentiles per policy × metric
    daily: Any  # pandas.DataFrame: daily percentile bands per policy
    differences: Any  # pandas.DataFrame: paired differences against the baseline
    metadata: dict[str, Any]
    seconds: float
    """Wall time of the simulation itself (0 for an answer from the cache)."""
    cached: bool = False


class ResultCache:
    """A bounded, thread-safe map from a scenario's content hash to its :class:`Outcome`.

    Least recently used entries go first. The hash covers every field of the
    resolved scenario, seed and replications included, so equal keys mean equal runs.
    """

    def __init__(self, max_entries: int = 64) -> None:
        """Create an empty cache holding at most ``max_entries`` results."""
        if max_entries < 1:
            raise ValueError(f"max_entries: must be >= 1, got {max_entries}")
        self.max_entries = max_entries
        self._items: OrderedDict[str, Outcome] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(scenario: Scenario) -> str:
        """Return the cache key of a scenario: its content hash."""
        return scenario.content_hash()

    def get(self, scenario: Scenario) -> Outcome | None:
        """Return the cached outcome of ``scenario`` (marked ``cached``), or None."""
        key = self.key(scenario)
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        return Outcome(**{**hit.__dict__, "cached": True, "seconds": 0.0})

    def put(self, outcome: Outcome) -> None:
        """Store an outcome, dropping the least recently used beyond the bound."""
        key = self.key(outcome.scenario)
        with self._lock:
            self._items[key] = outcome
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        """Return the number of cached results."""
        return len(self._items)


class Simulations:
    """Run scenarios on worker threads, cached, newest request per lane first.

    Args:
        cache: where results are kept (a new 64-entry cache when omitted).
        workers: threads running simulations at once. One is right on a small
            machine: runs share the cores anyway, and a queue keeps a burst of
            requests from slowing each other down.
        engine: ``auto`` (the fast engine where it supports the scenario), ``fast``
            or ``simpy`` (:func:`simulator.study.runner.resolve_engine`).

    """

    def __init__(self, cache: ResultCache | None = None, workers: int = 1,
                 engine: str = "auto") -> None:  # fmt: skip
        """Start the worker pool (threads are created on first use)."""
        self.cache = cache if cache is not None else ResultCache()
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="supplysim-run")
        self._lock = threading.Lock()
        self._wanted: dict[str, str] = {}  # lane -> the scenario key it asked for last
        self._inflight: dict[tuple[str, str], Future] = {}
        self.superseded = 0

    def submit(self, scenario: Scenario, lane: str = "default") -> Future:
        """Ask for a run; return a future of its :class:`Outcome`.

        A cached result comes back as an already finished future. Otherwise the run is
        queued, and every earlier request of the same lane for another scenario is
        superseded (its future fails with :class:`Superseded` unless it finished
        first). The same scenario asked for again while it runs shares that run.
        """
        key = ResultCache.key(scenario)
        with self._lock:
            self._wanted[lane] = key
        hit = self.cache.get(scenario)
        if hit is not None:
            done: Future = Future()
            done.set_result(hit)
            return done
        with self._lock:
            running = self._inflight.get((lane, key))
            if running is not None and not running.done():
                return running
            future = self._pool.submit(self._run, scenario, lane, key)
            self._inflight[(lane, key)] = future
        future.add_done_callback(lambda f, k=(lane, key): self._forget(k, f))
        return future

    def _forget(self, key: tuple[str, str], future: Future) -> None:
        """Drop a finished run from the in-flight map."""
        with self._lock:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    def run(self, scenario: Scenario, lane: str = "default") -> Outcome:
        """Run (or fetch) a scenario and wait for it."""
        return self.submit(scenario, lane).result()

    def _current(self, lane: str, key: str) -> bool:
        """Whether a scenario is still what its lane wants."""
        with self._lock:
            return self._wanted.get(lane) == key

    def _run(self, scenario: Scenario, lane: str, key: str) -> Outcome:
        """Simulate on a worker thread; stop between batches once superseded."""
        from simulator.study.runner import run_scenario

        def check(done: int, total: int) -> None:
            if not self._current(lane, key):
                raise Superseded(f"{lane}: superseded after {done} of {total} replications")

        check(0, scenario.replications)
        hit = self.cache.get(scenario)  # another lane may have run it meanwhile
        if hit is not None:
            return hit
        started = time.perf_counter()
        try:
            result = run_scenario(scenario, backend="serial", engine=self.engine,
                                  progress=check, command="supplysim app")  # fmt: skip
        except Superseded:
            with self._lock:
                self.superseded += 1
            raise
        outcome = Outcome(scenario, result.runs, result.summary, result.daily,
                          result.differences, result.metadata,
                          time.perf_counter() - started)  # fmt: skip
        self.cache.put(outcome)
        return outcome

    def shutdown(self) -> None:
        """Stop taking runs; let the running one finish (queued ones are cancelled)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
