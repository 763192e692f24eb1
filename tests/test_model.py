"""The model: exact event order on hand-checked cases, conservation, lost sales."""

import numpy as np
import pytest
from helpers import TINY, run_one, scenario, with_sku

from simulator.data.scenario import Scenario
from simulator.model.replication import Streams, build_policies, draw_demand, make_plans, simulate
from simulator.model.suppliers import Route, SupplierState


def test_day_order_event_log_by_hand():
    """Constant demand 10/day, lead time 2, periodic base-stock S=35, 30 on hand.

    Day 0: IP 30 < 35, order 5 (lands day 2); demand 10 -> 20 on hand.
    Day 1: IP 20 + 5 = 25, order 10 (day 3); demand -> 10.
    Day 2: IP 10 + 15 = 25, order 10; the 5 land before demand -> 15; demand -> 5.
    From then on: order 10, receive 10, serve 10, end with 5 (S = demand over L+1 + 5).
    """
    log = []
    (tr,) = run_one(scenario(), log=log)
    assert tr.on_hand.tolist() == [20, 10, 5, 5, 5, 5, 5, 5]
    assert tr.on_order.tolist() == [5, 15, 20, 20, 20, 20, 20, 20]
    assert tr.backorders.tolist() == [0] * 8
    day2 = [e[:4] for e in log if 2 <= e[0] < 3 and e[1] != "close"]
    assert day2 == [
        (2.0, "review", "X", 10.0),
        (2.0, "order", "X", 10.0),
        (2.0, "receive", "X", 5.0),
        (2.0, "demand", "X", 10.0),
    ]
    # each day closes at the start of the next, before that day's review
    closes = [e for e in log if e[1] == "close"]
    assert [c[0] for c in closes] == [1.0, 2, 3, 4, 5, 6, 7, 8]
    kinds = [e[1] for e in log if e[0] == 3.0]
    assert kinds == ["close", "review", "order", "receive", "demand"]
    # the order placed on day 3 lands at exactly 3 + L
    assert [e[5] for e in log if e[1] == "order" and e[0] == 3.0] == [[(5.0, 10.0, 3.0, 3.0)]]
    assert tr.orders_placed == 8 and tr.ordered_units == 5 + 7 * 10


def test_backorders_served_first_fifo_and_recorded():
    """Start empty: demand backorders until the first receipt, which clears them first."""
    scn = Scenario.from_dict(with_sku(TINY, initial_on_hand=0))
    (tr,) = run_one(scn)
    # day 0: order 35 lands day 2; days 0,1 backorder 10 each; day 2: 35 - 20 = 15 - 10 = 5
    assert tr.backorders.tolist()[:3] == [10, 20, 0]
    assert tr.on_hand.tolist()[:3] == [0, 0, 5]
    assert tr.backordered_units == 20
    assert tr.served_units == 80 - 20
    assert tr.stockout.tolist()[:3] == [True, True, False]


def test_lost_sales_lose_the_shortfall():
    scn = Scenario.from_dict({**with_sku(TINY, initial_on_hand=15), "unmet_demand": "lost_sale"})
    (tr,) = run_one(scn)
    # day 0: serve 10 -> 5; day 1: serve 5, lose 5 -> 0; day 2: receive 20 (35-15) ...
    assert tr.lost_units > 0
    assert tr.backorders.sum() == 0
    assert tr.demand_units == tr.served_units + tr.lost_units


def test_warmup_is_simulated_but_not_measured():
    scn = scenario(warmup_days=5)
    (tr,) = run_one(scn)
    assert len(tr.on_hand) == scn.horizon_days
    # after the warm-up the base-stock system is in its steady state
    assert tr.on_hand.tolist() == [5] * 8
    assert tr.demand_units == 80
    # receipts and demand come at the start of each day, so 5 are on hand all day:
    # the integral starts at day 0 (not at the warm-up's last event) and runs to the end
    assert tr.on_hand_area == 5 * 8


def test_demand_counts_come_from_the_measured_days_only():
    data = with_sku(
        TINY, demand={"customers": {"orders_per_day": 6, "order_size": {"dist": "poisson", "mean": 2}}}
    )
    scn = Scenario.from_dict({**data, "warmup_days": 4, "horizon_days": 20})
    plans = make_plans(scn)
    (path,) = draw_demand(scn, Streams(scn.seed, 0), plans)
    measured = path.orders[4:]  # day indices from the first measured day
    assert len(measured) == 20
    (tr,) = run_one(scn)
    # an order of 0 units (a Poisson size of 0) is no order
    assert tr.customer_orders == sum(q > 0 for day in measured for _, q in day) > 0
    assert any(q == 0 for day in measured for _, q in day), "the case must draw empty orders"
    assert tr.demand_units == pytest.approx(sum(q for day in measured for _, q in day))
    assert path.total[0] == sum(q > 0 for day in path.orders for _, q in day)


def test_lead_time_zero_arrives_before_that_days_demand():
    data = {**TINY, "suppliers": {"s": {"lead_time": {"dist": "constant", "value": 0}}}}
    (tr,) = run_one(Scenario.from_dict(data))
    # S = 35 covers one day of demand with L = 0: end each day with 25
    assert tr.on_hand.tolist()[1:] == [25] * 7
    assert tr.stockout.sum() == 0


@pytest.mark.parametrize("in_order", [True, False])
def test_deliver_in_order_forbids_overtaking(in_order):
    data = {
        **TINY,
        "suppliers": {
            "s": {
                "lead_time": {"dist": "uniform", "low": 0.5, "high": 9.5},
                "deliver_in_order": in_order,
            }
        },
    }
    scn = Scenario.from_dict(data)
    rng = np.random.default_rng(7)
    lead = Streams(7, 0).draws("lead_time:X:s", scn.suppliers["s"].lead_time)
    route = Route(scn, SupplierState(scn, "s", None), "X", lead, rng)
    by_seq = [a for day in range(100) for a, *_ in route.ship(1.0, float(day))]
    crossed = any(b < a for a, b in zip(by_seq, by_seq[1:], strict=False))
    assert crossed is not in_order


def test_customer_orders_partial_fill_and_order_fill_rate():
    data = with_sku(
        TINY,
        initial_on_hand=0,
        demand={"customers": {"orders_per_day": 5, "order_size": {"dist": "constant", "value": 3}}},
    )
    data["horizon_days"] = 60
    (tr,) = run_one(Scenario.from_dict(data))
    assert tr.customer_orders > 200
    assert tr.demand_units == pytest.approx(3 * tr.customer_orders)
    assert 0 < tr.complete_orders < tr.customer_orders
    assert tr.served_units + tr.backordered_units == pytest.approx(tr.demand_units)


def test_continuous_review_reacts_after_each_customer_order():
    data = with_sku(
        TINY,
        demand={"customers": {"orders_per_day": 4, "order_size": {"dist": "constant", "value": 1}}},
    )
    data["policies"] = {"bs": {"type": "base_stock", "S": 12, "review": "continuous"}}
    data["horizon_days"] = 30
    data["skus"][0]["initial_on_hand"] = 12
    log = []
    run_one(Scenario.from_dict(data), log=log)
    demands = [e for e in log if e[1] == "demand"]
    reviews = [e for e in log if e[1] == "review"]
    # one review at the start, then one after every customer order, each ordering 1 unit
    assert len(reviews) == len(demands) + 1
    assert all(r[3] == 1 for r in reviews[1:])
    # inventory position stays at S: on-hand - backorders + on-order = 12 at every close
    closes = [e for e in log if e[1] == "close"]
    assert all(c[4] - c[5] + c[3] == pytest.approx(12) for c in closes)


def test_time_weighted_on_hand_counts_receipts_within_the_day():
    data = {**TINY, "suppliers": {"s": {"lead_time": {"dist": "constant", "value": 1.5}}}}
    (tr,) = run_one(Scenario.from_dict(data))
    assert tr.on_hand_area > 0
    # receipts land mid-day (after that day's demand), so the time-weighted mean
    # differs from the end-of-day mean
    assert tr.on_hand_area / 8 != pytest.approx(tr.on_hand.mean())


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_conservation_on_a_random_multi_sku_scenario(seed):
    data = {
        "name": "mix",
        "horizon_days": 120,
        "warmup_days": 10,
        "seed": seed,
        "suppliers": {
            "a": {"lead_time": {"dist": "gamma", "mean": 4, "sd": 2}, "order_cost": 5},
            "b": {"lead_time": {"dist": "lognormal", "mean": 8, "sd": 3}},
        },
        "skus": [
            {"id": "P", "unit_cost": 1, "price": 2, "supplier": "a", "initial_on_hand": 20,
             "demand": {"per_day": {"dist": "negbin", "mean": 6, "sd": 4}}},
            {"id": "Q", "unit_cost": 3, "price": 4, "supplier": "b",
             "demand": {"customers": {"orders_per_day": 3,
                                      "order_size": {"dist": "empirical", "values": [1, 2, 5]}}}},
        ],
        "policies": {"ss": {"type": "safety_stock", "service_level": 0.9}},
    }  # fmt: skip
    for tr in run_one(Scenario.from_dict(data)):
        led = tr.ledger
        assert led["initial"] + led["received"] == pytest.approx(led["shipped"] + led["on_hand_end"])
        assert led["demand"] == pytest.approx(led["served"] + led["backordered"] + led["lost"])
        assert led["shipped"] == pytest.approx(led["demand"] - led["lost"] - led["backorders_end"])
        assert np.all(tr.on_hand >= 0) and np.all(tr.backorders >= 0) and np.all(tr.on_order >= 0)


def test_demand_drawn_for_another_warmup_is_refused():
    short, warm = scenario(), scenario(warmup_days=3, horizon_days=5)  # both 8 simulated days
    plans = make_plans(warm)
    path = draw_demand(short, Streams(1, 0), make_plans(short))
    built = build_policies(warm, plans)["bs"]
    with pytest.raises(ValueError, match="warm-up"):
        simulate(warm, built, path, Streams(1, 0), plans=plans)
