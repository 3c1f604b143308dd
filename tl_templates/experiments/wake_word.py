"""Helpers for wake-word experiments: clips, splits by index, and a cached front end.

Notebook 06 compares feature extraction, fine-tuning and training from
scratch on a wake-word target, over several seeds and training-set sizes. To
fit in a minute on a CPU, every model part that does not train is run once
over all the clips and its outputs are kept; training sets and test sets are
then index arrays into those cached outputs:

- `load_wake_word_folder`: the bundled wake-word clips (or any class-per-folder
  WAV set) as one array;
- `load_tfds_wake_word`: TFDS `speech_commands` as "the wake word against
  everything else", for the full-size run on Colab;
- `split_per_class` (from `tl_templates.data.splits`) and `draw_per_class`: a
  test set and training sets of k clips per class, as indices;
- `split_front_end`: a waveform model cut after its weightless front end (the
  log-mel spectrogram), so a network trained from scratch can train on cached
  spectrograms.
"""

import keras
import numpy as np

from tl_templates.backbones.blocks import find_backbone, walk_layers
from tl_templates.data.audio_files import fit_to_length
from tl_templates.data.audio_folder import load_clips, scan_audio_folder
from tl_templates.data.splits import split_per_class  # noqa: F401  (notebook 06 calls it from here)


def load_wake_word_folder(root, samples):
    """Every clip of a class-per-folder WAV set, as one array.

    Args:
        root: str or Path. A folder with one sub-folder of WAV files per class
            (e.g. `data/samples/wake_word`).
        samples: int. Clip length at 16 kHz (cut or padded).

    Returns:
        `(clips, labels, class_names)`: float32 `(n, samples)`, int `(n,)`, list.

    Examples:

    >>> from tl_templates import paths
    >>> from tl_templates.experiments import wake_word as wake_word_experiments
    >>> clips, labels, names = wake_word_experiments.load_wake_word_folder(
    ...     paths.SAMPLES_DIR / "wake_word", 15600)
    >>> clips.shape, names
    ((54, 15600), ['background', 'marvin', 'other'])
    """
    folder = scan_audio_folder(root)
    return load_clips(folder.paths, samples), np.asarray(folder.labels), list(folder.class_names)


def load_tfds_wake_word(word, per_class, samples, name="speech_commands", split="train",
                        data_dir=None):  # fmt: skip
    """A TFDS keyword data set as two classes: the wake word, and every other label.

    Reads examples in the data set's order until it has `per_class` of each of
    the two classes ("other" mixes the other words, silence and unknown words).

    Args:
        word: str. The wake word, one of the data set's label names (`"yes"`).
        per_class: int. Clips kept per class (fewer if the split has fewer).
        samples: int. Clip length at 16 kHz (cut or padded).
        name: str. The TFDS name; its features `audio` (int16 at 16 kHz) and `label`.
        split: str. The TFDS split.
        data_dir: str or None. The TFDS data folder.

    Returns:
        `(clips, labels, class_names, description)`; class 1 is the wake word.

    Raises:
        ValueError: `word` is not a label of the data set, or a class has no clip.
    """
    import tensorflow_datasets as tfds

    dataset, info = tfds.load(
        name, split=split, data_dir=data_dir, with_info=True, shuffle_files=False
    )
    names = list(info.features["label"].names)
    if word not in names:
        raise ValueError(
            f"{word!r} is not a label of TFDS {name!r}. Received: word={word!r}. "
            f"Its labels: {', '.join(names)}."
        )
    wake = names.index(word)
    kept = {0: [], 1: []}
    for example in dataset.as_numpy_iterator():
        label = int(int(example["label"]) == wake)
        if len(kept[label]) < per_class:
            waveform = np.asarray(example["audio"], "float32").reshape(-1) / 32768.0
            kept[label].append(fit_to_length(waveform, samples))
        if all(len(clips) >= per_class for clips in kept.values()):
            break
    class_names = [f"not {word}", word]
    empty = [class_names[label] for label, clips in kept.items() if not clips]
    if empty:
        raise ValueError(f"TFDS {name!r} split {split!r} has no clip of {empty}.")
    clips = np.stack(kept[0] + kept[1]).astype("float32")
    labels = np.asarray([0] * len(kept[0]) + [1] * len(kept[1]))
    description = f"TFDS {name}, {split} split: {word!r} against every other label"
    return clips, labels, class_names, description


def draw_per_class(labels, pool, per_class, seed=0):
    """A training set of `per_class` clips of each class, drawn from `pool`.

    The draws are nested: with the same seed, the set for 10 per class holds
    the set for 5 per class, so a larger training set only adds clips.

    Args:
        labels: array. Integer labels of every clip.
        pool: array. Indices the training set may use.
        per_class: int. Clips per class.
        seed: int. The same seed draws the same clips.

    Returns:
        An int array of indices into `labels`, shuffled.

    Raises:
        ValueError: a class has fewer than `per_class` clips in the pool.
    """
    labels, pool = np.asarray(labels), np.asarray(pool)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = pool[labels[pool] == label]
        if len(members) < per_class:
            raise ValueError(
                f"Class {label} has {len(members)} clips in the pool. Received: "
                f"per_class={per_class}."
            )
        chosen.append(rng.permutation(members)[:per_class])
    return rng.permutation(np.concatenate(chosen))


def front_end_layers(backbone):
    """The layers at the start of `backbone` that have no weights (its front end).

    For the audio backbones, the log-mel spectrogram (and lab_speech's
    per-clip normalisation): they compute the same output at every epoch
    whatever trains, so their output can be cached even for a network
    trained from scratch.
    """
    layers = []
    for layer in backbone.layers[1:]:  # after the input
        if layer.weights:
            break
        layers.append(layer)
    return layers


def split_front_end(model):
    """Splits a waveform model after its weightless front end.

    Args:
        model: keras.Model. An audio backbone, or a classifier built as
            waveform -> backbone -> head layers (`experiments.build_classifier`).

    Returns:
        `(front_end, rest)`: `front_end` maps waveforms to spectrograms;
        `rest` maps those to `model`'s output, sharing `model`'s layers, so
        training `rest` trains `model`.

    Raises:
        ValueError: the backbone has no weightless front end.

    Examples:

    >>> import tl_templates
    >>> from tl_templates.experiments import runs as experiments
    >>> from tl_templates.experiments import wake_word as wake_word_experiments
    >>> model = experiments.build_classifier(
    ...     tl_templates.build_backbone("lab_speech", weights=None), 3)
    >>> front_end, rest = wake_word_experiments.split_front_end(model)
    >>> front_end.output.shape, rest.output.shape
    ((None, 96, 64, 1), (None, 3))
    """
    backbone = find_backbone(model)
    layers = front_end_layers(backbone)
    if not layers:
        raise ValueError(
            f"{backbone.name} starts with a layer that has weights ({backbone.layers[1].name}): "
            "it has no weightless front end to cache."
        )
    spectrogram = layers[-1].output
    front_end = keras.Model(backbone.inputs[0], spectrogram, name=f"{backbone.name}_front_end")
    inputs = keras.Input(spectrogram.shape[1:], name="spectrogram")
    outputs = keras.Model(spectrogram, backbone.output, name=f"{backbone.name}_network")(inputs)
    if model is not backbone:
        for layer in model.layers[model.layers.index(backbone) + 1 :]:
            outputs = layer(outputs)
    return front_end, keras.Model(inputs, outputs, name=f"{model.name}_on_spectrograms")


def recalibrate_batch_norm(model, inputs):
    """Sets every BatchNormalization layer's moving statistics to those of `inputs`.

    A network trained from scratch for only tens of steps ends with moving
    averages that trail weights which are still changing fast: in inference
    mode it can then predict one class for everything, although it fits its
    training batches. One forward pass in training mode with momentum 0
    replaces the moving averages with the statistics of `inputs` under the
    final weights ("precise BatchNorm"); no weight changes.

    Args:
        model: keras.Model. Its BatchNormalization layers (nested ones too).
        inputs: array. Training inputs, one batch (a few hundred at most).

    Returns:
        int. How many layers were recalibrated.
    """
    layers = [
        layer for layer in walk_layers(model) if isinstance(layer, keras.layers.BatchNormalization)
    ]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0  # moving average <- this batch's statistics
    try:
        model(np.asarray(inputs, "float32"), training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    return len(layers)
