"""The class challenge: rounds, students' entries and the leaderboard on common random futures.

A teacher creates a :class:`Round`: a locked scenario (its seed and replications
fixed), a policy family whose parameters students choose within ranges, a target
("fill rate >= 95 %") and an objective ("least cash tied up"). The scenario's own
policies are the reference entries. Each student's entry is the scenario with their
policy alone, on the round's seed and replications: replication r of every entry
sees the same demand and lead-time draws (common random numbers), so differences
between entries are paired and :func:`leaderboard` gives each one a confidence
interval against the leader.

State lives in a :class:`Classroom` object (rounds in memory, nothing on disk); the
app makes one per server. Guards against silly input: names and parameters
validated with a message naming the field, a minimum interval and a maximum count of
submissions per name, a bound on waiting submissions, replications capped. Plain
Python; tested without a browser.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulator.data.scenario import Scenario

__all__ = [
    "FAMILIES",
    "OBJECTIVES",
    "TARGETS",
    "ChallengeError",
    "Classroom",
    "Entry",
    "Limits",
    "Objective",
    "Param",
    "Round",
    "RoundSpec",
    "Target",
    "default_params",
    "join_code",
    "leaderboard",
    "replay_scenario",
    "round_csv",
    "student_scenario",
]


class ChallengeError(ValueError):
    """A submission or a round the challenge refuses, with a message for the page."""


@dataclass(frozen=True)
class Param:
    """A policy parameter students may choose: its range and step."""

    name: str
    low: float
    high: float
    step: float
    label: str = ""
    integer: bool = False


FAMILIES: dict[str, tuple[str, ...]] = {
    "s_S": ("s", "S", "review_every_days"),
    "r_Q": ("r", "Q", "review_every_days"),
    "base_stock": ("S", "review_every_days"),
    "safety_stock": ("service_level", "review_every_days"),
}
"""Policy families a round can offer, with the parameters students may choose."""

TARGETS = {"fill_rate": ">=", "cycle_service_level": ">=", "stockout_rate": "<="}
"""Metrics a target can bound, with the direction that is good."""

OBJECTIVES = {"cash_tied_up": "least cash tied up", "total_cost": "least total cost",
              "holding_cost": "least holding cost"}  # fmt: skip
"""Metrics a round can minimise, in words."""

METRIC_WORDS = {"fill_rate": "fill rate", "cycle_service_level": "cycle service level",
                "stockout_rate": "stockout days", "cash_tied_up": "cash tied up",
                "total_cost": "total cost", "holding_cost": "holding cost"}  # fmt: skip


@dataclass(frozen=True)
class Target:
    """A bound a metric must keep: ``fill_rate >= 0.95``."""

    metric: str = "fill_rate"
    value: float = 0.95

    @property
    def op(self) -> str:
        """``>=`` or ``<=``, the good direction of the metric."""
        return TARGETS[self.metric]

    def text(self) -> str:
        """In words: ``fill rate ≥ 95 %``."""
        sign = "≥" if self.op == ">=" else "≤"
        return f"{METRIC_WORDS[self.metric]} {sign} {100 * self.value:g} %"


@dataclass(frozen=True)
class Objective:
    """The metric entries compete on (smaller is better)."""

    metric: str = "cash_tied_up"

    def text(self) -> str:
        """In words: ``least cash tied up``."""
        return OBJECTIVES[self.metric]


@dataclass(frozen=True)
class Limits:
    """Guards of a round: what one student, and everyone together, may ask for."""

    min_interval_s: float = 5.0
    """Seconds a name must wait between two submissions."""
    max_per_name: int = 12
    """Submissions one name may make in a round."""
    max_waiting: int = 40
    """Submissions waiting to run at once (the queue's bound)."""
    max_replications: int = 500
    max_entries: int = 200
    """Students per round."""


def default_params(scenario: Scenario, family: str) -> tuple[Param, ...]:
    """Return the parameters of a family with ranges that fit the scenario's demand and lead time.

    Stock levels (s, S, r, Q) range from 0 to about 2.5 times the mean demand over the
    mean lead time plus four weeks, rounded up to tens; the review period 1–28 days; the
    service level 50–99.9 %.
    """
    if family not in FAMILIES:
        raise ChallengeError(
            f"family: must be one of {', '.join(FAMILIES)}, got '{family}'")
    mean = 0.0
    lead = 0.0
    for sku in scenario.skus:
        d = sku.demand
        mean += (d.per_day.mean if d.per_day is not None
                 else d.customers.orders_per_day * d.customers.order_size.mean)
        lead = max(lead, scenario.suppliers[sku.supplier].lead_time.mean)
    top = max(10.0, math.ceil(2.5 * mean * (lead + 28) / 10) * 10)
    out = []
    for name in FAMILIES[family]:
        if name == "review_every_days":
            out.append(Param(name, 1, 28, 1, "review every (days)", integer=True))
        elif name == "service_level":
            out.append(Param(name, 0.5, 0.999, 0.001, "cycle service level"))
        else:
            label = {"s": "reorder point s", "S": "order-up-to level S",
                     "r": "reorder point r", "Q": "lot size Q"}[name]  # fmt: skip
            out.append(Param(name, 0 if name != "Q" else 1, top, 1, label, integer=True))
    return tuple(out)


@dataclass(frozen=True)
class RoundSpec:
    """What the teacher locks: scenario, seed, replications, family, ranges, target, objective."""

    scenario: Scenario
    family: str = "s_S"
    params: tuple[Param, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Parameters of the family students do not choose, with their values."""
    target: Target = Target()
    objective: Objective = Objective()

    def checked(self, limits: Limits) -> RoundSpec:
        """Return a spec with default ranges filled in, or raise ChallengeError."""
        if self.family not in FAMILIES:
            raise ChallengeError(
                f"family: must be one of {', '.join(FAMILIES)}, got '{self.family}'")
        if self.family in ("s_S", "r_Q", "base_stock") and len(self.scenario.skus) != 1:
            raise ChallengeError(
                f"family: {self.family} levels are per SKU; this scenario has "
                f"{len(self.scenario.skus)} SKUs (use safety_stock)")
        if self.target.metric not in TARGETS:
            raise ChallengeError(f"target: must be one of {', '.join(TARGETS)}, "
                                 f"got '{self.target.metric}'")
        if not 0 <= self.target.value <= 1:
            raise ChallengeError(f"target: must be between 0 and 100 %, got {self.target.value}")
        if self.objective.metric not in OBJECTIVES:
            raise ChallengeError(f"objective: must be one of {', '.join(OBJECTIVES)}, "
                                 f"got '{self.objective.metric}'")
        n = self.scenario.replications
        if not 2 <= n <= limits.max_replications:
            raise ChallengeError(
                f"replications: must be between 2 and {limits.max_replications}, got {n}")
        params = self.params or default_params(self.scenario, self.family)
        return RoundSpec(self.scenario, self.family, params, dict(self.fixed),
                         self.target, self.objective)  # fmt: skip


def join_code(taken: Any = ()) -> str:
    """Return a short code to join a round: four letters and digits that cannot be misread."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
    while True:
        code = "".join(secrets.choice(alphabet) for _ in range(4))
        if code not in taken:
            return code


_NAME = re.compile(r"^[\w][\w .'-]{0,23}$")


def clean_name(name: Any) -> str:
    """Return a student's name, trimmed; at most 24 letters, digits, spaces, . ' - _."""
    text = " ".join(str(name or "").split())
    if not text:
        raise ChallengeError("name: must not be empty")
    if not _NAME.match(text):
        raise ChallengeError(
            f"name: must be 1-24 letters, digits, spaces or . ' - _, got '{text[:30]}'")
    return text


def check_params(spec: RoundSpec, values: Mapping[str, Any]) -> dict[str, float | int]:
    """Validate a student's parameters against the round's ranges; return them typed."""
    out: dict[str, float | int] = {}
    for p in spec.params:
        raw = values.get(p.name)
        try:
            v = float(raw)
        except (TypeError, ValueError):
            raise ChallengeError(f"{p.name}: must be a number, got '{raw}'") from None
        if not math.isfinite(v) or not p.low <= v <= p.high:
            raise ChallengeError(f"{p.name}: must be between {p.low:g} and {p.high:g}, got {v:g}")
        if p.integer and v != int(v):
            raise ChallengeError(f"{p.name}: must be a whole number, got {v:g}")
        out[p.name] = int(v) if p.integer else v
    unknown = sorted(set(values) - {p.name for p in spec.params})
    if unknown:
        raise ChallengeError(f"{unknown[0]}: not a parameter of this round")
    merged = {**spec.fixed, **out}
    if spec.family == "s_S" and "s" in merged and "S" in merged and merged["s"] >= merged["S"]:
        raise ChallengeError(f"s: must be below S ({merged['S']:g}), got {merged['s']:g}")
    return out


def policy_key(name: str) -> str:
    """Return the policy name of a student's entry in a scenario: ``student_ann_lee``."""
    return "student_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def student_scenario(spec: RoundSpec, name: str, values: Mapping[str, Any]) -> Scenario:
    """Return the round's scenario with the student's policy alone (validated like any scenario).

    Raises:
        ChallengeError: the parameters or the resulting scenario are invalid (the
            message names the field).

    """
    from simulator.data.scenario import ScenarioError

    chosen = check_params(spec, values)
    data = spec.scenario.to_dict()
    policy = {"type": spec.family, **spec.fixed, **chosen,
              "description": f"{name}'s entry"}  # fmt: skip
    data["policies"] = {policy_key(name): policy}
    data.pop("baseline", None)
    try:
        return Scenario.from_dict(data)
    except ScenarioError as exc:
        raise ChallengeError(str(exc)) from None


@dataclass
class Entry:
    """One entry of a round: a student's submission or a reference policy."""

    name: str
    params: dict[str, Any]
    reference: bool = False
    policy: str = ""
    """The policy's name in its run (the reference's own name, ``student_…`` for students)."""
    submitted: float = 0.0
    status: str = "waiting"
    """``waiting``, ``running``, ``done`` or ``failed``."""
    error: str = ""
    objective: np.ndarray | None = None
    """Per replication (in replication order): the objective metric."""
    target: np.ndarray | None = None
    """Per replication: the target metric."""
    runs: Any = None  # the entry's portfolio rows (pandas.DataFrame)

    def params_text(self) -> str:
        """Return the parameters as a short text: ``s=120, S=400, review_every_days=1``."""
        if self.reference:
            return "built-in policy"
        return ", ".join(f"{k}={v:g}" if isinstance(v, int | float) else f"{k}={v}"
                         for k, v in self.params.items())  # fmt: skip


def _t_ci(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t confidence interval of the mean."""
    n = len(x)
    m = float(np.mean(x))
    if n < 2:
        return m, m, m
    half = float(stats.t.ppf(0.975, n - 1) * np.std(x, ddof=1) / math.sqrt(n))
    return m, m - half, m + half


def _standing(target: Target, mean: float, lo: float, hi: float) -> str:
    """``meets`` (the whole 95 % CI on the good side), ``borderline`` (the mean), ``misses``."""
    if target.op == ">=":
        return "meets" if lo >= target.value else "borderline" if mean >= target.value else "misses"
    return "meets" if hi <= target.value else "borderline" if mean <= target.value else "misses"


def leaderboard(entries: list[Entry], target: Target, objective: Objective) -> pd.DataFrame:
    """Rank finished entries: those that meet the target first, by least objective.

    Order: entries whose target metric's 95 % CI lies wholly on the good side of the
    target (``meets``), by objective mean; then those whose mean meets it
    (``borderline``); then the rest (``misses``), closest to the target first. The
    leader is the first row if it meets or is borderline. Every other entry's
    objective is compared with the leader's replication by replication (same seed
    and replications: common random numbers), giving a paired difference with its
    95 % CI and a verdict: ``worse``/``better`` when the CI excludes 0, else ``tied``.

    Returns:
        One row per finished entry: rank, name, reference, params, objective mean /
        ci_low / ci_high, target mean / ci_low / ci_high, standing, diff mean / ci_low
        / ci_high against the leader, verdict.

    """
    rows = []
    done = [e for e in entries if e.status == "done" and e.objective is not None]
    for e in done:
        om, olo, ohi = _t_ci(e.objective)
        tm, tlo, thi = _t_ci(e.target)
        rows.append({"name": e.name, "reference": e.reference, "params": e.params_text(),
                     "objective": om, "objective_lo": olo, "objective_hi": ohi,
                     "target": tm, "target_lo": tlo, "target_hi": thi,
                     "standing": _standing(target, tm, tlo, thi), "_entry": e})  # fmt: skip
    cols = ["rank", "name", "reference", "params", "objective", "objective_lo",
            "objective_hi", "target", "target_lo", "target_hi", "standing", "diff",
            "diff_lo", "diff_hi", "verdict"]  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=cols)
    tier = {"meets": 0, "borderline": 1, "misses": 2}
    sign = 1 if target.op == ">=" else -1

    def key(r: dict[str, Any]) -> tuple:
        if r["standing"] == "misses":
            return (2, sign * (target.value - r["target"]) if sign > 0
                    else r["target"] - target.value, r["name"])
        return (tier[r["standing"]], r["objective"], r["name"])

    rows.sort(key=key)
    leader = rows[0] if rows[0]["standing"] != "misses" else None
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
        e = r.pop("_entry")
        if leader is None:
            r.update(diff=math.nan, diff_lo=math.nan, diff_hi=math.nan, verdict="")
            continue
        if r is leader:
            r.update(diff=0.0, diff_lo=0.0, diff_hi=0.0, verdict="leader")
            lead_values = e.objective
            continue
        d = e.objective - lead_values
        m, lo, hi = _t_ci(d)
        verdict = "worse" if lo > 0 else "better" if hi < 0 else "tied"
        r.update(diff=m, diff_lo=lo, diff_hi=hi, verdict=verdict)
    return pd.DataFrame(rows)[cols]


def _values(runs: pd.DataFrame, policy: str, metric: str) -> np.ndarray:
    """One policy's portfolio metric per replication, in replication order."""
    sel = runs[(runs["sku"] == "ALL") & (runs["policy"] == policy)].sort_values("replication")
    return sel[metric].to_numpy(float)


@dataclass
class Round:
    """A round in play: its spec, join code, entries and the per-name submission log."""

    code: str
    spec: RoundSpec
    teacher: str
    """A secret the teacher's browser session holds (closing, exporting)."""
    created: float = field(default_factory=time.time)
    open: bool = True
    entries: list[Entry] = field(default_factory=list)
    log: dict[str, list[float]] = field(default_factory=dict)

    def latest(self) -> list[Entry]:
        """Return the references and each student's latest entry (the leaderboard's rows)."""
        out: dict[str, Entry] = {}
        for e in self.entries:
            out[("ref:" if e.reference else "") + e.name.lower()] = e
        return list(out.values())

    def board(self) -> pd.DataFrame:
        """Return the leaderboard of the latest entries."""
        return leaderboard(self.latest(), self.spec.target, self.spec.objective)


def round_csv(rnd: Round) -> str:
    """Return the round as CSV: the leaderboard plus what replays it (seed, replications, hash)."""
    board = rnd.board()
    s = rnd.spec
    out = pd.DataFrame({
        "round": rnd.code, "rank": board["rank"], "name": board["name"],
        "reference": board["reference"], "params": board["params"],
        "standing": board["standing"], "objective_metric": s.objective.metric,
        "objective_mean": board["objective"], "objective_ci_low": board["objective_lo"],
        "objective_ci_high": board["objective_hi"], "target_rule": s.target.text(),
        "target_metric": s.target.metric, "target_mean": board["target"],
        "target_ci_low": board["target_lo"], "target_ci_high": board["target_hi"],
        "diff_vs_leader": board["diff"], "diff_ci_low": board["diff_lo"],
        "diff_ci_high": board["diff_hi"], "verdict": board["verdict"],
        "scenario": s.scenario.name, "scenario_hash": s.scenario.content_hash(),
        "seed": s.scenario.seed, "replications": s.scenario.replications,
        "family": s.family,
    })  # fmt: skip
    return out.to_csv(index=False)


def replay_scenario(rnd: Round) -> Scenario:
    """One scenario holding the references and every student's latest entry as policies.

    ``supplysim run`` on it reproduces the leaderboard's numbers: every policy runs
    on the round's seed and replications, and a policy's rows do not depend on which
    other policies run beside it (common random numbers).
    """
    data = rnd.spec.scenario.to_dict()
    policies = dict(data["policies"])
    for e in rnd.latest():
        if not e.reference:
            policies[e.policy] = {"type": rnd.spec.family, **rnd.spec.fixed, **e.params,
                                  "description": f"{e.name}'s entry"}  # fmt: skip
    data["policies"] = policies
    data["name"] = f"{rnd.spec.scenario.name}-round-{rnd.code}"
    return Scenario.from_dict(data)


Runner = Callable[[Scenario, str], Any]
"""Starts a run and returns a future of an object with a ``runs`` table."""


class Classroom:
    """Every round of one app server, in memory, with its guards.

    Args:
        submit: starts a run: ``submit(scenario, lane)`` returns a future whose result
            has a ``runs`` table (:meth:`simulator.present.app.simulations.Simulations.submit`).
        limits: the guards.
        clock: seconds, for the per-name rate limit (tests pass their own).
        max_rounds: rounds kept; the oldest closed (then oldest) round goes first.

    """

    def __init__(self, submit: Runner, limits: Limits | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 max_rounds: int = 20) -> None:  # fmt: skip
        """Create an empty classroom."""
        self._submit = submit
        self.limits = limits or Limits()
        self._clock = clock
        self.max_rounds = max_rounds
        self.rounds: dict[str, Round] = {}
        self._lock = threading.Lock()
        self.version = 0
        """Bumped on every change, so pages can poll cheaply."""

    def _changed(self) -> None:
        with self._lock:
            self.version += 1

    def create(self, spec: RoundSpec) -> Round:
        """Open a round: check the spec, run the reference policies, return it."""
        spec = spec.checked(self.limits)
        with self._lock:
            code = join_code(self.rounds)
            rnd = Round(code, spec, teacher=secrets.token_urlsafe(12))
            self.rounds[code] = rnd
            while len(self.rounds) > self.max_rounds:
                closed = [c for c, r in self.rounds.items() if not r.open]
                del self.rounds[closed[0] if closed else next(iter(self.rounds))]
        refs = [Entry(name, {}, reference=True, policy=name, submitted=self._clock())
                for name in spec.scenario.policies]  # fmt: skip
        rnd.entries.extend(refs)
        future = self._submit(spec.scenario, f"round:{code}:references")
        future.add_done_callback(lambda f: self._finish(rnd, refs, spec.scenario, f))
        self._changed()
        return rnd

    def get(self, code: Any) -> Round:
        """Return the round with this join code (any case), or raise ChallengeError."""
        key = str(code or "").strip().upper()
        rnd = self.rounds.get(key)
        if rnd is None:
            raise ChallengeError(f"code: no round '{key[:8]}' (ask your teacher for the code)")
        return rnd

    def waiting(self) -> int:
        """Submissions waiting or running, over every round."""
        return sum(e.status in ("waiting", "running") and not e.reference
                   for r in self.rounds.values() for e in r.entries)  # fmt: skip

    def submit(self, code: Any, name: Any, values: Mapping[str, Any]) -> Entry:
        """Take a student's submission: validate, rate-limit, queue its run.

        Raises:
            ChallengeError: with a message for the student's page.

        """
        rnd = self.get(code)
        if not rnd.open:
            raise ChallengeError(f"round {rnd.code}: closed by the teacher")
        who = clean_name(name)
        scenario = student_scenario(rnd.spec, who, values)
        now = self._clock()
        with self._lock:
            log = rnd.log.setdefault(who.lower(), [])
            if len(log) >= self.limits.max_per_name:
                raise ChallengeError(
                    f"name: at most {self.limits.max_per_name} submissions per name in a round")
            if log and now - log[-1] < self.limits.min_interval_s:
                wait = self.limits.min_interval_s - (now - log[-1])
                raise ChallengeError(f"name: wait {math.ceil(wait)} s before submitting again")
            students = {e.name.lower() for e in rnd.entries if not e.reference}
            if who.lower() not in students and len(students) >= self.limits.max_entries:
                raise ChallengeError(f"round {rnd.code}: full ({self.limits.max_entries} names)")
            if self.waiting() >= self.limits.max_waiting:
                raise ChallengeError("server: busy, try again in a few seconds")
            log.append(now)
            chosen = check_params(rnd.spec, values)
            entry = Entry(who, chosen, policy=next(iter(scenario.policies)), submitted=now)
            rnd.entries.append(entry)
        future = self._submit(scenario, f"round:{rnd.code}:{who.lower()}:{len(log)}")
        entry.status = "running" if future.running() else entry.status
        future.add_done_callback(lambda f: self._finish(rnd, [entry], scenario, f))
        self._changed()
        return entry

    def _finish(self, rnd: Round, entries: list[Entry], scenario: Scenario, future) -> None:
        """Store a finished run's per-replication values in its entries."""
        try:
            runs = future.result().runs
        except Exception as exc:  # shown in the page; the round goes on
            for e in entries:
                e.status, e.error = "failed", f"{type(exc).__name__}: {exc}"
            self._changed()
            return
        for e in entries:
            e.objective = _values(runs, e.policy, rnd.spec.objective.metric)
            e.target = _values(runs, e.policy, rnd.spec.target.metric)
            e.runs = runs[(runs["sku"] == "ALL") & (runs["policy"] == e.policy)]
            e.status = "done"
        self._changed()

    def close(self, code: str, teacher: str) -> Round:
        """Close a round to submissions (the teacher's secret is needed)."""
        rnd = self.get(code)
        if not secrets.compare_digest(rnd.teacher, str(teacher)):
            raise ChallengeError("round: only the teacher who opened it can close it")
        rnd.open = False
        self._changed()
        return rnd
