"""Building blocks of the reconstruction: the report's rounding and the
integer assignment."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.surveys.milp import InfeasibleError, solve
from estimators.surveys.published import count_range, parse_printed, report_percent


@pytest.mark.parametrize(
    "n, base, decimals, printed",
    [
        (52, 55, 1, "94.6"),  # 94.545 -> 94.55 -> 94.6 (single rounding: 94.5)
        (50, 295, 1, "17.0"),  # 16.949 -> 16.95 -> 17.0
        (102, 435, 1, "23.5"),  # 23.448 -> 23.45 -> 23.5
        (3, 402, 1, "0.8"),
        (178, 698, 0, "26"),  # 25.501 -> 25.5 -> 26
        (19, 1000, 2, "1.90"),
    ],
)
def test_report_percent_double_rounding(n, base, decimals, printed):
    assert report_percent(n, base, decimals) == Decimal(printed)


def test_count_range():
    assert count_range(25, 698) == list(range(171, 178))
    assert count_range(45, 24) == []  # Kultur (R): no count of 24 prints as 45 %
    assert count_range(45, 20) == [9]


@pytest.mark.parametrize(
    "text, value, decimals",
    [
        ("29,7 %", "29.7", 1),
        ("46 prosent", "46", 0),
        ("nær 60 prosent", "60", 0),
        ("Åtte prosent", "8", 0),
        ("60,7 %**", "60.7", 1),
        ("1.90", "1.90", 2),
    ],
)
def test_parse_printed(text, value, decimals):
    assert parse_printed(text) == (Decimal(value), decimals)


def test_parse_printed_without_number():
    assert parse_printed("omtrent like viktig") is None


@settings(max_examples=25, deadline=None)
@given(st.integers(5, 40), st.integers(2, 4), st.integers(0, 2**31 - 1))
def test_assignment_meets_every_bound(n, k, seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)  # a feasible assignment exists
    groups = []
    for _ in range(4):
        mask = rng.random(n) < 0.6
        cats = sorted(set(rng.integers(0, k, 2).tolist()))
        count = int(np.isin(truth[mask], cats).sum())
        groups.append((mask, cats, max(count - 1, 0), count + 1))
    scores = rng.normal(size=(n, k))
    choice = solve("q", scores, groups, np.random.default_rng(seed))
    assert choice.shape == (n,) and set(choice) <= set(range(k))
    for mask, cats, lo, hi in groups:
        assert lo <= np.isin(choice[mask], cats).sum() <= hi


def test_assignment_is_deterministic_and_respects_forbidden_categories():
    scores = np.zeros((6, 2))
    scores[:3, 1] = -np.inf  # rows 0-2 may not take category 1
    groups = [(np.ones(6, bool), [1], 3, 3)]
    a = solve("q", scores, groups, np.random.default_rng(1))
    b = solve("q", scores, groups, np.random.default_rng(1))
    assert a.tolist() == b.tolist() == [0, 0, 0, 1, 1, 1]


def test_infeasible_counts_name_the_question():
    groups = [(np.ones(3, bool), [0], 4, 4)]
    with pytest.raises(InfeasibleError, match="trainee_now"):
        solve("trainee_now", np.zeros((3, 2)), groups, np.random.default_rng(0))
