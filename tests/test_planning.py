"""The purchase plan: hand-computed orders, purchase orders, agreement with the simulation."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pytest
from helpers import run_one

from simulator.data.scenario import Scenario, load_scenario
from simulator.model.planning import PlanError, make_purchase_plan, read_state
from simulator.model.purchasing import Buying, order_units


def one_sku(initial: float = 30, **changes) -> Scenario:
    """One SKU, demand 10/day, lead time 3, periodic base stock S=50 every 7 days, 30 on hand."""
    data = {
        "name": "hand",
        "horizon_days": 60,
        "start_date": dt.date(2026, 1, 5),
        "suppliers": {"s": {"lead_time": {"dist": "constant", "value": 3}, "order_cost": 10}},
        "skus": [
            {
                "id": "X",
                "unit_cost": 2.0,
                "price": 5.0,
                "supplier": "s",
                "initial_on_hand": initial,
                "demand": {"per_day": {"dist": "constant", "value": 10}},
            }
        ],
        "policies": {"bs": {"type": "base_stock", "S": 50, "review_every_days": 7}},
    }
    data.update(changes)
    return Scenario.from_dict(data)


def orders_of(plan) -> list[tuple[int, str, float, float]]:
    return [(r.day, r.sku, r.units, r.arrival_day) for r in plan.orders.itertuples()]


# --------------------------------------------------------------------------- by hand


def test_hand_computed_orders_with_backorders():
    """Day 0: IP 30 -> order 20 (lands 3). Stock lasts to day 4; days 5, 6 backorder 10 each.

    Day 7: IP = 0 - 20 + 0 = -20 -> order 70 (lands 10); days 7-9 backorder 30 more.
    Day 10: 70 clear 50 backorders, 20 on the shelf, 10 sold. Day 14: again IP -20 -> 70,
    and so every week: 70 = a week of demand.
    """
    plan = make_purchase_plan(one_sku(), "bs", weeks=4)
    assert orders_of(plan) == [
        (0, "X", 20.0, 3.0),
        (7, "X", 70.0, 10.0),
        (14, "X", 70.0, 17.0),
        (21, "X", 70.0, 24.0),
    ]
    assert plan.orders["arrives"].tolist() == [
        dt.date(2026, 1, 8),
        dt.date(2026, 1, 15),
        dt.date(2026, 1, 22),
        dt.date(2026, 1, 29),
    ]
    assert plan.orders["po"].tolist() == [1, 2, 3, 4]
    proj = plan.projection.set_index("day")
    assert proj.loc[0:10, "on_hand"].tolist() == [20, 10, 0, 10, 0, 0, 0, 0, 0, 0, 10]
    assert proj.loc[0:10, "backorders"].tolist() == [0, 0, 0, 0, 0, 10, 20, 30, 40, 50, 0]
    assert proj.loc[7, "inventory_position"] == -30 + 70
    assert plan.levels["order_up_to"].eq(50).all() and plan.levels["lot"].isna().all()
    assert plan.levels["review"].tolist()[:8] == [True] + [False] * 6 + [True]
    assert plan.level_changes[["from_day", "to_day", "order_up_to"]].values.tolist() == [
        [0, 27, 50.0]
    ]
    # cash: paid at order, order cost once per purchase order (one line)
    assert plan.orders["cash_at_order"].tolist() == [50.0, 150.0, 150.0, 150.0]
    assert plan.orders["cash_on_arrival"].eq(0).all()


def test_hand_computed_orders_with_lost_sales():
    """Lost sales keep IP at 0 or above: day 7 orders 50, day 14 IP 10 -> 40, day 21 50."""
    plan = make_purchase_plan(one_sku(unmet_demand="lost_sale"), "bs", weeks=4)
    assert orders_of(plan) == [
        (0, "X", 20.0, 3.0),
        (7, "X", 50.0, 10.0),
        (14, "X", 40.0, 17.0),
        (21, "X", 50.0, 24.0),
    ]
    lost = plan.projection.set_index("day")["lost"]
    assert lost[lost > 0].index.tolist() == [5, 6, 7, 8, 9, 15, 16, 21, 22, 23]
    assert plan.projection["backorders"].eq(0).all()


def test_pay_on_receipt_moves_the_cash_to_the_expected_landing():
    scn = one_sku(
        suppliers={
            "s": {
                "lead_time": {"dist": "constant", "value": 3},
                "order_cost": 10,
                "pay_on_receipt": True,
            }
        }
    )
    plan = make_purchase_plan(scn, "bs", weeks=1)
    first = plan.orders.iloc[0]
    assert (first.cash_at_order, first.cash_on_arrival, first.cash_out) == (10.0, 40.0, 50.0)


# --------------------------------------------------------------------------- purchase orders

TWO = {
    "name": "two",
    "horizon_days": 70,
    "suppliers": {
        "s": {"lead_time": {"dist": "constant", "value": 4}, "order_cost": 100, "line_cost": 5}
    },
    "skus": [
        {
            "id": "B",
            "unit_cost": 3.0,
            "price": 9.0,
            "supplier": "s",
            "initial_on_hand": 20,
            "demand": {"per_day": {"dist": "constant", "value": 6}},
        },
        {
            "id": "A",
            "unit_cost": 2.0,
            "price": 5.0,
            "supplier": "s",
            "initial_on_hand": 40,
            "demand": {"per_day": {"dist": "constant", "value": 9}},
        },
    ],
    "policies": {"bs": {"type": "base_stock", "S": {"A": 120, "B": 80}, "review_every_days": 7}},
}


def test_two_skus_one_supplier_one_purchase_order_per_review():
    plan = make_purchase_plan(Scenario.from_dict(TWO), "bs", weeks=6)
    orders = plan.orders
    assert orders["day"].unique().tolist() == [0, 7, 14, 21, 28, 35]
    for _, po in orders.groupby("po"):
        assert po["sku"].tolist() == ["A", "B"]  # SKU id order, not the file's
        assert po["day"].nunique() == 1
        assert po["order_cost"].sum() == pytest.approx(100 + 2 * 5)
    assert orders["po"].nunique() == 6
    # from the second week on each SKU buys its week of demand
    assert orders[orders.day > 0].set_index("sku")["units"].groupby("sku").unique().to_dict() == {
        "A": [63.0],
        "B": [42.0],
    }


def test_packs_moq_and_minimum_order_value():
    data = copy.deepcopy(TWO)
    data["suppliers"]["s"]["min_order_value"] = 1000
    data["skus"][0].update(pack_size=12, moq=60)
    data["skus"][1].update(pack_size=10)
    scn = Scenario.from_dict(data)
    plan = make_purchase_plan(scn, "bs", weeks=8)
    rules = {"A": (10, 0), "B": (12, 60)}
    assert not plan.orders.empty
    for r in plan.orders.itertuples():
        pack, moq = rules[r.sku]
        assert r.units % pack == 0 and r.units >= moq
    values = plan.orders.groupby("po")["value"].sum()
    assert (values >= 1000).all()
    # without the top-up a week's lines would be worth far less than the minimum
    weekly = order_units(42, Buying(12, 60, 3.0)) * 3 + order_units(63, Buying(10, 0, 2.0)) * 2
    assert weekly < 1000


# --------------------------------------------------------------------------- the simulation

DET = {
    "name": "det",
    "horizon_days": 110,
    "warmup_days": 10,
    "start_date": dt.date(2026, 3, 2),
    "seed": 7,
    "replications": 1,
    "suppliers": {
        "sea": {
            "lead_time": {"dist": "constant", "value": 9},
            "order_cost": 50,
            "line_cost": 2,
            "min_order_value": 900,
            "disruptions": [
                {
                    "kind": "port_closure",
                    "start": 45,
                    "end": 59,
                    "clearing_delay": {"dist": "constant", "value": 2},
                    "label": "strike",
                }
            ],
        },
        "air": {"lead_time": {"dist": "constant", "value": 2}, "order_cost": 20},
    },
    "skus": [
        {
            "id": "B",
            "unit_cost": 3.0,
            "price": 8.0,
            "supplier": "sea",
            "initial_on_hand": 200,
            "pack_size": 12,
            "moq": 24,
            "demand": {"per_day": {"dist": "constant", "value": 17}},
        },
        {
            "id": "A",
            "unit_cost": 5.0,
            "price": 11.0,
            "supplier": "sea",
            "initial_on_hand": 100,
            "demand": {"per_day": {"dist": "constant", "value": 6}},
        },
        {
            "id": "C",
            "unit_cost": 1.0,
            "price": 3.0,
            "supplier": "air",
            "initial_on_hand": 30,
            "demand": {
                "per_day": {"dist": "constant", "value": 4},
                "campaigns": [{"start_day": 60, "end_day": 70, "uplift": 2}],
            },
        },
    ],
    "policies": {
        "bs": {"type": "base_stock", "S": {"A": 150, "B": 400, "C": 40}, "review_every_days": 5},
        "sS": {
            "type": "s_S",
            "s": {"A": 70, "B": 180, "C": 12},
            "S": {"A": 160, "B": 420, "C": 50},
            "review": "continuous",
        },
        "rQ": {"type": "r_Q", "r": 90, "Q": 100, "review_every_days": 2},
        "jit": {"type": "jit", "review_every_days": 3},
        "ss": {
            "type": "safety_stock",
            "weeks_of_cover": 1,
            "quantity": "cover_days",
            "cover_days": 10,
            "plan_for_disruptions": True,
        },
        "hybrid": {"type": "hybrid", "review_every_days": 4},
        "rQ_can": {"type": "r_Q", "r": 90, "Q": 100, "review_every_days": 2, "can_order": 0.6},
        "hybrid_lots": {"type": "hybrid", "review_every_days": 4, "quantity": "eoq",
                        "can_order": 0.5},
    },
}


def assert_agrees(scn: Scenario, policy: str, start: int, weeks: int) -> None:
    """The plan's orders (day, SKU, units, landing) and stock are the simulation's."""
    end = start + 7 * weeks
    plan = make_purchase_plan(scn, policy, start=start, weeks=weeks)
    log = []
    traces = run_one(scn, policy, log=log)
    placed = [e for e in log if e[1] == "order" and start <= e[0] < end]
    simulated = sorted((int(e[0]), e[2], e[3], e[5][0][0]) for e in placed)
    assert simulated, "the case should order in the window"
    assert sorted(orders_of(plan)) == simulated
    # one purchase order per supplier and review, as the model's flush writes them
    assert plan.orders["po"].nunique() == len({(e[0], e[4]) for e in placed})
    for sku, trace in zip([s.id for s in scn.skus], traces, strict=True):
        proj = plan.projection[plan.projection.sku == sku]
        assert proj["on_hand"].tolist() == trace.on_hand[start:end].tolist()
        assert proj["backorders"].tolist() == trace.backorders[start:end].tolist()
        assert proj["on_order"].tolist() == trace.on_order[start:end].tolist()


@pytest.mark.parametrize("unmet", ["backorder", "lost_sale"])
@pytest.mark.parametrize("policy", list(DET["policies"]))
def test_plan_agrees_with_a_deterministic_simulation(policy, unmet):
    """Constant demand and lead times: the plan's orders are the simulation's orders."""
    assert_agrees(Scenario.from_dict({**DET, "unmet_demand": unmet}), policy, start=12, weeks=9)


def test_plan_agrees_through_a_closure_with_daily_orders():
    """Orders caught by the closure land after it; the next ones wait behind them (in order)."""
    scn = one_sku(
        suppliers={
            "s": {
                "lead_time": {"dist": "constant", "value": 9},
                "disruptions": [
                    {"kind": "port_closure", "start": 20, "end": 30,
                     "clearing_delay": {"dist": "constant", "value": 2}}
                ],
            }
        },
        policies={"daily": {"type": "base_stock", "S": 200}},
    )  # fmt: skip
    plan = make_purchase_plan(scn, "daily", weeks=6)
    landings = dict(zip(plan.orders.day, plan.orders.arrival_day, strict=True))
    assert landings[11] == landings[20] == landings[21] == 32.0 and landings[25] == 34.0
    assert_agrees(scn, "daily", start=0, weeks=6)


def test_plan_agrees_with_continuous_review_from_below_the_reorder_point():
    """A continuous review also looks at the stock at the start of the first day."""
    spec = {"type": "s_S", "s": 25, "S": 60, "review": "continuous"}
    scn = one_sku(initial=20, policies={"c": spec})
    plan = make_purchase_plan(scn, "c", weeks=2)
    # IP 20 <= 25 at the start of day 0: order 40 (after the day's demand IP = 50 > 25);
    # days 1, 2: IP 40, 30; day 3: the 40 land, demand takes IP to 20 -> order 40
    assert orders_of(plan)[:2] == [(0, "X", 40.0, 3.0), (3, "X", 40.0, 6.0)]
    assert_agrees(scn, "c", start=0, weeks=2)


def test_state_from_the_scenario_is_projected_to_the_start():
    """A later start without a stock count continues the same run: the same orders."""
    scn = Scenario.from_dict(DET)
    early = make_purchase_plan(scn, "bs", start=0, weeks=10)
    late = make_purchase_plan(scn, "bs", start=21, weeks=7)
    cut = early.orders[early.orders.day >= 21]
    assert orders_of(late) == [(r.day, r.sku, r.units, r.arrival_day) for r in cut.itertuples()]
    assert any("projected from the scenario's starting stock" in n for n in late.notes)


# --------------------------------------------------------------------------- port strike


@pytest.fixture(scope="module")
def port_strike():
    scn = port_strike_3_day()
    return scn, make_purchase_plan(scn, "hybrid", start=dt.date(2026, 9, 1), weeks=8)


def port_strike_3_day() -> Scenario:
    """The built-in port-strike scenario with its hybrid reviewing every three days."""
    data = load_scenario("port-strike").to_dict()
    data["policies"]["hybrid"]["review_every_days"] = 3
    return Scenario.from_dict(data)


def test_port_strike_hybrid_pre_builds_ahead_of_the_closure(port_strike):
    scn, plan = port_strike
    closure = scn.day_of(dt.date(2026, 10, 5))
    before = plan.orders[(plan.orders.day >= closure - 42) & (plan.orders.day < closure)]
    levels = plan.levels.set_index(["sku", "day"])
    quiet = {sku: levels.loc[(sku, 0), "order_up_to"] for sku in ("VITC-60", "ZINC-90")}
    raised = before[before.order_up_to > 1.5 * before.sku.map(quiet)]
    assert set(raised.sku) == {"VITC-60", "ZINC-90"}
    assert (raised.purpose == "pre-build").all()
    assert (raised.order_up_to > 1.5 * raised.quiet_order_up_to).all()
    assert (raised.arrival_day < closure).all()
    # the pre-build is one purchase order, much larger than a regular one
    assert raised.po.nunique() == 1
    assert raised.units.sum() > 5 * plan.orders[plan.orders.po == 1].units.sum()
    # the levels show it as a change
    vitc = plan.level_changes[plan.level_changes.sku == "VITC-60"]
    assert vitc.order_up_to.max() > 1.5 * quiet["VITC-60"]
    assert any("port strike 2026-10-05..2026-10-25" in line for line in plan.summary_lines())


def test_pre_builds_are_raised_orders_landing_before_the_window(tmp_path):
    """With a 50-day lead time the last order before a closure is placed 51 days ahead.

    It is the only order above the level without the closure (it must last until the
    next order lands, after the closure): a pre-build. An order held by the closure
    is not one, even when the policy's level is raised then.
    """
    scn = one_sku(
        initial=600,
        horizon_days=200,
        suppliers={
            "s": {
                "lead_time": {"dist": "constant", "value": 50},
                "disruptions": [{"kind": "port_closure", "start": 100, "end": 110}],
            }
        },
        policies={"h": {"type": "hybrid", "review_every_days": 7}},
    )
    orders = make_purchase_plan(scn, "h", weeks=20).orders.set_index("day")
    assert orders.index[orders.purpose == "pre-build"].tolist() == [49]
    assert orders.loc[49, "order_up_to"] > orders.loc[49, "quiet_order_up_to"]
    assert orders.loc[49, "ahead_of"] == "port closure 2026-04-15..2026-04-24"
    # port strike, counted on a review day inside the pre-build's rundown with little stock:
    # the level is raised, but the order lands after the closure
    port = port_strike_3_day()
    path = write(tmp_path, "sku,on_hand\nVITC-60,100\nZINC-90,100\n")
    late = make_purchase_plan(port, "hybrid", start=dt.date(2026, 9, 19), weeks=2, state=path)
    first = late.orders[late.orders.day == late.orders.day.min()]
    assert (first.order_up_to > 1.5 * first.quiet_order_up_to).all()
    assert (first.arrives > dt.date(2026, 10, 25)).all() and (first.purpose == "").all()


def test_port_strike_windows_have_the_closure(port_strike):
    scn, plan = port_strike
    rows = plan.windows[plan.windows.kind == "port_closure"]
    assert rows.sku.tolist() == ["VITC-60", "ZINC-90"]
    assert (rows.start == dt.date(2026, 10, 5)).all() and (rows.end == dt.date(2026, 10, 25)).all()
    assert (rows.label == "port strike").all() and rows.in_plan.all()
    # the hybrid enters the closure with more than the closure's demand on the shelf
    assert (rows.on_hand > rows.window_demand).all()
    assert (rows.cover_days > 21).all()
    jit = make_purchase_plan(scn, "jit", start=dt.date(2026, 9, 1), weeks=8)
    short = jit.windows.set_index("sku").projected_short
    assert short.sum() > 0 and (jit.orders.purpose == "").all()
    assert any("backup supplier" in n for n in plan.notes)


# --------------------------------------------------------------------------- state files


def write(tmp_path, text: str):
    path = tmp_path / "state.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_state_good_file(tmp_path):
    scn = Scenario.from_dict(TWO)
    path = write(tmp_path, "sku,on_hand,on_order,arrives\nA,35,,\nB,12,48,2026-01-09\n\nA,,60,3\n")
    state = read_state(path, scn)
    assert state.on_hand == {"A": 35.0, "B": 12.0}
    assert state.open_orders == {"A": ((3.0, 60.0),), "B": ((8.0, 48.0),)}
    plan = make_purchase_plan(scn, "bs", weeks=2, state=path)
    opening = plan.opening.set_index("sku")
    assert opening.loc["A", "inventory_position"] == 95 and opening.loc["B", "on_order"] == 48
    # day 0: A orders up to 120 from 95, B up to 80 from 60
    assert orders_of(plan)[:2] == [(0, "A", 25.0, 4.0), (0, "B", 20.0, 4.0)]


def test_read_state_without_a_file_is_the_scenario():
    scn = load_scenario("port-strike")
    state = read_state(None, scn)
    assert state.on_hand == {"VITC-60": 1800.0, "ZINC-90": 900.0}
    assert state.day == scn.first_day


@pytest.mark.parametrize(
    "text, message",
    [
        ("sku,on_hand\nA,3\nBB,4\n", "row 3, column sku: unknown SKU 'BB' (did you mean 'B'?)"),
        ("sku,on_hand\nA,3\nB,lots\n", "row 3, column on_hand: must be a number, got 'lots'"),
        ("sku,on_hand\nA,-3\nB,4\n", "row 2, column on_hand: must be >= 0, got -3"),
        ("sku,on_hand\nA,3.5\nB,4\n", "row 2, column on_hand: must be a whole number"),
        (
            "sku,on_hand,on_order,arrives\nA,3,,\nB,4,10,2026-13-01\n",
            "row 3, column arrives: must be a date (YYYY-MM-DD) or a day number, got '2026-13-01'",
        ),
        ("sku,on_hand,on_order,arrives\nA,3,,\nB,4,10,\n", "row 3, column arrives: missing"),
        ("sku,on_hand\nA,3\n", "no on_hand for SKU B"),
        ("sku,onhand\nA,3\n", "unknown column 'onhand' (did you mean 'on_hand'?)"),
    ],
)
def test_read_state_errors_name_row_column_and_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(PlanError) as err:
        read_state(path, Scenario.from_dict(TWO))
    assert message in str(err.value)
    assert str(err.value).startswith(str(path))
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------- bad requests


def test_bad_requests_are_plan_errors():
    scn = one_sku()
    with pytest.raises(PlanError, match="unknown policy 'b'.*policies are bs"):
        make_purchase_plan(scn, "b")
    with pytest.raises(PlanError, match="start: must be within"):
        make_purchase_plan(scn, "bs", start=dt.date(2027, 1, 1))
    with pytest.raises(PlanError, match="start: must be within"):
        make_purchase_plan(scn, "bs", start=-1)
    with pytest.raises(PlanError, match="weeks: must be a whole number >= 1"):
        make_purchase_plan(scn, "bs", weeks=0)
    with pytest.raises(PlanError, match="start: must be a date"):
        make_purchase_plan(scn, "bs", start="soon")


def test_window_is_cut_at_the_horizon():
    plan = make_purchase_plan(one_sku(), "bs", start=50, weeks=4)
    assert plan.projection.day.tolist() == list(range(50, 60))
    assert any("horizon ends" in n for n in plan.notes)
    assert np.isfinite(plan.levels.order_up_to).all()
