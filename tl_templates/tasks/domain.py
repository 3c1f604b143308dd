"""Domain adaptation by backpropagation (DANN, Ganin & Lempitsky 2015).

The same task, a shifted input distribution: labelled images from a source
domain (plain digits), unlabelled images from a target domain (digits on
photos). A feature extractor feeds two heads: the label classifier, trained
on source labels, and the domain classifier, which guesses the domain of each
image. Between the features and the domain classifier sits a gradient
reversal layer: identity going forward, gradient times -lambda going back.
The domain classifier learns to tell the domains apart while the features
learn to make that impossible, so the label classifier ends up working on
features that look the same in both domains.

Everything here works with plain `fit()`: target images carry the label -1,
which the masked label loss skips, and two callbacks run the paper's
schedules (lambda from 0 to 1, annealed learning rate).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from tl_templates.backbones.blocks import walk_layers

UNLABELLED = -1  # the label of target images in a DANN batch


@keras.saving.register_keras_serializable(package="tl_templates")
class GradientReversal(keras.layers.Layer):
    """Identity going forward; multiplies the gradient by `-strength` going back.

    The strength lives in a non-trainable variable, so a callback can change
    it during training (`GradientReversalSchedule`) without recompiling.

    Args:
        strength: float. lambda, the weight of the reversed gradient.
        **kwargs: forwarded to `keras.layers.Layer`.

    Examples:

    >>> import numpy as np
    >>> from tl_templates.tasks import domain
    >>> layer = domain.GradientReversal(strength=0.5)
    >>> layer(np.array([[1.0, -2.0]])).numpy().tolist()
    [[1.0, -2.0]]
    """

    def __init__(self, strength=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_strength = float(strength)
        self.strength = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_strength),
            trainable=False,
            name="strength",
        )

    def call(self, inputs):
        return _reverse_gradient(inputs, keras.ops.cast(self.strength, inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "strength": self.initial_strength}


@tf.custom_gradient
def _reverse_gradient(inputs, strength):
    def gradient(upstream):
        # d(output)/d(inputs) is -strength; the strength itself gets no gradient.
        return -strength * upstream, tf.zeros_like(strength)

    return tf.identity(inputs), gradient


def reversal_layers(model):
    """Every `GradientReversal` layer inside `model`, nested models included."""
    return [layer for layer in walk_layers(model) if isinstance(layer, GradientReversal)]


def ganin_strength(progress, gamma=10.0):
    """lambda(p) = 2 / (1 + exp(-gamma p)) - 1: 0 at the start, near 1 by the end."""
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


def ganin_learning_rate(progress, initial, alpha=10.0, beta=0.75):
    """lr(p) = lr0 / (1 + alpha p) ** beta: the paper's annealing."""
    return initial / (1.0 + alpha * progress) ** beta


class _ProgressCallback(keras.callbacks.Callback):
    """Counts training steps; `progress` runs from 0 to 1 over `total_steps`."""

    def __init__(self, total_steps):
        super().__init__()
        if total_steps < 1:
            raise ValueError(f"total_steps must be at least 1. Received: {total_steps}.")
        self.total_steps = int(total_steps)
        self.step = 0

    @property
    def progress(self):
        return min(1.0, self.step / self.total_steps)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1


class GradientReversalSchedule(_ProgressCallback):
    """Sets every gradient reversal layer's strength to `ganin_strength(p)`.

    `p` is the fraction of `total_steps` done (epochs x steps per epoch). The
    domain classifier's noisy early gradients are thus kept out of the
    features; the reversal reaches full strength as training goes on.

    Args:
        total_steps: int. The training steps of the whole run.
        gamma: float. How fast lambda rises (10 in the paper).
        max_strength: float. lambda at the end (1 in the paper).
    """

    def __init__(self, total_steps, gamma=10.0, max_strength=1.0):
        super().__init__(total_steps)
        self.gamma = gamma
        self.max_strength = max_strength

    def on_train_batch_begin(self, batch, logs=None):
        value = self.max_strength * ganin_strength(self.progress, self.gamma)
        for layer in reversal_layers(self.model):
            layer.strength.assign(value)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and reversal_layers(self.model):
            logs["grl_strength"] = float(reversal_layers(self.model)[0].strength.numpy())


class AnnealedLearningRate(_ProgressCallback):
    """Sets the optimizer's learning rate to `ganin_learning_rate(p)` each step.

    Give the source-only baseline the same callback, so the two differ only
    in the domain loss.

    Args:
        initial: float. lr0.
        total_steps: int. The training steps of the whole run.
        alpha: float. 10 in the paper.
        beta: float. 0.75 in the paper.
    """

    def __init__(self, initial, total_steps, alpha=10.0, beta=0.75):
        super().__init__(total_steps)
        self.initial = initial
        self.alpha = alpha
        self.beta = beta

    def on_train_batch_begin(self, batch, logs=None):
        value = ganin_learning_rate(self.progress, self.initial, self.alpha, self.beta)
        self.model.optimizer.learning_rate.assign(value)


def masked_sparse_categorical_crossentropy(y_true, y_pred):
    """Cross-entropy of the labelled examples; labels < 0 (target images) are skipped.

    Returns one value per example: zero for unlabelled ones, and each labelled
    one's share of the mean over labelled examples, so that the usual mean over
    the batch equals the mean over the labelled examples alone.
    """
    y_true = keras.ops.reshape(keras.ops.convert_to_tensor(y_true), (-1,))
    labelled = keras.ops.cast(y_true >= 0, y_pred.dtype)
    safe_labels = keras.ops.where(y_true >= 0, y_true, keras.ops.zeros_like(y_true))
    losses = keras.losses.sparse_categorical_crossentropy(safe_labels, y_pred)
    batch_size = keras.ops.cast(keras.ops.shape(labelled)[0], y_pred.dtype)
    return losses * labelled * batch_size / keras.ops.maximum(keras.ops.sum(labelled), 1.0)


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """`masked_sparse_categorical_crossentropy` as a Keras loss."""

    def __init__(self, name="masked_sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return masked_sparse_categorical_crossentropy(y_true, y_pred)


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedAccuracy(keras.metrics.Metric):
    """Accuracy over the labelled examples of each batch (labels < 0 skipped)."""

    def __init__(self, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        predicted = keras.ops.cast(keras.ops.argmax(y_pred, axis=-1), "int32")
        labelled = keras.ops.cast(y_true >= 0, "float32")
        hits = keras.ops.cast(predicted == y_true, "float32") * labelled
        self.correct.assign_add(keras.ops.sum(hits))
        self.count.assign_add(keras.ops.sum(labelled))

    def result(self):
        return self.correct / keras.ops.maximum(self.count, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)


def build_dann(
    backbone,
    num_classes,
    input_shape=None,
    weights="pretrained",
    feature_units=128,
    domain_units=(128, 128),
    dropout_rate=0.2,
    name="dann",
):
    """Feature extractor + label classifier + domain classifier behind a gradient reversal.

    Args:
        backbone: str or keras.Model. A registered backbone name (built with
            `tl_templates.build_backbone`) or a backbone model you built.
        num_classes: int. Classes of the task.
        input_shape: tuple or None. `(height, width, 3)` for a named backbone.
        weights: str or None. Passed to `build_backbone` for a named backbone.
        feature_units: int or None. Width of the dense feature layer after
            pooling (the features both heads see); None: the pooled features.
        domain_units: tuple. Hidden layer widths of the domain classifier.
        dropout_rate: float. Dropout before the label classifier.
        name: str. The model's name.

    Returns:
        A functional `keras.Model` from raw 0-255 RGB images to
        `{"label": class probabilities, "domain": P(target)}`. Its layers
        `features` and `gradient_reversal` are found by name.

    Examples:

    >>> from tl_templates.tasks import domain
    >>> model = domain.build_dann("lab_glyphs", 10, input_shape=(32, 32, 3), weights=None)
    >>> sorted(model.output), model.get_layer("gradient_reversal").strength.numpy().item()
    (['domain', 'label'], 0.0)
    """
    if isinstance(backbone, str):
        from tl_templates.backbones.build import build_backbone

        backbone = build_backbone(backbone, input_shape=input_shape, weights=weights)
    images = keras.Input(shape=backbone.input.shape[1:], name="image")
    x = backbone(images)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if feature_units:
        x = keras.layers.Dense(feature_units, activation="relu", name="features")(x)
    else:
        x = keras.layers.Identity(name="features")(x)
    features = x

    x = keras.layers.Dropout(dropout_rate, name="label_dropout")(features)
    label = keras.layers.Dense(num_classes, activation="softmax", name="label", dtype="float32")(x)

    x = GradientReversal(strength=0.0, name="gradient_reversal")(features)
    for index, units in enumerate(domain_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"domain_hidden{index}")(x)
    domain = keras.layers.Dense(1, activation="sigmoid", name="domain", dtype="float32")(x)
    return keras.Model(images, {"label": label, "domain": domain}, name=name)


def compile_dann(model, learning_rate=1e-3, domain_loss_weight=1.0, momentum=0.9):
    """Compiles a `build_dann` model: masked label loss + domain loss.

    SGD with momentum, as in the paper (its annealing is `AnnealedLearningRate`).
    `domain_loss_weight=0` turns the model into a source-only classifier
    trained on the very same batches.
    """
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
        loss={"label": MaskedSparseCategoricalCrossentropy(), "domain": "binary_crossentropy"},
        loss_weights={"label": 1.0, "domain": domain_loss_weight},
        metrics={"label": [MaskedAccuracy()], "domain": ["binary_accuracy"]},
    )
    return model


def classifier(model):
    """Image -> class probabilities: the label branch of a DANN model (shares weights)."""
    return keras.Model(model.input, model.output["label"], name=f"{model.name}_classifier")


def domain_classifier(model):
    """Image -> probability that it comes from the target domain: the domain branch."""
    return keras.Model(model.input, model.output["domain"], name=f"{model.name}_domain")


def feature_extractor(model):
    """Image -> the features both heads see (shares weights)."""
    return keras.Model(model.input, model.get_layer("features").output, name="features")


def dann_dataset(source_images, source_labels, target_images, batch_size=64, seed=0):
    """An endless `tf.data.Dataset` of DANN batches: half source, half target.

    Each batch holds `batch_size // 2` labelled source images and as many
    target images with label -1, with domain labels 0 (source) and 1 (target).
    Pass `steps_per_epoch` to `fit()`.

    Returns:
        Dataset of `(images, {"label": labels, "domain": domains})`.
    """
    half = batch_size // 2
    if half < 1:
        raise ValueError(f"batch_size must be at least 2. Received: batch_size={batch_size}.")
    source = tf.data.Dataset.from_tensor_slices(
        (source_images, np.asarray(source_labels, dtype=np.int64))
    )
    source = source.repeat().shuffle(len(source_labels), seed=seed).batch(half)
    target = tf.data.Dataset.from_tensor_slices(target_images)
    target = target.repeat().shuffle(len(target_images), seed=seed + 1).batch(half)

    def combine(source_batch, target_batch):
        images, labels = source_batch
        images = tf.concat([tf.cast(images, tf.float32), tf.cast(target_batch, tf.float32)], 0)
        count = tf.shape(target_batch)[0]
        labels = tf.concat([labels, tf.fill([count], tf.constant(UNLABELLED, tf.int64))], 0)
        domains = tf.concat([tf.zeros([half, 1]), tf.ones([count, 1])], 0)
        return images, {"label": labels, "domain": domains}

    dataset = tf.data.Dataset.zip((source, target)).map(combine)
    return dataset.prefetch(tf.data.AUTOTUNE)


def source_dataset(images, labels, batch_size=32, seed=0):
    """An endless `tf.data.Dataset` of labelled `(images, labels)` batches."""
    dataset = tf.data.Dataset.from_tensor_slices((images, np.asarray(labels, dtype=np.int64)))
    dataset = dataset.repeat().shuffle(len(labels), seed=seed).batch(batch_size)
    return dataset.map(lambda x, y: (tf.cast(x, tf.float32), y)).prefetch(tf.data.AUTOTUNE)


def domain_probe_accuracy(source_features, target_features, seed=0, steps=300):
    """How well a fresh linear classifier tells the domains apart from these features.

    A logistic regression (standardised features, L2 penalty, gradient descent)
    is fitted on half of the examples of each domain and scored on the other
    half: near 1.0, the domains are easy to tell apart; near 0.5 (chance),
    the features hide them. A fresh probe is a fairer judge than DANN's own
    domain head, which is trained against the features.

    Returns:
        float. Held-out domain accuracy on balanced domains.
    """
    rng = np.random.default_rng(seed)
    count = min(len(source_features), len(target_features))
    source = np.asarray(source_features, np.float64)[rng.permutation(len(source_features))[:count]]
    target = np.asarray(target_features, np.float64)[rng.permutation(len(target_features))[:count]]
    half = count // 2
    x_train = np.concatenate([source[:half], target[:half]])
    y_train = np.concatenate([np.zeros(half), np.ones(half)])
    x_test = np.concatenate([source[half:], target[half:]])
    y_test = np.concatenate([np.zeros(count - half), np.ones(count - half)])
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    weights, bias, penalty, step_size = np.zeros(x_train.shape[1]), 0.0, 1e-2, 0.5
    for _ in range(steps):
        error = 1.0 / (1.0 + np.exp(-(x_train @ weights + bias))) - y_train
        weights -= step_size * (x_train.T @ error / len(y_train) + penalty * weights)
        bias -= step_size * error.mean()
    return float(np.mean(((x_test @ weights + bias) > 0) == y_test))
