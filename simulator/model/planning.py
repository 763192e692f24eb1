"""The founder's purchase plan: which purchase orders a policy expects to place, and when.

A simulation answers "how often would I run short?"; a plan answers "what exactly
do I order before October?". :func:`make_purchase_plan` runs a policy forward on
what the planner knows, with no randomness:

* demand on each day is the forecast mean (:attr:`Plan.mean`: seasonality,
  campaigns and the trend applied);
* a shipment lands at its expected arrival: the mean lead time and the announced
  calendar (:func:`~simulator.model.suppliers.expected_arrival`, what :attr:`Plan.arrival`
  and the model's planned landings are made of), behind the earlier shipments of
  the same lane when the supplier delivers in order;
* reviews follow the policy exactly as the model runs it: a periodic review every
  ``period`` days counted from simulated day index 0 (``scenario.first_day``),
  a continuous review once after each day's demand; each need becomes whole packs
  of at least the MOQ (:func:`~simulator.model.purchasing.order_units`) and the lines of
  one supplier at one review form one purchase order, topped up to the supplier's
  minimum value (:func:`~simulator.model.purchasing.purchase_order`), in SKU id order,
  as :meth:`Replication.order <simulator.model.replication.Replication.order>` and
  :meth:`~simulator.model.replication.Replication.flush` do.

The policies are built by :func:`simulator.model.replication.make_plans` and
:func:`~simulator.model.replication.build_policies`, so the plan uses the simulation's own
levels; when the scenario is deterministic (constant demand and lead times) the
plan's orders are the simulation's orders. Not planned: supplier capacity (orders
that would ship in parts), expediting from a backup supplier, unannounced outages
and demand spikes; :attr:`PurchasePlan.notes` says which of these the scenario has.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.data.scenario import (
    Capacity,
    LeadTimeShock,
    PortClosure,
    RandomOutage,
    Scenario,
    SupplierOutage,
)
from simulator.model.purchasing import buying, line_costs, order_units, purchase_order, whole_units
from simulator.model.replication import build_policies, make_plans
from simulator.model.suppliers import expected_arrival

__all__ = [
    "PRE_BUILD_DAYS",
    "PlanError",
    "PurchasePlan",
    "State",
    "level_runs",
    "make_purchase_plan",
    "read_state",
]

PRE_BUILD_DAYS = 42
"""An order placed (or, with long lead times, expected to land) this many days or fewer
before an announced closure or outage of its supplier, expected to land before it starts,
with an order-up-to level above the level without announced windows, is a pre-build."""

_LEVEL_TOLERANCE = 0.05
"""Default relative change of a level that starts a new run in ``level_changes``."""


class PlanError(ValueError):
    """A purchase plan cannot be made from these inputs; the message is one line."""


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class State:
    """Stock the plan starts from: on-hand per SKU and the open purchase orders.

    ``open_orders`` maps a SKU id to ``((arrival day, units), ...)``. ``day`` is
    the day the stock was counted; None means the plan's start (a stock count
    read from a file is today's stock).
    """

    on_hand: dict[str, float]
    open_orders: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    day: int | None = None
    source: str = "scenario"


_COLUMNS = ("sku", "on_hand", "on_order", "arrives")


def read_state(path: str | Path | None, scenario: Scenario) -> State:
    """Read today's stock from a CSV, or take the scenario's starting stock when ``path`` is None.

    The CSV has a header with ``sku`` and ``on_hand`` and, for open purchase
    orders, ``on_order`` and ``arrives`` (a date YYYY-MM-DD or a day number).
    A row gives a SKU's on-hand, or one open order (``sku,,on_order,arrives``),
    or both. Every SKU of the scenario needs its on-hand. Problems raise
    :class:`PlanError` naming the file, row, column and what is wrong.

    Without a file the state is each SKU's ``initial_on_hand`` and
    ``open_orders`` on the first simulated day (``scenario.first_day``).
    """
    if path is None:
        return State(
            on_hand={s.id: float(s.initial_on_hand) for s in scenario.skus},
            open_orders={
                s.id: tuple(
                    (float(scenario.day_of(o.arrives)), float(o.units)) for o in s.open_orders
                )
                for s in scenario.skus
                if s.open_orders
            },
            day=scenario.first_day,
            source="scenario",
        )
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PlanError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{name}: cannot be read ({exc})") from None
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    while header is not None and not any(c.strip() for c in header):
        header = next(rows, None)
    if header is None:
        raise PlanError(f"{name}: empty file; expected a header 'sku,on_hand[,on_order,arrives]'")
    columns = [c.strip() for c in header]
    for c in columns:
        if c not in _COLUMNS:
            raise PlanError(
                f"{name}, row {rows.line_num}: unknown column '{c}'{_hint(c, _COLUMNS)}"
            )
    for need in ("sku", "on_hand"):
        if need not in columns:
            raise PlanError(f"{name}, row {rows.line_num}: missing column '{need}'")
    if len(set(columns)) < len(columns):
        twice = next(c for c in columns if columns.count(c) > 1)
        raise PlanError(f"{name}, row {rows.line_num}: column '{twice}' given twice")
    skus = {s.id: s for s in scenario.skus}
    whole = scenario.units == "whole"
    on_hand: dict[str, float] = {}
    orders: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if not any(c.strip() for c in row):
            continue
        n = rows.line_num
        if len(row) > len(columns):
            raise PlanError(f"{name}, row {n}: {len(row)} values for {len(columns)} columns")
        cell = dict(zip(columns, (c.strip() for c in row), strict=False))
        sku = cell.get("sku", "")
        where = f"{name}, row {n}"
        if not sku:
            raise PlanError(f"{where}, column sku: missing SKU id")
        if sku not in skus:
            raise PlanError(f"{where}, column sku: unknown SKU '{sku}'{_hint(sku, list(skus))}")
        got_any = False
        if cell.get("on_hand"):
            if sku in on_hand:
                raise PlanError(f"{where}, column on_hand: on-hand of '{sku}' given twice")
            on_hand[sku] = _number(
                cell["on_hand"], f"{where}, column on_hand", whole, positive=False
            )
            got_any = True
        qty, arrives = cell.get("on_order", ""), cell.get("arrives", "")
        if qty or arrives:
            if not qty:
                raise PlanError(
                    f"{where}, column on_order: missing units for the order due {arrives}"
                )
            if not arrives:
                raise PlanError(f"{where}, column arrives: missing the date the order lands")
            units = _number(qty, f"{where}, column on_order", whole, positive=True)
            day = _parse_day(arrives, scenario, f"{where}, column arrives")
            orders.setdefault(sku, []).append((float(day), units))
            got_any = True
        if not got_any:
            raise PlanError(f"{where}: give on_hand, or on_order with arrives, for '{sku}'")
    missing = [s.id for s in scenario.skus if s.id not in on_hand]
    if missing:
        raise PlanError(
            f"{name}: no on_hand for SKU {', '.join(missing)}; add a row '{missing[0]},<units>'"
        )
    return State(
        on_hand=on_hand,
        open_orders={k: tuple(sorted(v)) for k, v in orders.items()},
        day=None,
        source=name,
    )


def _hint(value: str, choices: Sequence[str]) -> str:
    """Return ' (did you mean 'x'?)' for a near miss, else the choices."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    shown = ", ".join(list(choices)[:10]) + (", ..." if len(choices) > 10 else "")
    return f" (known: {shown})"


def _number(text: str, where: str, whole: bool, positive: bool) -> float:
    """Parse a count of units; refuse what is not a finite, non-negative (whole) number."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise PlanError(f"{where}: must be a number, got '{text}'") from None
    if not math.isfinite(value):
        raise PlanError(f"{where}: must be a finite number, got '{text}'")
    if value < 0:
        raise PlanError(f"{where}: must be >= 0, got {text}")
    if positive and value == 0:
        raise PlanError(f"{where}: must be > 0, got {text}")
    if whole and value != int(value):
        raise PlanError(
            f"{where}: must be a whole number of units (the scenario counts whole units), "
            f"got {text}"
        )
    return value


def _parse_day(when: object, scenario: Scenario, where: str) -> int:
    """Return the day number of a date, a day number, or text holding either."""
    if isinstance(when, bool):
        raise PlanError(f"{where}: must be a date (YYYY-MM-DD) or a day number, got {when}")
    if isinstance(when, dt.datetime):
        when = when.date()
    if isinstance(when, dt.date | int):
        return scenario.day_of(when)
    if isinstance(when, float) and when == int(when):
        return int(when)
    text = str(when).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return scenario.day_of(dt.date.fromisoformat(text))
    except ValueError:
        raise PlanError(
            f"{where}: must be a date (YYYY-MM-DD) or a day number, got '{text}'"
        ) from None


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True, eq=False)
class PurchasePlan:
    """What a policy expects to buy over a window, and why; see :func:`make_purchase_plan`.

    Dates are ``datetime.date``; ``day`` columns are the scenario's day numbers
    (day 0 = ``start_date``).
    """

    scenario: str
    policy: str
    start: dt.date
    end: dt.date
    """Last day of the plan's window."""
    weeks: int
    currency: str
    whole_units: bool
    orders: pd.DataFrame
    """One row per purchase-order line: po, date, day, supplier, sku, units, arrives,
    arrival_day, unit_cost, value, order_cost, cash_at_order, cash_on_arrival, cash_out,
    order_up_to, quiet_order_up_to, purpose ("pre-build" or ""), ahead_of."""
    levels: pd.DataFrame
    """Per SKU and day: sku, date, day, review, reorder_point, order_up_to, lot (NaN when the
    policy orders up to a level), quiet_order_up_to (the level without announced closures
    and outages)."""
    level_changes: pd.DataFrame
    """Runs of (nearly) constant levels: sku, from, to, from_day, to_day, days,
    reorder_point, order_up_to, lot (see :func:`level_runs`)."""
    windows: pd.DataFrame
    """Per announced window and affected SKU: kind, label, start, end, start_day, end_day,
    supplier, sku, in_plan, on_hand, on_order, inventory_position, cover_days,
    position_cover_days, window_demand, projected_short."""
    projection: pd.DataFrame
    """Per SKU and day: sku, date, day, demand, received, on_hand, backorders, lost,
    on_order, inventory_position, ordered (end of day, except demand and flows)."""
    opening: pd.DataFrame
    """Per SKU, the stock at the start of the plan: sku, on_hand, backorders, on_order,
    inventory_position."""
    notes: tuple[str, ...] = ()
    """What the plan leaves out or assumes, one sentence each."""

    def summary_lines(self) -> list[str]:
        """Return short plain sentences for the terminal: the orders, the windows, the notes."""
        out = [self._headline()]
        if not self.opening.empty:
            parts = []
            for r in self.opening.itertuples():
                text = f"{self._u(r.on_hand)} × {r.sku} on hand"
                if r.backorders > 0:
                    text += f", {self._u(r.backorders)} backordered"
                if r.on_order > 0:
                    text += f", {self._u(r.on_order)} on order"
                parts.append(text)
            out.append(f"Stock on {self.start}: " + "; ".join(parts) + ".")
        for po, lines in self.orders.groupby("po", sort=True):
            out.append(self._po_line(int(po), lines))
        for (label, start, end), rows in self.windows.groupby(
            ["label", "start", "end"], sort=False
        ):
            out.append(self._window_line(label, start, end, rows))
        out.extend(self.notes)
        return out

    # ------------------------------------------------------------------ sentences

    def _u(self, x: float) -> str:
        if self.whole_units:
            return f"{x:,.0f}"
        return f"{x:,.2f}".rstrip("0").rstrip(".")

    def _money(self, x: float) -> str:
        return f"{self.currency}{x:,.0f}"

    def _headline(self) -> str:
        head = (
            f"Purchase plan for policy '{self.policy}' on {self.scenario}, "
            f"{self.start}..{self.end} ({self.weeks} week{'s' if self.weeks != 1 else ''}): "
        )
        if self.orders.empty:
            return head + "no purchase orders expected."
        pos = self.orders["po"].nunique()
        return head + (
            f"{pos} purchase order{'s' if pos != 1 else ''}, "
            f"{self._u(self.orders['units'].sum())} units, "
            f"{self._money(self.orders['value'].sum())} at unit cost "
            f"+ {self._money(self.orders['order_cost'].sum())} order costs."
        )

    def _po_line(self, po: int, lines: pd.DataFrame) -> str:
        items = [f"{self._u(r.units)} × {r.sku}" for r in lines.itertuples()]
        what = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
        first = lines.iloc[0]
        lands = min(lines["arrives"])
        text = (
            f"Order {what} from {first['supplier']} on {first['date']} "
            f"(PO {po}, {self._money(lines['value'].sum())}, lands ~{lands})"
        )
        ahead = [a for a in lines["ahead_of"] if a]
        if ahead:
            return text + f": builds stock ahead of {ahead[0]}."
        return text + "."

    def _window_line(self, label: str, start: dt.date, end: dt.date, rows: pd.DataFrame) -> str:
        parts = []
        for r in rows.itertuples():
            cover = "all" if math.isinf(r.cover_days) else f"~{r.cover_days:.0f}"
            parts.append(f"{self._u(r.on_hand)} × {r.sku} ({cover} days of forecast demand)")
        text = f"{label[:1].upper()}{label[1:]} {start}..{end}: expected on hand as it starts " + (
            ", ".join(parts)
        )
        short = rows["projected_short"].sum()
        if short > 0:
            text += f"; expected short {self._u(short)} units in it"
        return text + "."


def make_purchase_plan(
    scenario: Scenario,
    policy_name: str,
    start: dt.date | int | str | None = None,
    weeks: int = 13,
    state: State | str | Path | None = None,
) -> PurchasePlan:
    """Return the purchase orders ``policy_name`` expects to place over the next ``weeks``.

    ``start`` is a date, a day number or text holding either (default day 0,
    the scenario's ``start_date``). ``state`` is today's stock (a :class:`State`
    or a CSV path for :func:`read_state`); None takes the scenario's starting
    stock on its first simulated day and projects it to ``start`` with the same
    policy, which is what the simulation expects to hold then. The window ends
    with the scenario's horizon at the latest (the policies' levels end there).
    """
    if policy_name not in scenario.policies:
        names = ", ".join(scenario.policies)
        raise PlanError(
            f"policy: unknown policy '{policy_name}'{_hint(policy_name, list(scenario.policies))};"
            f" the scenario's policies are {names}"
        )
    if isinstance(weeks, bool) or not isinstance(weeks, int | np.integer) or weeks < 1:
        raise PlanError(f"weeks: must be a whole number >= 1, got {weeks}")
    first, horizon = scenario.first_day, scenario.horizon_days
    day0 = 0 if start is None else _parse_day(start, scenario, "start")
    if not first <= day0 < horizon:
        raise PlanError(
            f"start: must be within the scenario's days {first}..{horizon - 1} "
            f"({scenario.date_of(first)}..{scenario.date_of(horizon - 1)}), "
            f"got {scenario.date_of(day0)} (day {day0})"
        )
    if state is None or isinstance(state, str | Path):
        state = read_state(state, scenario)
    notes: list[str] = []
    end_day = day0 + 7 * int(weeks)
    if end_day > horizon:
        notes.append(
            f"The scenario's horizon ends on {scenario.date_of(horizon - 1)}: the plan covers "
            f"{horizon - day0} days, not {7 * int(weeks)}."
        )
        end_day = horizon
    since = day0 if state.day is None else state.day
    if since > day0:
        raise PlanError(
            f"state: counted on {scenario.date_of(since)}, after the plan's start "
            f"{scenario.date_of(day0)}"
        )
    if since < first:
        raise PlanError(
            f"state: counted on {scenario.date_of(since)}, before the first simulated day "
            f"{scenario.date_of(first)}"
        )
    if since < day0:
        notes.append(
            f"Stock on {scenario.date_of(day0)} is projected from the scenario's starting stock "
            f"on {scenario.date_of(since)} with the same policy and forecast demand."
        )
    missing = [s.id for s in scenario.skus if s.id not in state.on_hand]
    if missing:
        raise PlanError(f"state: no on_hand for SKU {', '.join(missing)}")
    spec = scenario.policies[policy_name]
    plans = make_plans(scenario)
    # A learned forecast needs a sales history the state file does not hold: the plan
    # uses the policy's oracle form, the scenario's demand model (docs/overbuying.md).
    policies = [getattr(p, "oracle", p) for p in build_policies(scenario, plans)[policy_name]]
    learned = getattr(spec, "forecast", None)
    if learned is not None and learned.learned:
        notes.append(
            f"The policy forecasts from observed sales ({learned.method}); the plan has no "
            f"sales history and uses the scenario's demand model instead."
        )
    wanted = _windows(scenario, day0)
    stop = max([end_day] + [w["end_day"] for w in wanted])
    stop = min(stop, horizon)
    quiet = _quiet_levels(scenario, policy_name, policies)
    sim = _Projection(scenario, plans, policies, state, since, notes)
    sim.run(since, day0, stop)
    refused = sorted({name for day, name in sim.refused if day0 <= day < end_day})
    for name in refused:
        notes.append(
            f"Supplier {name} refuses orders during its announced outage: reviews then place "
            f"nothing and the policy orders again at its next review."
        )
    notes.extend(_scope_notes(scenario, policy_name, spec))
    orders = _orders_frame(scenario, sim.orders, quiet, day0, end_day)
    return PurchasePlan(
        scenario=scenario.name,
        policy=policy_name,
        start=scenario.date_of(day0),
        end=scenario.date_of(end_day - 1),
        weeks=int(weeks),
        currency=scenario.currency,
        whole_units=scenario.units == "whole",
        orders=orders,
        levels=(levels := _levels_frame(scenario, policies, quiet, day0, end_day)),
        level_changes=level_runs(levels),
        windows=_windows_frame(scenario, plans, sim, wanted, end_day),
        projection=_projection_frame(scenario, sim, day0, end_day),
        opening=pd.DataFrame(sim.opening, columns=list(_OPENING)),
        notes=tuple(notes),
    )


_OPENING = ("sku", "on_hand", "backorders", "on_order", "inventory_position")
_ORDER_COLUMNS = (
    "po date day supplier sku units arrives arrival_day unit_cost value order_cost "
    "cash_at_order cash_on_arrival cash_out order_up_to quiet_order_up_to purpose "
    "ahead_of"
).split()
_WINDOW_COLUMNS = (
    "kind label start end start_day end_day supplier sku in_plan on_hand on_order "
    "inventory_position cover_days position_cover_days window_demand projected_short"
).split()
_PROJECTION_COLUMNS = (
    "sku date day demand received on_hand backorders lost on_order inventory_position ordered"
).split()


class _Projection:
    """The deterministic run: forecast demand, expected landings, the policy's reviews.

    It follows :class:`simulator.model.replication.Replication` step by step (review, receive,
    serve, close; lines of one supplier and instant on one purchase order; SKUs in
    id order) with the random parts replaced by what the planner expects.
    """

    def __init__(self, scenario, plans, policies, state: State, since: int, notes: list[str]):
        self.scenario = scenario
        self.plans = plans
        self.policies = policies
        self.rules = [buying(scenario, s) for s in scenario.skus]
        # The forecast, in whole units as the model rounds demand (the rounding carried
        # forward from the first simulated day).
        n_days = scenario.n_days
        self.demand = [
            whole_units(p.mean[:n_days]) if scenario.units == "whole" else p.mean[:n_days]
            for p in plans
        ]
        self.turns = sorted(range(len(scenario.skus)), key=lambda k: scenario.skus[k].id)
        self.lost_sales = scenario.unmet_demand == "lost_sale"
        n = len(scenario.skus)
        self.on_hand = [float(state.on_hand[s.id]) for s in scenario.skus]
        self.backorders = [0.0] * n
        self.pipes: list[list[tuple[float, int, float]]] = [[] for _ in range(n)]
        self.seq = 0
        overdue = []
        for k, s in enumerate(scenario.skus):
            for at, units in state.open_orders.get(s.id, ()):
                if at < since:
                    overdue.append(f"{self._units(units)} × {s.id} due {scenario.date_of(int(at))}")
                    at = float(since)
                self._expect(k, at, units)
        if overdue:
            notes.append(
                "Open orders due before the stock count are assumed to land on its day: "
                + ", ".join(overdue)
                + "."
            )
        self.refuse = {
            name: sorted(
                (scenario.day_of(d.start), scenario.day_of(d.end))
                for d in sup.disruptions
                if isinstance(d, SupplierOutage) and d.announced and d.mode == "refuse"
            )
            for name, sup in scenario.suppliers.items()
        }
        # Expected landings: the planner's calendar and mean lead time (expected_arrival, what
        # Plan.arrival is made of); one lane's shipments never overtake the ones it carries.
        times = scenario.first_day + np.arange(scenario.n_days)
        by_supplier = {name: expected_arrival(scenario, name, times) for name in scenario.suppliers}
        self.landing = [by_supplier[s.supplier] for s in scenario.skus]
        self.in_order = [scenario.suppliers[s.supplier].deliver_in_order for s in scenario.skus]
        self.last = [-math.inf] * n
        self.lines: dict[str, list[tuple[int, float]]] = {}
        self.orders: list[dict] = []
        self.refused: list[tuple[int, str]] = []
        self.days: list[dict[int, dict]] = [{} for _ in range(n)]
        """Per SKU, day number -> the projected day (end-of-day stock, flows)."""
        self.opens: list[dict[int, tuple[float, float, float, float]]] = [{} for _ in range(n)]
        """Per SKU, day number -> (on-hand, backorders, on-order, position) as the day opens."""
        self.ordered: dict[tuple[int, int], float] = {}
        self.opening: list[tuple] = []
        self.po = 0

    def _units(self, x: float) -> str:
        return f"{x:,.0f}" if self.scenario.units == "whole" else f"{x:,.2f}"

    def _expect(self, k: int, at: float, units: float) -> None:
        self.seq += 1
        heapq.heappush(self.pipes[k], (at, self.seq, units))

    def on_order(self, k: int) -> float:
        """Units of SKU k in transit."""
        return float(sum(q for _, _, q in self.pipes[k]))

    def position(self, k: int) -> float:
        """Inventory position of SKU k: on-hand − backorders + on-order."""
        return self.on_hand[k] - self.backorders[k] + self.on_order(k)

    def receive(self, k: int, until: float, inclusive: bool) -> float:
        """Land every shipment due before ``until`` (or at it); return the units landed."""
        pipe, got = self.pipes[k], 0.0
        while pipe and (pipe[0][0] < until or (inclusive and pipe[0][0] == until)):
            _, _, qty = heapq.heappop(pipe)
            got += qty
            fill = min(qty, self.backorders[k])
            self.backorders[k] -= fill
            self.on_hand[k] += qty - fill
        return got

    def order(self, k: int, need: float) -> None:
        """Put a line for SKU k's need on the purchase order being written (whole packs, MOQ)."""
        qty = order_units(need, self.rules[k])
        if qty > 0:
            supplier = self.scenario.skus[k].supplier
            self.lines.setdefault(supplier, []).append((k, qty))

    def flush(self, i: int, t: float, review: bool = False) -> None:
        """Place the lines written at ``t`` as one purchase order per supplier.

        At a periodic ``review``, SKUs at their can-order level join, as in the model.
        """
        lines, self.lines = self.lines, {}
        day = self.scenario.first_day + i
        for name, items in lines.items():
            spec = self.scenario.suppliers[name]
            if review:
                items = self._joined(i, name, items)
            qtys = [q for _, q in items]
            if spec.min_order_value > 0:
                qtys = purchase_order(qtys, [self.rules[k] for k, _ in items], spec.min_order_value)
            if any(a <= t < b for a, b in self.refuse[name]):
                self.refused.append((day, name))
                continue
            placed = [(k, q) for (k, _), q in zip(items, qtys, strict=True) if q > 0]
            if not placed:
                continue
            self.po += 1
            cost = line_costs(spec.order_cost, spec.line_cost, len(placed))
            for k, q in placed:
                arrival = float(self.landing[k][i]) + (t - day)
                if self.in_order[k]:
                    arrival = max(arrival, self.last[k])
                    self.last[k] = arrival
                self._expect(k, arrival, q)
                self.ordered[k, day] = self.ordered.get((k, day), 0.0) + q
                self.orders.append(
                    {
                        "po": self.po,
                        "i": i,
                        "day": day,
                        "supplier": name,
                        "k": k,
                        "units": q,
                        "arrival_day": arrival,
                        "order_cost": cost,
                        "order_up_to": float(self.policies[k].levels()[1][i]),
                    }
                )

    def _joined(self, i: int, name: str, items: list[tuple[int, float]]) -> list:
        """Add the lines of SKUs of supplier ``name`` at their can-order level (SKU id order)."""
        on = {k for k, _ in items}
        for k in self.turns:
            if k in on or self.scenario.skus[k].supplier != name:
                continue
            want = self.policies[k].join(i, self.position(k))
            if want > 0:
                items.append((k, order_units(want, self.rules[k])))
        rank = {k: r for r, k in enumerate(self.turns)}
        return sorted(items, key=lambda item: rank[item[0]])

    def run(self, since: int, start: int, stop: int) -> None:
        """Run the days ``since`` .. ``stop`` − 1; record the stock at ``start``."""
        sc = self.scenario
        first = sc.first_day
        i0 = since - first
        for i in range(i0, stop - first):
            day = first + i
            t = float(day)
            if day == start:
                for k in self.turns:
                    self.receive(k, t, inclusive=False)
                for k in self.turns:
                    self.opening.append(
                        (
                            sc.skus[k].id,
                            self.on_hand[k],
                            self.backorders[k],
                            self.on_order(k),
                            self.position(k),
                        )
                    )
            # 1. Review at the start of the day (every policy on the first day).
            for k in self.turns:
                p = self.policies[k]
                self.receive(k, t, inclusive=False)
                due = (i == i0) if p.continuous else (i % p.period == 0)
                if due:
                    need = p.review(i, self.position(k))
                    if need > 0:
                        self.order(k, need)
            if self.lines:
                self.flush(i, t, review=True)
            # 2.-3. Receive what is due, serve the forecast, continuous reviews after it.
            got = [0.0] * len(sc.skus)
            short = [0.0] * len(sc.skus)
            for k in self.turns:
                got[k] = self.receive(k, t, inclusive=True)
                self.opens[k][day] = (
                    self.on_hand[k],
                    self.backorders[k],
                    self.on_order(k),
                    self.position(k),
                )
                demand = float(self.demand[k][i])
                served = min(demand, self.on_hand[k])
                self.on_hand[k] -= served
                short[k] = demand - served
                if short[k] > 0 and not self.lost_sales:
                    self.backorders[k] += short[k]
                p = self.policies[k]
                if p.continuous:
                    need = p.review(i, self.position(k))
                    if need > 0:
                        self.order(k, need)
                        self.flush(i, t)
            # 4. Close the day: what lands before tomorrow, then the end-of-day stock.
            for k, s in enumerate(sc.skus):
                got[k] += self.receive(k, t + 1.0, inclusive=False)
                self.days[k][day] = {
                    "sku": s.id,
                    "date": sc.date_of(day),
                    "day": day,
                    "demand": float(self.demand[k][i]),
                    "received": got[k],
                    "on_hand": self.on_hand[k],
                    "backorders": self.backorders[k],
                    "lost": short[k] if self.lost_sales else 0.0,
                    "short": short[k],
                    "on_order": self.on_order(k),
                    "inventory_position": self.position(k),
                    "ordered": self.ordered.get((k, day), 0.0),
                }


def _scope_notes(scenario: Scenario, policy_name: str, spec) -> list[str]:
    """Sentences on what the plan leaves out for this scenario and policy."""
    notes = []
    backed = [s for s in scenario.skus if s.backup_supplier is not None]
    if getattr(spec, "use_backup", False) and backed:
        names = sorted({s.backup_supplier for s in backed})
        notes.append(
            f"Policy '{policy_name}' may expedite from a backup supplier ({', '.join(names)}) "
            f"when stock would run out before a primary order lands; the plan buys from the "
            f"primary suppliers only (no expediting is planned)."
        )
    for name, sup in scenario.suppliers.items():
        if any(isinstance(d, Capacity) for d in sup.disruptions):
            notes.append(
                f"Supplier {name} has a weekly capacity: the plan ignores it (a large order may "
                f"ship in parts and land later than shown)."
            )
        if any(isinstance(d, RandomOutage) for d in sup.disruptions) or any(
            not getattr(d, "announced", True) for d in sup.disruptions
        ):
            notes.append(f"Supplier {name} has unannounced outages: the plan cannot see them.")
    return notes


def _announced_stop(d) -> bool:
    """Whether a disruption is an announced closure or outage (what a pre-build is for)."""
    return isinstance(d, PortClosure | SupplierOutage) and d.announced


def _quiet_levels(scenario: Scenario, policy_name: str, policies) -> list[np.ndarray]:
    """Each SKU's order-up-to level per day index were no closure or outage announced.

    The policy is built again on the scenario without its announced closures and
    outages; where its level is below the real one, the difference is stock built
    ahead of them. Without such windows the levels are the policy's own.
    """
    if not any(_announced_stop(d) for sup in scenario.suppliers.values() for d in sup.disruptions):
        return [np.asarray(p.levels()[1], float) for p in policies]
    suppliers = {
        name: sup.model_copy(
            update={"disruptions": [d for d in sup.disruptions if not _announced_stop(d)]}
        )
        for name, sup in scenario.suppliers.items()
    }
    calm = scenario.model_copy(
        update={"suppliers": suppliers, "policies": {policy_name: scenario.policies[policy_name]}}
    )
    built = [getattr(p, "oracle", p) for p in build_policies(calm, make_plans(calm))[policy_name]]
    return [np.asarray(p.levels()[1], float) for p in built]


def _windows(scenario: Scenario, day0: int) -> list[dict]:
    """Announced windows (campaigns, closures, outages, lead-time shocks) from ``day0`` on."""
    out = []
    for s in scenario.skus:
        for c in s.demand.campaigns:
            a, b = scenario.day_of(c.start), scenario.day_of(c.end)
            out.append(
                {
                    "kind": "campaign",
                    "label": f"{c.label} ×{c.uplift:g} ({s.id})",
                    "start_day": a,
                    "end_day": b,
                    "supplier": s.supplier,
                    "skus": [s.id],
                }
            )
    for name, sup in scenario.suppliers.items():
        for d in sup.disruptions:
            if isinstance(d, PortClosure | SupplierOutage | LeadTimeShock) and d.announced:
                skus = [
                    s.id for s in sorted(scenario.skus, key=lambda s: s.id) if s.supplier == name
                ]
                if not skus:
                    continue
                out.append(
                    {
                        "kind": d.kind,
                        "label": d.label or f"{d.kind.replace('_', ' ')} ({name})",
                        "start_day": scenario.day_of(d.start),
                        "end_day": scenario.day_of(d.end),
                        "supplier": name,
                        "skus": skus,
                    }
                )
    out = [w for w in out if w["start_day"] >= day0]
    return sorted(out, key=lambda w: (w["start_day"], w["end_day"], w["label"]))


def _span(scenario: Scenario, a: int, b: int) -> str:
    return f"{scenario.date_of(a)}..{scenario.date_of(b - 1)}"


def _orders_frame(
    scenario: Scenario, orders: list[dict], quiet: list[np.ndarray], day0: int, end_day: int
) -> pd.DataFrame:
    """Return the window's purchase-order lines, POs numbered from 1, with cash and pre-builds.

    A line is a pre-build when it is placed (or, for a long lead time, expected to
    land) at most :data:`PRE_BUILD_DAYS` before an announced closure or outage of its
    supplier, is expected to land before it starts, and its order-up-to level is above
    the level without the announced windows (:func:`_quiet_levels`): stock built for
    the window, not a regular order nor one the window holds up.
    """
    columns = _ORDER_COLUMNS
    rows, numbers = [], {}
    stops = {
        name: sorted(
            (scenario.day_of(d.start), scenario.day_of(d.end), d.label or d.kind.replace("_", " "))
            for d in sup.disruptions
            if isinstance(d, PortClosure | SupplierOutage) and d.announced
        )
        for name, sup in scenario.suppliers.items()
    }
    for o in orders:
        if not day0 <= o["day"] < end_day:
            continue
        po = numbers.setdefault(o["po"], len(numbers) + 1)
        sku = scenario.skus[o["k"]]
        spec = scenario.suppliers[o["supplier"]]
        value = round(o["units"] * sku.unit_cost, 6)  # 5258.4, not 5258.400000000001
        purpose, ahead = "", ""
        calm = float(quiet[o["k"]][o["i"]])
        raised = o["order_up_to"] > calm + max(1.0, 0.01 * abs(calm))
        for a, b, label in stops[o["supplier"]]:
            near = a - PRE_BUILD_DAYS <= max(o["day"], o["arrival_day"])
            if raised and near and o["arrival_day"] < a:
                purpose, ahead = "pre-build", f"{label} {_span(scenario, a, b)}"
                break
        rows.append(
            {
                "po": po,
                "date": scenario.date_of(o["day"]),
                "day": o["day"],
                "supplier": o["supplier"],
                "sku": sku.id,
                "units": o["units"],
                "arrives": scenario.date_of(math.floor(o["arrival_day"] + 1e-9)),
                "arrival_day": o["arrival_day"],
                "unit_cost": float(sku.unit_cost),
                "value": value,
                "order_cost": o["order_cost"],
                "cash_at_order": o["order_cost"] + (0.0 if spec.pay_on_receipt else value),
                "cash_on_arrival": value if spec.pay_on_receipt else 0.0,
                "cash_out": value + o["order_cost"],
                "order_up_to": o["order_up_to"],
                "quiet_order_up_to": calm,
                "purpose": purpose,
                "ahead_of": ahead,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _levels_frame(
    scenario: Scenario, policies, quiet: list[np.ndarray], day0: int, end_day: int
) -> pd.DataFrame:
    """Each SKU's reorder point, order-up-to level and lot on each day of the window.

    ``quiet_order_up_to`` is the level without announced closures and outages.
    """
    first = scenario.first_day
    idx = np.arange(day0 - first, end_day - first)
    frames = []
    for s, p, calm in sorted(
        zip(scenario.skus, policies, quiet, strict=True), key=lambda x: x[0].id
    ):
        rop, upto = p.levels()
        lot = np.asarray(p.q, dtype=float)[idx] if getattr(p, "q", None) is not None else np.nan
        review = np.ones(idx.size, bool) if p.continuous else idx % p.period == 0
        frames.append(
            pd.DataFrame(
                {
                    "sku": s.id,
                    "date": [scenario.date_of(int(first + i)) for i in idx],
                    "day": first + idx,
                    "review": review,
                    "reorder_point": np.asarray(rop, float)[idx],
                    "order_up_to": np.asarray(upto, float)[idx],
                    "lot": lot,
                    "quiet_order_up_to": calm[idx],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def level_runs(levels: pd.DataFrame, tolerance: float = _LEVEL_TOLERANCE) -> pd.DataFrame:
    """Return each SKU's runs of days with (nearly) constant levels, one row per run.

    A new run starts on a day where the reorder point, order-up-to level or lot
    differs from the run's first day by more than ``tolerance`` of it (at least
    one unit); 0 gives runs of exactly equal levels. The levels shown are those
    of the run's first day, so a pre-build shows as a run with a higher level.
    """
    keys = ["reorder_point", "order_up_to", "lot"]
    rows = []
    for sku, g in levels.groupby("sku", sort=False):
        vals = g[keys].to_numpy(float)
        days = g["day"].to_numpy()
        dates = g["date"].to_list()
        begin = 0
        for j in range(1, len(g) + 1):
            if j < len(g):
                ref, now = vals[begin], vals[j]
                same = np.isnan(ref) & np.isnan(now)
                slack = np.maximum(np.abs(np.nan_to_num(ref)) * tolerance, 1.0 if tolerance else 0)
                close = same | (np.abs(now - ref) <= slack + 1e-9)
                if close.all():
                    continue
            rows.append(
                {
                    "sku": sku,
                    "from": dates[begin],
                    "to": dates[j - 1],
                    "from_day": int(days[begin]),
                    "to_day": int(days[j - 1]),
                    "days": j - begin,
                    **dict(zip(keys, vals[begin].tolist(), strict=True)),
                }
            )
            begin = j
    columns = ["sku", "from", "to", "from_day", "to_day", "days", *keys]
    return pd.DataFrame(rows, columns=columns)


def _cover(mean: np.ndarray, j: int, stock: float) -> float:
    """Return the days of forecast demand from day index j that ``stock`` covers."""
    if stock <= 0:
        return 0.0
    ahead = mean[j:]
    cum = np.cumsum(ahead)
    full = int(np.searchsorted(cum, stock, side="right"))
    if full >= ahead.size:
        return math.inf
    done = cum[full - 1] if full else 0.0
    return full + (stock - done) / ahead[full] if ahead[full] > 0 else float(full)


def _windows_frame(scenario, plans, sim: _Projection, wanted: list[dict], end_day: int):
    """Each announced window's opening stock per affected SKU, and the days it covers."""
    columns = _WINDOW_COLUMNS
    first = scenario.first_day
    index = {s.id: k for k, s in enumerate(scenario.skus)}
    rows = []
    for w in wanted:
        a, b = w["start_day"], w["end_day"]
        for sku in w["skus"]:
            k = index[sku]
            if a not in sim.opens[k]:
                continue
            on_hand, _, on_order, position = sim.opens[k][a]
            mean = plans[k].mean
            rows.append(
                {
                    "kind": w["kind"],
                    "label": w["label"],
                    "start": scenario.date_of(a),
                    "end": scenario.date_of(b - 1),
                    "start_day": a,
                    "end_day": b,
                    "supplier": w["supplier"],
                    "sku": sku,
                    "in_plan": a < end_day,
                    "on_hand": on_hand,
                    "on_order": on_order,
                    "inventory_position": position,
                    "cover_days": _cover(mean, a - first, on_hand),
                    "position_cover_days": _cover(mean, a - first, position),
                    "window_demand": float(mean[a - first : b - first].sum()),
                    "projected_short": float(
                        sum(sim.days[k][d]["short"] for d in range(a, b) if d in sim.days[k])
                    ),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def _projection_frame(scenario: Scenario, sim: _Projection, day0: int, end_day: int):
    """Return the projected days of the window, SKUs in id order."""
    columns = _PROJECTION_COLUMNS
    rows = [
        {c: d[c] for c in columns}
        for k in sim.turns
        for day, d in sim.days[k].items()
        if day0 <= day < end_day
    ]
    return pd.DataFrame(rows, columns=columns)
