"""Disruptions, calendar effects and the backup supplier (what the planner may and may not know)."""

import copy

import numpy as np
import pytest
from helpers import TINY, run_one
from scipy import stats

from simulator.data.scenario import Scenario
from simulator.model.replication import Streams, draw_demand, make_plans


def scenario_with(disruptions, horizon=60, policy=None, in_order=True, **extra):
    data = copy.deepcopy(TINY)
    data["horizon_days"] = horizon
    data["suppliers"]["s"]["disruptions"] = disruptions
    data["suppliers"]["s"]["deliver_in_order"] = in_order
    if policy is not None:
        data["policies"] = {"p": policy}
    data.update(extra)
    return Scenario.from_dict(data)


def events(scn, kind):
    log = []
    run_one(scn, log=log)
    return [e for e in log if e[1] == kind], log


@pytest.mark.parametrize("width", [1, 7, 21])
def test_port_closure_lands_nothing_inside_and_holds_shipments(width):
    scn = scenario_with([{"kind": "port_closure", "start": 20, "end": 20 + width}])
    receipts, log = events(scn, "receive")
    assert receipts
    assert not [r for r in receipts if 20 <= r[0] < 20 + width]
    # orders placed during the closure still ship; the ones due inside land at its end
    placed_inside = [e for e in log if e[1] == "order" and 20 <= e[0] < 20 + width]
    assert placed_inside
    due_inside = [e for e in log if e[1] == "order" and 20 <= e[0] + 2 < 20 + width]
    assert due_inside and all(e[5] == [(20.0 + width, e[3], e[0], e[0])] for e in due_inside)
    # the backlog lands together with the order that was due at the end anyway
    landed_at_end = [r for r in receipts if r[0] == 20 + width]
    assert len(landed_at_end) == len(due_inside) + 1


def test_port_closure_clearing_delay_spreads_the_backlog():
    scn = scenario_with(
        [{"kind": "port_closure", "start": 20, "end": 30,
          "clearing_delay": {"dist": "uniform", "low": 1, "high": 3}}]
    )  # fmt: skip
    receipts, _ = events(scn, "receive")
    held = [r[0] for r in receipts if 30 <= r[0] < 34 and r[0] != int(r[0])]
    assert held and all(31 <= t <= 33 for t in held)


@pytest.mark.parametrize("mode", ["refuse", "queue"])
def test_supplier_outage_blocks_orders(mode):
    scn = scenario_with([{"kind": "supplier_outage", "start": 10, "end": 15, "mode": mode}])
    _, log = events(scn, "receive")
    inside = [e for e in log if e[1] in ("order", "refused") and 10 <= e[0] < 15]
    assert inside
    if mode == "refuse":
        assert all(e[1] == "refused" for e in inside)
    else:
        # held orders ship when the outage ends and land a lead time later
        assert all(e[1] == "order" and e[5][0][0] == 15 + 2 for e in inside)
    receipts = [e for e in log if e[1] == "receive"]
    assert not [r for r in receipts if 12 <= r[0] < 17]


def test_lead_time_shock_stretches_orders_placed_inside():
    # orders free to cross, so the order after the shock is not held behind the shocked ones
    scn = scenario_with(
        [{"kind": "lead_time_shock", "start": 10, "end": 12, "multiplier": 2, "extra_days": 1}],
        in_order=False,
    )
    orders, _ = events(scn, "order")
    lead = {e[0]: e[5][0][0] - e[0] for e in orders}
    assert lead[10.0] == lead[11.0] == 2 * 2 + 1
    assert lead[9.0] == lead[12.0] == 2


def test_capacity_splits_orders_over_weeks():
    scn = scenario_with(
        [{"kind": "capacity", "units_per_week": 25}],
        policy={"type": "base_stock", "S": 200},
    )
    orders, log = events(scn, "order")
    first = orders[0]
    assert first[3] == 170
    # 170 units at 25 a week: 7 parts, the first now, the others at the start of later weeks
    ships = [a - 2 for a, _, _, _ in first[5]]
    assert ships == [0, 7, 14, 21, 28, 35, 42]
    assert [t for _, _, t, _ in first[5]] == [t for _, _, _, t in first[5]] == ships
    assert sum(p[1] for p in first[5]) == pytest.approx(170)


def test_random_outages_are_not_seen_by_the_planner_no_peeking():
    """Decisions before the first random outage are the same with or without outages."""
    base = {"type": "hybrid", "review_every_days": 1}
    calm = scenario_with([], horizon=200, policy=base)
    stormy = scenario_with(
        [{"kind": "random_outage", "per_year": 6, "duration": {"dist": "constant", "value": 10}}],
        horizon=200,
        policy=base,
    )
    from simulator.model.suppliers import SupplierState

    # the first replication whose stream draws an outage in 200 days (6 a year: most do)
    rep = next(
        r for r in range(20) if SupplierState(stormy, "s", Streams(stormy.seed, r)).outages
    )
    state = SupplierState(stormy, "s", Streams(stormy.seed, rep))
    first = state.outages[0][0]
    calm_log, storm_log = [], []
    run_one(calm, replication=rep, log=calm_log)
    run_one(stormy, replication=rep, log=storm_log)
    before = [e[:6] for e in calm_log if e[0] < first and e[1] in ("review", "order")]
    assert before == [e[:6] for e in storm_log if e[0] < first and e[1] in ("review", "order")]
    # and the outage does change what happens after it starts
    after = [e[:6] for e in calm_log if e[0] >= first and e[1] == "order"]
    assert after != [e[:6] for e in storm_log if e[0] >= first and e[1] == "order"]


def test_announced_closure_is_planned_for_by_hybrid_not_jit():
    closure = [{"kind": "port_closure", "start": 40, "end": 61}]
    levels = {}
    for name in ("jit", "hybrid"):
        scn = scenario_with(closure, horizon=100, policy={"type": name})
        (plan,) = make_plans(scn)
        from simulator.model.policies import build_policy

        levels[name] = build_policy(scn.policies["p"], plan).levels()[1]
    # jit covers R + L = 3 days all the time; hybrid covers through the closure before it
    assert np.allclose(levels["jit"], 30)
    assert levels["hybrid"][37] == pytest.approx(10 * (61 - 37))
    assert levels["hybrid"][10] == pytest.approx(30)
    assert levels["hybrid"][80] == pytest.approx(30)


def _with_backup(policy, disruptions=(), on_hand=30):
    data = copy.deepcopy(TINY)
    data["horizon_days"] = 60
    data["suppliers"]["s"]["lead_time"] = {"dist": "constant", "value": 10}
    data["suppliers"]["s"]["disruptions"] = list(disruptions)
    data["suppliers"]["fast"] = {
        "lead_time": {"dist": "constant", "value": 1},
        "order_cost": 20,
        "unit_cost_premium": 0.5,
    }
    data["skus"][0]["backup_supplier"] = "fast"
    data["skus"][0]["initial_on_hand"] = on_hand
    data["policies"] = {"p": policy}
    return Scenario.from_dict(data)


def test_backup_not_used_when_the_primary_copes():
    scn = _with_backup({"type": "hybrid"}, on_hand=200)
    expedites, _ = events(scn, "expedite")
    assert expedites == []
    (tr,) = run_one(scn)
    assert tr.expedite_cost == 0


def test_backup_used_when_stock_runs_out_before_a_primary_order_lands():
    scn = _with_backup({"type": "hybrid"}, on_hand=30)
    expedites, log = events(scn, "expedite")
    # day 0: 30 units cover 3 days, a primary order lands on day 10: expedite the gap
    assert expedites and expedites[0][0] == 0.0
    assert expedites[0][3] == pytest.approx(10 * 10 - 30)
    (tr,) = run_one(scn)
    assert tr.expedite_cost == pytest.approx(sum(e[3] for e in expedites) * 2.0 * 0.5)
    # and never by a policy that does not use the backup
    scn_jit = _with_backup({"type": "jit"}, on_hand=30)
    assert events(scn_jit, "expedite")[0] == []


def test_backup_takes_everything_while_the_primary_is_down():
    outage = [{"kind": "supplier_outage", "start": 20, "end": 30, "mode": "refuse",
               "announced": False}]  # fmt: skip
    scn = _with_backup({"type": "hybrid"}, outage, on_hand=200)
    _, log = events(scn, "expedite")
    inside = [e for e in log if e[1] in ("order", "expedite", "refused") and 20 <= e[0] < 30]
    assert inside and all(e[1] == "expedite" for e in inside)
    outside = [e for e in log if e[1] in ("order", "expedite") and e[0] >= 45]
    assert outside and all(e[1] == "order" for e in outside)


@pytest.mark.parametrize("kind", ["per_day", "customers"])
def test_seasonality_campaigns_and_trend_scale_mean_demand(kind):
    demand = (
        {"per_day": {"dist": "poisson", "mean": 20}}
        if kind == "per_day"
        else {"customers": {"orders_per_day": 10, "order_size": {"dist": "constant", "value": 2}}}
    )
    demand["seasonality"] = {"weekly": [1, 1, 1, 1, 1, 2, 0.5]}
    demand["campaigns"] = [{"start_day": 14, "end_day": 21, "uplift": 3}]
    data = copy.deepcopy(TINY)
    data["horizon_days"] = 28
    data["start_date"] = "2026-01-05"  # a Monday
    data["skus"][0]["demand"] = demand
    scn = Scenario.from_dict(data)
    plans = make_plans(scn)
    reps = 400
    totals = np.zeros((reps, 28))
    for r in range(reps):
        totals[r] = draw_demand(scn, Streams(12345 + r, r), plans)[0].units()
    mean = totals.mean(axis=0)
    se = totals.std(axis=0, ddof=1) / np.sqrt(reps)
    weekly = np.array([1, 1, 1, 1, 1, 2, 0.5] * 4)
    camp = np.where((np.arange(28) >= 14) & (np.arange(28) < 21), 3, 1)
    expected = 20 * weekly * camp
    # 28 days compared at once: a Bonferroni limit keeps the chance of any false miss
    # under 1e-5 for any seed (about 5.1 SE); a factor wrong by half is off by 30+ SE.
    limit = stats.norm.isf(1e-5 / (2 * expected.size))
    assert np.all(np.abs(mean - expected) <= limit * se + 1e-9)


def test_spikes_raise_realised_demand_but_not_the_forecast():
    data = copy.deepcopy(TINY)
    data["horizon_days"] = 365
    data["skus"][0]["demand"] = {
        "per_day": {"dist": "constant", "value": 10},
        "spikes": {"per_year": 12, "uplift": {"dist": "constant", "value": 3}, "duration_days": 2},
    }
    scn = Scenario.from_dict(data)
    plans = make_plans(scn)
    assert np.allclose(plans[0].mean[:365], 10)
    sizes = draw_demand(scn, Streams(3, 0), plans)[0].sizes()
    assert set(np.unique(sizes)) <= {10, 30, 90}
    assert (sizes > 10).sum() >= 2
