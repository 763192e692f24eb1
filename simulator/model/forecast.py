"""Forecasts learned from observed demand, as a real planner makes them.

A :class:`Forecaster` sees one SKU's demand one day at a time, in order
(:meth:`Forecaster.observe`), and is asked at a review for the demand expected
over the coming days (:meth:`Forecaster.window`) and the spread of its errors
(:attr:`Forecaster.rmse`). It never sees a day before that day is over: the
replication feeds it the days closed before the review, nothing else
(docs/overbuying.md, "No peeking").

Methods (``forecast.method`` of a policy):

* ``moving_average``: the mean of the last ``window_days`` days;
* ``exp_smoothing``: simple exponential smoothing of the level, L ← L + α(y − L);
  with ``intermittent``: Croston (size and interval smoothed on days with demand,
  forecast z/p), SBA (Syntetos & Boylan 2005: Croston × (1 − α/2)) or TSB
  (Teunter, Syntetos & Babai 2011: size on demand days, probability every day,
  forecast prob·z);
* ``seasonal``: the announced calendar (seasonality, campaigns, trend, announced
  shifts) applied to a learned level: each day's demand is divided by its
  calendar multiplier before smoothing (``alpha``) or averaging
  (``window_days``), and a future day's forecast is the level times its
  multiplier.

The error spread is the root mean squared one-day-ahead error of the
statistical forecast over every day observed so far; a policy scales it to its
protection period P as RMSE·√P, the usual practice that Prak, Teunter &
Syntetos (2017) show understates the error of a P-day forecast (the level's
own estimation error does not average out over the P days). ``bias`` scales the
mean a policy orders with (an optimistic planner), not the errors.

Before any demand is observed (no warm-up), the forecaster starts from the
scenario's demand model on the first day: its prior, the planner's best guess
before sales come in.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from simulator.data.scenario import ForecastSpec

__all__ = ["DEFAULT_ALPHA", "Forecaster"]

DEFAULT_ALPHA = 0.1
"""Smoothing constant when a smoothing method gives none."""


class Forecaster:
    """One SKU's learned forecast in one replication (stateful; fed day by day).

    Args:
        spec: the policy's ``forecast``.
        calendar: the planner's multiplier on mean demand per day index (the
            announced calendar), running past the horizon; used by ``seasonal``.
        prior_mean: mean daily demand of the scenario's model on the first day,
            before calendar effects (the starting level).
        prior_sd: its standard deviation (the starting error spread).

    """

    def __init__(
        self, spec: ForecastSpec, calendar: np.ndarray, prior_mean: float, prior_sd: float
    ) -> None:
        self.spec = spec
        self.seasonal = spec.method == "seasonal"
        self.calendar = calendar if self.seasonal else None
        self._cum = np.concatenate([[0.0], np.cumsum(calendar)]) if self.seasonal else None
        self.average = spec.window_days is not None  # moving average (or seasonal one)
        self.alpha = spec.alpha if spec.alpha is not None else DEFAULT_ALPHA
        self.beta = spec.beta if spec.beta is not None else self.alpha
        self.intermittent = spec.intermittent
        self.factor = 1.0 + spec.bias
        self.prior = prior_mean
        self.level = prior_mean  # SES level, or the moving average
        self.recent: deque[float] = deque()
        self.total = 0.0
        # Croston / SBA / TSB: size, interval (or probability), days since the last demand.
        self.size = prior_mean
        self.interval = 1.0
        self.prob = 1.0
        self.gap = 0
        self.seen = 0
        self.sq = 0.0
        self.errors = 0
        self.prior_sd = prior_sd

    # ------------------------------------------------------------------ learning

    def base(self) -> float:
        """Return the statistical forecast of one day's demand, before calendar and bias."""
        if self.intermittent == "croston":
            return self.size / self.interval
        if self.intermittent == "sba":
            return (1 - self.alpha / 2) * self.size / self.interval
        if self.intermittent == "tsb":
            return self.prob * self.size
        return self.level

    def observe(self, day: int, y: float) -> None:
        """Learn day index ``day``'s demand ``y`` (days come in order, each once)."""
        mult = 1.0
        if self.seasonal:
            mult = float(self.calendar[day]) if day < self.calendar.size else 1.0
        err = y - self.base() * mult
        self.sq += err * err
        self.errors += 1
        self.seen += 1
        if self.seasonal:
            if mult <= 1e-12:
                return  # a day the calendar closes says nothing about the level
            y = y / mult
        if self.average:
            self.recent.append(y)
            self.total += y
            if len(self.recent) > self.spec.window_days:
                self.total -= self.recent.popleft()
            # Summed afresh now and then: a running sum drifts over thousands of days.
            if self.seen % 1024 == 0:
                self.total = math.fsum(self.recent)
            self.level = self.total / len(self.recent)
        elif self.intermittent in ("croston", "sba"):
            self.gap += 1
            if y > 0:
                self.size += self.alpha * (y - self.size)
                self.interval += self.alpha * (self.gap - self.interval)
                self.gap = 0
        elif self.intermittent == "tsb":
            if y > 0:
                self.size += self.alpha * (y - self.size)
            self.prob += self.beta * ((1.0 if y > 0 else 0.0) - self.prob)
        else:
            self.level += self.alpha * (y - self.level)

    @property
    def rmse(self) -> float:
        """Root mean squared one-day-ahead error so far (the prior's sd before any)."""
        if self.errors == 0:
            return self.prior_sd
        return math.sqrt(self.sq / self.errors)

    # ------------------------------------------------------------------ forecasting

    def daily(self) -> float:
        """Mean daily demand a policy orders with (bias applied; no calendar)."""
        return max(self.base(), 0.0) * self.factor

    def window(self, day: int, length: float) -> float:
        """Mean demand a policy orders with over ``[day, day + length)`` (bias applied).

        ``seasonal`` multiplies the level by each day's calendar multiplier; a
        fractional length takes that fraction of the last day.
        """
        length = max(length, 0.0)
        if not self.seasonal:
            return self.daily() * length
        cum = self._cum
        last = cum.size - 1
        whole = int(length)
        end = min(day + whole, last)
        start = min(day, last)
        total = cum[end] - cum[start]
        if end < self.calendar.size:
            total += (length - whole) * self.calendar[end]
        return self.daily() * float(total)
