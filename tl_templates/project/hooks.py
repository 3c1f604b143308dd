"""What the templates' cookiecutter hooks share: checking answers, then filling config.toml.

A template's `hooks/pre_gen_project.py` checks the answers before anything
is written: the checks every template needs are `check_common_answers`, its
own follow (`whole_number`, `fail`). A bad answer prints `ERROR: ...` and
exits 1; cookiecutter then writes nothing. `hooks/post_gen_project.py`
copies the bundled sample (`copy_sample`) and fills config.toml's [blocks]
table from the plan for the chosen strategy (`fill_config`).
"""

import re
import shutil
import sys

from tl_templates import paths
from tl_templates.backbones import registry
from tl_templates.planning import advisor

SLUG_PATTERN = r"[a-z0-9][a-z0-9_-]*"  # the project folder's name


def fail(message):
    """Stops the hook: cookiecutter shows `message` and writes nothing."""
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def whole_number(answers, key, minimum):
    """The answer `key` as an int of at least `minimum`; anything else stops the hook."""
    try:
        value = int(answers[key])
    except ValueError:
        fail(f"{key} must be a whole number. Received: {key}={answers[key]!r}.")
    if value < minimum:
        fail(f"{key} must be at least {minimum}. Received: {key}={value}.")
    return value


def check_common_answers(answers):
    """Checks the answers every template asks: slug, backbone, epochs, strategy, similarity.

    Args:
        answers: dict. Cookiecutter's answers (read in the hook through
            `tojson`, so that quotes cannot break it).

    Returns:
        The backbone's `tl_templates.BackboneSpec`, for the template's own checks.
    """
    slug = answers["project_slug"]
    if not re.fullmatch(SLUG_PATTERN, slug):
        fail(
            "project_slug must start with a letter or digit and use only a-z, 0-9, '-' and '_' "
            f"(it names the project folder). Received: project_slug={slug!r}."
        )
    try:
        spec = registry.get_spec(answers["backbone"])
    except ValueError as error:
        fail(str(error))
    whole_number(answers, "head_epochs", 0)
    whole_number(answers, "fine_tune_epochs", 0)
    strategies = ("auto", *advisor.STRATEGIES, "custom")
    if answers["strategy"] not in strategies:
        fail(
            f"Unknown strategy. Received: strategy={answers['strategy']!r}. "
            f"Known: {', '.join(strategies)}."
        )
    if answers["similarity"] not in advisor.SIMILARITIES:
        fail(
            f"Unknown similarity. Received: similarity={answers['similarity']!r}. "
            "Known: similar, different."
        )
    return spec


def copy_sample(sample_name, project_dir):
    """Copies the kit's bundled sample `sample_name` to `project_dir/data/sample`.

    Returns:
        The Path of the bundled sample (to count its examples).
    """
    sample = paths.require(paths.SAMPLES_DIR / sample_name)
    shutil.copytree(sample, project_dir / "data" / "sample")
    return sample


def fill_config(project_dir, answers, examples, input_kind=None, replacements=None):
    """Fills the placeholders of the generated config.toml.

    The [blocks] table (`# BLOCK FLAGS`) and `truncate_after` start as the
    plan for the chosen strategy on the sample data (the advisor's, for
    `auto` and `custom`): it is what `strategy = "custom"` trains.

    Args:
        project_dir: Path. The generated project.
        answers: dict. Cookiecutter's answers.
        examples: int. Examples in the bundled sample.
        input_kind: str or None. `"audio"` for the advisor when the backbone
            takes sound; None: the backbone's own kind.
        replacements: dict or None. More `{placeholder: text}` for this template.
    """
    strategy, backbone = answers["strategy"], answers["backbone"]
    if strategy in ("auto", "custom"):
        similarity = answers["similarity"]
        plan = advisor.advise(
            examples, similarity=similarity, backbone=backbone, input_kind=input_kind
        )
    else:
        plan = advisor.plan_strategy(strategy, backbone)
    flags = [
        f"{name} = {'true' if name in plan.trainable_blocks else 'false'}"
        for name in registry.get_spec(backbone).block_names
    ]
    config = project_dir / "config.toml"
    text = config.read_text(encoding="utf-8").replace("# BLOCK FLAGS", "\n".join(flags))
    text = text.replace("# TRUNCATE AFTER", f'truncate_after = "{plan.truncate_after or ""}"')
    for placeholder, value in (replacements or {}).items():
        text = text.replace(placeholder, value)
    config.write_text(text, encoding="utf-8")
