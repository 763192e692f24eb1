"""The chart of a parameter search (``supplysim optimize``): what each point costs and reaches.

:func:`plot_search` draws the rows of an optimize ``search`` table (``search.csv``):
the objective's mean and confidence interval against the first parameter, one series
per combination of the others, and below it one panel per target metric with the
target as a dashed line. A point that meets every target is a filled marker, one that
misses a target a hollow one (so feasibility reads without colour); points dropped at
the screening stage are drawn faint; the choice is a large star, labelled. Series
differ in marker shape and line style as well as colour (Okabe-Ito palette).

:func:`write_search_chart` draws every group (the portfolio, each SKU or each class)
of an :class:`~simulator.study.optimize.OptimizeResult` into ``search.png``. Figures are
built without pyplot, so nothing lingers and no GUI backend is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from simulator.present.plots import PALETTE, _money_axis, _pct_axis

__all__ = ["plot_search", "search_panels", "write_search_chart"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h")
_STYLES = ("-", "--", ":", "-.")
_RATIOS = {"fill_rate", "order_fill_rate", "stockout_rate", "any_stockout_rate", "p_backorder_end",
           "cycle_service_level"}  # fmt: skip
_MONEY_END = ("_cost",)
_MONEY = {"cash_tied_up", "cash_tied_up_peak", "cash_in_pipeline", "revenue", "gross_margin",
          "cash_out", "working_capital_peak"}  # fmt: skip


def _is_money(metric: str) -> bool:
    return metric in _MONEY or metric.endswith(_MONEY_END)


def _fmt(value: Any) -> str:
    v = float(value)
    return str(int(v)) if v.is_integer() else f"{v:.4g}"


def search_panels(objective: str, targets: Sequence[Any] = ()) -> list[str]:
    """Return the metrics drawn, one panel each: the objective, then each target's metric."""
    out = [objective]
    for t in targets:
        metric = t.metric if hasattr(t, "metric") else t[0]
        if metric not in out:
            out.append(metric)
    return out


def plot_search(
    search: pd.DataFrame,
    params: Sequence[str],
    objective: str,
    targets: Sequence[Any] = (),
    *,
    group: str | None = None,
    currency: str = "$",
    confidence: float = 0.95,
    axes: Sequence[Any] | None = None,
) -> np.ndarray:
    """Draw a search: the objective and each target metric against the first parameter.

    Args:
        search: the ``search`` table of an optimize result (or ``search.csv``).
        params: the parameters searched, in order; the first is the x axis, the
            others make the series. Parameters with no value in the group's rows
            (per class: the other class's) are left out.
        objective: the metric minimised.
        targets: ``(metric, op, value)`` triples or :class:`~simulator.study.optimize.Target`.
        group: which group's rows (``ALL``, a SKU id, ``class A``); default the first.
        currency: the scenario's currency, for money axes.
        confidence: the level of the intervals, for the labels.
        axes: one axis per panel (:func:`search_panels`); created in a column when omitted.

    Returns:
        The axes as a flat array.

    """
    if group is None:
        group = str(search["group"].iloc[0])
    rows = search[search["group"] == group]
    keys = [k for k in params if k in rows and rows[k].notna().any()]
    if not keys:
        raise ValueError(f"plot_search: no parameter column of {list(params)} in the rows")
    x, others = keys[0], keys[1:]
    metrics = search_panels(objective, targets)
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(len(metrics), 1, sharex=True, squeeze=False,
                               figsize=(8, 2.2 + 2.4 * len(metrics)), layout="constrained")
    axes = np.asarray(axes).ravel()
    series = (list(rows.groupby(others, sort=True, dropna=False)) if others
              else [((), rows)])  # fmt: skip
    conf = f"{confidence * 100:g} %"
    for ax, metric in zip(axes, metrics, strict=False):
        for s, (label, sub) in enumerate(series):
            color = PALETTE[s % len(PALETTE)] if s < 2 * len(PALETTE) else "#999999"
            marker, style = _MARKERS[s % len(_MARKERS)], _STYLES[s % len(_STYLES)]
            sub = sub.sort_values(x)
            xs = sub[x].to_numpy(dtype=float)
            mean = sub[f"{metric}_mean"].to_numpy(dtype=float)
            lo = sub[f"{metric}_ci_low"].to_numpy(dtype=float)
            hi = sub[f"{metric}_ci_high"].to_numpy(dtype=float)
            ax.plot(xs, mean, linestyle=style, color=color, lw=1.2, alpha=0.8, zorder=1)
            for xi, m, lo_i, hi_i, feas, stage in zip(xs, mean, lo, hi, sub["feasible"],
                                                       sub["stage"], strict=True):  # fmt: skip
                faint = stage == "screen"
                ax.errorbar([xi], [m], yerr=[[max(m - lo_i, 0)], [max(hi_i - m, 0)]],
                            fmt="none", ecolor=color, elinewidth=1.2 if faint else 2,
                            capsize=2 if faint else 3, alpha=0.45 if faint else 0.95, zorder=2)
                ax.plot([xi], [m], marker=marker, linestyle="none", ms=5 if faint else 7,
                        markeredgecolor=color, markeredgewidth=1.5,
                        markerfacecolor=color if bool(feas) else "white",
                        alpha=0.55 if faint else 1.0, zorder=3)  # fmt: skip
            if others:
                text = ", ".join(_fmt(v) for v in np.atleast_1d(label))
                ax.plot([], [], marker=marker, linestyle=style, color=color, label=text)
        chosen = rows[rows["status"] == "chosen"]
        for _, c in chosen.iterrows():
            ax.plot([c[x]], [c[f"{metric}_mean"]], marker="*", ms=18, markerfacecolor="#F0E442",
                    markeredgecolor="black", markeredgewidth=1.2, linestyle="none", zorder=5)
            if metric == objective:
                what = "\n".join(f"{k}={_fmt(c[k])}" for k in keys)
                lo_x, hi_x = float(rows[x].min()), float(rows[x].max())
                right = hi_x > lo_x and (float(c[x]) - lo_x) / (hi_x - lo_x) > 0.5
                ax.annotate(f"chosen\n{what}", (c[x], c[f"{metric}_mean"]),
                            xytext=(-14 if right else 14, 28), textcoords="offset points",
                            ha="right" if right else "left", fontsize=9, fontweight="bold",
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                                  "alpha": 0.85},
                            arrowprops={"arrowstyle": "-", "color": "black", "lw": 0.8})
        for t in targets:
            metric_t, op, value = (t.metric, t.op, t.value) if hasattr(t, "metric") else t
            if metric_t != metric:
                continue
            ax.axhline(value, color="black", linestyle="--", lw=1.2, zorder=0)
            ax.annotate(f"target {op} {_fmt(value)}", (0.0, value), xycoords=("axes fraction",
                        "data"), xytext=(4, 4 if op == ">=" else -12), textcoords="offset points",
                        ha="left", fontsize=9, bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                                     "ec": "none", "alpha": 0.85})  # fmt: skip
        if metric in _RATIOS:
            _pct_axis(ax.yaxis)
        elif _is_money(metric):
            _money_axis(ax.yaxis, currency)
        kind = "mean per replication" if _is_money(metric) else "mean"
        ax.set_ylabel(f"{metric}\n({kind}, {conf} CI)", fontsize=9)
        ax.grid(alpha=0.3)
        if rows[x].dropna().apply(lambda v: float(v).is_integer()).all():
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[min(len(metrics), len(axes)) - 1].set_xlabel(x)
    where = "all SKUs" if group in (None, "ALL") else group
    axes[0].set_title(f"{objective} against {x} ({where}): lower is better", fontsize=10)
    handles = [
        Line2D([], [], marker="o", linestyle="none", color="#555555", markerfacecolor="#555555",
               label="meets every target"),
        Line2D([], [], marker="o", linestyle="none", color="#555555", markerfacecolor="white",
               label="misses a target"),
        Line2D([], [], marker="o", linestyle="none", color="#555555", alpha=0.5, ms=5,
               label="dropped at screening (fewer replications)"),
        Line2D([], [], marker="*", linestyle="none", ms=14, markerfacecolor="#F0E442",
               markeredgecolor="black", label="chosen"),
    ]  # fmt: skip
    extra, labels = axes[0].get_legend_handles_labels()
    axes[0].legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                   title="markers", title_fontsize=8, frameon=False)  # fmt: skip
    if extra:  # the series, beside the next panel (or below the markers' legend)
        markers = axes[0].get_legend()
        one = len(metrics) == 1
        (axes[0] if one else axes[1]).legend(
            handles=extra, labels=labels, fontsize=8, loc="lower left" if one else "upper left",
            bbox_to_anchor=(1.02, 0.0 if one else 1.0), title=", ".join(others),
            title_fontsize=8, frameon=False,
        )
        if one:
            axes[0].add_artist(markers)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    return axes


def write_search_chart(result: Any, folder: Path | str, formats: Sequence[str] = ("png",),
                       dpi: int = 150, max_groups: int = 4) -> list[Path]:  # fmt: skip
    """Draw an optimize result's search into ``folder/search.<format>``.

    One column per group (the portfolio; with ``per``, the first ``max_groups`` SKUs
    or classes), one row per panel (:func:`search_panels`).

    Args:
        result: an :class:`~simulator.study.optimize.OptimizeResult`.
        folder: an existing folder (a workspace's work folder).
        formats: matplotlib format names.
        dpi: resolution of raster formats.
        max_groups: most groups drawn.

    Returns:
        The paths written.

    """
    groups = list(dict.fromkeys(result.search["group"]))[:max_groups]
    metrics = search_panels(result.minimize, result.targets)
    fig = Figure(figsize=(7.5 * len(groups), 1.8 + 2.8 * len(metrics)), layout="constrained",
                 facecolor="white")  # fmt: skip
    grid = fig.subplots(len(metrics), len(groups), squeeze=False, sharex="col")
    for j, g in enumerate(groups):
        plot_search(result.search, result.keys, result.minimize, result.targets, group=g,
                    currency=result.currency, confidence=result.confidence, axes=grid[:, j])
    fig.suptitle(f"Search over {', '.join(result.keys)} for {result.policy} on "
                 f"{result.scenario.name} (seed {result.scenario.seed})", fontsize=11)
    out = []
    for fmt in formats:
        path = Path(folder) / f"search.{fmt}"
        fig.savefig(path, format=fmt, dpi=dpi)
        out.append(path)
    fig.clear()
    return out
