"""ImageNet input preprocessing as a Keras layer, so models take raw pixels."""

import keras
from keras import ops

# ImageNet channel statistics used by keras.applications' preprocess_input.
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
IMAGENET_MEAN_BGR_0_255 = (103.939, 116.779, 123.68)

MODES = ("tf", "torch", "caffe")


@keras.saving.register_keras_serializable(package="tl_templates")
class ImageNetPreprocessing(keras.layers.Layer):
    """Maps raw RGB pixels in [0, 255] to the range an ImageNet backbone expects.

    The same arithmetic as `keras.applications.imagenet_utils.preprocess_input`,
    inside the model, so a saved model takes raw pixels and nobody has to
    remember which function to call before `predict()`.

    Args:
        mode: str. `"tf"`: scale to [-1, 1] (MobileNetV2, ResNet50V2, Xception).
            `"torch"`: scale to [0, 1], then normalise each channel with the
            ImageNet mean and standard deviation (DenseNet). `"caffe"`: RGB to
            BGR, then subtract the ImageNet mean of each channel (VGG16, ResNet50).
        **kwargs: forwarded to `keras.layers.Layer`.

    Examples:

    >>> import numpy as np
    >>> import tl_templates
    >>> layer = tl_templates.ImageNetPreprocessing(mode="tf")
    >>> np.asarray(layer(np.array([[[[0.0, 127.5, 255.0]]]]))).tolist()
    [[[[-1.0, 0.0, 1.0]]]]
    """

    def __init__(self, mode, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(
                f"Unknown preprocessing mode. Received: mode={mode!r}. Known modes: "
                f"{', '.join(MODES)}."
            )
        self.mode = mode

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        if self.mode == "tf":
            return images / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(IMAGENET_MEAN_RGB, dtype=self.compute_dtype)
            std = ops.convert_to_tensor(IMAGENET_STD_RGB, dtype=self.compute_dtype)
            return (images / 255.0 - mean) / std
        mean = ops.convert_to_tensor(IMAGENET_MEAN_BGR_0_255, dtype=self.compute_dtype)
        return ops.flip(images, axis=-1) - mean

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
