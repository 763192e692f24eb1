"""Sweeps: one scenario run over a range of values of its parameters, on common random numbers.

``supplysim sweep SCENARIO --param PATH=SPEC [--param ...] [--zip]`` sets the value at
each PATH (a dotted path, :mod:`simulator.data.paths`: ``policies.safety_stock.
service_level``, ``suppliers.overseas.disruptions.0.days``) to each value of its SPEC
and runs every policy of the scenario at every point, with the same root seed and
replication indices. Random streams are keyed by their source (see
:class:`simulator.model.replication.Streams`), so replication i of one point sees the
same demand and lead-time draws as replication i of any other wherever the swept value
does not change those draws: the curves are paired, and their differences from point to
point are the effect of the value alone.

SPEC is ``LOW:HIGH:N`` (N evenly spaced values, both ends included; integers stay
integers when LOW and HIGH are integers and the step is whole; dates work too,
``2026-10-01:2026-10-29:5``), ``LOW:HIGH:N:log`` (geometric spacing) or a list
``a,b,c``. Several ``--param`` make a grid (every combination); ``--zip`` pairs their
values in order instead. A sweep has at most :data:`MAX_POINTS` points.

Sweeping a policy's parameter traces its cost against service (the frontier); sweeping
a parameter of the scenario (a closure's length, a lead time's spread, a SKU's demand)
shows how each policy bears it (stress curves). The presentation is
:mod:`simulator.present.sweep_charts`; ``docs/sweep.md`` describes the folder.
"""

from __future__ import annotations

import copy
import datetime as dt
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

from simulator.data.paths import PathError, format_path, get, parse, resolve, set_value
from simulator.data.scenario import Scenario, ScenarioError

__all__ = [
    "MAX_POINTS",
    "STRESS_METRICS",
    "SUMMARY_COLUMNS",
    "Param",
    "Sweep",
    "SweepError",
    "SweepResult",
    "build_sweep",
    "claim_folder",
    "efficient",
    "holds_up_to",
    "identity_of",
    "parse_param",
    "parse_spec",
    "portfolio",
    "run_sweep",
    "sweep_table",
    "write_sweep",
]

MAX_POINTS = 200
"""Most points a sweep may have (the product of the value counts, or their common count)."""

#: Metrics drawn against the swept value: name, label, kind (``pct`` or ``money``).
STRESS_METRICS = (
    ("fill_rate", "Fill rate (type 2)", "pct"),
    ("stockout_rate", "Stockout days", "pct"),
    ("total_cost", "Total cost per replication", "money"),
    ("cash_tied_up", "Cash tied up (mean inventory value)", "money"),
)

#: Statistics columns of ``sweep.csv`` / ``sweep.parquet`` after the point and parameters.
SUMMARY_COLUMNS = (
    "policy", "sku", "metric", "n", "mean", "sd", "ci_low", "ci_high", "p5", "p50", "p95",
)  # fmt: skip

_NOT_SWEPT = {
    "name": "changes nothing that is simulated",
    "description": "changes nothing that is simulated",
    "seed": "every point runs on the same seed; set it with --seed",
    "replications": "every point runs the same replications; set them with -n",
}
_ALTERNATIVES = {
    "days": ("end", "end_day"),
    "end": ("days",),
    "end_day": ("days",),
    "service_level": ("weeks_of_cover",),
    "weeks_of_cover": ("service_level",),
}
"""A swept key replaces these keys of the same mapping (only one of them may be given)."""
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


class SweepError(ValueError):
    """A sweep cannot be specified or built; the message is one line."""


# --------------------------------------------------------------------------- specs


def _number(text: str, what: str, spec: str) -> int | float | dt.date:
    """Read one end of a range: an integer, a decimal number or a date."""
    t = text.strip()
    if _DATE.match(t):
        try:
            return dt.date.fromisoformat(_iso(t))
        except ValueError as exc:
            raise SweepError(f"{spec}: {what} '{t}' is not a real date ({exc})") from None
    try:
        return int(t)
    except ValueError:
        pass
    try:
        value = float(t)
    except ValueError:
        raise SweepError(
            f"{spec}: {what} must be a number or a date, got '{t}' "
            "(a range is LOW:HIGH:N or LOW:HIGH:N:log, a list a,b,c)"
        ) from None
    if not math.isfinite(value):
        raise SweepError(f"{spec}: {what} must be finite, got '{t}'")
    return value


def _iso(text: str) -> str:
    """Pad ``2026-9-1`` to ``2026-09-01`` for :meth:`date.fromisoformat`."""
    y, m, d = text.split("-")
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def _tidy(value: float) -> float:
    """Round away binary noise: 0.8380000000000001 is 0.838."""
    return float(f"{value:.12g}")


def _scalar(text: str, spec: str) -> Any:
    """Read one item of a list the way YAML reads it: 7, 0.95, 2026-10-05, true, eoq."""
    import yaml

    t = text.strip()
    if not t:
        raise SweepError(f"{spec}: empty value in the list")
    if _DATE.match(t):
        return _number(t, "value", spec)
    for kind in (int, float):  # numbers as numbers, 1e3 too (YAML reads that as text)
        try:
            value = kind(t)
        except ValueError:
            continue
        if not math.isfinite(value):
            raise SweepError(f"{spec}: values must be finite, got '{t}'")
        return value
    try:
        value = yaml.safe_load(t)
    except yaml.YAMLError:
        return t
    if isinstance(value, float) and not math.isfinite(value):
        raise SweepError(f"{spec}: values must be finite, got '{t}'")
    if isinstance(value, str | int | float | bool | dt.date):
        return value
    return t  # anything else YAML would build (a list, a mapping) is taken as text


def parse_spec(spec: str) -> tuple[list[Any], str]:
    """Return the values of a SPEC and how they are spaced (``linear``, ``log`` or ``list``).

    ``LOW:HIGH:N`` gives N evenly spaced values from LOW to HIGH, both included:
    integers when LOW and HIGH are integers and the step is whole, else decimals; dates
    (``2026-10-01:2026-10-29:5``) must be a whole number of days apart.
    ``LOW:HIGH:N:log`` spaces them geometrically (LOW, HIGH > 0). ``a,b,c`` (or one
    value) lists them; each is read as YAML reads a value (7, 0.95, a date, true, eoq).

    Raises:
        SweepError: the spec is malformed, N is not an integer >= 2, the values repeat,
            or there are more than :data:`MAX_POINTS`.

    """
    text = spec.strip()
    if not text:
        raise SweepError("SPEC: give LOW:HIGH:N, LOW:HIGH:N:log or a list a,b,c; got nothing")
    if ":" not in text:
        values = [_scalar(item, text) for item in text.split(",")]
        _distinct(values, text)
        return values, "list"
    fields = text.split(":")
    if len(fields) not in (3, 4) or (len(fields) == 4 and fields[3].strip() != "log"):
        raise SweepError(
            f"{text}: a range is LOW:HIGH:N or LOW:HIGH:N:log (a list is a,b,c), "
            f"got {len(fields)} parts" + (f" ending in '{fields[3]}'" if len(fields) == 4 else "")
        )
    log = len(fields) == 4
    low, high = _number(fields[0], "LOW", text), _number(fields[1], "HIGH", text)
    try:
        n = int(fields[2].strip())
    except ValueError:
        raise SweepError(f"{text}: N must be a whole number of values, got '{fields[2]}'") from None
    if n < 2:
        raise SweepError(f"{text}: N must be at least 2, got {n} (for one value, write it alone)")
    if n > MAX_POINTS:
        raise SweepError(f"{text}: N must be at most {MAX_POINTS}, got {n}")
    if low == high:
        raise SweepError(f"{text}: LOW and HIGH are the same; the values would repeat")
    if isinstance(low, dt.date) != isinstance(high, dt.date):
        raise SweepError(f"{text}: LOW and HIGH must both be dates or both numbers")
    if isinstance(low, dt.date):
        assert isinstance(high, dt.date)
        if log:
            raise SweepError(f"{text}: dates cannot be spaced on a log scale")
        span = (high - low).days
        if span % (n - 1):
            raise SweepError(
                f"{text}: {n} dates from {low} to {high} would be {span / (n - 1):g} days "
                f"apart; choose N so that the step is whole ({_whole_counts(span)})"
            )
        step = span // (n - 1)
        return [low + dt.timedelta(days=k * step) for k in range(n)], "linear"
    if log:
        if low <= 0 or high <= 0:
            raise SweepError(f"{text}: a log scale needs LOW and HIGH > 0")
        raw = np.geomspace(float(low), float(high), n)
        values: list[Any] = [_tidy(v) for v in raw]
        if isinstance(low, int) and isinstance(high, int) and all(
            abs(v - round(v)) < 1e-9 for v in raw
        ):
            values = [round(v) for v in raw]
        _distinct(values, text)
        return values, "log"
    if isinstance(low, int) and isinstance(high, int) and (high - low) % (n - 1) == 0:
        step = (high - low) // (n - 1)
        return [low + k * step for k in range(n)], "linear"
    values = [_tidy(v) for v in np.linspace(float(low), float(high), n)]
    _distinct(values, text)
    return values, "linear"


def _whole_counts(span: int) -> str:
    counts = [k + 1 for k in range(1, min(abs(span), MAX_POINTS - 1) + 1) if span % k == 0]
    shown = ", ".join(str(c) for c in counts[:8])
    return f"N = {shown}{', …' if len(counts) > 8 else ''}"


def _distinct(values: Sequence[Any], spec: str) -> None:
    seen: list[Any] = []
    for v in values:
        if any(v == s and isinstance(v, dt.date) == isinstance(s, dt.date) for s in seen):
            raise SweepError(f"{spec}: the value {_text(v)} is given twice")
        seen.append(v)
    if len(values) > MAX_POINTS:
        raise SweepError(f"{spec}: at most {MAX_POINTS} values, got {len(values)}")


def _text(value: Any) -> str:
    """Write a swept value: 7, 0.95, 2026-10-05, eoq."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e6 else f"{value:.6g}"
    return str(value)


def _plain(value: Any) -> Any:
    """Return a swept value as scenario data (dates as ISO text, as ``to_dict`` has them)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Param:
    """One swept parameter: where it goes in the scenario and the values it takes."""

    path: str
    """The path as given (also the name of its column in the tables)."""
    spec: str
    """The SPEC as given."""
    values: tuple[Any, ...]
    """The values, in the order they are swept (ints, floats, dates, text, booleans)."""
    scale: str
    """``linear``, ``log`` or ``list``."""
    parts: tuple[Any, ...]
    """Where the value goes in the scenario's data (SKU ids resolved to item numbers)."""
    baseline: Any = None
    """The scenario's own value there (a window's length for ``days``), None when unset."""
    replaces: tuple[str, ...] = ()
    """Keys of the same mapping the value takes the place of (``end`` for ``days``)."""
    label: str = ""
    """A short name for charts and sentences: ``port strike days``, ``safety_stock
    service_level``, ``VITC-60 orders_per_day`` (the path when empty)."""

    @property
    def kind(self) -> str:
        """``policy`` for a policy's parameter (a frontier), else ``scenario`` (a stress)."""
        return "policy" if self.parts[0] == "policies" else "scenario"

    @property
    def policy(self) -> str | None:
        """The policy whose parameter this is, or None."""
        return str(self.parts[1]) if self.kind == "policy" and len(self.parts) > 1 else None

    @property
    def name(self) -> str:
        """The last part of the path: ``days``, ``service_level``, ``sd``."""
        return str(self.parts[-1])

    @property
    def numeric(self) -> bool:
        """Whether every value is a number (not a date, text or true/false)."""
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)

    @property
    def dates(self) -> bool:
        """Whether every value is a date."""
        return all(isinstance(v, dt.date) for v in self.values)

    def text(self, value: Any) -> str:
        """Write one value with its unit where the name gives one: ``21 days``, ``0.95``."""
        t = _text(value)
        if self.name == "days" or (self.name.endswith("_days") and self.numeric):
            return f"{t} day{'s' * (t != '1')}"
        return t

    def to_json(self) -> dict[str, Any]:
        """Describe the parameter as plain data (for ``sweep.json``)."""
        return {
            "path": self.path, "spec": self.spec, "scale": self.scale, "kind": self.kind,
            "resolved": format_path(list(self.parts)), "values": [_plain(v) for v in self.values],
            "baseline": _plain(self.baseline), "replaces": list(self.replaces),
            "label": self.label or self.path,
        }  # fmt: skip


def parse_param(text: str, scenario: Scenario) -> Param:
    """Read one ``PATH=SPEC`` against a scenario: resolve the path, read the values.

    The path may name a key the scenario does not hold yet (a setting left at its
    default), and ``days`` of a window (its length, in place of ``end``).

    Raises:
        SweepError: no ``=``, a path that leads nowhere, a part that is not swept
            (``seed``, ``replications``, ``name``), or a bad SPEC.

    """
    path, eq, spec = text.rpartition("=")
    path = path.strip()
    if not eq or not path:
        raise SweepError(
            f"--param {text}: must be PATH=SPEC, e.g. "
            "policies.safety_stock.service_level=0.8:0.99:6"
        )
    data = scenario.to_dict()
    try:
        parse(path)
        try:
            parts = tuple(resolve(data, path))
        except PathError:
            # A key not set yet (a default left out of to_dict, or 'days' of a window):
            # every part before the last must exist.
            parts = tuple(resolve(set_value(data, path, None), path))
    except PathError as exc:
        raise SweepError(f"--param {exc}") from None
    if str(parts[0]) in _NOT_SWEPT:
        raise SweepError(f"--param {path}: not swept: {_NOT_SWEPT[str(parts[0])]}")
    try:
        values, scale = parse_spec(spec)
    except SweepError as exc:
        raise SweepError(f"--param {path}={exc}") from None
    parent = get(data, list(parts[:-1])) if len(parts) > 1 else data
    baseline: Any = None
    replaces: tuple[str, ...] = ()
    if isinstance(parent, Mapping):
        last = parts[-1]
        replaces = tuple(k for k in _ALTERNATIVES.get(str(last), ()) if k in parent)
        if last in parent:
            baseline = parent[last]
        elif last == "days" and replaces:
            end_key = replaces[0]
            start_key = "start_day" if end_key == "end_day" else "start"
            try:
                baseline = (scenario.day_of(_day(parent[end_key]))
                            - scenario.day_of(_day(parent[start_key])))
            except (KeyError, ValueError):
                baseline = None
        if isinstance(baseline, str) and _DATE.match(baseline):
            baseline = dt.date.fromisoformat(_iso(baseline))
    return Param(path, spec.strip(), tuple(values), scale, parts, baseline, replaces,
                 _label(data, parts))


def _label(data: Mapping[str, Any], parts: tuple[Any, ...]) -> str:
    """Name a place briefly: the policy, window, SKU or supplier it belongs to, and its key."""
    head, name = str(parts[0]), str(parts[-1])
    try:
        if head == "policies" and len(parts) >= 3:
            return f"{parts[1]} {'.'.join(str(x) for x in parts[2:])}"
        if head == "suppliers" and len(parts) >= 5 and parts[2] == "disruptions":
            window = data["suppliers"][parts[1]]["disruptions"][parts[3]]
            what = window.get("label") or str(window.get("kind", "disruption")).replace("_", " ")
            return f"{what} {'.'.join(str(x) for x in parts[4:])}"
        if head == "suppliers" and len(parts) >= 3:
            return f"{parts[1]} {'.'.join(str(x) for x in parts[2:])}"
        if head == "skus" and len(parts) >= 3:
            sku = data["skus"][parts[1]]["id"]
            if len(parts) >= 6 and parts[2] == "demand" and parts[3] == "campaigns":
                return f"{sku} campaign {name}"
            return f"{sku} {name}"
    except (KeyError, IndexError, TypeError):
        pass
    return format_path(list(parts))


def _day(value: Any) -> int | dt.date:
    """Return a day number or date from scenario data (ISO text as to_dict writes it)."""
    if isinstance(value, str) and _DATE.match(value):
        return dt.date.fromisoformat(_iso(value))
    if isinstance(value, int | dt.date):
        return value
    raise ValueError(f"not a day or a date: {value!r}")


# --------------------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class Sweep:
    """A specified sweep: the scenario, its parameters and the scenario of every point."""

    scenario: Scenario
    """The scenario as given (after -n, --seed, -p)."""
    params: tuple[Param, ...]
    mode: str
    """``grid`` (every combination) or ``zip`` (the values paired in order)."""
    points: tuple[tuple[Any, ...], ...]
    """The values of every point, one per parameter, in the order the points run."""
    scenarios: tuple[Scenario, ...]
    """The scenario of every point, validated."""

    @property
    def kinds(self) -> set[str]:
        """``scenario`` and/or ``policy``: what the sweep varies."""
        return {p.kind for p in self.params}

    def describe(self, k: int) -> str:
        """Say what point ``k`` is: ``suppliers.overseas.disruptions.0.days = 21``."""
        return ", ".join(f"{p.path} = {_text(v)}" for p, v in zip(self.params, self.points[k],
                                                                    strict=True))

    def heading(self) -> str:
        """Return the one-line heading of the sweep."""
        scn = self.scenario
        what = (" × ".join(f"{p.path} ({len(p.values)} values)" for p in self.params)
                if self.mode == "grid" else
                " with ".join(p.path for p in self.params) + f" together ({len(self.points)} "
                "values)")
        return (f"{scn.name}: sweeping {what}: {len(self.points)} point"
                f"{'s' * (len(self.points) != 1)} × {scn.replications} replications × "
                f"{scn.horizon_days} days, paired (seed {scn.seed})")

    def to_json(self) -> dict[str, Any]:
        """Describe the sweep as plain data (``sweep.json``)."""
        return {
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario.content_hash(),
            "mode": self.mode,
            "seed": self.scenario.seed,
            "replications": self.scenario.replications,
            "policies": list(self.scenario.policies),
            "params": [p.to_json() for p in self.params],
            "points": [
                {"point": k, **{p.path: _plain(v) for p, v in zip(self.params, values,
                                                                   strict=True)},
                 "scenario_hash": self.scenarios[k].content_hash()}
                for k, values in enumerate(self.points)
            ],
        }  # fmt: skip


def _one_line(exc: Exception) -> str:
    return "; ".join(ln.strip() for ln in str(exc).splitlines() if ln.strip())


def build_sweep(scenario: Scenario, params: Sequence[str], zip_values: bool = False) -> Sweep:
    """Specify a sweep: read every ``PATH=SPEC``, make the points, validate each point's scenario.

    Args:
        scenario: the scenario to sweep (its seed and replications are every point's).
        params: ``PATH=SPEC`` texts, one per parameter.
        zip_values: pair the values in order (all must have as many) instead of a grid.

    Raises:
        SweepError: a bad parameter, mismatched lengths under ``zip_values``, too many
            points, or a point whose scenario is not valid (the message names the point).

    """
    if not params:
        raise SweepError("--param: give at least one PATH=SPEC, e.g. "
                         "--param suppliers.overseas.disruptions.0.days=0:42:7")
    if scenario.replications < 2:
        raise SweepError(
            f"-n/--replications: a sweep needs at least 2 replications (its curves and "
            f"sentences rest on confidence intervals), got {scenario.replications}"
        )
    parsed = [parse_param(text, scenario) for text in params]
    seen: dict[tuple[Any, ...], str] = {}
    for p in parsed:
        if p.parts in seen:
            raise SweepError(f"--param {p.path}: names the same place as --param {seen[p.parts]}")
        seen[p.parts] = p.path
    for p in parsed:
        for q in parsed:
            if p is not q and q.parts[: len(p.parts)] == p.parts:
                raise SweepError(f"--param {q.path}: lies inside --param {p.path}")
    counts = [len(p.values) for p in parsed]
    if zip_values:
        if len(set(counts)) > 1:
            got = ", ".join(f"{c} ({p.path})" for c, p in zip(counts, parsed, strict=True))
            raise SweepError(f"--zip: every --param needs the same number of values, got {got}")
        points = list(zip(*(p.values for p in parsed), strict=True))
    else:
        total = math.prod(counts)
        if total > MAX_POINTS:
            hint = ", or --zip" if len(parsed) > 1 else ""
            raise SweepError(
                f"--param: {total:,} points ({' × '.join(str(c) for c in counts)}); a sweep has "
                f"at most {MAX_POINTS}: use fewer values{hint}"
            )
        points = list(itertools.product(*(p.values for p in parsed)))
    base = scenario.to_dict()
    scenarios = []
    for k, values in enumerate(points):
        data = copy.deepcopy(base)
        for p, v in zip(parsed, values, strict=True):
            data = _set(data, p, v)
        where = ", ".join(f"{p.path} = {_text(v)}" for p, v in zip(parsed, values, strict=True))
        try:
            scn = Scenario.from_dict(data)
        except ScenarioError as exc:
            raise SweepError(
                f"point {k + 1} of {len(points)} ({where}): the scenario is not valid: "
                f"{_one_line(exc)}"
            ) from None
        _check_same_rows(scenario, scn, f"point {k + 1} of {len(points)} ({where})")
        scenarios.append(scn)
    return Sweep(scenario, tuple(parsed), "zip" if zip_values else "grid",
                 tuple(tuple(v) for v in points), tuple(scenarios))


def _set(data: dict[str, Any], p: Param, value: Any) -> dict[str, Any]:
    """Set one parameter's value in scenario data, dropping the keys it replaces."""
    out = set_value(data, list(p.parts), _plain(value))
    if p.replaces:
        parent = get(out, list(p.parts[:-1])) if len(p.parts) > 1 else out
        for key in p.replaces:
            parent.pop(key, None)
    return out


def _check_same_rows(a: Scenario, b: Scenario, where: str) -> None:
    """Refuse a point that changes the SKU ids or policy names: its rows would not pair."""
    for what, mine, theirs in (
        ("SKU ids", [s.id for s in a.skus], [s.id for s in b.skus]),
        ("policy names", list(a.policies), list(b.policies)),
    ):
        if mine != theirs:
            raise SweepError(
                f"{where}: changes the {what} ({', '.join(mine)} → {', '.join(theirs)}); every "
                "point must have the same, so that its rows pair with the others'"
            )


# --------------------------------------------------------------------------- running


@dataclass
class SweepResult:
    """Everything a sweep produced, before it is written."""

    sweep: Sweep
    runs: Any  # pandas.DataFrame: point, parameter columns, then a run's runs.parquet columns
    table: Any  # pandas.DataFrame: point, parameter columns, SUMMARY_COLUMNS
    metadata: dict[str, Any] = field(default_factory=dict)
    reused: dict[int, dict[str, int]] = field(default_factory=dict)
    """point -> {policy: earlier point whose rows it took} (see :func:`run_sweep`)."""

    @property
    def heading(self) -> str:
        """The one-line heading (see :meth:`Sweep.heading`)."""
        return self.sweep.heading()


def _policy_keys(scn: Scenario) -> dict[str, str]:
    """Key of each policy's rows: the scenario without its policies, and the policy's own spec.

    A policy's rows depend only on these (each policy is built from its own
    specification alone, and policies never interact: docs/conventions.md), so two
    points with the same key give the same rows.
    """
    data = scn.to_dict()
    policies = data.pop("policies")
    data.pop("baseline", None)
    rest = json.dumps(data, sort_keys=True)
    return {name: hashlib.sha256(f"{rest}\n{json.dumps(spec, sort_keys=True)}".encode())
            .hexdigest() for name, spec in policies.items()}  # fmt: skip


def run_sweep(
    sweep: Sweep,
    backend: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
    engine: str = "auto",
) -> SweepResult:
    """Run every point with the scenario's seed and replications (common random numbers).

    Each point runs through :func:`~simulator.study.runner.run_scenario`, so its rows are
    exactly those of ``supplysim run`` on that point's scenario. A policy whose
    specification and scenario are the same as at an earlier point (a sweep of another
    policy's parameter) is not run again: its rows are those of the earlier point.

    Args:
        sweep: what to run (:func:`build_sweep`).
        backend: ``serial``, ``processes`` or ``dask``.
        workers: parallel workers.
        scheduler: Dask scheduler address.
        progress: called as ``progress(done, total)``, counted in policy-replications.
        command: the command line, for provenance.
        engine: ``auto`` (default), ``fast`` or ``simpy`` (docs/engines.md); each
            point's rows are the same either way.

    """
    import pandas as pd

    from simulator.study.runner import _metadata, resolve_engine, run_scenario

    started = time.perf_counter()
    n = sweep.scenario.replications
    order = list(sweep.scenario.policies)
    seen: dict[str, tuple[int, str]] = {}  # policy key -> (point, policy)
    plan: list[tuple[list[str], dict[str, int]]] = []
    for k, scn in enumerate(sweep.scenarios):
        keys = _policy_keys(scn)
        to_run, reuse = [], {}
        for name in order:
            earlier = seen.get(keys[name])
            if earlier is not None and earlier[1] == name:
                reuse[name] = earlier[0]
            else:
                to_run.append(name)
                seen.setdefault(keys[name], (k, name))
        plan.append((to_run, reuse))
    total = n * sum(len(to_run) for to_run, _ in plan)
    offset = 0
    frames: list[Any] = []
    per_point: list[Any] = []
    for k, (scn, (to_run, reuse)) in enumerate(zip(sweep.scenarios, plan, strict=True)):
        parts = []
        if to_run:
            runnable = scn if to_run == order else scn.with_overrides(policies=to_run)
            weight = len(to_run)

            def step(done: int, _total: int, offset: int = offset, weight: int = weight) -> None:
                if progress is not None:
                    progress(offset + done * weight, total)

            result = run_scenario(runnable, backend=backend, workers=workers,
                                  scheduler=scheduler, progress=step, command=command,
                                  engine=engine)
            parts.append(result.runs)
            offset += n * weight
            del result
        for name, j in reuse.items():
            earlier = per_point[j]
            parts.append(earlier[earlier["policy"] == name])
        runs = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            rank = runs["policy"].map({p: i for i, p in enumerate(order)})
            runs = (runs.assign(_rank=rank)
                    .sort_values(["replication", "_rank"], kind="stable")
                    .drop(columns="_rank").reset_index(drop=True))
        per_point.append(runs)
        frames.append(_with_point(runs, sweep, k))
    all_runs = pd.concat(frames, ignore_index=True)
    table = sweep_table(all_runs, sweep)
    wall = time.perf_counter() - started
    workers_used = 1 if backend == "serial" else (workers or 1)
    meta = _metadata(sweep.scenario, backend, workers_used, wall, command)
    meta["engine"], meta["engine_reason"] = resolve_engine(sweep.scenario, engine)
    reused = {k: reuse for k, (_, reuse) in enumerate(plan) if reuse}
    meta["points"] = len(sweep.points)
    meta["heading"] = sweep.heading()
    meta["sweep"] = {**sweep.to_json(), "reused": {str(k): v for k, v in reused.items()},
                     "policy_replications_run": total}
    return SweepResult(sweep, all_runs, table, meta, reused)


def _with_point(runs: Any, sweep: Sweep, k: int) -> Any:
    """Put the point's index and parameter values in front of its rows."""
    out = runs.copy()
    values = sweep.points[k]
    for p, v in reversed(list(zip(sweep.params, values, strict=True))):
        out.insert(0, p.path, [v] * len(out))
    out.insert(0, "point", np.full(len(out), k, dtype="int64"))
    return out


def sweep_table(runs: Any, sweep: Sweep) -> Any:
    """Summarise every point: per point × policy × SKU (and ``ALL``) × metric.

    The statistics are those of ``summary.csv`` (:func:`simulator.study.metrics.summarize`:
    mean, sd, the 95 % t interval of the mean, p5/p50/p95 across replications), with
    the point's index and parameter values in front.
    """
    import pandas as pd

    from simulator.study.metrics import summarize

    frames = []
    for k, g in runs.groupby("point", sort=True):
        s = summarize(g.drop(columns=["point", *[p.path for p in sweep.params]]))
        values = sweep.points[int(k)]
        for p, v in reversed(list(zip(sweep.params, values, strict=True))):
            s.insert(0, p.path, [v] * len(s))
        s.insert(0, "point", np.full(len(s), int(k), dtype="int64"))
        frames.append(s)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- reading a sweep


def portfolio(table: Any, policy: str, metric: str, sku: str = "ALL") -> Any:
    """Return one policy's rows of one metric, in point order (a helper for charts and words)."""
    rows = table[(table["policy"] == policy) & (table["sku"] == sku)
                 & (table["metric"] == metric)]
    return rows.sort_values("point", kind="stable")


def holds_up_to(
    values: Sequence[Any], lows: Sequence[float], target: float = 0.95
) -> tuple[Any, bool] | None:
    """Return the largest value up to which every lower bound stays at or above ``target``.

    Values are taken in increasing order, from the smallest: the answer is the last one
    before the first that falls below (``None`` when the smallest already does), and
    whether the bound held over the whole range.
    """
    pairs = sorted(zip(values, lows, strict=True), key=lambda x: x[0])
    last = None
    for value, low in pairs:
        if not (math.isfinite(low) and low >= target):
            return None if last is None else (last, False)
        last = value
    return None if last is None else (last, True)


def efficient(x: Sequence[float], y: Sequence[float], x_tol: float = 1e-4) -> np.ndarray:
    """Mark the efficient points: none other has a higher (or equal) x at a lower (or equal) y.

    ``x`` is better higher (fill rate), ``y`` better lower (cost or cash). A point is
    dominated when another is at least as good on both and better on one. Values of
    ``x`` within ``x_tol`` count as equal (0.01 points of fill rate by default), so that a
    dearer point is not "efficient" for a fill rate higher only in the fifth digit
    (99.998 % against 99.997 %). Points with a non-finite coordinate are never efficient.
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    out = np.zeros(xa.size, dtype=bool)
    for i in np.flatnonzero(ok):
        as_good = ok & (xa >= xa[i] - x_tol) & (ya <= ya[i])
        better = as_good & ((xa > xa[i] + x_tol) | (ya < ya[i]))
        out[i] = not better.any()
    return out


# --------------------------------------------------------------------------- the folder


def identity_of(sweep: Sweep) -> dict[str, Any]:
    """Return what a sweep's folder is claimed for (the scenario and the sweep's specification)."""
    spec = json.dumps(sweep.to_json(), sort_keys=True, default=str)
    digest = hashlib.sha256(spec.encode()).hexdigest()[:16]
    scn = sweep.scenario
    return {"scenario": scn.name, "scenario_hash": digest, "seed": scn.seed,
            "replications": scn.replications}


def claim_folder(out: Path | None, name: str, identity: dict[str, Any], force: bool,
                 root: Path = Path("results")) -> Any:
    """Claim the results folder: ``out``, or a new ``root/<name>-sweep-<timestamp>``.

    See :func:`simulator.study.workspace.claim_named`.
    """
    from simulator.study.workspace import claim_named

    return claim_named(out, f"{name}-sweep", identity, force, root)


def _for_files(frame: Any, sweep: Sweep) -> Any:
    """Make parameter columns storable: dates as dates, mixed lists as text."""
    out = frame.copy()
    for p in sweep.params:
        kinds = {type(v) for v in p.values}
        if p.dates:
            continue
        if kinds <= {int} or kinds <= {float} or kinds <= {bool} or kinds <= {str}:
            continue
        if kinds <= {int, float}:
            out[p.path] = out[p.path].astype(float)
        else:
            out[p.path] = out[p.path].map(_text)
    return out


def write_sweep(result: SweepResult, folder: Path) -> None:
    """Write the sweep's tables, scenario, specification and metadata into a (work) folder."""
    folder = Path(folder)
    sweep = result.sweep
    table = _for_files(result.table, sweep)
    table.to_parquet(folder / "sweep.parquet", index=False)
    table.to_csv(folder / "sweep.csv", index=False)
    _for_files(result.runs, sweep).to_parquet(folder / "runs.parquet", index=False)
    (folder / "scenario.yaml").write_text(sweep.scenario.to_yaml(), encoding="utf-8")
    (folder / "sweep.json").write_text(
        json.dumps(sweep.to_json(), indent=2, default=str) + "\n", encoding="utf-8"
    )
    (folder / "metadata.json").write_text(
        json.dumps(result.metadata, indent=2, default=str) + "\n", encoding="utf-8"
    )
