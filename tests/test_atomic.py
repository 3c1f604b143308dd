"""Atomic writes: a destination is its old version or its new one, never half."""

import json
import signal
import subprocess
import sys
import time

import pytest

import tl_templates
from tl_templates.project import atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    tl_templates.write_json_atomic(target, {"accuracy": 0.5})
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as temporary:
        temporary.write_text('{"accuracy": 0.')
        raise RuntimeError("disk full")
    assert json.loads(target.read_text()) == {"accuracy": 0.5}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["metrics.json"]


def test_the_temporary_keeps_the_suffixes_writers_check(tmp_path):
    with atomic.atomic_path(tmp_path / "best.weights.h5") as temporary:
        assert temporary.parent == tmp_path
        assert temporary.name.endswith("best.weights.h5") and temporary.name.startswith(".")
        temporary.write_bytes(b"x")
    assert (tmp_path / "best.weights.h5").read_bytes() == b"x"


def test_csv_and_text_writers(tmp_path):
    atomic.write_csv_atomic(tmp_path / "h.csv", [{"epoch": 1, "loss": 0.5, "extra": 9}],
                            ["epoch", "loss"])  # fmt: skip
    assert (tmp_path / "h.csv").read_text() == "epoch,loss\n1,0.5\n"
    tl_templates.write_text_atomic(tmp_path / "labels.txt", "café\n")
    assert (tmp_path / "labels.txt").read_text(encoding="utf-8") == "café\n"


WRITER = """
import sys, time
from tl_templates.project import atomic
target, = sys.argv[1:]
while True:
    with atomic.atomic_path(target) as temporary:
        with open(temporary, "wb") as file:
            for _ in range(200):
                file.write(b"y" * 100_000)  # 20 MB, slowly
                file.flush()
                time.sleep(0.001)
"""


def test_a_writer_killed_mid_write_never_leaves_a_half_file(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old complete model")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".partial-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # well inside a write
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    content = target.read_bytes()
    assert content in (b"old complete model", b"y" * 20_000_000)
    assert atomic.remove_partial_files(tmp_path)  # the killed write's leftover
    assert [path.name for path in tmp_path.iterdir()] == ["model.keras"]


def test_history_writer_continues_the_file_and_writes_it_whole(tmp_path):
    import keras
    import numpy as np

    from tl_templates.training import classifier as training

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.default_rng(0).random((8, 4)), np.arange(8) % 2
    for phase, first in (("one", 0), ("two", 2)):
        writer = training.HistoryWriter(tmp_path / "history.csv", phase)
        model.fit(x, y, validation_data=(x, y), initial_epoch=first, epochs=first + 2, verbose=0,
                  callbacks=[writer])  # fmt: skip
    rows = tl_templates.read_history(tmp_path / "history.csv")
    assert [(row["epoch"], row["phase"]) for row in rows] == [
        (1, "one"), (2, "one"), (3, "two"), (4, "two")
    ]  # fmt: skip
    assert [path.name for path in tmp_path.iterdir()] == ["history.csv"]
