"""Learned forecasts: the forecasters by hand, no peeking, and service against the literature."""

import math

import numpy as np
import pytest
from helpers import TINY, run_one, with_sku
from scipy.stats import norm

from simulator.data.scenario import ForecastSpec, Scenario, ScenarioError
from simulator.model.forecast import Forecaster
from simulator.study.runner import run_scenario


def _fc(cal=None, prior=10.0, sd=2.0, **spec):
    cal = np.ones(100) if cal is None else np.asarray(cal, dtype=float)
    return Forecaster(ForecastSpec(**spec), cal, prior, sd)


def test_moving_average_by_hand():
    f = _fc(method="moving_average", window_days=3)
    assert f.window(0, 2) == 20.0  # the prior before any sales
    for day, y in enumerate([3, 6, 9, 12]):
        f.observe(day, y)
    assert f.daily() == pytest.approx(9.0)  # (6 + 9 + 12) / 3
    # one-day-ahead errors: 3-10, 6-3, 9-4.5, 12-6
    errs = [3 - 10, 6 - 3, 9 - 4.5, 12 - 6]
    assert f.rmse == pytest.approx(math.sqrt(np.mean(np.square(errs))))


def test_exp_smoothing_and_bias_by_hand():
    f = _fc(method="exp_smoothing", alpha=0.5, bias=0.2)
    f.observe(0, 20)  # 10 + 0.5 * 10 = 15
    f.observe(1, 5)  # 15 - 5 = 10
    assert f.base() == pytest.approx(10.0)
    assert f.window(2, 3) == pytest.approx(36.0)  # 10 × 1.2 × 3
    assert f.rmse == pytest.approx(math.sqrt((10**2 + 10**2) / 2))  # bias not in the errors


def test_croston_sba_tsb_by_hand():
    ys = [0, 4, 0, 0, 6]
    c = _fc(method="exp_smoothing", alpha=0.5, intermittent="croston", prior=2.0)
    s = _fc(method="exp_smoothing", alpha=0.5, intermittent="sba", prior=2.0)
    t = _fc(method="exp_smoothing", alpha=0.5, intermittent="tsb", prior=2.0)
    for day, y in enumerate(ys):
        for f in (c, s, t):
            f.observe(day, y)
    # Croston: size 2 -> 3 (y=4) -> 4.5 (y=6); interval 1 -> 1.5 (gap 2) -> 2.25 (gap 3)
    assert c.base() == pytest.approx(4.5 / 2.25)
    assert s.base() == pytest.approx(0.75 * 4.5 / 2.25)
    # TSB: size as Croston's; probability 1 -> .5 -> .75 -> .375 -> .1875 -> .59375
    assert t.base() == pytest.approx(0.59375 * 4.5)


def test_seasonal_applies_the_calendar_to_a_learned_level():
    cal = [1, 2, 0, 1, 1, 3]
    f = _fc(cal=cal, method="seasonal", alpha=0.5, prior=10.0)
    f.observe(0, 20)  # deseasonalised 20: level 15
    f.observe(1, 10)  # 10 / 2 = 5: level 10
    f.observe(2, 7)  # a closed day says nothing about the level
    assert f.base() == pytest.approx(10.0)
    assert f.window(3, 3) == pytest.approx(10 * (1 + 1 + 3))
    assert f.window(3, 1.5) == pytest.approx(10 * (1 + 0.5 * 1))


def test_forecast_spec_errors_name_the_field():
    data = with_sku(TINY)
    data["policies"] = {"j": {"type": "jit", "forecast": {"method": "moving_average"}}}
    with pytest.raises(ScenarioError, match=r"policies\.j\.forecast.*window_days"):
        Scenario.from_dict(data)
    data["policies"] = {"j": {"type": "jit", "forecast": "oracle"}}
    assert Scenario.from_dict(data).policies["j"].forecast.method == "oracle"


def _stationary(policies: dict, reps: int = 8, seed: int = 5, **changes) -> Scenario:
    data = {
        "name": "stationary",
        "horizon_days": 365,
        "warmup_days": 120,
        "replications": reps,
        "seed": seed,
        "units": "continuous",
        "suppliers": {"s": {"lead_time": {"dist": "constant", "value": 3}}},
        "skus": [
            {
                "id": "X",
                "unit_cost": 1.0,
                "price": 2.0,
                "supplier": "s",
                "initial_on_hand": 400,
                "demand": {"per_day": {"dist": "normal", "mean": 100, "sd": 20}},
            }
        ],
        "policies": policies,
    }
    data.update(changes)
    return Scenario.from_dict(data)


def test_oracle_forecast_reproduces_the_default_exactly():
    plain = _stationary({"h": {"type": "hybrid", "service_level_a": 0.9}})
    oracle = _stationary({"h": {"type": "hybrid", "service_level_a": 0.9, "forecast": "oracle"}})
    a = run_one(plain)[0]
    b = run_one(oracle)[0]
    assert np.array_equal(a.on_hand, b.on_hand) and a.ordered_units == b.ordered_units


@pytest.mark.parametrize("seed", [1, 2])
def test_no_peeking_a_demand_change_at_t_changes_no_earlier_decision(seed):
    """Learned forecasts read only closed days: decisions before t are the same."""
    t = 150
    pol = {
        "ma": {"type": "jit", "forecast": {"method": "moving_average", "window_days": 14}},
        "ses": {"type": "safety_stock", "forecast": {"method": "exp_smoothing", "alpha": 0.2}},
        "sea": {"type": "hybrid", "forecast": {"method": "seasonal", "alpha": 0.2}},
    }
    base = _stationary(pol, seed=seed)
    data = base.to_dict()
    data["skus"][0]["demand"]["shifts"] = [{"start": t, "multiplier": 3.0}]
    shifted = Scenario.from_dict(data)
    for name in pol:
        logs = []
        for scn in (base, shifted):
            log: list = []
            run_one(scn, name, log=log)
            logs.append([e for e in log if e[1] in ("review", "order") and e[0] < t])
        assert logs[0] == logs[1], name
        assert len(logs[0]) > 100
        # ... and the change is seen once it happened
        after = []
        for scn in (base, shifted):
            log = []
            run_one(scn, name, log=log)
            after.append([e for e in log if e[1] == "review" and e[0] >= t + 20])
        assert after[0] != after[1]


def _expected_service(z: float, window: int, p: float) -> float:
    """Cycle service of a P-day order-up-to level sized by RMSE·√P with a moving average.

    Demand i.i.d. with variance σ²: the one-day-ahead error of MA(n) has variance
    σ²(1 + 1/n), the P-day error σ²(P + P²/n) (Prak, Teunter & Syntetos 2017), so a
    buffer z·RMSE·√P protects with z' = z·√((1 + 1/n) / (1 + P/n)).
    """
    return float(norm.cdf(z * math.sqrt((1 + 1 / window) / (1 + p / window))))


def test_learned_forecast_service_falls_short_as_the_literature_predicts():
    """On stationary demand a learned forecast's service is below the oracle's, by Prak et al."""
    n, target, lead = 5, 0.9, 3
    scn = _stationary(
        {
            "oracle": {"type": "hybrid", "service_level_a": target},
            "ma": {"type": "hybrid", "service_level_a": target,
                   "forecast": {"method": "moving_average", "window_days": n}},
        },  # fmt: skip
        reps=40,
    )
    runs = run_scenario(scn).runs
    runs = runs[runs["sku"] == "X"].set_index(["policy", "replication"])
    served = 1 - runs["p_backorder_end"]  # P(no backorder at a day's end) = cycle service
    oracle, ma = served.loc["oracle"], served.loc["ma"]
    p = lead + 1  # protection period: lead time + one review day
    want_oracle = target
    want_ma = _expected_service(norm.ppf(target), n, p)
    se_o = oracle.std(ddof=1) / math.sqrt(oracle.size)
    diff = ma - oracle
    se_d = diff.std(ddof=1) / math.sqrt(diff.size)
    # Four standard errors, plus 0.01 for what the formula leaves out (the RMSE's own
    # sampling noise and the days the learned level falls faster than demand).
    assert abs(oracle.mean() - want_oracle) <= 4 * se_o + 0.01
    assert diff.mean() < 0
    assert abs(diff.mean() - (want_ma - want_oracle)) <= 4 * se_d + 0.01
