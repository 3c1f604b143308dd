"""The Wilson interval of an accuracy, and how the templates print it."""

import numpy as np
import pytest

from tl_templates.evaluation.intervals import (
    accuracy_with_interval,
    describe_accuracy,
    wilson_interval,
)


@pytest.mark.parametrize(
    "correct, total, expected",
    # Published values (Newcombe 1998, Table I, method 3; Brown, Cai and DasGupta 2001).
    [
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],  # fmt: skip
)
def test_wilson_interval_matches_published_values(correct, total, expected):
    assert wilson_interval(correct, total) == pytest.approx(expected, abs=1e-4)


def test_the_interval_holds_its_coverage_where_the_normal_one_does_not():
    rng = np.random.default_rng(0)
    total, accuracy, trials = 20, 0.95, 4000
    correct = rng.binomial(total, accuracy, trials)
    covered = [
        low <= accuracy <= high for low, high in (wilson_interval(c, total) for c in correct)
    ]
    shares = correct / total
    half = 1.96 * np.sqrt(shares * (1 - shares) / total)
    normal = np.mean((shares - half <= accuracy) & (accuracy <= shares + half))
    assert np.mean(covered) > 0.92 > normal  # the textbook interval covers about 64% here


def test_more_examples_give_a_narrower_interval_inside_zero_and_one():
    widths = [np.subtract(*wilson_interval(0.9 * n, n)[::-1]) for n in (10, 100, 1000)]
    assert widths[0] > widths[1] > widths[2] > 0
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_the_interval_is_printed_below_a_thousand_examples_and_saved():
    assert (
        describe_accuracy(0.9, 20, "images") == "0.900 (95% CI 0.699-0.972) on 20 held-out images"
    )
    assert "CI" not in describe_accuracy(0.9, 1000)
    saved = accuracy_with_interval(0.9, 20)
    assert (saved["low"], saved["high"], saved["examples"]) == (0.699, 0.972, 20)
