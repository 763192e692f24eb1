"""Charts of a results folder: one function per chart, plus a driver that writes them all.

Every chart function takes plain data (DataFrames from the results folder, the policy
order, the calendar) and an optional ``ax``/``axes``, draws on it and returns it, in the
Mesa style: no model imports, no file I/O. :func:`make_figures` reads a results folder and
writes ``figures/<name>.<format>`` for each applicable chart (:func:`charts_for`).

Conventions shared by all charts:

- One colour per policy everywhere (:func:`policy_colors`, the Okabe-Ito palette, which
  stays distinguishable under the common colour-vision deficiencies), assigned in the
  run's policy order, so the baseline is always the first colour.
- Ratios are stored as fractions and shown as %; money carries the run's currency.
- Titles name the measure and, for service levels, the definition used.
- Confidence intervals are 95 % intervals of the mean across replications; where
  ``summary.csv`` is given its intervals are used, so charts and tables agree.

The driver builds figures with :class:`matplotlib.figure.Figure` directly rather than
through ``pyplot``, so no GUI backend is touched and nothing lingers in pyplot's figure
registry; chart functions only import ``pyplot`` when asked to create their own axes.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, MaxNLocator, PercentFormatter

__all__ = [
    "CHARTS",
    "SLIDE_CHARTS",
    "SLIDE_SIZE",
    "STYLES",
    "METRIC_TITLES",
    "PALETTE",
    "PointLabels",
    "WindowLabels",
    "calendar_windows",
    "cash_headline",
    "charts_for",
    "draw_figures",
    "cost_headline",
    "figures_dir",
    "inventory_headline",
    "make_figures",
    "plot_cash_position",
    "plot_abc_classes",
    "plot_cash_over_time",
    "plot_cost_breakdown",
    "plot_differences",
    "plot_distributions",
    "plot_inventory",
    "plot_sku_heatmap",
    "plot_tradeoff",
    "policy_colors",
    "policy_label",
    "review_rhythms",
    "slide_cash",
    "slide_costs",
    "slide_inventory",
    "slide_tradeoff",
    "stockout_label",
    "tradeoff_headline",
]

#: Okabe-Ito colour-blind-safe palette, yellow last because it is faint on white.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#000000",  # black
    "#F0E442",  # yellow
)

#: Chart titles: what is measured and, for service levels, which definition.
METRIC_TITLES = {
    "fill_rate": "Fill rate (type 2: units served from stock ÷ units demanded)",
    "stockout_rate": "Stockout rate (days with demand not served at once ÷ days)",
    "total_cost": "Total cost per replication (holding + ordering + shortage [+ expediting])",
    "cash_tied_up": "Cash tied up (mean end-of-day inventory value at cost)",
}

#: Figure names written by :func:`make_figures`, in report order.
CHARTS = (
    "tradeoff",
    "distributions",
    "inventory",
    "cash_over_time",
    "cash_position",
    "cost_breakdown",
    "differences",
    "abc_classes",
    "sku_heatmap",
)

_RATIOS = {"fill_rate", "order_fill_rate", "stockout_rate", "any_stockout_rate", "p_backorder_end"}
_MONEY = {"total_cost", "holding_cost", "ordering_cost", "shortage_cost", "expedite_cost",
          "cash_tied_up", "cash_tied_up_peak", "cash_in_pipeline"}
_SHORT_NAMES = {
    "fill_rate": "Fill rate (type 2)",
    "stockout_rate": "Stockout days (share)",
    "total_cost": "Total cost",
    "cash_tied_up": "Cash tied up",
}
_COST_PARTS = (
    ("holding_cost", "Holding", "#3d3d3d", None),
    ("ordering_cost", "Ordering", "#8c8c8c", None),
    ("shortage_cost", "Shortage", "#d4d4d4", "xx"),
    ("expedite_cost", "Expediting", "#ffffff", ".."),
    ("write_off_cost", "Written off (expired, obsolete)", "#a6611a", "//"),
    ("leftover_cost", "Leftover at the horizon", "#dfc27d", "\\\\"),
)
_COST_WORDS = {"holding_cost": "holding cost", "ordering_cost": "ordering cost",
               "shortage_cost": "shortage cost", "expedite_cost": "expediting",
               "write_off_cost": "write-offs", "leftover_cost": "leftover stock"}
"""How a headline names the cost part that dominates."""
_OPTIONAL_COSTS = {"expedite_cost", "write_off_cost", "leftover_cost"}
"""Cost parts drawn only when some policy incurred them (and, for the leftover, only
when the scenario counts it in the total cost)."""
_BASELINE_MARKER = "s"
"""The baseline's marker in every chart that marks points or lines (others: circles)."""
_CAMPAIGN_COLOR = "#F0E442"
_DISRUPTION_COLOR = "#7f7f7f"
_SAMPLE_COLOR = "#333333"


# ---------------------------------------------------------------------------- helpers


_FIXED_COLORS = {"jit": 0, "safety_stock": 1, "hybrid": 2, "r_Q": 3, "base_stock": 4,
                 "s_S": 5}  # fmt: skip
"""Palette slots of the usual policy names: the same colour in every run and chart."""


OTHER_COLORS = (
    "#882255",  # wine
    "#332288",  # indigo
    "#999933",  # olive
    "#8C510A",  # brown
    "#2F4F4F",  # dark slate (black would read as plain text in a legend)
    "#117777",  # dark teal
    "#6A3D9A",  # dark purple
)
"""Colours of policy names outside the usual ones: unlike any of theirs, so a chart never
confuses a custom policy with ``jit`` or ``safety_stock``."""


def policy_colors(policies: Iterable[str]) -> dict[str, str]:
    """Assign each policy a colour that depends on its name only, not on the run.

    The usual names have fixed colours (jit blue, safety_stock orange, hybrid green,
    …); any other name takes the colour of :data:`OTHER_COLORS` given by a hash of the
    name. So charts of different runs colour a policy the same way whatever its order
    and whichever other policies ran, with one exception: two other names whose hashes
    meet in one run (one chance in seven per pair) cannot share a colour, and the second
    in sorted order takes the next free one. Past every colour, the palette repeats.

    Args:
        policies: Policy names.

    Returns:
        Mapping policy name -> hex colour.

    """
    names = list(dict.fromkeys(policies))
    out = {p: PALETTE[_FIXED_COLORS[p]] for p in names if p in _FIXED_COLORS}
    spare = [c for c in OTHER_COLORS] + [PALETTE[i] for i in range(len(PALETTE))
                                         if i not in _FIXED_COLORS.values()]  # fmt: skip
    used = set(out.values())
    n = len(OTHER_COLORS)
    for p in sorted(x for x in names if x not in out):
        start = zlib.crc32(p.encode()) % n
        ring = [OTHER_COLORS[(start + j) % n] for j in range(n)] + spare[n:]
        ring += [c for c in PALETTE if c not in ring]
        free = [c for c in ring if c not in used]
        color = free[0] if free else ring[len(used) % len(ring)]
        out[p] = color
        used.add(color)
    return {p: out[p] for p in names}


def policy_label(policy: str, baseline: str | None, sep: str = " ") -> str:
    """Return a policy's name as charts print it: ``jit (baseline)`` for the baseline.

    The baseline is marked in words (and, where points or lines are drawn, by a square
    marker), never by colour alone: colours belong to the policy's name.
    """
    return f"{policy}{sep}(baseline)" if baseline is not None and policy == baseline else policy


def _marker(policy: str, baseline: str | None) -> str:
    """Square for the baseline, circle for the others."""
    return _BASELINE_MARKER if baseline is not None and policy == baseline else "o"


def _sku_count(frame: pd.DataFrame) -> int:
    """Count the SKUs in a runs or daily frame (the portfolio rows not counted)."""
    return int(frame.loc[frame["sku"] != "ALL", "sku"].nunique())


def stockout_label(n_skus: int) -> str:
    """Label the portfolio ``stockout_rate`` axis honestly: what it is a share of.

    With several SKUs the portfolio rate is the demand-weighted mean of the SKUs'
    shares of stockout days, i.e. a share of SKU-days, not of calendar days.
    """
    if n_skus > 1:
        return "Stockout days (% of SKU-days, demand-weighted)"
    return "Stockout days (% of days)"


def _policies(frame: pd.DataFrame, policies: Sequence[str] | None) -> list[str]:
    """Return the policy order to draw: the given one restricted to policies present."""
    present = list(pd.unique(frame["policy"]))
    if policies is None:
        return present
    return [p for p in policies if p in present]


def _with_currency(body: str, currency: str, negative: bool, plus: bool = False) -> str:
    """Attach sign and currency: ``−$1.2k`` for a symbol, ``−1.2k EUR`` for a code."""
    sign = "−" if negative else ("+" if plus else "")
    if len(currency) <= 1:
        return f"{sign}{currency}{body}"
    return f"{sign}{body} {currency}"


def _money_text(value: float, currency: str, plus: bool = False) -> str:
    """Format one amount compactly: ``$1,234``, ``$12.3k``, ``$4.56M``."""
    v = abs(value)
    if v >= 1e6:
        body = f"{v / 1e6:.3g}M"
    elif v >= 1e4:
        body = f"{v / 1e3:.3g}k"
    else:
        body = f"{v:,.0f}"
    return _with_currency(body, currency, value < 0, plus and value > 0)


def _signed(value: float, fmt: str) -> str:
    """Format with an explicit sign and a true minus sign (U+2212)."""
    return format(value, "+" + fmt).replace("-", "−")


class _MoneyFormatter(Formatter):
    """Currency tick labels with one scale (k, M) and precision for the whole axis."""

    def __init__(self, currency: str):
        self.currency = currency
        self._scale, self._suffix, self._decimals = 1.0, "", 0

    def set_locs(self, locs):
        """Pick the scale and decimals from all tick positions at once."""
        super().set_locs(locs)
        top = max((abs(v) for v in locs), default=0.0)
        self._scale, self._suffix = ((1e6, "M") if top >= 1e6 else
                                     (1e3, "k") if top >= 1e4 else (1.0, ""))
        scaled = [v / self._scale for v in locs]
        self._decimals = next((d for d in range(4)
                               if all(abs(v * 10**d - round(v * 10**d)) < 1e-6
                                      for v in scaled)), 3)

    def __call__(self, x, pos=None):
        """Format one tick."""
        if abs(x) < 1e-12:
            return _with_currency("0", self.currency, False)
        body = f"{abs(x) / self._scale:,.{self._decimals}f}{self._suffix}"
        return _with_currency(body, self.currency, x < 0)


def _money_axis(axis, currency: str) -> None:
    """Tick labels in currency on an x or y axis."""
    axis.set_major_formatter(_MoneyFormatter(currency))


def _pct_axis(axis, decimals: int | None = None) -> None:
    """Tick labels as % for values stored as fractions."""
    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))


def _t_ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and t-based 95 % CI of the mean, ignoring non-finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if n < 2:
        return mean, mean, mean
    from scipy import stats  # lazily: only when no summary.csv interval is available

    half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def _mean_ci(
    runs: pd.DataFrame, summary: pd.DataFrame | None, policy: str, metric: str, sku: str = "ALL"
) -> tuple[float, float, float]:
    """Mean and 95 % CI of a metric: from ``summary.csv`` when given, else computed."""
    if summary is not None:
        row = summary[(summary["policy"] == policy) & (summary["sku"] == sku)
                      & (summary["metric"] == metric)]
        if len(row):
            r = row.iloc[0]
            return float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])
    sel = runs[(runs["policy"] == policy) & (runs["sku"] == sku)]
    return _t_ci(sel[metric].to_numpy())


def _new_axes(nrows: int = 1, ncols: int = 1, figsize=None, **kwargs):
    """Create a figure through pyplot (only for interactive use, when no axes given)."""
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **kwargs)
    return axes


def _portfolio(runs: pd.DataFrame) -> pd.DataFrame:
    """Select the portfolio rows (``sku == "ALL"``) of runs."""
    return runs[runs["sku"] == "ALL"]


_SUFFIX = re.compile(r"^(?P<base>.*?) \((?P<who>[^()]*)\)$")


def _merged_label(labels: Sequence[str], group: str) -> str:
    """One label for windows with the same dates: ``black friday ×3 (GREEN, OOLONG)``.

    Labels are read as ``<what> (<who>)`` (the scenario appends the SKU to a campaign and
    the supplier to a disruption); the same ``what`` for several ``who`` is written once
    with them listed, or counted (``(3 SKUs)``) when the list would be long.
    """
    bases: dict[str, list[str]] = {}
    for label in dict.fromkeys(labels):
        m = _SUFFIX.match(label)
        base, who = (m["base"], m["who"]) if m else (label, "")
        bases.setdefault(base, [])
        if who and who not in bases[base]:
            bases[base].append(who)
    noun = "SKUs" if group == "campaign" else "suppliers"
    parts = []
    for base, who in bases.items():
        listed = ", ".join(who)
        if len(who) > 2 or len(listed) > 28:
            listed = f"{len(who)} {noun}"
        parts.append(f"{base} ({listed})" if who else base)
    return " + ".join(parts)


def calendar_windows(calendar: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Normalise calendar entries into shading windows, one per group and dates.

    Windows of the same group (campaign or disruption) with the same start and end are
    merged into one, whose label names them all: a campaign run on two SKUs on the same
    dates is one window labelled ``black friday ×3 (GREEN-100G, OOLONG-100G)``, not two
    labels printed on top of each other.

    Args:
        calendar: ``metadata["calendar"]`` entries with ``kind``, ``start_day``,
            ``end_day`` and ``label``.

    Returns:
        Dicts with ``start``, ``end`` (day numbers, end exclusive), ``group``
        (``"campaign"`` or ``"disruption"``), ``label`` and ``labels`` (the labels
        merged into it), in calendar order of first appearance.

    """
    merged: dict[tuple, dict[str, Any]] = {}
    for w in calendar or ():
        group = "campaign" if w.get("kind") == "campaign" else "disruption"
        key = (group, float(w["start_day"]), float(w["end_day"]))
        entry = merged.setdefault(key, {"start": key[1], "end": key[2], "group": group,
                                        "labels": []})
        entry["labels"].append(str(w.get("label") or w.get("kind", "")))
    for w in merged.values():
        w["label"] = _merged_label(w["labels"], w["group"])
    return list(merged.values())


def _day_to_x(daily: pd.DataFrame):
    """Return a function mapping day numbers to x values (dates when present)."""
    if "date" in daily.columns and len(daily):
        first = daily.sort_values("day").iloc[0]
        origin = pd.Timestamp(first["date"]) - pd.Timedelta(days=int(first["day"]))
        return lambda d: origin + pd.to_timedelta(np.asarray(d, dtype=float), unit="D")
    return lambda d: np.asarray(d, dtype=float)


_ROW_PITCH = 1.3
"""Rows of labels this many text heights apart: browsers' text boxes are taller than
matplotlib's (line height), and a little air reads better."""


class WindowLabels(Artist):
    """Lays out the labels of calendar windows when the axes is drawn, so none overlap.

    Text widths and the axes' size are only known once the figure is laid out, so the
    layout runs at draw time, before anything else on the axes is drawn: each label
    starts at its window's left edge (moved left if it would leave the axes), and takes
    the highest row at the top of the axes where it overlaps no label already placed.
    Longer windows are placed first, so when labels would need more than ``max_rows``
    rows it is the labels of the shortest windows that are hidden. The y limit is then
    raised just enough that the rows sit above the data the axes had before, so labels
    never cover a line. Idempotent: drawing again gives the same layout.
    """

    def __init__(self, items, max_rows: int = 4, gap_points: float = 6.0):
        """Keep ``(span, annotation, days)`` triples: the window's patch, label, length."""
        super().__init__()
        self.items = list(items)
        self.max_rows = max_rows
        self.gap_points = gap_points
        self.rows: list[int] = []
        self._limits: tuple[float, float] | None = None
        self.set_zorder(-1e6)  # drawn first among the axes' artists
        self.set_in_layout(False)

    def draw(self, renderer):
        """Place every label, hide the ones that do not fit, make room above the data."""
        ax = self.axes
        if ax is None or not self.items:
            return
        px = renderer.points_to_pixels(1.0)
        box = ax.get_window_extent(renderer)
        pad, gap = 3.0 * px, self.gap_points * px
        placed = []
        for i, (span, text, days) in enumerate(self.items):
            text.set_visible(True)
            text.xyann = (0.0, -2.0)
            window = span.get_window_extent(renderer)
            ext = text.get_window_extent(renderer)
            left = max(min(window.x0 + pad, box.x1 - pad - ext.width), box.x0 + pad)
            placed.append(((-days, window.x0, i), left, left + ext.width, ext.height,
                           window.x0, text))
        # Longest window first, then leftmost; days, not pixels, so ties stay ties when
        # the layout shifts by a fraction of a pixel between two draws.
        placed.sort(key=lambda p: p[0][0::2])
        rows: list[list[tuple[float, float]]] = []
        self.rows = []
        height = max(p[3] for p in placed)
        for _, left, right, _, anchor, text in placed:
            row = next((r for r, spans in enumerate(rows)
                        if all(right + gap <= a or b + gap <= left for a, b in spans)),
                       len(rows))
            if row == len(rows):
                rows.append([])
            rows[row].append((left, right))
            self.rows.append(row)
            if row >= self.max_rows:
                text.set_visible(False)
                continue
            text.xyann = ((left - anchor) / px, -(pad + row * height * _ROW_PITCH) / px)
        used = min(len(rows), self.max_rows)
        if self._limits is None:
            self._limits = ax.get_ylim()
        low, high = self._limits
        band = min((2 * pad + used * height * _ROW_PITCH) / max(box.height, 1.0), 0.5)
        ax.set_ylim(low, low + (high - low) / (1.0 - band))
        self.stale = False


class PointLabels(Artist):
    """Moves the names written beside points at draw time so that no two overlap.

    Each label tries, in order, above right of its point, below right, above left,
    below left, then further above and below, and takes the first place where it
    overlaps no label already placed and no labelled point, and stays inside the axes
    (labels are placed in order of their points, left to right). If none is free it
    keeps the first place.
    """

    _PLACES = tuple((dx, dy, "left" if dx > 0 else "right", "bottom" if dy > 0 else "top")
                    for dy in (6, -6, 20, -20, 34, -34) for dx in (8, -8))

    def __init__(self, texts):
        """Keep the annotations to place (each anchored at its point)."""
        super().__init__()
        self.texts = list(texts)
        self.set_zorder(-1e6)  # before the labels are drawn
        self.set_in_layout(False)

    def draw(self, renderer):
        """Place every label in the first free spot around its point."""
        ax = self.axes
        if ax is None:
            return
        from matplotlib.transforms import Bbox

        box = ax.get_window_extent(renderer)
        r = renderer.points_to_pixels(6.0)  # about a marker's half width
        points = [ax.transData.transform(t.xy) for t in self.texts]
        placed = [Bbox([[x - r, y - r], [x + r, y + r]]) for x, y in points]
        for text in sorted(self.texts, key=lambda t: t.xy[0]):
            best = None
            for dx, dy, ha, va in self._PLACES:
                text.xyann = (dx, dy)
                text.set_ha(ha)
                text.set_va(va)
                ext = text.get_window_extent(renderer)
                inside = (box.x0 <= ext.x0 and ext.x1 <= box.x1 and box.y0 <= ext.y0
                          and ext.y1 <= box.y1)
                if inside and not any(ext.overlaps(other) for other in placed):
                    best = (dx, dy, ha, va)
                    break
            dx, dy, ha, va = best or self._PLACES[0]
            text.xyann = (dx, dy)
            text.set_ha(ha)
            text.set_va(va)
            placed.append(text.get_window_extent(renderer))
        self.stale = False


def _shade_calendar(ax: Axes, windows, to_x, horizon: float, annotate: bool,
                    fontsize: float = 7.5, max_rows: int = 4) -> list:
    """Shade calendar windows on ``ax``; return legend handles for the groups drawn.

    With ``annotate``, each window's label is written at the top of the axes by a
    :class:`WindowLabels` layout (stacked, never overlapping).
    """
    seen = {}
    items = []
    for w in windows:
        start, end = max(w["start"], 0.0), min(w["end"], horizon)
        if end <= start:
            continue
        x0, x1 = to_x([start, end])
        if w["group"] == "campaign":
            style = {"color": _CAMPAIGN_COLOR, "alpha": 0.35, "lw": 0}
            seen.setdefault("campaign", Patch(label="Campaign (demand uplift)", **style))
        else:
            style = {"facecolor": _DISRUPTION_COLOR, "alpha": 0.22, "hatch": "//",
                     "edgecolor": _DISRUPTION_COLOR, "lw": 0}
            seen.setdefault("disruption", Patch(label="Supply disruption", **style))
        span = ax.axvspan(x0, x1, zorder=0, **style)
        if annotate:
            text = ax.annotate(w["label"], xy=(x0, 1.0), xycoords=("data", "axes fraction"),
                               xytext=(2, -2), textcoords="offset points", va="top",
                               ha="left", fontsize=fontsize, color="#333333", clip_on=True,
                               gid="window-label")
            items.append((span, text, end - start))
    if items:
        ax.add_artist(WindowLabels(items, max_rows=max_rows))
    return [seen[k] for k in ("campaign", "disruption") if k in seen]


def _concise(locator) -> ConciseDateFormatter:
    """Concise date labels whose corner note is the year only (not ``2026-May``)."""
    return ConciseDateFormatter(locator, offset_formats=["", "%Y", "%Y", "%Y", "%Y",
                                                         "%Y-%m-%d"])


def _date_axis(ax: Axes, daily: pd.DataFrame, maxticks: int = 10) -> None:
    """Concise date ticks when the x axis is dates, else a plain day label."""
    if "date" in daily.columns:
        locator = AutoDateLocator(minticks=3, maxticks=maxticks)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(_concise(locator))
    else:
        ax.set_xlabel("Day")


def _ink(color: str) -> str:
    """Black or white text, whichever reads better on ``color``."""
    r, g, b = to_rgb(color)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


# ----------------------------------------------------------------------------- charts


def plot_tradeoff(
    runs: pd.DataFrame,
    summary: pd.DataFrame | None = None,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    currency: str = "$",
    axes: Sequence[Axes] | None = None,
    metrics: Sequence[str] = ("cash_tied_up", "total_cost"),
) -> np.ndarray:
    """Cash tied up and total cost (or other money metrics) against stockout rate.

    One large point per policy at the mean with 95 % CI bars on both axes; one faint
    dot per replication behind it shows the spread a single season could land in.
    Portfolio level. ``metrics`` picks the y of each panel among
    :data:`TRADEOFF_PANELS` (``write_off_cost`` and ``leftover_value`` show the other
    fear, overbuying).

    Args:
        runs: ``runs.parquet`` rows (the ``sku == "ALL"`` rows are used).
        summary: ``summary.csv``; its intervals are used when given.
        policies: Policy order (default: order of appearance).
        baseline: The baseline policy, drawn with a square and named "(baseline)".
        currency: Currency symbol or code for the axes.
        axes: One axis per metric; created when omitted.
        metrics: The money metric of each panel.

    Returns:
        The axes as an array.

    """
    n = len(metrics)
    axes = np.asarray(_new_axes(1, n, figsize=(5.5 * n, 4.5)) if axes is None else axes).ravel()
    data = _portfolio(runs)
    order = _policies(data, policies)
    colors = policy_colors(policies or order)
    xlabel = stockout_label(_sku_count(runs))
    panels = [(m, TRADEOFF_PANELS[m]) for m in metrics]
    for ax, (metric, label) in zip(axes, panels, strict=True):
        names = []
        for policy in order:
            sel = data[data["policy"] == policy]
            ax.scatter(sel["stockout_rate"], sel[metric], s=10, color=colors[policy],
                       alpha=0.18, lw=0, zorder=1)
        for policy in order:
            x, x_lo, x_hi = _mean_ci(runs, summary, policy, "stockout_rate")
            y, y_lo, y_hi = _mean_ci(runs, summary, policy, metric)
            base = policy == baseline
            ax.errorbar(x, y, xerr=[[x - x_lo], [x_hi - x]], yerr=[[y - y_lo], [y_hi - y]],
                        fmt=_marker(policy, baseline), ms=9 if base else 8,
                        color=colors[policy], mec="black" if base else "white",
                        mew=1.4 if base else 1.2, elinewidth=1.8, capsize=4, zorder=3,
                        label=policy_label(policy, baseline))
            names.append(ax.annotate(policy_label(policy, baseline), (x, y), xytext=(8, 6),
                                     textcoords="offset points", fontsize=9,
                                     color=colors[policy], fontweight="bold", zorder=4))
        ax.add_artist(PointLabels(names))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{label} ({currency})")
        ax.set_title(f"{label.split(',')[0]} vs stockout days", fontsize=11)
        _pct_axis(ax.xaxis)
        _money_axis(ax.yaxis, currency)
        ax.grid(alpha=0.3)
        ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
    axes[0].legend(title="Policy (mean, 95 % CI)", fontsize=8, title_fontsize=8, loc="best")
    axes[0].figure.suptitle("Trade-off, all SKUs: one faint dot per replication, "
                            "large dot = mean with 95 % CI (lower left is better)")
    return axes


TRADEOFF_PANELS = {
    "cash_tied_up": "Cash tied up, mean inventory value",
    "total_cost": "Total cost per replication",
    "write_off_cost": "Written off, at cost less salvage",
    "leftover_value": "Leftover stock at the horizon, at cost",
    "working_capital_peak": "Peak working capital, stock + on order",
}
"""Money metrics the trade-off chart can put against stockout days, with their titles."""


def overbuying_metrics(runs: pd.DataFrame) -> list[str]:
    """List the overbuying panels a run needs: ``write_off_cost`` if anything was written off."""
    col = "write_off_cost"
    return [col] if col in runs and (runs[col].fillna(0) > 0).any() else []


def plot_distributions(
    runs: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    currency: str = "$",
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Box plots across replications of four key portfolio metrics, 2 x 2.

    Boxes span the 25th-75th percentile, whiskers 1.5 IQR, a white diamond marks the
    mean; one box per policy in its colour.

    Args:
        runs: ``runs.parquet`` rows (the ``sku == "ALL"`` rows are used).
        policies: Policy order (default: order of appearance).
        baseline: The baseline policy, named "(baseline)" under its box.
        currency: Currency symbol or code for the money panels.
        axes: Four axes; created (2 x 2) when omitted.

    Returns:
        The four axes as a flat array.

    """
    axes = np.asarray(_new_axes(2, 2, figsize=(11, 8)) if axes is None else axes).ravel()
    data = _portfolio(runs)
    order = _policies(data, policies)
    colors = policy_colors(policies or order)
    multi = _sku_count(runs) > 1
    for ax, metric in zip(axes, ("fill_rate", "stockout_rate", "total_cost", "cash_tied_up"),
                          strict=True):
        values = [data.loc[data["policy"] == p, metric].dropna().to_numpy() for p in order]
        box = ax.boxplot(values, positions=np.arange(len(order)), widths=0.55,
                         patch_artist=True, showmeans=True, showfliers=True,
                         meanprops={"marker": "D", "markerfacecolor": "white",
                                    "markeredgecolor": "black", "markersize": 5},
                         medianprops={"color": "black", "lw": 1.5},
                         flierprops={"marker": ".", "markersize": 4, "alpha": 0.5})
        for patch, policy in zip(box["boxes"], order, strict=True):
            patch.set_facecolor(colors[policy])
            patch.set_alpha(0.75)
            patch.set_label(policy)
        ax.set_xticks(np.arange(len(order)), [policy_label(p, baseline, "\n") for p in order])
        for tick, policy in zip(ax.get_xticklabels(), order, strict=True):
            tick.set_color(colors[policy])
            tick.set_fontweight("bold")
        title = METRIC_TITLES[metric]
        if metric == "stockout_rate" and multi:
            title = "Stockout rate (SKUs' shares of stockout days, demand-weighted)"
        ax.set_title(title, fontsize=10)
        ylabel = {"fill_rate": "% of units demanded",
                  "stockout_rate": "% of SKU-days" if multi else "% of days",
                  "total_cost": f"{currency} per replication (whole horizon)",
                  "cash_tied_up": f"{currency} (mean over the horizon)"}
        ax.set_ylabel(ylabel[metric])
        if metric in _RATIOS:
            _pct_axis(ax.yaxis)
        else:
            _money_axis(ax.yaxis, currency)
        ax.grid(axis="y", alpha=0.3)
    axes[0].figure.suptitle("Spread across replications, all SKUs "
                            "(box = middle 50 %, line = median, ◇ = mean)")
    return axes


def plot_inventory(
    daily: pd.DataFrame,
    *,
    sku: str = "ALL",
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    notes: Mapping[str, str] | None = None,
    calendar: Iterable[Mapping[str, Any]] | None = None,
    currency: str = "$",
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Inventory over time, one panel per policy with shared axes.

    For a SKU id: end-of-day on-hand units, and a thin line for the median inventory
    position (on hand − backorders + on order, what the policy reorders from), so a
    reorder level far above the stock on hand is explained by the stock in transit;
    for ``"ALL"``: inventory value (``cash_tied_up``), since units of different SKUs do
    not add up meaningfully (and there is no inventory position line). Each panel
    shows the median across replications, the 50 % and 90 % bands, one sample path
    (replication 0), the reorder point and order-up-to level where the policy has them,
    and the calendar windows shaded.

    Args:
        daily: ``daily.parquet`` rows (a folder written before the inventory position
            was recorded has no ``inventory_position_*`` columns: no line then).
        sku: SKU id to show, or ``"ALL"`` for the portfolio's inventory value.
        policies: Policy order (default: order of appearance).
        baseline: The baseline policy, named "(baseline)" in its panel title.
        notes: Per policy, a note for its panel title (e.g. its review rhythm).
        calendar: ``metadata["calendar"]`` entries to shade.
        currency: Currency for the value (``"ALL"``) view.
        axes: One axis per policy; created (stacked, shared) when omitted.

    Returns:
        The axes as a flat array.

    """
    data = daily[daily["sku"] == sku].sort_values("day")
    order = _policies(data, policies)
    if axes is None:
        axes = _new_axes(len(order), 1, figsize=(11, 2.4 * len(order) + 1),
                         sharex=True, sharey=True, squeeze=False)
    axes = np.asarray(axes).ravel()
    colors = policy_colors(policies or order)
    value = sku == "ALL"
    m = "cash_tied_up" if value else "on_hand"
    position = not value and "inventory_position_p50" in data
    to_x = _day_to_x(data)
    windows = calendar_windows(calendar)
    horizon = float(data["day"].max() + 1) if len(data) else 0.0
    grey = "#707070"
    # Legend proxies in neutral grey: the colour says which policy, not which statistic.
    legend = {
        "90": Patch(color=grey, alpha=0.2, lw=0, label="90 % band (p5–p95)"),
        "50": Patch(color=grey, alpha=0.45, lw=0, label="50 % band (p25–p75)"),
        "median": Line2D([], [], color=grey, lw=2, label="Median on hand (policy colour)"
                         if not value else "Median (policy colour)"),
        "sample": Line2D([], [], color=_SAMPLE_COLOR, lw=0.8,
                         label="One sample path (replication 0)"),
    }
    if position:
        legend["position"] = Line2D([], [], color=grey, lw=1.1, ls=(0, (6, 2)),
                                    label=_POSITION)
    for i, (ax, policy) in enumerate(zip(axes, order, strict=True)):
        sel = data[data["policy"] == policy]
        x = to_x(sel["day"].to_numpy())
        c = colors[policy]
        for h in _shade_calendar(ax, windows, to_x, horizon, annotate=i == 0):
            legend.setdefault(h.get_label(), h)
        ax.fill_between(x, sel[f"{m}_p5"], sel[f"{m}_p95"], color=c, alpha=0.15, lw=0,
                        label="90 % band (p5–p95)")
        ax.fill_between(x, sel[f"{m}_p25"], sel[f"{m}_p75"], color=c, alpha=0.35, lw=0,
                        label="50 % band (p25–p75)")
        ax.plot(x, sel[f"{m}_p50"], color=c, lw=2, label="Median")
        if position:
            ax.plot(x, sel["inventory_position_p50"], color=c, lw=1.1, ls=(0, (6, 2)),
                    label=_POSITION, gid="inventory-position")
        ax.plot(x, sel[f"{m}_sample"], color=_SAMPLE_COLOR, lw=0.8, alpha=0.8,
                label="One sample path (replication 0)")
        for col, style, text in _policy_levels(sel) if not value else ():
            (line,) = ax.step(x, sel[col], where="post", color="black", ls=style, lw=1.2,
                              label=text)
            legend.setdefault(text, line)
        title = policy_label(policy, baseline)
        if notes and notes.get(policy):
            title += f" — {notes[policy]}"
        ax.set_title(title, loc="left", fontsize=10, color=c, fontweight="bold")
        ax.set_ylabel(f"Inventory value ({currency})" if value else "Stock (units)")
        if value:
            _money_axis(ax.yaxis, currency)
        ax.grid(alpha=0.3)
    # One legend for all panels, below them, so it never hides data.
    rank = ["90", "50", "median", "position", "sample", "Reorder point", "Order-up-to level",
            _BASE_STOCK]
    handles = [legend.pop(k) for k in rank if k in legend] + list(legend.values())
    axes[0].figure.legend(handles, [h.get_label() for h in handles], fontsize=8, ncols=3,
                          loc="outside lower center", frameon=False)
    # Shared y axis: fix the range once from every panel's data (autoscaling stops at
    # the first explicit limit otherwise).
    cols = [f"{m}_p95", f"{m}_sample"] + ([] if value else ["order_up_to", "reorder_point",
                                                           "inventory_position_p50"])
    top = np.nanmax(data[[c for c in cols if c in data]].to_numpy(float)) if len(data) else 1
    low = np.nanmin(data["inventory_position_p50"]) if position and len(data) else 0.0
    low = min(low * 1.12, 0.0) if np.isfinite(low) else 0.0  # a position below zero
    for ax in axes:
        ax.set_ylim(low, top * 1.08 if np.isfinite(top) and top > 0 else 1.0)
    _date_axis(axes[-1], data)
    what = ("Inventory value of all SKUs (cash tied up, end of day), "
            if value else f"SKU {sku}: end-of-day stock on hand and inventory position, ")
    axes[0].figure.suptitle(what + "median with 50 % and 90 % bands across replications")
    return axes


_POSITION = "Median inventory position (on hand − backorders + on order)"
_BASE_STOCK = "Base-stock level (reorder point = order-up-to)"


def _policy_levels(sel: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Which policy levels to draw for one panel: (column, line style, legend label).

    A base-stock policy reorders whenever the position is below its order-up-to level,
    so its reorder point equals it; one line then says so instead of two lines drawn
    on top of each other.
    """
    have = [c for c in ("reorder_point", "order_up_to") if c in sel and sel[c].notna().any()]
    if len(have) == 2 and np.allclose(sel["reorder_point"], sel["order_up_to"],
                                      equal_nan=True):
        return [("order_up_to", "-.", _BASE_STOCK)]
    styles = {"reorder_point": ("--", "Reorder point"), "order_up_to": (":", "Order-up-to level")}
    return [(c, *styles[c]) for c in have]


def plot_cash_over_time(
    daily: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    calendar: Iterable[Mapping[str, Any]] | None = None,
    currency: str = "$",
    ax: Axes | None = None,
) -> Axes:
    """Cash tied up in inventory over time, all policies on one axis (portfolio).

    Median line per policy with its 50 % band (90 % band's edges as thin lines), so
    the policies can be compared day by day; calendar windows shaded.

    Args:
        daily: ``daily.parquet`` rows (the ``sku == "ALL"`` rows are used).
        policies: Policy order (default: order of appearance).
        baseline: The baseline policy: "(baseline)" in the legend, squares on its line.
        calendar: ``metadata["calendar"]`` entries to shade.
        currency: Currency for the value axis.
        ax: Axis to draw on; created when omitted.

    Returns:
        The axis.

    """
    ax = _money_bands(daily, "cash_tied_up", policies, baseline, calendar, currency, ax)
    ax.set_ylabel(f"Inventory value at cost ({currency})")
    ax.set_ylim(bottom=0)
    ax.set_title("Cash tied up in inventory over time, all SKUs: median (line), 50 % band "
                 "(shaded), 90 % band (dashed)", fontsize=10.5)
    return ax


def plot_cash_position(
    daily: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    calendar: Iterable[Mapping[str, Any]] | None = None,
    currency: str = "$",
    ax: Axes | None = None,
) -> Axes:
    """Cash position over time: sales revenue less cash spent on buying, from day 0.

    Takes the arguments of :func:`plot_cash_over_time` and draws the same bands, with
    a line at zero; returns the axis.
    """
    ax = _money_bands(daily, "cash_position", policies, baseline, calendar, currency, ax)
    ax.axhline(0, color="#333333", lw=0.8)
    ax.set_ylabel(f"Revenue − cash spent on stock ({currency})")
    ax.set_title("Cash position from buying and selling, all SKUs: median (line), 50 % band "
                 "(shaded), 90 % band (dashed)", fontsize=10.5)
    return ax


def _baseline_marks(policy: str, baseline: str | None, n: int, size: float = 6) -> dict:
    """Line keywords that put a dozen square markers on the baseline's line."""
    if baseline is None or policy != baseline:
        return {}
    return {"marker": _BASELINE_MARKER, "markevery": max(n // 12, 1), "ms": size,
            "mec": "black", "mew": 0.8}


def _money_bands(
    daily: pd.DataFrame,
    field: str,
    policies: Sequence[str] | None,
    baseline: str | None,
    calendar: Iterable[Mapping[str, Any]] | None,
    currency: str,
    ax: Axes | None,
) -> Axes:
    """Draw one daily money field's median and bands per policy (portfolio rows)."""
    ax = _new_axes(figsize=(11, 4.5)) if ax is None else ax
    data = daily[daily["sku"] == "ALL"].sort_values("day")
    order = _policies(data, policies)
    colors = policy_colors(policies or order)
    to_x = _day_to_x(data)
    horizon = float(data["day"].max() + 1) if len(data) else 0.0
    handles = _shade_calendar(ax, calendar_windows(calendar), to_x, horizon, annotate=True)
    for policy in order:
        sel = data[data["policy"] == policy]
        x = to_x(sel["day"].to_numpy())
        c = colors[policy]
        ax.fill_between(x, sel[f"{field}_p25"], sel[f"{field}_p75"], color=c, alpha=0.25, lw=0)
        for q in ("p5", "p95"):
            ax.plot(x, sel[f"{field}_{q}"], color=c, lw=0.7, ls="--", alpha=0.8)
        ax.plot(x, sel[f"{field}_p50"], color=c, lw=2.2, label=policy_label(policy, baseline),
                **_baseline_marks(policy, baseline, len(x)))
    _money_axis(ax.yaxis, currency)
    _date_axis(ax, data)
    ax.grid(alpha=0.3)
    lines, labels = ax.get_legend_handles_labels()
    ax.legend(lines + handles, labels + [h.get_label() for h in handles], fontsize=8,
              loc="upper left", bbox_to_anchor=(1.01, 1.0), title="Policy",
              title_fontsize=8)
    return ax


def _cost_means(data: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Mean of each cost part per policy (rows in ``order``), the parts of the total only.

    The leftover is a part of the total only when the scenario says so
    (leftover.in_total_cost): then the total exceeds the other parts by it.
    """
    cols = [c[0] for c in _COST_PARTS if c[0] in data] + ["total_cost"]
    means = data.groupby("policy")[cols].mean().reindex(order)
    if "leftover_cost" in means:
        others = means[[c for c in cols[:-1] if c != "leftover_cost"]].sum(axis=1)
        counted = (means["total_cost"] - others - means["leftover_cost"]).abs()
        if not (counted <= 1e-6 * means["total_cost"].abs().clip(lower=1)).all():
            means = means.drop(columns="leftover_cost")
    return means


def plot_cost_breakdown(
    runs: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    currency: str = "$",
    ax: Axes | None = None,
) -> Axes:
    """Mean cost per replication split into its parts, one stacked bar per policy.

    Holding, ordering and shortage cost of the portfolio, and expediting and
    write-offs when any policy incurred them (and the horizon's leftover when the
    scenario counts it in the total); the total is written above each bar.

    Args:
        runs: ``runs.parquet`` rows (the ``sku == "ALL"`` rows are used).
        policies: Policy order (default: order of appearance).
        baseline: The baseline policy, named "(baseline)" under its bar.
        currency: Currency for the axis and labels.
        ax: Axis to draw on; created when omitted.

    Returns:
        The axis.

    """
    data = _portfolio(runs)
    order = _policies(data, policies)
    ax = _new_axes(figsize=(max(6.0, 1.6 * len(order) + 3.5), 5)) if ax is None else ax
    means = _cost_means(data, order)
    x = np.arange(len(order))
    bottom = np.zeros(len(order))
    for col, label, color, hatch in _COST_PARTS:
        if col not in means or (col in _OPTIONAL_COSTS and not (means[col] > 0).any()):
            continue
        v = means[col].fillna(0.0).to_numpy()
        ax.bar(x, v, 0.6, bottom=bottom, color=color, hatch=hatch, edgecolor="#222222",
               lw=0.6, label=label)
        bottom += v
    for xi, total in zip(x, bottom, strict=True):
        ax.annotate(_money_text(total, currency), (xi, total), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=9)
    colors = policy_colors(policies or order)
    ax.set_xticks(x, [policy_label(p, baseline, "\n") for p in order])
    for tick, policy in zip(ax.get_xticklabels(), order, strict=True):
        tick.set_color(colors[policy])
        tick.set_fontweight("bold")
    ax.set_ylabel(f"Mean cost per replication ({currency})")
    _money_axis(ax.yaxis, currency)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.08)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title("Cost breakdown, all SKUs: mean per replication", fontsize=11)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], title="Cost", fontsize=8, title_fontsize=8,
              loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def _diff_unit(metric: str, currency: str) -> tuple[float, str, str]:
    """Scale, unit label and value format for a difference of ``metric``."""
    if metric in _RATIOS:
        return 100.0, "percentage points", "{} pp"
    if metric in _MONEY:
        return 1.0, currency, "money"
    return 1.0, "", "{}"


def plot_differences(
    differences: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    metrics: Sequence[str] = ("fill_rate", "stockout_rate", "total_cost", "cash_tied_up"),
    currency: str = "$",
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Paired differences of each policy against the baseline, portfolio level.

    One panel per metric; one row per non-baseline policy with the mean difference
    (policy − baseline, same replications so the same demand) and its 95 % CI, a zero
    line, and the relative difference written beside the point.

    Args:
        differences: ``differences.csv`` rows (the ``sku == "ALL"`` rows are used).
        policies: Policy order (default: order of appearance).
        metrics: Metrics, one panel each.
        currency: Currency for money metrics.
        axes: One axis per metric; created (2 x 2 for four) when omitted.

    Returns:
        The axes as a flat array.

    """
    if axes is None:
        ncols = 2 if len(metrics) > 1 else 1
        nrows = math.ceil(len(metrics) / ncols)
        axes = _new_axes(nrows, ncols, figsize=(11, 3.2 * nrows + 0.6), squeeze=False)
    axes = np.asarray(axes).ravel()
    data = differences[differences["sku"] == "ALL"]
    order = _policies(data, policies)
    colors = policy_colors(policies or order)
    baseline = str(data["baseline"].iloc[0]) if len(data) else "baseline"
    y = np.arange(len(order))[::-1]
    for ax, metric in zip(axes, metrics, strict=False):
        scale, unit, fmt = _diff_unit(metric, currency)
        labels = []
        for yi, policy in zip(y, order, strict=True):
            row = data[(data["policy"] == policy) & (data["metric"] == metric)]
            if not len(row):
                continue
            r = row.iloc[0]
            mean, lo, hi = r["mean"] * scale, r["ci_low"] * scale, r["ci_high"] * scale
            ax.errorbar(mean, yi, xerr=[[mean - lo], [hi - mean]], fmt="o", ms=7,
                        color=colors[policy], elinewidth=2, capsize=4, label=policy)
            text = (_money_text(mean, currency, plus=True) if fmt == "money"
                    else fmt.format(_signed(mean, ".2g")))
            if np.isfinite(r.get("rel_mean", np.nan)) and metric not in _RATIOS:
                text += f" ({_signed(r['rel_mean'] * 100, '.0f')} %)"
            labels.append((text, mean, yi, colors[policy]))
        lo_x, hi_x = policy_rows(ax, y, order, colors)
        for text, mean, yi, color in labels:
            # Align labels near an edge inward so they stay inside the panel.
            where = (mean - lo_x) / (hi_x - lo_x)
            ha = "right" if where > 0.7 else "left" if where < 0.3 else "center"
            ax.annotate(text, (mean, yi), xytext=(0, 8), textcoords="offset points",
                        ha=ha, va="bottom", fontsize=8.5, color=color)
        ax.set_xlabel(f"policy − {baseline} ({unit})" if unit else f"policy − {baseline}")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        if fmt == "money":
            _money_axis(ax.xaxis, currency)
        name = _SHORT_NAMES.get(metric, metric)
        if metric == "stockout_rate" and _sku_count(differences) > 1:
            name = "Stockout days (SKU-days, demand-weighted)"
        ax.set_title(f"{name}: policy − {baseline}", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    axes[0].figure.suptitle(f"Paired differences against the baseline ({baseline}), "
                            "all SKUs: mean and 95 % CI, same replications for every policy")
    return axes


def _class_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per replication x policy x ABC class: fill rate from sums, summed cash tied up."""
    items = runs[runs["sku"] != "ALL"]
    grouped = items.groupby(["policy", "abc_class", "replication"], as_index=False)[
        ["served_units", "demand_units", "cash_tied_up"]].sum()
    grouped["fill_rate"] = grouped["served_units"] / grouped["demand_units"].where(
        grouped["demand_units"] > 0)
    return grouped


def plot_abc_classes(
    runs: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    currency: str = "$",
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Fill rate and cash tied up by ABC class, grouped bars per policy.

    A class's fill rate is its served units ÷ its demanded units in each replication
    (a ratio of sums, as for the portfolio); its cash tied up is the sum over its SKUs.
    Bars are means across replications with 95 % CI whiskers.

    Args:
        runs: ``runs.parquet`` rows (the per-SKU rows are used).
        policies: Policy order (default: order of appearance).
        baseline: The baseline policy, named "(baseline)" in the legend.
        currency: Currency for the cash panel.
        axes: Two axes (fill rate, cash); created when omitted.

    Returns:
        The two axes as an array.

    """
    axes = np.asarray(_new_axes(1, 2, figsize=(11, 4.5)) if axes is None else axes).ravel()
    table = _class_table(runs)
    order = _policies(table, policies)
    colors = policy_colors(policies or order)
    classes = sorted(c for c in table["abc_class"].unique() if c)
    x = np.arange(len(classes))
    width = 0.8 / max(len(order), 1)
    for ax, metric in zip(axes, ("fill_rate", "cash_tied_up"), strict=True):
        for j, policy in enumerate(order):
            stats = [_t_ci(table.loc[(table["policy"] == policy)
                                     & (table["abc_class"] == c), metric].to_numpy())
                     for c in classes]
            mean = np.array([s[0] for s in stats])
            err = np.array([[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]])
            ax.bar(x + (j - (len(order) - 1) / 2) * width, mean, width * 0.95,
                   yerr=err, capsize=3, color=colors[policy],
                   label=policy_label(policy, baseline),
                   error_kw={"elinewidth": 1, "ecolor": "#222222"})
        ax.set_xticks(x, [f"Class {c}" for c in classes])
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        if metric == "fill_rate":
            _pct_axis(ax.yaxis)
            # Bars start at zero (a bar's length is its value); a little headroom above
            # 100 % keeps a CI whisker at the top visible.
            ax.set_ylim(0.0, 1.015)
            ax.set_ylabel("Fill rate (%)")
            ax.set_title("Fill rate by ABC class (type 2: served ÷ demanded units)",
                         fontsize=10)
        else:
            _money_axis(ax.yaxis, currency)
            ax.set_ylabel(f"Mean inventory value ({currency})")
            ax.set_title("Cash tied up by ABC class (mean inventory value at cost)",
                         fontsize=10)
    axes[1].legend(title="Policy", fontsize=8, title_fontsize=8, loc="upper left",
                   bbox_to_anchor=(1.01, 1.0))
    axes[0].figure.suptitle("Catalogue by ABC class: mean across replications with "
                            "95 % CI")
    return axes


def _share_text(value: float, decimals: int = 1) -> str:
    """Write a share as %; 99.96 % is not a perfect "100.0 %", nor 0.04 % "0.0 %"."""
    while decimals < 4 and (value < 1 and round(value * 100, decimals) >= 100
                            or value > 0 and round(value * 100, decimals) <= 0):
        decimals += 1
    return f"{value * 100:.{decimals}f} %"


def _sku_order(runs: pd.DataFrame, skus: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """SKUs sorted by ABC class, then by expected revenue (largest first)."""
    items = runs[runs["sku"] != "ALL"]
    price = {s["id"]: float(s.get("price", 0.0)) for s in skus or ()}
    per = items.groupby("sku").agg(abc=("abc_class", "first"), units=("demand_units", "mean"))
    per["revenue"] = per["units"] * pd.Series(price).reindex(per.index).fillna(1.0)
    per = per.reset_index().sort_values(["abc", "revenue", "sku"],
                                        ascending=[True, False, True])
    return list(per["sku"])


def plot_sku_heatmap(
    runs: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    skus: Sequence[Mapping[str, Any]] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """SKU x policy heat map of the mean fill rate, annotated in %.

    Rows are SKUs sorted by ABC class, then by expected revenue (mean demanded units
    x price from ``skus``); columns are policies. Cells are annotated up to 40 SKUs;
    SKU labels are shown up to 80.

    Args:
        runs: ``runs.parquet`` rows (the per-SKU rows are used).
        policies: Policy order (default: order of appearance).
        baseline: The baseline policy, named "(baseline)" over its column.
        skus: ``metadata["skus"]`` (for prices); without it SKUs sort by units.
        ax: Axis to draw on; created when omitted.

    Returns:
        The axis.

    """
    items = runs[runs["sku"] != "ALL"]
    order = _policies(items, policies)
    rows = _sku_order(runs, skus)
    if ax is None:
        ax = _new_axes(figsize=(max(6.0, 1.5 * len(order) + 3),
                                min(0.38 * len(rows) + 2.2, 30)))
    grid = (items.groupby(["sku", "policy"])["fill_rate"].mean().unstack("policy")
            .reindex(index=rows, columns=order))
    values = grid.to_numpy(float)
    finite = values[np.isfinite(values)]
    vmin = math.floor(finite.min() * 20) / 20 if finite.size else 0.0
    image = ax.imshow(values, cmap="cividis", vmin=min(vmin, 0.95), vmax=1.0,
                      aspect="auto", interpolation="nearest")
    cmap, norm = image.get_cmap(), image.norm
    if len(rows) <= 40:
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                if np.isfinite(values[i, j]):
                    ax.text(j, i, _share_text(values[i, j]), ha="center", va="center",
                            fontsize=8.5, color=_ink(cmap(norm(values[i, j]))))
    abc = items.groupby("sku")["abc_class"].first()
    ax.set_xticks(np.arange(len(order)), [policy_label(p, baseline, "\n") for p in order])
    ax.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False)
    colors = policy_colors(policies or order)
    for tick, policy in zip(ax.xaxis.get_major_ticks(), order, strict=True):
        tick.label2.set_color(colors[policy])
        tick.label2.set_fontweight("bold")
    if len(rows) <= 80:
        ax.set_yticks(np.arange(len(rows)), [f"{s} ({abc.get(s, '?')})" for s in rows])
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(rows)} SKUs, sorted by class then revenue")
    ax.tick_params(length=0)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label("Mean fill rate (type 2), %")
    bar.ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    bar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_title("Mean fill rate by SKU and policy (type 2: served ÷ demanded units)\n"
                 "SKUs sorted by ABC class (in brackets), then expected revenue",
                 fontsize=10)
    return ax


# ----------------------------------------------------------------------------- driver


def policy_rows(ax: Axes, y: np.ndarray, order: Sequence[str], colors: Mapping[str, str],
                pad_floor: float = 0.0) -> tuple[float, float]:
    """Finish a chart of one row per policy around zero; return its x limits.

    A line at zero, policy names as coloured bold row labels, and x limits that
    include zero with 8 % room on both sides (at least ``pad_floor``).
    """
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, order)
    for tick, policy in zip(ax.get_yticklabels(), order, strict=True):
        tick.set_color(colors[policy])
        tick.set_fontweight("bold")
    ax.set_ylim(y.min() - 0.6, y.max() + 0.8)
    lo_x, hi_x = ax.get_xlim()
    pad = 0.08 * (hi_x - lo_x) or pad_floor
    lo_x, hi_x = min(lo_x, -pad), max(hi_x, pad)
    ax.set_xlim(lo_x, hi_x)
    return lo_x, hi_x


def review_rhythms(policy_specs: Mapping[str, Mapping[str, Any]] | None) -> dict[str, str]:
    """How often each policy reviews its stock, in words, from the resolved policy specs.

    Policies that review at different rhythms are not compared like for like (a weekly
    review needs more stock than a daily one for the same service), so the inventory
    chart states each rhythm in its panel title.

    Args:
        policy_specs: The ``policies`` mapping of the run's ``scenario.yaml``.

    Returns:
        Policy name -> ``"reviews daily"``, ``"reviews every 3 days"``, ``"reviews
        weekly"`` or ``"continuous review"``; policies without a rhythm are left out.

    """
    out = {}
    for name, spec in (policy_specs or {}).items():
        if not isinstance(spec, Mapping):
            continue
        if spec.get("review") == "continuous":
            out[name] = "continuous review"
            continue
        every = spec.get("review_every_days")
        if isinstance(every, (int, float)) and every > 0:
            n = float(every)
            out[name] = ("reviews daily" if n == 1 else "reviews weekly" if n == 7
                         else f"reviews every {n:g} days")
    return out


# ----------------------------------------------------------------------------- slides

#: Figure names written by ``make_figures(style="slides")``, in presentation order.
SLIDE_CHARTS = ("tradeoff", "inventory", "cash_over_time", "cost_breakdown")

SLIDE_SIZE = (13.333, 7.5)
"""A 16:9 slide in inches (PowerPoint's widescreen page), so 16 pt here is 16 pt there."""

_SLIDE_RC = {
    "font.size": 16, "axes.titlesize": 20, "axes.labelsize": 18, "xtick.labelsize": 16,
    "ytick.labelsize": 16, "legend.fontsize": 16, "legend.title_fontsize": 16,
    "figure.titlesize": 24, "lines.linewidth": 3.5, "axes.linewidth": 1.2,
    "xtick.major.width": 1.2, "ytick.major.width": 1.2, "xtick.major.size": 6,
    "ytick.major.size": 6, "axes.titlepad": 10,
}
"""Projector sizes: ticks and labels >= 16 pt, titles >= 20 pt, thick lines."""

_HEADLINE_SIZE = 26


def _slide_ticks(axes) -> None:
    """Projector-size ticks, set on the axes themselves.

    Tick labels are created lazily when the figure is drawn, possibly outside the
    style's rc settings, so their size is stored on the axis rather than left to rc.
    """
    for ax in np.atleast_1d(axes):
        ax.tick_params(labelsize=_SLIDE_RC["xtick.labelsize"], width=1.2, length=6)


def _pct_text(share: float) -> str:
    """Format a share as a short percentage: ``23 %``, ``4.5 %``, ``0.3 %``."""
    v = 100.0 * share
    return _share_text(share, 0 if v >= 10 or v == 0 else 1)


def _means(runs: pd.DataFrame, metric: str, order: Sequence[str]) -> pd.Series:
    """Portfolio mean of a metric per policy, in ``order``."""
    data = _portfolio(runs)
    return data.groupby("policy")[metric].mean().reindex(order)


def _headline(fig: Figure, text: str) -> None:
    """Write the slide's message as the figure title, wrapped to two lines at most."""
    import textwrap

    text = text.replace("$", r"\$")  # a currency sign, not mathtext
    fig.suptitle("\n".join(textwrap.wrap(text, 62)[:2]), fontsize=_HEADLINE_SIZE,
                 fontweight="bold", x=0.01, ha="left")


def _slide_legend_name(policy: str, baseline: str | None) -> str:
    """``jit (baseline)`` on a slide, plain name otherwise."""
    return policy_label(policy, baseline)


def tradeoff_headline(runs: pd.DataFrame, policies: Sequence[str] | None = None,
                      currency: str = "$") -> str:
    """State the trade-off: what the leanest policy saves and what it costs in service.

    Example: ``"jit frees $2.4k of cash but is short on 23 % of days (safety_stock:
    1.5 %)"``. Compares the policy with the least mean cash tied up against the one
    with the fewest stockout days (portfolio means across replications).
    """
    order = _policies(_portfolio(runs), policies)
    cash = _means(runs, "cash_tied_up", order)
    short = _means(runs, "stockout_rate", order)
    unit = "SKU-days" if _sku_count(runs) > 1 else "days"
    lean, safe = cash.idxmin(), short.idxmin()
    if lean == safe or not np.isfinite(cash[lean]):
        return (f"{lean} ties up the least cash ({_money_text(cash[lean], currency)}) "
                f"and is short on the fewest {unit} ({_pct_text(short[lean])})")
    return (f"{lean} frees {_money_text(cash[safe] - cash[lean], currency)} of cash but is "
            f"short on {_pct_text(short[lean])} of {unit} ({safe}: {_pct_text(short[safe])})")


def slide_tradeoff(
    runs: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    currency: str = "$",
    ax: Axes | None = None,
) -> Axes:
    """Draw the trade-off as one slide: cash tied up against stockout days.

    Each policy is a large point at its mean (a square for the baseline) named beside
    it, with a thick pale cross spanning the 5th to 95th percentile across
    replications on each axis: the range 90 % of seasons fall in. The figure title
    states the finding (:func:`tradeoff_headline`).

    Args:
        runs: ``runs.parquet`` rows (the ``sku == "ALL"`` rows are used).
        policies: Policy order (default: order of appearance).
        baseline: The baseline policy.
        currency: Currency for the cash axis.
        ax: Axis to draw on; created (16:9) when omitted.

    Returns:
        The axis.

    """
    ax = _new_axes(figsize=SLIDE_SIZE) if ax is None else ax
    data = _portfolio(runs)
    order = _policies(data, policies)
    colors = policy_colors(policies or order)
    names = []
    for policy in order:
        sel = data[data["policy"] == policy]
        xs, ys = sel["stockout_rate"].to_numpy(float), sel["cash_tied_up"].to_numpy(float)
        x, y = float(np.nanmean(xs)), float(np.nanmean(ys))
        (x5, x95), (y5, y95) = np.nanpercentile(xs, [5, 95]), np.nanpercentile(ys, [5, 95])
        c = colors[policy]
        ax.plot([x5, x95], [y, y], color=c, alpha=0.3, lw=9, solid_capstyle="butt",
                zorder=1, gid="season-range")
        ax.plot([x, x], [y5, y95], color=c, alpha=0.3, lw=9, solid_capstyle="butt",
                zorder=1, gid="season-range")
        base = policy == baseline
        ax.plot([x], [y], ls="none", marker=_marker(policy, baseline), ms=20 if base else 18,
                color=c, mec="black" if base else "white", mew=2.5, zorder=3,
                label=_slide_legend_name(policy, baseline), gid="policy-mean")
        names.append(ax.annotate(_slide_legend_name(policy, baseline), (x, y),
                                 xytext=(8, 6), textcoords="offset points", fontsize=18,
                                 color=c, fontweight="bold", zorder=4))
    ax.add_artist(PointLabels(names))
    ax.set_xlabel(stockout_label(_sku_count(runs)))
    ax.set_ylabel(f"Cash tied up ({currency})")
    _pct_axis(ax.xaxis)
    _money_axis(ax.yaxis, currency)
    ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    lo_x, hi_x = ax.get_xlim()
    ax.set_xlim(lo_x, hi_x + 0.12 * (hi_x - lo_x))  # room for the names right of a point
    ax.grid(alpha=0.3)
    ax.set_title("Mean per season (dot) and the range of 90 % of seasons (bars)", loc="left")
    _slide_ticks(ax)
    _headline(ax.figure, tradeoff_headline(runs, order, currency))
    return ax


def inventory_headline(daily: pd.DataFrame, sku: str = "ALL",
                       policies: Sequence[str] | None = None, currency: str = "$") -> str:
    """State the inventory chart's finding: how much more stock the fullest policy holds.

    Example: ``"safety_stock keeps 9.4× the stock of jit on hand (median 310 vs 33
    units)"``, from the mean over days of the median on-hand (units for one SKU,
    value at cost for ``"ALL"``).
    """
    data = daily[daily["sku"] == sku]
    order = _policies(data, policies)
    m = "cash_tied_up_p50" if sku == "ALL" else "on_hand_p50"
    level = data.groupby("policy")[m].mean().reindex(order)
    lo, hi = level.idxmin(), level.idxmax()
    fmt = ((lambda v: _money_text(v, currency)) if sku == "ALL"
           else (lambda v: f"{v:,.0f} units"))
    what = "inventory value" if sku == "ALL" else "stock"
    if lo == hi or level[lo] <= 0:
        return f"{hi} keeps the most {what} on hand: {fmt(level[hi])} on a typical day"
    high = fmt(level[hi]).removesuffix(" units")  # "419 vs 39 units"
    return (f"{hi} keeps {level[hi] / level[lo]:.1f}× the {what} of {lo} on hand "
            f"({high} vs {fmt(level[lo])} on a typical day)")


def slide_inventory(
    daily: pd.DataFrame,
    *,
    sku: str = "ALL",
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    notes: Mapping[str, str] | None = None,
    calendar: Iterable[Mapping[str, Any]] | None = None,
    currency: str = "$",
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Inventory over time as one slide: panels side by side, median and 90 % band only.

    Takes the arguments of :func:`plot_inventory`. Each panel has the median on-hand
    (thick), the 90 % band, the median inventory position (thin, one SKU only) and the
    policy's reorder levels; no sample path and no 50 % band. Panel titles name the
    policy and its review rhythm (``notes``); the figure title states the finding
    (:func:`inventory_headline`).

    Returns:
        The axes as a flat array.

    """
    data = daily[daily["sku"] == sku].sort_values("day")
    order = _policies(data, policies)
    if axes is None:
        ncols = len(order) if len(order) <= 3 else math.ceil(len(order) / 2)
        axes = _new_axes(math.ceil(len(order) / ncols), ncols, figsize=SLIDE_SIZE,
                         sharex=True, sharey=True, squeeze=False)
    axes = np.asarray(axes).ravel()
    colors = policy_colors(policies or order)
    value = sku == "ALL"
    m = "cash_tied_up" if value else "on_hand"
    position = not value and "inventory_position_p50" in data
    to_x = _day_to_x(data)
    horizon = float(data["day"].max() + 1) if len(data) else 0.0
    windows = calendar_windows(calendar)
    grey = "#707070"
    legend = {"median": Line2D([], [], color=grey, lw=3.5, label="Median on hand"
                               if not value else "Median inventory value"),
              "90": Patch(color=grey, alpha=0.25, lw=0, label="90 % of seasons")}
    if position:
        legend["position"] = Line2D([], [], color=grey, lw=1.3,
                                    label="Inventory position (incl. on order)")
    for ax, policy in zip(axes, order, strict=False):
        sel = data[data["policy"] == policy]
        x = to_x(sel["day"].to_numpy())
        c = colors[policy]
        for h in _shade_calendar(ax, windows, to_x, horizon, annotate=False):
            legend.setdefault(h.get_label(), h)
        ax.fill_between(x, sel[f"{m}_p5"], sel[f"{m}_p95"], color=c, alpha=0.22, lw=0)
        ax.plot(x, sel[f"{m}_p50"], color=c, lw=3.5, label="Median",
                **_baseline_marks(policy, baseline, len(x), size=9))
        if position:
            ax.plot(x, sel["inventory_position_p50"], color=c, lw=1.3, label=_POSITION,
                    gid="inventory-position")
        for col, style, text in _policy_levels(sel) if not value else ():
            (line,) = ax.step(x, sel[col], where="post", color="black", ls=style, lw=1.8,
                              label=text)
            legend.setdefault(text, line)
        title = policy_label(policy, baseline)
        if notes and notes.get(policy):
            title += "\n" + notes[policy]
        ax.set_title(title, loc="left", color=c, fontweight="bold")
        ax.grid(alpha=0.3)
        if value:
            _money_axis(ax.yaxis, currency)
        locator = AutoDateLocator(minticks=3, maxticks=4 if len(order) > 1 else 8)
        if "date" in data.columns:
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(_concise(locator))
    for ax in axes[len(order):]:
        ax.set_visible(False)
    engine = axes[0].figure.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(w_pad=0.25, wspace=0.06)  # edge tick labels of neighbours never meet
    axes[0].set_ylabel(f"Inventory value ({currency})" if value else "Units")
    cols = [f"{m}_p95"] + ([] if value else ["order_up_to", "reorder_point",
                                             "inventory_position_p50"])
    top = np.nanmax(data[[c for c in cols if c in data]].to_numpy(float)) if len(data) else 1
    low = np.nanmin(data["inventory_position_p50"]) if position and len(data) else 0.0
    low = min(low * 1.1, 0.0) if np.isfinite(low) else 0.0
    for ax in axes:
        ax.set_ylim(low, top * 1.06 if np.isfinite(top) and top > 0 else 1.0)
    handles = list(legend.values())
    axes[0].figure.legend(handles, [h.get_label() for h in handles], ncols=3,
                          loc="outside lower center", frameon=False)
    _slide_ticks(axes)
    _headline(axes[0].figure, inventory_headline(daily, sku, order, currency))
    return axes


def cash_headline(daily: pd.DataFrame, policies: Sequence[str] | None = None,
                  currency: str = "$") -> str:
    """State the cash chart's finding: the gap in cash tied up between the extremes.

    Example: ``"safety_stock ties up $2.9k more than jit on a typical day ($3.1k vs
    $170)"``, from the mean over days of the median portfolio inventory value.
    """
    data = daily[daily["sku"] == "ALL"]
    order = _policies(data, policies)
    level = data.groupby("policy")["cash_tied_up_p50"].mean().reindex(order)
    lo, hi = level.idxmin(), level.idxmax()
    if lo == hi:
        return f"{hi} ties up {_money_text(level[hi], currency)} on a typical day"
    return (f"{hi} ties up {_money_text(level[hi] - level[lo], currency)} more than {lo} "
            f"on a typical day ({_money_text(level[hi], currency)} vs "
            f"{_money_text(level[lo], currency)})")


def slide_cash(
    daily: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    calendar: Iterable[Mapping[str, Any]] | None = None,
    currency: str = "$",
    ax: Axes | None = None,
) -> Axes:
    """Cash tied up over time as one slide: a median line and a 90 % band per policy.

    Takes the arguments of :func:`plot_cash_over_time`; the figure title states the
    finding (:func:`cash_headline`). Returns the axis.
    """
    ax = _new_axes(figsize=SLIDE_SIZE) if ax is None else ax
    data = daily[daily["sku"] == "ALL"].sort_values("day")
    order = _policies(data, policies)
    colors = policy_colors(policies or order)
    to_x = _day_to_x(data)
    horizon = float(data["day"].max() + 1) if len(data) else 0.0
    handles = _shade_calendar(ax, calendar_windows(calendar), to_x, horizon, annotate=True,
                              fontsize=16, max_rows=3)
    for policy in order:
        sel = data[data["policy"] == policy]
        x = to_x(sel["day"].to_numpy())
        c = colors[policy]
        ax.fill_between(x, sel["cash_tied_up_p5"], sel["cash_tied_up_p95"], color=c,
                        alpha=0.15, lw=0)
        ax.plot(x, sel["cash_tied_up_p50"], color=c, lw=3.5,
                label=_slide_legend_name(policy, baseline),
                **_baseline_marks(policy, baseline, len(x), size=9))
    _money_axis(ax.yaxis, currency)
    _date_axis(ax, data)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.set_ylabel(f"Cash tied up ({currency})")
    ax.set_title("Inventory value at cost, all SKUs: median (line), 90 % of seasons (band)",
                 loc="left")
    lines, labels = ax.get_legend_handles_labels()
    ax.legend(lines + handles, labels + [h.get_label() for h in handles],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _slide_ticks(ax)
    _headline(ax.figure, cash_headline(daily, order, currency))
    return ax


def cost_headline(runs: pd.DataFrame, policies: Sequence[str] | None = None,
                  currency: str = "$") -> str:
    """State the cost chart's finding: the cheapest policy, and what the dearest pays for.

    Example: ``"hybrid costs least: $2.1k a season, 61 % less than jit (mostly
    shortage)"``.
    """
    order = _policies(_portfolio(runs), policies)
    total = _means(runs, "total_cost", order)
    cheap, dear = total.idxmin(), total.idxmax()
    if cheap == dear:
        return f"{cheap} costs {_money_text(total[cheap], currency)} a season"
    means = _cost_means(_portfolio(runs), [dear]).drop(columns="total_cost").iloc[0]
    main = _COST_WORDS[str(means.idxmax())]
    saving = 1 - total[cheap] / total[dear] if total[dear] > 0 else math.nan
    return (f"{cheap} costs least: {_money_text(total[cheap], currency)} a season, "
            f"{_pct_text(saving)} less than {dear} (mostly {main})")


def slide_costs(
    runs: pd.DataFrame,
    *,
    policies: Sequence[str] | None = None,
    baseline: str | None = None,
    currency: str = "$",
    ax: Axes | None = None,
) -> Axes:
    """Draw the cost breakdown as one slide: stacked mean cost per season, total on top.

    Takes the arguments of :func:`plot_cost_breakdown`; the figure title states the
    finding (:func:`cost_headline`). Returns the axis.
    """
    ax = _new_axes(figsize=SLIDE_SIZE) if ax is None else ax
    plot_cost_breakdown(runs, policies=policies, baseline=baseline, currency=currency,
                        ax=ax)
    for text in ax.texts:
        text.set_fontsize(18)
        text.set_fontweight("bold")
    ax.set_title("")  # the default chart's title; the slide has its own, on the left
    days = runs["days"].iloc[0] if "days" in runs and len(runs) else None
    ax.set_ylabel(f"Mean cost per season ({currency})")
    season = f" ({days:.0f} days)" if days is not None and np.isfinite(days) else ""
    ax.set_title(f"Mean cost per season{season}, all SKUs", loc="left", fontsize=20)
    ax.legend(*[v[::-1] for v in ax.get_legend_handles_labels()], title="Cost",
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    order = _policies(_portfolio(runs), policies)
    _slide_ticks(ax)
    _headline(ax.figure, cost_headline(runs, order, currency))
    return ax


# ------------------------------------------------------------------- styles, driver

STYLES = ("default", "slides")


def _check_style(style: str) -> None:
    """Refuse an unknown style with a message naming the argument and the choices."""
    if style not in STYLES:
        raise ValueError(f"style: must be one of {', '.join(map(repr, STYLES))}, got {style!r}")


def figures_dir(folder: Path | str, style: str = "default") -> Path:
    """Where :func:`make_figures` writes a style's charts in a results folder.

    Args:
        folder: A results folder.
        style: ``"default"`` (``folder/figures``) or ``"slides"``
            (``folder/figures/slides``).

    Returns:
        The directory (not created).

    """
    _check_style(style)
    base = Path(folder) / "figures"
    return base if style == "default" else base / style


def _figure(figsize) -> Figure:
    """Create a pyplot-free figure with constrained layout and a white background."""
    return Figure(figsize=figsize, layout="constrained", facecolor="white")


def charts_for(metadata: Mapping[str, Any], style: str = "default") -> list[str]:
    """Names of the charts that apply to a run, in report order.

    Catalogue charts need more than one SKU; the differences chart needs a policy
    besides the baseline. The slides style draws :data:`SLIDE_CHARTS`.

    Args:
        metadata: The run's ``metadata.json``.
        style: ``"default"`` or ``"slides"``.

    Returns:
        A sublist of :data:`CHARTS` (or :data:`SLIDE_CHARTS`).

    """
    _check_style(style)
    if style == "slides":
        return list(SLIDE_CHARTS)
    names = list(CHARTS)
    if len(metadata.get("skus") or ()) <= 1:
        names = [n for n in names if n not in ("abc_classes", "sku_heatmap")]
    elif len({s.get("abc_class") for s in metadata.get("skus") or ()}) < 2:
        names.remove("abc_classes")  # one class: nothing to compare across classes
    if len(metadata.get("policies") or ()) <= 1:
        names.remove("differences")
    return names


def _policy_specs(scenario_yaml: str) -> dict[str, Any]:
    """Read the ``policies`` mapping of a resolved scenario file (empty if unreadable)."""
    import yaml

    try:
        doc = yaml.safe_load(scenario_yaml) or {}
    except yaml.YAMLError:
        return {}
    specs = doc.get("policies") if isinstance(doc, dict) else None
    return specs if isinstance(specs, dict) else {}


def make_figures(
    folder: Path | str,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = 150,
    style: str = "default",
) -> list[Path]:
    """Draw every applicable chart of a results folder.

    Args:
        folder: A results folder.
        formats: File formats to write, each a matplotlib format name.
        dpi: Resolution of raster formats.
        style: ``"default"``: the full set of charts (:func:`charts_for`) into
            ``folder/figures``; ``"slides"``: :data:`SLIDE_CHARTS` at 16:9 with
            projector fonts, fewer lines and a headline title each, into
            ``folder/figures/slides`` (see :func:`figures_dir`).

    Returns:
        Paths written, ``<figures_dir>/<chart>.<format>``, in report order.

    Raises:
        ValueError: ``style`` is not one of :data:`STYLES`.

    """
    _check_style(style)
    out_dir = figures_dir(folder, style)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in draw_figures(folder, style):
        for fmt in formats:
            path = out_dir / f"{name}.{fmt}"
            # Dates in file metadata and random SVG ids would make identical runs give
            # different files.
            meta_arg = {"Date": None} if fmt in ("svg", "pdf") else None
            with rc_context({"svg.hashsalt": "supplysim",
                             **(_SLIDE_RC if style == "slides" else {})}):
                fig.savefig(path, dpi=dpi, format=fmt, metadata=meta_arg)
            written.append(path)
        fig.clear()  # release artists now; the figure is not in pyplot's registry
    return written


def draw_figures(folder: Path | str, style: str = "default") -> Iterator[tuple[str, Figure]]:
    """Draw the charts of a results folder one by one, without writing them.

    What :func:`make_figures` saves; tests inspect the figures themselves (sizes,
    fonts, lines) rather than pixels.

    Args:
        folder: A results folder.
        style: ``"default"`` or ``"slides"``.

    Yields:
        ``(chart name, figure)`` in report order.

    """
    _check_style(style)
    from simulator.study.results import load  # a leaf module, like this one

    res = load(folder)
    meta = res.metadata
    policies = list(meta.get("policies") or pd.unique(res.runs["policy"]))
    baseline = meta.get("baseline") or (policies[0] if policies else None)
    currency = meta.get("currency", "$")
    calendar = meta.get("calendar") or []
    skus = meta.get("skus") or []
    notes = review_rhythms(_policy_specs(res.scenario_yaml))
    n_pol = len(policies)
    n_sku = len(skus)
    sku = skus[0]["id"] if n_sku == 1 else "ALL"
    common = {"policies": policies, "baseline": baseline}

    extra = overbuying_metrics(res.runs)

    def tradeoff(fig):
        metrics = ("cash_tied_up", "total_cost", *extra)
        plot_tradeoff(res.runs, res.summary, currency=currency,
                      axes=fig.subplots(1, len(metrics)), metrics=metrics, **common)

    def distributions(fig):
        plot_distributions(res.runs, currency=currency, axes=fig.subplots(2, 2), **common)

    def inventory(fig):
        plot_inventory(res.daily, sku=sku, notes=notes, calendar=calendar, currency=currency,
                       axes=fig.subplots(n_pol, 1, sharex=True, sharey=True, squeeze=False),
                       **common)

    def cash_over_time(fig):
        plot_cash_over_time(res.daily, calendar=calendar, currency=currency,
                            ax=fig.subplots(), **common)

    def cash_position(fig):
        plot_cash_position(res.daily, calendar=calendar, currency=currency,
                           ax=fig.subplots(), **common)

    def cost_breakdown(fig):
        plot_cost_breakdown(res.runs, currency=currency, ax=fig.subplots(), **common)

    def differences(fig):
        plot_differences(res.differences, policies=policies, currency=currency,
                         axes=fig.subplots(2, 2))

    def abc_classes(fig):
        plot_abc_classes(res.runs, currency=currency, axes=fig.subplots(1, 2), **common)

    def sku_heatmap(fig):
        plot_sku_heatmap(res.runs, skus=skus, ax=fig.subplots(), **common)

    def slide_inventory_(fig):
        ncols = n_pol if n_pol <= 3 else math.ceil(n_pol / 2)
        slide_inventory(res.daily, sku=sku, notes=notes, calendar=calendar,
                        currency=currency, **common,
                        axes=fig.subplots(math.ceil(n_pol / ncols), ncols, sharex=True,
                                          sharey=True, squeeze=False))

    n_diff = max(n_pol - 1, 1)
    layout = {
        "tradeoff": (tradeoff, (11 + 5 * len(extra), 4.8)),
        "distributions": (distributions, (11, 8)),
        "inventory": (inventory, (11, 2.3 * n_pol + 1.3)),
        "cash_over_time": (cash_over_time, (11, 4.5)),
        "cash_position": (cash_position, (11, 4.5)),
        "cost_breakdown": (cost_breakdown, (min(4.0 + 1.4 * n_pol, 11), 4.8)),
        "differences": (differences, (11, 2 * (0.5 * n_diff + 1.6) + 0.8)),
        "abc_classes": (abc_classes, (11, 4.5)),
        "sku_heatmap": (sku_heatmap, (min(max(6.0, 1.5 * n_pol + 3.5), 11),
                                      min(0.38 * n_sku + 2.2, 30))),
    }
    if style == "slides":
        layout = {
            "tradeoff": (lambda fig: slide_tradeoff(res.runs, currency=currency,
                                                    ax=fig.subplots(), **common), SLIDE_SIZE),
            "inventory": (slide_inventory_, SLIDE_SIZE),
            "cash_over_time": (lambda fig: slide_cash(res.daily, calendar=calendar,
                                                      currency=currency, ax=fig.subplots(),
                                                      **common), SLIDE_SIZE),
            "cost_breakdown": (lambda fig: slide_costs(res.runs, currency=currency,
                                                       ax=fig.subplots(), **common),
                               SLIDE_SIZE),
        }
    for name in charts_for(meta, style):
        if name == "cash_position" and "cash_position_p50" not in res.daily:
            continue  # a results folder written before the cash position was recorded
        draw, size = layout[name]
        # Fonts and line widths are fixed when artists are created, so the style's
        # rc settings only need to hold while the chart is drawn.
        with rc_context(_SLIDE_RC if style == "slides" else {}):
            fig = _figure(size)
            draw(fig)
            # Calendar labels raise the value axis when first drawn, which can widen its
            # tick labels; one layout pass now lets the saved figure's layout see them.
            fig.draw_without_rendering()
        yield name, fig
