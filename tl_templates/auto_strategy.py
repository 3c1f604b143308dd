"""`strategy = "auto"` that checks itself on your data.

The advisor's rule of thumb is the prior. On a small data set, where a run is
cheap (the head trains on cached features; the budget is a few hundred
steps), `auto` also trains the neighbouring strategies and compares them on
the validation split. The advisor's plan is kept unless a neighbour scores
higher by more than two standard errors of the advisor's validation accuracy
(on 10 validation images a single image is 10 points: noise, not evidence).
The comparison, the scores and the reason are printed and saved.

On a large data set (`advisor.LARGE_TARGET_MIN_EXAMPLES` training examples or
more) every candidate is a long run: `auto` keeps the advisor's plan alone.

This module imports no Keras or TensorFlow.
"""

import dataclasses
import math

from tl_templates.advisor import LARGE_TARGET_MIN_EXAMPLES, plan_strategy
from tl_templates.atomic import write_text_atomic

# The strategies tried next to the advisor's choice: one step more or less
# of the backbone trained.
NEIGHBOURS = {
    "feature_extraction": ("fine_tune_top",),
    "fine_tune_top": ("feature_extraction", "fine_tune_all"),
    "truncate_and_fine_tune": ("fine_tune_all",),
    "fine_tune_all": ("fine_tune_top",),
    "train_from_scratch": ("feature_extraction",),
}


@dataclasses.dataclass
class AutoChoice:
    """What `auto` compared and what it kept.

    Attributes:
        strategy: str. The strategy kept.
        prior: str. The advisor's strategy.
        scores: dict. `{strategy: best validation accuracy}`.
        validation_examples: int. The size of the validation split.
        reason: str. Why this strategy, in one sentence.
    """

    strategy: str
    prior: str
    scores: dict
    validation_examples: int
    reason: str

    def to_dict(self):
        return dataclasses.asdict(self)

    def describe(self):
        scores = ", ".join(f"{name} {score:.3f}" for name, score in self.scores.items())
        examples = self.validation_examples
        return f"auto compared on {examples} validation examples: {scores}.\n{self.reason}"


def auto_candidates(plan, train_examples, pretrained=True):
    """The advisor's `plan` first, then its neighbours when the data is small.

    `pretrained=False` (random weights: the plan trains from scratch) has no
    neighbours: every other strategy would freeze random blocks.

    Examples:

    >>> import tl_templates
    >>> plan = tl_templates.advise(target_examples=80, backbone="lab_glyphs")
    >>> [candidate.strategy for candidate in tl_templates.auto_candidates(plan, 80)]
    ['feature_extraction', 'fine_tune_top']
    >>> len(tl_templates.auto_candidates(plan, 50_000))
    1
    """
    if train_examples >= LARGE_TARGET_MIN_EXAMPLES or not pretrained:
        return [plan]
    neighbours = [
        plan_strategy(
            name,
            plan.backbone,
            reasons=[
                f'Tried by strategy "auto" next to the advisor\'s {plan.strategy}, to check the '
                "rule of thumb on your data (validation accuracy decides).",
            ],
        )  # fmt: skip
        for name in NEIGHBOURS.get(plan.strategy, ())
    ]
    # A frozen backbone turns every neighbour into feature extraction: no new candidate.
    return [plan, *(other for other in neighbours if other.strategy != plan.strategy)]


def pick_by_validation(prior, scores, validation_examples):
    """Keeps `prior` unless another strategy's validation accuracy is clearly higher.

    Args:
        prior: str. The advisor's strategy (a key of `scores`).
        scores: dict. `{strategy: best validation accuracy}`.
        validation_examples: int. Size of the validation split.

    Returns:
        An `AutoChoice`.

    Examples:

    >>> from tl_templates.auto_strategy import pick_by_validation
    >>> pick_by_validation("feature_extraction",
    ...                    {"feature_extraction": 0.9, "fine_tune_top": 1.0}, 10).strategy
    'feature_extraction'
    >>> pick_by_validation("feature_extraction",
    ...                    {"feature_extraction": 0.80, "fine_tune_top": 0.95}, 200).strategy
    'fine_tune_top'
    """
    # Two standard errors of the prior's accuracy (about a 95% test), kept away
    # from zero at 0 and 1.
    share = min(max(scores[prior], 1 / validation_examples), 1 - 1 / validation_examples)
    margin = 2 * math.sqrt(share * (1 - share) / validation_examples)
    best = max(scores, key=scores.get)
    if best != prior and scores[best] > scores[prior] + margin:
        reason = (
            f"Kept {best}: it beat the advisor's {prior} by {scores[best] - scores[prior]:.3f} "
            f"on validation, more than two standard errors ({margin:.3f})."
        )
        return AutoChoice(best, prior, dict(scores), validation_examples, reason)
    if best == prior:
        reason = f"Kept the advisor's {prior}: it scored best on validation."
    else:
        reason = (
            f"Kept the advisor's {prior}: {best} scored {scores[best] - scores[prior]:+.3f} on "
            f"validation, within two standard errors ({margin:.3f}), which is noise."
        )
    return AutoChoice(prior, prior, dict(scores), validation_examples, reason)


def best_validation_accuracy(phases):
    """The best validation accuracy over a run's phases (`train_classifier`'s results)."""
    return max(phase.best_val_accuracy for phase in phases)


def train_candidates(candidates, train_one, output_dir, validation_examples):
    """Trains each candidate plan and keeps one (`pick_by_validation`).

    Args:
        candidates: list. Plans, the advisor's first (`auto_candidates`).
        train_one: callable. `train_one(plan, folder)` builds and trains a
            model for `plan`, writing its run to `folder`; returns
            `(model, phases)` as `tl_templates.train_classifier` does.
        output_dir: Path. One candidate trains here; several train in
            `output_dir/candidates/<strategy>/`, and the kept one's
            `history.csv` is copied to `output_dir`.
        validation_examples: int. Size of the validation split.

    Returns:
        `(plan, model, phases, choice)`: the kept candidate, its trained model
        and phases, and the `AutoChoice` (None with a single candidate).
    """
    if len(candidates) == 1:
        return (candidates[0], *train_one(candidates[0], output_dir), None)
    trained = {}
    for candidate in candidates:
        folder = output_dir / "candidates" / candidate.strategy
        trained[candidate.strategy] = (candidate, *train_one(candidate, folder))
    scores = {name: best_validation_accuracy(phases) for name, (_, _, phases) in trained.items()}
    choice = pick_by_validation(candidates[0].strategy, scores, validation_examples)
    # The kept run's history is the project's history.
    history = output_dir / "candidates" / choice.strategy / "history.csv"
    write_text_atomic(output_dir / "history.csv", history.read_text())
    return (*trained[choice.strategy], choice)
