"""The conversion statistics, checked against statsmodels and scipy (test-only dependencies) on a table of
cases, small samples and edge counts included."""

from __future__ import annotations

import ast
import math
import warnings
from pathlib import Path

import pytest
import scipy.stats as scipy_stats  # test-only, with statsmodels (the `test` extra)
import statsmodels.stats.proportion as statsmodels_proportion

from campaign_connector import stats

#: (converted sent, users sent, converted control, users control)
CASES = [
    (4, 14, 1, 2),          # the case: 28.6% vs 50.0% on 2 control users
    (0, 10, 0, 10),
    (10, 10, 0, 5),
    (1, 3, 2, 3),
    (0, 1, 1, 1),
    (7, 29, 3, 31),
    (56, 653, 4, 70),
    (120, 1000, 95, 1000),
    (500, 1000, 480, 1000),
    (3, 10_000, 1, 500),
    (9_999, 10_000, 490, 500),
    (250, 600, 0, 40),
]


@pytest.mark.parametrize(("c1", "n1", "c2", "n2"), CASES)
def test_newcombe_interval_matches_statsmodels(c1: int, n1: int, c2: int, n2: int) -> None:
    low, high = stats.newcombe_interval(c1, n1, c2, n2)
    expected = statsmodels_proportion.confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", compare="diff")
    assert low == pytest.approx(expected[0], abs=1e-10)
    assert high == pytest.approx(expected[1], abs=1e-10)


@pytest.mark.parametrize(("c1", "n1", "c2", "n2"), CASES)
def test_two_sided_p_value_matches_proportions_ztest(c1: int, n1: int, c2: int, n2: int) -> None:
    ours = stats.two_proportion_p_value(c1, n1, c2, n2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels divides 0 by 0 when nothing varies
        _, theirs = statsmodels_proportion.proportions_ztest([c1, c2], [n1, n2])
    if math.isnan(theirs):  # nothing varies (both rates 0 or both 1): we say 1.0, statsmodels nan
        assert ours == 1.0
        assert c1 / n1 == c2 / n2
    else:
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-15)


#: (control users, treated users, configured control share)
RATIO_CASES = [
    (2, 14, 0.10),
    (10, 90, 0.10),
    (0, 50, 0.10),
    (50, 50, 0.10),
    (140, 860, 0.20),
    (1, 0, 0.05),
    (5, 95, 0.05),
    (520, 9_480, 0.05),
]


@pytest.mark.parametrize(("control", "treated", "share"), RATIO_CASES)
def test_sample_ratio_matches_scipy_chisquare(control: int, treated: int, share: float) -> None:
    ours = stats.sample_ratio(control, treated, share)
    n = control + treated
    theirs = scipy_stats.chisquare([control, treated], [n * share, n * (1 - share)])
    assert ours is not None
    assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-9, abs=1e-300)
    assert ours.observed_control == control / n
    assert ours.expected_control == share


def test_lift_figures_and_small_sample_rule() -> None:
    result = stats.lift(4, 14, 1, 2)
    assert result is not None
    assert (result.rate_sent, result.rate_control) == (4 / 14, 0.5)
    assert result.difference == pytest.approx(4 / 14 - 0.5)
    assert result.ci95_low < result.difference < result.ci95_high
    assert result.too_small
    assert not stats.lift(30, 100, 3, 30).too_small  # type: ignore[union-attr]
    assert stats.lift(29, 100, 3, 29).too_small  # type: ignore[union-attr]


@pytest.mark.parametrize(("args", "expected"), [
    ((0, 0, 1, 10), None),   # nobody sent
    ((1, 10, 0, 0), None),   # no control users
])
def test_lift_is_none_without_users_on_a_side(args: tuple[int, int, int, int], expected: None) -> None:
    assert stats.lift(*args) is expected


@pytest.mark.parametrize(("control", "treated", "share"), [(0, 0, 0.1), (3, 7, 0.0), (3, 7, 1.0)])
def test_sample_ratio_is_none_without_users_or_a_split(control: int, treated: int, share: float) -> None:
    assert stats.sample_ratio(control, treated, share) is None


def test_sample_ratio_warns_below_one_in_a_thousand() -> None:
    assert stats.sample_ratio(50, 50, 0.10).mismatch  # type: ignore[union-attr]
    assert not stats.sample_ratio(10, 90, 0.10).mismatch  # type: ignore[union-attr]


def test_stats_module_needs_only_the_standard_library() -> None:
    tree = ast.parse(Path(stats.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "math", "dataclasses", "statistics"}
