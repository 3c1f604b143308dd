"""Shared fixtures and helpers for the test suite (CPU-only, offline)."""

import os

import pytest

from tl_templates.planning import budgets

# Training runs of a few epochs on a few images stay that size: no minimum of
# steps per phase (the default is 600). Subprocesses (generated projects,
# notebooks) inherit it; tests of the budgets themselves set it as they need.
os.environ.setdefault(budgets.MIN_STEPS_VARIABLE, "0")


def pytest_addoption(parser):
    parser.addoption(
        "--run-network", action="store_true", help="also run tests that need internet access"
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-network"):
        return
    skip = pytest.mark.skip(reason="needs internet access; run with --run-network")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    """Keeps memory flat and layer auto-names predictable between tests."""
    yield
    import keras

    keras.backend.clear_session()
