"""The fast engine: the SimPy model's replication as a compiled day loop over prepared draws.

The SimPy model (:mod:`simulator.model.replication`) is the reference. This engine runs
the same model for the scenarios whose features it implements (:func:`unsupported`
lists what it does not), and agrees with it replication by replication: the same
demand draws, the same lead-time tapes, the same policies' levels, the same order of
operations (``tests/test_kernel.py`` checks every row field by field).

* **Draws.** Nothing is drawn here that the SimPy engine does not draw itself, from
  the same sources: :class:`~simulator.model.replication.Streams` gives the streams,
  the scenario's distributions sample them, ``Streams.draws`` makes the lead-time tapes
  (blocks of ``LEAD_TIME_BLOCK``), ``SupplierState`` draws the random outages.
  :func:`demand_arrays` lays the demand out as flat arrays instead of the per-day lists
  of tuples :func:`~simulator.model.replication.draw_demand` builds (those lists cost a
  third of a catalogue's SimPy replication); it calls the same samplers on the same
  streams in the same order, and a test checks that it equals ``draw_demand`` exactly.
* **Plans and levels** come from the SimPy engine's own built policies (their reorder
  points, order-up-to levels and lots per day), so both engines order the same.
* **The loop** (:mod:`simulator.model.kernel_loop`, numba, compiled once and cached on
  disk) runs every policy over one replication and reduces each policy × SKU to the
  sums the result rows need. numba is imported only when a batch runs, so the CLI
  starts without it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISeedSequence

from simulator.data.distributions import Empirical
from simulator.data.scenario import Scenario
from simulator.model.purchasing import buying
from simulator.model.replication import Streams, _lasting, _mean, _part_key, _spikes
from simulator.model.suppliers import LEAD_TIME_BLOCK, SupplierState

__all__ = [
    "FastResult",
    "demand_arrays",
    "run_replications",
    "slower",
    "unsupported",
]

# --------------------------------------------------------------------------- what is supported

_ALL = None
"""Every field of the class is supported (its sub-objects are still checked)."""

_SUPPORTED: dict[str, set[str] | None] = {
    "Scenario": {
        "name", "description", "start_date", "horizon_days", "warmup_days", "replications",
        "seed", "unmet_demand", "units", "currency", "suppliers", "skus", "policies",
        "baseline", "report", "leftover",
    },
    "ReportInfo": _ALL,
    "Leftover": _ALL,
    "Shift": _ALL,
    "RegimeChanges": _ALL,
    "Supplier": {
        "lead_time", "order_cost", "line_cost", "min_order_value", "pay_on_receipt",
        "unit_cost_premium", "deliver_in_order", "description", "disruptions",
    },
    "PortClosure": {"kind", "start", "end", "announced", "label", "clearing_delay"},
    "SupplierOutage": {"kind", "start", "end", "announced", "label", "mode"},
    "RandomOutage": {"kind", "per_year", "duration", "mode", "label"},
    "Capacity": {"kind", "units_per_week"},
    "LeadTimeShock": {"kind", "start", "end", "announced", "label", "multiplier", "extra_days"},
    "Sku": {
        "id", "description", "unit_cost", "price", "holding_rate", "backorder_cost_per_day",
        "supplier", "backup_supplier", "initial_on_hand", "open_orders", "pack_size", "moq",
        "demand", "salvage_value",
    },
    "OpenOrder": {"units", "arrives"},
    "Demand": {
        "per_day", "customers", "seasonality", "campaigns", "trend_per_year", "spikes", "shifts",
        "regime_changes",
    },
    "Customers": {"orders_per_day", "order_size"},
    "Seasonality": {"monthly", "weekly"},
    "Campaign": {"start", "end", "uplift", "label"},
    "Spikes": {"per_year", "uplift", "duration_days"},
    "BaseStockSpec": {"type", "S", "review", "review_every_days", "description"},
    "SSSpec": {"type", "s", "S", "review", "review_every_days", "description"},
    "RQSpec": {"type", "r", "Q", "can_order", "review", "review_every_days", "description"},
    "JitSpec": {
        "type", "quantity", "cover_days", "plan_for_disruptions", "can_order", "review",
        "review_every_days", "description",
    },
    "SafetyStockSpec": {
        "type", "service_level", "weeks_of_cover", "quantity", "cover_days",
        "plan_for_disruptions", "use_backup", "can_order", "review", "review_every_days",
        "description",
    },
    "HybridSpec": {
        "type", "a_share", "b_share", "service_level_a", "service_level_b", "quantity",
        "cover_days", "plan_for_disruptions", "use_backup", "can_order", "review",
        "review_every_days", "description",
    },
}  # fmt: skip
"""Per schema class, the fields the fast engine implements. A field not listed here that
is set to anything but its default makes a scenario unsupported, and so does a class not
listed here (a new disruption kind, a new policy type): features added to the schema
later fall back to the SimPy engine until the fast engine implements them."""


def unsupported(scenario: Scenario) -> list[str]:
    """Return why the fast engine cannot run ``scenario`` (empty: it can), one reason a line.

    Each reason names the field path and the feature, e.g.
    ``skus[0].shelf_life_days: not implemented by the fast engine``.
    """
    out: list[str] = []
    _walk(scenario, "", out)
    return out


def slower(scenario: Scenario) -> list[str]:
    """Return what makes the fast engine likely slower than SimPy on ``scenario`` (empty: none).

    Port closures of one supplier that clear after delays of different distributions are
    run exactly, but each time a held shipment's delay was drawn ahead from the wrong
    closure's distribution the replication runs again (see :func:`_tapes`): closures that
    hand shipments on to one another can cost hundreds of runs a replication. ``auto``
    takes SimPy for them; ``--engine fast`` still runs them, to the same rows.
    """
    out = []
    for name, sup in scenario.suppliers.items():
        kinds = {d.clearing_delay.model_dump_json() for d in sup.disruptions
                 if type(d).__name__ == "PortClosure"}  # fmt: skip
        if len(kinds) > 1:
            out.append(f"suppliers.{name}: port closures clearing after delays of different "
                       "distributions (the fast engine reruns replications to learn which "
                       "closure held each shipment)")  # fmt: skip
    return out


def _walk(obj: Any, path: str, out: list[str]) -> None:
    """Check one schema object against :data:`_SUPPORTED`, then its sub-objects."""
    from pydantic import BaseModel

    if isinstance(obj, list | tuple):
        for i, x in enumerate(obj):
            _walk(x, f"{path}[{i}]", out)
        return
    if isinstance(obj, dict):
        for key, x in obj.items():
            _walk(x, f"{path}.{key}" if path else str(key), out)
        return
    if not isinstance(obj, BaseModel):
        return
    cls = type(obj)
    if cls.__module__ == "simulator.data.distributions":
        return  # every distribution: it is sampled by its own code
    name = cls.__name__
    if name not in _SUPPORTED:
        out.append(f"{path or 'scenario'}: {name} (not implemented by the fast engine)")
        return
    allowed = _SUPPORTED[name]
    for field, info in cls.model_fields.items():
        value = getattr(obj, field)
        where = f"{path}.{field}" if path else field
        if allowed is not None and field not in allowed:
            if value != info.get_default(call_default_factory=True):
                out.append(f"{where}: not implemented by the fast engine")
            continue
        _walk(value, where, out)


# --------------------------------------------------------------------------- the draws


def demand_arrays(
    scenario: Scenario, streams: Streams, plans: list, prep: list | None = None,
    after: np.ndarray | None = None, overbuying: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Every SKU's demand for the whole run as flat arrays: (offsets, times, units).

    The same draws as :func:`~simulator.model.replication.draw_demand`, from the same
    streams, samplers and calls in the same order; only the layout differs. SKU k's
    customer orders of day index i are ``times[o:e]``, ``units[o:e]`` with
    ``o, e = offsets[k, i], offsets[k, i + 1]``. ``prep`` is what does not change
    between replications (:func:`_demand_prep`, computed once per scenario). In an
    overbuying scenario, ``after[k]`` gets SKU k's demand expected over the
    ``leftover.excess_days`` after the horizon, with its realised lasting changes
    (``DemandPath.after``). ``overbuying`` is ``scenario.overbuying`` if known (it takes
    a few µs to find out, a tenth of a small replication's draws).

    Two steps are written again for speed, each giving the same numbers bit for bit
    (``tests/test_kernel.py`` compares the result with ``draw_demand``): rounding to
    whole units and sorting the times within each day, both compiled
    (:func:`~simulator.model.kernel_loop.whole_units`, ``sort_within_days``).
    """
    from simulator.model.kernel_loop import sort_within_days, whole_units

    prep = prep if prep is not None else _demand_prep(scenario, plans)
    lasts = scenario.overbuying if overbuying is None else overbuying  # (lasting changes)
    excess = scenario.leftover.excess_days if scenario.leftover is not None else 90
    n = scenario.n_days
    whole = scenario.units == "whole"
    offsets = np.empty((len(scenario.skus), n + 1), dtype=np.int64)
    times, units = [], []
    at = 0
    for k, (sku, plan, (mean, scaled, steady, days)) in enumerate(
        zip(scenario.skus, plans, prep, strict=True)
    ):
        rng = streams.rng("demand", sku.id)
        d = sku.demand
        lasting = _lasting(scenario, sku, plan, streams) if lasts else None
        if lasting is not None or d.spikes is not None:  # as draw_demand, step for step
            base_mean = plan.mean[:n]
            if lasting is not None:  # unannounced shifts and regime changes
                base_mean = base_mean * lasting[:n]
            if d.spikes is not None:
                base_mean = base_mean * _spikes(scenario, d.spikes, streams.rng("spikes", sku.id))
            if d.per_day is not None:
                scaled = base_mean / mean if mean > 0 else np.ones(n)
            else:
                scaled = base_mean / mean if mean > 0 else np.zeros(n)
        if after is not None:  # replication._overbuying
            later = plan.mean[n : n + excess]
            if lasting is not None:
                later = later * lasting[n : n + excess]
            after[k] = float(later.sum())
        if d.per_day is not None:
            sizes = _sample(d.per_day, rng, n) * scaled
            if whole:
                sizes = whole_units(sizes)
            t = steady
            np.add(days, at - days[0], out=offsets[k])  # at, at + 1, ..., at + n
        else:
            c = d.customers
            counts = rng.poisson(scaled)
            sizes = _sample(c.order_size, streams.rng("order_size", sku.id), int(counts.sum()))
            if whole:
                sizes = whole_units(sizes)
            t = np.repeat(days[:n], counts) + sort_within_days(
                streams.rng("order_time", sku.id).random(sizes.size), counts
            )
            offsets[k, 0] = at
            np.cumsum(counts, out=offsets[k, 1:])
            offsets[k, 1:] += at
        at += sizes.size
        times.append(t)
        units.append(sizes)
    if len(times) == 1:
        return offsets, np.asarray(times[0], dtype=float), np.asarray(units[0], dtype=float)
    return offsets, np.concatenate(times), np.concatenate(units).astype(float, copy=False)


def _sample(dist, rng: np.random.Generator, size: int) -> np.ndarray:
    """Return ``dist.sample(rng, size)``: the same numbers, an empirical one's lookup compiled.

    ``Empirical.sample`` is ``Generator.choice``, whose checks and binary search cost
    about half of a busy SKU's demand draws; :func:`~.kernel_loop.pick` finds the same
    values from the same uniforms (``tests/test_kernel.py`` compares them).
    """
    if isinstance(dist, Empirical):
        from simulator.model.kernel_loop import pick

        cdf = dist._p().cumsum()
        cdf /= cdf[-1]
        return pick(np.asarray(dist.values, dtype=float), cdf, rng.random(size))
    return dist.sample(rng, size)


def _demand_prep(scenario: Scenario, plans: list) -> list[tuple]:
    """Per SKU, what ``draw_demand`` computes the same way in every replication.

    (mean daily quantity or order size, the daily multiplier of a daily quantity or the
    daily rate of customer orders, the times of a daily quantity's orders, and the day
    numbers from the first day to one past the last, as integers).
    """
    n = scenario.n_days
    days = scenario.first_day + np.arange(n + 1)
    out = []
    for sku, plan, mean in zip(scenario.skus, plans, _demand_means(scenario), strict=True):
        base_mean = plan.mean[:n]
        if sku.demand.per_day is not None:
            out.append((mean, base_mean / mean if mean > 0 else np.ones(n), days[:n] + 0.0, days))
        else:
            out.append((mean, base_mean / mean if mean > 0 else np.zeros(n), None, days))
    return out


def _demand_means(scenario: Scenario) -> list[float]:
    """Each SKU's mean daily quantity, or mean order size (what ``draw_demand`` divides by)."""
    return [_mean(s.demand.per_day if s.demand.per_day is not None
                  else s.demand.customers.order_size) for s in scenario.skus]  # fmt: skip


# --------------------------------------------------------------------------- preparation


@dataclass
class _Static:
    """What depends on the scenario alone, as arrays for the loop (built once per process)."""

    args: dict[str, Any]
    suppliers: list[str]
    random_outages: list[bool]
    fixed_outages: list[Any]
    windows: Any
    demand: list[tuple]
    routes: list[tuple[int, str | None]]
    sources: dict[tuple[str, ...], int]
    """The streams every replication reads, numbered (:class:`_SeededStreams`)."""
    overbuying: bool
    """``scenario.overbuying``, found once."""
    tape_plan: list[tuple[int, Any, tuple[list | None, tuple]]]
    """Per route with a supplier: its index, lead-time distribution, the distinct
    clearing-delay distributions of its closures (None without closures) and the two
    streams' names (:func:`_tapes`)."""
    source_words: tuple[np.ndarray, np.ndarray]
    """Their names as SeedSequence spawn-key words: [sources, words], and how many each."""
    packed: tuple[np.ndarray, np.ndarray] | None = None
    lead_need: int = 64
    clear_need: int = 4
    pipe_cap: int = 64
    weeks: int = 0
    """Weeks of capacity bookkeeping (from a week before the first day), doubled on need."""


_STATIC: dict[str, _Static] = {}
_static_lock = threading.Lock()


def _windows(state: SupplierState) -> tuple[list, list, list]:
    return (
        [float(a) for a, _, _ in state.outages],
        [float(b) for _, b, _ in state.outages],
        [m == "refuse" for _, _, m in state.outages],
    )


def _offsets(groups: list[list]) -> np.ndarray:
    off = np.zeros(len(groups) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(g) for g in groups])
    return off


def _static(scenario: Scenario, plans: list, policies: dict[str, list]) -> _Static:
    key = scenario.content_hash()
    with _static_lock:
        if key in _STATIC:
            return _STATIC[key]
    from simulator.model.policies import BaseStock, FixedLots, OrderUpTo

    reasons = unsupported(scenario)
    if reasons:
        raise ValueError("the fast engine does not support: " + "; ".join(reasons))
    skus = scenario.skus
    names = list(scenario.suppliers)
    index = {name: j for j, name in enumerate(names)}
    n = scenario.n_days
    rules = [buying(scenario, s) for s in skus]
    oo = [(k, float(scenario.day_of(o.arrives)), float(o.units))
          for k, s in enumerate(skus) for o in s.open_orders]  # fmt: skip
    states = [SupplierState(scenario, name, None) if not _has_random(scenario, name) else None
              for name in names]  # fmt: skip
    shocks = []
    closures = []
    known = []
    capacity = []
    for name in names:
        st = _state_without_random(scenario, name)
        shocks.append(st.shocks)
        closures.append(st.closures)
        known.append(st.known)
        capacity.append(st.capacity if st.capacity is not None else np.nan)
    sh_off = _offsets(shocks)
    cl_off = _offsets(closures)
    P, K = len(policies), len(skus)
    kind = np.zeros((P, K), np.int64)
    period = np.ones((P, K), np.int64)
    cont = np.zeros((P, K), np.bool_)
    can = np.zeros((P, K))
    rop = np.zeros((P, K, n))
    upto = np.zeros((P, K, n))
    lot = np.zeros((P, K, n))
    backup = np.zeros((P, K), np.bool_)
    for p, built in enumerate(policies.values()):
        for k, pol in enumerate(built):
            cls = type(pol)
            if cls not in (BaseStock, OrderUpTo, FixedLots):
                raise ValueError(f"the fast engine does not support policy class {cls.__name__}")
            kind[p, k] = {BaseStock: 0, OrderUpTo: 1, FixedLots: 2}[cls]
            period[p, k] = pol.period
            cont[p, k] = pol.continuous
            r_, u_ = pol.levels()
            rop[p, k] = r_[:n]
            upto[p, k] = u_[:n]
            if cls is FixedLots:
                lot[p, k] = np.asarray(pol.q, dtype=float)[:n]
                can[p, k] = pol.can
            backup[p, k] = bool(getattr(pol, "use_backup", False)) and (
                skus[k].backup_supplier is not None
            )
    sups = [scenario.suppliers[name] for name in names]
    # The planner's view for expediting (Replication.expedite, planned_arrival): expected
    # landing of an order placed on each day index, the wait for it, the forecast over it.
    la = max(plan.arrival.size for plan in plans)
    pl = np.full((3, K, max(la, n)), np.nan)
    for k, plan in enumerate(plans):
        pl[0, k, : plan.arrival.size] = plan.arrival
        if backup[:, k].any():
            for i in range(n):
                delay = float(plan.arrival[i]) - (scenario.first_day + i)
                pl[2, k, i] = delay
                pl[1, k, i] = plan.forecast(i, delay)
    pl = pl[:, :, :la].copy() if la >= n else pl
    args = dict(
        n=n, w0=scenario.warmup_days, first=scenario.first_day,
        lost_sales=scenario.unmet_demand == "lost_sale",
        skuf=np.array([
            [s.unit_cost for s in skus],
            [s.price for s in skus],
            [r.moq for r in rules],
            [r.pack if r.pack is not None else 0.0 for r in rules],
            [s.initial_on_hand for s in skus],
            [index[s.backup_supplier] if s.backup_supplier is not None else -1 for s in skus],
            [p.backup_lead if p.backup_lead is not None else np.nan for p in plans],
            [p.lead_mean for p in plans],
        ], dtype=float),
        skui=np.array([
            [index[s.supplier] for s in skus],
            sorted(range(K), key=lambda k: skus[k].id),  # turns: SKU id order
        ], dtype=np.int64),
        supf=np.array([
            [s.order_cost for s in sups],
            [s.line_cost for s in sups],
            [s.min_order_value for s in sups],
            [s.unit_cost_premium for s in sups],
            [float(s.pay_on_receipt) for s in sups],
            [float(s.deliver_in_order) for s in sups],
            capacity,
        ], dtype=float).reshape(7, len(sups)),
        oo=np.array([[x[0] for x in oo], [x[1] for x in oo], [x[2] for x in oo]],
                    dtype=float).reshape(3, len(oo)),
        pol_i=np.stack([kind, period, cont.astype(np.int64), backup.astype(np.int64)]),
        can=can,
        lev=np.stack([rop, upto, lot]),
        pl=pl,
    )  # fmt: skip
    # A supplier's closures may clear after delays of different distributions, all drawn
    # from the route's one stream in the order shipments are caught: each closure window
    # carries its distribution's number among its supplier's (win[2]).
    named = [{c[2].model_dump_json(): c[2] for c in g} for g in closures]
    delays = [list(d.values()) for d in named]
    delay_ids = [[list(d).index(c[2].model_dump_json()) for c in g]
                 for d, g in zip(named, closures, strict=True)]  # fmt: skip

    # Shocks and closures do not change between replications: their windows, packed.
    windows_static = (
        [[float(x) for x in sh] for g in shocks for sh in g],
        [[float(c[0]), float(c[1]), float(i), 0.0]
         for g, ids in zip(closures, delay_ids, strict=True)
         for c, i in zip(g, ids, strict=True)],  # fmt: skip
        [[float(a), float(b), float(m == "refuse"), 0.0] for g in known for a, b, m in g],
        sh_off, cl_off, _offsets(known),
    )
    routes = [(k, sku.supplier) for k, sku in enumerate(skus)] + [
        (k, sku.backup_supplier if backup[:, k].any() else None) for k, sku in enumerate(skus)
    ]
    fixed = [_windows(s) if s is not None else None for s in states]
    sources = _sources(scenario, routes, [bool(c) for c in closures], names)
    static = _Static(
        args=args,
        suppliers=names,
        random_outages=[s is None for s in states],
        fixed_outages=fixed,
        windows=windows_static,
        demand=_demand_prep(scenario, plans),
        routes=routes,
        overbuying=scenario.overbuying,
        tape_plan=[
            (r, scenario.suppliers[sup].lead_time,
             (delays[names.index(sup)] or None,
              (("lead_time", skus[k].id, sup), ("clearing", skus[k].id, sup))))
            for r, (k, sup) in enumerate(routes) if sup is not None
        ],  # fmt: skip
        sources={source: i for i, source in enumerate(sources)},
        source_words=_key_words([[_part_key(x) for x in source] for source in sources]),
        weeks=(n + 7) // 7 + 16,
    )
    with _static_lock:
        if len(_STATIC) >= 8:
            _STATIC.pop(next(iter(_STATIC)))
        _STATIC[key] = static
    return static


def _has_random(scenario: Scenario, name: str) -> bool:
    return any(type(d).__name__ == "RandomOutage" for d in scenario.suppliers[name].disruptions)


def _state_without_random(scenario: Scenario, name: str) -> SupplierState:
    """Return a supplier's scheduled windows (shocks, closures: no draws)."""
    if not _has_random(scenario, name):
        return SupplierState(scenario, name, None)
    return SupplierState(scenario, name, Streams(scenario.seed, 0))


def _sources(
    scenario: Scenario, routes: list[tuple[int, str | None]], closures: list[bool],
    suppliers: list[str],
) -> list[tuple[str, ...]]:  # fmt: skip
    """Name the streams a replication reads (random outages' aside): seeded in bulk."""
    out: list[tuple[str, ...]] = []
    for sku in scenario.skus:
        out.append(("demand", sku.id))
        if sku.demand.customers is not None:
            out += [("order_size", sku.id), ("order_time", sku.id)]
        if sku.demand.spikes is not None:
            out.append(("spikes", sku.id))
        if sku.demand.regime_changes is not None:
            out.append(("regime_changes", sku.id))
    for k, supplier in routes:
        if supplier is not None:
            out.append(("lead_time", scenario.skus[k].id, supplier))
            if closures[suppliers.index(supplier)]:
                out.append(("clearing", scenario.skus[k].id, supplier))
    return list(dict.fromkeys(out))


def _words(x: int) -> list[int]:
    """Split a non-negative integer into 32-bit words as numpy's SeedSequence does."""
    if x < 0:  # numpy's words, for a replication or a seed
        raise ValueError(f"expected non-negative integer, got {x}")
    if x == 0:
        return [0]
    out = []
    while x > 0:
        out.append(x & 0xFFFFFFFF)
        x >>= 32
    return out


def _key_words(keys: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Spawn keys as a padded matrix of 32-bit words (held in uint64) and their lengths."""
    rows = [[w for part in key for w in _words(part)] for key in keys]
    out = np.zeros((len(rows), max((len(r) for r in rows), default=0)), np.uint64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out, np.array([len(r) for r in rows], dtype=np.int64)


def _seed_states(scenario: Scenario, static: _Static, replications: list[int]) -> np.ndarray:
    """Every known stream's PCG64 seed words, for a batch: uint64 [replications, sources, 4]."""
    from simulator.model.kernel_loop import seed_states

    words, lens = static.source_words
    n_src, width = words.shape
    per_rep = [_words(r) for r in replications]
    lead = max(len(w) for w in per_rep)
    keys = np.zeros((len(replications), n_src, lead + width), np.uint64)
    key_lens = np.zeros((len(replications), n_src), np.int64)
    for b, w in enumerate(per_rep):
        keys[b, :, : len(w)] = w
        keys[b, :, len(w) : len(w) + width] = words
        key_lens[b] = len(w) + lens  # the source's words right after the replication's
    out = np.zeros((len(replications) * n_src, 4), np.uint64)
    seed_states(
        np.array(_words(scenario.seed), np.uint64),
        keys.reshape(-1, lead + width), key_lens.reshape(-1), out,
    )  # fmt: skip
    return out.reshape(len(replications), n_src, 4)


class _Seeded(ISeedSequence):
    """Seed words computed ahead (:func:`_seed_states`), handed to PCG64 as a seed sequence."""

    __slots__ = ("words",)

    def __init__(self, words: np.ndarray) -> None:
        self.words = words

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        """Return the words PCG64 asks for (four 64-bit words; nothing else is computed)."""
        if n_words != 4 or np.dtype(dtype) != np.uint64:
            raise ValueError("seed words were computed for PCG64 only")
        return self.words


class _SeededStreams(Streams):
    """A replication's :class:`Streams`, its known sources seeded from words computed in bulk.

    ``Streams.rng`` builds numpy's SeedSequence for every stream (about 12 µs, a tenth
    of a small replication's time in the fast engine); here the same seed words come
    from one compiled computation for a whole batch, and a generator costs about 1 µs.
    The streams are the same, number for number (``tests/test_kernel.py``); a source not
    in the list (a random outage's) is seeded the usual way.
    """

    def __init__(
        self, root_seed: int, replication: int, index: dict[tuple[str, ...], int],
        words: np.ndarray,
    ) -> None:  # fmt: skip
        super().__init__(root_seed, replication)
        self._index = index
        self._words = words

    def rng(self, *source: str) -> np.random.Generator:
        """Return a fresh generator for the source named by ``source``'s parts (same every call)."""
        i = self._index.get(source)
        if i is None:
            return super().rng(*source)
        return np.random.Generator(np.random.PCG64(_Seeded(self._words[i])))


# --------------------------------------------------------------------------- running


@dataclass
class FastResult:
    """What the fast engine returns for a batch of replications (see :func:`run_replications`).

    ``stats[b, p, k, j]`` is statistic ``STAT[j]`` of :mod:`~simulator.model.kernel_loop`
    for replication b, policy p, SKU k (file order); ``port[b, p]`` the portfolio's peak
    stock value, peak stock + pipeline value, days with any stockout and the sum of its
    daily stock value; ``daily`` the
    daily paths of the replications asked for, per (policy, SKU or "ALL").
    """

    stats: np.ndarray
    port: np.ndarray
    daily: dict[tuple[str, str], list[np.ndarray]]
    after: np.ndarray
    """[b, k]: SKU k's demand expected after the horizon (overbuying scenarios; else NaN)."""


def run_replications(
    scenario: Scenario,
    plans: list,
    policies: dict[str, list],
    replications: list[int],
    daily_below: int = 0,
    per_sku: bool = False,
) -> FastResult:
    """Run ``replications`` of ``scenario`` under every built policy with the compiled loop.

    ``plans`` and ``policies`` are the SimPy engine's (``make_plans``,
    ``build_policies``). Daily paths are kept for replications below ``daily_below``:
    per SKU when ``per_sku`` (and the portfolio unless there is one SKU), else the
    portfolio's only, float32, as :func:`simulator.study.metrics.daily_paths` gives them.
    """
    from simulator.model.kernel_loop import NSTAT, run_replication

    static = _static(scenario, plans, policies)
    a = static.args
    P, K = a["can"].shape
    H = scenario.horizon_days
    stats = np.zeros((len(replications), P, K, NSTAT))
    port = np.zeros((len(replications), P, 4))
    daily_sku = np.zeros((P, K, 6, H) if per_sku else (1, 1, 1, 1))
    daily_all = np.zeros((P, 6, H))
    names = list(policies)
    daily: dict[tuple[str, str], list[np.ndarray]] = {}
    words = _seed_states(scenario, static, replications) if replications else None
    after = np.full((len(replications), K), np.nan)
    for b, r in enumerate(replications):
        streams = _SeededStreams(scenario.seed, r, static.sources, words[b])
        d_off, d_t, d_q = demand_arrays(scenario, streams, plans, static.demand,
                                        after[b] if static.overbuying else None,
                                        static.overbuying)  # fmt: skip
        win, woff = _windows_of(scenario, static, streams)
        want = r < daily_below
        kinds: dict[tuple[int, int], list[int]] = {}
        while True:
            tape, toff = _tapes(scenario, static, streams, P, kinds)
            code = run_replication(
                a["n"], a["w0"], a["first"], a["lost_sales"], a["skuf"], a["skui"], a["supf"],
                win, woff, a["oo"], a["pol_i"], a["can"], a["lev"], a["pl"], d_off, d_t, d_q,
                tape, toff, static.pipe_cap, static.weeks, want, per_sku, stats[b], port[b],
                daily_sku, daily_all,
            )  # fmt: skip
            if code == 0:
                break
            # Something ran short: lengthen it (the same streams, read further) and rerun.
            if code == 1:  # a quarter more, in whole blocks: every number drawn costs
                static.lead_need += LEAD_TIME_BLOCK * max(
                    1, static.lead_need // (4 * LEAD_TIME_BLOCK)
                )
            elif code == 2:  # a delay drawn from the wrong closure's distribution, or too few
                if not _wrong_kind(static, tape, toff, kinds, P):
                    static.clear_need *= 2
            elif code == 4:
                static.weeks *= 2
            else:
                static.pipe_cap *= 2
        if want:
            for p, name in enumerate(names):
                if per_sku:
                    for k, sku in enumerate(scenario.skus):
                        daily.setdefault((name, sku.id), []).append(
                            daily_sku[p, k].astype(np.float32)
                        )
                if not (per_sku and K == 1):
                    daily.setdefault((name, "ALL"), []).append(daily_all[p].astype(np.float32))
    return FastResult(stats=stats, port=port, daily=daily, after=after)


def _windows_of(
    scenario: Scenario, static: _Static, streams: Streams
) -> tuple[np.ndarray, np.ndarray]:
    """Every supplier's windows in this replication, packed (random outages drawn here).

    Columns of ``win``: outages (start, end, refuse), then shocks (start, end, ×, +days),
    then closures (start, end, clearing distribution), then the announced outages
    (start, end, refuse);
    ``woff[0|1|2|3, s]`` .. ``woff[.., s + 1]`` index them.
    """
    if static.packed is not None:
        return static.packed
    outages = []
    for name, fixed, rand in zip(
        static.suppliers, static.fixed_outages, static.random_outages, strict=True
    ):
        outages.append(_windows(SupplierState(scenario, name, streams)) if rand else fixed)
    shocks, closures, known, sh_off, cl_off, kn_off = static.windows
    cols = [[a, b, float(r), 0.0] for g in outages for a, b, r in zip(*g, strict=True)]
    o_off = _offsets([g[0] for g in outages])
    n_out = len(cols)
    cols += shocks + closures + known
    win = np.ascontiguousarray(np.array(cols, dtype=float).reshape(-1, 4).T)
    woff = np.stack([o_off, sh_off + n_out, cl_off + n_out + len(shocks),
                     kn_off + n_out + len(shocks) + len(closures)])  # fmt: skip
    if not any(static.random_outages):  # the same in every replication: pack them once
        static.packed = (win, woff)
    return win, woff


def _tapes(
    scenario: Scenario, static: _Static, streams: Streams, policies: int,
    kinds: dict[tuple[int, int], list[int]],
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Read every route's lead times and clearing delays into one tape.

    Lead times are the SimPy engine's tape (``Streams.draws``): the route's stream,
    sampled ``LEAD_TIME_BLOCK`` at a time, the first ``static.lead_need`` of them (a
    multiple of the block, drawn here in one call: numpy draws element by element, so
    the numbers are the same).

    Clearing delays are drawn one at a time as ``Route._land`` draws them, from the
    route's clearing stream read from its start by each policy, ``static.clear_need``
    of them, each stored with the number of the distribution it was drawn from (pairs
    ``value, number`` from ``toff[2, r]``, policy p's block ``toff[4, r]`` further on per
    policy). When a supplier's closures all clear alike, one block serves every policy
    (``toff[4, r]`` is 0). When they differ, which distribution the n-th draw comes from
    depends on which closure catches the n-th held shipment, which the loop finds out as
    it runs: ``kinds[(p, r)]`` holds the numbers known so far (the loop marks a draw made
    from the wrong one, :func:`run_replications` records the right one and draws again),
    and the draws past them guess the last known number.
    """
    need, clear = static.lead_need, static.clear_need
    parts: list[np.ndarray] = []
    toff = np.zeros((5, len(static.routes)), dtype=np.int64)
    at = 0
    for r, lead, (delays, sources) in static.tape_plan:
        rng = streams.rng(*sources[0])
        # need // LEAD_TIME_BLOCK blocks in one call (tests/test_kernel.py checks that
        # every distribution kind draws the same numbers either way)
        parts.append(lead.sample(rng, need))
        toff[0, r], toff[1, r] = at, need
        at += need
        if delays is None:
            continue
        blocks = 1 if len(delays) == 1 else policies
        toff[2, r], toff[3, r], toff[4, r] = at, clear, 0 if blocks == 1 else 2 * clear
        for p in range(blocks):
            known = kinds.get((p, r), [])
            rng = streams.rng(*sources[1])
            pairs = np.empty(2 * clear)
            for m in range(clear):
                kind = known[m] if m < len(known) else (known[-1] if known else 0)
                pairs[2 * m] = float(delays[kind].sample(rng, 1)[0])
                pairs[2 * m + 1] = kind
            parts.append(pairs)
            at += 2 * clear
    return np.concatenate(parts) if len(parts) > 1 else parts[0], toff


def _wrong_kind(
    static: _Static, tape: np.ndarray, toff: np.ndarray, kinds: dict[tuple[int, int], list[int]],
    policies: int,
) -> bool:  # fmt: skip
    """Record the clearing delay the loop found drawn from the wrong distribution, if any.

    The loop marks the draw it stopped at with ``-1 - the right number``; the numbers
    before it were right (the loop read them), so they and the right one are now known.
    """
    for r, _, (delays, _) in static.tape_plan:
        if delays is None or len(delays) == 1:
            continue
        for p in range(policies):
            base = toff[2, r] + p * toff[4, r]
            marks = tape[base + 1 : base + 2 * toff[3, r] : 2]
            wrong = np.flatnonzero(marks < 0)
            if wrong.size:
                m = int(wrong[0])
                kinds[(p, r)] = [int(x) for x in marks[:m]] + [int(-1 - marks[m])]
                return True
    return False
