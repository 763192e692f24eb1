"""The self-contained HTML report of a results folder, and its PDF.

:func:`build_report` writes ``report.html``: one page that opens offline and can be
mailed as a single file. Charts are PNGs embedded as base64 ``data:`` URIs, the CSS is
inline, there is no JavaScript, and a Content-Security-Policy forbids the page from
loading anything at all, so it cannot leak a request when opened.

The page holds: a title block (title, client, author, logo), the scenario in plain
words with every policy described, findings against the baseline in money and
multiples, the summary table (mean, 95 % confidence interval of the mean, and the
spread p5–p95 across replications), tables per ABC class and per SKU with the best
policy per class under a stated rule, every chart with a caption, the definition of
every metric that applies, and an appendix to reproduce the run (the scenario YAML
collapsed). Metrics that cannot apply under the scenario's unmet-demand rule are left
out. All text that comes from the scenario or metadata is HTML-escaped.

:func:`write_pdf` prints the page to ``report.pdf`` with headless Chromium. The print
stylesheet repeats table headers on every page, keeps figures whole, and expands the
collapsed rows of the SKU table (but not the scenario YAML).
"""

from __future__ import annotations

import base64
import html
import math
import os
import shutil
import struct
import subprocess
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.present.describe import describe_policy, scenario_context
from simulator.present.plots import charts_for, make_figures, policy_colors
from simulator.study.results import load

__all__ = [
    "CAPTIONS",
    "METRIC_DEFINITIONS",
    "SLIDE_CAPTIONS",
    "SUMMARY_METRICS",
    "ReportError",
    "build_report",
    "find_chromium",
    "plan_html",
    "write_pdf",
]


class ReportError(ValueError):
    """A report option or input that cannot be used (a missing logo, no Chromium)."""


#: Definition of every metric, mirroring the metrics table of docs/metrics.md.
#: Definition of every metric, mirroring the metrics table of docs/metrics.md.
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
    "total_cost": "Holding + ordering + shortage cost (+ expediting premium and write-offs "
    "where they occur, + the horizon's leftover where the scenario counts it).",
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
    "expired_units": "Units written off at the end of their shelf life (first-expiry-first-"
    "out).",
    "obsolete_units": "Units written off at or after a product's end of life.",
    "rejected_units": "Units in shipments that failed inspection and were returned.",
    "goodwill_lost_units": "Units customers no longer ordered after earlier shortages "
    "(goodwill); charged at the unit margin in the shortage cost, as lost sales are.",
    "write_off_cost": "Expired units × unit cost + obsolete units × unit cost × (1 − "
    "salvage value); part of the total cost.",
    "leftover_units": "Units on hand at the end of the horizon.",
    "leftover_value": "Units on hand at the end of the horizon × unit cost.",
    "leftover_cost": "Leftover value × (1 − salvage value); in the total cost only when "
    "the scenario says so (leftover: in_total_cost).",
    "excess_units_end": "On-hand at the end of the horizon beyond the demand expected in the "
    "next 90 days (leftover.excess_days).",
    "days": "Measured days (after the warm-up).",
}


_INTRO_DEFINITIONS = (
    "All metrics are per replication (one simulated season), policy and SKU, measured "
    "after the warm-up. Ratios are ratios of sums over the horizon, never means of daily "
    "ratios. Portfolio rows (all SKUs) sum units, costs and cash and recompute the ratios "
    "from the sums; day-share rates (stockout days, days ending with backorders) are the "
    "SKUs' rates weighted by their units demanded."
)

#: Rows of the summary table: metric, label, kind (how to format).
SUMMARY_METRICS = (
    ("fill_rate", "Fill rate (type 2)", "ratio"),
    ("order_fill_rate", "Order fill rate", "ratio"),
    ("stockout_rate", "Stockout days (demand-weighted over SKUs)", "ratio"),
    ("any_stockout_rate", "Days on which any SKU was short", "ratio"),
    ("p_backorder_end", "Days ending with backorders (demand-weighted)", "ratio"),
    ("cycle_service_level", "Cycle service level (cycles of all SKUs pooled)", "ratio"),
    ("lost_units", "Units lost (lost sales)", "count"),
    ("backordered_units", "Units backordered", "count"),
    ("avg_backorders", "Backordered units at day end (mean)", "count"),
    ("total_cost", "Total cost", "money"),
    ("holding_cost", "Holding cost", "money"),
    ("ordering_cost", "Ordering cost", "money"),
    ("shortage_cost", "Shortage cost", "money"),
    ("expedite_cost", "Expediting premium", "money"),
    ("write_off_cost", "Written off (expired, obsolete; at cost less salvage)", "money"),
    ("leftover_cost", "Leftover at the horizon (cost less salvage)", "money"),
    ("expired_units", "Units expired", "count"),
    ("obsolete_units", "Units obsolete (after end of life)", "count"),
    ("rejected_units", "Units rejected at inspection", "count"),
    ("goodwill_lost_units", "Units lost to goodwill (customers who did not return)", "count"),
    ("leftover_value", "Leftover stock at the horizon, at cost", "money"),
    ("excess_units_end", "Excess units at the horizon", "count"),
    ("cash_tied_up", "Cash tied up (mean)", "money"),
    ("cash_tied_up_peak", "Cash tied up (peak)", "money"),
    ("cash_in_pipeline", "Cash in the pipeline (on order, mean)", "money"),
    ("working_capital_peak", "Working capital (peak, stock + on order)", "money"),
    ("days_of_inventory", "Days of inventory", "days"),
    ("purchase_orders", "Purchase orders placed", "count"),
    ("orders_placed", "Order lines", "count"),
    ("revenue", "Revenue", "money"),
    ("gross_margin", "Gross margin", "money"),
)

#: Metrics shown only when some policy has a non-zero mean (features a scenario may not use).
_ONLY_WHEN_NONZERO = ("expedite_cost", "write_off_cost", "leftover_cost", "expired_units",
                      "obsolete_units", "rejected_units", "leftover_value", "excess_units_end",
                      "goodwill_lost_units")

#: Metrics that only mean something under one unmet-demand rule.
_BACKORDER_ONLY = ("p_backorder_end", "avg_backorders", "backordered_units")
_LOST_SALE_ONLY = ("lost_units",)

#: Chart title and reading guide, per figure name.
CAPTIONS = {
    "tradeoff": (
        "Trade-off: cash and cost against stockout risk",
        "Each large dot is a policy's mean over all replications with its 95 % confidence "
        "interval on both axes; the faint dots are single replications, the range one "
        "season could land in. Lower left is better on both panels: less cash or cost "
        "and fewer stockout days (with several SKUs, the SKUs' stockout days weighted by "
        "their demand).",
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
        "confidence intervals. The numbers are in the table 'By ABC class' above.",
    ),
    "sku_heatmap": (
        "Fill rate by SKU",
        "Mean fill rate of every SKU under every policy; darker cells are lower fill "
        "rates. SKUs are sorted by ABC class, then by expected revenue, so the rows that "
        "matter most are at the top.",
    ),
}

#: Captions of the slides charts: each slide carries its message as its title already.
SLIDE_CAPTIONS = {
    "tradeoff": ("Trade-off: cash tied up against stockout days",
                 "Mean per season (dot) and the range of 90 % of seasons (bars); lower left "
                 "is better."),
    "inventory": ("Inventory over time",
                  "Median stock on hand and the range of 90 % of seasons, per policy, with "
                  "the inventory position and the policy's reorder levels."),
    "cash_over_time": ("Cash tied up over time",
                       "Inventory value at cost, all SKUs: median and the range of 90 % of "
                       "seasons."),
    "cost_breakdown": ("Cost per season",
                       "Mean cost per season split into holding, ordering and shortage cost; "
                       "the total above each bar."),
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
header.title { display: flex; gap: 24px; align-items: flex-start;
  justify-content: space-between; border-bottom: 3px solid var(--ink);
  padding-bottom: 12px; }
header.title .logo { max-height: 72px; max-width: 220px; height: auto; width: auto; }
.credits { margin: 0.3em 0 0; }
.credits span { margin-right: 1.4em; }
nav ol { columns: 2; padding-left: 1.2em; margin: 0.5em 0; }
nav a { color: #0b57d0; text-decoration: none; }
ul.findings > li { margin: 0.5em 0 0.9em; }
ul.findings ul { margin: 0.2em 0; padding-left: 1.2em; }
ul.findings ul li { margin: 0.15em 0; }
.policy { font-weight: 600; }
.note { color: var(--muted); font-size: 0.9em; }
.callout { background: var(--soft); border-left: 4px solid var(--line); padding: 8px 12px;
  margin: 0.8em 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.6em 0 0.4em; font-size: 0.92em; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { background: var(--soft); border-bottom: 2px solid var(--line); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num small { display: block; color: var(--muted); font-size: 0.8em; }
td.best { background: #eef6ee; }
span.pm { color: var(--muted); font-size: 0.8em; }
td.num small.spread { color: #3f51b5; }
table.summary th[scope=row] { font-weight: 500; }
table.compact { font-size: 0.84em; }
table.compact th, table.compact td { padding: 4px 7px; }
table.compact th[scope=row] { white-space: nowrap; }
table.compact th[scope=row] small { white-space: normal; display: block; max-width: 14em; }
th.group { text-align: center; border-left: 1px solid var(--line); }
td.first, th.first { border-left: 1px solid var(--line); }
tr.class-start td, tr.class-start th { border-top: 2px solid var(--line); }
details { margin: 0.4em 0 0.8em; }
details > summary { cursor: pointer; color: #0b57d0; }
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
.slides figure img { border: none; }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  h2 { break-before: auto; }
  thead { display: table-header-group; }
  tfoot { display: table-footer-group; }
  tr, figure, pre, .finding, .callout { break-inside: avoid; page-break-inside: avoid; }
  figure img { border: none; max-height: 240mm; object-fit: contain; }
  .table-wrap { overflow: visible; }
  table { font-size: 8.5pt; }
  table.compact { font-size: 7.5pt; }
  a { color: inherit; text-decoration: none; }
  details.print-open > summary { display: none; }
  details.print-open::details-content { content-visibility: visible; display: block;
    block-size: auto; }
  details.appendix > summary::after { content: " (in scenario.yaml next to this report)";
    color: var(--muted); }
}
@page { size: A4; margin: 16mm 13mm 16mm 13mm; }
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


def _kmoney(value: float, currency: str, scale: float | None = None, decimals: int = 1) -> str:
    """Format an amount compactly: ``$22.6k``, ``$1.25M``; below 10,000 in full.

    Args:
        value: The amount.
        currency: Symbol (prefixed) or code (suffixed).
        scale: 1, 1e3 or 1e6 to force a unit (so an interval shares its mean's unit);
            by default the value's own.
        decimals: Decimals of the scaled number.

    """
    if not math.isfinite(value):
        return "–"
    if scale is None:
        scale = _money_scale(value)
    if scale == 1:
        return _money(value, currency, None if decimals == 1 else decimals)
    suffix = "k" if scale == 1e3 else "M"
    body = f"{_num(abs(value) / scale, decimals)}{suffix}"
    sign = "−" if value < 0 else ""
    return f"{sign}{currency}{body}" if len(currency) <= 1 else f"{sign}{body} {currency}"


def _kpair(a: float, b: float, currency: str) -> tuple[str, str]:
    """Write two amounts compactly in the same unit, so they compare at a glance."""
    scale = _money_scale(max(abs(a), abs(b)))
    start = 1 if scale > 1 else (0 if max(abs(a), abs(b)) >= 100 else 2)
    return _kmoney(a, currency, scale, start), _kmoney(b, currency, scale, start)


def _kinterval(lo: float, hi: float, currency: str) -> str:
    """Write a money interval compactly, with enough decimals that its ends differ."""
    scale = _money_scale(max(abs(lo), abs(hi)))
    start = 1 if scale > 1 else (0 if max(abs(lo), abs(hi)) >= 100 else 2)
    d = _distinct_decimals(lambda v, k: _kmoney(v, currency, scale, k), [lo, hi], start)
    return f"{_kmoney(lo, currency, scale, d)}–{_kmoney(hi, currency, scale, d)}"


def _money_scale(value: float) -> float:
    """Return the unit a compact amount is written in: 1, thousands or millions."""
    size = abs(value) if math.isfinite(value) else 0
    return 1e6 if size >= 1e7 else 1e3 if size >= 1e4 else 1


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


def _pct(ratio: float, decimals: int | None = None) -> str:
    """Format a ratio as a percentage; 99.96 % is not rounded up to a perfect 100.0 %.

    Args:
        ratio: The ratio (0.95 is 95 %).
        decimals: Fixed decimals; by default 1, or 2 close to 0 or 100 %.

    """
    if not math.isfinite(ratio):
        return "–"
    if decimals is not None:
        return f"{_num(ratio * 100, decimals)} %"
    if 0.9999 < ratio < 1:
        return "> 99.99 %"
    if 0 < ratio < 0.0001:
        return "< 0.01 %"
    decimals = 2 if 0.999 < ratio < 1 or 0 < ratio < 0.001 else 1
    return f"{_num(ratio * 100, decimals)} %"


def _base_decimals(value: float, kind: str) -> int:
    """Decimals a mean of this kind is shown with."""
    if kind == "ratio":
        return 2 if (0.999 < value < 1 or 0 < value < 0.001) else 1
    if kind == "money":
        return 0 if abs(value) >= 100 or value == 0 else 2
    return 1


def _plain(value: float, kind: str, currency: str, decimals: int) -> str:
    """Format a value of a kind with fixed decimals."""
    if not math.isfinite(value):
        return "–"
    if kind == "ratio":
        # 99.996 % is not a perfect 100 %, nor 0.004 % none at all: more digits instead
        while decimals < 4 and (value < 1 and round(value * 100, decimals) >= 100
                                or value > 0 and round(value * 100, decimals) <= 0):
            decimals += 1
        return _pct(value, decimals)
    if kind == "money":
        return _money(value, currency, decimals)
    if kind == "days":
        return f"{_num(value, decimals)} d"
    return _num(value, decimals)


def _interval(lo: float, hi: float, kind: str, currency: str, decimals: int,
              equal: str = "{} (same in every season)") -> str:
    """Write ``lo – hi``, adding decimals until the two ends differ.

    An interval must never read as certainty: ``[83 – 83 %]`` becomes
    ``[82.96 – 83.04 %]``. Ends that are truly equal are written once through
    ``equal`` (for a CI: every season alike; for p5–p95 say so, since 10 % of seasons
    lie outside); ends still equal after three more decimals as their middle
    "(± < 0.001)".
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "–"
    if abs(hi - lo) <= 1e-9 * max(1.0, abs(lo), abs(hi)):  # equal up to float noise
        return equal.format(_plain(lo, kind, currency, decimals))
    for d in range(decimals, decimals + 4):
        a, b = _plain(lo, kind, currency, d), _plain(hi, kind, currency, d)
        if a != b:
            return f"{a} – {b}"
    tiny = _num(10.0 ** -(decimals + 3), decimals + 3)
    suffix = " pt" if kind == "ratio" else ""
    return f"{_plain((lo + hi) / 2, kind, currency, decimals + 3)} (± < {tiny}{suffix})"


def _pm(half: float, kind: str, currency: str, decimals: int) -> str:
    """Write a CI half-width ``± h``, never ``± 0.0`` for a non-zero width."""
    if not math.isfinite(half):
        return ""
    if half == 0:
        return "± 0"
    scale = 100 if kind == "ratio" else 1
    for d in range(decimals, decimals + 3):
        text = _num(half * scale, d)
        if float(text.replace(",", "").replace("−", "-")) > 0:
            break
    else:
        return f"± < {_num(10.0 ** -(decimals + 2), decimals + 2)}"
    if kind == "money":
        return f"± {_money(half, currency, d)}"
    return f"± {text}"


def _date_text(day: date) -> str:
    """Write a date in plain words, e.g. ``1 Apr 2026``."""
    return f"{day.day} {day.strftime('%b %Y')}"


def _policy(name: str, colors: Mapping[str, str]) -> str:
    """Show a policy name in its chart colour (escaped)."""
    color = colors.get(name, "inherit")
    return (f'<span class="policy" data-policy="{_e(name)}" style="color:{color}">'
            f"{_e(name)}</span>")


def _stats(x: np.ndarray) -> dict[str, float]:
    """Mean, 95 % t confidence interval of the mean, p5 and p95 of finite values."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    out = {"n": n, "mean": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "p5": math.nan, "p95": math.nan}
    if n == 0:
        return out
    mean = float(x.mean())
    out.update(mean=mean, p5=float(np.percentile(x, 5)), p95=float(np.percentile(x, 95)))
    if n > 1:
        from scipy import stats

        half = float(stats.t.ppf(0.975, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
        out.update(ci_low=mean - half, ci_high=mean + half)
    return out


def _bounded(r: Mapping[str, float], kind: str) -> dict[str, float]:
    """Cut a CI at the range its metric can take: 0–100 % for a ratio, >= 0 otherwise.

    Every metric of the tables is a non-negative amount or a ratio; a t-interval of a
    skewed metric (a stockout rate near 0, a fill rate near 100 %) can cross those
    bounds, and "−0.02 %" of stockout days is a number no client should read.
    """
    out = {k: float(r[k]) for k in ("mean", "ci_low", "ci_high", "p5", "p95")}
    out["ci_low"] = max(out["ci_low"], 0.0)
    if kind == "ratio":
        out["ci_high"] = min(out["ci_high"], 1.0)
    return out


def _cell(r: Mapping[str, float], kind: str, currency: str, css: str = "") -> str:
    """Render a cell: the mean; below it the 95 % CI of the mean and the p5–p95 spread."""
    r = _bounded(r, kind)
    mean = r["mean"]
    if not math.isfinite(mean):
        return f'<td class="num{css}">–</td>'
    d = _base_decimals(mean, kind)
    ci = _interval(r["ci_low"], r["ci_high"], kind, currency, d)
    spread = _interval(r["p5"], r["p95"], kind, currency, d, "p5 = p95 = {}")
    return (f'<td class="num{css}">{_e(_plain(mean, kind, currency, d))}'
            f"<small>CI {_e(ci)}</small>"
            f'<small class="spread">{"" if spread.startswith("p5 =") else "p5–p95 "}'
            f"{_e(spread)}</small></td>")


def _compact_cell(r: Mapping[str, float], kind: str, currency: str, css: str = "") -> str:
    """Render a narrow cell: ``mean ± CI half-width``, below it p5–p95 (money in k)."""
    mean = float(r["mean"])
    if not math.isfinite(mean):
        return f'<td class="num{css}">–</td>'
    half = (float(r["ci_high"]) - float(r["ci_low"])) / 2  # the t-interval is symmetric
    if kind == "money":
        scale = _money_scale(mean)
        d = 1 if scale > 1 else 0
        head = _kmoney(mean, currency, scale, d)
        pm = _pm(half / scale, "count", currency, d)
        if pm not in ("", "± 0"):
            pm += {1e3: "k", 1e6: "M"}.get(scale, "")
        p5, p95 = float(r["p5"]), float(r["p95"])
        if abs(p95 - p5) <= 1e-9 * max(1.0, abs(p5), abs(p95)):  # equal up to float noise
            spread = f"{_kmoney(p5, currency, scale, d)} (p5 = p95)"
        else:  # ends that differ never read alike: "$22.61k – $22.64k", not "p5 = p95"
            k = _distinct_decimals(lambda v, k: _kmoney(v, currency, scale, k), [p5, p95], d)
            spread = f"{_kmoney(p5, currency, scale, k)} – {_kmoney(p95, currency, scale, k)}"
    else:
        d = _base_decimals(mean, kind)
        head = _plain(mean, kind, currency, d)
        pm = _pm(half, kind, currency, d)
        spread = _interval(float(r["p5"]), float(r["p95"]), kind, currency, d, "{} (p5 = p95)")
    return (f'<td class="num{css}">{_e(head)} <span class="pm">{_e(pm)}</span>'
            f'<small class="spread">{_e(spread)}</small></td>')


# ------------------------------------------------------------------------------ inputs


def _scenario_dict(scenario_yaml: str) -> dict[str, Any]:
    """Return the resolved scenario as a mapping; empty when it cannot be read."""
    try:
        import yaml

        data = yaml.safe_load(scenario_yaml) or {}
    except Exception:  # the report must not fail on an unreadable scenario text
        return {}
    return data if isinstance(data, dict) else {}


def _policy_specs(scenario_yaml: str) -> dict[str, dict[str, Any]]:
    """Each policy's specification mapping from the resolved scenario."""
    policies = _scenario_dict(scenario_yaml).get("policies") or {}
    if not isinstance(policies, dict):
        return {}
    return {str(k): v for k, v in policies.items() if isinstance(v, dict)}


def _policy_descriptions(scenario_yaml: str) -> dict[str, str]:
    """Each policy's ``description`` from the resolved scenario, where it has one."""
    return {name: str(spec["description"]) for name, spec in
            _policy_specs(scenario_yaml).items() if spec.get("description")}


def _settings(spec: Mapping[str, Any], context: Mapping[str, bool] | None = None) -> str:
    """Describe a policy from its parameters; empty if the spec does not validate."""
    try:
        return describe_policy(spec, context)
    except ValueError:  # an old or hand-edited scenario: say nothing rather than fail
        return ""


def _unmet(meta: Mapping[str, Any]) -> str:
    """Return the unmet-demand rule of the run: ``lost_sale`` or ``backorder``."""
    return "lost_sale" if meta.get("unmet_demand") == "lost_sale" else "backorder"


def _applies(metric: str, meta: Mapping[str, Any]) -> bool:
    """Whether a metric means something under the run's unmet-demand rule."""
    if _unmet(meta) == "lost_sale":
        return metric not in _BACKORDER_ONLY
    return metric not in _LOST_SALE_ONLY


def _cost_note(meta: Mapping[str, Any]) -> str:
    """Say what the shortage part of the total cost is: an opportunity cost."""
    if _unmet(meta) == "lost_sale":
        return ("Total cost includes the lost margin on lost sales (price − unit cost per "
                "unit not sold): an opportunity cost, money not earned, not cash spent.")
    return ("Total cost includes the backorder penalty (per unit and day a customer "
            "waits), where the scenario sets one: a charge for late service, not cash "
            "spent.")


# ------------------------------------------------------------------------------ sections


def _scenario_section(meta: Mapping[str, Any], colors: Mapping[str, str],
                      scenario_yaml: str = "") -> str:
    """Describe the scenario in plain words."""
    horizon = int(meta.get("horizon_days", 0))
    warmup = int(meta.get("warmup_days", 0) or 0)
    start = date.fromisoformat(str(meta["start_date"])[:10]) if meta.get("start_date") else None
    parts = []
    if start is not None and horizon:
        end = start + timedelta(days=horizon - 1)
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

    if _unmet(meta) == "lost_sale":
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
        "replications (simulated seasons): every policy sees the same demand and lead-time "
        "draws in a replication (common random numbers), so differences between policies "
        f"are paired. Root seed {_e(meta.get('seed', '?'))}.</p>"
    )
    specs = _policy_specs(scenario_yaml)
    context = scenario_context(_scenario_dict(scenario_yaml))
    items = []
    for p in policies:
        spec = specs.get(p, {})
        given = str(spec.get("description") or "")
        settings = _settings(spec, context) if spec else ""
        if not (given or settings):
            continue
        text = _e(given or settings)
        if given and settings:
            text += f'<br><small class="note">Settings: {_e(settings)}.</small>'
        items.append(f'<li>{_policy(p, colors)}: {text}</li>')
    if items:
        parts.append(f'<p>The policies:</p><ul class="policies">{"".join(items)}</ul>')
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


def _distinct_decimals(fmt, values: Sequence[float], start: int, extra: int = 3) -> int:
    """Fewest decimals from ``start`` at which the given values all read differently."""
    values = [abs(v) for v in values if math.isfinite(v)]
    for d in range(start, start + extra + 1):
        texts = [fmt(v, d) for v in values]
        if len(set(texts)) == len(set(values)):
            return d
    return start + extra


def _multiple(mean: float, base: float) -> str:
    """Say how a policy's mean compares with the baseline's: ``3.0×`` or ``−82 %``."""
    if not (math.isfinite(mean) and math.isfinite(base)) or base <= 0 or mean < 0:
        return ""
    ratio = mean / base
    if ratio >= 1.5:
        return f"{_num(ratio, 1 if ratio < 10 else 0)}×"
    change = (ratio - 1) * 100
    d = _distinct_decimals(lambda v, k: _num(v, k), [change], 0 if abs(change) >= 10 else 1)
    return f"{'+' if change >= 0 else '−'}{_num(abs(change), d)} %"


def _money_phrase(row: pd.Series, currency: str, more: str = "more",
                  less: str = "less") -> tuple[str, str]:
    """Word a paired money difference, compact, with enough digits for its CI."""
    mean, lo, hi = (float(row[k]) for k in ("mean", "ci_low", "ci_high"))
    scale = _money_scale(max(abs(mean), abs(lo), abs(hi)))
    start = 1 if scale > 1 else (0 if abs(mean) >= 100 else 2)
    d = _distinct_decimals(lambda v, k: _kmoney(v, currency, scale, k), [lo, hi], start)
    return _phrase(mean, lo, hi, lambda v: _kmoney(v, currency, scale, d), "", more, less)


class _Portfolio:
    """Portfolio (all SKUs) statistics of a run, per policy and metric, and paired spreads."""

    def __init__(self, res: Any):
        self.summary = res.summary[res.summary["sku"] == "ALL"].set_index(["policy", "metric"])
        runs = res.runs[res.runs["sku"] == "ALL"]
        self.by_rep = {p: g.set_index("replication") for p, g in runs.groupby("policy")}

    def get(self, policy: str, metric: str) -> pd.Series | None:
        """Summary row (mean, CI, p5, p95) of a policy's metric, if present."""
        key = (policy, metric)
        return self.summary.loc[key] if key in self.summary.index else None

    def mean(self, policy: str, metric: str) -> float:
        """Mean of a policy's metric, NaN when absent."""
        row = self.get(policy, metric)
        return float(row["mean"]) if row is not None else math.nan

    def diff_spread(self, policy: str, baseline: str, metric: str) -> tuple[float, float]:
        """p5 and p95 across replications of the paired difference policy − baseline."""
        a, b = self.by_rep.get(policy), self.by_rep.get(baseline)
        if a is None or b is None or metric not in a:
            return math.nan, math.nan
        d = (a[metric] - b[metric]).dropna().to_numpy(dtype=float)
        if d.size == 0:
            return math.nan, math.nan
        return float(np.percentile(d, 5)), float(np.percentile(d, 95))


def _finding(res: Any, port: _Portfolio, policy: str, baseline: str,
             colors: Mapping[str, str]) -> str:
    """Say what a policy changes against the baseline: cash, service and cost, in money."""
    meta = res.metadata
    currency = meta.get("currency", "$")
    diffs = res.differences
    pol, base = _policy(policy, colors), _policy(baseline, colors)
    lines = []

    cash = _diff_row(diffs, policy, "cash_tied_up")
    if cash is not None:
        head, ci = _money_phrase(cash, currency)
        m, b = port.mean(policy, "cash_tied_up"), port.mean(baseline, "cash_tied_up")
        sign = "+" if float(cash["mean"]) >= 0 else "−"
        multiple = _multiple(m, b)
        ma, mb = _kpair(m, b, currency)
        text = (f"<strong>Cash tied up</strong>: {_e(sign)}{_e(head.split(' ')[0])} "
                f"({_e(multiple + ': ' if multiple else '')}{_e(ma)} against {_e(mb)} on "
                f"average) {_e(ci)}")
        pk, pb = (port.mean(p, "cash_tied_up_peak") for p in (policy, baseline))
        if math.isfinite(pk) and math.isfinite(pb):
            ka, kb = _kpair(pk, pb, currency)
            text += f"; at its peak {_e(ka)} against {_e(kb)}"
        lines.append(text + ".")

    fill = _diff_row(diffs, policy, "fill_rate")
    if fill is not None:
        m, lo, hi = (float(fill[k]) * 100 for k in ("mean", "ci_low", "ci_high"))
        d = _distinct_decimals(lambda v, k: _num(v, k), [lo, hi], max(1, _decimals(m)))
        head, ci = _phrase(m, lo, hi, lambda v: _num(v, d), "", "points higher",
                           "points lower")
        fm, fb = port.mean(policy, "fill_rate"), port.mean(baseline, "fill_rate")
        text = (f"<strong>Fill rate</strong>: {_e(_pct(fm))} against {_e(_pct(fb))}, "
                f"{_e(head)} {_e(ci)}")
        sm, sb = port.mean(policy, "stockout_rate"), port.mean(baseline, "stockout_rate")
        if math.isfinite(sm) and math.isfinite(sb):
            text += (f"; stockout days (demand-weighted) {_e(_pct(sm))} against "
                     f"{_e(_pct(sb))}")
        lines.append(text + ".")

    cost = _diff_row(diffs, policy, "total_cost")
    if cost is not None:
        head, ci = _money_phrase(cost, currency)
        m, b = port.mean(policy, "total_cost"), port.mean(baseline, "total_cost")
        multiple = _multiple(m, b)
        text = (f"<strong>Total cost</strong>: {_e(head)} per season"
                f"{_e(f' ({multiple})' if multiple else '')} {_e(ci)}")
        lo, hi = port.diff_spread(policy, baseline, "total_cost")
        if math.isfinite(lo) and math.isfinite(hi):
            scale = _money_scale(max(abs(lo), abs(hi)))
            d = _distinct_decimals(lambda v, k: _kmoney(v, currency, scale, k), [lo, hi],
                                   1 if scale > 1 else 0)
            a, b = (_kmoney(abs(v), currency, scale, d) for v in (lo, hi))
            if hi < 0:
                text += f"; it saves {_e(b)} to {_e(a)} in 90 % of seasons (p5–p95)"
            elif lo > 0:
                text += f"; it costs {_e(a)} to {_e(b)} more in 90 % of seasons (p5–p95)"
            else:
                text += (f"; in 90 % of seasons (p5–p95) it lands between {_e(a)} less and "
                         f"{_e(b)} more")
        rp, rb = port.get(policy, "total_cost"), port.get(baseline, "total_cost")
        if rp is not None and rb is not None:
            ka, kb = _kpair(float(rp["p95"]), float(rb["p95"]), currency)
            text += f". In a bad season (p95) {pol} costs {_e(ka)}, {base} {_e(kb)}"
        lines.append(text + ".")
    if not lines:
        return ""
    items = "".join(f"<li>{line}</li>" for line in lines)
    return f'<li class="finding">{pol} against {base}:<ul>{items}</ul></li>'


def _findings(res: Any, colors: Mapping[str, str], groups: Mapping[str, Any] | None = None,
              min_fill_rate: float = 0.95) -> str:
    """One block per non-baseline policy, the cheapest policy, and the pick per class."""
    meta = res.metadata
    policies = list(meta.get("policies") or [])
    baseline = meta.get("baseline") or (policies[0] if policies else "")
    port = _Portfolio(res)
    items = [_finding(res, port, p, baseline, colors) for p in policies if p != baseline]
    items = [i for i in items if i]
    parts = []
    if items:
        parts.append(
            f"<p>Each policy against the baseline, {_policy(baseline, colors)}, over all SKUs "
            "and per season (one replication): mean difference, paired by replication, with "
            "its 95 % confidence interval in brackets; fill-rate differences in percentage "
            "points. The confidence interval says how well the average is known; the p5–p95 "
            "range says how far one season can land from it.</p>"
            f'<ul class="findings">{"".join(items)}</ul>'
        )
    parts.append(_cheapest(res, colors))
    if groups:
        parts.append(_class_picks_sentence(groups, colors, min_fill_rate))
    parts.append(f'<p class="note">{_e(_cost_note(meta))}</p>')
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
            f"{_e(_kmoney(b['mean'], currency))} per season [95 % CI "
            f"{_e(_kinterval(b['ci_low'], b['ci_high'], currency))}; p5–p95 across seasons "
            f"{_e(_kinterval(b['p5'], b['p95'], currency))}]")
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
    """Key portfolio metrics per policy: mean, 95 % CI of the mean, and p5–p95."""
    meta = res.metadata
    currency = meta.get("currency", "$")
    policies = list(meta.get("policies") or pd.unique(res.summary["policy"]))
    baseline = meta.get("baseline")
    s = res.summary[res.summary["sku"] == "ALL"].set_index(["metric", "policy"])
    several = len(meta.get("skus") or ()) > 1
    mark = " <small>(baseline)</small>"
    head = "".join(f'<th scope="col">{_policy(p, colors)}{mark if p == baseline else ""}</th>'
                   for p in policies)
    rows = []
    for metric, label, kind in SUMMARY_METRICS:
        if metric not in s.index.get_level_values(0) or not _applies(metric, meta):
            continue
        if metric == "any_stockout_rate" and not several:
            continue  # with one SKU it is the stockout days again
        if metric in _ONLY_WHEN_NONZERO and not (s.loc[metric]["mean"].abs() > 0).any():
            continue
        cells = [(_cell(s.loc[(metric, p)], kind, currency) if (metric, p) in s.index
                  else '<td class="num">–</td>') for p in policies]
        unit = {"ratio": "%", "money": currency, "days": "days", "count": "per season"}[kind]
        rows.append(f'<tr><th scope="row">{_e(label)} <small class="note">({_e(unit)})'
                    f"</small></th>{''.join(cells)}</tr>")
    n = int(s["n"].max()) if "n" in s and len(s) else meta.get("replications", "?")
    return (
        '<div class="table-wrap"><table class="summary">'
        f'<thead><tr><th scope="col">All SKUs</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f'<p class="note">Mean per season (replication) over {_e(n)} replications of '
        f"{_e(meta.get('horizon_days', '?'))} days. Below each mean: <em>CI</em>, the 95 % "
        "confidence interval of the mean (how well the average is known), and "
        '<em class="spread">p5–p95</em>, the range 90 % of single seasons fall in (how '
        "much one season can differ). Where an interval is narrow, more digits are shown "
        f"rather than a range that reads as certainty. {_e(_cost_note(meta))} Every number "
        "is also in summary.csv (per policy and SKU) and runs.parquet (per replication) "
        "next to this report.</p>"
    )


# ------------------------------------------------------------------- by class and by SKU

#: Columns of the class and SKU tables: metric, header, kind.
_GROUP_METRICS = (
    ("fill_rate", "Fill rate", "ratio"),
    ("stockout_rate", "Stockout days", "ratio"),
    ("total_cost", "Total cost", "money"),
    ("cash_tied_up", "Cash tied up", "money"),
)
_SUMS = ("demand_units", "served_units", "total_cost", "cash_tied_up")


def _class_of(meta: Mapping[str, Any], runs: pd.DataFrame) -> dict[str, str]:
    """SKU -> ABC class, one classification for every policy (the scenario's default).

    A hybrid policy may classify with its own shares; comparing policies class by class
    needs the same SKUs in a class under every policy, so the metadata's classes are used.
    """
    classes = {str(s["id"]): str(s.get("abc_class") or "") for s in meta.get("skus") or ()}
    if not any(classes.values()):
        first = runs[runs["sku"] != "ALL"].drop_duplicates("sku")
        classes = dict(zip(first["sku"].astype(str), first["abc_class"].astype(str),
                           strict=True))
    return classes


def _per_class_runs(runs: pd.DataFrame, classes: Mapping[str, str]) -> pd.DataFrame:
    """Per policy × class × replication: summed units, cost and cash, recomputed ratios."""
    r = runs[runs["sku"] != "ALL"].copy()
    r["group"] = r["sku"].astype(str).map(classes)
    r = r[r["group"].notna() & (r["group"] != "")]
    r["_short"] = r["stockout_rate"].fillna(0) * r["demand_units"]
    agg = r.groupby(["policy", "group", "replication"], sort=False)[[*_SUMS, "_short"]].sum()
    demand = agg["demand_units"].where(agg["demand_units"] > 0)
    agg["fill_rate"] = agg["served_units"] / demand
    agg["stockout_rate"] = agg["_short"] / demand  # demand-weighted, as the portfolio
    return agg.reset_index()


def _pick(means: Mapping[str, Mapping[str, float]], min_fill_rate: float) -> tuple[str, bool]:
    """Pick the best policy under the report's rule; say whether it meets the fill-rate floor.

    Rule: the lowest mean total cost among the policies whose mean fill rate is at least
    ``min_fill_rate``; when none reaches it, the one with the highest fill rate.

    The pick does not depend on the order of the policies: a tie on cost goes to the
    higher fill rate, then to the name; a policy without a fill rate (no demand) never
    counts as reaching the floor, and with no fill rate anywhere the cheapest is named.
    """

    def fill(p: str) -> float:
        v = float(means[p]["fill_rate"])
        return v if math.isfinite(v) else -math.inf

    def cost(p: str) -> float:
        v = float(means[p]["total_cost"])
        return v if math.isfinite(v) else math.inf

    names = sorted(means)
    ok = [p for p in names if fill(p) >= min_fill_rate]
    if ok:
        return min(ok, key=lambda p: (cost(p), -fill(p), p)), True
    if any(math.isfinite(fill(p)) for p in names):
        return min(names, key=lambda p: (-fill(p), cost(p), p)), False
    return min(names, key=lambda p: (cost(p), p)), False


def _rule_text(min_fill_rate: float) -> str:
    """Word the rule by which the report picks a policy."""
    return (f"the lowest mean total cost among the policies with a mean fill rate of at "
            f"least {_pct(min_fill_rate, 0 if min_fill_rate * 100 % 1 == 0 else 1)} "
            "(when none reaches it, the highest fill rate)")


def _class_groups(res: Any, min_fill_rate: float) -> dict[str, Any]:
    """Per ABC class: statistics per policy, the pick and its paired margin."""
    meta = res.metadata
    policies = list(meta.get("policies") or pd.unique(res.runs["policy"]))
    classes = _class_of(meta, res.runs)
    per = _per_class_runs(res.runs, classes)
    out: dict[str, Any] = {}
    for group in sorted(set(per["group"])):
        g = per[per["group"] == group]
        stats = {p: {m: _stats(g.loc[g["policy"] == p, m].to_numpy())
                     for m, _, _ in _GROUP_METRICS} for p in policies
                 if (g["policy"] == p).any()}
        if not stats:
            continue
        means = {p: {m: s[m]["mean"] for m in s} for p, s in stats.items()}
        best, meets = _pick(means, min_fill_rate)
        # the pick against the next cheapest eligible policy, paired by replication
        rivals = [p for p in stats if p != best
                  and (not meets or means[p]["fill_rate"] >= min_fill_rate)]
        margin = None
        if rivals:
            rival = min(rivals, key=lambda p: (means[p]["total_cost"], p))
            a = g[g["policy"] == best].set_index("replication")["total_cost"]
            b = g[g["policy"] == rival].set_index("replication")["total_cost"]
            margin = (rival, _stats((b - a).dropna().to_numpy()))
        out[group] = {"stats": stats, "best": best, "meets": meets, "margin": margin,
                      "skus": sorted(s for s, c in classes.items() if c == group)}
    return out


def _margin_text(entry: Mapping[str, Any], colors: Mapping[str, str], currency: str) -> str:
    """How far the pick is ahead of the runner-up on total cost, and whether it is resolved."""
    if entry["margin"] is None:
        return "the only policy that qualifies"
    rival, m = entry["margin"]
    if not math.isfinite(m["mean"]):
        return ""
    row = pd.Series({"mean": m["mean"], "ci_low": m["ci_low"], "ci_high": m["ci_high"]})
    head, ci = _money_phrase(row, currency, "cheaper", "dearer")
    return f"{_e(head)} than {_policy(rival, colors)} per season {_e(ci)}"


def _class_picks_sentence(groups: Mapping[str, Any], colors: Mapping[str, str],
                          min_fill_rate: float) -> str:
    """One line naming the best policy per class (details in the class table)."""
    if len(groups) < 2:
        return ""
    def caveat(entry: Mapping[str, Any]) -> str:
        """Say when the pick's paired cost margin over the runner-up is not resolved."""
        if not entry["meets"]:
            return " (none reaches the floor)"
        margin = entry.get("margin")
        if margin is None:
            return ""
        rival, m = margin
        lo = float(m.get("ci_low", math.nan))
        if math.isfinite(lo) and lo > 0:
            return ""
        return (f" (not distinguishable on cost from {_policy(rival, colors)}: the paired "
                "95 % CI of the margin includes zero)")

    picks = "; ".join(f"class {_e(c)} ({len(v['skus'])} SKUs): {_policy(v['best'], colors)}"
                      + caveat(v) for c, v in groups.items())
    return (f'<p class="callout"><strong>Policy per ABC class</strong> — {picks}. Rule: '
            f'{_e(_rule_text(min_fill_rate))}; see <a href="#classes">By ABC class</a>.</p>')


def _class_section(res: Any, colors: Mapping[str, str], groups: Mapping[str, Any],
                   min_fill_rate: float) -> str:
    """Per ABC class × policy: fill rate, stockout days, total cost and cash tied up."""
    meta = res.metadata
    currency = meta.get("currency", "$")
    head = "".join(f'<th scope="col">{_e(h)}</th>' for _, h, _ in _GROUP_METRICS)
    rows = []
    for group, entry in groups.items():
        stats = entry["stats"]
        first = True
        for p, s in stats.items():
            best = p == entry["best"]
            cls = ' class="class-start"' if first else ""
            label = ""
            if first:
                label = (f'<th scope="rowgroup" rowspan="{len(stats)}">Class {_e(group)}'
                         f'<br><small class="note">{len(entry["skus"])} SKU'
                         f'{"s" * (len(entry["skus"]) != 1)}</small></th>')
            mark = " ✓ best" if best else ""
            cells = "".join(_cell(s[m], kind, currency, " best" if best else "")
                            for m, _, kind in _GROUP_METRICS)
            rows.append(f"<tr{cls}>{label}<td>{_policy(p, colors)}<small>{_e(mark)}</small>"
                        f"</td>{cells}</tr>")
            first = False
    picks = []
    for group, entry in groups.items():
        why = _margin_text(entry, colors, currency)
        floor = "" if entry["meets"] else " No policy reaches the fill-rate floor here."
        picks.append(f"<li>Class {_e(group)}: {_policy(entry['best'], colors)}"
                     f"{', ' + why if why else ''}.{_e(floor)}</li>")
    return (
        "<p>SKUs grouped by ABC class (by expected revenue, the scenario's default "
        "80 % / 15 % shares for every policy, so each class holds the same SKUs under "
        "every policy). Units, costs and cash are summed over the class's SKUs in each "
        "season; fill rate and stockout days (weighted by demand) are recomputed from "
        "the sums.</p>"
        '<div class="table-wrap"><table class="summary by-class">'
        f'<thead><tr><th scope="col">Class</th><th scope="col">Policy</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f"<p><strong>Best per class</strong> ({_e(_rule_text(min_fill_rate))}):</p>"
        f"<ul>{''.join(picks)}</ul>"
        '<p class="note">Mean per season; CI: 95 % confidence interval of the mean; '
        "p5–p95: the range of 90 % of seasons. The margin is paired: the pick's total "
        f"cost minus the runner-up's, season by season. {_e(_cost_note(meta))}</p>"
    )


def _sku_order(res: Any, classes: Mapping[str, str]) -> list[str]:
    """SKUs by class, then by mean revenue over all policies, largest first, then name."""
    runs = res.runs[res.runs["sku"] != "ALL"]
    if "revenue" in runs:
        revenue = runs.groupby("sku")["revenue"].mean()
    else:
        revenue = runs.groupby("sku")["demand_units"].mean()
    skus = [str(s["id"]) for s in res.metadata.get("skus") or ()] or list(revenue.index)
    # ties (equal revenue, e.g. none) by name: the order of the scenario file changes nothing
    return sorted(skus, key=lambda s: (classes.get(s, "~") or "~",
                                       -float(revenue.get(s, 0.0)), s))


_SKU_TABLES = (
    ("Service by SKU", (("fill_rate", "Fill rate", "ratio"),
                        ("stockout_rate", "Stockout days", "ratio"))),
    ("Cost and cash by SKU", (("total_cost", "Total cost", "money"),
                              ("cash_tied_up", "Cash tied up", "money"))),
)
_SKU_ROWS_SHOWN = 12


def _sku_section(res: Any, colors: Mapping[str, str], min_fill_rate: float) -> str:
    """Per SKU, two compact tables (service; cost and cash), policies side by side."""
    meta = res.metadata
    currency = meta.get("currency", "$")
    policies = list(meta.get("policies") or pd.unique(res.summary["policy"]))
    classes = _class_of(meta, res.runs)
    order = _sku_order(res, classes)
    s = res.summary[res.summary["sku"] != "ALL"].set_index(["sku", "policy", "metric"])
    picks = {}
    for sku in order:
        means = {p: {m: float(s.loc[(sku, p, m), "mean"]) if (sku, p, m) in s.index
                     else math.nan for m in ("fill_rate", "total_cost")} for p in policies}
        means = {p: m for p, m in means.items() if math.isfinite(m["total_cost"])}
        if means:
            picks[sku] = _pick(means, min_fill_rate)
    descriptions = {str(x["id"]): str(x.get("description") or "")
                    for x in _scenario_dict(res.scenario_yaml).get("skus") or ()
                    if isinstance(x, dict) and "id" in x}
    parts = [
        "<p>Every SKU under every policy. Each cell: the mean per season ± the half-width "
        "of its 95 % confidence interval; below it, in blue, p5–p95 across seasons. "
        f"Shaded: the best policy for the SKU ({_e(_rule_text(min_fill_rate))}). SKUs are "
        "sorted by ABC class, then by revenue.</p>"
    ]
    for title, metrics in _SKU_TABLES:
        group_head = "".join(f'<th scope="colgroup" colspan="{len(policies)}" class="group">'
                             f"{_e(h)}</th>" for _, h, _ in metrics)
        pol_head = "".join(
            f'<th scope="col"{" class=first" if i == 0 else ""}>{_policy(p, colors)}</th>'
            for _ in metrics for i, p in enumerate(policies))
        thead = (f'<thead><tr><th scope="col" rowspan="2">SKU</th><th scope="col" '
                 f'rowspan="2">Class</th>{group_head}</tr><tr>{pol_head}</tr></thead>')
        body = []
        for sku in order:
            cells = []
            best = picks.get(sku, ("", False))[0]
            for metric, _, kind in metrics:
                for i, p in enumerate(policies):
                    css = (" first" if i == 0 else "") + (" best" if p == best else "")
                    key = (sku, p, metric)
                    cells.append(_compact_cell(s.loc[key], kind, currency, css)
                                 if key in s.index else f'<td class="num{css}">–</td>')
            desc = descriptions.get(sku, "")
            name = _e(sku) + (f'<br><small class="note">{_e(desc)}</small>' if desc else "")
            body.append(f'<tr><th scope="row">{name}</th><td>{_e(classes.get(sku, ""))}</td>'
                        f"{''.join(cells)}</tr>")
        shown, rest = body[:_SKU_ROWS_SHOWN], body[_SKU_ROWS_SHOWN:]
        table = (f'<div class="table-wrap"><table class="compact by-sku">{thead}<tbody>'
                 f"{''.join(shown)}</tbody></table></div>")
        if rest:
            table += (f'<details class="print-open"><summary>Show the other {len(rest)} '
                      f'SKUs</summary><div class="table-wrap"><table class="compact by-sku">'
                      f"{thead}<tbody>{''.join(rest)}</tbody></table></div></details>")
        parts.append(f"<h3>{_e(title)}</h3>{table}")
    parts.append(f'<p class="note">{_e(_cost_note(meta))}</p>')
    return "".join(parts)


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
        st = _stats(per_rep.to_numpy())  # Student t, as summary.csv
        if st["n"] == 0:
            continue
        mean, p5, p95 = st["mean"], st["p5"], st["p95"]
        half = (st["ci_high"] - st["ci_low"]) / 2 if st["n"] > 1 else math.nan
        points = _num((target - mean) * 100, 1)
        if mean >= target:
            verdict = "meets it"
        elif math.isfinite(half) and mean + half >= target:
            verdict = (f"short by {points} points, not distinguishable from the target "
                       "(its CI reaches it)")
        else:
            verdict = f"short by {points} points"
        label = f"class {cls}" if cls else "all"
        rows.append(
            f"<tr><td>{_policy(policy, colors)}</td><td>{_e(label)} "
            f"<small>({len(g)} SKU{'s' * (len(g) != 1)})</small></td>"
            f'<td class="num">{_e(_pct(target))}</td>'
            f"{_target_cells(mean, half, p5, p95)}<td>{_e(verdict)}</td></tr>"
        )
    return (
        '<div class="table-wrap"><table class="summary"><thead><tr><th scope="col">Policy'
        '</th><th scope="col">SKUs</th><th scope="col">Target</th><th scope="col">Achieved, '
        'mean over the SKUs (95 % CI)</th><th scope="col">p5 – p95 across replications</th>'
        '<th scope="col">'
        f"</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="note">The target is the cycle service level the policy sizes its buffer '
        "for: the chance that a replenishment cycle passes with no demand left unmet. "
        "Achieved: the share of such cycles, per SKU, averaged over the SKUs of the class "
        "(so it can differ from the summary table's cycle service level, which pools the "
        "cycles of all SKUs). Short by: in percentage points.</p>"
    )


def _target_cells(mean: float, half: float, p5: float, p95: float) -> str:
    """Cells of the targets table: achieved mean with its CI (cut at 0–100 %), p5–p95."""
    r = _bounded({"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "p5": p5,
                  "p95": p95}, "ratio")
    d = _base_decimals(mean, "ratio")
    ci = _interval(r["ci_low"], r["ci_high"], "ratio", "$", d)
    spread = _interval(p5, p95, "ratio", "$", d, "p5 = p95 = {}")
    return (f'<td class="num">{_e(_plain(mean, "ratio", "$", d))}<small>CI {_e(ci)}</small>'
            f'</td><td class="num">{_e(spread)}</td>')


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



def _figure_html(png: bytes, name: str, title: str, caption: str) -> str:
    """One embedded PNG with its caption."""
    data = base64.b64encode(png).decode()
    width = _css_width(png)
    size = f' width="{width}"' if width else ""
    return (f'<figure id="fig-{_e(name)}"><img src="data:image/png;base64,{data}"{size} '
            f'alt="{_e(title)}"><figcaption><strong>{_e(title)}</strong>{_e(caption)}'
            "</figcaption></figure>")


def _caption(name: str, skus: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """Title and reading guide of a chart (a plain title for a chart not listed)."""
    title, caption = CAPTIONS.get(name, (name.replace("_", " ").capitalize(), ""))
    if name == "inventory" and len(skus) > 1:
        caption += (" With several SKUs the chart shows the inventory value of all SKUs "
                    "(cash tied up), since units of different SKUs do not add up.")
    elif name == "inventory" and skus:
        caption += (f" The SKU shown is {skus[0]['id']}, in units. The thin dashed line in "
                    "the policy's colour is the median inventory position (on hand − "
                    "backorders + on order), what the policy reorders from. Black lines "
                    "are the policy's reorder point (dashed) and order-up-to level "
                    "(dotted), or its base-stock level (dash-dot) when the two coincide; "
                    "they apply to the inventory position, so on-hand stock normally "
                    "stays below them by the stock in transit.")
    return title, caption


def _figures(folder: Path, names: Sequence[str], skus: Sequence[Mapping[str, Any]]) -> str:
    """Every chart as an embedded PNG with its caption."""
    return "".join(_figure_html((folder / "figures" / f"{n}.png").read_bytes(), n,
                                *_caption(n, skus)) for n in names)


def _slides_figures(folder: Path, names: Sequence[str],
                    skus: Sequence[Mapping[str, Any]]) -> str:
    """Embed the slides charts (``figures/slides/*.png``): report order, then the rest."""
    found = {p.stem: p for p in sorted((folder / "figures" / "slides").glob("*.png"))}
    order = [n for n in names if n in found] + [n for n in found if n not in names]
    return "".join(_figure_html(found[n].read_bytes(), n,
                                *(SLIDE_CAPTIONS.get(n) or _caption(n, skus))) for n in order)


def _definitions(metrics: Sequence[str], meta: Mapping[str, Any] | None = None) -> str:
    """List the definition of every metric in the results that applies to the run."""
    names = [m for m in METRIC_DEFINITIONS if m in metrics] + [
        m for m in metrics if m not in METRIC_DEFINITIONS]
    if meta is not None:
        names = [m for m in names if _applies(m, meta)]
    rows = "".join(f'<tr><th scope="row"><code>{_e(m)}</code></th>'
                   f"<td>{_e(METRIC_DEFINITIONS.get(m, '(no definition)'))}</td></tr>"
                   for m in names)
    hidden = ""
    if meta is not None:
        left = [m for m in metrics if not _applies(m, meta)]
        if left:
            rule = "lost sales" if _unmet(meta) == "lost_sale" else "backorders"
            hidden = (f'<p class="note">Not shown, since unmet demand is handled by {rule} '
                      f"in this scenario: {_e(', '.join(left))} (still in runs.parquet).</p>")
    return (f"<p>{_e(_INTRO_DEFINITIONS)}</p><div class=\"table-wrap\"><table class=\"defs\">"
            f"<thead><tr><th>Metric</th><th>Definition</th></tr></thead><tbody>{rows}</tbody>"
            f"</table></div>{hidden}")


def _reproducibility(res: Any) -> str:
    """Versions, seed, replications, scenario hash, command, wall time; the YAML collapsed."""
    meta = res.metadata
    wall = meta.get("wall_time_s")
    facts = [
        ("Command", f"<code>{_e(meta.get('command', ''))}</code>"),
        ("Root seed", _e(meta.get("seed", ""))),
        ("Replications", _e(meta.get("replications", ""))),
        ("Scenario hash", f"<code>{_e(meta.get('scenario_hash', ''))}</code>"),
        ("Backend", f"{_e(meta.get('backend', ''))}, {_e(meta.get('workers', ''))} "
                    "worker(s)"),
        ("Engine", _e(f"{meta['engine']} ({meta.get('engine_reason', '')})"
                      if meta.get("engine") else "simpy")),
        ("Wall time", _e(f"{float(wall):.1f} s" if wall is not None else "")),
        ("Created", _e(meta.get("created", ""))),
    ]
    rows = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in facts)
    versions = meta.get("versions") or {}
    vlist = " · ".join(f"{_e(k)} <code>{_e(v)}</code>" for k, v in versions.items())
    yaml_text = getattr(res, "scenario_yaml", "") or ""
    lines = yaml_text.count("\n") + 1
    return (
        "<p>Results depend only on the scenario, the root seed and the replication index, "
        "whatever the backend or worker count: the command below, run on the scenario "
        "below with these versions, gives the same numbers.</p>"
        f'<div class="table-wrap"><table>{rows}</table></div>'
        f'<h3>Versions</h3><p class="versions">{vlist}</p>'
        '<h3>Resolved scenario</h3><details class="appendix">'
        f"<summary>scenario.yaml, as run ({lines} lines)</summary>"
        f"<pre>{_e(yaml_text)}</pre></details>"
    )


# ---------------------------------------------------------------------------- title block


_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def _logo_uri(path: Path | str) -> str:
    """Read a PNG, JPEG or SVG logo into a ``data:`` URI.

    An SVG is embedded as an ``<img>`` source, where browsers run no script and load
    nothing it references, and the page's CSP allows ``data:`` images only.

    Raises:
        ReportError: the file is missing, unreadable, or not a PNG, JPEG or SVG.

    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReportError(f"logo: no such file: {path}") from None
    except OSError as exc:
        raise ReportError(f"logo: cannot read {path} ({exc.strerror})") from None
    kind = next((k for magic, k in _IMAGE_TYPES if data.startswith(magic)), None)
    if kind is None and b"<svg" in data[:4096].lower():
        kind = "image/svg+xml"
    if kind is None:
        raise ReportError(f"logo: must be a PNG, JPEG or SVG file, got {path}")
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _title_info(res: Any, overrides: Mapping[str, str | None]) -> dict[str, str]:
    """Title, author, client and logo: the options over the scenario's ``report:`` block."""
    block = _scenario_dict(getattr(res, "scenario_yaml", "")).get("report") or {}
    block = block if isinstance(block, dict) else {}
    info = {k: str(block.get(k) or "") for k in ("title", "author", "client", "logo")}
    for key, value in overrides.items():
        if value is not None:
            info[key] = str(value)
    return info


def _title_block(meta: Mapping[str, Any], info: Mapping[str, str], logo_uri: str) -> str:
    """Render the page header: title, scenario, client, author, date, logo."""
    name = meta.get("scenario", "")
    title = info.get("title") or name
    credits = []
    if info.get("client"):
        credits.append(f"<span>Prepared for <strong>{_e(info['client'])}</strong></span>")
    if info.get("author"):
        credits.append(f"<span>by <strong>{_e(info['author'])}</strong></span>")
    created = str(meta.get("created", ""))[:10]
    if created:
        try:
            created = _date_text(date.fromisoformat(created))
        except ValueError:
            pass
        credits.append(f"<span>{_e(created)}</span>")
    logo = (f'<img class="logo" src="{logo_uri}" alt="{_e(info.get("client") or "logo")}">'
            if logo_uri else "")
    scenario = f"Scenario <code>{_e(name)}</code> · " if title != name else ""
    description = meta.get("description") or ""
    return (
        f'<header class="title"><div><p class="meta">Supply-chain policy report</p>'
        f"<h1>{_e(title)}</h1>"
        + (f'<p class="credits">{"".join(credits)}</p>' if credits else "")
        + f"</div>{logo}</header>"
        f'<p class="lede">{_e(description)}</p>'
        f'<p class="meta">{scenario}{_e(meta.get("replications", "?"))} simulated seasons × '
        f'{len(meta.get("policies") or [])} policies · {_e(meta.get("horizon_days", "?"))} '
        "days each</p>"
    )


# ---------------------------------------------------------------------------------- page


def _page(res: Any, folder: Path, names: Sequence[str], *, info: Mapping[str, str],
          logo_uri: str = "", slides: bool = False, min_fill_rate: float = 0.95) -> str:
    """Assemble the whole HTML page."""
    meta = res.metadata
    colors = policy_colors(meta.get("policies") or pd.unique(res.summary["policy"]))
    metrics = [c for c in res.runs.columns
               if c not in ("replication", "seed", "policy", "sku", "abc_class")]
    # define what the tables show: not a feature no policy used (all zero), nor "any SKU
    # short" with one SKU
    port = res.runs[res.runs["sku"] == "ALL"]
    metrics = [m for m in metrics
               if not (m in _ONLY_WHEN_NONZERO and not (port[m].abs() > 0).any())
               and not (m == "any_stockout_rate" and len(meta.get("skus") or ()) <= 1)]
    skus = meta.get("skus") or []
    groups = _class_groups(res, min_fill_rate) if len(skus) > 1 else {}
    several_classes = len(groups) > 1
    charts = (_slides_figures(folder, _slide_names(meta, names), skus) if slides
              else _figures(folder, names, skus))
    sections = [
        ("scenario", "Scenario", _scenario_section(meta, colors,
                                                     getattr(res, "scenario_yaml", ""))),
        ("findings", "Findings", _findings(res, colors, groups if several_classes else None,
                                           min_fill_rate)),
        ("summary", "Summary table", _summary_table(res, colors)),
        *((("targets", "Service targets", _targets(res, colors)),)
          if meta.get("service_targets") else ()),
        *((("classes", "By ABC class", _class_section(res, colors, groups, min_fill_rate)),)
          if several_classes else ()),
        *((("skus", "By SKU", _sku_section(res, colors, min_fill_rate)),)
          if len(skus) > 1 else ()),
        ("charts", "Charts", charts),
        ("definitions", "Metric definitions", _definitions(metrics, meta)),
        ("reproducibility", "Appendix: reproducibility", _reproducibility(res)),
    ]
    toc = "".join(f'<li><a href="#{sid}">{_e(title)}</a></li>' for sid, title, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{content}</section>'
                   for sid, title, content in sections)
    title = info.get("title") or meta.get("scenario", folder.name)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} — supplysim report</title><style>{_CSS}</style></head>"
        f'<body{" class=slides" if slides else ""}><main>'
        f"{_title_block(meta, info, logo_uri)}"
        f'<nav aria-label="Contents"><ol>{toc}</ol></nav>'
        f"{body}"
        "<footer>Generated by supplysim. This page is self-contained: it loads nothing "
        "from the network or the disk.</footer>"
        "</main></body></html>\n"
    )


def _ensure_slides(folder: Path) -> None:
    """Draw the slides charts into ``figures/slides/`` unless they are there already."""
    if not any((folder / "figures" / "slides").glob("*.png")):
        make_figures(folder, formats=("png",), style="slides")


def _slide_names(meta: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """List the slides charts in the charts module's order."""
    return list(charts_for(meta, style="slides"))


def build_report(
    folder: Path | str,
    *,
    title: str | None = None,
    author: str | None = None,
    client: str | None = None,
    logo: Path | str | None = None,
    style: str = "default",
    min_fill_rate: float = 0.95,
) -> Path:
    """Write ``folder/report.html``, drawing the charts first if any are missing.

    Args:
        folder: A results folder (see README, "a results folder").
        title: Title of the page; by default the scenario's ``report.title``, else its
            name.
        author: Who prepared the report (over the scenario's ``report.author``).
        client: Who it is for (over the scenario's ``report.client``).
        logo: A PNG, JPEG or SVG file shown in the title block, embedded in the page
            (over the scenario's ``report.logo``).
        style: ``"default"`` (the report's charts) or ``"slides"`` (the large-type charts
            of ``figures/slides/``, drawn if missing).
        min_fill_rate: Fill-rate floor of the rule that picks the best policy per class
            and per SKU (the cheapest policy reaching it).

    Returns:
        The path of the report.

    Raises:
        ReportError: a ``logo`` that cannot be read, or an unknown style. The
            scenario's own logo, when it cannot be read, is left out with a warning.

    """
    folder = Path(folder)
    if style not in ("default", "slides"):
        raise ReportError(f"style: must be 'default' or 'slides', got {style!r}")
    if not 0 <= min_fill_rate <= 1:
        raise ReportError(f"min_fill_rate: must be between 0 and 1, got {min_fill_rate}")
    res = load(folder)
    info = _title_info(res, {"title": title, "author": author, "client": client,
                             "logo": None if logo is None else str(logo)})
    logo_uri = ""
    if logo is not None:
        logo_uri = _logo_uri(logo)  # asked for by name: a bad file is an error
    elif info.get("logo"):
        try:
            logo_uri = _logo_uri(info["logo"])
        except ReportError as exc:
            # The scenario's logo gone since the run must not cost the run its report
            # (run builds the report after simulating): leave it out, say so.
            warnings.warn(f"report.{exc} (left out of the report)", stacklevel=2)
    names = charts_for(res.metadata)
    if style == "slides":
        _ensure_slides(folder)
    elif any(not (folder / "figures" / f"{n}.png").exists() for n in names):
        make_figures(folder, formats=("png",))
    page = _page(res, folder, names, info=info, logo_uri=logo_uri, slides=style == "slides",
                 min_fill_rate=min_fill_rate)
    out = folder / "report.html"
    tmp = folder / ".report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)  # never leave a half-written report behind
    return out


# ------------------------------------------------------------------------------------ PDF


_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Return the path of a Chromium (or Chrome) executable on PATH, or None."""
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdf(folder: Path | str, html_path: Path | str | None = None,
              timeout: float = 180) -> Path:
    """Print ``report.html`` to ``folder/report.pdf`` with headless Chromium.

    The PDF appears whole or not at all: Chromium writes a temporary file in the folder
    that is renamed into place once it is complete.

    Args:
        folder: The results folder holding ``report.html``.
        html_path: The page to print (default ``folder/report.html``).
        timeout: Seconds to wait for Chromium.

    Returns:
        The path of the PDF.

    Raises:
        ReportError: Chromium is not installed, fails, or writes no PDF.

    """
    folder = Path(folder)
    page = Path(html_path) if html_path is not None else folder / "report.html"
    chromium = find_chromium()
    if chromium is None:
        raise ReportError("--pdf: needs Chromium on PATH (e.g. apt-get install chromium); "
                          "or open report.html in a browser and print it to PDF")
    out = folder / "report.pdf"
    tmp = folder / ".report.pdf.tmp"
    with tempfile.TemporaryDirectory(prefix="supplysim-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", f"--print-to-pdf={tmp}",
               "--no-pdf-header-footer", page.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired:
            tmp.unlink(missing_ok=True)
            raise ReportError(f"--pdf: Chromium did not finish in {timeout:.0f} s") from None
    ok = tmp.is_file() and tmp.read_bytes()[:5] == b"%PDF-"
    if done.returncode != 0 or not ok:
        tmp.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ReportError(f"--pdf: Chromium wrote no PDF (exit {done.returncode}: {last})")
    os.replace(tmp, out)
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
