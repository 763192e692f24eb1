"""`supplysim optimize` from the command line: files, exit codes, nothing half-written."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from simulator.cli import cli
from simulator.data.scenario import Scenario

ARGS = ["optimize", "classroom", "--policy", "base_stock", "--param", "S=150:340:95",
        "--minimize", "total_cost", "-n", "30"]  # fmt: skip


def test_optimize_writes_a_runnable_scenario_and_the_search(tmp_path):
    out = tmp_path / "opt"
    res = CliRunner().invoke(cli, [*ARGS, "--target", "fill_rate>=0.95", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Choice: S=" in res.output and "unner-up" in res.output
    for name in ("optimized.yaml", "search.csv", "runs.parquet", "search.png", "metadata.json"):
        assert (out / name).is_file(), name
    scn = Scenario.from_dict(yaml.safe_load((out / "optimized.yaml").read_text()))
    assert "base_stock_optimized" in scn.policies


def test_a_target_no_point_meets_exits_3_in_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "opt"
    res = CliRunner().invoke(cli, [*ARGS, "--target", "fill_rate>=0.9999", "--out", str(out)])
    assert res.exit_code == 3, res.output
    message = res.output.strip()
    assert message.count("\n") == 0 and "cannot be met in the range" in message
    assert "best point reaches" in message and "Traceback" not in message
    assert not out.exists()


def test_bad_parameters_and_targets_are_one_line_exit_2(tmp_path):
    for bad in (["--param", "S=oops"], ["--param", "S=150:340", "--target", "fill_rate>=lots"],
                ["--param", "nope=1:2"]):
        res = CliRunner().invoke(cli, [*ARGS[:4], *bad, "--out", str(tmp_path / "x")])
        assert res.exit_code == 2, (bad, res.output)
        assert res.output.strip().count("\n") == 0 and "Traceback" not in res.output
        assert not (tmp_path / "x").exists()


def test_a_choice_that_fails_verify_exits_3_after_writing(tmp_path, monkeypatch):
    import pandas as pd

    from simulator.study import optimize as opt

    def failing(result, seed, **_):
        table = pd.DataFrame([{"group": "ALL", "metric": "fill_rate", "mean": 0.9, "ci_low": 0.89,
                               "ci_high": 0.91, "bound": 0.89, "target": "fill_rate >= 0.95",
                               "holds": False}])  # fmt: skip
        return opt.Verification(seed=seed, replications=30, table=table)

    monkeypatch.setattr(opt, "verify", failing)
    out = tmp_path / "opt"
    res = CliRunner().invoke(cli, [*ARGS, "--target", "fill_rate>=0.95", "--verify", "7",
                                   "--out", str(out)])  # fmt: skip
    assert res.exit_code == 3, res.output
    assert "FAILS" in res.output and "misses a target on fresh random numbers" in res.output
    assert (out / "optimized.yaml").is_file()  # the search is kept; the warning is the exit code
