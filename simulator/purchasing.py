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

__all__ = ["Buying", "buying", "line_costs", "order_units", "purchase_order"]

_EPS = 1e-9
"""Relative slack when rounding up: 3.0000000001 packs is 3 packs, not 4."""


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
    every line is scaled by value needed ÷ value ordered and rounded up to packs
    again; lines of zero stay zero.
    """
    value = sum(q * r.unit_cost for q, r in zip(lines, rules, strict=True))
    if min_value <= 0 or value <= 0 or value >= min_value:
        return list(lines)
    scale = min_value / value
    return [order_units(q * scale, r) if q > 0 else 0.0 for q, r in zip(lines, rules, strict=True)]


def line_costs(order_cost: float, line_cost: float, lines: int) -> float:
    """Return what one line of a purchase order with ``lines`` lines costs its SKU."""
    return order_cost / lines + line_cost
