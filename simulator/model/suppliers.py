"""Suppliers in a replication: lead times, disruption windows, capacity, and what planners expect.

A :class:`SupplierState` holds one supplier's realised disruptions for one
replication: the scheduled windows of the scenario plus random outages, each
drawn from its own stream (so every policy meets the same outages). A
:class:`Route` is one SKU's purchase route to a supplier; its ``ship`` turns a
purchase order into one or more shipments with exact landing times:

1. an outage at the moment of ordering refuses the order or holds it until the
   outage ends (``mode``);
2. a capacity limit splits it over calendar weeks;
3. each part gets its own lead time (× and + any lead-time shock in force when
   the order was placed);
4. a part due inside a port closure lands when the closure ends, plus a
   clearing delay.

:func:`expected_arrival` is the planner's view of the same rules: mean lead
time and only the *announced* windows, never the random outages.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from simulator.data.scenario import (
    Capacity,
    LeadTimeShock,
    PortClosure,
    RandomOutage,
    Scenario,
    SupplierOutage,
)

__all__ = [
    "LEAD_TIME_BLOCK",
    "Route",
    "SupplierState",
    "effective_lead_time",
    "expected_arrival",
    "lead_time_pmf",
]

LEAD_TIME_BLOCK = 64
"""Lead times (and clearing delays) are drawn this many at a time."""


class SupplierState:
    """One supplier's disruptions in one replication (scheduled and random) and capacity use.

    ``streams`` (a :class:`simulator.model.replication.Streams`) draws the random outages; it may be
    None when the supplier has none.
    """

    def __init__(self, scenario: Scenario, name: str, streams=None) -> None:
        spec = scenario.suppliers[name]
        self.name = name
        self.order_cost = spec.order_cost
        self.pay_on_receipt = spec.pay_on_receipt
        self.premium = spec.unit_cost_premium
        self.lead_time = spec.lead_time
        self.closures: list[tuple[float, float, object]] = []
        self.outages: list[tuple[float, float, str]] = []
        self.known: list[tuple[float, float, str]] = []  # the announced outages only
        self.shocks: list[tuple[float, float, float, float]] = []
        self.capacity: float | None = None
        self.used: dict[int, float] = {}
        self.booked: dict[int, float] = {}  # the same capacity as the buyer books it (announced)
        seen: dict[str, int] = {}
        for d in spec.disruptions:
            if isinstance(d, PortClosure):
                self.closures.append(
                    (scenario.day_of(d.start), scenario.day_of(d.end), d.clearing_delay)
                )
            elif isinstance(d, SupplierOutage):
                window = (scenario.day_of(d.start), scenario.day_of(d.end), d.mode)
                self.outages.append(window)
                if d.announced:
                    self.known.append(window)
            elif isinstance(d, LeadTimeShock):
                self.shocks.append(
                    (scenario.day_of(d.start), scenario.day_of(d.end), d.multiplier, d.extra_days)
                )
            elif isinstance(d, Capacity):
                self.capacity = d.units_per_week
            elif isinstance(d, RandomOutage):
                # Each random outage has its own stream, named by what it is (and which of
                # identical ones): removing one leaves the others' windows as they were.
                # (mode and label do not change when it happens: they stay out of the key)
                key = d.model_dump_json(exclude={"mode", "label"})
                seen[key] = seen.get(key, 0) + 1
                rng = streams.rng("outages", name, key, str(seen[key]))
                self.outages += _random_windows(scenario, d, rng)
        self.outages.sort()
        self.known.sort()
        self.closures.sort(key=lambda c: c[0])
        self.plain = not (self.closures or self.outages or self.shocks or self.capacity)

    def outage_at(self, t: float, known: bool = False) -> tuple[float, str] | None:
        """Return (end, mode) of an outage in force at time ``t``, if any (latest end wins).

        ``known``: only the announced outages, as a planner sees them.
        """
        hit = None
        for start, end, mode in self.known if known else self.outages:
            if start > t:
                break
            if t < end and (hit is None or end > hit[0]):
                hit = (end, mode)
        return hit

    def lead_time_factor(self, t: float) -> tuple[float, float]:
        """Multiplier and extra days for an order placed at ``t``."""
        mult, extra = 1.0, 0.0
        for start, end, m, e in self.shocks:
            if start <= t < end:
                mult *= m
                extra += e
        return mult, extra

    def allocate(self, qty: float, t: float, planned: float) -> list[tuple[float, float, float]]:
        """Split ``qty`` over weeks of capacity from time ``t``: [(ship time, units, planned)].

        Every part ships when the supplier is up: a part due inside an outage
        waits for its end (the order was accepted, so a ``refuse`` outage holds
        it too) and then takes the capacity of the week it really ships in.
        ``planned`` is when the buyer expects the order to start shipping (the
        announced outages only); each part also gets the time the buyer expects
        its units to ship: the same capacity schedule with the announced
        outages alone, read at the part's cumulative units.
        """
        if self.capacity is None:
            return [(t, qty, planned)]
        expected = self._schedule(qty, planned, self.booked, known=True)
        parts, done = [], 0.0
        for at, take in self._schedule(qty, t, self.used, known=False):
            done += take
            # the first expected part by which these units were due to have shipped
            when = next((e for e, upto in expected if upto >= done - 1e-9), expected[-1][0])
            parts.append((at, take, when))
        return parts

    def _schedule(
        self, qty: float, at: float, used: dict[int, float], known: bool
    ) -> list[tuple[float, float]]:
        """Take capacity from ``used``, week by week from ``at``: [(ship time, units)].

        With ``known`` the parts are [(ship time, units shipped by then)].
        """
        parts: list[tuple[float, float]] = []
        total = 0.0
        while qty > 1e-12:
            at = self.up_from(at, known)
            week = math.floor(at / 7)
            room = self.capacity - used.get(week, 0.0)
            if room > 1e-12:
                take = min(room, qty)
                used[week] = used.get(week, 0.0) + take
                total += take
                parts.append((at, total if known else take))
                qty -= take
            at = max(at, 7.0 * (week + 1))
        return parts

    def up_from(self, t: float, known: bool = False) -> float:
        """Return the first time at or after ``t`` when no outage (announced: ``known``) holds."""
        hit = self.outage_at(t, known)
        while hit is not None:
            t = hit[0]
            hit = self.outage_at(t, known)
        return t


def _random_windows(
    scenario: Scenario, d: RandomOutage, rng: np.random.Generator
) -> list[tuple[float, float, str]]:
    """Random outage windows over the simulated days: Poisson starts, random durations."""
    span = scenario.n_days
    n = rng.poisson(d.per_year * span / 365)
    starts = scenario.first_day + rng.random(n) * span
    lengths = d.duration.sample(rng, n)
    return [(float(s), float(s + x), d.mode) for s, x in zip(starts, lengths, strict=True)]


class Route:
    """One SKU's purchase route to one supplier: its own lead-time and clearing streams.

    ``lead`` yields the route's lead times in order (:meth:`model.Streams.draws`).
    """

    __slots__ = ("state", "lead", "clearing", "in_order", "last_arrival", "log", "sku", "quality")

    def __init__(
        self,
        scenario: Scenario,
        state: SupplierState,
        sku: str,
        lead: Iterator[float],
        clearing_rng: np.random.Generator | None,
    ) -> None:
        spec = scenario.suppliers[state.name]
        self.state = state
        self.sku = sku
        self.lead = lead
        self.clearing = clearing_rng
        self.in_order = spec.deliver_in_order
        self.last_arrival = -math.inf
        self.quality = None
        """(reject rate, inspection days, uniform draws) when the supplier inspects."""

    def ship(self, qty: float, now: float) -> list[tuple[float, float, float, float]] | None:
        """Turn an order placed at ``now`` into shipments; None if the supplier refuses it.

        Each shipment is (landing time, units, time it leaves the supplier, time
        the buyer expects it to leave: the capacity schedule with the announced
        outages only, never the random ones).
        """
        st = self.state
        if st.plain:
            parts = [(now + next(self.lead), qty, now, now)]
        else:
            hit = st.outage_at(now)
            if hit is not None and hit[1] == "refuse":
                return None
            t = st.up_from(now)  # a queued order is held until the supplier is back
            mult, extra = st.lead_time_factor(now)
            parts = [
                (self._land(ship_at + next(self.lead) * mult + extra), q, ship_at, expected)
                for ship_at, q, expected in st.allocate(qty, t, st.up_from(now, known=True))
            ]
        return self._in_order(parts) if self.in_order else parts

    def _in_order(
        self, parts: list[tuple[float, float, float, float]]
    ) -> list[tuple[float, float, float, float]]:
        """No overtaking: a shipment due before the previous one waits for it."""
        out = []
        for arrival, q, shipped, expected in parts:
            if arrival < self.last_arrival:
                arrival = self.last_arrival
            self.last_arrival = arrival
            out.append((arrival, q, shipped, expected))
        return out

    def _land(self, arrival: float) -> float:
        """Hold a shipment due inside a port closure until it ends, plus clearing."""
        moved = True
        while moved:
            moved = False
            for start, end, clearing in self.state.closures:
                if start <= arrival < end:
                    arrival = end + float(clearing.sample(self.clearing, 1)[0])
                    moved = True
        return arrival


def effective_lead_time(
    dist, spacing: float, in_order: bool, whole_days: bool, order_up_to: bool = True
) -> tuple[float, float]:
    """Mean and variance of the lead time a planner must protect against.

    Two things separate it from the supplier's lead-time distribution L:

    * **No overtaking** (``in_order``; docs/conventions.md). A shipment waits
      for every earlier one, so with orders every ``spacing`` days the order
      placed now lands after W = max(L₀, L₁ − s, L₂ − 2s, ...), where Lⱼ is
      the lead time of the order placed j orders ago. Its distribution is
      exact for i.i.d. lead times: P(W <= x) = ∏ⱼ F_L(x + j·s) (Kaplan 1970;
      Zipkin 2000, *Foundations of Inventory Management*, §7.4, on sequential
      deliveries). Orders that may cross (``in_order`` false) keep W = L.
    * **Whole days** (``whole_days``): a daily quantity is served at the start
      of its day, so a shipment landing at 7.01 serves demand from day 8 on.
      The usable lead time is ⌈W⌉ (a landing at exactly 7.00 serves day 7).
      Customer orders spread over the day use W itself.

    ``spacing`` is the expected time between orders (the review period, or a
    lot's worth of demand). When orders may cross, an order-up-to policy
    (``order_up_to``: each order replaces the demand since the last one) has
    many orders in transit whose lateness partly averages out
    (:func:`_crossing`); a lot-sizing policy protects one lot's lead time, and
    keeps Var[U].
    """
    if dist.var == 0:  # a constant lead time: no overtaking to speak of
        return (float(math.ceil(dist.mean)) if whole_days else float(dist.mean)), 0.0
    hi = _upper(dist)
    s = max(float(spacing), hi / 20000)
    if not math.isfinite(s):  # no orders to wait behind, none to cross
        return _crossing(dist, hi, hi, whole_days)
    if not in_order:
        if order_up_to:
            return _crossing(dist, s, hi, whole_days)
        return effective_lead_time(dist, s, False, whole_days, order_up_to=True)[0], _var_u(
            dist, hi, whole_days
        )
    x, cdf = _wait_cdf(dist, s, in_order, whole_days, hi)
    if whole_days:
        return _moments_from_tail(1.0 - cdf, x, step=1.0, discrete=True)
    return _moments_from_tail(1.0 - cdf, x, step=x[1] - x[0], discrete=False)


def lead_time_pmf(
    dist, spacing: float, in_order: bool, whole_days: bool, order_up_to: bool = True
) -> tuple[np.ndarray, np.ndarray] | None:
    """Distribution of the lead time to protect, as (values, probabilities).

    The same lead time as :func:`effective_lead_time` (whole days, the wait
    behind earlier shipments), for planners that size a buffer from the
    mixture over it rather than from its two moments. Continuous waits are
    binned to about 60 values, each bin's probability put on its middle.
    None when orders may cross under an order-up-to policy: there no single
    lead time applies (the pipeline's variance is used instead).
    """
    if dist.var == 0:
        return np.array([math.ceil(dist.mean) if whole_days else dist.mean], float), np.ones(1)
    hi = _upper(dist)
    s = max(float(spacing), hi / 20000)
    if not math.isfinite(s):
        s, in_order, order_up_to = hi, False, False
    if not in_order and order_up_to:
        return None
    x, cdf = _wait_cdf(dist, s, in_order, whole_days, hi)
    if not whole_days:
        stride = max(1, x.size // 60)
        idx = np.unique(np.concatenate([[0], np.arange(stride, x.size, stride), [x.size - 1]]))
        x, cdf = x[idx], cdf[idx]
    cdf = np.maximum.accumulate(np.clip(cdf, 0.0, 1.0))
    p = np.diff(np.concatenate([[0.0], cdf]))
    if not whole_days:  # each bin's probability at its middle (the atom at 0 stays there)
        x = np.concatenate([[x[0]], (x[1:] + x[:-1]) / 2])
    p[-1] += max(1.0 - cdf[-1], 0.0)
    keep = p > 1e-10
    return x[keep], p[keep] / p[keep].sum()


def _wait_cdf(
    dist, s: float, in_order: bool, whole_days: bool, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """P(U <= x) on a grid: whole days 0, 1, ... or a fine grid of continuous times."""
    if s > hi:  # the previous order has landed for sure: no wait behind it, U = L
        in_order = False
    if whole_days:
        # P(⌈W⌉ <= n) = P(W <= n), evaluated at the whole days.
        n = np.arange(0.0, math.ceil(hi) + 1)
        if not in_order:
            return n, np.asarray(dist.cdf(n), dtype=float)
        if abs(s - round(s)) < 1e-9:  # whole-day spacing: a cumulative sum along every s-th day
            log_f = np.log(np.clip(dist.cdf(n), 1e-300, 1.0))
            k = int(round(s))
            for r in range(k):
                log_f[r::k] = np.cumsum(log_f[r::k][::-1])[::-1]
            return n, np.exp(log_f)
        j = np.arange(0.0, math.ceil(hi / s) + 1)
        if n.size * j.size <= 4_000_000:  # exact, directly
            cdf = np.exp(np.log(np.clip(dist.cdf(n[:, None] + s * j), 1e-300, 1.0)).sum(axis=1))
            return n, cdf
        x, cdf = _wait_cdf(dist, s, in_order, False, hi)  # a fine grid, read at the days
        return n, np.interp(n, x, cdf)
    k = max(1, math.ceil(s / (hi / 20000)))  # grid points per spacing
    step = s / k if in_order else hi / 20000
    x = np.arange(0.0, hi + step, step)
    log_f = np.log(np.clip(dist.cdf(x), 1e-300, 1.0))
    if in_order:
        # log P(W <= xᵢ) = Σⱼ log F(xᵢ + j·s): a cumulative sum along every k-th point.
        for r in range(k):
            log_f[r::k] = np.cumsum(log_f[r::k][::-1])[::-1]
    return x, np.exp(log_f)


def _crossing(dist, s: float, hi: float, whole_days: bool) -> tuple[float, float]:
    """Mean and variance of the lead time to protect when orders may cross.

    Each outstanding order lands independently: of the orders placed 0, s,
    2s, ... days ago (about s·μ units each), the one placed a·s days ago is
    still out with probability p_a = P(U > a·s), U the usable lead time. The
    shortfall of the pipeline then has mean μ·E[U] and variance
    (s·μ)²·Σ_a p_a(1 − p_a), so the lead-time term of the safety stock is
    Var = s²·Σ_a p_a(1 − p_a), at most Var[U] and smaller the more often one
    orders (variability averages out over many orders in transit; Zipkin 2000,
    §7.4, independent lead times).
    """
    a = np.arange(0.0, hi + s, s)
    # P(⌈L⌉ > x) = P(L > ⌊x⌋) for whole days, else P(L > x)
    p = np.clip(1.0 - dist.cdf(np.floor(a + 1e-9) if whole_days else a), 0.0, 1.0)
    if whole_days:
        n = np.arange(0.0, math.ceil(hi) + 1)
        mean = float(np.clip(1.0 - dist.cdf(n), 0.0, 1.0).sum())
    else:
        mean = float(dist.mean)
    return mean, float(s * s * np.sum(p * (1 - p)))


def _var_u(dist, hi: float, whole_days: bool) -> float:
    """Var[U] of the usable lead time U = ⌈L⌉ (whole days) or L."""
    if not whole_days:
        return float(dist.var)
    n = np.arange(0.0, math.ceil(hi) + 1)
    return _moments_from_tail(1.0 - dist.cdf(n), n, step=1.0, discrete=True)[1]


def _upper(dist) -> float:
    """Return a point beyond which the lead time falls with probability below 1e-12."""
    hi = max(dist.mean + 12 * dist.sd, 1e-9)
    while float(np.asarray(dist.cdf(hi))) < 1 - 1e-12 and hi < 1e7:
        hi *= 2
    return hi


def _moments_from_tail(tail: np.ndarray, x: np.ndarray, step: float, discrete: bool):
    """Mean and variance of a non-negative variable from P(X > x) on a grid."""
    tail = np.clip(tail, 0.0, 1.0)
    if discrete:  # X integer: E[X] = Σ P(X > n), E[X²] = Σ (2n + 1) P(X > n)
        m1 = float(tail.sum())
        m2 = float(((2 * x + 1) * tail).sum())
    else:  # E[X] = ∫ P(X > x) dx, E[X²] = ∫ 2x P(X > x) dx (trapezoids)
        m1 = float(np.trapezoid(tail, dx=step))
        m2 = float(np.trapezoid(2 * x * tail, dx=step))
    return m1, max(m2 - m1 * m1, 0.0)


def expected_arrival(
    scenario: Scenario, supplier: str, times: np.ndarray, lead: float | None = None
) -> np.ndarray:
    """Planner's expected landing time of an order placed at each of ``times``.

    Uses the mean lead time, the mean clearing delay and the *announced*
    windows only (outages hold orders until they end; shocks stretch lead
    times; closures hold landings). Random outages and capacity are unknown.
    ``lead`` replaces the mean lead time (a planner's effective lead time).
    A careful planner counts an order as caught by a closure when a late
    delivery (mean + 2 sd of the lead time) would land inside it, so that
    buffers are ordered early enough to land before the port closes.
    """
    spec = scenario.suppliers[supplier]
    lead = spec.lead_time.mean if lead is None else lead
    late = lead + 2 * spec.lead_time.sd
    t = np.asarray(times, dtype=float).copy()
    placed = t.copy()
    windows = [d for d in spec.disruptions if getattr(d, "announced", False)]
    outages = [d for d in windows if isinstance(d, SupplierOutage)]
    for d in sorted(outages, key=lambda d: scenario.day_of(d.start)):
        a, b = scenario.day_of(d.start), scenario.day_of(d.end)
        t = np.where((t >= a) & (t < b), b, t)
    mult = np.ones_like(t)
    extra = np.zeros_like(t)
    for d in windows:
        if isinstance(d, LeadTimeShock):
            inside = (placed >= scenario.day_of(d.start)) & (placed < scenario.day_of(d.end))
            mult = np.where(inside, mult * d.multiplier, mult)
            extra = np.where(inside, extra + d.extra_days, extra)
    arrival = t + lead * mult + extra
    latest = t + late * mult + extra
    closures = sorted(
        (d for d in windows if isinstance(d, PortClosure)), key=lambda d: scenario.day_of(d.start)
    )
    for d in closures:
        a, b = scenario.day_of(d.start), scenario.day_of(d.end)
        caught = (latest >= a) & (arrival < b)
        arrival = np.where(caught, np.maximum(arrival, b + d.clearing_delay.mean), arrival)
        latest = np.where(caught, np.maximum(latest, b + d.clearing_delay.mean), latest)
    return arrival
