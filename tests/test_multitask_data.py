"""Multi-task labels: UTKFace names, CSV files with unknown cells, and the drawn samples."""

import numpy as np
import pytest
from PIL import Image

import tl_templates
from tl_templates import paths
from tl_templates.synthetic import faces as synthetic_faces
from tl_templates.synthetic import scenes as synthetic_scenes


def touch_images(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.new("RGB", (8, 8), (120, 90, 60)).save(folder / name)
    return folder


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name, age, gender, race",
    [
        ("25_1_3_20170116174525125.jpg.chip.jpg", 25, 1, 3),
        ("1_0_0_20161219140623097.jpg", 1, 0, 0),
        ("39_1_20170116174525125.jpg", 39, 1, None),  # UTKFace has a few names without race
    ],
)
def test_utkface_names_are_parsed(name, age, gender, race):
    assert tl_templates.parse_utkface_name(name) == {"age": age, "gender": gender, "race": race}


@pytest.mark.parametrize(
    "name, message",
    [
        ("abc_1_0_20170116174525125.jpg", "age 'abc' is not a whole number"),
        ("200_1_0_20170116174525125.jpg", "age '200' is not a whole number"),
        ("25_2_0_20170116174525125.jpg", "gender '2' is not 0 (male) or 1 (female)"),
        ("25_m_0_20170116174525125.jpg", "gender 'm' is not 0"),
        ("portrait.jpg", "no age and gender fields"),
    ],
)
def test_bad_utkface_names_are_reported_with_the_file_name(name, message):
    with pytest.raises(ValueError) as error:
        tl_templates.parse_utkface_name(f"/data/faces/{name}")
    assert str(error.value).startswith(f"{name}: ")
    assert message in str(error.value)
    assert "[age]_[gender]_[race]_[date&time].jpg" in str(error.value)


def test_a_utkface_folder_lists_every_bad_name_with_its_path(tmp_path):
    folder = touch_images(tmp_path / "faces", [
        "30_0_1_20170101000000001.jpg", "x_0_1_20170101000000002.jpg",
        "40_5_1_20170101000000003.jpg", "51_1_2_20170101000000004.jpg",
    ])  # fmt: skip
    (folder / "notes.txt").write_text("not an image, ignored")
    with pytest.raises(ValueError) as error:
        tl_templates.scan_utkface_folder(folder)
    message = str(error.value)
    assert message.startswith("2 image names in")
    assert str(folder / "x_0_1_20170101000000002.jpg") in message and "age 'x'" in message
    assert str(folder / "40_5_1_20170101000000003.jpg") in message and "gender '5'" in message
    (folder / "x_0_1_20170101000000002.jpg").unlink()
    (folder / "40_5_1_20170101000000003.jpg").unlink()
    table = tl_templates.scan_utkface_folder(folder)
    assert table.labels["age"].tolist() == [30.0, 51.0]
    assert table.labels["gender"].tolist() == [0.0, 1.0]


def test_csv_unknown_cells_become_nan_and_other_labels_stay(tmp_path):
    touch_images(tmp_path / "images", ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"])
    csv_path = write_csv(
        tmp_path / "labels.csv",
        "filename,gender,age\na.jpg,1,34\nb.jpg,,27\nc.jpg,?,-1\nd.jpg,0,NaN\n\ne.jpg,1.0, 61.5 \n",
    )
    table = tl_templates.read_label_csv(csv_path, {"gender": "binary", "age": "age"})
    assert [path.name for path in table.paths] == ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]
    np.testing.assert_array_equal(table.labels["gender"], [1, np.nan, np.nan, 0, 1])
    np.testing.assert_array_equal(table.labels["age"], [34, 27, np.nan, np.nan, 61.5])
    assert table.known_counts() == {"gender": 3, "age": 3}


def test_csv_label_set_comes_from_the_header(tmp_path):
    touch_images(tmp_path / "images", ["s1.png", "s2.png"])
    csv_path = write_csv(tmp_path / "labels.csv", "filename,bus,bicycle\ns1.png,1,?\ns2.png,0,1\n")
    table = tl_templates.read_label_csv(csv_path)
    assert list(table.labels) == ["bus", "bicycle"]
    np.testing.assert_array_equal(table.matrix(["bus", "bicycle"]), [[1, np.nan], [0, 1]])


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "filename,gender,age,height\na.jpg,1,30,180\n",
            "line 1: unknown column 'height'. Known columns: filename, gender, age",
        ),
        ("filename,gender\na.jpg,1\n", "line 1: header mismatch: no column 'age'"),
        (
            "file,gender,age\na.jpg,1,30\n",
            "line 1: header mismatch: the first column must be 'filename'",
        ),
        ("filename,gender,age\na.jpg,male,30\n", "line 2, column 'gender': 'male' is not 0, 1"),
        ("filename,gender,age\na.jpg,1,thirty\n", "line 2, column 'age': 'thirty' is not a number"),
        ("filename,gender,age\na.jpg,1,130\n", "line 2, column 'age': '130' is not an age"),
        ("filename,gender,age\na.jpg,1\n", "line 2: 2 fields, but the header has 3"),
        ("filename,gender,age\na.jpg,1,30\na.jpg,0,31\n", "line 3: 'a.jpg' is listed twice"),
        ("filename,gender,age\na.jpg,1,30\nmissing.jpg,0,31\n", "1 image files listed in"),
        ("filename,gender,age\n", "has a header but no rows"),
    ],
)
def test_bad_csv_files_get_errors_naming_file_line_and_column(tmp_path, text, message):
    touch_images(tmp_path / "images", ["a.jpg"])
    csv_path = write_csv(tmp_path / "labels.csv", text)
    with pytest.raises(ValueError) as error:
        tl_templates.read_label_csv(csv_path, {"gender": "binary", "age": "age"}, ("gender", "age"))
    assert str(csv_path) in str(error.value)
    assert message in str(error.value)
    if "missing.jpg" in text:
        assert f"line 3: {tmp_path / 'images' / 'missing.jpg'}" in str(error.value)


def test_a_missing_csv_or_data_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="Label file not found: .*nothere.csv"):
        tl_templates.read_label_csv(tmp_path / "nothere.csv")
    with pytest.raises(FileNotFoundError, match="Data not found: .*nowhere"):
        tl_templates.read_face_labels(tmp_path / "nowhere")


def test_face_labels_from_a_folder_with_labels_csv_or_utkface_names(tmp_path):
    touch_images(
        tmp_path / "images", ["20_1_0_20170101000000001.jpg", "70_0_2_20170101000000002.jpg"]
    )
    write_csv(
        tmp_path / "labels.csv",
        "filename,gender\n20_1_0_20170101000000001.jpg,\n70_0_2_20170101000000002.jpg,0\n",
    )
    from_csv = tl_templates.read_face_labels(tmp_path, tasks=("gender",))
    np.testing.assert_array_equal(from_csv.labels["gender"], [np.nan, 0])
    assert np.all(np.isnan(from_csv.labels["age"]))  # no age column: unknown everywhere
    with pytest.raises(ValueError, match="header mismatch: no column 'age'"):
        tl_templates.read_face_labels(tmp_path, tasks=("gender", "age"))
    from_names = tl_templates.read_face_labels(tmp_path / "images")
    np.testing.assert_array_equal(from_names.labels["age"], [20, 70])


def test_split_examples_is_seeded_disjoint_and_complete():
    train, validation, test = tl_templates.split_examples(40, 0.15, 0.15, seed=3)
    assert (len(train), len(validation), len(test)) == (28, 6, 6)
    assert sorted(np.concatenate([train, validation, test]).tolist()) == list(range(40))
    again = tl_templates.split_examples(40, 0.15, 0.15, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, validation, test), again, strict=True))
    with pytest.raises(ValueError, match="too few"):
        tl_templates.split_examples(2)


def test_drawn_samples_are_reproducible_and_labelled():
    images, ages, genders, races = synthetic_faces.generate_faces(6, seed=5, size=32)
    again = synthetic_faces.generate_faces(6, seed=5, size=32)
    np.testing.assert_array_equal(images, again[0])
    assert images.shape == (6, 32, 32, 3) and set(genders) <= {0, 1} and ages.min() >= 1
    scenes, labels = synthetic_scenes.generate_scenes(6, seed=5, size=32)
    assert scenes.shape == (6, 32, 32, 3) and labels.shape == (6, len(synthetic_scenes.LABELS))
    assert not np.array_equal(scenes[0], scenes[1])


def test_bundled_samples_read_cleanly_with_some_labels_unknown():
    faces = tl_templates.read_face_labels(paths.SAMPLES_DIR / "faces")
    names = tl_templates.read_face_labels(paths.SAMPLES_DIR / "faces" / "images")
    assert sorted(faces.paths) == names.paths
    order = np.argsort([str(path) for path in faces.paths])  # the CSV's rows in name order
    for task in ("gender", "age"):
        from_csv = faces.labels[task][order]
        unknown = np.isnan(from_csv)
        assert 0 < unknown.mean() < 0.3
        # Where the CSV knows a label, it agrees with the file name.
        np.testing.assert_array_equal(from_csv[~unknown], names.labels[task][~unknown])
    scenes = tl_templates.read_label_csv(paths.SAMPLES_DIR / "street_scenes" / "labels.csv")
    assert list(scenes.labels) == list(synthetic_scenes.LABELS)
    matrix = scenes.matrix(list(scenes.labels))
    assert 0 < np.isnan(matrix).mean() < 0.3
    assert all(0 < np.nanmean(column) < 0.7 for column in matrix.T)  # every label occurs
