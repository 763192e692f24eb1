"""The scenario schema: parse and validate YAML into frozen objects.

A scenario says what is simulated (suppliers, SKUs and their demand, the
horizon, how unmet demand is treated) and which reorder policies to compare.
Build one with :meth:`Scenario.from_yaml`, :meth:`Scenario.from_dict` or
:func:`load_scenario` (a path or a built-in name). Every validation problem is
reported as one line naming the field path, the rule and the value, e.g.
``skus[0].demand.per_day.sd: must be >= 0, got -3``.

Day windows (campaigns) are half-open: ``start`` is the first day inside,
``end`` the first day after. They may be given as day numbers (day 0 is
``start_date``) or as dates. Instead of ``end`` (``end_day`` for campaigns) a
window may give ``days``, its length: ``end = start + days``; a window of
``days: 0`` is no window and is left out of the scenario.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import math
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from simulator.data.distributions import MAX_VALUE, Distribution, NonNeg, Positive
from simulator.data.strict import StrictModel

__all__ = [
    "BaseStockSpec",
    "ForecastSpec",
    "Goodwill",
    "Leftover",
    "Lifecycle",
    "Quality",
    "RegimeChanges",
    "Shift",
    "Campaign",
    "Capacity",
    "Disruption",
    "LeadTimeShock",
    "PortClosure",
    "RandomOutage",
    "Spikes",
    "SupplierOutage",
    "Customers",
    "Demand",
    "HybridSpec",
    "JitSpec",
    "OpenOrder",
    "PolicySpec",
    "RQSpec",
    "SSSpec",
    "SafetyStockSpec",
    "Scenario",
    "ScenarioError",
    "Seasonality",
    "Sku",
    "Supplier",
    "builtin_scenarios",
    "load_scenario",
]

Probability = Annotated[float, Field(gt=0, lt=1)]
MAX_DAYS = 36500
"""Longest span of days a scenario may name (a horizon, a mean lead time, a review period):
the planner's arrays run that far ahead, so a longer one would exhaust memory."""
MAX_ORDERS_PER_DAY = 1e5
"""Most customer orders a day a SKU may expect at its peak: the model serves them one by
one, so more would take hours per replication (and a fuzzed 1e300 crashed the sampler)."""
Days = Annotated[float, Field(gt=0, le=MAX_DAYS, allow_inf_nan=False)]
DayOrDate = int | dt.date


class ScenarioError(ValueError):
    """A scenario could not be read or is invalid; the message is one line per problem."""


# --------------------------------------------------------------------------- windows


def _days_to_end(data: Any, model: type[StrictModel], start_key: str,
                 end_key: str) -> tuple[Any, bool]:
    """Turn a window's ``days`` (its length) into its ``end``: ``end = start + days``.

    ``start`` may be a day number or a date (a ``date``, or ISO text as
    :meth:`Scenario.to_dict` writes it); ``end`` is then of the same kind. Returns
    the data to validate and whether the window is empty (``days: 0``): an empty
    window is validated with ``end = start`` and then left out of its list.

    Raises:
        ValueError: both ``end`` and ``days`` are given, or neither, or ``days`` is
            not a whole number >= 0, or ``start`` is neither a day number nor a date.

    """
    if not isinstance(data, dict):
        return data, False
    allowed = {f.alias or name for name, f in model.model_fields.items()} | {"days"}
    if any(k not in allowed for k in data):
        data = {k: v for k, v in data.items() if k != "days"}
        return data, False  # an unknown key (a typo of 'end'?) is the error to report
    if "days" not in data:
        if end_key not in data:
            raise ValueError(
                f"give '{end_key}' (the first day after the window) or 'days' (its length)"
            )
        return data, False
    days = data["days"]
    if end_key in data:
        raise ValueError(
            f"give '{end_key}' or 'days', not both, got {end_key}={_show(data[end_key])}, "
            f"days={_show(days)}"
        )
    if (isinstance(days, bool) or not isinstance(days, int | float)
            or not math.isfinite(days) or days != int(days)):  # fmt: skip
        raise ValueError(f".days: must be a whole number of days, got {_show(days)}")
    if days < 0:
        raise ValueError(f".days: must be >= 0, got {_show(days)}")
    if days > MAX_DAYS:
        raise ValueError(f".days: must be <= {MAX_DAYS}, got {_show(days)}")
    days = int(days)
    start = data.get(start_key)
    if isinstance(start, dt.datetime):
        start = start.date()
    if isinstance(start, str) and _DATE_TEXT.match(start.strip()):
        try:
            end: Any = (dt.date.fromisoformat(start.strip()) + dt.timedelta(days=days)).isoformat()
        except ValueError:
            end = None
    elif isinstance(start, dt.date):
        try:
            end = start + dt.timedelta(days=days)
        except OverflowError:
            raise ValueError(f".days: the window would end after year 9999, got "
                             f"{_show(days)} days from {start}") from None
    elif isinstance(start, int | float) and not isinstance(start, bool) and start == int(start):
        end = int(start) + days
    else:
        end = None
    if end is None:
        if start_key not in data:
            raise ValueError(f"'days' needs '{start_key}' (a day number or a date)")
        raise ValueError(
            f".{start_key}: must be a day number or a date to count 'days' from, "
            f"got {_show(start)}"
        )
    out = {k: v for k, v in data.items() if k != "days"}
    out[end_key] = end
    return out, days == 0


class _Window(StrictModel):
    start: DayOrDate
    end: DayOrDate
    announced: bool = True
    label: str = ""
    _empty: bool = PrivateAttr(default=False)
    """Given as ``days: 0``: no window; the supplier leaves it out of its disruptions."""

    @model_validator(mode="wrap")
    @classmethod
    def _days(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Accept ``days: N`` instead of ``end`` (``end = start + N``), before validation."""
        data, empty = _days_to_end(data, cls, "start", "end")
        window = handler(data)
        window._empty = empty
        return window


# --------------------------------------------------------------------------- suppliers


class PortClosure(_Window):
    """Nothing lands in [start, end); shipments due inside land at ``end`` + a clearing delay.

    Orders placed during the closure still ship; only their landing is held.
    """

    kind: Literal["port_closure"]
    clearing_delay: Distribution = Field(default_factory=lambda: _zero_delay())


class SupplierOutage(_Window):
    """The supplier accepts and ships nothing in [start, end).

    ``mode: refuse`` turns orders away (the planner orders again at its next
    review); ``mode: queue`` holds them and ships them when the outage ends.
    """

    kind: Literal["supplier_outage"]
    mode: Literal["refuse", "queue"] = "queue"


class RandomOutage(StrictModel):
    """Unannounced outages: ``per_year`` on average (Poisson), each of a random duration."""

    kind: Literal["random_outage"]
    per_year: NonNeg
    duration: Distribution
    mode: Literal["refuse", "queue"] = "queue"
    label: str = ""


class LeadTimeShock(_Window):
    """Orders placed in [start, end) take ``multiplier`` × lead time + ``extra_days``."""

    kind: Literal["lead_time_shock"]
    multiplier: NonNeg = 1.0
    extra_days: NonNeg = 0.0


class Capacity(StrictModel):
    """At most ``units_per_week`` units shipped per calendar week (day 0 starts week 0).

    An order larger than the room left ships in parts, week by week.
    """

    kind: Literal["capacity"]
    units_per_week: Positive


Disruption = Annotated[
    PortClosure | SupplierOutage | RandomOutage | LeadTimeShock | Capacity,
    Field(discriminator="kind"),
]
"""Any supplier disruption; ``kind`` picks which."""


def _zero_delay() -> Any:
    from simulator.data.distributions import Constant

    return Constant(dist="constant", value=0.0)


class Quality(StrictModel):
    """Bad batches: each delivered shipment fails inspection with ``reject_rate``.

    A shipment is inspected for ``inspection_days`` after it lands (it cannot be
    sold meanwhile, and stays on order); a failed one is returned, and the
    planner finds out when the inspection ends.
    """

    reject_rate: Annotated[float, Field(ge=0, le=1)]
    inspection_days: Annotated[float, Field(ge=0, le=MAX_DAYS, allow_inf_nan=False)] = 0.0


class Supplier(StrictModel):
    """A source of stock: its lead-time distribution, what an order costs, its disruptions."""

    lead_time: Distribution
    order_cost: NonNeg = 0.0
    """Fixed cost of one purchase order, however many SKU lines it carries."""
    line_cost: NonNeg = 0.0
    """Extra cost of each SKU line on a purchase order."""
    min_order_value: NonNeg = 0.0
    """Smallest purchase order the supplier accepts, at unit cost; smaller ones are topped up."""
    pay_on_receipt: bool = False
    """Pay for stock when it lands (else when it is ordered)."""
    unit_cost_premium: NonNeg = 0.0
    deliver_in_order: bool = True
    description: str = ""
    disruptions: list[Disruption] = []
    quality: Quality | None = None

    @model_validator(mode="after")
    def _lead_time_in_days(self) -> Supplier:
        mean = self.lead_time.mean
        if not mean <= MAX_DAYS:
            raise ValueError(f".lead_time: mean must be <= {MAX_DAYS} days, got {mean:g}")
        return self

    @model_validator(mode="after")
    def _drop_empty_windows(self) -> Supplier:
        """Leave out windows given as ``days: 0``: a window of no days is no window."""
        kept = [d for d in self.disruptions if not getattr(d, "_empty", False)]
        if len(kept) != len(self.disruptions):
            object.__setattr__(self, "disruptions", kept)
        return self


# --------------------------------------------------------------------------- demand


class Customers(StrictModel):
    """Customer orders arriving as a Poisson process, each of a random size."""

    orders_per_day: NonNeg
    order_size: Distribution


class Seasonality(StrictModel):
    """Multipliers on mean demand by calendar month (January first) and weekday (Monday first)."""

    monthly: Annotated[list[NonNeg], Field(min_length=12, max_length=12)] | None = None
    weekly: Annotated[list[NonNeg], Field(min_length=7, max_length=7)] | None = None


class Spikes(StrictModel):
    """Unannounced demand spikes: ``per_year`` on average, each multiplying demand for some days."""

    per_year: NonNeg
    uplift: Distribution
    duration_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = 1


class Campaign(StrictModel):
    """A known demand uplift (a promotion) over a window of days."""

    start: DayOrDate = Field(alias="start_day")
    end: DayOrDate = Field(alias="end_day")
    uplift: NonNeg
    label: str = "campaign"
    stop_below: NonNeg | None = None
    """Marketing stops the campaign once on-hand falls below this many units (at a day's
    close): from the next day on, the uplift no longer applies to the realised demand."""
    _empty: bool = PrivateAttr(default=False)
    """Given as ``days: 0``: no campaign; the demand leaves it out."""

    @model_validator(mode="wrap")
    @classmethod
    def _days(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Accept ``start``/``end`` as disruptions do, and ``days: N`` instead of the end."""
        if isinstance(data, dict):
            for short, key in (("start", "start_day"), ("end", "end_day")):
                if short in data and key in data:
                    raise ValueError(f"give '{short}' or '{key}', not both")
                if short in data:
                    data = {(key if k == short else k): v for k, v in data.items()}
        data, empty = _days_to_end(data, cls, "start_day", "end_day")
        campaign = handler(data)
        campaign._empty = empty
        return campaign


class Shift(StrictModel):
    """A lasting change of demand from ``start`` on: mean × ``multiplier`` (shifts compound).

    An announced shift joins the planner's calendar (as a campaign does); an
    unannounced one (the default) reaches planners only through the demand they
    observe.
    """

    start: DayOrDate
    multiplier: NonNeg
    announced: bool = False
    label: str = ""


class RegimeChanges(StrictModel):
    """Unannounced lasting changes of demand, drawn per replication.

    Starts are Poisson (``per_year`` on average); from each start on, the mean is
    multiplied by a draw of ``multiplier``. Planners never see them.
    """

    per_year: NonNeg
    multiplier: Distribution


class Goodwill(StrictModel):
    """Customers who do not come back: each unit short lowers future demand by a fraction.

    After u units not served at once, demand is thinned to (1 − ``loss_per_unit_short``)^u
    of the common demand path, by a uniform stream of its own (common random numbers).
    """

    loss_per_unit_short: Annotated[float, Field(ge=0, lt=1)]


class Demand(StrictModel):
    """A SKU's demand: a daily quantity, or customer orders; then calendar effects.

    ``per_day`` draws one quantity per day (served as one customer order).
    ``customers`` draws orders at Poisson times within the day. Seasonality,
    campaigns, the trend (mean × (1 + trend_per_year · day / 365)) and spikes
    multiply the daily quantity, or the order rate. Spikes are not announced:
    planners do not see them.
    """

    per_day: Distribution | None = None
    customers: Customers | None = None
    seasonality: Seasonality | None = None
    campaigns: list[Campaign] = []
    trend_per_year: Annotated[float, Field(gt=-1, le=MAX_VALUE, allow_inf_nan=False)] = 0.0
    spikes: Spikes | None = None
    shifts: list[Shift] | None = None
    regime_changes: RegimeChanges | None = None

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Demand:
        if (self.per_day is None) == (self.customers is None):
            raise ValueError("give exactly one of 'per_day' or 'customers'")
        return self

    @model_validator(mode="after")
    def _drop_empty_campaigns(self) -> Demand:
        """Leave out campaigns given as ``days: 0``."""
        kept = [c for c in self.campaigns if not c._empty]
        if len(kept) != len(self.campaigns):
            object.__setattr__(self, "campaigns", kept)
        return self


# --------------------------------------------------------------------------- SKUs


class Lifecycle(StrictModel):
    """The product's end of life: no demand from ``end_of_life`` on; stock left is dead.

    ``announced`` (default true): the planner's forecast drops to zero from that
    day, so its policies stop buying ahead of it.
    """

    end_of_life: DayOrDate
    announced: bool = True


class OpenOrder(StrictModel):
    """A purchase order placed before day 0: ``units`` land at the start of ``arrives``."""

    units: Positive
    arrives: DayOrDate


class Sku(StrictModel):
    """One stocked item: costs, supplier, starting stock and demand."""

    id: Annotated[str, Field(min_length=1)]
    description: str = ""
    unit_cost: Positive
    price: NonNeg
    holding_rate: NonNeg = 0.25
    backorder_cost_per_day: NonNeg = 0.0
    supplier: str
    backup_supplier: str | None = None
    initial_on_hand: NonNeg = 0.0
    open_orders: list[OpenOrder] = []
    """Purchase orders already placed at the start, with their known arrival."""
    pack_size: Positive | None = None
    """Units per pack: every order is a whole number of packs (default: 1 with whole units)."""
    moq: NonNeg = 0.0
    """Minimum order quantity: a smaller order is raised to it (then to whole packs)."""
    demand: Demand
    shelf_life_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] | None = None
    """Days a received lot may be sold (lot received on day a: sold until day a + life − 1,
    written off at that day's close); stock is then kept in dated lots, shipped FEFO."""
    salvage_value: Annotated[float, Field(ge=0, le=1)] | None = None
    """Fraction of unit cost recovered for stock left at the end of life or at the horizon."""
    lifecycle: Lifecycle | None = None
    goodwill: Goodwill | None = None

    @model_validator(mode="after")
    def _packs(self) -> Sku:
        if self.pack_size is not None and not self.pack_size <= MAX_VALUE:
            raise ValueError(f".pack_size: must be <= {MAX_VALUE:g}, got {self.pack_size:g}")
        return self


# --------------------------------------------------------------------------- policies


class _ReviewSpec(StrictModel):
    review: Literal["continuous", "periodic"] = "periodic"
    review_every_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = 1
    description: str = ""


PerSku = NonNeg | dict[str, NonNeg]


class BaseStockSpec(_ReviewSpec):
    """Order up to S whenever the inventory position is below S."""

    type: Literal["base_stock"]
    S: PerSku


class SSSpec(_ReviewSpec):
    """(s, S): when IP <= s, order up to S."""

    type: Literal["s_S"]
    s: PerSku
    S: PerSku


class _CanOrder(_ReviewSpec):
    can_order: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Join a purchase order another SKU of the supplier triggered when IP <= r + can_order · Q."""

    @model_validator(mode="after")
    def _can_order_needs_periodic_lots(self) -> _CanOrder:
        if self.can_order > 0:
            if self.review == "continuous":
                raise ValueError(
                    "can_order: needs periodic review (SKUs join a purchase order at a "
                    "common review), got review: continuous"
                )
            if getattr(self, "quantity", "lots") == "order_up_to":
                raise ValueError(
                    "can_order: needs lots (quantity: eoq or cover_days), got quantity: "
                    "order_up_to (an order-up-to policy orders every SKU below its level)"
                )
        return self


class RQSpec(_CanOrder):
    """(r, Q): when IP <= r, order the smallest multiple of Q lifting IP above r."""

    type: Literal["r_Q"]
    r: PerSku
    Q: PerSku


class ForecastSpec(StrictModel):
    """How a policy forecasts demand: from the scenario's model (oracle) or learned.

    Learned methods see only the demand observed before each review (the warm-up
    supplies the first history) and size safety stock from the RMSE of their own
    past one-day-ahead errors, scaled to the protection period (docs/overbuying.md).
    """

    method: Literal["oracle", "moving_average", "exp_smoothing", "seasonal"]
    window_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] | None = None
    """Moving average: days averaged (also ``seasonal``, instead of ``alpha``)."""
    alpha: Annotated[float, Field(gt=0, le=1)] | None = None
    """Smoothing constant of the level (exp_smoothing, seasonal; default 0.1)."""
    intermittent: Literal["croston", "sba", "tsb"] | None = None
    """exp_smoothing for intermittent demand: Croston, its bias-corrected SBA, or TSB."""
    beta: Annotated[float, Field(gt=0, le=1)] | None = None
    """TSB: smoothing constant of the probability of demand (default: ``alpha``)."""
    bias: Annotated[float, Field(gt=-1, le=10, allow_inf_nan=False)] = 0.0
    """Forecast × (1 + bias): 0.2 is an optimistic planner."""

    @model_validator(mode="after")
    def _parameters(self) -> ForecastSpec:
        m = self.method
        if m == "moving_average" and self.window_days is None:
            raise ValueError(".window_days: required by method moving_average, but missing")
        if m in ("oracle", "moving_average") and self.alpha is not None:
            raise ValueError(f".alpha: not used by method {m}, got {self.alpha}")
        if m in ("oracle", "exp_smoothing") and self.window_days is not None:
            raise ValueError(f".window_days: not used by method {m}, got {self.window_days}")
        if m == "seasonal" and self.alpha is not None and self.window_days is not None:
            raise ValueError("give 'alpha' or 'window_days', not both")
        if self.intermittent is not None and m != "exp_smoothing":
            raise ValueError(
                f".intermittent: needs method exp_smoothing, got method {m}"
            )
        if self.beta is not None and self.intermittent != "tsb":
            raise ValueError(f".beta: only with intermittent: tsb, got {self.beta}")
        return self

    @property
    def learned(self) -> bool:
        """Whether the forecast is learned from observed demand (not the oracle)."""
        return self.method != "oracle"


def _forecast_spec(value: Any) -> Any:
    """Accept ``forecast: oracle`` (a name) as ``{method: oracle}``."""
    if isinstance(value, str):
        return {"method": value}
    return value


class _Forecasting(StrictModel):
    forecast: ForecastSpec | None = None
    """None (the default) is the oracle: the scenario's demand model."""

    @field_validator("forecast", mode="before")
    @classmethod
    def _named(cls, value: Any) -> Any:
        return _forecast_spec(value)


class _LotSpec(_CanOrder, _Forecasting):
    quantity: Literal["order_up_to", "eoq", "cover_days"] = "order_up_to"
    cover_days: Days = 14.0


class JitSpec(_LotSpec):
    """Just in time: order up to the forecast over review period + mean lead time.

    ``quantity: eoq`` or ``cover_days`` orders lots instead, from the same reorder point.
    """

    type: Literal["jit"]
    plan_for_disruptions: bool = False


class SafetyStockSpec(_CanOrder, _Forecasting):
    """Reorder point = lead-time forecast + safety stock; quantity from EOQ or cover days."""

    type: Literal["safety_stock"]
    service_level: Probability | None = None
    weeks_of_cover: NonNeg | None = None
    quantity: Literal["eoq", "cover_days"] = "eoq"
    cover_days: Days = 14.0
    plan_for_disruptions: bool = False
    use_backup: bool = False

    @model_validator(mode="after")
    def _one_buffer_rule(self) -> SafetyStockSpec:
        if self.service_level is not None and self.weeks_of_cover is not None:
            raise ValueError("give 'service_level' or 'weeks_of_cover', not both")
        if self.service_level is None and self.weeks_of_cover is None:
            object.__setattr__(self, "service_level", 0.95)
        return self


class HybridSpec(_LotSpec):
    """ABC classes by expected revenue; A: JIT + safety stock, B: light buffer, C: JIT."""

    type: Literal["hybrid"]
    a_share: Probability = 0.80
    b_share: Probability = 0.15
    service_level_a: Probability = 0.98
    service_level_b: Probability = 0.90
    plan_for_disruptions: bool = True
    use_backup: bool = True

    @model_validator(mode="after")
    def _shares(self) -> HybridSpec:
        if self.a_share + self.b_share > 1:
            raise ValueError(
                f"a_share + b_share must be <= 1, got {self.a_share} + {self.b_share}"
            )
        return self


PolicySpec = Annotated[
    BaseStockSpec | SSSpec | RQSpec | JitSpec | SafetyStockSpec | HybridSpec,
    Field(discriminator="type"),
]
"""Any policy specification; ``type`` picks the rule."""


# --------------------------------------------------------------------------- scenario


class Leftover(StrictModel):
    """What is measured of the stock left at the end of the horizon."""

    in_total_cost: bool = False
    """Charge the horizon's leftover (on-hand at cost less salvage) in ``total_cost``."""
    excess_days: Annotated[int, Field(ge=0, le=MAX_DAYS)] = 90
    """``excess_units_end`` is the stock above the demand expected in this many days."""


class ReportInfo(StrictModel):
    """Who the report is for and from: printed on its title block."""

    title: str = ""
    author: str = ""
    client: str = ""
    logo: str = ""
    """Path of a PNG, JPEG or SVG file, relative to the scenario file's folder."""


class Scenario(StrictModel):
    """A validated, frozen scenario: what to simulate and which policies to compare."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    start_date: dt.date = dt.date(2026, 1, 1)
    horizon_days: Annotated[int, Field(ge=1, le=36500)]
    warmup_days: Annotated[int, Field(ge=0, le=36500)] = 0
    replications: Annotated[int, Field(ge=1)] = 200
    seed: Annotated[int, Field(ge=0)] = 0
    unmet_demand: Literal["backorder", "lost_sale"] = "backorder"
    units: Literal["whole", "continuous"] = "whole"
    currency: str = "$"
    suppliers: Annotated[dict[str, Supplier], Field(min_length=1)]
    skus: Annotated[list[Sku], Field(min_length=1)]
    policies: Annotated[dict[str, PolicySpec], Field(min_length=1)]
    baseline: str | None = None
    report: ReportInfo | None = None
    leftover: Leftover | None = None

    @field_validator("start_date", mode="before")
    @classmethod
    def _a_date_not_a_number(cls, value: Any) -> Any:
        # pydantic would read a number as seconds since 1970: 0.5 is 1970-01-01.
        if isinstance(value, int | float) and not isinstance(value, dt.date):
            raise ValueError(f"must be a date such as 2026-09-01, got {_show(value)}")
        return value

    @field_validator("skus")
    @classmethod
    def _unique_ids(cls, skus: list[Sku]) -> list[Sku]:
        seen: set[str] = set()
        for i, s in enumerate(skus):
            if s.id in seen:
                raise ValueError(f"[{i}].id: duplicate SKU id '{s.id}'")
            if s.id == "ALL":
                raise ValueError(f"[{i}].id: 'ALL' is reserved for portfolio rows")
            seen.add(s.id)
        return skus

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        names = sorted(self.suppliers)
        for i, s in enumerate(self.skus):
            for field in ("supplier", "backup_supplier"):
                ref = getattr(s, field)
                if ref is not None and ref not in self.suppliers:
                    raise ValueError(
                        f"skus[{i}].{field}: must name a supplier ({', '.join(names)}), "
                        f"got '{ref}'"
                    )
            if s.backup_supplier is not None and s.backup_supplier == s.supplier:
                raise ValueError(
                    f"skus[{i}].backup_supplier: must differ from the supplier, "
                    f"got '{s.backup_supplier}' for both"
                )
            self._check_peak_demand(i, s)
            for j, o in enumerate(s.open_orders):
                if self.day_of(o.arrives) < self.first_day:
                    raise ValueError(
                        f"skus[{i}].open_orders[{j}].arrives: must be on or after the first "
                        f"simulated day ({self.date_of(self.first_day)}), got {o.arrives}"
                    )
            for j, c in enumerate(s.demand.campaigns):
                start, end = self.day_of(c.start), self.day_of(c.end)
                if end <= start:
                    raise ValueError(
                        f"skus[{i}].demand.campaigns[{j}]: end must be after start, "
                        f"got start={c.start}, end={c.end}"
                    )
        for name, sup in self.suppliers.items():
            for j, d in enumerate(sup.disruptions):
                if isinstance(d, _Window) and self.day_of(d.end) <= self.day_of(d.start):
                    raise ValueError(
                        f"suppliers.{_key(name)}.disruptions[{j}]: end must be after start, "
                        f"got start={d.start}, end={d.end}"
                    )
            if sum(isinstance(d, Capacity) for d in sup.disruptions) > 1:
                raise ValueError(
                    f"suppliers.{_key(name)}.disruptions: at most one capacity limit"
                )
        if self.units == "whole":
            self._check_whole_units()
        ids = {s.id for s in self.skus}
        for pname, p in self.policies.items():
            for field in ("S", "s", "r", "Q"):
                value = getattr(p, field, None)
                if isinstance(value, dict):
                    missing = sorted(ids - set(value))
                    extra = sorted(set(value) - ids)
                    if extra:
                        raise ValueError(
                            f"policies.{_key(pname)}.{field}: unknown SKU id '{extra[0]}'"
                        )
                    if missing:
                        raise ValueError(
                            f"policies.{_key(pname)}.{field}: "
                            f"missing a value for SKU '{missing[0]}'"
                        )
        if self.baseline is not None and self.baseline not in self.policies:
            raise ValueError(
                f"baseline: must name a policy ({', '.join(self.policies)}), got '{self.baseline}'"
            )
        return self

    @model_validator(mode="after")
    def _windows_overlap_the_period(self) -> Scenario:
        """Refuse a scheduled window that misses every simulated day (a typo: wrong year?)."""
        for where, start, end in self._windows():
            if end <= self.first_day or start >= self.horizon_days:
                raise ValueError(
                    f"{where}: must overlap the simulated {self._period()}, "
                    f"got {self._span(start, end)}"
                )
        return self

    def window_warnings(self) -> list[str]:
        """Return one line per scheduled window that is partly outside the simulated days."""
        return [
            f"{where}: partly outside the simulated {self._period()}, got "
            f"{self._span(start, end)}; only the days inside count"
            for where, start, end in self._windows()
            if start < self.first_day or end > self.horizon_days
        ]

    def _windows(self) -> Iterator[tuple[str, int, int]]:
        """Yield ``(field path, start day, end day)`` of every campaign and disruption window."""
        for i, s in enumerate(self.skus):
            for j, c in enumerate(s.demand.campaigns):
                yield f"skus[{i}].demand.campaigns[{j}]", self.day_of(c.start), self.day_of(c.end)
        for name, sup in self.suppliers.items():
            for j, d in enumerate(sup.disruptions):
                if isinstance(d, _Window):
                    where = f"suppliers.{name}.disruptions[{j}]"
                    yield where, self.day_of(d.start), self.day_of(d.end)

    def _period(self) -> str:
        last = self.horizon_days - 1
        return (
            f"days {self.first_day}..{last} "
            f"({self.date_of(self.first_day)}..{self.date_of(last)})"
        )

    def _span(self, start: int, end: int) -> str:
        return (
            f"days {start}..{end - 1} ({self.date_of(start)}..{self.date_of(end - 1)})"
        )

    def _check_whole_units(self) -> None:
        """Refuse a fractional stock, pack, MOQ or capacity when units are whole."""

        def whole(where: str, value: float) -> None:
            if value != int(value):
                raise ValueError(
                    f"{where}: must be a whole number of units (units: whole), got {value:g}; "
                    f"round it, or set 'units: continuous'"
                )

        for i, s in enumerate(self.skus):
            whole(f"skus[{i}].initial_on_hand", s.initial_on_hand)
            whole(f"skus[{i}].moq", s.moq)
            if s.pack_size is not None:
                whole(f"skus[{i}].pack_size", s.pack_size)
            for j, o in enumerate(s.open_orders):
                whole(f"skus[{i}].open_orders[{j}].units", o.units)
        for name, sup in self.suppliers.items():
            for j, d in enumerate(sup.disruptions):
                if isinstance(d, Capacity):
                    whole(f"suppliers.{_key(name)}.disruptions[{j}].units_per_week",
                          d.units_per_week)  # fmt: skip

    def _check_peak_demand(self, i: int, sku: Sku) -> None:
        """Refuse demand too large to simulate: each number may be fine, their product not.

        The peak is the base mean (λ·E[size] for customer orders) times the largest
        calendar multiplier (seasonality × campaigns × trend) times the mean spike uplift.
        """
        d = sku.demand
        mult = self.demand_multiplier(sku)
        peak = float(mult.max()) if mult.size else 1.0
        if d.spikes is not None:
            peak *= max(d.spikes.uplift.mean, 1.0)
        if d.customers is not None:
            orders = d.customers.orders_per_day * peak
            if not orders <= MAX_ORDERS_PER_DAY:
                raise ValueError(
                    f"skus[{i}].demand.customers.orders_per_day: must give at most "
                    f"{MAX_ORDERS_PER_DAY:g} orders a day at the peak (rate × seasonality × "
                    f"campaigns × trend × spikes), got {orders:g}"
                )
            units = orders * d.customers.order_size.mean
        else:
            units = d.per_day.mean * peak
        if not units <= MAX_VALUE:
            raise ValueError(
                f"skus[{i}].demand: expected demand must be <= {MAX_VALUE:g} units a day at "
                f"the peak (mean × seasonality × campaigns × trend × spikes), got {units:g}"
            )

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        """Validate a mapping (as read from YAML) into a scenario.

        Raises:
            ScenarioError: one line per problem, naming field path, rule and value.

        """
        if not isinstance(data, dict):
            raise ScenarioError(f"scenario: must be a mapping of keys, got {type(data).__name__}")
        try:
            bad = _first_bad_date(data)
        except RecursionError:
            # A YAML alias that contains itself (&a {x: *a}) or absurd nesting.
            raise ScenarioError(
                "scenario: nested too deeply (or a YAML alias that contains itself)"
            ) from None
        if bad is not None:
            where, value = bad
            raise ScenarioError(
                f"{where}: must be a real calendar date, got {value} ({value.reason})"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(format_validation_error(exc, data)) from None
        except RecursionError:
            # A YAML alias that contains itself (&a {x: *a}) or absurd nesting.
            raise ScenarioError(
                "scenario: nested too deeply (or a YAML alias that contains itself)"
            ) from None

    @classmethod
    def from_yaml(cls, source: str | Path) -> Scenario:
        """Read and validate a YAML file."""
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read ({exc.strerror})") from None
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                f"{path}: must be a UTF-8 text file, got byte 0x{exc.object[exc.start]:02x} "
                f"at offset {exc.start} (a binary file, or saved in another encoding?)"
            ) from None
        scenario = cls.from_yaml_text(text, origin=str(path))
        logo = scenario.report.logo if scenario.report else ""
        if logo and not Path(logo).is_absolute():  # relative to the scenario's folder
            report = scenario.report.model_copy(
                update={"logo": str((path.parent / logo).resolve())})
            scenario = scenario.model_copy(update={"report": report})
        return scenario

    @classmethod
    def from_yaml_text(cls, text: str, origin: str = "<text>") -> Scenario:
        """Parse YAML text and validate it."""
        try:
            data = yaml.load(text, Loader=_Loader)  # a SafeLoader: no arbitrary objects
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f": line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ScenarioError(_one_line(f"{origin}{where}: invalid YAML: {problem}")) from None
        except RecursionError:
            raise ScenarioError(f"{origin}: invalid YAML: nested too deeply") from None
        except ValueError as exc:
            if "integer string conversion" not in str(exc):
                raise
            # PyYAML builds ints with int(): Python refuses more than 4300 digits.
            raise ScenarioError(f"{origin}: invalid YAML: a number with too many digits") from None
        return cls.from_dict(data)

    def with_overrides(
        self,
        replications: int | None = None,
        seed: int | None = None,
        policies: list[str] | None = None,
    ) -> Scenario:
        """Return a copy with run settings replaced (validated again)."""
        data = self.to_dict()
        if replications is not None:
            data["replications"] = replications
        if seed is not None:
            data["seed"] = seed
        if policies:
            unknown = [p for p in policies if p not in self.policies]
            if unknown:
                raise ScenarioError(
                    f"--policy: must name a policy of the scenario "
                    f"({', '.join(self.policies)}), got '{unknown[0]}'"
                )
            data["policies"] = {p: data["policies"][p] for p in policies}
            if data.get("baseline") not in policies:
                data["baseline"] = None
        return Scenario.from_dict(data)

    # ----------------------------------------------------------------- views

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as plain data (YAML/JSON-ready), aliases as in the file."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_yaml(self) -> str:
        """Return the resolved scenario as YAML text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def content_hash(self) -> str:
        """Return a short SHA-256 of the resolved scenario (for provenance)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def baseline_policy(self) -> str:
        """The policy others are compared with: ``baseline`` or the first listed."""
        return self.baseline or next(iter(self.policies))

    def day_of(self, when: DayOrDate) -> int:
        """Return the day number of a day number or date (day 0 = ``start_date``)."""
        if isinstance(when, dt.date):
            return (when - self.start_date).days
        return int(when)

    def date_of(self, day: int) -> dt.date:
        """Return the calendar date of a day number."""
        return self.start_date + dt.timedelta(days=day)

    @property
    def first_day(self) -> int:
        """The first simulated day (negative when there is a warm-up)."""
        return -self.warmup_days

    @property
    def n_days(self) -> int:
        """Simulated days, warm-up included."""
        return self.warmup_days + self.horizon_days

    def demand_multiplier(self, sku: Sku, until: int | None = None) -> np.ndarray:
        """Known multiplier on mean demand for each simulated day (warm-up first).

        Seasonality and campaigns are the planner's calendar: policies see them.
        ``until`` (a day number, default the horizon) extends the same demand
        model past the horizon, for forecasts that look beyond it: the trend
        keeps growing, weekdays and months keep their calendar.
        """
        days = np.arange(self.first_day, self.horizon_days if until is None else until)
        mult = np.ones(days.size)
        season = sku.demand.seasonality
        if season is not None and season.monthly is not None:
            months = np.array([self.date_of(int(d)).month - 1 for d in days])
            mult *= np.asarray(season.monthly)[months]
        if season is not None and season.weekly is not None:
            weekday = (self.start_date.weekday() + days) % 7
            mult *= np.asarray(season.weekly)[weekday]
        if sku.demand.trend_per_year:
            mult *= np.maximum(1 + sku.demand.trend_per_year * days / 365, 0.0)
        for c in sku.demand.campaigns:
            inside = (days >= self.day_of(c.start)) & (days < self.day_of(c.end))
            mult[inside] *= c.uplift
        return mult * self._lasting(sku, days, announced=True) if self._shifted(sku) else mult

    def hidden_multiplier(self, sku: Sku, until: int | None = None) -> np.ndarray | None:
        """Multiplier of the *unannounced* lasting changes per simulated day, or None.

        Unannounced shifts and an unannounced end of life change the realised
        demand, never the planner's calendar (:meth:`demand_multiplier`).
        """
        if not self._shifted(sku, announced=False):
            return None
        days = np.arange(self.first_day, self.horizon_days if until is None else until)
        return self._lasting(sku, days, announced=False)

    def _shifted(self, sku: Sku, announced: bool = True) -> bool:
        """Whether the SKU has a shift or an end of life of that kind (announced or not)."""
        shifts = sku.demand.shifts or []
        life = sku.lifecycle
        return any(s.announced == announced for s in shifts) or (
            life is not None and life.announced == announced
        )

    def _lasting(self, sku: Sku, days: np.ndarray, announced: bool) -> np.ndarray:
        """Product of the shifts (and end of life) of that kind in force on each day."""
        mult = np.ones(days.size)
        for s in sku.demand.shifts or []:
            if s.announced == announced:
                mult[days >= self.day_of(s.start)] *= s.multiplier
        life = sku.lifecycle
        if life is not None and life.announced == announced:
            mult[days >= self.day_of(life.end_of_life)] = 0.0
        return mult

    @property
    def overbuying(self) -> bool:
        """Whether the scenario uses any overbuying feature (docs/overbuying.md).

        Only such scenarios carry the overbuying metrics (``expired_units``,
        ``write_off_cost``, ...), so the results of every other scenario stay as
        they were, column for column.
        """
        if self.leftover is not None:
            return True
        if any(getattr(p, "forecast", None) is not None for p in self.policies.values()):
            return True
        if any(s.quality is not None for s in self.suppliers.values()):
            return True
        for s in self.skus:
            d = s.demand
            if (s.shelf_life_days is not None or s.salvage_value is not None
                    or s.lifecycle is not None or s.goodwill is not None
                    or d.shifts is not None or d.regime_changes is not None
                    or any(c.stop_below is not None for c in d.campaigns)):  # fmt: skip
                return True
        return False

    def calendar(self) -> list[dict[str, Any]]:
        """Scheduled windows (campaigns, disruptions) as ``{kind, start_day, end_day, label}``."""
        out: list[dict[str, Any]] = []
        for s in self.skus:
            for c in s.demand.campaigns:
                item = {
                    "kind": "campaign",
                    "start_day": self.day_of(c.start),
                    "end_day": self.day_of(c.end),
                    "label": f"{c.label} ×{c.uplift:g}"
                    + (f" ({s.id})" if len(self.skus) > 1 else ""),
                }
                if item not in out:
                    out.append(item)
        for name, sup in self.suppliers.items():
            for d in sup.disruptions:
                if isinstance(d, _Window):
                    out.append(
                        {
                            "kind": d.kind,
                            "start_day": self.day_of(d.start),
                            "end_day": self.day_of(d.end),
                            "label": d.label or f"{d.kind.replace('_', ' ')} ({name})",
                            "announced": d.announced,
                        }
                    )
        return out


# --------------------------------------------------------------------------- loading


class _BadDate(str):
    """A date-like YAML scalar that is not a real date (``2026-02-30``), kept for the error."""

    reason: str


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, except that an impossible date is kept instead of raising.

    PyYAML turns ``2026-13-01`` into ``datetime.date(2026, 13, 1)`` and fails with
    a bare ``ValueError`` that names no field; keeping the text lets
    :meth:`Scenario.from_dict` say which field holds it.
    """


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        bad = _BadDate(node.value)
        bad.reason = str(exc)
        return bad


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


_DATE_KEYS = frozenset({"start_date", "start", "end", "start_day", "end_day", "arrives"})
_DATE_TEXT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _quoted_bad_date(key: Any, value: Any) -> _BadDate | None:
    """Return a quoted date-field value such as ``"2026-02-30"`` that is no real date."""
    if key not in _DATE_KEYS or not isinstance(value, str) or isinstance(value, _BadDate):
        return None
    match = _DATE_TEXT.match(value.strip())
    if match is None:
        return None
    try:
        dt.date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        bad = _BadDate(value)
        bad.reason = str(exc)
        return bad
    return None


def _first_bad_date(node: Any, where: str = "") -> tuple[str, _BadDate] | None:
    """Return the field path and value of the first impossible date in parsed YAML."""
    if isinstance(node, _BadDate):
        return where or "scenario", node
    if isinstance(node, dict):
        for key, value in node.items():
            bad = _quoted_bad_date(key, value)
            if bad is not None:
                return (f"{where}.{key}" if where else str(key)), bad
    if isinstance(node, dict):
        items = ((f"{where}.{k}" if where else str(k), v) for k, v in node.items())
    elif isinstance(node, list):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(node))
    else:
        return None
    for path, value in items:
        found = _first_bad_date(value, path)
        if found is not None:
            return found
    return None



def builtin_scenarios() -> dict[str, str]:
    """Return the built-in scenarios as ``{name: first line of description}``."""
    out: dict[str, str] = {}
    for entry in sorted(resources.files("simulator.scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            desc = str(data.get("description", "")).strip().splitlines()
            out[entry.name[: -len(".yaml")]] = desc[0] if desc else ""
    return out


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario from a YAML path, or a built-in scenario by name."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.is_file():
        if not path.exists():
            raise ScenarioError(f"{path}: no such file")
        scenario = Scenario.from_yaml(path)
        logo = scenario.report.logo if scenario.report else ""
        if logo and not Path(logo).is_file():  # say so now, not after the simulation
            raise ScenarioError(f"{path}: report.logo: no such file {logo}")
        return scenario
    entry = resources.files("simulator.scenarios") / f"{name_or_path}.yaml"
    if not entry.is_file():
        names = ", ".join(builtin_scenarios())
        raise ScenarioError(
            f"scenario: '{name_or_path}' is neither a file nor a built-in scenario ({names})"
        )
    return Scenario.from_yaml_text(entry.read_text(encoding="utf-8"), origin=f"{name_or_path}")


# --------------------------------------------------------------------------- errors

_UNKNOWN_KEY = re.compile(
    r"^unknown key '(?P<key>.*)'(?P<hint> \((?:did you mean|allowed:).*)$", re.S
)
_OPS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def _key(key: Any) -> str:
    r"""Return a mapping key as a path part: bare when plain, quoted when it could be misread.

    A key that is empty, has surrounding white space, separators of a path (``.``,
    ``[``, ``:``), quotes, or characters that break a line (fuzzing found ``'0'``,
    which ``splitlines`` splits) is shown as a Python string literal.
    """
    text = str(key)
    plain = text == text.strip() and text.isprintable() and not any(c in text for c in ".[]:'\"")
    return text if text and plain else repr(text)


def _one_line(text: str) -> str:
    """Escape anything that would end a line or hide in one (control characters)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _path(loc: tuple[Any, ...], data: Any) -> str:
    """Turn a pydantic location into ``skus[0].demand.per_day.sd``, dropping union tags."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, str) and ("[" in part or "(" in part):
            continue  # validator wrappers such as 'function-after[...]'
        tag = (
            node.get("dist", node.get("type", node.get("kind"))) if isinstance(node, dict) else None
        )
        if tag is not None and part == tag and part not in node:
            continue  # discriminated unions add the tag ('gamma', 'jit') to the location
        name = _key(part)
        out += f"[{part}]" if isinstance(part, int) else (f".{name}" if out else name)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return out


def _show(value: Any, depth: int = 0) -> str:
    """Render a value for an error line: short, and never deeper than two levels.

    Fuzzing found a YAML alias that contains itself (``&a {skus: *a}``) sending the
    rendering into endless recursion; long values are cut to keep one short line.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 3, not 3.0; but 1e+300, not its 301 digits
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57]) + "..."
    if isinstance(value, dict | list | tuple | set) and depth >= 2:
        return "{...}" if isinstance(value, dict) else "[...]"
    if isinstance(value, dict):
        items = list(value.items())
        text = ", ".join(f"{k}: {_show(v, depth + 1)}" for k, v in items[:6])
        return "{" + text + (", ..." if len(items) > 6 else "") + "}"
    if isinstance(value, list | tuple):
        text = ", ".join(_show(v, depth + 1) for v in value[:6])
        return "[" + text + (", ..." if len(value) > 6 else "") + "]"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def format_validation_error(exc: ValidationError, data: Any = None) -> str:
    """Render a pydantic error as lines ``path: rule, got value`` (``data``: the raw input)."""
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        path = _path(tuple(err["loc"]), data)
        kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
        if kind in _OPS:
            op, key = _OPS[kind]
            rule = f"must be {op} {_show(ctx.get(key))}, got {_show(value)}"
        elif kind == "missing":
            rule = "required, but missing"
        elif kind == "value_error":
            rule = str(ctx.get("error", err["msg"]))
            if rule.startswith("[") or rule.startswith("."):
                sub, _, rest = rule.partition(": ")
                path, rule = path + sub, rest
            if rule.startswith(("skus[", "policies.", "baseline:", "suppliers.")):
                path, _, rule = rule.partition(": ")
            unknown = _UNKNOWN_KEY.match(rule)
            if unknown:
                key, hint = _key(unknown["key"]), unknown["hint"]
                path, rule = (f"{path}.{key}" if path else key), "unknown key" + hint
        elif kind == "union_tag_invalid":
            key = str(ctx.get("discriminator", "")).strip("'")
            tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
            close = difflib.get_close_matches(str(ctx.get("tag")), tags, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            path = f"{path}.{key}" if key else path
            rule = f"must be one of {', '.join(tags)}, got {_show(ctx.get('tag'))}{hint}"
        elif kind == "union_tag_not_found":
            rule = f"needs a '{ctx.get('discriminator', '').strip(chr(39))}' key"
        elif kind == "literal_error":
            rule = f"must be {ctx.get('expected')}, got {_show(value)}"
        elif kind.endswith("_parsing") or kind.endswith("_type"):
            rule = err["msg"].replace("Input should be", "must be") + f", got {_show(value)}"
        elif kind in {"too_short", "too_long"}:
            rule = err["msg"].replace("List should have", "must have").replace(
                "Dictionary should have", "must have"
            )
        else:
            rule = err["msg"].replace("Input should be", "must be") + f", got {_show(value)}"
        lines.append(_one_line(f"{path or 'scenario'}: {rule}"))
    # De-duplicate while keeping order (unions can repeat one problem).
    return "\n".join(dict.fromkeys(lines))
