"""Charts of a fit (``supplysim fit --plot DIR``): the history against the fitted model.

Chart functions take plain data (the DataFrame of :func:`simulator.data.fit.daily_check`,
an array of lead times) and an ``ax``, draw on it and return it, as in
:mod:`simulator.present.plots`. :func:`make_fit_figures` writes one PNG per SKU (the
daily series with the fitted mean and 90 % band, and the PIT histogram) and one of the
lead times, built with :class:`matplotlib.figure.Figure` so no GUI backend is touched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from simulator.data.fit import FitResult, daily_check

__all__ = ["make_fit_figures", "plot_daily_fit", "plot_lead_times", "plot_pit"]

HISTORY, FIT = "#555555", "#0072B2"


def plot_daily_fit(check: pd.DataFrame, ax: Axes, title: str = "") -> Axes:
    """Draw the daily units against the fitted mean and its 90 % band.

    Args:
        check: columns ``date``, ``units``, ``mean``, ``p05``, ``p95``.
        ax: the axes to draw on.
        title: the chart's title.

    """
    ax.fill_between(check["date"], check["p05"], check["p95"], color=FIT, alpha=0.18,
                    step="mid", linewidth=0, label="fit: 90 % band")
    ax.plot(check["date"], check["units"], color=HISTORY, linewidth=0.7, label="history")
    ax.plot(check["date"], check["mean"], color=FIT, linewidth=1.5, label="fit: mean")
    outside = ((check["units"] < check["p05"]) | (check["units"] > check["p95"])).mean()
    ax.set_title(title or f"Daily units: history against the fit ({outside:.0%} of days "
                 "outside the 90 % band; up to 10 % expected)", fontsize=10, loc="left")
    ax.set_ylabel("units a day")
    ax.set_ylim(bottom=0)
    loc = AutoDateLocator()
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=3)
    return ax


def plot_pit(pit: Sequence[float] | np.ndarray, ax: Axes, bins: int = 10) -> Axes:
    """Draw the histogram of the randomised PIT values: flat when the model fits.

    A U shape means the fit's spread is too narrow, a hump too wide, a slope a biased
    mean. The dashed band is the range a flat histogram stays in 95 % of the time.
    """
    pit = np.asarray(pit, dtype=float)
    n = pit.size
    ax.hist(pit, bins=bins, range=(0, 1), color=FIT, alpha=0.7, edgecolor="white")
    expected = n / bins
    half = 1.96 * np.sqrt(n * (1 / bins) * (1 - 1 / bins))
    ax.axhline(expected, color=HISTORY, linewidth=1)
    for y in (expected - half, expected + half):
        ax.axhline(y, color=HISTORY, linewidth=0.8, linestyle="--")
    ax.set_xlim(0, 1)
    ax.set_xlabel("PIT of the daily units under the fit")
    ax.set_ylabel("days")
    ax.set_title("PIT (flat = calibrated)", fontsize=10, loc="left")
    return ax


def plot_lead_times(leads: np.ndarray, lead_time: dict, ax: Axes, title: str = "") -> Axes:
    """Draw observed lead times (days) against the fitted distribution's density."""
    from scipy import stats

    leads = np.asarray(leads, dtype=float)
    if leads.size:
        edges = np.arange(np.floor(leads.min()) - 0.5, np.ceil(leads.max()) + 1.5)
        ax.hist(leads, bins=edges, density=True, color=HISTORY, alpha=0.5, label="receipts")
    d = lead_time
    if d["dist"] != "constant":
        m, s = float(d["mean"]), float(d["sd"])
        hi = max(m + 4 * s, leads.max() + 1 if leads.size else 0)
        x = np.linspace(0, hi, 300)
        if d["dist"] == "gamma":
            y = stats.gamma.pdf(x, (m / s) ** 2, scale=s * s / m)
        elif d["dist"] == "lognormal":
            sig2 = np.log1p((s / m) ** 2)
            y = stats.lognorm.pdf(x, np.sqrt(sig2), scale=np.exp(np.log(m) - sig2 / 2))
        else:
            y = stats.norm.pdf(x, m, s)
        ax.plot(x, y, color=FIT, linewidth=1.5, label=f"fit: {d['dist']}")
    else:
        ax.axvline(float(d["value"]), color=FIT, linewidth=1.5, label="fit: constant")
    ax.set_xlabel("lead time (days)")
    ax.set_ylabel("share of receipts")
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(fontsize=8, frameon=False)
    return ax


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "sku"


def make_fit_figures(result: FitResult, folder: str | Path, top: int = 20) -> list[Path]:
    """Write ``sku-<id>.png`` for the ``top`` SKUs by revenue and ``lead-times.png``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    ranked = sorted(result.skus, key=lambda f: (-f.revenue_share, f.sku))[:top]
    for f in ranked:
        check = daily_check(f)
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        left, right = fig.subplots(1, 2, width_ratios=[3, 1])
        plot_daily_fit(check, left)
        plot_pit(check["pit"], right)
        fig.suptitle(f"{f.sku} (class {f.abc}): {f.model}, {f.dist}", fontsize=11, x=0.01,
                     ha="left")
        path = folder / f"sku-{_safe(f.sku)}.png"
        fig.savefig(path, dpi=110)
        written.append(path)
    sups = list(result.suppliers.values())
    fig = Figure(figsize=(4.2 * len(sups), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(sups)))
    for ax, s in zip(axes, sups, strict=True):
        what = f"{s.leads.size} receipts" if s.source == "purchases" else "assumed"
        plot_lead_times(s.leads, s.lead_time, ax, title=f"{s.name} ({what})")
    path = folder / "lead-times.png"
    fig.savefig(path, dpi=110)
    written.append(path)
    return written
