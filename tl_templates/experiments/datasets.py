"""Target data sets for experiments: small real ones offline, TFDS ones on Colab.

A `Target` is a classification task: a pool that training sets of any size are
drawn from (`target.sample(per_class, seed)`) and a fixed test set. The quick,
offline targets come from files that ship with the kit or its dependencies:

- `load_digits()`: 1,797 real handwritten digits (scikit-learn's copy of the UCI
  set), like the rendered characters lab_glyphs was pretrained on;
- `load_photo_patches()`: patches of materials (sky, water, trees, petals ...)
  cut from real photos, nothing like rendered characters;
- `load_sound_spectrograms()`: spectrograms of generated sounds: another kind
  of input altogether (audio), drawn as images.

`load_tfds_target()` loads the full-size data sets (cats_vs_dogs, tf_flowers,
eurosat/rgb, speech_commands ...) with TensorFlow Datasets; its tests run on
TFDS's own mock data, offline.
"""

import dataclasses

import numpy as np
from PIL import Image

from tl_templates.data.splits import split_per_class
from tl_templates.synthetic import sounds


@dataclasses.dataclass
class Target:
    """A classification task: a pool to draw training sets from, and a test set.

    Attributes:
        name: str. Short name, e.g. `"digits"`.
        class_names: list. Label `i` is `class_names[i]`.
        pool: tuple. `(uint8 images (n, size, size, 3), int labels (n,))`.
        test: tuple. The same, never used for training.
        description: str. One line for people.
        input_type: str. `"image"`, or `"audio"` for spectrograms of sounds.
    """

    name: str
    class_names: list
    pool: tuple
    test: tuple
    description: str = ""
    input_type: str = "image"

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def image_shape(self):
        return tuple(self.pool[0].shape[1:])

    def max_per_class(self):
        """Examples of the rarest class in the pool: the most `sample` can draw."""
        return int(np.bincount(self.pool[1], minlength=self.num_classes).min())

    def sample(self, per_class, seed=0):
        """A training set of `per_class` examples of every class, drawn from the pool.

        Args:
            per_class: int. Examples per class.
            seed: int. The same seed draws the same examples.

        Returns:
            `(images, labels)`, shuffled.

        Raises:
            ValueError: `per_class` is not positive or larger than the pool allows.
        """
        if not 1 <= per_class <= self.max_per_class():
            raise ValueError(
                f"Target {self.name!r} can give 1 to {self.max_per_class()} examples per "
                f"class. Received: per_class={per_class}."
            )
        rng = np.random.default_rng(seed)
        images, labels = self.pool
        chosen = np.concatenate(
            [
                rng.choice(np.flatnonzero(labels == label), per_class, replace=False)
                for label in range(self.num_classes)
            ]
        )
        chosen = rng.permutation(chosen)
        return images[chosen], labels[chosen]

    def describe(self):
        counts = f"pool {len(self.pool[1]):,}, test {len(self.test[1]):,}"
        return f"{self.name}: {self.num_classes} classes, {counts}. {self.description}"


def _split_per_class(images, labels, test_per_class, seed):
    """A fixed test set of `test_per_class` examples per class; the rest is the pool."""
    pool, test = split_per_class(labels, test_per_class, seed)
    return (images[pool], labels[pool]), (images[test], labels[test])


def _gray_to_rgb(gray):
    return np.repeat(gray[..., None], 3, axis=-1)


def load_digits(image_size=32, test_per_class=30, seed=0):
    """Real handwritten digits: scikit-learn's bundled 1,797 UCI scans (no download).

    Drawn as in `data/samples`: dark ink on white paper, upscaled from 8x8.

    Args:
        image_size: int. Side of the square RGB images.
        test_per_class: int. Digits of each class kept aside as the test set.
        seed: int. Which digits go to the test set.

    Returns:
        A `Target` with 10 classes and about 150 pool examples per class.

    Examples:

    >>> from tl_templates.experiments import datasets
    >>> digits = datasets.load_digits()
    >>> digits.num_classes, digits.image_shape, digits.max_per_class() >= 140
    (10, (32, 32, 3), True)
    """
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = np.stack(
        [
            np.asarray(
                Image.fromarray((255 - pixels * (255 / 16)).astype(np.uint8)).resize(
                    (image_size, image_size), Image.BILINEAR
                )
            )
            for pixels in digits.images
        ]
    )
    pool, test = _split_per_class(_gray_to_rgb(images), digits.target, test_per_class, seed)
    return Target(
        "digits", [str(digit) for digit in range(10)], pool, test,
        "Real handwritten digits (UCI, via scikit-learn): close to rendered characters.",
    )  # fmt: skip


def load_mnist_subset(path=None, image_size=32, test_per_class=30, seed=0):
    """Real MNIST digits from the kit's bundled subset (`data/targets/mnist_subset.npz`).

    Args:
        path: str, Path or None. An `.npz` with `images` (n, 28, 28) uint8, white ink
            on black, and `labels`; None: the bundled file.
        image_size: int. Side of the square RGB images.
        test_per_class: int. Digits of each class kept aside as the test set.
        seed: int. Which digits go to the test set.

    Returns:
        A `Target` with 10 classes.
    """
    from tl_templates.paths import DATA_DIR, require

    path = require(path or DATA_DIR / "targets" / "mnist_subset.npz")
    with np.load(path) as archive:
        gray, labels = archive["images"], archive["labels"].astype(int)
    images = np.stack(
        [np.asarray(Image.fromarray(digit).resize((image_size, image_size), Image.BILINEAR))
         for digit in gray]
    )  # fmt: skip
    pool, test = _split_per_class(_gray_to_rgb(images), labels, test_per_class, seed)
    return Target(
        "mnist", [str(digit) for digit in range(10)], pool, test,
        "Real handwritten MNIST digits (LeCun et al.): close to rendered characters.",
    )  # fmt: skip


# Material classes cut from scikit-learn's two sample photos (CC BY 2.0,
# danielbuechele and vultilion on Flickr): (photo, (left, top, right, bottom)).
PHOTO_REGIONS = {
    "sky": [("china", (350, 10, 630, 140))],
    "water": [("china", (350, 242, 540, 302))],
    "trees": [("china", (560, 150, 640, 300)), ("china", (380, 330, 640, 427)),
              ("china", (0, 330, 200, 427))],
    "roof_tiles": [("china", (110, 65, 300, 105))],
    "red_lattice": [("china", (100, 185, 320, 228))],
    "distant_shore": [("china", (330, 200, 545, 234))],
    "petals": [("flower", (200, 105, 420, 165)), ("flower", (200, 255, 420, 330))],
    "flower_heart": [("flower", (268, 163, 362, 252))],
    "blurred_leaves": [("flower", (0, 40, 160, 300))],
    "dark_background": [("flower", (460, 120, 640, 360)), ("flower", (150, 0, 450, 80))],
}  # fmt: skip
_TRAIN_FRACTION = 0.6  # of each region, along its longer side; the rest gives test patches


def _region_part(box, part):
    """The training (first 60%) or test (last 40%) part of a box, split along its
    longer side, so that no test pixel was ever in a training patch."""
    left, top, right, bottom = box
    if right - left >= bottom - top:
        cut = left + int((right - left) * _TRAIN_FRACTION)
        return (left, top, cut, bottom) if part == "train" else (cut, top, right, bottom)
    cut = top + int((bottom - top) * _TRAIN_FRACTION)
    return (left, top, right, cut) if part == "train" else (left, cut, right, bottom)


def _patches(photos, boxes, count, image_size, rng):
    areas = np.array([(box[2] - box[0]) * (box[3] - box[1]) for _, box in boxes], dtype=float)
    patches = []
    for box_index in rng.choice(len(boxes), count, p=areas / areas.sum()):
        photo, (left, top, right, bottom) = boxes[box_index]
        side = int(min(rng.integers(24, 41), right - left, bottom - top))
        x = int(rng.integers(left, right - side + 1))
        y = int(rng.integers(top, bottom - side + 1))
        patch = Image.fromarray(photos[photo][y : y + side, x : x + side])
        patch = patch.resize((image_size, image_size), Image.BILINEAR)
        if rng.random() < 0.5:
            patch = patch.transpose(Image.FLIP_LEFT_RIGHT)
        patches.append(np.asarray(patch))
    return np.stack(patches)


def load_photo_patches(image_size=32, pool_per_class=150, test_per_class=30, seed=0):
    """Patches of 10 materials in real photos: unlike rendered characters.

    Random square crops (24-40 pixels, resized, flipped) of regions of
    scikit-learn's two sample photos (a pagoda by a lake, a dahlia): sky,
    water, trees, roof tiles, red lattice, distant shore, petals, flower heart,
    blurred leaves, dark background. Pool patches come from one part of each
    region and test patches from the other part.

    Args:
        image_size: int. Side of the square RGB patches.
        pool_per_class: int. Pool patches per class.
        test_per_class: int. Test patches per class.
        seed: int. Which crops.

    Returns:
        A `Target` with 10 classes.

    Examples:

    >>> from tl_templates.experiments import datasets
    >>> patches = datasets.load_photo_patches(pool_per_class=4, test_per_class=2)
    >>> patches.class_names[:3], patches.pool[0].shape, patches.test[0].shape
    (['sky', 'water', 'trees'], (40, 32, 32, 3), (20, 32, 32, 3))
    """
    from sklearn.datasets import load_sample_images

    sample = load_sample_images()
    photos = {
        name.rsplit("/", 1)[-1].split(".")[0]: image
        for name, image in zip(sample.filenames, sample.images, strict=True)
    }
    rng = np.random.default_rng(seed)
    splits = {}
    for part, count in (("train", pool_per_class), ("test", test_per_class)):
        images = [
            _patches(photos, [(photo, _region_part(box, part)) for photo, box in boxes],
                     count, image_size, rng)
            for boxes in PHOTO_REGIONS.values()
        ]  # fmt: skip
        labels = np.repeat(np.arange(len(PHOTO_REGIONS)), count)
        splits[part] = (np.concatenate(images), labels)
    return Target(
        "photo_patches", list(PHOTO_REGIONS), splits["train"], splits["test"],
        "Materials in real photos (sky, water, trees, petals ...): unlike characters.",
    )  # fmt: skip


def load_sound_spectrograms(image_size=32, pool_per_class=150, test_per_class=30, seed=0):
    """Spectrograms of 10 kinds of generated sound: an audio task drawn as images.

    See `tl_templates.synthetic.sounds` for the sounds (rising and falling tones, beeps,
    trills ... with random pitch, timing, harmonics and noise).

    Args:
        image_size: int. Spectrogram side: time frames and frequency bands.
        pool_per_class: int. Pool examples per class.
        test_per_class: int. Test examples per class.
        seed: int. Which sounds.

    Returns:
        A `Target` with 10 classes and `input_type="audio"`.
    """
    splits = []
    for part_seed, count in ((seed, pool_per_class), (seed + 1_000_003, test_per_class)):
        waveforms, labels = sounds.make_sounds(count, seed=part_seed)
        images = np.stack([sounds.spectrogram_image(wave, image_size) for wave in waveforms])
        splits.append((images, labels))
    return Target(
        "sound_spectrograms", list(sounds.SOUND_CLASSES), splits[0], splits[1],
        "Spectrograms of generated sounds: audio, not pictures.", input_type="audio",
    )  # fmt: skip


QUICK_TARGETS = {
    "digits": load_digits,
    "mnist": load_mnist_subset,
    "photo_patches": load_photo_patches,
    "sound_spectrograms": load_sound_spectrograms,
}


def load_quick_target(name, image_size=32, test_per_class=30, **options):
    """One of the offline targets by name: a key of `QUICK_TARGETS`.

    Args:
        name: str. `"digits"`, `"mnist"`, `"photo_patches"` or `"sound_spectrograms"`.
        image_size: int. Side of the square RGB images.
        test_per_class: int. Test examples per class.
        **options: passed to the loader, e.g. `pool_per_class` for generated targets.

    Returns:
        A `Target`.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in QUICK_TARGETS:
        raise ValueError(
            f"Unknown quick target. Received: name={name!r}. "
            f"Known targets: {', '.join(QUICK_TARGETS)}."
        )
    return QUICK_TARGETS[name](image_size=image_size, test_per_class=test_per_class, **options)


def _tfds_examples(name, split, data_dir):
    import tensorflow_datasets as tfds

    dataset, info = tfds.load(
        name, split=split, data_dir=data_dir, with_info=True, shuffle_files=False
    )
    features = info.features
    image_key = "image" if "image" in features else "audio"
    return dataset, features["label"].names, image_key


def tfds_class_count(name, data_dir=None):
    """Number of classes of a TFDS classification set (from its metadata)."""
    import tensorflow_datasets as tfds

    return tfds.builder(name, data_dir=data_dir).info.features["label"].num_classes


def load_tfds_target(
    name, image_size, pool_per_class, test_per_class, split="train", data_dir=None
):
    """A TensorFlow Datasets classification set as a `Target` (downloads on first use).

    Reads examples in the data set's own (shuffled at preparation) order and
    keeps the first `test_per_class` of each class for the test set and the
    next `pool_per_class` for the pool, so memory stays bounded. Images are
    resized to `image_size` squares; audio (e.g. `speech_commands`) becomes
    spectrogram images.

    Args:
        name: str. A TFDS name with `image` (or `audio`) and `label` features:
            `"cats_vs_dogs"`, `"tf_flowers"`, `"eurosat/rgb"`, `"speech_commands"`.
        image_size: int. Side of the square images.
        pool_per_class: int. Pool examples per class (fewer if the class has fewer).
        test_per_class: int. Test examples per class.
        split: str. TFDS split to read.
        data_dir: str or None. TFDS data folder (default `~/tensorflow_datasets`).

    Returns:
        A `Target`. Classes with no example at all are an error.
    """
    dataset, class_names, key = _tfds_examples(name, split, data_dir)
    wanted = test_per_class + pool_per_class
    kept = {label: [] for label in range(len(class_names))}
    for example in dataset.as_numpy_iterator():
        label = int(example["label"])
        if len(kept[label]) < wanted:
            kept[label].append(_to_image(example[key], key, image_size))
        if all(len(examples) >= wanted for examples in kept.values()):
            break
    missing = [class_names[label] for label, examples in kept.items() if not examples]
    if missing:
        raise ValueError(f"TFDS {name!r} split {split!r} has no example of {missing}.")
    pool, test = ([], []), ([], [])
    for label, examples in kept.items():
        cut = min(test_per_class, len(examples) // 2)
        for part, chosen in ((test, examples[:cut]), (pool, examples[cut:])):
            part[0].extend(chosen)
            part[1].extend([label] * len(chosen))
    as_arrays = [(np.stack(images), np.asarray(labels)) for images, labels in (pool, test)]
    return Target(
        name.replace("/", "_"), list(class_names), *as_arrays,
        description=f"TFDS {name}, {split} split",
        input_type="audio" if key == "audio" else "image",
    )  # fmt: skip


def _to_image(value, key, image_size):
    if key == "audio":
        # speech_commands: int16 samples at 16 kHz.
        return sounds.spectrogram_image(value.astype("float32") / 32768.0, image_size, 16_000)
    image = Image.fromarray(value.squeeze(-1) if value.shape[-1] == 1 else value)
    return np.asarray(image.convert("RGB").resize((image_size, image_size), Image.BILINEAR))
