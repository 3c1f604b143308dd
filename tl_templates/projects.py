"""Generating projects from the kit's cookiecutter templates, and the quickstart."""

import json
import logging
import subprocess
import sys
from pathlib import Path

from tl_templates import paths


def list_templates():
    """`{template name: one-line description}` for the kit's templates."""
    templates = {}
    for folder in sorted(paths.require(paths.TEMPLATES_DIR).iterdir()):
        settings = folder / "cookiecutter.json"
        if settings.is_file():
            templates[folder.name] = json.loads(settings.read_text())["_description"]
    return templates


def template_folder(template):
    """The folder of a kit template by name, or a local template folder by path.

    Raises:
        ValueError: neither a kit template nor a folder with a cookiecutter.json.
    """
    known = list_templates()
    if template in known:
        return paths.TEMPLATES_DIR / template
    folder = Path(template)
    if ("/" in template or template.startswith(".")) and (folder / "cookiecutter.json").is_file():
        return folder
    raise ValueError(
        f"Unknown template. Received: template={template!r}. Known templates: "
        f"{', '.join(known)} (or the path of a local cookiecutter template folder)."
    )


def new_project(template, output_dir=".", no_input=True, extra_context=None):
    """Renders a template into `output_dir/<project_slug>` and returns that folder.

    An existing project folder is never touched: the call fails instead.

    Raises:
        FileExistsError: the project folder exists (nothing was written).
        ValueError: the template rejected an answer (nothing was written).
    """
    from cookiecutter.exceptions import FailedHookException, OutputDirExistsException
    from cookiecutter.main import cookiecutter

    folder = template_folder(template)
    # Cookiecutter logs a traceback when a hook refuses an answer; the hook's
    # own message and ours say all there is to say.
    logging.getLogger("cookiecutter").setLevel(logging.CRITICAL)
    try:
        project = cookiecutter(
            str(folder),
            no_input=no_input,
            extra_context=extra_context or {},
            output_dir=str(output_dir),
            overwrite_if_exists=False,
        )
    except OutputDirExistsException as error:
        raise FileExistsError(
            f"{error}; nothing was changed. Remove it, or choose another project name or "
            "output folder."
        ) from None
    except FailedHookException:
        raise ValueError(
            "the template rejected an answer (its message is above); nothing was written."
        ) from None
    except ValueError as error:  # an answer outside a choice list
        raise ValueError(f"{error} Nothing was written.") from None
    return Path(project)


def parse_answers(pairs):
    """`["key=value", ...]` from the command line as a dict."""
    answers = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise ValueError(f"Answers look like key=value. Received: {pair!r}.")
        answers[key] = value
    return answers


def quickstart(project_dir="tl-quickstart"):
    """The main job: generate an image-classifier project, train it, report.

    Trains on the bundled sample with the lab backbone and the advisor's plan.

    Returns:
        The project's `outputs/metrics.json` as a dict.
    """
    project_dir = Path(project_dir).resolve()
    if project_dir.exists():
        raise FileExistsError(
            f"{project_dir} already exists; nothing was changed. Remove it or pass -o NEW_FOLDER."
        )
    print(f"1/2 Generating an image-classifier project in {project_dir}")
    new_project(
        "image-classifier",
        output_dir=project_dir.parent,
        extra_context={"project_name": "tl quickstart", "project_slug": project_dir.name},
    )
    print("2/2 Training it: python train.py (bundled sample data, lab backbone, plan: auto)\n")
    result = subprocess.run([sys.executable, "train.py", "--quiet"], cwd=project_dir)
    if result.returncode != 0:
        raise RuntimeError(f"training failed (exit code {result.returncode}); see above.")
    metrics = json.loads((project_dir / "outputs" / "metrics.json").read_text())
    print("\nQuickstart done.")
    print(
        f"  plan: {metrics['strategy']}, fine-tuned blocks: {metrics['trainable_blocks'] or 'none'}"
    )
    for phase in metrics["phases"]:
        print(f"  {phase['name']}: best validation accuracy {phase['best_val_accuracy']:.3f}")
    print(f"  test accuracy: {metrics['test_accuracy']:.3f}")
    print(f"  project: {project_dir}")
    print(f"  results: {project_dir / 'outputs'}")
    print("Next: cd into the project, read README.md, then python train.py --data YOUR_IMAGES")
    return metrics
