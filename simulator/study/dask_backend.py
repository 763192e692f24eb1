"""Run batches of replications on a Dask cluster (``--backend dask``).

Only :mod:`simulator.study.runner` imports this module, and only for the Dask backend,
so ``dask``/``distributed`` stay optional and out of the start-up path: they are
imported inside :func:`run_batches_dask`.

Each batch is one task calling :func:`simulator.study.runner.run_batch`; the scenario
is scattered to the workers once. Tasks finish in any order, but the batches
are yielded in the order they were given (finished ones wait in a buffer), so
the runner's table is identical to a serial run whatever the worker count.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.data.scenario import Scenario
    from simulator.study.runner import Batch

__all__ = [
    "CONNECT_TIMEOUT_S",
    "NO_WORKERS_TIMEOUT_S",
    "BackendError",
    "require_dask",
    "run_batches_dask",
]


class BackendError(ValueError):
    """The Dask backend cannot run: the scheduler is unreachable (bad input, exit code 2)."""


def require_dask() -> None:
    """Check that the optional Dask packages are installed, without importing them.

    Raises:
        BackendError: ``dask`` or ``distributed`` is missing; the message says
            what to install.

    """
    from importlib.util import find_spec

    missing = [name for name in ("dask", "distributed") if find_spec(name) is None]
    if missing:
        raise BackendError(
            f"--backend dask: needs the optional package{'s' * (len(missing) > 1)} "
            f"{' and '.join(missing)}; install them with: pip install 'supplysim[dask]'"
        )


CONNECT_TIMEOUT_S = 10
"""Seconds to wait for a remote scheduler before giving up."""
NO_WORKERS_TIMEOUT_S = 120
"""Seconds a run waits on a cluster with no worker at all before it reports the loss."""
WATCH_S = 2
"""How often, while no batch finishes, the run checks that the cluster still has workers."""


def _connect(scheduler: str | None, workers: int):
    """Return ``(client, cluster)``: a new local cluster, or a client of ``scheduler``.

    Raises:
        BackendError: the scheduler could not be reached within ``CONNECT_TIMEOUT_S``.

    """
    from distributed import Client, LocalCluster

    if scheduler is None:
        with _ctrl_c_ignored():
            cluster = _local_cluster(LocalCluster, workers)
        try:
            return Client(cluster), cluster
        except BaseException:
            cluster.close()
            raise
    try:
        client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendError(
            f"--scheduler: cannot reach the Dask scheduler at {scheduler!r} ({reason})"
        ) from None
    return client, None


def _local_cluster(LocalCluster, workers: int):  # noqa: N803 - the class, imported lazily
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # No dashboard; its bare HTTP server on a free local port, not a busy :8787.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    )


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Start the local workers with Ctrl-C ignored (an ignored signal stays ignored in a child).

    Ctrl-C in a terminal reaches every process of the group. The main process
    stops the run and closes the cluster; workers that took the signal
    themselves would only die first with a traceback each.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


def _check_workers(client, idle_since: float | None, error: type[Exception]) -> float | None:
    """Return since when the cluster has had no worker (None: it has some).

    Raises:
        error: no worker for ``NO_WORKERS_TIMEOUT_S`` seconds, or the scheduler is gone.

    """
    try:
        count = len(client.scheduler_info().get("workers", {}))
    except (OSError, TimeoutError) as exc:
        raise error(f"lost the Dask scheduler ({type(exc).__name__})") from None
    if count:
        return None
    now = time.monotonic()
    if idle_since is not None and now - idle_since > NO_WORKERS_TIMEOUT_S:
        raise error(
            f"the Dask cluster has had no worker for {NO_WORKERS_TIMEOUT_S} s; "
            "the remaining batches cannot run"
        )
    return idle_since if idle_since is not None else now


def run_batches_dask(
    scenario: Scenario,
    batches: list[list[int]],
    workers: int,
    scheduler: str | None,
    engine: str = "simpy",
) -> Iterator[Batch]:
    """Run each batch of replications as a Dask task and yield the results in batch order.

    Args:
        scenario: the validated scenario (sent to the workers once).
        batches: replication indices, one list per task; yielded in this order.
        workers: worker processes of the local cluster (ignored with ``scheduler``).
        scheduler: address of a running scheduler (``tcp://host:8786``), or None
            for a local cluster of ``workers`` single-threaded processes that is
            closed at the end.
        engine: ``simpy`` or ``fast`` (:func:`simulator.study.runner.run_batch`).

    Yields:
        One :class:`simulator.study.runner.Batch` per batch, in the order of ``batches``.

    Raises:
        BackendError: Dask is not installed, or the scheduler could not be reached.
        WorkerLost: a task's workers kept dying (Dask gave up on it: ``KilledWorker``),
            the scheduler was lost, or the cluster had no worker for
            ``NO_WORKERS_TIMEOUT_S`` seconds: an error, never a hang.

    """
    if not batches:
        return
    require_dask()
    from distributed import KilledWorker, wait

    from simulator.study.runner import WorkerLost, run_batch

    client, cluster = _connect(scheduler, workers)
    futures = []
    try:
        try:
            [remote] = client.scatter([scenario], broadcast=True, hash=False)
        except TimeoutError:
            raise WorkerLost("the Dask cluster has no worker to send the scenario to") from None
        run = uuid.uuid4().hex[:12]  # unique keys: a shared scheduler may serve other runs
        futures = [
            client.submit(
                run_batch, remote, batch, engine, pure=False, key=f"supplysim-{run}-batch-{i}"
            )
            for i, batch in enumerate(batches)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        done: dict[int, Batch] = {}
        following = 0
        pending = set(futures)
        idle_since: float | None = None
        while pending:
            try:
                finished, pending = wait(pending, timeout=WATCH_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                finished = set()
            except CancelledError:
                raise WorkerLost(
                    "Dask dropped the run's tasks (the workers holding its data were lost, "
                    "or the scheduler restarted)"
                ) from None
            if not finished:
                idle_since = _check_workers(client, idle_since, WorkerLost)
                continue
            idle_since = None
            for future in sorted(finished, key=lambda f: index[f.key]):
                i = index[future.key]
                what = f"batch {i} (replications {batches[i][0]}..{batches[i][-1]})"
                try:
                    done[i] = future.result()
                except KilledWorker:
                    raise WorkerLost(
                        f"Dask workers died while running {what} and Dask gave up on it "
                        "(KilledWorker)"
                    ) from None
                except CancelledError:
                    raise WorkerLost(
                        f"Dask dropped {what} (the scheduler was lost or restarted)"
                    ) from None
                future.release()
            while following in done:
                yield done.pop(following)
                following += 1
    finally:
        pending = [f for f in futures if f.status == "pending"]
        if pending:  # stopped early (error or generator closed): free the workers
            client.cancel(pending)
        client.close()
        if cluster is not None:
            cluster.close()
