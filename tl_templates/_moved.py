"""Old module paths, from before the library was split into subpackages.

`import tl_templates.resume` (and the other flat module names of the first
releases) still works: it returns the module's new home, e.g.
`tl_templates.training.resume`, the same module object, with a
DeprecationWarning that names the new path. Generated projects and notebooks
written against the flat layout keep running; new code uses the new paths.
`tl_templates.backbones`, `.experiments` and `.training` became packages of the
same names: their `__init__` forwards the old modules' names.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

# Old module (under tl_templates.) -> its new home (under tl_templates.).
MOVED = {
    "registry": "backbones.registry",
    "blocks": "backbones.blocks",
    "preprocessing": "backbones.preprocessing",
    "audio_frontend": "backbones.audio_frontend",
    "audio_backbones": "backbones.audio",
    "lab_backbones": "backbones.lab",
    "image_folder": "data.image_folder",
    "audio_folder": "data.audio_folder",
    "audio": "data.audio_files",
    "multitask_data": "data.labels",
    "data_checks": "data.checks",
    "data_layouts": "data.layouts",
    "doctor": "data.doctor",
    "pipelines": "data.pipelines",
    "class_weights": "data.class_weights",
    "multitask": "tasks.multitask",
    "multitask_losses": "tasks.losses",
    "multitask_metrics": "tasks.metrics",
    "domain": "tasks.domain",
    "metric_learning": "tasks.metric_learning",
    "multitask_training": "training.multitask",
    "caching": "training.caching",
    "resume": "training.resume",
    "distribute": "training.distribute",
    "acceleration": "training.acceleration",
    "seeding": "training.seeding",
    "saving": "training.saving",
    "advisor": "planning.advisor",
    "auto_strategy": "planning.auto_strategy",
    "budgets": "planning.budgets",
    "intervals": "evaluation.intervals",
    "reports": "evaluation.reports",
    "predictions": "deploy.predictions",
    "export": "deploy.export",
    "tflite": "deploy.tflite",
    "project_config": "project.config",
    "run_folder": "project.output_folder",
    "template_hooks": "project.hooks",
    "projects": "project.generate",
    "versions": "project.versions",
    "atomic": "project.atomic",
    "multitask_experiments": "experiments.multitask",
    "trunk_experiments": "experiments.trunk",
    "wake_word_experiments": "experiments.wake_word",
    "domain_shift": "experiments.domain_shift",
    "datasets": "experiments.datasets",
    "results": "experiments.results",
    "plots": "experiments.plots",
    "glyphs": "synthetic.glyphs",
    "strokes": "synthetic.strokes",
    "sounds": "synthetic.sounds",
    "synthetic_faces": "synthetic.faces",
    "synthetic_scenes": "synthetic.scenes",
}


def warn_moved(old, new, stacklevel=3):
    warnings.warn(
        f"tl_templates.{old} moved to tl_templates.{new}; the old path will be removed "
        "in a later version.",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers imports of the old flat paths with the module at its new path."""

    def __init__(self):
        self.own_specs = {}

    def find_spec(self, fullname, path=None, target=None):
        package, _, old = fullname.rpartition(".")
        if package != "tl_templates" or old not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        old = spec.name.rpartition(".")[2]
        warn_moved(old, MOVED[old], stacklevel=4)
        module = importlib.import_module(f"tl_templates.{MOVED[old]}")
        self.own_specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamped the alias's spec on the module: give it back its own.
        module.__spec__ = self.own_specs.pop(module.__name__)
        module.__loader__ = module.__spec__.loader


def forward(package, old, new, name):
    """A name that the old flat module `old` defined, now in `new` (for package `__getattr__`)."""
    if name.startswith("__") or importlib.util.find_spec(f"tl_templates.{package}.{name}"):
        # A submodule being imported (`from tl_templates.backbones import registry`): not ours.
        raise AttributeError(f"module 'tl_templates.{package}' has no attribute {name!r}")
    module = importlib.import_module(f"tl_templates.{new}")
    if not hasattr(module, name):
        raise AttributeError(f"module 'tl_templates.{package}' has no attribute {name!r}")
    warn_moved(old, new)
    return getattr(module, name)


def install():
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
