"""The audio product path against the research path, on the lab_speech card's wake-word target.

The target of data/lab_speech/measure_transfer.py (background / marvin /
other words, spoken by Flite's voices, which the backbone never heard), with
its fixed test set of 300 clips, validation set of 90 and pool of 180. For k
clips per class:

- template: the k x 3 clips are written as WAV files in class folders (what a
  user has), an audio-classifier project is generated
  (`tl-templates new audio-classifier --no-input`) and trained as a user
  would: `python train.py --data FOLDER` with its defaults, and with
  `--weights none` (the template's from-scratch recipe). The project splits
  the k per class into train / validation / test itself;
- library: measure_transfer.py's recipe on the same k clips per class, all of
  them for training, with its own 90 validation clips to pick learning rates
  (fine-tuning and from scratch);

and each model is scored on the same 300 test clips, read from WAV files by
the kit's loader. Prints a table and one JSON line. Needs Flite
(`apt-get install -y flite`).

    python benchmarks/audio_template_vs_library.py                # 5 and 10 per class
    python benchmarks/audio_template_vs_library.py --shots 5 --no-library
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tl_templates
from tl_templates.backbones.audio_frontend import PATCH_SAMPLES
from tl_templates.data import audio_folder
from tl_templates.data.audio_files import write_wav
from tl_templates.planning import budgets

REPOSITORY = Path(__file__).resolve().parents[1]
MEASURE_TRANSFER = REPOSITORY / "data" / "lab_speech" / "measure_transfer.py"


def load_measure_transfer():
    spec = importlib.util.spec_from_file_location("measure_transfer", MEASURE_TRANSFER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_clips(folder, clips, labels, class_names):
    """16-bit WAV files, one folder per class: a user's data set."""
    for index, (clip, label) in enumerate(zip(clips, labels, strict=True)):
        (folder / class_names[label]).mkdir(parents=True, exist_ok=True)
        write_wav(folder / class_names[label] / f"{index:05d}.wav", clip)
    return folder


def read_clips(folder, class_names):
    """The clips of `folder` through the kit's WAV loader, labelled in `class_names` order."""
    found = audio_folder.scan_audio_folder(folder)
    assert found.class_names == list(class_names), found.class_names
    return audio_folder.load_clips(found.paths, PATCH_SAMPLES), found.labels


def template_accuracy(project, data, output, test, *flags):
    """Trains the generated project on `data` and scores its model on the test clips."""
    command = [sys.executable, "train.py", "--data", str(data), "--output", str(output),
               "--quiet", *flags]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, cwd=project, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    model = tl_templates.load_model(output / "model.keras")
    predictions = np.argmax(model.predict(test[0], verbose=0), axis=1)
    metrics = json.loads((output / "metrics.json").read_text())
    return {
        "held_out_accuracy": float(np.mean(predictions == test[1])),
        "own_test_accuracy": metrics["test_accuracy"],
        "own_test_examples": metrics["test_accuracy_interval"]["examples"],
        "strategy": metrics["strategy"],
        "phases": [
            {key: phase[key] for key in ("name", "steps", "learning_rate", "best_val_accuracy")}
            for phase in metrics["phases"]
        ],
        "auto": metrics.get("auto"),
        "seconds": round(seconds, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--seed", type=int, default=0, help="which k clips are drawn")
    parser.add_argument("--no-library", action="store_true", help="template rows only")
    args = parser.parse_args(argv)
    measure = load_measure_transfer()
    speech = measure.speech_synthesis
    class_names = list(speech.WAKE_WORD_CLASSES)  # sorted, as the class folders sort

    started = time.perf_counter()
    test = speech.wake_word_clips(100, seed=7001)  # the card's sets (measure_transfer.main)
    validation = speech.wake_word_clips(30, seed=7002)
    pool = speech.wake_word_clips(60, seed=7003)
    synthesis_seconds = round(time.perf_counter() - started, 1)
    print(f"Target clips synthesized in {synthesis_seconds:.0f} s", flush=True)

    rows = {}
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        new = [sys.executable, "-m", "tl_templates.cli", "new", "audio-classifier", "--no-input"]
        subprocess.run([*new, "-o", str(work)], check=True, stdout=subprocess.DEVNULL)
        project = next(path for path in work.iterdir() if (path / "train.py").exists())
        # The test clips go through the same WAV files and loader as a user's.
        test = read_clips(write_clips(work / "test", *test, class_names), class_names)
        for shots in args.shots:
            clips, labels = measure.training_set(shots, args.seed, pool)  # the library's draw
            data = write_clips(work / f"clips_{shots}", clips, labels, class_names)
            row = {
                "template_default": template_accuracy(
                    project, data, work / f"out_{shots}_default", test),
                "template_scratch": template_accuracy(
                    project, data, work / f"out_{shots}_scratch", test, "--weights", "none"),
            }  # fmt: skip
            if not args.no_library:
                started = time.perf_counter()
                library = measure.run(shots, args.seed, pool, test, validation)
                row["library"] = {**library, "seconds": round(time.perf_counter() - started, 1)}
            rows[shots] = row
            print(json.dumps({shots: row}), flush=True)

    print(
        "\n| per class | template defaults | template scratch | library feature extraction "
        "| library fine-tuning | library scratch |"
    )
    print("|---|---|---|---|---|---|")
    for shots, row in rows.items():
        library = row.get("library", {})
        default = row["template_default"]
        cells = [
            f"{default['held_out_accuracy']:.1%} ({default['strategy']})",
            f"{row['template_scratch']['held_out_accuracy']:.1%}",
            *(f"{library[name]:.1%}" if name in library else "-"
              for name in ("feature_extraction", "fine_tuning", "scratch")),
        ]  # fmt: skip
        print(f"| {shots} | " + " | ".join(cells) + " |")
    print(json.dumps({
        "seed": args.seed, "test_examples": len(test[1]),
        # Unset: the kit's budgets (600 steps a phase that trains blocks, 300 the head).
        budgets.MIN_STEPS_VARIABLE: os.environ.get(budgets.MIN_STEPS_VARIABLE),
        "synthesis_seconds": synthesis_seconds, "rows": rows,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
