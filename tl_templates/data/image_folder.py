"""Class-per-folder image data sets: scan, check, load, split reproducibly."""

import dataclasses
import math
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


@dataclasses.dataclass
class ImageFolder:
    """The files of a `root/<class name>/<image>` folder.

    Attributes:
        root: Path. The folder.
        class_names: list. Sub-folder names, sorted; label `i` is `class_names[i]`.
        paths: list. Image files, class by class.
        labels: np.ndarray. Integer label of each file.
    """

    root: Path
    class_names: list
    paths: list
    labels: np.ndarray


@dataclasses.dataclass
class ImageSplits:
    """Images loaded as uint8 arrays `(count, size, size, 3)`, split three ways."""

    class_names: list
    train: tuple
    validation: tuple
    test: tuple

    def sizes(self):
        return {name: len(getattr(self, name)[1]) for name in ("train", "validation", "test")}


def scan_image_folder(root):
    """Lists the images of a class-per-folder data set.

    Hidden files and files that are not images (by extension) are ignored.

    Raises:
        FileNotFoundError: `root` does not exist.
        ValueError: fewer than two class folders, or a class folder with no image.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Data folder not found: {root}")
    class_dirs = sorted(
        path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")
    )
    if len(class_dirs) < 2:
        raise ValueError(
            f"{root} needs one sub-folder per class (at least two), e.g. {root}/cat/001.jpg "
            f"and {root}/dog/001.jpg. Found {len(class_dirs)} sub-folder(s)."
        )
    paths, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        images = sorted(
            path
            for path in class_dir.iterdir()
            if path.is_file()
            and not path.name.startswith(".")
            and path.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not images:
            raise ValueError(
                f"Class folder {class_dir} has no images ({', '.join(IMAGE_EXTENSIONS)}). "
                "Add images or remove the folder."
            )
        paths.extend(images)
        labels.extend([label] * len(images))
    return ImageFolder(root, [path.name for path in class_dirs], paths, np.array(labels))


def load_image(path, image_size):
    """One image as uint8 RGB `(image_size, image_size, 3)`.

    Decoded and resized as `load_images` does for training (TensorFlow's
    decoders, bilinear antialiased resizing), so that a model sees the same
    pixels when it predicts as when it trained.

    Raises:
        ValueError: the file cannot be decoded; the message names it.
    """
    import tensorflow as tf  # here: scanning a folder (the doctor) needs no TensorFlow

    from tl_templates.data import pipelines

    if Path(path).suffix.lower() in pipelines.TF_IMAGE_EXTENSIONS:
        try:
            return pipelines.decode_image(tf.io.read_file(str(path)), image_size).numpy()
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.UnknownError):
            pass  # Pillow reads it, or names the problem
    return load_image_with_pillow(path, image_size)


def load_image_with_pillow(path, image_size):
    """`load_image` with Pillow's decoders and resizing (any format Pillow reads).

    Raises:
        ValueError: the file cannot be decoded; the message names it.
    """
    try:
        with Image.open(path) as image:
            image = image.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except Exception as error:
        # Pillow's decoders raise many kinds of error on a damaged file
        # (OSError, SyntaxError, struct.error, EOFError, DecompressionBombError...):
        # for the user they all mean the same thing.
        raise ValueError(
            f"Cannot read image {path}: {describe_error(error)}. Remove or replace the file."
        ) from None


def describe_error(error):
    """An exception as a short phrase: its message, or its type when it has none."""
    text = str(error).strip()
    return text if text else type(error).__name__


def load_images(paths, image_size):
    """Images as one uint8 array `(len(paths), image_size, image_size, 3)`.

    Decoded in parallel by a `tf.data` pipeline (`tl_templates.data.pipelines.decode_images`).
    """
    from tl_templates.data import pipelines

    return pipelines.decode_images(paths, image_size)


def split_sizes(count, validation_fraction, test_fraction):
    """`(train, validation, test)` sizes of a class of `count` examples.

    Validation and test get their fraction rounded down, and at least one
    example each; train gets the rest, which is less than one when the class
    is too small to split. Rounding down leaves small classes as much to
    train on as it can: 10 images give 8 / 1 / 1 at 15%, where rounding to
    nearest gave 6 / 2 / 2. Larger sets reach their fractions (100 images:
    70 / 15 / 15); the test score of a small set is reported with its
    confidence interval (`tl_templates.evaluation.intervals`).

    Examples:

    >>> from tl_templates.data.image_folder import split_sizes
    >>> split_sizes(10, 0.15, 0.15), split_sizes(100, 0.15, 0.15)
    ((8, 1, 1), (70, 15, 15))
    """
    validation = max(1, math.floor(count * validation_fraction + 1e-9))
    test = max(1, math.floor(count * test_fraction + 1e-9))
    return count - validation - test, validation, test


def split_indices(labels, class_names, validation_fraction, test_fraction, seed):
    """Stratified, seeded split: each class contributes to train, validation and test.

    Raises:
        ValueError: a class too small to appear in all three splits.
    """
    rng = np.random.default_rng(seed)
    train, validation, test = [], [], []
    for label, name in enumerate(class_names):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        _, validation_count, test_count = split_sizes(
            len(members), validation_fraction, test_fraction
        )
        if len(members) < validation_count + test_count + 1:
            raise ValueError(
                f"Class {name!r} has {len(members)} example(s); it needs at least "
                f"{validation_count + test_count + 1} for a train/validation/test split."
            )
        validation.extend(members[:validation_count])
        test.extend(members[validation_count : validation_count + test_count])
        train.extend(members[validation_count + test_count :])
    return [np.sort(np.array(indices)) for indices in (train, validation, test)]


def load_image_splits(root, image_size, validation_fraction=0.15, test_fraction=0.15, seed=0):
    """Scans, loads and splits a class-per-folder data set.

    Args:
        root: str or Path. A folder with one sub-folder of images per class.
        image_size: int. Images are resized to `image_size x image_size`.
        validation_fraction: float. Share of each class held out for validation.
        test_fraction: float. Share of each class held out for the final test.
        seed: int. The same seed gives the same split.

    Returns:
        A `tl_templates.ImageSplits`.

    Examples:

    >>> import tl_templates
    >>> from tl_templates import paths
    >>> splits = tl_templates.load_image_splits(paths.SAMPLES_DIR / "digits", image_size=32)
    >>> splits.class_names[:3], splits.train[0].shape[1:]
    (['0', '1', '2'], (32, 32, 3))
    """
    folder = scan_image_folder(root)
    train, validation, test = split_indices(
        folder.labels, folder.class_names, validation_fraction, test_fraction, seed
    )
    images = load_images(folder.paths, image_size)
    return ImageSplits(
        folder.class_names,
        *((images[indices], folder.labels[indices]) for indices in (train, validation, test)),
    )
