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

import datetime as dt
import hashlib
import json
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
    "identity_of",
    "paired_table",
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


def identity_of(variants: Variants) -> dict[str, Any]:
    """Return what a comparison's folder is claimed for (both scenarios' hashes)."""
    a, b = variants.with_, variants.without
    both = hashlib.sha256(f"{a.content_hash()}:{b.content_hash()}".encode()).hexdigest()[:16]
    return {"scenario": a.name, "scenario_hash": both, "seed": a.seed,
            "replications": a.replications}
