"""Copies the bundled sample images and fills config.toml's [blocks] table."""

import json
from pathlib import Path

from tl_templates.data import image_folder
from tl_templates.project.hooks import copy_sample, fill_config

ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')
PROJECT_DIR = Path.cwd()

# Sample data that runs out of the box: real handwritten digits, one folder per class.
sample = copy_sample("digits", PROJECT_DIR)
# The [blocks] table starts as the plan for the chosen strategy on the sample
# data; it is what `strategy = "custom"` trains, so edit it from there.
fill_config(PROJECT_DIR, ANSWERS, examples=len(image_folder.scan_image_folder(sample).paths))
