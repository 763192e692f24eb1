"""SimPy model of one replication under one policy: customers, a warehouse, suppliers.

Time is in days; day t is [t, t+1). Within day t (docs/conventions.md):

1. **Review** (right after yesterday is closed): periodic policies review at
   the start of the day from IP = on-hand − backorders + on-order.
2. **Receive**: shipments due by then arrive; receipts serve backorders first,
   then go to stock. An order placed at time t with lead time L is available
   at exactly t + L.
3. **Demand**: customer orders are served from on-hand; shortfall is
   backordered or lost. Continuous-review policies check IP after every
   customer order.
4. **End of day** (at t+1, before anything else): record on-hand, backorders
   and on-order.

One SimPy process, the day clock, wakes once a day (priority ``CLOSE``, ahead
of anything else at that instant) and does all four steps for every SKU: it
closes yesterday and runs the review due, SKU by SKU, then serves the day's
customer orders, SKU by SKU, each SKU's in time order. Each SKU's steps keep
the day's order; across SKUs, orders placed at the same instant go to the
suppliers in SKU id order, whatever the order of the file. SKUs interact only
through a supplier's capacity: when several SKUs share one, the day's customer
orders of all SKUs are served in time order (ties in SKU id order), so a
continuous review's order takes capacity in the order it was placed. This is
what a process per SKU would do, at one event per day instead of one per SKU
and day.

Shipments are applied at their exact arrival time but lazily: the warehouse
applies every receipt due before it next serves a customer or closes a day,
which is the same as an event at that time and far cheaper than one event per
shipment. Likewise the time-weighted on-hand is integrated at each change of
the on-hand, not on a timer.

Randomness comes in through :class:`Streams`: one independent generator per
source (each SKU's demand and lead times), derived from the replication's
seed, so every policy sees the same demand path and the same lead times
(common random numbers): demand is drawn once per replication, lead times
once per replication onto a tape that every policy reads from its start.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from heapq import heappop, heappush

import numpy as np
import simpy
from scipy.stats import binom
from simpy.events import Event

from simulator.data.distributions import Uniform
from simulator.data.scenario import Scenario
from simulator.model.policies import (
    Learned,
    Plan,
    Policy,
    abc_classes,
    build_policy,
    make_plan,
    policy_classes,
)
from simulator.model.purchasing import buying, line_costs, order_units, purchase_order, whole_units
from simulator.model.suppliers import LEAD_TIME_BLOCK, Route, SupplierState

__all__ = [
    "CLOSE",
    "DemandPath",
    "Replication",
    "SkuTrace",
    "Streams",
    "build_policies",
    "draw_demand",
    "make_plans",
    "simulate",
]

CLOSE = 0
"""Priority of the day clock: at a day boundary it runs before any other event."""


class At(Event):
    """A timeout with an explicit priority, so same-instant events keep the day order."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int) -> None:
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        env.schedule(self, priority, delay)


# --------------------------------------------------------------------------- randomness


class Streams:
    """Independent random generators of one replication, one per named source.

    A source is named by a tuple of parts, e.g. ``("lead_time", sku, supplier)``.
    Its generator is ``SeedSequence(root, spawn_key=(replication, h(part₁),
    h(part₂), ...))`` with h a 64-bit hash of each part: independent of every
    other source and replication, stable when SKUs are added or removed, and
    parts are never joined into one string (so SKU ``A:B`` with supplier ``C``
    and SKU ``A`` with supplier ``B:C`` get different streams).
    """

    def __init__(self, root_seed: int, replication: int) -> None:
        self.root_seed = root_seed
        self.replication = replication
        self._tapes: dict[tuple, tuple[object, list[list[float]], Iterator[list[float]]]] = {}

    def rng(self, *source: str) -> np.random.Generator:
        """Return a fresh generator for the source named by ``source``'s parts (same every call)."""
        key = (self.replication, *(_part_key(p) for p in source))
        return np.random.default_rng(np.random.SeedSequence(self.root_seed, spawn_key=key))

    def draws(self, source: tuple[str, ...], dist) -> Iterator[float]:
        """Endless draws from ``dist`` on ``source``'s stream, from its start on every call.

        The numbers are drawn from ``rng(source)`` in blocks of
        ``LEAD_TIME_BLOCK``, once per replication, onto a tape that every
        reader (every policy) reads from its start: common random numbers
        without seeding the stream again for each policy. A source has one
        distribution: asking for it with another is an error.
        """
        source = (source,) if isinstance(source, str) else tuple(source)
        if source not in self._tapes:
            self._tapes[source] = (dist, [], _blocks(dist, self.rng(*source)))
        drawn_from, tape, blocks = self._tapes[source]
        if drawn_from != dist:
            raise ValueError(f"stream '{source}' was drawn from another distribution")
        return _read(tape, blocks)


@functools.lru_cache(maxsize=65536)
def _part_key(part: str) -> int:
    """Return a stable 64-bit key for one part of a stream's name."""
    return int.from_bytes(hashlib.blake2b(part.encode(), digest_size=8).digest(), "little")


def _blocks(dist, rng: np.random.Generator) -> Iterator[list[float]]:
    while True:
        yield dist.sample(rng, LEAD_TIME_BLOCK).tolist()


def _read(tape: list[list[float]], blocks: Iterator[list[float]]) -> Iterator[float]:
    """Read a shared tape of blocks from its start, drawing a block when reading past its end."""
    i = 0
    while True:
        if i == len(tape):
            tape.append(next(blocks))
        yield from tape[i]
        i += 1


@dataclass(frozen=True)
class DemandPath:
    """One SKU's realised demand for a replication, laid out for the event loop.

    ``orders[d]`` holds the customer orders of day index d as (arrival time,
    units), in time order; daily-quantity demand is one order at the start of
    each day. ``before``, ``measured`` and ``total`` are (orders, units) before
    the first measured day (after ``warmup`` days), over the measured days and
    over the whole run, each summed in time order from zero as a running counter
    would be, so the model need not count demand order by order. The measured
    units are summed on their own, not as a difference of totals: the units the
    warehouse serves in the measured days, summed in the same order, can then
    never exceed them by a rounding error. An order of zero units (a Poisson or negative-binomial
    size of 0, a day with no demand) is no order: it is not counted. A path
    belongs to the scenario it was drawn for.
    """

    orders: list[list[tuple[float, float]]]
    before: tuple[int, float]
    measured: tuple[int, float]
    total: tuple[int, float]
    warmup: int
    thin: list[list[float]] | None = None
    """One uniform per customer order (same layout as ``orders``), for thinning the
    common path (goodwill, campaigns that stop); None when nothing thins it."""
    after: float = math.nan
    """Mean demand expected over the ``leftover.excess_days`` days after the horizon, with
    every realised lasting change (overbuying scenarios only)."""

    def units(self) -> np.ndarray:
        """Units demanded on each day index."""
        return np.array([sum(q for _, q in day) for day in self.orders])

    def sizes(self) -> np.ndarray:
        """Every customer order's units, in time order."""
        return np.array([q for day in self.orders for _, q in day])


def draw_demand(scenario: Scenario, streams: Streams, plans: list[Plan]) -> list[DemandPath]:
    """Draw every SKU's demand for the whole run in blocks (once per replication)."""
    n = scenario.n_days
    days = scenario.first_day + np.arange(n)
    whole = scenario.units == "whole"
    out = []
    for sku, plan in zip(scenario.skus, plans, strict=True):
        rng = streams.rng("demand", sku.id)
        d = sku.demand
        base_mean = plan.mean[:n]
        lasting = _lasting(scenario, sku, plan, streams)
        if lasting is not None:  # unannounced shifts and regime changes (own stream)
            base_mean = base_mean * lasting[:n]
        if d.spikes is not None:
            base_mean = base_mean * _spikes(scenario, d.spikes, streams.rng("spikes", sku.id))
        if d.per_day is not None:
            mean = _mean(d.per_day)
            mult = base_mean / mean if mean > 0 else np.ones(n)
            sizes = d.per_day.sample(rng, n) * mult
            if whole:  # whole units, the rounding carried forward (docs/scenario-format.md)
                sizes = whole_units(sizes)
            orders = [[o] for o in zip((days + 0.0).tolist(), sizes.tolist(), strict=True)]
        else:
            c = d.customers
            size = _mean(c.order_size)
            rate = base_mean / size if size > 0 else np.zeros(n)
            # Counts, sizes and times on streams of their own: a change on some days (a
            # campaign) leaves every earlier day's orders as they were.
            counts = rng.poisson(rate)
            sizes = c.order_size.sample(streams.rng("order_size", sku.id), int(counts.sum()))
            if whole:
                sizes = whole_units(sizes)
            times = _sort_within_days(
                streams.rng("order_time", sku.id).random(sizes.size), counts
            )
            at = np.repeat(days, counts) + times
            pairs = list(zip(at.tolist(), sizes.tolist(), strict=True))
            starts = np.concatenate([[0], np.cumsum(counts)]).tolist()
            orders = [pairs[a:b] for a, b in itertools.pairwise(starts)]
        path = _path(orders, sizes, scenario.warmup_days)
        if scenario.overbuying:
            path = _overbuying(scenario, sku, plan, path, lasting, streams)
        out.append(path)
    return out


def _lasting(scenario: Scenario, sku, plan: Plan, streams: Streams) -> np.ndarray | None:
    """Realised multiplier of the unannounced lasting changes per day index, or None.

    Unannounced shifts and end of life come from the scenario; regime changes are
    drawn per replication on their own stream (``("regime_changes", SKU)``), so
    they shift no other draw. The array runs as far as the plan (past the horizon).
    """
    size = plan.mean.size
    hidden = scenario.hidden_multiplier(sku, until=scenario.first_day + size)
    rc = sku.demand.regime_changes
    if rc is None or rc.per_year <= 0:
        return hidden
    rng = streams.rng("regime_changes", sku.id)
    n = scenario.n_days
    count = rng.poisson(rc.per_year * n / 365)
    starts = np.sort(rng.integers(0, n, count))
    mults = rc.multiplier.sample(rng, count)
    out = np.ones(size) if hidden is None else hidden.copy()
    for start, m in zip(starts.tolist(), mults.tolist(), strict=True):
        out[start:] *= m
    return out


def _overbuying(
    scenario: Scenario, sku, plan: Plan, path: DemandPath, lasting, streams: Streams
) -> DemandPath:
    """Add what the overbuying features need to a path: thinning uniforms, demand after it."""
    thin = None
    if sku.goodwill is not None or any(c.stop_below is not None for c in sku.demand.campaigns):
        u = streams.rng("thinning", sku.id).random(sum(len(day) for day in path.orders))
        starts = np.concatenate([[0], np.cumsum([len(day) for day in path.orders])]).tolist()
        flat = u.tolist()
        thin = [flat[a:b] for a, b in itertools.pairwise(starts)]
    n = scenario.n_days
    days = scenario.leftover.excess_days if scenario.leftover is not None else 90
    mean = plan.mean[n : n + days]
    if lasting is not None:
        mean = mean * lasting[n : n + days]
    return dataclasses.replace(path, thin=thin, after=float(mean.sum()))


def _path(orders: list[list[tuple[float, float]]], sizes: np.ndarray, warmup: int) -> DemandPath:
    """Demand totals as a running counter would keep them (``cumsum`` adds in order)."""
    before = sum(len(day) for day in orders[:warmup])
    return DemandPath(
        orders=orders,
        before=_counted(sizes[:before]),
        measured=_counted(sizes[before:]),
        total=_counted(sizes),
        warmup=warmup,
    )


def _counted(sizes: np.ndarray) -> tuple[int, float]:
    """Orders (of more than zero units) and units, summed in order from zero."""
    if not sizes.size:
        return 0, 0.0
    return int(np.count_nonzero(sizes)), float(np.cumsum(sizes)[-1])


def _sort_within_days(times: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sort arrival times within each day; day d holds the next ``counts[d]`` times.

    Equal to ``times[np.lexsort((times, day_of))]`` and several times faster on
    busy SKUs: sort all the times, then stably regroup them by day (a radix sort,
    as the day numbers are small integers).
    """
    n = counts.size
    day_of = np.repeat(np.arange(n, dtype=np.uint16 if n < 2**16 else np.uint32), counts)
    by_time = np.argsort(times)
    return times[by_time[np.argsort(day_of[by_time], kind="stable")]]


@functools.lru_cache(maxsize=4096)
def _cached_mean(dist) -> float:
    return dist.mean


def _mean(dist) -> float:
    """Return a distribution's mean, computed once per distribution, not per replication.

    A censored normal's mean costs two scipy calls. Distributions are frozen
    (hashable) models; one with list parameters (empirical) is not hashable and
    is computed each time.
    """
    try:
        return _cached_mean(dist)
    except TypeError:
        return dist.mean


def _spikes(scenario: Scenario, spikes, rng: np.random.Generator) -> np.ndarray:
    """Realised multiplier of unannounced demand spikes for each simulated day."""
    n = scenario.n_days
    mult = np.ones(n)
    count = rng.poisson(spikes.per_year * n / 365)
    starts = rng.integers(0, n, count)
    uplifts = spikes.uplift.sample(rng, count)
    for s, u in zip(starts, uplifts, strict=True):
        # Overlapping spikes do not compound: the stronger one holds (three overlapping
        # ×40 spikes made ×64,000 and hours of customer orders).
        window = mult[s : s + spikes.duration_days]
        window[abs(u - 1) > abs(window - 1)] = u
    return mult


# --------------------------------------------------------------------------- warehouse


class Warehouse:
    """Stock of one SKU: on-hand, FIFO backorders, and the pipeline of open orders.

    The day clock serves customer orders against it (:meth:`Replication.clock`);
    the warehouse applies receipts and keeps the stock counters the metrics come
    from (demand and order counts come from the :class:`DemandPath`).
    """

    __slots__ = (
        "on_hand", "backorders", "on_order", "pipeline", "_seq", "lost_sales",
        "area", "t_last", "received", "filled", "served", "served_before", "backordered", "lost",
        "short",
        "ordered", "placed", "log", "name", "order_cost", "expedite",
        "planned", "cycles", "cycles_short", "lost_since", "pos", "spent", "due",
        "lots", "life", "expired", "dead", "rejected", "rejects", "today", "short_units",
        "dem_units", "dem_orders", "goodwill_lost",
    )  # fmt: skip

    def __init__(
        self, on_hand: float, lost_sales: bool, t0: float, name: str = "", log: list | None = None
    ) -> None:
        self.name = name
        self.log = log  # event log for tests and teaching; None keeps the hot path free
        self.on_hand = on_hand
        self.backorders = 0.0
        self.on_order = 0.0
        self.pipeline: list[tuple[float, int, float]] = []
        self._seq = 0
        self.lost_sales = lost_sales
        self.area = 0.0  # ∫ on-hand dt up to t_last (each change of on-hand moves it on)
        self.t_last = t0
        # Ledger, whole run (warm-up included): units conserve exactly.
        self.received = 0.0
        self.filled = 0.0  # backorders filled from receipts; shipped = served + filled
        # Counters that the measured window is taken from (differences of snapshots).
        self.served = self.backordered = self.lost = 0.0
        self.served_before = 0.0  # served in the warm-up (served restarts at 0 on day 0)
        self.short = 0  # customer orders not shipped complete
        self.ordered = 0.0
        self.placed = 0  # order lines
        self.pos = 0.0  # this SKU's share of purchase orders (1 / lines of each)
        self.order_cost = 0.0
        self.expedite = 0.0
        # Cash spent on buying: stock at cost (at order, or at receipt) and order costs.
        self.spent = 0.0
        self.due: dict[int, float] = {}  # shipment -> amount payable when it lands
        # What a planner may see of the pipeline: each open shipment's planned landing
        # (kept only for policies that expedite; None keeps the hot path free).
        self.planned: dict[int, tuple[float, float]] | None = None
        # Replenishment cycles: one ends at each receipt, short when backorders wait as
        # it lands or a sale was lost since the previous receipt. Shipments landing at
        # the same instant each end a cycle (the later ones empty), as each order's
        # cycle runs until the next order can serve demand.
        self.cycles = self.cycles_short = 0
        self.lost_since = False
        # Overbuying (docs/overbuying.md); None / 0 keep the plain model as it was.
        self.lots: deque | None = None  # dated lots [expiry time, units], FEFO (shelf life)
        self.life = 0  # shelf life in days
        self.expired = self.dead = self.rejected = 0.0
        self.rejects: dict[int, float] | None = None  # shipment -> credit, failed inspection
        self.today = 0.0  # units demanded today (observed demand)
        self.short_units = 0.0  # units not served at once, whole run (goodwill)
        self.dem_units = 0.0  # units demanded, counted as served (a thinned path)
        self.dem_orders = 0
        self.goodwill_lost = 0.0  # units of the common path customers no longer ordered

    def expect(self, arrival: float, qty: float, planned: float = math.nan) -> None:
        """Add a shipment to the pipeline, due at ``arrival`` (planned for ``planned``)."""
        self._seq += 1
        heappush(self.pipeline, (arrival, self._seq, qty))
        self.on_order += qty
        if self.planned is not None:
            self.planned[self._seq] = (planned, qty)

    def receive_until(self, time: float, inclusive: bool) -> None:
        """Apply every receipt due before ``time`` (or at it, if ``inclusive``)."""
        pipe = self.pipeline
        while pipe and (pipe[0][0] < time or (inclusive and pipe[0][0] == time)):
            arrival, seq, qty = heappop(pipe)
            if self.planned is not None:
                self.planned.pop(seq, None)
            if self.rejects and seq in self.rejects:
                self.reject(arrival, seq, qty, bool(pipe))
                continue
            self.cycles += 1
            if self.backorders > 0 or self.lost_since:
                self.cycles_short += 1
            self.lost_since = False
            self.area += self.on_hand * (arrival - self.t_last)
            self.t_last = arrival
            # Nothing left in transit is exactly nothing: the running sum would round to ±1e-16.
            self.on_order = self.on_order - qty if pipe else 0.0
            self.received += qty
            if self.due:
                self.spent += self.due.pop(seq, 0.0)
            fill = qty if qty < self.backorders else self.backorders
            if fill > 0:
                self.backorders -= fill
                self.filled += fill
            self.on_hand += qty - fill
            if self.lots is not None and qty > fill:
                self.lots.append([math.floor(arrival) + self.life, qty - fill])
            if self.log is not None:
                self.log.append((arrival, "receive", self.name, qty, self.on_hand, self.backorders))

    def reject(self, arrival: float, seq: int, qty: float, more: bool) -> None:
        """Return a shipment that failed inspection (for credit); it never enters stock."""
        credit = self.rejects.pop(seq)
        self.on_order = self.on_order - qty if more else 0.0
        self.received += qty
        self.rejected += qty
        if self.due and seq in self.due:
            self.due.pop(seq)  # paid on receipt: never paid
        else:
            self.spent -= credit
        if self.log is not None:
            self.log.append((arrival, "reject", self.name, qty, self.on_hand, self.backorders))

    def take(self, qty: float) -> None:
        """Take ``qty`` units out of the dated lots, first expiry first out (FEFO)."""
        lots = self.lots
        while qty > 0 and lots:
            lot = lots[0]
            if lot[1] <= qty + 1e-12:
                qty -= lot[1]
                lots.popleft()
            else:
                lot[1] -= qty
                qty = 0.0
        if self.on_hand <= 0:
            lots.clear()

    def write_off(self, now: float, dead: bool) -> None:
        """At a day's close: write off expired lots, or (end of life) all stock as dead."""
        if dead:
            gone = self.on_hand
            if self.lots is not None:
                self.lots.clear()
        else:
            gone = 0.0
            lots = self.lots
            while lots and lots[0][0] <= now:
                gone += lots.popleft()[1]
            gone = min(gone, self.on_hand)
            if not lots:
                gone = self.on_hand  # nothing left in date: all of it (float dust included)
        if gone <= 0:
            return
        self.area += self.on_hand * (now - self.t_last)
        self.t_last = now
        self.on_hand -= gone
        if dead:
            self.dead += gone
        else:
            self.expired += gone
        if self.log is not None:
            self.log.append((now, "dead" if dead else "expire", self.name, gone, self.on_hand,
                             self.backorders))  # fmt: skip

    def settle(self, now: float) -> None:
        """Bring the on-hand integral up to ``now`` (it is otherwise kept at each change)."""
        self.area += self.on_hand * (now - self.t_last)
        self.t_last = now

    @property
    def position(self) -> float:
        """Inventory position: on-hand − backorders + on-order."""
        return self.on_hand - self.backorders + self.on_order


# --------------------------------------------------------------------------- a replication


@dataclass
class SkuTrace:
    """What one SKU did over the measured days of one replication under one policy."""

    on_hand: np.ndarray
    backorders: np.ndarray
    on_order: np.ndarray
    stockout: np.ndarray
    demand_units: float
    served_units: float
    backordered_units: float
    lost_units: float
    customer_orders: int
    complete_orders: int
    orders_placed: int
    ordered_units: float
    on_hand_area: float
    shipped_units: float
    ordering_cost: float
    expedite_cost: float
    cycles: int = 0
    """Replenishment cycles (receipt to receipt) that ended in the measured days."""
    cycles_short: int = 0
    """Of those, the cycles in which demand went unmet: backorders waiting as the
    shipment landed, or a sale lost since the previous receipt."""
    purchase_orders: float = 0.0
    """This SKU's share of purchase orders: 1 ÷ lines of each order it had a line on."""
    shipped: np.ndarray | None = None
    """Units shipped to customers on each measured day (from stock or to backorders)."""
    spent: np.ndarray | None = None
    """Cash spent on buying on each measured day: stock at cost (with any premium) when paid,
    and order costs."""
    ledger: dict[str, float] = field(default_factory=dict)
    extra: dict[str, float] | None = None
    """Overbuying measures (expired, obsolete and rejected units in the measured days, the
    stock at the end, the demand expected after it); None outside overbuying scenarios."""


@dataclass
class Extra:
    """An overbuying SKU's run state beside its warehouse (see :meth:`Replication.serve`)."""

    history: list[float] | None
    """Units demanded on each closed day index: what a learned forecast may read."""
    eol: float
    """End of life (a time), or inf."""
    stops: list[tuple[int, int, float, float]]
    """Campaigns that stop: (first day index, day index after, uplift, stop below)."""
    stopped: list[bool]
    loss: float
    """Goodwill: fraction of future demand lost per unit short."""
    thin: list[list[float]] | None
    """One uniform per order of the common path, or None."""
    count: int = 0
    """Orders of the current day seen so far (the index of the next one's uniform)."""


class Replication:
    """One replication of a scenario under one policy: builds and runs the SimPy model."""

    def __init__(
        self,
        scenario: Scenario,
        plans: list[Plan],
        policies: list[Policy],
        demand: list[DemandPath],
        streams: Streams,
        log: list | None = None,
    ) -> None:
        self.scenario = scenario
        self.plans = plans
        self.log = log
        self.env = simpy.Environment(initial_time=scenario.first_day)
        self.policies = policies
        n = scenario.n_days
        if any(d.warmup != scenario.warmup_days or len(d.orders) != n for d in demand):
            raise ValueError("demand paths were drawn for another horizon or warm-up")
        self.demand = demand
        lost = scenario.unmet_demand == "lost_sale"
        t0 = float(scenario.first_day)
        self.warehouses = [
            Warehouse(s.initial_on_hand, lost, t0, s.id, log) for s in scenario.skus
        ]
        self.buying = [buying(scenario, s) for s in scenario.skus]
        self.unit_costs = [s.unit_cost for s in scenario.skus]
        self.terms = {  # per supplier: order cost, line cost, minimum order value
            name: (sup.order_cost, sup.line_cost, sup.min_order_value)
            for name, sup in scenario.suppliers.items()
        }
        self.lines: dict[str, list[tuple]] = {}  # supplier -> lines of the order being written
        # A generator costs a SeedSequence hash: make only those a stream is drawn from
        # (outages only with random outages, clearing delays only with port closures).
        states = {
            name: SupplierState(scenario, name, streams) for name in scenario.suppliers
        }

        def route(sku_id: str, supplier: str) -> Route:
            state = states[supplier]
            return Route(
                scenario,
                state,
                sku_id,
                streams.draws(("lead_time", sku_id, supplier), state.lead_time),
                streams.rng("clearing", sku_id, supplier) if state.closures else None,
            )

        self.routes = [route(s.id, s.supplier) for s in scenario.skus]
        self.backups = [
            route(s.id, s.backup_supplier)
            if s.backup_supplier is not None and getattr(p, "use_backup", False)
            else None
            for s, p in zip(scenario.skus, policies, strict=True)
        ]
        for w, backup in zip(self.warehouses, self.backups, strict=True):
            if backup is not None:
                w.planned = {}
        for s, w in zip(scenario.skus, self.warehouses, strict=True):
            for o in s.open_orders:  # placed before the run, paid for, landing as announced
                at = float(scenario.day_of(o.arrives))
                w.expect(at, float(o.units), at)
        # SKUs take their turn in id order (not file order): orders placed at the same
        # instant claim a shared capacity the same way whatever the order of the file.
        self.turns = sorted(range(len(scenario.skus)), key=lambda k: scenario.skus[k].id)
        # Per supplier, the SKUs (in turn) whose policy may join another SKU's order.
        self.joiners: dict[str, list[int]] = {}
        for k in self.turns:
            if getattr(policies[k], "can", 0) > 0:
                self.joiners.setdefault(scenario.skus[k].supplier, []).append(k)
        # A SKU that is its supplier's only one, without a backup or a minimum order value,
        # places its line as a purchase order at once: its order cost (None otherwise).
        skus_of: dict[str, int] = {}
        for s in scenario.skus:
            for sup in {s.supplier, s.backup_supplier} - {None}:
                skus_of[sup] = skus_of.get(sup, 0) + 1
        self.solo = [
            sum(self.terms[s.supplier][:2])
            if skus_of[s.supplier] == 1 and self.backups[k] is None
            and not self.terms[s.supplier][2] and not self.joiners
            else None
            for k, s in enumerate(scenario.skus)
        ]  # fmt: skip
        users: dict[str, int] = {}
        for r in (*self.routes, *self.backups):
            if r is not None and r.state.capacity is not None:
                users[r.state.name] = users.get(r.state.name, 0) + 1
        # With a capacity shared by several SKUs, serve the day's customer orders in
        # time order across SKUs, so capacity goes to the order that came first.
        self.interleave = any(n > 1 for n in users.values())
        # Per SKU: on-hand, backorders and on-order at each day's close; stockout day indices.
        # Per SKU, also units shipped and cash spent, cumulative, at each day's close.
        self.paths = [
            ([0.0] * n, [0.0] * n, [0.0] * n, [], [0.0] * n, [0.0] * n) for _ in scenario.skus
        ]
        self.start: list[tuple] = [()] * len(scenario.skus)
        self.extra: list[Extra | None] = [None] * len(scenario.skus)
        self.start_extra: list[tuple] = [()] * len(scenario.skus)
        if scenario.overbuying:
            self._overbuying(streams)
        self.env.process(self.clock())

    def _overbuying(self, streams: Streams) -> None:
        """Set up the overbuying features: lots, write-offs, thinning, learned forecasts.

        Each SKU that uses one gets an :class:`Extra`; the clock then serves and
        closes its days through :meth:`serve` and :meth:`close` instead of the
        plain inline steps (the plain model pays nothing for features it lacks).
        """
        sc = self.scenario
        self.policies = list(self.policies)  # the built list is shared by replications
        uniform = Uniform(dist="uniform", low=0.0, high=1.0)
        for k, sku in enumerate(sc.skus):
            w = self.warehouses[k]
            path = self.demand[k]
            policy = self.policies[k]
            history = None
            if isinstance(policy, Learned):
                history = []
                self.policies[k] = policy.start(history)
            if sku.shelf_life_days is not None:
                w.life = sku.shelf_life_days
                w.lots = deque()
                if w.on_hand > 0:  # the starting stock is fresh on the first day
                    w.lots.append([sc.first_day + w.life, w.on_hand])
            eol = math.inf
            if sku.lifecycle is not None:
                eol = float(sc.day_of(sku.lifecycle.end_of_life))
            stops = [
                (sc.day_of(c.start) - sc.first_day, sc.day_of(c.end) - sc.first_day, c.uplift,
                 c.stop_below)
                for c in sku.demand.campaigns if c.stop_below is not None
            ]  # fmt: skip
            loss = sku.goodwill.loss_per_unit_short if sku.goodwill is not None else 0.0
            self.extra[k] = Extra(history, eol, stops, [False] * len(stops), loss, path.thin)
            for route in (self.routes[k], self.backups[k]):
                q = sc.suppliers[route.state.name].quality if route is not None else None
                if q is not None:
                    route.quality = (
                        q.reject_rate, q.inspection_days,
                        streams.draws(("quality", sku.id, route.state.name), uniform),
                    )  # fmt: skip
                    w.rejects = {}

    def serve(self, k: int, i: int, orders: list[tuple[float, float]], stockouts: list[int],
              review) -> None:  # fmt: skip
        """Serve day i's customer orders of an overbuying SKU (the clock's step 3, with extras).

        As the plain step, plus: a thinned path (goodwill, a stopped campaign) keeps
        each order with the day's probability, by the order's own uniform (a daily
        quantity keeps a binomial share of its units); stock leaves its dated lots
        first expiry first out; the units demanded are recorded (observed demand).
        """
        w = self.warehouses[k]
        x = self.extra[k]
        pipe = w.pipeline
        log = self.log
        keep = stop = 1.0  # the share of the common path kept; by a stopped campaign alone
        if x.thin is not None:
            keep = (1.0 - x.loss) ** w.short_units if x.loss else 1.0
            for (a, b, uplift, _), stopped in zip(x.stops, x.stopped, strict=True):
                if stopped and a <= i < b and uplift > 1:
                    keep /= uplift
                    stop /= uplift
        daily = self.plans[k].whole_days
        whole = self.scenario.units == "whole"
        for t, qty in orders:
            n = x.count
            x.count += 1
            if x.thin is not None and keep < 1.0:
                # What goodwill took is the demand a stopped campaign alone would have
                # kept (the same uniform) less what is kept: sales lost for good.
                u = x.thin[i][n]
                if daily:
                    kept = float(binom.ppf(u, qty, keep)) if whole else qty * keep
                    if keep < stop:
                        base = qty if stop >= 1.0 else (
                            float(binom.ppf(u, qty, stop)) if whole else qty * stop)
                        w.goodwill_lost += base - kept
                    qty = kept
                elif u >= keep:
                    if u < stop:
                        w.goodwill_lost += qty
                    continue
            if pipe and pipe[0][0] <= t:
                w.receive_until(t, inclusive=True)
            if qty > 0:
                w.dem_units += qty
                w.dem_orders += 1
            w.today += qty
            on_hand = w.on_hand
            if qty <= on_hand:
                if qty > 0:
                    w.area += on_hand * (t - w.t_last)
                    w.t_last = t
                    w.on_hand = on_hand - qty
                    w.served += qty
                    if w.lots is not None:
                        w.take(qty)
            else:
                w.area += on_hand * (t - w.t_last)
                w.t_last = t
                w.served += on_hand
                w.on_hand = 0.0
                if w.lots is not None:
                    w.lots.clear()
                w.short += 1
                w.short_units += qty - on_hand
                stockouts.append(i)
                if w.lost_sales:
                    w.lost += qty - on_hand
                    w.lost_since = True
                else:
                    w.backorders += qty - on_hand
                    w.backordered += qty - on_hand
            if log is not None:
                log.append((t, "demand", w.name, qty, w.on_hand, w.backorders))
            if review is not None:
                want = review(i, w.on_hand - w.backorders + w.on_order)
                if want > 0 or log is not None:
                    self.order(k, w, i, t, want)
                    if self.lines:
                        self.flush(t)

    def close(self, k: int, y: int, now: float) -> None:
        """Close day index y of an overbuying SKU: write-offs, observed demand, campaign stops.

        Lots whose last day was y are written off (expired); from the end of life
        on, all stock is (dead). Then the day's demand joins the history a learned
        forecast reads, and a campaign with ``stop_below`` stops when on-hand is
        below it.
        """
        w = self.warehouses[k]
        x = self.extra[k]
        if now >= x.eol:
            w.write_off(now, dead=True)
        elif w.lots:
            w.write_off(now, dead=False)
        if x.history is not None:
            x.history.append(w.today)
        w.today = 0.0
        x.count = 0
        for n, (a, b, _, below) in enumerate(x.stops):
            if a <= y < b and w.on_hand < below:
                x.stopped[n] = True

    def order(self, k: int, w: Warehouse, i: int, now: float, qty: float) -> None:
        """Put SKU k's line for ``qty`` units on the purchase orders being written at ``now``.

        The need becomes whole packs of at least the MOQ
        (:func:`~simulator.model.purchasing.order_units`) and goes to the primary
        supplier, or partly or wholly to the backup when :meth:`expedite` says
        so. :meth:`flush` then places one purchase order per supplier. The
        clock calls this only when there is something to order or to log.
        """
        if self.log is not None:
            self.log.append((now, "review", w.name, qty, w.on_hand, w.position))
        if qty <= 0:
            return
        rule = self.buying[k]
        qty = order_units(qty, rule)
        solo = self.solo[k]
        if solo is not None:  # the only SKU of its supplier: its own purchase order, at once
            if self.place(k, self.routes[k], qty, now):
                w.order_cost += solo
                w.spent += solo
                w.pos += 1.0
            return
        backup = self.backups[k]
        if backup is None:
            route = self.routes[k]
            name = route.state.name
            if name in self.lines:
                self.lines[name].append((k, route, qty, False))
            else:
                self.lines[name] = [(k, route, qty, False)]
            return
        fast = self.expedite(k, i, now, qty)
        if fast > 0:
            fast = min(order_units(fast, rule), qty)
            self.lines.setdefault(backup.state.name, []).append((k, backup, fast, True))
            qty = order_units(qty - fast, rule) if qty > fast else 0.0
        if qty > 0:
            route = self.routes[k]
            self.lines.setdefault(route.state.name, []).append((k, route, qty, False))

    def flush(self, now: float, i: int | None = None) -> None:
        """Place the lines written at ``now`` as one purchase order per supplier.

        At a periodic review (day index ``i``), every other SKU of the supplier whose
        policy has a can-order level at or above its IP joins the order
        (:meth:`~simulator.model.policies.FixedLots.join`). Lines keep their turn (SKU id
        order) on the order; a purchase order below
        the supplier's minimum value is topped up
        (:func:`~simulator.model.purchasing.purchase_order`). The supplier's order
        cost is paid once per purchase order and split equally over the lines
        it accepted, plus its line cost per line; an order the supplier
        refuses (an outage) costs nothing.
        """
        lines, self.lines = self.lines, {}
        for name, items in lines.items():
            order_cost, line_cost, min_value = self.terms[name]
            if len(items) == 1 and not min_value and not self.joiners:  # one line, as is
                k, route, q, fast = items[0]
                if self.place(k, route, q, now, fast):
                    w = self.warehouses[k]
                    w.order_cost += order_cost + line_cost
                    w.spent += order_cost + line_cost
                    w.pos += 1.0
                continue
            if i is not None and name in self.joiners:
                items = self.joined(i, items, self.joiners[name])
            if min_value > 0:
                qtys = purchase_order(
                    [q for _, _, q, _ in items], [self.buying[k] for k, _, _, _ in items], min_value
                )
                items = [(k, r, q, e) for (k, r, _, e), q in zip(items, qtys, strict=True)]
            placed = [k for k, route, q, fast in items if self.place(k, route, q, now, fast)]
            if placed:
                cost = line_costs(order_cost, line_cost, len(placed))
                share = 1.0 / len(placed)
                for k in placed:
                    w = self.warehouses[k]
                    w.order_cost += cost
                    w.spent += cost
                    w.pos += share

    def joined(self, i: int, items: list[tuple], members: list[int]) -> list[tuple]:
        """Add the lines of SKUs that join a purchase order at their can-order level."""
        on = {k for k, _, _, _ in items}
        for k in members:
            if k in on:
                continue
            w = self.warehouses[k]
            want = self.policies[k].join(i, w.on_hand - w.backorders + w.on_order)
            if want > 0:
                items.append((k, self.routes[k], order_units(want, self.buying[k]), False))
        rank = {k: r for r, k in enumerate(self.turns)}
        return sorted(items, key=lambda item: rank[item[0]])

    def place(self, k: int, route: Route, qty: float, now: float, expedite: bool = False) -> bool:
        """Send one line down a route; return whether the supplier took it (not refused)."""
        w = self.warehouses[k]
        parts = route.ship(qty, now)
        if parts is not None and route.quality is not None:
            parts = self.inspect(k, w, route, parts)
        if self.log is not None:
            kind = "refused" if parts is None else ("expedite" if expedite else "order")
            self.log.append((now, kind, w.name, qty, route.state.name, parts))
        if parts is None:
            return False
        state = route.state
        pay_later = state.pay_on_receipt
        if w.planned is None and not pay_later:  # Warehouse.expect written out: the hot path
            for arrival, q, _, _ in parts:
                w._seq += 1
                heappush(w.pipeline, (arrival, w._seq, q))
                w.on_order += q
        else:
            for arrival, q, _, expected in parts:
                w.expect(arrival, q, self.planned_arrival(k, expected, expedite))
                if pay_later:
                    w.due[w._seq] = q * self.unit_costs[k] * (1 + state.premium)
        if not pay_later:
            w.spent += qty * self.unit_costs[k] * (1 + state.premium)
        w.placed += 1
        w.ordered += qty
        if expedite:
            w.expedite += qty * self.unit_costs[k] * state.premium
        return True

    def inspect(self, k: int, w: Warehouse, route: Route, parts: list[tuple]) -> list:
        """Inspection of each shipment: it can be sold ``inspection_days`` after it lands.

        One uniform per shipment from the route's quality stream decides whether
        it fails (then it is returned when the inspection ends: the shipment's
        sequence number, the next ones the warehouse will give, is marked).
        """
        rate, days, draws = route.quality
        out = []
        seq = w._seq
        for arrival, q, shipped, expected in parts:
            seq += 1
            if next(draws) < rate:
                premium = route.state.premium
                w.rejects[seq] = q * self.unit_costs[k] * (1 + premium)
            out.append((arrival + days, q, shipped, expected))
        return out

    def planned_arrival(self, k: int, shipped: float, expedite: bool) -> float:
        """When the planner expects a shipment it expects to leave the supplier at ``shipped``.

        The expected ship date (capacity and announced outages, see
        :meth:`Route.ship`) and the mean lead time, with the announced calendar
        (the plan's expected arrival) for the primary; never the realised lead
        time nor a random outage.
        """
        plan = self.plans[k]
        if expedite:
            return shipped + plan.backup_lead
        day = math.floor(shipped)
        idx = day - plan.first_day
        if 0 <= idx < plan.arrival.size:
            return float(plan.arrival[idx]) + (shipped - day)
        return shipped + plan.lead_mean

    def expedite(self, k: int, i: int, now: float, qty: float) -> float:
        """Units of an order to take from the backup supplier (0 when the primary will do).

        All of it when the primary is down now; otherwise the shortfall when the
        stock (with what is planned to land before a primary order could) runs
        out before a primary order would land and the backup is faster. The
        planner sees each open shipment's *planned* landing, never the realised
        one; a shipment past its planned date that has not landed is late and
        is not counted on.
        """
        primary = self.routes[k].state
        if primary.outage_at(now) is not None:
            return qty
        plan = self.plans[k]
        delay = float(plan.arrival[i]) - (self.scenario.first_day + i)
        if plan.backup_lead is None or delay <= plan.backup_lead:
            return 0.0
        w = self.warehouses[k]
        horizon = now + delay
        landing = sum(q for planned, q in w.planned.values() if now <= planned <= horizon)
        need = plan.forecast(i, delay)
        short = need - (w.on_hand - w.backorders + landing)
        return min(qty, short) if short > 0 else 0.0

    def clock(self):
        """Drive the days: close yesterday (record it), review, then serve today's demand.

        One SimPy event per day drives every SKU. Each SKU's day is closed and
        reviewed in one pass (SKUs do not interact there), then the customer
        orders are served SKU by SKU: a process per SKU would only wake at the
        same instants, in the same order. The steps are written out here, with
        the per-SKU state looked up once, because this loop is where a run
        spends its time (docs/profiling.md).
        """
        env = self.env
        log = self.log
        first = self.scenario.first_day
        n = self.scenario.n_days
        once = n + 1  # a "period" that reviews on the first day only
        books, sellers = [], []
        for k in self.turns:
            w, p, d, path = self.warehouses[k], self.policies[k], self.demand[k], self.paths[k]
            continuous = p.review if p.continuous else None  # reviews after each customer order
            books.append(
                (k, w, w.pipeline, *path[:3], path[4], path[5], p.review,
                 once if continuous else p.period, self.extra[k] is not None)
            )  # fmt: skip
            sellers.append((k, w, w.pipeline, d.orders, path[3], continuous,
                            self.extra[k] is not None))  # fmt: skip
        interleave = self.interleave
        for i in range(n + 1):
            day = first + i
            yield At(env, 1 if i else 0, CLOSE)  # the clock starts at the first day
            now = float(day)
            for (k, w, pipe, on_hand, backorders, on_order, shipped, spent, review, period,
                 extra) in books:  # fmt: skip
                # 1. Close yesterday: receipts due before now, then record the day.
                if i:
                    y = i - 1
                    if pipe and pipe[0][0] < now:
                        w.receive_until(now, inclusive=False)
                    if extra:
                        self.close(k, y, now)
                    on_hand[y] = w.on_hand
                    backorders[y] = w.backorders
                    on_order[y] = w.on_order
                    shipped[y] = w.served + w.filled
                    spent[y] = w.spent
                    if log is not None:
                        log.append((now, "close", w.name, w.on_order, w.on_hand, w.backorders))
                if day == 0:
                    w.settle(now)
                    # Served units restart from 0, so the measured ones are summed in the
                    # demand's order and never exceed it (see DemandPath).
                    w.served_before, w.served = w.served, 0.0
                    self.start[k] = _counters(w)
                    if extra:
                        self.start_extra[k] = (w.expired, w.dead, w.rejected, w.dem_units,
                                               w.dem_orders, w.goodwill_lost)  # fmt: skip
                # 2. Review: every policy on the first day, periodic ones every R days.
                if i % period == 0 and i < n:
                    qty = review(i, w.on_hand - w.backorders + w.on_order)
                    if qty > 0 or log is not None:
                        self.order(k, w, i, now, qty)
            if self.lines:
                self.flush(now, i)
            if i == n:
                return
            # 3. Serve the day's customer orders, SKU by SKU, each SKU's in time order
            #    (or all in time order, when SKUs share a capacity).
            for k, w, pipe, orders, stockouts, review, extra in (
                _interleaved(sellers, i) if interleave else sellers
            ):
                if extra:
                    self.serve(k, i, orders[i], stockouts, review)
                    continue
                for t, qty in orders[i]:
                    if pipe and pipe[0][0] <= t:
                        w.receive_until(t, inclusive=True)
                    on_hand = w.on_hand
                    if qty <= on_hand:
                        if qty > 0:
                            w.area += on_hand * (t - w.t_last)
                            w.t_last = t
                            w.on_hand = on_hand - qty
                            w.served += qty
                    else:  # a stockout: ship what is there, backorder or lose the rest
                        w.area += on_hand * (t - w.t_last)
                        w.t_last = t
                        w.served += on_hand
                        w.on_hand = 0.0
                        w.short += 1
                        stockouts.append(i)
                        if w.lost_sales:
                            w.lost += qty - on_hand
                            w.lost_since = True
                        else:
                            w.backorders += qty - on_hand
                            w.backordered += qty - on_hand
                    if log is not None:
                        log.append((t, "demand", w.name, qty, w.on_hand, w.backorders))
                    if review is not None:  # continuous review after every customer order
                        want = review(i, w.on_hand - w.backorders + w.on_order)
                        if want > 0 or log is not None:
                            self.order(k, w, i, t, want)
                            if self.lines:  # a purchase order per trigger
                                self.flush(t)

    def run(self) -> list[SkuTrace]:
        """Run the replication to the end of the horizon; return one trace per SKU."""
        self.env.run()
        end = float(self.scenario.first_day + self.scenario.n_days)
        for w in self.warehouses:
            w.settle(end)
        w0 = self.scenario.warmup_days
        n = self.scenario.n_days
        traces = []
        for k, (w, path) in enumerate(zip(self.warehouses, self.paths, strict=True)):
            s = self.start[k]
            sku = self.scenario.skus[k]
            orders, units = self.demand[k].measured
            served_all = w.served_before + w.served
            demand_all = self.demand[k].total[1]
            x = self.extra[k]
            more = None
            if x is not None:
                e0 = self.start_extra[k]
                if x.thin is not None:  # a thinned path: the demand its customers placed
                    units, orders = w.dem_units - e0[3], w.dem_orders - e0[4]
                    demand_all = w.dem_units
                leftover = self.scenario.leftover
                more = {
                    "expired_units": w.expired - e0[0],
                    "obsolete_units": w.dead - e0[1],
                    "rejected_units": w.rejected - e0[2],
                    "goodwill_lost_units": w.goodwill_lost - e0[5],
                    "on_hand_end": w.on_hand,
                    "demand_after": self.demand[k].after,
                    "leftover_in_total_cost": leftover is not None and leftover.in_total_cost,
                }
            traces.append(
                SkuTrace(
                    on_hand=np.array(path[0][w0:], dtype=float),
                    backorders=np.array(path[1][w0:], dtype=float),
                    on_order=np.array(path[2][w0:], dtype=float),
                    stockout=_mask(path[3], n)[w0:],
                    demand_units=units,
                    served_units=w.served,
                    backordered_units=w.backordered - s[1],
                    lost_units=w.lost - s[2],
                    customer_orders=orders,
                    complete_orders=orders - (w.short - s[3]),
                    orders_placed=w.placed - s[4],
                    ordered_units=w.ordered - s[5],
                    on_hand_area=w.area - s[6],
                    shipped_units=w.served + w.filled - s[7],
                    ordering_cost=w.order_cost - s[8],
                    expedite_cost=w.expedite - s[9],
                    cycles=w.cycles - s[10],
                    cycles_short=w.cycles_short - s[11],
                    purchase_orders=w.pos - s[12],
                    shipped=np.diff(np.array(path[4][w0:]), prepend=s[7]),
                    spent=np.diff(np.array(path[5][w0:]), prepend=s[13]),
                    ledger={
                        "initial": sku.initial_on_hand,
                        "received": w.received,
                        "shipped": served_all + w.filled,
                        "lost": w.lost,
                        "backorders_end": w.backorders,
                        "on_hand_end": w.on_hand,
                        "demand": demand_all,
                        "served": served_all,
                        "backordered": w.backordered,
                        **({"expired": w.expired, "dead": w.dead, "rejected": w.rejected}
                           if x is not None else {}),
                    },
                    extra=more,
                )
            )
        return traces


def _interleaved(sellers: list[tuple], i: int) -> list[tuple]:
    """Day i's customer orders of every SKU in time order, as runs of one SKU's orders.

    Each run is a seller whose orders are ``{i: that run's orders}``, so the
    clock serves it as it serves a seller. Ties keep the sellers' order (SKU id
    order).
    """
    merged = sorted(
        (t, rank, q) for rank, seller in enumerate(sellers) for t, q in seller[3][i]
    )
    runs: list[tuple] = []
    last = -1
    for t, rank, q in merged:
        if rank == last:
            runs[-1][3][i].append((t, q))
        else:
            k, w, pipe, _, stockouts, review, extra = sellers[rank]
            runs.append((k, w, pipe, {i: [(t, q)]}, stockouts, review, extra))
            last = rank
    return runs


def _mask(days: list[int], n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[days] = True
    return out


def _counters(w: Warehouse) -> tuple:
    return (
        w.served, w.backordered, w.lost, w.short, w.placed,
        w.ordered, w.area, w.filled, w.order_cost, w.expedite,
        w.cycles, w.cycles_short, w.pos, w.spent,
    )  # fmt: skip


def make_plans(scenario: Scenario) -> list[Plan]:
    """Build the planner's view of every SKU (forecasts, lead-time moments, ABC class).

    The plan's class is the default ABC class (80 % / 15 %); a hybrid policy
    classifies with its own shares when it is built (:func:`build_policies`).
    """
    classes = abc_classes(scenario)
    longest = max(
        max(getattr(p, "cover_days", 0.0), p.review_every_days) for p in scenario.policies.values()
    )
    lead = max(s.lead_time.mean for s in scenario.suppliers.values())
    lookahead = int(math.ceil(3 * lead + longest)) + 400
    if scenario.leftover is not None:  # excess_units_end looks this far past the horizon
        lookahead = max(lookahead, scenario.leftover.excess_days)
    return [make_plan(scenario, s, classes[s.id], lookahead) for s in scenario.skus]


def build_policies(scenario: Scenario, plans: list[Plan]) -> dict[str, list[Policy]]:
    """Build every policy of the scenario for every SKU (policies hold no run state).

    Each policy is built from its own spec alone (its ABC classes included),
    so its decisions are the same whichever other policies run beside it.
    """
    out = {}
    for name, spec in scenario.policies.items():
        classes = policy_classes(scenario, spec)
        out[name] = [build_policy(spec, plan, classes[plan.sku.id]) for plan in plans]
    return out


def simulate(
    scenario: Scenario,
    policies: list[Policy],
    demand: list[DemandPath],
    streams: Streams,
    log: list | None = None,
    plans: list[Plan] | None = None,
) -> list[SkuTrace]:
    """Run one replication of ``scenario`` with one built policy per SKU.

    ``log``, when given, receives ``(time, kind, sku, qty, on_hand, x)`` tuples for
    every review (x = inventory position), receipt, customer order and day close
    (x = backorders; for a close, qty is the on-order quantity).
    """
    plans = plans if plans is not None else make_plans(scenario)
    return Replication(scenario, plans, policies, demand, streams, log).run()
