"""Where the kit's own files live: templates, bundled data, lab weights.

They sit beside the package in the repository, so install the kit from a
clone with `pip install -e .` (as the README does).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = ROOT / "templates"
DATA_DIR = ROOT / "data"
SAMPLES_DIR = DATA_DIR / "samples"


def require(path):
    """`path` if it exists, else a clear error about how the kit was installed."""
    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path} is missing. The kit's templates and data live beside the package: "
            "install it from a clone of the repository with `pip install -e .`."
        )
    return Path(path)
