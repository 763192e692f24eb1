"""Data safety and reliability: folders, bad input, stopping, resuming, reproducing.

Every data-loss defect of the reliability issue has a test here that lost data
(or hung, or crashed) before the fix. In-process tests use click's CliRunner in
``tmp_path``; stopping is tested on real ``supplysim`` subprocesses with real
signals, and their worker processes are checked to be gone.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import TINY

from simulator.cli import cli
from simulator.study import runner as runner_mod
from simulator.study import workspace
from simulator.study.results import REQUIRED_FILES

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and rename")

EXE = [sys.executable, "-c", "from simulator.cli import main; main()"]


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def one_line_error(res, *needles: str) -> str:
    """Assert a CliRunner result is exit 2 with one line and no traceback; return the line."""
    assert res.exit_code == 2, res.output
    out = lines(res.output)
    assert len(out) == 1, res.output
    assert "Traceback" not in res.output and "internal error" not in res.output
    for needle in needles:
        assert needle in out[0], out[0]
    return out[0]


def tiny_file(path: str = "s.yaml", **changes) -> str:
    data = copy.deepcopy(TINY)
    data.update(changes)
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))
    return path


QUICK = ["run", "classroom", "-n", "3", "--no-plots", "-q", "-w", "1"]


# --------------------------------------------------------------------------- --force


def test_force_refuses_a_folder_holding_other_files(runner):
    out = Path("out")
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes")
    (out / "sub" / "data.csv").write_text("1,2")
    res = runner.invoke(cli, [*QUICK, "--out", "out", "--force"])
    one_line_error(res, "notes.txt", "never replaced")
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "sub" / "data.csv").read_text() == "1,2"
    assert sorted(p.name for p in Path(".").iterdir()) == ["out"]  # no temporary folder left


def test_force_refuses_a_plain_file(runner):
    Path("out").write_text("precious")
    for extra in ([], ["--force"]):
        res = runner.invoke(cli, [*QUICK, "--out", "out", *extra])
        one_line_error(res, "is a file")
        assert Path("out").read_text() == "precious"


def test_force_replaces_an_empty_folder_and_a_supplysim_folder(runner):
    Path("out").mkdir()
    assert runner.invoke(cli, [*QUICK, "--out", "out"]).exit_code == 0  # empty: no --force needed
    first = Path("out/runs.parquet").read_bytes()
    res = runner.invoke(cli, [*QUICK, "--out", "out", "--seed", "5", "--force"])
    assert res.exit_code == 0, res.output
    assert Path("out/runs.parquet").read_bytes() != first
    assert sorted(p.name for p in Path(".").iterdir()) == ["out"]


# --------------------------------------------------------------------------- default folders


def test_default_folder_is_claimed_before_the_run_and_unique(runner, monkeypatch):
    monkeypatch.setattr(workspace, "stamp", lambda: "20260101-120000")
    seen = []
    real = runner_mod.run_scenario

    def spy(scn, **kw):
        seen.append(sorted(p.name for p in Path("results/classroom").iterdir()))
        return real(scn, **kw)

    monkeypatch.setattr(runner_mod, "run_scenario", spy)
    outs = []
    for _ in range(3):
        res = runner.invoke(cli, QUICK)
        assert res.exit_code == 0, res.output
        outs.append(res.output.strip())
    assert outs == [
        "results/classroom/20260101-120000",
        "results/classroom/20260101-120000-2",
        "results/classroom/20260101-120000-3",
    ]
    # the folder and its work folder exist (claimed) while the simulation runs
    assert seen[1] == [".20260101-120000-2.tmp", "20260101-120000", "20260101-120000-2"]
    for out in outs:
        assert all((Path(out) / f).is_file() for f in REQUIRED_FILES)


def test_runs_started_together_all_survive(tmp_path):
    # Three real processes, all given the same timestamp: each must claim its own folder.
    code = (
        "import simulator.study.workspace as w; w.stamp = lambda: '20260101-120000'; "
        "from simulator.cli import main; main()"
    )
    args = ["run", "classroom", "-n", "4", "--no-plots", "-q", "-w", "1"]
    procs = [
        subprocess.Popen([sys.executable, "-c", code, *args], cwd=tmp_path, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]  # fmt: skip
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    folders = sorted(out.strip() for out, _ in results)
    assert len(set(folders)) == 3
    for folder in folders:
        assert all((tmp_path / folder / f).is_file() for f in REQUIRED_FILES), folder
    left = sorted(p.name for p in (tmp_path / "results" / "classroom").iterdir())
    assert left == sorted(Path(f).name for f in folders)  # no temporary folders


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("start_date: 2026-13-01", "start_date: must be a real calendar date, got 2026-13-01"),
        ("start_date: 2026-07-32", "start_date: must be a real calendar date"),
        ("start_date: '2026-02-30'", "start_date: must be a real calendar date"),
    ],
)
def test_impossible_start_dates_are_input_errors(runner, text, field):
    path = tiny_file()
    Path(path).write_text(Path(path).read_text() + text + "\n")
    for cmd in (["run", path, "--no-plots"], ["validate", path]):
        one_line_error(runner.invoke(cli, cmd), field)
    assert not Path("results").exists()


def test_impossible_window_date_names_the_field(runner):
    path = tiny_file()
    data = yaml.safe_load(Path(path).read_text())
    data["suppliers"]["s"]["disruptions"] = [{"kind": "port_closure", "start": "X", "end": "Y"}]
    text = yaml.safe_dump(data).replace("start: X", "start: 2026-02-30").replace(
        "end: Y", "end: 2026-03-05"
    )
    Path(path).write_text(text)
    one_line_error(
        runner.invoke(cli, ["validate", path]),
        "suppliers.s.disruptions[0].start: must be a real calendar date, got 2026-02-30",
        "day is out of range for month",
    )


@pytest.mark.parametrize("out", [".", "..", "results/.."])
def test_out_naming_no_folder_is_an_input_error(runner, out):
    one_line_error(runner.invoke(cli, [*QUICK, "-o", out]), "--out")
    one_line_error(runner.invoke(cli, [*QUICK, "-o", out, "--force"]), "--out")
    assert sorted(p.name for p in Path(".").iterdir()) == []


def test_binary_and_non_utf8_files_are_input_errors(runner):
    Path("bin.yaml").write_bytes(bytes(range(256)) * 4)
    Path("latin1.yaml").write_bytes("name: café\n".encode("latin-1"))
    for name in ("bin.yaml", "latin1.yaml"):
        for cmd in ("run", "validate"):
            one_line_error(runner.invoke(cli, [cmd, name]), name, "UTF-8")


def test_dask_backend_without_dask_names_the_extra(runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    res = runner.invoke(cli, [*QUICK, "--backend", "dask"])
    one_line_error(res, "pip install 'supplysim[dask]'")
    assert not Path("results").exists()


def test_window_missing_the_simulated_days_is_an_error(runner):
    # a closure typed with last year's date, and a campaign on day 400 of an 8-day horizon
    path = tiny_file(start_date="2026-01-01")
    data = yaml.safe_load(Path(path).read_text())
    data["suppliers"]["s"]["disruptions"] = [
        {"kind": "port_closure", "start": "2025-01-02", "end": "2025-01-05"}
    ]
    Path(path).write_text(yaml.safe_dump(data))
    for cmd in (["validate", path], ["run", path, "--no-plots"]):
        one_line_error(
            runner.invoke(cli, cmd),
            "suppliers.s.disruptions[0]: must overlap the simulated days 0..7",
            "2025-01-02",
        )
    del data["suppliers"]["s"]["disruptions"]
    data["skus"][0]["demand"]["campaigns"] = [{"start_day": 400, "end_day": 414, "uplift": 2}]
    Path(path).write_text(yaml.safe_dump(data))
    one_line_error(runner.invoke(cli, ["validate", path]), "skus[0].demand.campaigns[0]", "400")


def test_window_partly_outside_warns_in_validate_and_run(runner):
    path = tiny_file()
    data = yaml.safe_load(Path(path).read_text())
    data["skus"][0]["demand"]["campaigns"] = [{"start_day": 5, "end_day": 20, "uplift": 2}]
    Path(path).write_text(yaml.safe_dump(data))
    for cmd in (["validate", path], ["run", path, "--no-plots", "-q", "-o", "out"]):
        res = runner.invoke(cli, cmd)
        assert res.exit_code == 0, res.output
        warning = [ln for ln in lines(res.output) if "warning" in ln]
        assert len(warning) == 1
        assert "skus[0].demand.campaigns[0]: partly outside the simulated days 0..7" in warning[0]


# --------------------------------------------------------------------------- stopping and resuming in-process


def interrupt_after(monkeypatch, calls: int, exc: BaseException) -> None:
    """Make the serial backend's third (say) batch raise, as a signal would."""
    real = runner_mod.run_batch
    count = {"n": 0}

    def flaky(scenario, reps, engine="simpy"):
        count["n"] += 1
        if count["n"] > calls:
            raise exc
        return real(scenario, reps, engine)

    monkeypatch.setattr(runner_mod, "run_batch", flaky)


def test_interrupted_run_keeps_checkpoints_and_resumes_identically(runner, monkeypatch):
    args = ["run", "classroom", "-n", "40", "--no-plots", "-q", "-w", "1"]
    assert runner.invoke(cli, [*args, "-o", "whole"]).exit_code == 0
    with monkeypatch.context() as m:
        interrupt_after(m, 3, KeyboardInterrupt())
        res = runner.invoke(cli, [*args, "-o", "part"])
    assert res.exit_code == 130
    msg = lines(res.output)
    assert len(msg) == 1 and msg[0].startswith("stopped by Ctrl-C with 30 of 40 replications")
    assert msg[0].endswith(
        "resume with: supplysim run classroom -n 40 -w 1 --no-plots -q --out part --resume"
    )
    assert not Path("part").exists() and Path(".part.tmp/batches").is_dir()
    # a run without --resume does not silently drop the checkpoints
    res = runner.invoke(cli, [*args, "-o", "part"])
    one_line_error(res, "--resume", "30 of 40")
    # checkpoints of another run are refused
    one_line_error(runner.invoke(cli, [*args, "-o", "part", "--resume", "--seed", "3"]), "seed")
    res = runner.invoke(cli, [*args, "-o", "part", "--resume"])
    assert res.exit_code == 0, res.output
    assert Path("part/runs.parquet").read_bytes() == Path("whole/runs.parquet").read_bytes()
    assert Path("part/daily.parquet").read_bytes() == Path("whole/daily.parquet").read_bytes()
    meta = json.loads(Path("part/metadata.json").read_text())
    assert meta["resumed_replications"] == 30
    assert sorted(p.name for p in Path(".").iterdir()) == ["part", "whole"]


def test_resume_with_other_workers_uses_replication_ranges(runner, monkeypatch):
    # checkpoints made by batches of one size are resumed with another split
    args = ["run", "classroom", "-n", "30", "--no-plots", "-q"]
    assert runner.invoke(cli, [*args, "-w", "1", "-o", "whole"]).exit_code == 0
    with monkeypatch.context() as m:
        interrupt_after(m, 2, KeyboardInterrupt())  # batches of 8: replications 0..15 kept
        assert runner.invoke(cli, [*args, "-w", "1", "-o", "part"]).exit_code == 130
    # two processes split the remaining 14 into batches of 2
    res = runner.invoke(cli, [*args, "-w", "2", "--backend", "processes", "-o", "part", "--resume"])
    assert res.exit_code == 0, res.output
    assert Path("part/runs.parquet").read_bytes() == Path("whole/runs.parquet").read_bytes()


def test_resume_without_out_finds_the_interrupted_default_run(runner, monkeypatch):
    args = ["run", "classroom", "-n", "10", "--no-plots", "-q", "-w", "1"]
    with monkeypatch.context() as m:
        interrupt_after(m, 2, KeyboardInterrupt())
        res = runner.invoke(cli, args)
    assert res.exit_code == 130
    [work] = Path("results/classroom").glob(".*.tmp")
    res = runner.invoke(cli, [*args, "--resume"])
    assert res.exit_code == 0, res.output
    assert res.output.strip().endswith(work.name[1:-4])
    assert not work.exists()


def test_interrupted_while_writing_resumes_from_complete_checkpoints(runner, monkeypatch):
    import simulator.study.results as results_mod

    args = ["run", "classroom", "-n", "6", "-q", "-w", "1", "-o", "out"]
    with monkeypatch.context() as m:
        def stop(result, folder):
            raise KeyboardInterrupt

        m.setattr(results_mod, "write_tables", stop)
        res = runner.invoke(cli, args)
    assert res.exit_code == 130
    assert "with 6 of 6 replications done" in res.output
    assert not Path("out").exists()
    res = runner.invoke(cli, [*args, "--resume"])
    assert res.exit_code == 0, res.output
    assert all((Path("out") / f).is_file() for f in (*REQUIRED_FILES, "report.html"))
    assert sorted(p.name for p in Path(".").iterdir()) == ["out"]


def test_a_live_run_s_work_folder_is_not_taken_over(runner):
    identity = {"scenario": "x", "scenario_hash": "h", "seed": 1, "replications": 2}
    first = workspace.Workspace.claim(Path("out"), identity)
    try:
        for resume in (False, True):
            res = runner.invoke(cli, [*QUICK, "-o", "out", "--force", *(["--resume"] * resume)])
            one_line_error(res, f"another supplysim run (pid {os.getpid()}) is writing it now")
    finally:
        first.discard()
    assert sorted(p.name for p in Path(".").iterdir()) == []


def test_a_dead_worker_is_an_error_and_leaves_no_folder(runner, monkeypatch):
    monkeypatch.setattr(runner_mod, "run_batch", _die)  # forked workers inherit the patch
    res = runner.invoke(cli, [*QUICK[:-2], "-w", "2", "--backend", "processes", "-o", "out"])
    assert res.exit_code == 1, res.output
    out = lines(res.output)
    assert len(out) == 1 and out[0].startswith("error: a worker process died ("), out
    assert out[0].endswith("before any batch finished; nothing was written")
    assert sorted(p.name for p in Path(".").iterdir()) == []


def _die(scenario, reps, engine="simpy"):
    os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- rerun


def test_rerun_reports_identical_then_the_first_differing_row(runner):
    import pandas as pd

    assert runner.invoke(cli, [*QUICK, "-o", "r"]).exit_code == 0
    res = runner.invoke(cli, ["rerun", "r", "-w", "1"])
    assert res.exit_code == 0, res.output
    assert lines(res.output)[-1].startswith("identical: r/runs.parquet reproduced byte for byte")
    res = runner.invoke(cli, ["rerun", "r", "-w", "1", "--out", "again"])
    assert res.exit_code == 0
    assert Path("again/runs.parquet").read_bytes() == Path("r/runs.parquet").read_bytes()
    runs = pd.read_parquet("r/runs.parquet")
    runs.loc[4, "fill_rate"] += 0.5
    runs.to_parquet("r/runs.parquet", index=False)
    res = runner.invoke(cli, ["rerun", "r", "-w", "1"])
    assert res.exit_code == 1
    last = lines(res.output)[-1]
    assert last.startswith("differs:") and "first difference at row 4" in last
    assert "fill_rate" in last
    one_line_error(runner.invoke(cli, ["rerun", "nowhere"]), "no such results folder")


# --------------------------------------------------------------------------- real signals


def children(pid: int) -> set[int]:
    """Direct children of a process (Linux /proc)."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_and_wait_for_checkpoint(cwd: Path, args: list[str], out: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*EXE, *args, "--out", out], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    batches = cwd / f".{out}.tmp" / "batches"
    while not any(batches.glob("*.parquet")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no batch finished within 60 s"
        time.sleep(0.05)
    return proc


needs_proc = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux /proc")


@needs_proc
@pytest.mark.parametrize(
    ("sig", "group", "code", "word"),
    [(signal.SIGINT, True, 130, "Ctrl-C"), (signal.SIGTERM, False, 143, "SIGTERM")],
)
def test_signal_stops_a_real_run_and_its_workers(tmp_path, sig, group, code, word):
    # long enough (minutes) that only the signal can end it within the test
    args = ["run", "classroom", "-n", "200000", "--no-plots", "-w", "2", "--backend", "processes"]
    proc = start_and_wait_for_checkpoint(tmp_path, args, "big")
    kids = children(proc.pid)
    assert len(kids) >= 2
    t0 = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)  # Ctrl-C in a terminal reaches the whole process group
    else:
        os.kill(proc.pid, sig)  # e.g. a batch system stopping the main process
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    assert proc.returncode == code, err
    assert took < 10, f"took {took:.1f} s to stop"
    deadline = time.monotonic() + 5
    while any(alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [k for k in kids if alive(k)], "orphaned worker processes"
    msg = lines(err)
    assert len(msg) == 1, err
    assert msg[0].startswith(f"stopped by {word} with ") and "--resume" in msg[0]
    assert "of 200,000 replications done" in msg[0]
    assert not (tmp_path / "big").exists()  # the claim is released; checkpoints stay
    assert any((tmp_path / ".big.tmp" / "batches").glob("*.parquet"))


@needs_proc
def test_killed_run_resumes_to_identical_results(tmp_path):
    args = ["run", "classroom", "-n", "800", "--no-plots", "-q", "-w", "2"]
    proc = start_and_wait_for_checkpoint(tmp_path, args, "part")
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    if proc.returncode == 0:  # pragma: no cover - finished before the signal: nothing to resume
        pytest.skip("the run finished before it could be interrupted")
    assert proc.returncode == 130, err
    done = int(err.split(" with ")[1].split(" of ")[0].replace(",", ""))
    assert 0 < done < 800
    resumed = subprocess.run([*EXE, *args, "--out", "part", "--resume"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run([*EXE, *args[:-2], "-w", "1", "--out", "whole"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    a = (tmp_path / "part" / "runs.parquet").read_bytes()
    assert a == (tmp_path / "whole" / "runs.parquet").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part", "whole"]
    meta = json.loads((tmp_path / "part" / "metadata.json").read_text())
    assert meta["resumed_replications"] == done


@needs_proc
@pytest.mark.slow
def test_ctrl_c_stops_a_dask_run_and_closes_its_cluster(tmp_path):
    pytest.importorskip("distributed")
    args = ["run", "classroom", "-n", "200000", "--no-plots", "-w", "2", "--backend", "dask"]
    proc = start_and_wait_for_checkpoint(tmp_path, args, "big")
    kids = children(proc.pid)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert time.monotonic() - t0 < 15
    time.sleep(2)
    assert not [k for k in kids if alive(k)]
    assert len(lines(err)) == 1 and "--resume" in err


def test_losing_the_dask_workers_is_an_error_not_a_hang(monkeypatch):
    distributed = pytest.importorskip("distributed")
    import logging
    import threading

    from simulator.data.scenario import load_scenario
    from simulator.study import dask_backend
    from simulator.study.runner import WorkerLost

    monkeypatch.setattr(runner_mod, "run_batch", _slow)  # in-process workers see the patch
    scn = load_scenario("classroom").with_overrides(replications=2)
    with distributed.LocalCluster(
        n_workers=1, processes=False, dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.CRITICAL,
    ) as cluster:  # fmt: skip
        threading.Timer(0.5, lambda: cluster.scale(0)).start()  # the only worker goes away
        t0 = time.monotonic()
        with pytest.raises(WorkerLost, match="Dask"):
            list(dask_backend.run_batches_dask(scn, [[0], [1]], 1, cluster.scheduler_address))
        assert time.monotonic() - t0 < 10


def _slow(scenario, reps, engine="simpy"):
    time.sleep(2)
