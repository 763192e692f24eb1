"""A sweep in words, tables, charts and a page (``supplysim sweep``).

The presentation of a :class:`simulator.study.sweep.SweepResult`:

- **Stress curves** (a parameter of the scenario swept): fill rate, stockout days,
  total cost and cash tied up of the portfolio against the swept value, one line per
  policy with its 95 % CI band, the scenario's own value marked by a dashed line. With
  more parameters, one row of panels per combination of the others.
- **The frontier** (a policy's parameter swept): total cost, and cash tied up, against
  fill rate; one curve per policy through the swept values, CI bars on both axes, the
  efficient points (none other has a higher fill rate at a lower cost) ringed and joined.
- The terminal tables and plain sentences, and the self-contained ``report.html``.

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot state). The study
itself is :mod:`simulator.study.sweep`.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulator.study.sweep import STRESS_METRICS, Param, SweepResult, efficient, holds_up_to

__all__ = [
    "FILL_TARGET",
    "findings",
    "frontier_figure",
    "plot_frontier",
    "plot_stress",
    "print_sweep",
    "report_html",
    "stress_figure",
    "write_figures",
    "write_report",
]

FILL_TARGET = 0.95
"""The fill rate the sentences measure against (its lower 95 % CI bound must reach it)."""
MAX_ROWS = 8
"""Most rows of panels in a chart; more combinations are thinned evenly (all in sweep.csv)."""
_LABELS = {m: label for m, label, _ in STRESS_METRICS}
_KINDS = {m: kind for m, _, kind in STRESS_METRICS}
_BASELINE_STYLE = {"color": "#444444", "ls": "--", "lw": 1.1}
_UNITS = {
    "fill_rate": "% of units demanded",
    "stockout_rate": "% of days (several SKUs: of SKU-days, demand-weighted)",
    "total_cost": "{currency} per replication",
    "cash_tied_up": "{currency}, mean end-of-day value",
}


# --------------------------------------------------------------------------- selecting


def _rows(table: Any, policy: str, metric: str, sku: str = "ALL") -> Any:
    rows = table[(table["policy"] == policy) & (table["sku"] == sku)
                 & (table["metric"] == metric)]
    return rows.sort_values("point", kind="stable")


def _combos(result: SweepResult, main: Param) -> list[tuple[str, list[int]]]:
    """Split the points into rows of panels: one per combination of the other parameters.

    Returns ``(row label, points)`` pairs; in a zip sweep every point is in one row.
    At most :data:`MAX_ROWS` rows are kept, evenly spaced.
    """
    sweep = result.sweep
    others = [i for i, p in enumerate(sweep.params) if p is not main]
    if sweep.mode == "zip" or not others:
        return [("", list(range(len(sweep.points))))]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for k, values in enumerate(sweep.points):
        groups.setdefault(tuple(values[i] for i in others), []).append(k)
    out = []
    for key, points in groups.items():
        label = ", ".join(f"{sweep.params[i].label or sweep.params[i].path} = "
                          f"{_value_text(sweep.params[i], v)}"
                          for i, v in zip(others, key, strict=True))
        out.append((label, points))
    if len(out) > MAX_ROWS:
        keep = np.unique(np.linspace(0, len(out) - 1, MAX_ROWS).round().astype(int))
        out = [out[i] for i in keep]
    return out


def _thinned(result: SweepResult, main: Param) -> str:
    """Say how many rows a chart leaves out, if any."""
    sweep = result.sweep
    others = [i for i, p in enumerate(sweep.params) if p is not main]
    if sweep.mode == "zip" or not others:
        return ""
    total = len({tuple(v[i] for i in others) for v in sweep.points})
    return f" ({MAX_ROWS} of {total} rows shown; all in sweep.csv)" if total > MAX_ROWS else ""


def _x(param: Param, values: Sequence[Any]) -> tuple[np.ndarray, list[str] | None]:
    """Positions on the x axis: numbers, dates, or evenly spaced categories (with labels)."""
    if param.numeric:
        return np.asarray([float(v) for v in values]), None
    if param.dates:
        from matplotlib.dates import date2num

        return np.asarray([date2num(dt.datetime.combine(v, dt.time())) for v in values]), None
    order = list(param.values)
    return np.asarray([order.index(v) for v in values], dtype=float), [param.text(v)
                                                                         for v in order]


def _x_axis(ax: Any, param: Param, labels: list[str] | None) -> None:
    """Ticks for the swept parameter: log scale, dates or category labels as needed."""
    from matplotlib.ticker import MaxNLocator

    if labels is not None:
        ax.set_xticks(range(len(labels)), labels)
        return
    if param.dates:
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        return
    if param.scale == "log":
        ax.set_xscale("log")
        return
    if len(param.values) <= 10 and param.scale == "linear":
        ax.set_xticks([float(v) for v in param.values],
                      [_value_text(param, v) for v in param.values])
        return
    integers = all(isinstance(v, int) for v in param.values)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=7, integer=integers))


def _baseline_x(param: Param) -> float | None:
    """Where the scenario's own value sits on the x axis (None when it has none there)."""
    b = param.baseline
    if b is None:
        return None
    if param.numeric and isinstance(b, int | float) and not isinstance(b, bool):
        return float(b)
    if param.dates and isinstance(b, dt.date):
        return float(_x(param, [b])[0][0])
    if not param.numeric and not param.dates and b in param.values:
        return float(list(param.values).index(b))
    return None


def _axis_label(param: Param) -> str:
    label = param.label or param.path
    return f"{label} (log scale)" if param.scale == "log" else label


def _pct_ticks(axis: Any, lo: float, hi: float) -> None:
    """Percent tick labels with as many decimals as the range needs (0.2 % steps: one)."""
    from matplotlib.ticker import PercentFormatter

    span = 100 * abs(hi - lo)
    axis.set_major_formatter(PercentFormatter(1.0, decimals=0 if span >= 4 else
                                              1 if span >= 0.4 else 2))


def _value_axis(ax: Any, axis: str, kind: str, currency: str) -> None:
    from simulator.present.plots import _money_axis, _pct_axis

    target = ax.yaxis if axis == "y" else ax.xaxis
    if kind == "pct":
        _pct_axis(target)
    else:
        _money_axis(target, currency)


# --------------------------------------------------------------------------- stress curves


def _stress_param(result: SweepResult) -> Param | None:
    return next((p for p in result.sweep.params if p.kind == "scenario"), None)


def _frontier_param(result: SweepResult) -> Param | None:
    return next((p for p in result.sweep.params if p.kind == "policy"), None)


def plot_stress(
    result: SweepResult,
    axes: np.ndarray,
    *,
    param: Param | None = None,
    metrics: Sequence[str] = tuple(m for m, _, _ in STRESS_METRICS),
    currency: str | None = None,
) -> np.ndarray:
    """Draw the stress curves: each metric of the portfolio against the swept value.

    One line per policy (its colour from :func:`simulator.present.plots.policy_colors`)
    with a band for the 95 % CI of the mean; the scenario's own value of the parameter
    is a dashed vertical line.

    Args:
        result: the sweep.
        axes: a rows × metrics grid of axes (one row per combination of the other
            parameters, :func:`_combos`), or a flat sequence of one axis per metric
            when there is one row.
        param: the parameter on the x axis (default: the first of the scenario's).
        metrics: the metrics, one panel per row each.
        currency: for money axes (default: the run's).

    Returns:
        The axes, rows × metrics.

    """
    from simulator.present.plots import policy_colors

    param = param or _stress_param(result) or result.sweep.params[0]
    meta = result.metadata
    currency = meta.get("currency", "$") if currency is None else currency
    policies = list(meta.get("policies") or result.sweep.scenario.policies)
    colors = policy_colors(policies)
    combos = _combos(result, param)
    grid = np.asarray(axes, dtype=object).reshape(len(combos), len(metrics))
    base_x = _baseline_x(param)
    column = param.path
    for r, (row_label, points) in enumerate(combos):
        table = result.table[result.table["point"].isin(points)]
        for c, metric in enumerate(metrics):
            ax = grid[r, c]
            labels = None
            for policy in policies:
                rows = _rows(table, policy, metric)
                if rows.empty:
                    continue
                x, labels = _x(param, list(rows[column]))
                order = np.argsort(x, kind="stable")
                x = x[order]
                mean, lo, hi = (rows[k].to_numpy(dtype=float)[order]
                                for k in ("mean", "ci_low", "ci_high"))
                ax.fill_between(x, lo, hi, color=colors[policy], alpha=0.16, lw=0)
                ax.plot(x, mean, "-o", color=colors[policy], ms=3.5, lw=1.7, label=policy)
            if base_x is not None:
                ax.axvline(base_x, **_BASELINE_STYLE, zorder=0)
            _x_axis(ax, param, labels)
            _value_axis(ax, "y", _KINDS.get(metric, "pct"), currency)
            if _KINDS.get(metric) == "pct":
                _pct_ticks(ax.yaxis, *ax.get_ylim())
            ax.grid(alpha=0.3)
            if r == 0:
                ax.set_title(_LABELS.get(metric, metric), fontsize=10)
            if r == len(combos) - 1 or len(combos) == 1:
                ax.set_xlabel(_axis_label(param), fontsize=9)
            if metric == "fill_rate":
                ax.axhline(FILL_TARGET, color="#999999", ls=":", lw=1, zorder=0)
            if len(combos) == 1:
                ax.set_ylabel(_UNITS.get(metric, "").format(currency=currency), fontsize=9)
            elif c == 0 and row_label:
                ax.set_ylabel(row_label, fontsize=9)
    return grid


def stress_figure(result: SweepResult) -> Any:
    """Return the stress-curve figure, or None when no parameter of the scenario is swept."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from simulator.present.plots import policy_colors

    param = _stress_param(result)
    if param is None:
        return None
    combos = _combos(result, param)
    metrics = [m for m, _, _ in STRESS_METRICS]
    if len(combos) == 1:
        fig = Figure(figsize=(11, 7.6), layout="constrained", facecolor="white")
        axes = fig.subplots(2, 2).ravel()
    else:
        fig = Figure(figsize=(14, 2.5 * len(combos) + 1.6), layout="constrained",
                     facecolor="white")
        axes = fig.subplots(len(combos), len(metrics), sharex=True, sharey="col",
                            squeeze=False)
    plot_stress(result, axes, param=param, metrics=metrics)
    policies = list(result.metadata.get("policies") or result.sweep.scenario.policies)
    colors = policy_colors(policies)
    handles = [Line2D([], [], color=colors[p], marker="o", ms=4, lw=1.7, label=p)
               for p in policies]
    handles.append(Patch(color="#888888", alpha=0.3, label="95 % CI of the mean"))
    if _baseline_x(param) is not None:
        handles.append(Line2D([], [], **_BASELINE_STYLE,
                              label=f"as in the scenario ({param.text(param.baseline)})"))
    handles.append(Line2D([], [], color="#999999", ls=":", lw=1,
                          label=f"{_pct(FILL_TARGET, 0)} fill rate"))
    fig.legend(handles=handles, loc="outside lower center", fontsize=9, frameon=False,
               ncol=len(handles) if len(handles) <= 5 else math.ceil(len(handles) / 2))
    others = "" if result.sweep.mode == "grid" or len(result.sweep.params) == 1 else (
        " (with " + ", ".join(p.label or p.path for p in result.sweep.params if p is not param)
        + " moving together)")
    fig.suptitle(f"How each policy bears {param.label or param.path}{others}: all SKUs, "
                 f"mean of {result.sweep.scenario.replications} replications and 95 % CI"
                 f"{_thinned(result, param)}", fontsize=11)
    return fig


# --------------------------------------------------------------------------- the frontier


def plot_frontier(
    result: SweepResult,
    axes: np.ndarray,
    *,
    param: Param | None = None,
    ys: Sequence[str] = ("total_cost", "cash_tied_up"),
    currency: str | None = None,
) -> np.ndarray:
    """Draw cost (and cash) against fill rate: one curve per policy through the swept values.

    Every point is a policy at one value, at its mean with 95 % CI bars on both axes,
    labelled with the value; a policy the sweep does not change is one square. The
    efficient points of a panel (:func:`simulator.study.sweep.efficient`: none other
    has a higher fill rate at a lower or equal cost, by the means) are ringed in black
    and joined by a dashed line. The view fits the curves the sweep moves; a policy far
    outside it is named in a note in the corner instead of squeezing the curves.

    Args:
        result: the sweep.
        axes: a rows × len(ys) grid (one row per combination of the other parameters).
        param: the parameter the curves follow (default: the first policy parameter).
        ys: the metrics on the y axes, better lower.
        currency: for money axes (default: the run's).

    Returns:
        The axes, rows × len(ys).

    """
    from simulator.present.plots import policy_colors

    param = param or _frontier_param(result) or result.sweep.params[0]
    meta = result.metadata
    currency = meta.get("currency", "$") if currency is None else currency
    policies = list(meta.get("policies") or result.sweep.scenario.policies)
    colors = policy_colors(policies)
    combos = _combos(result, param)
    grid = np.asarray(axes, dtype=object).reshape(len(combos), len(ys))
    for r, (row_label, points) in enumerate(combos):
        table = result.table[result.table["point"].isin(points)]
        for c, metric in enumerate(ys):
            ax = grid[r, c]
            curves = _frontier_curves(table, policies, metric, param)
            view = _frontier_view(curves)
            outside = []
            labels: list[tuple[str, float, float, str, bool]] = []
            for policy, curve in curves.items():
                x, y = curve["x"], curve["y"]
                inside = _inside(view, x, y)
                if not inside.any():
                    outside.append(f"{policy} ({_pct(x[0])}, "
                                   f"{_short_money(y[0], currency)})")
                ax.errorbar(x, y, xerr=curve["xerr"], yerr=curve["yerr"],
                            fmt="-o" if curve["moves"] else "s", ms=5 if curve["moves"] else 6,
                            color=colors[policy], elinewidth=1, capsize=2.5, lw=1.6,
                            label=policy, zorder=3)
                if not curve["moves"]:
                    labels.insert(0, (policy, x[0], y[0], colors[policy], True))
                    continue
                ends = [0, len(x) - 1]
                labels += [(_value_text(param, curve["values"][i]), x[i], y[i],
                            colors[policy], False)
                           for i in ends + [i for i in range(len(x)) if i not in ends]]
            xs = np.concatenate([cv["x"] for cv in curves.values()]) if curves else np.array([])
            ys_ = np.concatenate([cv["y"] for cv in curves.values()]) if curves else np.array([])
            best = efficient(xs, ys_)
            if best.any():
                idx = np.flatnonzero(best)
                idx = idx[np.argsort(xs[idx], kind="stable")]
                ax.plot(xs[idx], ys_[idx], ls="--", color="black", lw=1, zorder=2)
                ax.scatter(xs[idx], ys_[idx], s=130, facecolors="none", edgecolors="black",
                           linewidths=1.3, zorder=4)
            if view is not None:
                ax.set_xlim(view[0], view[1])
                ax.set_ylim(view[2], view[3])
            _place_labels(ax, labels)
            if outside:
                ax.text(0.02, 0.02, _plain_text("outside the view: " + "; ".join(outside)),
                        transform=ax.transAxes, fontsize=7.5, color="#444444", va="bottom",
                        ha="left", bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
            _pct_ticks(ax.xaxis, *ax.get_xlim())
            _value_axis(ax, "y", _KINDS.get(metric, "money"), currency)
            ax.grid(alpha=0.3)
            ax.set_xlabel("Fill rate (type 2, all SKUs)", fontsize=9)
            ax.set_ylabel(f"{_LABELS.get(metric, metric)} ({currency})", fontsize=9)
            title = f"{_LABELS.get(metric, metric).split(' (')[0]} against fill rate"
            ax.set_title(f"{title}: {row_label}" if row_label else title, fontsize=10)
    return grid


def _place_labels(ax: Any, labels: Sequence[tuple[str, float, float, str, bool]]) -> None:
    """Label points in order of priority where a label covers no other label or point.

    Policy names come first, then each curve's ends, then its other values. Each
    label tries four places around its point (right below, right above, left below,
    left above, in the axes' display coordinates) and is left out when none is free:
    the table has every value.
    """
    ax.autoscale_view()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    scale = 72 / ax.figure.dpi  # display pixels to points
    (left, bottom), (right, top) = ax.transAxes.transform([(0, 0), (1, 1)]) * scale
    anchors = {(x, y): ax.transData.transform((x, y)) * scale for _, x, y, _, _ in labels
               if x0 <= x <= x1 and y0 <= y <= y1}
    taken = [(px - 4, py - 4, px + 4, py + 4) for px, py in anchors.values()]

    def free(box: tuple[float, float, float, float], own: tuple[float, float]) -> bool:
        if box[0] < left or box[2] > right or box[1] < bottom or box[3] > top:
            return False
        ox, oy = own
        return not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                       and not (b[0] == ox - 4 and b[1] == oy - 4) for b in taken)

    for text, x, y, color, bold in labels:
        if (x, y) not in anchors:
            continue
        px, py = anchors[(x, y)]
        size = 8.0 if bold else 7.5
        w, h = 0.62 * size * len(text) + 3, size + 2
        gap = 6 if bold else 5
        for dx, dy in ((gap, -h - 2), (gap, 4), (-gap - w, -h - 2), (-gap - w, 4)):
            box = (px + dx, py + dy, px + dx + w, py + dy + h)
            if free(box, (px, py)):
                taken.append(box)
                ax.annotate(_plain_text(text), (x, y), xytext=(dx, dy),
                            textcoords="offset points", fontsize=size, color=color,
                            fontweight="bold" if bold else "normal", annotation_clip=True)
                break


def _frontier_curves(table: Any, policies: Sequence[str], metric: str,
                     param: Param) -> dict[str, dict[str, Any]]:
    """Each policy's points in the order of the swept value: means, CI bars, values.

    A policy whose points are all the same (the sweep does not change it) keeps one.
    """
    curves = {}
    for policy in policies:
        fill = _rows(table, policy, "fill_rate")
        cost = _rows(table, policy, metric)
        if fill.empty or cost.empty:
            continue
        values = list(fill[param.path])
        order = np.argsort(_x(param, values)[0], kind="stable")
        x, x_lo, x_hi = (fill[k].to_numpy(dtype=float)[order] for k in ("mean", "ci_low",
                                                                       "ci_high"))
        y, y_lo, y_hi = (cost[k].to_numpy(dtype=float)[order] for k in ("mean", "ci_low",
                                                                       "ci_high"))
        moves = not (np.allclose(x, x[0], equal_nan=True) and np.allclose(y, y[0],
                                                                          equal_nan=True))
        keep = slice(None) if moves else slice(0, 1)
        curves[policy] = {
            "x": x[keep], "y": y[keep], "moves": moves,
            "values": [values[i] for i in order][keep],
            "xerr": [np.maximum(x - x_lo, 0)[keep], np.maximum(x_hi - x, 0)[keep]],
            "yerr": [np.maximum(y - y_lo, 0)[keep], np.maximum(y_hi - y, 0)[keep]],
            "lo": (np.fmin(x_lo, x)[keep], np.fmin(y_lo, y)[keep]),
            "hi": (np.fmax(x_hi, x)[keep], np.fmax(y_hi, y)[keep]),
        }  # fmt: skip
    return curves


def _frontier_view(curves: Mapping[str, Mapping[str, Any]]) -> tuple[float, ...] | None:
    """Fit the view to the curves the sweep moves, and to the other points in their range.

    Another policy's point joins the view when its fill rate lies within half the
    curves' span of fill rates of them (its cost may then widen the view: that is the
    comparison to see); one further out, a policy that serves far less, would squeeze
    the curves into a corner and is named in a note instead. None: fit everything.
    """
    moving = [cv for cv in curves.values() if cv["moves"]]
    if not moving or len(moving) == len(curves):
        return None

    def box(cvs: list[Mapping[str, Any]]) -> list[float]:
        return [float(np.nanmin(np.concatenate([cv["lo"][0] for cv in cvs]))),
                float(np.nanmax(np.concatenate([cv["hi"][0] for cv in cvs]))),
                float(np.nanmin(np.concatenate([cv["lo"][1] for cv in cvs]))),
                float(np.nanmax(np.concatenate([cv["hi"][1] for cv in cvs])))]

    b = box(moving)
    reach = max(b[1] - b[0], 0.005) / 2
    near = [cv for cv in curves.values()
            if not cv["moves"] and b[0] - reach <= float(cv["x"][0]) <= b[1] + reach]
    b = box(moving + near)
    wx, wy = max(b[1] - b[0], 0.005), max(b[3] - b[2], abs(b[3]) * 0.05, 1e-9)
    return (b[0] - 0.08 * wx, min(b[1] + 0.08 * wx, 1.0 + 0.02 * wx),
            b[2] - 0.1 * wy, b[3] + 0.1 * wy)


def _inside(view: tuple[float, ...] | None, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if view is None:
        return np.ones(len(x), dtype=bool)
    return (x >= view[0]) & (x <= view[1]) & (y >= view[2]) & (y <= view[3])


def _plain_text(text: str) -> str:
    """Escape dollar signs, which matplotlib would read as mathematics between two of them."""
    return text.replace("$", r"\$")


def _short_money(value: float, currency: str) -> str:
    from simulator.present.plots import _money_text

    return _money_text(value, currency)


def frontier_figure(result: SweepResult) -> Any:
    """Return the frontier figure, or None when no policy parameter is swept."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from simulator.present.plots import policy_colors

    param = _frontier_param(result)
    if param is None:
        return None
    combos = _combos(result, param)
    fig = Figure(figsize=(12, 4.6 * len(combos) + 1.0), layout="constrained",
                 facecolor="white")
    axes = fig.subplots(len(combos), 2, squeeze=False)
    plot_frontier(result, axes, param=param)
    policies = list(result.metadata.get("policies") or result.sweep.scenario.policies)
    colors = policy_colors(policies)
    handles = [Line2D([], [], color=colors[p], marker="o", ms=4, lw=1.6, label=p)
               for p in policies]
    handles.append(Line2D([], [], color="black", ls="--", lw=1, marker="o", ms=9,
                          mfc="none", mec="black",
                          label="efficient: no other point has a higher fill rate for less"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5),
               fontsize=9, frameon=False)
    fig.suptitle(f"Cost against service as {param.label or param.path} goes "
                 f"{param.text(param.values[0])} → {param.text(param.values[-1])} "
                 f"(labels): all SKUs, mean and 95 % CI of {result.sweep.scenario.replications} "
                 f"replications; lower right is better{_thinned(result, param)}", fontsize=11)
    return fig


def write_figures(result: SweepResult, folder: Path, dpi: int = 150) -> list[Path]:
    """Write ``figures/stress.png`` and/or ``figures/frontier.png``; return the paths."""
    out = Path(folder) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in (("stress", stress_figure), ("frontier", frontier_figure)):
        fig = make(result)
        if fig is None:
            continue
        path = out / f"{name}.png"
        fig.savefig(path, dpi=dpi, format="png")
        fig.clear()
        written.append(path)
    return written


# --------------------------------------------------------------------------- words


def _pct(value: float, decimals: int = 1) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{100 * value:.{decimals}f} %"


def _money(value: float, currency: str) -> str:
    from simulator.present.report import _money as money

    return money(value, currency)


def _stat(kind: str, mean: float, lo: float, hi: float, currency: str) -> str:
    """Write a mean and its CI half-width: ``79.2 % ± 0.5``, ``$6,543 ± 656``."""
    if not math.isfinite(mean):
        return "–"
    half = (hi - lo) / 2 if math.isfinite(lo) and math.isfinite(hi) else math.nan
    if kind == "pct":
        pm = f"{100 * half:.1f}" if math.isfinite(half) else "–"
        return f"{_pct(mean)} ± {pm}"
    pm = f"{half:,.0f}" if math.isfinite(half) else "–"
    return f"{_money(mean, currency)} ± {pm}"


def _unchanged(result: SweepResult, policy: str) -> bool:
    """Whether the sweep leaves a policy's results exactly as they are at the first point."""
    table = result.table
    rows = table[(table["policy"] == policy) & (table["sku"] == "ALL")
                 & table["metric"].isin([m for m, _, _ in STRESS_METRICS])]
    if rows.empty or len(result.sweep.points) < 2:
        return False
    spread = rows.groupby("metric")["mean"].agg(lambda s: s.max() - s.min())
    return bool((spread.fillna(0) == 0).all())


def _trend(first: float, last: float) -> str:
    if _pct(first) == _pct(last):
        return f"stays at {_pct(first)}"
    return f"{'falls' if last < first else 'rises'} from {_pct(first)} to {_pct(last)}"


def findings(result: SweepResult) -> list[str]:
    """Return plain sentences: per policy how fill rate bears a stressed value, and the cheapest.

    For a parameter of the scenario, one line per policy (and per row of a grid, up to
    four), e.g. ``jit: fill rate falls from 86.5 % to 71.2 % as port strike days goes
    0 → 42; it stays at or above 95 % (lower CI bound) up to 0 days``. For a policy's
    parameter, where its curve is efficient, and the cheapest point whose fill rate's
    lower CI bound reaches 95 %.
    """
    sweep, table = result.sweep, result.table
    currency = result.metadata.get("currency", "$")
    policies = list(sweep.scenario.policies)
    lines: list[str] = []
    target = _pct(FILL_TARGET, 0)
    stress = _stress_param(result)
    if stress is not None:
        combos = _combos(result, stress)
        for row_label, points in combos[:4]:
            where = f" (at {row_label})" if row_label else ""
            sub = table[table["point"].isin(points)]
            for policy in policies:
                rows = _rows(sub, policy, "fill_rate")
                if rows.empty:
                    continue
                values = list(rows[stress.path])
                pos, _ = _x(stress, values)
                order = np.argsort(pos, kind="stable")
                means = rows["mean"].to_numpy(dtype=float)[order]
                lows = rows["ci_low"].to_numpy(dtype=float)[order]
                ordered = [values[i] for i in order]
                first, last = ordered[0], ordered[-1]
                if _unchanged(result, policy) and sweep.mode == "grid" and len(combos) == 1:
                    lines.append(f"{policy}: not changed by {stress.label or stress.path} "
                                 f"(fill rate {_pct(means[0])}).")
                    continue
                held = holds_up_to(list(range(len(ordered))), list(lows), FILL_TARGET)
                if held is None:
                    tail = (f"it is below {target} (lower CI bound) already at "
                            f"{stress.text(first)}")
                elif held[1]:
                    tail = (f"it stays at or above {target} (lower CI bound) over the whole "
                            f"range, up to {stress.text(last)}")
                else:
                    tail = (f"it stays at or above {target} (lower CI bound) up to "
                            f"{stress.text(ordered[held[0]])}")
                lines.append(
                    f"{policy}: fill rate {_trend(means[0], means[-1])} as "
                    f"{stress.label or stress.path} goes {_value_text(stress, first)} → "
                    f"{_value_text(stress, last)}{where}; {tail}."
                )
        if len(combos) > 4:
            lines.append(f"(The first 4 of {len(combos)} rows; every point is in sweep.csv.)")
    frontier = _frontier_param(result)
    if frontier is not None:
        lines += _frontier_lines(result, frontier, currency)
    return lines


def _frontier_lines(result: SweepResult, param: Param, currency: str) -> list[str]:
    """Say how the swept policy's cost and service move, where it is efficient, what is cheapest.

    The cheapest points are those whose fill rate's lower CI bound reaches
    :data:`FILL_TARGET`: over the swept policy's points, and over every policy.
    """
    table = result.table
    policies = list(result.sweep.scenario.policies)
    target = _pct(FILL_TARGET, 0)
    swept = param.policy
    name = (param.label or param.path).removeprefix(f"{swept} ")
    fill = table[(table["sku"] == "ALL") & (table["metric"] == "fill_rate")]
    cost = table[(table["sku"] == "ALL") & (table["metric"] == "total_cost")]
    merged = fill.merge(cost[["point", "policy", "mean", "ci_low", "ci_high"]],
                        on=["point", "policy"], suffixes=("_fill", ""))
    lines = []
    cheapest_mine = None
    if swept in policies and len(_combos(result, param)) == 1:
        distinct = merged.drop_duplicates(subset=["policy", "mean_fill", "mean"])
        best = efficient(distinct["mean_fill"], distinct["mean"])
        mine = distinct[distinct["policy"] == swept]
        mask = best[(distinct["policy"] == swept).to_numpy()]
        chosen = [_value_text(param, v) for v, ok in zip(mine[param.path], mask, strict=True)
                  if ok]
        eff = (f"efficient (no other point has a higher fill rate for less total cost) at "
               f"{name} = {', '.join(chosen)}" if chosen else
               "never efficient: another point always has a higher fill rate for less")
        lines.append(
            f"{swept}: as {name} goes {_value_text(param, param.values[0])} → "
            f"{_value_text(param, param.values[-1])}, fill rate "
            f"{_trend(mine['mean_fill'].iloc[0], mine['mean_fill'].iloc[-1])} and total cost "
            f"goes {_money(mine['mean'].iloc[0], currency)} → "
            f"{_money(mine['mean'].iloc[-1], currency)}; {eff}."
        )
        ok = mine[mine["ci_low_fill"] >= FILL_TARGET].sort_values(["mean", "point"])
        if ok.empty:
            lines.append(f"{swept}: no {name} keeps its fill rate at {target} or more "
                         "(lower CI bound).")
        else:
            row = ok.iloc[0]
            cheapest_mine = int(row["point"])
            lines.append(
                f"{swept}: the cheapest {name} with fill rate ≥ {target} (lower CI bound) is "
                f"{param.text(row[param.path])}: total cost {_money(row['mean'], currency)} "
                f"[95 % CI {_money(row['ci_low'], currency)}–{_money(row['ci_high'], currency)}]"
                f", fill rate {_pct(row['mean_fill'])}."
            )
    cand = merged[merged["ci_low_fill"] >= FILL_TARGET]
    if cand.empty:
        lines.append(f"No policy at any point keeps its fill rate at {target} or more "
                     "(lower CI bound).")
        return lines
    row = cand.sort_values(["mean", "point"], kind="stable").iloc[0]
    policy = str(row["policy"])
    if policy == swept and int(row["point"]) == cheapest_mine:
        lines.append("No other policy does it for less.")
        return lines
    at = ("(the sweep does not change it)" if _unchanged(result, policy) else
          f"at {result.sweep.describe(int(row['point']))}")
    lines.append(
        f"Cheapest of all with fill rate ≥ {target} (lower CI bound): {policy} {at}: total "
        f"cost {_money(row['mean'], currency)} [95 % CI {_money(row['ci_low'], currency)}–"
        f"{_money(row['ci_high'], currency)}], fill rate {_pct(row['mean_fill'])}."
    )
    return lines


# --------------------------------------------------------------------------- terminal


def _is_own(p: Param, value: Any) -> bool:
    """Whether ``value`` is the scenario's own value of the parameter."""
    b = p.baseline
    if b is None:
        return False
    if p.numeric and isinstance(b, int | float) and not isinstance(b, bool):
        return float(value) == float(b)
    return value == b and type(value) is type(b)


def _point_cells(result: SweepResult, k: int) -> list[str]:
    """Write the parameter values of point ``k``, the scenario's own value starred."""
    return [f"{_value_text(p, v)}{' *' if _is_own(p, v) else ''}"
            for p, v in zip(result.sweep.params, result.sweep.points[k], strict=True)]


def _value_text(p: Param, v: Any) -> str:
    return p.text(v).removesuffix(" days").removesuffix(" day")


def _column_name(p: Param) -> str:
    return p.label or p.path


def _policy_table_rows(result: SweepResult, policy: str) -> list[list[str]]:
    table = result.table
    currency = result.metadata.get("currency", "$")
    out = []
    for k in range(len(result.sweep.points)):
        sub = table[(table["point"] == k) & (table["policy"] == policy) & (table["sku"] == "ALL")]
        cells = _point_cells(result, k)
        for metric, _, kind in STRESS_METRICS:
            r = sub[sub["metric"] == metric]
            if r.empty:
                cells.append("–")
                continue
            r0 = r.iloc[0]
            cells.append(_stat(kind, float(r0["mean"]), float(r0["ci_low"]),
                               float(r0["ci_high"]), currency))
        out.append(cells)
    return out


def print_sweep(result: SweepResult, console: Any = None) -> None:
    """Print a table per policy (fill rate, stockouts, cost, cash at every point) and findings."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=120)
    console.print(result.heading, highlight=False, markup=False)
    sweep = result.sweep
    for policy in sweep.scenario.policies:
        if _unchanged(result, policy):
            row = _policy_table_rows(result, policy)[0]
            n = len(sweep.params)
            console.print(
                f"[bold]{policy}[/bold]: the same at every point: fill rate {row[n]}, stockout "
                f"days {row[n + 1]}, total cost {row[n + 2]}, cash tied up {row[n + 3]}",
                highlight=False,
            )
            continue
        table = Table(title=f"{policy} (all SKUs, mean ± 95 % CI half-width)",
                      title_justify="left", title_style="bold")
        for p in sweep.params:
            table.add_column(_column_name(p), justify="right", no_wrap=True)
        for _, label, _ in STRESS_METRICS:
            table.add_column(label.split(" (")[0], justify="right", no_wrap=True)
        for cells in _policy_table_rows(result, policy):
            table.add_row(*cells)
        console.print(table)
    if any(_is_own(p, v) for p in sweep.params for v in p.values):
        console.print("* the scenario's own value.", highlight=False)
    for line in findings(result):
        console.print(line, highlight=False, markup=False)


# --------------------------------------------------------------------------- report


def write_report(result: SweepResult, folder: Path) -> None:
    """Write ``report.html`` into a (work) folder, atomically (the figures must be there)."""
    tmp = Path(folder) / ".report.html.tmp"
    tmp.write_text(report_html(result, Path(folder)), encoding="utf-8")
    os.replace(tmp, Path(folder) / "report.html")


_CAPTIONS = {
    "stress": (
        "Stress curves",
        "For each policy, the mean over replications of each portfolio measure at every "
        "swept value, with the 95 % confidence interval of the mean as a band. Every point "
        "runs the same replications (common random numbers), so the change from one value "
        "to the next is the effect of the value, not of other luck. The dashed line is the "
        "scenario's own value.",
    ),
    "frontier": (
        "The frontier: cost against service",
        "Each point is a policy at one swept value (labelled), at its mean fill rate and "
        "mean cost with 95 % CI bars on both. A policy the sweep does not change is one "
        "square. Ringed points joined by the dashed line are efficient: no other point has "
        "a higher (or equal) fill rate for less (or equal) cost. Lower right is better.",
    ),
}


def _image(png: bytes, title: str, caption: str, anchor: str) -> str:
    """Embed a PNG with its caption, shown at its own physical size."""
    from simulator.present.report import _css_width, _e

    width = _css_width(png)
    size = f' width="{width}"' if width else ""
    return (f'<figure id="fig-{anchor}"><img src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}"{size} alt="{_e(title)}"><figcaption>'
            f"<strong>{_e(title)}</strong>{_e(caption)}</figcaption></figure>")


def report_html(result: SweepResult, folder: Path | None = None) -> str:
    """Return the sweep's self-contained HTML page (styles and charts inline, no requests).

    In the run report's style (:mod:`simulator.present.report`): what was swept, the
    findings, the charts (from ``folder/figures`` when there, else drawn now), a table
    per policy and what reproduces the sweep.
    """
    from simulator.present.plots import policy_colors
    from simulator.present.report import _CSP, _CSS, _e, _policy

    sweep = result.sweep
    meta = result.metadata
    policies = list(sweep.scenario.policies)
    colors = policy_colors(policies)

    rows = "".join(
        f"<tr><td><code>{_e(p.path)}</code></td><td>{_e(p.label or p.path)}</td>"
        f"<td>{_e(p.kind)}</td><td>{_e(', '.join(p.text(v) for v in p.values))}</td>"
        f"<td>{_e('–' if p.baseline is None else p.text(p.baseline))}"
        f"{_e(' (in place of ' + ', '.join(p.replaces) + ')') if p.replaces else ''}</td></tr>"
        for p in sweep.params
    )
    mode = ("every combination of the values (a grid)" if sweep.mode == "grid" and
            len(sweep.params) > 1 else "the values paired in order (--zip)"
            if sweep.mode == "zip" else "each value")
    what = (
        f"<p>The scenario <code>{_e(sweep.scenario.name)}</code> was run at "
        f"{len(sweep.points)} points, {_e(mode)}, every policy on the same "
        f"{_e(sweep.scenario.replications)} replications (root seed {_e(sweep.scenario.seed)}). "
        "Random streams are keyed by their source, so replication i sees the same demand and "
        "lead-time draws at every point wherever the swept value does not change them: the "
        "curves are paired.</p>"
        '<div class="table-wrap"><table class="summary"><thead><tr><th scope="col">Path</th>'
        '<th scope="col">Short name</th><th scope="col">Kind</th><th scope="col">Values</th>'
        f'<th scope="col">The scenario\'s value</th></tr></thead><tbody>{rows}</tbody>'
        "</table></div>"
    )
    found = "".join(
        f'<li class="finding">{_policy(line.split(":", 1)[0], colors)}:'
        f"{_e(line.split(':', 1)[1])}</li>" if line.split(":", 1)[0] in colors else
        f'<li class="finding">{_e(line)}</li>' for line in findings(result)
    )

    charts = []
    for name in ("stress", "frontier"):
        path = None if folder is None else Path(folder) / "figures" / f"{name}.png"
        if path is not None and path.is_file():
            png = path.read_bytes()
        else:
            fig = (stress_figure if name == "stress" else frontier_figure)(result)
            if fig is None:
                continue
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=150)
            fig.clear()
            png = buf.getvalue()
        charts.append(_image(png, *_CAPTIONS[name], name))

    tables = []
    heads = "".join(f'<th scope="col">{_e(_column_name(p))}</th>' for p in sweep.params)
    heads += "".join(f'<th scope="col">{_e(label.split(" (")[0])}</th>'
                     for _, label, _ in STRESS_METRICS)
    for policy in policies:
        body = "".join(
            "<tr>" + "".join(f'<td class="num">{_e(c)}</td>' for c in cells) + "</tr>"
            for cells in _policy_table_rows(result, policy)
        )
        note = (" <small>(the same at every point)</small>" if _unchanged(result, policy)
                else "")
        tables.append(f"<h3>{_policy(policy, colors)}{note}</h3>"
                      '<div class="table-wrap"><table class="summary"><thead><tr>'
                      f"{heads}</tr></thead><tbody>{body}</tbody></table></div>")
    tables.append('<p class="note">All SKUs; mean per replication ± the half-width of its '
                  "95 % confidence interval (Student t). * marks the scenario's own value. "
                  "Every metric, per SKU too, is in sweep.csv next to this page; every "
                  "replication in runs.parquet.</p>")

    facts = [
        ("Command", f"<code>{_e(meta.get('command', ''))}</code>"),
        ("Root seed", _e(meta.get("seed", ""))),
        ("Replications per point", _e(meta.get("replications", ""))),
        ("Points", _e(len(sweep.points))),
        ("Scenario hash", f"<code>{_e(meta.get('scenario_hash', ''))}</code>"),
        ("Backend", f"{_e(meta.get('backend', ''))}, {_e(meta.get('workers', ''))} worker(s)"),
        ("Wall time", _e(f"{float(meta.get('wall_time_s', 0)):.1f} s")),
        ("Created", _e(meta.get("created", ""))),
        ("Versions", _e(", ".join(f"{k} {x}" for k, x in (meta.get("versions") or {}).items()))),
    ]
    repro = ('<div class="table-wrap"><table>'
             + "".join(f'<tr><th scope="row">{k}</th><td>{x}</td></tr>' for k, x in facts)
             + "</table></div><p>The scenario as given is scenario.yaml next to this page, "
             "the sweep's specification (every point's values and scenario hash) sweep.json."
             "</p><h3>Resolved scenario (scenario.yaml)</h3>"
             f"<pre>{_e(sweep.scenario.to_yaml())}</pre>")

    sections = [
        ("swept", "What was swept", what),
        ("findings", "Findings", f'<ul class="findings">{found}</ul>'),
        ("charts", "Charts", "".join(charts)),
        ("tables", "Every point, per policy", "".join(tables)),
        ("reproducibility", "Reproducibility", repro),
    ]
    toc = "".join(f'<li><a href="#{sid}">{_e(title)}</a></li>' for sid, title, _ in sections)
    content = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{html}</section>'
                      for sid, title, html in sections)
    title = f"{sweep.scenario.name}: sweeping " + ", ".join(p.path for p in sweep.params)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} — supplysim sweep</title><style>{_CSS}</style></head>"
        "<body><main>"
        f'<header><p class="meta">supplysim sweep</p><h1>{_e(title)}</h1>'
        f'<p class="lede">{_e(result.heading)}</p>'
        f'<p class="meta">{_e(sweep.scenario.description)}</p></header>'
        f'<nav aria-label="Contents"><ol>{toc}</ol></nav>'
        f"{content}"
        "<footer>Generated by supplysim. This page is self-contained: it loads nothing "
        "from the network or the disk.</footer>"
        "</main></body></html>\n"
    )
