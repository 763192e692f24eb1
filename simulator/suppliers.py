"""Suppliers in a replication: lead times, disruption windows, capacity, and what planners expect.

A :class:`SupplierState` holds one supplier's realised disruptions for one
replication: the scheduled windows of the scenario plus random outages drawn
from the supplier's own stream (so every policy meets the same outages). A
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

from simulator.scenario import (
    Capacity,
    LeadTimeShock,
    PortClosure,
    RandomOutage,
    Scenario,
    SupplierOutage,
)

__all__ = ["LEAD_TIME_BLOCK", "Route", "SupplierState", "expected_arrival"]

LEAD_TIME_BLOCK = 64
"""Lead times (and clearing delays) are drawn this many at a time."""


class SupplierState:
    """One supplier's disruptions in one replication (scheduled and random) and capacity use."""

    def __init__(self, scenario: Scenario, name: str, rng: np.random.Generator | None) -> None:
        spec = scenario.suppliers[name]
        self.name = name
        self.order_cost = spec.order_cost
        self.premium = spec.unit_cost_premium
        self.lead_time = spec.lead_time
        self.closures: list[tuple[float, float, object]] = []
        self.outages: list[tuple[float, float, str]] = []
        self.shocks: list[tuple[float, float, float, float]] = []
        self.capacity: float | None = None
        self.used: dict[int, float] = {}
        for d in spec.disruptions:
            if isinstance(d, PortClosure):
                self.closures.append(
                    (scenario.day_of(d.start), scenario.day_of(d.end), d.clearing_delay)
                )
            elif isinstance(d, SupplierOutage):
                self.outages.append((scenario.day_of(d.start), scenario.day_of(d.end), d.mode))
            elif isinstance(d, LeadTimeShock):
                self.shocks.append(
                    (scenario.day_of(d.start), scenario.day_of(d.end), d.multiplier, d.extra_days)
                )
            elif isinstance(d, Capacity):
                self.capacity = d.units_per_week
            elif isinstance(d, RandomOutage):
                self.outages += _random_windows(scenario, d, rng)
        self.outages.sort()
        self.closures.sort(key=lambda c: c[0])
        self.plain = not (self.closures or self.outages or self.shocks or self.capacity)

    def outage_at(self, t: float) -> tuple[float, str] | None:
        """Return (end, mode) of an outage in force at time ``t``, if any (latest end wins)."""
        hit = None
        for start, end, mode in self.outages:
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

    def allocate(self, qty: float, t: float) -> list[tuple[float, float]]:
        """Split ``qty`` over weeks of capacity from time ``t``: [(ship time, units)]."""
        if self.capacity is None:
            return [(t, qty)]
        parts = []
        week = math.floor(t / 7)
        while qty > 1e-12:
            room = self.capacity - self.used.get(week, 0.0)
            if room > 1e-12:
                take = min(room, qty)
                self.used[week] = self.used.get(week, 0.0) + take
                parts.append((max(t, 7.0 * week), take))
                qty -= take
            week += 1
        return parts


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

    __slots__ = ("state", "lead", "clearing", "in_order", "last_arrival", "log", "sku")

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

    def ship(self, qty: float, now: float) -> list[tuple[float, float]] | None:
        """Turn an order placed at ``now`` into shipments (landing time, units); None if refused."""
        st = self.state
        if st.plain:
            parts = [(now + next(self.lead), qty)]
        else:
            t = now
            hit = st.outage_at(t)
            while hit is not None:
                end, mode = hit
                if mode == "refuse":
                    return None
                t = end  # held until the supplier is back
                hit = st.outage_at(t)
            mult, extra = st.lead_time_factor(now)
            parts = [
                (self._land(ship_at + next(self.lead) * mult + extra), q)
                for ship_at, q in st.allocate(qty, t)
            ]
        return self._in_order(parts) if self.in_order else parts

    def _in_order(self, parts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """No overtaking: a shipment due before the previous one waits for it."""
        out = []
        for arrival, q in parts:
            if arrival < self.last_arrival:
                arrival = self.last_arrival
            self.last_arrival = arrival
            out.append((arrival, q))
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


def expected_arrival(scenario: Scenario, supplier: str, times: np.ndarray) -> np.ndarray:
    """Planner's expected landing time of an order placed at each of ``times``.

    Uses the mean lead time, the mean clearing delay and the *announced*
    windows only (outages hold orders until they end; shocks stretch lead
    times; closures hold landings). Random outages and capacity are unknown.
    A careful planner counts an order as caught by a closure when a late
    delivery (mean + 2 sd of the lead time) would land inside it, so that
    buffers are ordered early enough to land before the port closes.
    """
    spec = scenario.suppliers[supplier]
    lead = spec.lead_time.mean
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
