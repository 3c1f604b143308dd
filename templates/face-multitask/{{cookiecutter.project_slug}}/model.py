"""The model: a pretrained backbone in named blocks, shared by a gender head and an age head."""

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


def build_heads(config, train_ages):
    """One head per task in `config.tasks`.

    gender: one sigmoid, the probability of "female" (UTKFace: 0 male, 1 female).
    age: one number in years; the layer starts at the mean training age and moves
    in steps of its standard deviation, and the loss is measured in those steps,
    so that the age loss and the gender loss are of the same size.
    """
    heads = []
    if "gender" in config.tasks:
        heads.append(tl_templates.TaskHead(
            "gender", "binary", loss_weight=config.gender_loss_weight,
            hidden_units=config.head_hidden_units,
        ))  # fmt: skip
    if "age" in config.tasks:
        mean, spread = tl_templates.target_statistics(train_ages)
        heads.append(tl_templates.TaskHead(
            "age", "regression", loss_weight=config.age_loss_weight,
            hidden_units=config.head_hidden_units, target_mean=mean, target_std=spread,
        ))  # fmt: skip
    return heads


def build_model(config, plan, heads):
    """image -> backbone -> pooled shared features -> one head per task."""
    # Training from scratch starts from random weights; every other plan reuses them.
    weights = None if plan.strategy == "train_from_scratch" else config.weights_argument
    image_shape = (config.image_size, config.image_size, 3)
    backbone = tl_templates.build_backbone(config.backbone, input_shape=image_shape, weights=weights)
    if plan.truncate_after:
        # Small data unlike the source task: keep only the low, generic blocks.
        backbone = tl_templates.truncate_backbone(backbone, plan.truncate_after)
    return tl_templates.build_multitask_model(
        backbone, heads, dropout_rate=config.dropout_rate,
        uncertainty_weighting=config.loss_weighting == "uncertainty",
        name="{{ cookiecutter.module_name }}",
    )  # fmt: skip
