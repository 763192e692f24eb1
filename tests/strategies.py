"""Hypothesis strategies for random valid scenarios that mix every feature.

Shared by the invariant and fuzz tests: disruptions of every kind (port
closures, supplier outages that queue or refuse, random outages, lead-time
shocks, capacity), backup suppliers, seasonality, campaigns, trends, spikes,
lost sales and backorders, every policy type under continuous and periodic
review. Horizons stay short so that an example runs in milliseconds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st


def num(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats in [lo, hi] with nothing in (0, 1e-6): the loader refuses non-zero numbers
    below 1e-9 (a product of two of these stays above it)."""
    return st.floats(lo, hi, allow_subnormal=False).map(lambda x: 0.0 if 0 < abs(x) < 1e-6 else x)


quantities = st.one_of(
    st.builds(lambda v: {"dist": "constant", "value": v}, num(0, 40)),
    st.builds(lambda m: {"dist": "poisson", "mean": m}, num(0, 30)),
    st.builds(lambda m, s: {"dist": "normal", "mean": m, "sd": s}, num(0, 30), num(0, 15)),
    st.builds(lambda m, s: {"dist": "gamma", "mean": m, "sd": s}, num(0.5, 30), num(0.1, 20)),
    st.builds(lambda m, s: {"dist": "lognormal", "mean": m, "sd": s}, num(0.5, 30), num(0, 20)),
    st.builds(lambda m: {"dist": "exponential", "mean": m}, num(0.1, 20)),
    st.builds(lambda m, e: {"dist": "negbin", "mean": m, "sd": (m + e) ** 0.5 + 0.01},
              num(0.5, 20), num(0.1, 30)),
    st.builds(lambda lo, w: {"dist": "uniform", "low": lo, "high": lo + w}, num(0, 10), num(0, 10)),
    st.builds(lambda lo, w: {"dist": "discrete_uniform", "low": lo, "high": lo + w},
              st.integers(0, 10), st.integers(0, 10)),
    st.builds(lambda lo, a, b: {"dist": "triangular", "low": lo, "mode": lo + a, "high": lo + a + b + 0.5},
              num(0, 5), num(0, 5), num(0, 5)),
    st.builds(lambda v, w: {"dist": "empirical", "values": v, **({"weights": [1] * len(v)} if w else {})},
              st.lists(st.integers(0, 9), min_size=1, max_size=4), st.booleans()),
)  # fmt: skip
lead_times = st.one_of(
    st.builds(lambda v: {"dist": "constant", "value": v}, st.integers(0, 8)),
    st.builds(lambda m, s: {"dist": "gamma", "mean": m, "sd": s}, num(0.5, 10), num(0.1, 5)),
    st.builds(lambda m, s: {"dist": "normal", "mean": m, "sd": s}, num(0, 10), num(0, 3)),
    st.builds(lambda lo, w: {"dist": "uniform", "low": lo, "high": lo + w}, num(0, 6), num(0, 6)),
)  # fmt: skip


@st.composite
def windows(draw, horizon: int) -> tuple[int, int]:
    """A half-open window [start, end) of measured days (0 <= start < end <= horizon).

    Windows stay inside the horizon: whether one outside it is an error is
    being decided elsewhere, and these scenarios must be valid either way.
    """
    start = draw(st.integers(0, horizon - 1))
    return start, draw(st.integers(start + 1, horizon))


@st.composite
def disruptions(draw, span: int) -> list[dict[str, Any]]:
    """A list of disruptions of every kind (at most one capacity limit)."""
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(["port_closure", "supplier_outage", "random_outage", "lead_time_shock"])
        )
        if kind == "random_outage":
            out.append(
                {
                    "kind": kind,
                    "per_year": draw(num(0, 40)),
                    "duration": draw(lead_times),
                    "mode": draw(st.sampled_from(["queue", "refuse"])),
                }
            )
            continue
        a, b = draw(windows(span))
        d: dict[str, Any] = {"kind": kind, "start": a, "end": b, "announced": draw(st.booleans())}
        if kind == "port_closure" and draw(st.booleans()):
            d["clearing_delay"] = draw(lead_times)
        if kind == "supplier_outage":
            d["mode"] = draw(st.sampled_from(["queue", "refuse"]))
        if kind == "lead_time_shock":
            d["multiplier"] = draw(num(0, 4))
            d["extra_days"] = draw(num(0, 10))
        out.append(d)
    if draw(st.booleans()):
        out.append({"kind": "capacity", "units_per_week": draw(num(1, 300))})
    return out


@st.composite
def demands(draw, span: int) -> dict[str, Any]:
    """A SKU's demand: a daily quantity or customer orders, with calendar effects."""
    if draw(st.booleans()):
        d: dict[str, Any] = {"per_day": draw(quantities)}
    else:
        d = {"customers": {"orders_per_day": draw(num(0, 8)), "order_size": draw(quantities)}}
    if draw(st.booleans()):
        season: dict[str, Any] = {}
        if draw(st.booleans()):
            season["monthly"] = draw(st.lists(num(0, 3), min_size=12, max_size=12))
        if draw(st.booleans()):
            season["weekly"] = draw(st.lists(num(0, 3), min_size=7, max_size=7))
        d["seasonality"] = season
    if draw(st.booleans()):
        d["campaigns"] = [
            {"start_day": a, "end_day": b, "uplift": draw(num(0, 5))}
            for a, b in draw(st.lists(windows(span), max_size=2))
        ]
    if draw(st.booleans()):
        d["trend_per_year"] = draw(num(-0.99, 3))
    if draw(st.booleans()):
        d["spikes"] = {
            "per_year": draw(num(0, 50)),
            "uplift": draw(quantities),
            "duration_days": draw(st.integers(1, 5)),
        }
    return d


def _per_sku(draw, ids: list[str], values) -> Any:
    if draw(st.booleans()):
        return draw(values)
    return {i: draw(values) for i in ids}


@st.composite
def policies(draw, ids: list[str]) -> dict[str, Any]:
    """One policy of any type, with continuous or periodic review."""
    kind = draw(st.sampled_from(["base_stock", "s_S", "r_Q", "jit", "safety_stock", "hybrid"]))
    p: dict[str, Any] = {"type": kind}
    if draw(st.booleans()):
        p["review"] = "continuous"
    else:
        p["review_every_days"] = draw(st.integers(1, 7))
    level = num(0, 200)
    if kind == "base_stock":
        p["S"] = _per_sku(draw, ids, level)
    elif kind == "s_S":
        s = draw(num(0, 100))
        p["s"], p["S"] = s, s + draw(num(0, 100))
    elif kind == "r_Q":
        p["r"] = _per_sku(draw, ids, level)
        p["Q"] = _per_sku(draw, ids, num(0.5, 100))
        if "review" not in p and draw(st.booleans()):
            p["can_order"] = draw(num(0, 1))
    elif kind == "jit":
        p["plan_for_disruptions"] = draw(st.booleans())
        p.update(draw(_lots))
    elif kind == "safety_stock":
        if draw(st.booleans()):
            p["service_level"] = draw(num(0.5, 0.995))
        else:
            p["weeks_of_cover"] = draw(num(0, 4))
        if draw(st.booleans()):
            p["quantity"], p["cover_days"] = "cover_days", draw(num(0.5, 30))
        p["plan_for_disruptions"] = draw(st.booleans())
        p["use_backup"] = draw(st.booleans())
    else:
        a = draw(num(0.05, 0.9))
        p["a_share"], p["b_share"] = a, draw(num(0.01, 0.99 - a))
        p["plan_for_disruptions"] = draw(st.booleans())
        p["use_backup"] = draw(st.booleans())
        p.update(draw(_lots))
    return p


_lots = st.one_of(
    st.just({}),
    st.just({"quantity": "eoq"}),
    st.builds(lambda d: {"quantity": "cover_days", "cover_days": d}, num(0.5, 30)),
)
"""A jit or hybrid policy's lot rule: order up to (default), EOQ lots or cover days."""


@st.composite
def scenario_dicts(draw, max_horizon: int = 60) -> dict[str, Any]:
    """A valid scenario as plain data, mixing every feature."""
    horizon = draw(st.integers(1, max_horizon))
    warmup = draw(st.integers(0, 10))
    span = horizon
    ids = [f"S{i}" for i in range(draw(st.integers(1, 3)))]
    suppliers = {
        "main": {
            "lead_time": draw(lead_times),
            "order_cost": draw(num(0, 100)),
            "line_cost": draw(st.one_of(st.just(0.0), num(0, 20))),
            "min_order_value": draw(st.one_of(st.just(0.0), num(0, 2000))),
            "pay_on_receipt": draw(st.booleans()),
            "deliver_in_order": draw(st.booleans()),
            "disruptions": draw(disruptions(span)),
        },
        "backup": {
            "lead_time": draw(lead_times),
            "order_cost": draw(num(0, 100)),
            "unit_cost_premium": draw(num(0, 1)),
            "deliver_in_order": draw(st.booleans()),
            "disruptions": draw(disruptions(span)),
        },
    }
    skus = []
    for i in ids:
        cost = draw(num(0.1, 50))
        primary = draw(st.sampled_from(["main", "main", "backup"]))
        sku = {
            "id": i,
            "unit_cost": cost,
            "price": cost * draw(num(0, 3)),
            "holding_rate": draw(st.one_of(st.just(0.0), num(1e-9, 1))),
            "backorder_cost_per_day": draw(num(0, 2)),
            "supplier": primary,
            "initial_on_hand": draw(num(0, 200)),
            "demand": draw(demands(span)),
        }
        if draw(st.booleans()):
            sku["pack_size"] = draw(st.integers(1, 24))
        if draw(st.booleans()):
            sku["moq"] = draw(st.integers(0, 100))
        if draw(st.booleans()):
            sku["open_orders"] = [
                {"units": draw(st.integers(1, 100)), "arrives": draw(st.integers(-warmup, span))}
                for _ in range(draw(st.integers(1, 2)))
            ]
        if draw(st.booleans()):
            # the other supplier (a backup equal to the primary is an input error)
            sku["backup_supplier"] = "backup" if primary == "main" else "main"
        skus.append(sku)
    pols = {f"p{j}": draw(policies(ids)) for j in range(draw(st.integers(1, 3)))}
    start = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 400)))
    units = draw(st.sampled_from(["whole", "continuous"]))
    if units == "whole":  # stock and capacities in whole units
        for sku in skus:
            sku["initial_on_hand"] = float(round(sku["initial_on_hand"]))
        for sup in suppliers.values():
            for d in sup["disruptions"]:
                if d["kind"] == "capacity":
                    d["units_per_week"] = float(max(round(d["units_per_week"]), 1))
    return {
        "name": "random",
        "start_date": start.isoformat(),
        "horizon_days": horizon,
        "warmup_days": warmup,
        "replications": 2,
        "seed": draw(st.integers(0, 2**63)),
        "unmet_demand": draw(st.sampled_from(["backorder", "lost_sale"])),
        "units": units,
        "suppliers": suppliers,
        "skus": skus,
        "policies": pols,
    }
