"""The shared plots draw what they are given."""

import matplotlib
import numpy as np
import pytest

from tl_templates.experiments import plots

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")


def test_curves_draw_the_mean_of_the_runs_with_a_band():
    figure = plots.curves([1, 2, 4], {"a": [[0.1, 0.3], [0.5], [0.9, 0.7]]}, "x",
                          log_x=True, title="t")  # fmt: skip
    axis = figure.axes[0]
    np.testing.assert_allclose(axis.get_lines()[0].get_ydata(), [20, 50, 80])
    assert axis.get_xscale() == "log" and len(axis.collections) == 1
    assert [label.get_text() for label in axis.get_xticklabels()] == ["1", "2", "4"]


def test_curves_take_tick_labels():
    figure = plots.curves([0, 1], {"a": [[1.0], [2.0]]}, "x", percent=False, x_labels=["p", "q"])
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["p", "q"]


def test_heatmap_annotates_every_cell_and_outlines_the_marks():
    runs = [[[0.9, 0.7], [0.5]], [[0.2], [0.4, 0.4]]]
    figure = plots.heatmap(runs, ["r1", "r2"], ["c1", "c2"], marks=[(0, 1), (1, 0)])
    axis = figure.axes[0]
    assert [text.get_text().split("\n")[0] for text in axis.texts] == ["80.0", "50.0", "20.0",
                                                                       "40.0"]  # fmt: skip
    assert len(axis.patches) == 2
    assert figure.axes[1].get_ylabel() == "accuracy (%)"  # the colour bar


def test_heatmap_colour_bar_names_its_measure():
    figure = plots.heatmap([[[0.6]]], ["r"], ["c"], colorbar_label="AUC (%)")
    assert figure.axes[1].get_ylabel() == "AUC (%)"


def test_bars_and_examples():
    figure = plots.bars([[0.5, 0.7], [0.9]], ["a", "b"])
    assert len(figure.axes[0].patches) == 2
    images = np.zeros((6, 8, 8, 3), dtype=np.uint8)
    sheet = plots.examples(images, [0, 0, 1, 1, 2, 2], ["x", "y", "z"], per_class=2)
    assert sheet.axes[0].get_images()[0].get_array().shape == (24, 16, 3)
