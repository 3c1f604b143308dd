"""Input pipelines: parallel decoding gives Pillow's pixels, keeps labels with their images."""

import keras
import numpy as np
import pytest
from helpers import write_image_folder
from PIL import Image

import tl_templates
from tl_templates.data import image_folder, pipelines


def test_parallel_decoding_gives_the_same_pixels_as_pillow(tmp_path):
    folder = tl_templates.scan_image_folder(write_image_folder(tmp_path, {"a": 5, "b": 4}, size=24))
    Image.open(folder.paths[0]).save(tmp_path / "a" / "0.webp")  # a format TensorFlow lacks
    Image.open(folder.paths[1]).save(tmp_path / "a" / "1.jpg", quality=90)
    paths = [*folder.paths, tmp_path / "a" / "0.webp", tmp_path / "a" / "1.jpg"]
    decoded = pipelines.decode_images(paths, 24)
    pillow = np.stack([image_folder.load_image_with_pillow(path, 24) for path in paths])
    np.testing.assert_array_equal(decoded, pillow)
    np.testing.assert_array_equal(image_folder.load_image(paths[3], 24), pillow[3])
    shrunk = pipelines.decode_images(paths, 12)  # resized: close to Pillow's, not equal
    assert shrunk.shape == (11, 12, 12, 3)
    assert np.abs(shrunk.mean(axis=(1, 2, 3)) - pillow.mean(axis=(1, 2, 3))).max() < 3


def test_a_damaged_file_is_named(tmp_path):
    folder = tl_templates.scan_image_folder(write_image_folder(tmp_path, {"a": 3, "b": 3}))
    folder.paths[4].write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ValueError, match=f"Cannot read image {folder.paths[4]}"):
        pipelines.decode_images(folder.paths, 16)


def test_streaming_pipeline_keeps_each_label_with_its_image(tmp_path):
    # Class c's images are all of grey level 40 * (c + 1): the label is readable in the pixels.
    paths, labels = [], []
    for label in range(3):
        for number in range(5):
            path = tmp_path / f"{label}_{number}.png"
            Image.fromarray(np.full((20, 20, 3), 40 * (label + 1), np.uint8)).save(path)
            paths.append(path)
            labels.append(label)
    flip = keras.layers.RandomFlip("horizontal", seed=0)  # leaves a flat grey image as it is
    dataset = pipelines.image_file_dataset(
        paths, labels, 16, 4, shuffle=True, seed=1, augmentation=flip
    )
    epochs = [[(images.numpy(), batch_labels.numpy()) for images, batch_labels in dataset]
              for _ in range(2)]  # fmt: skip
    orders = []
    for epoch in epochs:
        images = np.concatenate([batch[0] for batch in epoch])
        epoch_labels = np.concatenate([batch[1] for batch in epoch])
        np.testing.assert_array_equal(images[:, 0, 0, 0], 40.0 * (epoch_labels + 1))
        assert sorted(epoch_labels) == sorted(labels)
        orders.append(epoch_labels.tolist())
    assert orders[0] != orders[1]  # reshuffled each epoch, from the cache
    assert pipelines.measure_throughput(dataset) > 0
