"""Fine-tuning the top 2 blocks: the frozen prefix cached vs the whole model run every step.

Both train the same model (backbone with random weights, pool, dropout,
softmax) with `tl_templates.train_classifier`, fine-tuning only the top two
blocks for the same epochs on the same images, without augmentation:

- cached: the outputs of the frozen blocks are computed once (one pass of
  the prefix over the data) and the top blocks + head train on them;
- whole: `cache_frozen_blocks=False`, the whole model runs forward at every
  step with the low blocks frozen (the usual Keras way).

Prints the times and their ratio, then one JSON line.

    python benchmarks/fine_tuning_prefix_cache.py [--backbone efficientnetb0] [--epochs 10]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

import tl_templates  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_common_arguments(parser)
    parser.add_argument("--epochs", type=int, default=10)  # the template's fine_tune_epochs
    parser.add_argument("--top-blocks", type=int, default=2)
    args = parser.parse_args(argv)
    figures = common.setup(args)
    train, validation = common.synthetic_data(args)

    seconds = {}
    for cache in (True, False):
        model, backbone = common.classifier(args)
        plan = tl_templates.plan_strategy("fine_tune_top", args.backbone)
        plan.trainable_blocks = tl_templates.block_names(backbone)[-args.top_blocks :]
        with tempfile.TemporaryDirectory() as output:
            started = time.perf_counter()
            phases = tl_templates.train_classifier(
                model, plan, train, validation, head_epochs=0, fine_tune_epochs=args.epochs,
                batch_size=args.batch_size, output_dir=output, verbose=0,
                cache_frozen_blocks=cache, jit_compile=figures["jit_compile"],
            )  # fmt: skip
            seconds[cache] = time.perf_counter() - started
        assert phases[0].cached_features == cache

    figures.update(
        epochs=args.epochs,
        trainable_blocks=plan.trainable_blocks,
        cached_seconds=round(seconds[True], 3),
        whole_model_seconds=round(seconds[False], 3),
        speedup=round(seconds[False] / seconds[True], 2),
    )
    print(
        f"{args.backbone}, {args.images} images of {args.image_size}px, {args.epochs} epochs, "
        f"training {', '.join(plan.trainable_blocks)} ({figures['precision']})"
    )
    print(f"  whole model, frozen blocks run every step: {seconds[False]:8.2f} s")
    print(f"  frozen prefix cached (tl_templates):       {seconds[True]:8.2f} s")
    print(f"  speed-up {figures['speedup']}x (target: at least 2x)")
    return common.finish(figures)


if __name__ == "__main__":
    main()
