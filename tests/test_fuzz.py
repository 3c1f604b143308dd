"""Fuzzing the loaders and the doctor with broken files: clear errors, never a traceback.

Random bytes as images, damaged real images, truncated and garbled WAVs,
CSV files with wrong field counts or non-UTF-8 bytes, random UTKFace file
names. Each loader (the image folder, the WAV reader, the face and driving
templates' label readers) must either succeed or raise a ValueError that
names the file (and the line, for a CSV file); the doctor must report each
bad file and exit 1, never crash, with a layout or with a template's name.
"""

import io
import json
import struct
import wave

import numpy as np
import pytest
from PIL import Image

import tl_templates
from tl_templates import cli
from tl_templates.data import checks as data_checks
from tl_templates.data import image_folder

SEED = 2024
MAGIC = {  # real headers make the decoders go further into the garbage
    ".png": b"\x89PNG\r\n\x1a\n",
    ".jpg": b"\xff\xd8\xff\xe0",
    ".gif": b"GIF89a",
    ".bmp": b"BM",
    ".webp": b"RIFF\x00\x01\x00\x00WEBP",
}


def random_bytes(rng, size):
    return rng.integers(0, 256, size, dtype=np.uint8).tobytes()


def real_image(suffix, rng=None):
    rng = rng or np.random.default_rng(SEED)
    buffer = io.BytesIO()
    pixels = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format={".jpg": "JPEG"}.get(suffix, suffix[1:].upper()))
    return buffer.getvalue()


def broken_images():
    """`(name, bytes)`: random, magic + random, truncated, and bit-flipped images."""
    rng = np.random.default_rng(SEED)
    cases = [("empty.png", b"")]
    for index in range(15):
        cases.append((f"random{index}.jpg", random_bytes(rng, int(rng.integers(1, 3000)))))
    for suffix, magic in MAGIC.items():
        for index in range(8):
            tail = random_bytes(rng, int(rng.integers(0, 2000)))
            cases.append((f"magic{index}{suffix}", magic + tail))
        whole = real_image(suffix, rng)
        for index in range(8):
            cut = int(rng.integers(1, len(whole) - 1))
            cases.append((f"cut{index}{suffix}", whole[:cut]))
            flipped = bytearray(whole)
            for position in rng.integers(0, len(whole), 8):
                flipped[position] ^= 1 << int(rng.integers(0, 8))
            cases.append((f"flipped{index}{suffix}", bytes(flipped)))
    # A header claiming an enormous image (a decompression bomb).
    header = b"\x00\x00\x00\rIHDR" + struct.pack(">II", 100_000, 100_000) + b"\x08\x02\x00\x00\x00"
    cases.append(("bomb.png", MAGIC[".png"] + header + b"\x00" * 4))
    return cases


def wav_bytes(frames=800, rate=8000):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(random_bytes(np.random.default_rng(SEED), frames * 2))
    return buffer.getvalue()


def broken_wavs():
    rng = np.random.default_rng(SEED)
    whole = wav_bytes()
    cases = [("empty.wav", b""), ("header_only.wav", whole[:12])]
    for index in range(10):
        cases.append((f"cut{index}.wav", whole[: int(rng.integers(1, len(whole) - 1))]))
        cases.append((f"random{index}.wav", random_bytes(rng, int(rng.integers(1, 500)))))
        garbled = bytearray(whole)
        garbled[12:44] = random_bytes(rng, 32)  # a random fmt/data header
        cases.append((f"garbled{index}.wav", bytes(garbled)))
    return cases


def broken_csvs():
    good = "file,gender,age\nimages/a/0.png,1,30\n"
    return [
        ("fields.csv", good + "images/a/0.png,1\nimages/a/0.png,1,30,extra\n"),
        ("latin1.csv", (good + "images/a/0.png,1,30 ans \xe9t\xe9\n").encode("latin-1")),
        ("random.csv", random_bytes(np.random.default_rng(SEED), 400)),
        ("nul.csv", good + "images/a/0.png,\x00,30\n"),
        ("quote.csv", good + 'images/a/0.png,"1,30\n'),
        ("empty.csv", ""),
        ("header.csv", "file,,file\n"),
        ("huge_field.csv", good + "images/a/0.png,1," + "9" * 200_000 + "\n"),
    ]


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("reader", ["load_image", "image_info"])
def test_image_readers_decode_or_name_the_file(tmp_path, reader):
    decoded = 0
    for name, content in broken_images():
        path = write(tmp_path / name, content)
        try:
            if reader == "load_image":
                assert image_folder.load_image(path, 16).shape == (16, 16, 3)
            else:
                data_checks.image_info(path)
            decoded += 1  # a bit flip in pixel data can leave a valid image
        except ValueError as error:
            assert f"Cannot read image {path}" in str(error)
    assert decoded < len(broken_images()) / 2


def test_wav_reader_reads_or_names_the_file(tmp_path):
    assert data_checks.wav_info(write(tmp_path / "good.wav", wav_bytes()))["frames"] == 800
    for name, content in broken_wavs():
        path = write(tmp_path / name, content)
        try:
            info = data_checks.wav_info(path)
        except ValueError as error:
            assert f"Cannot read WAV file {path}" in str(error)
        else:  # whatever was accepted must be self-consistent
            assert info["frames"] * info["channels"] * info["bits"] // 8 <= len(content)


def test_csv_reader_keeps_good_rows_and_names_the_bad_ones(tmp_path):
    for name, content in broken_csvs():
        path = write(tmp_path / name, content)
        try:
            table = data_checks.read_csv_table(path)
        except ValueError as error:
            assert str(path) in str(error)
        else:
            assert all(problem.startswith("line ") for problem in table.problems)
            assert all(len(row) == len(table.header) for _, row in table.rows)
    table = data_checks.read_csv_table(tmp_path / "fields.csv")
    assert table.problems == ["line 3: 2 fields, the header has 3",
                              "line 4: 4 fields, the header has 3"]  # fmt: skip
    with pytest.raises(ValueError, match=r"latin1.csv line 3: not UTF-8 text \(byte 0xe9\)"):
        data_checks.read_csv_table(tmp_path / "latin1.csv")


def run_doctor(capsys, *args):
    code = cli.main(["doctor", *map(str, args), "--json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, json.loads(captured.out)


def listed_paths(report):
    return " ".join(path for finding in report["findings"] for path in finding["paths"])


def test_doctor_reports_every_broken_image_and_exits_1(capsys, tmp_path):
    unreadable = []
    for name, content in broken_images():
        path = write(tmp_path / "data" / ("a" if len(name) % 2 else "b") / name, content)
        try:
            data_checks.image_info(path)
        except ValueError:
            unreadable.append(path)
    code, report = run_doctor(capsys, tmp_path / "data")
    assert code == 1
    reported = next(f for f in report["findings"] if f["code"] == "unreadable_file")["paths"]
    assert len(reported) == len(unreadable)
    assert all(f"Cannot read image {path}:" in " ".join(reported) for path in unreadable)
    # And training on this folder stops with the first bad file named, not a traceback.
    with pytest.raises(ValueError, match="Cannot read image .*Remove or replace the file"):
        image_folder.load_image_splits(tmp_path / "data", 16)


def test_doctor_survives_broken_wavs(capsys, tmp_path):
    for index in range(6):
        write(tmp_path / "yes" / f"good{index}.wav", wav_bytes())
        write(tmp_path / "no" / f"good{index}.wav", wav_bytes())
    for name, content in broken_wavs():
        write(tmp_path / "no" / name, content)
    code, report = run_doctor(capsys, tmp_path, "--format", "audio-folder")
    assert code == 1
    assert str(tmp_path / "no" / "empty.wav") in listed_paths(report)
    assert str(tmp_path / "no" / "header_only.wav") in listed_paths(report)


@pytest.mark.parametrize("name, content", broken_csvs(), ids=[name for name, _ in broken_csvs()])
def test_doctor_survives_broken_label_files(capsys, tmp_path, name, content):
    write(tmp_path / "images" / "a" / "0.png", real_image(".png"))
    write(tmp_path / "labels.csv", content)
    code, report = run_doctor(capsys, tmp_path, "--format", "image-csv")
    assert code == 1, report  # every one of these files has a problem that stops training
    assert any(finding["level"] == "error" for finding in report["findings"])


def test_wav_loader_reads_or_names_the_file(tmp_path):
    for name, content in broken_wavs():
        path = write(tmp_path / name, content)
        try:
            waveform = tl_templates.read_wav(path)
        except ValueError as error:
            assert str(path) in str(error)
        else:
            assert waveform.ndim == 1 and np.all(np.isfinite(waveform))


def test_the_audio_template_stops_on_broken_wavs_with_the_file_named(capsys, tmp_path):
    for index in range(6):
        write(tmp_path / "yes" / f"good{index}.wav", wav_bytes())
        write(tmp_path / "no" / f"good{index}.wav", wav_bytes())
    for name, content in broken_wavs():
        write(tmp_path / "no" / name, content)
    code, report = run_doctor(capsys, tmp_path, "--template", "audio-classifier")
    assert code == 1 and report["template"] == "audio-classifier"
    assert str(tmp_path / "no" / "empty.wav") in listed_paths(report)
    with pytest.raises(ValueError, match=f"{tmp_path / 'no'}/"):
        tl_templates.load_audio_splits(tmp_path, 800)


def random_face_names():
    """UTKFace-like names built from good, bad and odd fields (non-ASCII digits included)."""
    rng = np.random.default_rng(SEED)
    fields = ["25", "0", "1", "3", "120", "121", "-4", "", "abc", "07", "1.5", "\u00b2",
              "\u0663", "\uff12\uff15", " 3", "2017011617452512", "\u00e9"]  # fmt: skip
    names = set()
    while len(names) < 60:
        parts = rng.choice(fields, int(rng.integers(1, 6)))
        names.add("_".join(parts) + str(rng.choice([".jpg", ".jpg.chip.jpg", ".png", ".JPG"])))
    return sorted(names)


def test_utkface_names_parse_or_name_the_file(tmp_path):
    image = real_image(".png")
    rejected = []
    for name in random_face_names():
        path = write(tmp_path / "faces" / name, image)
        try:
            fields = tl_templates.parse_utkface_name(path)
        except ValueError as error:
            assert str(error).startswith(f"{name}: ") and "UTKFace names look like" in str(error)
            rejected.append(path)
        else:
            assert 0 <= fields["age"] <= 120 and fields["gender"] in (0, 1)
    assert 0 < len(rejected) < len(random_face_names())
    with pytest.raises(ValueError) as error:
        tl_templates.read_face_labels(tmp_path / "faces")
    message = str(error.value)
    assert message.startswith(f"{len(rejected)} image names in {tmp_path / 'faces'} do not")
    assert str(rejected[0]) in message


def test_the_face_template_doctor_lists_every_bad_name_and_image(capsys, tmp_path):
    faces = tmp_path / "faces"
    rejected = []
    for name in random_face_names():
        path = write(faces / name, real_image(".png"))
        try:
            tl_templates.parse_utkface_name(path)
        except ValueError:
            rejected.append(path)
    broken = write(faces / "30_1_0_20170101.jpg", b"\xff\xd8\xff\xe0 cut")
    code, report = run_doctor(capsys, faces, "--template", "face-multitask")
    assert code == 1
    found = {finding["code"]: finding["paths"] for finding in report["findings"]}
    assert [path.split(": ")[0] for path in found["utkface_name"]] == [str(p) for p in rejected]
    assert len(found["unreadable_file"]) == 1
    assert found["unreadable_file"][0].startswith(f"Cannot read image {broken}: ")


def broken_scene_csvs():
    """The driving template's label file, damaged: `(name, content)`."""
    good = "filename,car,bus\n0.png,1,0\n"
    return [
        *[(name, content) for name, content in broken_csvs() if name != "fields.csv"],
        ("fields.csv", good + "0.png,1\n"),
        ("value.csv", good + "1.png,2,0\n"),
        ("outside.csv", good + "../0.png,1,0\n"),
        ("twice.csv", good + "0.png,0,1\n"),
        ("header_file.csv", "file,car\n0.png,1\n"),
        ("column.csv", "filename,car light\n0.png,1\n"),
    ]


@pytest.mark.parametrize(
    "name, content", broken_scene_csvs(), ids=[name for name, _ in broken_scene_csvs()]
)
def test_driving_labels_stop_loader_and_doctor_with_the_file_and_line(
    capsys, tmp_path, name, content
):
    write(tmp_path / "images" / "0.png", real_image(".png"))
    write(tmp_path / "images" / "1.png", real_image(".png"))
    labels = write(tmp_path / "labels.csv", content)
    with pytest.raises(ValueError) as error:
        tl_templates.read_label_csv(labels)
    message = str(error.value)
    assert str(labels) in message and (" line " in message or "no rows" in message), message
    code, report = run_doctor(capsys, tmp_path, "--template", "driving-multilabel")
    assert code == 1, report  # each of these stops training, so the doctor says so
