"""Generating projects from the kit's cookiecutter templates, and the quickstart."""

import json
import logging
import os
import re
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


# cookiecutter would download these ("gh:user/repo", "https://...", "git@...", a .zip).
_REMOTE_TEMPLATE = re.compile(r"^([a-z][a-z0-9+.-]*:|git@)|\.zip$", re.IGNORECASE)


def template_folder(template):
    """The folder of a kit template by name, or a local template folder by path.

    Only these two are rendered: `new` never downloads a template, and a
    local folder must be named as a path (`./my-template`), so a typo in a
    kit template's name cannot pick up some folder that happens to be there.

    Raises:
        ValueError: a remote template, or neither a kit template nor a local
            folder with a cookiecutter.json.
    """
    known = list_templates()
    if template in known:
        return paths.TEMPLATES_DIR / template
    if _REMOTE_TEMPLATE.search(template) and not Path(template).is_dir():
        raise ValueError(
            f"tl-templates renders only its own templates and local template folders; it does "
            f"not download templates. Received: template={template!r}. To use it, clone it "
            "yourself, read its hooks (they run as code on your machine), then pass the folder: "
            "tl-templates new ./path/to/template."
        )
    folder = Path(template)
    is_path = os.sep in template or "/" in template or template.startswith(".")
    if is_path and (folder / "cookiecutter.json").is_file():
        return folder.resolve()
    raise ValueError(
        f"Unknown template. Received: template={template!r}. Known templates: "
        f"{', '.join(known)} (or the path of a local cookiecutter template folder, "
        "e.g. ./my-template)."
    )


def path_answer_names(folder):
    """The answers that name files or folders in a template (`{{cookiecutter.X}}` in a path)."""
    names = set()
    for path in Path(folder).rglob("*"):
        relative = path.relative_to(folder)
        if relative.parts[0] == "hooks":
            continue
        for expression in re.findall(r"\{\{(.*?)\}\}|\{%(.*?)%\}", relative.as_posix()):
            names.update(re.findall(r"cookiecutter\.(\w+)", "".join(expression)))
    return sorted(names)


def check_path_answers(answers, names):
    """Refuses answers that would put a file outside the output folder.

    An answer that names a file or folder must be a plain name: not empty,
    not `.` or `..`, no `/` or `\\`, no drive (`C:`), no NUL character.

    Raises:
        ValueError: the first bad answer, named, with the rule.
    """
    for name in names:
        value = str(answers.get(name, ""))
        plain = (
            value.strip() not in ("", ".", "..")
            and not any(character in value for character in "/\\:\0")
            and not os.path.isabs(value)
        )
        if not plain:
            raise ValueError(
                f"{name} names the project's folder or files, so it must be a plain name "
                f"(no '/', '\\', ':', '..', absolute path). Received: {name}={value!r}. "
                "Nothing was written."
            )


def _render_answers(folder, extra_context, no_input):
    """All answers, asked or defaulted and rendered, before anything is written."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(
        context_file=str(folder / "cookiecutter.json"), extra_context=extra_context
    )
    answers = prompt_for_config(context, no_input)
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def new_project(template, output_dir=".", no_input=True, extra_context=None):
    """Renders a template into `output_dir/<project_slug>` and returns that folder.

    The answers are asked (or defaulted) and checked first: one that names a
    file or folder must be a plain name, so nothing can be written outside
    `output_dir`. An existing project folder is never touched: the call fails
    instead.

    Raises:
        FileExistsError: the project folder exists (nothing was written).
        ValueError: the kit or the template rejected an answer (nothing was written).
    """
    from cookiecutter.exceptions import (
        CookiecutterException,
        FailedHookException,
        OutputDirExistsException,
    )
    from cookiecutter.main import cookiecutter

    folder = template_folder(template)
    # Cookiecutter logs a traceback when a hook refuses an answer; the hook's
    # own message and ours say all there is to say.
    logging.getLogger("cookiecutter").setLevel(logging.CRITICAL)
    try:
        answers = _render_answers(folder, extra_context or {}, no_input)
        check_path_answers(answers, path_answer_names(folder))
        project = cookiecutter(
            str(folder),
            no_input=True,  # the answers were asked above
            extra_context=answers,
            output_dir=str(output_dir),
            overwrite_if_exists=False,
            default_config=True,  # ~/.cookiecutterrc cannot change checked answers
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
    except CookiecutterException as error:
        raise ValueError(f"{error}. Nothing was written.") from None
    except ValueError as error:  # an answer outside a choice list, or a path answer
        message = str(error)
        raise ValueError(
            message if "Nothing was written" in message else f"{message} Nothing was written."
        ) from None
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
    if metrics.get("auto"):
        print(f"  auto: {metrics['auto']['reason']}")
    interval = metrics["test_accuracy_interval"]
    print(f"  test accuracy: {metrics['test_accuracy']:.3f} (95% CI {interval['low']:.3f}-"
          f"{interval['high']:.3f} on {interval['examples']} held-out images)")  # fmt: skip
    print(f"  project: {project_dir}")
    print(f"  results: {project_dir / 'outputs'}")
    print("Next: cd into the project, read README.md, then python train.py --data YOUR_IMAGES")
    return metrics
