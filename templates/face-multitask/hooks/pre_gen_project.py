"""Checks the answers before anything is written; a bad one stops with a clear message."""

import json

from tl_templates.project.hooks import check_common_answers, fail, whole_number

# Read through tojson so quotes or backslashes in an answer cannot break this file.
ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')
KNOWN_TASKS = ("gender", "age")

spec = check_common_answers(ANSWERS)  # project_slug, backbone, epochs, strategy, similarity
whole_number(ANSWERS, "image_size", spec.min_input_size)
tasks = [task.strip() for task in ANSWERS["tasks"].split(",") if task.strip()]
if not tasks or any(task not in KNOWN_TASKS for task in tasks) or len(set(tasks)) != len(tasks):
    fail(f"tasks is a comma-separated subset of gender,age. Received: tasks={ANSWERS['tasks']!r}.")
