"""The self-contained HTML report of a results folder.

:func:`build_report` writes ``report.html``: one page that opens offline and can be
mailed as a single file. Charts are PNGs embedded as base64 ``data:`` URIs, the CSS is
inline, there is no JavaScript, and a Content-Security-Policy forbids the page from
loading anything at all, so it cannot leak a request when opened.

The page holds: the scenario in plain words, one finding per non-baseline policy
(from the paired differences), the cheapest policy, the summary table, every chart
with a caption, the definition of every metric, and what is needed to reproduce the
run. All text that comes from the scenario or metadata is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import math
import os
import struct
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.present.plots import charts_for, make_figures, policy_colors
from simulator.study.results import load

__all__ = ["CAPTIONS", "METRIC_DEFINITIONS", "SUMMARY_METRICS", "build_report", "plan_html"]

#: Definition of every metric, mirroring the metrics table of DESIGN.md.
METRIC_DEFINITIONS = {
    "fill_rate": "Units served from stock at the moment they were demanded ÷ units "
    "demanded (type 2 service level).",
    "order_fill_rate": "Customer orders shipped complete from stock on arrival ÷ "
    "customer orders.",
    "stockout_rate": "Days on which some demand was not served from stock at once ÷ days; "
    "portfolio: the SKUs' rates weighted by their units demanded.",
    "any_stockout_rate": "Days on which any SKU had demand not served from stock at once "
    "÷ days (grows with the number of SKUs).",
    "p_backorder_end": "Days ending with backorders > 0 ÷ days; portfolio: weighted by "
    "units demanded.",
    "cycle_service_level": "Replenishment cycles (each receipt ends one) in which "
    "no demand went unmet ÷ cycles: what a service-level target aims at.",
    "avg_on_hand": "Mean end-of-day on-hand units.",
    "avg_on_hand_time": "Time-weighted mean on-hand units over the day.",
    "avg_backorders": "Mean end-of-day backordered units.",
    "demand_units": "Units demanded.",
    "served_units": "Units served from stock at once.",
    "lost_units": "Units lost (unmet demand under the lost-sale rule).",
    "backordered_units": "Units that had to wait (unmet demand under the backorder rule).",
    "holding_cost": "Σ over days of end-of-day on-hand × unit cost × annual holding rate "
    "÷ 365.",
    "ordering_cost": "Σ over purchase orders of the supplier's order cost (split equally "
    "over the order's SKU lines) + its line cost per line.",
    "shortage_cost": "Lost units × lost margin (price − unit cost) + backorder unit-days "
    "× backorder penalty.",
    "expedite_cost": "Premium paid for units bought from a backup (expedite) supplier.",
    "total_cost": "Holding + ordering + shortage cost (+ expediting premium where used).",
    "cash_tied_up": "Mean end-of-day inventory value (on-hand × unit cost).",
    "cash_tied_up_peak": "Maximum end-of-day inventory value (on-hand × unit cost).",
    "cash_in_pipeline": "Mean value of on-order stock (on-order × unit cost), when paid "
    "at order.",
    "days_of_inventory": "Mean on-hand value ÷ cost of goods sold per day.",
    "orders_placed": "Order lines placed (a SKU's orders; several SKUs share one purchase "
    "order).",
    "purchase_orders": "Purchase orders: one per supplier per review (portfolio); a SKU's "
    "share is 1 ÷ the lines of each order it is on.",
    "avg_order_qty": "Mean size of an order line, in units.",
    "revenue": "Units shipped to customers (from stock or to backorders) × price.",
    "gross_margin": "Units shipped × (price − unit cost).",
    "cash_out": "Cash spent on buying: stock at unit cost (+ any premium) when paid (at "
    "order, or on receipt with pay_on_receipt) + order costs.",
    "working_capital_peak": "Peak over days of stock plus pipeline (on-hand + on-order) "
    "at unit cost; portfolio: the peak of the sum.",
    "customer_orders": "Customer orders received.",
    "days": "Measured days (after the warm-up).",
}

_INTRO_DEFINITIONS = (
    "All metrics are per replication, policy and SKU, measured after the warm-up. Ratios "
    "are ratios of sums over the horizon, never means of daily ratios. Portfolio rows "
    "(all SKUs) sum units, costs and cash and recompute the ratios from the sums."
)

#: Rows of the summary table: metric, label, kind (how to format).
SUMMARY_METRICS = (
    ("fill_rate", "Fill rate (type 2)", "ratio"),
    ("order_fill_rate", "Order fill rate", "ratio"),
    ("stockout_rate", "Stockout rate (share of days)", "ratio"),
    ("p_backorder_end", "Days ending with backorders", "ratio"),
    ("cycle_service_level", "Cycle service level", "ratio"),
    ("total_cost", "Total cost", "money"),
    ("holding_cost", "Holding cost", "money"),
    ("ordering_cost", "Ordering cost", "money"),
    ("shortage_cost", "Shortage cost", "money"),
    ("expedite_cost", "Expediting premium", "money"),
    ("cash_tied_up", "Cash tied up (mean)", "money"),
    ("cash_tied_up_peak", "Cash tied up (peak)", "money"),
    ("days_of_inventory", "Days of inventory", "days"),
    ("purchase_orders", "Purchase orders placed", "count"),
    ("orders_placed", "Order lines", "count"),
    ("revenue", "Revenue", "money"),
    ("gross_margin", "Gross margin", "money"),
    ("working_capital_peak", "Working capital (peak)", "money"),
)

#: Chart title and reading guide, per figure name.
CAPTIONS = {
    "tradeoff": (
        "Trade-off: cash and cost against stockout risk",
        "Each large dot is a policy's mean over all replications with its 95 % confidence "
        "interval on both axes; the faint dots are single replications, the range one "
        "season could land in. Lower left is better on both panels: less cash or cost "
        "and fewer stockout days.",
    ),
    "distributions": (
        "Spread across replications",
        "Box plots of four portfolio metrics across replications: the box holds the "
        "middle 50 % of replications, the line is the median, the diamond the mean and "
        "the whiskers reach 1.5 box-lengths. Overlapping boxes do not mean the policies "
        "are equal: the paired differences chart compares them replication by "
        "replication.",
    ),
    "inventory": (
        "Inventory over time",
        "One panel per policy on shared axes. The line is the median end-of-day "
        "inventory across replications, the darker band holds the middle 50 % and the "
        "lighter band 90 % of replications; the thin dark line is one replication as it "
        "happened. Shaded windows are campaigns (yellow) and supply disruptions (grey, "
        "hatched).",
    ),
    "cash_over_time": (
        "Cash tied up over time",
        "Inventory value at cost of all SKUs, per policy: median (line), middle 50 % of "
        "replications (shaded) and middle 90 % (dashed). Where bands of two policies "
        "overlap, a single season could show either ordering.",
    ),
    "cash_position": (
        "Cash position over time",
        "Sales revenue less cash spent on buying stock (at unit cost when paid, and order "
        "costs), summed from day 0, all SKUs. A buffer shows as cash spent early and "
        "earned back later; lost sales show as revenue never earned. Bands as above.",
    ),
    "cost_breakdown": (
        "Cost breakdown",
        "Mean cost per replication of all SKUs, split into holding, ordering and "
        "shortage cost (and the expediting premium when a policy used a backup "
        "supplier); the total is written above each bar.",
    ),
    "differences": (
        "Paired differences against the baseline",
        "For each policy, its value minus the baseline's in the same replication (same "
        "demand, same lead times), averaged, with a 95 % confidence interval. An interval "
        "that does not cross the zero line is a difference the replications resolve. "
        "Rates are in percentage points, money in the run's currency, with the relative "
        "change in brackets.",
    ),
    "abc_classes": (
        "Catalogue by ABC class",
        "Fill rate and cash tied up per ABC class (A: the SKUs making most of the "
        "expected revenue) for each policy, mean across replications with 95 % "
        "confidence intervals. The fill-rate axis does not start at zero.",
    ),
    "sku_heatmap": (
        "Fill rate by SKU",
        "Mean fill rate of every SKU under every policy; darker cells are lower fill "
        "rates. SKUs are sorted by ABC class, then by expected revenue, so the rows that "
        "matter most are at the top.",
    ),
}

_CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --line: #d9d9de; --soft: #f5f6f8; }
* { box-sizing: border-box; }
body { font: 15px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.9em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.35em; margin: 1.8em 0 0.5em; padding-bottom: 0.2em;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
.lede { font-size: 1.1em; color: var(--muted); margin: 0.2em 0 0.6em; }
.meta { color: var(--muted); font-size: 0.9em; }
nav ol { columns: 2; padding-left: 1.2em; margin: 0.5em 0; }
nav a { color: #0b57d0; text-decoration: none; }
ul.findings li { margin: 0.4em 0; }
.policy { font-weight: 600; }
.note { color: var(--muted); font-size: 0.9em; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.6em 0 0.4em; font-size: 0.92em; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { background: var(--soft); border-bottom: 2px solid var(--line); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num small { display: block; color: var(--muted); font-size: 0.82em; }
table.summary th[scope=row] { font-weight: 500; white-space: nowrap; }
figure { margin: 1.4em 0 2em; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { margin-top: 0.5em; color: var(--ink); font-size: 0.93em; }
figcaption strong { display: block; font-size: 1.05em; margin-bottom: 0.15em; }
table.defs th[scope=row] { white-space: nowrap; font-weight: normal; }
pre, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 0.88em; }
pre { background: var(--soft); padding: 10px 12px; overflow-x: auto;
  white-space: pre-wrap; word-break: break-word; border-radius: 4px; }
footer { margin-top: 3em; color: var(--muted); font-size: 0.85em; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure, table.summary, tr, pre, .finding { break-inside: avoid;
    page-break-inside: avoid; }
  figure img { border: none; }
  a { color: inherit; text-decoration: none; }
}
@page { margin: 14mm; }
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# --------------------------------------------------------------------------- formatting


def _e(value: Any) -> str:
    """HTML-escape any value as text."""
    return html.escape(str(value), quote=True)


def _decimals(value: float, sig: int = 2) -> int:
    """Decimals that show ``value`` to about ``sig`` significant figures (none if large)."""
    if not math.isfinite(value) or value == 0:
        return 0
    return max(0, sig - 1 - math.floor(math.log10(abs(value))))


def _num(value: float, decimals: int) -> str:
    """Format a number with thousands separators and a true minus sign."""
    return f"{value:,.{decimals}f}".replace("-", "−")


def _money(value: float, currency: str, decimals: int | None = None) -> str:
    """Format an amount: whole units from 100 up, cents below; symbol or code."""
    if not math.isfinite(value):
        return "–"
    if decimals is None:
        decimals = 0 if abs(value) >= 100 else 2
    body = _num(abs(value), decimals)
    sign = "−" if value < 0 else ""
    return f"{sign}{currency}{body}" if len(currency) <= 1 else f"{sign}{body} {currency}"


def _format(value: float, kind: str, currency: str, money_decimals: int | None = None) -> str:
    """Format one value of a summary metric by its kind."""
    if not math.isfinite(value):
        return "–"
    if kind == "ratio":
        return _pct(value)
    if kind == "money":
        return _money(value, currency, money_decimals)
    if kind == "days":
        return f"{_num(value, 1)} d"
    return _num(value, 1)


def _pct(ratio: float) -> str:
    """Format a ratio as a percentage; 99.96 % is not rounded up to a perfect 100.0 %."""
    if 0.9999 < ratio < 1:
        return "> 99.99 %"
    if 0 < ratio < 0.0001:
        return "< 0.01 %"
    decimals = 2 if 0.999 < ratio < 1 or 0 < ratio < 0.001 else 1
    return f"{_num(ratio * 100, decimals)} %"


def _date_text(day: date) -> str:
    """Write a date in plain words, e.g. ``1 Apr 2026``."""
    return f"{day.day} {day.strftime('%b %Y')}"


def _policy(name: str, colors: Mapping[str, str]) -> str:
    """Show a policy name in its chart colour (escaped)."""
    color = colors.get(name, "inherit")
    return f'<span class="policy" style="color:{color}">{_e(name)}</span>'


# ------------------------------------------------------------------------------ sections


def _policy_descriptions(scenario_yaml: str) -> dict[str, str]:
    """Each policy's ``description`` from the resolved scenario, where it has one."""
    try:
        import yaml

        policies = (yaml.safe_load(scenario_yaml) or {}).get("policies") or {}
    except Exception:  # the report must not fail on an unreadable scenario text
        return {}
    if not isinstance(policies, dict):
        return {}
    return {str(name): str(spec["description"]) for name, spec in policies.items()
            if isinstance(spec, dict) and spec.get("description")}


def _scenario_section(meta: Mapping[str, Any], colors: Mapping[str, str],
                      scenario_yaml: str = "") -> str:
    """Describe the scenario in plain words."""
    horizon = int(meta.get("horizon_days", 0))
    warmup = int(meta.get("warmup_days", 0) or 0)
    start = date.fromisoformat(str(meta["start_date"])[:10]) if meta.get("start_date") else None
    parts = []
    if start is not None:
        end = start + timedelta(days=max(horizon - 1, 0))
        period = f"{horizon} days, from {_date_text(start)} to {_date_text(end)}"
    else:
        period = f"{horizon} days"
    warm = (f" after a warm-up of {warmup} days that is simulated but not measured"
            if warmup else ", with no warm-up")
    parts.append(f"<p>The simulation covers {_e(period)}{_e(warm)}.</p>")

    skus = meta.get("skus") or []
    classes = pd.Series([s.get("abc_class", "") for s in skus]).value_counts()
    by_class = ", ".join(f"{n} in class {_e(c)}" for c, n in sorted(classes.items()) if c)
    names = ", ".join(_e(s["id"]) for s in skus[:12])
    if len(skus) > 12:
        names += f" and {len(skus) - 12} more"
    if skus:
        parts.append(f"<p>The catalogue has {len(skus)} SKU{'s' if len(skus) != 1 else ''}"
                     f"{f' ({by_class})' if by_class and len(skus) > 1 else ''}: {names}.</p>")

    suppliers = meta.get("suppliers") or {}
    if suppliers:
        currency = meta.get("currency", "$")
        items = []
        for name, sup in suppliers.items():
            served = [s["id"] for s in skus if s.get("supplier") == name]
            cost = sup.get("order_cost")
            text = f"<li><strong>{_e(name)}</strong>: lead time {_e(sup.get('lead_time', '?'))}"
            if cost is not None:
                cost = float(cost)
                text += f", {_e(_money(cost, currency, 0 if cost.is_integer() else 2))} per order"
            if served:
                shown = ", ".join(served[:8])
                if len(served) > 8:
                    shown += f" and {len(served) - 8} more"
                text += f"; supplies {_e(shown)}"
            items.append(text + ".</li>")
        parts.append("<p>Suppliers:</p><ul>" + "".join(items) + "</ul>")

    calendar = meta.get("calendar") or []
    if calendar:
        rows = []
        for w in calendar:
            first, last = int(w["start_day"]), int(w["end_day"]) - 1  # end is exclusive
            when = f"days {first}–{last}"
            if start is not None:
                when = (f"{_date_text(start + timedelta(days=first))} – "
                        f"{_date_text(start + timedelta(days=last))} ({when})")
            kind = str(w.get("kind", "")).replace("_", " ")
            rows.append(f"<tr><td>{_e(kind.capitalize())}</td><td>{_e(w.get('label', ''))}"
                        f"</td><td>{_e(when)}</td></tr>")
        parts.append('<p>Calendar of known events:</p><div class="table-wrap"><table>'
                     "<thead><tr><th>Kind</th><th>Label</th><th>When</th></tr></thead>"
                     f"<tbody>{''.join(rows)}</tbody></table></div>")
    else:
        parts.append("<p>No campaigns or scheduled disruptions are in the calendar.</p>")

    if meta.get("unmet_demand") == "lost_sale":
        rule = "Demand that cannot be served from stock is lost (lost sale)."
    else:
        rule = ("Demand that cannot be served from stock is backordered and shipped, "
                "first in first out, when stock arrives.")
    parts.append(f"<p>{rule}</p>")

    policies = list(meta.get("policies") or [])
    baseline = meta.get("baseline") or (policies[0] if policies else "")
    listed = ", ".join(_policy(p, colors) + (" (baseline)" if p == baseline else "")
                       for p in policies)
    reps = meta.get("replications", "?")
    parts.append(
        f"<p>Each of the {len(policies)} policies ({listed}) was run on the same {_e(reps)} "
        "replications: every policy sees the same demand and lead-time draws in a "
        "replication (common random numbers), so differences between policies are paired. "
        f"Root seed {_e(meta.get('seed', '?'))}.</p>"
    )
    described = _policy_descriptions(scenario_yaml)
    if described:
        items = "".join(f"<li>{_policy(p, colors)}: {_e(described[p])}</li>"
                        for p in policies if p in described)
        parts.append(f"<p>The policies:</p><ul>{items}</ul>")
    return "".join(parts)


def _phrase(mean: float, lo: float, hi: float, num, unit: str, more: str, less: str):
    """Put a signed difference and its 95 % CI into words.

    Args:
        mean: Mean difference.
        lo: Lower CI bound.
        hi: Upper CI bound.
        num: Formats a non-negative magnitude.
        unit: Suffix after a magnitude (e.g. ``" %"``), may be empty.
        more: Word(s) for a positive difference ("more", "points higher").
        less: Word(s) for a negative difference.

    Returns:
        ``(head, interval)``, e.g. ``("38 % less", "[95 % CI 35–41 %]")``.

    """
    if lo >= 0:
        return f"{num(mean)}{unit} {more}", f"[95 % CI {num(lo)}–{num(hi)}{unit}]"
    if hi <= 0:
        return f"{num(-mean)}{unit} {less}", f"[95 % CI {num(-hi)}–{num(-lo)}{unit}]"
    head = f"{num(abs(mean))}{unit} {more if mean >= 0 else less}"
    return head, (f"[95 % CI {num(-lo)}{unit} {less} to {num(hi)}{unit} {more}; "
                  "not distinguishable from no difference]")


def _diff_row(diffs: pd.DataFrame, policy: str, metric: str) -> pd.Series | None:
    """Return the portfolio difference row of a policy and metric, if present."""
    row = diffs[(diffs["policy"] == policy) & (diffs["sku"] == "ALL")
                & (diffs["metric"] == metric)]
    return row.iloc[0] if len(row) else None


def _relative_phrase(row: pd.Series, currency: str) -> tuple[str, str]:
    """Relative difference in % when the baseline is non-zero, else absolute money."""
    rel = [float(row.get(k, math.nan)) for k in ("rel_mean", "rel_ci_low", "rel_ci_high")]
    if all(math.isfinite(v) for v in rel):
        d = _decimals(rel[0] * 100)
        return _phrase(rel[0] * 100, rel[1] * 100, rel[2] * 100,
                       lambda v: _num(v, d), " %", "more", "less")
    d = 0 if abs(float(row["mean"])) >= 100 else 2
    return _phrase(float(row["mean"]), float(row["ci_low"]), float(row["ci_high"]),
                   lambda v: _money(v, currency, d), "", "more", "less")


def _finding(diffs: pd.DataFrame, policy: str, baseline: str, currency: str,
             colors: Mapping[str, str]) -> str:
    """One sentence comparing a policy with the baseline on cash, fill rate and cost."""
    clauses = []
    cash = _diff_row(diffs, policy, "cash_tied_up")
    if cash is not None:
        head, ci = _relative_phrase(cash, currency)
        clauses.append(f"ties up {_e(head)} cash than {_policy(baseline, colors)} {_e(ci)}")
    fill = _diff_row(diffs, policy, "fill_rate")
    if fill is not None:
        m, lo, hi = (float(fill[k]) * 100 for k in ("mean", "ci_low", "ci_high"))
        d = max(1, _decimals(m))
        head, ci = _phrase(m, lo, hi, lambda v: _num(v, d), "", "points higher",
                           "points lower")
        clauses.append(f"with a fill rate {_e(head)} {_e(ci)}")
    cost = _diff_row(diffs, policy, "total_cost")
    if cost is not None:
        head, ci = _relative_phrase(cost, currency)
        clauses.append(f"and costs {_e(head)} in total {_e(ci)}")
    if not clauses:
        return ""
    return f'<li class="finding">{_policy(policy, colors)} {", ".join(clauses)}.</li>'


def _findings(res: Any, colors: Mapping[str, str]) -> str:
    """One sentence per non-baseline policy, then the cheapest policy."""
    meta = res.metadata
    currency = meta.get("currency", "$")
    policies = list(meta.get("policies") or [])
    baseline = meta.get("baseline") or (policies[0] if policies else "")
    items = [_finding(res.differences, p, baseline, currency, colors)
             for p in policies if p != baseline]
    items = [i for i in items if i]
    parts = []
    if items:
        parts.append(
            f"<p>Each policy against the baseline, {_policy(baseline, colors)}, over all SKUs, "
            "paired by replication (mean difference and 95 % confidence interval; fill-rate "
            "differences in percentage points):</p>"
            f'<ul class="findings">{"".join(items)}</ul>'
        )
    parts.append(_cheapest(res, colors))
    return "".join(parts)


def _cheapest(res: Any, colors: Mapping[str, str]) -> str:
    """Name the policy with the lowest mean total cost and whether its CI overlaps."""
    currency = res.metadata.get("currency", "$")
    s = res.summary
    cost = s[(s["sku"] == "ALL") & (s["metric"] == "total_cost")].set_index("policy")
    if cost.empty:
        return ""
    best = str(cost["mean"].idxmin())
    b = cost.loc[best]
    text = (f"<p>{_policy(best, colors)} has the lowest mean total cost, "
            f"{_e(_money(b['mean'], currency))} per replication [95 % CI "
            f"{_e(_money(b['ci_low'], currency))}–{_e(_money(b['ci_high'], currency))}]")
    fill = s[(s["sku"] == "ALL") & (s["metric"] == "fill_rate") & (s["policy"] == best)]
    if len(fill):
        text += f", at a fill rate of {_pct(float(fill['mean'].iloc[0]))}"
    others = cost.drop(index=best)
    overlap = [p for p, r in others.iterrows()
               if r["ci_low"] <= b["ci_high"] and r["ci_high"] >= b["ci_low"]]
    if others.empty:
        return text + ".</p>"
    if overlap:
        names = ", ".join(_policy(str(p), colors) for p in overlap)
        text += (f". Its confidence interval overlaps that of {names}, so the ranking "
                 "between them is not settled by the intervals alone; the paired "
                 "differences above are the sharper comparison.</p>")
    else:
        text += ". Its confidence interval does not overlap any other policy's.</p>"
    return text


def _summary_table(res: Any, colors: Mapping[str, str]) -> str:
    """Key portfolio metrics per policy: mean with the 95 % CI below it."""
    meta = res.metadata
    currency = meta.get("currency", "$")
    policies = list(meta.get("policies") or pd.unique(res.summary["policy"]))
    baseline = meta.get("baseline")
    s = res.summary[res.summary["sku"] == "ALL"].set_index(["metric", "policy"])
    mark = " <small>(baseline)</small>"
    head = "".join(f'<th scope="col">{_policy(p, colors)}{mark if p == baseline else ""}</th>'
                   for p in policies)
    rows = []
    for metric, label, kind in SUMMARY_METRICS:
        if metric not in s.index.get_level_values(0):
            continue
        if metric == "expedite_cost" and not (s.loc[metric]["mean"].abs() > 0).any():
            continue
        cells = []
        for p in policies:
            if (metric, p) not in s.index:
                cells.append('<td class="num">–</td>')
                continue
            r = s.loc[(metric, p)]
            # The interval takes the precision of its mean, so a row reads evenly.
            d = 0 if abs(r["mean"]) >= 100 or r["mean"] == 0 else 2
            mean, lo, hi = (_format(r[k], kind, currency, d) for k in ("mean", "ci_low",
                                                                         "ci_high"))
            cells.append(f'<td class="num">{_e(mean)}<small>[{_e(lo)} – {_e(hi)}]</small></td>')
        unit = {"ratio": "%", "money": currency, "days": "days", "count": "per run"}[kind]
        rows.append(f'<tr><th scope="row">{_e(label)} <small class="note">({_e(unit)})'
                    f"</small></th>{''.join(cells)}</tr>")
    n = int(s["n"].max()) if "n" in s and len(s) else meta.get("replications", "?")
    return (
        '<div class="table-wrap"><table class="summary">'
        f'<thead><tr><th scope="col">All SKUs</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f'<p class="note">Mean per replication over {_e(n)} replications of '
        f"{_e(meta.get('horizon_days', '?'))} days; in brackets the 95 % confidence "
        "interval of the mean. Every number is also in summary.csv (per policy and SKU) "
        "and runs.parquet (per replication) next to this report.</p>"
    )


def _targets(res: Any, colors: Mapping[str, str]) -> str:
    """Each policy's service target next to the cycle service level it achieved, by class."""
    meta = res.metadata
    runs = res.runs
    rows = []
    targets = pd.DataFrame(meta["service_targets"])
    several = targets.groupby("policy")["target"].nunique()
    for (policy, target), g in targets.groupby(["policy", "target"], sort=False):
        cls = "/".join(sorted(set(g["abc_class"]))) if several[policy] > 1 else ""
        sel = runs[(runs["policy"] == policy) & runs["sku"].isin(g["sku"])]
        # per replication: cycles of the class's SKUs pooled (the mean of SKU ratios weighted
        # alike), then mean, CI and the spread across replications
        per_rep = sel.groupby("replication")["cycle_service_level"].mean().dropna()
        n = per_rep.size
        if n == 0:
            continue
        mean = float(per_rep.mean())
        half = (1.96 * float(per_rep.std(ddof=1)) / n**0.5) if n > 1 else float("nan")
        p5, p95 = (float(x) for x in per_rep.quantile([0.05, 0.95]))
        gap = mean - target
        verdict = "meets it" if mean + half >= target else f"short by {_pct(-gap)}"
        label = f"class {cls}" if cls else "all"
        rows.append(
            f"<tr><td>{_policy(policy, colors)}</td><td>{_e(label)} "
            f"<small>({len(g)} SKU{'s' * (len(g) != 1)})</small></td>"
            f'<td class="num">{_e(_pct(target))}</td>'
            f'<td class="num">{_e(_pct(mean))}<small>[{_e(_pct(mean - half))} – '
            f"{_e(_pct(mean + half))}]</small></td>"
            f'<td class="num">{_e(_pct(p5))} – {_e(_pct(p95))}</td><td>{_e(verdict)}</td></tr>'
        )
    return (
        '<div class="table-wrap"><table class="summary"><thead><tr><th scope="col">Policy'
        '</th><th scope="col">SKUs</th><th scope="col">Target</th><th scope="col">Achieved '
        '(95 % CI)</th><th scope="col">p5 – p95 across replications</th><th scope="col">'
        f"</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="note">The target is the cycle service level the policy sizes its buffer '
        "for: the chance that a replenishment cycle passes with no demand left unmet. "
        "Achieved: the share of such cycles, per SKU, averaged over the SKUs of the class.</p>"
    )


def _css_width(png: bytes) -> int | None:
    """Return the width in CSS pixels at which a PNG shows at its intended size.

    Matplotlib stores the figure's dpi in the PNG's ``pHYs`` chunk; a CSS pixel is
    1/96 inch. Showing every chart at its own physical size keeps the text of a small
    figure (the cost breakdown) as large as that of a wide one, instead of stretching
    it to the page width.
    """
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width = struct.unpack(">I", png[16:20])[0]
    pos = 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"pHYs" and length >= 9:
            per_unit, _, unit = struct.unpack(">IIB", png[pos + 8:pos + 17])
            if unit == 1 and per_unit > 0:  # pixels per metre
                return round(width / (per_unit * 0.0254) * 96)
        if kind in (b"IDAT", b"IEND"):  # pHYs must come before the image data
            break
        pos += 12 + length
    return None


def _figures(folder: Path, names: Sequence[str], skus: Sequence[Mapping[str, Any]]) -> str:
    """Every chart as an embedded PNG with its caption."""
    parts = []
    for name in names:
        title, caption = CAPTIONS[name]
        if name == "inventory" and len(skus) > 1:
            caption += (" With several SKUs the chart shows the inventory value of all SKUs "
                        "(cash tied up), since units of different SKUs do not add up.")
        elif name == "inventory" and skus:
            caption += (f" The SKU shown is {skus[0]['id']}, in units. Black lines are the "
                        "policy's reorder point (dashed) and order-up-to level (dotted), or "
                        "its base-stock level (dash-dot) when the two coincide; they apply "
                        "to the inventory position (on hand − backorders + on order), so "
                        "on-hand stock normally stays below them by the stock in transit.")
        png = (folder / "figures" / f"{name}.png").read_bytes()
        data = base64.b64encode(png).decode()
        width = _css_width(png)
        size = f' width="{width}"' if width else ""
        parts.append(
            f'<figure id="fig-{name}"><img src="data:image/png;base64,{data}"{size} '
            f'alt="{_e(title)}"><figcaption><strong>{_e(title)}</strong>{_e(caption)}'
            "</figcaption></figure>"
        )
    return "".join(parts)


def _definitions(metrics: Sequence[str]) -> str:
    """List the definition of every metric in the results."""
    names = [m for m in METRIC_DEFINITIONS if m in metrics] + [
        m for m in metrics if m not in METRIC_DEFINITIONS]
    rows = "".join(f'<tr><th scope="row"><code>{_e(m)}</code></th>'
                   f"<td>{_e(METRIC_DEFINITIONS.get(m, '(no definition)'))}</td></tr>"
                   for m in names)
    return (f"<p>{_e(_INTRO_DEFINITIONS)}</p><div class=\"table-wrap\"><table class=\"defs\">"
            f"<thead><tr><th>Metric</th><th>Definition</th></tr></thead><tbody>{rows}</tbody>"
            "</table></div>")


def _reproducibility(res: Any) -> str:
    """Versions, seed, replications, scenario hash, command, wall time, scenario text."""
    meta = res.metadata
    wall = meta.get("wall_time_s")
    facts = [
        ("Command", f"<code>{_e(meta.get('command', ''))}</code>"),
        ("Root seed", _e(meta.get("seed", ""))),
        ("Replications", _e(meta.get("replications", ""))),
        ("Scenario hash", f"<code>{_e(meta.get('scenario_hash', ''))}</code>"),
        ("Backend", f"{_e(meta.get('backend', ''))}, {_e(meta.get('workers', ''))} "
                    "worker(s)"),
        ("Wall time", _e(f"{float(wall):.1f} s" if wall is not None else "")),
        ("Created", _e(meta.get("created", ""))),
    ]
    rows = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in facts)
    versions = meta.get("versions") or {}
    vrows = "".join(f"<tr><td>{_e(k)}</td><td><code>{_e(v)}</code></td></tr>"
                    for k, v in versions.items())
    yaml_text = getattr(res, "scenario_yaml", "") or ""
    return (
        "<p>Results depend only on the scenario, the root seed and the replication index, "
        "whatever the backend or worker count: the command below, run on the scenario "
        "below with these versions, gives the same numbers.</p>"
        f'<div class="table-wrap"><table>{rows}</table></div>'
        "<h3>Versions</h3>"
        f'<div class="table-wrap"><table><thead><tr><th>Package</th><th>Version</th></tr>'
        f"</thead><tbody>{vrows}</tbody></table></div>"
        "<h3>Resolved scenario (scenario.yaml)</h3>"
        f"<pre>{_e(yaml_text)}</pre>"
    )


def _page(res: Any, folder: Path, names: Sequence[str]) -> str:
    """Assemble the whole HTML page."""
    meta = res.metadata
    colors = policy_colors(meta.get("policies") or pd.unique(res.summary["policy"]))
    metrics = [c for c in res.runs.columns
               if c not in ("replication", "seed", "policy", "sku", "abc_class")]
    name = meta.get("scenario", folder.name)
    sections = [
        ("scenario", "Scenario", _scenario_section(meta, colors,
                                                     getattr(res, "scenario_yaml", ""))),
        ("findings", "Findings", _findings(res, colors)),
        ("summary", "Summary table", _summary_table(res, colors)),
        *((("targets", "Service targets", _targets(res, colors)),)
          if meta.get("service_targets") else ()),
        ("charts", "Charts", _figures(folder, names, meta.get("skus") or [])),
        ("definitions", "Metric definitions", _definitions(metrics)),
        ("reproducibility", "Reproducibility", _reproducibility(res)),
    ]
    toc = "".join(f'<li><a href="#{sid}">{_e(title)}</a></li>' for sid, title, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{content}</section>'
                   for sid, title, content in sections)
    description = meta.get("description") or ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(name)} — supplysim report</title><style>{_CSS}</style></head>"
        "<body><main>"
        f'<header><p class="meta">supplysim report</p><h1>{_e(name)}</h1>'
        f'<p class="lede">{_e(description)}</p>'
        f'<p class="meta">{_e(meta.get("replications", "?"))} replications × '
        f'{len(meta.get("policies") or [])} policies · {_e(meta.get("horizon_days", "?"))} '
        f'days · created {_e(meta.get("created", ""))}</p></header>'
        f'<nav aria-label="Contents"><ol>{toc}</ol></nav>'
        f"{body}"
        "<footer>Generated by supplysim. This page is self-contained: it loads nothing "
        "from the network or the disk.</footer>"
        "</main></body></html>\n"
    )


def build_report(folder: Path | str) -> Path:
    """Write ``folder/report.html``, drawing the charts first if any are missing.

    Args:
        folder: A results folder (see DESIGN.md, "Results folder").

    Returns:
        The path of the report.

    """
    folder = Path(folder)
    res = load(folder)
    names = charts_for(res.metadata)
    if any(not (folder / "figures" / f"{n}.png").exists() for n in names):
        make_figures(folder, formats=("png",))
    page = _page(res, folder, names)
    out = folder / "report.html"
    tmp = folder / ".report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)  # never leave a half-written report behind
    return out


# --------------------------------------------------------------------------- purchase plan


def _plan_table(frame: pd.DataFrame, columns: Sequence[tuple[str, str, str]], currency: str,
                whole: bool) -> str:
    """Render plan rows as an HTML table; columns are (field, header, kind)."""
    if frame.empty:
        return '<p class="note">None.</p>'
    unit = "{:,.0f}" if whole else "{:,.2f}"
    head = "".join(f'<th scope="col">{_e(h)}</th>' for _, h, _ in columns)
    body = []
    for _, r in frame.iterrows():
        cells = []
        for field, _, kind in columns:
            v = r[field]
            if kind == "units":
                cells.append(f'<td class="num">{unit.format(v) if pd.notna(v) else ""}</td>')
            elif kind == "money":
                cells.append(f'<td class="num">{_e(_money(v, currency, 0))}</td>')
            else:
                cells.append(f"<td>{_e(v) if pd.notna(v) else ''}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table></div>")


def plan_html(plan: Any) -> str:
    """Return a self-contained HTML page for a purchase plan (``supplysim plan``)."""
    c, whole = plan.currency, plan.whole_units
    orders = _plan_table(plan.orders, (
        ("po", "PO", "text"), ("date", "Order on", "text"), ("supplier", "Supplier", "text"),
        ("sku", "SKU", "text"), ("units", "Units", "units"), ("arrives", "Lands ~", "text"),
        ("value", "Value at cost", "money"), ("order_cost", "Order cost share", "money"),
        ("purpose", "Why", "text"), ("ahead_of", "Ahead of", "text"),
    ), c, whole)  # fmt: skip
    levels = _plan_table(plan.level_changes, (
        ("sku", "SKU", "text"), ("from", "From", "text"), ("to", "To", "text"),
        ("reorder_point", "Reorder point", "units"), ("order_up_to", "Order-up-to", "units"),
        ("lot", "Lot", "units"),
    ), c, whole)  # fmt: skip
    windows = _plan_table(plan.windows, (
        ("label", "Window", "text"), ("start", "Starts", "text"), ("end", "Ends", "text"),
        ("sku", "SKU", "text"), ("on_hand", "Expected on hand", "units"),
        ("inventory_position", "Inventory position", "units"),
        ("window_demand", "Forecast demand in it", "units"),
        ("projected_short", "Expected short", "units"),
    ), c, whole)  # fmt: skip
    lines = "".join(f"<li>{_e(line)}</li>" for line in plan.summary_lines())
    title = f"Purchase plan: {plan.policy} on {plan.scenario}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body><main>
<h1>{_e(title)}</h1>
<p class="lede">What policy <strong>{_e(plan.policy)}</strong> expects to buy from
{_e(plan.start)} to {_e(plan.end)}, on forecast demand and expected landings.</p>
<h2>In short</h2><ul class="findings">{lines}</ul>
<h2>Purchase orders</h2>{orders}
<h2>Levels and how they change</h2>{levels}
<h2>Stock as each announced window starts</h2>{windows}
<p class="note">The plan is the policy's decisions on the forecast (mean demand, mean
lead times, the announced calendar), not a simulation: real demand and lead times move
it, which is what <code>supplysim run</code> measures. Assumptions: docs/plan.md.</p>
</main></body></html>
"""
