"""Experiment statistics (no Flask, no database): uplift with intervals and an always-valid test.

The merchant looks at results every day, so a fixed-horizon p-value would cry wolf. The
sequential test is the mixture sequential probability ratio test (mSPRT, Johari et al., "Always
Valid Inference", 2017) on the difference of conversion rates under a normal approximation: its
p-value and interval stay valid however often they are read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class ArmOutcome:
    """What one arm's exposed visitors did."""

    visitors: int
    converted: int
    revenue: float
    revenue_sq: float = 0.0

    @property
    def rate(self) -> float:
        return self.converted / self.visitors if self.visitors else 0.0

    @property
    def revenue_per_visitor(self) -> float:
        return self.revenue / self.visitors if self.visitors else 0.0

    def revenue_variance(self) -> float:
        if self.visitors < 2:
            return 0.0
        mean = self.revenue_per_visitor
        return max((self.revenue_sq - self.visitors * mean * mean) / (self.visitors - 1), 0.0)


@dataclass(frozen=True)
class Comparison:
    """Treatment against control: absolute and relative uplift with 95 % intervals."""

    difference: float
    difference_low: float
    difference_high: float
    relative_uplift: float | None
    relative_low: float | None
    relative_high: float | None
    revenue_difference: float
    revenue_low: float
    revenue_high: float
    p_value: float
    sequential_p_value: float
    sequential_low: float
    sequential_high: float

    @property
    def significant(self) -> bool:
        """True when the always-valid test rejects 'no effect' at 5 %."""
        return self.sequential_p_value < 0.05


def _difference_variance(treatment: ArmOutcome, control: ArmOutcome) -> float:
    variance = 0.0
    for arm in (treatment, control):
        if arm.visitors:
            rate = arm.rate
            variance += rate * (1 - rate) / arm.visitors
    return variance


def msprt_statistic(difference: float, variance: float, tau_sq: float) -> float:
    """The mixture likelihood ratio for 'difference is 0' with a N(0, tau_sq) mixing prior."""
    if variance <= 0:
        return 1.0
    exponent = tau_sq * difference * difference / (2 * variance * (variance + tau_sq))
    return math.sqrt(variance / (variance + tau_sq)) * math.exp(min(exponent, 700.0))


def always_valid_interval(
    difference: float, variance: float, tau_sq: float, alpha: float = 0.05
) -> tuple[float, float]:
    """The confidence sequence for the difference at this look."""
    if variance <= 0:
        return difference, difference
    half = math.sqrt(
        variance
        * (variance + tau_sq)
        / tau_sq
        * (math.log((variance + tau_sq) / variance) + 2 * math.log(1 / alpha))
    )
    return difference - half, difference + half


def _normal_p_value(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def compare(
    treatment: ArmOutcome,
    control: ArmOutcome,
    looks: Sequence[tuple[ArmOutcome, ArmOutcome]] = (),
    tau_sq: float = 1e-3,
) -> Comparison:
    """Compare arms now; `looks` are earlier snapshots (e.g. daily) for the running sequential p-value."""
    difference = treatment.rate - control.rate
    variance = _difference_variance(treatment, control)
    se = math.sqrt(variance)
    relative = relative_low = relative_high = None
    if control.rate > 0 and treatment.rate > 0:
        relative = treatment.rate / control.rate - 1
        log_se = math.sqrt(
            (1 - treatment.rate) / max(treatment.converted, 1)
            + (1 - control.rate) / max(control.converted, 1)
        )
        log_ratio = math.log(treatment.rate / control.rate)
        relative_low = math.exp(log_ratio - Z95 * log_se) - 1
        relative_high = math.exp(log_ratio + Z95 * log_se) - 1
    revenue_se = math.sqrt(
        sum(arm.revenue_variance() / arm.visitors for arm in (treatment, control) if arm.visitors)
    )
    revenue_difference = treatment.revenue_per_visitor - control.revenue_per_visitor
    sequential_p = 1.0
    for earlier_treatment, earlier_control in (*looks, (treatment, control)):
        d = earlier_treatment.rate - earlier_control.rate
        v = _difference_variance(earlier_treatment, earlier_control)
        sequential_p = min(sequential_p, 1.0 / msprt_statistic(d, v, tau_sq))
    low, high = always_valid_interval(difference, variance, tau_sq)
    return Comparison(
        difference=difference,
        difference_low=difference - Z95 * se,
        difference_high=difference + Z95 * se,
        relative_uplift=relative,
        relative_low=relative_low,
        relative_high=relative_high,
        revenue_difference=revenue_difference,
        revenue_low=revenue_difference - Z95 * revenue_se,
        revenue_high=revenue_difference + Z95 * revenue_se,
        p_value=_normal_p_value(difference / se) if se > 0 else 1.0,
        sequential_p_value=min(sequential_p, 1.0),
        sequential_low=low,
        sequential_high=high,
    )
