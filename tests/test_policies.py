"""Policies: each rule's decision on a review, and the formulas they use."""

import math

import numpy as np
import pytest
from helpers import TINY, with_sku
from scipy.stats import norm

from simulator.data.scenario import Scenario
from simulator.model.policies import abc_classes, build_policy, eoq, safety_stock
from simulator.model.replication import make_plans


def built(policy: dict, **sku_changes):
    data = with_sku(TINY, **sku_changes) if sku_changes else dict(TINY)
    data = {**data, "policies": {"p": policy}}
    scn = Scenario.from_dict(data)
    (plan,) = make_plans(scn)
    return build_policy(scn.policies["p"], plan), plan


def test_base_stock_orders_up_to_s():
    pol, _ = built({"type": "base_stock", "S": 50})
    assert pol.review(0, 20) == 30
    assert pol.review(0, 50) == 0
    assert pol.review(0, 60) == 0


def test_s_S_triggers_at_or_below_s():
    pol, _ = built({"type": "s_S", "s": 10, "S": 40})
    assert pol.review(0, 10) == 30
    assert pol.review(0, 11) == 0
    assert pol.review(0, -5) == 45


@pytest.mark.parametrize(("ip", "expected"), [(11, 0), (10, 8), (3, 8), (2, 16), (-7, 24)])
def test_r_Q_orders_smallest_multiple_lifting_ip_above_r(ip, expected):
    pol, _ = built({"type": "r_Q", "r": 10, "Q": 8})
    assert pol.review(0, ip) == expected
    if expected:
        assert ip + expected > 10 >= ip + expected - 8


def test_jit_level_is_forecast_over_review_period_plus_mean_lead_time():
    pol, plan = built({"type": "jit", "review_every_days": 3})
    _, upto = pol.levels()
    assert upto[0] == pytest.approx(10 * (3 + 2))
    assert pol.review(0, 20) == pytest.approx(30)


def test_jit_builds_ahead_of_a_known_campaign():
    demand = {"per_day": {"dist": "constant", "value": 10},
              "campaigns": [{"start_day": 5, "end_day": 7, "uplift": 3}]}  # fmt: skip
    pol, _ = built({"type": "jit"}, demand=demand)
    _, upto = pol.levels()
    # review period 1 + lead time 2 = 3 days covered: day 3 covers days 3,4,5 -> 10+10+30
    assert upto[:8].tolist() == [30, 30, 30, 50, 70, 70, 50, 30]


def test_safety_stock_reorder_point_and_eoq():
    demand = {"per_day": {"dist": "normal", "mean": 100, "sd": 20}}
    pol, plan = built({"type": "safety_stock", "service_level": 0.95}, demand=demand)
    rop, upto = pol.levels()
    days = 2 + 1  # mean lead time + review period
    z = norm.ppf(0.95)
    expected_ss = z * math.sqrt(days * plan.var[0])  # constant lead time: Var[L] = 0
    assert rop[0] == pytest.approx(days * plan.mean[0] + expected_ss)
    q = eoq(10, plan.mean[0] * 365, 2.0, 0.25)
    assert upto[0] - rop[0] == math.ceil(q)  # whole units: the lot rounds up to a unit


def test_safety_stock_formula_includes_lead_time_variance():
    assert safety_stock(2.0, 4, 100, 25, 0) == pytest.approx(2 * math.sqrt(100))
    assert safety_stock(2.0, 4, 10, 4, 1) == pytest.approx(2 * math.sqrt(4 * 4 + 100 * 1))


def test_eoq_formula():
    assert eoq(50, 1000, 4, 0.25) == pytest.approx(math.sqrt(2 * 50 * 1000 / 1))
    assert eoq(0, 1000, 4, 0.25) == 0


def test_weeks_of_cover_buffer():
    pol, plan = built({"type": "safety_stock", "weeks_of_cover": 2, "quantity": "cover_days",
                       "cover_days": 10})  # fmt: skip
    rop, upto = pol.levels()
    assert rop[0] == pytest.approx(10 * 3 + 2 * 7 * 10)
    assert upto[0] - rop[0] == pytest.approx(100)


def _catalog(revenues):
    skus = [
        {"id": f"S{i}", "unit_cost": 1, "price": r, "supplier": "s",
         "demand": {"per_day": {"dist": "constant", "value": 1}}}
        for i, r in enumerate(revenues)
    ]  # fmt: skip
    return Scenario.from_dict({**TINY, "skus": skus, "policies": {"h": {"type": "hybrid"}}})


def test_abc_classes_by_expected_revenue():
    classes = abc_classes(_catalog([50, 30, 10, 4, 4, 2]))
    # shares above each item: 0, .5, .8, .9, .94, .98
    assert classes == {"S0": "A", "S1": "A", "S2": "B", "S3": "B", "S4": "B", "S5": "C"}


def test_hybrid_buffers_by_class():
    scn = _catalog([50, 30, 10, 4, 4, 2])
    plans = make_plans(scn)
    levels = [build_policy(scn.policies["h"], p).levels()[1][0] for p in plans]
    base = 1 * (1 + 2)
    # constant demand and lead time: no variance, so buffers are zero for every class...
    assert levels == pytest.approx([base] * 6)
    # ...while with variable demand A carries the largest buffer, C none
    data = scn.to_dict()
    for s in data["skus"]:
        s["demand"] = {"per_day": {"dist": "poisson", "mean": 1}}
    scn = Scenario.from_dict(data)
    plans = make_plans(scn)
    lv = np.array([build_policy(scn.policies["h"], p).levels()[1][0] for p in plans])
    assert lv[0] > lv[2] > lv[5] == pytest.approx(base)


def test_no_orders_without_demand():
    demand = {"per_day": {"dist": "constant", "value": 0}}
    for policy in ({"type": "safety_stock"}, {"type": "jit"}, {"type": "hybrid"}):
        pol, _ = built(policy, demand=demand, initial_on_hand=0)
        assert pol.review(0, 0.0) == 0
