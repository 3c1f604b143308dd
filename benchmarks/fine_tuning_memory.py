"""Peak memory of a training step: most blocks frozen vs every block trainable.

A frozen block needs no gradients and keeps no activations for
backpropagation: fine-tuning only the top blocks should need much less
memory than training the whole network. For each setting, the peak of
TensorFlow's allocator (`tf.config.experimental.get_memory_info`, the GPU's
when there is one, else the CPU's) over a few training steps of the full
model, from a reset before the steps.

Prints the peaks and their ratio, then one JSON line.

    python benchmarks/fine_tuning_memory.py [--backbone efficientnetb0] [--image-size 128]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import tensorflow as tf  # noqa: E402

import tl_templates  # noqa: E402
from tl_templates.training import classifier as training  # noqa: E402

MIB = 1024 * 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_common_arguments(parser, image_size=128, images=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--top-blocks", type=int, default=1)
    args = parser.parse_args(argv)
    figures = common.setup(args)
    (images, labels), _ = common.synthetic_data(args)
    device = common.memory_device()

    model, backbone = common.classifier(args)
    names = tl_templates.block_names(backbone)
    settings = {"most_frozen": names[-args.top_blocks :], "all_trainable": names}
    peaks = {}
    for name, trainable in settings.items():
        tl_templates.set_trainable(model, trainable)
        training.compile_classifier(model, 1e-4, jit_compile=figures["jit_compile"])
        common.seconds_per_step(model, images, labels, args.batch_size, 1)  # traces
        tf.config.experimental.reset_memory_stats(device)
        common.seconds_per_step(model, images, labels, args.batch_size, args.steps)
        peaks[name] = tf.config.experimental.get_memory_info(device)["peak"] / MIB

    figures.update(
        memory_device=device,
        trainable_blocks_most_frozen=settings["most_frozen"],
        most_frozen_peak_mib=round(peaks["most_frozen"], 1),
        all_trainable_peak_mib=round(peaks["all_trainable"], 1),
        all_trainable_over_most_frozen=round(peaks["all_trainable"] / peaks["most_frozen"], 2),
    )
    print(
        f"{args.backbone}, batch {args.batch_size} of {args.image_size}px "
        f"({figures['precision']}), peak of the {device} allocator over {args.steps} steps"
    )
    print(f"  training {', '.join(settings['most_frozen'])} only: {peaks['most_frozen']:9.1f} MiB")
    print(f"  every block trainable:   {peaks['all_trainable']:9.1f} MiB")
    print(f"  ratio {figures['all_trainable_over_most_frozen']}x")
    return common.finish(figures)


if __name__ == "__main__":
    main()
