"""Copies the bundled sample clips and fills config.toml's [blocks] table."""

import json
from pathlib import Path

from tl_templates.data import audio_folder
from tl_templates.project.hooks import copy_sample, fill_config

ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')
PROJECT_DIR = Path.cwd()

# Sample data that runs out of the box: a wake word ("marvin"), other words and
# background noise, one folder per class.
sample = copy_sample("wake_word", PROJECT_DIR)
# The [blocks] table starts as the plan for the chosen strategy on the sample
# data; it is what `strategy = "custom"` trains, so edit it from there.
fill_config(PROJECT_DIR, ANSWERS, examples=len(audio_folder.scan_audio_folder(sample).paths),
            input_kind="audio")  # fmt: skip
