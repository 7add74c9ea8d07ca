"""Variance-lowering interventions: what they change and what they leave alone."""

from __future__ import annotations

import numpy as np
import pytest

from ood_lib import data
from ood_lib.analysis import stats
from ood_lib.data import interventions


def images(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


def test_shrinking_scales_the_variance_by_t_squared_and_keeps_integers() -> None:
    x_uint8 = images((2000, 4, 4, 1))
    shrunk = interventions.shrink_toward(x_uint8, 0.5)
    assert shrunk.dtype == np.uint8
    ratio = stats.variance_sums(shrunk) / stats.variance_sums(x_uint8)
    assert ratio == pytest.approx([0.25], rel=0.02)  # rounding adds about 1/12 per pixel
    np.testing.assert_array_equal(interventions.shrink_toward(x_uint8, 1.0), x_uint8)
    assert len(np.unique(interventions.shrink_toward(x_uint8, 0.0, centre=128.0))) == 1


def test_foreground_only_shrinking_leaves_the_background_untouched() -> None:
    x_uint8 = images((50, 6, 6, 1))
    x_uint8[::2, :2] = 0  # a background in half the images, so the mean image there is grey
    shrunk = interventions.shrink_toward(x_uint8, 0.5, foreground_only=True)
    assert (shrunk[::2, :2] == 0).all()
    moved = x_uint8 != 0
    assert (shrunk[moved] != x_uint8[moved]).any()
    assert (interventions.shrink_toward(x_uint8, 0.5)[::2, :2] != 0).all()  # the plain shrink greys the background


def test_shrinking_the_foreground_toward_its_own_mean_keeps_the_foreground_mean() -> None:
    rng = np.random.default_rng(7)
    x_uint8 = rng.integers(100, 256, (400, 4, 4, 1)).astype(np.uint8)
    x_uint8[rng.random(x_uint8.shape) < 0.5] = 0  # half the pixels are background
    centre = interventions.foreground_mean(x_uint8)
    ink = x_uint8 != 0
    np.testing.assert_allclose(centre, np.nanmean(np.where(ink, x_uint8, np.nan), axis=0))
    own = interventions.shrink_toward(x_uint8, 0.25, centre=centre, foreground_only=True)
    darker = interventions.shrink_toward(x_uint8, 0.25, foreground_only=True)
    assert abs(own[ink].mean() - x_uint8[ink].mean()) < 1.0  # the foreground's mean stays
    assert darker[ink].mean() < x_uint8[ink].mean() - 50  # toward the all-image mean: darker strokes
    assert own[ink].std() < 0.4 * x_uint8[ink].std()
    empty = np.zeros((3, 2, 2, 1), dtype=np.uint8)
    assert (interventions.foreground_mean(empty) == 0).all()


def test_desaturation_interpolates_between_colour_and_gray() -> None:
    x_uint8 = images((20, 5, 5, 3))
    np.testing.assert_array_equal(interventions.desaturate(x_uint8, 0.0), x_uint8)
    gray = interventions.desaturate(x_uint8, 1.0)
    np.testing.assert_array_equal(gray, np.repeat(data.to_grayscale(x_uint8), 3, axis=-1))
    half = interventions.desaturate(x_uint8, 0.5).astype(int)
    assert (half[..., 0] != half[..., 1]).any()  # channels stay distinct
    chroma = np.abs(x_uint8.astype(int) - gray.astype(int)).mean()
    assert np.abs(half - gray.astype(int)).mean() == pytest.approx(chroma / 2, rel=0.05)


def test_copy_channel_makes_three_equal_channels_from_one() -> None:
    x_uint8 = images((3, 4, 4, 3))
    copied = interventions.copy_channel(x_uint8, 1)
    assert (copied == x_uint8[..., 1:2]).all()


def test_bad_inputs_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="uint8"):
        interventions.shrink_toward(np.zeros((2, 3, 3, 1)), 0.5)
    with pytest.raises(ValueError, match="shrink factor"):
        interventions.shrink_toward(images((2, 3, 3, 1)), 1.5)
    with pytest.raises(ValueError, match="RGB"):
        interventions.desaturate(images((2, 3, 3, 1)), 0.5)
    with pytest.raises(ValueError, match="channel"):
        interventions.copy_channel(images((2, 3, 3, 3)), 3)
