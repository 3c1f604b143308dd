"""The rules of thumb of transfer learning, as a function that returns a plan.

Four cases, by the size of the target data set and its similarity to the
source task, plus the conditions under which transfer helps at all:

| target data | similar to source          | different from source          |
|-------------|----------------------------|--------------------------------|
| small       | feature_extraction         | truncate_and_fine_tune         |
| large       | fine_tune_top              | fine_tune_all                  |

The conditions compose in this order, and the plan's first reason names the
one that decided:

1. input type: a source network trained on another kind of input gives
   `train_from_scratch`, whatever the sizes;
2. source/target ratio, for a small target: transfer is worth it only when
   the source has far more data (10x); below that, `train_from_scratch`;
3. the four cases. A large target gets its case even when the source is not
   10x larger: it has enough data to train from scratch (named as a fair
   alternative), but initialising from the pretrained weights costs nothing
   and is the recommendation.
"""

import dataclasses
import math

from tl_templates.backbones.registry import INPUT_KINDS, get_spec
from tl_templates.planning.budgets import LEARNING_RATES, learning_rates

# A target with at least this many labelled examples is "large": enough to
# fine-tune millions of weights without memorising the training set.
LARGE_TARGET_MIN_EXAMPLES = 5_000

# Transfer pays when the source task has far more data than the target: at
# least this many times more (an order of magnitude). Below it, the target can
# teach the network as much as the source did, and training from scratch avoids
# the source task's biases.
MIN_SOURCE_TO_TARGET_RATIO = 10

# How many of the highest stages (blocks other than stem and top) train in
# `fine_tune_top`; the top block, if the backbone has one, trains with them.
FINE_TUNE_TOP_STAGES = 2

# `truncate_and_fine_tune` keeps this fraction of the stages (rounded up):
# the low blocks hold generic features (edges, colours, textures).
TRUNCATE_KEEP_FRACTION = 0.5

# Adam learning rates without a backbone (per backbone family, with their
# evidence: tl_templates.planning.budgets.LEARNING_RATES). The new head learns fast;
# pretrained blocks are only nudged, so a large step does not destroy what they
# learned; truncated networks keep only low, generic blocks and move a little more.
HEAD_LEARNING_RATE = LEARNING_RATES["imagenet"].head
FINE_TUNE_LEARNING_RATE = LEARNING_RATES["imagenet"].fine_tune
TRUNCATED_FINE_TUNE_LEARNING_RATE = LEARNING_RATES["imagenet"].truncated
SCRATCH_LEARNING_RATE = LEARNING_RATES["imagenet"].scratch

STRATEGIES = (
    "feature_extraction",
    "fine_tune_top",
    "truncate_and_fine_tune",
    "fine_tune_all",
    "train_from_scratch",
)
SIMILARITIES = ("similar", "different")


@dataclasses.dataclass
class Plan:
    """What to train, in which order, and why.

    Attributes:
        strategy: str. One of `tl_templates.planning.advisor.STRATEGIES`.
        head_learning_rate: float. Phase 1: new head on a frozen backbone.
            For `train_from_scratch`, the learning rate of the single phase.
        fine_tune_learning_rate: float or None. Phase 2, after recompiling
            with `trainable_blocks` unfrozen; None when there is no phase 2.
        trainable_blocks: list. Blocks that train in phase 2 (all blocks for
            `train_from_scratch`); empty without a backbone.
        truncate_after: str or None. Last block kept by `truncate_and_fine_tune`.
        backbone: str or None. The backbone the block names refer to.
        reasons: list. The rules of thumb behind the plan, in plain words.
    """

    strategy: str
    head_learning_rate: float
    fine_tune_learning_rate: float | None
    trainable_blocks: list
    truncate_after: str | None
    backbone: str | None
    reasons: list

    def to_dict(self):
        return dataclasses.asdict(self)

    def describe(self):
        """The plan as a few lines of text for people."""
        lines = [f"strategy: {self.strategy}"]
        if self.truncate_after:
            lines.append(f"keep blocks up to: {self.truncate_after}")
        if self.strategy == "train_from_scratch":
            lines.append(f"train everything, learning rate {self.head_learning_rate:g}")
        else:
            lines.append(f"phase 1: train the new head, learning rate {self.head_learning_rate:g}")
        if self.fine_tune_learning_rate is not None:
            blocks = ", ".join(self.trainable_blocks) or "(the backbone's top blocks)"
            lines.append(
                f"phase 2: fine-tune {blocks}, learning rate {self.fine_tune_learning_rate:g}"
            )
        lines.extend(f"- {reason}" for reason in self.reasons)
        return "\n".join(lines)


def _stages(block_names):
    return [name for name in block_names if name not in ("stem", "top")]


def _check(target_examples, source_examples, similarity):
    if int(target_examples) < 1:
        raise ValueError(
            "target_examples must be a positive count. "
            f"Received: target_examples={target_examples}."
        )
    if source_examples is not None and int(source_examples) < 1:
        raise ValueError(
            f"source_examples must be a positive count or None. "
            f"Received: source_examples={source_examples}."
        )
    if similarity not in SIMILARITIES:
        raise ValueError(
            f"Unknown similarity. Received: similarity={similarity!r}. "
            f"Known values: {', '.join(SIMILARITIES)}."
        )


def advise(
    target_examples,
    source_examples=None,
    similarity="similar",
    same_input_type=True,
    backbone=None,
    input_kind=None,
):
    """Chooses a transfer strategy from the rules of thumb.

    Args:
        target_examples: int. Labelled examples of your task.
        source_examples: int or None. Examples the backbone was pretrained on;
            None: the registry's figure for `backbone` (ImageNet: 1,281,167),
            or unknown without a backbone.
        similarity: str. `"similar"` when your inputs and classes resemble the
            source task's (photos of objects for ImageNet), `"different"`
            otherwise (X-rays, spectrograms, satellite images).
        same_input_type: bool. False when the source network was trained on
            another kind of input (audio features for an image task).
        backbone: str or None. A registered backbone; the plan then names the
            blocks to train.
        input_kind: str or None. `"image"` or `"audio"`: the kind of input of
            your task. With a backbone of another kind (its registry row's
            `input_kind`), the input types differ, as with
            `same_input_type=False`.

    Returns:
        A `tl_templates.Plan`.

    Examples:

    >>> import tl_templates
    >>> tl_templates.advise(target_examples=60, input_kind="audio",
    ...                     backbone="lab_speech").strategy
    'feature_extraction'
    >>> tl_templates.advise(target_examples=60, input_kind="audio",
    ...                     backbone="efficientnetb0").strategy
    'train_from_scratch'
    >>> plan = tl_templates.advise(
    ...     target_examples=200, source_examples=1_281_167, similarity="similar",
    ...     backbone="efficientnetb0")
    >>> plan.strategy, plan.trainable_blocks
    ('feature_extraction', [])
    >>> tl_templates.advise(target_examples=20_000, similarity="different",
    ...                     backbone="resnet50").strategy
    'fine_tune_all'
    """
    _check(target_examples, source_examples, similarity)
    if input_kind is not None and input_kind not in INPUT_KINDS:
        raise ValueError(
            f"Unknown input kind. Received: input_kind={input_kind!r}. "
            f"Known kinds: {', '.join(INPUT_KINDS)}."
        )
    if source_examples is None and backbone is not None:
        source_examples = get_spec(backbone).source_examples
    if input_kind is not None and backbone is not None:
        same_input_type = same_input_type and get_spec(backbone).input_kind == input_kind
    large = target_examples >= LARGE_TARGET_MIN_EXAMPLES
    size = "large" if large else "small"
    size_reason = (
        f"{target_examples:,} target examples is {size} (large from {LARGE_TARGET_MIN_EXAMPLES:,})."
    )
    small_source = source_examples is not None and (
        source_examples < MIN_SOURCE_TO_TARGET_RATIO * target_examples
    )
    if not same_input_type:
        strategy = "train_from_scratch"
        reasons = [
            "Decided by the input type: the source network was trained on another kind of "
            "input; its low-level features do not fit yours, so transfer will not help."
        ]
    elif small_source and not large:
        strategy = "train_from_scratch"
        reasons = [
            f"Decided by the source/target ratio: the source task has {source_examples:,} "
            f"examples, less than {MIN_SOURCE_TO_TARGET_RATIO}x your {target_examples:,}. "
            "Transfer helps when the source has far more data than the target; here it will "
            "give little.",
            size_reason,
        ]
    else:
        strategy = _FOUR_CASES[(large, similarity)]
        reasons = [
            f"Decided by the four cases: {size} and {similarity}.",
            size_reason,
            _CASE_REASONS[strategy],
        ]
        if small_source:  # a large target: the ratio does not override its case
            reasons.append(_scratch_alternative(source_examples, target_examples))
    return plan_strategy(strategy, backbone, reasons)


def _scratch_alternative(source_examples, target_examples):
    """The reason that names training from scratch next to a large target's case."""
    return (
        f"The source task has {source_examples:,} examples, less than "
        f"{MIN_SOURCE_TO_TARGET_RATIO}x your {target_examples:,}: transfer will gain less than "
        "usual, and train_from_scratch is a fair alternative with this much data. Starting "
        "from the pretrained weights costs nothing and is rarely worse: it stays the advice."
    )


_FOUR_CASES = {
    (False, "similar"): "feature_extraction",
    (False, "different"): "truncate_and_fine_tune",
    (True, "similar"): "fine_tune_top",
    (True, "different"): "fine_tune_all",
}

_CASE_REASONS = {
    "feature_extraction": (
        "Small and similar: the backbone's features already fit your task and there is "
        "too little data to change millions of weights without overfitting. Freeze it "
        "and train only a new head (replace the last layer)."
    ),
    "truncate_and_fine_tune": (
        "Small and different: the high blocks learned features specific to the source "
        "task; the low blocks (edges, colours, textures) still help. Cut the high blocks "
        "and fine-tune the kept ones gently."
    ),
    "fine_tune_top": (
        "Large and similar: there is enough data to train from scratch, but it is still "
        "better to initialise from the pretrained weights and fine-tune the top blocks, "
        "which hold the task-specific features, with a small learning rate (or all blocks: "
        "fine_tune_all)."
    ),
    "fine_tune_all": (
        "Large and different: there is enough data to adapt every block; the pretrained "
        "weights are still a better start than random ones."
    ),
}

_TWO_PHASE_REASON = (
    "Train the new head first with the backbone frozen, then recompile and fine-tune "
    "with a much smaller learning rate; BatchNormalization stays in inference mode."
)


def plan_strategy(strategy, backbone=None, reasons=()):
    """The plan for a strategy chosen by name: blocks to train and learning rates.

    Args:
        strategy: str. One of `tl_templates.planning.advisor.STRATEGIES`.
        backbone: str or None. A registered backbone; the plan then names blocks.
        reasons: list. Why this strategy (`advise` fills it in).

    Returns:
        A `tl_templates.Plan`.

    Examples:

    >>> import tl_templates
    >>> tl_templates.plan_strategy("fine_tune_top", "resnet50").trainable_blocks
    ['block3', 'block4']
    """
    if strategy not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy. Received: strategy={strategy!r}. "
            f"Known strategies: {', '.join(STRATEGIES)}."
        )
    if backbone and get_spec(backbone).frozen and strategy != "feature_extraction":
        reasons = [
            *reasons,
            f"{get_spec(backbone).name} is a frozen SavedModel: its weights cannot train, so "
            f"only feature extraction applies instead of {strategy} (the native Keras "
            "version of the network can be fine-tuned or trained from scratch).",
        ]
        strategy = "feature_extraction"
    block_names = get_spec(backbone).block_names if backbone else []
    stages = _stages(block_names)
    rates = learning_rates(backbone)  # the backbone family's measured recipe
    plan = Plan(
        strategy=strategy,
        head_learning_rate=rates.head,
        fine_tune_learning_rate=rates.fine_tune,
        trainable_blocks=[],
        truncate_after=None,
        backbone=get_spec(backbone).name if backbone else None,
        reasons=list(reasons),
    )
    if strategy == "feature_extraction":
        plan.fine_tune_learning_rate = None
    elif strategy == "fine_tune_top":
        top = ["top"] if "top" in block_names else []
        plan.trainable_blocks = stages[-FINE_TUNE_TOP_STAGES:] + top
    elif strategy == "truncate_and_fine_tune":
        kept = stages[: max(1, math.ceil(len(stages) * TRUNCATE_KEEP_FRACTION))]
        plan.truncate_after = kept[-1] if kept else None
        plan.trainable_blocks = kept
        plan.fine_tune_learning_rate = rates.truncated
    elif strategy == "fine_tune_all":
        plan.trainable_blocks = list(block_names)
    else:
        plan.head_learning_rate = rates.scratch
        plan.fine_tune_learning_rate = None
        plan.trainable_blocks = list(block_names)
    if plan.fine_tune_learning_rate is not None and reasons:
        plan.reasons.append(_TWO_PHASE_REASON)
    return plan


def choose_plan(
    strategy,
    backbone,
    train_examples,
    similarity="similar",
    blocks=None,
    truncate_after="",
    head_learning_rate=None,
    fine_tune_learning_rate=None,
    input_kind=None,
    pretrained=True,
):
    """The plan of a generated project: its config's strategy, blocks and learning rates.

    Args:
        strategy: str. `"auto"` (the advisor decides from `train_examples`
            and `similarity`), `"custom"` (the blocks flagged true in
            `blocks`), or a name from `tl_templates.planning.advisor.STRATEGIES`.
        backbone: str. A registered backbone.
        train_examples: int. Training examples (for `"auto"`).
        similarity: str. `"similar"` or `"different"` (for `"auto"`).
        blocks: dict or None. `{block name: trains?}` (for `"custom"`).
        truncate_after: str. The last block kept, `""` for all (for `"custom"`).
        head_learning_rate: float or None. Replaces the plan's; None keeps it.
        fine_tune_learning_rate: float or None. Replaces the plan's when it
            has a fine-tuning phase; None keeps it.
        input_kind: str or None. `"audio"` for the advisor when the backbone
            takes sound; None: the backbone's own kind.
        pretrained: bool. False when the backbone starts from random weights
            (`weights = "none"`): whatever the strategy, the plan is then
            `train_from_scratch`, with its own learning rate and budget (a
            fine-tuning rate on random weights learns almost nothing).

    Returns:
        A `tl_templates.Plan`.

    Examples:

    >>> import tl_templates
    >>> plan = tl_templates.choose_plan("custom", "lab_glyphs", 100,
    ...                                 blocks={"block3": True, "block4": False})
    >>> plan.strategy, plan.trainable_blocks
    ('custom', ['block3'])
    """
    if not pretrained and strategy != "train_from_scratch":
        plan = plan_strategy("train_from_scratch", backbone, reasons=[
            f"weights = \"none\": random weights, so the {strategy} strategy becomes "
            "train_from_scratch, with its own learning rate, budget and augmentation "
            "(a fine-tuning learning rate on random weights learns almost nothing).",
        ])  # fmt: skip
    elif strategy == "auto":
        plan = advise(
            target_examples=train_examples, similarity=similarity, backbone=backbone,
            input_kind=input_kind,
        )  # fmt: skip
    elif strategy == "custom":
        plan = plan_strategy("fine_tune_all", backbone)
        plan.strategy = "custom"
        plan.trainable_blocks = [name for name, trains in (blocks or {}).items() if trains]
        plan.truncate_after = truncate_after or None
        plan.reasons = ["Your own choice of blocks: the [blocks] table of config.toml."]
    else:
        plan = plan_strategy(strategy, backbone)
    if head_learning_rate is not None:
        plan.head_learning_rate = head_learning_rate
    if fine_tune_learning_rate is not None and plan.fine_tune_learning_rate is not None:
        plan.fine_tune_learning_rate = fine_tune_learning_rate
    return plan
