"""Validity against inventory theory: where theory has an exact answer, reproduce it.

Each :class:`TheoryCase` is a small scenario whose stationary behaviour inventory
theory gives exactly (periodic base-stock, continuous (r, Q), Palm's theorem,
Erlang's loss formula, periodic (s, S) by the renewal argument, the textbook
safety-stock and EOQ rules). The exact values are computed here from scipy, not
copied from tables; the scenario is run with :func:`simulator.study.runner.run_scenario`
and every simulated mean across replications must lie within
:data:`Z_LIMIT` standard errors of its exact value (SE = sd / sqrt(n) across
replications; ratios of sums such as the fill rate are pooled over replications,
with a delta-method SE, see :class:`Check`). A coverage check then runs one fast
case under many seeds and counts how often the reported 95 % confidence interval
contains the exact value.

Run ``python -m simulator.study.validation --out docs/validation.md`` (``make
validate``); it prints a table, writes the Markdown report and exits 1 when any
check fails. ``--fast`` runs every case at its small size (the size the default
test run uses).

Conventions the exact values rely on (docs/conventions.md): within day t a periodic review
comes first (from IP = on-hand − backorders + on-order, trigger IP <= reorder
point), then receipts due, then demand; an order placed at time t with lead time
L lands at exactly t + L, so under daily review an order-up-to level S with
constant lead time L covers L + 1 days of demand.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import integrate, optimize, stats

__all__ = [
    "CONVENTIONS",
    "COVERAGE_CASE",
    "COVERAGE_METRICS",
    "DEFAULT_SEED",
    "FORMULA_RTOL",
    "RATIO_WEIGHTS",
    "ZERO_SE_ATOL",
    "Z_LIMIT",
    "Check",
    "CheckResult",
    "CoverageResult",
    "FormulaResult",
    "TheoryCase",
    "build_scenario",
    "censoring_bound",
    "coverage_check",
    "derived_seed",
    "erlang_b",
    "estimate",
    "evaluate",
    "formula_checks",
    "main",
    "normal_loss",
    "palm_base_stock",
    "periodic_base_stock_customers",
    "periodic_base_stock_nocross",
    "periodic_base_stock_normal",
    "periodic_base_stock_poisson",
    "periodic_rq_normal",
    "periodic_sS_poisson",
    "poisson_loss",
    "render_markdown",
    "renewal_mass",
    "rq_continuous_poisson",
    "run_case",
    "theory_cases",
]

Z_LIMIT = 4.0
"""A simulated mean passes when it lies within this many standard errors of theory."""

ZERO_SE_ATOL = 1e-9
"""Absolute tolerance used only when the SE is 0 and the exact value is 0 or 1."""

FORMULA_RTOL = 1e-9
"""Relative tolerance of the deterministic formula checks."""

DEFAULT_SEED = 20260517
"""Root seed of ``make validate`` (so docs/validation.md is reproducible)."""

RATIO_WEIGHTS = {
    "fill_rate": "demand_units",
    "order_fill_rate": "customer_orders",
    "avg_order_qty": "orders_placed",
}
"""Ratio metrics and the column that is their denominator (numerator = ratio × it)."""

COVERAGE_METRICS = ("avg_on_hand", "fill_rate", "p_backorder_end")
"""Metrics whose reported 95 % CI coverage is counted."""

# =========================================================================== exact values


def normal_loss(s: float, mean: float, sd: float) -> tuple[float, float]:
    """Return the expected excess and shortfall of a normal variable X against a level s.

    Args:
        s: the level.
        mean: mean of X.
        sd: standard deviation of X (0 allowed).

    Returns:
        ``(E[(s − X)^+], E[(X − s)^+])``.

    """
    if sd == 0:
        return max(s - mean, 0.0), max(mean - s, 0.0)
    z = (s - mean) / sd
    below = (s - mean) * stats.norm.cdf(z) + sd * stats.norm.pdf(z)
    above = sd * stats.norm.pdf(z) - (s - mean) * stats.norm.sf(z)
    return float(below), float(above)


def _poisson_pmf(mean: float) -> np.ndarray:
    """Poisson pmf on 0..k_max, k_max = mean + 40·sqrt(mean) + 40 (tail far below 1e-17)."""
    if mean <= 0:
        return np.ones(1)
    k_max = int(mean + 40 * math.sqrt(mean) + 40)
    return stats.poisson.pmf(np.arange(k_max + 1), mean)


def poisson_loss(y: float, mean: float) -> tuple[float, float]:
    """Return the expected excess and shortfall of a Poisson variable D against level y.

    ``E[(y − D)^+]`` is a finite sum; ``E[(D − y)^+] = E[D] − y + E[(y − D)^+]``.

    Args:
        y: the level.
        mean: mean of D.

    Returns:
        ``(E[(y − D)^+], E[(D − y)^+])``.

    """
    if y <= 0:
        return 0.0, mean - y
    k = np.arange(int(math.ceil(y)))
    below = float(np.sum((y - k) * stats.poisson.pmf(k, mean)))
    return below, mean - y + below


def periodic_base_stock_normal(s_level: float, mu: float, sigma: float, lead: int) -> dict:
    """Exact stationary metrics of daily-review base-stock with normal daily demand.

    Demand is one order per day at the start of the day, N(mu, sigma²), i.i.d.;
    lead time is the constant integer ``lead``. The end-of-day inventory level
    is S − D_{L+1} (demand over L + 1 days); the on-hand met by day t's demand
    is (S − D_L)^+ with D_L independent of that day's demand D, so the units
    short per day are E[(D_{L+1} − S)^+] − E[(D_L − S)^+] (exact for D >= 0).
    The simulator censors negative draws at 0; with sigma/mu <= 0.2 that
    changes any of these values by less than 1e-5 (see :func:`censoring_bound`).

    Args:
        s_level: order-up-to level S.
        mu: mean daily demand.
        sigma: sd of daily demand.
        lead: lead time L in days.

    Returns:
        ``{metric: exact value}`` for the simulator's metric names.

    """
    n = lead + 1
    on_hand, backorders = normal_loss(s_level, n * mu, math.sqrt(n) * sigma)
    _, short_before = normal_loss(s_level, lead * mu, math.sqrt(lead) * sigma)
    p_bo = float(stats.norm.sf(s_level, n * mu, math.sqrt(n) * sigma))
    return {
        "avg_on_hand": on_hand,
        "avg_on_hand_time": on_hand,
        "avg_backorders": backorders,
        "p_backorder_end": p_bo,
        "stockout_rate": p_bo,
        "fill_rate": 1 - (backorders - short_before) / mu,
        "cash_in_pipeline": lead * mu,
    }


def periodic_base_stock_poisson(s_level: int, mu: float, lead: int) -> dict:
    """Exact stationary metrics of daily-review base-stock with Poisson daily demand.

    As :func:`periodic_base_stock_normal`, with D_k ~ Poisson(k·mu). A day is a
    stockout day when its demand exceeds the on-hand (S − D_L)^+, i.e.
    P(D_{L+1} > S) − P(D_L > S)·P(D = 0); a day with demand is one customer
    order (a day without is none), so order fill rate = 1 − stockout rate ÷
    P(D > 0).

    Args:
        s_level: order-up-to level S.
        mu: mean daily demand.
        lead: lead time L in days.

    Returns:
        ``{metric: exact value}``.

    """
    n = lead + 1
    on_hand, backorders = poisson_loss(s_level, n * mu)
    _, short_before = poisson_loss(s_level, lead * mu)
    p_bo = float(stats.poisson.sf(s_level, n * mu))
    stockout = p_bo - float(stats.poisson.sf(s_level, lead * mu)) * math.exp(-mu)
    return {
        "avg_on_hand": on_hand,
        "avg_on_hand_time": on_hand,
        "avg_backorders": backorders,
        "p_backorder_end": p_bo,
        "stockout_rate": stockout,
        "order_fill_rate": 1 - stockout / -math.expm1(-mu),
        "fill_rate": 1 - (backorders - short_before) / mu,
        "cash_in_pipeline": lead * mu,
    }


def periodic_base_stock_nocross(s_level: int, mu: float, lead_cdf: Callable) -> dict:
    """Exact metrics of daily-review base-stock, Poisson daily demand, orders that never cross.

    Each order's own lead time L is i.i.d. with CDF ``lead_cdf`` (continuous);
    a shipment waits for every earlier one, so the order of day k lands at
    k + W_k with W_k = max(L_k, W_{k−1} − 1), and
    P(W <= x) = ∏_{j>=0} F_L(x + j) (Kaplan 1970; Zipkin 2000, §7.4).
    Arrivals come in order, so the shipments in stock at any time are those
    ordered up to some day: the inventory level is S minus the demand since
    that day's review. At the end of day t the shipments landed before t + 1
    count: the order of day t − a is in iff W < a + 1, so
    IL_end = S − D_{1+A}, P(A <= a) = P(W < a + 1). When day t's demand
    comes (at its start) only the shipments landed by t count: A' with
    P(A' <= a) = P(W <= a); day t is a stockout day when D_{1+A'} > S and
    D_t > 0. Demand is one order at the start of each day (Poisson(μ); an
    order is placed every day except with probability e^{−μ}, negligible).

    Args:
        s_level: order-up-to level S.
        mu: mean daily demand.
        lead_cdf: the CDF of one order's lead time (vectorised).

    Returns:
        ``{metric: exact value}``.

    """
    x = np.arange(0, 401)
    f_w = np.exp(np.log(np.clip(lead_cdf(x[:, None] + x[None, :]), 1e-300, 1)).sum(axis=1))
    a = x[:-1]
    p_end = np.diff(np.concatenate([[0.0], f_w[1:]]))  # A: landed before t + 1
    p_day = np.diff(np.concatenate([[0.0], f_w[:-1]]))  # A': landed by t
    keep = (p_end > 1e-16) | (p_day > 1e-16)
    on_hand = backorders = p_bo = stockout = 0.0
    for ai, pe, pd in zip(a[keep], p_end[keep], p_day[keep], strict=True):
        oh, bo = poisson_loss(s_level, (1 + ai) * mu)
        on_hand += pe * oh
        backorders += pe * bo
        p_bo += pe * float(stats.poisson.sf(s_level, (1 + ai) * mu))
        sf_before = float(stats.poisson.sf(s_level, ai * mu)) if ai else float(s_level < 0)
        sf_day = float(stats.poisson.sf(s_level, (1 + ai) * mu))
        stockout += pd * (sf_day - sf_before * math.exp(-mu))
    return {
        "avg_on_hand": on_hand,
        "avg_backorders": backorders,
        "p_backorder_end": p_bo,
        "stockout_rate": stockout,
    }


def periodic_base_stock_customers(s_level: int, lam: float, lead: int) -> dict:
    """Exact metrics of daily-review base-stock with unit customer orders within the day.

    Customers arrive as a Poisson process of rate ``lam`` per day. At time t + u
    of day t (0 <= u < 1) the inventory level is S − N(L + u), N(x) ~
    Poisson(lam·x), the demand since the review of day t − L. End-of-day on-hand
    sees u = 1; the time-weighted on-hand averages u over [0, 1); an arriving
    unit is served when S − N(L + u) >= 1 (PASTA). Day t is a stockout day when
    some order of day t finds no stock: A + B >= S + 1 with B >= 1, A ~
    Poisson(lam·L) before the day and B ~ Poisson(lam) within it.

    Args:
        s_level: order-up-to level S.
        lam: customer orders (units) per day.
        lead: lead time L in days.

    Returns:
        ``{metric: exact value}``.

    """

    def on_hand_at(u: float) -> float:
        return poisson_loss(s_level, lam * (lead + u))[0]

    def served_at(u: float) -> float:
        return float(stats.poisson.cdf(s_level - 1, lam * (lead + u)))

    kw = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 200}
    on_hand_time = integrate.quad(on_hand_at, 0.0, 1.0, **kw)[0]
    fill = integrate.quad(served_at, 0.0, 1.0, **kw)[0]
    on_hand, backorders = poisson_loss(s_level, lam * (lead + 1))
    p_bo = float(stats.poisson.sf(s_level, lam * (lead + 1)))
    stockout = p_bo - math.exp(-lam) * float(stats.poisson.sf(s_level, lam * lead))
    return {
        "avg_on_hand": on_hand,
        "avg_on_hand_time": on_hand_time,
        "avg_backorders": backorders,
        "p_backorder_end": p_bo,
        "stockout_rate": stockout,
        "fill_rate": fill,
        "order_fill_rate": fill,
        "cash_in_pipeline": lam * lead,
    }


def rq_continuous_poisson(r: int, q: int, lam: float, lead: float) -> dict:
    """Exact stationary metrics of continuous-review (r, Q) with Poisson unit demand.

    Hadley–Whitin: the inventory position is uniform on r+1 .. r+Q and the
    inventory level at time t is IP(t − L) − D(t − L, t], D ~ Poisson(lam·L),
    independent of IP(t − L). On-hand is (IL)^+ both time-averaged and at a
    fixed time (end of day); an arriving unit is served when IL >= 1 (PASTA);
    a demand triggers an order when IP = r + 1, so orders per day = lam / Q.

    Args:
        r: reorder point.
        q: lot size Q.
        lam: unit demands per day.
        lead: constant lead time L in days.

    Returns:
        ``{metric: exact value}``.

    """
    a = lam * lead
    ys = range(r + 1, r + q + 1)
    loss = [poisson_loss(y, a) for y in ys]
    on_hand = float(np.mean([b for b, _ in loss]))
    return {
        "avg_on_hand": on_hand,
        "avg_on_hand_time": on_hand,
        "avg_backorders": float(np.mean([s for _, s in loss])),
        "p_backorder_end": float(np.mean([stats.poisson.sf(y, a) for y in ys])),
        "fill_rate": float(np.mean([stats.poisson.cdf(y - 1, a) for y in ys])),
        "orders_per_day": lam / q,
        "cash_in_pipeline": a,
    }


def palm_base_stock(s_level: int, lam: float, mean_lead: float) -> dict:
    """Exact stationary metrics of continuous base-stock, Poisson demand, i.i.d. lead times.

    Palm's theorem: with one-for-one replenishment and orders free to cross,
    the number of outstanding orders X is Poisson(lam·E[L]) whatever the
    lead-time distribution (an M/G/∞ queue); IL = S − X.

    Args:
        s_level: base-stock level S.
        lam: unit demands per day.
        mean_lead: E[L] in days.

    Returns:
        ``{metric: exact value}``.

    """
    a = lam * mean_lead
    on_hand, backorders = poisson_loss(s_level, a)
    return {
        "avg_on_hand": on_hand,
        "avg_on_hand_time": on_hand,
        "avg_backorders": backorders,
        "p_backorder_end": float(stats.poisson.sf(s_level, a)),
        "fill_rate": float(stats.poisson.cdf(s_level - 1, a)),
        "cash_in_pipeline": a,
    }


def erlang_b(servers: int, load: float) -> float:
    """Erlang's loss formula B(S, a) = (a^S / S!) / Σ_{k<=S} a^k / k!.

    Args:
        servers: number of servers S.
        load: offered load a.

    Returns:
        The blocking probability.

    """
    return float(stats.poisson.pmf(servers, load) / stats.poisson.cdf(servers, load))


def renewal_mass(pmf: np.ndarray, n: int) -> np.ndarray:
    """Renewal mass u(j) = Σ_{k>=0} P(D_1 + … + D_k = j) for j = 0..n-1.

    u(j) is the expected number of review periods (counting the one right after
    an order) at which the demand accumulated since that order equals j. With
    p0 = P(D = 0) > 0, u(j)·(1 − p0) = 1{j=0} + Σ_{k=1..j} p(k)·u(j − k).

    Args:
        pmf: pmf of one period's demand on 0, 1, 2, ...
        n: how many values to return.

    Returns:
        ``array[n]``.

    """
    p = np.zeros(max(n, 1))
    p[: min(n, pmf.size)] = pmf[:n]
    u = np.zeros(n)
    for j in range(n):
        acc = 1.0 if j == 0 else float(np.dot(p[1 : j + 1], u[j - 1 :: -1][:j]))
        u[j] = acc / (1 - p[0])
    return u


def periodic_sS_poisson(s: int, s_up: int, mu: float, lead: int, order_cost: float) -> dict:
    """Exact stationary metrics of daily-review (s, S) with Poisson daily demand.

    Review at the start of day t from IP after yesterday's demand; order S − IP
    when IP <= s. The post-review position Y walks down from S by the daily
    demand until the demand accumulated since the last order reaches S − s,
    then returns to S. By the renewal argument (Zheng–Federgruen), with u the
    renewal mass of the daily demand: E[cycle length] = Σ_{j<S−s} u(j) days,
    P(Y = S − j) = u(j) / E[cycle length]. On-hand and shortages then follow as
    for base-stock with S replaced by Y: IL_end = Y − D_{L+1}.

    Args:
        s: reorder point s.
        s_up: order-up-to level S.
        mu: mean daily demand.
        lead: constant lead time L in days.
        order_cost: fixed cost per order.

    Returns:
        ``{metric: exact value}``, plus ``"ip_pmf"`` (the distribution of Y on
        s+1..S, an array) for inspection.

    """
    delta = s_up - s
    u = renewal_mass(_poisson_pmf(mu), delta)
    cycle = float(u.sum())
    ys = s_up - np.arange(delta)
    pi = u / cycle
    n = lead + 1
    on_hand = backorders = p_bo = short = 0.0
    for y, w in zip(ys, pi, strict=True):
        b, a = poisson_loss(float(y), n * mu)
        _, a_before = poisson_loss(float(y), lead * mu)
        on_hand += w * b
        backorders += w * a
        short += w * (a - a_before)
        p_bo += w * float(stats.poisson.sf(y, n * mu))
    return {
        "avg_on_hand": on_hand,
        "avg_on_hand_time": on_hand,
        "avg_backorders": backorders,
        "p_backorder_end": p_bo,
        "fill_rate": 1 - short / mu,
        "orders_per_day": 1 / cycle,
        "ordering_cost_per_day": order_cost / cycle,
        "avg_order_qty": mu * cycle,
        "ip_pmf": pi[::-1].copy(),
    }


def periodic_rq_normal(r: float, q: float, mu: float, sigma: float, lead: int) -> dict:
    """Exact stationary metrics of daily-review (r, Q) with normal daily demand.

    With a continuous demand distribution the post-review position is uniform
    on (r, r + Q] (IP − r modulo Q is a random walk on a circle with a
    non-lattice step); IL_end = Y − D_{L+1}. Integrals are taken by quadrature.

    Args:
        r: reorder point.
        q: lot size.
        mu: mean daily demand.
        sigma: sd of daily demand.
        lead: constant lead time L in days.

    Returns:
        ``{metric: exact value}``.

    """
    n = lead + 1
    m, sd = n * mu, math.sqrt(n) * sigma
    kw = {"epsabs": 1e-12, "epsrel": 1e-12, "limit": 200}

    def avg(f: Callable[[float], float]) -> float:
        return integrate.quad(f, r, r + q, **kw)[0] / q

    return {
        "avg_on_hand": avg(lambda y: normal_loss(y, m, sd)[0]),
        "avg_backorders": avg(lambda y: normal_loss(y, m, sd)[1]),
        "p_backorder_end": avg(lambda y: float(stats.norm.sf(y, m, sd))),
    }


def censoring_bound(mu: float, sigma: float, days: int) -> float:
    """Largest change censoring N(mu, sigma²) at 0 makes to a 1-Lipschitz function of D_days.

    Censoring raises each day's demand by D⁻ = max(−D, 0); a sum of ``days``
    days moves by at most days·E[D⁻] in mean (on-hand and backorders are
    1-Lipschitz in demand), and a probability by at most days·P(D < 0).

    Args:
        mu: mean of the uncensored normal.
        sigma: its sd.
        days: number of days summed.

    Returns:
        ``max(days·E[D⁻], days·P(D < 0))``.

    """
    a = mu / sigma
    neg_mean = sigma * stats.norm.pdf(a) - mu * stats.norm.sf(a)
    return float(days * max(neg_mean, stats.norm.sf(a)))


# =========================================================================== cases


@dataclass(frozen=True)
class Check:
    """One simulated quantity and its exact value.

    Plain metrics are averaged across replications. Ratios of sums (fill rates,
    lost fraction, mean order size) are pooled: Σ numerator / Σ denominator over
    all replications, with a delta-method SE, because the mean of per-replication
    ratios carries a bias of order 1/horizon that does not shrink with more
    replications. The numerator is the column ``metric`` divided by ``per``
    (e.g. ``lost_units`` per ``demand_units``), or the ratio column ``metric``
    weighted by ``weight`` (e.g. ``fill_rate`` weighted by ``demand_units``).
    """

    name: str
    exact: float
    metric: str
    per: str | None = None
    policy: str = "p"
    sku: str = "X"
    meaning: str = ""
    weight: str | None = None

    @property
    def pooled(self) -> bool:
        """Whether this is a ratio of sums pooled across replications."""
        return self.per is not None or self.weight is not None


@dataclass(frozen=True)
class TheoryCase:
    """A scenario whose stationary metrics theory gives exactly, and the checks."""

    key: str
    title: str
    setting: str
    formula: str
    scenario: dict[str, Any]
    checks: tuple[Check, ...]
    fast: dict[str, int]
    """Overrides (``replications``, ``horizon_days``) for the fast size."""
    note: str = ""


def _scenario(
    name: str,
    *,
    demand: dict,
    policies: dict,
    lead_time: dict,
    initial: float,
    horizon: int,
    warmup: int,
    replications: int,
    unmet: str = "backorder",
    order_cost: float = 0.0,
    unit_cost: float = 1.0,
    holding_rate: float = 0.25,
    skus: Sequence[dict[str, Any]] | None = None,
    in_order: bool = True,
) -> dict[str, Any]:
    """Scenario dict with one SKU ``X``, or the given SKUs, each with its own supplier.

    ``skus`` items are ``{"id", "lead_time"}`` with optional ``"demand"`` and
    ``"initial"`` overriding the shared ``demand`` and ``initial``. ``in_order``
    is every supplier's ``deliver_in_order`` (false: orders may cross).
    """
    routes = skus or [{"id": "X", "lead_time": lead_time}]
    return {
        "name": f"theory-{name}",
        "description": f"Theory check: {name}.",
        "horizon_days": horizon,
        "warmup_days": warmup,
        "replications": replications,
        "seed": 0,
        "unmet_demand": unmet,
        "units": "continuous",  # the formulas are for continuous stock and levels
        "suppliers": {
            f"sup_{r['id']}": {
                "lead_time": r["lead_time"],
                "order_cost": order_cost,
                "deliver_in_order": in_order,
            }
            for r in routes
        },
        "skus": [
            {
                "id": r["id"],
                "unit_cost": unit_cost,
                "price": 2 * unit_cost,
                "holding_rate": holding_rate,
                "supplier": f"sup_{r['id']}",
                "initial_on_hand": r.get("initial", initial),
                "demand": r.get("demand", demand),
            }
            for r in routes
        ],
        "policies": policies,
    }


def _checks(exact: dict, names: Sequence[str], policy: str = "p", sku: str = "X") -> list[Check]:
    meaning = {
        "avg_on_hand": "mean end-of-day on-hand",
        "avg_on_hand_time": "time-weighted mean on-hand",
        "avg_backorders": "mean end-of-day backorders",
        "p_backorder_end": "P(backorders > 0 at end of day)",
        "cycle_service_level": "review cycles ending without backorders ÷ cycles",
        "stockout_rate": "P(some demand of the day not met from stock)",
        "fill_rate": "units met from stock ÷ units demanded",
        "order_fill_rate": "orders shipped complete ÷ orders",
        "cash_in_pipeline": "mean end-of-day on-order (unit cost 1)",
        "avg_order_qty": "units ordered ÷ orders",
    }
    return [
        Check(
            n,
            float(exact[n]),
            n,
            policy=policy,
            sku=sku,
            meaning=meaning.get(n, ""),
            weight=RATIO_WEIGHTS.get(n),
        )
        for n in names
    ]


def _normal_demand(mu: float, sigma: float) -> dict:
    return {"per_day": {"dist": "normal", "mean": mu, "sd": sigma}}


def _unit_customers(lam: float) -> dict:
    return {"customers": {"orders_per_day": lam, "order_size": {"dist": "constant", "value": 1}}}


def theory_cases() -> list[TheoryCase]:
    """Return every theory case, exact values computed now (from scipy)."""
    cases: list[TheoryCase] = []
    const3 = {"dist": "constant", "value": 3}
    periodic = {"review": "periodic", "review_every_days": 1}
    continuous = {"review": "continuous"}
    base_metrics = ("avg_on_hand", "avg_backorders", "p_backorder_end", "fill_rate")

    # ---------------------------------------------------------------- 1a normal
    mu, sigma, lead = 100.0, 20.0, 3
    levels = {"p": 440, "p_z2": 480}
    checks: list[Check] = []
    for pname, s_level in levels.items():
        ex = periodic_base_stock_normal(s_level, mu, sigma, lead)
        names = (*base_metrics, "stockout_rate", "cash_in_pipeline")
        checks += _checks(ex, names if pname == "p" else base_metrics, policy=pname)
    cases.append(
        TheoryCase(
            key="base_stock_normal",
            title="1a. Periodic base-stock, normal daily demand",
            setting=(
                f"Daily review (R = 1), order up to S ∈ {{440, 480}} (policies `p`, `p_z2`); "
                f"constant lead time L = {lead}; daily demand N({mu:g}, {sigma:g}²), one order "
                "at the start of the day; backorders."
            ),
            formula=(
                "IL_end = S − D_{L+1}, D_k ~ N(kμ, kσ²); m = (L+1)μ, s = σ√(L+1), z = (S − m)/s. "
                "avg_on_hand = E[(S − D_{L+1})^+] = "
                "(S − m)Φ(z) + sφ(z); avg_backorders = E[(D_{L+1} − S)^+] = sφ(z) − (S − m)(1 − "
                "Φ(z)); p_backorder_end = P(D_{L+1} > S); on-hand met by the day's demand = "
                "(S − D_L)^+, so units short per day = E[(D_{L+1} − S)^+] − E[(D_L − S)^+] and "
                "fill_rate = 1 − that ÷ μ; mean on-order = Lμ (Little)."
            ),
            scenario=_scenario(
                "base-stock-normal",
                demand=_normal_demand(mu, sigma),
                policies={n: {"type": "base_stock", "S": v, **periodic} for n, v in levels.items()},
                lead_time=const3,
                initial=440,
                horizon=2000,
                warmup=20,
                replications=400,
            ),
            checks=tuple(checks),
            fast={"replications": 200, "horizon_days": 500},
            note=(
                "The simulator censors normal draws at 0; with σ/μ = 0.2 this moves every "
                f"value above by at most {censoring_bound(mu, sigma, lead + 1):.1e}."
            ),
        )
    )

    # ---------------------------------------------------------------- 1b poisson
    mu_p, s_p, mu_y, s_y = 20.0, 88, 1.0, 5
    ex = periodic_base_stock_poisson(s_p, mu_p, lead)
    ex_y = periodic_base_stock_poisson(s_y, mu_y, lead)
    CSL = "cycle_service_level"  # noqa: N806 - a metric name
    names = (*base_metrics, "stockout_rate", "order_fill_rate", "cash_in_pipeline")
    cases.append(
        TheoryCase(
            key="base_stock_poisson",
            title="1b. Periodic base-stock, Poisson daily demand",
            setting=(
                f"Daily review, constant L = {lead}; daily demand as one order at the start of "
                f"the day: SKU X Poisson({mu_p:g}) with S = {s_p}, SKU Y (a slow mover, often "
                f"no demand all day) Poisson({mu_y:g}) with S = {s_y}; backorders."
            ),
            formula=(
                "As 1a with D_k ~ Poisson(kμ): E[(S − D)^+] = Σ_{k<S} (S − k) p(k), E[(D − S)^+] "
                "= E[D] − S + E[(S − D)^+]; stockout_rate = P(D_{L+1} > S) − P(D_L > S)·e^{−μ} "
                "(a day that starts with backorders but has no demand is no stockout day, yet "
                "ends with backorders), order_fill_rate = 1 − stockout_rate ÷ P(D > 0) (a day "
                "without demand is no order). X receives a shipment every day (before its "
                "demand), so its cycle_service_level = 1 − p_backorder_end."
            ),
            scenario=_scenario(
                "base-stock-poisson",
                demand={"per_day": {"dist": "poisson", "mean": mu_p}},
                policies={"p": {"type": "base_stock", "S": {"X": s_p, "Y": s_y}, **periodic}},
                lead_time=const3,
                initial=s_p,
                horizon=2000,
                warmup=20,
                replications=400,
                skus=[
                    {"id": "X", "lead_time": const3},
                    {
                        "id": "Y",
                        "lead_time": const3,
                        "initial": s_y,
                        "demand": {"per_day": {"dist": "poisson", "mean": mu_y}},
                    },
                ],
            ),
            checks=tuple(
                _checks(ex, names)
                + _checks(ex_y, names, sku="Y")
                + _checks({"cycle_service_level": 1 - ex["p_backorder_end"]}, [CSL])
            ),
            fast={"replications": 200, "horizon_days": 500},
        )
    )

    # ---------------------------------------------------------------- 1c customers
    lam_c, lead_c, s_c = 20.0, 2, 66
    ex = periodic_base_stock_customers(s_c, lam_c, lead_c)
    cases.append(
        TheoryCase(
            key="base_stock_customers",
            title="1c. Periodic base-stock, unit customer orders within the day",
            setting=(
                f"Daily review, S = {s_c}, constant L = {lead_c}; unit customer orders arrive as "
                f"a Poisson process of rate {lam_c:g}/day within the day; backorders."
            ),
            formula=(
                "At time t + u of day t, IL = S − N(L + u), N(x) ~ Poisson(λx). "
                "avg_on_hand (end of day, u = 1) = E[(S − N(L+1))^+]; avg_on_hand_time = "
                "∫_0^1 E[(S − N(L+u))^+] du; fill_rate = ∫_0^1 P(N(L+u) <= S − 1) du (PASTA); "
                "p_backorder_end = P(N(L+1) > S); stockout_rate = P(A + B > S) − e^{−λ}P(A > S), "
                "A ~ Poisson(λL), B ~ Poisson(λ). Integrals by quadrature."
            ),
            scenario=_scenario(
                "base-stock-customers",
                demand=_unit_customers(lam_c),
                policies={"p": {"type": "base_stock", "S": s_c, **periodic}},
                lead_time={"dist": "constant", "value": lead_c},
                initial=s_c,
                horizon=2000,
                warmup=20,
                replications=300,
            ),
            checks=tuple(
                _checks(
                    ex,
                    (
                        "avg_on_hand",
                        "avg_on_hand_time",
                        "avg_backorders",
                        "p_backorder_end",
                        "stockout_rate",
                        "fill_rate",
                    ),
                )
            ),
            fast={"replications": 200, "horizon_days": 500},
            note=(
                "End-of-day and time-weighted on-hand differ here (demand falls through the "
                "day); they coincide in 1a/1b, where the day's demand comes at its start."
            ),
        )
    )

    # ---------------------------------------------------------------- 2 (r, Q)
    lam_q, lead_q, r_q, q_q = 10.0, 2.0, 22, 15
    ex = rq_continuous_poisson(r_q, q_q, lam_q, lead_q)
    checks = _checks(
        ex,
        (
            "avg_on_hand_time",
            "avg_on_hand",
            "avg_backorders",
            "p_backorder_end",
            "fill_rate",
            "cash_in_pipeline",
        ),
    )
    checks.append(
        Check(
            "orders_per_day",
            ex["orders_per_day"],
            "orders_placed",
            per="days",
            meaning="purchase orders ÷ days",
        )
    )
    cases.append(
        TheoryCase(
            key="rq_continuous",
            title="2. Continuous-review (r, Q), Poisson unit demand (Hadley–Whitin)",
            setting=(
                f"Continuous review, r = {r_q}, Q = {q_q}; unit customer orders, Poisson "
                f"{lam_q:g}/day at random times; constant L = {lead_q:g}; backorders."
            ),
            formula=(
                "IP uniform on r+1..r+Q; IL(t) = IP(t − L) − D, D ~ Poisson(λL) independent. "
                "avg_on_hand_time = (1/Q) Σ_y E[(y − D)^+] (the same holds at the end-of-day "
                "snapshot); avg_backorders = (1/Q) Σ_y E[(D − y)^+]; p_backorder_end = (1/Q) Σ_y "
                "P(D > y); fill_rate = (1/Q) Σ_y P(D <= y − 1); orders per day = λ/Q; mean "
                "on-order = λL."
            ),
            scenario=_scenario(
                "rq-continuous",
                demand=_unit_customers(lam_q),
                policies={"p": {"type": "r_Q", "r": r_q, "Q": q_q, **continuous}},
                lead_time={"dist": "constant", "value": lead_q},
                initial=r_q + q_q,
                horizon=2000,
                warmup=100,
                replications=300,
            ),
            checks=tuple(checks),
            fast={"replications": 200, "horizon_days": 500},
        )
    )

    # ---------------------------------------------------------------- 3 Palm
    lam_b, s_b = 5.0, 24
    routes = [
        {"id": "G", "lead_time": {"dist": "gamma", "mean": 4, "sd": 2}},
        {"id": "U", "lead_time": {"dist": "uniform", "low": 1, "high": 7}},
    ]
    ex = palm_base_stock(s_b, lam_b, 4.0)
    checks = []
    for sku in (r["id"] for r in routes):
        checks += _checks(
            ex,
            (
                "avg_on_hand_time",
                "avg_backorders",
                "p_backorder_end",
                "fill_rate",
                "cash_in_pipeline",
            ),
            sku=sku,
        )
    cases.append(
        TheoryCase(
            key="palm_base_stock",
            title="3. Continuous base-stock, stochastic lead times, orders cross (Palm)",
            setting=(
                f"Continuous review, one-for-one, S = {s_b}; unit customer orders Poisson "
                f"{lam_b:g}/day; i.i.d. lead times with E[L] = 4: SKU G gamma(mean 4, sd 2), "
                "SKU U uniform(1, 7); deliver_in_order false; backorders."
            ),
            formula=(
                "Outstanding orders X ~ Poisson(λE[L]) for any lead-time distribution "
                "(M/G/∞). avg_on_hand_time = E[(S − X)^+]; avg_backorders = E[(X − S)^+]; "
                "p_backorder_end = P(X > S); fill_rate = P(X <= S − 1) (PASTA); mean on-order "
                "= λE[L]."
            ),
            scenario=_scenario(
                "palm",
                demand=_unit_customers(lam_b),
                policies={"p": {"type": "base_stock", "S": s_b, **continuous}},
                lead_time=routes[0]["lead_time"],
                initial=s_b,
                horizon=2000,
                warmup=100,
                replications=300,
                skus=routes,
                in_order=False,
            ),
            checks=tuple(checks),
            fast={"replications": 200, "horizon_days": 500},
        )
    )

    # ---------------------------------------------------------------- 3b no crossing
    mu_n, s_n = 20.0, 150
    routes = [
        {"id": "G", "lead_time": {"dist": "gamma", "mean": 4, "sd": 2}},
        {"id": "U", "lead_time": {"dist": "uniform", "low": 1, "high": 7}},
    ]
    cdfs = {
        "G": lambda x: stats.gamma.cdf(x, 4.0, scale=1.0),
        "U": lambda x: stats.uniform.cdf(x, loc=1.0, scale=6.0),
    }
    checks = []
    for sku in ("G", "U"):
        checks += _checks(
            periodic_base_stock_nocross(s_n, mu_n, cdfs[sku]),
            ("avg_on_hand", "avg_backorders", "p_backorder_end", "stockout_rate"),
            sku=sku,
        )
    cases.append(
        TheoryCase(
            key="nocross_base_stock",
            title="3b. Periodic base-stock, stochastic lead times, shipments in order",
            setting=(
                f"Daily review, S = {s_n}; daily demand Poisson({mu_n:g}) as one order at the "
                "start of the day; each order's lead time i.i.d., SKU G gamma(mean 4, sd 2), "
                "SKU U uniform(1, 7); deliver_in_order true (the default: a shipment waits "
                "for every earlier one); backorders."
            ),
            formula=(
                "Order k lands at k + W_k, W_k = max(L_k, W_{k−1} − 1), P(W <= x) = "
                "∏_{j>=0} F_L(x + j) (Kaplan 1970; Zipkin 2000 §7.4); arrivals are in order, so "
                "IL_end(t) = S − D_{1+A}, P(A <= a) = P(W < a + 1) (shipments landed before the "
                "day closes). avg_on_hand = Σ_a P(A=a) E[(S − D_{1+a})^+]; avg_backorders "
                "likewise; p_backorder_end = Σ_a P(A=a) P(D_{1+a} > S). At the day's demand only "
                "shipments landed by its start count: A' with P(A' <= a) = P(W <= a); "
                "stockout_rate = Σ_a P(A'=a) [P(D_{1+a} > S) − P(D_a > S)e^{−μ}]."
            ),
            scenario=_scenario(
                "nocross",
                demand={"per_day": {"dist": "poisson", "mean": mu_n}},
                policies={"p": {"type": "base_stock", "S": s_n, **periodic}},
                lead_time=routes[0]["lead_time"],
                initial=s_n,
                horizon=2000,
                warmup=100,
                replications=300,
                skus=routes,
                in_order=True,
            ),
            checks=tuple(checks),
            fast={"replications": 200, "horizon_days": 500},
            note=(
                "The same lead times with orders free to cross give a shorter mean wait and "
                "fewer backorders; the planner's effective lead time "
                "(`model.suppliers.effective_lead_time`) uses this same distribution of A."
            ),
        )
    )

    # ---------------------------------------------------------------- 4 Erlang
    lam_e, s_e, mean_le = 5.0, 22, 4.0
    a = lam_e * mean_le
    b = erlang_b(s_e, a)
    routes = [
        {"id": "E", "lead_time": {"dist": "exponential", "mean": mean_le}},
        {"id": "N", "lead_time": {"dist": "lognormal", "mean": mean_le, "sd": 3}},
    ]
    checks = []
    for sku in (r["id"] for r in routes):
        checks += [
            Check(
                "lost_fraction",
                b,
                "lost_units",
                per="demand_units",
                sku=sku,
                meaning="lost units ÷ units demanded",
            ),
            Check(
                "fill_rate",
                1 - b,
                "fill_rate",
                sku=sku,
                weight="demand_units",
                meaning="units met from stock ÷ units demanded",
            ),
            Check(
                "avg_on_hand_time",
                s_e - a * (1 - b),
                "avg_on_hand_time",
                sku=sku,
                meaning="time-weighted mean on-hand",
            ),
            Check(
                "cash_in_pipeline",
                a * (1 - b),
                "cash_in_pipeline",
                sku=sku,
                meaning="mean end-of-day on-order (unit cost 1)",
            ),
            Check(
                "avg_backorders",
                0.0,
                "avg_backorders",
                sku=sku,
                meaning="lost sales: never a backorder",
            ),
        ]
    cases.append(
        TheoryCase(
            key="erlang_lost_sales",
            title="4. Continuous one-for-one with lost sales (Erlang loss)",
            setting=(
                f"Continuous base-stock S = {s_e}; unit customer orders Poisson {lam_e:g}/day; "
                "unmet demand lost; i.i.d. lead times with E[L] = 4: SKU E exponential, "
                "SKU N lognormal(mean 4, sd 3); deliver_in_order false (orders cross)."
            ),
            formula=(
                "Outstanding orders = busy servers of an M/G/S/S queue, a = λE[L]. Lost "
                "fraction = B(S, a) = (a^S/S!) / Σ_{k<=S} a^k/k! (insensitive to the lead-time "
                "distribution); fill_rate = 1 − B; mean on-order = a(1 − B); time-weighted "
                "on-hand = S − a(1 − B)."
            ),
            scenario=_scenario(
                "erlang",
                demand=_unit_customers(lam_e),
                policies={"p": {"type": "base_stock", "S": s_e, **continuous}},
                lead_time=routes[0]["lead_time"],
                initial=s_e,
                horizon=2000,
                warmup=100,
                replications=300,
                unmet="lost_sale",
                skus=routes,
                in_order=False,
            ),
            checks=tuple(checks),
            fast={"replications": 200, "horizon_days": 500},
        )
    )

    # ---------------------------------------------------------------- 5 (s, S)
    mu_s, lead_s, s_s, up_s, k_s = 10.0, 2, 30, 65, 50.0
    ex = periodic_sS_poisson(s_s, up_s, mu_s, lead_s, k_s)
    checks = _checks(
        ex, ("avg_on_hand", "avg_backorders", "p_backorder_end", "fill_rate", "avg_order_qty")
    )
    checks += [
        Check(
            "orders_per_day",
            ex["orders_per_day"],
            "orders_placed",
            per="days",
            meaning="purchase orders ÷ days",
        ),
        Check(
            "ordering_cost_per_day",
            ex["ordering_cost_per_day"],
            "ordering_cost",
            per="days",
            meaning="fixed order cost ÷ days",
        ),
    ]
    cases.append(
        TheoryCase(
            key="sS_periodic",
            title="5. Periodic (s, S) with a fixed order cost (renewal argument)",
            setting=(
                f"Daily review, s = {s_s}, S = {up_s}, order cost {k_s:g}; daily demand "
                f"Poisson({mu_s:g}) as one order at the start of the day; constant L = {lead_s}; "
                "backorders."
            ),
            formula=(
                "u(j) = Σ_k P(D_1+…+D_k = j) (renewal mass; u(j)(1 − p0) = 1{j=0} + "
                "Σ_{i=1..j} p(i)u(j − i)). E[N] = Σ_{j<S−s} u(j) days per order cycle; post-review "
                "IP Y has P(Y = S − j) = u(j)/E[N], j < S − s. orders per day = 1/E[N]; "
                "ordering cost per day = K/E[N]; avg_order_qty = μE[N] (Wald); IL_end = Y − "
                "D_{L+1}: avg_on_hand = Σ_y P(Y=y) E[(y − D_{L+1})^+], and so on as in 1b."
            ),
            scenario=_scenario(
                "sS",
                demand={"per_day": {"dist": "poisson", "mean": mu_s}},
                policies={"p": {"type": "s_S", "s": s_s, "S": up_s, **periodic}},
                lead_time={"dist": "constant", "value": lead_s},
                initial=up_s,
                horizon=2000,
                warmup=100,
                replications=400,
                order_cost=k_s,
            ),
            checks=tuple(checks),
            fast={"replications": 200, "horizon_days": 500},
        )
    )

    # ---------------------------------------------------------------- 6 named policies
    cases.append(_named_policy_case())
    return cases


def _named_policy_levels() -> dict[str, float]:
    """Hand computation of the named policies' levels in case 6 (see its setting).

    The policies plan with the moments of the demand the simulator draws (normal
    censored at 0); here those moments come from quadrature, independently.
    """
    mu, sigma, lead, k, c, h, sl = 100.0, 20.0, 3, 2.0, 10.0, 0.25, 0.95
    m, var = _censored_normal_moments(mu, sigma)
    days = lead + 1
    z = float(stats.norm.ppf(sl))
    level = days * m
    buffer = z * math.sqrt(days * var + m**2 * 0.0)
    q = math.sqrt(2 * k * (365 * m) / (c * h))
    return {
        "mu": mu,
        "sigma": sigma,
        "lead": lead,
        "order_cost": k,
        "unit_cost": c,
        "holding_rate": h,
        "service_level": sl,
        "jit": level,
        "hybrid": level + buffer,
        "rop": level + buffer,
        "q": max(q, m),
    }


def _named_policy_case() -> TheoryCase:
    v = _named_policy_levels()
    mu, sigma, lead = v["mu"], v["sigma"], int(v["lead"])
    sl = v["service_level"]
    hybrid = periodic_base_stock_normal(v["hybrid"], mu, sigma, lead)
    jit = periodic_base_stock_normal(v["jit"], mu, sigma, lead)
    rq = periodic_rq_normal(v["rop"], v["q"], mu, sigma, lead)
    checks = [
        Check(
            "p_backorder_end",
            1 - sl,
            "p_backorder_end",
            policy="hybrid",
            meaning="backorders at the day's end: 1 − service_level_a",
        ),
        Check(
            "cycle_service_level",
            sl,
            "cycle_service_level",
            policy="hybrid",
            meaning="the target: a shipment a day, none finding backorders, service_level_a",
        ),
        Check(
            "avg_on_hand",
            hybrid["avg_on_hand"],
            "avg_on_hand",
            policy="hybrid",
            meaning="mean end-of-day on-hand",
        ),
        Check(
            "fill_rate",
            hybrid["fill_rate"],
            "fill_rate",
            policy="hybrid",
            weight="demand_units",
            meaning="units met from stock ÷ units demanded",
        ),
        Check(
            "p_backorder_end",
            0.5,
            "p_backorder_end",
            policy="jit",
            meaning="no safety stock: backorders at half the day ends",
        ),
        Check(
            "avg_on_hand",
            jit["avg_on_hand"],
            "avg_on_hand",
            policy="jit",
            meaning="mean end-of-day on-hand",
        ),
        Check(
            "p_backorder_end",
            rq["p_backorder_end"],
            "p_backorder_end",
            policy="safety_stock",
            meaning="(1/Q)∫_r^{r+Q} P(D_{L+1} > y) dy",
        ),
        Check(
            "avg_on_hand",
            rq["avg_on_hand"],
            "avg_on_hand",
            policy="safety_stock",
            meaning="(1/Q)∫_r^{r+Q} E[(y − D_{L+1})^+] dy",
        ),
    ]
    return TheoryCase(
        key="named_policies",
        title="6. The named policies' safety-stock and EOQ rules",
        setting=(
            f"Daily review, constant L = {lead}, daily demand N({mu:g}, {sigma:g}²); unit cost "
            f"{v['unit_cost']:g}, holding rate {v['holding_rate']:g}, order cost "
            f"{v['order_cost']:g}. `hybrid` (one SKU, so class A, service_level_a = {sl:g}) is "
            f"base-stock at S = (L+1)μ + z·σ√(L+1) = {v['hybrid']:.3f}; `jit` at S = (L+1)μ = "
            f"{v['jit']:g}; `safety_stock` (service_level {sl:g}, EOQ lots) is (r, Q) with "
            f"r = {v['rop']:.3f}, Q = √(2K·365μ/(c·h)) = {v['q']:.3f}. These levels are "
            "computed by hand here and checked against the built policies (formula checks)."
        ),
        formula=(
            "Base-stock levels as in 1a: P(D_{L+1} > S) = 1 − Φ(z) = 1 − service level for "
            "`hybrid`, 1/2 for `jit`. `safety_stock`: post-review IP uniform on (r, r+Q] "
            "(continuous demand), so P(backorder at day end) = (1/Q)∫_r^{r+Q} P(D_{L+1} > y) dy "
            "< 1 − service level: the reorder point alone already meets the target."
        ),
        scenario=_scenario(
            "named-policies",
            demand=_normal_demand(mu, sigma),
            policies={
                "hybrid": {"type": "hybrid", "service_level_a": sl, "review_every_days": 1},
                "jit": {"type": "jit", "review_every_days": 1},
                "safety_stock": {
                    "type": "safety_stock",
                    "service_level": sl,
                    "quantity": "eoq",
                    "review_every_days": 1,
                },
            },
            lead_time={"dist": "constant", "value": lead},
            initial=v["hybrid"],
            horizon=2000,
            warmup=100,
            replications=300,
            order_cost=v["order_cost"],
            unit_cost=v["unit_cost"],
            holding_rate=v["holding_rate"],
        ),
        checks=tuple(checks),
        fast={"replications": 200, "horizon_days": 1000},
        note=(
            "Censoring normal demand at 0 moves these values by at most "
            f"{censoring_bound(mu, sigma, lead + 1):.1e}."
        ),
    )


# =========================================================================== formula checks


@dataclass(frozen=True)
class FormulaResult:
    """A deterministic check of a formula the policies use against hand computation."""

    name: str
    expression: str
    expected: float
    actual: float

    @property
    def passed(self) -> bool:
        """Equal to relative tolerance :data:`FORMULA_RTOL`."""
        return math.isclose(self.actual, self.expected, rel_tol=FORMULA_RTOL, abs_tol=1e-12)


def _censored_normal_moments(mu: float, sigma: float) -> tuple[float, float]:
    """Mean and variance of max(N(mu, sigma²), 0), by quadrature (independent of the code)."""
    pdf = stats.norm(mu, sigma).pdf
    hi = mu + 40 * sigma
    m1 = integrate.quad(lambda x: x * pdf(x), 0, hi, epsabs=1e-12, epsrel=1e-13, limit=200)[0]
    m2 = integrate.quad(lambda x: x * x * pdf(x), 0, hi, epsabs=1e-12, epsrel=1e-13, limit=200)[0]
    return m1, m2 - m1 * m1


def formula_checks() -> list[FormulaResult]:
    """Check ``safety_stock``, ``eoq`` and the built policies' levels against hand computation."""
    from simulator.data.scenario import Scenario
    from simulator.model.policies import eoq, safety_stock
    from simulator.model.replication import build_policies, make_plans

    out: list[FormulaResult] = []
    z = float(stats.norm.ppf(0.97))
    hand = z * math.sqrt(9 * 36.0 + 20.0**2 * 6.25)
    out.append(
        FormulaResult(
            "safety_stock()",
            "z·√(days·σ_d² + μ_d²·Var[L]), z = Φ⁻¹(0.97), days 9, μ 20, σ² 36, Var[L] 6.25",
            hand,
            safety_stock(z, 9, 20.0, 36.0, 6.25),
        )
    )
    out.append(
        FormulaResult(
            "eoq()",
            "√(2·K·D / (c·h)), K 25, D 7300/yr, c 4, h 0.25",
            math.sqrt(2 * 25 * 7300 / (4 * 0.25)),
            eoq(25, 7300, 4, 0.25),
        )
    )
    out.append(FormulaResult("eoq(), no fixed cost", "K = 0 gives 0", 0.0, eoq(0, 7300, 4, 0.25)))

    # The built policies of case 6 against the hand-computed levels.
    case = _named_policy_case()
    v = _named_policy_levels()
    scn = Scenario.from_dict(case.scenario)
    plans = make_plans(scn)
    built = build_policies(scn, plans)
    jit_up = float(built["jit"][0].levels()[1][0])
    hyb_up = float(built["hybrid"][0].levels()[1][0])
    rop, upto = (float(x[0]) for x in built["safety_stock"][0].levels())
    for label, expr, expected, actual in (
        ("jit level", "(L+R)·μ", v["jit"], jit_up),
        ("hybrid level (class A)", "(L+R)·μ + z_A·σ·√(L+R)", v["hybrid"], hyb_up),
        ("safety_stock reorder point", "(L+R)·μ + z·σ·√(L+R)", v["rop"], rop),
        ("safety_stock lot (EOQ)", "√(2K·365μ/(c·h))", v["q"], upto - rop),
    ):
        # The policies use the censored normal's moments; rel. difference ~1e-8 here.
        out.append(FormulaResult(label, expr, expected, actual))

    # With a stochastic lead time, the safety stock includes μ²·Var[L] (censored moments).
    data = {
        **case.scenario,
        "suppliers": {
            "sup_X": {"lead_time": {"dist": "gamma", "mean": 7, "sd": 2.5}, "order_cost": 25}
        },
        "skus": [
            {
                **case.scenario["skus"][0],
                "demand": {"per_day": {"dist": "normal", "mean": 20, "sd": 6}},
            }
        ],
        "policies": {"ss": {"type": "safety_stock", "service_level": 0.95, "review_every_days": 2}},
    }
    scn = Scenario.from_dict(data)
    (plan,) = make_plans(scn)
    rop = float(build_policies(scn, [plan])["ss"][0].levels()[0][0])
    m, var = _censored_normal_moments(20.0, 6.0)
    # The lead time to protect: shipments in order, orders every s = Q/μ days (EOQ lot),
    # a daily quantity usable from the day after landing: U = ⌈W⌉,
    # P(U <= n) = ∏_j F_L(n + j·s), summed directly over whole days here.
    unit = case.scenario["skus"][0]["unit_cost"]
    rate = case.scenario["skus"][0].get("holding_rate", 0.25)
    s_gap = max(math.sqrt(2 * 25 * 365 * m / (unit * rate)), 2 * m) / m
    n = np.arange(0, 80)
    shape, scale = (7 / 2.5) ** 2, 2.5**2 / 7
    cdf_u = np.prod(stats.gamma.cdf(n[:, None] + s_gap * np.arange(0, 80), shape, scale=scale), 1)
    p_u = np.diff(np.concatenate([[0.0], cdf_u]))
    z_tail = 0.05

    def short(level: float) -> float:
        # P(demand over R + U days > level), U mixed over its distribution
        d = 2 + n
        return float(np.sum(p_u * stats.norm.sf(level, d * m, np.sqrt(d * var))))

    hand = optimize.brentq(lambda x: short(x) - z_tail, 0.0, 100 * m, xtol=1e-10)
    out.append(
        FormulaResult(
            "safety_stock reorder point, gamma lead time",
            "r with Σ_u P(U=u)·P(D_{R+u} > r) = 1 − 0.95, D_k ~ N(kμ, kσ²); U = ⌈W⌉ the usable "
            "lead time of shipments in order, P(U <= n) = ∏_j F_L(n + j·Q/μ); L gamma(7, sd "
            "2.5), R 2, N(20, 6²) censored at 0 (moments by quadrature); root by brentq",
            hand,
            rop,
        )
    )
    return out


# =========================================================================== running


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: simulated value, its SE and CI, z-score, pass/fail.

    ``mean`` is the mean across replications, or for a pooled ratio the ratio of
    the replication means; ``se`` its standard error; ``rep_mean`` the mean of
    the per-replication values (what ``summary.csv`` reports), for reference.
    """

    case: str
    check: Check
    n: int
    mean: float
    se: float
    ci_low: float
    ci_high: float
    rep_mean: float

    @property
    def z(self) -> float:
        """(simulated − exact) / SE; 0 when both the difference and the SE are 0."""
        diff = self.mean - self.check.exact
        if self.se > 0:
            return diff / self.se
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)

    @property
    def passed(self) -> bool:
        """Within :data:`Z_LIMIT` SE; with SE 0, exact 0 or 1 and the value within 1e-9."""
        if not np.isfinite(self.mean):
            return False
        if self.se > 0:
            return abs(self.z) <= Z_LIMIT
        exact = self.check.exact
        return exact in (0.0, 1.0) and abs(self.mean - exact) <= ZERO_SE_ATOL


def derived_seed(root: int, *key: int) -> int:
    """Derive an independent seed from ``root`` and a spawn key (never root + i).

    ``derived_seed(root, i)`` is case ``i``'s seed; a longer key such as
    ``(i, 1)`` gives another seed, independent of it.
    """
    return int(np.random.SeedSequence(root, spawn_key=key).generate_state(1)[0])


def build_scenario(case: TheoryCase, fast: bool = False, seed: int = DEFAULT_SEED):
    """Build the case's scenario at full or fast size, with the given seed.

    Args:
        case: the theory case.
        fast: use the case's fast size.
        seed: the scenario's root seed.

    Returns:
        A validated :class:`simulator.data.scenario.Scenario`.

    """
    from simulator.data.scenario import Scenario

    data = {**case.scenario, "seed": int(seed)}
    if fast:
        data.update(case.fast)
    return Scenario.from_dict(data)


def _t_ci(mean: float, se: float, n: int) -> tuple[float, float]:
    if n < 2 or not np.isfinite(se):
        return math.nan, math.nan
    half = float(stats.t.ppf(0.975, n - 1)) * se
    return mean - half, mean + half


def estimate(check: Check, rows: Any) -> tuple[int, float, float, float]:
    """Estimate the check's quantity from one policy × SKU's per-replication rows.

    Args:
        check: the check.
        rows: rows of the ``runs`` DataFrame for ``check.policy`` × ``check.sku``.

    Returns:
        ``(n, estimate, standard error, mean of per-replication values)``.

    """
    col = rows[check.metric].to_numpy(dtype=float)
    n = col.size
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    if not check.pooled:
        sd = float(col.std(ddof=1)) if n > 1 else math.nan
        return n, float(col.mean()), sd / math.sqrt(n), float(col.mean())
    if check.per is not None:
        num, den = col, rows[check.per].to_numpy(dtype=float)
    else:
        den = rows[check.weight].to_numpy(dtype=float)
        num = col * den
    ratio = float(num.sum() / den.sum())
    resid = num - ratio * den  # delta method: Var(R̂) ≈ Var(num − R·den) / (n·mean(den)²)
    se = float(resid.std(ddof=1)) / (math.sqrt(n) * float(den.mean())) if n > 1 else math.nan
    return n, ratio, se, float(np.mean(num / den))


def evaluate(case: TheoryCase, runs: Any) -> list[CheckResult]:
    """Compare a run's per-replication rows with the case's exact values.

    Args:
        case: the theory case.
        runs: the ``runs`` DataFrame of :class:`simulator.study.runner.RunResult`.

    Returns:
        One :class:`CheckResult` per check.

    """
    out = []
    for chk in case.checks:
        rows = runs[(runs["policy"] == chk.policy) & (runs["sku"] == chk.sku)]
        n, mean, se, rep_mean = estimate(chk, rows.sort_values("replication"))
        lo, hi = _t_ci(mean, se, n)
        out.append(CheckResult(case.key, chk, n, mean, se, lo, hi, rep_mean))
    return out


def run_case(
    case: TheoryCase,
    fast: bool = False,
    seed: int = DEFAULT_SEED,
    workers: int = 2,
    backend: str = "processes",
) -> list[CheckResult]:
    """Simulate one theory case and check it.

    Args:
        case: the theory case.
        fast: run the small size.
        seed: the scenario's root seed.
        workers: parallel worker processes.
        backend: runner backend.

    Returns:
        One :class:`CheckResult` per check.

    """
    from simulator.study.runner import run_scenario

    result = run_scenario(build_scenario(case, fast, seed), backend=backend, workers=workers)
    return evaluate(case, result.runs)


# =========================================================================== coverage


@dataclass(frozen=True)
class CoverageResult:
    """How often the reported 95 % CI of the mean contained the exact value."""

    case: str
    runs: int
    replications: int
    horizon_days: int
    hits: dict[str, int] = field(default_factory=dict)

    def rate(self, metric: str) -> float:
        """Observed coverage of ``metric``."""
        return self.hits[metric] / self.runs

    def interval(self, metric: str, level: float = 0.95) -> tuple[float, float]:
        """Clopper–Pearson interval of the coverage at ``level``."""
        ci = stats.binomtest(self.hits[metric], self.runs).proportion_ci(level, method="exact")
        return float(ci.low), float(ci.high)

    @property
    def passed(self) -> bool:
        """Each metric's 99.9 % Clopper–Pearson interval contains 0.95."""
        return all(lo <= 0.95 <= hi for lo, hi in (self.interval(m, 0.999) for m in self.hits))


COVERAGE_CASE = "base_stock_poisson"
"""The case whose CI coverage is counted."""


def _coverage_runs(data: dict[str, Any], seeds: list[int], exact: dict[str, float]) -> list:
    """Worker: run the scenario under each seed (serially), return CI hits per metric."""
    from simulator.data.scenario import Scenario
    from simulator.study.runner import run_scenario

    out = []
    for s in seeds:
        res = run_scenario(Scenario.from_dict({**data, "seed": s}), backend="serial")
        summ = res.summary
        summ = summ[(summ["policy"] == "p") & (summ["sku"] == "X")].set_index("metric")
        out.append(
            {m: bool(summ.at[m, "ci_low"] <= v <= summ.at[m, "ci_high"]) for m, v in exact.items()}
        )
    return out


def coverage_check(
    runs: int = 200,
    replications: int = 20,
    horizon_days: int = 300,
    seed: int = DEFAULT_SEED,
    workers: int = 2,
) -> CoverageResult:
    """Run case 1b under ``runs`` seeds; count how often the reported 95 % CI covers theory.

    The CI is the one the project reports (``RunResult.summary``: t interval of
    the mean across replications). Runs are spread over ``workers`` processes,
    each running its share serially (results do not depend on the backend).

    Args:
        runs: independent runs (different seeds).
        replications: replications per run.
        horizon_days: measured days per replication.
        seed: root seed the run seeds are drawn from.
        workers: worker processes.

    Returns:
        The :class:`CoverageResult`.

    """
    case = next(c for c in theory_cases() if c.key == COVERAGE_CASE)
    data = {**case.scenario, "replications": replications, "horizon_days": horizon_days}
    exact = {
        c.metric: c.exact for c in case.checks if c.metric in COVERAGE_METRICS and c.sku == "X"
    }
    seeds = [int(x) for x in np.random.SeedSequence(seed).generate_state(runs)]
    chunks = [seeds[i::workers] for i in range(workers)]
    results: list[dict[str, bool]] = []
    if workers <= 1:
        results = _coverage_runs(data, seeds, exact)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for part in pool.map(_coverage_runs, [data] * workers, chunks, [exact] * workers):
                results += part
    hits = {m: sum(r[m] for r in results) for m in exact}
    return CoverageResult(case.key, runs, replications, horizon_days, hits)


# =========================================================================== report


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "nan"
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:.3f}"
    return f"{x:.5g}" if abs(x) >= 1e-3 else f"{x:.3e}"


CONVENTIONS = """\
## Conventions the exact values rely on

* **Event order within day t** (docs/conventions.md): (1) a periodic policy reviews at the start of
  the day from IP = on-hand − backorders + on-order and orders when IP <= reorder point;
  (2) shipments due arrive (an order placed at time t with lead time L lands at exactly
  t + L, so an order placed at the start of day t with L = 3 is there before the demand of
  day t + 3), serving backorders first; (3) customer orders arrive and are served from
  on-hand, a continuous-review policy reviewing after each; (4) the day closes: on-hand,
  backorders and on-order are recorded.
* **Lead time L covers L + 1 days under periodic review.** The order placed at the review
  of day t − L is the last to land before the demand of day t, so with daily review
  IL_end(t) = S − (demand of days t − L .. t): the base-stock level protects L + 1 days,
  as in the textbook formulas. Under continuous review the protection is L.
* **Fill rate is a ratio of sums**: units served from stock at the moment they were
  demanded ÷ units demanded, summed over the measured horizon of a replication (never a
  mean of daily ratios). Theory gives the long-run ratio. The mean of per-replication
  ratios (what `summary.csv` reports) carries a bias of order 1/horizon that more
  replications do not remove (demand-heavy replications have lower fill rates), so the
  checks of ratio metrics (fill rates, lost fraction, mean order size) pool the sums over
  all replications — Σ served ÷ Σ demanded — with a delta-method standard error. The
  mean of per-replication ratios is listed under each table for comparison.
* **stockout_rate and p_backorder_end are different things.** stockout_rate counts days
  on which some demand was not served at once; p_backorder_end counts days that end with
  backorders. `cycle_service_level` is a third: the share of replenishment cycles (each
  receipt ends one) with no demand left unmet. A day that starts with backorders
  and has no demand is in the second but not the first. For a fast mover the two nearly
  coincide; the slow mover Y of case 1b (no demand on about a third of its days) shows them apart,
  each agreeing with its own formula.
* **End-of-day versus time-weighted on-hand.** `avg_on_hand` averages the end-of-day
  snapshot, `avg_on_hand_time` integrates on-hand over time. When the day's demand comes
  as one order at the start of the day (1a, 1b, 5) on-hand is flat for the rest of the day
  and the two agree; when demand falls through the day under periodic review (1c) the
  end-of-day value is lower. Under continuous review in steady state the two have the
  same expectation (2, 3, 4).
* **Shipments in order or crossing.** A supplier's shipments never overtake one another
  by default (`deliver_in_order: true`): a shipment due before an earlier one waits for
  it (case 3b). Palm's and Erlang's results (cases 3, 4) need orders that cross, so those
  cases set `deliver_in_order: false`.
* **Zero-unit orders are no orders.** A day without demand (a Poisson count of 0) is not a
  customer order, so the order fill rate of 1b divides by P(D > 0).
* **Stationarity.** Each case runs a warm-up (`warmup_days`) that is simulated but not
  measured, long against the lead time and the order cycle, so the measured days are
  stationary and the exact values apply.
* **Pass rule.** A check passes when |simulated − exact| <= 4·SE (|z| <= 4), with SE =
  sd / √n across the n replications (for pooled ratios the delta-method SE,
  sd(num − R·den) / (√n · mean(den))). An absolute tolerance of 1e-9 is used only where
  the exact value is 0 or 1 and the SE is 0. The 95 % CI shown is value ± t(0.975, n−1)·SE.
  Even a correct simulator fails one check with probability about 1e-4 (the t tail at 4,
  a little heavier for rare-event probabilities); the checks of one case are correlated,
  so a case fails falsely a few times in ten thousand runs.
* **In the test suite.** `make test` runs every case at its fast size under a fresh seed
  each session, about 75 checks, so a single miss would fail about one session in 100
  (it happened once in CI: z = −4.2 on `avg_backorders` of case 2; over 200 other seeds
  that check's z had mean −0.09 and sd 0.90, and a pooled run of 6,000 replications
  gave z = +1.3). A miss is therefore confirmed: the case runs again at full size under an
  independent seed and the test fails only if the same check misses again. A correct
  simulator then fails a session about once in a million; a real bias still fails, since
  the full size's SE is 1.7 to 2.8 times smaller. The coverage check is confirmed the same
  way with four times the runs.
"""


def render_markdown(
    results: dict[str, list[CheckResult]],
    cases: list[TheoryCase],
    formulas: list[FormulaResult],
    coverage: CoverageResult | None,
    fast: bool,
    seed: int,
) -> str:
    """Render the validation report (Markdown).

    Args:
        results: check results per case key.
        cases: the cases run (in order).
        formulas: deterministic formula checks.
        coverage: the coverage check, if run.
        fast: whether the fast sizes were used.
        seed: the root seed.

    Returns:
        The Markdown text.

    """
    n_checks = sum(len(v) for v in results.values()) + len(formulas)
    n_fail = sum(not r.passed for v in results.values() for r in v)
    n_fail += sum(not f.passed for f in formulas)
    if coverage is not None:
        n_checks += 1
        n_fail += not coverage.passed
    lines = [
        "# Validation against inventory theory",
        "",
        "Generated by `python -m simulator.study.validation --out docs/validation.md` "
        "(`make validate`); do not edit by hand.",
        "",
        "Where inventory theory has an exact answer the simulator must reproduce it within "
        "Monte Carlo error. Each case below is a scenario whose stationary behaviour is known "
        "exactly; the exact values are computed in `simulator/study/validation.py` from scipy (no "
        "numbers copied from tables) and each simulated mean across replications must lie "
        "within 4 standard errors of its exact value.",
        "",
        f"**Result: {n_checks - n_fail} of {n_checks} checks pass"
        + (" — all pass.**" if n_fail == 0 else f" — {n_fail} FAIL.**"),
        f"Root seed {seed}; {'fast' if fast else 'full'} sizes.",
        "",
        CONVENTIONS,
    ]
    for case in cases:
        if case.key not in results:
            continue
        res = results[case.key]
        n = res[0].n if res else 0
        sc = case.scenario if not fast else {**case.scenario, **case.fast}
        lines += [
            f"## {case.title}",
            "",
            f"*Setting.* {case.setting} Warm-up {sc['warmup_days']} days, "
            f"{sc['horizon_days']} measured days, {n} replications.",
            "",
            f"*Theory.* {case.formula}",
            "",
        ]
        if case.note:
            lines += [f"*Note.* {case.note}", ""]
        lines += [
            "| check | policy | SKU | meaning | exact | simulated | 95 % CI | SE | z | |",
            "|---|---|---|---|---:|---:|---|---:|---:|---|",
        ]
        for r in res:
            c = r.check
            lines.append(
                f"| {c.name} | {c.policy} | {c.sku} | {c.meaning} | {_fmt(c.exact)} | "
                f"{_fmt(r.mean)} | [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] | {r.se:.2g} | "
                f"{r.z:+.2f} | {'pass' if r.passed else '**FAIL**'} |"
            )
        pooled = [r for r in res if r.check.pooled and r.check.per != "days"]
        if pooled:
            means = "; ".join(
                f"{r.check.name} {r.check.policy}/{r.check.sku} {_fmt(r.rep_mean)}" for r in pooled
            )
            lines += ["", f"Pooled ratios above; mean of per-replication ratios: {means}."]
        lines.append("")
    if formulas:
        lines += [
            "## 6b. Formula checks (deterministic)",
            "",
            "`simulator.model.policies.safety_stock` and `eoq`, and the levels of the built `jit`, "
            "`hybrid` and `safety_stock` policies of case 6, against the same formulas computed "
            f"by hand (relative tolerance {FORMULA_RTOL:g}). The policies plan with the moments "
            "of the demand actually drawn (normal censored at 0), so the hand computation takes "
            "μ and σ² of the censored normal by quadrature.",
            "",
            "| quantity | formula | hand | code | |",
            "|---|---|---:|---:|---|",
        ]
        for f in formulas:
            lines.append(
                f"| {f.name} | {f.expression} | {f.expected:.10g} | {f.actual:.10g} | "
                f"{'pass' if f.passed else '**FAIL**'} |"
            )
        lines.append("")
    if coverage is not None:
        lines += [
            "## Coverage of the reported 95 % confidence interval",
            "",
            f"Case `{coverage.case}` (SKU X) run {coverage.runs} times with independent seeds, "
            f"{coverage.replications} replications × {coverage.horizon_days} measured days each; "
            "count how often the 95 % CI that the project reports (`summary.csv`: t interval "
            "of the mean across replications) contains the exact value. Passes when the "
            "99.9 % Clopper–Pearson interval of the observed rate contains 95 %.",
            "",
            "| metric | covered | observed rate | 95 % binomial CI | |",
            "|---|---:|---:|---|---|",
        ]
        for m in coverage.hits:
            lo, hi = coverage.interval(m)
            lo9, hi9 = coverage.interval(m, 0.999)
            ok = lo9 <= 0.95 <= hi9
            lines.append(
                f"| {m} | {coverage.hits[m]}/{coverage.runs} | {coverage.rate(m):.3f} | "
                f"[{lo:.3f}, {hi:.3f}] | {'pass' if ok else '**FAIL**'} |"
            )
        lines.append("")
    return "\n".join(lines)


def _table(results: dict[str, list[CheckResult]], formulas: list[FormulaResult]) -> str:
    """Format the results as a plain-text table for the terminal."""
    head = (
        f"{'case':<22} {'check':<22} {'pol/sku':<16} {'exact':>11} {'simulated':>11} "
        f"{'95% CI':>25} {'z':>6}  ok"
    )
    out = [head, "-" * len(head)]
    for key, res in results.items():
        for r in res:
            c = r.check
            ci = f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
            out.append(
                f"{key:<22} {c.name:<22} {c.policy + '/' + c.sku:<16} {_fmt(c.exact):>11} "
                f"{_fmt(r.mean):>11} {ci:>25} {r.z:>+6.2f}  {'ok' if r.passed else 'FAIL'}"
            )
    for f in formulas:
        out.append(
            f"{'formulas':<22} {f.name[:22]:<22} {'':<16} {f.expected:>11.6g} "
            f"{f.actual:>11.6g} {'':>25} {'':>6}  {'ok' if f.passed else 'FAIL'}"
        )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the validation; print a table; write the report; return 1 if any check fails.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code: 0 when every check passes, 1 otherwise.

    """
    parser = argparse.ArgumentParser(
        prog="python -m simulator.study.validation", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown report here")
    parser.add_argument("--fast", action="store_true", help="small sizes (the test subset)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="root seed")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--case",
        action="append",
        default=None,
        help="run only this case (repeatable); 'coverage' and 'formulas' are cases too",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    cases = theory_cases()
    keys = [c.key for c in cases] + ["formulas", "coverage"]
    wanted = args.case or keys
    unknown = [k for k in wanted if k not in keys]
    if unknown:
        parser.error(f"--case: must be one of {', '.join(keys)}, got '{unknown[0]}'")
    results: dict[str, list[CheckResult]] = {}
    for i, case in enumerate(cases):
        if case.key not in wanted:
            continue
        t0 = time.perf_counter()
        results[case.key] = run_case(case, args.fast, derived_seed(args.seed, i), args.workers)
        bad = sum(not r.passed for r in results[case.key])
        print(
            f"{case.key}: {len(results[case.key]) - bad}/{len(results[case.key])} pass "
            f"({time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
    formulas = formula_checks() if "formulas" in wanted else []
    coverage = None
    if "coverage" in wanted:
        t0 = time.perf_counter()
        size = {"runs": 100, "horizon_days": 200} if args.fast else {"runs": 400}
        coverage = coverage_check(
            seed=derived_seed(args.seed, len(cases)), workers=args.workers, **size
        )
        print(f"coverage: {coverage.runs} runs ({time.perf_counter() - t0:.1f} s)", flush=True)
    wall = time.perf_counter() - started

    print()
    print(_table(results, formulas))
    if coverage is not None:
        for m in coverage.hits:
            lo, hi = coverage.interval(m)
            print(
                f"coverage {m:<16} {coverage.hits[m]}/{coverage.runs} = "
                f"{coverage.rate(m):.3f}  95% CI [{lo:.3f}, {hi:.3f}]"
            )
    failed = sum(not r.passed for v in results.values() for r in v)
    failed += sum(not f.passed for f in formulas)
    failed += coverage is not None and not coverage.passed
    print(f"\n{'all checks pass' if not failed else f'{failed} check(s) FAIL'} ({wall:.0f} s)")
    if args.out is not None:
        text = render_markdown(results, cases, formulas, coverage, args.fast, args.seed)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
