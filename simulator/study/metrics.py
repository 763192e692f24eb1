"""Per-run metrics and their summaries with confidence intervals.

Definitions follow ``docs/metrics.md``: ratios are ratios of sums
over the measured horizon (never means of daily ratios); costs are in the
scenario's currency; "days" are measured days (after the warm-up).

This module is a leaf: it turns the model's traces into flat rows (one dict
per replication × policy × SKU, plus the portfolio row ``sku = "ALL"``) and
turns tables of rows into summaries. It never runs the model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "DAILY_FIELDS",
    "ID_COLUMNS",
    "METRICS",
    "OVERBUYING_METRICS",
    "BANDS",
    "daily_bands",
    "daily_paths",
    "metrics_of",
    "paired_differences",
    "replication_rows",
    "summarize",
]

ID_COLUMNS = ("replication", "seed", "policy", "sku", "abc_class")
"""Provenance carried by every row."""

METRICS = (
    "fill_rate", "order_fill_rate", "stockout_rate", "any_stockout_rate", "p_backorder_end",
    "cycle_service_level", "avg_on_hand", "avg_on_hand_time", "avg_backorders",
    "demand_units", "served_units", "lost_units", "backordered_units",
    "holding_cost", "ordering_cost", "shortage_cost", "expedite_cost", "total_cost",
    "cash_tied_up", "cash_tied_up_peak", "cash_in_pipeline", "days_of_inventory",
    "orders_placed", "purchase_orders", "avg_order_qty", "customer_orders",
    "revenue", "gross_margin", "cash_out", "working_capital_peak", "days",
)  # fmt: skip
"""Metric columns of ``runs.parquet``, in order."""

OVERBUYING_METRICS = (
    "expired_units", "obsolete_units", "rejected_units", "write_off_cost",
    "leftover_units", "leftover_value", "leftover_cost", "excess_units_end",
    "goodwill_lost_units",
)  # fmt: skip
"""Extra columns of a scenario that uses an overbuying feature (docs/overbuying.md), after
``METRICS``. Other scenarios' tables keep exactly the columns of ``METRICS``."""


def metrics_of(runs: pd.DataFrame) -> tuple[str, ...]:
    """Return the metric columns of a runs table: ``METRICS``, then any overbuying ones."""
    return METRICS + tuple(m for m in OVERBUYING_METRICS if m in runs.columns)

DAILY_FIELDS = (
    "on_hand", "backorders", "cash_tied_up", "on_order", "cash_position", "inventory_position",
)  # fmt: skip
"""Daily paths kept for percentile bands."""

BANDS = (5, 25, 50, 75, 95)
"""Percentiles of the daily bands."""


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan



def _avg(path: np.ndarray) -> float:
    """Mean of a daily path: exactly ``path.mean()``, without its dispatch overhead."""
    return float(path.sum()) / path.size


def replication_rows(
    replication: int,
    seed: int,
    policy: str,
    traces: list,
    skus: list,
    classes: dict[str, str],
) -> list[dict[str, Any]]:
    """Rows for one replication × policy: one per SKU, then the portfolio row."""
    rows = []
    days = len(traces[0].on_hand)
    totals = dict.fromkeys(
        ("demand", "served", "backordered", "lost", "orders", "complete", "placed", "ordered",
         "holding", "ordering", "shortage", "expedite", "pipeline_sum", "shipped_value",
         "on_hand_sum", "backorders_sum", "area", "cycles", "cycles_short", "pos",
         "revenue", "margin", "spent"),
        0.0,
    )  # fmt: skip
    # Portfolio paths, summed over SKUs: stock value, stock + pipeline value, stockout days.
    value_path = capital_path = any_stockout = None
    extra_totals: dict[str, float] | None = None
    # Sum the portfolio in SKU id order, so it does not depend on the order of the file
    # to the last bit; the SKU rows keep the file's order.
    order = sorted(range(len(skus)), key=lambda k: skus[k].id)
    for k in order:
        tr, sku = traces[k], skus[k]
        value = tr.on_hand * sku.unit_cost
        value_sum = float(value.sum())
        backorder_sum = float(tr.backorders.sum())
        holding = value_sum * sku.holding_rate / 365
        ordering = tr.ordering_cost
        margin = max(sku.price - sku.unit_cost, 0.0)
        shortage = tr.lost_units * margin + backorder_sum * sku.backorder_cost_per_day
        if tr.extra is not None and tr.extra.get("goodwill_lost_units"):
            # Goodwill: the sales customers no longer made are lost sales too.
            shortage += tr.extra["goodwill_lost_units"] * margin
        expedite = tr.expedite_cost
        cogs_per_day = tr.shipped_units * sku.unit_cost / days
        cash = value_sum / days
        backordered_days = tr.backorders > 0
        capital = (tr.on_hand + tr.on_order) * sku.unit_cost
        shipped = float(tr.shipped.sum()) if tr.shipped is not None else tr.shipped_units
        revenue = shipped * sku.price
        margin = shipped * (sku.price - sku.unit_cost)
        spent = float(tr.spent.sum()) if tr.spent is not None else math.nan
        row = {
            "replication": replication,
            "seed": seed,
            "policy": policy,
            "sku": sku.id,
            "abc_class": classes[sku.id],
            "fill_rate": _ratio(tr.served_units, tr.demand_units),
            "order_fill_rate": _ratio(tr.complete_orders, tr.customer_orders),
            "stockout_rate": _avg(tr.stockout),
            "any_stockout_rate": _avg(tr.stockout),
            "p_backorder_end": _avg(backordered_days),
            "cycle_service_level": _ratio(tr.cycles - tr.cycles_short, tr.cycles),
            "avg_on_hand": _avg(tr.on_hand),
            "avg_on_hand_time": tr.on_hand_area / days,
            "avg_backorders": backorder_sum / days,
            "demand_units": tr.demand_units,
            "served_units": tr.served_units,
            "lost_units": tr.lost_units,
            "backordered_units": tr.backordered_units,
            "holding_cost": holding,
            "ordering_cost": ordering,
            "shortage_cost": shortage,
            "expedite_cost": expedite,
            "total_cost": holding + ordering + shortage + expedite,
            "cash_tied_up": cash,
            "cash_tied_up_peak": float(value.max()),
            "cash_in_pipeline": _avg(tr.on_order) * sku.unit_cost,
            "days_of_inventory": _ratio(cash, cogs_per_day),
            "orders_placed": float(tr.orders_placed),
            "purchase_orders": tr.purchase_orders,
            "avg_order_qty": _ratio(tr.ordered_units, tr.orders_placed),
            "customer_orders": float(tr.customer_orders),
            "revenue": revenue,
            "gross_margin": margin,
            "cash_out": spent,
            "working_capital_peak": float(capital.max()),
            "days": float(days),
        }
        if tr.extra is not None:
            _overbuying(row, tr.extra, sku)
            extra_totals = extra_totals or dict.fromkeys(OVERBUYING_METRICS, 0.0)
            for m in OVERBUYING_METRICS:
                extra_totals[m] += row[m]
        rows.append(row)
        t = totals
        t["demand"] += tr.demand_units
        t["served"] += tr.served_units
        t["backordered"] += tr.backordered_units
        t["lost"] += tr.lost_units
        t["orders"] += tr.customer_orders
        t["complete"] += tr.complete_orders
        t["placed"] += tr.orders_placed
        t["ordered"] += tr.ordered_units
        t["holding"] += holding
        t["ordering"] += ordering
        t["shortage"] += shortage
        t["expedite"] += expedite
        t["pipeline_sum"] += row["cash_in_pipeline"]
        t["shipped_value"] += tr.shipped_units * sku.unit_cost
        t["on_hand_sum"] += row["avg_on_hand"]
        t["backorders_sum"] += row["avg_backorders"]
        t["area"] += tr.on_hand_area
        t["cycles"] += tr.cycles
        t["cycles_short"] += tr.cycles_short
        t["pos"] += tr.purchase_orders
        t["revenue"] += revenue
        t["margin"] += margin
        t["spent"] += spent
        if value_path is None:
            value_path, any_stockout, capital_path = value, tr.stockout, capital
        else:
            value_path = value_path + value
            capital_path = capital_path + capital
            any_stockout = any_stockout | tr.stockout
    rows = [rows[order.index(k)] for k in range(len(skus))]
    if len(rows) == 1:  # one SKU: the portfolio is that SKU, the same numbers
        rows.append({**rows[0], "sku": "ALL", "abc_class": ""})
        return rows
    t = totals
    cash = _avg(value_path)
    # The headline rates are demand-weighted means of the SKUs' rates (the share of
    # SKU-days short, weighted by units demanded), so they do not grow with the number of
    # SKUs. Weights D_k / ΣD, summed in SKU id order: a SKU that has all the demand gets
    # weight exactly 1 and the portfolio its rate to the last bit.
    w = [rows[k]["demand_units"] / t["demand"] if t["demand"] > 0 else 1 / len(rows)
         for k in order]  # fmt: skip
    stockout = sum(wk * rows[k]["stockout_rate"] for wk, k in zip(w, order, strict=True))
    backorder_end = sum(wk * rows[k]["p_backorder_end"] for wk, k in zip(w, order, strict=True))
    rows.append(
        {
            "replication": replication,
            "seed": seed,
            "policy": policy,
            "sku": "ALL",
            "abc_class": "",
            "fill_rate": _ratio(t["served"], t["demand"]),
            "order_fill_rate": _ratio(t["complete"], t["orders"]),
            "stockout_rate": stockout,
            "any_stockout_rate": _avg(any_stockout),
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
            "total_cost": t["holding"] + t["ordering"] + t["shortage"] + t["expedite"],
            "cash_tied_up": cash,
            "cash_tied_up_peak": float(value_path.max()),
            "cash_in_pipeline": t["pipeline_sum"],
            "days_of_inventory": _ratio(cash, t["shipped_value"] / days),
            "orders_placed": t["placed"],
            "purchase_orders": round(t["pos"], 9),
            "avg_order_qty": _ratio(t["ordered"], t["placed"]),
            "customer_orders": t["orders"],
            "revenue": t["revenue"],
            "gross_margin": t["margin"],
            "cash_out": t["spent"],
            "working_capital_peak": float(capital_path.max()),
            "days": float(days),
        }
    )
    if extra_totals is not None:
        row = rows[-1]
        row.update(extra_totals)
        row["total_cost"] = sum(rows[k]["total_cost"] for k in order)
    return rows


def _overbuying(row: dict[str, Any], extra: dict[str, Any], sku: Any) -> None:
    """Add the overbuying measures to a SKU row; write-offs (and, if set, leftover) in cost.

    ``write_off_cost`` = expired units × unit cost + obsolete units × unit cost × (1 −
    salvage); ``leftover_value`` = on-hand at the end × unit cost; ``leftover_cost`` =
    that × (1 − salvage), counted in ``total_cost`` only with ``leftover.in_total_cost``.
    ``goodwill_lost_units`` (demand customers no longer placed after shortages) is charged
    at the unit margin in ``shortage_cost``, as lost sales are.
    """
    salvage = sku.salvage_value or 0.0
    cost = sku.unit_cost
    end = extra["on_hand_end"]
    row["expired_units"] = extra["expired_units"]
    row["obsolete_units"] = extra["obsolete_units"]
    row["rejected_units"] = extra["rejected_units"]
    row["write_off_cost"] = (
        extra["expired_units"] * cost + extra["obsolete_units"] * cost * (1 - salvage)
    )
    row["leftover_units"] = end
    row["leftover_value"] = end * cost
    row["leftover_cost"] = end * cost * (1 - salvage)
    after = extra["demand_after"]
    row["excess_units_end"] = max(end - after, 0.0) if math.isfinite(after) else math.nan
    row["goodwill_lost_units"] = extra.get("goodwill_lost_units", 0.0)  # (OVERBUYING_METRICS order)
    row["total_cost"] += row["write_off_cost"]
    if extra["leftover_in_total_cost"]:
        row["total_cost"] += row["leftover_cost"]


def daily_paths(traces: list, skus: list, per_sku: bool) -> dict[str, np.ndarray]:
    """Daily paths of one replication × policy: ``{sku: array[len(DAILY_FIELDS), days]}``.

    Portfolio ("ALL") units are summed across SKUs; per-SKU paths only when asked.
    With one SKU the portfolio is that SKU: only its paths are returned, once
    (:func:`daily_bands` labels them as the portfolio's too).
    """
    out: dict[str, np.ndarray] = {}
    total = None
    for tr, sku in zip(traces, skus, strict=True):
        cash = np.cumsum(tr.shipped * sku.price - tr.spent)
        position = tr.on_hand - tr.backorders + tr.on_order
        arr = np.stack([tr.on_hand, tr.backorders, tr.on_hand * sku.unit_cost, tr.on_order, cash,
                        position])
        total = arr if total is None else total + arr
        if per_sku:
            out[sku.id] = arr
    if not (per_sku and len(out) == 1):
        out["ALL"] = total
    return out


# --------------------------------------------------------------------------- summaries


def _t_ci(mean: float, sd: float, n: int) -> tuple[float, float]:
    if n < 2 or not np.isfinite(sd):
        return math.nan, math.nan
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half


def summarize(runs: pd.DataFrame, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Per policy × SKU × metric: n, mean, sd, 95 % CI of the mean, p5/p50/p95.

    ``metrics`` defaults to the table's own (:func:`metrics_of`).

    Replications where a ratio is undefined (no demand) are left out of that
    metric's statistics; ``n`` says how many were used.
    """
    metrics = metrics_of(runs) if metrics is None else metrics
    records = []
    policy_order = list(dict.fromkeys(runs["policy"]))
    sku_order = list(dict.fromkeys(runs["sku"]))
    for (policy, sku), g in runs.groupby(["policy", "sku"], sort=False):
        for m in metrics:
            x = g[m].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            n = x.size
            mean = float(x.mean()) if n else math.nan
            sd = float(x.std(ddof=1)) if n > 1 else math.nan
            lo, hi = _t_ci(mean, sd, n)
            p5, p50, p95 = np.percentile(x, [5, 50, 95]) if n else (math.nan,) * 3
            records.append(
                {
                    "policy": policy, "sku": sku, "metric": m, "n": n, "mean": mean, "sd": sd,
                    "ci_low": lo, "ci_high": hi, "p5": p5, "p50": p50, "p95": p95,
                }
            )  # fmt: skip
    out = pd.DataFrame.from_records(records)
    out["policy"] = pd.Categorical(out["policy"], policy_order)
    out["sku"] = pd.Categorical(out["sku"], sku_order)
    out = out.sort_values(["policy", "sku"], kind="stable").reset_index(drop=True)
    out["policy"] = out["policy"].astype(str)
    out["sku"] = out["sku"].astype(str)
    return out


def paired_differences(
    runs: pd.DataFrame, baseline: str, metrics: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Paired differences (policy − baseline) per SKU and metric, with 95 % CIs.

    ``metrics`` defaults to the table's own (:func:`metrics_of`).

    Pairs are the same replication (common random numbers), so the CI is that
    of the mean of per-replication differences. ``rel_*`` is the ratio of
    means minus one, with a delta-method CI (NaN when the baseline mean is 0).
    """
    metrics = metrics_of(runs) if metrics is None else metrics
    records = []
    base = runs[runs["policy"] == baseline].set_index(["sku", "replication"])
    for policy in dict.fromkeys(runs["policy"]):
        if policy == baseline:
            continue
        other = runs[runs["policy"] == policy].set_index(["sku", "replication"])
        joined = other[list(metrics)].join(base[list(metrics)].add_suffix("__base"), how="inner")
        for sku, g in joined.groupby(level="sku", sort=False):
            for m in metrics:
                x = g[m].to_numpy(dtype=float)
                b = g[f"{m}__base"].to_numpy(dtype=float)
                ok = np.isfinite(x) & np.isfinite(b)
                x, b = x[ok], b[ok]
                n = x.size
                d = x - b
                mean = float(d.mean()) if n else math.nan
                sd = float(d.std(ddof=1)) if n > 1 else math.nan
                lo, hi = _t_ci(mean, sd, n)
                rel, rlo, rhi = _relative(x, b)
                records.append(
                    {
                        "policy": policy, "baseline": baseline, "sku": sku, "metric": m,
                        "n": n, "mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi,
                        "rel_mean": rel, "rel_ci_low": rlo, "rel_ci_high": rhi,
                    }
                )  # fmt: skip
    # The columns even with no other policy than the baseline, so the file reads back.
    return pd.DataFrame.from_records(records, columns=DIFFERENCE_COLUMNS)


DIFFERENCE_COLUMNS = ("policy", "baseline", "sku", "metric", "n", "mean", "sd", "ci_low",
                      "ci_high", "rel_mean", "rel_ci_low", "rel_ci_high")
"""Columns of ``differences.csv``."""


def _relative(x: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """mean(x)/mean(b) − 1 with a paired delta-method 95 % CI."""
    n = x.size
    if n < 2 or b.mean() == 0:
        return math.nan, math.nan, math.nan
    r = x.mean() / b.mean()
    se = float(np.std(x - r * b, ddof=1)) / (math.sqrt(n) * abs(b.mean()))
    half = stats.t.ppf(0.975, n - 1) * se
    return r - 1, r - 1 - half, r - 1 + half


def daily_bands(
    stacks: dict[tuple[str, str], np.ndarray],
    samples: dict[tuple[str, str], np.ndarray],
    levels: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
    dates: pd.DatetimeIndex,
    portfolio: str | None = None,
) -> pd.DataFrame:
    """Daily percentile bands across replications per policy × SKU.

    ``stacks[(policy, sku)]`` is ``array[replications, len(DAILY_FIELDS), days]``;
    ``samples`` holds replication 0's path; ``levels`` the policy's reorder point
    and order-up-to level per day (NaN where none). ``portfolio`` names the one
    SKU of a one-SKU scenario, whose bands are the portfolio's ("ALL") too.
    """
    frames = []
    for (policy, sku), stack in stacks.items():
        days = stack.shape[-1]
        cols: dict[str, Any] = {
            "policy": policy,
            "sku": sku,
            "day": np.arange(days),
            "date": dates[:days],
        }
        pct = np.percentile(stack, BANDS, axis=0)  # [bands, fields, days]
        mean = stack.mean(axis=0)
        for f, name in enumerate(DAILY_FIELDS):
            for b, p in enumerate(BANDS):
                cols[f"{name}_p{p}"] = pct[b, f]
            cols[f"{name}_mean"] = mean[f]
            cols[f"{name}_sample"] = samples[(policy, sku)][f]
        rop, upto = levels.get((policy, sku), (np.full(days, np.nan), np.full(days, np.nan)))
        cols["reorder_point"] = rop
        cols["order_up_to"] = upto
        frames.append(pd.DataFrame(cols))
        if sku == portfolio:
            frames.append(frames[-1].assign(sku="ALL", reorder_point=np.nan, order_up_to=np.nan))
    return pd.concat(frames, ignore_index=True)
