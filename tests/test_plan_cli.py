"""`supplysim plan`: the founder's purchase plan from the command line."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from simulator.cli import cli


def test_plan_prints_the_pre_strike_build_and_writes_the_folder(tmp_path):
    out = tmp_path / "plan"
    res = CliRunner().invoke(
        cli, ["plan", "port-strike", "--policy", "hybrid", "--weeks", "8", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "builds stock ahead of port strike" in res.output
    for name in ("plan.csv", "levels.csv", "level_changes.csv", "windows.csv",
                 "projection.csv", "plan.html", "scenario.yaml"):  # fmt: skip
        assert (out / name).is_file(), name
    orders = pd.read_csv(out / "plan.csv")
    assert (orders["units"] == orders["units"].round()).all()  # whole units
    assert orders.groupby("po")["supplier"].nunique().eq(1).all()  # one supplier per PO
    pre = orders[orders["purpose"] == "pre-build"]
    assert not pre.empty and (pd.to_datetime(pre["date"]) < "2026-10-05").all()
    html = (out / "plan.html").read_text()
    assert "Purchase orders" in html and "<script" not in html
    again = CliRunner().invoke(cli, ["plan", "port-strike", "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.output  # never replaced silently
    again = CliRunner().invoke(cli, ["plan", "port-strike", "--out", str(out), "--force"])
    assert again.exit_code == 0, again.output  # a plan folder is ours to replace


def test_plan_refuses_an_unknown_policy_in_one_line(tmp_path):
    res = CliRunner().invoke(cli, ["plan", "port-strike", "--policy", "hybird",
                                   "--out", str(tmp_path / "p")])  # fmt: skip
    assert res.exit_code == 2
    assert "hybrid" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "p").exists()


def test_plan_never_overwrites_a_folder_silently(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    res = CliRunner().invoke(cli, ["plan", "classroom", "--out", str(out)])
    assert res.exit_code == 2
    assert (out / "notes.txt").read_text() == "keep me"
    res = CliRunner().invoke(cli, ["plan", "classroom", "--out", str(out), "--force"])
    assert res.exit_code == 2 and (out / "notes.txt").exists()  # not ours to replace


def test_plot_report_and_rerun_refuse_another_commands_folder(tmp_path):
    out = tmp_path / "plan"
    assert CliRunner().invoke(cli, ["plan", "classroom", "--out", str(out)]).exit_code == 0
    for command in ("plot", "report", "rerun"):
        res = CliRunner().invoke(cli, [command, str(out)])
        assert res.exit_code == 2, (command, res.output)
        assert "a `supplysim plan` folder" in res.output and "plan.html" in res.output
