"""Pretrains the lab_glyphs backbone on the generated character task and saves it.

The shipped weights come from two stages (see CARD.md):

    # 1. fonts only, 8 epochs (~11 min alone on a 2-core CPU)
    python data/lab_glyphs/make_lab_glyphs.py --stroke-fraction 0
    # 2. fonts and pen strokes, 4 epochs from stage 1 (~6 min of training alone)
    python data/lab_glyphs/make_lab_glyphs.py --epochs 4 --learning-rate 1e-3 \
        --initial-weights data/lab_glyphs/lab_glyphs.weights.h5

Writes data/lab_glyphs/lab_glyphs.weights.h5 (the backbone only, no classifier)
and data/lab_glyphs/pretraining.json (sizes, accuracy, time) for CARD.md.
Fonts: the TrueType files inside matplotlib, plus the Debian packages in
`tl_templates.synthetic.glyphs.EXTRA_FONT_PACKAGES` found under /usr/share/fonts
(`apt-get install` them first to reproduce the shipped weights exactly; without
them the script still runs, on fewer fonts).
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from tl_templates.backbones.lab import build_lab_glyphs
from tl_templates.synthetic import glyphs

HERE = Path(__file__).resolve().parent


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=47_000, help="training images")
    parser.add_argument("--validation-images", type=int, default=4_700)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--stroke-fraction", type=float, default=0.5,
        help="share of images drawn as pen strokes (the rest: font renderings)",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=HERE / "lab_glyphs.weights.h5")
    parser.add_argument("--font-dirs", nargs="*", default=["/usr/share/fonts"])
    parser.add_argument(
        "--initial-weights", type=Path, default=None,
        help="continue pretraining from these backbone weights (a second stage)",
    )  # fmt: skip
    args = parser.parse_args()
    previous_stage = None
    if args.initial_weights is not None and (HERE / "pretraining.json").exists():
        previous_stage = json.loads((HERE / "pretraining.json").read_text())

    keras.utils.set_random_seed(args.seed)
    started = time.perf_counter()
    fonts = glyphs.font_files(extra_dirs=args.font_dirs)
    train_images, train_labels = glyphs.make_glyph_dataset(
        args.images, seed=args.seed, fonts=fonts, stroke_fraction=args.stroke_fraction
    )
    validation_images, validation_labels = glyphs.make_glyph_dataset(
        args.validation_images, seed=args.seed + 1, fonts=fonts,
        stroke_fraction=args.stroke_fraction,
    )  # fmt: skip
    generation_seconds = time.perf_counter() - started
    print(
        f"{len(fonts)} fonts, {args.images} + {args.validation_images} images "
        f"in {generation_seconds:.0f} s"
    )

    backbone = build_lab_glyphs((32, 32, 3), weights=args.initial_weights)
    features = keras.layers.GlobalAveragePooling2D()(backbone.output)
    features = keras.layers.Dropout(0.2)(features)
    outputs = keras.layers.Dense(len(glyphs.CLASSES), activation="softmax")(features)
    model = keras.Model(backbone.input, outputs)
    steps = args.epochs * int(np.ceil(args.images / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    validation = (validation_images.astype("float32"), validation_labels)
    history = model.fit(
        train_images.astype("float32"), train_labels, batch_size=args.batch_size,
        epochs=args.epochs, validation_data=validation, verbose=2,
    )  # fmt: skip
    training_seconds = time.perf_counter() - started

    backbone.save_weights(args.output)
    # Source accuracy on each kind of image alone (fresh seeds).
    accuracy_by_kind = {}
    for kind, fraction in (("fonts", 0.0), ("strokes", 1.0)):
        images, labels = glyphs.make_glyph_dataset(
            args.validation_images // 2, seed=args.seed + 2, fonts=fonts, stroke_fraction=fraction
        )
        predicted = np.argmax(model.predict(images.astype("float32"), verbose=0), axis=1)
        accuracy_by_kind[kind] = round(float(np.mean(predicted == labels)), 4)
    report = {
        "fonts": [font.name for font in fonts],
        "font_packages": list(glyphs.EXTRA_FONT_PACKAGES),
        "classes": len(glyphs.CLASSES),
        "train_images": args.images,
        "validation_images": args.validation_images,
        "stroke_fraction": args.stroke_fraction,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "validation_accuracy": round(history.history["val_accuracy"][-1], 4),
        "train_accuracy": round(history.history["accuracy"][-1], 4),
        "validation_accuracy_fonts": accuracy_by_kind["fonts"],
        "validation_accuracy_strokes": accuracy_by_kind["strokes"],
        "generation_seconds": round(generation_seconds, 1),
        "training_seconds": round(training_seconds, 1),
        "backbone_params": backbone.count_params(),
        "weights_bytes": args.output.stat().st_size,
    }
    if previous_stage is not None:
        report["previous_stage"] = previous_stage
    (HERE / "pretraining.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
