"""A reorder policy described in plain words from its specification.

The report prints one line per policy beside its name. When the scenario gives no
``description``, :func:`describe_policy` writes one from the parameters, e.g.
"Reorder point for 95 % cycle service, EOQ lots, daily review", so a reader learns
what was run without opening the YAML. Every policy type and option of
:mod:`simulator.data.scenario` is covered; an option left at a value that changes
nothing is not mentioned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from simulator.data.scenario import (
    BaseStockSpec,
    HybridSpec,
    JitSpec,
    PolicySpec,
    RQSpec,
    SafetyStockSpec,
    SSSpec,
)

__all__ = ["describe_policies", "describe_policy"]

_SPEC = TypeAdapter(PolicySpec)

_EVERY = {1: "daily", 7: "weekly", 14: "fortnightly"}


def _pct(p: float) -> str:
    """Write a probability as a percentage: 0.95 -> ``95 %``, 0.975 -> ``97.5 %``."""
    text = f"{p * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text} %"


def _num(x: float) -> str:
    """Write a quantity: whole numbers with thousands separators, else up to 2 decimals."""
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _level(name: str, value: float | Mapping[str, float]) -> str:
    """Write a parameter given for every SKU or per SKU (then its range)."""
    if isinstance(value, Mapping):
        values = [float(v) for v in value.values()]
        if not values:
            return f"{name} per SKU"
        lo, hi = min(values), max(values)
        span = _num(lo) if lo == hi else f"{_num(lo)}–{_num(hi)}"
        return f"{name} per SKU ({span}, {len(values)} SKU{'s' * (len(values) != 1)})"
    return f"{name} = {_num(value)}"


def _review(spec: Any) -> str:
    """Write the review rhythm: ``continuous review``, ``weekly review``, ..."""
    if spec.review == "continuous":
        return "continuous review (after every customer order)"
    days = int(spec.review_every_days)
    if days in _EVERY:
        return f"{_EVERY[days]} review"
    return f"review every {days} days"


def _lots(spec: Any) -> str:
    """Write how a lot policy sizes its orders."""
    if spec.quantity == "eoq":
        return "EOQ lots"
    if spec.quantity == "cover_days":
        return f"lots of {_num(spec.cover_days)} days' forecast"
    return "order up to that level"


def _forecast(spec: Any) -> str:
    """Say how a learned forecast is made; empty for the oracle (the scenario's model)."""
    f = getattr(spec, "forecast", None)
    if f is None or f.method == "oracle":
        return ""
    if f.method == "moving_average":
        text = f"forecast learned as a {_num(f.window_days)}-day moving average"
    elif f.method == "exp_smoothing":
        kind = {"croston": "Croston", "sba": "SBA", "tsb": "TSB"}.get(f.intermittent or "", "")
        alpha = _num(f.alpha if f.alpha is not None else 0.1)
        text = f"forecast learned by {kind + ' ' if kind else ''}exponential smoothing " \
               f"(alpha {alpha})"
    else:
        text = "forecast learned as a level times the announced calendar"
    if f.bias:
        text += f", biased {'+' if f.bias > 0 else ''}{_pct(f.bias)}"
    return text + ", safety stock from its past errors"


def _extras(spec: Any, context: Mapping[str, bool] | None = None) -> list[str]:
    """Options shared by several policy types, in the order a reader needs them.

    ``context`` says what the scenario has (``announced_windows``, ``backups``): an
    option that has nothing to act on in it is not mentioned.
    """
    ctx = {"announced_windows": True, "backups": True, **(context or {})}
    out = []
    if getattr(spec, "can_order", 0) > 0:
        out.append(f"joins another SKU's purchase order within {_pct(spec.can_order)} of a "
                   "lot of its reorder point")
    if getattr(spec, "plan_for_disruptions", False) and ctx["announced_windows"]:
        out.append("pre-builds stock ahead of announced disruptions")
    if getattr(spec, "use_backup", False) and ctx["backups"]:
        out.append("uses the backup supplier when the primary is down or too slow")
    return out


def scenario_context(scenario: Any) -> dict[str, bool]:
    """Say what a scenario (object or mapping) gives the policies' options to act on."""
    if isinstance(scenario, Mapping):
        suppliers = scenario.get("suppliers") or {}
        windows = any(d.get("announced", True) and d.get("kind") != "random_outage"
                      for sup in suppliers.values() if isinstance(sup, Mapping)
                      for d in sup.get("disruptions") or [] if isinstance(d, Mapping))
        backups = any(isinstance(k, Mapping) and k.get("backup_supplier")
                      for k in scenario.get("skus") or [])
        return {"announced_windows": windows, "backups": bool(backups)}
    windows = any(getattr(d, "announced", False) and hasattr(d, "start")
                  for sup in scenario.suppliers.values() for d in sup.disruptions)
    backups = any(k.backup_supplier for k in scenario.skus)
    return {"announced_windows": windows, "backups": backups}


def describe_policy(spec: Any, context: Mapping[str, bool] | None = None) -> str:
    """Describe one policy from its parameters.

    Args:
        spec: A policy specification object of :mod:`simulator.data.scenario`, or its
            mapping as in a scenario file (validated here).
        context: What the scenario has for the policy's options to act on
            (:func:`scenario_context`); without it every option set is mentioned.

    Returns:
        One line such as ``"Reorder point for 95 % cycle service, EOQ lots, daily
        review"``.

    Raises:
        pydantic.ValidationError: ``spec`` is a mapping that is not a valid policy.

    """
    if isinstance(spec, Mapping):
        spec = _SPEC.validate_python({k: v for k, v in spec.items() if k != "description"})
    review = _review(spec)
    if isinstance(spec, BaseStockSpec):
        parts = [f"Base stock: order up to {_level('S', spec.S)} whenever the inventory "
                 "position is below it"]
    elif isinstance(spec, SSSpec):
        parts = [f"(s, S): when the inventory position falls to {_level('s', spec.s)}, "
                 f"order up to {_level('S', spec.S)}"]
    elif isinstance(spec, RQSpec):
        parts = [f"(r, Q): when the inventory position falls to {_level('r', spec.r)}, "
                 f"order lots of {_level('Q', spec.Q)}"]
    elif isinstance(spec, SafetyStockSpec):
        if spec.weeks_of_cover is not None:
            buffer = f"{_num(spec.weeks_of_cover)} weeks of cover as safety stock"
        else:
            buffer = f"safety stock for {_pct(spec.service_level)} cycle service"
        parts = [f"Reorder point = lead-time forecast + {buffer}", _lots(spec)]
    elif isinstance(spec, JitSpec):
        forecast = "the forecast over the review period + mean lead time, no safety stock"
        if spec.quantity == "order_up_to":
            parts = [f"Just in time: order up to {forecast}"]
        else:
            parts = [f"Just in time: reorder point = {forecast}", _lots(spec)]
    elif isinstance(spec, HybridSpec):
        a, b = spec.a_share, spec.b_share
        c = ", C just in time" if a + b < 1 else ""
        parts = [
            f"A buffered for {_pct(spec.service_level_a)} cycle service, B for "
            f"{_pct(spec.service_level_b)}{c} (ABC classes by revenue: A top {_pct(a)}, "
            f"B next {_pct(b)})",
            _lots(spec).replace("order up to that level", "order up to the class level"),
        ]
    else:  # a policy type this module does not know yet: say so rather than guess
        return f"{getattr(spec, 'type', 'unknown')} policy, {review}"
    forecast = _forecast(spec)
    return ", ".join([*parts, *([forecast] if forecast else []), review,
                      *_extras(spec, context)])


def describe_policies(policies: Mapping[str, Any]) -> dict[str, str]:
    """Describe each policy of a scenario: its own ``description``, else from its spec.

    Args:
        policies: Policy name -> specification object or mapping (as in the resolved
            scenario YAML).

    Returns:
        Policy name -> one line. A policy whose mapping does not validate is left out.

    """
    out = {}
    for name, spec in policies.items():
        given = (spec.get("description") if isinstance(spec, Mapping)
                 else getattr(spec, "description", ""))
        if given:
            out[str(name)] = str(given)
            continue
        try:
            out[str(name)] = describe_policy(spec)
        except ValueError:  # pydantic's ValidationError; an old or foreign scenario
            continue
    return out

