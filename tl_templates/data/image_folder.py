"""Class-per-folder image data sets: scan, load, split reproducibly."""

from pathlib import Path

import numpy as np
from PIL import Image

from tl_templates.data.folders import ClassFolder, scan_class_folders
from tl_templates.data.splits import Splits, split_indices, split_sizes  # noqa: F401  (old home)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


# One class-per-folder listing and one split for images and audio alike
# (`tl_templates.data.folders`, `tl_templates.data.splits`); the names
# below stay for the projects that use them.
ImageFolder = ClassFolder
ImageSplits = Splits


def scan_image_folder(root):
    """Lists the images of a class-per-folder data set (a `tl_templates.ImageFolder`).

    Hidden files and files that are not images (by extension) are ignored.

    Raises:
        FileNotFoundError: `root` does not exist.
        ValueError: fewer than two class folders, or a class folder with no image.
    """
    return scan_class_folders(root, IMAGE_EXTENSIONS, "images", ("cat/001.jpg", "dog/001.jpg"),
                              "images")  # fmt: skip


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
