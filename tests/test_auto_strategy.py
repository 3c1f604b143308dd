"""strategy "auto": the advisor's plan checked against its neighbours on validation."""

import pytest

import tl_templates
from tl_templates.advisor import LARGE_TARGET_MIN_EXAMPLES, advise, choose_plan
from tl_templates.auto_strategy import NEIGHBOURS, auto_candidates, pick_by_validation


@pytest.mark.parametrize("similarity", ["similar", "different"])
def test_small_data_tries_the_neighbours_after_the_advisors_plan(similarity):
    plan = advise(target_examples=80, similarity=similarity, backbone="lab_glyphs")
    candidates = auto_candidates(plan, 80)
    assert candidates[0] is plan
    assert [c.strategy for c in candidates[1:]] == list(NEIGHBOURS[plan.strategy])
    assert all("auto" in c.reasons[0] for c in candidates[1:])
    assert all(c.backbone == "lab_glyphs" for c in candidates)


def test_large_data_and_random_weights_keep_the_advisors_plan_alone():
    plan = advise(target_examples=LARGE_TARGET_MIN_EXAMPLES, backbone="lab_glyphs")
    assert auto_candidates(plan, LARGE_TARGET_MIN_EXAMPLES) == [plan]
    scratch = choose_plan("auto", "lab_glyphs", 80, pretrained=False)
    assert auto_candidates(scratch, 80, pretrained=False) == [scratch]


def test_a_frozen_backbone_has_no_other_candidate():
    plan = advise(target_examples=80, backbone="yamnet_hub")
    assert [c.strategy for c in auto_candidates(plan, 80)] == ["feature_extraction"]


def test_noise_keeps_the_advisors_plan_and_a_clear_win_replaces_it():
    tie = pick_by_validation("feature_extraction",
                             {"feature_extraction": 0.9, "fine_tune_top": 1.0}, 10)  # fmt: skip
    assert tie.strategy == "feature_extraction" and "within two standard errors" in tie.reason
    win = pick_by_validation("feature_extraction",
                             {"feature_extraction": 0.80, "fine_tune_top": 0.95}, 200)  # fmt: skip
    assert win.strategy == "fine_tune_top" and "beat the advisor's feature_extraction" in win.reason
    best = pick_by_validation("fine_tune_top", {"fine_tune_top": 0.9, "fine_tune_all": 0.8}, 50)
    assert best.strategy == "fine_tune_top" and "scored best" in best.reason
    # A perfect prior still has a margin: 1.0 against 1.0 is not a win.
    assert pick_by_validation("a", {"a": 1.0, "b": 1.0}, 10).strategy == "a"
    assert win.to_dict()["scores"] == {"feature_extraction": 0.80, "fine_tune_top": 0.95}
    assert "fine_tune_top 0.950" in win.describe()


@pytest.mark.parametrize("strategy", ["auto", "feature_extraction", "fine_tune_top", "custom"])
def test_random_weights_always_train_from_scratch_with_the_scratch_rate(strategy):
    plan = choose_plan(strategy, "lab_glyphs", 80, blocks={"block4": True}, pretrained=False)
    assert plan.strategy == "train_from_scratch"
    assert plan.fine_tune_learning_rate is None
    assert plan.head_learning_rate == tl_templates.plan_strategy(
        "train_from_scratch", "lab_glyphs").head_learning_rate  # fmt: skip
    assert plan.reasons[0].startswith('weights = "none"') and strategy in plan.reasons[0]
