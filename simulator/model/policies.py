"""Reorder policies behind one small protocol, picked by name from a registry.

A policy is built once per SKU from its scenario spec and a :class:`Plan`, what
the planner may know: the demand model's forecast (daily mean and variance on
every day, seasonality and campaigns applied), the supplier's lead-time
moments, costs and the SKU's ABC class. It never sees realised demand or lead
times. On a review it is given the day and the inventory position
IP = on-hand − backorders + on-order and returns the quantity to order
(0 for none).

Conventions (docs/conventions.md): a periodic review every R days at the start of the
day, before receipts and demand, so an order-up-to level protects R + L days;
a continuous review after every customer order protects L days. L here is the
lead time the planner must protect against (:meth:`Plan.lead`): for a daily
quantity served at the start of the day, the whole days until a shipment can
serve demand, and without overtaking, the wait behind earlier shipments.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.special import ndtr
from scipy.stats import norm

from simulator.data.scenario import (
    BaseStockSpec,
    HybridSpec,
    JitSpec,
    PolicySpec,
    RQSpec,
    SafetyStockSpec,
    Scenario,
    Sku,
    SSSpec,
)
from simulator.model.forecast import Forecaster
from simulator.model.purchasing import Buying, buying, order_units
from simulator.model.suppliers import effective_lead_time, expected_arrival, lead_time_pmf

__all__ = [
    "POLICIES",
    "Learned",
    "LearnedRun",
    "Plan",
    "Policy",
    "abc_classes",
    "build_policy",
    "eoq",
    "make_plan",
    "policy_classes",
    "service_target",
    "safety_stock",
]


@dataclass(frozen=True)
class Plan:
    """What the planner knows about one SKU; arrays are indexed by simulated day.

    Index 0 is the first simulated day (``scenario.first_day``); the arrays run
    past the horizon so that look-ahead windows near the end stay defined.
    """

    sku: Sku
    mean: np.ndarray
    var: np.ndarray
    lead_mean: float
    lead_var: float
    order_cost: float
    abc_class: str
    n_days: int
    first_day: int = 0
    arrival: np.ndarray | None = None
    """Expected landing time of a primary order placed at the start of each day index."""
    disrupted: bool = False
    """Whether the primary supplier has announced windows (closures, outages, shocks)."""
    backup_lead: float | None = None
    """Mean lead time of the backup supplier, if the SKU has one."""
    lead_time: object = None
    """The primary supplier's lead-time distribution (a distributions model)."""
    in_order: bool = True
    """Whether the primary supplier's shipments never overtake one another."""
    whole_days: bool = False
    """Demand is a daily quantity served at the start of the day (usable lead time ⌈L⌉)."""
    order_gap: float = 1.0
    """Mean days between customer orders (1 for a daily quantity; inf without demand)."""
    buy: Buying | None = None
    """How the SKU is bought (packs, MOQ); lots are rounded to it."""
    inspection: float = 0.0
    """Days a primary shipment is inspected after it lands before it can be sold."""
    end: int | None = None
    """Day index of an announced end of life (no demand from it on), or None."""

    def lead(self, spacing: float, order_up_to: bool = True) -> tuple[float, float]:
        """Mean and variance of the lead time to protect, orders ``spacing`` days apart.

        See :func:`simulator.model.suppliers.effective_lead_time` (``order_up_to``:
        orders replace the demand since the last one; else fixed lots). Without
        a distribution (hand-built plans) it is ``lead_mean``/``lead_var``.
        """
        if self.lead_time is None:
            return self.lead_mean + self.inspection, self.lead_var
        mean, var = _lead_cached(
            self.lead_time, float(spacing), self.in_order, self.whole_days, order_up_to
        )
        return (mean + self.inspected() if self.inspection else mean), var

    def inspected(self) -> float:
        """Days inspection adds to the lead time to protect.

        Customer orders: the inspection days. A daily quantity is served at the start of
        the day, so a shipment inspected until 2.01 serves demand from day 3: the usable
        lead time is ⌈L + inspection⌉, not ⌈L⌉ + inspection (which protected 3.01 days
        where 4 were needed, and cut a JIT's fill rate from 100 % to 25 % at
        ``inspection_days: 0.01``). Exact for a constant lead time; for a random one,
        ⌈L⌉ + ⌈inspection⌉, at most one day more than needed.
        """
        if not self.inspection or not self.whole_days:
            return self.inspection
        if self.lead_time is not None and self.lead_time.var == 0:
            mean = self.lead_time.mean
            return float(math.ceil(mean + self.inspection) - math.ceil(mean))
        return float(math.ceil(self.inspection))

    def lead_pmf(
        self, spacing: float, order_up_to: bool = True
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Return that lead time's distribution, (values, probabilities), where one applies.

        See :func:`simulator.model.suppliers.lead_time_pmf`; None without a distribution.
        """
        if self.lead_time is None:
            return None
        key = (self.lead_time.model_dump_json(), round(float(spacing), 9), self.in_order,
               self.whole_days, order_up_to, "pmf")  # fmt: skip
        if key not in _PMF_CACHE:
            _PMF_CACHE[key] = lead_time_pmf(
                self.lead_time, float(spacing), self.in_order, self.whole_days, order_up_to
            )
        pmf = _PMF_CACHE[key]
        if pmf is not None and self.inspection:
            pmf = (pmf[0] + self.inspected(), pmf[1])
        return pmf

    def cumulative(self) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative mean and variance, ``C[i] = sum(x[:i])``, for window sums."""
        zero = np.zeros(1)
        return np.concatenate([zero, np.cumsum(self.mean)]), np.concatenate(
            [zero, np.cumsum(self.var)]
        )

    def window(self, length: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forecast mean and variance of demand over ``[i, i + length)`` for every day i.

        ``length`` is one number or one per day; a fractional length takes that
        fraction of the last day.
        """
        cm, cv = self.cumulative()
        idx = np.arange(self.n_days)
        length = np.clip(np.broadcast_to(np.asarray(length, dtype=float), idx.shape), 0, None)
        whole = np.floor(length).astype(int)
        frac = length - whole
        end = np.minimum(idx + whole, self.mean.size - 1)
        m = cm[end] - cm[idx] + frac * self.mean[end]
        v = cv[end] - cv[idx] + frac * self.var[end]
        return m, v

    def forecast(self, i: int, length: float) -> float:
        """Forecast mean demand over ``[i, i + length)`` from day index i (one value)."""
        end = min(i + int(length), self.mean.size - 1)
        frac = length - int(length)
        return float(self.mean[i:end].sum() + frac * self.mean[end])


class Policy(Protocol):
    """The protocol every reorder policy follows."""

    continuous: bool
    """Review after every customer order (True) or every ``period`` days."""
    period: int
    """Days between periodic reviews."""

    def review(self, i: int, ip: float) -> float:
        """Return the quantity to order on day index ``i`` given inventory position ``ip``."""
        ...

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Reorder point and order-up-to level per day index (NaN where undefined)."""
        ...

    def join(self, i: int, ip: float) -> float:
        """Return the quantity to add to another SKU's purchase order (the can-order rule)."""
        ...


def safety_stock(z, days, mu_d, var_d, lead_var):
    """Safety stock for protection period ``days``: z·sqrt(days·σ_d² + μ_d²·Var[L]).

    Takes numbers (returns a float) or arrays, one value per day (returns an array).
    """
    out = z * np.sqrt(np.maximum(days * var_d + mu_d**2 * lead_var, 0.0))
    return float(out) if np.ndim(out) == 0 else out


def eoq(order_cost: float, annual_demand: float, unit_cost: float, holding_rate: float) -> float:
    """Economic order quantity sqrt(2·K·D / h), h = unit cost × annual holding rate."""
    h = unit_cost * holding_rate
    if order_cost <= 0 or annual_demand <= 0 or h <= 0:
        return 0.0
    return math.sqrt(2 * order_cost * annual_demand / h)


_LEAD_CACHE: dict[tuple, tuple[float, float]] = {}
_PMF_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray] | None] = {}


def _lead_cached(
    dist, spacing: float, in_order: bool, whole_days: bool, order_up_to: bool
) -> tuple[float, float]:
    """:func:`effective_lead_time`, computed once per distinct input in a process."""
    key = (dist.model_dump_json(), round(spacing, 9), in_order, whole_days, order_up_to)
    if key not in _LEAD_CACHE:
        _LEAD_CACHE[key] = effective_lead_time(dist, spacing, in_order, whole_days, order_up_to)
    return _LEAD_CACHE[key]


def _spacing(spec: PolicySpec, plan: Plan, lot_days: float = 0.0) -> float:
    """Return the expected days between a policy's orders (review period, or a lot's worth).

    A continuous review orders after a customer order at the earliest, so
    never more often than customer orders arrive.
    """
    every = plan.order_gap if spec.review == "continuous" else spec.review_every_days
    return max(every, lot_days)


@dataclasses.dataclass(frozen=True)
class _Cover:
    """What an order must cover: days per day index, and the lead time behind them."""

    days: float | np.ndarray
    """E[L] + R (periodic) or E[L] (continuous), or until the next order lands (calendar)."""
    lead_mean: float
    lead_var: float
    pmf: tuple[np.ndarray, np.ndarray] | None
    """The lead time's distribution (values, probabilities), or None (moments only)."""


def _protection(spec: PolicySpec, plan: Plan, lot_days: float = 0.0) -> _Cover:
    """Days an order must cover, E[L] (+ R under periodic review), and the lead time.

    L is the lead time to protect (:meth:`Plan.lead`), for orders spaced as
    the policy places them. A policy that plans for disruptions covers instead
    until the next order could land, given the announced calendar: through a
    port closure or an outage, so buffers are built ahead of them and run down
    afterwards.
    """
    review = 0 if spec.review == "continuous" else spec.review_every_days
    spacing, up_to = _spacing(spec, plan, lot_days), lot_days == 0
    lead_mean, lead_var = plan.lead(spacing, order_up_to=up_to)
    pmf = plan.lead_pmf(spacing, order_up_to=up_to)
    if review == 0 and plan.whole_days:
        # A continuous review orders right after the day's quantity was served: even a
        # shipment landing at once serves the next day's demand at the earliest.
        lead_mean = max(lead_mean, 1.0)
        if pmf is not None:
            pmf = (np.maximum(pmf[0], 1.0), pmf[1])
    if getattr(spec, "plan_for_disruptions", False) and plan.disrupted:
        idx = np.arange(plan.n_days)
        nxt = np.minimum(idx + review, plan.arrival.size - 1)
        # The calendar's arrival uses the mean lead time; shift it to the lead to protect.
        shift = lead_mean - plan.lead_mean
        days = np.maximum(plan.arrival[nxt] + shift - (plan.first_day + idx), 0.0)
        if review == 0:
            # A continuous review may order again at once, but when tomorrow's order
            # would be held (a closure, an outage) today's position must last until it
            # lands: the last day whose order is not held builds the stock.
            later = np.minimum(idx + 1, plan.arrival.size - 1)
            held = plan.arrival[later] - plan.arrival[idx] > 1 + 1e-9
            days = np.where(held, plan.arrival[later] + shift - (plan.first_day + idx), days)
        days = np.ceil(days - 1e-9) if plan.whole_days else days
        return _Cover(days, lead_mean, lead_var, pmf)
    return _Cover(lead_mean + review, lead_mean, lead_var, pmf)


def _buffer(z: float, days: float | np.ndarray, lead_var: float, plan: Plan) -> np.ndarray:
    """Safety stock per day index with the forecast averaged over the protection period."""
    m, v = plan.window(days)
    d = np.maximum(days, 1e-12)
    return safety_stock(z, days, m / d, v / d, lead_var)


def _coarse(
    values: np.ndarray, probs: np.ndarray, whole: bool, most: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Drop negligible values; merge a very wide distribution into ``most`` bins.

    Each bin keeps its probability at its mean value (a whole day for whole days),
    so the mean is kept; only lead times spread over hundreds of days are merged.
    """
    keep = probs > 1e-12
    values, probs = values[keep], probs[keep] / probs[keep].sum()
    if values.size <= most:
        return values, probs
    edges = np.linspace(values[0], values[-1], most + 1)
    bin_of = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, most - 1)
    p = np.bincount(bin_of, weights=probs, minlength=most)
    v = np.bincount(bin_of, weights=probs * values, minlength=most)
    used = p > 0
    v = v[used] / p[used]
    return (np.round(v) if whole else v), p[used]


def _level(service_level: float, cover: _Cover, plan: Plan) -> np.ndarray:
    """Return the level per day that demand over the cover exceeds with 1 − service_level.

    With the lead time's distribution at hand the level solves
    Σᵤ P(U = u)·P(D(cover + u − E[U]) > level) = 1 − service_level, each
    window's demand normal with the forecast's mean and variance: the mixture
    over the lead time, whose right tail a single normal with the two moments
    misses when the lead time is skewed (the wait behind earlier shipments is).
    Otherwise (orders that cross, moments only) the textbook
    forecast + z·√(P·σ_d² + μ_d²·Var[L]).
    """
    if cover.pmf is None:
        m, _ = plan.window(cover.days)
        return m + _buffer(float(norm.ppf(service_level)), cover.days, cover.lead_var, plan)
    values, probs = _coarse(*cover.pmf, whole=plan.whole_days)
    means, sds = [], []
    for u in values:
        days = np.maximum(np.asarray(cover.days, dtype=float) + (u - cover.lead_mean), 0.0)
        if plan.whole_days:
            days = np.round(days)
        m, v = plan.window(days)
        means.append(m)
        sds.append(np.sqrt(np.maximum(v, 0.0)))
    # Days with the same forecast windows share their level: solve each distinct one once.
    both, back = np.unique(np.vstack([np.stack(means), np.stack(sds)]), axis=1,
                           return_inverse=True)  # fmt: skip
    mean, sd = both[: len(values)], both[len(values) :]
    weights = probs[:, None]
    alpha = 1.0 - service_level
    lo = np.zeros(mean.shape[1])
    hi = (mean + 9.0 * sd).max(axis=0) + 1.0
    for _ in range(60):  # bisection, every day at once
        mid = (lo + hi) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(sd > 0, (mid - mean) / sd, np.where(mid >= mean, np.inf, -np.inf))
        tail = (weights * ndtr(-z)).sum(axis=0)
        above = tail <= alpha
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return hi[np.ravel(back)]


def _per_sku(value: float | dict[str, float], sku: Sku) -> float:
    return float(value[sku.id]) if isinstance(value, dict) else float(value)


class _Rule:
    """Shared machinery: a reorder point and an order-up-to level per day index."""

    abc_class: str = ""
    """The ABC class this policy used for the SKU (hybrid: its own shares)."""

    def __init__(self, spec: PolicySpec, rop: np.ndarray, upto: np.ndarray) -> None:
        self.continuous = spec.review == "continuous"
        self.period = spec.review_every_days
        self.use_backup = getattr(spec, "use_backup", False)
        self._rop = rop
        self._upto = upto
        # Python lists: indexing them in the event loop is several times faster than numpy.
        self.rop = rop.tolist()
        self.upto = upto.tolist()

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Reorder point and order-up-to level per day index."""
        return self._rop, self._upto

    def join(self, i: int, ip: float) -> float:
        """Return what to order when another SKU of the supplier triggered a purchase order."""
        return 0.0


class OrderUpTo(_Rule):
    """Order up to the level when IP is at or below the reorder point ((s, S) family)."""

    def review(self, i: int, ip: float) -> float:
        """Order S − IP when IP <= s."""
        if ip <= self.rop[i]:
            return max(self.upto[i] - ip, 0.0)
        return 0.0


class BaseStock(_Rule):
    """Order up to S whenever IP is below S."""

    def review(self, i: int, ip: float) -> float:
        """Order S − IP when IP < S."""
        gap = self.upto[i] - ip
        return gap if gap > 1e-9 else 0.0


class FixedLots(_Rule):
    """(r, Q): order the smallest multiple of Q that lifts IP above r.

    ``end``: the day index of an announced end of life. From it on there is no demand
    to order lots for; only what customers still wait for (backorders) is ordered.
    With r = 0 and the dead stock written off (IP = 0), "order when IP <= r" bought a
    lot at every review, each written off as it landed.
    """

    def __init__(
        self, spec: PolicySpec, rop: np.ndarray, q: np.ndarray, end: int | None = None
    ) -> None:
        super().__init__(spec, rop, rop + q)
        self.q = q.tolist()
        self.can = getattr(spec, "can_order", 0.0)
        self.end = end

    def join(self, i: int, ip: float) -> float:
        """Order n·Q when IP <= c = r + can_order·Q, n the smallest with IP + n·Q > c.

        The can-order rule of joint replenishment (Balintfy 1964): a SKU near its
        reorder point joins a purchase order another SKU of the supplier triggered,
        and saves an order of its own soon after.
        """
        q = self.q[i]
        if self.can <= 0 or q <= 0 or (self.end is not None and i >= self.end):
            return 0.0
        c = self.rop[i] + self.can * q
        if ip > c:
            return 0.0
        return (math.floor((c - ip) / q) + 1) * q

    def review(self, i: int, ip: float) -> float:
        """Order n·Q when IP <= r, n the smallest with IP + n·Q > r."""
        if self.end is not None and i >= self.end:
            return -ip if ip < -1e-9 else 0.0
        r = self.rop[i]
        if ip > r:
            return 0.0
        q = self.q[i]
        if q <= 0:
            return 0.0
        return (math.floor((r - ip) / q) + 1) * q


def _const(x: float, plan: Plan) -> np.ndarray:
    return np.full(plan.n_days, float(x))


def _base_stock(spec: BaseStockSpec, plan: Plan) -> Policy:
    s = _const(_per_sku(spec.S, plan.sku), plan)
    return BaseStock(spec, s, s)


def _s_S(spec: SSSpec, plan: Plan) -> Policy:
    return OrderUpTo(
        spec, _const(_per_sku(spec.s, plan.sku), plan), _const(_per_sku(spec.S, plan.sku), plan)
    )


def _r_Q(spec: RQSpec, plan: Plan) -> Policy:
    return FixedLots(
        spec, _const(_per_sku(spec.r, plan.sku), plan), _const(_per_sku(spec.Q, plan.sku), plan)
    )


def _lot(spec: JitSpec | SafetyStockSpec | HybridSpec, plan: Plan) -> np.ndarray | None:
    """Return a policy's lot size per day index, or None when it orders up to a level.

    ``eoq``: sqrt(2·K·D/h) on the mean daily forecast (K the supplier's order cost plus
    its line cost); with no fixed order cost, one review period of demand.
    ``cover_days``: the forecast over the next ``cover_days``. Lots are whole packs of
    at least the MOQ (:func:`~simulator.model.purchasing.order_units`).
    """
    if spec.quantity == "order_up_to":
        return None
    daily = float(np.mean(plan.mean[: plan.n_days]))
    if spec.quantity == "cover_days":
        q, _ = plan.window(spec.cover_days)
    else:
        lot = eoq(plan.order_cost, daily * 365, plan.sku.unit_cost, plan.sku.holding_rate)
        q = np.full(plan.n_days, max(lot, daily * spec.review_every_days))  # 0 without demand
    if plan.buy is not None:
        q = np.array([order_units(x, plan.buy) for x in q]) if q.size else q
    return q


def _lot_days(spec: PolicySpec, q: np.ndarray, plan: Plan) -> float:
    """Return the days of demand a lot lasts (the spacing of a lot policy's orders)."""
    if spec.quantity == "cover_days":
        return spec.cover_days
    daily = float(np.mean(plan.mean[: plan.n_days]))
    return float(q[0]) / daily if daily > 0 and q.size else 0.0


def _jit(spec: JitSpec, plan: Plan) -> Policy:
    q = _lot(spec, plan)
    if q is None:
        level, _ = plan.window(_protection(spec, plan).days)
        return BaseStock(spec, level, level)
    rop, _ = plan.window(_protection(spec, plan, _lot_days(spec, q, plan)).days)
    return FixedLots(spec, rop, q, plan.end)


def _safety_stock(spec: SafetyStockSpec, plan: Plan) -> Policy:
    q = _lot(spec, plan)
    cover = _protection(spec, plan, _lot_days(spec, q, plan))
    if spec.weeks_of_cover is not None:
        demand, _ = plan.window(cover.days)
        rop = demand + spec.weeks_of_cover * 7 * plan.mean[: plan.n_days]
    else:
        rop = _level(spec.service_level, cover, plan)
    return FixedLots(spec, rop, q, plan.end)


def _hybrid(spec: HybridSpec, plan: Plan) -> Policy:
    q = _lot(spec, plan)
    cover = _protection(spec, plan, 0.0 if q is None else _lot_days(spec, q, plan))
    target = {"A": spec.service_level_a, "B": spec.service_level_b}.get(plan.abc_class)
    if target is None:  # class C: just in time
        level, _ = plan.window(cover.days)
    else:
        level = _level(target, cover, plan)
    if q is None:
        return BaseStock(spec, level, level)
    return FixedLots(spec, level, q, plan.end)


class Learned:
    """A ``jit``, ``safety_stock`` or ``hybrid`` policy that forecasts from observed demand.

    Built once per SKU like any policy (it holds no run state); each replication
    calls :meth:`start` with the list the model appends each closed day's
    observed demand to, and gets a :class:`LearnedRun` that learns as the days
    pass. The cover (review period + lead time to protect) and lot rule are the
    policy's own; the demand over it is the learned forecast and the buffer
    z·√(P·RMSE² + μ̂²·Var[U]) with RMSE the forecaster's one-day-ahead error
    (docs/overbuying.md). Outside a replication (``supplysim plan``, the daily
    bands' levels) it answers as the oracle policy built from the same spec.
    """

    def __init__(self, spec: PolicySpec, plan: Plan, oracle: Policy) -> None:
        self.spec = spec
        self.plan = plan
        self.oracle = oracle
        self.continuous = oracle.continuous
        self.period = oracle.period
        self.use_backup = getattr(oracle, "use_backup", False)
        self.can = getattr(spec, "can_order", 0.0)
        lots = spec.quantity != "order_up_to"
        daily = float(np.mean(plan.mean[: plan.n_days])) if plan.n_days else 0.0
        q0 = _lot(spec, plan) if lots else None
        lot_days = (_lot_days(spec, q0, plan) if q0 is not None and daily > 0 else 0.0)
        cover = _protection(spec, plan, lot_days)
        self.cover = np.broadcast_to(np.asarray(cover.days, dtype=float), (plan.n_days,)).tolist()
        self.lead_var = cover.lead_var
        self.lots = lots
        if spec.type == "jit":
            self.z = None
        elif spec.type == "safety_stock" and spec.weeks_of_cover is not None:
            self.z = None
        else:
            target = (spec.service_level if spec.type == "safety_stock" else
                      {"A": spec.service_level_a, "B": spec.service_level_b}.get(plan.abc_class))
            self.z = None if target is None else float(norm.ppf(target))
        base_mean, base_var = demand_moments(plan.sku)
        self.calendar = plan.mean / base_mean if base_mean > 0 else np.ones(plan.mean.size)
        seasonal = spec.forecast.method == "seasonal"
        self.end = plan.end if seasonal else None  # only the calendar's reader knows it
        start = base_mean if seasonal else float(plan.mean[0]) if plan.mean.size else 0.0
        self.prior = (start, math.sqrt(max(float(plan.var[0]), 0.0)) if plan.var.size else 0.0)

    def start(self, history: list[float]) -> LearnedRun:
        """Return this policy's state for one replication, reading ``history`` as it grows."""
        return LearnedRun(self, history)

    def review(self, i: int, ip: float) -> float:
        """Outside a replication: the oracle policy's decision."""
        return self.oracle.review(i, ip)

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Levels move with each replication's forecast: NaN (none fixed)."""
        nan = np.full(self.plan.n_days, np.nan)
        return nan, nan

    def join(self, i: int, ip: float) -> float:
        """Outside a replication: the oracle policy's can-order rule."""
        return self.oracle.join(i, ip)


class LearnedRun:
    """A :class:`Learned` policy in one replication: its forecaster and today's levels."""

    def __init__(self, rule: Learned, history: list[float]) -> None:
        self.rule = rule
        self.continuous = rule.continuous
        self.period = rule.period
        self.use_backup = rule.use_backup
        self.can = rule.can
        self.abc_class = getattr(rule, "abc_class", "")
        self.history = history
        self.forecaster = Forecaster(
            rule.spec.forecast, rule.calendar, rule.prior[0], rule.prior[1]
        )
        self.day = -1
        self.r = self.q = 0.0

    def _levels(self, i: int) -> tuple[float, float]:
        """Reorder point (or order-up-to level) and lot on day index ``i``, learned so far."""
        if i == self.day:
            return self.r, self.q
        f = self.forecaster
        h = self.history
        for j in range(f.seen, min(len(h), i)):  # only the days closed before this review
            f.observe(j, h[j])
        rule = self.rule
        spec = rule.spec
        p = rule.cover[i]
        mean = f.window(i, p)
        level = mean
        if rule.z is not None:
            mu = mean / p if p > 0 else 0.0
            level += rule.z * math.sqrt(max(p * f.rmse**2 + mu * mu * rule.lead_var, 0.0))
        elif spec.type == "safety_stock":
            level += spec.weeks_of_cover * 7 * f.daily()
        q = 0.0
        if rule.lots:
            plan = rule.plan
            if spec.quantity == "cover_days":
                q = f.window(i, spec.cover_days)
            else:
                daily = f.daily()
                q = max(eoq(plan.order_cost, daily * 365, plan.sku.unit_cost,
                            plan.sku.holding_rate), daily * spec.review_every_days)  # fmt: skip
            if plan.buy is not None and q > 0:
                q = order_units(q, plan.buy)
        self.day, self.r, self.q = i, level, q
        return level, q

    def review(self, i: int, ip: float) -> float:
        """Order up to the learned level, or lots lifting IP above the learned reorder point.

        From an announced end of life on, a forecast on the calendar (``seasonal``) knows
        there is no demand: it orders only what customers wait for (backorders). Its
        buffer, sized from past errors, otherwise kept buying stock that was dead on
        arrival.
        """
        if self.rule.end is not None and i >= self.rule.end:
            return -ip if ip < -1e-9 else 0.0
        r, q = self._levels(i)
        if not self.rule.lots:
            gap = r - ip
            return gap if gap > 1e-9 else 0.0
        if ip > r or q <= 0:
            return 0.0
        return (math.floor((r - ip) / q) + 1) * q

    def join(self, i: int, ip: float) -> float:
        """Apply the can-order rule to the learned reorder point and lot."""
        if self.rule.end is not None and i >= self.rule.end:
            return 0.0
        r, q = self._levels(i)
        if self.can <= 0 or q <= 0 or not self.rule.lots:
            return 0.0
        c = r + self.can * q
        if ip > c:
            return 0.0
        return (math.floor((c - ip) / q) + 1) * q

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """See :meth:`Learned.levels`."""
        return self.rule.levels()


POLICIES: dict[str, Callable[..., Policy]] = {
    "base_stock": _base_stock,
    "s_S": _s_S,
    "r_Q": _r_Q,
    "jit": _jit,
    "safety_stock": _safety_stock,
    "hybrid": _hybrid,
}
"""Policy type name -> builder ``(spec, plan) -> Policy``."""


def build_policy(spec: PolicySpec, plan: Plan, abc_class: str | None = None) -> Policy:
    """Build the policy named by ``spec.type`` for one SKU.

    ``abc_class`` replaces the plan's class (a hybrid's classes come from its
    own shares, see :func:`policy_classes`).
    """
    if abc_class is not None and abc_class != plan.abc_class:
        plan = dataclasses.replace(plan, abc_class=abc_class)
    forecast = getattr(spec, "forecast", None)
    if forecast is not None and not forecast.learned and forecast.bias:
        # An optimistic (or pessimistic) oracle: the model's mean, scaled.
        plan = dataclasses.replace(plan, mean=plan.mean * (1 + forecast.bias))
    policy = POLICIES[spec.type](spec, plan)
    if forecast is not None and forecast.learned:
        policy = Learned(spec, plan, policy)
    policy.abc_class = plan.abc_class
    return policy


def service_target(spec: PolicySpec, abc_class: str) -> float | None:
    """Return the cycle service level a policy sizes its buffer for on an ``abc_class`` SKU.

    ``safety_stock`` with ``service_level``, and ``hybrid`` for classes A and B;
    None where the policy sets no service target (C items, cover-based and
    textbook policies).
    """
    if spec.type == "safety_stock":
        return spec.service_level if spec.weeks_of_cover is None else None
    if spec.type == "hybrid":
        return {"A": spec.service_level_a, "B": spec.service_level_b}.get(abc_class)
    return None


def policy_classes(scenario: Scenario, spec: PolicySpec) -> dict[str, str]:
    """ABC classes a policy uses: a hybrid's from its own shares, others the default ones."""
    if spec.type == "hybrid":
        return abc_classes(scenario, spec.a_share, spec.b_share)
    return abc_classes(scenario)


def abc_classes(scenario: Scenario, a: float = 0.80, b: float = 0.15) -> dict[str, str]:
    """ABC class of every SKU by expected revenue over the horizon.

    A SKU is A while the revenue share of the SKUs ranked above it is below the
    A share ``a``, B below ``a + b``, else C. Ties in revenue rank by SKU id,
    so the classes do not depend on the order of the SKUs in the file. Each
    hybrid policy classifies with its own shares (:func:`policy_classes`);
    reports use the default 80 % / 15 %.
    """
    revenue = {}
    for sku in scenario.skus:
        mean, _ = demand_moments(sku)
        mult = scenario.demand_multiplier(sku)[scenario.warmup_days :]
        revenue[sku.id] = sku.price * mean * float(mult.sum())
    total = sum(revenue.values()) or 1.0
    out, above = {}, 0.0
    for sku_id in sorted(revenue, key=lambda k: (-revenue[k], k)):
        share = above / total
        out[sku_id] = "A" if share < a else ("B" if share < a + b else "C")
        above += revenue[sku_id]
    return out


def demand_moments(sku: Sku) -> tuple[float, float]:
    """Mean and variance of one base day's demand (before calendar multipliers).

    Customer orders are compound Poisson: mean λ·E[size], variance λ·E[size²].
    """
    if sku.demand.per_day is not None:
        return sku.demand.per_day.mean, sku.demand.per_day.var
    c = sku.demand.customers
    return c.orders_per_day * c.order_size.mean, c.orders_per_day * c.order_size.second_moment


def make_plan(scenario: Scenario, sku: Sku, abc_class: str, lookahead: int) -> Plan:
    """Build the planner's view of one SKU: forecast arrays and supplier moments.

    A daily quantity scaled by m has mean m·μ and variance m²·σ²; a customer
    order rate scaled by m gives mean m·μ and variance m·σ² (compound Poisson).
    """
    base_mean, base_var = demand_moments(sku)
    days = scenario.n_days + lookahead
    mult = scenario.demand_multiplier(sku, until=scenario.horizon_days + lookahead)
    var_mult = mult**2 if sku.demand.per_day is not None else mult
    supplier = scenario.suppliers[sku.supplier]
    times = scenario.first_day + np.arange(days)
    backup = scenario.suppliers.get(sku.backup_supplier) if sku.backup_supplier else None
    inspection = supplier.quality.inspection_days if supplier.quality is not None else 0.0
    if sku.demand.per_day is not None:
        gap = 1.0
    else:
        rate = sku.demand.customers.orders_per_day
        gap = 1.0 / rate if rate > 0 else math.inf
    return Plan(
        sku=sku,
        mean=base_mean * mult,
        var=base_var * var_mult,
        lead_mean=supplier.lead_time.mean,
        lead_var=supplier.lead_time.var,
        # A lot is triggered by its own SKU: its order pays the whole order cost (the
        # can-order rule may share it, which EOQ does not count on).
        order_cost=supplier.order_cost + supplier.line_cost,
        abc_class=abc_class,
        n_days=scenario.n_days,
        first_day=scenario.first_day,
        arrival=_in_order(expected_arrival(scenario, sku.supplier, times), supplier) + inspection,
        disrupted=any(getattr(d, "announced", False) for d in supplier.disruptions),
        backup_lead=backup.lead_time.mean if backup is not None else None,
        lead_time=supplier.lead_time,
        in_order=supplier.deliver_in_order,
        whole_days=sku.demand.per_day is not None,
        order_gap=gap,
        buy=buying(scenario, sku),
        inspection=inspection,
        end=(scenario.day_of(sku.lifecycle.end_of_life) - scenario.first_day
             if sku.lifecycle is not None and sku.lifecycle.announced else None),  # fmt: skip
    )


def _in_order(arrival: np.ndarray, supplier) -> np.ndarray:
    """Return expected landings that never move earlier, for shipments that never overtake.

    An order placed after a stretched one (a lead-time shock) waits for it.
    """
    return np.maximum.accumulate(arrival) if supplier.deliver_in_order else arrival
