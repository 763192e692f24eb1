"""Every invariant check can fail: broken traces, logs and runs tables are reported.

A check that cannot fail is worthless. Each test starts from a correct
replication (or table), which passes, breaks one thing, and asserts that the
check named for it reports the break.
"""

import copy
import dataclasses

import numpy as np
import pytest
from helpers import TINY, run_one

from simulator.data.scenario import Scenario
from simulator.study.invariants import backorder_waits, check_runs, check_traces
from simulator.study.runner import run_scenario


def tiny(**changes):
    """TINY with no initial stock: backorders on days 0-1, filled by the receipt on day 2."""
    data = copy.deepcopy(TINY)
    data["skus"][0]["initial_on_hand"] = 0
    data.update(horizon_days=12)
    data.update(changes)
    return Scenario.from_dict(data)


@pytest.fixture
def good():
    scn = tiny()
    log = []
    traces = run_one(scn, log=log)
    assert check_traces(scn, traces, log) == []
    return scn, traces, log


def broken(traces, **changes):
    tr = dataclasses.replace(traces[0], **changes)
    tr.ledger = dict(traces[0].ledger)
    for name in ("on_hand", "backorders", "on_order", "stockout"):
        setattr(tr, name, np.array(getattr(tr, name)))
    return [tr]


def reported(problems, check):
    assert any(check in p for p in problems), problems
    return True


def index(log, kind, when=lambda e: True):
    return next(i for i, e in enumerate(log) if e[1] == kind and when(e))


# --------------------------------------------------------------------------- trace only


@pytest.mark.parametrize(
    ("key", "check"),
    [
        ("received", "units conserved"),
        ("lost", "demand conserved"),
        ("backorders_end", "backorders conserved"),
    ],
)
def test_ledger_breaks_are_reported(good, key, check):
    scn, traces, _ = good
    bad = broken(traces)
    bad[0].ledger[key] += 1
    assert reported(check_traces(scn, bad), check)


def test_negative_on_hand_is_reported(good):
    scn, traces, _ = good
    bad = broken(traces)
    bad[0].on_hand[3] = -1
    assert reported(check_traces(scn, bad), "on_hand never negative")
    bad[0].on_hand[3] = np.nan
    assert reported(check_traces(scn, bad), "on_hand never negative")


def test_stock_while_backorders_wait_is_reported_from_the_trace(good):
    scn, traces, _ = good
    bad = broken(traces)
    bad[0].on_hand[4], bad[0].backorders[4] = 5, 2
    assert reported(check_traces(scn, bad), "no stock while backorders wait")


def test_backorders_under_lost_sales_are_reported(good):
    _, traces, _ = good
    lost = tiny(unmet_demand="lost_sale")
    assert reported(check_traces(lost, traces), "no backorders under lost_sale")


def test_measured_counters_that_do_not_add_up_are_reported(good):
    scn, traces, _ = good
    assert reported(
        check_traces(scn, broken(traces, lost_units=traces[0].lost_units + 1)),
        "measured demand = served + backordered + lost",
    )
    assert reported(
        check_traces(scn, broken(traces, served_units=traces[0].demand_units + 5)),
        "served <= demanded",
    )
    assert reported(
        check_traces(scn, broken(traces, complete_orders=traces[0].customer_orders + 1)),
        "complete orders <= customer orders",
    )
    assert reported(
        check_traces(scn, broken(traces, ordering_cost=-1.0)), "ordering_cost finite and >= 0"
    )


def test_a_missing_trace_is_reported(good):
    scn, traces, _ = good
    assert reported(check_traces(scn, []), "one trace per SKU")


# --------------------------------------------------------------------------- with the log


def test_ip_at_a_review_is_checked(good):
    scn, traces, log = good
    bad = list(log)
    i = index(bad, "review", lambda e: e[0] == 1)
    t, kind, sku, qty, oh, ip = bad[i]
    bad[i] = (t, kind, sku, qty, oh, ip + 1)
    assert reported(check_traces(scn, traces, bad), "IP = on-hand - backorders + on-order")


def test_a_receipt_that_goes_to_stock_before_backorders_is_reported(good):
    scn, traces, log = good
    bad = list(log)
    i = index(bad, "receive", lambda e: e[0] == 2)  # 35 units land while 20 wait
    t, kind, sku, qty, oh, bo = bad[i]
    assert bo == 0 and oh == 15  # the model: 20 backorders filled, 15 to stock
    bad[i] = (t, kind, sku, qty, oh + 20, bo + 20)  # as if stock were filled first
    problems = check_traces(scn, traces, bad)
    assert reported(problems, "on-hand after a receipt (receipts fill backorders first)")
    assert reported(problems, "no stock while backorders wait")


def test_a_customer_jumping_the_queue_is_reported(good):
    scn, traces, log = good
    bad = list(log)
    i = index(bad, "demand", lambda e: e[0] == 1)  # day 1: 10 wait, 10 more arrive
    t, kind, sku, qty, oh, bo = bad[i]
    bad[i] = (t, kind, sku, qty, oh, bo - 5)  # 5 of them served ahead of the queue
    assert reported(check_traces(scn, traces, bad), "no queue jumping")


def test_shipment_bookkeeping_is_checked(good):
    scn, traces, log = good
    unannounced = [*log, (11.5, "receive", "X", 3.0, 0.0, 0.0)]
    unannounced.sort(key=lambda e: e[0])
    assert reported(check_traces(scn, traces, unannounced), "every receipt was announced")
    lost_receipt = [e for e in log if not (e[1] == "receive" and e[0] == 2)]
    assert reported(check_traces(scn, traces, lost_receipt), "every shipment due before the end")
    bad = list(log)
    i = index(bad, "order")
    t, kind, sku, qty, sup, parts = bad[i]
    bad[i] = (t, kind, sku, qty + 1, sup, parts)
    assert reported(check_traces(scn, traces, bad), "shipments add up to the order")
    bad = list(log)
    bad[i] = (t, kind, sku, qty, sup, [(t - 1, qty)])
    assert reported(check_traces(scn, traces, bad), "no shipment lands before it was ordered")


def test_log_order_and_kinds_are_checked(good):
    scn, traces, log = good
    i = index(log, "demand", lambda e: e[0] == 3)
    j = index(log, "demand", lambda e: e[0] == 1)
    swapped = list(log)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert reported(check_traces(scn, traces, swapped), "log entries in time order")
    odd = [*log, (12.0, "teleport", "X", 1.0, 0.0, 0.0)]
    assert reported(check_traces(scn, traces, odd), "known log entry kind")
    stranger = [*log, (12.0, "close", "Y", 0.0, 0.0, 0.0)]
    assert reported(check_traces(scn, traces, stranger), "entry names a SKU of the scenario")


@pytest.mark.parametrize(
    ("field", "check"),
    [
        ("customer_orders", "trace customer_orders = log"),
        ("orders_placed", "trace orders_placed = log"),
        ("on_hand_area", "trace on_hand_area = log"),
        ("ordered_units", "trace ordered_units = log"),
        ("backordered_units", "trace backordered_units = log"),
    ],
)
def test_trace_counters_are_compared_with_the_log(good, field, check):
    scn, traces, log = good
    bad = broken(traces, **{field: getattr(traces[0], field) + 1})
    assert reported(check_traces(scn, bad, log), check)


def test_daily_paths_are_compared_with_the_log(good):
    scn, traces, log = good
    for name in ("on_hand", "backorders", "on_order"):
        bad = broken(traces)
        getattr(bad[0], name)[5] += 1
        assert reported(check_traces(scn, bad, log), f"trace {name} = log at the day close")
    bad = broken(traces)
    bad[0].stockout[7] = ~bad[0].stockout[7]
    assert reported(check_traces(scn, bad, log), "trace stockout days")


def test_closures_outages_and_delivery_order_are_checked(good):
    _, traces, log = good  # no disruptions: receipts every day from day 2, orders every day
    closed = tiny(suppliers={"s": {"lead_time": {"dist": "constant", "value": 2},
                                   "disruptions": [{"kind": "port_closure", "start": 3, "end": 6}]}})  # fmt: skip
    assert reported(check_traces(closed, traces, log), "nothing lands inside a port closure")
    refusing = tiny(suppliers={"s": {"lead_time": {"dist": "constant", "value": 2},
                                     "disruptions": [{"kind": "supplier_outage", "start": 3, "end": 6,
                                                      "mode": "refuse"}]}})  # fmt: skip
    assert reported(check_traces(refusing, traces, log), "'refuse' outage is refused")
    queueing = tiny(suppliers={"s": {"lead_time": {"dist": "constant", "value": 2},
                                     "disruptions": [{"kind": "supplier_outage", "start": 3, "end": 6}]}})  # fmt: skip
    assert reported(check_traces(queueing, traces, log), "held by an outage lands after it")
    refused = [*log, (5.0, "refused", "X", 3.0, "s", None)]
    refused.sort(key=lambda e: e[0])
    assert reported(check_traces(tiny(), traces, refused), "refused only during an outage")
    # Random lead times cross; a supplier that delivers in order must not let them.
    crossing = tiny(suppliers={"s": {"lead_time": {"dist": "uniform", "low": 0, "high": 6},
                                     "deliver_in_order": False}}, horizon_days=40)  # fmt: skip
    log2 = []
    traces2 = run_one(crossing, log=log2)
    assert check_traces(crossing, traces2, log2) == []
    in_order = tiny(suppliers={"s": {"lead_time": {"dist": "uniform", "low": 0, "high": 6},
                                     "deliver_in_order": True}}, horizon_days=40)  # fmt: skip
    assert reported(check_traces(in_order, traces2, log2), "deliver_in_order: no shipment overtakes")


def test_backorder_waits_are_first_in_first_out(good):
    scn, _, log = good
    waits = backorder_waits(scn, log)["X"]
    assert waits == [(0.0, 2.0), (1.0, 2.0)]  # both backordered days filled by day 2's receipt
    fills = [f for _, f in waits]
    assert fills == sorted(fills)


# --------------------------------------------------------------------------- runs tables


@pytest.fixture(scope="module")
def table():
    data = copy.deepcopy(TINY)
    data["skus"].append({**copy.deepcopy(data["skus"][0]), "id": "Y", "initial_on_hand": 0})
    data["skus"][0]["demand"] = {"per_day": {"dist": "poisson", "mean": 10}}
    data["policies"]["ss"] = {"type": "safety_stock"}
    data.update(horizon_days=20, replications=3)
    scn = Scenario.from_dict(data)
    runs = run_scenario(scn, backend="serial").runs
    assert check_runs(runs, scn) == []
    return scn, runs


def row(runs, sku, rep=0, policy="bs"):
    return runs.index[(runs["sku"] == sku) & (runs["replication"] == rep) & (runs["policy"] == policy)][0]


@pytest.mark.parametrize(
    ("sku", "column", "value", "check"),
    [
        ("X", "holding_cost", -1.0, "holding_cost finite and >= 0"),
        ("X", "shortage_cost", np.inf, "shortage_cost finite and >= 0"),
        ("X", "total_cost", 1e6, "total_cost = holding + ordering + shortage + expedite"),
        ("Y", "fill_rate", 1.5, "fill_rate in [0, 1] or NaN"),
        ("Y", "stockout_rate", -0.1, "stockout_rate in [0, 1] or NaN"),
        ("X", "avg_backorders", -2.0, "avg_backorders >= 0"),
        ("X", "cash_tied_up", 1e6, "cash_tied_up = avg_on_hand × unit cost"),
        ("X", "fill_rate", 0.123, "fill_rate = served_units / demand_units"),
        ("ALL", "demand_units", 1e6, "portfolio demand_units = recomputation"),
        ("ALL", "holding_cost", 1e6, "portfolio holding_cost = recomputation"),
        ("ALL", "fill_rate", 0.001, "portfolio fill_rate = recomputation"),
        ("ALL", "order_fill_rate", 0.001, "portfolio order_fill_rate = recomputation"),
        ("ALL", "avg_order_qty", 1e6, "portfolio avg_order_qty = recomputation"),
        ("ALL", "stockout_rate", 0.0, "portfolio stockout_rate between"),
        ("ALL", "any_stockout_rate", 0.0, "portfolio any_stockout_rate between"),
        ("ALL", "p_backorder_end", 1.0, "portfolio p_backorder_end between"),
        ("ALL", "cash_tied_up_peak", 1e9, "portfolio cash_tied_up_peak between"),
    ],
)
def test_broken_runs_tables_are_reported(table, sku, column, value, check):
    scn, runs = table
    bad = runs.copy()
    bad.loc[row(bad, sku), column] = value
    assert reported(check_runs(bad, scn), check)


def test_missing_and_duplicate_rows_are_reported(table):
    scn, runs = table
    assert reported(check_runs(runs.drop(index=row(runs, "ALL")), scn), "one ALL row")
    assert reported(check_runs(runs.iloc[[0, *range(len(runs))]], scn), "every SKU once")
    assert check_runs(runs.iloc[:0], scn) == ["runs: the table is empty"]
    assert "missing columns" in check_runs(runs.drop(columns=["fill_rate"]), scn)[0]
