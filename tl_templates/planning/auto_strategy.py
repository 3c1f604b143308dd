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

import numpy as np

from tl_templates.planning.advisor import LARGE_TARGET_MIN_EXAMPLES, plan_strategy
from tl_templates.project.atomic import write_text_atomic

# Below this many training examples, `refit = "auto"` trains the chosen
# strategy once more on the training and validation examples together: at 5
# images a class, 1 held out for validation is a fifth of the data.
REFIT_MAX_TRAIN_EXAMPLES = 1000

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
        scores: dict. `{strategy: best validation accuracy}`, or with several
            measures (`pick_by_bootstrap`) `{strategy: {measure: value}}`.
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
        def values(score):
            if isinstance(score, dict):
                return " / ".join(f"{measure} {value:.3f}" for measure, value in score.items())
            return f"{score:.3f}"

        scores = ", ".join(f"{name} {values(score)}" for name, score in self.scores.items())
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

    >>> from tl_templates.planning.auto_strategy import pick_by_validation
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


def _rows(structure, rows):
    """`structure` (an array, or a dict of arrays) at `rows`."""
    if isinstance(structure, dict):
        return {name: np.asarray(values)[rows] for name, values in structure.items()}
    return np.asarray(structure)[rows]


def pick_by_bootstrap(prior, predictions, targets, measures, resamples=1000, seed=0):
    """Keeps `prior` unless another strategy is clearly better on validation.

    For models scored by measures other than one accuracy (a multi-task
    model's gender accuracy and age error, a multi-label model's mean AUC).
    The validation examples are resampled with replacement `resamples` times;
    each time, every measure of every candidate is computed on the same
    examples, so the noise they share cancels (a paired bootstrap). A
    candidate is clearly better than the prior on a measure when its
    improvement is above zero in 97.5% of the resamples (about a 95% test),
    clearly worse when it is below zero in 97.5%. The prior is kept unless a
    candidate is clearly better on one measure and clearly worse on none.

    Args:
        prior: str. The advisor's strategy (a key of `predictions`).
        predictions: dict. `{strategy: validation predictions}`, each an
            array or a dict of arrays with one row per validation example.
        targets: array or dict of arrays. The validation labels, same rows.
        measures: dict. `{name: (function, better)}`: `function(targets,
            predictions)` returns a float; `better` is `"higher"` or `"lower"`.
        resamples: int. Bootstrap resamples.
        seed: int. Seeds the resampling: the same data gives the same choice.

    Returns:
        An `AutoChoice` whose `scores` are `{strategy: {measure: value}}` on
        the whole validation split.

    Examples:

    >>> import numpy as np
    >>> from tl_templates.planning.auto_strategy import pick_by_bootstrap
    >>> truth = np.arange(200) % 2
    >>> accuracy = {"accuracy": (lambda y, p: float(np.mean((p > 0.5) == y)), "higher")}
    >>> guesses = {"feature_extraction": np.where(np.arange(200) % 4 == 0, 1 - truth, truth),
    ...            "fine_tune_top": truth.astype(float)}  # 75% against 100% right
    >>> pick_by_bootstrap("feature_extraction", guesses, truth, accuracy).strategy
    'fine_tune_top'
    """
    for name, (_, better) in measures.items():
        if better not in ("higher", "lower"):
            raise ValueError(f"Measure {name!r}: better must be 'higher' or 'lower'. "
                             f"Received: {better!r}.")  # fmt: skip
    count = len(next(iter(targets.values())) if isinstance(targets, dict) else targets)
    every_row = np.arange(count)
    scores = {
        strategy: {name: float(function(targets, outputs)) for name, (function, _) in measures.items()}
        for strategy, outputs in predictions.items()
    }  # fmt: skip
    generator = np.random.default_rng(seed)
    # gains[strategy][measure]: the improvement over the prior in each resample
    # (positive is better, whichever way the measure points).
    gains = {strategy: {name: [] for name in measures} for strategy in predictions if strategy != prior}
    for _ in range(resamples):
        rows = generator.choice(every_row, count, replace=True)
        sample_targets = _rows(targets, rows)
        values = {
            strategy: {name: function(sample_targets, _rows(outputs, rows))
                       for name, (function, _) in measures.items()}
            for strategy, outputs in predictions.items()
        }  # fmt: skip
        for strategy in gains:
            for name, (_, better) in measures.items():
                gain = values[strategy][name] - values[prior][name]
                gains[strategy][name].append(gain if better == "higher" else -gain)

    def verdicts(strategy):
        share_above = {name: np.mean(np.asarray(g) > 0) for name, g in gains[strategy].items()}
        share_below = {name: np.mean(np.asarray(g) < 0) for name, g in gains[strategy].items()}
        better = [name for name in measures if share_above[name] >= 0.975]
        worse = [name for name in measures if share_below[name] >= 0.975]
        return better, worse

    winners = {}
    for strategy in gains:
        better, worse = verdicts(strategy)
        if better and not worse:
            # Ranked by the mean improvement in units of its bootstrap spread.
            winners[strategy] = sum(
                np.mean(gains[strategy][name]) / max(np.std(gains[strategy][name]), 1e-12)
                for name in better
            )  # fmt: skip
    if winners:
        best = max(winners, key=winners.get)
        better, _ = verdicts(best)
        reason = (
            f"Kept {best}: it beat the advisor's {prior} on validation "
            f"({', '.join(better)}) in more than 97.5% of {resamples} bootstrap resamples of "
            f"the {count} validation examples, and was not clearly worse on any measure."
        )
        return AutoChoice(best, prior, scores, count, reason)
    reason = (
        f"Kept the advisor's {prior}: no other strategy was better on validation in 97.5% of "
        f"{resamples} bootstrap resamples of the {count} validation examples without being "
        "clearly worse on another measure (a smaller difference is noise)."
    )
    return AutoChoice(prior, prior, scores, count, reason)


def best_validation_accuracy(phases):
    """The best validation accuracy over a run's phases (`train_classifier`'s results)."""
    return max(phase.best_val_accuracy for phase in phases)


def train_candidates(candidates, train_one, output_dir, validation_examples, choose=None):
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
        choose: callable or None. `choose(prior, trained)` with `trained` =
            `{strategy: (plan, model, phases)}` returns an `AutoChoice`, e.g.
            by `pick_by_bootstrap` on each model's validation predictions.
            None: by best validation accuracy (`pick_by_validation`).

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
    prior = candidates[0].strategy
    if choose is None:
        scores = {name: best_validation_accuracy(phases) for name, (_, _, phases) in trained.items()}
        choice = pick_by_validation(prior, scores, validation_examples)
    else:
        choice = choose(prior, trained)
    # The kept run's history is the project's history.
    history = output_dir / "candidates" / choice.strategy / "history.csv"
    write_text_atomic(output_dir / "history.csv", history.read_text())
    return (*trained[choice.strategy], choice)


def should_refit(refit, train_examples):
    """Whether the final model trains again on train + validation.

    Args:
        refit: `"auto"`, True or False (config.toml's `refit`). `"auto"`:
            below `REFIT_MAX_TRAIN_EXAMPLES` training examples.
        train_examples: int. Size of the training split.

    Examples:

    >>> from tl_templates.planning.auto_strategy import should_refit
    >>> should_refit("auto", 40), should_refit("auto", 5000), should_refit(False, 40)
    (True, False, False)
    """
    if refit == "auto":
        return train_examples < REFIT_MAX_TRAIN_EXAMPLES
    if isinstance(refit, bool):
        return refit
    raise ValueError(f'refit must be "auto", true or false. Received: refit={refit!r}.')


def merge_splits(first, second):
    """Two `(inputs, labels)` splits as one, `first`'s examples first."""
    return tuple(np.concatenate([a, b]) for a, b in zip(first, second, strict=True))


def refit(plan, train_one, train, validation, output_dir):
    """Trains `plan` once more on the training and validation examples together.

    The budget is the chosen run's (the same epochs and minimum steps); the
    last epoch is kept, since with the validation examples in training there
    is nothing left to choose an epoch by. The run is written to
    `output_dir/refit/` and resumes like any other.

    Args:
        plan: `StrategyPlan`. The strategy kept (by `train_candidates`).
        train_one: callable. `train_one(plan, folder, train, restore_best)`
            builds and trains a model as in `train_candidates`, on `train`.
        train, validation: tuple. `(inputs, labels)` splits.
        output_dir: Path. The project's output folder.

    Returns:
        `(model, summary)`: the refit model, and `{"examples": n, "phases":
        [{"name", "epochs", "steps"}]}` for metrics.json.
    """
    both = merge_splits(train, validation)
    print(f"\nRefit: {plan.strategy} on train + validation ({len(both[1])} examples), last epoch kept")
    model, phases = train_one(plan, output_dir / "refit", both, restore_best=False)
    summary = [{"name": phase.name, "epochs": phase.epochs, "steps": phase.steps} for phase in phases]
    return model, {"examples": len(both[1]), "phases": summary}
