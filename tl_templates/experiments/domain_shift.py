"""A domain-shift benchmark the kit builds offline, in the spirit of MNIST -> MNIST-M.

Ganin et al. (2015) made MNIST-M by blending MNIST digits onto patches of real
photographs: each output pixel is `|patch - digit|` per colour channel, so the
strokes invert the photo's colours and the background is a photo texture.
This module does the same with the real handwritten digits that ship inside
scikit-learn (UCI, 1,797 scans) and the two real photographs scikit-learn
ships (`load_sample_images`: a Chinese temple and a flower), cropped at random
positions and scales, flipped, and with the colour channels shuffled. The
source domain is the plain digits (white ink on black, as MNIST); the target
domain is the same ten classes on photo textures. No download.

For a full-size run (Colab), `load_tfds_digits` reads MNIST through TFDS and
`photo_patches` takes any photos, e.g. from a TFDS image dataset.
"""

import dataclasses

import numpy as np
from PIL import Image

from tl_templates.data.splits import split_by_fractions


@dataclasses.dataclass
class DomainShiftData:
    """Labelled source images and target images of the same classes.

    Attributes:
        source_images: uint8 array `(n, size, size, 3)`. The labelled domain.
        source_labels: int array `(n,)`.
        target_images: uint8 array. Target images for training; DANN uses them
            without labels, the target-supervised upper bound with them.
        target_labels: int array. Their labels (never shown to DANN).
        target_test_images: uint8 array. Held-out target images for scoring.
        target_test_labels: int array.
        class_names: list of str.
    """

    source_images: np.ndarray
    source_labels: np.ndarray
    target_images: np.ndarray
    target_labels: np.ndarray
    target_test_images: np.ndarray
    target_test_labels: np.ndarray
    class_names: list

    def summary(self):
        """One line: how many images each part holds."""
        return (
            f"source {len(self.source_labels)} labelled, target {len(self.target_labels)} "
            f"for training (labels hidden from DANN), {len(self.target_test_labels)} "
            f"target test images, {len(self.class_names)} classes"
        )


def sample_photos():
    """The real photographs that ship with scikit-learn, as uint8 RGB arrays."""
    from sklearn.datasets import load_sample_images

    return list(load_sample_images().images)


def photo_patches(photos, count, image_size, seed=0):
    """Random crops of `photos`, resized to `image_size`, as uint8 RGB.

    Each crop has a random side between `image_size` and half the photo's
    short side (coarse and fine textures), a random flip and a random order
    of the colour channels (more colours than two photos hold).
    """
    rng = np.random.default_rng(seed)
    patches = np.empty((count, image_size, image_size, 3), dtype=np.uint8)
    for index in range(count):
        photo = photos[rng.integers(len(photos))]
        if min(photo.shape[:2]) < image_size:  # a small photo: enlarge it first
            scale = image_size / min(photo.shape[:2])
            size = (max(image_size, round(photo.shape[1] * scale)),
                    max(image_size, round(photo.shape[0] * scale)))  # fmt: skip
            photo = np.asarray(Image.fromarray(photo).resize(size, Image.BILINEAR))
        height, width = photo.shape[:2]
        side = int(rng.integers(image_size, max(image_size + 1, min(height, width) // 2)))
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        crop = Image.fromarray(photo[top : top + side, left : left + side])
        crop = np.asarray(crop.resize((image_size, image_size), Image.BILINEAR))
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        patches[index] = crop[..., rng.permutation(3)]
    return patches


def blend_onto_photos(ink, patches):
    """MNIST-M's blend: `|patch - ink|` per channel.

    Args:
        ink: float array `(n, size, size)` in [0, 1], 1 where the pen wrote.
        patches: uint8 array `(n, size, size, 3)`.

    Returns:
        uint8 array `(n, size, size, 3)`.
    """
    blended = np.abs(patches.astype(np.float32) - 255.0 * ink[..., None])
    return blended.astype(np.uint8)


def ink_to_rgb(ink):
    """White ink on black paper (as MNIST), as uint8 RGB."""
    grey = (255.0 * ink).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def _resize_ink(images, image_size):
    """Ink arrays of any size, resized to `image_size`, in [0, 1]."""
    resized = [
        np.asarray(
            Image.fromarray(image.astype(np.float32)).resize(
                (image_size, image_size), Image.BILINEAR
            )
        )
        for image in images
    ]
    return np.clip(np.stack(resized), 0.0, 1.0)


def make_domain_shift(ink, labels, class_names, photos, image_size=32, seed=0, fractions=None):
    """Splits digits into a plain source domain and a photo-textured target domain.

    Each digit image goes to one domain only (source, target training or
    target test), so no pair of images shares its strokes.

    Args:
        ink: float array `(n, h, w)` in [0, 1], 1 where the pen wrote.
        labels: int array `(n,)`.
        class_names: list of str.
        photos: list of uint8 RGB arrays, the textures of the target domain.
        image_size: int. Side of the square output images.
        seed: int. Drives the split and the patches.
        fractions: tuple or None. Shares of (source, target training, target
            test); default (0.5, 0.3, 0.2).

    Returns:
        A `DomainShiftData`.
    """
    fractions = fractions or (0.5, 0.3, 0.2)
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"fractions must be three shares that add up to 1. Received: fractions={fractions}."
        )
    if len(ink) != len(labels):
        raise ValueError(f"{len(ink)} images but {len(labels)} labels.")
    ink = _resize_ink(ink, image_size)
    labels = np.asarray(labels, dtype=np.int64)
    source, target, test = split_by_fractions(labels, fractions, seed)
    patches = photo_patches(photos, len(target) + len(test), image_size, seed=seed + 1)
    return DomainShiftData(
        source_images=ink_to_rgb(ink[source]),
        source_labels=labels[source],
        target_images=blend_onto_photos(ink[target], patches[: len(target)]),
        target_labels=labels[target],
        target_test_images=blend_onto_photos(ink[test], patches[len(target) :]),
        target_test_labels=labels[test],
        class_names=list(class_names),
    )


def load_digits_to_photos(image_size=32, seed=0):
    """The kit's offline benchmark: scikit-learn's digits -> digits on photos.

    Args:
        image_size: int. Side of the square RGB images (at least 32 for the
            kit's backbones).
        seed: int. Drives the split and the photo patches.

    Returns:
        A `DomainShiftData` with about 900 source, 540 target training and
        360 target test images.

    Examples:

    >>> from tl_templates.experiments import domain_shift
    >>> data = domain_shift.load_digits_to_photos()
    >>> data.source_images.shape, data.target_test_images.dtype.name
    ((896, 32, 32, 3), 'uint8')
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    ink = digits.images / 16.0  # UCI scans store ink as 0-16 on an 8x8 grid
    class_names = [str(digit) for digit in range(10)]
    return make_domain_shift(ink, digits.target, class_names, sample_photos(), image_size, seed)


def load_tfds_digits(name="mnist", split="train", limit=None, data_dir=None):
    """Ink arrays and labels of a TFDS digit dataset (full-size runs, Colab).

    Args:
        name: str. A TFDS dataset with 'image' (h, w, 1) and 'label' features.
        split: str. A TFDS split.
        limit: int or None. Read at most this many examples.
        data_dir: str or None. TFDS data folder.

    Returns:
        `(ink, labels, class_names)`: float32 `(n, h, w)` in [0, 1], int
        `(n,)`, and the dataset's label names.
    """
    import tensorflow_datasets as tfds

    dataset, info = tfds.load(
        name, split=split, data_dir=data_dir, with_info=True, as_supervised=True
    )
    if limit is not None:
        dataset = dataset.take(limit)
    images, labels = [], []
    for image, label in tfds.as_numpy(dataset):
        images.append(image[..., 0])
        labels.append(label)
    ink = np.stack(images).astype(np.float32) / 255.0
    return ink, np.array(labels, dtype=np.int64), list(info.features["label"].names)


def load_tfds_photos(name="imagenette/160px-v2", split="train", limit=200, data_dir=None):
    """Colour photographs from a TFDS image dataset, the textures of a full-size run.

    Returns:
        A list of uint8 RGB arrays.
    """
    import tensorflow_datasets as tfds

    dataset = tfds.load(name, split=split, data_dir=data_dir).take(limit)
    return [example["image"] for example in tfds.as_numpy(dataset)]
