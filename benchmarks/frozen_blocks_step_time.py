"""Training step time vs the number of frozen blocks (the whole model runs every step).

Backpropagation stops at the first trainable block: freezing more of the low
blocks should make each step cheaper, even without caching. For k = 0 (all
blocks train) up to every block frozen (the head alone trains), the mean
time of one step of the full model.

Prints a line per k, then one JSON line.

    python benchmarks/frozen_blocks_step_time.py [--backbone efficientnetb0] [--steps 10]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

import tl_templates  # noqa: E402
from tl_templates.training import classifier as training  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_common_arguments(parser, images=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--frozen", help="numbers of frozen blocks to time, e.g. 0,7,9 (default: all)"
    )
    args = parser.parse_args(argv)
    figures = common.setup(args)
    (images, labels), _ = common.synthetic_data(args)

    model, backbone = common.classifier(args)
    names = tl_templates.block_names(backbone)
    seconds = []
    print(
        f"{args.backbone}, batch {args.batch_size} of {args.image_size}px "
        f"({figures['precision']}): seconds per training step"
    )
    counts = range(len(names) + 1)
    if args.frozen:
        counts = sorted({int(count) for count in args.frozen.split(",")} | {0, len(names) - 2})
    for frozen in counts:
        tl_templates.set_trainable(model, names[frozen:])
        training.compile_classifier(model, 1e-4, jit_compile=figures["jit_compile"])
        step = common.seconds_per_step(model, images, labels, args.batch_size, args.steps)
        seconds.append(step)
        first = names[frozen] if frozen < len(names) else "head only"
        print(f"  {frozen:2d} frozen (training from {first:>9}): {step:.4f} s")

    figures.update(
        blocks=names,
        frozen_blocks=list(counts),
        step_seconds=[round(value, 5) for value in seconds],
        all_trainable_over_most_frozen=round(seconds[0] / seconds[-1], 2),
        all_trainable_over_top_2=round(seconds[0] / seconds[list(counts).index(len(names) - 2)], 2),
    )
    print(f"  all blocks training / top 2 blocks training: {figures['all_trainable_over_top_2']}x")
    return common.finish(figures)


if __name__ == "__main__":
    main()
