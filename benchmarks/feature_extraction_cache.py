"""Feature extraction: the kit's cached features vs the plain Keras-guide approach.

Both train the same head (global average pooling, dropout, softmax) on the same
images for the same number of epochs and steps, with a frozen backbone:

- plain: the frozen base runs inside the model every epoch (the Keras
  transfer-learning guide: `base.trainable = False; base(inputs, training=False)`);
- cached: `tl_templates.train_classifier` runs the backbone once over the data
  and trains the head on its outputs;
- floor: one backbone pass over the data, which any approach must pay.

`--min-steps 0` (the default here) turns off the kit's minimum-steps budget
(`tl_templates.planning.budgets`), which at 800 images would give the head two passes
per epoch, twice plain's steps; pass `--min-steps 300` to time the kit's budget.

Prints the times and their ratios, then one JSON line.

    python benchmarks/feature_extraction_cache.py [--backbone efficientnetb0] [--epochs 10]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import keras  # noqa: E402

import tl_templates  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_common_arguments(parser, images=800)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--min-steps", type=int, default=0, help="train_classifier's min_steps")
    args = parser.parse_args(argv)
    figures = common.setup(args)
    train, validation = common.synthetic_data(args)
    images = keras.ops.concatenate([train[0], validation[0]]).numpy().astype("float32")

    # Plain approach: frozen base inside the model, run every epoch.
    plain, base = common.classifier(args)
    base.trainable = False
    plain.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=figures["jit_compile"],
    )
    plain.fit(*train, batch_size=args.batch_size, epochs=1, verbose=0)  # warm-up: tracing
    started = time.perf_counter()
    plain.fit(*train, batch_size=args.batch_size, epochs=args.epochs, validation_data=validation,
              verbose=0)  # fmt: skip
    plain_seconds = time.perf_counter() - started

    # Floor: one pass of the backbone over the same data (train + validation).
    base.predict(images[: args.batch_size], verbose=0)  # warm-up
    started = time.perf_counter()
    base.predict(images, batch_size=args.batch_size, verbose=0)
    floor_seconds = time.perf_counter() - started

    # The kit: features computed once, head trained on the cache.
    model, backbone = common.classifier(args)
    plan = tl_templates.plan_strategy("feature_extraction", args.backbone)
    backbone.predict(images[: args.batch_size], verbose=0)  # same warm-up as the floor
    with tempfile.TemporaryDirectory() as output:
        started = time.perf_counter()
        tl_templates.train_classifier(
            model, plan, train, validation, head_epochs=args.epochs, fine_tune_epochs=0,
            batch_size=args.batch_size, output_dir=output, verbose=0,
            jit_compile=figures["jit_compile"], min_steps=args.min_steps,
        )  # fmt: skip
        cached_seconds = time.perf_counter() - started

    figures.update(
        epochs=args.epochs,
        min_steps=args.min_steps,
        plain_seconds=round(plain_seconds, 3),
        cached_seconds=round(cached_seconds, 3),
        backbone_pass_seconds=round(floor_seconds, 3),
        speedup=round(plain_seconds / cached_seconds, 2),
        cached_over_floor=round(cached_seconds / floor_seconds, 2),
        plain_over_floor=round(plain_seconds / floor_seconds, 2),
    )
    print(
        f"{args.backbone}, {args.images} images of {args.image_size}px, {args.epochs} epochs "
        f"({figures['precision']})"
    )
    print(f"  plain (frozen base run every epoch): {plain_seconds:8.2f} s")
    print(f"  cached features (tl_templates):      {cached_seconds:8.2f} s")
    print(f"  one backbone pass (the floor):        {floor_seconds:8.2f} s")
    print(
        f"  speed-up {figures['speedup']}x; cached = {figures['cached_over_floor']}x the floor "
        f"(target: at most 1.5x), plain = {figures['plain_over_floor']}x"
    )
    return common.finish(figures)


if __name__ == "__main__":
    main()
