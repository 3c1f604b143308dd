"""Checks the answers before anything is written; a bad one stops with a clear message."""

import json

from tl_templates.project.hooks import check_common_answers, whole_number

# Read through tojson so quotes or backslashes in an answer cannot break this file.
ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')

spec = check_common_answers(ANSWERS)  # project_slug, backbone, epochs, strategy, similarity
whole_number(ANSWERS, "image_size", spec.min_input_size)
