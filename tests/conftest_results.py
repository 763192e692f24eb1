"""Build a small *synthetic* results folder in the exact results-folder contract.

The chart and report tests must not depend on the simulator core, so this helper
fakes a run: a tiny vectorised periodic-review inventory model (one loop over days,
all replications at once) produces daily paths for each policy x SKU, and from those
paths the per-replication metrics, the summary, the paired differences and the daily
percentile bands are derived exactly as the contract describes them. Common random
numbers hold: every policy sees the same demand and lead-time draws in a replication,
so the paired differences are tight, as in a real run.

Use ``build_results(tmp_path / "res")`` and point the code under test at the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["METRICS", "POLICIES", "build_results"]

POLICIES = ("jit", "safety_stock", "hybrid")

METRICS = (
    "fill_rate",
    "order_fill_rate",
    "stockout_rate",
    "any_stockout_rate",
    "p_backorder_end",
    "avg_on_hand",
    "avg_on_hand_time",
    "avg_backorders",
    "demand_units",
    "served_units",
    "lost_units",
    "backordered_units",
    "holding_cost",
    "ordering_cost",
    "shortage_cost",
    "expedite_cost",
    "total_cost",
    "cash_tied_up",
    "cash_tied_up_peak",
    "cash_in_pipeline",
    "days_of_inventory",
    "orders_placed",
    "avg_order_qty",
    "customer_orders",
    "days",
)

# id, class, supplier, unit cost, price, mean daily demand, lead time (days)
_SKU_TABLE = (
    ("VITC-60", "A", "overseas", 65.0, 150.0, 40.0, 6),
    ("ZINC-30", "B", "overseas", 40.0, 95.0, 15.0, 6),
    ("MAG-120", "C", "domestic", 90.0, 160.0, 4.0, 3),
    ("OMEGA-90", "A", "domestic", 120.0, 260.0, 20.0, 3),
)
_SUPPLIERS = {
    "overseas": {"lead_time": "gamma(mean 6, sd 1.5) days", "order_cost": 30.0},
    "domestic": {"lead_time": "normal(mean 3, sd 0.7) days", "order_cost": 12.0},
}
_DESCRIBED = {
    "jit": "Order every two days up to forecast cover; no buffer.",
    "safety_stock": "Reorder point with a z = 2.2 buffer all year; four-day lots.",
    "hybrid": "Lean base; buffers built ahead of known campaigns & outages.",
}
_HOLDING_RATE = 0.25
_BACKORDER_PENALTY = 1.5  # per unit-day
_REVIEW_DAYS = 2


def _default_calendar(horizon: int) -> list[dict]:
    """A campaign two-thirds through and a short supplier outage early on."""
    return [
        {
            "kind": "campaign",
            "start_day": horizon // 2,
            "end_day": horizon // 2 + 8,
            "label": "Spring promotion",
        },
        {
            "kind": "supplier_outage",
            "start_day": horizon // 6,
            "end_day": horizon // 6 + 3,
            "label": "overseas outage",
        },
    ]


def _policy_levels(policy: str, mu: float, lead: int, horizon: int, windows) -> tuple:
    """Reorder point and order-up-to per day for one policy and SKU (NaN = none)."""
    cover = mu * (lead + _REVIEW_DAYS)
    sigma = np.sqrt(mu * (lead + _REVIEW_DAYS) + (mu * lead / 4) ** 2)
    days = np.arange(horizon)
    if policy == "jit":
        s = np.full(horizon, np.nan)
        big_s = np.full(horizon, cover + 1.0 * sigma)
    elif policy == "safety_stock":
        s = np.full(horizon, cover + 2.2 * sigma)
        big_s = s + mu * 4
    else:  # hybrid: lean all year, buffers built ahead of known campaigns and outages
        s = np.full(horizon, cover + 1.0 * sigma)
        big_s = s + mu * _REVIEW_DAYS
        for start, end in windows:
            ahead = (days >= start - lead - _REVIEW_DAYS) & (days < end)
            s = np.where(ahead, s + mu * (end - start) * 0.6, s)
            big_s = np.where(ahead, big_s + mu * (end - start) * 0.8, big_s)
    return s, big_s


def _simulate(policy, sku, horizon, demand, leads, calendar, lost_sale):
    """Run the toy periodic-review model for all replications; return daily arrays."""
    _, _, supplier, _, _, mu, lead = sku
    reps = demand.shape[0]
    outages = [(w["start_day"], w["end_day"]) for w in calendar
               if w["kind"] != "campaign" and supplier == "overseas"]
    campaigns = [(w["start_day"], w["end_day"]) for w in calendar if w["kind"] == "campaign"]
    s, big_s = _policy_levels(policy, mu, lead, horizon, campaigns + outages)
    arrivals = np.zeros((reps, horizon + 40))
    on_hand = np.full(reps, big_s[0])
    backorders = np.zeros(reps)
    on_order = np.zeros(reps)
    out = {k: np.zeros((reps, horizon)) for k in ("on_hand", "backorders", "on_order",
                                                  "served", "short", "ordered")}
    rows = np.arange(reps)
    for t in range(horizon):
        if t % _REVIEW_DAYS == 0:
            ip = on_hand - backorders + on_order
            trigger = ip < big_s[t] if np.isnan(s[t]) else ip <= s[t]
            qty = np.where(trigger, np.ceil(np.maximum(big_s[t] - ip, 0.0)), 0.0)
            due = t + leads[:, t]
            for start, end in outages:  # held shipments land when the window ends
                due = np.where((due >= start) & (due < end), end, due)
            np.add.at(arrivals, (rows, due), qty)
            on_order += qty
            out["ordered"][:, t] = qty
        received = arrivals[:, t]
        on_order -= received
        to_backorders = np.minimum(received, backorders)
        backorders -= to_backorders
        on_hand += received - to_backorders
        served = np.minimum(on_hand, demand[:, t])
        on_hand -= served
        short = demand[:, t] - served
        if not lost_sale:
            backorders += short
        out["on_hand"][:, t] = on_hand
        out["backorders"][:, t] = backorders
        out["on_order"][:, t] = on_order
        out["served"][:, t] = served
        out["short"][:, t] = short
    out["reorder_point"], out["order_up_to"] = s, big_s
    return out


def _metrics(path, sku, horizon, lost_sale) -> dict[str, np.ndarray]:
    """Per-replication metrics for one policy x SKU from its daily arrays."""
    unit_cost, price = sku[3], sku[4]
    order_cost = _SUPPLIERS[sku[2]]["order_cost"]
    demand = (path["served"] + path["short"]).sum(axis=1)
    served = path["served"].sum(axis=1)
    short = path["short"].sum(axis=1)
    orders = (path["ordered"] > 0).sum(axis=1)
    fill = np.divide(served, demand, out=np.ones_like(served), where=demand > 0)
    avg_oh = path["on_hand"].mean(axis=1)
    holding = path["on_hand"].sum(axis=1) * unit_cost * _HOLDING_RATE / 365
    shortage = (short * (price - unit_cost) if lost_sale
                else path["backorders"].sum(axis=1) * _BACKORDER_PENALTY)
    cogs_per_day = served * unit_cost / horizon
    return {
        "fill_rate": fill,
        "order_fill_rate": fill**1.3,
        "stockout_rate": (path["short"] > 0).mean(axis=1),
        "any_stockout_rate": (path["short"] > 0).mean(axis=1),
        "p_backorder_end": (path["backorders"] > 0).mean(axis=1),
        "avg_on_hand": avg_oh,
        "avg_on_hand_time": avg_oh + path["served"].mean(axis=1) / 2,
        "avg_backorders": path["backorders"].mean(axis=1),
        "demand_units": demand,
        "served_units": served,
        "lost_units": short if lost_sale else np.zeros_like(short),
        "backordered_units": np.zeros_like(short) if lost_sale else short,
        "holding_cost": holding,
        "ordering_cost": orders * order_cost,
        "shortage_cost": shortage,
        "expedite_cost": np.zeros_like(short),
        "total_cost": holding + orders * order_cost + shortage,
        "cash_tied_up": avg_oh * unit_cost,
        "cash_tied_up_peak": path["on_hand"].max(axis=1) * unit_cost,
        "cash_in_pipeline": path["on_order"].mean(axis=1) * unit_cost,
        "days_of_inventory": avg_oh * unit_cost / np.maximum(cogs_per_day, 1e-9),
        "orders_placed": orders.astype(float),
        "avg_order_qty": path["ordered"].sum(axis=1) / np.maximum(orders, 1),
        "customer_orders": np.round(demand / 3.0),
        "days": np.full(demand.shape, float(horizon)),
    }


def _portfolio(per_sku: list[dict], paths: list[dict], skus, horizon) -> dict:
    """Portfolio (ALL) metrics: sums of units, costs and cash; ratios recomputed."""
    total = {m: sum(d[m] for d in per_sku) for m in METRICS}
    total["fill_rate"] = total["served_units"] / total["demand_units"]
    total["order_fill_rate"] = (sum(d["order_fill_rate"] * d["customer_orders"]
                                    for d in per_sku) / total["customer_orders"])
    # Headline rates: demand-weighted means of the SKUs' rates; "any SKU" days apart.
    for m in ("stockout_rate", "p_backorder_end"):
        total[m] = sum(d[m] * d["demand_units"] for d in per_sku) / total["demand_units"]
    total["any_stockout_rate"] = np.any([p["short"] > 0 for p in paths], axis=0).mean(axis=1)
    cogs = sum(d["served_units"] * s[3] for d, s in zip(per_sku, skus, strict=True)) / horizon
    total["days_of_inventory"] = total["cash_tied_up"] / cogs
    value = sum(p["on_hand"] * s[3] for p, s in zip(paths, skus, strict=True))
    total["cash_tied_up_peak"] = value.max(axis=1)
    total["avg_order_qty"] = (sum(d["avg_order_qty"] * d["orders_placed"] for d in per_sku)
                              / np.maximum(total["orders_placed"], 1))
    total["days"] = np.full(len(total["days"]), float(horizon))
    return total


def _ci(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, sd and t-based 95 % CI of the mean."""
    n = len(values)
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else 0.0
    return mean, sd, mean - half, mean + half


def _summaries(runs: pd.DataFrame, policies) -> tuple[pd.DataFrame, pd.DataFrame]:
    """summary.csv and differences.csv frames from runs, in the contract's columns."""
    summary, diffs = [], []
    baseline = policies[0]
    for (policy, sku), grp in runs.groupby(["policy", "sku"], sort=False):
        for m in METRICS:
            v = grp[m].to_numpy(float)
            mean, sd, lo, hi = _ci(v)
            p5, p50, p95 = np.percentile(v, [5, 50, 95])
            summary.append(dict(policy=policy, sku=sku, metric=m, n=len(v), mean=mean, sd=sd,
                                ci_low=lo, ci_high=hi, p5=p5, p50=p50, p95=p95))
    base = runs[runs["policy"] == baseline].set_index(["sku", "replication"])
    for (policy, sku), grp in runs[runs["policy"] != baseline].groupby(["policy", "sku"],
                                                                         sort=False):
        ref = base.loc[sku].loc[grp["replication"]]
        for m in METRICS:
            d = grp[m].to_numpy(float) - ref[m].to_numpy(float)
            mean, sd, lo, hi = _ci(d)
            bmean = float(ref[m].mean())
            rel = ((mean / bmean, lo / bmean, hi / bmean) if bmean != 0
                   else (np.nan, np.nan, np.nan))
            diffs.append(dict(policy=policy, baseline=baseline, sku=sku, metric=m, n=len(d),
                              mean=mean, sd=sd, ci_low=lo, ci_high=hi, rel_mean=rel[0],
                              rel_ci_low=rel[1], rel_ci_high=rel[2]))
    return pd.DataFrame(summary), pd.DataFrame(diffs)


def _bands(prefix: str, paths: np.ndarray) -> dict[str, np.ndarray]:
    """Daily percentile bands, mean and replication 0's sample path of one quantity."""
    q = np.percentile(paths, [5, 25, 50, 75, 95], axis=0)
    cols = {f"{prefix}_p{p}": q[i] for i, p in enumerate((5, 25, 50, 75, 95))}
    cols[f"{prefix}_mean"] = paths.mean(axis=0)
    cols[f"{prefix}_sample"] = paths[0]
    return cols


def build_results(
    folder: Path,
    *,
    policies: tuple[str, ...] = POLICIES,
    n_skus: int = 3,
    replications: int = 40,
    horizon: int = 60,
    seed: int = 20261127,
    description: str = "Synthetic catalogue for chart and report tests.",
    unmet_demand: str = "backorder",
    calendar: list[dict] | None = None,
) -> Path:
    """Write a complete synthetic results folder and return its path.

    Args:
        folder: Folder to create (parents too); files inside are overwritten.
        policies: Policy names in run order; the first is the baseline. Each name
            must be one of ``jit``, ``safety_stock``, ``hybrid``.
        n_skus: Number of SKUs, 1 to 4.
        replications: Replications per policy.
        horizon: Measured days.
        seed: Root seed of the synthetic demand and lead times.
        description: Scenario description (free text, e.g. to test escaping).
        unmet_demand: ``"backorder"`` or ``"lost_sale"``.
        calendar: Calendar windows; default a campaign and a supplier outage.

    Returns:
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    skus = _SKU_TABLE[:n_skus]
    calendar = _default_calendar(horizon) if calendar is None else calendar
    lost_sale = unmet_demand == "lost_sale"
    start = pd.Timestamp("2026-03-02")
    root = np.random.SeedSequence(seed)
    children = root.spawn(replications)
    rep_seeds = [int(c.generate_state(1)[0]) for c in children]
    # Common random numbers: one demand and one lead-time stream per SKU and replication,
    # shared by every policy.
    uplift = np.ones(horizon)
    for w in calendar:
        if w["kind"] == "campaign":
            uplift[w["start_day"]:w["end_day"]] = 2.0
    draws = []
    for k, sku in enumerate(skus):
        gens = [np.random.default_rng(c.spawn(len(skus))[k]) for c in children]
        demand = np.stack([g.poisson(sku[5] * uplift) for g in gens]).astype(float)
        leads = np.stack([np.maximum(1, np.round(g.gamma(16.0, sku[6] / 16.0, horizon)))
                          for g in gens]).astype(int)
        draws.append((demand, leads))

    run_rows, daily_frames = [], []
    for policy in policies:
        paths = [_simulate(policy, sku, horizon, d, lt, calendar, lost_sale)
                 for sku, (d, lt) in zip(skus, draws, strict=True)]
        per_sku = [_metrics(p, s, horizon, lost_sale) for p, s in zip(paths, skus, strict=True)]
        tables = [(s[0], s[1], m) for s, m in zip(skus, per_sku, strict=True)]
        tables.append(("ALL", "", _portfolio(per_sku, paths, skus, horizon)))
        for sku_id, abc, m in tables:
            frame = pd.DataFrame(m)
            frame.insert(0, "abc_class", abc)
            frame.insert(0, "sku", sku_id)
            frame.insert(0, "policy", policy)
            frame.insert(0, "seed", rep_seeds)
            frame.insert(0, "replication", np.arange(replications))
            run_rows.append(frame)
        value_paths = [p["on_hand"] * s[3] for p, s in zip(paths, skus, strict=True)]
        cash_paths = [np.cumsum(p["served"] * s[4] - p["ordered"] * s[3], axis=1)
                      for p, s in zip(paths, skus, strict=True)]
        series = [(s[0], p, v, c)
                  for s, p, v, c in zip(skus, paths, value_paths, cash_paths, strict=True)]
        series.append(("ALL", {k: sum(p[k] for p in paths)
                               for k in ("on_hand", "backorders", "on_order")},
                       sum(value_paths), sum(cash_paths)))
        for sku_id, p, value, cash in series:
            cols = {"policy": policy, "sku": sku_id, "day": np.arange(horizon),
                    "date": start + pd.to_timedelta(np.arange(horizon), unit="D")}
            for name in ("on_hand", "backorders", "on_order"):
                cols |= _bands(name, p[name])
            cols |= _bands("cash_tied_up", value)
            cols |= _bands("cash_position", cash)
            cols["reorder_point"] = p.get("reorder_point", np.full(horizon, np.nan))
            cols["order_up_to"] = p.get("order_up_to", np.full(horizon, np.nan))
            daily_frames.append(pd.DataFrame(cols))

    runs = pd.concat(run_rows, ignore_index=True)
    runs["replication"] = runs["replication"].astype("int64")
    runs["seed"] = runs["seed"].astype("int64")
    daily = pd.concat(daily_frames, ignore_index=True)
    summary, differences = _summaries(runs, policies)
    runs.to_parquet(folder / "runs.parquet", index=False)
    daily.to_parquet(folder / "daily.parquet", index=False)
    summary.to_csv(folder / "summary.csv", index=False)
    differences.to_csv(folder / "differences.csv", index=False)

    metadata = {
        "scenario": "synthetic-catalogue",
        "description": description,
        "seed": seed,
        "replications": replications,
        "policies": list(policies),
        "baseline": policies[0],
        "horizon_days": horizon,
        "warmup_days": 0,
        "start_date": start.date().isoformat(),
        "unmet_demand": unmet_demand,
        "currency": "$",
        "backend": "serial",
        "workers": 1,
        "wall_time_s": 1.23,
        "scenario_hash": "sha256:0f3c9a1e5d",
        "command": f"supplysim run synthetic.yaml --replications {replications} --seed {seed}",
        "created": "2026-03-01T12:00:00+00:00",
        "versions": {"supplysim": "0.1.0", "python": "3.11.7", "numpy": np.__version__,
                     "pandas": pd.__version__},
        "skus": [{"id": s[0], "abc_class": s[1], "supplier": s[2], "unit_cost": s[3],
                  "price": s[4]} for s in skus],
        "suppliers": {k: v for k, v in _SUPPLIERS.items() if any(s[2] == k for s in skus)},
        "calendar": calendar,
    }
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    policy_text = "".join(f"  {p}:\n    type: {p}\n    description: {json.dumps(_DESCRIBED[p])}\n"
                          for p in policies)
    (folder / "scenario.yaml").write_text(
        f"name: synthetic-catalogue\ndescription: {json.dumps(description)}\n"
        f"horizon_days: {horizon}\nreplications: {replications}\nseed: {seed}\n"
        f"policies:\n{policy_text}",
        encoding="utf-8",
    )
    return folder
