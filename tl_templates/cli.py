"""The `tl-templates` command line."""

import argparse
import contextlib
import json
import os
import sys

from tl_templates import __version__
from tl_templates.backbones import registry
from tl_templates.planning import advisor
from tl_templates.project import generate as projects


@contextlib.contextmanager
def _quiet_native_stderr():
    """Hides TensorFlow's native start-up log lines (they bypass Python)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _print_json(value):
    print(json.dumps(value, indent=2))


def _backbones(args):
    rows = [
        {
            "name": spec.name,
            "source": spec.source,
            "input_kind": spec.input_kind,  # "image" or "audio"
            "input_shape": list(spec.input_shape()),  # at the default input size
            "input_size": spec.default_input_size,
            "preprocessing": spec.preprocessing,
            "blocks": spec.block_names,
            "pretrained": spec.pretrained,
            "description": spec.description,
        }
        for spec in registry.BACKBONES.values()
    ]
    if args.json:
        _print_json(rows)
        return
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        print(
            f"{row['name']:<{width}}  {row['input_kind']:<5}  {len(row['blocks']):>2} blocks  "
            f"{row['description']}"
        )


def _blocks(args):
    spec = registry.get_spec(args.name)
    shape = spec.input_shape(args.input_size)
    with _quiet_native_stderr():
        from tl_templates.backbones import blocks
        from tl_templates.backbones import build as backbones

        model = backbones.build_backbone(spec.name, input_shape=shape, weights=None)
        rows = [block.to_dict() for block in blocks.list_blocks(model)]
        table = blocks.block_table(model)
    if args.json:
        _print_json({"backbone": spec.name, "input_shape": list(shape), "blocks": rows})
        return
    described = f"{shape[0]} samples" if spec.input_kind == "audio" else "x".join(map(str, shape))
    print(f"{spec.name} ({spec.description}), input {described}, weights=None\n")
    print(table)


def _advise(args):
    plan = advisor.advise(
        target_examples=args.target_examples,
        source_examples=args.source_examples,
        similarity=args.similarity,
        same_input_type=not args.different_input,
        backbone=args.backbone,
        input_kind=args.input_kind,
    )
    if args.json:
        _print_json(plan.to_dict())
    else:
        print(plan.describe())


def _list(args):
    templates = projects.list_templates()
    width = max(len(name) for name in templates)
    for name, description in templates.items():
        print(f"{name:<{width}}  {description}")


def _new(args):
    project = projects.new_project(
        args.template,
        output_dir=args.output_dir,
        no_input=args.no_input,
        extra_context=projects.parse_answers(args.answers),
    )
    print(f"Created {project}\nNext: cd {project} && python train.py")


def _quickstart(args):
    projects.quickstart(args.output)


def _doctor(args):
    from tl_templates.data import doctor

    report = doctor.check_dataset(
        args.data_dir,
        template=args.template,
        data_format=args.format,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
        seed=args.seed,
        similarity=args.similarity,
        backbone=args.backbone,
    )
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.describe())
    return 0 if report.ok else 1


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 0.5, got {value}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tl-templates",
        description="Transfer learning and multi-task learning templates for Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = commands.add_parser("backbones", help="list the registered backbones")
    command.add_argument("--json", action="store_true", help="print JSON")
    command.set_defaults(run=_backbones)

    command = commands.add_parser(
        "blocks", help="show a backbone's named blocks (built with random weights)"
    )
    command.add_argument("name", help="a registered backbone, e.g. efficientnetb0")
    command.add_argument(
        "--input-size",
        type=_positive_int,
        help="image side in pixels, or samples for audio (default: the backbone's)",
    )
    command.add_argument("--json", action="store_true", help="print JSON")
    command.set_defaults(run=_blocks)

    command = commands.add_parser(
        "advise", help="choose a transfer strategy from the rules of thumb"
    )
    command.add_argument(
        "--target-examples",
        type=_positive_int,
        required=True,
        help="labelled examples of your task",
    )
    command.add_argument(
        "--source-examples",
        type=_positive_int,
        help="examples the backbone was pretrained on (ImageNet: 1281167)",
    )
    command.add_argument(
        "--similarity",
        choices=advisor.SIMILARITIES,
        default="similar",
        help="how much your data resembles the source task's (default: similar)",
    )
    command.add_argument(
        "--different-input",
        action="store_true",
        help="the source network was trained on another kind of input",
    )
    command.add_argument("--backbone", help="name the blocks to train for this backbone")
    command.add_argument(
        "--input-kind",
        choices=registry.INPUT_KINDS,
        help="your task's input; with --backbone, another kind than the backbone's means "
        "transfer will not help",
    )
    command.add_argument("--json", action="store_true", help="print JSON")
    command.set_defaults(run=_advise)

    command = commands.add_parser("list", help="list the project templates")
    command.set_defaults(run=_list)

    command = commands.add_parser("new", help="generate a project from a template")
    command.add_argument("template", help="a name from `tl-templates list`, or a template folder")
    command.add_argument(
        "-o", "--output-dir", default=".", help="where the project folder is created (default: .)"
    )
    command.add_argument(
        "--no-input", action="store_true", help="do not ask; use defaults and key=value answers"
    )
    command.add_argument(
        "answers", nargs="*", metavar="key=value", help="answers, e.g. image_size=64"
    )
    command.set_defaults(run=_new)

    command = commands.add_parser(
        "doctor",
        help="check a data set before training: unreadable files, classes, duplicates, advice",
        description="Checks a data set before training and prints a report; exit code 0 when "
        "training can proceed, 1 when it cannot. Nothing is modified.",
    )
    command.add_argument("data_dir", help="the data folder (e.g. one sub-folder per class)")
    command.add_argument(
        "--template", help="the template that will train on it (default: image-classifier)"
    )
    command.add_argument(
        "--format", help="a data layout instead of a template: image-folder, audio-folder, "
        "image-csv, scene-labels, face-labels, utkface"
    )  # fmt: skip
    command.add_argument("--validation-fraction", type=_fraction, default=0.15,
                         help="as in your project's config (default: 0.15)")  # fmt: skip
    command.add_argument("--test-fraction", type=_fraction, default=0.15,
                         help="as in your project's config (default: 0.15)")  # fmt: skip
    command.add_argument("--seed", type=int, default=42,
                         help="your project's seed, to split as it will (default: 42)")  # fmt: skip
    command.add_argument("--similarity", choices=advisor.SIMILARITIES, default="similar",
                         help="for the advice: is the data like the source task's?")  # fmt: skip
    command.add_argument("--backbone", help="for the recommendation: the backbone you will use")
    command.add_argument("--json", action="store_true", help="print JSON")
    command.set_defaults(run=_doctor)

    command = commands.add_parser(
        "quickstart",
        help="the main job: generate an image classifier and train it on the bundled data",
    )
    command.add_argument(
        "-o",
        "--output",
        default="tl-quickstart",
        help="project folder to create (default: tl-quickstart)",
    )
    command.set_defaults(run=_quickstart)
    return parser


def main(argv=None):
    parser = build_parser()
    # `new` takes any number of key=value answers, anywhere after the template name.
    args, answers = parser.parse_known_args(argv)
    if answers and (args.command != "new" or any("=" not in answer for answer in answers)):
        parser.error(f"unrecognized arguments: {' '.join(answers)}")
    args.answers = answers
    try:
        return args.run(args) or 0  # `doctor` returns 1 when training cannot proceed
    except (ValueError, OSError, RuntimeError) as error:
        print(f"tl-templates {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
