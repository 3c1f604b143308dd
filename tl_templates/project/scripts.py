"""The glue of a generated project's scripts: shared flags, the set-up before training, the exit.

A template's `train.py` reads top to bottom as the steps of transfer learning
(load the data, build the model from named blocks, train the head, fine-tune,
evaluate, save). What every template needs around those steps lives here,
once, as nanoGPT's `configurator.py` takes the plumbing out of its `train.py`:

- `training_parser`: the flags every `train.py` takes (`--data`,
  `--strategy`, `--weights`, `--backbone`, the input size, the epochs,
  `--batch-size`, `--distribution`, `--seed`, `--output`, `--restart`,
  `--quiet`); a template adds its own (`--tasks`, `--augment`) to it.
- `settings_from_flags`: those flags as overrides of config.toml.
- `start_training`: the prologue (where to train, the output folder, the
  seed, mixed precision and XLA), or the finished run it finds.
- `export_parser` and `saved_settings`: the same for `export.py`.
- `run`: `if __name__ == "__main__"`: a bad input is one line `error: ...`
  (exit 1), not a traceback; Ctrl-C says how to continue (exit 130).

Nothing here imports Keras or TensorFlow when it is imported: a script
builds its parser and answers `--help` at once; `start_training` imports
them when it runs.
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

STRATEGY_HELP = (
    "auto, feature_extraction, fine_tune_top, truncate_and_fine_tune, fine_tune_all, "
    "train_from_scratch or custom"
)
# The flags that steer the script, not the run: they are not settings.
SCRIPT_FLAGS = ("output", "restart", "quiet")
# Flags whose setting has another name in config.toml.
SETTING_NAMES = {"data": "data_dir"}
RESUME_HINT = "Run the same command again to continue after the last finished epoch."


def training_parser(
    description,
    output_dir,
    data_help,
    weights_help='"pretrained", "imagenet", "none" or a weights file',
    backbone_help="a name from `tl-templates backbones`",
    input_size=("--image-size", int),
):
    """The `argparse` parser of a template's `train.py`, with the flags every template shares.

    Every flag defaults to None, "not given": config.toml's value stands
    (see `settings_from_flags`), except `--output`, `--restart`, `--quiet`.

    Args:
        description: str. The script's docstring, shown by `--help`.
        output_dir: Path. The default of `--output` (the project's outputs/).
        data_help: str. What `--data` takes for this template.
        weights_help: str. What `--weights` takes.
        backbone_help: str. Which backbones `--backbone` takes.
        input_size: (flag, type). The input-size flag: `("--image-size", int)`,
            or `("--clip-seconds", float)` for sound.

    Returns:
        argparse.ArgumentParser. Add the template's own flags, then parse.

    Examples:

    >>> from pathlib import Path
    >>> from tl_templates.project import scripts
    >>> parser = scripts.training_parser("Trains.", Path("outputs"), "a folder")
    >>> args = parser.parse_args(["--head-epochs", "2", "--quiet"])
    >>> scripts.settings_from_flags(args)
    {'head_epochs': 2}
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", help=data_help)
    parser.add_argument("--strategy", help=STRATEGY_HELP)
    parser.add_argument("--weights", help=weights_help)
    parser.add_argument("--backbone", help=backbone_help)
    size_flag, size_type = input_size
    parser.add_argument(size_flag, type=size_type)
    parser.add_argument("--head-epochs", type=int)
    parser.add_argument("--fine-tune-epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--distribution", help="auto, default, mirrored, multi_worker (TF_CONFIG) "
                        "or tpu: where the replicas of the model train")  # fmt: skip
    parser.add_argument("--seed", type=int, help="same seed, same numbers: also makes TensorFlow's "
                        "ops deterministic (slower on a GPU)")  # fmt: skip
    parser.add_argument("--output", type=Path, default=output_dir, help="default: outputs/")
    parser.add_argument("--restart", action="store_true", help="start over: the previous run in "
                        "--output is moved aside (nothing is deleted)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bars")
    return parser


def settings_from_flags(args):
    """The flags given on the command line, as config.toml settings (`--data` is `data_dir`).

    Flags not given (None) are left out, so config.toml's values stand; the
    flags that steer the script (`--output`, `--restart`, `--quiet`) are not
    settings.
    """
    return {
        SETTING_NAMES.get(name, name): value
        for name, value in vars(args).items()
        if name not in SCRIPT_FLAGS and value is not None
    }


@dataclasses.dataclass
class Training:
    """What `start_training` set up: read `train.py` with these names.

    Attributes:
        config: the project's Config (config.toml, then the flags).
        strategy: tf.distribute.Strategy. Build the model in `strategy.scope()`.
        batch_size: int. Examples per step over all replicas.
        output: Path. The folder this worker writes to.
        jit_compile: bool. For `model.compile(jit_compile=...)`.
        verbose: int. Keras's `verbose`: 2 (one line per epoch) with `--quiet`.
        finished: dict or None. A finished run's metrics: nothing to do.
    """

    config: object
    strategy: object = None
    batch_size: int = 0
    output: Path = None
    jit_compile: bool = False
    verbose: int = 1
    finished: dict = None


def start_training(args, load_config, headline=("test_accuracy",)):
    """The prologue of every `train.py`, in the order it must run.

    1. The settings: config.toml, then the flags (`settings_from_flags`).
    2. Where to train, before TensorFlow runs anything (multi_worker needs
       that): the distribution strategy and the global batch size.
    3. The output folder: a finished run of the same settings and data is
       left as it is (`finished`); another command stops with a ValueError
       naming what differs; `--restart` moves an old run aside. With
       several workers only the chief writes to `--output`.
    4. The seed: the split, the initial head and the shuffling; `--seed`
       also asks TensorFlow for deterministic ops (identical numbers).
    5. Mixed precision and XLA where the hardware gains from them, before
       the model is built (config.toml: Speed).

    Args:
        args: argparse.Namespace. From `training_parser(...).parse_args()`.
        load_config: callable. The project's `config.load_config`.
        headline: str or tuple of str. Metrics quoted about a finished run.

    Returns:
        Training.
    """
    import tl_templates

    config = load_config(**settings_from_flags(args))
    strategy = tl_templates.choose_strategy(config.distribution)
    batch_size = tl_templates.global_batch_size(config.batch_size, strategy)  # all replicas
    print(f"Distribution: {tl_templates.describe_strategy(strategy)}, batch size {batch_size}")
    output = tl_templates.worker_output_dir(args.output, strategy, restart=args.restart)
    finished = tl_templates.prepare_output_folder(
        output, restart=args.restart, settings=dataclasses.asdict(config),
        data=config.data_path, headline=headline,
    )  # fmt: skip
    if finished:
        return Training(config, finished=finished)
    deterministic = config.deterministic or args.seed is not None
    tl_templates.seed_everything(config.seed, deterministic=deterministic)
    precision = tl_templates.set_precision(config.mixed_precision)
    jit_compile = tl_templates.choose_jit_compile(config.jit_compile)
    print(f"Precision: {precision}; XLA: {'on' if jit_compile else 'off'}")
    verbose = 2 if args.quiet else 1
    return Training(config, strategy, batch_size, output, jit_compile, verbose)


def export_parser(description, output_dir):
    """The `argparse` parser of a template's `export.py`: its model, output and quantizations.

    The template adds its tolerances (how much a quantized file may lose).

    Args:
        description: str. The script's docstring, shown by `--help`.
        output_dir: Path. The project's outputs/ (`--model` defaults to its model.keras).
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path(output_dir) / "model.keras")
    parser.add_argument("--output", type=Path, help="default: the model's folder")
    parser.add_argument("--quantize", nargs="+", default=["none"],
                        choices=["none", "float16", "dynamic", "int8"])  # fmt: skip
    parser.add_argument(
        "--saved-model", action="store_true", help="also write a SavedModel for TF Serving"
    )
    return parser


def evaluate_parser(description, output_dir, data_help):
    """The `argparse` parser of a template's `evaluate.py`: which data, which model, where to write.

    Args:
        description: str. The script's docstring, shown by `--help`.
        output_dir: Path. The project's outputs/ (`--model` defaults to its model.keras).
        data_help: str. What `--data` accepts in this template.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", type=Path, help=data_help)
    parser.add_argument("--model", type=Path, default=Path(output_dir) / "model.keras")
    parser.add_argument("--output", type=Path, help="default: the model's folder")
    parser.add_argument("--batch-size", type=int, default=64)
    return parser


def labels_in_model_order(folder, class_names):
    """`{path: label}` for a scanned class folder, each label numbered as the model's classes.

    Args:
        folder: a `ClassFolder` (`scan_image_folder`, `scan_audio_folder`).
        class_names: list of str. The model's classes, in its output order (labels.txt).

    Raises:
        ValueError: the folder holds a class the model does not know.

    Examples:
    >>> from types import SimpleNamespace
    >>> folder = SimpleNamespace(root="d", paths=["d/b/1", "d/a/2"], labels=[1, 0], class_names=["a", "b"])
    >>> labels_in_model_order(folder, ["b", "a"])
    {'d/b/1': 0, 'd/a/2': 1}
    >>> labels_in_model_order(folder, ["b", "c"])
    Traceback (most recent call last):
    ValueError: d: classes the model does not know: a. Known classes: b, c.
    """
    unknown = sorted(set(folder.class_names) - set(class_names))
    if unknown:
        raise ValueError(f"{folder.root}: classes the model does not know: {', '.join(unknown)}. "
                         f"Known classes: {', '.join(class_names)}.")  # fmt: skip
    names = [folder.class_names[label] for label in folder.labels]
    return {path: class_names.index(name) for path, name in zip(folder.paths, names, strict=True)}


def saved_settings(model_path):
    """The settings `train.py` ran with, from the metrics.json beside `model_path`.

    `load_config(**saved_settings(path))` rebuilds the run's Config: its data,
    fractions and seed give back the same split.
    """
    metrics = Path(model_path).parent / "metrics.json"
    return json.loads(metrics.read_text(encoding="utf-8"))["run"]["settings"]


def run(main, resumable=False):
    """Runs a script's `main()`; a bad input ends in one clear line instead of a traceback.

    ValueError, FileNotFoundError and FileExistsError (a missing file, a bad
    setting, an occupied folder: their messages name the problem and the fix)
    print `error: ...` and exit 1. Ctrl-C exits 130; with `resumable` (a
    training run) it says that the same command continues the run.
    """
    try:
        main()
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"\nInterrupted. {RESUME_HINT if resumable else ''}".rstrip(), file=sys.stderr)
        sys.exit(130)
