"""Tables of repeated runs and verdicts computed from them."""

import math

import pytest

from tl_templates.experiments.results import (
    Results,
    check_verdicts,
    compare,
    critical_value,
    format_spread,
)


def grid():
    results = Results()
    for seed, (a, b) in enumerate([(0.90, 0.80), (0.92, 0.81), (0.94, 0.79)]):
        results.add(strategy="fine_tune", size="small", seed=seed, accuracy=a)
        results.add(strategy="feature_extraction", size="small", seed=seed, accuracy=b)
    results.add(strategy="fine_tune", size="large", seed=0, accuracy=0.97)
    return results


def test_table_shows_mean_and_spread_per_cell():
    table = grid().table("accuracy", rows="strategy", columns="size")
    lines = table.splitlines()
    assert lines[0].split() == ["strategy", "small", "large"]
    assert "92.0% ± 2.0%" in lines[2] and "97.0% ± 0.0%" in lines[2]
    assert lines[3].split()[-1] == "-"  # feature_extraction was not run on large


def test_rows_without_the_value_are_left_out():
    results = grid()
    results.add(strategy="no_seconds_here", accuracy=0.5)
    results.add(strategy="timed", seconds=1.5)
    table = results.table("seconds", rows="strategy", percent=False)
    assert "timed" in table and "fine_tune" not in table
    assert format_spread([]) == "-"


def test_critical_values_are_students_t():
    assert critical_value(2) == pytest.approx(4.303, abs=1e-3)
    assert critical_value(9) == pytest.approx(2.262, abs=1e-3)
    assert critical_value(10_000) == pytest.approx(1.960, abs=1e-3)


def test_a_real_win_is_reported_as_predicted():
    results = grid()
    verdict = compare(
        "fine-tuning",
        results.values("accuracy", strategy="fine_tune", size="small"),
        "feature extraction",
        results.values("accuracy", strategy="feature_extraction", size="small"),
    )
    assert verdict.real and verdict.outcome == "higher" and verdict.as_predicted
    assert verdict.sentence().startswith("fine-tuning beat feature extraction by 12.0 points")
    assert verdict.sentence().endswith("as the rule predicts.")


def paired_runs(mean, standard_error, runs):
    """Paired scores whose differences have exactly this mean and standard error (points)."""
    spread = standard_error * math.sqrt(runs) / 100
    centred = [i - (runs - 1) / 2 for i in range(runs)]
    sample_std = math.sqrt(sum(c * c for c in centred) / (runs - 1))
    offsets = [spread * c / sample_std for c in centred]
    other = [0.5 + 0.01 * i for i in range(runs)]
    return [b + mean / 100 + o for b, o in zip(other, offsets, strict=True)], other


def test_three_runs_need_students_t_not_two_standard_errors():
    # 2.5 standard errors: "real" under the old fixed 2-SE rule, pure noise passes it
    # 18% of the time with 3 runs; Student's t with 2 degrees of freedom asks for 4.3.
    a, b = paired_runs(mean=2.5, standard_error=1.0, runs=3)
    three = compare("a", a, "b", b, paired=True)
    assert three.standard_error == pytest.approx(1.0) and three.difference == pytest.approx(2.5)
    assert not three.real and three.outcome == "inconclusive"
    a, b = paired_runs(mean=2.5, standard_error=1.0, runs=10)
    ten = compare("a", a, "b", b, paired=True)  # t = 2.26 with 9 degrees of freedom
    assert ten.real and ten.outcome == "higher" and ten.as_predicted


def test_unpaired_runs_use_the_smaller_count():
    a, b = [0.60, 0.62, 0.64], [0.50, 0.51, 0.52, 0.50, 0.51, 0.52, 0.50, 0.51, 0.52, 0.51]
    comparison = compare("a", a, "b", b)
    assert comparison.degrees_of_freedom == 2
    assert comparison.half_width == pytest.approx(critical_value(2) * comparison.standard_error)
    assert "3 and 10 runs" in comparison.sentence()


def test_no_spread_or_one_run_is_too_few_runs():
    for a, b, paired in [
        ([0.9, 0.9, 0.9], [0.8, 0.8, 0.8], False),  # no spread: not "real"
        ([0.61, 0.82, 0.73], [0.51, 0.72, 0.63], True),  # identical gains: no spread
        ([0.9], [0.8], True),
        ([0.9], [0.8, 0.7, 0.75], False),
    ]:
        comparison = compare("a", a, "b", b, paired=paired)
        assert comparison.outcome == "too few runs" and not comparison.real
        assert not comparison.as_predicted
        assert "too few runs to judge" in comparison.sentence()
        assert "untested in this run" in comparison.sentence()


def test_a_loss_is_not_dressed_up():
    lost = compare("a", [0.5, 0.52, 0.51], "b", [0.7, 0.71, 0.69])
    assert lost.outcome == "lower" and not lost.as_predicted
    assert "did not hold in this run" in lost.sentence()


def test_wide_intervals_are_inconclusive_not_similar():
    wide = compare("a", [0.5, 0.6, 0.7], "b", [0.55, 0.65, 0.62], rule="similar")
    assert wide.outcome == "inconclusive" and not wide.real and not wide.as_predicted
    assert ": inconclusive (" in wide.sentence()
    assert "as the rule predicts" not in wide.sentence()
    assert "did not hold" not in wide.sentence()
    a, b = [0.800, 0.811, 0.805, 0.790, 0.802], [0.801, 0.809, 0.806, 0.792, 0.800]
    narrow = compare("a", a, "b", b, rule="similar", paired=True)
    assert narrow.outcome == "similar" and narrow.as_predicted
    assert narrow.sentence().endswith("any difference under 2.0 points, as the rule predicts.")
    expected_higher = compare("a", a, "b", b, paired=True)
    assert expected_higher.outcome == "similar"
    assert "the rule expects a to beat b; it did not hold" in expected_higher.sentence()
    # The smallest difference that matters is the caller's to set.
    assert compare(
        "a", [0.5, 0.6, 0.7], "b", [0.55, 0.65, 0.62], rule="similar", smallest_difference=50
    ).as_predicted


def test_pairing_removes_the_noise_the_pair_shares():
    a, b = [0.60, 0.80, 0.70], [0.58, 0.77, 0.67]  # seeds vary a lot; A always ~2.7 up
    assert not compare("a", a, "b", b).real
    paired = compare("a", a, "b", b, paired=True)
    assert paired.real and paired.difference == pytest.approx(2.667, abs=1e-3)
    assert "3 paired runs" in paired.sentence()


def test_bad_comparisons_are_refused():
    with pytest.raises(ValueError, match="rule='better'"):
        compare("a", [1.0], "b", [0.0], rule="better")
    with pytest.raises(ValueError, match="No scores to compare for 'b'"):
        compare("a", [1.0], "b", [])
    with pytest.raises(ValueError, match="as many scores"):
        compare("a", [1.0, 0.5], "b", [0.0], paired=True)


def errors(rule, shift=-1.0):
    """Mean absolute errors (years): A's are `shift` years off B's, paired."""
    other = [12.0, 11.5, 12.4, 11.8, 12.1]
    values = [b + shift + 0.1 * (i % 2) for i, b in enumerate(other)]
    return compare("shared", values, "age only", other, rule=rule, paired=True, scale=1,
                   unit="years", smallest_difference=1.0, higher_is_better=False)  # fmt: skip


def test_errors_are_never_said_to_beat():
    lower = errors(rule="lower")  # the shared model erred a year less, as the rule says
    assert lower.outcome == "lower" and lower.as_predicted
    assert lower.sentence().startswith("shared scored 1.0 years below age only (± ")
    assert lower.sentence().endswith(", as the rule predicts.")
    higher = errors(rule="lower", shift=1.0)
    assert higher.sentence().startswith("shared scored 1.0 years above age only")
    assert higher.sentence().endswith(
        ": the rule expects shared to score below age only; it did not hold in this run."
    )
    assert "beat" not in higher.sentence() + lower.sentence()


def test_every_sentence_reads_back_as_what_it_says():
    cases = [
        compare("a", [0.90, 0.92, 0.91], "b", [0.84, 0.85, 0.86]),  # higher
        compare("a", [0.5, 0.52, 0.51], "b", [0.7, 0.71, 0.69]),  # lower, did not hold
        compare("a", [0.5, 0.52, 0.51], "b", [0.7, 0.71, 0.69], rule="lower"),
        compare("a", [0.800, 0.811, 0.805, 0.790, 0.802],
                "b", [0.801, 0.809, 0.806, 0.792, 0.800], rule="similar", paired=True),
        compare("a", [0.800, 0.811, 0.805, 0.790, 0.802],
                "b", [0.801, 0.809, 0.806, 0.792, 0.800], paired=True),  # similar, not held
        compare("a", [0.5, 0.6, 0.7], "b", [0.55, 0.65, 0.62], rule="similar"),  # inconclusive
        compare("a", [0.9], "b", [0.8]),  # too few runs
        compare("age (x 0.3)", [3.1, 3.3, 3.2], "age (x 3)", [3.0, 3.2, 3.0],
                rule="lower", scale=1, unit="years", smallest_difference=0.5),
        errors(rule="lower"),  # an error: lower is better
        errors(rule="higher"),
        errors(rule="lower", shift=1.0),
        errors(rule="higher", shift=1.0),
        compare("cached", [1.1, 1.2, 1.0], "every step", [3.6, 3.8, 3.5], rule="lower",
                paired=True, scale=1, unit="CPU s"),  # a unit of two words
    ]  # fmt: skip
    for comparison in cases:
        assert check_verdicts("1. " + comparison.sentence() + " Then more text.") == []
    two = cases[0].sentence() + " And " + cases[1].sentence()
    assert check_verdicts(two) == []


def test_hand_edited_or_stale_verdicts_are_caught():
    real = compare("a", [0.90, 0.92, 0.91], "b", [0.84, 0.85, 0.86]).sentence()
    for edited in [
        # The old 2-standard-error rule called 2.5 standard errors over 3 runs real.
        "a beat b by 2.5 points (± 1.0, 3 paired runs), as the rule predicts.",
        real.replace("6.0 points", "1.0 points"),  # a number edited, the words kept
        real.replace(
            ", as the rule predicts.",
            ": the rule expects a to beat b; it did not hold in this run.",
        ),  # fmt: skip
        "a and b were within the noise of each other (+9.0 points ± 0.5, 10 paired runs), "
        "any difference under 2.0 points, as the rule predicts.",
        "a and b were within the noise of each other (+0.5 points ± 1.0, 3 paired runs), "
        "any difference under 2.0 points, as the rule predicts.",  # the interval is ±4.3
        "a against b: inconclusive (+0.1 points ± 0.1, 30 paired runs), too noisy to rule "
        "out a difference of 2.0 points; the rule expects a to beat b, untested in this run.",
        "a against b: too few runs to judge (+5.0 points ± 1.0, 5 paired runs); the rule "
        "expects a to beat b, untested in this run.",
        # The old wording of "similar", and a hand-written verdict next to its numbers.
        "a and b were within the noise of each other (+0.2 ± 0.3, 3 paired runs), as the "
        "rule predicts.",
        "DANN beat source-only by 11.2 points (± 1.4 standard error over 3 seeds), as the "
        "rule predicts.",
        # An error that fell, as the rule expects, called a failure of the rule.
        errors(rule="lower")
        .sentence()
        .replace(
            ", as the rule predicts.",
            ": the rule expects shared to score below age only; it did not hold in this run.",
        ),
    ]:
        assert check_verdicts(edited), edited


def test_rounding_of_the_printed_numbers_is_allowed_for():
    # 4.30 x 1.0 = 4.30: a printed 4.3 may be 4.34 (real) or 4.26 (not).
    said = "a beat b by 4.3 points (± 1.0, 3 paired runs), as the rule predicts."
    assert check_verdicts(said) == []
    assert check_verdicts("standard error 0.043: " + compare(
        "a", [0.5004, 0.5005, 0.5006], "b", [0.5, 0.5, 0.5], paired=True, rule="similar"
    ).sentence()) == []  # fmt: skip
