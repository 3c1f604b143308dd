"""Checks the answers before anything is written; a bad one stops with a clear message."""

import json
import math

from tl_templates.backbones import registry
from tl_templates.project.hooks import check_common_answers, fail

# Read through tojson so quotes or backslashes in an answer cannot break this file.
ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')
SAMPLE_RATE = 16_000

spec = check_common_answers(ANSWERS)  # project_slug, backbone, epochs, strategy, similarity
if spec.input_kind != "audio":
    audio = [name for name, row in registry.BACKBONES.items() if row.input_kind == "audio"]
    fail(
        f"backbone {spec.name!r} takes {spec.input_kind}s, not audio. Received: "
        f"backbone={ANSWERS['backbone']!r}. Audio backbones: {', '.join(audio)}."
    )
try:
    seconds = float(ANSWERS["clip_seconds"])
except ValueError:
    seconds = math.nan
minimum = spec.min_input_size / SAMPLE_RATE
if not seconds >= minimum:  # also refuses NaN
    fail(
        f"clip_seconds must be a number of seconds, at least {minimum:g} (one 96-frame "
        f"log-mel patch). Received: clip_seconds={ANSWERS['clip_seconds']!r}."
    )
