"""`tl-templates doctor`: what it finds in messy data, and its exit codes."""

import json
import shutil
import struct
import subprocess
import sys
import wave

import numpy as np
import pytest
from helpers import write_image_folder

import tl_templates
from tl_templates import cli, paths
from tl_templates.data import image_folder

SEED = 42  # a generated project's default seed: the doctor splits as training does


def doctor_json(capsys, *args):
    code = cli.main(["doctor", *map(str, args), "--json"])
    return code, json.loads(capsys.readouterr().out)


def codes(report):
    return {finding["code"]: finding for finding in report["findings"]}


def test_the_bundled_sample_is_ready_to_train(capsys):
    code, report = doctor_json(capsys, paths.SAMPLES_DIR / "digits")
    assert code == 0 and report["ok"] is True
    assert report["findings"] == []
    assert len(report["summary"]["classes"]) == 10
    assert report["summary"]["classes"]["3"] == {"usable": 40, "train": 28, "validation": 6,
                                                 "test": 6}  # fmt: skip
    assert report["summary"]["training_examples"] == 280
    assert report["recommendation"]["strategy"] == "feature_extraction"


@pytest.fixture
def messy(tmp_path):
    data = write_image_folder(tmp_path / "data", {"cat": 30, "dog": 8, "owl": 8}, size=20)
    (data / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (data / "dog" / "notes.txt").write_text("not an image")
    (data / "README.md").write_text("stray")
    # A copy of a training image among the test images of the same class.
    folder = image_folder.scan_image_folder(data)
    train, _, test = image_folder.split_indices(folder.labels, folder.class_names, 0.15, 0.15,
                                                SEED)  # fmt: skip
    source = next(folder.paths[i] for i in train if folder.labels[i] == 1)
    copy = next(folder.paths[i] for i in test if folder.labels[i] == 1)
    shutil.copyfile(source, copy)
    return data, source, copy


def test_a_messy_folder_is_reported_file_by_file(capsys, messy):
    data, source, copy = messy
    code, report = doctor_json(capsys, data)
    assert code == 1 and report["ok"] is False
    found = codes(report)
    assert found["unreadable_file"]["level"] == "error"
    broken = str(data / "cat" / "broken.jpg")
    assert any(broken in path for path in found["unreadable_file"]["paths"])
    assert found["ignored_file"]["paths"] == [str(data / "dog" / "notes.txt")]
    assert found["file_outside_class_folder"]["paths"] == [str(data / "README.md")]
    assert found["class_imbalance"]["level"] == "warning"
    assert "'cat' has 30" in found["class_imbalance"]["message"]
    duplicates = found["duplicate_across_splits"]["paths"]
    assert duplicates == [f"{source} (train) = {copy} (test)"]
    assert report["summary"]["classes"]["cat"]["usable"] == 30  # broken.jpg not counted

    # The split the doctor used is the one training uses: the copy is a test image.
    (data / "cat" / "broken.jpg").unlink()
    splits = tl_templates.load_image_splits(data, image_size=20, seed=SEED)
    duplicate = np.asarray(image_folder.load_image(copy, 20))
    assert any(np.array_equal(duplicate, image) for image in splits.test[0])
    assert any(np.array_equal(duplicate, image) for image in splits.train[0])


def test_a_class_too_small_to_split_stops_training(capsys, tmp_path):
    data = write_image_folder(tmp_path, {"common": 10, "rare": 2})
    code, report = doctor_json(capsys, data)
    assert code == 1
    assert codes(report)["class_too_small"]["paths"] == ["rare: 2 file(s), needs at least 3"]


def test_the_text_report_names_files_and_ends_with_a_verdict(messy):
    data, _, _ = messy
    result = subprocess.run(
        [sys.executable, "-m", "tl_templates.cli", "doctor", str(data)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and result.stderr == ""
    out = result.stdout
    assert f"Cannot read image {data / 'cat' / 'broken.jpg'}" in out
    assert "Recommendation (tl-templates advise):\nstrategy: feature_extraction" in out
    assert out.strip().endswith("training cannot proceed: fix the 1 error(s) above.")


def test_missing_folder_and_unknown_template(capsys, tmp_path):
    code, report = doctor_json(capsys, tmp_path / "nowhere")
    assert code == 1 and codes(report)["no_data_folder"]["level"] == "error"
    assert cli.main(["doctor", str(tmp_path), "--template", "face-multitasc"]) == 1
    assert "template='face-multitasc'. Known templates: image-classifier" in capsys.readouterr().err


def write_wav(path, rate=16000, seconds=0.25, channels=1):
    with wave.open(str(path), "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(np.zeros(int(rate * seconds) * channels, dtype="<i2").tobytes())


def float_wav_bytes(rate=8000, frames=80):
    data = np.zeros(frames, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
    body += struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_audio_folders_report_rates_lengths_and_broken_clips(capsys, tmp_path):
    for word in ("yes", "no"):
        (tmp_path / word).mkdir()
        for index in range(8):
            write_wav(tmp_path / word / f"{index}.wav")
    write_wav(tmp_path / "yes" / "fast.wav", rate=44100, seconds=1.0)
    (tmp_path / "no" / "float.wav").write_bytes(float_wav_bytes())
    whole = (tmp_path / "yes" / "0.wav").read_bytes()
    (tmp_path / "yes" / "cut.wav").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "no" / "song.mp3").write_bytes(b"ID3 not wav")
    code, report = doctor_json(capsys, tmp_path, "--format", "audio-folder")
    assert code == 1
    found = codes(report)
    assert found["unreadable_file"]["paths"] == [
        f"Cannot read WAV file {tmp_path / 'yes' / 'cut.wav'}: truncated: its 'data' chunk "
        f"declares 8000 bytes but the file holds only {len(whole) // 2 - 44}. Re-export it as "
        "a WAV file."
    ]
    assert "ffmpeg" in found["ignored_file"]["message"]
    assert found["mixed_sample_rates"]["level"] == "warning"
    assert report["summary"]["sample_rates_hz"] == {"16000": 16, "44100": 1, "8000": 1}
    assert report["summary"]["clip_seconds"] == {"min": 0.01, "median": 0.25, "max": 1.0}


def test_label_csv_problems_are_named_by_line(capsys, tmp_path):
    write_image_folder(tmp_path / "images", {"x": 4})
    (tmp_path / "labels.csv").write_text(
        "file,gender,age\n"
        "images/x/0.png,1,31\n"
        "images/x/1.png,0,?\n"
        "images/x/2.png,1\n"  # line 4: a field missing
        "images/x/3.png,female,40\n"  # line 5: not a number
        "../secret.png,0,20\n"  # line 6: outside the data folder
        "images/x/9.png,0,20\n",  # line 7: no such file
        encoding="utf-8",
    )
    code, report = doctor_json(capsys, tmp_path, "--format", "image-csv")
    assert code == 1
    found = codes(report)
    assert found["label_file_rows"]["paths"] == ["line 4: 2 fields, the header has 3"]
    assert found["label_value"]["paths"] == ["line 5, column 'gender': 'female'"]
    assert found["label_file_paths"]["paths"] == ["line 6: '../secret.png'"]
    assert found["unreadable_file"]["paths"][0].startswith("line 7: Cannot read image")
    assert report["summary"]["tasks"]["age"] == {"kind": "numeric", "known": 2, "unknown": 1}


@pytest.mark.parametrize(
    "template, sample, data_format",
    [
        ("face-multitask", "faces", "face-labels"),
        ("driving-multilabel", "street_scenes", "scene-labels"),
        ("audio-classifier", "wake_word", "audio-folder"),
    ],
)
def test_each_templates_bundled_sample_is_ready_to_train(capsys, template, sample, data_format):
    code, report = doctor_json(capsys, paths.SAMPLES_DIR / sample, "--template", template)
    assert code == 0 and report["ok"] is True and report["findings"] == []
    assert (report["template"], report["data_format"]) == (template, data_format)
    assert report["recommendation"]["strategy"] == "feature_extraction"


def test_face_template_checks_utkface_names_as_training_reads_them(capsys, tmp_path):
    faces = write_image_folder(tmp_path, {"faces": 6}) / "faces"
    for index, path in enumerate(sorted(faces.iterdir())):
        path.rename(faces / f"{20 + index}_{index % 2}_0_2017010{index}.png")
    bad = {"130_0_0_20170101.png": "age '130' is not a whole number of years (0-120)",
           "30_2_0_20170101.png": "gender '2' is not 0 (male) or 1 (female)",
           "holiday.png": "no age and gender fields"}  # fmt: skip
    for name in bad:
        shutil.copyfile(next(faces.iterdir()), faces / name)
    (faces / "notes.txt").write_text("not a face")
    code, report = doctor_json(capsys, faces, "--template", "face-multitask")
    assert code == 1
    found = codes(report)
    listed = found["utkface_name"]["paths"]
    assert [path.split(": ")[0] for path in listed] == [str(faces / name) for name in sorted(bad)]
    assert all(reason in " ".join(listed) for reason in bad.values())
    assert found["ignored_file"]["paths"] == [str(faces / "notes.txt")]
    assert report["summary"]["images"] == 6
    assert report["summary"]["age_years"] == {"min": 20, "median": 22.5, "max": 25}
    # Training's reader stops on the same files.
    with pytest.raises(ValueError, match="3 image names .* do not follow the UTKFace"):
        tl_templates.read_face_labels(faces)


def test_driving_template_checks_the_label_file_as_training_reads_it(capsys, tmp_path):
    write_image_folder(tmp_path, {"images": 4})
    labels = tmp_path / "labels.csv"
    labels.write_text("filename,car,bus\n0.png,1,0\n1.png,?,1\n2.png,2,0\n3.png,0,-1\n"
                      "images/0.png,1,1\n", encoding="utf-8")  # fmt: skip
    code, report = doctor_json(capsys, tmp_path, "--template", "driving-multilabel")
    assert code == 1
    found = codes(report)
    # Names are relative to images/, as the template reads them; 2 is not a 0/1 label.
    assert found["label_value"]["paths"] == [
        "line 4, column 'car': '2' (not 0, 1 or unknown (empty, ?, -1, NaN))"
    ]
    assert found["unreadable_file"]["paths"][0].startswith("line 6: Cannot read image")
    assert report["summary"]["tasks"]["bus"] == {"kind": "binary", "known": 3, "unknown": 1,
                                                 "positive_fraction": 0.333}  # fmt: skip
    with pytest.raises(ValueError, match=f"{labels} line 4, column 'car'"):
        tl_templates.read_label_csv(labels)
    # A header training would refuse: the doctor names it too.
    labels.write_text("file,car\n0.png,1\n", encoding="utf-8")
    code, report = doctor_json(capsys, tmp_path, "--template", "driving-multilabel")
    assert code == 1
    assert f"{labels} line 1: header mismatch" in codes(report)["label_file"]["message"]
