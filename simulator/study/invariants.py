"""Invariants of a replication and of a runs table, checked after the fact.

This module is a leaf: it reads what the model and the metrics produced (the
:class:`~simulator.model.replication.SkuTrace` of each SKU, the model's event log, the
``runs`` table) and returns a list of violations, one line each, empty when
everything holds. It imports nothing from the model, so the model never
depends on it and it can check any engine that produces the same traces.

What is checked
---------------

:func:`check_traces` (one replication × one policy):

* **units are conserved** per SKU over the whole run (the trace's ledger):
  initial + received = shipped + on-hand at the end (+ expired + obsolete +
  rejected, in overbuying scenarios: received counts a rejected shipment, which
  is returned); demand = served + backordered + lost; backordered = filled from
  receipts + still waiting;
* **nothing is negative**: on-hand, backorders and on-order on every day (and,
  with a log, after every event);
* **unmet demand** follows the scenario: no backorders under ``lost_sale``, no
  lost units under ``backorder``;
* **backorders are served first in first out** (with a log, see below);
* **IP = on-hand − backorders + on-order at every review** (with a log);
* the measured counters of the trace (demand, served, backordered, lost,
  customer orders, complete orders, purchase orders, ordered units, stockout
  days, the time-weighted on-hand) equal the same quantities recomputed from
  the log, and each day-end state in the log equals the trace's daily paths;
* **shipments**: every receipt is a shipment some purchase order announced,
  none lands before it was ordered, none lands inside a port closure of its
  supplier, every shipment due before the end of the run was received,
  shipments of a ``deliver_in_order`` supplier never overtake, and an order
  placed inside a scheduled supplier outage is refused (``refuse``) or lands
  after the outage (``queue``).

What the log shows, and so what "FIFO" can mean here
-----------------------------------------------------

The model keeps backorders as one number per SKU, not a queue of customer
orders, and its log has one entry per event: ``(time, kind, sku, qty,
on_hand, x)`` where ``kind`` is ``review`` (x = the inventory position the
policy saw), ``receive`` and ``demand`` (on-hand and backorders after the
event), ``close`` (qty = on-order; on-hand and backorders at the end of the
day), ``order``/``expedite``/``refused`` (on_hand = the supplier's name, x =
the shipments as ``[(arrival, units)]``, None when refused). Entries of one
SKU are in time order; receipts are logged at their exact arrival time (the
model applies them lazily, before the next customer order or day close).

Which waiting customer a receipt serves is therefore not recorded, and any
allocation of an aggregate gives the same numbers. What *is* observable, and
what FIFO service implies, is checked by replaying the log against a FIFO
queue of backordered customer orders:

1. a receipt fills backorders before anything goes to stock: after it,
   on-hand rises by ``max(qty − backorders, 0)`` and backorders fall by
   ``min(qty, backorders)``;
2. no customer order jumps the queue: a customer who arrives while earlier
   ones wait is not served from stock, which holds exactly when stock and
   backorders are never both positive;
3. every logged state equals the replay's, so the queue's total equals the
   model's backorders after every event.

:func:`backorder_waits` returns, from the same replay, when each backordered
customer order was filled under FIFO (for reports and teaching).

:func:`check_runs` (a runs table): costs ≥ 0 and total = the sum of its parts;
ratio metrics in [0, 1] or NaN; every replication × policy has each SKU once
and one portfolio row ``ALL`` equal to the recomputation from the SKU rows
(sums of units, costs and cash; ratios recomputed from the sums; union-of-days
rates bounded by the SKU rates).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulator.data.scenario import PortClosure, Scenario, SupplierOutage
from simulator.model.purchasing import buying

__all__ = [
    "COST_COLUMNS",
    "RATIO_COLUMNS",
    "SUM_COLUMNS",
    "Violations",
    "backorder_waits",
    "check_runs",
    "check_traces",
]

REL = 1e-7
"""Relative tolerance of float comparisons (sums of many floats in another order)."""
ABS = 1e-6
"""Absolute tolerance, in units, on top of the relative one."""
MAX_PER_CHECK = 3
"""Report at most this many occurrences of one check for one SKU (then a count)."""

RATIO_COLUMNS = (
    "fill_rate",
    "order_fill_rate",
    "stockout_rate",
    "any_stockout_rate",
    "p_backorder_end",
    "cycle_service_level",
)
"""Metrics that are ratios and must lie in [0, 1] (or be NaN when undefined)."""
COST_COLUMNS = ("holding_cost", "ordering_cost", "shortage_cost", "expedite_cost", "total_cost")
"""Cost metrics: never negative; total = holding + ordering + shortage + expedite."""
SUM_COLUMNS = (
    "demand_units",
    "served_units",
    "lost_units",
    "backordered_units",
    *COST_COLUMNS,
    "avg_on_hand",
    "avg_on_hand_time",
    "avg_backorders",
    "cash_tied_up",
    "cash_in_pipeline",
    "orders_placed",
    "customer_orders",
)
"""Portfolio columns that are the sum of the SKU rows."""
_NON_NEGATIVE = (
    "avg_on_hand",
    "avg_on_hand_time",
    "avg_backorders",
    "demand_units",
    "served_units",
    "lost_units",
    "backordered_units",
    "cash_tied_up",
    "cash_tied_up_peak",
    "cash_in_pipeline",
    "days_of_inventory",
    "orders_placed",
    "avg_order_qty",
    "customer_orders",
)


def _close(a: float, b: float, scale: float = 0.0) -> bool:
    """Whether ``a`` and ``b`` agree within the tolerance (False when either is NaN)."""
    tol = ABS + REL * max(abs(a), abs(b), abs(scale))
    return bool(abs(a - b) <= tol)


class Violations:
    """Collects violation lines, keeping a few of each kind and counting the rest."""

    def __init__(self, limit: int = MAX_PER_CHECK) -> None:
        self.limit = limit
        self._lines: list[str] = []
        self._count: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, where: str, check: str, detail: str) -> None:
        """Record one violation of ``check`` at ``where`` (e.g. ``policy p, SKU X``)."""
        key = (where, check)
        self._count[key] += 1
        if self._count[key] <= self.limit:
            self._lines.append(f"{where}: {check}: {detail}")

    def lines(self) -> list[str]:
        """Return the violations, one line each, with a count line for those cut short."""
        extra = [
            f"{where}: {check}: ... {n - self.limit} more"
            for (where, check), n in self._count.items()
            if n > self.limit
        ]
        return self._lines + extra


# --------------------------------------------------------------------------- traces


def check_traces(
    scenario: Scenario,
    traces: Sequence[Any],
    log: Iterable[tuple] | None = None,
    where: str = "",
) -> list[str]:
    """Check one replication under one policy; return the violations (empty when all hold).

    Args:
        scenario: the scenario that was simulated.
        traces: one :class:`~simulator.model.replication.SkuTrace` per SKU, in scenario order.
        log: the event log the model filled (``simulate(..., log=[])``); without
            it only the checks that need no log are made.
        where: a prefix for every line (e.g. ``"replication 3, policy jit"``).

    Returns:
        One line per violation, ``"<where>SKU <id>: <check>: <detail>"``.

    """
    out = Violations()
    if len(traces) != len(scenario.skus):
        out.add(
            where or "replication",
            "one trace per SKU",
            f"{len(traces)} traces for {len(scenario.skus)} SKUs",
        )
        return out.lines()
    entries: dict[str, list[tuple]] = {s.id: [] for s in scenario.skus}
    if log is not None:
        for e in log:
            if e[2] in entries:
                entries[e[2]].append(e)
            else:
                out.add(where or "log", "entry names a SKU of the scenario", repr(e))
    for sku, tr in zip(scenario.skus, traces, strict=True):
        label = f"{where + ', ' if where else ''}SKU {sku.id}"
        _check_trace(scenario, sku, tr, label, out)
        if log is not None:
            _check_log(scenario, sku, tr, entries[sku.id], label, out)
    return out.lines()


def _check_trace(scenario: Scenario, sku: Any, tr: Any, label: str, out: Violations) -> None:
    """Check what needs only the trace: ledger, signs, the unmet-demand rule."""
    led = tr.ledger
    scale = led["demand"] + led["received"] + led["initial"]
    if "expired" in led:  # overbuying: stock also leaves by expiry, end of life, rejection
        gone = led["expired"] + led["dead"] + led["rejected"]
        if not _close(led["initial"] + led["received"], led["shipped"] + led["on_hand_end"] + gone,
                      scale):  # fmt: skip
            out.add(
                label,
                "units conserved (initial + received = shipped + on-hand at end + expired + "
                "obsolete + rejected)",
                f"{led['initial']} + {led['received']} != {led['shipped']} + "
                f"{led['on_hand_end']} + {led['expired']} + {led['dead']} + {led['rejected']}",
            )
    elif not _close(led["initial"] + led["received"], led["shipped"] + led["on_hand_end"], scale):
        out.add(
            label,
            "units conserved (initial + received = shipped + on-hand at end)",
            f"{led['initial']} + {led['received']} != {led['shipped']} + {led['on_hand_end']}",
        )
    if not _close(led["demand"], led["served"] + led["backordered"] + led["lost"], scale):
        out.add(
            label,
            "demand conserved (demand = served + backordered + lost)",
            f"{led['demand']} != {led['served']} + {led['backordered']} + {led['lost']}",
        )
    filled = led["shipped"] - led["served"]
    if not _close(led["backordered"], filled + led["backorders_end"], scale):
        out.add(
            label,
            "backorders conserved (backordered = filled + waiting at end)",
            f"{led['backordered']} != {filled} + {led['backorders_end']}",
        )
    horizon = scenario.horizon_days
    for name in ("on_hand", "backorders", "on_order"):
        path = np.asarray(getattr(tr, name), dtype=float)
        if path.shape != (horizon,):
            out.add(
                label,
                f"{name} has one value per measured day",
                f"shape {path.shape}, horizon {horizon}",
            )
            continue
        bad = np.flatnonzero(~(path >= -ABS))  # NaN counts as a violation
        for d in bad[: out.limit]:
            out.add(label, f"{name} never negative", f"day {d}: {path[d]}")
    if len(tr.stockout) != horizon:
        out.add(label, "stockout has one flag per measured day", f"{len(tr.stockout)} flags")
    on_hand = np.asarray(tr.on_hand, dtype=float)
    backorders = np.asarray(tr.backorders, dtype=float)
    if on_hand.shape == backorders.shape:
        both = np.flatnonzero((on_hand > ABS) & (backorders > ABS))
        for d in both[: out.limit]:
            out.add(
                label,
                "no stock while backorders wait (FIFO: receipts fill backorders first)",
                f"day {d}: on-hand {on_hand[d]}, backorders {backorders[d]}",
            )
    if scenario.unmet_demand == "lost_sale":
        if led["backordered"] > ABS or np.any(backorders > ABS):
            out.add(label, "no backorders under lost_sale", f"backordered {led['backordered']}")
    elif led["lost"] > ABS:
        out.add(label, "no lost sales under backorder", f"lost {led['lost']}")
    measured = tr.demand_units
    if not _close(measured, tr.served_units + tr.backordered_units + tr.lost_units, scale):
        out.add(
            label,
            "measured demand = served + backordered + lost",
            f"{measured} != {tr.served_units} + {tr.backordered_units} + {tr.lost_units}",
        )
    for name in (
        "demand_units",
        "served_units",
        "backordered_units",
        "lost_units",
        "ordered_units",
        "on_hand_area",
        "ordering_cost",
        "expedite_cost",
        "customer_orders",
        "complete_orders",
        "orders_placed",
    ):
        value = getattr(tr, name)
        if not (value >= -ABS and math.isfinite(value)):
            out.add(label, f"{name} finite and >= 0", f"got {value}")
    if tr.complete_orders > tr.customer_orders:
        out.add(
            label,
            "complete orders <= customer orders",
            f"{tr.complete_orders} > {tr.customer_orders}",
        )
    if tr.served_units > tr.demand_units + ABS + REL * scale:
        out.add(label, "served <= demanded", f"{tr.served_units} > {tr.demand_units}")
    if tr.shipped_units < tr.served_units - ABS - REL * scale:
        out.add(label, "shipped >= served", f"{tr.shipped_units} < {tr.served_units}")


class _Replay:
    """One SKU's stock replayed from its log entries, with a FIFO queue of backorders."""

    def __init__(self, initial: float, lost_sales: bool) -> None:
        self.on_hand = float(initial)
        self.backorders = 0.0
        self.on_order = 0.0
        self.lost_sales = lost_sales
        self.queue: deque[list[float]] = deque()  # [arrival time, units still waiting]
        self.waits: list[tuple[float, float, float]] = []  # (arrival, units, filled at)
        self.scale = abs(self.on_hand)

    def demand(self, t: float, qty: float) -> tuple[float, float, float]:
        """Serve a customer order; return (served, backordered, lost)."""
        self.scale += abs(qty)
        if qty <= self.on_hand:
            self.on_hand -= qty
            return qty, 0.0, 0.0
        served, short = self.on_hand, qty - self.on_hand
        self.on_hand = 0.0
        if self.lost_sales:
            return served, 0.0, short
        self.backorders += short
        self.queue.append([t, short])
        return served, short, 0.0

    def receive(self, t: float, qty: float) -> float:
        """Apply a receipt: fill the oldest backorders first, the rest to stock."""
        self.scale += abs(qty)
        self.on_order -= qty
        fill = qty if qty < self.backorders else self.backorders
        if fill > 0:
            self.backorders -= fill
            left = fill
            while self.queue and left > 0:
                head = self.queue[0]
                take = min(head[1], left)
                head[1] -= take
                left -= take
                if head[1] <= ABS + REL * self.scale:
                    self.queue.popleft()
                    self.waits.append((head[0], 0.0, t))
        self.on_hand += qty - fill
        return fill


def _check_log(
    scenario: Scenario, sku: Any, tr: Any, entries: list[tuple], label: str, out: Violations
) -> None:
    """Replay one SKU's log and compare it with the model's states and the trace."""
    rp = _Replay(sku.initial_on_hand, scenario.unmet_demand == "lost_sale")
    whole = scenario.units == "whole"
    end = float(scenario.first_day + scenario.n_days)
    horizon = scenario.horizon_days
    pending: dict[tuple[float, float], list[tuple[str, float]]] = defaultdict(list)
    last_arrival: dict[tuple[str, str], float] = {}
    closures, outages = _windows(scenario)
    # Measured-window counters recomputed from the log.
    demand = served = backordered = lost = ordered = area = 0.0
    customers = complete = placed = 0
    stockout_days: set[int] = set()
    t_area = 0.0
    last_t = -math.inf
    for o in sku.open_orders:  # placed before the run: in the pipeline from the start
        pending[(float(scenario.day_of(o.arrives)), float(o.units))].append(("open", -math.inf))
        rp.on_order += o.units
    rule = buying(scenario, sku)

    def same(check: str, t: float, got: float, want: float) -> None:
        if not _close(got, want, rp.scale):
            out.add(label, check, f"t={t:g}: log says {got}, replay gives {want}")

    for e in entries:
        t, kind = float(e[0]), e[1]
        if not t >= last_t:
            out.add(label, "log entries in time order", f"{kind} at t={t:g} after t={last_t:g}")
        last_t = max(last_t, t) if math.isfinite(t) else last_t
        measured = t >= 0
        if kind in ("receive", "demand", "expire", "dead") and measured and t > t_area:
            area += rp.on_hand * (min(t, horizon) - t_area)
            t_area = t
        if kind == "demand":
            qty = e[3]
            s, b, lo = rp.demand(t, qty)
            if measured:
                demand += qty
                served += s
                backordered += b
                lost += lo
                customers += qty > 0  # an order of zero units is no order
                complete += qty > 0 and b == 0 and lo == 0
                if b > 0 or lo > 0:
                    stockout_days.add(math.floor(t))
            same("on-hand after a customer order", t, e[4], rp.on_hand)
            same(
                "backorders after a customer order (FIFO: no queue jumping)", t, e[5], rp.backorders
            )
        elif kind == "receive":
            qty = e[3]
            key = (t, qty)
            if pending[key]:
                supplier, placed_at = pending[key].pop(0)
                for a, b in closures.get(supplier, ()):
                    if a <= t < b:
                        out.add(
                            label,
                            "nothing lands inside a port closure",
                            f"{qty} units from {supplier} at t={t:g} in [{a}, {b})",
                        )
            else:
                out.add(
                    label,
                    "every receipt was announced by a purchase order",
                    f"{qty} units at t={t:g}",
                )
            rp.receive(t, qty)
            same("on-hand after a receipt (receipts fill backorders first)", t, e[4], rp.on_hand)
            same(
                "backorders after a receipt (receipts fill backorders first)",
                t,
                e[5],
                rp.backorders,
            )
        elif kind == "reject":  # a shipment failed inspection: returned, never in stock
            qty = e[3]
            if pending[(t, qty)]:
                pending[(t, qty)].pop(0)
            else:
                out.add(label, "every rejected shipment was announced by a purchase order",
                        f"{qty} units at t={t:g}")  # fmt: skip
            rp.on_order -= qty
            rp.scale += abs(qty)
            same("on-hand after a rejection (unchanged)", t, e[4], rp.on_hand)
        elif kind in ("expire", "dead"):  # written off at a day close
            qty = e[3]
            if not (0 < qty <= rp.on_hand + ABS + REL * rp.scale):
                out.add(label, "a write-off takes at most the stock on hand",
                        f"t={t:g}: {qty} of {rp.on_hand}")  # fmt: skip
            if t != math.floor(t):
                out.add(label, "write-offs happen at a day close", f"t={t:g}")
            rp.on_hand -= qty
            same("on-hand after a write-off", t, e[4], rp.on_hand)
        elif kind == "review":
            qty, ip = e[3], e[5]
            if not (qty >= 0 and math.isfinite(qty)):
                out.add(label, "a review orders a finite quantity >= 0", f"t={t:g}: {qty}")
            same("on-hand seen by a review", t, e[4], rp.on_hand)
            same(
                "IP = on-hand - backorders + on-order at a review",
                t,
                ip,
                rp.on_hand - rp.backorders + rp.on_order,
            )
        elif kind in ("order", "expedite", "refused"):
            qty, supplier, parts = e[3], e[4], e[5]
            outage = _outage_at(outages.get(supplier, ()), t)
            if kind == "refused":
                if parts is not None:
                    out.add(label, "a refused order ships nothing", f"t={t:g}: {parts}")
                if outage is None and not _has_random_outage(scenario, supplier):
                    out.add(
                        label,
                        "orders are refused only during an outage",
                        f"t={t:g}: {qty} units to {supplier}",
                    )
                continue
            if outage is not None and outage[1] and not _has_random_outage(scenario, supplier):
                out.add(
                    label,
                    "an order placed in a 'refuse' outage is refused",
                    f"t={t:g}: {qty} units to {supplier}, outage until {outage[0]}",
                )
            if not (qty > 0 and math.isfinite(qty)):
                out.add(label, "a purchase order is for a finite quantity > 0", f"t={t:g}: {qty}")
            if not qty >= rule.moq:
                out.add(label, "an order line is at least the MOQ", f"t={t:g}: {qty} < {rule.moq}")
            if rule.pack is not None and not _close(qty / rule.pack, round(qty / rule.pack)):
                out.add(
                    label,
                    "an order line is whole packs",
                    f"t={t:g}: {qty} units, packs of {rule.pack:g}",
                )
            total = 0.0
            for arrival, q, *_ in parts:
                total += q
                if not arrival >= t:
                    out.add(
                        label,
                        "no shipment lands before it was ordered",
                        f"ordered t={t:g}, lands {arrival}",
                    )
                if outage is not None and not arrival >= outage[0]:
                    out.add(
                        label,
                        "an order held by an outage lands after it",
                        f"ordered t={t:g}, outage until {outage[0]}, lands {arrival}",
                    )
                if scenario.suppliers[supplier].deliver_in_order:
                    route = (supplier, kind)  # the primary and the backup are two routes
                    prev = last_arrival.get(route, -math.inf)
                    if arrival < prev:
                        out.add(
                            label,
                            "deliver_in_order: no shipment overtakes",
                            f"lands {arrival} after one landing {prev}",
                        )
                    last_arrival[route] = max(prev, arrival)
                pending[(float(arrival), q)].append((supplier, t))
                rp.on_order += q
            if not _close(total, qty, rp.scale):
                out.add(label, "shipments add up to the order", f"t={t:g}: {total} != {qty}")
            if measured:
                placed += 1
                ordered += qty
        elif kind == "close":
            same("on-order at a day close", t, e[3], rp.on_order)
            same("on-hand at a day close", t, e[4], rp.on_hand)
            same("backorders at a day close", t, e[5], rp.backorders)
            d = int(t) - 1  # the close at t ends day t - 1
            if 0 <= d < horizon and d < len(tr.on_hand):
                for name, got in (("on_hand", e[4]), ("backorders", e[5]), ("on_order", e[3])):
                    want = float(getattr(tr, name)[d])
                    if not _close(want, got, rp.scale):
                        out.add(
                            label,
                            f"trace {name} = log at the day close",
                            f"day {d}: trace {want}, log {got}",
                        )
        else:
            out.add(label, "known log entry kind", repr(e))
            continue
        for value, name in (
            (rp.on_hand, "on-hand"),
            (rp.backorders, "backorders"),
            (rp.on_order, "on-order"),
        ):
            if not value >= -ABS - REL * rp.scale:
                out.add(label, f"{name} never negative", f"t={t:g} ({kind}): {value}")
            if whole and value != round(value):
                out.add(label, f"{name} in whole units (units: whole)", f"t={t:g}: {value}")
        # The model's own state (the replay's holds this by construction).
        if kind in ("receive", "demand", "close"):
            oh, bo = e[4], e[5]
            if oh > ABS + REL * rp.scale and bo > ABS + REL * rp.scale:
                out.add(
                    label,
                    "no stock while backorders wait (FIFO: receipts fill them first, "
                    "no customer jumps the queue)",
                    f"t={t:g} ({kind}): on-hand {oh}, backorders {bo}",
                )
    if horizon > t_area:
        area += rp.on_hand * (horizon - max(t_area, 0.0))
    # Whatever was due before the end of the run must have been received.
    left = [(a, q) for (a, q), who in pending.items() for _ in who]
    due = [(a, q) for a, q in left if a < end]
    if due:
        out.add(
            label,
            "every shipment due before the end is received",
            f"{len(due)} not received, first {min(due)}",
        )
    if not _close(sum(q for _, q in left), rp.on_order, rp.scale):
        out.add(
            label,
            "on-order = shipments not yet received",
            f"{rp.on_order} != {sum(q for _, q in left)}",
        )
    led = tr.ledger
    for name, want in (("on_hand_end", rp.on_hand), ("backorders_end", rp.backorders)):
        if not _close(led[name], want, rp.scale):
            out.add(label, f"ledger {name} = replay", f"{led[name]} != {want}")
    for name, want in (
        ("demand_units", demand),
        ("served_units", served),
        ("backordered_units", backordered),
        ("lost_units", lost),
        ("ordered_units", ordered),
        ("on_hand_area", area),
    ):
        got = getattr(tr, name)
        if not _close(got, want, rp.scale * max(horizon, 1)):
            out.add(label, f"trace {name} = log", f"trace {got}, log {want}")
    for name, want in (
        ("customer_orders", customers),
        ("complete_orders", complete),
        ("orders_placed", placed),
    ):
        if getattr(tr, name) != want:
            out.add(label, f"trace {name} = log", f"trace {getattr(tr, name)}, log {want}")
    days = set(np.flatnonzero(np.asarray(tr.stockout)).tolist())
    if days != stockout_days:
        diff = sorted(days ^ stockout_days)[:5]
        out.add(
            label,
            "trace stockout days = days with a short customer order in the log",
            f"differ on days {diff}",
        )


def _windows(
    scenario: Scenario,
) -> tuple[dict[str, list[tuple[int, int]]], dict[str, list[tuple[int, int, str]]]]:
    """Scheduled port closures and supplier outages per supplier, as day numbers."""
    closures: dict[str, list[tuple[int, int]]] = defaultdict(list)
    outages: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for name, sup in scenario.suppliers.items():
        for d in sup.disruptions:
            if isinstance(d, PortClosure):
                closures[name].append((scenario.day_of(d.start), scenario.day_of(d.end)))
            elif isinstance(d, SupplierOutage):
                outages[name].append((scenario.day_of(d.start), scenario.day_of(d.end), d.mode))
    return closures, outages


def _outage_at(outages: Iterable[tuple[int, int, str]], t: float) -> tuple[float, bool] | None:
    """Scheduled outages in force at ``t``: (latest end, whether every one refuses), or None."""
    covering = [(b, mode) for a, b, mode in outages if a <= t < b]
    if not covering:
        return None
    return float(max(b for b, _ in covering)), all(mode == "refuse" for _, mode in covering)


def _has_random_outage(scenario: Scenario, supplier: str) -> bool:
    return any(d.kind == "random_outage" for d in scenario.suppliers[supplier].disruptions)


def backorder_waits(scenario: Scenario, log: Iterable[tuple]) -> dict[str, list[tuple]]:
    """When each backordered customer order was filled, under FIFO, from an event log.

    Returns ``{sku: [(arrived, filled_at), ...]}`` for the backordered customer
    orders filled during the run, oldest first (FIFO makes the fill times
    non-decreasing). Orders still waiting at the end are left out.
    """
    replays = {
        s.id: _Replay(s.initial_on_hand, scenario.unmet_demand == "lost_sale")
        for s in scenario.skus
    }
    for e in log:
        rp = replays.get(e[2])
        if rp is None:
            continue
        if e[1] == "demand":
            rp.demand(float(e[0]), e[3])
        elif e[1] == "receive":
            rp.receive(float(e[0]), e[3])
        elif e[1] in ("order", "expedite"):
            rp.on_order += sum(p[1] for p in e[5])
    return {k: [(a, f) for a, _, f in rp.waits] for k, rp in replays.items()}


# --------------------------------------------------------------------------- runs


def check_runs(runs: pd.DataFrame, scenario: Scenario) -> list[str]:
    """Check a runs table (``RunResult.runs`` or ``runs.parquet``); return the violations.

    Checks costs (never negative; total = holding + ordering + shortage +
    expedite), ratios (in [0, 1] or NaN), other non-negative metrics, that
    every replication × policy has each SKU once plus one ``ALL`` row, and that
    the ``ALL`` row equals the recomputation from the SKU rows. It is vectorised:
    a table of a million rows takes about a second.
    """
    out = Violations()
    if runs.empty:
        return ["runs: the table is empty"]
    missing = [
        c
        for c in ("replication", "policy", "sku", *SUM_COLUMNS, *RATIO_COLUMNS)
        if c not in runs.columns
    ]
    if missing:
        return [f"runs: missing columns {missing}"]
    label = "runs"
    for col in COST_COLUMNS:
        x = runs[col].to_numpy(dtype=float)
        bad = np.flatnonzero(~((x >= 0) & np.isfinite(x)))
        for i in bad[: out.limit]:
            out.add(label, f"{col} finite and >= 0", _row(runs, i) + f": {x[i]}")
    parts = runs[list(COST_COLUMNS[:-1])].to_numpy(dtype=float).sum(axis=1)
    if "write_off_cost" in runs:  # overbuying: write-offs, and the leftover when charged
        parts = parts + runs["write_off_cost"].to_numpy(dtype=float)
        if scenario.leftover is not None and scenario.leftover.in_total_cost:
            parts = parts + runs["leftover_cost"].to_numpy(dtype=float)
        for col in ("write_off_cost", "leftover_cost", "leftover_value", "expired_units",
                    "obsolete_units", "rejected_units", "leftover_units"):  # fmt: skip
            x = runs[col].to_numpy(dtype=float)
            for i in np.flatnonzero(~((x >= 0) & np.isfinite(x)))[: out.limit]:
                out.add(label, f"{col} finite and >= 0", _row(runs, i) + f": {x[i]}")
    total = runs["total_cost"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        ok = np.abs(total - parts) <= ABS + REL * np.abs(total)
    bad = np.flatnonzero(~(ok | ~np.isfinite(parts)))  # non-finite parts reported above
    for i in bad[: out.limit]:
        out.add(
            label,
            "total_cost = holding + ordering + shortage + expedite (+ write-offs, leftover)",
            _row(runs, i) + f": {total[i]} != {parts[i]}",
        )
    for col in RATIO_COLUMNS:
        x = runs[col].to_numpy(dtype=float)
        bad = np.flatnonzero(~(np.isnan(x) | ((x >= 0) & (x <= 1))))
        for i in bad[: out.limit]:
            out.add(label, f"{col} in [0, 1] or NaN", _row(runs, i) + f": {x[i]}")
    for col in _NON_NEGATIVE:
        if col in runs.columns:
            x = runs[col].to_numpy(dtype=float)
            bad = np.flatnonzero(x < 0)
            for i in bad[: out.limit]:
                out.add(label, f"{col} >= 0", _row(runs, i) + f": {x[i]}")
    _check_definitions(runs, scenario, out)
    _check_portfolio(runs, scenario, out)
    return out.lines()


def _row(runs: pd.DataFrame, i: int) -> str:
    r = runs.iloc[i]
    return f"replication {r['replication']}, policy {r['policy']}, SKU {r['sku']}"


def _check_definitions(runs: pd.DataFrame, scenario: Scenario, out: Violations) -> None:
    """Per-SKU rows: metrics that are definitions of others (docs/metrics.md)."""
    skus = {s.id: s for s in scenario.skus}
    rows = runs[runs["sku"] != "ALL"]
    unknown = sorted(set(rows["sku"]) - set(skus))
    if unknown:
        out.add("runs", "every SKU row names a SKU of the scenario", f"{unknown[:3]}")
        rows = rows[rows["sku"].isin(list(skus))]
    if rows.empty:
        return
    cost = rows["sku"].map({k: s.unit_cost for k, s in skus.items()}).to_numpy(dtype=float)
    rate = rows["sku"].map({k: s.holding_rate for k, s in skus.items()}).to_numpy(dtype=float)
    days = rows["days"].to_numpy(dtype=float) if "days" in rows else scenario.horizon_days
    checks = {
        "fill_rate = served_units / demand_units": (
            rows["fill_rate"].to_numpy(dtype=float),
            _div(
                rows["served_units"].to_numpy(dtype=float),
                rows["demand_units"].to_numpy(dtype=float),
            ),
        ),
        "holding_cost = avg_on_hand × days × unit cost × holding rate / 365": (
            rows["holding_cost"].to_numpy(dtype=float),
            rows["avg_on_hand"].to_numpy(dtype=float) * days * cost * rate / 365,
        ),
        "cash_tied_up = avg_on_hand × unit cost": (
            rows["cash_tied_up"].to_numpy(dtype=float),
            rows["avg_on_hand"].to_numpy(dtype=float) * cost,
        ),
    }
    for name, (got, want) in checks.items():
        _compare(rows, name, got, want, out)


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _compare(
    rows: pd.DataFrame, name: str, got: np.ndarray, want: np.ndarray, out: Violations
) -> None:
    both_nan = np.isnan(got) & np.isnan(want)
    with np.errstate(invalid="ignore"):
        ok = both_nan | (np.abs(got - want) <= ABS + REL * np.maximum(np.abs(got), np.abs(want)))
    for i in np.flatnonzero(~ok)[: out.limit]:
        out.add("runs", name, _row(rows, i) + f": {got[i]} != {want[i]}")


def _check_portfolio(runs: pd.DataFrame, scenario: Scenario, out: Violations) -> None:
    """Each replication × policy: every SKU once, one ALL row equal to the recomputation."""
    ids = [s.id for s in scenario.skus]
    counts = runs.groupby(["replication", "policy"], sort=False)["sku"].agg(list)
    for (rep, pol), skus in counts.items():
        if sorted(skus) != sorted([*ids, "ALL"]):
            out.add(
                "runs",
                "each replication × policy has every SKU once and one ALL row",
                f"replication {rep}, policy {pol}: {sorted(skus)}",
            )
    sku_rows = runs[runs["sku"] != "ALL"].copy()
    all_rows = runs[runs["sku"] == "ALL"].set_index(["replication", "policy"])
    if all_rows.index.has_duplicates:
        all_rows = all_rows[~all_rows.index.duplicated()]
    orders = sku_rows["customer_orders"].to_numpy(dtype=float)
    placed = sku_rows["orders_placed"].to_numpy(dtype=float)
    sku_rows["_complete"] = (
        np.nan_to_num(sku_rows["order_fill_rate"].to_numpy(dtype=float)) * orders
    )
    sku_rows["_ordered"] = np.nan_to_num(sku_rows["avg_order_qty"].to_numpy(dtype=float)) * placed
    g = sku_rows.groupby(["replication", "policy"], sort=False)
    sums = g[[*SUM_COLUMNS, "_complete", "_ordered"]].sum()
    peak_max = g["cash_tied_up_peak"].max()
    peak_sum = g["cash_tied_up_peak"].sum()
    keys = sums.index.intersection(all_rows.index)
    if keys.empty:
        return
    alls = all_rows.loc[keys]
    sums = sums.loc[keys]

    def compare(name: str, got: pd.Series, want: pd.Series) -> None:
        g_, w_ = got.to_numpy(dtype=float), want.to_numpy(dtype=float)
        both_nan = np.isnan(g_) & np.isnan(w_)
        with np.errstate(invalid="ignore"):
            ok = both_nan | (np.abs(g_ - w_) <= ABS + REL * np.maximum(np.abs(g_), np.abs(w_)))
        for i in np.flatnonzero(~ok)[: out.limit]:
            rep, pol = keys[i]
            out.add(
                "runs",
                f"portfolio {name} = recomputation from the SKU rows",
                f"replication {rep}, policy {pol}: ALL {g_[i]}, SKUs {w_[i]}",
            )

    for col in SUM_COLUMNS:
        compare(col, alls[col], sums[col])
    compare(
        "fill_rate",
        alls["fill_rate"],
        pd.Series(_div(sums["served_units"].to_numpy(), sums["demand_units"].to_numpy())),
    )
    compare(
        "order_fill_rate",
        alls["order_fill_rate"],
        pd.Series(_div(sums["_complete"].to_numpy(), sums["customer_orders"].to_numpy())),
    )
    compare(
        "avg_order_qty",
        alls["avg_order_qty"],
        pd.Series(_div(sums["_ordered"].to_numpy(), sums["orders_placed"].to_numpy())),
    )
    # The union of the SKUs' stockout days and the peak of a sum are bounded by the SKU
    # values; the headline rates are demand-weighted means, so between the SKUs' min and max.
    tol = ABS
    bounds = {
        "any_stockout_rate": ("between the largest SKU rate and their sum", "stockout_rate",
                              lambda per: (per.max(), per.sum().clip(upper=1.0))),
        "stockout_rate": ("between the smallest and largest SKU rate", "stockout_rate",
                          lambda per: (per.min(), per.max())),
        "p_backorder_end": ("between the smallest and largest SKU rate", "p_backorder_end",
                            lambda per: (per.min(), per.max())),
    }  # fmt: skip
    for col, (what, sku_col, bound) in bounds.items():
        lo, hi = (b.loc[keys].to_numpy(dtype=float) for b in bound(g[sku_col]))
        x = alls[col].to_numpy(dtype=float)
        for i in np.flatnonzero(~((x >= lo - tol) & (x <= hi + tol)))[: out.limit]:
            rep, pol = keys[i]
            out.add(
                "runs",
                f"portfolio {col} {what}",
                f"replication {rep}, policy {pol}: {x[i]} not in [{lo[i]}, {hi[i]}]",
            )
    x = alls["cash_tied_up_peak"].to_numpy(dtype=float)
    lo = peak_max.loc[keys].to_numpy(dtype=float)
    hi = peak_sum.loc[keys].to_numpy(dtype=float)
    for i in np.flatnonzero(~((x >= lo * (1 - REL) - tol) & (x <= hi * (1 + REL) + tol)))[
        : out.limit
    ]:
        rep, pol = keys[i]
        out.add(
            "runs",
            "portfolio cash_tied_up_peak between the largest SKU peak and their sum",
            f"replication {rep}, policy {pol}: {x[i]} not in [{lo[i]}, {hi[i]}]",
        )
