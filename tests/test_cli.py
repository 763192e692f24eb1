"""The command line through click's CliRunner, in an isolated filesystem."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from helpers import TINY

from simulator.cli import cli
from simulator.study.results import REQUIRED_FILES


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_help_lists_commands(runner):
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0
    for cmd in ("run", "validate", "scenarios", "plot", "report"):
        assert cmd in res.output


def test_scenarios_lists_builtins(runner):
    res = runner.invoke(cli, ["scenarios"])
    assert res.exit_code == 0
    assert "classroom" in res.output and "catalog" in res.output


def test_run_writes_the_results_folder(runner):
    res = runner.invoke(cli, ["run", "classroom", "-n", "5", "--out", "out", "--no-plots"])
    assert res.exit_code == 0, res.output
    out = Path("out")
    for name in REQUIRED_FILES:
        assert (out / name).is_file(), name
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["replications"] == 5 and meta["seed"] == 20261127
    assert meta["command"].startswith("supplysim")
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 5 * 3 * 2
    assert "Fill rate" in res.output and "safety_stock" in res.output
    # the scenario as run reads back
    assert yaml.safe_load((out / "scenario.yaml").read_text())["replications"] == 5
    # no temporary folders left behind
    assert sorted(p.name for p in Path(".").iterdir()) == ["out"]


def test_existing_folder_is_not_overwritten_without_force(runner):
    args = ["run", "-n", "2", "--out", "out", "--no-plots", "-q"]
    assert runner.invoke(cli, args).exit_code == 0
    before = Path("out/runs.parquet").read_bytes()
    res = runner.invoke(cli, [*args, "--seed", "9"])
    assert res.exit_code == 2
    assert "already exists" in res.output and "--force" in res.output
    assert Path("out/runs.parquet").read_bytes() == before
    res = runner.invoke(cli, [*args, "--seed", "9", "--force"])
    assert res.exit_code == 0
    assert Path("out/runs.parquet").read_bytes() != before


def test_policy_option_selects_policies(runner):
    res = runner.invoke(cli, ["run", "-n", "2", "-p", "hybrid", "-p", "jit", "--out", "o", "--no-plots"])
    assert res.exit_code == 0, res.output
    runs = pd.read_parquet("o/runs.parquet")
    assert list(dict.fromkeys(runs.policy)) == ["hybrid", "jit"]


def test_misspelled_key_exits_2_with_one_line(runner):
    data = json.loads(json.dumps(TINY))
    data["skus"][0]["deamnd"] = data["skus"][0].pop("demand")
    Path("bad.yaml").write_text(yaml.safe_dump(data))
    for args in (["run", "bad.yaml"], ["validate", "bad.yaml"]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 2
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert len(lines) == 1, res.output
        assert "skus[0].deamnd: unknown key (did you mean 'demand'?)" in lines[0]
        assert "Traceback" not in res.output
    assert not Path("results").exists()


def test_unknown_scenario_and_bad_option_exit_2(runner):
    res = runner.invoke(cli, ["run", "no-such-thing"])
    assert res.exit_code == 2 and "neither a file nor a built-in" in res.output
    res = runner.invoke(cli, ["run", "-p", "nope"])
    assert res.exit_code == 2 and "--policy" in res.output
    res = runner.invoke(cli, ["run", "--workers", "0"])
    assert res.exit_code == 2


def test_builtin_name_wins_over_a_folder_of_that_name(runner):
    Path("classroom").mkdir()  # e.g. an earlier `--out classroom`
    res = runner.invoke(cli, ["validate", "classroom"])
    assert res.exit_code == 0 and "classroom: ok" in res.output


def test_validate_ok(runner):
    res = runner.invoke(cli, ["validate", "classroom", "catalog"])
    assert res.exit_code == 0
    assert "classroom: ok" in res.output and "catalog: ok (24 SKUs" in res.output


def test_plot_and_report_reject_a_non_results_folder(runner):
    Path("empty").mkdir()
    for cmd in ("plot", "report"):
        res = runner.invoke(cli, [cmd, "empty"])
        assert res.exit_code == 2
        assert "not a results folder" in res.output


def test_main_exit_codes(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    exe = [sys.executable, "-c", "from simulator.cli import main; main()"]
    ok = subprocess.run([*exe, "scenarios"], capture_output=True, text=True)
    assert ok.returncode == 0
    bad = subprocess.run([*exe, "run", "nope.yaml"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr


def test_check_replays_and_finds_nothing_on_a_sound_run(runner):
    args = ["run", "port-strike", "-n", "3", "--out", "out", "--no-plots", "--check", "-w", "1"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "every invariant holds on" in res.output
    meta = json.loads(Path("out/metadata.json").read_text())
    # 3 replications × 4 policies × (2 SKUs + the portfolio row)
    assert meta["invariant_check"] == {"rows_checked": 36, "replications_replayed": 3,
                                       "violations": 0}  # fmt: skip


def test_check_reports_a_violation_exits_1_and_keeps_the_results(runner, monkeypatch):
    import simulator.study.invariants as inv

    monkeypatch.setattr(inv, "check_runs", lambda runs, scn: ["row 0: fill_rate in [0, 1]: 1.5"])
    args = ["run", "classroom", "-n", "2", "--out", "out", "--no-plots", "--check", "-w", "1"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 1
    assert "invariant violated: row 0: fill_rate" in res.output
    assert "1 invariant violations" in res.output
    assert (Path("out") / "runs.parquet").is_file()  # nothing is lost


def test_validate_shows_the_calendar_in_dates_and_days_and_the_abc_classes(runner):
    res = runner.invoke(cli, ["validate", "port-strike", "catalog"])
    assert res.exit_code == 0, res.output
    out = res.output
    # The closure is [2026-10-05, 2026-10-26): 21 days, last day inclusive in the text.
    assert "port strike  2026-10-05 – 2026-10-25 (days 34–54, 21 days)" in out
    assert "horizon: 2026-09-01 – 2027-02-27 (days 0–179, 180 days), after 60 warm-up" in out
    assert "policy jit (baseline): jit" in out
    # catalog: every SKU in exactly one class, counts adding up to 24.
    catalog = out[out.index("catalog: ok"):]
    counts = [int(line.split(": ")[1].split()[0]) for line in catalog.splitlines()
              if line.strip()[:2] in ("A:", "B:", "C:")]  # fmt: skip
    assert sum(counts) == 24 and len(counts) == 3
    quiet = runner.invoke(cli, ["validate", "-q", "port-strike"])
    assert quiet.output.strip() == "port-strike: ok (2 SKUs, 4 policies, 180 days)"


def test_validate_marks_unannounced_windows_and_warns_on_windows_partly_outside(runner):
    data = {**TINY, "horizon_days": 30}
    data["suppliers"] = {"s": {**TINY["suppliers"]["s"], "disruptions": [
        {"kind": "supplier_outage", "start": 20, "end": 40, "announced": False, "label": "fire"}]}}
    Path("s.yaml").write_text(yaml.safe_dump(data))
    res = runner.invoke(cli, ["validate", "s.yaml"])
    assert res.exit_code == 0, res.output
    assert "fire  2026-01-21 – 2026-02-09 (days 20–39, 20 days)  [not announced" in res.output
    assert "warning" in res.output  # the window runs past the horizon


def test_run_summary_shows_the_spread_across_seasons_and_never_a_false_zero(runner):
    from simulator.cli import _half_width

    res = runner.invoke(cli, ["run", "classroom", "-n", "6", "--no-plots", "-w", "1"])
    assert res.exit_code == 0, res.output
    assert "p5–p95" in res.output and "Costs per 365-day season" in res.output
    assert "Peak working" in res.output
    # A half-width of 0.004 % is shown with enough digits not to read as 0.
    assert _half_width("pct", 0.00004, "$") == "0.004"
    assert _half_width("money", 0.3, "$") == "0.3"
    assert _half_width("money", 12.0, "$") == "12"
    assert _half_width("pct", 0.0, "$") == "0.0"  # exactly zero: every season equal


def test_written_off_column_only_where_stock_can_be_written_off(runner):
    """A demand shift with leftover measures carries write-offs at zero: no column for it."""
    data = {**TINY, "horizon_days": 40}
    data["skus"] = [{**TINY["skus"][0], "demand": {**TINY["skus"][0]["demand"],
                     "shifts": [{"start": 10, "multiplier": 0.5}]}}]  # fmt: skip
    data["leftover"] = {"in_total_cost": True}
    Path("shift.yaml").write_text(yaml.safe_dump(data))
    res = runner.invoke(cli, ["run", "shift.yaml", "-n", "4", "--no-plots", "-w", "1"])
    assert res.exit_code == 0, res.output
    assert "Written" not in res.output
    data["skus"][0]["shelf_life_days"] = 5
    Path("fresh.yaml").write_text(yaml.safe_dump(data))
    res = runner.invoke(cli, ["run", "fresh.yaml", "-n", "4", "--no-plots", "-w", "1"])
    assert res.exit_code == 0, res.output
    assert "Written" in res.output and "at cost less salvage" in res.output


def test_plot_style_slides_draws_into_figures_slides(runner):
    res = runner.invoke(cli, ["run", "classroom", "-n", "4", "-w", "1", "--out", "r", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["plot", "r", "--style", "slides"])
    assert res.exit_code == 0, res.output
    assert Path("r/figures/slides/tradeoff.png").is_file()
    assert Path("r/figures/tradeoff.png").is_file()  # the default charts are kept
    assert runner.invoke(cli, ["plot", "r", "--style", "poster"]).exit_code == 2


def test_a_warning_is_one_line_for_the_user(tmp_path):
    """A logo deleted after the run: `report` leaves it out with 'warning: ...', no trace."""
    import subprocess
    import sys

    data = {**TINY, "horizon_days": 20, "replications": 2,
            "report": {"title": "T", "logo": "logo.png"}}
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    exe = [sys.executable, "-c", "from simulator.cli import main; main()"]
    done = subprocess.run([*exe, "run", "s.yaml", "-q", "--no-plots", "--out", "r", "-w", "1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (tmp_path / "logo.png").unlink()
    done = subprocess.run([*exe, "report", "r"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and all(line.startswith("warning: ") for line in lines), done.stderr
    assert "UserWarning" not in done.stderr and "logo" in done.stderr


def test_a_run_of_one_policy_writes_its_charts_and_report(runner):
    """No other policy to compare with: differences.csv is empty but readable."""
    res = runner.invoke(cli, ["run", "classroom", "-p", "jit", "-n", "3", "-w", "1", "--out", "one"])
    assert res.exit_code == 0, res.output
    assert Path("one/report.html").is_file() and Path("one/figures/tradeoff.png").is_file()
    diffs = pd.read_csv("one/differences.csv")
    assert diffs.empty and "rel_ci_high" in diffs.columns
    Path("one/differences.csv").write_text("\n")  # as versions before this one wrote it
    assert runner.invoke(cli, ["report", "one"]).exit_code == 0
