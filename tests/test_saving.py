"""Safe loading: the kit's models load in safe mode; code-carrying files are refused."""

import ast
import json
import re
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import random_images

import tl_templates
from tl_templates.training.saving import EXTERNAL_GRAPH_CLASS_NAMES


def save(model, tmp_path, name="model.keras"):
    path = tmp_path / name
    model.save(path)
    return path


def test_a_lambda_layer_is_refused_before_keras_reads_it(tmp_path, monkeypatch):
    inputs = keras.Input((4,))
    doubled = keras.layers.Lambda(lambda x: x * 2, name="doubler")(inputs)
    path = save(keras.Model(inputs, keras.layers.Dense(2)(doubled)), tmp_path)
    # If the kit ever handed this file to Keras, the test would see it.
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: pytest.fail("was loaded"))
    with pytest.raises(tl_templates.UnsafeModelError) as error:
        tl_templates.load_model(path)
    message = str(error.value)
    assert str(path) in message and "doubler" in message
    assert "arbitrary code execution" in message
    assert "register_keras_serializable" in message and "safe_mode=False" in message


def replace_layer(path, name, class_name, config):
    """Rewrites the `.keras` file `path` so that layer `name` becomes `class_name` with `config`.

    What a crafted file would hold, made without the real thing (no SavedModel
    is needed to name one in a config). The layer's place in the graph
    (its inbound nodes) is kept.
    """
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    found = []

    def visit(node):
        if isinstance(node, dict):
            inner = node.get("config")
            if isinstance(inner, dict) and inner.get("name") == name and "class_name" in node:
                node.update(module="keras.layers", class_name=class_name, registered_name=None)
                node["config"] = {"name": name, **config}
                found.append(node)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    model_config = json.loads(members["config.json"])
    visit(model_config)
    assert len(found) == 1, f"no single layer named {name!r} in {path}"
    members["config.json"] = json.dumps(model_config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for filename, content in members.items():
            archive.writestr(filename, content)


@pytest.mark.parametrize("nested", [False, True], ids=["top level", "inside a sub-model"])
def test_a_tfsm_layer_is_refused_before_its_savedmodel_is_read(tmp_path, monkeypatch, nested):
    import tensorflow as tf

    inputs = keras.Input((4,))
    graph = keras.layers.Dense(2, name="graph")
    if nested:
        graph = keras.Sequential([keras.Input((4,)), graph], name="block")
    path = save(keras.Model(inputs, keras.layers.Dense(1)(graph(inputs))), tmp_path)
    saved_model = tmp_path / "no_such_savedmodel"  # anything read there would fail loudly
    replace_layer(path, "graph", "TFSMLayer", {
        "filepath": str(saved_model), "call_endpoint": "serve", "call_training_endpoint": None,
        "trainable": True, "dtype": "float32",
    })  # fmt: skip
    assert "TFSMLayer" in EXTERNAL_GRAPH_CLASS_NAMES
    # If the kit handed the file to Keras, or anything loaded the SavedModel, the test would see it.
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: pytest.fail("was loaded"))
    monkeypatch.setattr(tf.saved_model, "load", lambda *a, **k: pytest.fail("graph was read"))
    with pytest.raises(tl_templates.UnsafeModelError) as error:
        tl_templates.load_model(path)
    message = str(error.value)
    assert message.startswith(f"Refusing to load {path}: its layer(s) graph load a SavedModel")
    assert "safe_mode=False" in message and "model.load_weights(path)" in message
    assert not saved_model.exists()
    # The crafted file is real: trusted, it makes Keras go and read the SavedModel.
    monkeypatch.undo()
    missing = re.escape(f"SavedModel file does not exist at: {saved_model}")
    with pytest.raises(OSError, match=missing):
        tl_templates.load_model(path, safe_mode=False)


def test_predict_py_refuses_it_with_one_line_and_no_traceback(tmp_path):
    import subprocess
    import sys

    from tl_templates.project import generate as projects

    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Lambda(lambda x: x[:, 0, 0, :2], name="peek")(inputs)
    model_path = save(keras.Model(inputs, outputs), tmp_path)
    (tmp_path / "labels.txt").write_text("a\nb\n")
    project = projects.new_project("image-classifier", output_dir=tmp_path / "p")
    image = next((project / "data" / "sample").rglob("*.png"))
    result = subprocess.run(
        [sys.executable, "predict.py", str(image), "--model", str(model_path)],
        cwd=project, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Refusing to load" in result.stderr and "arbitrary code execution" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["tf", "torch", "caffe"])
def test_models_the_kit_builds_load_in_safe_mode(tmp_path, mode):
    inputs = keras.Input((32, 32, 3))
    features = tl_templates.ImageNetPreprocessing(mode=mode)(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(features)
    )
    model = keras.Model(inputs, outputs)
    images = random_images(2)
    loaded = tl_templates.load_model(save(model, tmp_path))
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0))


def test_the_lab_backbone_truncated_with_a_head_loads_in_safe_mode(tmp_path):
    backbone = tl_templates.build_backbone("lab_glyphs", (32, 32, 3))
    backbone = tl_templates.truncate_backbone(backbone, "block2")
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled))
    images = random_images(2)
    loaded = tl_templates.load_model(save(model, tmp_path))
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-5
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "Model file not found"),
        (b"not a zip at all", "is not a .keras model file"),
        ("zip without config", "is not a .keras model file"),
    ],
)
def test_files_that_are_not_models_get_clear_errors(tmp_path, content, message):
    path = tmp_path / "model.keras"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("metadata.json", "{}")
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        tl_templates.load_model(path)


def test_only_keras_files_are_loaded(tmp_path):
    with pytest.raises(ValueError, match="reads .keras files"):
        tl_templates.load_model(tmp_path / "model.h5")


UNSAFE_MODULES = {"pickle", "cPickle", "dill", "joblib", "cloudpickle", "marshal", "shelve"}


def unsafe_calls(source):
    """Imports of unpickling modules and calls with allow_pickle=True or safe_mode=False."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module in UNSAFE_MODULES:
            found.append(node.module)
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = getattr(keyword.value, "value", None)
                if (keyword.arg, value) in (("allow_pickle", True), ("safe_mode", False)):
                    found.append(f"{keyword.arg}={value}")
    return found


REPOSITORY = Path(__file__).resolve().parents[1]


def test_no_pickle_anywhere():
    """Nothing the kit or its templates run may unpickle or load unsafely: it runs code."""
    assert unsafe_calls("import pickle\nnp.load(f, allow_pickle=True)\nload(p, safe_mode=False)")
    sources = [
        path
        for folder in ("tl_templates", "templates", "data", "benchmarks")
        for path in (REPOSITORY / folder).rglob("*.py")
    ]
    assert len(sources) > 20
    offenders = {}
    for path in sources:
        # Template files are Jinja until rendered: stand in for the placeholders.
        text = re.sub(r"\{\{.*?\}\}", "None", path.read_text(encoding="utf-8"))
        found = unsafe_calls(text)
        if found:
            offenders[str(path)] = found
    assert offenders == {}
