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
