"""Copies the bundled sample scenes and fills config.toml's [blocks] table."""

import json
from pathlib import Path

from tl_templates.data import labels as multitask_data
from tl_templates.project.hooks import copy_sample, fill_config

ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')
PROJECT_DIR = Path.cwd()

# Sample data that runs out of the box: drawn street scenes in images/, and a
# labels.csv with 1, 0 or ? (unknown) per object.
sample = copy_sample("street_scenes", PROJECT_DIR)
# The [blocks] table starts as the plan for the chosen strategy on the sample
# data; it is what `strategy = "custom"` trains, so edit it from there.
fill_config(PROJECT_DIR, ANSWERS, examples=len(multitask_data.read_label_csv(sample / "labels.csv")))
