"""Figure helpers: shared bins and histograms."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ood_lib.book import plots  # noqa: E402


def test_shared_bins_cover_both_samples_and_ignore_a_far_outlier() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.normal(0.0, 1.0, 5000), rng.normal(3.0, 1.0, 5000)
    bins = plots.shared_bins([first, second], count=40)
    assert len(bins) == 41 and np.all(np.diff(bins) > 0)
    assert bins[0] < np.percentile(first, 2) and bins[-1] > np.percentile(second, 98)
    with_outlier = plots.shared_bins([first, np.append(second, 1e6)], count=40)
    assert with_outlier[-1] < 10.0


def test_shared_bins_of_a_constant_sample_are_not_degenerate() -> None:
    bins = plots.shared_bins([np.full(10, 2.0)], count=4)
    assert bins[0] < 2.0 < bins[-1]


def test_histograms_draw_one_labelled_layer_per_sample_on_the_given_bins() -> None:
    fig, ax = plt.subplots()
    bins = np.linspace(-3, 6, 31)
    samples = {"a": np.random.default_rng(1).normal(0, 1, 500), "b": np.random.default_rng(2).normal(3, 1, 500)}
    plots.histograms(ax, samples, bins, xlabel="value")
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["a", "b"] and ax.get_xlabel() == "value"
    heights = [patch.get_height() for patch in ax.patches]
    assert len(heights) == 2 * 30 and abs(sum(heights[:30]) * (bins[1] - bins[0]) - 1.0) < 0.05
    plt.close(fig)


def test_training_curves_draw_one_labelled_line_per_evaluated_set() -> None:
    history = {"step": [100, 200, 300], "eval": {"train": [5.0, 4.0, 3.5], "test": [5.1, 4.2, 3.8], "mnist": [4, 3, 2]}}
    fig, ax = plt.subplots()
    plots.training_curves(ax, history, "a run")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["train", "test", "MNIST test (OOD)"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [5.1, 4.2, 3.8])
    assert ax.get_xlabel() == "training step" and ax.get_title() == "a run"
    plt.close(fig)


def test_histograms_with_outlines_draw_unfilled_steps() -> None:
    fig, ax = plt.subplots()
    samples = {"first": np.arange(10.0), "second": np.arange(5.0)}
    plots.histograms(ax, samples, np.linspace(0, 10, 6), "x", outlines=True)
    assert len(ax.lines) == 2 and not ax.collections, "one unfilled step line per sample"
    plt.close(fig)
