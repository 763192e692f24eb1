"""One-line plain-language readings of what changed between two explorer settings.

"JIT's stockout days rose from 12 % to 31 % when lead-time variability doubled
(CV 0.35 → 0.70)." :func:`describe_change` says what the sliders did;
:func:`reading` finds the policy whose stockout days or cash tied up moved most,
measured against the noise (both settings run on the same seed, so replication r of
each sees the same random draws and the comparison is paired where the replication
counts agree), and says it in one sentence. Plain Python over the ``runs`` tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from simulator.present.app.params import LABELS, ExplorerParams

__all__ = ["POLICY_NAMES", "describe_change", "format_value", "policy_name", "reading"]

POLICY_NAMES = {"jit": "JIT", "safety_stock": "safety stock", "hybrid": "hybrid",
                "base_stock": "base stock"}  # fmt: skip
"""How sentences name the usual policies; other names are used as they are."""

_METRICS = {"stockout_rate": "stockout days", "cash_tied_up": "cash tied up",
            "fill_rate": "fill rate"}  # fmt: skip


def policy_name(policy: str, start: bool = False) -> str:
    """Return a policy's name as a sentence prints it (capitalised at the start of one)."""
    name = POLICY_NAMES.get(policy, policy)
    return name[:1].upper() + name[1:] if start else name


def _pct(x: float) -> str:
    """Format a share as a percentage: one decimal below 10 %, none above (12 %, 4.5 %)."""
    p = 100 * x
    return f"{p:.1f} %" if abs(p) < 10 and round(p, 1) != round(p) else f"{p:.0f} %"


def _money(x: float, currency: str) -> str:
    """Money without cents: $1,020."""
    return f"{currency}{x:,.0f}"


def format_value(name: str, value: float | bool, currency: str = "$") -> str:
    """Format a setting's value as a sentence prints it (``7 days``, ``0.35``, ``95 %``)."""
    if name == "closure":
        return "on" if value else "off"
    v = float(value)
    if name in ("demand_cv", "lead_cv"):
        return f"{v:.2f}"
    if name == "demand_mean":
        return f"{v:g} units a day"
    if name == "order_size":
        return "the day's demand in one order" if v == 0 else f"{v:g} units"
    if name in ("lead_mean", "jit_review", "closure_days"):
        return f"{v:g} days" if v != 1 else "1 day"
    if name == "order_cost":
        return f"{currency}{v:,.0f}"
    if name in ("holding_rate", "service_level"):
        return f"{100 * v:g} %"
    if name in ("closure_start", "campaign_start"):
        return f"day {v:g}"
    if name == "campaign_uplift":
        return f"×{v:.1f}" if v > 1 else "no campaign"
    return f"{v:g}"


def _verb(name: str, before: float, after: float) -> str:
    """'doubled (CV 0.35 → 0.70)', 'rose from 7 days to 10 days', 'halved', 'fell ...'."""
    if before > 0 and after > 0 and name not in ("closure_start", "campaign_start"):
        ratio = after / before
        words = {2: "doubled", 3: "tripled", 0.5: "halved"}
        for r, word in words.items():
            if abs(ratio - r) <= 0.03 * r:
                return f"{word} ({format_value(name, before)} → {format_value(name, after)})"
    way = "rose" if after > before else "fell"
    if name in ("closure_start", "campaign_start"):
        way = "moved"
    return f"{way} from {format_value(name, before)} to {format_value(name, after)}"


def describe_change(before: ExplorerParams, after: ExplorerParams, currency: str = "$") -> str:
    """Say in words what changed between two settings ("" when nothing did).

    Replications are left out unless nothing else changed: more replications change
    the precision, not the situation.
    """
    b, a = before.as_dict(), after.as_dict()
    changed = [k for k in a if a[k] != b[k] and k != "replications"]
    parts: list[str] = []
    names: list[str] = []
    if "closure" in changed:
        if a["closure"]:
            end = a["closure_start"] + a["closure_days"] - 1
            parts.append(f"a port closure was added (days {a['closure_start']}–{end})")
        else:
            parts.append("the port closure was removed")
        names.append(LABELS["closure"])
        changed = [k for k in changed if k not in ("closure", "closure_start", "closure_days")]
    elif not a["closure"]:  # moving the sliders of a closure that is off changes nothing
        changed = [k for k in changed if k not in ("closure_start", "closure_days")]
    if "campaign_uplift" in changed and (b["campaign_uplift"] == 1 or a["campaign_uplift"] == 1):
        parts.append(f"a campaign (×{a['campaign_uplift']:.1f} from day {a['campaign_start']}) "
                     "was added" if a["campaign_uplift"] > 1 else "the campaign was removed")
        names.append(LABELS["campaign_uplift"])
        changed = [k for k in changed if k not in ("campaign_uplift", "campaign_start")]
    elif a["campaign_uplift"] == 1:
        changed = [k for k in changed if k != "campaign_start"]
    for k in changed:
        if k == "order_cost":
            verb = ("rose" if a[k] > b[k] else "fell") + (
                f" from {format_value(k, b[k], currency)} to {format_value(k, a[k], currency)}")
        else:
            verb = _verb(k, float(b[k]), float(a[k]))
        parts.append(f"{LABELS[k]} {verb}")
        names.append(LABELS[k])
    if not parts:
        if a["replications"] != b["replications"]:
            return f"the replications went from {b['replications']} to {a['replications']}"
        return ""
    if len(parts) <= 2:
        return " and ".join(parts)
    return f"{', '.join(names[:-1])} and {names[-1]} changed"


def _portfolio(runs: pd.DataFrame) -> pd.DataFrame:
    """Select the portfolio rows of a runs table (one SKU: its ``ALL`` rows)."""
    return runs[runs["sku"] == "ALL"]


def _shift(before: pd.DataFrame, after: pd.DataFrame, policy: str,
           metric: str) -> tuple[float, float, float] | None:  # fmt: skip
    """(mean before, mean after, standard error of the change) of one policy's metric.

    Paired by replication when both runs have the same replications (same seed: the
    same random draws), else the two means' errors combined.
    """
    x = before.loc[before["policy"] == policy].sort_values("replication")
    y = after.loc[after["policy"] == policy].sort_values("replication")
    if x.empty or y.empty or metric not in x or metric not in y:
        return None
    xv, yv = x[metric].to_numpy(float), y[metric].to_numpy(float)
    if len(xv) < 2 or len(yv) < 2:
        return None
    same = np.array_equal(x["replication"].to_numpy(), y["replication"].to_numpy())
    if same:
        se = float(np.std(yv - xv, ddof=1) / math.sqrt(len(xv)))
    else:
        se = math.sqrt(np.var(xv, ddof=1) / len(xv) + np.var(yv, ddof=1) / len(yv))
    return float(xv.mean()), float(yv.mean()), se


def _clause(policy: str, metric: str, m0: float, m1: float, currency: str,
            start: bool) -> str:  # fmt: skip
    """"JIT's stockout days rose from 12 % to 31 %"."""
    show = (lambda v: _pct(v)) if metric != "cash_tied_up" else (lambda v: _money(v, currency))
    way = "rose" if m1 > m0 else "fell"
    return (f"{policy_name(policy, start)}'s {_METRICS[metric]} {way} from {show(m0)} "
            f"to {show(m1)}")


def reading(before: ExplorerParams, after: ExplorerParams, runs_before: pd.DataFrame,
            runs_after: pd.DataFrame, currency: str = "$",
            policies: Sequence[str] | None = None) -> str:  # fmt: skip
    """One line on what the change did: the largest moves in stockout days and cash.

    A move counts when it is at least twice its standard error (about a 95 %
    interval that excludes no change) and at least half a point of stockout days or
    1 % of cash. The sentence names the policy whose stockout days moved most, and
    adds the policy whose cash moved most when that is another policy or the only
    move (moves ranked by size: points of stockout days, shares of cash); with no move
    beyond the noise it says so.
    """
    what = describe_change(before, after, currency)
    if not what:
        return "Nothing changed: the same setting as before."
    b, a = _portfolio(runs_before), _portfolio(runs_after)
    order = list(policies) if policies else list(pd.unique(a["policy"]))
    best: dict[str, tuple[float, str, float, float]] = {}
    for metric, floor in (("stockout_rate", 0.005), ("cash_tied_up", 0.01)):
        for p in order:
            got = _shift(b, a, p, metric)
            if got is None:
                continue
            m0, m1, se = got
            size = abs(m1 - m0)
            scale = 1.0 if metric == "stockout_rate" else max(abs(m0), 1e-9)
            if size >= floor * scale and size >= 2 * se:
                score = size / scale  # the largest move, in points or as a share of cash
                if metric not in best or score > best[metric][0]:
                    best[metric] = (score, p, m0, m1)
    if not best:
        return (f"When {what}, no policy's stockout days or cash tied up moved beyond "
                "the noise of the replications.")
    clauses = []
    if "stockout_rate" in best:
        _, p, m0, m1 = best["stockout_rate"]
        clauses.append(_clause(p, "stockout_rate", m0, m1, currency, start=True))
    if "cash_tied_up" in best:
        _, q, m0, m1 = best["cash_tied_up"]
        if not clauses or q != best["stockout_rate"][1]:
            clauses.append(_clause(q, "cash_tied_up", m0, m1, currency, start=not clauses))
    line = clauses[0] + f" when {what}"
    if len(clauses) > 1:
        line += f"; {clauses[1]}"
    return line + "."
