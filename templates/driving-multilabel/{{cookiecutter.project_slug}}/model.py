"""The model: a pretrained backbone in named blocks, plus one sigmoid per label."""

import tl_templates


def choose_plan(config, train_examples):
    """What to train and with which learning rates (see README: the four cases).

    `weights = "none"` (random weights) always gives train_from_scratch, with
    its own learning rate and budget, whatever the strategy.
    """
    return tl_templates.choose_plan(
        config.strategy, config.backbone, train_examples, similarity=config.similarity,
        blocks=config.blocks, truncate_after=config.truncate_after,
        head_learning_rate=config.head_learning_rate,
        fine_tune_learning_rate=config.fine_tune_learning_rate,
        pretrained=config.weights_argument is not None,
    )  # fmt: skip


def build_head(config, label_names, train_labels):
    """One multi-label head named "labels": an independent sigmoid per label.

    Not a softmax: a scene can hold a car AND a pedestrian, so each label is its
    own yes/no question. Rare labels get a larger weight on their positives
    (negatives / positives, counted over the known training labels), so that
    "always absent" is not the easy answer.
    """
    weights = None
    if config.balance_positives:
        weights = tl_templates.positive_weights(train_labels, config.max_positive_weight)
    return tl_templates.TaskHead(
        "labels", "multilabel", units=len(label_names), label_names=tuple(label_names),
        hidden_units=config.head_hidden_units, positive_weights=weights,
    )  # fmt: skip


def build_model(config, plan, head):
    """image -> backbone -> average and max pooling -> dense -> one sigmoid per label."""
    # Training from scratch starts from random weights; every other plan reuses them.
    weights = None if plan.strategy == "train_from_scratch" else config.weights_argument
    image_shape = (config.image_size, config.image_size, 3)
    backbone = tl_templates.build_backbone(config.backbone, input_shape=image_shape, weights=weights)
    if plan.truncate_after:
        # Small data unlike the source task: keep only the low, generic blocks.
        backbone = tl_templates.truncate_backbone(backbone, plan.truncate_after)
    return tl_templates.build_multitask_model(
        backbone, [head], dropout_rate=config.dropout_rate, pooling=config.pooling,
        name="{{ cookiecutter.module_name }}",
    )  # fmt: skip
