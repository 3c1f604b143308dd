"""The library's tree shows its layers, and the old flat module paths keep working."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tl_templates
from tl_templates import _moved

PACKAGE = Path(tl_templates.__file__).parent
# The layers a generated project runs on; the notebooks' helpers and the
# generators of synthetic data sit above them and are never imported by them.
CORE = ("backbones", "data", "tasks", "training", "planning", "evaluation", "deploy", "project")
UPPER = ("experiments", "synthetic")


def imported_modules(path):
    """Every module name that `path` imports, at any depth (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_top_level_holds_only_the_entry_points():
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "_moved.py", "cli.py", "paths.py"]
    packages = sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists())
    assert packages == sorted(CORE + UPPER)


def test_the_core_never_imports_the_notebooks_helpers_or_the_generators():
    offenders = []
    for layer in CORE:
        for path in sorted((PACKAGE / layer).glob("*.py")):
            for name in imported_modules(path):
                if any(name.startswith(f"tl_templates.{upper}") for upper in UPPER):
                    offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_every_moved_module_has_its_new_home():
    for old, new in _moved.MOVED.items():
        assert (PACKAGE / (new.replace(".", "/") + ".py")).is_file(), (old, new)
        assert not (PACKAGE / f"{old}.py").exists(), (
            f"tl_templates/{old}.py is back beside its alias"
        )


OLD_IMPORTS = """
import importlib, json, sys, warnings
from tl_templates import _moved
report = {}
for old, new in _moved.MOVED.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(f"tl_templates.{old}")
    report[old] = {
        "same": module is sys.modules[f"tl_templates.{new}"],
        "spec": module.__spec__.name,
        "warnings": [str(w.message) for w in caught if w.category is DeprecationWarning],
    }
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from tl_templates.training import train_classifier
    from tl_templates.backbones import build_backbone
from tl_templates.training.classifier import train_classifier as new_train
from tl_templates.backbones.build import build_backbone as new_build
report["package forwards"] = {
    "same": train_classifier is new_train and build_backbone is new_build,
    "warnings": [str(w.message) for w in caught if w.category is DeprecationWarning],
}
print(json.dumps(report))
"""


def test_old_flat_paths_import_the_same_module_with_a_deprecation_warning():
    # A fresh interpreter: in this one the modules are imported already, and an
    # import served from sys.modules never reaches the finder that warns.
    result = subprocess.run(
        [sys.executable, "-c", OLD_IMPORTS], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for old, new in _moved.MOVED.items():
        row = report[old]
        assert row["same"], old
        assert row["spec"] == f"tl_templates.{new}", "the module keeps its own spec"
        assert any(
            f"tl_templates.{old} moved to tl_templates.{new};" in w for w in row["warnings"]
        ), row
    forwards = report["package forwards"]
    assert forwards["same"]
    assert any(
        "tl_templates.training moved to tl_templates.training.classifier" in w
        for w in forwards["warnings"]
    )
    assert any(
        "tl_templates.backbones moved to tl_templates.backbones.build" in w
        for w in forwards["warnings"]
    )


def test_an_unknown_name_on_a_forwarding_package_is_a_plain_attribute_error():
    import tl_templates.training

    with pytest.raises(AttributeError, match="no_such_name"):
        tl_templates.training.no_such_name  # noqa: B018


def repository_sources():
    root = PACKAGE.parent
    listed = subprocess.run(
        ["git", "ls-files", "*.py", "*.md", "*.ipynb"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        root / name for name in listed if name != "tests/test_layout.py" and (root / name).is_file()
    ]


def test_nothing_in_the_repository_uses_an_old_path():
    old = "|".join(sorted(_moved.MOVED, key=len, reverse=True))
    was_module = "backbones|experiments|training"
    patterns = [
        re.compile(rf"\btl_templates\.({old})\b(?!\w)"),
        re.compile(rf"from tl_templates import [^\n]*\b({old}|{was_module})\b(?!\w)"),
    ]
    offenders = []
    for path in repository_sources():
        if path.name == "_moved.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(pattern.search(line) for pattern in patterns):
                offenders.append(
                    f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()[:100]}"
                )
    assert not offenders, "\n".join(offenders)
