"""The model: a pretrained backbone in named blocks, plus a new classification head."""

import keras

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


def build_model(config, plan, num_classes):
    """image -> backbone -> global average pooling -> dropout -> softmax."""
    # Training from scratch starts from random weights; every other plan reuses them.
    weights = None if plan.strategy == "train_from_scratch" else config.weights_argument
    image_shape = (config.image_size, config.image_size, 3)
    backbone = tl_templates.build_backbone(config.backbone, input_shape=image_shape, weights=weights)
    if plan.truncate_after:
        # Small data unlike the source task: keep only the low, generic blocks.
        backbone = tl_templates.truncate_backbone(backbone, plan.truncate_after)

    images = keras.Input(shape=image_shape, name="image")  # raw RGB pixels, 0-255
    features = backbone(images)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    pooled = keras.layers.Dropout(config.dropout_rate, name="dropout")(pooled)
    # The new last layer (W[L], b[L]), freshly initialised for your classes. It computes in
    # float32 even under mixed precision, so that the softmax and the loss stay accurate.
    probabilities = keras.layers.Dense(
        num_classes, activation="softmax", dtype="float32", name="classifier"
    )(pooled)
    return keras.Model(images, probabilities, name="{{ cookiecutter.module_name }}")
