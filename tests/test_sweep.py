"""supplysim sweep: specs, the grid, `days:` windows, common random numbers, the command."""

import copy
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import cli
from simulator.data.scenario import Scenario, ScenarioError
from simulator.present.sweep_charts import findings, frontier_figure, stress_figure
from simulator.study.runner import run_batch, run_scenario
from simulator.study.sweep import (
    MAX_POINTS,
    SweepError,
    build_sweep,
    efficient,
    holds_up_to,
    parse_spec,
    run_sweep,
)
from simulator.study.workspace import is_results_folder

# A port closure in a 60-day season (lost sales): JIT holds a few days of stock and
# cannot receive anything while the port is closed, so the longer the closure, the
# lower its fill rate; the safety-stock policy is there to have a second policy.
CLOSURE = {
    "name": "closure",
    "start_date": "2026-01-01",
    "horizon_days": 60,
    "replications": 8,
    "seed": 7,
    "unmet_demand": "lost_sale",
    "suppliers": {
        "sea": {
            "lead_time": {"dist": "gamma", "mean": 5, "sd": 1},
            "order_cost": 50,
            "disruptions": [
                {"kind": "port_closure", "start": 15, "end": 35, "label": "port strike",
                 "clearing_delay": {"dist": "uniform", "low": 1, "high": 3}},
            ],
        }
    },
    "skus": [
        {"id": "MUG-01", "unit_cost": 4.0, "price": 12.0, "supplier": "sea",
         "initial_on_hand": 150, "demand": {"per_day": {"dist": "poisson", "mean": 20}}},
        {"id": "TEA-02", "unit_cost": 2.0, "price": 5.0, "supplier": "sea",
         "initial_on_hand": 80, "demand": {"customers": {
             "orders_per_day": 4, "order_size": {"dist": "poisson", "mean": 2.5}}}},
    ],
    "policies": {
        "jit": {"type": "jit", "review_every_days": 2},
        "safety_stock": {"type": "safety_stock", "service_level": 0.95},
    },
}  # fmt: skip
DAYS = "suppliers.sea.disruptions.0.days"
FAST = ["-w", "1", "--backend", "serial"]


def closure(**changes) -> Scenario:
    data = copy.deepcopy(CLOSURE)
    data.update(changes)
    return Scenario.from_dict(data)


def with_window(window: dict) -> dict:
    data = copy.deepcopy(CLOSURE)
    data["suppliers"]["sea"]["disruptions"] = [window]
    return data


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("closure.yaml").write_text(yaml.safe_dump(CLOSURE))
    return CliRunner()


# --------------------------------------------------------------------------- specs


@pytest.mark.parametrize(
    ("spec", "values", "scale"),
    [
        ("0:42:7", [0, 7, 14, 21, 28, 35, 42], "linear"),
        ("0.8:0.99:6", [0.8, 0.838, 0.876, 0.914, 0.952, 0.99], "linear"),
        ("0:10:4", [0.0, 10 / 3, 20 / 3, 10.0], "linear"),  # ints, but the step is not whole
        ("10:0:3", [10, 5, 0], "linear"),
        ("1:1000:4:log", [1, 10, 100, 1000], "log"),
        ("7,eoq,true,0.5", [7, "eoq", True, 0.5], "list"),
        ("5", [5], "list"),
        ("2026-10-01:2026-10-29:5",
         [dt.date(2026, 10, d) for d in (1, 8, 15, 22, 29)], "linear"),
    ],
)  # fmt: skip
def test_specs_give_the_values_with_integers_kept_where_the_step_is_whole(spec, values, scale):
    got, how = parse_spec(spec)
    assert how == scale
    assert got == pytest.approx(values) if scale != "list" else got == values
    assert [type(v) for v in got] == [type(v) for v in values]


def test_a_log_range_of_decimals_is_geometric():
    values, _ = parse_spec("0.1:10:5:log")
    assert values == pytest.approx([0.1, 10**-0.5, 1.0, 10**0.5, 10.0])
    assert np.allclose(np.diff(np.log(values)), np.log(10) / 2)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("0:42", "a range is LOW:HIGH:N"),
        ("0:42:1", "N must be at least 2"),
        ("0:42:x", "N must be a whole number"),
        (f"0:1:{MAX_POINTS + 1}", f"at most {MAX_POINTS}"),
        ("a:b:3", "LOW must be a number or a date"),
        ("0:1:3:lin", "ending in 'lin'"),
        ("0:5:3:log", "a log scale needs LOW and HIGH > 0"),
        ("3:3:4", "the same"),
        ("2026-10-01:2026-10-30:5", "7.25 days apart"),
        ("2026-02-30:2026-03-05:2", "not a real date"),
        ("2026-10-01:5:3", "must both be dates or both numbers"),
        ("1,2,1", "given twice"),
        ("1,,2", "empty value"),
        ("", "got nothing"),
    ],
)  # fmt: skip
def test_bad_specs_are_one_line_errors(spec, words):
    with pytest.raises(SweepError) as exc:
        parse_spec(spec)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_several_params_make_a_grid_and_zip_pairs_them():
    scn = closure()
    grid = build_sweep(scn, [f"{DAYS}=0:20:3", "policies.jit.review_every_days=1,4"])
    assert grid.mode == "grid"
    assert grid.points == ((0, 1), (0, 4), (10, 1), (10, 4), (20, 1), (20, 4))
    assert [s.policies["jit"].review_every_days for s in grid.scenarios] == [1, 4] * 3
    paired = build_sweep(scn, [f"{DAYS}=0:20:3", "policies.jit.review_every_days=1,2,4"],
                         zip_values=True)
    assert paired.points == ((0, 1), (10, 2), (20, 4))
    with pytest.raises(SweepError, match=r"--zip: every --param needs the same number of "
                                         r"values, got 3 \(.*\), 2 \("):
        build_sweep(scn, [f"{DAYS}=0:20:3", "policies.jit.review_every_days=1,4"],
                    zip_values=True)
    with pytest.raises(SweepError, match=rf"15 × 15\); a sweep has at most {MAX_POINTS}"):
        build_sweep(scn, [f"{DAYS}=0:28:15", "policies.jit.review_every_days=1:15:15"])


@pytest.mark.parametrize(
    ("param", "words"),
    [
        ("suppliers.sea.disruptions.3.days=1,2", "no such item (the list has 1 item: 0)"),
        ("policies.jt.review_every_days=1,2", "did you mean 'jit'?"),
        ("seed=1,2", "set it with --seed"),
        ("replications=1,2", "set them with -n"),
        ("suppliers.sea.disruptions.0.days", "must be PATH=SPEC"),
        (f"{DAYS}=-7,7", "point 1 of 2 (suppliers.sea.disruptions.0.days = -7): the scenario "
                         "is not valid: suppliers.sea.disruptions[0].days: must be >= 0, got -7"),
        ("skus.MUG-01.unit_cost=1,0", "point 2 of 2 (skus.MUG-01.unit_cost = 0)"),
        ("skus.MUG-01.id=A,B", "changes the SKU ids"),
    ],
)  # fmt: skip
def test_bad_params_and_invalid_points_are_one_line_errors(param, words):
    with pytest.raises(SweepError) as exc:
        build_sweep(closure(), [param])
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_a_swept_key_replaces_its_alternative_and_the_baseline_is_the_scenarios_value():
    sweep = build_sweep(closure(), [f"{DAYS}=0:20:3"])
    p = sweep.params[0]
    assert p.baseline == 20 and p.replaces == ("end",) and p.kind == "scenario"
    assert [s.suppliers["sea"].disruptions for s in sweep.scenarios][1][0].end == 25
    # weeks_of_cover on a policy given a service level replaces it
    sweep = build_sweep(closure(), ["policies.safety_stock.weeks_of_cover=0,2"])
    ss = sweep.scenarios[1].policies["safety_stock"]
    assert ss.weeks_of_cover == 2 and ss.service_level is None
    assert sweep.params[0].kind == "policy" and sweep.params[0].policy == "safety_stock"


# --------------------------------------------------------------------------- days: windows


def test_days_is_the_length_of_a_window_for_day_numbers_and_dates():
    by_days = Scenario.from_dict(with_window({"kind": "port_closure", "start": 10, "days": 5}))
    by_end = Scenario.from_dict(with_window({"kind": "port_closure", "start": 10, "end": 15}))
    assert by_days == by_end and by_days.content_hash() == by_end.content_hash()
    dated = Scenario.from_dict(with_window(
        {"kind": "supplier_outage", "start": "2026-01-11", "days": 5}))
    assert dated.suppliers["sea"].disruptions[0].end == dt.date(2026, 1, 16)
    shock = Scenario.from_dict(with_window(
        {"kind": "lead_time_shock", "start": dt.date(2026, 1, 11), "days": 7, "multiplier": 2}))
    assert shock.suppliers["sea"].disruptions[0].end == dt.date(2026, 1, 18)
    # a campaign takes days in place of end_day
    data = copy.deepcopy(CLOSURE)
    data["skus"][0]["demand"]["campaigns"] = [{"start_day": 20, "days": 10, "uplift": 2}]
    campaign = Scenario.from_dict(data).skus[0].demand.campaigns[0]
    assert (campaign.start, campaign.end) == (20, 30)
    # to_dict writes end, and reads back the same
    assert Scenario.from_dict(by_days.to_dict()) == by_days
    assert by_days.to_dict()["suppliers"]["sea"]["disruptions"][0]["end"] == 15
    assert "days" not in by_days.to_dict()["suppliers"]["sea"]["disruptions"][0]


def test_days_0_is_no_window_it_is_left_out():
    empty = Scenario.from_dict(with_window({"kind": "port_closure", "start": 10, "days": 0}))
    assert empty.suppliers["sea"].disruptions == []
    none = Scenario.from_dict(with_window({"kind": "port_closure", "start": 10, "end": 15})
                              | {"suppliers": {"sea": CLOSURE["suppliers"]["sea"]
                                               | {"disruptions": []}}})
    assert empty.content_hash() == none.content_hash()
    assert Scenario.from_dict(empty.to_dict()) == empty
    data = copy.deepcopy(CLOSURE)
    data["skus"][0]["demand"]["campaigns"] = [
        {"start_day": 20, "days": 0, "uplift": 2}, {"start_day": 40, "days": 3, "uplift": 3}]
    campaigns = Scenario.from_dict(data).skus[0].demand.campaigns
    assert [(c.start, c.end, c.uplift) for c in campaigns] == [(40, 43, 3.0)]
    # an explicit empty window is still a mistake
    with pytest.raises(ScenarioError, match="end must be after start"):
        Scenario.from_dict(with_window({"kind": "port_closure", "start": 10, "end": 10}))


@pytest.mark.parametrize(
    ("window", "words"),
    [
        ({"start": 10, "end": 15, "days": 5}, "disruptions[0]: give 'end' or 'days', not both, "
                                              "got end=15, days=5"),
        ({"start": 10}, "disruptions[0]: give 'end' (the first day after the window) or 'days'"),
        ({"start": 10, "days": -1}, "disruptions[0].days: must be >= 0, got -1"),
        ({"start": 10, "days": 2.5}, "disruptions[0].days: must be a whole number of days"),
        ({"start": "soon", "days": 2}, "disruptions[0].start: must be a day number or a date"),
        ({"days": 2}, "'days' needs 'start'"),
        ({"start": 10, "ends": 15}, "disruptions[0].ends: unknown key (did you mean 'end'?)"),
    ],
)  # fmt: skip
def test_days_and_end_errors_name_the_window(window, words):
    with pytest.raises(ScenarioError) as exc:
        Scenario.from_dict(with_window({"kind": "port_closure", **window}))
    assert words in str(exc.value)


def test_campaign_errors_name_end_day():
    data = copy.deepcopy(CLOSURE)
    data["skus"][0]["demand"]["campaigns"] = [{"start_day": 20, "uplift": 2}]
    with pytest.raises(ScenarioError, match=r"campaigns\[0\]: give 'end_day' .* or 'days'"):
        Scenario.from_dict(data)


# --------------------------------------------------------------------------- common random numbers


def plain(frame: pd.DataFrame, sweep) -> pd.DataFrame:
    cols = ["point", *[p.path for p in sweep.params]]
    return frame.drop(columns=cols).reset_index(drop=True)


def test_every_point_is_a_plain_run_of_its_scenario_replication_by_replication():
    sweep = build_sweep(closure(replications=5), [f"{DAYS}=0:30:3"])
    result = run_sweep(sweep)
    for k, scn in enumerate(sweep.scenarios):
        mine = plain(result.runs[result.runs["point"] == k], sweep)
        pd.testing.assert_frame_equal(mine, run_scenario(scn).runs)
        # and replication by replication, as run_batch gives them
        batch = pd.DataFrame(run_batch(scn, [3]).rows)
        got = mine[mine["replication"] == 3].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[batch.columns], batch, check_dtype=False)
    # days 0 is the scenario without the closure
    without = copy.deepcopy(CLOSURE) | {"replications": 5}
    without["suppliers"]["sea"]["disruptions"] = []
    assert sweep.scenarios[0].content_hash() == Scenario.from_dict(without).content_hash()
    # the same customers at every point: demand does not depend on the closure
    demand = result.runs.pivot_table(index=["policy", "sku", "replication"], columns="point",
                                     values="demand_units")
    assert (demand.nunique(axis=1) == 1).all()


def test_a_policy_sweep_reruns_only_that_policy_and_the_rest_are_still_plain_runs():
    sweep = build_sweep(closure(replications=4),
                        ["policies.safety_stock.service_level=0.8,0.9,0.99"])
    result = run_sweep(sweep)
    assert result.reused == {1: {"jit": 0}, 2: {"jit": 0}}
    assert result.metadata["sweep"]["policy_replications_run"] == 4 * (2 + 1 + 1)
    for k, scn in enumerate(sweep.scenarios):
        pd.testing.assert_frame_equal(plain(result.runs[result.runs["point"] == k], sweep),
                                      run_scenario(scn).runs)


# --------------------------------------------------------------------------- reading a sweep


def test_efficient_points_and_how_far_a_bound_holds():
    fill = [0.90, 0.95, 0.99, 0.99, 0.995, 0.99999, 0.99998]
    cost = [10.0, 12.0, 11.0, 11.0, 20.0, 30.0, 25.0]
    # 0.95 at 12 is beaten by 0.99 at 11; 0.99999 at 30 only by a fifth-digit fill rate
    assert efficient(fill, cost).tolist() == [True, False, True, True, True, False, True]
    assert efficient([0.9, np.nan], [1.0, 0.5]).tolist() == [True, False]
    assert holds_up_to([0, 7, 14, 21], [0.99, 0.97, 0.94, 0.96]) == (7, False)
    assert holds_up_to([21, 0, 14, 7], [0.96, 0.99, 0.97, 0.98]) == (21, True)
    assert holds_up_to([0, 7], [0.90, 0.99]) is None


def test_a_longer_closure_never_raises_jits_fill_rate_and_the_words_say_so():
    sweep = build_sweep(closure(replications=12), [f"{DAYS}=0:40:5"])
    result = run_sweep(sweep)
    rows = result.table[(result.table.policy == "jit") & (result.table.sku == "ALL")
                        & (result.table.metric == "fill_rate")].sort_values("point")
    mean, high = rows["mean"].to_numpy(), rows["ci_high"].to_numpy()
    assert mean[0] - mean[-1] > 0.1  # a 40-day closure costs JIT many points
    assert (mean[1:] <= high[:-1]).all()  # non-increasing within the CI
    lines = findings(result)
    jit = next(line for line in lines if line.startswith("jit:"))
    assert jit.startswith("jit: fill rate falls from ")
    assert "as port strike days goes 0 → 40" in jit
    assert stress_figure(result) is not None and frontier_figure(result) is None


# --------------------------------------------------------------------------- the command

FILES = ["figures", "metadata.json", "report.html", "runs.parquet", "scenario.yaml",
         "sweep.csv", "sweep.json", "sweep.parquet"]


def test_sweep_command_writes_the_folder(runner):
    args = ["sweep", "closure.yaml", "--param", f"{DAYS}=0:20:3", "--param",
            "policies.safety_stock.service_level=0.9,0.97", "-n", "4", "--out", "out", *FAST]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = Path("out")
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert sorted(p.name for p in Path(".").iterdir()) == ["closure.yaml", "out"]  # no leftovers
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["frontier.png", "stress.png"]
    assert is_results_folder(out)
    table = pd.read_parquet(out / "sweep.parquet")
    assert list(table.columns[:3]) == ["point", DAYS, "policies.safety_stock.service_level"]
    assert {"mean", "ci_low", "ci_high", "p5", "p50", "p95"} <= set(table.columns)
    assert table["point"].nunique() == 6 and set(table["sku"]) == {"ALL", "MUG-01", "TEA-02"}
    csv = pd.read_csv(out / "sweep.csv")
    assert len(csv) == len(table)
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs.columns[:3]) == list(table.columns[:3])
    assert len(runs) == 6 * 2 * 3 * 4  # points × policies × (SKUs + ALL) × replications
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seed"] == 7 and meta["replications"] == 4 and meta["points"] == 6
    assert meta["scenario_hash"] == closure(replications=4).content_hash()
    assert meta["command"].startswith("supplysim ") and meta["versions"]["numpy"] == np.__version__
    spec = json.loads((out / "sweep.json").read_text())
    assert [p["values"] for p in spec["params"]] == [[0, 10, 20], [0.9, 0.97]]
    assert len(spec["points"]) == 6
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "Content-Security-Policy" in page
    assert 'src="http' not in page and "port strike days" in page
    assert "jit (all SKUs" in res.output and "Report:" in res.output


def test_sweep_refuses_a_folder_it_did_not_write_and_replaces_its_own_only_with_force(runner):
    Path("mine").mkdir()
    Path("mine/notes.txt").write_text("keep me")
    args = ["sweep", "closure.yaml", "--param", f"{DAYS}=0,10", "-n", "2", *FAST]
    for extra in ([], ["--force"]):
        res = runner.invoke(cli, [*args, "--out", "mine", *extra])
        assert res.exit_code == 2, res.output
        assert "holds files supplysim did not write" in res.output
    assert Path("mine/notes.txt").read_text() == "keep me"
    assert runner.invoke(cli, [*args, "--out", "ours"]).exit_code == 0
    res = runner.invoke(cli, [*args, "--out", "ours"])
    assert res.exit_code == 2 and "already exists" in res.output
    res = runner.invoke(cli, [*args, "--out", "ours", "--force", "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert json.loads(Path("ours/metadata.json").read_text())["seed"] == 3


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--param", "suppliers.sea.disruptions.2.days=0,7"],
         "--param suppliers.sea.disruptions.2.days: suppliers.sea.disruptions.2: no such item"),
        (["--param", f"{DAYS}=0:7"], "a range is LOW:HIGH:N"),
        (["--param", f"{DAYS}=0,-7"], "point 2 of 2"),
        (["--param", f"{DAYS}=0,7", "--param", "policies.jit.review_every_days=1,2,3", "--zip"],
         "--zip: every --param needs the same number of values"),
        (["--param", f"{DAYS}=0,7", "-p", "nope"], "--policy: must name a policy"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_writes_nothing(runner, extra, words):
    res = runner.invoke(cli, ["sweep", "closure.yaml", *extra, "-n", "2", *FAST])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    assert words in lines[0] and "Traceback" not in res.output
    assert not Path("results").exists()


def test_help_lists_sweep(runner):
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0 and "sweep" in res.output
    res = runner.invoke(cli, ["sweep", "--help"])
    assert res.exit_code == 0 and "PATH=SPEC" in res.output and "--zip" in res.output
