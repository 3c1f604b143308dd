"""Exporting a trained project model for serving, and checking the export.

A template's `export.py` names its held-out examples and its measures; this
module converts (`tl_templates.deploy.tflite`), runs the file in the TFLite
interpreter on those examples, and reports each measure for Keras and for
the file side by side, with the file size. A quantized file that loses more
than a measure's tolerance says so.
"""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np

from tl_templates.deploy import tflite
from tl_templates.project import atomic

# A float32 file computes what Keras computes; outputs further apart than this
# mean a layer was converted differently.
FLOAT32_TOLERANCE = 1e-3


@dataclasses.dataclass(frozen=True)
class ExportMeasure:
    """A number to compare the exported model on.

    Args:
        name: str. What the number is called in reports ("accuracy").
        function: callable. `(labels, predictions) -> float`; `predictions`
            is what `model.predict` returns (an array, or a dict for named
            outputs).
        higher_is_better: bool. False for errors (MAE).
        tolerance: float. The largest loss, in the measure's own units, that
            a quantized file may show before the check says so.

    Examples:
    >>> import numpy as np, tl_templates
    >>> accuracy = tl_templates.ExportMeasure(
    ...     "accuracy", lambda y, p: float(np.mean(p.argmax(-1) == y)), tolerance=0.02)
    >>> accuracy.loss(0.90, 0.85)
    0.05
    """

    name: str
    function: object
    higher_is_better: bool = True
    tolerance: float = 0.02

    def loss(self, keras_value, exported_value):
        """How much worse the exported value is (negative when better)."""
        change = keras_value - exported_value
        return round(change if self.higher_is_better else -change, 6)


def _file_name(quantize, stem="model"):
    """`model.tflite` for float32, `model_<setting>.tflite` for the others."""
    if quantize not in tflite.QUANTIZATIONS:
        raise ValueError(
            f"Unknown quantization. Received: quantize={quantize!r}. "
            f"Known settings: {', '.join(tflite.QUANTIZATIONS)}."
        )
    return f"{stem}.tflite" if quantize == "none" else f"{stem}_{quantize}.tflite"


def _largest_differences(keras_outputs, exported_outputs):
    """Per named output (or "output"), the largest absolute difference."""
    if not isinstance(keras_outputs, dict):
        keras_outputs, exported_outputs = {"output": keras_outputs}, {"output": exported_outputs}
    return {
        name: float(np.max(np.abs(np.asarray(keras_outputs[name]) - exported_outputs[name])))
        for name in keras_outputs
    }


def _write_beside(folder, files):
    """Writes `{name: text}` into `folder`, leaving a file with the same text as it is.

    A file of the same name and another text is refused, so that nothing is
    overwritten.
    """
    folder = Path(folder)
    for name, text in files.items():
        path = folder / name
        if path.exists():
            if path.read_text(encoding="utf-8") != text:
                raise FileExistsError(
                    f"{path} already exists with other contents; remove it or "
                    "export to another folder."
                )
            continue
        atomic.write_text_atomic(path, text)


def export_and_check(model, folder, quantize, *, examples, labels, measures,
                     representative_data=None, beside=None, stem="model"):  # fmt: skip
    """Writes `<folder>/<stem>[_<quantize>].tflite` and measures it against Keras.

    Args:
        model: keras.Model. The trained model (raw input in).
        folder: str or Path. Where the file goes.
        quantize: str. One of `tl_templates.deploy.tflite.QUANTIZATIONS`.
        examples: np.ndarray. Held-out inputs to check on.
        labels: the true labels of `examples`, as the measures take them.
        measures: list of `ExportMeasure`.
        representative_data: np.ndarray or None. Training inputs for "int8".
        beside: dict or None. `{file name: text}` to write next to the file
            (labels, thresholds); one already there with the same text is
            kept, one with another text refused.
        stem: str. The file name without its suffix.

    Returns:
        dict: `file`, `quantize`, `bytes`, `largest_difference` (per output),
        and per measure its Keras and TFLite values and `loss`;
        `within_tolerance` (bool) and `warnings` (sentences). It is also
        added to `<folder>/export.json`.
    """
    path = Path(folder) / _file_name(quantize, stem)
    _write_beside(folder, beside or {})
    # The labels and thresholds also travel inside the file, in its metadata table.
    tflite.export_tflite(
        model, path, quantize=quantize, representative_data=representative_data, metadata=beside
    )
    examples = np.asarray(examples, dtype="float32")
    keras_outputs = model.predict(examples, verbose=0)
    exported_outputs = tflite.run_tflite(path, examples)
    report = {
        "file": path.name,
        "quantize": quantize,
        "bytes": path.stat().st_size,
        "examples": len(examples),
        "largest_difference": _largest_differences(keras_outputs, exported_outputs),
        "measures": {},
        "warnings": [],
    }
    largest = max(report["largest_difference"].values())
    if quantize == "none" and largest > FLOAT32_TOLERANCE:
        report["warnings"].append(
            f"{path.name} (float32) differs from Keras by up to {largest:.2e}, more than "
            f"{FLOAT32_TOLERANCE:g}: an operation converted differently; check the model's layers."
        )
    for measure in measures:
        keras_value = float(measure.function(labels, keras_outputs))
        exported_value = float(measure.function(labels, exported_outputs))
        loss = measure.loss(keras_value, exported_value)
        report["measures"][measure.name] = {
            "keras": keras_value, "tflite": exported_value, "loss": loss,
            "tolerance": measure.tolerance,
        }  # fmt: skip
        if loss > measure.tolerance:
            report["warnings"].append(
                f"{path.name} loses {loss:.4g} {measure.name} against Keras on {len(examples)} "
                f"held-out examples ({keras_value:.4g} -> {exported_value:.4g}), more than the "
                f"tolerance of {measure.tolerance:g}; use a lighter quantization or more "
                "representative examples."
            )
    report["within_tolerance"] = not report["warnings"]
    _record(folder, report)
    return report


def export_each(model, folder, quantizations, saved_model=False, **check):
    """`export_and_check` at each quantization, printing each report; a SavedModel too if asked.

    `check` holds `export_and_check`'s keyword arguments (examples, labels,
    measures, representative_data, beside). Returns the reports, in order.
    """
    reports = []
    for quantize in quantizations:
        report = export_and_check(model, folder, quantize, **check)
        print(describe_export(report))
        reports.append(report)
    if saved_model:
        print(f"Wrote {export_saved_model(model, Path(folder) / 'saved_model')} (TF Serving)")
    return reports


def describe_export(report):
    """A report from `export_and_check` as a few printable lines."""
    differences = ", ".join(
        f"{name} {value:.2e}" for name, value in report["largest_difference"].items()
    )
    size = report["bytes"] / 1e6
    lines = [f"Wrote {report['file']} ({size:.2f} MB, quantize={report['quantize']}); "
             f"largest difference from Keras: {differences}"]  # fmt: skip
    for name, values in report["measures"].items():
        lines.append(f"  {name} on {report['examples']} held-out examples: "
                     f"Keras {values['keras']:.4f}, TFLite {values['tflite']:.4f}")  # fmt: skip
    lines.extend(f"  WARNING: {warning}" for warning in report["warnings"])
    return "\n".join(lines)


def _record(folder, report):
    """Adds `report` to `<folder>/export.json` (one entry per file name)."""
    path = Path(folder) / "export.json"
    reports = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    reports[report["file"]] = report
    atomic.write_json_atomic(path, reports)
    return path


def export_saved_model(model, folder, version=1):
    """Writes a SavedModel for TensorFlow Serving to `<folder>/<version>/`.

    TF Serving loads the highest numbered version from `folder`; the model's
    signature `serve` takes the raw input, like the Keras model.

    Raises:
        FileExistsError: that version exists.
    """
    target = Path(folder) / str(version)
    if target.exists():
        raise FileExistsError(f"{target} already exists; remove it or pass another version.")
    partial = Path(folder) / f".{version}.partial"
    if partial.exists():
        shutil.rmtree(partial)  # left by an interrupted export
    partial.parent.mkdir(parents=True, exist_ok=True)
    model.export(str(partial), format="tf_saved_model", verbose=False)
    partial.replace(target)
    return target
