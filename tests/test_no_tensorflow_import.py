"""Answering `--help` imports neither TensorFlow nor Keras (seconds, and gigabytes on a GPU).

The library's top-level names are imported lazily, the command line builds its
parser from the registry's data, and each generated project's train.py,
export.py and evaluate.py build their parser (tl_templates/project/scripts.py) before they
import model.py or any Keras code. Each check runs in a fresh interpreter and
reads `sys.modules` at its end.
"""

import json
import subprocess
import sys

import pytest

from tl_templates.project import generate as projects

TEMPLATES = ("image-classifier", "audio-classifier", "face-multitask", "driving-multilabel")
HEAVY = ("tensorflow", "keras")

# Runs the code or script given, then prints (last, on stderr) which heavy modules it imported.
REPORT = f"""
heavy = sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
print("\\n" + json.dumps(heavy), file=sys.stderr)
"""
RUN_SCRIPT = """
import json, runpy, sys
script, *arguments = sys.argv[1:]
sys.argv = [script, *arguments]
sys.path.insert(0, ".")  # as `python train.py` puts the project folder first
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as stop:
    assert stop.code in (0, None), f"{script} exited with {stop.code}"
"""


def heavy_modules(code, *arguments, cwd=None):
    result = subprocess.run(
        [sys.executable, "-c", code + REPORT, *arguments],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, json.loads(result.stderr.strip().splitlines()[-1])


def test_the_library_and_its_command_line_import_no_tensorflow():
    code = (
        "import json, sys\n"
        "import tl_templates, tl_templates.backbones.registry, tl_templates.project.scripts\n"
        "from tl_templates import cli\n"
        "cli.build_parser()\n"
    )
    _, heavy = heavy_modules(code)
    assert heavy == []


@pytest.fixture(scope="module")
def projects_baked(tmp_path_factory):
    root = tmp_path_factory.mktemp("baked")
    return {template: projects.new_project(template, output_dir=root) for template in TEMPLATES}


@pytest.mark.parametrize("script", ["train.py", "export.py", "evaluate.py"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_help_of_a_generated_script_imports_no_tensorflow(projects_baked, template, script):
    help_text, heavy = heavy_modules(RUN_SCRIPT, script, "--help", cwd=projects_baked[template])
    assert help_text.startswith("usage:") and "--output" in help_text
    assert heavy == []
