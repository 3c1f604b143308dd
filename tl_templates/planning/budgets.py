"""How long each training phase runs and how fast it learns: the kit's measured recipe.

**Steps, not only epochs.** On a small data set an epoch is a few optimizer
steps (80 images in batches of 32: 3 steps), so "10 epochs of fine-tuning" is
30 steps and moves nothing. A phase that trains backbone blocks therefore
runs at least `MIN_STEPS` steps (the head phase half of that): when its
epochs would give fewer, every epoch goes several times through the training
set (`passes_per_epoch`). The epoch count stays as set (it is how often the
run checks validation and commits a checkpoint); large data sets keep one
pass per epoch.

**Learning rates by backbone family** (`LEARNING_RATES`), each with where it
comes from. Every phase decays its rate to zero along a cosine.

**Augmentation where weights move.** `augment="auto"` augments the phases
that train backbone blocks (fine-tuning, training from scratch) and leaves
the head phase unaugmented, so it can train on cached backbone features.

This module imports no Keras or TensorFlow.
"""

import dataclasses
import math
import os

from tl_templates.backbones.registry import get_spec

# Minimum optimizer steps of the phases that train backbone blocks (fine-tuning,
# from scratch); the head phase, a linear layer on cached features, gets half.
# The budgets of data/lab_glyphs/measure_transfer.py, which reach the card's
# accuracies: 600 steps of 32 images, and 300 for the head.
MIN_STEPS = 600
# Replaces MIN_STEPS when set (an integer; 0: the epochs alone decide). The
# kit's own test suite sets it to 0 so that its tiny runs stay tiny.
MIN_STEPS_VARIABLE = "TL_TEMPLATES_MIN_STEPS"


def min_steps(phase, minimum=None):
    """The least number of optimizer steps of `phase`.

    Args:
        phase: str. `"feature_extraction"`, `"fine_tuning"` or `"scratch"`.
        minimum: int or None. For the phases that train blocks; None: the
            `TL_TEMPLATES_MIN_STEPS` environment variable, else `MIN_STEPS`.

    Examples:

    >>> from tl_templates.planning.budgets import min_steps
    >>> min_steps("fine_tuning", 600), min_steps("feature_extraction", 600)
    (600, 300)
    """
    if minimum is None:
        minimum = int(os.environ.get(MIN_STEPS_VARIABLE, MIN_STEPS))
    return minimum // 2 if phase == "feature_extraction" else minimum


@dataclasses.dataclass(frozen=True)
class LearningRates:
    """Adam learning rates of one backbone family, and their evidence.

    Attributes:
        head: float. The new head on the frozen backbone (phase 1).
        fine_tune: float. Pretrained blocks, BatchNormalization frozen (phase 2).
        truncated: float. The low blocks kept by `truncate_and_fine_tune`.
        scratch: float. Every block from random weights, BatchNormalization trained.
        evidence: str. Where the numbers come from.
    """

    head: float
    fine_tune: float
    truncated: float
    scratch: float
    evidence: str


LEARNING_RATES = {
    # Measured here: each lab network's measure_transfer.py picks the rates on
    # validation (3 seeds x 5/10/20 MNIST digits a class for lab_glyphs, x 5/10
    # clips a class for lab_speech); transfer.json records the picks.
    "lab": LearningRates(
        head=3e-3,  # measure_transfer's head rate (300 steps on cached features)
        fine_tune=3e-4,  # picked over 1e-4 in 7 of 9 image runs, 4 of 6 audio runs
        truncated=3e-4,
        scratch=3e-3,  # picked over 1e-3 in 6 of 9 image runs, 4 of 6 audio runs
        evidence="data/lab_glyphs/transfer.json and data/lab_speech/transfer.json "
        "(learning rates picked on validation), checked through the image template "
        "by benchmarks/template_vs_library.py (data/lab_glyphs/CARD.md)",
    ),
    # Not measurable offline (no ImageNet weights here): the Keras
    # transfer-learning guide's values (head 1e-3; whole network 1e-5 after
    # the head has converged, BatchNormalization in inference mode).
    "imagenet": LearningRates(
        head=1e-3,
        fine_tune=1e-5,
        truncated=1e-4,
        scratch=1e-3,
        evidence="the Keras transfer-learning guide (keras.io/guides/transfer_learning)",
    ),
}
# YAMNet (AudioSet) is a MobileNetV1: the recipe of the ImageNet CNNs.
LEARNING_RATES["audioset"] = dataclasses.replace(
    LEARNING_RATES["imagenet"],
    evidence="the Keras transfer-learning guide, as for the ImageNet CNNs",
)


def learning_rates(backbone):
    """The `LearningRates` of a registered backbone's family (`"imagenet"` when None)."""
    family = get_spec(backbone).family if backbone else "imagenet"
    return LEARNING_RATES[family]


@dataclasses.dataclass(frozen=True)
class PhaseBudget:
    """One training phase: which epochs, how many passes each, which rate.

    Attributes:
        name: str. `"feature_extraction"`, `"fine_tuning"` or `"scratch"`.
        first_epoch: int. 0-based, counted over the whole run.
        last_epoch: int. One past the phase's last epoch.
        passes_per_epoch: int. Times each epoch goes through the training set.
        learning_rate: float. Adam's first rate; it decays to zero on a cosine.
        augment: bool. Whether the training batches are augmented.
    """

    name: str
    first_epoch: int
    last_epoch: int
    passes_per_epoch: int
    learning_rate: float
    augment: bool

    @property
    def epochs(self):
        return self.last_epoch - self.first_epoch

    def describe(self, steps_per_pass):
        passes = f" of {self.passes_per_epoch} passes" if self.passes_per_epoch > 1 else ""
        steps = self.epochs * self.passes_per_epoch * steps_per_pass
        return (
            f"{self.name}: {self.epochs} epochs{passes} = {steps} steps, learning rate "
            f"{self.learning_rate:g} (cosine decay){', augmented' if self.augment else ''}"
        )


def passes_per_epoch(epochs, steps_per_pass, min_steps):
    """Passes through the data per epoch so that `epochs` epochs make `min_steps` steps.

    Examples:

    >>> from tl_templates.planning.budgets import passes_per_epoch
    >>> passes_per_epoch(10, steps_per_pass=3, min_steps=600)  # 80 images, batch 32
    20
    >>> passes_per_epoch(10, steps_per_pass=300, min_steps=600)  # 9,600 images
    1
    """
    return max(1, math.ceil(min_steps / (max(1, epochs) * max(1, steps_per_pass))))


def phase_budgets(
    plan, head_epochs, fine_tune_epochs, steps_per_pass, augment="auto", minimum_steps=None
):
    """The phases of a run of `plan`, each with its passes, learning rate and augmentation.

    Args:
        plan: tl_templates.Plan. Its strategy and learning rates.
        head_epochs: int. Phase 1 (the head on the frozen backbone).
        fine_tune_epochs: int. Phase 2; `train_from_scratch` runs
            `head_epochs + fine_tune_epochs` epochs in one phase.
        steps_per_pass: int. Batches in one pass through the training set.
        augment: bool or str. True: every phase; False: none; `"auto"`: the
            phases that train backbone blocks.
        minimum_steps: int or None. Steps at least of a phase that trains
            blocks (`min_steps`); None: `MIN_STEPS` or its environment variable.

    Returns:
        A list of `PhaseBudget`.

    Examples:

    >>> import tl_templates
    >>> from tl_templates.planning.budgets import phase_budgets
    >>> plan = tl_templates.plan_strategy("fine_tune_top", "lab_glyphs")
    >>> [(p.name, p.epochs, p.passes_per_epoch, p.augment)
    ...  for p in phase_budgets(plan, 30, 10, steps_per_pass=3, minimum_steps=600)]
    [('feature_extraction', 30, 4, False), ('fine_tuning', 10, 20, True)]
    """
    if augment not in (True, False, "auto"):
        raise ValueError(
            f'Unknown augment. Received: augment={augment!r}. Known: true, false, "auto".'
        )
    if plan.strategy == "train_from_scratch":
        named = [("scratch", 0, head_epochs + fine_tune_epochs, plan.head_learning_rate)]
    else:
        named = [("feature_extraction", 0, head_epochs, plan.head_learning_rate)]
        if plan.fine_tune_learning_rate is not None and fine_tune_epochs > 0:
            named.append(("fine_tuning", head_epochs, head_epochs + fine_tune_epochs,
                          plan.fine_tune_learning_rate))  # fmt: skip
    return [
        PhaseBudget(
            name=name,
            first_epoch=first,
            last_epoch=last,
            passes_per_epoch=passes_per_epoch(
                last - first, steps_per_pass, min_steps(name, minimum_steps)
            ),
            learning_rate=learning_rate,
            augment=augment is True or (augment == "auto" and name != "feature_extraction"),
        )
        for name, first, last, learning_rate in named
    ]
