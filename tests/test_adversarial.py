"""Adversarial review: properties an inventory theorist expects of the simulator.

A failing test here is the evidence of a defect (see review-findings.md); a
passing one is a regression guard for a property that was tried and holds.

Tolerances are derived from Monte Carlo standard errors of paired
replications (common random numbers), never from fixed magic margins.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_one

from simulator.data.scenario import Scenario
from simulator.model.replication import Streams, build_policies, draw_demand, make_plans, simulate
from simulator.model.suppliers import SupplierState
from simulator.present import report as report_mod
from simulator.study import metrics as metrics_mod
from simulator.study.runner import run_batch

ROOT = Path(__file__).resolve().parents[1]
DECISIONS = ("review", "order", "expedite", "refused")

# --------------------------------------------------------------------------- builders


def demand_spec(kind: str) -> dict:
    if kind == "per_day":
        return {"per_day": {"dist": "normal", "mean": 100, "sd": 30}}
    return {"customers": {"orders_per_day": 20, "order_size": {"dist": "poisson", "mean": 5}}}


def scenario_dict(
    demand: str = "per_day",
    lead: dict | None = None,
    policies: dict | None = None,
    horizon: int = 200,
    warmup: int = 30,
    **top,
) -> dict:
    data = {
        "name": "adversarial",
        "horizon_days": horizon,
        "warmup_days": warmup,
        "seed": 7,
        "replications": 10,
        "suppliers": {
            "s": {"lead_time": lead or {"dist": "gamma", "mean": 7, "sd": 2}, "order_cost": 50}
        },
        "skus": [
            {
                "id": "X",
                "unit_cost": 10.0,
                "price": 25.0,
                "supplier": "s",
                "initial_on_hand": 800,
                "demand": demand_spec(demand),
            }
        ],
        "policies": policies or {"ss": {"type": "safety_stock", "service_level": 0.95}},
    }
    data.update(top)
    return data


def sku_rows(data: dict, reps: int) -> pd.DataFrame:
    """Per-SKU rows of ``reps`` replications, indexed by (policy, sku, replication)."""
    df = pd.DataFrame(run_batch(Scenario.from_dict(data), list(range(reps))).rows)
    return df[df.sku != "ALL"].set_index(["policy", "sku", "replication"]).sort_index()


def mean_ci(x) -> tuple[float, float]:
    """Mean and standard error across replications (NaNs left out)."""
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def decisions(log: list, before: float) -> list[tuple]:
    """Review / order / expedite / refusal entries strictly before ``before``."""
    return [e[:5] for e in log if e[1] in DECISIONS and e[0] < before]


# The named policies (jit, safety_stock, hybrid), each in a scenario where its special machinery is live:
# hybrid with a faster backup it may expedite from, and a planner that plans for an
# announced port closure.
NAMED = {
    "jit": {"type": "jit"},
    "safety_stock": {"type": "safety_stock", "service_level": 0.95},
    "safety_stock_continuous": {
        "type": "safety_stock",
        "service_level": 0.95,
        "review": "continuous",
    },
    "hybrid_backup": {"type": "hybrid", "use_backup": True, "review_every_days": 2},
    "plan_for_disruptions": {
        "type": "safety_stock",
        "service_level": 0.95,
        "plan_for_disruptions": True,
    },
}


def peeking_scenario(demand: str, policy: str) -> Scenario:
    data = scenario_dict(
        demand, lead={"dist": "gamma", "mean": 7, "sd": 3}, policies={"p": NAMED[policy]},
        horizon=90, warmup=0,
    )  # fmt: skip
    data["suppliers"]["s"]["disruptions"] = [{"kind": "port_closure", "start": 45, "end": 52}]
    data["suppliers"]["b"] = {
        "lead_time": {"dist": "constant", "value": 2},
        "order_cost": 80,
        "unit_cost_premium": 0.2,
    }
    data["skus"][0]["backup_supplier"] = "b"
    data["skus"][0]["initial_on_hand"] = 300
    return Scenario.from_dict(data)


# --------------------------------------------------------------------------- 1. no peeking


@pytest.mark.parametrize("factor", [3.0, 0.2])
@pytest.mark.parametrize("demand", ["per_day", "customers"])
@pytest.mark.parametrize("policy", list(NAMED))
def test_decisions_before_planned_arrival_ignore_that_orders_realised_lead_time(
    policy, demand, factor, monkeypatch
):
    """Stretch (×3) or shrink (×0.2) the realised lead time of one open order: every
    decision before min(its planned landing, its old and new realised landing) is the same."""
    scn = peeking_scenario(demand, policy)
    base_log: list = []
    run_one(scn, log=base_log)
    primary = [e for e in base_log if e[1] == "order" and e[4] == "s"]
    if policy == "hybrid_backup":
        assert any(e[1] == "expedite" for e in base_log), "scenario must exercise expediting"
    original = Streams.draws

    def rerun(k: int) -> list:
        def draws(self, source, dist):
            it = original(self, source, dist)
            if tuple(source) != ("lead_time", "X", "s"):
                return it
            return (x * factor if j == k else x for j, x in enumerate(it))

        monkeypatch.setattr(Streams, "draws", draws)
        log: list = []
        run_one(scn, log=log)
        monkeypatch.undo()
        return log

    # the first order from day 12 on whose landing the perturbation moves (in-order
    # delivery may hide a shorter lead time behind an earlier shipment)
    for k in (j for j, e in enumerate(primary) if e[0] >= 12):
        new_log = rerun(k)
        target = primary[k]
        new_target = [e for e in new_log if e[1] == "order" and e[4] == "s"][k]
        if new_target[5] != target[5]:
            break
    else:
        pytest.fail("no order's landing could be moved")

    plan = make_plans(scn)[0]
    (landing, _, shipped, _) = target[5][0]
    day = math.floor(shipped)
    planned = float(plan.arrival[day - plan.first_day]) + shipped - day
    cut = min(planned, landing, new_target[5][0][0])
    assert cut > target[0]
    assert decisions(new_log, cut) == decisions(base_log, cut)


@pytest.mark.parametrize("demand", ["per_day", "customers"])
@pytest.mark.parametrize("policy", list(NAMED))
def test_decisions_up_to_day_d_ignore_demand_after_day_d(policy, demand):
    """Triple every customer order after day d: decisions on days <= d are unchanged
    (a continuous review reacts to day d's own orders, which are not touched)."""
    scn = peeking_scenario(demand, policy)
    plans = make_plans(scn)
    built = build_policies(scn, plans)["p"]
    cut_day = 30

    def run(perturb: bool) -> list:
        streams = Streams(scn.seed, 0)
        paths = draw_demand(scn, streams, plans)
        if perturb:
            p = paths[0]
            orders = [
                [(t, 3 * q) for t, q in day] if i > cut_day else day
                for i, day in enumerate(p.orders)
            ]
            paths = [dataclasses.replace(p, orders=orders)]
        log: list = []
        simulate(scn, built, paths, streams, log=log, plans=plans)
        return log

    base, changed = run(False), run(True)
    assert decisions(changed, 10_000) != decisions(base, 10_000)  # the change is seen later
    assert decisions(changed, cut_day + 1) == decisions(base, cut_day + 1)


@pytest.mark.parametrize(
    "window",
    [
        {"kind": "supplier_outage", "start": 40, "end": 50, "announced": False},
        {"kind": "supplier_outage", "start": 40, "end": 50, "announced": False, "mode": "refuse"},
        {"kind": "port_closure", "start": 40, "end": 50, "announced": False},
        {"kind": "lead_time_shock", "start": 40, "end": 50, "multiplier": 3, "announced": False},
    ],
    ids=["outage-queue", "outage-refuse", "closure", "shock"],
)
@pytest.mark.parametrize("policy", list(NAMED))
def test_unannounced_windows_are_not_seen_before_they_start(policy, window):
    """An unannounced window (with capacity splitting orders, so parts are scheduled
    into the window) changes no decision before it starts."""
    calm = peeking_scenario("per_day", policy)
    data = calm.model_dump(by_alias=True)
    data["suppliers"]["s"]["disruptions"] = [
        *data["suppliers"]["s"]["disruptions"],
        {"kind": "capacity", "units_per_week": 900},
    ]
    calm = Scenario.from_dict(copy.deepcopy(data))
    data["suppliers"]["s"]["disruptions"].append(window)
    stormy = Scenario.from_dict(data)
    a, b = [], []
    run_one(calm, log=a)
    run_one(stormy, log=b)
    assert decisions(b, 10_000) != decisions(a, 10_000) or window["kind"] == "lead_time_shock"
    assert decisions(b, 40) == decisions(a, 40)


# --------------------------------------------------------------------------- 2. continuity


CONT_POLICIES = {
    "jit": {"type": "jit"},
    "safety_stock": {"type": "safety_stock", "service_level": 0.95},
    "safety_stock_continuous": {
        "type": "safety_stock",
        "service_level": 0.95,
        "review": "continuous",
    },
    "hybrid_r3": {"type": "hybrid", "review_every_days": 3},
    "hybrid_continuous": {"type": "hybrid", "review": "continuous"},
}
SERVICE = ("fill_rate", "stockout_rate", "cycle_service_level")


def assert_paired_close(a: pd.DataFrame, b: pd.DataFrame, metrics, hair: float, what: str):
    """Paired differences b − a within 4 standard errors plus the hair's own size.

    A probability moved by an input change of relative size ``hair`` should move by
    O(hair); anything beyond that and 4 paired SEs is a jump.
    """
    bad = []
    for policy in a.index.get_level_values(0).unique():
        for m in metrics:
            d = (b.loc[policy][m] - a.loc[policy][m]).dropna()
            se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else 0.0
            if abs(d.mean()) > 4 * se + hair:
                bad.append(f"{policy}.{m}: Δ={d.mean():+.5f} (SE {se:.5f})")
    assert not bad, f"{what}: " + "; ".join(bad)


@pytest.mark.parametrize("demand", ["per_day", "customers"])
def test_service_metrics_are_continuous_in_constant_lead_time(demand):
    """fill rate, stockout rate and cycle service level at L = 6.99 vs 7.00 vs 7.01."""
    res = {
        lead: sku_rows(
            scenario_dict(demand, lead={"dist": "constant", "value": lead},
                          policies=CONT_POLICIES, horizon=150),
            16,
        )
        for lead in (6.99, 7.0, 7.01)
    }  # fmt: skip
    assert_paired_close(res[7.0], res[6.99], SERVICE, 0.01 / 7, f"{demand} 7.00→6.99")
    assert_paired_close(res[7.0], res[7.01], SERVICE, 0.01 / 7, f"{demand} 7.00→7.01")


@pytest.mark.xfail(strict=True, reason="by convention a shipment landing exactly at a day boundary counts for that day (L covers L + 1 days, as in the textbook); p_backorder_end is an end-of-day snapshot and jumps there (docs/conventions.md, known limitations)")
def test_p_backorder_end_is_continuous_in_constant_lead_time():
    """p_backorder_end (documented as 1 − cycle service level) at L = 7.00 vs 6.99.

    Receipts of integer lead times land exactly on the end-of-day snapshot and are
    recorded after it; a landing at 6.99 is recorded before it. The planner plans
    both alike (usable lead ⌈W⌉ = 7), and fill rate / CSL do not move.
    """
    res = {
        lead: sku_rows(
            scenario_dict("per_day", lead={"dist": "constant", "value": lead},
                          policies={"hybrid_continuous": CONT_POLICIES["hybrid_continuous"],
                                    "hybrid_r3": CONT_POLICIES["hybrid_r3"]}, horizon=150),
            16,
        )
        for lead in (6.99, 7.0)
    }  # fmt: skip
    assert_paired_close(res[7.0], res[6.99], ("p_backorder_end",), 0.01 / 7, "7.00→6.99")


@pytest.mark.parametrize("demand", ["per_day", "customers"])
def test_service_metrics_are_continuous_in_demand_lead_and_service_inputs(demand):
    base = scenario_dict(demand, policies=CONT_POLICIES, horizon=150, units="continuous")
    a = sku_rows(base, 16)
    hair = 1e-3

    def bumped(path: list, factor: float) -> dict:
        d = copy.deepcopy(base)
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = node[path[-1]] * factor
        return d

    size = ["customers", "order_size"] if demand == "customers" else ["per_day"]
    cases = {
        "lead mean": bumped(["suppliers", "s", "lead_time", "mean"], 1 + hair),
        "lead sd": bumped(["suppliers", "s", "lead_time", "sd"], 1 + hair),
        "demand mean": bumped(["skus", 0, "demand", *size, "mean"], 1 + hair),
    }
    if demand == "per_day":
        cases["demand sd"] = bumped(["skus", 0, "demand", "per_day", "sd"], 1 + hair)
    svc = copy.deepcopy(base)
    for p in svc["policies"].values():
        if p["type"] == "safety_stock":
            p["service_level"] = 0.95 + hair / 10
        if p["type"] == "hybrid":
            p["service_level_a"] = 0.98 + hair / 10
    cases["service level"] = svc
    for name, data in cases.items():
        assert_paired_close(a, sku_rows(data, 16), SERVICE, hair, f"{demand} {name}")


# --------------------------------------------------------------------------- 3. targets


def test_hybrid_continuous_review_hits_its_class_a_target_with_customer_orders():
    """Class A (98 %): 1 − p_backorder_end for a continuous hybrid on compound-Poisson
    demand, gamma lead times delivered in order (the default)."""
    data = scenario_dict(
        "customers", policies={"h": {"type": "hybrid", "review": "continuous"}}, horizon=300
    )
    rows = sku_rows(data, 24)
    m, se = mean_ci(1 - rows["p_backorder_end"])
    assert m >= 0.98 - 3 * se, f"1 − p_backorder_end = {m:.4f} ± {1.96 * se:.4f}, target 0.98"


def test_hybrid_cycle_service_level_meets_its_class_a_target():
    """Class A (98 %), daily review, per_day normal demand, gamma lead times in order:
    the advertised cycle_service_level against the planner's target."""
    data = scenario_dict("per_day", policies={"h": {"type": "hybrid"}}, horizon=300)
    rows = sku_rows(data, 24)
    m, se = mean_ci(rows["cycle_service_level"])
    assert m >= 0.98 - 3 * se, f"cycle_service_level = {m:.4f} ± {1.96 * se:.4f}, target 0.98"


@pytest.mark.parametrize("demand", ["per_day", "customers"])
@pytest.mark.parametrize("level", [0.90, 0.95])
def test_safety_stock_cycle_service_level_meets_its_target(level, demand):
    data = scenario_dict(
        demand,
        policies={
            "daily": {"type": "safety_stock", "service_level": level},
            "every3": {"type": "safety_stock", "service_level": level, "review_every_days": 3},
        },
        horizon=300,
    )
    rows = sku_rows(data, 16)
    for policy in ("daily", "every3"):
        m, se = mean_ci(rows.loc[policy]["cycle_service_level"])
        assert m >= level - 3 * se, f"{policy}: CSL {m:.4f} ± {1.96 * se:.4f} < {level}"


# --------------------------------------------------------------------------- 4. order


def catalogue(review: str, capacity: bool) -> dict:
    data = scenario_dict("per_day", horizon=120, warmup=14)
    skus = []
    for sid, dem, on_hand in (("A", "customers", 500), ("B", "per_day", 300), ("C", "per_day", 0)):
        sku = copy.deepcopy(data["skus"][0])
        sku.update(id=sid, initial_on_hand=on_hand, demand=demand_spec(dem))
        skus.append(sku)
    skus[2]["demand"]["per_day"]["mean"] = 40
    data["skus"] = skus
    if capacity:
        data["suppliers"]["s"]["disruptions"] = [{"kind": "capacity", "units_per_week": 1300}]
    data["policies"] = {
        "ss": {"type": "safety_stock", "service_level": 0.95, "review": review},
        "hyb": {"type": "hybrid", "review": review, "review_every_days": 2},
        "jit": {"type": "jit", "review": review},
    }
    return data


@pytest.mark.parametrize("capacity", [False, True], ids=["free", "shared-capacity"])
@pytest.mark.parametrize("review", ["continuous", "periodic"])
def test_per_sku_rows_do_not_depend_on_file_order_or_companion_policies(review, capacity):
    data = catalogue(review, capacity)
    ref = sku_rows(data, 3)
    permuted = copy.deepcopy(data)
    permuted["skus"] = [permuted["skus"][i] for i in (2, 0, 1)]
    permuted["policies"] = dict(reversed(list(permuted["policies"].items())))
    pd.testing.assert_frame_equal(sku_rows(permuted, 3), ref)
    for name, spec in data["policies"].items():
        alone = copy.deepcopy(data)
        alone["policies"] = {name: spec}
        pd.testing.assert_frame_equal(sku_rows(alone, 3), ref.loc[[name]])


# --------------------------------------------------------------------------- 5. windows


def windows_scenario() -> Scenario:
    data = scenario_dict("customers", lead={"dist": "gamma", "mean": 5, "sd": 2},
                         horizon=120, warmup=0)  # fmt: skip
    data["suppliers"]["s"]["disruptions"] = [
        {"kind": "supplier_outage", "start": 20, "end": 27},
        {"kind": "supplier_outage", "start": 70, "end": 76, "mode": "refuse", "announced": False},
        {"kind": "random_outage", "per_year": 12, "duration": {"dist": "uniform", "low": 2, "high": 6}},
        {"kind": "port_closure", "start": 35, "end": 45,
         "clearing_delay": {"dist": "uniform", "low": 1, "high": 3}},
        {"kind": "port_closure", "start": 90, "end": 93, "announced": False},
        {"kind": "capacity", "units_per_week": 600},
    ]  # fmt: skip
    data["suppliers"]["b"] = {
        "lead_time": {"dist": "gamma", "mean": 2, "sd": 1},
        "unit_cost_premium": 0.2,
        "disruptions": [
            {"kind": "port_closure", "start": 60, "end": 66},
            {"kind": "random_outage", "per_year": 10, "duration": {"dist": "constant", "value": 4}},
        ],
    }
    data["skus"][0]["backup_supplier"] = "b"
    data["policies"] = {
        "hyb": {"type": "hybrid", "use_backup": True},
        "ssc": {"type": "safety_stock", "review": "continuous", "use_backup": True},
        "jit": {"type": "jit"},
    }
    return Scenario.from_dict(data)


@pytest.mark.parametrize("replication", [0, 1, 2])
def test_nothing_ships_inside_an_outage_or_lands_inside_a_closure(replication):
    scn = windows_scenario()
    streams = Streams(scn.seed, replication)
    outages = {
        name: SupplierState(scn, name, streams).outages for name in ("s", "b")
    }
    closures = {
        name: [(scn.day_of(d.start), scn.day_of(d.end)) for d in spec.disruptions
               if d.kind == "port_closure"]
        for name, spec in scn.suppliers.items()
    }  # fmt: skip
    checked = 0
    for policy in scn.policies:
        log: list = []
        run_one(scn, policy, replication, log)
        for e in log:
            if e[1] == "refused":
                assert any(a <= e[0] < b and m == "refuse" for a, b, m in outages[e[4]])
            if e[1] not in ("order", "expedite"):
                continue
            for landing, qty, shipped, _ in e[5]:
                checked += 1
                assert shipped >= e[0] and landing >= shipped and qty > 0
                assert not any(a <= shipped < b for a, b, _ in outages[e[4]]), (policy, e)
                assert not any(a <= landing < b for a, b in closures[e[4]]), (policy, e)
    assert checked > 50


# --------------------------------------------------------------------------- 6. definitions


def test_every_metric_is_defined_in_the_docs_and_the_report():
    text = (ROOT / "docs" / "metrics.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)`", text, flags=re.M))
    missing_docs = [m for m in metrics_mod.METRICS if m not in documented]
    missing_report = [m for m in metrics_mod.METRICS if m not in report_mod.METRIC_DEFINITIONS]
    assert not missing_docs and not missing_report, (missing_docs, missing_report)


@pytest.mark.parametrize("unmet", ["backorder", "lost_sale"])
def test_measured_counts_come_from_the_measured_days_only(unmet):
    """Rebuild the measured counters from the event log (days >= 0) after a warm-up."""
    data = scenario_dict("customers", policies={"h": {"type": "hybrid", "use_backup": True}},
                         horizon=60, warmup=25, unmet_demand=unmet)  # fmt: skip
    data["suppliers"]["b"] = {"lead_time": {"dist": "constant", "value": 1}, "order_cost": 5,
                              "unit_cost_premium": 0.3}  # fmt: skip
    data["suppliers"]["s"]["disruptions"] = [{"kind": "supplier_outage", "start": 10, "end": 14}]
    data["skus"][0]["backup_supplier"] = "b"
    scn = Scenario.from_dict(data)
    log: list = []
    (tr,) = run_one(scn, log=log)
    end = scn.horizon_days
    measured = [e for e in log if 0 <= e[0] < end]
    demand = [e for e in measured if e[1] == "demand" and e[3] > 0]
    placed = [e for e in measured if e[1] in ("order", "expedite")]
    receipts = [e[0] for e in measured if e[1] == "receive"]  # each receipt ends a cycle
    assert tr.demand_units == pytest.approx(sum(e[3] for e in demand))
    assert tr.customer_orders == len(demand)
    assert tr.orders_placed == len(placed)
    assert tr.ordered_units == pytest.approx(sum(e[3] for e in placed))
    assert tr.cycles == len(receipts)
    assert any(e[1] == "expedite" for e in placed)
    assert tr.expedite_cost == pytest.approx(
        sum(e[3] for e in placed if e[1] == "expedite") * 10.0 * 0.3
    )
    # a stockout day is a measured day on which a customer order emptied the shelf
    emptied = {int(math.floor(e[0])) for e in demand if e[4] == 0.0}
    stockout_days = set(np.flatnonzero(tr.stockout).tolist())
    assert stockout_days and stockout_days <= emptied


def test_lead_time_longer_than_the_horizon_is_handled():
    data = scenario_dict("per_day", lead={"dist": "constant", "value": 500},
                         policies={"ss": {"type": "safety_stock"}, "jit": {"type": "jit"}},
                         horizon=60, warmup=0)  # fmt: skip
    rows = sku_rows(data, 2)
    assert (rows["cycle_service_level"].isna()).all()  # no receipt, no cycle
    assert (rows["orders_placed"] > 0).all()
    assert np.isfinite(rows["fill_rate"]).all()


def test_zero_lead_time_base_stock_covers_one_day_of_demand():
    """L = 0, periodic review every day: S = one day of demand serves everything."""
    data = scenario_dict(
        "per_day",
        lead={"dist": "constant", "value": 0},
        policies={"bs": {"type": "base_stock", "S": 100}},
        horizon=30,
        warmup=0,
    )
    data["skus"][0]["demand"] = {"per_day": {"dist": "constant", "value": 100}}
    data["skus"][0]["initial_on_hand"] = 100
    rows = sku_rows(data, 1)
    assert rows["fill_rate"].iloc[0] == 1.0
    assert rows["avg_on_hand"].iloc[0] == 0.0


@pytest.mark.parametrize("policy", ["hybrid", "jit"])
def test_zero_lead_time_continuous_review_is_continuous_with_a_tiny_lead_time(policy):
    """per_day demand, continuous review: L = 0 vs L = 0.01 (the planner's usable lead
    ⌈L⌉ jumps 0 → 1, but an order triggered by day t's demand serves day t+1 in both)."""
    res = {
        lead: sku_rows(
            scenario_dict("per_day", lead={"dist": "constant", "value": lead},
                          policies={policy: {"type": policy, "review": "continuous"}},
                          horizon=100, warmup=10),
            8,
        )
        for lead in (0.0, 0.01)
    }  # fmt: skip
    assert_paired_close(res[0.01], res[0.0], ("fill_rate", "stockout_rate"), 0.01, "L 0.01→0")


@pytest.mark.xfail(strict=True, reason="known limitation: with orders that cross the end-of-day backorder risk stays below the target (receipts inside the day clear backorders); open work")
def test_hybrid_with_crossing_shipments_hits_its_class_a_target_not_far_above():
    """deliver_in_order: false, daily review, per_day demand: 1 − p_backorder_end should be
    near the 98 % target (within 3 SE either side), not at 99.99 % (overstock)."""
    data = scenario_dict("per_day", policies={"h": {"type": "hybrid"}}, horizon=300)
    data["suppliers"]["s"]["deliver_in_order"] = False
    rows = sku_rows(data, 24)
    m, se = mean_ci(1 - rows["p_backorder_end"])
    assert abs(m - 0.98) <= 3 * se, f"1 − p_backorder_end = {m:.5f} (SE {se:.5f}), target 0.98"


def test_portfolio_row_does_not_depend_on_sku_file_order():
    data = catalogue("continuous", True)
    permuted = copy.deepcopy(data)
    permuted["skus"] = [permuted["skus"][i] for i in (2, 0, 1)]

    def portfolio(d):
        df = pd.DataFrame(run_batch(Scenario.from_dict(d), [0, 1]).rows)
        return df[df.sku == "ALL"].set_index(["policy", "replication"]).sort_index()

    pd.testing.assert_frame_equal(portfolio(permuted), portfolio(data), check_exact=True)


@pytest.mark.parametrize("demand", ["per_day", "customers"])
def test_hybrid_daily_review_hits_its_class_a_target(demand):
    """Guard: class A (98 %), daily review, gamma lead times in order: 1 − p_backorder_end."""
    rows = sku_rows(scenario_dict(demand, policies={"h": {"type": "hybrid"}}, horizon=300), 24)
    m, se = mean_ci(1 - rows["p_backorder_end"])
    assert m >= 0.98 - 3 * se, f"1 − p_backorder_end = {m:.4f} ± {1.96 * se:.4f}, target 0.98"


def test_plan_for_disruptions_keeps_service_through_an_announced_closure():
    """Guard: a 3-week announced port closure, lead ~ gamma(21, 4): planning policies keep
    stockout days inside the closure (+ clearing) well below the non-planning ones."""
    pols = {
        "hyb": {"type": "hybrid"},
        "hyb_noplan": {"type": "hybrid", "plan_for_disruptions": False},
    }
    data = scenario_dict("per_day", lead={"dist": "gamma", "mean": 21, "sd": 4}, policies=pols,
                         horizon=160, warmup=60)  # fmt: skip
    data["skus"][0]["initial_on_hand"] = 3000
    data["suppliers"]["s"]["disruptions"] = [{"kind": "port_closure", "start": 100, "end": 121}]
    scn = Scenario.from_dict(data)
    share = {p: [run_one(scn, p, r)[0].stockout[95:135].mean() for r in range(8)] for p in pols}
    d = np.array(share["hyb_noplan"]) - np.array(share["hyb"])
    assert d.mean() > 4 * d.std(ddof=1) / math.sqrt(d.size)
    assert np.mean(share["hyb"]) <= 0.05


def test_continuous_hybrid_prebuilds_for_an_announced_closure_like_the_periodic_one():
    """customers demand, gamma(21, 4) in order, 3-week announced closure: stockout days in
    the closure window under a continuous hybrid are no worse than under a daily one.

    The planner's closure test uses the supplier's raw lead (21 + 2·4) while, behind
    a stream of small continuous-review orders, a shipment's in-order wait is ~30 days:
    the buffer ordered on the first day the planner deems caught lands in the closure.
    """
    pols = {
        "periodic": {"type": "hybrid"},
        "continuous": {"type": "hybrid", "review": "continuous"},
    }
    data = scenario_dict("customers", lead={"dist": "gamma", "mean": 21, "sd": 4}, policies=pols,
                         horizon=160, warmup=60)  # fmt: skip
    data["skus"][0]["initial_on_hand"] = 3000
    data["suppliers"]["s"]["disruptions"] = [{"kind": "port_closure", "start": 100, "end": 121}]
    scn = Scenario.from_dict(data)
    share = {p: np.array([run_one(scn, p, r)[0].stockout[95:135].mean() for r in range(12)])
             for p in pols}  # fmt: skip
    d = share["continuous"] - share["periodic"]
    se = d.std(ddof=1) / math.sqrt(d.size)
    assert d.mean() <= 3 * se, (
        f"stockout days in window: continuous {share['continuous'].mean():.3f}, "
        f"periodic {share['periodic'].mean():.3f} (paired Δ {d.mean():+.3f}, SE {se:.3f})"
    )


@pytest.mark.parametrize("mode", ["refuse", "queue"])
def test_continuous_review_prebuilds_for_an_announced_outage_like_the_periodic_one(mode):
    """per_day demand, announced supplier outage days 100–114: a continuous hybrid
    (plan_for_disruptions by default) protects it no worse than a daily hybrid."""
    pols = {
        "periodic": {"type": "hybrid"},
        "continuous": {"type": "hybrid", "review": "continuous"},
    }
    data = scenario_dict("per_day", policies=pols, horizon=140, warmup=30)
    data["suppliers"]["s"]["disruptions"] = [
        {"kind": "supplier_outage", "start": 100, "end": 114, "mode": mode}
    ]
    scn = Scenario.from_dict(data)
    share = {p: np.array([run_one(scn, p, r)[0].stockout[100:130].mean() for r in range(10)])
             for p in pols}  # fmt: skip
    d = share["continuous"] - share["periodic"]
    se = d.std(ddof=1) / math.sqrt(d.size)
    assert d.mean() <= 3 * se, (
        f"stockout days in [100, 130): continuous {share['continuous'].mean():.3f}, "
        f"periodic {share['periodic'].mean():.3f} (paired Δ {d.mean():+.3f}, SE {se:.3f})"
    )


@pytest.mark.xfail(strict=True, reason="known limitation: the planner's calendar does not hold later orders behind shocked shipments in order (open work, docs/conventions.md)")
def test_hybrid_keeps_service_after_an_announced_lead_time_shock_with_in_order_delivery():
    """Announced shock (×2 + 3 days) on orders placed in days 100–130, gamma(7, 2) lead, in
    order: stockout days in the 30 days after the shock are no more frequent than before it
    (paired per replication). With crossing allowed both are 0."""
    data = scenario_dict("per_day", policies={"h": {"type": "hybrid"}}, horizon=170, warmup=30)
    data["suppliers"]["s"]["disruptions"] = [
        {"kind": "lead_time_shock", "start": 100, "end": 130, "multiplier": 2.0, "extra_days": 3}
    ]
    scn = Scenario.from_dict(data)
    traces = [run_one(scn, "h", r)[0] for r in range(24)]
    d = np.array([tr.stockout[130:160].mean() - tr.stockout[:100].mean() for tr in traces])
    se = d.std(ddof=1) / math.sqrt(d.size)
    assert d.mean() <= 3 * se, f"after − before = {d.mean():+.3f} (SE {se:.3f})"
