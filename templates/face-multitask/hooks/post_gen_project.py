"""Copies the bundled sample faces and fills config.toml's [blocks] table."""

import json
from pathlib import Path

from tl_templates.data import labels as multitask_data
from tl_templates.project.hooks import copy_sample, fill_config

ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')
PROJECT_DIR = Path.cwd()

# Sample data that runs out of the box: drawn faces, named the UTKFace way, and a
# labels.csv in which some labels are unknown (empty cells).
sample = copy_sample("faces", PROJECT_DIR)
# The [blocks] table starts as the plan for the chosen strategy on the sample
# data; it is what `strategy = "custom"` trains, so edit it from there.
tasks = ", ".join(f'"{task.strip()}"' for task in ANSWERS["tasks"].split(",") if task.strip())
fill_config(PROJECT_DIR, ANSWERS, examples=len(multitask_data.read_face_labels(sample)),
            replacements={"# TASKS": f"tasks = [{tasks}]"})  # fmt: skip
