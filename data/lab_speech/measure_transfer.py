"""Does lab_speech transfer? Measured on a wake-word target from another synthesizer.

Target: 0.975 s clips of three classes, `background` (noise only), `marvin`
(the wake word) and `other` (30 other words, several of them sound-alikes),
spoken by Flite's voices awb, rms, slt, kal and kal16, which were built from
recordings of real speakers; the source task was 200 other words from
espeak-ng, a formant synthesizer. With k labelled clips per class, over
several seeds, on a fixed test set of 300 clips:

Every fit uses Adam with its learning rate decayed to zero on a cosine.

- feature_extraction: the pretrained backbone frozen, a new softmax head
  (trained on cached features);
- fine_tuning: then every block unfrozen (BatchNormalization kept frozen),
  with audio augmentation (time shift, volume, noise), STEPS steps, its
  learning rate picked on a validation set of 90 other clips from
  {1e-4, 3e-4};
- scratch: the same network from random weights (BatchNormalization
  trained), the same augmentation and steps, its learning rate picked on
  the validation set from {1e-3, 3e-3}.

    apt-get install -y flite
    nice -n 10 python data/lab_speech/measure_transfer.py --shots 5
"""

import argparse
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np

import tl_templates
from tl_templates.training import classifier as training

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import speech_synthesis  # noqa: E402

STEPS = 300
SCRATCH_LEARNING_RATES = (1e-3, 3e-3)
FINE_TUNE_LEARNING_RATES = (1e-4, 3e-4)
METHODS = ("feature_extraction", "fine_tuning", "scratch")


def classifier(backbone, classes):
    clips = keras.Input(backbone.input.shape[1:])
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(clips))
    return keras.Model(clips, keras.layers.Dense(classes, activation="softmax")(pooled))


def fit(model, learning_rate, clips, labels, steps, seed, augment):
    # The learning rate decays to zero on a cosine: with a constant rate, the
    # BatchNormalization moving averages of a network trained from scratch lag
    # its fast-moving weights (found on lab_glyphs, data/lab_glyphs/CARD.md).
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    dataset = training.make_dataset(
        clips, labels, min(32, len(labels)), shuffle=True, seed=seed,
        augmentation=tl_templates.AudioAugmentation(seed=seed) if augment else None,
    )  # fmt: skip
    # One long epoch of `steps` steps: tiny sets would otherwise pay Keras'
    # per-epoch overhead hundreds of times.
    model.fit(dataset.repeat(), steps_per_epoch=steps, epochs=1, verbose=0)


def accuracy(model, clips, labels):
    return float(np.mean(np.argmax(model.predict(clips, verbose=0), axis=1) == labels))


def training_set(shots, seed, pool):
    """`shots` clips per class from the pool, the same for every method of a seed."""
    rng = np.random.default_rng(seed)
    classes = len(speech_synthesis.WAKE_WORD_CLASSES)
    chosen = np.concatenate(
        [
            rng.choice(np.flatnonzero(pool[1] == label), shots, replace=False)
            for label in range(classes)
        ]
    )
    return pool[0][chosen], pool[1][chosen]


def from_scratch(x, y, seed, learning_rate):
    keras.utils.set_random_seed(seed)
    classes = len(speech_synthesis.WAKE_WORD_CLASSES)
    scratch = classifier(tl_templates.build_backbone("lab_speech", weights=None), classes)
    fit(scratch, learning_rate, x, y, STEPS, seed, augment=True)
    return scratch


def run(shots, seed, pool, test, validation):
    x, y = training_set(shots, seed, pool)
    classes = len(speech_synthesis.WAKE_WORD_CLASSES)
    results = {}

    keras.utils.set_random_seed(seed)
    backbone = tl_templates.build_backbone("lab_speech", weights="pretrained")
    model = classifier(backbone, classes)
    # Feature extraction: the frozen backbone runs once; the head trains on its outputs.
    tl_templates.set_trainable(model, [])
    features = backbone.predict(x, verbose=0)
    fit(training.head_model(model), 3e-3, features, y, STEPS, seed, augment=False)
    results["feature_extraction"] = accuracy(model, *test)
    head_weights = model.get_weights()

    def fine_tuned(learning_rate):
        model.set_weights(head_weights)  # every candidate starts after feature extraction
        tl_templates.set_trainable(model, from_block="stem")  # all but BatchNormalization
        fit(model, learning_rate, x, y, STEPS, seed, augment=True)
        return model

    for method, train, rates in (
        ("fine_tuning", fine_tuned, FINE_TUNE_LEARNING_RATES),
        ("scratch", lambda rate: from_scratch(x, y, seed, rate), SCRATCH_LEARNING_RATES),
    ):
        best = (-1.0, None, None)
        for learning_rate in rates:
            trained = train(learning_rate)
            score = accuracy(trained, *validation)
            if score > best[0]:
                best = (score, learning_rate, accuracy(trained, *test))
        results[method], results[f"{method}_learning_rate"] = best[2], best[1]
    print(f"  seed {seed}: " + ", ".join(f"{m} {results[m]:.3f}" for m in METHODS), flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, nargs="+", default=[5])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "transfer.json")
    parser.add_argument(
        "--scratch-check", type=float, metavar="LEARNING_RATE",
        help="only train from scratch at this extra learning rate (is the scratch grid wide "
        "enough?) and record its test accuracy under scratch_checks",
    )  # fmt: skip
    args = parser.parse_args()
    if args.scratch_check:
        return scratch_check(args)

    started = time.perf_counter()
    test = speech_synthesis.wake_word_clips(100, seed=7001)
    validation = speech_synthesis.wake_word_clips(30, seed=7002)
    pool = speech_synthesis.wake_word_clips(60, seed=7003)
    print(f"Target clips generated in {time.perf_counter() - started:.0f} s", flush=True)

    table = {}
    for shots in args.shots:
        print(f"{shots} per class:", flush=True)
        runs = [run(shots, seed, pool, test, validation) for seed in range(args.seeds)]
        table[shots] = {
            method: (
                float(np.mean([r[method] for r in runs])),
                float(np.std([r[method] for r in runs])),
            )
            for method in METHODS
        }
        for method in ("fine_tuning", "scratch"):
            table[shots][f"{method}_learning_rates"] = [r[f"{method}_learning_rate"] for r in runs]
        table[shots]["runs"] = runs

    # Results for other numbers of examples per class (earlier runs) are kept.
    summary = json.loads(args.output.read_text()) if args.output.exists() else {"shots": {}}
    summary.update(
        target="wake word (background / marvin / other words), Flite voices, test 300 clips",
        classes=list(speech_synthesis.WAKE_WORD_CLASSES),
        steps=STEPS,
        fine_tune_learning_rates=list(FINE_TUNE_LEARNING_RATES),
        scratch_learning_rates=list(SCRATCH_LEARNING_RATES),
    )
    for shots, row in table.items():
        summary["shots"][str(shots)] = {
            "seeds": args.seeds,
            "seconds": round(time.perf_counter() - started, 1),
            **{f"{method}_mean": round(row[method][0], 4) for method in METHODS},
            **{f"{method}_std": round(row[method][1], 4) for method in METHODS},
            "chosen_learning_rates": {
                method: row[f"{method}_learning_rates"] for method in ("fine_tuning", "scratch")
            },
            "runs": row["runs"],
        }
    args.output.write_text(json.dumps(summary, indent=2) + "\n")

    print("\n| examples per class | feature extraction | fine-tuning | from scratch |")
    print("|---|---|---|---|")
    for shots, row in sorted(summary["shots"].items(), key=lambda item: int(item[0])):
        cells = [f"{row[f'{m}_mean']:.1%} ± {row[f'{m}_std']:.1%}" for m in METHODS]
        print(f"| {shots} | " + " | ".join(cells) + " |")


def scratch_check(args):
    """From scratch at one more learning rate, on the same training sets and test set."""
    test = speech_synthesis.wake_word_clips(100, seed=7001)
    pool = speech_synthesis.wake_word_clips(60, seed=7003)
    summary = json.loads(args.output.read_text())
    checks = summary.setdefault("scratch_checks", {})
    for shots in args.shots:
        scores = []
        for seed in range(args.seeds):
            x, y = training_set(shots, seed, pool)
            scores.append(accuracy(from_scratch(x, y, seed, args.scratch_check), *test))
            print(f"  {shots} per class, seed {seed}: scratch at {args.scratch_check:g}: "
                  f"{scores[-1]:.3f}", flush=True)  # fmt: skip
        checks[f"{shots}_shot_learning_rate_{args.scratch_check:g}"] = {
            "test_accuracies": scores,
            "mean": round(float(np.mean(scores)), 4),
            "std": round(float(np.std(scores)), 4),
        }
    args.output.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
