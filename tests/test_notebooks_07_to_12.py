"""Notebooks 07-12 run in quick mode with a real kernel (01-06: test_notebooks.py).

A file of their own, so that pytest-xdist runs the two halves on two cores.
"""

import pytest
from test_notebooks import FIRST_HALF, NOTEBOOKS, SECOND_HALF, check_quick_mode


def test_the_two_halves_hold_every_notebook_once():
    assert sorted([*FIRST_HALF, *SECOND_HALF]) == NOTEBOOKS and SECOND_HALF


@pytest.mark.parametrize("path", SECOND_HALF, ids=lambda path: path.stem)
def test_notebook_runs_in_quick_mode(path):
    check_quick_mode(path)
