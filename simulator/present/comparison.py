"""What a risk costs, in words, a table, a chart and a page (``supplysim compare``).

The presentation of a :class:`simulator.study.compare.Comparison`: the terminal
table and the plain sentences, the paired-difference chart and the self-contained
``report.html``. The study itself (variants, paired runs, the table of differences)
is :mod:`simulator.study.compare`.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulator.study.compare import (
    _KINDS,
    _LABELS,
    _MINUS,
    CHART_METRICS,
    Comparison,
    shown_metrics,
)

__all__ = ["findings", "plot_paired", "print_comparison", "report_html", "write_report"]


def write_report(cmp: Comparison, folder: Path) -> None:
    """Write ``report.html`` into a (work) folder, atomically."""
    tmp = Path(folder) / ".report.html.tmp"
    tmp.write_text(report_html(cmp), encoding="utf-8")
    os.replace(tmp, Path(folder) / "report.html")


# --------------------------------------------------------------------------- words and numbers


def _num(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}".replace("-", _MINUS)


def _money(value: float, currency: str, plus: bool = False, decimals: int | None = None) -> str:
    """Format an amount: whole units from 100 up (and for zero), cents below."""
    if not math.isfinite(value):
        return "–"
    if decimals is None:
        decimals = 0 if abs(value) >= 100 or value == 0 else 2
    body = _num(abs(value), decimals)
    sign = _MINUS if value < 0 else ("+" if plus and value > 0 else "")
    return f"{sign}{currency}{body}" if len(currency) <= 1 else f"{sign}{body} {currency}"


def _mean_text(kind: str, value: float, currency: str) -> str:
    """Format a mean: ``79.2 %``, ``$60,101``, ``1,234``."""
    if not math.isfinite(value):
        return "–"
    if kind == "pct":
        pct = 100 * value
        return f"{_num(pct, 2 if 99.9 < pct < 100 or 0 < pct < 0.1 else 1)} %"
    if kind == "money":
        return _money(value, currency)
    return _num(value, 0 if abs(value) >= 100 else 1)


def _decimals(kind: str, size: float) -> int:
    """Return the decimals for a difference of this size.

    Points to 0.1 (0.01 below one point), money to the unit from 100 up (cents
    below), units to the unit from 100 up (0.1 below).
    """
    if kind == "pct":
        return 1 if 100 * size >= 0.95 else 2
    if kind == "money":
        return 0 if size >= 100 else 2
    return 0 if size >= 100 else 1


def _diff_text(kind: str, value: float, currency: str, plus: bool = True,
               decimals: int | None = None) -> str:
    """Format a difference: ``−8.1 pp``, ``+$42,310``, ``+1,234``; an exact zero is ``0``."""
    if not math.isfinite(value):
        return "–"
    if value == 0:
        return "0 pp" if kind == "pct" else (_money(0.0, currency) if kind == "money" else "0")
    d = _decimals(kind, abs(value)) if decimals is None else decimals
    sign = "+" if plus and value > 0 else ""
    if kind == "pct":
        return sign + f"{_num(100 * value, d)} pp"
    if kind == "money":
        return _money(value, currency, plus=plus, decimals=d)
    return sign + _num(value, d)


def _range_text(kind: str, lo: float, hi: float, currency: str) -> str:
    """Format an interval with its unit once: ``−8.6 – −7.6 pp``, ``$40,100 – $44,500``.

    Both ends take the precision of the larger one, so a range reads evenly.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "–"
    d = _decimals(kind, max(abs(lo), abs(hi)))
    a, b = (_diff_text(kind, x, currency, plus=False, decimals=d) for x in (lo, hi))
    if kind == "pct":
        return f"{a.removesuffix(' pp')} – {b}"
    return f"{a} – {b}"


def _row(table: Any, policy: str, metric: str, sku: str = "ALL") -> Any:
    rows = table[(table["policy"] == policy) & (table["sku"] == sku) & (table["metric"] == metric)]
    return rows.iloc[0] if len(rows) else None


def _clause(row: Any, kind: str, currency: str, loss_word: str, gain_word: str,
            what: str, higher_is_loss: bool) -> str:
    """Put one paired difference into words: "costs 8.1 points of fill rate [95 % CI 7.6–8.6]"."""
    mean, lo, hi = (float(row[k]) for k in ("diff_mean", "diff_ci_low", "diff_ci_high"))
    if mean == 0 and lo == 0 and hi == 0:
        return f"does not change {what}"
    sign = 1.0 if higher_is_loss else -1.0
    m, a, b = sign * mean, *sorted((sign * lo, sign * hi))

    d = _decimals(kind, max(abs(a), abs(b)))

    def fmt(v: float) -> str:
        if kind == "pct":
            return _num(100 * v, d)
        return _money(v, currency, decimals=d)

    unit = " points of" if kind == "pct" else " of"
    if a > 0:
        return f"{loss_word} {fmt(m)}{unit} {what} [95 % CI {fmt(a)}–{fmt(b)}]"
    if b < 0:
        return f"{gain_word} {fmt(-m)}{unit} {what} [95 % CI {fmt(-b)}–{fmt(-a)}]"
    return (f"changes {what} by no more than the noise ({_diff_text(kind, mean, currency)}, "
            f"95 % CI {_range_text(kind, lo, hi, currency)})")


def findings(cmp: Comparison) -> list[str]:
    """Return one plain-language line per policy on fill rate and total cost.

    E.g. ``jit: the port strike costs 8.1 points of fill rate [95 % CI 7.6–8.6] and
    $42,310 of total cost [95 % CI $40,100–$44,500].``
    """
    table, subject = cmp.table, cmp.variants.subject
    currency = cmp.metadata.get("currency", "$")
    lines = []
    for policy in cmp.metadata["policies"]:
        clauses = []
        fill = _row(table, policy, "fill_rate")
        if fill is not None and math.isfinite(float(fill["diff_mean"])):
            clauses.append(_clause(fill, "pct", currency, "costs", "adds", "fill rate",
                                   higher_is_loss=False))
        cost = _row(table, policy, "total_cost")
        if cost is not None:
            clauses.append(_clause(cost, "money", currency, "adds", "saves", "total cost",
                                   higher_is_loss=True))
        if clauses:
            lines.append(f"{policy}: {subject} " + " and ".join(clauses) + ".")
    return lines


# --------------------------------------------------------------------------- terminal


def print_comparison(cmp: Comparison, console: Any = None) -> None:
    """Print the portfolio table (per policy: with, without, paired difference) and findings."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=120)  # pipes and logs: no need to squeeze into 80 columns
    meta = cmp.metadata
    cur = meta.get("currency", "$")
    table = Table(title=cmp.heading, title_justify="left")
    table.add_column("policy", style="bold", no_wrap=True)
    table.add_column("metric (all SKUs)", no_wrap=True)
    table.add_column("with", justify="right", no_wrap=True)
    table.add_column("without", justify="right", no_wrap=True)
    table.add_column("with − without", justify="right", no_wrap=True)
    table.add_column("95 % CI", justify="right", no_wrap=True)
    table.add_column("p5 – p95", justify="right", no_wrap=True)
    metrics = shown_metrics(cmp.table, meta.get("unmet_demand", "backorder"))
    policies = list(meta["policies"])
    for i, policy in enumerate(policies):
        for j, m in enumerate(metrics):
            r = _row(cmp.table, policy, m)
            if r is None:
                continue
            kind = _KINDS[m]
            table.add_row(
                policy if j == 0 else "",
                _LABELS[m],
                _mean_text(kind, float(r["mean_with"]), cur),
                _mean_text(kind, float(r["mean_without"]), cur),
                _diff_text(kind, float(r["diff_mean"]), cur),
                _range_text(kind, float(r["diff_ci_low"]), float(r["diff_ci_high"]), cur),
                f"[dim]{_range_text(kind, float(r['diff_p5']), float(r['diff_p95']), cur)}[/dim]",
                end_section=j == len(metrics) - 1 and i < len(policies) - 1,
            )
    console.print(table)
    console.print(
        "with − without: mean of the per-replication differences (same seed and replication, "
        "common random numbers); 95 % CI: t interval of that mean; p5 – p95: the spread of "
        "one replication's difference. pp: percentage points. Per SKU in compare.csv.",
        highlight=False,
    )
    for line in findings(cmp):
        console.print(line, highlight=False, markup=False)


# --------------------------------------------------------------------------- chart


def plot_paired(
    table: Any,
    *,
    policies: Sequence[str] | None = None,
    metrics: Sequence[str] = CHART_METRICS,
    currency: str = "$",
    sku: str = "ALL",
    axes: Sequence[Any] | None = None,
) -> np.ndarray:
    """Draw the paired differences (with − without): a dot and its 95 % CI per policy.

    One panel per metric (rates in percentage points, money in ``currency``); the
    zero line is "no effect", and each dot is labelled with its value.

    Args:
        table: :func:`paired_table` rows.
        policies: Policy order, top to bottom (default: order of appearance).
        metrics: Metrics, one panel each.
        currency: Currency for money metrics.
        sku: Which rows to draw (default: the portfolio).
        axes: One axis per metric; created side by side when omitted.

    Returns:
        The axes as a flat array.

    """
    from matplotlib.ticker import MaxNLocator

    from simulator.present.plots import _money_axis, policy_colors, policy_rows

    rows = table[table["sku"] == sku]
    order = list(policies or dict.fromkeys(rows["policy"]))
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(metrics), figsize=(11, 0.55 * len(order) + 2.2),
                               layout="constrained", squeeze=False)
    axes = np.asarray(axes).ravel()
    colors = policy_colors(order)
    y = np.arange(len(order))[::-1]
    for ax, metric in zip(axes, metrics, strict=False):
        kind = _KINDS.get(metric, "num")
        scale = 100.0 if kind == "pct" else 1.0
        labels = []
        for yi, policy in zip(y, order, strict=True):
            r = _row(rows, policy, metric, sku)
            if r is None:
                continue
            mean, lo, hi = (float(r[k]) * scale for k in ("diff_mean", "diff_ci_low",
                                                            "diff_ci_high"))
            ax.errorbar(mean, yi, xerr=[[max(mean - lo, 0.0)], [max(hi - mean, 0.0)]], fmt="o",
                        ms=7, color=colors[policy], elinewidth=2.5, capsize=5)
            labels.append((_diff_text(kind, mean / scale, currency), mean, yi, colors[policy]))
        lo_x, hi_x = policy_rows(ax, y, order, colors, pad_floor=1.0)
        for text, mean, yi, color in labels:
            where = (mean - lo_x) / (hi_x - lo_x)
            ha = "right" if where > 0.7 else "left" if where < 0.3 else "center"
            ax.annotate(text, (mean, yi), xytext=(0, 8), textcoords="offset points", ha=ha,
                        va="bottom", fontsize=9, color=color)
        unit = "percentage points" if kind == "pct" else (currency if kind == "money" else "")
        ax.set_xlabel(f"with − without ({unit})" if unit else "with − without")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        if kind == "money":
            _money_axis(ax.xaxis, currency)
        ax.set_title(f"{_LABELS.get(metric, metric)}: with − without", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    return axes


def _chart_png(cmp: Comparison) -> bytes:
    """Render the paired-difference chart as PNG bytes (no pyplot: nothing lingers)."""
    from matplotlib.figure import Figure

    policies = list(cmp.metadata["policies"])
    fig = Figure(figsize=(11, 0.55 * len(policies) + 2.4), layout="constrained",
                 facecolor="white")
    axes = fig.subplots(1, len(CHART_METRICS), squeeze=False)
    plot_paired(cmp.table, policies=policies, currency=cmp.metadata.get("currency", "$"),
                axes=axes)
    fig.suptitle(f"What {cmp.variants.subject} changes, all SKUs: mean paired difference "
                 "and 95 % CI", fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    fig.clear()
    return buf.getvalue()


# --------------------------------------------------------------------------- report


def report_html(cmp: Comparison) -> str:
    """Return the comparison's self-contained HTML page (styles and chart inline, no requests).

    It uses the run report's style and escaping (:mod:`simulator.present.report`): the heading,
    what was removed, one finding per policy, the portfolio table, the chart, a
    per-SKU table (up to 30 SKUs) and what reproduces the comparison.
    """
    import yaml

    from simulator.present.plots import policy_colors
    from simulator.present.report import _CSP, _CSS, _css_width, _e, _policy

    meta = cmp.metadata
    cur = meta.get("currency", "$")
    v = cmp.variants
    policies = list(meta["policies"])
    colors = policy_colors(policies)
    png = _chart_png(cmp)
    width = _css_width(png)
    size = f' width="{width}"' if width else ""

    if v.removed:
        items = "".join(
            f"<li><code>{_e(r.path)}</code>: {_e(r.what)}<pre>"
            f"{_e(yaml.safe_dump(r.value, sort_keys=False, allow_unicode=True).strip())}"
            "</pre></li>"
            for r in v.removed
        )
        what = (f"<p><strong>With</strong> is the scenario <code>{_e(v.with_.name)}</code> as "
                "given; <strong>without</strong> is the same scenario with these parts removed "
                f"(and validated again):</p><ul>{items}</ul>")
    else:
        what = (f"<p><strong>With</strong> is <code>{_e(v.labels[0])}</code> (scenario "
                f"<code>{_e(v.with_.name)}</code>); <strong>without</strong> is "
                f"<code>{_e(v.labels[1])}</code> (scenario <code>{_e(v.without.name)}</code>), "
                "run with the same seed and replications.</p>")
    what += (f"<p>Both ran every policy on the same {_e(meta['replications'])} replications "
             f"(root seed {_e(meta['seed'])}): random streams are keyed by their source, so "
             "demand and lead-time draws are the same in both and each replication's "
             "difference is the effect of the change alone. The difference is "
             "<em>with − without</em>: what the risk costs.</p>")

    found = "".join(f'<li class="finding">{_policy(line.split(":", 1)[0], colors)}:'
                    f"{_e(line.split(':', 1)[1])}</li>" for line in findings(cmp))

    metrics = shown_metrics(cmp.table, meta.get("unmet_demand", "backorder"))
    body = []
    for policy in policies:
        for j, m in enumerate(metrics):
            r = _row(cmp.table, policy, m)
            if r is None:
                continue
            kind = _KINDS[m]
            first = (f'<th scope="rowgroup" rowspan="{len(metrics)}">{_policy(policy, colors)}'
                     "</th>") if j == 0 else ""
            body.append(
                f"<tr>{first}<td>{_e(_LABELS[m])}</td>"
                f'<td class="num">{_e(_mean_text(kind, r["mean_with"], cur))}</td>'
                f'<td class="num">{_e(_mean_text(kind, r["mean_without"], cur))}</td>'
                f'<td class="num"><strong>{_e(_diff_text(kind, r["diff_mean"], cur))}</strong>'
                f'<small>[{_e(_range_text(kind, r["diff_ci_low"], r["diff_ci_high"], cur))}]'
                "</small></td>"
                f'<td class="num">{_e(_range_text(kind, r["diff_p5"], r["diff_p95"], cur))}</td>'
                "</tr>"
            )
    table = (
        '<div class="table-wrap"><table class="summary"><thead><tr><th scope="col">Policy</th>'
        '<th scope="col">All SKUs</th><th scope="col">With</th><th scope="col">Without</th>'
        '<th scope="col">With − without <small>[95 % CI]</small></th>'
        '<th scope="col">p5 – p95 of the difference</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
        '<p class="note">Means per replication. The difference is the mean of the '
        "per-replication differences, with the 95 % confidence interval of that mean "
        "(Student t); p5 – p95 is the range of one replication's difference. Rates in "
        "percentage points (pp). Every number, per SKU too, is in compare.csv next to "
        "this page.</p>"
    )

    skus = [s.id for s in v.with_.skus]
    per_sku = ""
    if 1 < len(skus) <= 30:
        head = "".join(f'<th scope="col">{_policy(p, colors)}</th>' for p in policies)
        rows = []
        for m in CHART_METRICS:
            kind = _KINDS[m]
            for sku in skus:
                cells = []
                for p in policies:
                    r = _row(cmp.table, p, m, sku)
                    cells.append(
                        '<td class="num">–</td>' if r is None else
                        f'<td class="num">{_e(_diff_text(kind, r["diff_mean"], cur))}<small>['
                        f'{_e(_range_text(kind, r["diff_ci_low"], r["diff_ci_high"], cur))}]'
                        "</small></td>"
                    )
                rows.append(f"<tr><td>{_e(_LABELS[m])}</td><td>{_e(sku)}</td>"
                            f"{''.join(cells)}</tr>")
        per_sku = (
            "<h3>Per SKU: with − without [95 % CI]</h3>"
            '<div class="table-wrap"><table class="summary"><thead><tr><th scope="col">Metric'
            f'</th><th scope="col">SKU</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></div>"
        )

    chart = (f'<figure id="fig-paired"><img src="data:image/png;base64,'
             f'{base64.b64encode(png).decode()}"{size} alt="Paired differences">'
             "<figcaption><strong>Paired differences, with − without</strong>For each policy "
             "the mean over replications of (with − without) in the same replication, with its "
             "95 % confidence interval. An interval that does not cross the zero line is an "
             "effect the replications resolve. Fill rate in percentage points, cost in "
             f"{_e(cur)} per replication.</figcaption></figure>")

    facts = [
        ("Command", f"<code>{_e(meta.get('command', ''))}</code>"),
        ("Root seed", _e(meta.get("seed", ""))),
        ("Replications", _e(meta.get("replications", ""))),
        ("Scenario hash, with", f"<code>{_e(meta['compare']['with']['scenario_hash'])}</code>"),
        ("Scenario hash, without",
         f"<code>{_e(meta['compare']['without']['scenario_hash'])}</code>"),
        ("Backend", f"{_e(meta.get('backend', ''))}, {_e(meta.get('workers', ''))} worker(s)"),
        ("Wall time", _e(f"{float(meta.get('wall_time_s', 0)):.1f} s")),
        ("Created", _e(meta.get("created", ""))),
        ("Versions", _e(", ".join(f"{k} {x}" for k, x in (meta.get("versions") or {}).items()))),
    ]
    repro = ('<div class="table-wrap"><table>'
             + "".join(f'<tr><th scope="row">{k}</th><td>{x}</td></tr>' for k, x in facts)
             + "</table></div><p>The two scenarios as run are scenario_with.yaml and "
             "scenario_without.yaml next to this page; every replication's numbers are in "
             "runs_with.parquet and runs_without.parquet.</p>")

    sections = [
        ("compared", "What was compared", what),
        ("findings", "Findings", f'<ul class="findings">{found}</ul>'),
        ("table", "With and without, all SKUs", table + per_sku),
        ("chart", "Chart", chart),
        ("reproducibility", "Reproducibility", repro),
    ]
    toc = "".join(f'<li><a href="#{sid}">{_e(title)}</a></li>' for sid, title, _ in sections)
    content = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{html}</section>'
                      for sid, title, html in sections)
    title = (f"{v.with_.name}: with and without {', '.join(r.path for r in v.removed)}"
             if v.removed else f"{v.labels[0]} against {v.labels[1]}")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} — supplysim comparison</title><style>{_CSS}</style></head>"
        "<body><main>"
        f'<header><p class="meta">supplysim comparison</p><h1>{_e(title)}</h1>'
        f'<p class="lede">{_e(cmp.heading)}</p>'
        f'<p class="meta">{_e(meta.get("description", ""))}</p></header>'
        f'<nav aria-label="Contents"><ol>{toc}</ol></nav>'
        f"{content}"
        "<footer>Generated by supplysim. This page is self-contained: it loads nothing "
        "from the network or the disk.</footer>"
        "</main></body></html>\n"
    )
