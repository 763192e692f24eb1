"""The explorer's settings: slider values -> a validated scenario, and back.

The explorer works on a single-product setup seeded from a scenario (the built-in
``classroom`` by default). :class:`ExplorerParams` holds what the sliders say;
:func:`params_from_scenario` reads them off a single-product scenario and
:func:`to_scenario` writes them into a copy of it, through
:meth:`~simulator.data.scenario.Scenario.from_dict`, so every setting the page can
produce is validated like a scenario file and can be downloaded as one that
``supplysim run`` accepts. Nothing here imports Shiny.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from simulator.data.scenario import Scenario

__all__ = [
    "BOUNDS",
    "LABELS",
    "ExplorerParams",
    "GROUPS",
    "SliderSpec",
    "CAMPAIGN_DAYS",
    "params_from_scenario",
    "single_product",
    "to_scenario",
    "with_replications",
]


@dataclass(frozen=True)
class SliderSpec:
    """One slider's range and step (also the bounds a setting is validated against)."""

    low: float
    high: float
    step: float


BOUNDS: dict[str, SliderSpec] = {
    "demand_mean": SliderSpec(1, 200, 1),
    "demand_cv": SliderSpec(0.0, 1.0, 0.05),
    "order_size": SliderSpec(0, 100, 1),
    "lead_mean": SliderSpec(1, 60, 1),
    "lead_cv": SliderSpec(0.0, 1.0, 0.05),
    "order_cost": SliderSpec(0, 500, 5),
    "holding_rate": SliderSpec(0.05, 1.0, 0.05),
    "service_level": SliderSpec(0.50, 0.995, 0.005),
    "jit_review": SliderSpec(1, 28, 1),
    "closure_start": SliderSpec(0, 364, 1),
    "closure_days": SliderSpec(1, 90, 1),
    "campaign_uplift": SliderSpec(1.0, 4.0, 0.1),
    "campaign_start": SliderSpec(0, 350, 1),
    "replications": SliderSpec(20, 1000, 10),
}
"""Range and step of every numeric setting: the sliders' and the validation's."""

LABELS: dict[str, str] = {
    "demand_mean": "mean demand",
    "demand_cv": "demand variability (CV)",
    "order_size": "customer order size",
    "lead_mean": "lead-time mean",
    "lead_cv": "lead-time variability",
    "order_cost": "order cost",
    "holding_rate": "holding rate",
    "service_level": "the safety-stock service level",
    "jit_review": "JIT's review period",
    "closure": "the port closure",
    "closure_start": "the closure's start",
    "closure_days": "the closure's length",
    "campaign_uplift": "the campaign uplift",
    "campaign_start": "the campaign's start",
    "replications": "replications",
}
"""Plain names of the settings, as the page's one-line readings use them."""

CAMPAIGN_DAYS = 14
"""Length of the explorer's campaign window, in days (its uplift and start are sliders)."""


@dataclass(frozen=True)
class ExplorerParams:
    """What the explorer's sliders say. Defaults are the built-in classroom scenario's.

    ``order_size`` 0 means demand comes as one quantity a day (``per_day``); a positive
    size makes it customer orders of that mean size arriving at random (compound
    Poisson), so large orders make demand lumpy. ``campaign_uplift`` 1 means no
    campaign; ``closure`` off means no port closure.
    """

    demand_mean: float = 20.0
    demand_cv: float = 0.3
    order_size: float = 0.0
    lead_mean: float = 7.0
    lead_cv: float = 0.35
    order_cost: float = 25.0
    holding_rate: float = 0.25
    service_level: float = 0.95
    jit_review: int = 2
    closure: bool = False
    closure_start: int = 120
    closure_days: int = 21
    campaign_uplift: float = 1.0
    campaign_start: int = 200
    replications: int = 200

    def validated(self) -> ExplorerParams:
        """Return self if every value is within its bounds.

        Raises:
            ValueError: naming the setting, the rule and the value
                (``lead_cv: must be between 0 and 1, got 3``).

        """
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "closure":
                if not isinstance(value, bool):
                    raise ValueError(f"closure: must be true or false, got {value!r}")
                continue
            spec = BOUNDS[f.name]
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise ValueError(f"{f.name}: must be a number, got {value!r}")
            if not spec.low <= value <= spec.high:
                raise ValueError(
                    f"{f.name}: must be between {spec.low:g} and {spec.high:g}, got {value:g}"
                )
        return self

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> ExplorerParams:
        """Build from a mapping of setting -> value (unknown keys are errors), validated."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown setting")
        typed: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in values or values[f.name] is None:
                continue
            v = values[f.name]
            if f.name == "closure":
                typed[f.name] = bool(v)
            elif f.type in ("int", int):
                typed[f.name] = int(round(float(v)))
            else:
                typed[f.name] = float(v)
        return cls(**typed).validated()

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as a plain mapping (for caching keys and downloads)."""
        return asdict(self)


def single_product(scenario: Scenario) -> bool:
    """Whether the sliders apply: exactly one SKU (the explorer's setup is one product)."""
    return len(scenario.skus) == 1


def _mean_sd(dist: Any) -> tuple[float, float]:
    """Mean and standard deviation of a distribution: as written where it has them."""
    written = dist.model_dump(by_alias=True)
    if "mean" in written and "sd" in written:  # a normal's written values, not censored ones
        return float(written["mean"]), float(written["sd"])
    return float(dist.mean), float(dist.sd)


def _snap(name: str, value: float) -> float:
    """Clamp a value read from a scenario into its slider's range, on the slider's steps."""
    spec = BOUNDS[name]
    value = min(max(value, spec.low), spec.high)
    steps = round((value - spec.low) / spec.step)
    return round(spec.low + steps * spec.step, 6)


def params_from_scenario(scenario: Scenario) -> ExplorerParams:
    """Read the explorer's settings off a single-product scenario (clamped to the sliders).

    Raises:
        ValueError: the scenario has more than one SKU.

    """
    if not single_product(scenario):
        raise ValueError(
            f"scenario: the explorer's sliders need one SKU, got {len(scenario.skus)}"
        )
    sku = scenario.skus[0]
    sup = scenario.suppliers[sku.supplier]
    d = sku.demand
    if d.per_day is not None:
        mean, sd = _mean_sd(d.per_day)
        size = 0.0
    else:
        lam = d.customers.orders_per_day
        m, s = _mean_sd(d.customers.order_size)
        mean, sd = lam * m, math.sqrt(lam * (m * m + s * s))
        size = m
    lead_mean, lead_sd = _mean_sd(sup.lead_time)
    values: dict[str, Any] = {
        "demand_mean": _snap("demand_mean", mean),
        "demand_cv": _snap("demand_cv", sd / mean if mean > 0 else 0.0),
        "order_size": _snap("order_size", size),
        "lead_mean": _snap("lead_mean", lead_mean),
        "lead_cv": _snap("lead_cv", lead_sd / lead_mean if lead_mean > 0 else 0.0),
        "order_cost": _snap("order_cost", sup.order_cost),
        "holding_rate": _snap("holding_rate", sku.holding_rate),
        "replications": int(_snap("replications", scenario.replications)),
    }
    for spec in scenario.policies.values():
        if spec.type == "safety_stock" and spec.service_level is not None:
            values["service_level"] = _snap("service_level", spec.service_level)
            break
    for spec in scenario.policies.values():
        if spec.type == "jit" and spec.review == "periodic":
            values["jit_review"] = int(_snap("jit_review", spec.review_every_days))
            break
    closures = [x for x in sup.disruptions if x.kind == "port_closure"]
    values["closure_start"] = int(_snap("closure_start", min(120, scenario.horizon_days // 3)))
    if closures:
        c = closures[0]
        start, end = scenario.day_of(c.start), scenario.day_of(c.end)
        values.update(closure=True, closure_start=int(_snap("closure_start", start)),
                      closure_days=int(_snap("closure_days", end - start)))  # fmt: skip
    if d.campaigns:
        c = d.campaigns[0]
        values.update(campaign_uplift=_snap("campaign_uplift", c.uplift),
                      campaign_start=int(_snap("campaign_start", scenario.day_of(c.start))))
    return ExplorerParams.from_mapping(values)


def _demand(params: ExplorerParams, base: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Return the demand block for the settings, and a note when the CV asked for cannot be had.

    Daily demand: normal while CV <= 1/3 (a normal with a larger CV would be cut at
    zero often, lowering its mean), gamma above. Customer orders of mean size m at rate
    mean/m: their daily CV is at least sqrt(m / mean) (the Poisson arrivals alone), so
    a lower CV is raised to that, with a note saying so.
    """
    mean, cv = params.demand_mean, params.demand_cv
    out = {k: v for k, v in base.items() if k not in ("per_day", "customers")}
    if params.order_size <= 0:
        sd = cv * mean
        dist = "normal" if cv <= 1 / 3 else "gamma"
        out["per_day"] = ({"dist": "constant", "value": mean} if sd == 0
                          else {"dist": dist, "mean": mean, "sd": round(sd, 6)})
        return out, ""
    m = params.order_size
    lam = mean / m
    size_var = cv * cv * mean * m - m * m  # Var[size] giving daily variance (cv·mean)²
    note = ""
    if size_var <= 1e-9:
        floor = math.sqrt(m / mean)
        if cv + 1e-9 < floor:
            note = (f"with orders of {m:g} units, daily demand varies at least CV "
                    f"{floor:.2f} (arrivals are random); CV {cv:.2f} was raised to that")
        size = {"dist": "constant", "value": m}
    else:
        size = {"dist": "gamma", "mean": m, "sd": round(math.sqrt(size_var), 6)}
    out["customers"] = {"orders_per_day": round(lam, 9), "order_size": size}
    return out, note


def _lead_time(params: ExplorerParams) -> dict[str, Any]:
    """Return the supplier's lead time: gamma with the slider's mean and CV (constant at CV 0)."""
    if params.lead_cv == 0:
        return {"dist": "constant", "value": params.lead_mean}
    return {"dist": "gamma", "mean": params.lead_mean,
            "sd": round(params.lead_cv * params.lead_mean, 6)}  # fmt: skip


GROUPS: dict[str, tuple[str, ...]] = {
    "demand": ("demand_mean", "demand_cv", "order_size"),
    "lead_time": ("lead_mean", "lead_cv"),
    "order_cost": ("order_cost",),
    "holding_rate": ("holding_rate",),
    "service_level": ("service_level",),
    "jit_review": ("jit_review",),
    "closure": ("closure", "closure_start", "closure_days"),
    "campaign": ("campaign_uplift", "campaign_start"),
}
"""Settings written together: a group left at the base's values leaves the base as it is."""


def to_scenario(base: Scenario, params: ExplorerParams) -> tuple[Scenario, list[str]]:
    """Write the settings into a copy of a single-product scenario and validate it.

    The SKU's demand, its supplier's lead time, order cost and first port closure, the
    SKU's holding rate and first campaign, every ``safety_stock`` policy's service level
    and every periodic ``jit`` policy's review period are set; all else is the base
    scenario's. A group of settings (:data:`GROUPS`) still at the values read off the
    base is not written, so the base's own distributions and wording survive and the
    sliders' start reproduces the base exactly. Once anything changes, the policies
    lose their written ``description`` (it may quote the old numbers, "an EOQ lot about
    every 4 weeks"); the report then describes them from their parameters.

    Returns:
        The scenario, and notes on settings that could not be had exactly.

    Raises:
        ValueError: a setting out of bounds, or the base has more than one SKU.
        ScenarioError: the result is not a valid scenario (the message names the field).

    """
    params.validated()
    seeded = params_from_scenario(base)  # raises for several SKUs
    changed = {g for g, names in GROUPS.items()
               if any(getattr(params, n) != getattr(seeded, n) for n in names)}  # fmt: skip
    data = base.to_dict()
    data["replications"] = params.replications
    sku = data["skus"][0]
    sup = data["suppliers"][sku["supplier"]]
    notes: list[str] = []
    if "demand" in changed:
        sku["demand"], note = _demand(params, sku["demand"])
        notes += [note] if note else []
    if "campaign" in changed:
        demand = sku["demand"]
        campaigns = list(demand.get("campaigns") or [])
        first = dict(campaigns[0]) if campaigns else {"label": "campaign"}
        for key in ("start_day", "end_day", "end", "days"):
            first.pop(key, None)
        first.update(start=params.campaign_start, days=CAMPAIGN_DAYS,
                     uplift=params.campaign_uplift)  # fmt: skip
        demand["campaigns"] = ([first] if params.campaign_uplift > 1 else []) + campaigns[1:]
    if "holding_rate" in changed:
        sku["holding_rate"] = params.holding_rate
    if "lead_time" in changed:
        sup["lead_time"] = _lead_time(params)
    if "order_cost" in changed:
        sup["order_cost"] = params.order_cost
    if "closure" in changed:
        disruptions = list(sup.get("disruptions") or [])
        at = next((i for i, x in enumerate(disruptions) if x.get("kind") == "port_closure"),
                  None)  # fmt: skip
        closure = (dict(disruptions.pop(at)) if at is not None
                   else {"kind": "port_closure", "label": "port closure"})
        closure.pop("end", None)
        closure.update(start=min(params.closure_start, base.horizon_days - 1),
                       days=params.closure_days)  # fmt: skip
        if params.closure:
            disruptions.insert(0 if at is None else at, closure)
        sup["disruptions"] = disruptions
    for spec in data["policies"].values():
        if ("service_level" in changed and spec["type"] == "safety_stock"
                and spec.get("weeks_of_cover") is None):
            spec["service_level"] = params.service_level
        if ("jit_review" in changed and spec["type"] == "jit"
                and spec.get("review", "periodic") == "periodic"):
            spec["review_every_days"] = params.jit_review
        if changed:  # a written description may quote the old numbers ("about every 4 weeks")
            spec.pop("description", None)
    # A campaign or closure partly past the horizon is run (a warning, not an error).
    return Scenario.from_dict(data), notes


def with_replications(params: ExplorerParams, n: int) -> ExplorerParams:
    """Return the settings with another replication count (validated)."""
    return replace(params, replications=n).validated()
