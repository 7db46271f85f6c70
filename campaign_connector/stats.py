"""The statistics ``report`` gives for conversions: the lift of sent over control with Newcombe's hybrid score
interval and a two-sided p-value, and a sample-ratio check of the control share.

Pure functions of counts, standard library only (normal tails from ``math.erfc``, the normal quantile from
``statistics.NormalDist``): no scipy at run time. ``tests/test_stats.py`` checks every figure against
statsmodels and scipy on a table of cases, small samples included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

#: The two-sided 95% normal quantile (1.959963984540054).
Z95 = NormalDist().inv_cdf(0.975)

#: Below this many users on either side the table says the sample is too small to judge.
MIN_USERS = 30

#: A sample-ratio p-value below this is a warning: the control group is not the share the config asks for.
SAMPLE_RATIO_ALPHA = 0.001


@dataclass(frozen=True, slots=True)
class Lift:
    """Conversion of users sent a campaign against users held in its control group."""

    rate_sent: float
    """Converted / users sent."""
    rate_control: float
    """Converted / users in control."""
    difference: float
    """``rate_sent - rate_control``."""
    ci95_low: float
    """Lower end of the 95% interval of the difference (Newcombe's hybrid score interval)."""
    ci95_high: float
    """Upper end of that interval."""
    p_value: float
    """Two-sided p-value of the pooled two-proportion z-test (1.0 when neither side varies)."""
    users_sent: int
    """Users sent (the rate's denominator)."""
    users_control: int
    """Users in control (the rate's denominator)."""

    @property
    def too_small(self) -> bool:
        """Fewer than ``MIN_USERS`` users on either side: the figures are shown but not to be judged."""
        return min(self.users_sent, self.users_control) < MIN_USERS


@dataclass(frozen=True, slots=True)
class SampleRatio:
    """The observed control share against the configured one."""

    expected_control: float
    """The configured control share (``control_group`` / 100)."""
    observed_control: float
    """Control users / users who reached the control split."""
    p_value: float
    """Chi-square goodness-of-fit p-value (1 degree of freedom)."""
    users: int
    """Users who reached the control split."""

    @property
    def mismatch(self) -> bool:
        """The p-value is below ``SAMPLE_RATIO_ALPHA``: the split is unlikely to be the configured one."""
        return self.p_value < SAMPLE_RATIO_ALPHA


def normal_two_sided_p(z: float) -> float:
    """P(|Z| ≥ |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def chi2_1df_sf(x: float) -> float:
    """The chi-square survival function with one degree of freedom: P(X ≥ x) = P(|Z| ≥ √x)."""
    return math.erfc(math.sqrt(max(x, 0.0) / 2.0))


def wilson_interval(count: int, nobs: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion ``count / nobs`` (``nobs`` > 0)."""
    p = count / nobs
    z2 = z * z
    denominator = 1.0 + z2 / nobs
    centre = (p + z2 / (2 * nobs)) / denominator
    half = z * math.sqrt(p * (1 - p) / nobs + z2 / (4 * nobs * nobs)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(count1: int, nobs1: int, count2: int, nobs2: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval (his method 10) of ``count1/nobs1 - count2/nobs2``."""
    p1, p2 = count1 / nobs1, count2 / nobs2
    l1, u1 = wilson_interval(count1, nobs1, z)
    l2, u2 = wilson_interval(count2, nobs2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def two_proportion_p_value(count1: int, nobs1: int, count2: int, nobs2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test; 1.0 when the pooled rate is 0 or 1 (both rates
    equal, nothing varies)."""
    pooled = (count1 + count2) / (nobs1 + nobs2)
    variance = pooled * (1 - pooled) * (1 / nobs1 + 1 / nobs2)
    if variance <= 0.0:
        return 1.0
    return normal_two_sided_p((count1 / nobs1 - count2 / nobs2) / math.sqrt(variance))


def lift(converted_sent: int, users_sent: int, converted_control: int, users_control: int) -> Lift | None:
    """The lift of sent over control; None when either side has no users."""
    if users_sent <= 0 or users_control <= 0:
        return None
    low, high = newcombe_interval(converted_sent, users_sent, converted_control, users_control)
    rate_sent, rate_control = converted_sent / users_sent, converted_control / users_control
    return Lift(rate_sent, rate_control, rate_sent - rate_control, low, high,
                two_proportion_p_value(converted_sent, users_sent, converted_control, users_control),
                users_sent, users_control)


def sample_ratio(control: int, treated: int, expected_control: float) -> SampleRatio | None:
    """The chi-square check of ``control`` users out of ``control + treated`` against the share
    ``expected_control``; None without users or without a control group (share 0 or 1)."""
    n = control + treated
    if n <= 0 or not 0.0 < expected_control < 1.0:
        return None
    expected = (n * expected_control, n * (1 - expected_control))
    chi2 = sum((observed - e) ** 2 / e for observed, e in zip((control, treated), expected, strict=True))
    return SampleRatio(expected_control, control / n, chi2_1df_sf(chi2), n)
