"""The app's tables as text: the explorer's summary and the challenge's leaderboard.

Each cell is a mean with its 95 % confidence interval, formatted for a room to read
(``95.7 % [95.3–96.1]``, ``$1,676 [1,650–1,702]``); intervals are cut at the range a
share can take, as the report does. Plain pandas in, pandas of strings out.
"""

from __future__ import annotations

import pandas as pd

from simulator.present.app.reading import policy_name

__all__ = ["SUMMARY_METRICS", "leaderboard_table", "summary_table"]

SUMMARY_METRICS = {
    "fill_rate": "Fill rate",
    "stockout_rate": "Stockout days",
    "cash_tied_up": "Cash tied up",
    "total_cost": "Total cost",
    "orders_placed": "Orders",
}
"""Columns of the explorer's summary: metric -> heading."""

_SHARES = {"fill_rate", "stockout_rate", "cycle_service_level", "order_fill_rate"}


def _cell(metric: str, mean: float, lo: float, hi: float, currency: str) -> str:
    """Format one mean with its interval; shares as percentages cut to [0, 100]."""
    if metric in _SHARES:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
        d = 1 if max(abs(mean), abs(hi)) < 0.995 or hi - lo > 0.001 else 2
        return f"{100 * mean:.{d}f} % [{100 * lo:.{d}f}–{100 * hi:.{d}f}]"
    if metric == "orders_placed":
        return f"{mean:.1f} [{lo:.1f}–{hi:.1f}]"
    if min(mean, lo) < 0:  # signed differences: −$436 [−443 to −430]
        def m(v: float) -> str:
            return f"{v:+,.0f}".replace("-", "−")
        return f"{m(mean)[0]}{currency}{m(mean)[1:]} [{m(lo)} to {m(hi)}]"
    return f"{currency}{mean:,.0f} [{lo:,.0f}–{hi:,.0f}]"


def summary_table(summary: pd.DataFrame, policies: list[str], currency: str = "$",
                  baseline: str | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per policy, the portfolio's key metrics as "mean [95 % CI]" text."""
    sel = summary[summary["sku"] == "ALL"] if (summary["sku"] == "ALL").any() else summary
    rows = []
    for p in policies:
        row = {"Policy": policy_name(p, start=True) + (" (baseline)" if p == baseline else "")}
        for metric, head in SUMMARY_METRICS.items():
            r = sel[(sel["policy"] == p) & (sel["metric"] == metric)]
            row[head] = "" if r.empty else _cell(metric, float(r["mean"].iloc[0]),
                                                 float(r["ci_low"].iloc[0]),
                                                 float(r["ci_high"].iloc[0]), currency)
        rows.append(row)
    return pd.DataFrame(rows)


_STANDING = {"meets": "✓ meets", "borderline": "≈ borderline", "misses": "✗ misses"}
_VERDICT = {"leader": "leader", "worse": "worse (95 % CI)",
            "better": "cheaper, target not met", "tied": "tied with the leader",
            "": ""}  # fmt: skip


def leaderboard_table(board: pd.DataFrame, target_metric: str, objective_metric: str,
                      currency: str = "$") -> pd.DataFrame:  # fmt: skip
    """Format the leaderboard as the page shows it: text cells, references marked."""
    out = []
    for _, r in board.iterrows():
        diff = ""
        if r["verdict"] not in ("", "leader"):
            diff = _cell(objective_metric, r["diff"], r["diff_lo"], r["diff_hi"], currency)
            diff = ("+" if r["diff"] >= 0 else "") + diff if r["diff"] >= 0 else diff
        out.append({
            "#": int(r["rank"]),
            "Entry": f"{r['name']} (built-in)" if r["reference"] else r["name"],
            "Parameters": r["params"],
            "Objective": _cell(objective_metric, r["objective"], r["objective_lo"],
                               r["objective_hi"], currency),
            "Target metric": _cell(target_metric, r["target"], r["target_lo"],
                                   r["target_hi"], currency),
            "Target": _STANDING.get(r["standing"], r["standing"]),
            "vs leader (paired)": diff,
            "Verdict": _VERDICT.get(r["verdict"], r["verdict"]),
        })  # fmt: skip
    return pd.DataFrame(out)
