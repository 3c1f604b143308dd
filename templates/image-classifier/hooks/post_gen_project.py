"""Copies the bundled sample images and fills config.toml's [blocks] table."""

import json
import shutil
from pathlib import Path

from tl_templates import paths
from tl_templates.data import image_folder
from tl_templates.planning import advisor

ANSWERS = json.loads(r'''{{ cookiecutter | tojson }}''')
PROJECT_DIR = Path.cwd()

# Sample data that runs out of the box: real handwritten digits, one folder per class.
sample = paths.require(paths.SAMPLES_DIR / "digits")
shutil.copytree(sample, PROJECT_DIR / "data" / "sample")

# The [blocks] table starts as the plan for the chosen strategy on the sample
# data; it is what `strategy = "custom"` trains, so edit it from there.
strategy = ANSWERS["strategy"]
if strategy in ("auto", "custom"):
    examples = len(image_folder.scan_image_folder(sample).paths)
    plan = advisor.advise(examples, similarity=ANSWERS["similarity"], backbone=ANSWERS["backbone"])
else:
    plan = advisor.plan_strategy(strategy, ANSWERS["backbone"])
spec_blocks = advisor.get_spec(ANSWERS["backbone"]).block_names
lines = [f"{name} = {'true' if name in plan.trainable_blocks else 'false'}" for name in spec_blocks]
config = PROJECT_DIR / "config.toml"
text = config.read_text(encoding="utf-8").replace("# BLOCK FLAGS", "\n".join(lines))
config.write_text(text.replace("# TRUNCATE AFTER", f'truncate_after = "{plan.truncate_after or ""}"'), encoding="utf-8")
