"""The model: a pretrained audio backbone in named blocks, plus a new classification head."""

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
        fine_tune_learning_rate=config.fine_tune_learning_rate, input_kind="audio",
        pretrained=config.weights_argument is not None,
    )  # fmt: skip


def build_model(config, plan, num_classes):
    """waveform -> backbone (log-mel front end inside) -> pooling -> dropout -> softmax."""
    # Training from scratch starts from random weights; every other plan reuses them.
    weights = None if plan.strategy == "train_from_scratch" else config.weights_argument
    waveform_shape = (config.clip_samples,)
    backbone = tl_templates.build_backbone(config.backbone, input_shape=waveform_shape, weights=weights)
    if plan.truncate_after:
        # Small data unlike the source task: keep only the low, generic blocks.
        backbone = tl_templates.truncate_backbone(backbone, plan.truncate_after)

    waveform = keras.Input(shape=waveform_shape, name="waveform")  # 16 kHz mono, in [-1, 1]
    features = backbone(waveform)
    if len(features.shape) == 4:
        # A feature map (time, frequency, channels): average it into one vector.
        features = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    features = keras.layers.Dropout(config.dropout_rate, name="dropout")(features)
    # The new last layer (W[L], b[L]), freshly initialised for your classes. It computes in
    # float32 even under mixed precision, so that the softmax and the loss stay accurate.
    probabilities = keras.layers.Dense(
        num_classes, activation="softmax", dtype="float32", name="classifier"
    )(features)
    return keras.Model(waveform, probabilities, name="{{ cookiecutter.module_name }}")
