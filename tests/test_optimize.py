"""supplysim optimize: the search finds known optima, respects targets and caps, stays paired."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulator.data.scenario import Scenario
from simulator.study.metrics import METRICS
from simulator.study.optimize import (
    Infeasible,
    OptimizeError,
    optimize,
    parse_param,
    parse_target,
    verify,
    write_optimize,
)
from simulator.study.runner import run_batch, run_scenario
from simulator.study.workspace import is_results_folder

H, B = 0.1, 0.9  # holding per unit-day (73 × 0.5 / 365) and backorder penalty per unit-day
LEAD = 5


def _sku(sku_id: str, mean: float, sd: float, **extra) -> dict:
    return {
        "id": sku_id, "unit_cost": 73.0, "price": 100.0, "holding_rate": 0.5,
        "backorder_cost_per_day": B, "supplier": "s", "initial_on_hand": mean * (LEAD + 2),
        "demand": {"per_day": {"dist": "normal", "mean": mean, "sd": sd}}, **extra,
    }  # fmt: skip


NEWSVENDOR = {
    "name": "newsvendor", "horizon_days": 365, "warmup_days": 20, "replications": 100,
    "seed": 7, "units": "continuous", "unmet_demand": "backorder",
    "suppliers": {"s": {"lead_time": {"dist": "constant", "value": LEAD}, "order_cost": 0}},
    "skus": [_sku("X", 20, 6)],
    "policies": {"bs": {"type": "base_stock", "S": 140}},
}  # fmt: skip


def scenario(**changes) -> Scenario:
    data = copy.deepcopy(NEWSVENDOR)
    data.update(changes)
    return Scenario.from_dict(data)


def critical_fractile_level(mean: float, sd: float) -> float:
    """S* = F⁻¹(b/(b+h)) of demand over L+1 days (periodic review every day)."""
    days = LEAD + 1
    return days * mean + stats.norm.ppf(B / (B + H)) * sd * math.sqrt(days)


@pytest.fixture(scope="module")
def newsvendor_result():
    return optimize(scenario(), "bs", {"S": (120, 160, 2)}, replications=100)


# --------------------------------------------------------------------------- known optima


def test_base_stock_lands_on_the_critical_fractile(newsvendor_result):
    """Periodic base stock, normal demand, constant lead time: S* is the newsvendor level."""
    s_star = critical_fractile_level(20, 6)  # 138.8
    chosen = newsvendor_result.params["S"]
    assert abs(chosen - s_star) <= 2.0, (chosen, s_star)
    # and the expected yearly cost there agrees with the formula within its CI
    mu, sd = 6 * 20, 6 * math.sqrt(6)
    z = (chosen - mu) / sd
    per_day = H * (chosen - mu) + (H + B) * sd * (stats.norm.pdf(z) - z * stats.norm.sf(z))
    ch = newsvendor_result.choice["ALL"]
    half = ch["ci_high"] - ch["mean"]
    assert abs(ch["mean"] - 365 * per_day) < 2 * half + 1.0, (ch, 365 * per_day)


def test_base_stock_per_sku_finds_each_level():
    """Per SKU: each SKU's level is its own critical fractile (one grid, judged on its rows)."""
    two = scenario(skus=[_sku("X", 20, 6), _sku("Y", 10, 2)], horizon_days=150)
    res = optimize(two, "bs", {"S": (50, 150, 4)}, per="sku", replications=60)
    assert set(res.params["S"]) == {"X", "Y"}
    assert abs(res.params["S"]["X"] - critical_fractile_level(20, 6)) <= 4
    assert abs(res.params["S"]["Y"] - critical_fractile_level(10, 2)) <= 4
    assert res.optimized.policies["bs_optimized"].S == res.params["S"]
    assert res.check is not None and res.check["replications"] == res.replications
    assert set(res.search["group"]) == {"X", "Y"}


SS = {
    "name": "ss", "horizon_days": 180, "warmup_days": 20, "replications": 100, "seed": 11,
    "units": "continuous", "unmet_demand": "backorder",
    "suppliers": {"s": {"lead_time": {"dist": "constant", "value": 2}, "order_cost": 60}},
    "skus": [{"id": "X", "unit_cost": 36.5, "price": 60, "holding_rate": 1.0,
              "backorder_cost_per_day": 1.0, "supplier": "s", "initial_on_hand": 100,
              "demand": {"per_day": {"dist": "normal", "mean": 10, "sd": 3}}}],
    "policies": {"ss": {"type": "s_S", "s": 30, "S": 100}},
}  # fmt: skip


def test_s_S_matches_brute_force():
    """(s, S): optimize's choice is the brute-force optimum (another seed, 300 replications)."""
    svals, Svals = (5, 15, 25, 35), (110, 130, 150, 170)
    res = optimize(Scenario.from_dict(SS), "ss", {"s": (5, 35, 10), "S": (110, 170, 20)},
                   replications=100)
    data = copy.deepcopy(SS)
    data.update(seed=999, replications=300)
    data["policies"] = {f"{s}_{S}": {"type": "s_S", "s": s, "S": S} for s in svals for S in Svals}
    brute = run_scenario(Scenario.from_dict(data)).runs
    wide = brute[brute["sku"] == "ALL"].pivot(index="replication", columns="policy",
                                               values="total_cost")
    best = wide.mean().idxmin()
    chosen = f"{res.params['s']:g}_{res.params['S']:g}"
    tied = {f"{p['s']:g}_{p['S']:g}" for p in res.tie_set["ALL"]}
    if best != chosen and best not in tied:
        # the brute force's own paired CI must then call them tied
        d = wide[chosen] - wide[best]
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        assert d.mean() - half <= 0, (best, chosen, d.mean(), half)


# --------------------------------------------------------------------------- targets and caps


def test_target_holds_at_the_choice(newsvendor_result):
    res = optimize(scenario(), "bs", {"S": (120, 160, 2)}, targets=[("fill_rate", ">=", 0.97)],
                   replications=100)
    ch = res.choice["ALL"]["targets"]["fill_rate >= 0.97"]
    assert ch["met"] and ch["bound"] >= 0.97
    row = res.search[res.search["status"] == "chosen"].iloc[0]
    assert row["fill_rate_bound"] >= 0.97 and row["feasible"]
    # the target binds: the unconstrained optimum (~139) has a lower fill rate
    assert res.params["S"] > newsvendor_result.params["S"]
    # every point below the choice that was judged feasible costs more (never cheaper)
    assert not res.search[(res.search["feasible"]) & (res.search["diff_ci_high"] < 0)].size


def test_cash_cap_is_respected():
    free = optimize(scenario(), "bs", {"S": (120, 160, 4)}, replications=60)
    cash_free = free.choice["ALL"]
    cap = 0.98 * free.search.loc[free.search["status"] == "chosen", "cash_tied_up_mean"].iloc[0]
    res = optimize(scenario(), "bs", {"S": (120, 160, 4)}, max_cash=cap, replications=60)
    b = res.choice["ALL"]["targets"][f"cash_tied_up <= {cap:g}"]
    assert b["met"] and b["bound"] <= cap
    # recompute the upper bound from the chosen point's own rows
    runs = res.runs[(res.runs["sku"] == "ALL") & (res.runs["policy"] ==
                                                   res.search.loc[res.search["status"] == "chosen",
                                                                  "policy"].iloc[0])]
    x = runs["cash_tied_up"].to_numpy()
    upper = x.mean() + stats.t.ppf(0.95, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    assert upper <= cap
    assert res.params["S"] < free.params["S"]  # the cap binds
    assert res.choice["ALL"]["mean"] >= cash_free["mean"] - 1e-9


def test_infeasible_target_names_the_best_reached():
    with pytest.raises(Infeasible) as err:
        optimize(scenario(), "bs", {"S": (100, 130, 10)}, targets=[("fill_rate", ">=", 0.999)],
                 replications=30)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("fill_rate >= 0.999 cannot be met in the range: the best point reaches ")
    assert "[lower 95 % bound " in msg and msg.endswith("at S=130")
    assert err.value.spent == 4 * 30
    assert not err.value.search["feasible"].any()


def test_targets_that_conflict_are_infeasible_together():
    with pytest.raises(Infeasible) as err:
        optimize(scenario(), "bs", {"S": (110, 160, 10)},
                 targets=[("fill_rate", ">=", 0.99), ("cash_tied_up", "<=", 1000.0)],
                 replications=30)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("no point in the range meets fill_rate >= 0.99 and cash_tied_up <= 1000 "
                          "together: fill_rate >= 0.99 alone can be met (the best point reaches ")


# --------------------------------------------------------------------------- common random numbers


def test_points_run_on_common_random_numbers(newsvendor_result):
    """A point's rows equal a plain run of the scenario with that policy alone."""
    res = newsvendor_result
    for status in ("chosen", "infeasible", "worse"):
        sel = res.search[res.search["status"] == status]
        if sel.empty:
            continue
        row = sel.iloc[0]
        n = int(row["replications"])
        data = scenario().to_dict()
        data["policies"] = {"alone": {"type": "base_stock", "S": float(row["S"])}}
        engine = res.metadata["engine"]  # the same engine: the same bits
        plain = pd.DataFrame(run_batch(Scenario.from_dict(data), list(range(n)), engine).rows)
        mine = res.runs[res.runs["policy"] == row["policy"]].sort_values(["replication", "sku"])
        plain = plain.sort_values(["replication", "sku"])
        assert list(mine["replication"]) == list(plain["replication"]) == sorted(
            list(range(n)) * 2)
        for m in METRICS:
            np.testing.assert_array_equal(mine[m].to_numpy(), plain[m].to_numpy(), err_msg=m)


def test_stages_are_nested(newsvendor_result):
    """Confirmed points got the screening replications first, then more (same seed)."""
    res = newsvendor_result
    counts = res.runs.groupby("policy")["replication"].agg(["min", "max", "nunique"])
    assert (counts["min"] == 0).all()
    assert (counts["max"] + 1 == counts["nunique"]).all()
    screened = res.search[res.search["stage"] == "screen"]
    assert (screened["replications"] == res.screen_replications).all()
    assert res.spent == int(res.search["replications"].sum())


# --------------------------------------------------------------------------- files


def test_write_optimize(tmp_path, newsvendor_result):
    from simulator.present.optimize_chart import write_search_chart

    res = newsvendor_result
    write_optimize(res, tmp_path)
    write_search_chart(res, tmp_path)
    assert is_results_folder(tmp_path)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["seed"] == 7 and meta["chosen"] == res.params
    again = Scenario.from_yaml(tmp_path / "optimized.yaml")
    assert again.policies["bs_optimized"].S == res.params["S"]
    search = pd.read_csv(tmp_path / "search.csv")
    assert len(search) == len(res.search) and "total_cost_ci_low" in search
    assert (tmp_path / "search.png").stat().st_size > 10_000


def test_verify_reruns_on_fresh_numbers(newsvendor_result):
    v = verify(newsvendor_result, seed=123, replications=20)
    assert v.replications == 20 and v.holds
    assert set(v.table["metric"]) == {"total_cost"}


# --------------------------------------------------------------------------- per class


def test_per_class_hybrid_searches_each_class_on_its_rows():
    three = scenario(
        horizon_days=90, warmup_days=0,
        skus=[_sku("A1", 100, 20), _sku("B1", 15, 4), _sku("C1", 3, 1)],
        policies={"h": {"type": "hybrid"}},
    )  # fmt: skip
    res = optimize(three, "h", {"service_level_a": (0.8, 0.98, 0.06),
                                "service_level_b": (0.7, 0.95, 0.05)},
                   per="class", targets=[("fill_rate", ">=", 0.95)], replications=40)
    assert set(res.choice) == {"class A", "class B"}
    assert set(res.params) == {"service_level_a", "service_level_b"}
    for label, ch in res.choice.items():
        assert all(t["met"] for t in ch["targets"].values()), label
    assert res.search[res.search["group"] == "class A"]["service_level_b"].isna().all()


# --------------------------------------------------------------------------- input errors


@pytest.mark.parametrize("text, key, rng", [
    ("S=100:400:10", "S", (100.0, 400.0, 10.0)),
    ("service_level_a=0.9:0.995", "service_level_a", (0.9, 0.995, None)),
    (" review_every_days = 1 : 14 ", "review_every_days", (1.0, 14.0, None)),
    ("service_level=90%:99%", "service_level", (0.9, 0.99, None)),
])  # fmt: skip
def test_parse_param(text, key, rng):
    assert parse_param(text) == (key, rng)


@pytest.mark.parametrize("text, words", [
    ("S", "needs KEY=LOW:HIGH"),
    ("S=100", "needs LOW:HIGH"),
    ("S=a:400", "LOW must be a number, got 'a'"),
    ("S=400:100", "LOW must be <= HIGH"),
    ("S=100:400:0", "STEP must be > 0"),
    ("S=1:2:3:4", "needs LOW:HIGH"),
    ("=1:2", "needs KEY=LOW:HIGH"),
    ("S-x=1:2", "KEY must be a parameter name, got 'S-x'"),
])  # fmt: skip
def test_parse_param_errors_are_one_line(text, words):
    with pytest.raises(OptimizeError) as err:
        parse_param(text)
    assert "\n" not in str(err.value) and words in str(err.value)


def test_parse_target():
    assert parse_target("fill_rate>=0.98") == ("fill_rate", ">=", 0.98)
    assert parse_target("cash_tied_up <= 12000") == ("cash_tied_up", "<=", 12000.0)
    assert parse_target("fill_rate ≥ 98%") == ("fill_rate", ">=", 0.98)


@pytest.mark.parametrize("text, words", [
    ("fill_rate>0.98", "must be >= or <=, got '>'"),
    ("fil_rate>=0.98", "did you mean 'fill_rate'?"),
    ("fill_rate>=high", "VALUE must be a number"),
    ("fill_rate", "needs a comparison"),
])  # fmt: skip
def test_parse_target_errors_are_one_line(text, words):
    with pytest.raises(OptimizeError) as err:
        parse_target(text)
    assert "\n" not in str(err.value) and words in str(err.value)


@pytest.mark.parametrize("policy, params, kwargs, words", [
    ("bs", {"service_level": (0.9, 0.99, None)}, {}, "service_level: not a parameter of policy "
                                                    "'bs' (type base_stock)"),
    ("nope", {"S": (1, 2, None)}, {}, "policy: must name a policy of the scenario"),
    ("hybrid", {"service_level_a": (0.9, 1.0, None)}, {}, "service_level_a=1: must be < 1"),
    ("hybrid", {"review_every_days": (1.5, 3, None)}, {}, "whole number of days"),
    ("hybrid", {"service_level_a": (0.9, 0.99, None)}, {"per": "sku"}, "per sku: supported for"),
    ("bs", {"S": (100, 200, 10)}, {"per": "class"}, "per class: supported for hybrid"),
    ("bs", {"review_every_days": (1, 3, None)}, {"per": "sku"}, "only S, s, r, Q can differ"),
    ("hybrid", {"service_level_b": (0.8, 0.9, None)}, {"per": "class"}, "no SKU is in class B"),
    ("bs", {"S": (100, 200, 10)}, {"minimize": "cost"}, "unknown metric 'cost'"),
    ("bs", {"S": (100, 200, 10)}, {"targets": [("fill_rate", ">", 0.9)]}, "must be >= or <="),
    ("bs", {"S": (100, 200, 10)}, {"budget": 50}, "budget: 50 replications cannot screen"),
    ("bs", {}, {}, "give at least one parameter"),
])  # fmt: skip
def test_setup_errors_are_one_line(policy, params, kwargs, words):
    with pytest.raises(OptimizeError) as err:
        optimize(scenario(), policy, params, **kwargs)
    assert "\n" not in str(err.value)
    assert words in str(err.value), str(err.value)


def test_a_large_grid_is_coarsened_and_says_so():
    res = optimize(scenario(horizon_days=20, warmup_days=0), "bs",
                   {"S": (100, 180, 1), "review_every_days": (1, 3, None)},
                   max_points=20, screen_replications=3, replications=3, max_replications=12)  # fmt: skip
    assert res.search["point"].nunique() <= 20
    assert any("coarsened" in n for n in res.notes)
    assert res.grid["S"][0] == 100 and res.grid["S"][-1] == 180  # both ends kept
    assert res.grid["review_every_days"] == [1, 2, 3]


def test_invalid_combinations_are_left_out():
    data = copy.deepcopy(SS)
    data.update(horizon_days=30, warmup_days=0)
    res = optimize(Scenario.from_dict(data), "ss", {"s": (20, 60, 20), "S": (40, 60, 20)},
                   screen_replications=5, replications=5)
    assert any("not valid s_S policies" in n for n in res.notes)
    assert all(r.s <= r.S for r in res.search.itertuples())
