"""The classroom model as a minimal numpy loop vectorised over replications: a floor for numpy.

One SKU (the classroom mug), one supplier, periodic (s, S) review. All replications of a
chunk advance one day at a time together, each step a handful of array operations:
review (order S − IP where IP <= s, a gamma lead time each, shipments in order),
receive what is due, serve the day's demand (normal, censored at zero), shortfall
backordered, end of day (receipts that landed during the day, then sums of on-hand and
backorders). Every policy runs on the same draws (common random numbers). No policy
objects, purchase orders or result rows: what any numpy model of this system must at
least do. Memory stays flat: ``chunk`` replications at a time.

Random numbers, two ways:

* ``streams="engine"`` (the default): each replication's demand and lead times come from
  the engine's own streams (``SeedSequence(seed, spawn_key=(r, h(source)...))``, lead
  times in blocks of 64), so this loop is the engine's model, number for number, and
  ``benchmarks/bench.py`` checks it against the fast engine. Seeding a stream per
  replication and source is part of what the engine pays.
* ``streams="bulk"``: everything from one generator in a few large draws; the cheapest
  a numpy loop can be, but not the engine's numbers (results depend on the chunking).

Run ``python benchmarks/minimal_numpy.py`` for a quick timing.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

__all__ = ["CLASSROOM", "POLICIES", "run", "simulate"]

CLASSROOM = {
    "sku": "MUG-01",
    "supplier": "wholesaler",
    "demand_mean": 20.0,
    "demand_sd": 6.0,
    "lead_mean": 7.0,
    "lead_sd": 2.5,
    "initial_on_hand": 250.0,
    "horizon_days": 365,
    "seed": 20261127,
}
"""The classroom scenario's numbers (scenarios/classroom.yaml)."""

POLICIES = {"jit": (2, 180.0, 180.0), "daily": (1, 250.0, 250.0), "weekly": (7, 392.6, 392.6)}
"""``name: (review every R days, s, S)``: the three order-up-to rhythms of
``benchmarks/minimal_simpy.py`` (s = S: order up to S whenever IP is at or below it)."""

LEAD_TIME_BLOCK = 64


def _rng(seed: int, replication: int, *source: str) -> np.random.Generator:
    """The engine's stream of a source (``Streams`` of simulator.model.replication)."""
    parts = tuple(
        int.from_bytes(hashlib.blake2b(x.encode(), digest_size=8).digest(), "little")
        for x in source
    )
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication, *parts)))


def _draws(first: int, m: int, tape: int, streams: str, bulk: np.random.Generator, p: dict):
    """Demand [days, m] and lead-time tapes [m, tape] of replications first .. first + m − 1."""
    days = p["horizon_days"]
    shape = (p["lead_mean"] / p["lead_sd"]) ** 2
    scale = p["lead_sd"] ** 2 / p["lead_mean"]
    if streams == "bulk":
        demand = np.maximum(bulk.normal(p["demand_mean"], p["demand_sd"], (days, m)), 0.0)
        return demand, bulk.gamma(shape, scale, (m, tape))
    demand = np.empty((days, m))
    leads = np.empty((m, tape))
    for j in range(m):
        r = first + j
        rng = _rng(p["seed"], r, "demand", p["sku"])
        demand[:, j] = np.maximum(rng.normal(p["demand_mean"], p["demand_sd"], days), 0.0)
        rng = _rng(p["seed"], r, "lead_time", p["sku"], p["supplier"])
        for b in range(0, tape, LEAD_TIME_BLOCK):
            leads[j, b : b + LEAD_TIME_BLOCK] = rng.gamma(shape, scale, LEAD_TIME_BLOCK)
    return demand, leads


def simulate(
    replications: int, policies: dict = POLICIES, streams: str = "engine", chunk: int = 10_000,
    first: int = 0, p: dict = CLASSROOM,
) -> dict[str, dict[str, np.ndarray]]:  # fmt: skip
    """Run replications ``first`` .. ``first + replications − 1`` of every (s, S) policy.

    Returns, per policy, arrays over replications: units served and demanded, orders,
    sums of end-of-day on-hand and backorders.
    """
    days = p["horizon_days"]
    most = max(len(range(0, days, period)) for period, _, _ in policies.values())
    tape = -(-most // LEAD_TIME_BLOCK) * LEAD_TIME_BLOCK
    bulk = np.random.default_rng(p["seed"])
    out: dict[str, dict[str, list]] = {name: {} for name in policies}
    for start in range(first, first + replications, chunk):
        m = min(chunk, first + replications - start)
        cols = np.arange(m)
        demand, leads = _draws(start, m, tape, streams, bulk, p)
        for name, (period, s, big_s) in policies.items():
            at_start = np.zeros((days + 1, m))  # receipts landing at a day's start
            in_day = np.zeros((days + 1, m))  # receipts landing during the day
            on_hand = np.full(m, p["initial_on_hand"])
            back = np.zeros(m)
            on_order = np.zeros(m)
            last = np.full(m, -np.inf)
            used = np.zeros(m, dtype=np.int64)
            served = np.zeros(m)
            oh_sum = np.zeros(m)
            bo_sum = np.zeros(m)
            for d in range(days):
                if d % period == 0:  # 1. review
                    ip = on_hand - back + on_order
                    qty = big_s - ip
                    want = (ip <= s) & (qty > 0)
                    who = cols[want]
                    arrival = np.maximum(d + leads[who, used[who]], last[who])  # in order
                    last[who] = arrival
                    used[who] += 1
                    day = np.minimum(np.floor(arrival).astype(np.int64), days)
                    whole = day == arrival
                    at_start[day[whole], who[whole]] += qty[want][whole]
                    in_day[day[~whole], who[~whole]] += qty[want][~whole]
                    on_order[who] += qty[want]
                for got in (at_start[d], None, in_day[d]):  # 2. receive, 3. serve, 4. receive
                    if got is None:
                        dem = demand[d]
                        ship = np.minimum(dem, on_hand)
                        on_hand -= ship
                        back += dem - ship
                        served += ship
                        continue
                    on_order -= got
                    fill = np.minimum(got, back)
                    back -= fill
                    on_hand += got - fill
                oh_sum += on_hand  # 4. end of day
                bo_sum += back
            res = out[name]
            for key, value in (("served", served), ("demand", demand.sum(axis=0)),
                               ("orders", used), ("on_hand_sum", oh_sum),
                               ("backorders_sum", bo_sum)):  # fmt: skip
                res.setdefault(key, []).append(value)
    return {name: {k: np.concatenate(v) for k, v in res.items()} for name, res in out.items()}


def run(replications: int, streams: str = "engine", first: int = 0) -> tuple[float, int]:
    """Run every policy over ``replications``; return (CPU seconds, SKU-days simulated)."""
    started = time.process_time()
    simulate(replications, streams=streams, first=first)
    elapsed = time.process_time() - started
    return elapsed, replications * len(POLICIES) * CLASSROOM["horizon_days"]


if __name__ == "__main__":
    for how, n in (("engine", 20_000), ("bulk", 100_000)):
        seconds, sku_days = run(n, how)
        print(
            f"minimal numpy loop, {how} streams: {sku_days:,} SKU-days in {seconds:.2f} s = "
            f"{sku_days / seconds:,.0f} SKU-days/s ({1e9 * seconds / sku_days:.1f} ns/SKU-day)"
        )
