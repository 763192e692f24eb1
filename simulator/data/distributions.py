"""Named probability distributions for demand, order sizes, lead times and durations.

A scenario names a distribution by ``dist`` and gives its parameters, e.g.
``{dist: gamma, mean: 21, sd: 4}``. Every distribution is a frozen, validated
object with the exact ``mean`` and ``var`` of what it samples (planners use them
for forecasts and safety stock) and a vectorised ``sample(rng, size)`` that
draws from an explicit :class:`numpy.random.Generator` (never the global one).

Quantities are non-negative: ``normal`` is censored at zero (a negative draw
counts as zero) and its ``mean``/``var`` are those of the censored variable.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, Field, model_validator

from simulator.data.strict import StrictModel

__all__ = [
    "MAX_VALUE",
    "MIN_VALUE",
    "NonNeg",
    "Positive",
    "Constant",
    "Distribution",
    "DiscreteUniform",
    "Empirical",
    "Exponential",
    "Gamma",
    "Lognormal",
    "NegativeBinomial",
    "Normal",
    "Poisson",
    "Triangular",
    "Uniform",
    "describe",
]

MAX_VALUE = 1e12
"""Largest number a scenario may hold: far above any real quantity, price or rate, and
small enough that the model's sums, squares and samplers stay finite (a fuzzed 1e300
overflowed a variance to inf and crashed numpy's Poisson sampler)."""

MIN_VALUE = 1e-9
"""Smallest non-zero number a scenario may hold: below it a number is rounding noise, and
fuzzed subnormals (1e-320) overflowed the model's divisions (an EOQ lot, a lot count, a
gamma shape) to inf."""


def _not_tiny(value: float) -> float:
    if 0 < value < MIN_VALUE:
        raise ValueError(f"must be 0 or >= {MIN_VALUE:g}, got {value:g}")
    return value


def _not_tiny_positive(value: float) -> float:
    if value < MIN_VALUE:
        raise ValueError(f"must be >= {MIN_VALUE:g}, got {value:g}")
    return value


NonNeg = Annotated[
    float, Field(ge=0, le=MAX_VALUE, allow_inf_nan=False), AfterValidator(_not_tiny)
]
Positive = Annotated[
    float, Field(gt=0, le=MAX_VALUE, allow_inf_nan=False), AfterValidator(_not_tiny_positive)
]


class _Dist(StrictModel):
    """Common base: frozen, unknown keys rejected."""

    @property
    def mean(self) -> float:  # pragma: no cover - every subclass overrides
        """Expected value."""
        raise NotImplementedError

    @property
    def var(self) -> float:  # pragma: no cover - every subclass overrides
        """Variance."""
        raise NotImplementedError

    @property
    def sd(self) -> float:
        """Standard deviation."""
        return math.sqrt(self.var)

    @property
    def second_moment(self) -> float:
        """E[X²], used for compound-Poisson demand variance."""
        return self.var + self.mean**2

    def cdf(self, x: np.ndarray | float) -> np.ndarray:  # pragma: no cover - overridden
        """P(X <= x), elementwise (planners use it for lead-time distributions)."""
        raise NotImplementedError


class Constant(_Dist):
    """Always ``value``."""

    dist: Literal["constant"]
    value: NonNeg

    @property
    def mean(self) -> float:
        """Expected value."""
        return self.value

    @property
    def var(self) -> float:
        """Variance (zero)."""
        return 0.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Return ``size`` copies of the value."""
        return np.full(size, self.value, dtype=float)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x): a step at the value."""
        return (np.asarray(x, dtype=float) >= self.value).astype(float)


class Normal(_Dist):
    """Normal(mean, sd) censored at zero: negative draws count as zero."""

    dist: Literal["normal"]
    mean_: NonNeg = Field(alias="mean")
    sd_: NonNeg = Field(alias="sd")

    def _moments(self) -> tuple[float, float]:
        mu, s = self.mean_, self.sd_
        if s == 0:
            return mu, 0.0
        from scipy.stats import norm

        a = mu / s
        cdf, pdf = norm.cdf(a), norm.pdf(a)
        m1 = mu * cdf + s * pdf
        m2 = (mu**2 + s**2) * cdf + mu * s * pdf
        return m1, max(m2 - m1**2, 0.0)

    @property
    def mean(self) -> float:
        """Mean of the censored variable (equals ``mean`` unless ``sd`` is large)."""
        return self._moments()[0]

    @property
    def var(self) -> float:
        """Variance of the censored variable."""
        return self._moments()[1]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values, negative ones set to zero."""
        return np.maximum(rng.normal(self.mean_, self.sd_, size), 0.0)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x) of the censored variable (an atom at zero)."""
        x = np.asarray(x, dtype=float)
        if self.sd_ == 0:
            return (x >= self.mean_).astype(float)
        from scipy.stats import norm

        return np.where(x < 0, 0.0, norm.cdf(x, self.mean_, self.sd_))


class _MeanSd(_Dist):
    """A distribution parameterised directly by its mean and sd."""

    mean_: Positive = Field(alias="mean")
    sd_: Positive = Field(alias="sd")

    @property
    def mean(self) -> float:
        """Expected value."""
        return self.mean_

    @property
    def var(self) -> float:
        """Variance."""
        return self.sd_**2


class Lognormal(_MeanSd):
    """Lognormal with the given mean and sd of the variable itself (not of its log)."""

    dist: Literal["lognormal"]
    sd_: NonNeg = Field(alias="sd")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        sigma2 = math.log1p((self.sd_ / self.mean_) ** 2)
        mu = math.log(self.mean_) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), size)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""
        x = np.asarray(x, dtype=float)
        if self.sd_ == 0:
            return (x >= self.mean_).astype(float)
        from scipy.stats import lognorm

        sigma2 = math.log1p((self.sd_ / self.mean_) ** 2)
        mu = math.log(self.mean_) - sigma2 / 2
        return lognorm.cdf(x, math.sqrt(sigma2), scale=math.exp(mu))


class Gamma(_MeanSd):
    """Gamma parameterised by mean and sd (shape = (mean/sd)², scale = sd²/mean)."""

    dist: Literal["gamma"]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        shape = (self.mean_ / self.sd_) ** 2
        return rng.gamma(shape, self.sd_**2 / self.mean_, size)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""
        from scipy.stats import gamma

        shape = (self.mean_ / self.sd_) ** 2
        return gamma.cdf(np.asarray(x, dtype=float), shape, scale=self.sd_**2 / self.mean_)


class Exponential(_Dist):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean_: Positive = Field(alias="mean")

    @property
    def mean(self) -> float:
        """Expected value."""
        return self.mean_

    @property
    def var(self) -> float:
        """Variance (mean²)."""
        return self.mean_**2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        return rng.exponential(self.mean_, size)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""
        x = np.asarray(x, dtype=float)
        return np.where(x < 0, 0.0, -np.expm1(-np.maximum(x, 0) / self.mean_))


class Poisson(_Dist):
    """Poisson counts with the given mean."""

    dist: Literal["poisson"]
    mean_: NonNeg = Field(alias="mean")

    @property
    def mean(self) -> float:
        """Expected value."""
        return self.mean_

    @property
    def var(self) -> float:
        """Variance (equals the mean)."""
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` counts."""
        return rng.poisson(self.mean_, size).astype(float)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""
        from scipy.stats import poisson

        return poisson.cdf(np.floor(np.asarray(x, dtype=float)), self.mean_)


class NegativeBinomial(_MeanSd):
    """Over-dispersed counts with the given mean and sd (requires sd² > mean)."""

    dist: Literal["negbin"]

    @model_validator(mode="after")
    def _overdispersed(self) -> NegativeBinomial:
        if self.sd_**2 <= self.mean_:
            raise ValueError(
                f"sd² must be > mean for a negative binomial (use poisson otherwise), "
                f"got sd={self.sd_}, mean={self.mean_}"
            )
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` counts."""
        var = self.sd_**2
        n = self.mean_**2 / (var - self.mean_)
        return rng.negative_binomial(n, self.mean_ / var, size).astype(float)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""
        from scipy.stats import nbinom

        var = self.sd_**2
        n = self.mean_**2 / (var - self.mean_)
        return nbinom.cdf(np.floor(np.asarray(x, dtype=float)), n, self.mean_ / var)


class Uniform(_Dist):
    """Continuous uniform on [low, high]."""

    dist: Literal["uniform"]
    low: NonNeg
    high: NonNeg

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high must be >= low, got low={self.low}, high={self.high}")
        return self

    @property
    def mean(self) -> float:
        """Expected value."""
        return (self.low + self.high) / 2

    @property
    def var(self) -> float:
        """Variance."""
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        return rng.uniform(self.low, self.high, size)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""
        x = np.asarray(x, dtype=float)
        if self.high == self.low:
            return (x >= self.low).astype(float)
        return np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)


class DiscreteUniform(_Dist):
    """Integers low..high inclusive, equally likely."""

    dist: Literal["discrete_uniform"]
    low: Annotated[int, Field(ge=0, le=int(MAX_VALUE))]
    high: Annotated[int, Field(ge=0, le=int(MAX_VALUE))]

    @model_validator(mode="after")
    def _ordered(self) -> DiscreteUniform:
        if self.high < self.low:
            raise ValueError(f"high must be >= low, got low={self.low}, high={self.high}")
        return self

    @property
    def mean(self) -> float:
        """Expected value."""
        return (self.low + self.high) / 2

    @property
    def var(self) -> float:
        """Variance."""
        n = self.high - self.low + 1
        return (n * n - 1) / 12

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` integers (as floats)."""
        return rng.integers(self.low, self.high, size, endpoint=True).astype(float)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""
        k = np.floor(np.asarray(x, dtype=float)) - self.low + 1
        return np.clip(k / (self.high - self.low + 1), 0.0, 1.0)


class Triangular(_Dist):
    """Triangular on [low, high] with the given mode."""

    dist: Literal["triangular"]
    low: NonNeg
    mode: NonNeg
    high: NonNeg

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError(
                f"need low <= mode <= high and low < high, "
                f"got low={self.low}, mode={self.mode}, high={self.high}"
            )
        return self

    @property
    def mean(self) -> float:
        """Expected value."""
        return (self.low + self.mode + self.high) / 3

    @property
    def var(self) -> float:
        """Variance."""
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        return rng.triangular(self.low, self.mode, self.high, size)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""
        from scipy.stats import triang

        a, c, b = self.low, self.mode, self.high
        return triang.cdf(np.asarray(x, dtype=float), (c - a) / (b - a), loc=a, scale=b - a)


class Empirical(_Dist):
    """Resample the given values, with optional weights (normalised)."""

    dist: Literal["empirical"]
    values: Annotated[list[NonNeg], Field(min_length=1)]
    weights: list[NonNeg] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights must have one entry per value, "
                    f"got {len(self.weights)} weights for {len(self.values)} values"
                )
            if sum(self.weights) <= 0:
                raise ValueError(f"weights must sum to > 0, got {self.weights}")
        return self

    def _p(self) -> np.ndarray:
        if self.weights is None:
            return np.full(len(self.values), 1 / len(self.values))
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        """Expected value."""
        return float(np.dot(self._p(), self.values))

    @property
    def var(self) -> float:
        """Variance."""
        v = np.asarray(self.values, dtype=float)
        return float(np.dot(self._p(), (v - self.mean) ** 2))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        return rng.choice(np.asarray(self.values, dtype=float), size=size, p=self._p())

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""
        v = np.asarray(self.values, dtype=float)
        x = np.asarray(x, dtype=float)
        return ((v[None, :] <= x.reshape(-1, 1)) @ self._p()).reshape(x.shape)


Distribution = Annotated[
    Constant
    | Normal
    | Lognormal
    | Gamma
    | Exponential
    | Poisson
    | NegativeBinomial
    | Uniform
    | DiscreteUniform
    | Triangular
    | Empirical,
    Field(discriminator="dist"),
]
"""Any named distribution; ``dist`` picks the kind."""


def describe(d: _Dist) -> str:
    """Return a short human description, e.g. ``gamma(mean 21, sd 4)``."""
    params = d.model_dump(by_alias=True, exclude={"dist"}, exclude_none=True)
    inner = ", ".join(f"{k} {_fmt(v)}" for k, v in params.items())
    return f"{d.dist}({inner})"


def _fmt(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)
