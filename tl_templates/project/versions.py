"""The versions a run was made with, for its `metrics.json`."""

import sys
from importlib import metadata

import tl_templates


def run_versions():
    """`{"kit_version": ..., "keras_version": ..., "tensorflow_version": ...}`.

    Read from the modules already imported, else from the installed
    distributions (nothing is imported for it), so a run's
    `metrics.json` says which kit and which Keras produced it:
    `metrics = {..., **tl_templates.run_versions()}`.

    >>> versions = run_versions()
    >>> sorted(versions)
    ['keras_version', 'kit_version', 'tensorflow_version']
    >>> versions["kit_version"] == tl_templates.__version__
    True
    """
    return {
        "kit_version": tl_templates.__version__,
        "keras_version": _version("keras"),
        "tensorflow_version": _version("tensorflow"),
    }


def _version(name):
    """A module's version, or None when it is not installed."""
    module = sys.modules.get(name)
    if getattr(module, "__version__", None):
        return module.__version__
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # e.g. installed as tensorflow-cpu, not imported
        return None
