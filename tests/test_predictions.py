"""Predicting on folders: files found, batches, unreadable files named, the CSV."""

import csv

import numpy as np
import pytest
from helpers import write_image_folder

import tl_templates


def test_folders_expand_to_their_images_and_a_missing_path_is_named(tmp_path):
    folder = write_image_folder(tmp_path / "data", {"a": 2, "b": 1})
    (folder / "a" / "notes.txt").write_text("not an image")
    (folder / "a" / ".hidden.png").write_bytes(b"")
    single = folder / "a" / "notes.txt"  # named explicitly: kept whatever its suffix
    files = tl_templates.find_input_files([folder, single])
    assert [path.relative_to(folder).as_posix() for path in files[:-1]] == sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*.png")
        if not path.name.startswith(".")
    )
    assert files[-1] == single
    with pytest.raises(FileNotFoundError, match="missing.png does not exist"):
        tl_templates.find_input_files([tmp_path / "missing.png"])


def test_any_number_of_files_is_predicted_in_batches_past_unreadable_ones():
    files = [f"{index}.png" for index in range(10)]
    batches = []

    def read(path):
        if path in ("3.png", "7.png"):
            raise ValueError(f"Cannot read image {path}")
        return np.full(2, int(path.split(".")[0]), dtype="float32")

    def predict(batch):
        batches.append(len(batch))
        return {"score": batch.sum(axis=1, keepdims=True)}

    done, outputs, failures = tl_templates.predict_files(files, read, predict, batch_size=4)
    assert batches == [3, 3, 2]  # 4 files a batch, less the unreadable ones
    assert done == [path for path in files if path not in ("3.png", "7.png")]
    assert outputs["score"][:, 0].tolist() == [2 * int(path[0]) for path in done]
    assert failures == [("3.png", "Cannot read image 3.png"), ("7.png", "Cannot read image 7.png")]
    assert tl_templates.predict_files(["3.png"], read, predict) == ([], None, failures[:1])


def test_csv_has_top_k_and_an_error_row_per_unreadable_file(tmp_path):
    probabilities = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    rows = tl_templates.classification_rows(
        ["x.png", "y.png"], probabilities, ["cat", "dog", "owl"], top_k=2
    )
    assert rows[0] == {"file": "x.png", "label": "dog", "probability": "0.7000",
                       "top_k": "dog:0.7000 owl:0.2000"}  # fmt: skip
    path = tl_templates.write_predictions_csv(
        tmp_path / "p.csv", rows, [("z.png", "cannot decode")]
    )
    with path.open(newline="") as file:
        written = list(csv.DictReader(file))
    assert [row["file"] for row in written] == ["x.png", "y.png", "z.png"]
    assert written[1]["top_k"] == "cat:0.5000 owl:0.3000" and written[1]["error"] == ""
    assert written[2]["error"] == "cannot decode" and written[2]["label"] == ""
    with pytest.raises(FileExistsError, match="p.csv already exists"):
        tl_templates.write_predictions_csv(path, rows)
