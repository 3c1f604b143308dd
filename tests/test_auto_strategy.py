"""strategy "auto": the advisor's plan checked against its neighbours on validation."""

import types

import numpy as np
import pytest

import tl_templates
from tl_templates.planning.advisor import LARGE_TARGET_MIN_EXAMPLES, advise, choose_plan
from tl_templates.planning.auto_strategy import (
    NEIGHBOURS,
    REFIT_MAX_TRAIN_EXAMPLES,
    AutoChoice,
    auto_candidates,
    pick_by_bootstrap,
    pick_by_validation,
    refit,
    should_refit,
    train_candidates,
)


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


def _accuracy(labels, probabilities):
    return float(np.mean((probabilities >= 0.5) == labels))


def _mean_error(labels, predictions):
    return float(np.mean(np.abs(predictions - labels)))


def _guesses(labels, wrong_every):
    """Probabilities that are right except on every `wrong_every`-th example."""
    wrong = np.arange(len(labels)) % wrong_every == 0
    return np.where(wrong, 1.0 - labels, labels).astype(float)


def test_bootstrap_keeps_the_prior_on_noise_and_takes_a_clear_win():
    labels = (np.arange(40) % 2).astype(float)
    measures = {"accuracy": (_accuracy, "higher")}
    # 1 example in 40 better: noise.
    close = {"feature_extraction": _guesses(labels, 8), "fine_tune_top": _guesses(labels, 10)}
    tie = pick_by_bootstrap("feature_extraction", close, labels, measures)
    assert tie.strategy == "feature_extraction" and "noise" in tie.reason
    assert tie.scores["fine_tune_top"]["accuracy"] > tie.scores["feature_extraction"]["accuracy"]
    # 10 of 40 wrong against none wrong: clear.
    clear = {"feature_extraction": _guesses(labels, 4), "fine_tune_top": labels.copy()}
    win = pick_by_bootstrap("feature_extraction", clear, labels, measures)
    assert win.strategy == "fine_tune_top" and "beat the advisor's feature_extraction" in win.reason
    assert win.scores == {"feature_extraction": {"accuracy": 0.75},
                          "fine_tune_top": {"accuracy": 1.0}}  # fmt: skip
    assert "fine_tune_top accuracy 1.000" in win.describe()
    # The same data gives the same choice: the resampling is seeded.
    assert pick_by_bootstrap("feature_extraction", close, labels, measures) == tie


def test_bootstrap_refuses_a_win_on_one_task_paid_for_by_another():
    rows = 60
    labels = {"gender": (np.arange(rows) % 2).astype(float), "age": np.linspace(10, 70, rows)}
    measures = {"gender_accuracy": (lambda y, p: _accuracy(y["gender"], p["gender"]), "higher"),
                "age_mae": (lambda y, p: _mean_error(y["age"], p["age"]), "lower")}  # fmt: skip
    prior = {"gender": _guesses(labels["gender"], 3), "age": labels["age"] + 5}
    better_gender_worse_age = {"gender": labels["gender"].copy(), "age": labels["age"] + 15}
    better_gender_same_age = {"gender": labels["gender"].copy(), "age": labels["age"] - 5}
    traded = pick_by_bootstrap(
        "fine_tune_top", {"fine_tune_top": prior, "fine_tune_all": better_gender_worse_age},
        labels, measures,
    )  # fmt: skip
    assert traded.strategy == "fine_tune_top"
    kept = pick_by_bootstrap(
        "fine_tune_top", {"fine_tune_top": prior, "fine_tune_all": better_gender_same_age},
        labels, measures,
    )  # fmt: skip
    assert kept.strategy == "fine_tune_all" and "gender_accuracy" in kept.reason
    assert "age_mae" not in kept.reason  # age was a tie, not a win
    with pytest.raises(ValueError, match="'higher' or 'lower'"):
        pick_by_bootstrap("a", {"a": prior}, labels, {"age_mae": (measures["age_mae"][0], "less")})


def test_train_candidates_asks_choose_with_every_trained_candidate(tmp_path):
    plan = advise(target_examples=80, backbone="lab_glyphs")
    candidates = auto_candidates(plan, 80)

    def train_one(candidate, folder):
        folder.mkdir(parents=True)
        (folder / "history.csv").write_text(f"epoch,{candidate.strategy}\n")
        return f"model of {candidate.strategy}", []

    seen = {}

    def choose(prior, trained):
        seen.update(trained)
        return AutoChoice(candidates[-1].strategy, prior, {}, 10, "test")

    kept, model, phases, choice = train_candidates(
        candidates, train_one, tmp_path, validation_examples=10, choose=choose
    )
    assert set(seen) == {candidate.strategy for candidate in candidates}
    assert kept is candidates[-1] and model == f"model of {kept.strategy}"
    assert (tmp_path / "history.csv").read_text() == f"epoch,{kept.strategy}\n"


def test_refit_is_for_small_data_unless_asked():
    assert should_refit("auto", REFIT_MAX_TRAIN_EXAMPLES - 1)
    assert not should_refit("auto", REFIT_MAX_TRAIN_EXAMPLES)
    assert should_refit(True, 10**6) and not should_refit(False, 10)
    with pytest.raises(ValueError, match='refit must be "auto", true or false'):
        should_refit("yes", 10)


def test_refit_trains_the_kept_plan_on_train_and_validation_keeping_the_last_epoch(tmp_path):
    plan = advise(target_examples=80, backbone="lab_glyphs")
    train = (np.zeros((8, 2)), np.arange(8))
    validation = (np.ones((2, 2)), np.array([8, 9]))
    calls = []

    def train_one(candidate, folder, train, restore_best=True):
        calls.append((candidate, folder, train, restore_best))
        phase = types.SimpleNamespace(name="feature_extraction", epochs=3, steps=300)
        return "refit model", [phase]

    model, summary = refit(plan, train_one, train, validation, tmp_path)
    [(candidate, folder, both, restore_best)] = calls
    assert candidate is plan and folder == tmp_path / "refit" and restore_best is False
    assert both[1].tolist() == list(range(10)) and both[0].shape == (10, 2)
    assert model == "refit model"
    assert summary == {"examples": 10,
                       "phases": [{"name": "feature_extraction", "epochs": 3, "steps": 300}]}
