"""Overbuying features against hand-computable cases: expiry, end of life, shifts, quality."""

import copy
from collections import deque

import numpy as np
import pytest
from helpers import TINY, run_one, with_sku

from simulator.data.scenario import Scenario, load_scenario
from simulator.model.replication import Streams, Warehouse, draw_demand, make_plans
from simulator.study.invariants import check_runs
from simulator.study.metrics import OVERBUYING_METRICS, replication_rows
from simulator.study.runner import check_replications, run_scenario


def _tiny(policy=None, **sku) -> Scenario:
    data = with_sku(TINY, **sku)
    if policy is not None:
        data["policies"] = {"p": policy}
    return Scenario.from_dict(data)


NO_ORDERS = {"type": "base_stock", "S": 0}


def test_expired_units_written_off_at_the_close_of_their_last_day():
    """100 units with a 5-day life, 10 sold a day: 50 sold, 50 expire at the close of day 4."""
    scn = _tiny(NO_ORDERS, initial_on_hand=100, shelf_life_days=5)
    log: list = []
    (tr,) = run_one(scn, log=log)
    assert tr.extra["expired_units"] == 50
    assert [e[:4] for e in log if e[1] == "expire"] == [(5.0, "expire", "X", 50.0)]
    assert tr.on_hand.tolist() == [90, 80, 70, 60, 0, 0, 0, 0]
    assert tr.backordered_units == 30
    led = tr.ledger
    assert led["initial"] + led["received"] == led["shipped"] + led["on_hand_end"] + led["expired"]
    rows = replication_rows(0, 1, "p", [tr], scn.skus, {"X": "A"})
    assert rows[0]["write_off_cost"] == 50 * 2.0  # expired stock at cost, no salvage
    assert rows[0]["total_cost"] == pytest.approx(
        rows[0]["holding_cost"] + rows[0]["ordering_cost"] + rows[0]["shortage_cost"] + 100.0
    )


def test_fefo_takes_the_first_expiry_first():
    w = Warehouse(0.0, False, 0.0)
    w.lots = deque([[5, 10.0], [7, 20.0], [9, 5.0]])
    w.on_hand = 35.0
    w.on_hand -= 15
    w.take(15)
    assert list(w.lots) == [[7, 15.0], [9, 5.0]]  # the first lot went first, all of it
    w.write_off(7.0, dead=False)  # the lot whose last day was 6 goes; the later one stays
    assert w.expired == 15.0 and w.on_hand == 5.0 and list(w.lots) == [[9, 5.0]]


def test_stock_that_turns_faster_than_its_shelf_life_never_expires():
    """FEFO: base stock 35 at 10 a day sells every lot within 4 days."""
    (tr,) = run_one(_tiny(shelf_life_days=5, initial_on_hand=30))
    assert tr.extra["expired_units"] == 0
    assert tr.served_units == tr.demand_units


def test_end_of_life_stops_demand_and_writes_off_dead_stock_less_salvage():
    scn = _tiny(NO_ORDERS, initial_on_hand=100, salvage_value=0.25,
                lifecycle={"end_of_life": 4})  # fmt: skip
    (tr,) = run_one(scn)
    assert tr.demand_units == 40
    assert tr.extra["obsolete_units"] == 60
    assert tr.on_hand.tolist() == [90, 80, 70, 0, 0, 0, 0, 0]
    row = replication_rows(0, 1, "p", [tr], scn.skus, {"X": "A"})[0]
    assert row["write_off_cost"] == pytest.approx(60 * 2.0 * 0.75)
    # Announced (the default): the planner's forecast drops to zero from that day.
    assert make_plans(scn)[0].mean[3:6].tolist() == [10, 0, 0]


@pytest.mark.parametrize("announced", [False, True])
def test_a_shift_changes_demand_and_the_plan_only_when_announced(announced):
    shift = {"start": 4, "multiplier": 0.5, "announced": announced}
    scn = _tiny(demand={"per_day": {"dist": "constant", "value": 10}, "shifts": [shift]})
    plan = make_plans(scn)[0]
    path = draw_demand(scn, Streams(1, 0), [plan])[0]
    assert path.units().tolist() == [10, 10, 10, 10, 5, 5, 5, 5]
    assert plan.mean[4] == (5 if announced else 10)


def test_regime_changes_use_their_own_stream():
    data = copy.deepcopy(TINY)
    data["skus"][0]["demand"] = {"per_day": {"dist": "poisson", "mean": 10}}
    other = copy.deepcopy(data["skus"][0]) | {"id": "Y"}
    data["skus"].append(other)
    data["horizon_days"] = 400
    plain = Scenario.from_dict(data)
    data["skus"][0]["demand"]["regime_changes"] = {
        "per_year": 3, "multiplier": {"dist": "uniform", "low": 0.3, "high": 0.6}
    }  # fmt: skip
    changed = Scenario.from_dict(data)
    a = draw_demand(plain, Streams(7, 3), make_plans(plain))
    b = draw_demand(changed, Streams(7, 3), make_plans(changed))
    assert np.array_equal(a[1].units(), b[1].units())  # the other SKU: untouched
    assert b[0].units().sum() < a[0].units().sum()  # every change lowers demand
    first = int(np.flatnonzero(a[0].units() != b[0].units())[0])
    assert np.array_equal(a[0].units()[:first], b[0].units()[:first])


def test_bad_batches_are_returned_and_inspection_delays_the_receipt():
    data = with_sku(TINY)
    data["suppliers"]["s"]["quality"] = {"reject_rate": 1.0, "inspection_days": 1}
    scn = Scenario.from_dict(data)
    log: list = []
    (tr,) = run_one(scn, log=log)
    orders = [e for e in log if e[1] == "order"]
    rejects = [e for e in log if e[1] == "reject"]
    assert [e[0] for e in rejects] == [e[0] + 3 for e in orders if e[0] + 3 < 8]
    assert not [e for e in log if e[1] == "receive"]
    assert tr.extra["rejected_units"] == sum(e[3] for e in rejects)
    led = tr.ledger
    assert led["received"] == led["rejected"]
    # With no rejections the shipment lands one inspection day late, and is sold.
    data["suppliers"]["s"]["quality"]["reject_rate"] = 0.0
    log = []
    run_one(Scenario.from_dict(data), log=log)
    got = [e[0] for e in log if e[1] == "receive"]
    assert got == [e[0] + 3 for e in log if e[1] == "order" and e[0] + 3 < 8]


def test_goodwill_thins_demand_after_shortages_and_nothing_without_loss():
    base = {"demand": {"per_day": {"dist": "constant", "value": 10}}, "initial_on_hand": 0}
    none = run_one(_tiny(NO_ORDERS, goodwill={"loss_per_unit_short": 0.0}, **base))[0]
    lost = run_one(_tiny(NO_ORDERS, goodwill={"loss_per_unit_short": 0.2}, **base))[0]
    assert none.demand_units == 80
    # After day 0's 10 units short only 0.8^10 ≈ 11 % of demand is left, and less after.
    assert 10 <= lost.demand_units < 30


def test_campaign_stops_when_stock_falls_below_its_threshold():
    demand = {
        "per_day": {"dist": "constant", "value": 10},
        "campaigns": [{"start": 0, "end": 8, "uplift": 2, "stop_below": 15}],
    }
    log: list = []
    run_one(_tiny(NO_ORDERS, demand=demand, initial_on_hand=40), log=log)
    qty = [e[3] for e in log if e[1] == "demand"]
    assert qty[:2] == [20, 20]  # day 1 ends with 0 < 15 on hand: stopped from day 2
    assert all(q <= 20 for q in qty[2:]) and sum(qty[2:]) < 20 * 6


def test_every_invariant_holds_with_every_feature():
    scn = load_scenario("product-slowdown")
    data = scn.to_dict()
    data["suppliers"]["overseas"]["quality"] = {"reject_rate": 0.2, "inspection_days": 2}
    sku = data["skus"][0]
    sku["shelf_life_days"] = 60
    sku["goodwill"] = {"loss_per_unit_short": 0.0005}
    sku["demand"]["regime_changes"] = {"per_year": 2, "multiplier": {"dist": "uniform",
                                                                     "low": 0.7, "high": 1.3}}
    sku["demand"]["campaigns"] = [{"start": 30, "end": 60, "uplift": 1.5, "stop_below": 300}]
    data["leftover"] = {"in_total_cost": True}
    data["replications"] = 4
    full = Scenario.from_dict(data)
    assert check_replications(full, range(3)) == []
    runs = run_scenario(full).runs
    assert check_runs(runs, full) == []
    assert set(OVERBUYING_METRICS) <= set(runs.columns)


def test_plain_scenarios_keep_their_columns():
    runs = run_scenario(load_scenario("classroom").with_overrides(replications=2)).runs
    assert not set(OVERBUYING_METRICS) & set(runs.columns)


def test_product_slowdown_learned_jit_beats_safety_stock_on_total_cost():
    scn = load_scenario("product-slowdown").with_overrides(replications=20)
    runs = run_scenario(scn).runs
    cost = runs[runs["sku"] == "ALL"].pivot(index="replication", columns="policy",
                                            values="total_cost")  # fmt: skip
    diff = cost["jit_learned"] - cost["safety_stock"]
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert diff.mean() + 4 * se < 0
