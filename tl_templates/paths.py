"""Where the kit's own files live: templates, bundled data, lab weights.

The repository keeps them in its top-level `templates/` and `data/` folders.
Building the wheel copies what runs (not the scripts that regenerate the
data) into the package as `tl_templates/_bundled/templates` and
`tl_templates/_bundled/data` (see setup.py). Both places are found from the
package's own location, through `importlib.resources`: inside the installed
package (a wheel, `pip install tl-templates`, `pip install git+URL`), else
beside it (a clone, `pip install -e .`).
"""

from importlib import resources
from pathlib import Path

BUNDLED = "_bundled"  # the folder of the package that holds them in a wheel


def _kit_root():
    package = Path(str(resources.files("tl_templates")))
    bundled = package / BUNDLED
    return bundled if bundled.is_dir() else package.parent


ROOT = _kit_root()
TEMPLATES_DIR = ROOT / "templates"
DATA_DIR = ROOT / "data"
SAMPLES_DIR = DATA_DIR / "samples"


def require(path):
    """`path` if it exists, else a clear error about how the kit was installed."""
    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path} is missing. The kit's templates and data ship inside its wheel "
            f"(tl_templates/{BUNDLED}) or sit beside the package in a clone. Reinstall the kit: "
            "`pip install --force-reinstall tl-templates` (or `pip install git+URL`), or from "
            "a clone of the repository `pip install -e .`; a wheel built by hand must be "
            "built with the repository's setup.py (`pip wheel .`)."
        )
    return Path(path)
