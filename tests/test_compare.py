"""supplysim compare: the paired table, the variants, and the command end to end."""

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from simulator.cli import cli
from simulator.data.scenario import Scenario
from simulator.present.comparison import findings
from simulator.study.compare import (
    TABLE_COLUMNS,
    CompareError,
    paired_table,
    run_compare,
    variants_from_scenarios,
    variants_without,
)

# A 30-day port closure (days 15..44) in a 60-day season: JIT holds a few days of
# stock and cannot receive anything for a month, so it must lose sales in every
# replication; the safety-stock policy is there to have a second policy.
CLOSURE = {
    "name": "closure",
    "start_date": "2026-01-01",
    "horizon_days": 60,
    "replications": 10,
    "seed": 7,
    "unmet_demand": "lost_sale",
    "suppliers": {
        "sea": {
            "lead_time": {"dist": "gamma", "mean": 5, "sd": 1},
            "order_cost": 50,
            "disruptions": [
                {"kind": "port_closure", "start": 15, "end": 45, "label": "port strike"},
            ],
        }
    },
    "skus": [
        {"id": "MUG-01", "unit_cost": 4.0, "price": 12.0, "supplier": "sea",
         "initial_on_hand": 150, "demand": {"per_day": {"dist": "poisson", "mean": 20}}},
        {"id": "TEA-02", "unit_cost": 2.0, "price": 5.0, "supplier": "sea",
         "initial_on_hand": 80, "demand": {"per_day": {"dist": "negbin", "mean": 10, "sd": 5}}},
    ],
    "policies": {
        "jit": {"type": "jit", "review_every_days": 2},
        "safety_stock": {"type": "safety_stock", "service_level": 0.95},
    },
}  # fmt: skip
CLOSURE_PATH = "suppliers.sea.disruptions.0"


def closure(**changes) -> Scenario:
    data = copy.deepcopy(CLOSURE)
    data.update(changes)
    return Scenario.from_dict(data)


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("closure.yaml").write_text(yaml.safe_dump(CLOSURE))
    return CliRunner()


def portfolio(table: pd.DataFrame, policy: str, metric: str) -> pd.Series:
    rows = table[(table.policy == policy) & (table.sku == "ALL") & (table.metric == metric)]
    assert len(rows) == 1
    return rows.iloc[0]


# --------------------------------------------------------------------------- the paired table


def test_paired_table_is_the_t_interval_of_the_paired_differences():
    rng = np.random.default_rng(3)
    n = 15
    common = rng.normal(0.9, 0.05, n)  # shared noise: the pairing cancels it
    with_ = pd.DataFrame({"policy": "p", "sku": "ALL", "replication": range(n),
                          "fill_rate": common - 0.02 + rng.normal(0, 0.002, n)})
    without = pd.DataFrame({"policy": "p", "sku": "ALL", "replication": range(n)[::-1],
                            "fill_rate": (common + rng.normal(0, 0.002, n))[::-1]})
    table = paired_table(with_, without, ["fill_rate"])
    assert list(table.columns) == list(TABLE_COLUMNS)
    r = table.iloc[0]
    d = with_["fill_rate"].to_numpy() - without.sort_values("replication")["fill_rate"].to_numpy()
    half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n)
    assert r["diff_mean"] == pytest.approx(d.mean(), abs=1e-15)
    assert (r["diff_ci_low"], r["diff_ci_high"]) == pytest.approx((d.mean() - half,
                                                                   d.mean() + half))
    assert (r["diff_p5"], r["diff_p95"]) == pytest.approx(tuple(np.percentile(d, [5, 95])))
    assert r["mean_with"] - r["mean_without"] == pytest.approx(r["diff_mean"])
    assert r["replications"] == n
    # paired, the interval is far tighter than the spread of either variant
    assert r["diff_ci_high"] - r["diff_ci_low"] < 0.1 * common.std()


def test_paired_table_leaves_out_a_pair_with_an_undefined_value_on_both_sides():
    with_ = pd.DataFrame({"policy": "p", "sku": "X", "replication": [0, 1, 2],
                          "fill_rate": [0.5, np.nan, 0.7]})
    without = pd.DataFrame({"policy": "p", "sku": "X", "replication": [0, 1, 2],
                            "fill_rate": [0.4, 0.9, np.nan]})
    r = paired_table(with_, without, ["fill_rate"]).iloc[0]
    assert r["replications"] == 1
    assert (r["mean_with"], r["mean_without"]) == (0.5, 0.4)
    assert r["diff_mean"] == pytest.approx(0.1)


def test_paired_table_refuses_runs_that_do_not_pair():
    a = pd.DataFrame({"policy": "p", "sku": "X", "replication": [0, 1], "fill_rate": [1, 1]})
    b = a.assign(replication=[0, 2])
    with pytest.raises(ValueError, match="same policy × SKU × replication"):
        paired_table(a, b, ["fill_rate"])


# --------------------------------------------------------------------------- running


def test_identical_scenarios_give_exactly_zero_differences():
    a = closure()
    b = closure(name="closure-copy", seed=99, replications=3)  # A's seed and count are used
    cmp = run_compare(variants_from_scenarios(a, b, ("a.yaml", "b.yaml")))
    t = cmp.table
    assert set(t.metric) >= {"fill_rate", "lost_units", "total_cost", "cash_tied_up"}
    assert set(t.sku) == {"ALL", "MUG-01", "TEA-02"} and set(t.policy) == {"jit", "safety_stock"}
    for col in ("diff_mean", "diff_ci_low", "diff_ci_high", "diff_p5", "diff_p95"):
        assert (t[col] == 0).all(), col
    assert (t.mean_with == t.mean_without).all()
    assert (t.replications == 10).all()
    assert cmp.without_result.runs["seed"].eq(7).all()
    assert all("does not change fill rate" in line for line in findings(cmp))


def test_removing_a_port_closure_gives_jit_a_resolved_fill_rate_loss():
    variants = variants_without(closure(), [CLOSURE_PATH])
    assert variants.without.suppliers["sea"].disruptions == []
    cmp = run_compare(variants)
    jit = portfolio(cmp.table, "jit", "fill_rate")
    assert jit["diff_mean"] < -0.2  # a month without receipts costs JIT over 20 points
    assert jit["diff_ci_high"] < 0  # and the interval excludes no effect
    assert jit["diff_p95"] < 0  # in every replication, not just on average
    assert portfolio(cmp.table, "jit", "lost_units")["diff_ci_low"] > 0
    # common random numbers: the same demand in both variants, replication by replication
    w, wo = cmp.with_result.runs, cmp.without_result.runs
    assert w["demand_units"].to_numpy().tolist() == wo["demand_units"].to_numpy().tolist()
    line = next(x for x in findings(cmp) if x.startswith("jit:"))
    assert line.startswith("jit: the port strike costs ") and "points of fill rate" in line
    assert cmp.heading.startswith(
        f"What removing {CLOSURE_PATH} (port strike: port closure days 15..44) changes, "
        "10 replications × 60 days, paired"
    )
    removed = cmp.metadata["compare"]["removed"]
    assert removed == [{"path": CLOSURE_PATH, "resolved": ["suppliers", "sea", "disruptions", 0],
                        "what": "port strike: port closure days 15..44",
                        "value": CLOSURE["suppliers"]["sea"]["disruptions"][0]
                        | {"announced": True, "clearing_delay": {"dist": "constant",
                                                                 "value": 0.0}}}]


def test_variants_without_refuses_bad_paths_invalid_results_and_unpaired_variants():
    scn = closure()
    with pytest.raises(CompareError) as info:
        variants_without(scn, ["suppliers.sea.disruptions.3"])
    assert str(info.value) == (
        "--without suppliers.sea.disruptions.3: no such item (the list has 1 item: 0)"
    )
    with pytest.raises(CompareError, match=r"^--without suppliers.sea: the scenario without it "
                                           r"is not valid: suppliers: must have at least 1"):
        variants_without(scn, ["suppliers.sea"])
    with pytest.raises(CompareError, match="same policy names to be paired .only in the first: "
                                           "safety_stock"):
        variants_without(scn, ["policies.safety_stock"])
    with pytest.raises(CompareError, match="same SKU ids"):
        variants_without(scn, ["skus.TEA-02"])


def test_two_scenarios_must_have_the_same_skus_and_policies():
    other = copy.deepcopy(CLOSURE)
    other["skus"][1]["id"] = "TEA-03"
    with pytest.raises(CompareError) as info:
        variants_from_scenarios(closure(), Scenario.from_dict(other), ("a.yaml", "b.yaml"))
    assert str(info.value) == (
        "b.yaml: the two variants must have the same SKU ids to be paired (only in the first: "
        "TEA-02; only in the second: TEA-03)"
    )


# --------------------------------------------------------------------------- the command


FILES = ("compare.csv", "compare.parquet", "runs_with.parquet", "runs_without.parquet",
         "scenario_with.yaml", "scenario_without.yaml", "metadata.json", "report.html")
FAST = ["-w", "1", "--backend", "serial"]


def test_compare_command_writes_the_folder(runner):
    args = ["compare", "closure.yaml", "--without", CLOSURE_PATH, "-n", "6", "--out", "out", *FAST]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = Path("out")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert sorted(p.name for p in Path(".").iterdir()) == ["closure.yaml", "out"]  # no leftovers
    table = pd.read_csv(out / "compare.csv")
    assert list(table.columns) == list(TABLE_COLUMNS)
    pd.testing.assert_frame_equal(table, pd.read_parquet(out / "compare.parquet"),
                                  check_exact=False, rtol=1e-12)
    assert (table.replications == 6).all()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seed"] == 7 and meta["replications"] == 6
    assert meta["compare"]["removed"][0]["path"] == CLOSURE_PATH
    assert meta["versions"]["numpy"] == np.__version__
    without = yaml.safe_load((out / "scenario_without.yaml").read_text())
    assert without["suppliers"]["sea"]["disruptions"] == []
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "Content-Security-Policy" in page
    assert "port strike" in page and "src=\"http" not in page
    assert f"What removing {CLOSURE_PATH} (port strike: port closure days 15..44)" in res.output
    assert "jit: the port strike costs" in res.output
    assert "Report:" in res.output


def test_compare_refuses_an_existing_out_without_force(runner):
    args = ["compare", "closure.yaml", "--without", CLOSURE_PATH, "-n", "3", "--out", "out", *FAST]
    assert runner.invoke(cli, args).exit_code == 0
    before = Path("out/compare.csv").read_bytes()
    res = runner.invoke(cli, [*args, "--seed", "11"])
    assert res.exit_code == 2
    assert "already exists" in res.output and "--force" in res.output
    assert Path("out/compare.csv").read_bytes() == before
    res = runner.invoke(cli, [*args, "--seed", "11", "--force"])
    assert res.exit_code == 0, res.output
    assert Path("out/compare.csv").read_bytes() != before
    assert json.loads(Path("out/metadata.json").read_text())["seed"] == 11


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--without", "suppliers.sea.disruptions.3"],
         "--without suppliers.sea.disruptions.3: no such item (the list has 1 item: 0)"),
        (["--without", "suppliers.see.disruptions.0"], "did you mean 'sea'?"),
        (["--without", "skus.MUG-01.demand"], "the scenario without it is not valid"),
        (["--without", "policies.jit"], "same policy names"),
        ([], "give --without PATH"),
        (["closure.yaml", "--without", CLOSURE_PATH], "not both"),
        (["-p", "nope", "--without", CLOSURE_PATH], "--policy: must name a policy"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_writes_nothing(runner, extra, words):
    res = runner.invoke(cli, ["compare", "closure.yaml", *extra, "-n", "2", *FAST])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    assert words in lines[0]
    assert "Traceback" not in res.output
    assert not Path("results").exists()


def test_the_with_runs_are_those_of_supplysim_run(runner):
    common = ["-n", "4", "--seed", "5", *FAST]
    res = runner.invoke(cli, ["compare", "closure.yaml", "--without", CLOSURE_PATH,
                              "--out", "cmp", *common])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["run", "closure.yaml", "--out", "run", "--no-plots", *common])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_parquet("cmp/runs_with.parquet"),
                                  pd.read_parquet("run/runs.parquet"))
    # and the without runs are a plain run of the scenario written beside them
    res = runner.invoke(cli, ["run", "cmp/scenario_without.yaml", "--out", "run2", "--no-plots",
                              *common])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_parquet("cmp/runs_without.parquet"),
                                  pd.read_parquet("run2/runs.parquet"))


def test_compare_two_scenario_files_with_the_same_content_gives_zeros(runner):
    Path("copy.yaml").write_text(yaml.safe_dump(CLOSURE | {"seed": 1234}))
    res = runner.invoke(cli, ["compare", "closure.yaml", "copy.yaml", "-n", "3", "-p", "jit",
                              "--out", "out", *FAST])
    assert res.exit_code == 0, res.output
    table = pd.read_csv("out/compare.csv")
    assert set(table.policy) == {"jit"}
    assert (table[["diff_mean", "diff_ci_low", "diff_ci_high", "diff_p5", "diff_p95"]] == 0
            ).all().all()
    assert "What closure.yaml changes against copy.yaml" in res.output
    assert pd.read_parquet("out/runs_without.parquet")["seed"].eq(7).all()  # A's seed


def test_a_removed_setting_goes_back_to_its_default_and_the_heading_says_so():
    variants = variants_without(closure(), ["policies.jit.review_every_days"])
    assert variants.without.policies["jit"].review_every_days == 1
    assert variants.heading(10, 60, 7).startswith(
        "What removing policies.jit.review_every_days (= 2, default 1) changes"
    )
    assert variants.subject == "policies.jit.review_every_days = 2 (not 1)"


def test_help_lists_compare(runner):
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0 and "compare" in res.output
    res = runner.invoke(cli, ["compare", "--help"])
    assert res.exit_code == 0 and "--without PATH" in res.output
