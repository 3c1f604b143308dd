"""Fuzzing the loaders and the doctor with broken files: clear errors, never a traceback.

Random bytes as images, damaged real images, truncated and garbled WAVs,
CSV files with wrong field counts or non-UTF-8 bytes. Each loader must
either succeed or raise a ValueError that names the file; the doctor must
report each bad file and exit 1, never crash.
"""

import io
import json
import struct
import wave

import numpy as np
import pytest
from PIL import Image

from tl_templates import cli, data_checks, image_folder

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
