"""What a risk costs: a scenario with and without a part of it, paired by replication.

``supplysim compare SCENARIO --without PATH`` runs the scenario as given ("with") and
the scenario with the part at each PATH removed ("without"; paths as in
:mod:`simulator.data.paths`, e.g. ``suppliers.overseas.disruptions.0``);
``supplysim compare A B`` runs two scenarios with the same SKUs and policies (A is
"with", B "without"). Both variants run every policy with the same root seed and
replication indices. Random streams are keyed by the name of their source (see
:class:`simulator.model.replication.Streams`), so removing a port closure leaves every demand
and lead-time draw as it was: the variants are on common random numbers, and the
difference of one replication is the effect of the removed part alone in that
replication's future.

For each policy, SKU (and the portfolio, ``sku = "ALL"``) and metric the table
gives the mean with and without, the mean of the per-replication differences
(with − without: what the risk costs), its 95 % confidence interval (Student t, from
the paired differences) and the 5th and 95th percentiles of the differences (how
much one season can differ). Identical variants give exactly zero.

The results folder (``results/<scenario>-compare-<timestamp>`` by default) is
claimed and written whole like a run's (:class:`simulator.study.workspace.Workspace`);
see ``docs/compare.md`` for its files.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.data.paths import PathError, delete_many, get, resolve
from simulator.data.scenario import Scenario, ScenarioError

__all__ = [
    "CHART_METRICS",
    "COMPARE_METRICS",
    "TABLE_COLUMNS",
    "CompareError",
    "Comparison",
    "Removed",
    "Variants",
    "claim_folder",
    "describe",
    "findings",
    "identity_of",
    "paired_table",
    "plot_paired",
    "print_comparison",
    "report_html",
    "run_compare",
    "shown_metrics",
    "variants_from_scenarios",
    "variants_without",
    "write_compare",
]

#: Metrics compared: name, label, kind (``pct`` ratio, ``money``, ``num``).
COMPARE_METRICS = (
    ("fill_rate", "Fill rate", "pct"),
    ("lost_units", "Lost units", "num"),
    ("backordered_units", "Backordered units", "num"),
    ("stockout_rate", "Stockout days", "pct"),
    ("cycle_service_level", "Cycle service level", "pct"),
    ("total_cost", "Total cost", "money"),
    ("shortage_cost", "Shortage cost", "money"),
    ("holding_cost", "Holding cost", "money"),
    ("ordering_cost", "Ordering cost", "money"),
    ("expedite_cost", "Expediting premium", "money"),
    ("cash_tied_up", "Cash tied up", "money"),
)
_LABELS = {m: label for m, label, _ in COMPARE_METRICS}
_KINDS = {m: kind for m, _, kind in COMPARE_METRICS}

#: Metrics of the paired-difference chart, one panel each.
CHART_METRICS = ("fill_rate", "total_cost")

#: Columns of ``compare.csv`` / ``compare.parquet``.
TABLE_COLUMNS = (
    "policy", "sku", "metric", "mean_with", "mean_without", "diff_mean", "diff_ci_low",
    "diff_ci_high", "diff_p5", "diff_p95", "replications",
)  # fmt: skip

_MINUS = "−"


class CompareError(ValueError):
    """The variants cannot be built or compared; the message is one line."""


# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Removed:
    """One part removed from the scenario for the "without" variant."""

    path: str
    """The path as given."""
    parts: tuple[Any, ...]
    """Where it is in the data (SKU ids resolved to item numbers)."""
    value: Any
    """What was there (plain data)."""
    default: Any = None
    """A setting's value once it is removed (its default), when it has one."""

    @property
    def what(self) -> str:
        """Describe the removed value in a few words: ``port closure 2026-10-05..2026-10-25``."""
        text = describe(self.value)
        return text if self.default is None else f"{text}, default {self.default}"


@dataclass(frozen=True)
class Variants:
    """The two scenarios to compare and how they were made."""

    with_: Scenario
    without: Scenario
    removed: tuple[Removed, ...] = ()
    """The parts removed (``--without``); empty when two scenarios are compared."""
    labels: tuple[str, str] = ("with", "without")
    """How the command line named the two scenarios (files or built-in names)."""

    @property
    def mode(self) -> str:
        """``without`` (parts removed from one scenario) or ``scenarios`` (two given)."""
        return "without" if self.removed else "scenarios"

    @property
    def subject(self) -> str:
        """What the difference is the effect of, for sentences: "the port strike"."""
        if not self.removed:
            return f"{self.labels[0]} against {self.labels[1]}"
        if len(self.removed) > 1:
            return "the removed parts together"
        value = self.removed[0].value
        if isinstance(value, Mapping) and value.get("label"):
            return f"the {value['label']}"
        if isinstance(value, Mapping) and value.get("kind"):
            return f"the {str(value['kind']).replace('_', ' ')}"
        r = self.removed[0]
        if r.default is not None:
            return f"{r.path} = {r.value} (not {r.default})"
        return r.path

    def heading(self, replications: int, horizon_days: int, seed: int) -> str:
        """Return the one-line heading of the comparison."""
        if self.removed:
            parts = [f"{r.path} ({r.what})" for r in self.removed]
            what = "removing " + (parts[0] if len(parts) == 1 else
                                  ", ".join(parts[:-1]) + " and " + parts[-1])
            return (f"What {what} changes, {replications} replications × {horizon_days} days, "
                    f"paired (seed {seed})")
        a, b = self.labels
        return (f"What {a} changes against {b}, {replications} replications × "
                f"{horizon_days} days, paired (seed {seed})")


def _one_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return "; ".join(lines)


def variants_without(scenario: Scenario, paths: Sequence[str]) -> Variants:
    """Build the "without" variant: ``scenario`` with the part at each path removed.

    Raises:
        CompareError: a path leads nowhere, the scenario without the parts is not
            valid, or it lost a SKU or a policy (the variants could not be paired).

    """
    if not paths:
        raise CompareError("--without: give at least one path")
    data = scenario.to_dict()
    removed = []
    for path in paths:
        try:
            parts = tuple(resolve(data, path))
        except PathError as exc:
            raise CompareError(f"--without {exc}") from None
        if not parts or parts[0] in ("name", "description"):
            raise CompareError(f"--without {path}: removing it changes nothing that is simulated")
        removed.append(Removed(path, parts, get(data, list(parts))))
    named = ", ".join(paths)
    try:
        without = Scenario.from_dict(delete_many(data, [list(r.parts) for r in removed]))
    except ScenarioError as exc:
        raise CompareError(f"--without {named}: the scenario without it is not valid: "
                           f"{_one_line(exc)}") from None
    _check_pairable(scenario, without, f"--without {named}")
    after = without.to_dict()
    for k, r in enumerate(removed):
        # A removed setting with a default is back at its default: say which.
        if not isinstance(r.value, dict | list) and isinstance(r.parts[-1], str):
            try:
                removed[k] = Removed(r.path, r.parts, r.value, get(after, list(r.parts)))
            except PathError:
                pass
    return Variants(scenario, without, tuple(removed), (scenario.name, f"without {named}"))


def variants_from_scenarios(a: Scenario, b: Scenario, labels: tuple[str, str]) -> Variants:
    """Pair two scenarios: A ("with") and B ("without"), run with A's seed and replications.

    Raises:
        CompareError: the scenarios differ in their SKU ids or policy names.

    """
    _check_pairable(a, b, labels[1])
    try:
        b = b.with_overrides(a.replications, a.seed)
    except ScenarioError as exc:  # pragma: no cover - A's settings are valid settings
        raise CompareError(f"{labels[1]}: {_one_line(exc)}") from None
    return Variants(a, b, (), labels)


def _check_pairable(a: Scenario, b: Scenario, where: str) -> None:
    """Refuse variants whose rows cannot be paired: other SKU ids or policy names."""
    for what, mine, theirs in (
        ("SKU ids", [s.id for s in a.skus], [s.id for s in b.skus]),
        ("policy names", list(a.policies), list(b.policies)),
    ):
        if set(mine) != set(theirs):
            only_a = [x for x in mine if x not in theirs]
            only_b = [x for x in theirs if x not in mine]
            diff = "; ".join(
                [f"only in the first: {', '.join(only_a)}"] * bool(only_a)
                + [f"only in the second: {', '.join(only_b)}"] * bool(only_b)
            )
            raise CompareError(
                f"{where}: the two variants must have the same {what} to be paired ({diff})"
            )


def describe(value: Any) -> str:
    """Describe a part of a scenario in a few words: a disruption, a SKU, a policy, a value."""
    if isinstance(value, Mapping):
        if "kind" in value:
            kind = str(value["kind"]).replace("_", " ")
            text = kind
            if "start" in value and "end" in value:
                text += " " + _window(value["start"], value["end"])
            elif "per_year" in value:
                text += f", {value['per_year']:g} a year"
            elif "units_per_week" in value:
                text += f", {value['units_per_week']:g} units a week"
            label = value.get("label")
            return f"{label}: {text}" if label else text
        if "id" in value:
            return f"SKU {value['id']}"
        if "type" in value:
            return f"a {value['type']} policy"
        if "uplift" in value:
            window = _window(value.get("start_day", "?"), value.get("end_day", "?"))
            return f"{value.get('label') or 'campaign'} ×{value['uplift']:g} {window}"
        if "lead_time" in value:
            return "a supplier"
        keys = ", ".join(str(k) for k in list(value)[:4])
        return f"{{{keys}{', …' if len(value) > 4 else ''}}}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"= {value}"


def _window(start: Any, end: Any) -> str:
    """Write a half-open window [start, end) with its last day: ``2026-10-05..2026-10-25``."""
    try:
        first = dt.date.fromisoformat(str(start))
        last = dt.date.fromisoformat(str(end)) - dt.timedelta(days=1)
        return f"{first.isoformat()}..{last.isoformat()}"
    except ValueError:
        pass
    try:
        return f"days {int(start)}..{int(end) - 1}"
    except (TypeError, ValueError):
        return f"{start}..{end}"


# --------------------------------------------------------------------------- the table


def paired_table(
    runs_with: Any, runs_without: Any, metrics: Sequence[str] | None = None
) -> Any:
    """Compare two runs replication by replication: one row per policy × SKU × metric.

    Rows are paired on (policy, SKU, replication); a pair where either value is
    undefined (a ratio without demand) is left out of that metric, so the means with
    and without and the differences use the same replications (``replications``).
    The CI is the Student t interval of the mean of the paired differences and
    ``diff_p5``/``diff_p95`` their percentiles (:func:`simulator.study.metrics.summarize`
    applied to the differences). Rows come per policy in run order, the portfolio
    (``ALL``) first, then the SKUs in the order of the first run.

    Raises:
        ValueError: the runs do not hold the same policy × SKU × replication rows.

    """
    import pandas as pd

    from simulator.study.metrics import summarize

    metrics = list(metrics or [m for m, _, _ in COMPARE_METRICS])
    keys = ["policy", "sku", "replication"]
    a = runs_with.set_index(keys)[metrics]
    b = runs_without.set_index(keys)[metrics]
    if len(a) != len(b) or not a.index.sort_values().equals(b.index.sort_values()):
        raise ValueError(
            "paired_table: the runs must hold the same policy × SKU × replication rows"
        )
    b = b.reindex(a.index)
    ok = np.isfinite(a.to_numpy(dtype=float)) & np.isfinite(b.to_numpy(dtype=float))
    a, b = a.where(ok), b.where(ok)
    stats = {
        name: summarize(frame.reset_index(), tuple(metrics)).set_index(["policy", "sku", "metric"])
        for name, frame in (("with", a), ("without", b), ("diff", a - b))
    }
    policies = list(dict.fromkeys(runs_with["policy"]))
    skus = ["ALL", *[s for s in dict.fromkeys(runs_with["sku"]) if s != "ALL"]]
    records = []
    for policy in policies:
        for sku in skus:
            for m in metrics:
                key = (policy, sku, m)
                if key not in stats["diff"].index:
                    continue
                d = stats["diff"].loc[key]
                records.append({
                    "policy": policy, "sku": sku, "metric": m,
                    "mean_with": float(stats["with"].loc[key, "mean"]),
                    "mean_without": float(stats["without"].loc[key, "mean"]),
                    "diff_mean": float(d["mean"]), "diff_ci_low": float(d["ci_low"]),
                    "diff_ci_high": float(d["ci_high"]), "diff_p5": float(d["p5"]),
                    "diff_p95": float(d["p95"]), "replications": int(d["n"]),
                })  # fmt: skip
    return pd.DataFrame.from_records(records, columns=list(TABLE_COLUMNS))


def shown_metrics(table: Any, unmet_demand: str) -> list[str]:
    """Return the metrics worth showing: lost or backordered units by the rule, others if non-zero.

    ``lost_units`` shows under lost sales, ``backordered_units`` under backorders, and
    either (and the expediting premium) wherever a variant has a non-zero value.
    """
    portfolio = table[table["sku"] == "ALL"]
    out = []
    for m, _, _ in COMPARE_METRICS:
        rows = portfolio[portfolio["metric"] == m]
        nonzero = bool((rows[["mean_with", "mean_without"]].abs() > 0).to_numpy().any())
        if m == "lost_units" and not (unmet_demand == "lost_sale" or nonzero):
            continue
        if m == "backordered_units" and not (unmet_demand == "backorder" or nonzero):
            continue
        if m == "expedite_cost" and not nonzero:
            continue
        if len(rows):
            out.append(m)
    return out


# --------------------------------------------------------------------------- running


@dataclass
class Comparison:
    """Everything a comparison produced, before it is written."""

    variants: Variants
    with_result: Any  # simulator.study.runner.RunResult
    without_result: Any
    table: Any  # pandas.DataFrame with TABLE_COLUMNS
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def heading(self) -> str:
        """The one-line heading (see :meth:`Variants.heading`)."""
        return str(self.metadata["heading"])


def run_compare(
    variants: Variants,
    backend: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
) -> Comparison:
    """Run both variants with the same seed and replications (common random numbers).

    Args:
        variants: what to compare (:func:`variants_without`, :func:`variants_from_scenarios`).
        backend: ``serial``, ``processes`` or ``dask`` (as :func:`~.runner.run_scenario`).
        workers: parallel workers.
        scheduler: Dask scheduler address.
        progress: called as ``progress(done, total)`` over both variants.
        command: the command line, for provenance.

    """
    from simulator.study.runner import run_scenario

    a, b = variants.with_, variants.without
    n = a.replications

    def part(offset: int) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, total: progress(offset + done, 2 * n)

    results = [
        run_scenario(scn, backend=backend, workers=workers, scheduler=scheduler,
                     progress=part(k * n), command=command)
        for k, scn in enumerate((a, b))
    ]  # fmt: skip
    table = paired_table(results[0].runs, results[1].runs)
    meta = dict(results[0].metadata)
    meta["wall_time_s"] = round(sum(r.metadata["wall_time_s"] for r in results), 3)
    meta["scenario_hash_without"] = b.content_hash()
    meta["heading"] = variants.heading(n, a.horizon_days, a.seed)
    meta["compare"] = {
        "mode": variants.mode,
        "with": {"label": variants.labels[0], "scenario": a.name,
                 "scenario_hash": a.content_hash()},
        "without": {"label": variants.labels[1], "scenario": b.name,
                    "scenario_hash": b.content_hash(), "unmet_demand": b.unmet_demand},
        "removed": [
            {"path": r.path, "resolved": list(r.parts), "what": r.what, "value": r.value}
            for r in variants.removed
        ],
        "subject": variants.subject,
        "difference": "with − without, per replication (same seed and replication index)",
        "metrics": [m for m, _, _ in COMPARE_METRICS],
    }  # fmt: skip
    return Comparison(variants, results[0], results[1], table, meta)


def claim_folder(out: Path | None, name: str, identity: dict[str, Any], force: bool,
                 root: Path = Path("results")) -> Any:
    """Claim the results folder: ``out``, or a new ``root/<name>-compare-<timestamp>``.

    See :func:`simulator.study.workspace.claim_named`.
    """
    from simulator.study.workspace import claim_named

    return claim_named(out, f"{name}-compare", identity, force, root)


def write_compare(cmp: Comparison, folder: Path) -> None:
    """Write the comparison's files into an existing (work) folder."""
    folder = Path(folder)
    cmp.table.to_csv(folder / "compare.csv", index=False)
    cmp.table.to_parquet(folder / "compare.parquet", index=False)
    cmp.with_result.runs.to_parquet(folder / "runs_with.parquet", index=False)
    cmp.without_result.runs.to_parquet(folder / "runs_without.parquet", index=False)
    (folder / "scenario_with.yaml").write_text(cmp.variants.with_.to_yaml(), encoding="utf-8")
    (folder / "scenario_without.yaml").write_text(
        cmp.variants.without.to_yaml(), encoding="utf-8"
    )
    (folder / "metadata.json").write_text(
        json.dumps(cmp.metadata, indent=2, default=str) + "\n", encoding="utf-8"
    )
    tmp = folder / ".report.html.tmp"
    tmp.write_text(report_html(cmp), encoding="utf-8")
    os.replace(tmp, folder / "report.html")


def identity_of(variants: Variants) -> dict[str, Any]:
    """Return what a comparison's folder is claimed for (both scenarios' hashes)."""
    a, b = variants.with_, variants.without
    both = hashlib.sha256(f"{a.content_hash()}:{b.content_hash()}".encode()).hexdigest()[:16]
    return {"scenario": a.name, "scenario_hash": both, "seed": a.seed,
            "replications": a.replications}


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

    from simulator.present.plots import _money_axis, policy_colors

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
        ax.axvline(0, color="black", lw=1)
        ax.set_yticks(y, order)
        for tick, policy in zip(ax.get_yticklabels(), order, strict=True):
            tick.set_color(colors[policy])
            tick.set_fontweight("bold")
        ax.set_ylim(y.min() - 0.6, y.max() + 0.8)
        lo_x, hi_x = ax.get_xlim()
        pad = 0.08 * (hi_x - lo_x) or 1.0
        lo_x, hi_x = min(lo_x, -pad), max(hi_x, pad)
        ax.set_xlim(lo_x, hi_x)
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
