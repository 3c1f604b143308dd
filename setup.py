"""Builds the kit with its run-time files inside the package.

The repository keeps the templates and the bundled data in its top-level
`templates/` and `data/` folders. A wheel built from it carries them as
`tl_templates/_bundled/templates` and `tl_templates/_bundled/data`, where
`tl_templates.paths` finds them; the scripts that regenerate the data (every
`.py` under `data/`) stay in the repository. An editable install
(`pip install -e .`) copies nothing: `tl_templates.paths` finds the folders
beside the package.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("templates", "data")  # top-level folders copied into tl_templates/_bundled/
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints", "outputs", "logs"}


def shipped(folder, relative):
    """Whether `relative` (a file under `folder`) is needed at run time."""
    if SKIPPED_DIRS.intersection(relative.parts) or relative.suffix in (".pyc", ".pyo"):
        return False
    # Under data/ only data ships: the make_*.py / measure_*.py generators do not.
    return not (folder == "data" and relative.suffix == ".py")


class BuildWithBundledFiles(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository's folders in place
        target = Path(self.build_lib) / "tl_templates" / "_bundled"
        shutil.rmtree(target, ignore_errors=True)
        for folder in BUNDLED:
            for path in sorted((ROOT / folder).rglob("*")):
                relative = path.relative_to(ROOT / folder)
                if path.is_file() and shipped(folder, relative):
                    destination = target / folder / relative
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, destination)


setup(cmdclass={"build_py": BuildWithBundledFiles})
