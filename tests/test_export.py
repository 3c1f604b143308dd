"""TFLite and SavedModel export: the library (tl_templates.deploy.tflite, tl_templates.deploy.export)
and every template's export.py, at every quantization setting.

Stated tolerances, checked on held-out examples by reloading each file in the
TFLite interpreter: float32 outputs within 1e-4 of Keras; float16 within 1e-2
(probabilities) and 0.5 years (age); dynamic and int8 within 0.1 (largest
output difference) and a measure loss no larger than ACCURACY_DROP (accuracy,
AUC; for the audio sample, whose test split has 6 clips, one clip) or AGE_DROP
years (age MAE).
"""

import json
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

import tl_templates
from tl_templates.deploy import tflite
from tl_templates.project import generate as projects

FLOAT32_ATOL = 1e-4
FLOAT16_ATOL = 1e-2
ACCURACY_DROP = 0.05  # accuracy, gender accuracy or mean AUC
AGE_DROP = 1.0  # years of age MAE
ALL = ["none", "float16", "dynamic", "int8"]


def tiny_two_output_model():
    inputs = keras.Input((8, 8, 3), name="image")
    rescaled = keras.layers.Rescaling(1 / 255)(inputs)  # raw pixels in, as the kit's models
    features = keras.layers.GlobalAveragePooling2D()(
        keras.layers.Conv2D(4, 3, activation="relu")(rescaled)
    )
    return keras.Model(inputs, {
        "gender": keras.layers.Dense(1, activation="sigmoid", name="gender")(features),
        "age": keras.layers.Dense(1, name="age")(features),
    })  # fmt: skip


@pytest.mark.parametrize("quantize", ALL)
def test_named_outputs_survive_every_quantization(tmp_path, quantize):
    keras.utils.set_random_seed(0)
    model = tiny_two_output_model()
    images = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 3)).astype("float32")
    path = tl_templates.export_tflite(model, tmp_path / "m.tflite", quantize=quantize,
                                      representative_data=images)  # fmt: skip
    outputs = tl_templates.run_tflite(path, images)
    expected = model.predict(images, verbose=0)
    assert set(outputs) == {"gender", "age"}
    atol = {"none": FLOAT32_ATOL, "float16": FLOAT16_ATOL}.get(quantize, 0.1)
    for name in expected:
        np.testing.assert_allclose(outputs[name], expected[name], atol=atol)


def test_bad_settings_are_refused(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(
        ValueError, match="quantize='int4'. Known settings: none, float16, dynamic, int8"
    ):
        tl_templates.export_tflite(model, tmp_path / "m.tflite", quantize="int4")
    with pytest.raises(ValueError, match="int8 quantization needs representative examples"):
        tl_templates.export_tflite(model, tmp_path / "m.tflite", quantize="int8")
    (tmp_path / "old.tflite").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="old.tflite already exists"):
        tl_templates.export_tflite(model, tmp_path / "old.tflite")
    assert (tmp_path / "old.tflite").read_bytes() == b"mine"


def test_a_quantized_file_losing_more_than_the_tolerance_says_so(tmp_path):
    keras.utils.set_random_seed(0)
    model = tiny_two_output_model()
    images = np.random.default_rng(1).uniform(0, 255, (12, 8, 8, 3)).astype("float32")
    truth = {"age": model.predict(images, verbose=0)["age"].ravel()}  # Keras is exact here

    def age_mae(labels, outputs):
        return float(np.mean(np.abs(outputs["age"].ravel() - labels["age"])))

    strict = tl_templates.ExportMeasure("age_mae", age_mae, higher_is_better=False, tolerance=0.0)
    report = tl_templates.export_and_check(
        model, tmp_path, "int8", examples=images, labels=truth, measures=[strict],
        representative_data=images, beside={"outputs.json": "{}\n"},
    )  # fmt: skip
    assert report["file"] == "model_int8.tflite" and report["bytes"] > 0
    assert report["measures"]["age_mae"]["keras"] == 0.0
    assert report["measures"]["age_mae"]["loss"] > 0 and not report["within_tolerance"]
    assert "loses" in report["warnings"][0] and "tolerance of 0" in report["warnings"][0]
    assert "WARNING" in tl_templates.describe_export(report)
    assert (
        json.loads((tmp_path / "export.json").read_text())["model_int8.tflite"]["quantize"]
        == "int8"
    )
    # A file beside it with other contents is not overwritten.
    with pytest.raises(FileExistsError, match="outputs.json already exists with other contents"):
        tl_templates.export_and_check(
            model, tmp_path, "none", examples=images, labels=truth, measures=[strict],
            beside={"outputs.json": "[]\n"},
        )  # fmt: skip


def test_saved_model_serves_the_keras_outputs(tmp_path):
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = tiny_two_output_model()
    images = np.random.default_rng(2).uniform(0, 255, (3, 8, 8, 3)).astype("float32")
    folder = tl_templates.export_saved_model(model, tmp_path / "saved_model")
    assert folder == tmp_path / "saved_model" / "1"
    loaded = tf.saved_model.load(str(folder))  # kept: its variables live as long as it does
    served = loaded.serve(images)
    expected = model.predict(images, verbose=0)
    for name in expected:
        np.testing.assert_allclose(served[name].numpy(), expected[name], atol=1e-5)
    with pytest.raises(FileExistsError, match="already exists"):
        tl_templates.export_saved_model(model, tmp_path / "saved_model")


# Each template, trained briefly on its bundled sample, exported at every setting.

TRAIN_ARGS = ["--strategy", "feature_extraction", "--head-epochs", "3", "--quiet"]
MEASURE = {
    "image-classifier": ("accuracy", ACCURACY_DROP),
    "audio-classifier": ("accuracy", 1 / 6 + 1e-6),  # the sample's test split has 6 clips: one
    "face-multitask": ("gender_accuracy", ACCURACY_DROP),
    "driving-multilabel": ("mean_auc", ACCURACY_DROP),
}
BESIDE = {
    "image-classifier": ["labels.txt"],
    "audio-classifier": ["labels.txt"],
    "face-multitask": ["outputs.json"],
    "driving-multilabel": ["thresholds.json", "labels.txt"],
}


def run_python(args, cwd, timeout=900):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module", params=list(MEASURE))
def trained(request, tmp_path_factory):
    template = request.param
    project = projects.new_project(template, output_dir=tmp_path_factory.mktemp("baked"))
    config = project / "config.toml"
    if template in ("image-classifier", "audio-classifier"):  # one training run, no refit
        config.write_text("refit = false\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_python(["train.py", *TRAIN_ARGS], project)
    assert result.returncode == 0, result.stderr[-3000:]
    return template, project


def test_every_template_exports_at_every_setting(trained):
    template, project = trained
    result = run_python(["export.py", "--quantize", *ALL, "--saved-model"], project)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = project / "outputs"
    reports = json.loads((outputs / "export.json").read_text())
    assert sorted(reports) == ["model.tflite", "model_dynamic.tflite", "model_float16.tflite",
                               "model_int8.tflite"]  # fmt: skip
    for name in BESIDE[template]:
        assert (outputs / name).is_file(), name
    # ... and inside every exported file, in its metadata table, with the same text.
    for file in reports:
        metadata = tflite.read_tflite_metadata(outputs / file)
        for name in BESIDE[template]:
            assert metadata[name] == (outputs / name).read_bytes(), (file, name)
    assert (outputs / "saved_model" / "1" / "saved_model.pb").is_file()
    assert re.search(r"Wrote model_int8\.tflite \([0-9.]+ MB, quantize=int8\)", result.stdout)

    # Sizes: float16 halves the float32 file, int8 weights quarter it (roughly).
    size = {report["quantize"]: report["bytes"] for report in reports.values()}
    assert size["float16"] < 0.6 * size["none"]
    assert size["dynamic"] < 0.4 * size["none"] and size["int8"] < 0.4 * size["none"]

    # Agreement, reloaded here in the interpreter rather than taken from the report.
    model = tl_templates.load_model(outputs / "model.keras", compile=False)
    examples = np.random.default_rng(0).uniform(0, 1, (4, *model.input_shape[1:])).astype("float32")
    if template != "audio-classifier":
        examples *= 255  # raw pixels
    else:
        examples = examples * 2 - 1  # a waveform in [-1, 1]
    expected = model.predict(examples, verbose=0)
    for quantize, atol in (("none", FLOAT32_ATOL), ("float16", FLOAT16_ATOL)):
        got = tl_templates.run_tflite(outputs / reports_file(quantize), examples)
        if isinstance(expected, dict):
            for name in expected:
                scale = 50.0 if name == "age" else 1.0  # years: 1e-2 of a probability ~ 0.5 years
                np.testing.assert_allclose(got[name], expected[name], atol=atol * scale)
        else:
            np.testing.assert_allclose(got, expected, atol=atol)

    # The measure on held-out examples: int8 and dynamic lose at most the stated drop.
    measure, drop = MEASURE[template]
    for report in reports.values():
        values = report["measures"][measure]
        assert values["loss"] <= drop, (report["file"], values)
    if template == "face-multitask":
        for report in reports.values():
            assert report["measures"]["age_mae"]["loss"] <= AGE_DROP, report["file"]


PREDICT_COLUMNS = {
    "image-classifier": ["file", "label", "probability", "top_k", "error"],
    "audio-classifier": ["file", "label", "probability", "top_k", "detections", "error"],
    "face-multitask": ["file", "gender", "gender_probability", "age", "error"],
    "driving-multilabel": [
        "file",
        "labels",
        "car",
        "pedestrian",
        "traffic_light",
        "stop_sign",
        "error",
    ],
}


def test_predict_writes_a_csv_for_a_folder_and_names_unreadable_files(trained, tmp_path):
    template, project = trained
    suffix = ".wav" if template == "audio-classifier" else ".png"
    sample = sorted(
        path for path in (project / "data" / "sample").rglob("*") if path.suffix in (suffix, ".jpg")
    )
    folder = tmp_path / "inputs"
    (folder / "nested").mkdir(parents=True)
    for index, path in enumerate(sample[:5]):
        (folder / "nested" / f"{index}{path.suffix}").write_bytes(path.read_bytes())
    (folder / f"broken{suffix}").write_bytes(b"not a file of that kind")
    table = tmp_path / "predictions.csv"
    result = run_python(
        ["predict.py", str(folder), "--csv", str(table), "--batch-size", "2"], project
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"broken{suffix}: unreadable, skipped" in result.stderr
    import csv

    with table.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == PREDICT_COLUMNS[template]
    assert len(rows) == 6 and sum(bool(row["error"]) for row in rows) == 1
    assert [row for row in rows if row["error"]][0]["file"].endswith(f"broken{suffix}")


def reports_file(quantize):
    return "model.tflite" if quantize == "none" else f"model_{quantize}.tflite"


def test_quantization_settings_are_the_library_ones():
    assert tflite.QUANTIZATIONS == tuple(ALL)
