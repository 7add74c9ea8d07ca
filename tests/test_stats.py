"""Data-set statistics: per-channel variance sums and their bootstrap interval."""

from __future__ import annotations

import numpy as np
import pytest

from ood_lib.analysis import stats


def test_variance_sums_match_a_direct_computation() -> None:
    x_uint8 = np.random.default_rng(0).integers(0, 256, size=(50, 4, 5, 3), dtype=np.uint8)
    expected = (x_uint8 / 256.0).var(axis=0).sum(axis=(0, 1))
    np.testing.assert_allclose(stats.variance_sums(x_uint8), expected, rtol=1e-12)


def test_bootstrap_interval_covers_the_population_value_and_shrinks_with_more_images() -> None:
    rng = np.random.default_rng(1)
    # Channel c has per-pixel standard deviation (c + 1) * 20 grey levels around 128.
    population = np.clip(128 + rng.normal(size=(20000, 4, 4, 3)) * np.array([20, 40, 60]), 0, 255).astype(np.uint8)
    truth = stats.variance_sums(population)
    widths = []
    for n in (200, 2000):
        low, high = stats.bootstrap_variance_sums(population[:n], n_resamples=300, seed=2, chunk=64)
        assert (low < stats.variance_sums(population[:n])).all() and (stats.variance_sums(population[:n]) < high).all()
        assert (low < truth).all() and (truth < high).all()
        widths.append(high - low)
    assert (widths[1] < 0.5 * widths[0]).all(), "ten times the images: the interval must shrink by about sqrt(10)"


def test_bootstrap_interval_excludes_a_wrong_value() -> None:
    x_uint8 = np.random.default_rng(3).integers(100, 156, size=(1000, 2, 2, 1), dtype=np.uint8)
    low, high = stats.bootstrap_variance_sums(x_uint8, n_resamples=200)
    assert not (low[0] < 1.1 * stats.variance_sums(x_uint8)[0] < high[0])


def test_map_rank_correlation_of_two_maps_has_the_known_answer() -> None:
    rng = np.random.default_rng(0)
    first = rng.random((28, 28))
    assert stats.map_rank_correlation(first, np.exp(3 * first)) == pytest.approx(1.0)  # monotone: same ranks
    assert stats.map_rank_correlation(first, -first) == pytest.approx(-1.0)
    assert abs(stats.map_rank_correlation(first, rng.random((28, 28)))) < 0.1  # independent maps


def test_map_rank_correlation_depends_on_the_second_map() -> None:
    """The bug this guards against: ranking within rows and correlating rows of one map ignores the other."""
    rng = np.random.default_rng(1)
    first, second = rng.random((28, 28)), rng.random((28, 28))
    changed = second.copy()
    changed[:14] = first[:14]  # the top half now agrees with the first map
    assert stats.map_rank_correlation(first, changed) > stats.map_rank_correlation(first, second) + 0.3


def test_map_rank_correlation_refuses_maps_of_different_shapes() -> None:
    with pytest.raises(ValueError, match="different shapes"):
        stats.map_rank_correlation(np.zeros((28, 28)), np.zeros(784))


def test_bisect_to_variance_sum_finds_the_shrink_factor_of_a_known_variance() -> None:
    # x = 128 + s * noise (rounded): the summed variance falls like s^2, so a quarter of it is at s = 1/2
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 40.0, size=(2000, 4, 4, 1))

    def shrink(p: float) -> np.ndarray:
        return np.clip(np.rint(128 + (1.0 - p) * noise), 0, 255).astype(np.uint8)

    full = stats.variance_sums(shrink(0.0)).sum()
    p = stats.bisect_to_variance_sum(shrink, full / 4)
    assert abs(p - 0.5) < 0.01
    assert abs(stats.variance_sums(shrink(p)).sum() - full / 4) < 0.01 * full
    assert abs(stats.bisect_to_variance_sum(shrink, full / 4, steps=3) - 0.5) <= 2**-3  # within 2^-steps
