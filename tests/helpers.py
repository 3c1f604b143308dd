"""Helpers shared by the tests (import them: `from helpers import ...`)."""

import numpy as np


def tiny_input_shape(spec):
    """The smallest input a backbone accepts, to keep tests fast."""
    size = max(32, spec.min_input_size)
    return (size, size, 3)


def random_images(count, size=32, seed=0):
    """Raw RGB pixels in [0, 255], as a float32 NHWC array."""
    return np.random.default_rng(seed).uniform(0, 255, (count, size, size, 3)).astype("float32")


def weights_by_layer(model):
    """`{layer name: [numpy arrays]}` for every layer with weights."""
    return {
        layer.name: [np.array(weight.numpy()) for weight in layer.weights]
        for layer in model.layers
        if layer.weights
    }


def write_image_folder(root, counts, size=16, seed=0):
    """`root/<class>/<n>.png` with `counts[class]` random images per class."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for class_name, count in counts.items():
        folder = root / class_name
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(count):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{number}.png")
    return root
