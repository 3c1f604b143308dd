"""Class-per-folder listing (tl_templates.data.folders): one for training and the doctor."""

import numpy as np
import pytest
from helpers import write_image_folder

import tl_templates
from tl_templates.data import audio_folder, doctor, folders, image_folder, layouts


def test_class_files_sorts_entries_into_data_other_and_folders(tmp_path):
    write_image_folder(tmp_path, {"cat": 2})
    cat = tmp_path / "cat"
    (cat / "B.PNG").write_bytes(b"")
    (cat / "notes.txt").write_text("x")
    (cat / ".hidden.png").write_bytes(b"")
    (cat / "more").mkdir()
    found = folders.class_files(cat, image_folder.IMAGE_EXTENSIONS)
    assert [path.name for path in found.files] == ["0.png", "1.png", "B.PNG"]
    assert [path.name for path in found.ignored] == ["notes.txt"]
    assert [path.name for path in found.nested] == ["more"]


def test_training_and_the_doctor_list_the_same_files(tmp_path):
    write_image_folder(tmp_path, {"dog": 3, "cat": 2})
    (tmp_path / "cat" / "notes.txt").write_text("x")
    (tmp_path / "dog" / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    folder = tl_templates.scan_image_folder(tmp_path)
    report = doctor.DoctorReport(str(tmp_path), "image-folder", None)
    scan = layouts.check_image_folder(tmp_path, report)
    assert scan.split_files == folder.paths
    np.testing.assert_array_equal(scan.split_labels, folder.labels)
    assert scan.class_names == folder.class_names


def test_image_and_audio_folders_are_one_class(tmp_path):
    assert tl_templates.ImageFolder is tl_templates.AudioFolder is folders.ClassFolder
    # The doctor checks the WAV extensions that training reads.
    assert layouts.AUDIO_EXTENSIONS == audio_folder.AUDIO_EXTENSIONS


def scan_wav(root):
    return folders.scan_class_folders(
        root, (".wav",), "WAV files", ("a/1.wav", "b/1.wav"), "recordings"
    )


def test_errors_name_the_folder_and_what_it_lacks(tmp_path):
    with pytest.raises(FileNotFoundError, match="Data folder not found"):
        scan_wav(tmp_path / "none")
    (tmp_path / "only").mkdir()
    with pytest.raises(ValueError, match=r"e\.g\. .*a/1\.wav and .*b/1\.wav\. Found 1 sub"):
        scan_wav(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.wav").write_bytes(b"")
    with pytest.raises(ValueError, match=r"has no WAV files \(\.wav\)\. Add recordings or remove"):
        scan_wav(tmp_path)
