"""Tables of repeated runs and verdicts computed from them."""

import math

import pytest

from tl_templates.results import Results, compare, critical_value, format_spread


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
