"""Property tests: units are conserved and stock never negative, for random valid scenarios."""

import numpy as np
import pytest
from helpers import run_one
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import num  # floats without non-zero values below 1e-6 (the loader refuses < 1e-9)

from simulator.data.scenario import Scenario

dists = st.one_of(
    st.builds(lambda m: {"dist": "poisson", "mean": m}, num(0, 30)),
    st.builds(lambda m, s: {"dist": "normal", "mean": m, "sd": s}, num(0, 30), num(0, 15)),
    st.builds(lambda m, s: {"dist": "gamma", "mean": m, "sd": s}, num(0.5, 30), num(0.1, 20)),
    st.builds(lambda lo, w: {"dist": "uniform", "low": lo, "high": lo + w},
              num(0, 10), num(0, 10)),
    st.builds(lambda v: {"dist": "empirical", "values": v},
              st.lists(st.integers(0, 9), min_size=1, max_size=4)),
)  # fmt: skip
lead_times = st.one_of(
    st.builds(lambda v: {"dist": "constant", "value": v}, st.integers(0, 6)),
    st.builds(lambda m, s: {"dist": "gamma", "mean": m, "sd": s}, num(0.5, 8), num(0.1, 4)),
)  # fmt: skip
demands = st.one_of(
    st.builds(lambda d: {"per_day": d}, dists),
    st.builds(
        lambda r, d: {"customers": {"orders_per_day": r, "order_size": d}},
        num(0, 8),
        dists,
    ),
)
policies = st.one_of(
    st.builds(lambda s, r: {"type": "base_stock", "S": s, "review": r},
              num(0, 200), st.sampled_from(["continuous", "periodic"])),
    st.builds(lambda s, d, k: {"type": "s_S", "s": s, "S": s + d, "review_every_days": k},
              num(0, 100), num(0, 100), st.integers(1, 7)),
    st.builds(lambda r, q: {"type": "r_Q", "r": r, "Q": q, "review": "continuous"},
              num(0, 100), num(0.5, 100)),
    st.builds(lambda k: {"type": "jit", "review_every_days": k}, st.integers(1, 7)),
    st.builds(lambda z: {"type": "safety_stock", "service_level": z}, num(0.5, 0.99)),
    st.just({"type": "hybrid"}),
)  # fmt: skip


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 3))
    units = draw(st.sampled_from(["whole", "continuous"]))
    skus = [
        {
            "id": f"S{i}",
            "unit_cost": 1,
            "price": 2,
            "supplier": "sup",
            "initial_on_hand": draw(st.integers(0, 100) if units == "whole" else num(0, 100)),
            "demand": draw(demands),
        }
        for i in range(n)
    ]
    return Scenario.from_dict(
        {
            "name": "prop",
            "horizon_days": draw(st.integers(1, 60)),
            "warmup_days": draw(st.integers(0, 10)),
            "seed": draw(st.integers(0, 2**32)),
            "unmet_demand": draw(st.sampled_from(["backorder", "lost_sale"])),
            "units": units,
            "suppliers": {
                "sup": {"lead_time": draw(lead_times), "deliver_in_order": draw(st.booleans())}
            },
            "skus": skus,
            "policies": {"p": draw(policies)},
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_units_conserved_and_nothing_negative(scn):
    for tr in run_one(scn):
        led = tr.ledger
        if scn.units == "whole":  # whole units conserve exactly, every count a whole number
            assert all(float(v).is_integer() for v in led.values()), led
            assert led["initial"] + led["received"] == led["shipped"] + led["on_hand_end"]
            assert led["demand"] == led["served"] + led["backordered"] + led["lost"]
        tol = 1e-6 * (1 + led["demand"] + led["received"])
        assert led["initial"] + led["received"] == pytest.approx(
            led["shipped"] + led["on_hand_end"], abs=tol
        )
        assert led["demand"] == pytest.approx(
            led["served"] + led["backordered"] + led["lost"], abs=tol
        )
        # everything that was backordered is either shipped since or still waiting
        assert led["backordered"] == pytest.approx(
            led["shipped"] - led["served"] + led["backorders_end"], abs=tol
        )
        assert np.all(tr.on_hand >= -1e-9)
        assert np.all(tr.backorders >= -1e-9)
        assert np.all(tr.on_order >= -1e-9)
        if scn.unmet_demand == "lost_sale":
            assert led["backordered"] == 0 and np.all(tr.backorders == 0)
        assert 0 <= tr.served_units <= tr.demand_units + tol
