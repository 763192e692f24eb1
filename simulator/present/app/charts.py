"""The app's charts: the project's trade-off and inventory charts, plus ghosts and a frontier.

The explorer draws :func:`simulator.present.plots.plot_tradeoff` and
:func:`~simulator.present.plots.plot_inventory` unchanged and lays the previous
setting over them as a ghost (hollow points with an arrow to where each policy moved;
the previous median stock as a dashed grey line). The challenge's debrief draws every
entry's objective against its target metric with 95 % CIs and the frontier of the
entries no other beats on both. Functions take data and return a matplotlib
``Figure`` (not pyplot's, so the server keeps no figure registry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from simulator.present.plots import (
    plot_inventory,
    plot_tradeoff,
    policy_colors,
    review_rhythms,
)

__all__ = ["frontier_figure", "inventory_figure", "tradeoff_figure"]

GHOST = "#7a7a7a"


def _means(runs: pd.DataFrame, metric: str) -> dict[str, float]:
    """Each policy's portfolio mean of a metric."""
    sel = runs[runs["sku"] == "ALL"]
    return sel.groupby("policy", sort=False)[metric].mean().to_dict()


def tradeoff_figure(outcome: Any, previous: Any = None, width: float = 6.4,
                    height: float = 5.6) -> Figure:  # fmt: skip
    """Draw cash tied up against stockout days: every replication, means with 95 % CIs.

    With ``previous`` (the last setting's outcome), each policy's earlier mean is a
    hollow grey-edged point with an arrow to its new place.
    """
    s = outcome.scenario
    order = list(s.policies)
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    plot_tradeoff(outcome.runs, outcome.summary, policies=order, baseline=s.baseline_policy,
                  currency=s.currency, axes=[ax], metrics=("cash_tied_up",))
    fig.suptitle("")  # the page's heading says what the chart is
    ax.set_title("Faint dots: one season (replication) each; large: mean with 95 % CI.\n"
                 "Lower left is better.", fontsize=9)
    if previous is not None:
        colors = policy_colors(order)
        x0, y0 = _means(previous.runs, "stockout_rate"), _means(previous.runs, "cash_tied_up")
        x1, y1 = _means(outcome.runs, "stockout_rate"), _means(outcome.runs, "cash_tied_up")
        for p in order:
            if p not in x0 or p not in x1:
                continue
            ax.scatter([x0[p]], [y0[p]], s=70, facecolors="white", edgecolors=colors[p],
                       linewidths=1.6, linestyle="--", zorder=2.5)
            ax.annotate("", xy=(x1[p], y1[p]), xytext=(x0[p], y0[p]), zorder=2.4,
                        arrowprops={"arrowstyle": "->", "color": colors[p], "lw": 1.2,
                                    "alpha": 0.8, "shrinkA": 5, "shrinkB": 7})
        ax.scatter([], [], s=70, facecolors="white", edgecolors=GHOST, linewidths=1.6,
                   label="previous setting (mean)")
        ax.update_datalim(np.array([[x0[p], y0[p]] for p in x0]))
        ax.autoscale_view()
        ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
        ax.legend(title="Policy (mean, 95 % CI)", fontsize=8, title_fontsize=8, loc="best")
    return fig


def inventory_figure(outcome: Any, previous: Any = None, width: float = 9.5,
                     height: float | None = None) -> Figure:  # fmt: skip
    """Draw stock on hand over the year per policy: median, 50 %/90 % bands, a sample path.

    One SKU: its units; several: the portfolio's inventory value. With ``previous``,
    the earlier setting's median is a dashed grey line in each panel.
    """
    s = outcome.scenario
    order = list(s.policies)
    sku = s.skus[0].id if len(s.skus) == 1 else "ALL"
    fig = Figure(figsize=(width, height or 1.8 * len(order) + 1.4), layout="constrained")
    axes = fig.subplots(len(order), 1, sharex=True, sharey=True, squeeze=False).ravel()
    specs = s.to_dict()["policies"]
    plot_inventory(outcome.daily, sku=sku, policies=order, baseline=s.baseline_policy,
                   notes=review_rhythms(specs), calendar=outcome.metadata.get("calendar"),
                   currency=s.currency, axes=axes)  # fmt: skip
    fig.suptitle("")
    for ax in axes:
        ax.title.set_fontsize(9)
    if previous is not None:
        m = "on_hand_p50" if sku != "ALL" else "cash_tied_up_p50"
        old = previous.daily[previous.daily["sku"] == sku]
        now = outcome.daily[outcome.daily["sku"] == sku]
        if len(old) and len(now) and old["day"].max() == now["day"].max():
            top = axes[0].get_ylim()[1]
            for ax, p in zip(axes, order, strict=True):
                sel = old[old["policy"] == p].sort_values("day")
                if sel.empty:
                    continue
                x = pd.to_datetime(sel["date"]) if "date" in sel else sel["day"]
                ax.plot(x, sel[m], color=GHOST, lw=1.3, ls="--", zorder=5,
                        label="previous setting (median)")
                top = max(top, float(np.nanmax(sel[m])) * 1.08)
            axes[0].set_ylim(top=top)
            axes[0].legend(handles=[axes[0].lines[-1]], loc="upper right", fontsize=8)
    return fig


def frontier_figure(board: pd.DataFrame, target_metric: str, target_value: float,
                    objective_metric: str, currency: str = "$",
                    policies: Sequence[str] = (),
                    words: Mapping[str, str] | None = None) -> Figure:  # fmt: skip
    """Draw the debrief: each entry's objective against its target metric, with 95 % CIs.

    Reference policies in their colours, students in dark blue-grey with their names;
    the target as a vertical line with its good side shaded; the frontier (entries no
    other entry beats on both the target metric and the objective) joined by a line.
    """
    words = words or {}
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    if board.empty:
        ax.text(0.5, 0.5, "No finished entries yet", ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
        ax.set_axis_off()
        return fig
    colors = policy_colors(list(policies) or list(board.loc[board["reference"], "name"]))
    good_high = target_metric != "stockout_rate"
    for _, r in board.iterrows():
        c = colors.get(r["name"], "#34495e") if r["reference"] else "#34495e"
        ax.errorbar(r["target"], r["objective"],
                    xerr=[[r["target"] - r["target_lo"]], [r["target_hi"] - r["target"]]],
                    yerr=[[r["objective"] - r["objective_lo"]],
                          [r["objective_hi"] - r["objective"]]],
                    fmt="s" if r["reference"] else "o", color=c, ms=7, capsize=3,
                    mec="white", zorder=3)  # fmt: skip
        label = f"{r['name']} (built-in)" if r["reference"] else str(r["name"])
        ax.annotate(label, (r["target"], r["objective"]), xytext=(6, 5),
                    textcoords="offset points", fontsize=8, color=c,
                    fontweight="bold" if r["rank"] == 1 else "normal")  # fmt: skip
    # Frontier: sorted by the target metric (best first), keep entries that lower the objective.
    pts = board.sort_values("target", ascending=not good_high)
    front, best = [], np.inf
    for _, r in pts.iterrows():
        if r["objective"] < best:
            front.append((r["target"], r["objective"]))
            best = r["objective"]
    if len(front) > 1:
        fx, fy = zip(*sorted(front), strict=True)
        ax.plot(fx, fy, color="#34495e", lw=1, ls=":", zorder=2,
                label="frontier: no entry does better on both")  # fmt: skip
    ax.axvline(target_value, color="#c0392b", lw=1.2, ls="--", label="target")
    lo, hi = ax.get_xlim()
    if good_high:
        ax.axvspan(target_value, max(hi, target_value), color="#2ecc71", alpha=0.07, lw=0)
    else:
        ax.axvspan(min(lo, target_value), target_value, color="#2ecc71", alpha=0.07, lw=0)
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{currency}{v:,.0f}"))
    ax.set_xlabel(words.get(target_metric, target_metric) + " (mean, 95 % CI)")
    ax.set_ylabel(words.get(objective_metric, objective_metric) + f" ({currency}, mean, 95 % CI)")
    ax.set_title("Every entry on the same random futures: lower is better, "
                 + ("right" if good_high else "left") + " of the red line meets the target",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig
