"""The classroom model as a minimal plain SimPy loop: the honest floor for a SimPy engine.

One SKU (the classroom mug), one supplier, one SimPy process that wakes once a
day: review every R days with an order-up-to level S, receive due shipments
from a plain list, serve that day's demand (drawn for the whole run in one
block), record the end of the day. No policy objects, no per-SKU processes, no
metrics beyond the daily record: what any SimPy model of this system must at
least do. ``benchmarks/bench.py`` divides the engine's cost per SKU-day by this
loop's to show what the engine's generality costs.

The random streams are drawn exactly as the engine draws them (same seed
sequence, same lead-time blocks), and the day follows the same order (review,
receive, demand, end of day; a shipment is available at exactly order time +
lead time), so with the engine's ``jit`` level this loop reproduces the
engine's ``jit`` run. The bench checks that, so the floor is the same model.

Run ``python benchmarks/minimal_simpy.py`` for a quick timing.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import simpy

__all__ = ["CLASSROOM", "POLICIES", "run", "simulate"]

CLASSROOM = {
    "sku": "MUG-01",
    "supplier": "wholesaler",
    "demand_mean": 20.0,  # normal per day, censored at zero
    "demand_sd": 6.0,
    "lead_mean": 7.0,  # gamma lead time, days
    "lead_sd": 2.5,
    "initial_on_hand": 250.0,
    "horizon_days": 365,
    "seed": 20261127,
}
"""The classroom scenario's numbers (scenarios/classroom.yaml)."""

POLICIES = {"jit": (2, 180.0), "daily": (1, 250.0), "weekly": (7, 392.6)}
"""Three periodic order-up-to rules ``name: (review every R days, level S)``,
reviewing as often as the classroom's jit / safety_stock / hybrid policies."""

LEAD_TIME_BLOCK = 64
"""Lead times are drawn this many at a time (as in the engine)."""


def _rng(seed: int, replication: int, *source: str) -> np.random.Generator:
    """The engine's stream of a source (``Streams`` of simulator.model.replication)."""
    parts = tuple(
        int.from_bytes(hashlib.blake2b(x.encode(), digest_size=8).digest(), "little")
        for x in source
    )
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication, *parts)))


def simulate(replication: int, period: int, level: float, p: dict = CLASSROOM) -> dict:
    """Run one replication of the single-SKU model with a periodic order-up-to rule.

    Args:
        replication: replication index (picks the random streams).
        period: review every this many days (R).
        level: order-up-to level (S); order S − IP when IP < S.
        p: the model's numbers (default: the classroom scenario).

    Returns:
        Totals and the daily record: ``demand``, ``served``, ``fill_rate``,
        ``orders``, ``avg_on_hand``, ``avg_backorders`` and the lists
        ``on_hand``, ``backorders``, ``on_order``.
    """
    days = p["horizon_days"]
    demand_rng = _rng(p["seed"], replication, "demand", p["sku"])
    lead_rng = _rng(p["seed"], replication, "lead_time", p["sku"], p["supplier"])
    demand = np.maximum(demand_rng.normal(p["demand_mean"], p["demand_sd"], days), 0.0).tolist()
    shape = (p["lead_mean"] / p["lead_sd"]) ** 2
    scale = p["lead_sd"] ** 2 / p["lead_mean"]
    rec_on_hand, rec_back, rec_on_order = [0.0] * days, [0.0] * days, [0.0] * days
    st = {"demand": 0.0, "served": 0.0, "orders": 0}

    def day_loop(env: simpy.Environment):
        on_hand, back, on_order = p["initial_on_hand"], 0.0, 0.0
        pipeline: list[tuple[float, float]] = []  # (arrival time, quantity), sorted
        leads: list[float] = []
        served = 0.0
        for d in range(days):
            # 1. Review at the start of the day.
            if d % period == 0:
                gap = level - (on_hand - back + on_order)
                if gap > 1e-9:
                    if not leads:
                        leads = lead_rng.gamma(shape, scale, LEAD_TIME_BLOCK).tolist()[::-1]
                    # shipments arrive in order (the default): none overtakes the last
                    last = max(d + leads.pop(), pipeline[-1][0] if pipeline else 0.0)
                    pipeline.append((last, gap))
                    on_order += gap
                    st["orders"] += 1
            # 2. Receive what is due by the start of the day, backorders first.
            while pipeline and pipeline[0][0] <= d:
                qty = pipeline.pop(0)[1]
                on_order -= qty
                fill = qty if qty < back else back
                back -= fill
                on_hand += qty - fill
            # 3. Serve the day's demand; shortfall is backordered.
            qty = demand[d]
            if qty <= on_hand:
                on_hand -= qty
                served += qty
            else:
                served += on_hand
                back += qty - on_hand
                on_hand = 0.0
            # 4. End of day: receive what lands during the day, record.
            while pipeline and pipeline[0][0] < d + 1:
                qty = pipeline.pop(0)[1]
                on_order -= qty
                fill = qty if qty < back else back
                back -= fill
                on_hand += qty - fill
            rec_on_hand[d], rec_back[d], rec_on_order[d] = on_hand, back, on_order
            yield env.timeout(1)
        st["served"] = served

    env = simpy.Environment()
    env.process(day_loop(env))
    env.run()
    total = float(sum(demand))
    return {
        "demand": total,
        "served": st["served"],
        "fill_rate": st["served"] / total if total > 0 else float("nan"),
        "orders": st["orders"],
        "avg_on_hand": sum(rec_on_hand) / days,
        "avg_backorders": sum(rec_back) / days,
        "on_hand": rec_on_hand,
        "backorders": rec_back,
        "on_order": rec_on_order,
    }


def run(replications: int, policies: dict = POLICIES) -> tuple[float, int]:
    """Run every policy over ``replications``; return (seconds, SKU-days simulated)."""
    started = time.perf_counter()
    for r in range(replications):
        for period, level in policies.values():
            simulate(r, period, level)
    elapsed = time.perf_counter() - started
    return elapsed, replications * len(policies) * CLASSROOM["horizon_days"]


if __name__ == "__main__":
    simulate(0, 2, 180.0)
    seconds, sku_days = run(200)
    print(
        f"minimal SimPy loop: {sku_days:,} SKU-days in {seconds:.2f} s = "
        f"{sku_days / seconds:,.0f} SKU-days/s ({1e6 * seconds / sku_days:.2f} µs per SKU-day)"
    )
