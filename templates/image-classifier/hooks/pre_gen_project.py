"""Checks the answers before anything is written; a bad one stops with a clear message."""

import json
import re
import sys

from tl_templates.backbones import registry
from tl_templates.planning import advisor

# Read through tojson so quotes or backslashes in an answer cannot break this file.
ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')


def fail(message):
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def whole_number(key, minimum):
    try:
        value = int(ANSWERS[key])
    except ValueError:
        fail(f"{key} must be a whole number. Received: {key}={ANSWERS[key]!r}.")
    if value < minimum:
        fail(f"{key} must be at least {minimum}. Received: {key}={value}.")
    return value


slug = ANSWERS["project_slug"]
if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", slug):
    fail(
        "project_slug must start with a letter or digit and use only a-z, 0-9, '-' and '_' "
        f"(it names the project folder). Received: project_slug={slug!r}."
    )
try:
    spec = registry.get_spec(ANSWERS["backbone"])
except ValueError as error:
    fail(str(error))
size = whole_number("image_size", spec.min_input_size)
whole_number("head_epochs", 0)
whole_number("fine_tune_epochs", 0)
strategies = ("auto", *advisor.STRATEGIES, "custom")
if ANSWERS["strategy"] not in strategies:
    fail(f"Unknown strategy. Received: strategy={ANSWERS['strategy']!r}. Known: {', '.join(strategies)}.")
if ANSWERS["similarity"] not in advisor.SIMILARITIES:
    fail(f"Unknown similarity. Received: similarity={ANSWERS['similarity']!r}. Known: similar, different.")
