"""Input pipelines: decode, resize and augment images on the CPU, in parallel with training.

A training step should never wait for its data. `tf.data` runs the input work
on the CPU's cores while the model trains on the accelerator (or on the other
cores): files are read and decoded by several calls at once
(`num_parallel_calls=AUTOTUNE`), decoded images are kept in memory after the
first epoch (`cache()`) when they fit, augmentation runs as Keras layers on
whole batches inside the pipeline, and `prefetch(AUTOTUNE)` prepares the next
batches during the current step.

Two ways in:

- `decode_images`: a folder's files decoded once, in parallel, into one uint8
  array. `tl_templates.load_image_splits` uses it; `train_classifier` then
  feeds those in-memory images through `tl_templates.training.classifier.epoch_batches`
  (the same pipeline from memory: gather, augment, prefetch).
- `image_file_dataset`: a complete streaming pipeline from files, for data
  sets too large to load whole, or to use with your own `model.fit`.
"""

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

# Formats TensorFlow decodes natively; others (WebP...) go through Pillow.
TF_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def decode_image(contents, image_size):
    """Encoded bytes (JPEG, PNG, BMP, GIF) to a uint8 `(image_size, image_size, 3)` tensor.

    Grey and RGBA images become RGB; an animated GIF gives its first frame.
    Resizing is bilinear with antialiasing (smooth when shrinking).
    """
    image = tf.cond(
        tf.io.is_jpeg(contents),
        # The accurate inverse DCT, as Pillow uses: the same pixels either way.
        lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(contents, channels=3, dtype=tf.uint8, expand_animations=False),
    )
    image.set_shape([None, None, 3])
    image = tf.image.resize(image, (image_size, image_size), method="bilinear", antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


def _decoded_files(paths, image_size):
    """An unbatched dataset of uint8 images, decoded in parallel, in the order of `paths`."""
    dataset = tf.data.Dataset.from_tensor_slices([str(path) for path in paths])
    return dataset.map(
        lambda path: decode_image(tf.io.read_file(path), image_size),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,  # keep the order of `paths`
    )


def decode_images(paths, image_size, batch_size=256):
    """Image files as one uint8 array `(count, image_size, image_size, 3)`, decoded in parallel.

    Files that TensorFlow cannot decode (another format, or a damaged file)
    are read with Pillow instead, which names a damaged file in its error.

    Args:
        paths: list. Image files.
        image_size: int. Images are resized to `image_size x image_size`.
        batch_size: int. Images converted to NumPy at a time.

    Returns:
        np.ndarray of uint8.

    Raises:
        ValueError: a file neither TensorFlow nor Pillow can decode; the
            message names it.

    Examples:

    >>> from tl_templates import paths
    >>> from tl_templates.data import pipelines
    >>> files = sorted((paths.SAMPLES_DIR / "digits" / "3").glob("*.png"))[:4]
    >>> pipelines.decode_images(files, 32).shape
    (4, 32, 32, 3)
    """
    from tl_templates.data.image_folder import load_image_with_pillow  # names a damaged file

    paths = [Path(path) for path in paths]
    images = np.zeros((len(paths), image_size, image_size, 3), dtype=np.uint8)
    native = [i for i, path in enumerate(paths) if path.suffix.lower() in TF_IMAGE_EXTENSIONS]
    others = sorted(set(range(len(paths))) - set(native))
    try:
        start = 0
        for batch in _decoded_files([paths[i] for i in native], image_size).batch(batch_size):
            images[native[start : start + len(batch)]] = batch.numpy()
            start += len(batch)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.UnknownError):
        others = range(len(paths))  # a file TensorFlow refused: Pillow reads (or names) it
    for index in others:
        images[index] = load_image_with_pillow(paths[index], image_size)
    return images


def image_file_dataset(
    paths,
    labels,
    image_size,
    batch_size,
    *,
    shuffle=False,
    seed=0,
    augmentation=None,
    cache=True,
):
    """A streaming `tf.data` pipeline from image files to training batches.

    read + decode + resize (parallel) -> cache -> shuffle -> batch ->
    float32 -> augment (parallel, on the CPU) -> prefetch.

    Args:
        paths: list. Image files (JPEG, PNG, BMP or GIF).
        labels: array. One integer label per file.
        image_size: int. Images are resized to `image_size x image_size`.
        batch_size: int. Examples per batch.
        shuffle: bool. A new order each epoch (seeded).
        seed: int. Shuffling seed.
        augmentation: keras layer or None. Called with `training=True` on
            each batch, inside the pipeline: the accelerator never runs it.
        cache: bool or str. True: keep the decoded images in memory after
            the first epoch (when they fit: `image_size**2 * 3` bytes each);
            a path: cache them in files there; False: decode every epoch.

    Returns:
        A `tf.data.Dataset` of `(float32 images, labels)` batches.

    Examples:

    >>> import tl_templates
    >>> from tl_templates import paths
    >>> from tl_templates.data import pipelines
    >>> folder = tl_templates.scan_image_folder(paths.SAMPLES_DIR / "digits")
    >>> dataset = pipelines.image_file_dataset(folder.paths, folder.labels, 32, 8)
    >>> images, labels = next(iter(dataset))
    >>> images.shape, images.dtype.name, labels.shape
    (TensorShape([8, 32, 32, 3]), 'float32', TensorShape([8]))
    """
    labels = tf.data.Dataset.from_tensor_slices(np.asarray(labels))
    dataset = tf.data.Dataset.zip(_decoded_files(paths, image_size), labels)
    if cache:
        dataset = dataset.cache("" if cache is True else str(cache))
    if shuffle:
        dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    return batch_augment_prefetch(dataset, batch_size, augmentation)


def batch_augment_prefetch(dataset, batch_size, augmentation=None):
    """Batches (image, label) pairs as float32, augments them on the CPU, prefetches.

    Args:
        dataset: `tf.data.Dataset` of unbatched (image, label) pairs.
        batch_size: int.
        augmentation: Keras layer or None. Applied to each batch in training mode,
            in parallel with the model's steps.

    Returns:
        The batched, prefetched `tf.data.Dataset`.
    """
    dataset = dataset.batch(batch_size).map(
        lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    if augmentation is not None:
        dataset = dataset.map(
            lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def measure_throughput(dataset, batches=None, warm_up=True):
    """Examples per second that `dataset` delivers on its own (no model).

    Args:
        dataset: tf.data.Dataset. Of `(inputs, labels)` batches.
        batches: int or None. Batches to time; None: all.
        warm_up: bool. Leave the first batch out of the timing (it builds the
            pipeline). Use False for a shuffled pipeline, whose first batch
            waits for the whole shuffle buffer.

    Returns:
        float. Examples per second.
    """
    import time

    started = time.perf_counter()
    iterator = iter(dataset)
    if warm_up:
        next(iterator)  # builds the pipeline, starts the prefetching threads
        started = time.perf_counter()
    count = 0
    for index, (_, labels) in enumerate(iterator):
        if batches is not None and index >= batches:
            break
        count += int(labels.shape[0])
    seconds = time.perf_counter() - started
    return count / seconds if seconds > 0 else math.inf
