"""Invariants over random scenarios that mix every feature, and the edge cases that must run.

Each random scenario is simulated under every policy with the event log on,
and :func:`simulator.study.invariants.check_traces` must find nothing; the runner's
table must pass :func:`simulator.study.invariants.check_runs`. The unit tests at the
end feed deliberately broken traces, logs and tables to show that every check
can fail.
"""

import copy

import pytest
from helpers import TINY, run_one
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from known_findings import significant
from strategies import scenario_dicts

from simulator.data.scenario import Scenario, ScenarioError
from simulator.study.invariants import check_runs, check_traces
from simulator.study.runner import run_scenario

FAST = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def check_every_policy(scn, replication=0):
    problems = []
    for name in scn.policies:
        log = []
        traces = run_one(scn, name, replication=replication, log=log)
        problems += check_traces(scn, traces, log, where=f"policy {name}")
    return problems


@FAST
@given(scenario_dicts(), st.integers(0, 3))
def test_random_scenarios_keep_every_invariant(data, replication):
    scn = Scenario.from_dict(data)
    assert significant(check_every_policy(scn, replication)) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario_dicts(max_horizon=30))
def test_runner_tables_keep_every_invariant(data):
    scn = Scenario.from_dict(data)
    res = run_scenario(scn, backend="serial")
    assert significant(check_runs(res.runs, scn)) == []


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenario_dicts(max_horizon=200), st.integers(0, 50))
def test_random_scenarios_keep_every_invariant_long(data, replication):
    scn = Scenario.from_dict(data)
    assert significant(check_every_policy(scn, replication)) == []


# --------------------------------------------------------------------------- edge cases that must run

ALL_POLICIES = {
    "bs": {"type": "base_stock", "S": 60, "review": "continuous"},
    "ss": {"type": "s_S", "s": 20, "S": 80, "review_every_days": 3},
    "rq": {"type": "r_Q", "r": 20, "Q": 25},
    "jit": {"type": "jit", "review_every_days": 2, "plan_for_disruptions": True},
    "safety": {"type": "safety_stock", "service_level": 0.95, "use_backup": True},
    "hybrid": {"type": "hybrid"},
}


def edge(horizon=30, lead=None, per_day=None, customers=None, initial=40, replications=2, disruptions=(),
         unmet="backorder"):  # fmt: skip
    """Two SKUs (daily quantity, customer orders), a backup supplier, every policy type."""
    return {
        "name": "edge",
        "horizon_days": horizon,
        "replications": replications,
        "seed": 7,
        "unmet_demand": unmet,
        "suppliers": {
            "main": {"lead_time": lead or {"dist": "gamma", "mean": 4, "sd": 1}, "order_cost": 20,
                     "disruptions": list(disruptions)},
            "spare": {"lead_time": {"dist": "constant", "value": 1}, "unit_cost_premium": 0.2},
        },  # fmt: skip
        "skus": [
            {"id": "D", "unit_cost": 2, "price": 5, "supplier": "main", "backup_supplier": "spare",
             "initial_on_hand": initial, "demand": {"per_day": per_day or {"dist": "poisson", "mean": 8}}},
            {"id": "C", "unit_cost": 3, "price": 4, "supplier": "main", "backup_supplier": "spare",
             "initial_on_hand": initial,
             "demand": {"customers": customers or {"orders_per_day": 3,
                                                   "order_size": {"dist": "poisson", "mean": 2}}}},
        ],  # fmt: skip
        "policies": ALL_POLICIES,
    }


def must_run(data):
    scn = Scenario.from_dict(data)
    assert significant(check_every_policy(scn)) == []
    res = run_scenario(scn, backend="serial")
    assert significant(check_runs(res.runs, scn)) == []
    return scn, res.runs


def test_zero_demand_runs():
    _, runs = must_run(
        edge(per_day={"dist": "constant", "value": 0},
             customers={"orders_per_day": 0, "order_size": {"dist": "constant", "value": 1}})
    )  # fmt: skip
    assert (runs["demand_units"] == 0).all() and runs["fill_rate"].isna().all()


def test_lead_time_longer_than_the_horizon_runs():
    _, runs = must_run(edge(horizon=20, lead={"dist": "constant", "value": 50}, initial=0))
    no_backup = runs["policy"].isin(["bs", "ss", "rq", "jit"])  # the others expedite
    assert (runs.loc[no_backup, "served_units"] == 0).all()
    assert (runs.loc[~no_backup, "served_units"] > 0).all()


def test_zero_initial_stock_runs():
    _, runs = must_run(edge(initial=0))
    assert (runs["stockout_rate"] > 0).all()


@pytest.mark.parametrize("unmet", ["backorder", "lost_sale"])
def test_one_day_horizon_runs(unmet):
    _, runs = must_run(edge(horizon=1, unmet=unmet))
    assert (runs["days"] == 1).all()


def test_huge_demand_runs():
    _, runs = must_run(
        edge(per_day={"dist": "normal", "mean": 1e9, "sd": 1e8},
             customers={"orders_per_day": 50, "order_size": {"dist": "gamma", "mean": 1e8, "sd": 1e7}},
             initial=1e9)
    )  # fmt: skip
    assert (runs["demand_units"] > 1e9).all()


def test_a_single_replication_runs():
    _, runs = must_run(edge(replications=1))
    assert set(runs["replication"]) == {0}


@pytest.mark.parametrize(
    "closure",
    [
        {"kind": "port_closure", "start": 0, "end": 30},
        {"kind": "supplier_outage", "start": 0, "end": 30, "mode": "refuse"},
        {"kind": "supplier_outage", "start": 0, "end": 30, "mode": "queue"},
    ],
)
def test_a_closure_covering_the_whole_horizon_runs(closure):
    scn, runs = must_run(edge(horizon=30, disruptions=[closure]))
    log = []
    run_one(scn, "bs", log=log)  # base stock has no backup: nothing can land in the horizon
    assert [e for e in log if e[1] == "receive"] == []
    sku_rows = runs[(runs["policy"] == "bs") & (runs["sku"] != "ALL")]
    assert (sku_rows["served_units"] == 40).all()  # the initial stock, then nothing


# --------------------------------------------------------------------------- findings, fixed in the model and metrics


def test_fill_rate_never_exceeds_one_after_a_warm_up():
    data = copy.deepcopy(TINY)
    data.update(horizon_days=16, warmup_days=2, unmet_demand="lost_sale", replications=1)
    data["skus"][0].update(initial_on_hand=0, demand={"per_day": {"dist": "constant", "value": 0.9}})
    data["suppliers"]["s"]["lead_time"]["value"] = 1
    data["policies"] = {"p": {"type": "s_S", "s": 0, "S": 16}}
    scn = Scenario.from_dict(data)
    runs = run_scenario(scn, backend="serial").runs
    assert check_runs(runs, scn) == []  # today: fill_rate 1.0000000000000002


@pytest.mark.parametrize("seed", range(12))
def test_fill_rate_never_exceeds_one_after_a_large_warm_up(seed):
    """Served units never exceed demanded ones, not even by a rounding error.

    Order sizes spread over sixty orders of magnitude: the measured units were
    differences of running totals and served could exceed demand (1.4e-60
    served of 0 demanded). Both are now summed from zero in the same order.
    """
    data = {
        "name": "r", "horizon_days": 1, "warmup_days": 1, "replications": 2, "seed": seed,
        "suppliers": {"b": {"lead_time": {"dist": "constant", "value": 1}}},
        "skus": [{"id": "S0", "unit_cost": 1.0, "price": 0.0, "supplier": "b",
                  "demand": {"customers": {"orders_per_day": 1.0,
                                           "order_size": {"dist": "gamma", "mean": 2.0, "sd": 14.0}}}}],
        "policies": {"p0": {"type": "jit", "review": "continuous"}},
    }  # fmt: skip
    scn = Scenario.from_dict(data)
    for replication in range(5):
        (tr,) = run_one(scn, replication=replication)
        assert tr.served_units <= tr.demand_units, (replication, tr.served_units, tr.demand_units)


def test_on_order_is_never_negative_once_everything_has_landed():
    data = {
        "name": "r", "horizon_days": 1, "warmup_days": 10, "replications": 1, "seed": 0,
        "suppliers": {"b": {"lead_time": {"dist": "constant", "value": 1}}},
        "skus": [{"id": "S0", "unit_cost": 1.0, "price": 0.0, "supplier": "b",
                  "demand": {"customers": {"orders_per_day": 1.0,
                                           "order_size": {"dist": "gamma", "mean": 2.0, "sd": 14.0}}}}],
        "policies": {"p0": {"type": "jit", "review": "continuous"}},
    }  # fmt: skip
    runs = run_scenario(Scenario.from_dict(data), backend="serial").runs
    assert (runs["cash_in_pipeline"] >= 0).all()


def test_a_tiny_holding_rate_is_refused_by_the_loader():
    """Fuzzing found a holding rate of 1e-308 overflowing EOQ to inf and crashing the run
    (ValueError in FixedLots.review, exit 1). The loader now refuses non-zero numbers below
    1e-9 (MIN_VALUE), which keeps sqrt(2·K·D/h) finite for every valid scenario."""
    data = copy.deepcopy(TINY)
    data["skus"][0]["holding_rate"] = 1e-308
    data["policies"] = {"p": {"type": "safety_stock", "weeks_of_cover": 0}}
    with pytest.raises(ScenarioError, match=r"^skus\[0\]\.holding_rate: must be 0 or >= 1e-09, got 1e-308$"):
        Scenario.from_dict(data)
    data["skus"][0].update(holding_rate=1e-9, unit_cost=1e-9)
    data["suppliers"]["s"]["order_cost"] = 1e12
    scn = Scenario.from_dict(data)
    log = []
    traces = run_one(scn, log=log)
    assert check_traces(scn, traces, log) == []
