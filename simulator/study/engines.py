"""Which engine runs a scenario, and the fast engine's batches as result rows.

Two engines run the same model (docs/engines.md): ``simpy``, the reference
(:mod:`simulator.model.replication`), and ``fast``, a compiled loop over the same draws
(:mod:`simulator.model.kernel`) for the features it implements. ``auto`` takes ``fast``
when :func:`simulator.model.kernel.unsupported` finds nothing, else ``simpy``.

:func:`fast_batch` turns the fast engine's per policy × SKU sums into the rows of
``runs.parquet``, with the formulas of :func:`simulator.study.metrics.replication_rows`
written over arrays of replications (one Python row at a time would cost the fast
engine more than its simulation). The agreement tests compare both, field by field.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simulator.data.scenario import Scenario
from simulator.study.metrics import ID_COLUMNS, METRICS, OVERBUYING_METRICS

__all__ = ["ENGINES", "choose_engine", "fast_batch"]

ENGINES = ("simpy", "fast", "auto")
"""Engine names the commands accept."""


def choose_engine(scenario: Scenario, engine: str) -> tuple[str, str]:
    """Resolve ``engine`` for ``scenario``: (``simpy`` or ``fast``, why, in a few words).

    ``fast`` on a scenario it does not support is an error (ValueError naming the
    features); ``auto`` falls back to ``simpy`` and says which feature made it, and also
    takes ``simpy`` where the fast engine would likely be slower
    (:func:`simulator.model.kernel.slower`).
    """
    if engine not in ENGINES:
        raise ValueError(f"--engine: must be one of {', '.join(ENGINES)}, got '{engine}'")
    if engine == "simpy":
        return "simpy", "asked for"
    from simulator.model.kernel import slower, unsupported

    # "skus[0].shelf_life_days: not implemented by the fast engine" -> the field alone
    suffix = ": not implemented by the fast engine"
    reasons = [r.removesuffix(suffix) for r in unsupported(scenario)]
    if engine == "fast":
        if reasons:
            raise ValueError(
                "--engine fast: the fast engine does not support "
                + ", ".join(reasons)
                + " (use --engine simpy or auto)"
            )
        return "fast", "asked for"
    if reasons:
        more = f" and {len(reasons) - 1} more" if len(reasons) > 1 else ""
        return "simpy", f"the fast engine does not support {reasons[0]}{more}"
    slow = slower(scenario)
    if slow:
        return "simpy", f"faster here: {slow[0]}"
    return "fast", "every feature of the scenario is supported by the fast engine"


def fast_batch(scenario: Scenario, replications: list[int]):
    """Run a batch with the fast engine: the same :class:`~.runner.Batch` as the SimPy engine's."""
    from simulator.model.kernel import run_replications
    from simulator.model.kernel_loop import STAT
    from simulator.study.runner import (
        DAILY_BAND_REPLICATIONS,
        PER_SKU_DAILY_LIMIT,
        Batch,
        prepared,
    )

    plans, policies = prepared(scenario)
    per_sku = len(scenario.skus) <= PER_SKU_DAILY_LIMIT
    res = run_replications(
        scenario, plans, policies, list(replications), DAILY_BAND_REPLICATIONS, per_sku
    )
    classes = {
        name: [pol.abc_class for pol in built] for name, built in policies.items()
    }
    columns = _columns(scenario, list(replications), list(policies), classes, res, STAT)
    return Batch(
        replications=list(replications),
        columns=columns,
        daily={k: np.stack(v) for k, v in res.daily.items()},
    )


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), math.nan)


def _columns(
    scenario: Scenario,
    replications: list[int],
    policies: list[str],
    classes: dict[str, list[str]],
    res,
    stat_names: tuple[str, ...],
) -> dict[str, Any]:
    """Return the rows of ``runs.parquet`` as columns: replication × policy × (SKUs, then "ALL").

    Numbers as numpy arrays (``Batch.columns`` takes lists or arrays), names as lists.
    """
    S = {name: res.stats[..., j] for j, name in enumerate(stat_names)}  # [B, P, K]
    skus = scenario.skus
    B, P, K = res.stats.shape[:3]
    days = float(scenario.horizon_days)
    cost = np.array([s.unit_cost for s in skus])
    price = np.array([s.price for s in skus])
    rate = np.array([s.holding_rate for s in skus])
    penalty = np.array([s.backorder_cost_per_day for s in skus])
    margin_unit = np.maximum(price - cost, 0.0)
    value_sum = S["value_sum"]
    backorder_sum = S["backorder_sum"]
    holding = value_sum * rate / 365
    ordering = S["order_cost"]
    shortage = S["lost"] * margin_unit + backorder_sum * penalty
    expedite = S["expedite"]
    cogs_per_day = S["shipped"] * cost / days
    cash = value_sum / days
    shipped = S["shipped_sum"]
    orders = S["demand_orders"]
    complete = orders - S["short"]
    m: dict[str, np.ndarray] = {
        "fill_rate": _ratio(S["served"], S["demand_units"]),
        "order_fill_rate": _ratio(complete, orders),
        "stockout_rate": S["stockout_days"] / days,
        "any_stockout_rate": S["stockout_days"] / days,
        "p_backorder_end": S["backorder_days"] / days,
        "cycle_service_level": _ratio(S["cycles"] - S["cycles_short"], S["cycles"]),
        "avg_on_hand": S["on_hand_sum"] / days,
        "avg_on_hand_time": S["area"] / days,
        "avg_backorders": backorder_sum / days,
        "demand_units": S["demand_units"],
        "served_units": S["served"],
        "lost_units": S["lost"],
        "backordered_units": S["backordered"],
        "holding_cost": holding,
        "ordering_cost": ordering,
        "shortage_cost": shortage,
        "expedite_cost": expedite,
        "total_cost": holding + ordering + shortage + expedite,
        "cash_tied_up": cash,
        "cash_tied_up_peak": S["value_max"],
        "cash_in_pipeline": S["on_order_sum"] / days * cost,
        "days_of_inventory": _ratio(cash, cogs_per_day),
        "orders_placed": S["placed"],
        "purchase_orders": S["pos"],
        "avg_order_qty": _ratio(S["ordered"], S["placed"]),
        "customer_orders": orders,
        "revenue": shipped * price,
        "gross_margin": shipped * (price - cost),
        "cash_out": S["spent_sum"],
        "working_capital_peak": S["capital_max"],
        "days": np.full_like(holding, days),
    }
    if scenario.overbuying:
        _overbuying(m, S, res.after, scenario)
    if K == 1:  # one SKU: the portfolio is that SKU, the same numbers
        full = {name: np.concatenate([v, v], axis=2) for name, v in m.items()}
    else:
        port = _portfolio(m, S, res.port, days, scenario)
        full = {name: np.concatenate([v, port[name][..., None]], axis=2) for name, v in m.items()}
    cols: dict[str, Any] = {}
    if max(replications, default=0) < 2**63:
        cols["replication"] = np.repeat(np.asarray(replications, dtype=np.int64), P * (K + 1))
    else:  # as the SimPy engine gives them: Python ints
        cols["replication"] = [r for r in replications for _ in range(P * (K + 1))]
    cols["seed"] = [scenario.seed] * (B * P * (K + 1))  # a seed may not fit in int64
    cols["policy"] = [name for _ in range(B) for name in policies for _ in range(K + 1)]
    ids = [s.id for s in skus] + ["ALL"]
    cols["sku"] = ids * (B * P)
    per_policy = [[*classes[name], ""] for name in policies]
    cols["abc_class"] = [c for _ in range(B) for row in per_policy for c in row]
    names = METRICS + (OVERBUYING_METRICS if scenario.overbuying else ())
    for name in names:  # arrays, not lists: a tenth of a small replication's time
        cols[name] = np.ascontiguousarray(full[name], dtype=float).reshape(-1)
    assert tuple(cols) == ID_COLUMNS + names
    return cols


def _overbuying(
    m: dict[str, np.ndarray], S: dict[str, np.ndarray], after: np.ndarray, scenario: Scenario
) -> None:
    """Add the overbuying measures as ``metrics._overbuying`` does (the features supported).

    Nothing expires, dies, is rejected or lost to goodwill in a scenario the fast engine
    runs (shelf life, end of life, quality and goodwill fall back to SimPy), so those are
    zeros; the leftover and the excess over the demand expected after the horizon
    (``after[b, k]``, per replication: regime changes are drawn) are the SimPy engine's
    formulas.
    """
    skus = scenario.skus
    cost = np.array([s.unit_cost for s in skus])
    salvage = np.array([s.salvage_value or 0.0 for s in skus])
    end = S["on_hand_end"]
    zero = np.zeros_like(end)
    m["expired_units"] = zero
    m["obsolete_units"] = zero
    m["rejected_units"] = zero
    m["write_off_cost"] = zero * cost + zero * cost * (1 - salvage)
    m["leftover_units"] = end
    m["leftover_value"] = end * cost
    m["leftover_cost"] = end * cost * (1 - salvage)
    a = after[:, None, :]
    with np.errstate(invalid="ignore"):
        m["excess_units_end"] = np.where(np.isfinite(a), np.maximum(end - a, 0.0), math.nan)
    m["goodwill_lost_units"] = zero
    m["total_cost"] = m["total_cost"] + m["write_off_cost"]
    if scenario.leftover is not None and scenario.leftover.in_total_cost:
        m["total_cost"] = m["total_cost"] + m["leftover_cost"]


def _portfolio(
    m: dict[str, np.ndarray], S: dict[str, np.ndarray], port: np.ndarray, days: float,
    scenario: Scenario,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Return the portfolio rows' metrics, [B, P], summed in SKU id order (as SimPy's)."""
    skus = scenario.skus
    order = sorted(range(len(skus)), key=lambda k: skus[k].id)
    cost = np.array([s.unit_cost for s in skus])

    def total(x: np.ndarray) -> np.ndarray:
        acc = 0.0
        for k in order:
            acc = acc + x[..., k]
        return acc

    t = {
        "demand": total(m["demand_units"]),
        "served": total(m["served_units"]),
        "backordered": total(m["backordered_units"]),
        "lost": total(m["lost_units"]),
        "orders": total(m["customer_orders"]),
        "complete": total(S["demand_orders"] - S["short"]),
        "placed": total(m["orders_placed"]),
        "ordered": total(S["ordered"]),
        "holding": total(m["holding_cost"]),
        "ordering": total(m["ordering_cost"]),
        "shortage": total(m["shortage_cost"]),
        "expedite": total(m["expedite_cost"]),
        "pipeline_sum": total(m["cash_in_pipeline"]),
        "shipped_value": total(S["shipped"] * cost),
        "on_hand_sum": total(m["avg_on_hand"]),
        "backorders_sum": total(m["avg_backorders"]),
        "area": total(S["area"]),
        "cycles": total(S["cycles"]),
        "cycles_short": total(S["cycles_short"]),
        "pos": total(m["purchase_orders"]),
        "revenue": total(m["revenue"]),
        "margin": total(m["gross_margin"]),
        "spent": total(m["cash_out"]),
    }
    demand = t["demand"]
    with np.errstate(divide="ignore", invalid="ignore"):
        stockout = 0.0
        backorder_end = 0.0
        for k in order:
            w = np.where(demand > 0, m["demand_units"][..., k] / np.where(demand > 0, demand, 1.0),
                         1 / len(skus))  # fmt: skip
            stockout = stockout + w * m["stockout_rate"][..., k]
            backorder_end = backorder_end + w * m["p_backorder_end"][..., k]
    cash = port[..., 3] / days
    out = {
        "fill_rate": _ratio(t["served"], t["demand"]),
        "order_fill_rate": _ratio(t["complete"], t["orders"]),
        "stockout_rate": stockout,
        "any_stockout_rate": port[..., 2] / days,
        "p_backorder_end": backorder_end,
        "cycle_service_level": _ratio(t["cycles"] - t["cycles_short"], t["cycles"]),
        "avg_on_hand": t["on_hand_sum"],
        "avg_on_hand_time": t["area"] / days,
        "avg_backorders": t["backorders_sum"],
        "demand_units": t["demand"],
        "served_units": t["served"],
        "lost_units": t["lost"],
        "backordered_units": t["backordered"],
        "holding_cost": t["holding"],
        "ordering_cost": t["ordering"],
        "shortage_cost": t["shortage"],
        "expedite_cost": t["expedite"],
        "total_cost": total(m["total_cost"]) if scenario.overbuying
        else t["holding"] + t["ordering"] + t["shortage"] + t["expedite"],
        "cash_tied_up": cash,
        "cash_tied_up_peak": port[..., 0],
        "cash_in_pipeline": t["pipeline_sum"],
        "days_of_inventory": _ratio(cash, t["shipped_value"] / days),
        "orders_placed": t["placed"],
        "purchase_orders": np.round(t["pos"], 9),
        "avg_order_qty": _ratio(t["ordered"], t["placed"]),
        "customer_orders": t["orders"],
        "revenue": t["revenue"],
        "gross_margin": t["margin"],
        "cash_out": t["spent"],
        "working_capital_peak": port[..., 1],
        "days": np.full(port.shape[:2], days),
    }
    if scenario.overbuying:  # summed as replication_rows sums them: SKU id order, from 0
        out.update({name: total(m[name]) for name in OVERBUYING_METRICS})
    return out
