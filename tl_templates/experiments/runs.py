"""Helpers for running the same training many times: seeds, strategies, sizes.

The notebooks compare strategies over several seeds. Compiling a Keras model
costs seconds (its training step is traced into a graph), so an experiment
compiles each model once and `restart`s it for every run: weights back to a
starting point, optimizer state cleared, the random layers' (dropout's) draws
back to where they started, a new learning rate if wanted. That trains exactly
like a freshly built and compiled model built under the same seed (tested bit
for bit in tests/test_experiments.py).
"""

import math
import time

import keras
import numpy as np
import tensorflow as tf

from tl_templates.backbones.blocks import walk_layers
from tl_templates.training import acceleration


def build_classifier(backbone, num_classes, dropout_rate=0.2, name="classifier"):
    """A backbone with a new head: global average pooling, dropout, softmax.

    The last layer computes in float32 even under a mixed-precision policy,
    so the softmax and the loss stay numerically safe.

    Args:
        backbone: keras.Model. From `tl_templates.build_backbone` (possibly truncated).
        num_classes: int. Size of the new output layer.
        dropout_rate: float. Dropout before the output layer (0 for none).
        name: str. The model's name.

    Returns:
        A `keras.Model`: input -> backbone -> head layers, in sequence.

    Examples:

    >>> import tl_templates
    >>> from tl_templates.experiments import runs as experiments
    >>> backbone = tl_templates.build_backbone("lab_glyphs", weights=None)
    >>> model = experiments.build_classifier(backbone, num_classes=10)
    >>> model.output.shape, model.layers[-1].dtype_policy.compute_dtype
    ((None, 10), 'float32')
    """
    inputs = keras.Input(backbone.inputs[0].shape[1:], name="image")
    features = keras.layers.GlobalAveragePooling2D(name="pool")(backbone(inputs))
    if dropout_rate:
        features = keras.layers.Dropout(dropout_rate, name="dropout")(features)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", dtype="float32", name="predictions"
    )(features)
    return keras.Model(inputs, outputs, name=name)


def set_batch_norm_momentum(model, momentum):
    """Sets the momentum of every BatchNormalization layer in `model` (nested ones too).

    Keras' default, 0.99, makes the moving averages (used at inference) follow
    the training batches over hundreds of steps. A network trained from scratch
    for only tens of steps needs a lower value such as 0.8, or it is evaluated
    with statistics that never caught up. Set it before compiling.

    Returns:
        int. How many layers were changed.
    """
    changed = 0
    for layer in walk_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
            changed += 1
    return changed


def initial_weights(build_model, seed):
    """The weights `build_model()` starts with under `seed` (for `restart`).

    Args:
        build_model: callable. Builds a fresh model (not compiled).
        seed: int. Seeds Python, NumPy and Keras before building.

    Returns:
        A list of NumPy arrays, as `model.get_weights()`.
    """
    keras.utils.set_random_seed(seed)
    return build_model().get_weights()


def restart(model, weights=None, learning_rate=None):
    """Resets a compiled model for a new run, without compiling it again.

    Sets `weights` (if given), clears the optimizer's state (step count,
    Adam's moments), rewinds the random layers (dropout, random augmentation)
    to their first draw, and optionally sets a new learning rate. Under mixed
    precision the loss scale is kept. For a part of a model (from
    `tl_templates.training.caching.split_at_block`), set the whole model's weights and
    then `restart(part)` to clear the part's optimizer.

    The model then trains exactly, bit for bit, like a freshly built and
    compiled one built under the same `keras.utils.set_random_seed` and given
    the same weights and batches: Keras' random layers draw from a
    `keras.random.SeedGenerator` whose counter moves at every training step,
    and `restart` sets every counter back to 0 (the seed itself is kept), so
    two runs of a restarted model see the same dropout masks, as two fresh
    models would. Random draws depend on the model it was built as, not on
    `weights`: the runs of a restarted model share their dropout masks.

    Args:
        model: keras.Model. Compiled.
        weights: list or None. From `model.get_weights()` or `initial_weights`.
        learning_rate: float or None. None keeps the current one.
    """
    if weights is not None:
        model.set_weights(weights)
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    for variable in optimizer.variables:
        if variable is not optimizer.learning_rate:
            variable.assign(keras.ops.zeros_like(variable))
    if learning_rate is not None:
        optimizer.learning_rate.assign(learning_rate)
    _rewind_seed_generators(model)


def _rewind_seed_generators(model):
    """Sets the counter of every seed generator of `model` (nested layers too) to 0.

    A generator's state is `[seed, counter]`; Keras' layers draw with
    `SeedGenerator.next()`, which adds 1 to the counter and keeps the seed.
    """
    for variable in model.variables:
        if variable.path.endswith("seed_generator_state"):
            state = keras.ops.convert_to_numpy(variable)
            variable.assign(np.array([state[0], 0], dtype=state.dtype))


def training_dataset(images, labels, batch_size, steps, seed=0):
    """`steps` full batches, in an order that depends on `seed` only.

    Every example is seen once per pass, in a new random order each pass
    (drawn with NumPy from `seed`, so two runs with the same seed see the same
    batches whatever else ran before). Full batches keep one traced training
    step for every run.
    """
    rng = np.random.default_rng(seed)
    passes = -(-steps * batch_size // len(labels))  # ceiling
    order = np.concatenate([rng.permutation(len(labels)) for _ in range(passes)])
    images, labels = tf.constant(np.asarray(images)), tf.constant(np.asarray(labels, "int32"))
    dataset = tf.data.Dataset.from_tensor_slices(order[: steps * batch_size])
    dataset = dataset.batch(batch_size).map(
        lambda index: (tf.cast(tf.gather(images, index), tf.float32), tf.gather(labels, index))
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


class CosineDecay(keras.callbacks.Callback):
    """Decays the optimizer's learning rate to zero along a cosine over one `fit`.

    The rate the optimizer holds when `fit` starts (from `compile` or
    `restart(learning_rate=...)`) is the peak; before step `i` of `total` the
    rate is `peak * (1 + cos(pi * i / total)) / 2`. When `fit` ends the peak is
    put back, so a restarted model decays from the same rate again. This is the
    schedule of the kit's training phases (`tl_templates.planning.budgets`), applied
    from outside the compiled training step, so `restart` can still set the rate.

    Args:
        total_steps: int. Steps of the whole `fit` call (all epochs).
    """

    def __init__(self, total_steps):
        super().__init__()
        self.total_steps = max(1, int(total_steps))

    def _rate(self):
        optimizer = self.model.optimizer
        return getattr(optimizer, "inner_optimizer", optimizer).learning_rate

    def on_train_begin(self, logs=None):
        self.peak = float(keras.ops.convert_to_numpy(self._rate()))
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        progress = min(self.step / self.total_steps, 1.0)
        self._rate().assign(self.peak * 0.5 * (1.0 + math.cos(math.pi * progress)))
        self.step += 1

    def on_train_end(self, logs=None):
        self._rate().assign(self.peak)


def fit_steps(
    model, images, labels, steps, batch_size=32, seed=0, epochs=1, validation=None, decay=None
):
    """Trains a compiled model for `epochs` x `steps` steps of `batch_size` examples.

    Counting steps rather than passes over the data gives every run the same
    amount of training whatever the size of its training set.

    Args:
        model: keras.Model. Compiled.
        images: array. Inputs (images, or features cached by `tl_templates.training.caching`).
        labels: array. Integer labels.
        steps: int. Steps per epoch.
        batch_size: int. Examples per step.
        seed: int. Shuffling seed.
        epochs: int. Epochs, each ending with a validation pass if `validation`.
        validation: tuple or None. `(inputs, labels)` scored after each epoch.
        decay: str or None. `"cosine"`: the learning rate decays from the
            optimizer's rate to zero along a cosine over the `epochs` x `steps`
            steps (`CosineDecay`), like every phase of the kit's templates.
            None: a constant rate.

    Returns:
        The Keras `History`.
    """
    if decay not in (None, "cosine"):
        raise ValueError(f'Unknown decay. Received: decay={decay!r}. Known: None, "cosine".')
    callbacks = [CosineDecay(steps * epochs)] if decay == "cosine" else []
    if validation is not None:
        validation = (np.asarray(validation[0], "float32"), np.asarray(validation[1], "int32"))
    return model.fit(
        training_dataset(images, labels, batch_size, steps * epochs, seed),
        steps_per_epoch=steps,
        epochs=epochs,
        validation_data=validation,
        validation_batch_size=256,
        shuffle=False,  # the dataset is already in a random order
        callbacks=callbacks,
        verbose=0,
    )


def predict(model, inputs, batch_size=256):
    """`model`'s outputs for `inputs`, batch by batch, in inference mode.

    Calls the model eagerly rather than through `model.predict`, which traces a
    new graph for each new input shape: with many small models and sets of
    different sizes, tracing would cost more than the predictions. A model
    with several outputs gives a list of arrays.
    """
    inputs = np.asarray(inputs, dtype="float32")
    batches = [
        model(inputs[start : start + batch_size], training=False)
        for start in range(0, len(inputs), batch_size)
    ]
    if isinstance(batches[0], (list, tuple)):
        return [np.concatenate([np.asarray(batch[i]) for batch in batches])
                for i in range(len(batches[0]))]  # fmt: skip
    return np.concatenate([np.asarray(batch) for batch in batches])


def accuracy(model, images, labels, batch_size=256):
    """Fraction of `images` whose most probable class is the label."""
    probabilities = predict(model, images, batch_size)
    return float(np.mean(np.argmax(probabilities, axis=-1) == np.asarray(labels)))


def use_mixed_precision():
    """Turns on mixed precision (16-bit compute, float32 weights) on a GPU or TPU.

    About twice as fast on Colab's GPUs, no gain on a CPU (left off there).
    Models built afterwards follow the policy; `build_classifier` keeps its
    output float32. See `tl_templates.set_precision`.

    Returns:
        bool. Whether mixed precision is now on.
    """
    if acceleration.accelerator() == "cpu":
        return False
    return acceleration.set_precision("auto") != "float32"


class Stopwatch:
    """Seconds spent inside `with stopwatch:` blocks, added up.

    Examples:

    >>> from tl_templates.experiments import runs as experiments
    >>> stopwatch = experiments.Stopwatch()
    >>> with stopwatch:
    ...     pass
    >>> stopwatch.seconds >= 0
    True
    """

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds += time.perf_counter() - self._started


class RunTimer:
    """Wall-clock and CPU time since it was made, for the end of a notebook.

    CPU time counts the work of every thread of this process; unlike the wall
    clock, it hardly changes when other programs share the machine.
    """

    def __init__(self):
        self.wall_started = time.perf_counter()
        self.cpu_started = time.process_time()

    def report(self):
        wall = time.perf_counter() - self.wall_started
        cpu = time.process_time() - self.cpu_started
        return f"this run took {wall:.0f} s of wall-clock time and {cpu:.0f} s of CPU time"
