"""The Dask backend gives exactly the serial results (tables and Parquet bytes)."""

from __future__ import annotations

import io
import socket

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from click.testing import CliRunner  # noqa: E402

from simulator.cli import cli  # noqa: E402
from simulator.data.scenario import load_scenario  # noqa: E402
from simulator.study.runner import run_scenario  # noqa: E402

REPLICATIONS = 20


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("classroom").with_overrides(replications=REPLICATIONS)


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of 2 single-threaded worker processes, shared by the tests."""
    import logging

    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # No dashboard; its bare HTTP server on a free local port, not a busy :8787.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    ) as c:
        yield c


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def test_dask_runs_equal_serial_exactly(scenario, cluster):
    serial = run_scenario(scenario, backend="serial")
    dask = run_scenario(scenario, backend="dask", workers=2, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(dask.runs, serial.runs, check_exact=True)
    assert _parquet_bytes(dask.runs) == _parquet_bytes(serial.runs)
    pd.testing.assert_frame_equal(dask.daily, serial.daily, check_exact=True)
    assert dask.metadata["backend"] == "dask"


def test_batches_come_back_in_order_whatever_finishes_first(scenario, cluster):
    from simulator.study.dask_backend import run_batches_dask

    # The big first batch finishes last; the small ones must wait for it.
    batches = [list(range(0, 12)), [12], [13], [14, 15]]
    got = list(run_batches_dask(scenario, batches, 2, cluster.scheduler_address))
    assert [b.replications for b in got] == batches
    assert [r["replication"] for r in got[0].rows][0] == 0


def test_unreachable_scheduler_is_one_line_value_error(scenario, monkeypatch):
    from simulator.study import dask_backend
    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ValueError, match=r"^--scheduler: cannot reach") as info:
        list(dask_backend.run_batches_dask(scenario, [[0]], 1, f"tcp://127.0.0.1:{port}"))
    assert "\n" not in str(info.value)


def test_cli_dask_local_cluster_writes_identical_parquet(tmp_path):
    runner = CliRunner()
    common = ["run", "classroom", "-n", str(REPLICATIONS), "--no-plots", "--quiet"]
    out_serial, out_dask = tmp_path / "serial", tmp_path / "dask"
    res = runner.invoke(cli, [*common, "--backend", "serial", "--out", str(out_serial)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        cli, [*common, "--backend", "dask", "--workers", "2", "--out", str(out_dask)]
    )
    assert res.exit_code == 0, res.output
    assert (out_dask / "runs.parquet").read_bytes() == (out_serial / "runs.parquet").read_bytes()
    assert (out_dask / "daily.parquet").read_bytes() == (out_serial / "daily.parquet").read_bytes()


def test_cli_unreachable_scheduler_exits_2_and_writes_nothing(tmp_path, monkeypatch):
    from simulator.study import dask_backend
    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        ["run", "-n", "2", "--no-plots", "--scheduler", f"tcp://127.0.0.1:{port}", "--out", str(out)],
    )
    assert res.exit_code == 2, res.output
    assert "cannot reach the Dask scheduler" in res.output
    assert not out.exists()
