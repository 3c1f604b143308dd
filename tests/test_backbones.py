import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import random_images

import tl_templates


@pytest.mark.parametrize(
    "mode, reference",
    [
        ("tf", keras.applications.mobilenet_v2.preprocess_input),
        ("torch", keras.applications.densenet.preprocess_input),
        ("caffe", keras.applications.vgg16.preprocess_input),
    ],
)
def test_preprocessing_layer_matches_keras_preprocess_input(mode, reference):
    images = random_images(2, size=8)
    expected = reference(images.copy())
    actual = tl_templates.ImageNetPreprocessing(mode)(images)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-5, atol=1e-4)


def test_unknown_preprocessing_mode_is_refused():
    with pytest.raises(ValueError, match="mode='keras'.*tf, torch, caffe"):
        tl_templates.ImageNetPreprocessing("keras")


def test_backbone_takes_raw_pixels_with_preprocessing_inside():
    backbone = tl_templates.build_backbone("mobilenetv2", (32, 32, 3), weights=None)
    assert backbone.name == "mobilenetv2"
    assert backbone.get_layer("preprocessing").mode == "tf"
    assert tl_templates.list_blocks(backbone)[0].layers[1].name == "preprocessing"


def test_bad_input_shapes_are_explained():
    with pytest.raises(ValueError, match="at least 71x71"):
        tl_templates.build_backbone("xception", (64, 64, 3), weights=None)
    with pytest.raises(ValueError, match=r"RGB images \(height, width, 3\)"):
        tl_templates.build_backbone("efficientnetb0", (64, 64, 1), weights=None)


def test_weights_from_a_local_file(tmp_path):
    original = tl_templates.build_backbone("efficientnetb0", (32, 32, 3), weights=None)
    path = tmp_path / "mine.weights.h5"
    original.save_weights(path)

    loaded = tl_templates.build_backbone("efficientnetb0", (32, 32, 3), weights=str(path))
    fresh = tl_templates.build_backbone("efficientnetb0", (32, 32, 3), weights=None)

    for a, b in zip(original.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert any(
        not np.allclose(a.numpy(), b.numpy())
        for a, b in zip(original.weights, fresh.weights, strict=True)
    )
    images = random_images(2)
    np.testing.assert_allclose(
        original.predict(images, verbose=0), loaded.predict(images, verbose=0), rtol=1e-5
    )


def test_missing_weights_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        tl_templates.build_backbone("mobilenetv2", (32, 32, 3), weights=str(missing))


def test_saved_backbone_loads_with_safe_mode(tmp_path):
    backbone = tl_templates.build_backbone("densenet121", (32, 32, 3), weights=None)
    path = tmp_path / "backbone.keras"
    backbone.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    images = random_images(2)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), backbone.predict(images, verbose=0), rtol=1e-4, atol=1e-5
    )
    assert tl_templates.block_names(loaded) == tl_templates.get_spec("densenet121").block_names


OFFLINE_SCRIPT = """
import tl_templates
try:
    tl_templates.build_backbone("mobilenetv3small", (32, 32, 3), weights="imagenet")
except tl_templates.WeightsUnavailableError as error:
    print(error)
else:
    print("DOWNLOADED")
"""


def test_imagenet_offline_says_how_to_run_offline(tmp_path):
    # The real Keras download code runs; a dead proxy makes sure it cannot reach
    # the network even on a machine that has one.
    env = {
        **os.environ,
        "KERAS_HOME": str(tmp_path / "keras_home"),
        "https_proxy": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    message = result.stdout
    assert "Could not download the ImageNet weights of 'mobilenetv3small'" in message
    assert "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5" in message
    assert str(tmp_path / "keras_home" / "models") in message
    assert "weights=None" in message
    assert "weights='/path/to/" in message


def test_imagenet_is_refused_for_backbones_without_it(monkeypatch):
    from tl_templates.backbones import build as backbones
    from tl_templates.backbones import registry

    spec = registry.BackboneSpec(
        name="lab", constructor="tl_templates.lab.build", preprocessing="included", blocks=()
    )
    with pytest.raises(ValueError, match="has no ImageNet weights"):
        backbones._resolve_weights(spec, "imagenet")


@pytest.mark.network
def test_imagenet_weights_download_for_real():
    backbone = tl_templates.build_backbone("mobilenetv3small", (224, 224, 3), weights="imagenet")
    assert backbone.count_params() > 900_000
