"""Decide, not just compare: the cheapest parameters of a policy that meet the targets.

``optimize(scenario, "hybrid", {"review_every_days": (1, 14, None), ...},
minimize="total_cost", targets=[("fill_rate", ">=", 0.98)])`` searches a grid of a
policy's parameters. Every grid point is an extra policy of the scenario
(``hybrid@0``, ``hybrid@1``, …) run with the scenario's seed and the same
replication indices, so every point sees the same demand and lead times in each
replication (common random numbers, CRN) and the differences between points are
paired.

The search is the *screen-and-select* procedure of Nelson, Swann, Goldsman and Song
(2001, Operations Research 49(6), 950-963) in its CRN form (pairwise variances of
the differences and Bonferroni, as Nelson & Matejcik 1995 do for CRN), with
feasibility screening for the targets and the screen repeated as replications grow:

1. **Screen.** Every point gets ``screen_replications`` (30). A point is dropped
   when it clearly misses a target (even the favourable one-sided bound of its
   mean fails) or when a point that clearly meets every target is clearly cheaper
   (the one-sided bound of their paired difference excludes zero). Half the error
   α = 1 − confidence goes to the screens, split (Bonferroni) over the planned
   looks, the targets and the other points.
2. **Confirm.** The survivors' replications double (60, 120, …; the same seed and
   more replication indices, so earlier replications are the first of them: nested,
   still CRN) and the screen is repeated, until one point is left (then it gets at
   least ``replications``) or the indifference-zone size N is reached:
   N = max(n0, ⌈(t·S_ij/δ)²⌉) over pairs of first-screen survivors (t at 1 − α/2
   Bonferroni-split over them, S_ij the sd of their paired difference, δ the
   indifference zone), at least ``replications``, at most ``max_replications``
   (and ``budget``).
3. **Decide.** A point meets a target when the one-sided bound of its mean at
   ``confidence`` does (the lower bound for ``>=``, the upper for ``<=`` and for
   ``max_cash`` on ``cash_tied_up``), on the portfolio rows (``sku = "ALL"``). The
   choice is the feasible survivor with the lowest mean objective; the runner-up is
   the feasible point closest to it; they are *distinguished* when the paired CI of
   the objective difference excludes zero, else *statistically tied* (the tie set is
   every feasible survivor whose paired CI with the choice contains zero). When no
   point meets the targets, :class:`Infeasible` says what the best point reaches.

``per="sku"`` (``base_stock``, ``s_S``, ``r_Q``: ``S``, ``s``, ``r``, ``Q``) and
``per="class"`` (``hybrid``: ``service_level_a`` on the A items,
``service_level_b`` on the B items) decide each SKU's (class's) value on that
SKU's (class's) own rows and check the combined policy once more on the same
replications. See ``docs/optimize.md``.

This module never draws: :mod:`simulator.present.optimize_chart` draws the search
(``plot_search``, ``write_search_chart``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from simulator.data.scenario import PolicySpec, Scenario, ScenarioError, format_validation_error
from simulator.study.metrics import METRICS

__all__ = [
    "DEFAULT_SCREEN",
    "MAX_POINTS",
    "PARAMETERS",
    "PROCEDURE",
    "Infeasible",
    "OptimizeError",
    "OptimizeResult",
    "Target",
    "Verification",
    "claim_folder",
    "identity_of",
    "optimize",
    "parse_param",
    "parse_target",
    "verify",
    "write_optimize",
]

DEFAULT_SCREEN = 30
"""Replications per point in the screening stage."""
MAX_POINTS = 60
"""Most grid points searched; a larger grid is coarsened (and the result says so)."""
PROCEDURE = (
    "screen-and-select (Nelson, Swann, Goldsman & Song 2001) with common random numbers "
    "(pairwise-difference variances, Bonferroni; Nelson & Matejcik 1995), feasibility "
    "screening for the targets, the screen repeated as the survivors' replications double, "
    "indifference-zone size N from the first stage (Rinott 1978; Clark & Yang 1986)"
)
"""The procedure's name, as written to ``metadata.json``."""

_INT, _QTY, _PROB, _FRAC, _DAYS, _NONNEG = "int", "qty", "prob", "frac", "days", "nonneg"
_COMMON = {"review_every_days": _INT}
PARAMETERS: dict[str, dict[str, str]] = {
    "base_stock": {**_COMMON, "S": _QTY},
    "s_S": {**_COMMON, "s": _QTY, "S": _QTY},
    "r_Q": {**_COMMON, "r": _QTY, "Q": _QTY, "can_order": _FRAC},
    "jit": {**_COMMON, "cover_days": _DAYS, "can_order": _FRAC},
    "safety_stock": {
        **_COMMON, "service_level": _PROB, "weeks_of_cover": _NONNEG, "cover_days": _DAYS,
        "can_order": _FRAC,
    },
    "hybrid": {
        **_COMMON, "service_level_a": _PROB, "service_level_b": _PROB, "a_share": _PROB,
        "b_share": _PROB, "cover_days": _DAYS, "can_order": _FRAC,
    },
}  # fmt: skip
"""Policy type -> the numeric parameters a search may vary (and their kind)."""

_PER_SKU = {"base_stock", "s_S", "r_Q"}
_PER_SKU_KEYS = {"S", "s", "r", "Q"}
_CLASS_KEYS = {"service_level_a": "A", "service_level_b": "B"}
_ADDITIVE = (
    "holding_cost", "ordering_cost", "shortage_cost", "expedite_cost", "total_cost",
    "cash_tied_up", "cash_in_pipeline", "demand_units", "served_units", "lost_units",
    "backordered_units", "avg_on_hand", "avg_backorders", "orders_placed", "purchase_orders",
    "customer_orders", "revenue", "gross_margin", "cash_out",
)  # fmt: skip
_CLASS_METRICS = (*_ADDITIVE, "fill_rate", "order_fill_rate")
"""Metrics a class's rows can be summed into (ratios recomputed from their sums)."""
_CONTEXT = ("fill_rate", "total_cost", "cash_tied_up")
"""Metrics always shown in the search table, besides the objective and the targets."""
_SPEC = TypeAdapter(PolicySpec)


LARGER_IS_BETTER = frozenset({
    "fill_rate", "order_fill_rate", "cycle_service_level", "revenue", "gross_margin",
    "served_units", "demand_units", "customer_orders",
})
"""Metrics a search must not minimise (it would pick the worst policy)."""


class OptimizeError(ValueError):
    """The search cannot be set up (a bad parameter, range, target or option): one line."""


class Infeasible(Exception):  # noqa: N818 - an outcome, not a fault: the CLI exits 3
    """No point of the range meets the targets; the message names the best reached.

    Not a :class:`ValueError`: the input was valid, the answer is "cannot be met".
    ``search`` holds every point's numbers, ``spent`` the replications used.
    """

    def __init__(self, message: str, search: pd.DataFrame, spent: int) -> None:
        super().__init__(message)
        self.search = search
        self.spent = spent


# --------------------------------------------------------------------------- parsing

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def _number(text: str, what: str, where: str, example: str) -> float:
    """Read a number (``0.98``, ``98%``, ``1e3``) or raise a one-line error."""
    t = text.strip().replace("_", "")
    if not _NUMBER.match(t):
        raise OptimizeError(f"{where}: {what} must be a number, got {text.strip()!r}; {example}")
    value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    if not math.isfinite(value):
        raise OptimizeError(f"{where}: {what} must be finite, got {text.strip()!r}")
    return value


def parse_param(text: str) -> tuple[str, tuple[float, float, float | None]]:
    """Read ``KEY=LOW:HIGH[:STEP]`` into ``(key, (low, high, step or None))``.

    Raises:
        OptimizeError: the text is not of that form (one line naming what is wrong).

    """
    example = "write KEY=LOW:HIGH[:STEP], e.g. S=100:400:10 or service_level_a=0.9:0.995"
    where = repr(str(text))
    key, eq, rng = str(text).partition("=")
    key = key.strip()
    if not eq or not key:
        raise OptimizeError(f"{where}: needs KEY=LOW:HIGH; {example}")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
        raise OptimizeError(f"{where}: KEY must be a parameter name, got {key!r}; {example}")
    parts = rng.split(":")
    if len(parts) not in (2, 3):
        raise OptimizeError(f"{where}: needs LOW:HIGH or LOW:HIGH:STEP after '='; {example}")
    low = _number(parts[0], "LOW", where, example)
    high = _number(parts[1], "HIGH", where, example)
    step = _number(parts[2], "STEP", where, example) if len(parts) == 3 else None
    if low > high:
        raise OptimizeError(f"{where}: LOW must be <= HIGH, got {low:g} > {high:g}")
    if step is not None and step <= 0:
        raise OptimizeError(f"{where}: STEP must be > 0, got {step:g}")
    return key, (low, high, step)


@dataclass(frozen=True)
class Target:
    """A requirement on the mean of a metric: ``fill_rate >= 0.98``."""

    metric: str
    op: str
    value: float

    @property
    def lower(self) -> bool:
        """Whether the target is a floor (``>=``: judged on the lower bound)."""
        return self.op == ">="

    def met(self, bound: float) -> bool:
        """Return whether a one-sided bound of the mean meets the target."""
        if not math.isfinite(bound):
            return False
        return bound >= self.value if self.lower else bound <= self.value

    def text(self) -> str:
        """Write the target as ``fill_rate >= 0.98``."""
        return f"{self.metric} {self.op} {_fmt(self.value)}"


def _metric_name(name: str, where: str) -> str:
    if name in METRICS:
        return name
    close = difflib.get_close_matches(name, METRICS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else " (see docs/metrics.md)"
    raise OptimizeError(f"{where}: unknown metric {name!r}{hint}")


def parse_target(text: str) -> tuple[str, str, float]:
    """Read ``METRIC>=VALUE`` or ``METRIC<=VALUE`` (``98%`` is 0.98) into a triple.

    Raises:
        OptimizeError: the text is not of that form or names no metric (one line).

    """
    where = repr(str(text))
    example = "write METRIC>=VALUE or METRIC<=VALUE, e.g. fill_rate>=0.98"
    t = str(text).replace("≥", ">=").replace("≤", "<=").replace("=>", ">=").replace("=<", "<=")
    m = re.match(r"^\s*([^<>=!\s]+)\s*(>=|<=|==|=|>|<|!=)\s*(.*)$", t)
    if m is None:
        raise OptimizeError(f"{where}: needs a comparison; {example}")
    metric, op, value = m.groups()
    if op not in (">=", "<="):
        raise OptimizeError(f"{where}: the comparison must be >= or <=, got '{op}'; {example}")
    return _metric_name(metric, where), op, _number(value, "VALUE", where, example)


def _targets(targets: Sequence[Any], max_cash: float | None) -> list[Target]:
    out = []
    for t in targets:
        if isinstance(t, str):
            t = parse_target(t)
        if isinstance(t, Target):
            t = (t.metric, t.op, t.value)
        try:
            metric, op, value = t
        except (TypeError, ValueError):
            raise OptimizeError(
                f"targets: each must be (metric, '>=' or '<=', value), got {t!r}"
            ) from None
        if op not in (">=", "<="):
            raise OptimizeError(f"targets: the comparison must be >= or <=, got {op!r}")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise OptimizeError(f"targets: {metric} {op} needs a number, got {value!r}") from None
        if not math.isfinite(value):
            raise OptimizeError(f"targets: {metric} {op} needs a finite number, got {value!r}")
        out.append(Target(_metric_name(str(metric), "targets"), op, value))
    if max_cash is not None:
        if not (isinstance(max_cash, int | float) and math.isfinite(max_cash) and max_cash >= 0):
            raise OptimizeError(f"max_cash: must be a number >= 0, got {max_cash!r}")
        out.append(Target("cash_tied_up", "<=", float(max_cash)))
    return out


# --------------------------------------------------------------------------- the grid


def _fmt(value: Any) -> str:
    """Write a parameter value briefly: ``7``, ``0.95``, ``1234.5``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def _clean(value: float) -> float:
    """Round away the float noise of a grid (0.9190000000000001 -> 0.919)."""
    return float(f"{value:.10g}")


@dataclass(frozen=True)
class _Axis:
    key: str
    kind: str
    values: tuple[float, ...]

    @property
    def step(self) -> float | None:
        if len(self.values) < 2:
            return None
        return _clean(self.values[1] - self.values[0])

    def describe(self) -> str:
        if len(self.values) == 1:
            return f"{self.key}={_fmt(self.values[0])}"
        steps = {_clean(b - a) for a, b in itertools.pairwise(self.values)}
        if len(steps) > 1 and len(self.values) <= 12:
            return f"{self.key} {', '.join(_fmt(v) for v in self.values)}"
        step = f" step {_fmt(next(iter(steps)))}" if len(steps) == 1 else ""
        return (f"{self.key} {_fmt(self.values[0])}..{_fmt(self.values[-1])}{step} "
                f"({len(self.values)} values)")  # fmt: skip


def _axis(key: str, kind: str, rng: Any, n_axes: int) -> _Axis:
    """Turn ``(low, high, step|None)`` into the axis's values."""
    try:
        low, high, *rest = rng
        step = rest[0] if rest else None
        low, high = float(low), float(high)
        step = None if step is None else float(step)
    except (TypeError, ValueError):
        raise OptimizeError(
            f"{key}: the range must be (low, high, step or None), got {rng!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise OptimizeError(f"{key}: needs finite LOW <= HIGH, got {_fmt(low)}..{_fmt(high)}")
    if step is not None and not (math.isfinite(step) and step > 0):
        raise OptimizeError(f"{key}: STEP must be > 0, got {step!r}")
    if kind == _INT:
        if not (low.is_integer() and high.is_integer()):
            raise OptimizeError(f"{key}: is a whole number of days, got {_fmt(low)}..{_fmt(high)}")
        step = 1.0 if step is None else step
        if not step.is_integer():
            raise OptimizeError(f"{key}: is a whole number of days, so STEP must be too, "
                                f"got {_fmt(step)}")  # fmt: skip
    if step is None:
        count = {1: 11, 2: 6, 3: 4}.get(n_axes, 3)
        values = np.linspace(low, high, count) if high > low else np.array([low])
        if kind == _QTY and low.is_integer() and high.is_integer() and high - low >= count - 1:
            values = np.unique(np.round(values))
    else:
        n = math.floor((high - low) / step + 1e-9) + 1
        if n > 1_000_000:
            raise OptimizeError(f"{key}: {_fmt(low)}..{_fmt(high)} step {_fmt(step)} gives "
                                f"{n:,} values; give a larger STEP")  # fmt: skip
        values = low + step * np.arange(n)
        if high - values[-1] > 1e-9 * max(1.0, abs(high)):
            values = np.append(values, high)  # a STEP that does not divide: HIGH is tried too
    # Clean the float noise of the computed values; the ends are used exactly as given.
    ends = {0: low, len(values) - 1: high}
    return _Axis(key, kind, tuple(
        ends[i] if i in ends and math.isclose(float(v), ends[i], rel_tol=1e-9, abs_tol=1e-12)
        else _clean(float(v)) for i, v in enumerate(values)))  # fmt: skip


def _coarsen(axis: _Axis) -> _Axis:
    """Keep about every other value, both ends always (the steps may then be uneven)."""
    n = len(axis.values)
    keep = np.unique(np.round(np.linspace(0, n - 1, (n + 1) // 2)).astype(int))
    return _Axis(axis.key, axis.kind, tuple(axis.values[i] for i in keep))


def _fit(axes: list[_Axis], max_points: int, product: bool) -> tuple[list[_Axis], list[str]]:
    """Coarsen the longest axis until the grid has at most ``max_points`` points."""

    def size(a: list[_Axis]) -> int:
        return math.prod(len(x.values) for x in a) if product else max(len(x.values) for x in a)

    notes = []
    before = size(axes)
    while size(axes) > max_points:
        i = max(range(len(axes)), key=lambda k: (len(axes[k].values), k))
        if len(axes[i].values) < 2:  # pragma: no cover - every axis is one value
            break
        axes[i] = _coarsen(axes[i])
    if size(axes) > max_points:
        raise OptimizeError(f"the grid has {size(axes)} points even at its coarsest, more than "
                            f"{max_points}: search fewer parameters at once")  # fmt: skip
    if size(axes) < before:
        notes.append(f"the grid had {before:,} points, more than {max_points}: coarsened to "
                     + " × ".join(a.describe() for a in axes) + f" = {size(axes)} points "
                     "(give a STEP, or a narrower range, to search finer)")  # fmt: skip
    return axes, notes


def _value(kind: str, v: float) -> int | float:
    return int(v) if kind == _INT else v


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class _Group:
    """Rows a decision is made on: the portfolio, one SKU, or one ABC class."""

    label: str
    """``ALL``, a SKU id or ``class A``."""
    kind: str
    """``portfolio``, ``sku`` or ``class``."""
    rows: str
    """The SKU id (``ALL`` for the portfolio) or the class letter."""
    points: tuple[int, ...]
    """The grid points this group chooses among."""
    keys: tuple[str, ...]
    """The parameters this group decides."""


def _frame(runs: pd.DataFrame, group: _Group, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (policy, replication): the group's values of ``metrics``."""
    if group.kind != "class":
        sel = runs[runs["sku"] == group.rows]
        return sel.set_index(["policy", "replication"])[list(metrics)]
    sub = runs[(runs["sku"] != "ALL") & (runs["abc_class"] == group.rows)]
    sub = sub.assign(_complete=sub["order_fill_rate"].fillna(0) * sub["customer_orders"])
    g = sub.groupby(["policy", "replication"], sort=False)
    out = g[[m for m in _ADDITIVE]].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["fill_rate"] = out["served_units"] / out["demand_units"]
        out["order_fill_rate"] = g["_complete"].sum() / out["customer_orders"]
    out = out.replace([np.inf, -np.inf], np.nan)
    return out[list(metrics)]


def _matrix(frame: pd.DataFrame, metric: str, policies: Sequence[str]) -> np.ndarray:
    """``array[len(policies), replications]`` of one metric (NaN where undefined)."""
    wide = frame[metric].unstack("replication").reindex(list(policies))
    return wide.to_numpy(dtype=float)


# --------------------------------------------------------------------------- statistics


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise count, mean and sd of finite values (sd 0 with fewer than two)."""
    ok = np.isfinite(x)
    n = ok.sum(axis=1)
    xs = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = xs.sum(axis=1) / n
        dev = np.where(ok, x - mean[:, None], 0.0)
        sd = np.sqrt((dev**2).sum(axis=1) / np.maximum(n - 1, 1))
    return n, mean, np.where(n > 1, sd, np.nan)


def _tq(p: float, n: np.ndarray | int) -> np.ndarray:
    """Student t quantile at p with n − 1 degrees of freedom (NaN below two values)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(n > 1, stats.t.ppf(p, np.maximum(n - 1, 1)), np.nan)


def _bounds(x: np.ndarray, confidence: float) -> dict[str, np.ndarray]:
    """Mean, two-sided CI and one-sided bounds at ``confidence`` for each row of x."""
    n, mean, sd = _moments(x)
    se = np.where(np.isfinite(sd), sd, 0.0) / np.sqrt(np.maximum(n, 1))
    half2 = _tq(1 - (1 - confidence) / 2, n) * se
    half1 = _tq(confidence, n) * se
    half2 = np.where(sd == 0, 0.0, half2)
    half1 = np.where(sd == 0, 0.0, half1)
    return {"n": n, "mean": mean, "sd": sd, "ci_low": mean - half2, "ci_high": mean + half2,
            "lower": mean - half1, "upper": mean + half1}  # fmt: skip


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float]:
    """Count, mean and sd of the paired differences a − b over common finite replications."""
    d = a - b
    d = d[np.isfinite(d)]
    if d.size == 0:
        return 0, math.nan, math.nan
    return d.size, float(d.mean()), float(d.std(ddof=1)) if d.size > 1 else math.nan


def _paired_ci(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean of a − b with its two-sided Student t CI at ``confidence``."""
    n, mean, sd = _paired(a, b)
    if n < 2:
        return mean, math.nan, math.nan
    half = 0.0 if sd == 0 else float(stats.t.ppf(1 - (1 - confidence) / 2, n - 1)) * sd / n**0.5
    return mean, mean - half, mean + half


# --------------------------------------------------------------------------- the result


@dataclass
class OptimizeResult:
    """What a search found: the choice, the optimized scenario, every point's numbers."""

    scenario: Scenario
    """The scenario as given (its seed is the search's)."""
    policy: str
    """The policy searched (a name of the scenario, or a policy type)."""
    policy_type: str
    params: dict[str, Any]
    """The choice: ``{key: value}``; with ``per``, ``{key: {SKU: value}}`` for S, s, r, Q."""
    optimized: Scenario
    """The scenario with the choice added as ``optimized_policy`` (validated)."""
    optimized_policy: str
    """The name of the added policy: ``NAME_optimized``."""
    search: pd.DataFrame
    """One row per group × point: params, stage, replications, metrics, decision."""
    runs: pd.DataFrame
    """Every simulated row of the points (and of the combined check with ``per``)."""
    minimize: str
    targets: list[Target]
    per: str | None
    confidence: float
    grid: dict[str, list[float]]
    """The values searched per parameter (after coarsening)."""
    ranges: dict[str, tuple[float, float, float | None]]
    """The ranges as asked."""
    screen_replications: int
    replications: int
    """Replications of the confirmation stage (the contenders' total)."""
    spent: int
    """Replications simulated in all: points × replications, over the stages."""
    indifference: dict[str, float]
    """δ per group, in the objective's units."""
    needed: dict[str, int]
    """Replications the indifference-zone rule asked for, per group."""
    choice: dict[str, dict[str, Any]]
    """Per group: ``point``, ``params``, objective ``mean``/``ci_low``/``ci_high``, ``targets``."""
    runner_up: dict[str, dict[str, Any] | None]
    """Per group: the next-best feasible point, its paired difference and ``tied``; or None."""
    tied: bool
    """Whether any group's choice is statistically tied with its runner-up."""
    tie_set: dict[str, list[dict[str, Any]]]
    """Per group: the params of every feasible point statistically tied with the choice."""
    check: dict[str, Any] | None
    """With ``per``: the combined policy's portfolio numbers (objective, targets)."""
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        """The scenario's currency."""
        return self.scenario.currency

    @property
    def keys(self) -> list[str]:
        """The parameters searched, in the order given."""
        return list(self.grid)

    def summary_lines(self) -> list[str]:
        """Return the result for the terminal, a few plain lines."""
        conf = _pct(self.confidence)
        tgt = " and ".join(t.text() for t in self.targets) or "no targets"
        where = {None: "all SKUs", "sku": "each SKU", "class": "each ABC class"}[self.per]
        lines = [
            f"Optimized {self.policy} on {self.scenario.name}: minimize {self.minimize} "
            f"subject to {tgt} ({conf} one-sided bounds, {where}), seed {self.scenario.seed}",
            "Grid: " + (" × " if self.per != "class" else "; ").join(
                _Axis(k, "", tuple(v)).describe() for k, v in self.grid.items()
            ) + f" = {self.search['point'].nunique()} points"
            + (" (each class searches its own parameter)" if self.per == "class" else ""),
        ]
        lines += [f"Note: {n}" for n in self.notes]
        more = self.search[self.search["stage"] == "confirm"]
        n_more = int(more["point"].nunique())
        lo, hi = (int(more["replications"].min()), int(more["replications"].max())) if n_more \
            else (self.screen_replications, self.screen_replications)
        got = f"{lo:,}" if lo == hi else f"{lo:,} to {hi:,}"
        lines.append(
            f"Procedure: screened {self.search['point'].nunique()} points × "
            f"{self.screen_replications} replications; {n_more} contender"
            f"{'s' if n_more != 1 else ''} got more ({got}, doubling while in contention; "
            f"screen-and-select, common random numbers); {self.spent:,} replications in all"
            + (f", {self.metadata['wall_time_s']:.1f} s" if "wall_time_s" in self.metadata
               else "")
        )
        for label, ch in self.choice.items():
            head = "Choice" if label == "ALL" else f"Choice for {label}"
            lines.append(f"{head}: {_params_text(ch['params'])} → "
                         + self._obj_text(ch) + self._targets_text(ch))  # fmt: skip
            ru = self.runner_up.get(label)
            if ru is None:
                lines.append("  No runner-up: no other point met the targets.")
                continue
            verdict = ("statistically tied with the choice" if ru["tied"] else
                       "distinguished from the choice")
            lines.append(
                f"  Runner-up: {_params_text(ru['params'])}: {self.minimize} "
                f"{_signed(ru['diff_mean'], self._kind)}"
                f" [{conf} CI {_signed(ru['diff_ci_low'], self._kind)} to "
                f"{_signed(ru['diff_ci_high'], self._kind)}], {verdict}"
            )
            ties = self.tie_set.get(label, [])
            if len(ties) > 1:
                lines.append(f"  Tied ({len(ties)} points): "
                             + "; ".join(_params_text(p) for p in ties[:6])
                             + ("; …" if len(ties) > 6 else ""))  # fmt: skip
        if self.check is not None:
            lines.append("Combined policy, all SKUs: " + self._obj_text(self.check)
                         + self._targets_text(self.check))  # fmt: skip
        lines.append(f"Added to the scenario as policy '{self.optimized_policy}': "
                     f"{_params_text(self.params)}")  # fmt: skip
        return lines

    @property
    def _kind(self) -> str:
        return _kind(self.minimize, self.currency)

    def _obj_text(self, ch: Mapping[str, Any]) -> str:
        return (f"{self.minimize} {_show(ch['mean'], self._kind)} [{_pct(self.confidence)} CI "
                f"{_show(ch['ci_low'], self._kind)}–{_show(ch['ci_high'], self._kind)}]")

    def _targets_text(self, ch: Mapping[str, Any]) -> str:
        parts = []
        for t in self.targets:
            b = ch["targets"].get(t.text())
            if b is None:
                continue
            k = _kind(t.metric, self.currency)
            side = "lower" if t.lower else "upper"
            ok = "meets" if b["met"] else "MISSES"
            parts.append(f"{t.metric} {_show(b['mean'], k)} ({side} bound "
                         f"{_show(b['bound'], k)} {ok} {t.op} {_show(t.value, k)})")  # fmt: skip
        return ("; " + "; ".join(parts)) if parts else ""


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g} %"


def _kind(metric: str, currency: str) -> str:
    if metric in ("fill_rate", "order_fill_rate", "stockout_rate", "any_stockout_rate",
                  "p_backorder_end", "cycle_service_level"):  # fmt: skip
        return "ratio"
    if metric.endswith("_cost") or metric.startswith("cash") or metric in (
        "revenue", "gross_margin", "working_capital_peak"
    ):
        return "money:" + currency
    return "num"


def _show(value: float, kind: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if kind == "ratio":
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.5g}"
    if kind.startswith("money:"):
        cur = kind.split(":", 1)[1]
        sign = "−" if value < 0 else ""
        digits = 0 if abs(value) >= 100 else 2
        return f"{sign}{cur}{abs(value):,.{digits}f}"
    return f"{value:,.4g}"


def _signed(value: float, kind: str) -> str:
    text = _show(value, kind)
    return text if text.startswith(("−", "n/a")) else "+" + text


def _params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


# --------------------------------------------------------------------------- the search


def _base(scenario: Scenario, policy: str) -> tuple[str, dict[str, Any]]:
    """Return the policy type and spec (plain data) a search starts from."""
    if policy in scenario.policies:
        spec = dict(scenario.to_dict()["policies"][policy])
        spec.pop("description", None)
        return spec["type"], spec
    if policy in PARAMETERS:
        return policy, {"type": policy}
    names = ", ".join(scenario.policies)
    raise OptimizeError(
        f"policy: must name a policy of the scenario ({names}) or a policy type "
        f"({', '.join(PARAMETERS)}), got {policy!r}"
    )


def _check_keys(ptype: str, policy: str, keys: Sequence[str], per: str | None) -> None:
    allowed = PARAMETERS[ptype]
    if not keys:
        raise OptimizeError("params: give at least one parameter to search, e.g. S=100:400")
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise OptimizeError(
                f"{key}: not a parameter of policy '{policy}' (type {ptype}); {hint}"
                f"its parameters: {', '.join(allowed)}"
            )
    if per == "sku":
        if ptype not in _PER_SKU:
            raise OptimizeError(
                f"per sku: supported for base_stock, s_S and r_Q (their S, s, r, Q take a "
                f"value per SKU), not for {ptype}; for a hybrid use per class"
            )
        shared = [k for k in keys if k not in _PER_SKU_KEYS]
        if shared:
            raise OptimizeError(
                f"per sku: {shared[0]} is one value for every SKU; only S, s, r, Q can differ "
                f"by SKU (search {shared[0]} without per)"
            )
    elif per == "class":
        if ptype != "hybrid":
            raise OptimizeError(
                f"per class: supported for hybrid (service_level_a, service_level_b), not for "
                f"{ptype}; for base_stock, s_S or r_Q use per sku"
            )
        shared = [k for k in keys if k not in _CLASS_KEYS]
        if shared:
            raise OptimizeError(
                f"per class: {shared[0]} is one value for every class; only service_level_a "
                f"(A items) and service_level_b (B items) differ by class (search "
                f"{shared[0]} without per)"
            )
    elif per is not None:
        raise OptimizeError(f"per: must be None, 'sku' or 'class', got {per!r}")


def _with_policies(scenario: Scenario, policies: Mapping[str, Mapping[str, Any]],
                   replications: int) -> Scenario:  # fmt: skip
    data = scenario.to_dict()
    data["policies"] = {k: dict(v) for k, v in policies.items()}
    data.pop("baseline", None)
    data["replications"] = replications
    return Scenario.from_dict(data)


def _spec_error(exc: ValidationError, data: Mapping[str, Any]) -> str:
    return "; ".join(format_validation_error(exc, dict(data)).splitlines())


def _run(scn: Scenario, backend: str, workers: int | None, scheduler: str | None,
         done: Sequence[Any], progress: Callable[[int, int], None] | None,
         engine: str = "auto") -> tuple[pd.DataFrame, list[Any]]:  # fmt: skip
    """Run the replications of ``scn`` that ``done`` lacks; return every row and batch.

    Serially the batches are run here with :func:`~.runner.run_batch` (the summaries
    :func:`~.runner.run_scenario` adds cost more than a screening stage's simulation);
    other backends go through :func:`~.runner.run_scenario`. The rows are the same
    either way: they depend only on the scenario, the seed and the replication (and
    agree between the engines, ``engine``: docs/engines.md).
    """
    from simulator.study.runner import (
        BACKENDS,
        join_columns,
        resolve_engine,
        run_batch,
        run_scenario,
    )

    if backend not in BACKENDS:
        raise OptimizeError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")
    have = {r for b in done for r in b.replications}
    todo = [r for r in range(scn.replications) if r not in have]
    new: list[Any] = []
    if backend == "serial" or (backend == "processes" and (workers or 1) == 1):
        count = len(have)
        for i in range(0, len(todo), 50):
            new.append(run_batch(scn, todo[i : i + 50], resolve_engine(scn, engine)[0]))
            count += len(new[-1].replications)
            if progress is not None:
                progress(count, scn.replications)
    else:
        run_scenario(scn, backend=backend, workers=workers, scheduler=scheduler,
                     progress=progress, done=done, on_batch=new.append,
                     engine=engine)  # fmt: skip
    batches = sorted([*done, *new], key=lambda b: b.replications[0])
    runs = pd.DataFrame(join_columns(batches))
    runs = runs.sort_values(["replication"], kind="stable").reset_index(drop=True)
    runs["replication"] = runs["replication"].astype("int64")
    runs["seed"] = runs["seed"].astype("int64")
    return runs, batches


def _keep(batches: Sequence[Any], policies: set[str]) -> list[Any]:
    """Keep the batches' rows and daily paths of ``policies`` only (for the next stage)."""
    from simulator.study.runner import Batch

    out = []
    for b in batches:
        pol = b.columns.get("policy", [])
        idx = [i for i, p in enumerate(pol) if p in policies]
        cols = {name: values[idx] if isinstance(values, np.ndarray) else [values[i] for i in idx]
                for name, values in b.columns.items()}  # fmt: skip
        daily = {k: v for k, v in b.daily.items() if k[0] in policies}
        out.append(Batch(replications=list(b.replications), columns=cols, daily=daily))
    return out


def optimize(
    scenario: Scenario,
    policy: str,
    params: Mapping[str, tuple[float, float, float | None]],
    minimize: str = "total_cost",
    targets: Sequence[tuple[str, str, float] | Target | str] = (),
    max_cash: float | None = None,
    per: str | None = None,
    confidence: float = 0.95,
    backend: str = "serial",
    workers: int | None = 1,
    scheduler: str | None = None,
    *,
    screen_replications: int = DEFAULT_SCREEN,
    replications: int | None = None,
    max_replications: int = 2000,
    budget: int | None = None,
    indifference: float | None = None,
    max_points: int = MAX_POINTS,
    progress: Callable[[str, int, int], None] | None = None,
    command: str = "",
    engine: str = "auto",
) -> OptimizeResult:
    """Search a grid of a policy's parameters for the cheapest point that meets the targets.

    Args:
        scenario: the validated scenario; its seed is used for every point.
        policy: a policy name of the scenario (its other settings are kept), or a
            policy type (``base_stock``, ``s_S``, …; then its defaults).
        params: ``{KEY: (low, high, step or None)}`` (:func:`parse_param`); the grid
            is the product of the axes (``per="class"``: each class its own axis).
            ``review_every_days`` steps by whole days (step 1 by default); other
            parameters without a step get 11, 6 or 4 evenly spaced values (1, 2, 3
            parameters). A grid of more than ``max_points`` points is coarsened.
        minimize: the metric whose mean is minimised (``total_cost``).
        targets: ``(metric, ">=" or "<=", value)`` triples (or :func:`parse_target` texts).
        max_cash: a ceiling on the mean ``cash_tied_up`` (a ``<=`` target).
        per: None (one value for all SKUs, judged on the portfolio), ``"sku"`` or ``"class"``.
        confidence: level of the one-sided target bounds and of the CIs; the
            procedure's error α = 1 − confidence is split between screening and selection.
        backend: ``serial``, ``processes`` or ``dask`` (as :func:`~.runner.run_scenario`).
        workers: parallel workers (``processes``, ``dask``).
        scheduler: Dask scheduler address.
        engine: ``auto`` (default), ``fast`` or ``simpy`` (docs/engines.md).
        screen_replications: replications per point in the screening stage (n0).
        replications: least confirmation replications (default: the scenario's).
        max_replications: most replications per point (caps the indifference-zone N).
        budget: most replications in all (points × replications over the stages).
        indifference: δ, the objective difference worth telling apart (default 1 %
            of the best screened mean).
        max_points: most grid points.
        progress: called as ``progress(stage, done, total)`` with stage ``screen``,
            ``confirm`` or ``check`` and replications done of that stage's run.
        command: the command line, for provenance.

    Returns:
        The choice, the optimized scenario and every point's numbers.

    Raises:
        OptimizeError: a bad parameter, range, target or option (one line).
        Infeasible: no point of the range meets the targets (one line naming the
            best reached per target; the CLI exits 3).

    """
    started = time.perf_counter()
    if not (isinstance(confidence, float | int) and 0.5 <= confidence < 1):
        raise OptimizeError(f"confidence: must be >= 0.5 and < 1, got {confidence!r}")
    minimize = _metric_name(minimize, "minimize")
    if minimize in LARGER_IS_BETTER:
        raise OptimizeError(
            f"minimize: {minimize} is better when larger; minimise a cost and give it as a "
            f'target instead, e.g. --target "{minimize}>=0.98"'
        )
    if max_cash is not None and per is not None:
        raise OptimizeError(
            f"--max-cash: caps the whole portfolio, which --per-{per} does not search; give it "
            f'without --per-{per}, or a per-{per} target such as --target "cash_tied_up<=X"'
        )
    tlist = _targets(targets, max_cash)
    n0 = int(screen_replications)
    if n0 < 2:
        raise OptimizeError(f"screen_replications: must be >= 2, got {screen_replications!r}")
    n_min = scenario.replications if replications is None else int(replications)
    if n_min < 1:
        raise OptimizeError(f"replications: must be >= 1, got {replications!r}")
    if max_replications < max(n0, 2):
        raise OptimizeError(f"max_replications: must be >= screen_replications ({n0}), "
                            f"got {max_replications}")  # fmt: skip
    if indifference is not None and not (math.isfinite(indifference) and indifference > 0):
        raise OptimizeError(f"indifference: must be > 0, got {indifference!r}")
    if max_points < 1:
        raise OptimizeError(f"max_points: must be >= 1, got {max_points!r}")
    ptype, base = _base(scenario, policy)
    keys = list(params)
    _check_keys(ptype, policy, keys, per)
    metrics = list(dict.fromkeys([minimize, *[t.metric for t in tlist], *_CONTEXT]))
    if per == "class":
        bad = [m for m in (minimize, *[t.metric for t in tlist]) if m not in _CLASS_METRICS]
        if bad:
            raise OptimizeError(
                f"per class: {bad[0]} cannot be summed over a class's SKUs; use one of "
                f"{', '.join(_CLASS_METRICS)}"
            )
        metrics = [m for m in metrics if m in _CLASS_METRICS]
    name = policy if policy in scenario.policies else ptype

    # ---- the grid: points as {key: value}, each validated as a policy
    kinds = PARAMETERS[ptype]
    n_axes = 1 if per == "class" else len(keys)
    axes = [_axis(k, kinds[k], params[k], n_axes) for k in keys]
    for a in axes:
        _check_range(a, base, ptype, policy)
    axes, notes = _fit(axes, max_points, product=per != "class")
    if per == "class":
        size = max(len(a.values) for a in axes)
        raw = [{a.key: a.values[min(i, len(a.values) - 1)] for a in axes} for i in range(size)]
    else:
        raw = [dict(zip(keys, combo, strict=True))
               for combo in itertools.product(*(a.values for a in axes))]  # fmt: skip
    points, specs, dropped, invalid = [], [], [], []
    for values in raw:
        spec = {**base, **{k: _value(kinds[k], v) for k, v in values.items()}}
        try:
            _SPEC.validate_python(spec)
        except ValidationError as exc:
            invalid.append((values, _spec_error(exc, spec)))
            continue
        problem = _point_problem(ptype, spec)
        if problem is not None:
            dropped.append((values, problem))
            continue
        points.append({k: _value(kinds[k], v) for k, v in values.items()})
        specs.append(spec)
    # A spec error (a required parameter missing) says more than a point's own problem.
    dropped = invalid + dropped
    if dropped:
        first, why = dropped[0]
        if not points:
            raise OptimizeError(f"no point of the grid is a valid {ptype} policy: at "
                                f"{_params_text(first)}: {why}")  # fmt: skip
        notes.append(f"{len(dropped)} of {len(raw)} grid points are not valid {ptype} policies "
                     f"and were left out (e.g. {_params_text(first)}: {why})")  # fmt: skip
    names = [f"{name}@{k}" for k in range(len(points))]
    groups = _groups(scenario, ptype, base, per, axes, points)
    if budget is not None and budget < n0 * len(points):
        raise OptimizeError(f"budget: {budget:,} replications cannot screen {len(points)} points "
                            f"× {n0} replications = {n0 * len(points):,}")  # fmt: skip

    def stage_progress(stage: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, total: progress(stage, done, total)

    # ---- looks: screen every point on n0 replications, then double the survivors'
    # replications (same seed, more replication indices: nested and CRN) until one
    # point per group is left or the indifference-zone N is reached.
    alpha = 1 - confidence
    looks_max = 1 + max(0, math.ceil(math.log2(max_replications / n0)))
    a_look = alpha / 2 / looks_max
    state = {g.label: {p: {"eliminated_at": "", "status": "", "reason": ""} for p in g.points}
             for g in groups}  # fmt: skip
    alive = {g.label: set(g.points) for g in groups}
    reps = dict.fromkeys(range(len(points)), 0)
    deltas: dict[str, float] = {}
    needed: dict[str, int] = {}
    spec_of = dict(zip(names, specs, strict=True))
    batches: list[Any] = []
    current = None
    r, look, n_final, spent = 0, 0, n0, 0

    def advance(to: int, which: list[int], stage: str) -> None:
        nonlocal current, batches, spent
        pol = [names[k] for k in which]
        scn = _with_policies(scenario, {p: spec_of[p] for p in pol}, to)
        runs, batches = _run(scn, backend, workers, scheduler, _keep(batches, set(pol)),
                             stage_progress(stage), engine)  # fmt: skip
        spent += sum(to - reps[k] for k in which)
        for k in which:
            reps[k] = to
        rest = None if current is None else current[~current["policy"].isin(pol)]
        current = runs if rest is None else pd.concat([rest, runs], ignore_index=True)

    advance(n0, list(range(len(points))), "screen")
    r = n0
    while True:
        for g in groups:
            frame = _frame(current, g, metrics)
            X = {m: _matrix(frame, m, [names[k] for k in g.points]) for m in metrics}
            _look(g, state[g.label], alive[g.label], X, minimize, tlist, a_look, look, r)
            if look == 0:
                kept = [g.points.index(k) for k in sorted(alive[g.label])]
                means = _moments(X[minimize][kept])[1] if kept else np.array([])
                best = float(np.nanmin(means)) if np.isfinite(means).any() else math.nan
                if indifference is not None:
                    deltas[g.label] = float(indifference)
                else:
                    deltas[g.label] = max(abs(best) * 0.01, 1e-9) if math.isfinite(best) else 1.0
                needed[g.label] = _iz_size(X[minimize], kept, n0, deltas[g.label], alpha / 2)
        live = sorted(set().union(*alive.values()))
        if not live:  # every contender fell short: nothing to run, Infeasible follows
            break
        if look == 0:
            n_iz = max(needed.values())
            n_final = min(max(n_iz, n_min, n0), max_replications)
        single = all(len(a) <= 1 for a in alive.values())
        to = max(r, min(n_min, n_final)) if single else min(2 * r, n_final)
        if to <= r:
            break
        if budget is not None and spent + (to - r) * len(live) > budget:
            room = r + (budget - spent) // len(live)
            notes.append(f"budget: the contenders stopped at {room if room > r else r:,} "
                         f"replications (not {to:,}) to stay within {budget:,}")  # fmt: skip
            if room <= r:
                break
            to = room
        advance(to, live, "confirm")
        r = to
        look += 1
        if single:
            break

    # ---- decide each group on every point's own replications
    choice: dict[str, dict[str, Any]] = {}
    runner: dict[str, dict[str, Any] | None] = {}
    ties: dict[str, list[dict[str, Any]]] = {}
    diffs: dict[str, dict[int, tuple[float, float, float]]] = {}
    for g in groups:
        st = state[g.label]
        frame = _frame(current, g, metrics)
        X = {m: _matrix(frame, m, [names[k] for k in g.points]) for m in metrics}
        cache: dict[str, dict[str, np.ndarray]] = {}
        for i, p in enumerate(g.points):
            st[p]["metrics"] = _stats_entry(X, i, confidence, cache)
            st[p]["replications"] = reps[p]
            st[p]["stage"] = "screen" if reps[p] <= n0 else "confirm"
            st[p]["feasible"] = _meets(st[p]["metrics"], tlist)
        surv = [p for p in g.points if p in alive[g.label]]
        for p in surv:
            if not st[p]["feasible"]:
                miss = _miss(st[p]["metrics"], tlist)
                st[p].update(status="infeasible", eliminated_at="confirm", reason=miss)
        feas = [p for p in surv if st[p]["feasible"]]
        if not feas:  # the survivors fell short on more replications: any feasible point
            feas = [p for p in g.points if st[p]["feasible"] and st[p]["status"] != "infeasible"]
            if feas:
                notes.append(f"{g.label}: no point that survived the screens met the targets on "
                             "its final replications; the choice is the best feasible point "
                             "screened out earlier")  # fmt: skip
        if not feas:
            continue
        mean_of = {p: st[p]["metrics"][minimize]["mean"] for p in g.points}
        feas = [p for p in feas if math.isfinite(mean_of[p])]  # an undefined objective never wins
        if not feas:
            continue
        w = min(feas, key=lambda p: (mean_of[p], p))
        obj = X[minimize]
        wi = g.points.index(w)
        d = {p: _paired_ci(obj[i], obj[wi], confidence)
             for i, p in enumerate(g.points) if p != w}  # fmt: skip
        diffs[g.label] = d
        _label(st, w, surv, d, minimize)
        # The runner-up is the feasible survivor closest to the choice in paired
        # difference (means over different replications do not rank); failing that, the
        # closest feasible point screened out. Screened-out points are never "tied": a
        # clearly feasible point beat them at a stricter level than the CI's.
        kept = [p for p in surv if st[p]["feasible"] and p != w]
        dropped = [p for p in g.points if st[p]["feasible"] and p != w and p not in surv]
        others = sorted(kept, key=lambda p: (d[p][0], p)) or sorted(
            dropped, key=lambda p: (d[p][0], p)
        )
        tie = [p for p in g.points if p == w or (p in kept and d[p][1] <= 0)]
        if others and d[others[0]][1] <= 0 and others[0] not in tie:
            tie.append(others[0])
        ties[g.label] = [_group_params(g, points[p]) for p in sorted(tie)]
        choice[g.label] = _choice_entry(st[w], w, _group_params(g, points[w]), minimize, tlist)
        if others:
            ru = others[0]
            mean, lo, hi = d[ru]
            runner[g.label] = {"point": ru, "params": _group_params(g, points[ru]),
                               "diff_mean": mean, "diff_ci_low": lo, "diff_ci_high": hi,
                               "replications": int(min(reps[ru], reps[w])),
                               "tied": not (lo > 0)}  # fmt: skip
            if st[ru]["status"] in ("tied", "worse", ""):
                st[ru]["status"] = "runner-up"
        else:
            runner[g.label] = None
        notes += _edge_notes(g, points[w], axes)
    for g in groups:
        if len(alive[g.label]) > 1 and max(reps.values()) < needed[g.label]:
            who = "" if g.kind == "portfolio" else f"{g.label}: "
            notes.append(f"{who}{len(alive[g.label])} points are still in contention after "
                         f"{max(reps.values()):,} replications; telling them apart within δ = "
                         f"{_fmt(_sig(deltas[g.label]))} would take about "
                         f"{needed[g.label]:,} (the indifference-zone rule), so among them the "
                         "choice is the lowest mean, and the paired CIs say whether it is tied")
    search = _search_table(groups, state, points, names, keys, metrics, tlist, diffs)
    missing = [g for g in groups if g.label not in choice]
    if missing:
        raise Infeasible(_infeasible_message(missing, search, tlist, confidence), search, spent)
    n_conf = max(reps.values())

    # ---- the choice as a policy, added to the scenario
    chosen = _combine(groups, choice, points)
    check = None
    opt_name = f"{name}_optimized"
    opt_spec = {**base, **chosen}
    opt_spec["description"] = (
        f"Found by supplysim optimize: minimize {minimize}"
        + (f" subject to {' and '.join(t.text() for t in tlist)}" if tlist else "")
        + f" ({_pct(confidence)} one-sided bounds); {_params_text(chosen)}."
    )
    data = scenario.to_dict()
    if opt_name in data["policies"]:
        notes.append(f"the scenario's policy '{opt_name}' was replaced by the new choice")
    data["policies"][opt_name] = opt_spec
    try:
        optimized = Scenario.from_dict(data)
    except ScenarioError as exc:  # pragma: no cover - every point was validated
        raise OptimizeError(f"the optimized scenario is not valid: {exc}") from None
    all_runs = [current]
    if per is not None:
        scn3 = _with_policies(optimized, {opt_name: optimized.to_dict()["policies"][opt_name]},
                              n_conf)  # fmt: skip
        runs3, _ = _run(scn3, backend, workers, scheduler, (), stage_progress("check"), engine)
        spent += n_conf
        check = _check_entry(runs3, metrics, minimize, tlist, confidence)
        all_runs.append(runs3)
        # Each SKU (class) was searched beside the others at the same grid point; in the
        # combined policy they may meet other neighbours (shared orders, capacity): judge
        # every group's targets again on the combined policy's own rows.
        pol = list(dict.fromkeys(runs3["policy"]))
        for g in groups:
            frame = _frame(runs3, g, metrics)
            X3 = {m: _matrix(frame, m, pol) for m in metrics}
            miss = _miss(_stats_entry(X3, 0, confidence, {}), tlist)
            if miss:
                notes.append(f"{g.label}: in the combined policy its {miss} (it met the target "
                             "where it was searched; the SKUs share orders or capacity): run "
                             "optimized.yaml and check it before relying on it")  # fmt: skip
                check["group_misses"] = check.get("group_misses", []) + [f"{g.label}: {miss}"]
    runs = pd.concat(all_runs, ignore_index=True)
    wall = time.perf_counter() - started
    grid = {a.key: [_value(a.kind, v) for v in a.values] for a in axes}
    ranges = {k: tuple(params[k]) for k in keys}  # type: ignore[misc]
    result = OptimizeResult(
        scenario=scenario, policy=policy, policy_type=ptype, params=chosen,
        optimized=optimized, optimized_policy=opt_name, search=search, runs=runs,
        minimize=minimize, targets=tlist, per=per, confidence=confidence, grid=grid,
        ranges=ranges, screen_replications=n0, replications=n_conf, spent=spent,
        indifference=deltas, needed=needed, choice=choice, runner_up=runner,
        tied=any(r is not None and r["tied"] for r in runner.values()), tie_set=ties,
        check=check, notes=notes,
    )  # fmt: skip
    result.metadata = _metadata(result, backend, workers, wall, command, max_cash)
    from simulator.study.runner import resolve_engine

    result.metadata["engine"], result.metadata["engine_reason"] = resolve_engine(scenario, engine)
    return result


def _check_range(axis: _Axis, base: Mapping[str, Any], ptype: str, policy: str) -> None:
    """Refuse a range whose ends are no valid value of the parameter (one line)."""
    for v in (axis.values[0], axis.values[-1]):
        spec = {**base, axis.key: _value(axis.kind, v)}
        if axis.kind in (_QTY,) and v < 0:
            raise OptimizeError(f"{axis.key}={_fmt(v)}: must be >= 0")
        try:
            _SPEC.validate_python(spec)
        except ValidationError as exc:
            for line in format_validation_error(exc, spec).splitlines():
                where, _, rule = line.partition(": ")
                if where.split(".")[-1] == axis.key:
                    raise OptimizeError(f"{axis.key}={_fmt(v)}: {rule}") from None


def _point_problem(ptype: str, spec: Mapping[str, Any]) -> str | None:
    """Say why a point is no sensible policy the spec would still accept (s > S, Q = 0)."""
    if ptype == "s_S" and not isinstance(spec.get("s"), dict) and not isinstance(
        spec.get("S"), dict
    ) and float(spec["s"]) > float(spec["S"]):
        return f"s must be <= S, got s={_fmt(spec['s'])} > S={_fmt(spec['S'])}"
    if ptype == "r_Q" and not isinstance(spec.get("Q"), dict) and float(spec.get("Q", 1)) <= 0:
        return "Q must be > 0"
    return None


def _groups(scenario: Scenario, ptype: str, base: Mapping[str, Any], per: str | None,
            axes: list[_Axis], points: list[dict[str, Any]]) -> list[_Group]:  # fmt: skip
    everything = tuple(range(len(points)))
    keys = tuple(a.key for a in axes)
    if per is None:
        return [_Group("ALL", "portfolio", "ALL", everything, keys)]
    if per == "sku":
        return [_Group(s.id, "sku", s.id, everything, keys) for s in scenario.skus]
    from simulator.model.policies import policy_classes

    classes = policy_classes(scenario, _SPEC.validate_python(dict(base, type="hybrid")))
    out = []
    for a in axes:
        cls = _CLASS_KEYS[a.key]
        if cls not in classes.values():
            have = ", ".join(f"{k}: {v}" for k, v in sorted(classes.items()))
            raise OptimizeError(f"per class: no SKU is in class {cls} ({have}), so "
                                f"{a.key} changes nothing")  # fmt: skip
        # Point k carries the k-th value of each axis (the last one repeated): the
        # class sees each of its values once, on the first len(values) points.
        distinct = tuple(k for k in everything if k < len(a.values))
        out.append(_Group(f"class {cls}", "class", cls, distinct, (a.key,)))
    return out


def _group_params(g: _Group, point: Mapping[str, Any]) -> dict[str, Any]:
    return {k: point[k] for k in g.keys}


def _iz_size(obj: np.ndarray, rows: list[int], n0: int, delta: float, alpha: float) -> int:
    """Indifference-zone replications: max over pairs of ⌈(t·S_ij/δ)²⌉ (Bonferroni, CRN)."""
    if len(rows) < 2 or not math.isfinite(delta) or delta <= 0:
        return n0
    t = float(stats.t.ppf(1 - alpha / (len(rows) - 1), n0 - 1))
    worst = 0.0
    for i, j in itertools.combinations(rows, 2):
        _, _, sd = _paired(obj[i], obj[j])
        if math.isfinite(sd):
            worst = max(worst, sd)
    return max(n0, math.ceil((t * worst / delta) ** 2))


def _stats_entry(
    X: Mapping[str, np.ndarray], i: int, confidence: float, cache: dict[str, dict[str, np.ndarray]]
) -> dict[str, dict[str, float]]:
    out = {}
    for m, x in X.items():
        if m not in cache:
            cache[m] = _bounds(x, confidence)
        b = cache[m]
        out[m] = {k: float(b[k][i]) for k in ("n", "mean", "ci_low", "ci_high", "lower", "upper")}
    return out


def _bound(m: Mapping[str, float], t: Target) -> float:
    """Return the one-sided bound a target is judged on: lower for ``>=``, upper for ``<=``."""
    return m["lower"] if t.lower else m["upper"]


def _met(t: Target, bound: float, n: float) -> bool:
    """Return whether a bound meets a target.

    A metric that no replication defines (a SKU without demand has no fill rate) gives
    the target nothing to judge: it does not apply, and counts as met.
    """
    return n == 0 or t.met(bound)


def _meets(metrics: Mapping[str, Mapping[str, float]], targets: list[Target]) -> bool:
    """Whether every target's one-sided bound (at the stats' confidence) meets it."""
    return all(_met(t, _bound(metrics[t.metric], t), metrics[t.metric]["n"]) for t in targets)


def _miss(metrics: Mapping[str, Mapping[str, float]], targets: list[Target]) -> str:
    """Say which target a point misses and by what bound."""
    for t in targets:
        b = _bound(metrics[t.metric], t)
        if not _met(t, b, metrics[t.metric]["n"]):
            side = "lower" if t.lower else "upper"
            return f"{t.metric} {side} bound {_fmt(_sig(b))} misses {t.text()}"
    return ""


def _look(g: _Group, st: dict[int, dict[str, Any]], alive: set[int],
          X: Mapping[str, np.ndarray], minimize: str, targets: list[Target], a_look: float,
          look: int, r: int) -> None:  # fmt: skip
    """Drop the clearly infeasible and the clearly worse of a group's live points.

    Each look spends ``a_look`` of the error (Bonferroni over the planned looks), half
    on the targets and half on the objective: a point is clearly infeasible when even
    the favourable one-sided bound of a target's mean (at 1 − a_look / 2 split over
    the targets) misses it; clearly feasible
    (an anchor) when the unfavourable one does not; and clearly worse when an
    anchor's paired one-sided bound (at 1 − a_look / 2 split over the group's other
    points) says it costs less (Nelson, Swann, Goldsman & Song 2001, screening with
    pairwise variances as common random numbers need).
    """
    k = len(g.points)
    idx = {p: i for i, p in enumerate(g.points)}
    level = 1 - a_look / 2 / max(len(targets), 1)
    where = "screen" if look == 0 else "confirm"
    at = "screening" if look == 0 else f"at {r} replications"
    anchors = []
    if targets:
        fav = {t.text(): _bounds(X[t.metric], level) for t in targets}
    for p in sorted(alive):
        i = idx[p]
        clear = True
        for t in targets:
            b = fav[t.text()]
            good, bad = (b["upper"][i], b["lower"][i]) if t.lower else (b["lower"][i],
                                                                         b["upper"][i])
            if not _met(t, good, b["n"][i]):
                side = "upper" if t.lower else "lower"
                st[p].update(eliminated_at=where, status="infeasible",
                             reason=f"{t.metric} {side} bound {_fmt(_sig(good))} misses "
                                    f"{t.text()} ({at}, {_pct(level)})")  # fmt: skip
                break
            clear = clear and _met(t, bad, b["n"][i])
        else:
            if clear:
                anchors.append(p)
    alive -= {p for p in list(alive) if st[p]["eliminated_at"]}
    obj = X[minimize]
    t_s = float(stats.t.ppf(1 - a_look / 2 / max(k - 1, 1), r - 1)) if k > 1 else math.inf
    gone = set()
    for p in sorted(alive):
        for q in anchors:
            if q == p or q in gone:
                continue
            n, mean, sd = _paired(obj[idx[p]], obj[idx[q]])
            if n < 2 or not math.isfinite(mean):
                continue
            w = t_s * (sd if math.isfinite(sd) else 0.0) / math.sqrt(n)
            if mean > w:
                st[p].update(eliminated_at=where, status="worse",
                             reason=f"{minimize} higher than point {q} by {_fmt(_sig(mean))} "
                                    f"(> {_fmt(_sig(w))}, {at})")  # fmt: skip
                gone.add(p)
                break
    alive -= gone


def _label(st: dict[int, dict[str, Any]], w: int, survivors: list[int],
           d: Mapping[int, tuple[float, float, float]], minimize: str) -> None:  # fmt: skip
    """Mark the choice and say how each other survivor compares with it."""
    st[w].update(status="chosen", eliminated_at="", reason="lowest mean among feasible points")
    for p in survivors:
        if p == w or st[p]["status"] == "infeasible":
            continue
        mean, lo, hi = d[p]
        ci = f"{_fmt(_sig(mean))} [CI {_fmt(_sig(lo))} to {_fmt(_sig(hi))}]"
        if lo > 0:
            st[p].update(status="worse", eliminated_at="confirm",
                         reason=f"{minimize} higher than the choice by {ci}")  # fmt: skip
        else:
            st[p].update(status="tied", eliminated_at="",
                         reason=f"statistically tied with the choice: difference {ci}")


def _edge_notes(g: _Group, point: Mapping[str, Any], axes: list[_Axis]) -> list[str]:
    """Warn when the choice sits at an end of a range: the optimum may lie beyond it."""
    out = []
    for a in axes:
        if a.key not in g.keys or len(a.values) < 2:
            continue
        v = point[a.key]
        end = "upper" if v == a.values[-1] else "lower" if v == a.values[0] else None
        if end is not None:
            who = "" if g.kind == "portfolio" else f"{g.label}: "
            out.append(f"{who}the choice is at the {end} end of {a.key}'s range "
                       f"({_fmt(v)}): the optimum may lie beyond it; widen the range to see")
    return out


def _choice_entry(entry: Mapping[str, Any], point: int, params: dict[str, Any], minimize: str,
                  targets: list[Target]) -> dict[str, Any]:  # fmt: skip
    m = entry["metrics"][minimize]
    out: dict[str, Any] = {"point": point, "params": params, "mean": m["mean"],
                           "ci_low": m["ci_low"], "ci_high": m["ci_high"],
                           "replications": entry["replications"], "targets": {}}  # fmt: skip
    for t in targets:
        b = entry["metrics"][t.metric]
        bound = b["lower"] if t.lower else b["upper"]
        out["targets"][t.text()] = {"mean": b["mean"], "bound": bound,
                                    "met": _met(t, bound, b["n"])}
    return out


def _check_entry(runs: pd.DataFrame, metrics: list[str], minimize: str, targets: list[Target],
                 confidence: float) -> dict[str, Any]:  # fmt: skip
    """Return the combined policy's portfolio numbers (``per``): objective, target bounds."""
    g = _Group("ALL", "portfolio", "ALL", (0,), ())
    frame = _frame(runs, g, metrics)
    pol = list(dict.fromkeys(runs["policy"]))
    X = {m: _matrix(frame, m, pol) for m in metrics}
    entry = {"metrics": _stats_entry(X, 0, confidence, {}), "replications": X[minimize].shape[1]}
    return _choice_entry(entry, -1, {}, minimize, targets)


def _combine(groups: list[_Group], choice: Mapping[str, dict[str, Any]],
             points: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """Return the chosen parameters as spec values: per SKU as ``{SKU: value}`` maps."""
    if len(groups) == 1 and groups[0].kind == "portfolio":
        return dict(points[choice["ALL"]["point"]])
    out: dict[str, Any] = {}
    for g in groups:
        params = choice[g.label]["params"]
        for k, v in params.items():
            if g.kind == "sku":
                out.setdefault(k, {})[g.rows] = v
            else:
                out[k] = v
    return out


def _search_table(groups: list[_Group], state: Mapping[str, dict[int, dict[str, Any]]],
                  points: list[dict[str, Any]], names: list[str], keys: list[str],
                  metrics: list[str], targets: list[Target],
                  diffs: Mapping[str, dict[int, tuple[float, float, float]]],
                  ) -> pd.DataFrame:  # fmt: skip
    """One row per group × point, in grid order."""
    recs = []
    direction = {}
    for t in targets:
        direction.setdefault(t.metric, t.lower)
    for g in groups:
        for p in g.points:
            e = state[g.label][p]
            rec: dict[str, Any] = {"group": g.label, "point": p, "policy": names[p]}
            for k in keys:
                rec[k] = points[p][k] if k in g.keys or g.kind != "class" else math.nan
            rec["stage"] = e["stage"]
            rec["replications"] = e["replications"]
            for m in metrics:
                s = e["metrics"][m]
                rec[f"{m}_mean"] = s["mean"]
                rec[f"{m}_ci_low"] = s["ci_low"]
                rec[f"{m}_ci_high"] = s["ci_high"]
                if m in direction:
                    rec[f"{m}_bound"] = s["lower"] if direction[m] else s["upper"]
                    # Both one-sided bounds: a metric may carry a >= and a <= target.
                    rec[f"{m}_lower_bound"] = s["lower"]
                    rec[f"{m}_upper_bound"] = s["upper"]
            rec["feasible"] = bool(e["feasible"])
            d = diffs.get(g.label, {}).get(p)
            chosen = e.get("status") == "chosen"
            rec["diff_mean"] = 0.0 if chosen else (d[0] if d else math.nan)
            rec["diff_ci_low"] = 0.0 if chosen else (d[1] if d else math.nan)
            rec["diff_ci_high"] = 0.0 if chosen else (d[2] if d else math.nan)
            rec["status"] = e.get("status") or "contender"
            rec["eliminated_at"] = e.get("eliminated_at", "")
            rec["reason"] = e.get("reason", "")
            recs.append(rec)
    return pd.DataFrame.from_records(recs)


def _infeasible_message(groups: list[_Group], search: pd.DataFrame, targets: list[Target],
                        confidence: float) -> str:  # fmt: skip
    """One line: for each target, the best any point reaches and where."""
    parts = []
    conf = _pct(confidence)
    for g in groups:
        rows = search[search["group"] == g.label]
        gkeys = list(g.keys)
        clauses = []
        for t in targets:
            col = f"{t.metric}_{'lower' if t.lower else 'upper'}_bound"
            order = rows.sort_values(col, ascending=not t.lower, kind="stable")
            if order.empty:
                continue
            r = order.iloc[0]
            met = t.met(float(r[col]))
            side = "lower" if t.lower else "upper"
            where = ", ".join(f"{k}={_fmt(r[k])}" for k in gkeys)
            reach = (f"the best point reaches {_fmt(_sig(r[f'{t.metric}_mean']))} [{side} {conf} "
                     f"bound {_fmt(_sig(r[col]))}] at {where}")  # fmt: skip
            if not met:
                clauses.append(f"{t.text()} cannot be met in the range: {reach}")
            else:
                clauses.append(f"{t.text()} alone can be met ({reach})")
        if all("cannot" not in c for c in clauses) and len(targets) > 1:
            head = (f"no point in the range meets {' and '.join(t.text() for t in targets)} "
                    "together: ")
            clauses = [head + "; ".join(clauses)]
        elif not targets:  # pragma: no cover - without targets every point is feasible
            clauses = ["no point could be evaluated"]
        text = "; ".join(c for c in clauses if "alone" not in c or len(clauses) == 1)
        parts.append(text if g.kind == "portfolio" else f"{g.label}: {text}")
    return "; ".join(parts)


def _sig(value: Any) -> float:
    """Round to 4 significant digits for messages (0.97812 -> 0.9781)."""
    v = float(value)
    return float(f"{v:.4g}") if math.isfinite(v) else v


def _metadata(res: OptimizeResult, backend: str, workers: int | None, wall: float,
              command: str, max_cash: float | None) -> dict[str, Any]:  # fmt: skip
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("supplysim", "simpy", "numpy", "pandas", "scipy"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    scn = res.scenario
    return {
        "kind": "optimize",
        "scenario": scn.name,
        "scenario_hash": scn.content_hash(),
        "optimized_scenario_hash": res.optimized.content_hash(),
        "seed": scn.seed,
        "replications": res.replications,
        "screen_replications": res.screen_replications,
        "replications_spent": res.spent,
        "policy": res.policy,
        "policy_type": res.policy_type,
        "optimized_policy": res.optimized_policy,
        "params": {k: list(v) for k, v in res.ranges.items()},
        "grid": res.grid,
        "points": int(res.search["point"].nunique()),
        "minimize": res.minimize,
        "targets": [{"metric": t.metric, "op": t.op, "value": t.value} for t in res.targets],
        "max_cash": max_cash,
        "per": res.per,
        "confidence": res.confidence,
        "indifference": res.indifference,
        "indifference_replications": res.needed,
        "procedure": PROCEDURE,
        "chosen": res.params,
        "choice": res.choice,
        "runner_up": res.runner_up,
        "tied": res.tied,
        "tie_set": res.tie_set,
        "check": res.check,
        "notes": res.notes,
        "backend": backend,
        "workers": 1 if backend == "serial" else workers,
        "wall_time_s": round(wall, 3),
        "command": command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": versions,
        "horizon_days": scn.horizon_days,
        "warmup_days": scn.warmup_days,
        "currency": scn.currency,
    }


# --------------------------------------------------------------------------- checking


@dataclass
class Verification:
    """The optimized policy rerun on fresh random numbers: whether each target still holds."""

    seed: int
    replications: int
    table: pd.DataFrame
    """One row per group × target (and the objective): mean, CI, one-sided bound, holds."""

    @property
    def holds(self) -> bool:
        """Whether every target holds on the fresh replications."""
        sel = self.table[self.table["target"] != ""]
        return bool(sel["holds"].all()) if len(sel) else True

    def lines(self) -> list[str]:
        """Return the check for the terminal."""
        out = [f"Rerun with seed {self.seed}, {self.replications} replications:"]
        for r in self.table.itertuples():
            tail = f" → {'holds' if r.holds else 'FAILS'} {r.target}" if r.target else ""
            side = f", one-sided bound {r.bound:.6g}" if r.target else ""
            out.append(f"  {r.group}: {r.metric} {r.mean:.6g} [CI {r.ci_low:.6g} to "
                       f"{r.ci_high:.6g}]{side}{tail}")  # fmt: skip
        return out


def verify(result: OptimizeResult, seed: int, replications: int | None = None,
           backend: str = "serial", workers: int | None = 1,
           scheduler: str | None = None, engine: str = "auto") -> Verification:  # fmt: skip
    """Rerun the optimized policy alone with another seed and judge its targets again.

    The choice was the cheapest of many points that passed their bounds, so its
    bounds are a little optimistic; fresh random numbers give an unbiased check.
    """
    n = replications or result.replications
    scn = result.optimized.with_overrides(replications=n, seed=seed,
                                          policies=[result.optimized_policy])  # fmt: skip
    rows, _ = _run(scn, backend, workers, scheduler, (), None, engine)
    groups: list[_Group]
    if result.per is None:
        groups = [_Group("ALL", "portfolio", "ALL", (0,), ())]
    else:
        groups = [_Group(label, *(("sku", label) if result.per == "sku" else
                                  ("class", label.split()[-1])), (0,), ())
                  for label in result.choice]  # fmt: skip
    metrics = list(dict.fromkeys([result.minimize, *[t.metric for t in result.targets]]))
    recs = []
    for g in groups:
        frame = _frame(rows, g, metrics)
        for m in metrics:
            b = _bounds(_matrix(frame, m, [result.optimized_policy]), result.confidence)
            ts = [t for t in result.targets if t.metric == m] or [None]
            for t in ts:
                bound = float(b["lower"][0] if t is None or t.lower else b["upper"][0])
                recs.append({"group": g.label, "metric": m, "mean": float(b["mean"][0]),
                             "ci_low": float(b["ci_low"][0]), "ci_high": float(b["ci_high"][0]),
                             "bound": bound, "target": t.text() if t else "",
                             "holds": _met(t, bound, b["n"][0]) if t else True})  # fmt: skip
    return Verification(seed, n, pd.DataFrame.from_records(recs))


# --------------------------------------------------------------------------- files


def identity_of(scenario: Scenario, policy: str, params: Mapping[str, Any],
                replications: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Return what an optimize folder is claimed for (scenario, search, seed)."""
    blob = json.dumps({"scenario": scenario.content_hash(), "policy": policy,
                       "params": {k: list(v) for k, v in params.items()}},
                      sort_keys=True, default=str)  # fmt: skip
    return {"scenario": scenario.name,
            "scenario_hash": hashlib.sha256(blob.encode()).hexdigest()[:16],
            "seed": scenario.seed,
            "replications": replications or scenario.replications}  # fmt: skip


def claim_folder(out: Path | None, name: str, identity: dict[str, Any], force: bool,
                 root: Path = Path("results")) -> Any:  # fmt: skip
    """Claim the folder: ``out``, or a new ``root/<name>-optimize-<timestamp>``.

    See :func:`simulator.study.workspace.claim_named`; write into it with
    ``workspace.commit(lambda work: (write_optimize(result, work), write_search_chart(result,
    work)))`` so that the folder appears whole.
    """
    from simulator.study.workspace import claim_named

    return claim_named(out, f"{name}-optimize", identity, force, root)


def write_optimize(result: OptimizeResult, folder: Path) -> list[Path]:
    """Write ``optimized.yaml``, ``search.csv``, ``runs.parquet`` and ``metadata.json``.

    ``folder`` exists (a workspace's work folder); the chart is written by
    :func:`simulator.present.optimize_chart.write_search_chart`.
    """
    folder = Path(folder)
    out = [folder / "optimized.yaml", folder / "search.csv", folder / "runs.parquet",
           folder / "metadata.json"]  # fmt: skip
    out[0].write_text(result.optimized.to_yaml(), encoding="utf-8")
    result.search.to_csv(out[1], index=False)
    result.runs.to_parquet(out[2], index=False)
    out[3].write_text(json.dumps(result.metadata, indent=2, default=str) + "\n",
                      encoding="utf-8")  # fmt: skip
    return out
