"""Buying as a business buys: whole units, packs, minimum orders, one purchase order per supplier.

A policy says how many units a SKU needs; this module turns that into what is
actually bought (docs/conventions.md, "Purchase orders"):

1. **Line quantity** (:func:`order_units`): a positive need is raised to the
   SKU's minimum order quantity (``moq``), then up to whole packs
   (``pack_size``; one unit when the scenario counts whole units). A need of
   zero or less buys nothing.
2. **Purchase order** (:func:`purchase_order`): the lines of one supplier
   placed at the same instant (one review) form one purchase order. When its
   value at unit cost is below the supplier's ``min_order_value``, every line
   is scaled up by the same factor and rounded up to packs again, so the
   order reaches the minimum with the mix the policy asked for.
3. **Cost**: the supplier's ``order_cost`` is paid once per purchase order
   plus ``line_cost`` per line; the order cost is split equally over its
   lines, so SKU costs add up to the supplier's exactly (:func:`line_costs`).

The model and the planner (``supplysim plan``) both buy through these
functions, so the plan and the simulation agree on what an order is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Buying", "buying", "line_costs", "order_units", "purchase_order", "whole_units"]

_EPS = 1e-9
"""Relative slack when rounding up: 3.0000000001 packs is 3 packs, not 4."""

_VALUE_EPS = 1e-12
"""Relative slack when comparing an order's value with a minimum: float noise only."""


@dataclass(frozen=True, slots=True)
class Buying:
    """How one SKU is bought: pack, minimum quantity, unit cost (for order values)."""

    pack: float | None
    moq: float
    unit_cost: float


def buying(scenario, sku) -> Buying:
    """Return a SKU's buying rules; whole units buy in packs of one unless told otherwise."""
    pack = sku.pack_size
    if pack is None and scenario.units == "whole":
        pack = 1.0
    return Buying(pack=pack, moq=float(sku.moq), unit_cost=float(sku.unit_cost))


def order_units(need: float, rule: Buying) -> float:
    """Return the units bought for a need: at least the MOQ, then whole packs (0 for none)."""
    if not need > 0:
        return 0.0
    qty = need if need > rule.moq else rule.moq
    pack = rule.pack
    if pack is None:
        return float(qty)
    packs = math.ceil(qty / pack - _EPS)
    return float(max(packs, 1) * pack)


def purchase_order(
    lines: Sequence[float], rules: Sequence[Buying], min_value: float
) -> list[float]:
    """Return a purchase order's line quantities, topped up to the supplier's minimum value.

    ``lines`` are already whole packs (:func:`order_units`). Below the minimum
    every line is scaled by value needed ÷ value ordered and rounded *down* to
    packs (never below what it was), then lines get one more pack each, in
    order, until the order reaches the minimum: the least that does, with the
    mix the policy asked for. Lines of zero stay zero.
    """
    value = sum(q * r.unit_cost for q, r in zip(lines, rules, strict=True))
    if min_value <= 0 or value <= 0 or value >= min_value:
        return list(lines)
    scale = min_value / value
    out = [
        max(q, _packs_down(q * scale, r)) if q > 0 else 0.0
        for q, r in zip(lines, rules, strict=True)
    ]
    value = sum(q * r.unit_cost for q, r in zip(out, rules, strict=True))
    for j, (q, r) in enumerate(zip(out, rules, strict=True)):
        if value >= min_value * (1 - _VALUE_EPS):
            break
        if q > 0:  # rounding down lost less than a pack per line: one more each suffices
            step = r.pack if r.pack is not None else (min_value - value) / r.unit_cost
            out[j] = q + step
            value += step * r.unit_cost
    return out


def _packs_down(qty: float, rule: Buying) -> float:
    """Return ``qty`` rounded down to whole packs (as it is without packs)."""
    if rule.pack is None:
        return float(qty)
    return float(math.floor(qty / rule.pack + _EPS) * rule.pack)


def whole_units(x: np.ndarray) -> np.ndarray:
    """Round a sequence of quantities to whole units, carrying the rounding forward.

    Element i becomes round(Σ x[:i+1]) − round(Σ x[:i]): every running total stays
    within half a unit of the exact one, so the mean is kept (0.4 a day is 0, 1,
    0, 1, 0, ..., not 0), and a quantity that is already whole stays as it is
    when the running total is whole.
    """
    total = np.floor(np.cumsum(x) + 0.5)
    return np.diff(total, prepend=0.0)


def line_costs(order_cost: float, line_cost: float, lines: int) -> float:
    """Return what one line of a purchase order with ``lines`` lines costs its SKU."""
    return order_cost / lines + line_cost
