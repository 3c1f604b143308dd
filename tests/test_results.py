"""Tables of repeated runs and verdicts computed from them."""

import pytest

from tl_templates.results import Results, compare, format_spread


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


def test_a_real_win_is_reported_as_predicted():
    results = grid()
    verdict = compare("fine-tuning", results.values("accuracy", strategy="fine_tune", size="small"),
                      "feature extraction",
                      results.values("accuracy", strategy="feature_extraction", size="small"))
    assert verdict.real and verdict.outcome == "higher" and verdict.as_predicted
    assert verdict.sentence().startswith("fine-tuning beat feature extraction by 12.0 points")
    assert verdict.sentence().endswith("as the rule predicts.")


def test_a_loss_and_a_tie_are_not_dressed_up():
    lost = compare("a", [0.5, 0.52, 0.51], "b", [0.7, 0.71, 0.69])
    assert lost.outcome == "lower" and not lost.as_predicted
    assert "did not hold in this run" in lost.sentence()
    tie = compare("a", [0.5, 0.6, 0.7], "b", [0.55, 0.65, 0.62])
    assert tie.outcome == "similar" and "within the noise" in tie.sentence()
    assert compare("a", [0.5, 0.6], "b", [0.55, 0.65], rule="similar").as_predicted


def test_pairing_removes_the_noise_the_pair_shares():
    a, b = [0.60, 0.80, 0.70], [0.58, 0.78, 0.68]  # seeds vary a lot; A always 2 points up
    assert not compare("a", a, "b", b).real
    paired = compare("a", a, "b", b, paired=True)
    assert paired.real and paired.difference == pytest.approx(2.0)
    assert "3 paired runs" in paired.sentence()


def test_bad_comparisons_are_refused():
    with pytest.raises(ValueError, match="rule='better'"):
        compare("a", [1.0], "b", [0.0], rule="better")
    with pytest.raises(ValueError, match="No scores to compare for 'b'"):
        compare("a", [1.0], "b", [])
    with pytest.raises(ValueError, match="as many scores"):
        compare("a", [1.0, 0.5], "b", [0.0], paired=True)
