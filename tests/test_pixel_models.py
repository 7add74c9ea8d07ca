"""Independent per-pixel density models: exact normalisation, known likelihoods, fitting, the Jensen bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from ood_lib.models.pixel_models import (
    NUM_VALUES,
    PixelGaussian,
    PixelHistogram,
    bits_per_dim_from_discrete_log_prob,
    log_normal_interval_mass,
)

ALL_VALUES = np.arange(NUM_VALUES, dtype=np.uint8)


def every_value_at_every_pixel(pixel_shape: tuple[int, ...]) -> np.ndarray:
    """256 images; image v has every pixel equal to v."""
    return np.broadcast_to(ALL_VALUES.reshape(-1, *([1] * len(pixel_shape))), (NUM_VALUES, *pixel_shape)).copy()


def random_images(rng: np.random.Generator, n: int, pixel_shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, NUM_VALUES, size=(n, *pixel_shape), dtype=np.uint8)


# --- PixelHistogram -------------------------------------------------------------------------------


def test_histogram_probabilities_sum_to_one_per_pixel() -> None:
    rng = np.random.default_rng(0)
    model = PixelHistogram.fit(random_images(rng, 50, (3, 4, 2)), alpha=0.5)
    probs = np.exp(model.log_probs)
    assert probs.shape == (3, 4, 2, NUM_VALUES)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    # the same through the scoring path: exp(log Q_d(v)) over all v
    per_pixel = np.exp(model.log_prob_per_pixel(every_value_at_every_pixel((3, 4, 2))))
    np.testing.assert_allclose(per_pixel.sum(axis=0), 1.0, rtol=0, atol=1e-12)


def test_histogram_fit_is_add_alpha_counting() -> None:
    images = np.array([[[0]], [[0]], [[7]], [[255]]], dtype=np.uint8)  # 4 one-pixel images
    alpha = 0.25
    probs = np.exp(PixelHistogram.fit(images, alpha=alpha).log_probs[0, 0])
    denominator = 4 + NUM_VALUES * alpha
    assert probs[0] == pytest.approx((2 + alpha) / denominator)
    assert probs[7] == pytest.approx((1 + alpha) / denominator)
    assert probs[255] == pytest.approx((1 + alpha) / denominator)
    assert probs[100] == pytest.approx(alpha / denominator)


def test_histogram_fit_recovers_known_frequencies_per_pixel() -> None:
    rng = np.random.default_rng(1)
    true_probs = rng.dirichlet(np.full(NUM_VALUES, 0.3), size=(2, 3))  # a different distribution per pixel
    n = 200_000
    images = np.empty((n, 2, 3), dtype=np.uint8)
    for row in range(2):
        for col in range(3):
            images[:, row, col] = rng.choice(NUM_VALUES, size=n, p=true_probs[row, col])
    fitted = np.exp(PixelHistogram.fit(images, alpha=1e-3).log_probs)
    np.testing.assert_allclose(fitted, true_probs, atol=4e-3)


def test_histogram_fit_counts_every_chunk() -> None:
    rng = np.random.default_rng(9)
    images = rng.integers(0, 4, size=(10_001, 1, 2), dtype=np.uint8)  # more images than one fitting chunk
    fitted = np.exp(PixelHistogram.fit(images, alpha=1.0).log_probs[0])
    for col in range(2):
        counts = np.bincount(images[:, 0, col], minlength=NUM_VALUES)
        np.testing.assert_allclose(fitted[col], (counts + 1.0) / (len(images) + NUM_VALUES))


def test_uniform_histogram_is_eight_bits_per_dim() -> None:
    uniform = PixelHistogram(np.full((5, 5, 1, NUM_VALUES), -math.log(NUM_VALUES)))
    images = random_images(np.random.default_rng(2), 10, (5, 5, 1))
    np.testing.assert_allclose(uniform.bits_per_dim(images), 8.0, rtol=0, atol=1e-12)
    # fitted on data where each value occurs equally often it is uniform too
    fitted = PixelHistogram.fit(every_value_at_every_pixel((5, 5, 1)), alpha=1.0)
    np.testing.assert_allclose(fitted.bits_per_dim(images), 8.0, rtol=0, atol=1e-12)


def test_histogram_log_prob_sums_pixels_and_bpd_divides_by_dims() -> None:
    rng = np.random.default_rng(3)
    model = PixelHistogram.fit(random_images(rng, 30, (4, 4, 1)))
    images = random_images(rng, 6, (4, 4, 1))
    expected = np.array(
        [sum(model.log_probs[h, w, 0, image[h, w, 0]] for h in range(4) for w in range(4)) for image in images]
    )
    np.testing.assert_allclose(model.log_prob(images), expected)
    np.testing.assert_allclose(model.bits_per_dim(images), -expected / (16 * math.log(2)))


def test_histogram_entropy_of_uniform_and_point_mass() -> None:
    log_probs = np.full((1, 2, NUM_VALUES), -np.inf)
    log_probs[0, 0] = -math.log(NUM_VALUES)
    log_probs[0, 1, 9] = 0.0
    with np.errstate(invalid="ignore"):
        entropy = np.nan_to_num(PixelHistogram(log_probs).entropy_per_pixel())
    np.testing.assert_allclose(entropy[0], [math.log(NUM_VALUES), 0.0], atol=1e-12)


def test_histogram_samples_follow_the_model() -> None:
    log_probs = np.full((1, 2, NUM_VALUES), -np.inf)
    log_probs[0, 0, 9] = 0.0  # always 9
    log_probs[0, 1, [3, 200]] = math.log(0.5)  # 3 or 200, equally likely
    samples = PixelHistogram(log_probs).sample(4000, np.random.default_rng(4))
    assert samples.dtype == np.uint8 and samples.shape == (4000, 1, 2)
    assert np.all(samples[:, 0, 0] == 9)
    assert set(np.unique(samples[:, 0, 1])) == {3, 200}
    assert abs(np.mean(samples[:, 0, 1] == 3) - 0.5) < 0.03


# --- PixelGaussian --------------------------------------------------------------------------------


@pytest.mark.parametrize("std_pixels", [0.05, 0.3, 1.0, 17.0, 300.0])
@pytest.mark.parametrize("mean_unit", [-0.2, 0.0, 0.37, 0.999, 1.4])
def test_gaussian_bin_masses_sum_to_one(mean_unit: float, std_pixels: float) -> None:
    model = PixelGaussian(np.array([mean_unit]), np.array([std_pixels / NUM_VALUES]))
    masses = np.exp(model.log_prob(ALL_VALUES[:, None]))
    assert masses.sum() == pytest.approx(1.0, abs=1e-10)


def test_gaussian_bin_mass_matches_cdf_difference() -> None:
    mean, std = 0.4, 0.1
    model = PixelGaussian(np.array([mean]), np.array([std]))
    normaliser = norm.cdf(1, mean, std) - norm.cdf(0, mean, std)
    lower = ALL_VALUES.astype(np.float64) / 256
    upper = lower + 1 / 256
    # reference: CDF differences below the mean, survival-function differences above (no cancellation)
    expected = (
        np.where(
            lower >= mean,
            norm.sf(lower, mean, std) - norm.sf(upper, mean, std),
            norm.cdf(upper, mean, std) - norm.cdf(lower, mean, std),
        )
        / normaliser
    )
    np.testing.assert_allclose(np.exp(model.log_prob(ALL_VALUES[:, None])), expected, rtol=1e-9)


def test_log_normal_interval_mass_is_finite_and_accurate_in_the_tails() -> None:
    lower = np.array([-40.0, 30.0, -1.0, 5.0])
    upper = np.array([-39.0, 31.0, 1.0, 5.0 + 1e-6])
    result = log_normal_interval_mass(lower, upper)
    assert np.all(np.isfinite(result))
    assert result[0] == pytest.approx(norm.logcdf(-39.0), abs=1e-6)  # Phi(-40) is negligible against Phi(-39)
    assert result[1] == pytest.approx(norm.logsf(30.0), abs=1e-6)
    assert result[2] == pytest.approx(math.log(norm.cdf(1) - norm.cdf(-1)), rel=1e-12)
    assert result[3] == pytest.approx(norm.logpdf(5.0) + math.log(1e-6), abs=1e-4)


def test_gaussian_fit_uses_dequantized_moments() -> None:
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, size=(1000, 2, 2, 1), dtype=np.uint8)
    model = PixelGaussian.fit(images)
    pixels = images.astype(np.float64)
    np.testing.assert_allclose(model.mean, (pixels.mean(axis=0) + 0.5) / 256)
    np.testing.assert_allclose(model.std, np.sqrt(pixels.var(axis=0) + 1 / 12) / 256)
    constant = PixelGaussian.fit(np.zeros((10, 1, 1, 1), dtype=np.uint8))
    assert constant.std[0, 0, 0] == pytest.approx(math.sqrt(1 / 12) / 256)  # only the dequantization noise


def test_gaussian_fit_recovers_known_mean_and_std() -> None:
    rng = np.random.default_rng(6)
    true_mean, true_std = np.array([[0.3], [0.6]]), np.array([[0.05], [0.1]])
    truth = PixelGaussian(true_mean, true_std)
    fitted = PixelGaussian.fit(truth.sample(100_000, rng))
    np.testing.assert_allclose(fitted.mean, true_mean, atol=2e-3)
    np.testing.assert_allclose(fitted.std, true_std, rtol=0.02)


def test_expected_dequantized_log_prob_matches_monte_carlo() -> None:
    rng = np.random.default_rng(7)
    model = PixelGaussian(np.array([0.2, 0.7, 0.5]), np.array([0.01, 0.2, 0.003]))
    images = np.array([[48, 180, 127], [60, 0, 130]], dtype=np.uint8)
    noise = rng.random((20_000, *images.shape))
    draws = np.stack([model.continuous_log_prob((images[i] + noise[:, i]) / 256) for i in range(2)])
    standard_error = draws.std(axis=1) / math.sqrt(draws.shape[1])
    difference = model.expected_dequantized_log_prob(images) - draws.mean(axis=1)
    assert np.all(np.abs(difference) < 4 * standard_error)


def test_jensen_bound_holds_and_tightens_with_smoothness() -> None:
    images = every_value_at_every_pixel((1,))
    gaps = []
    for std_pixels in (0.2, 1.0, 5.0, 25.0):
        model = PixelGaussian(np.array([0.5]), np.array([std_pixels / 256]))
        bound = model.expected_dequantized_log_prob(images) - math.log(256)
        exact = model.log_prob(images)
        assert np.all(bound <= exact + 1e-12)
        gaps.append(float(np.exp(exact) @ (exact - bound)))
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:]))
    assert gaps[-1] == pytest.approx(1 / (24 * 25.0**2), rel=0.05)


def test_continuous_log_prob_is_truncated_to_the_unit_interval() -> None:
    model = PixelGaussian(np.array([0.5]), np.array([0.2]))
    inside = model.continuous_log_prob(np.array([[0.5]]))[0]
    normaliser = norm.cdf(1, 0.5, 0.2) - norm.cdf(0, 0.5, 0.2)
    assert inside == pytest.approx(norm.logpdf(0.5, 0.5, 0.2) - math.log(normaliser))
    assert model.continuous_log_prob(np.array([[-0.01], [1.0]])).tolist() == [-np.inf, -np.inf]


def test_gaussian_samples_stay_in_pixel_range() -> None:
    samples = PixelGaussian(np.array([0.02, 0.98]), np.array([0.3, 0.3])).sample(5000, np.random.default_rng(8))
    assert samples.dtype == np.uint8 and samples.shape == (5000, 2)
    assert samples[:, 0].mean() < samples[:, 1].mean()


def test_bits_per_dim_from_discrete_log_prob() -> None:
    assert bits_per_dim_from_discrete_log_prob(np.array([-784 * math.log(256)]), 784)[0] == pytest.approx(8.0)


# --- input validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        PixelHistogram(np.full((2, 2, 1, NUM_VALUES), -math.log(NUM_VALUES))),
        PixelGaussian(np.full((2, 2, 1), 0.5), np.full((2, 2, 1), 0.1)),
    ],
)
def test_scoring_rejects_wrong_dtype_and_shape(model: PixelHistogram | PixelGaussian) -> None:
    good = np.zeros((3, 2, 2, 1), dtype=np.uint8)
    assert model.log_prob(good).shape == (3,)
    with pytest.raises(TypeError, match="uint8"):
        model.log_prob(good.astype(np.float32))
    with pytest.raises(TypeError, match="uint8"):
        model.log_prob(good.tolist())
    with pytest.raises(ValueError, match="pixel shape"):
        model.log_prob(np.zeros((3, 2, 2, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="N >= 1"):
        model.log_prob(np.zeros((0, 2, 2, 1), dtype=np.uint8))


def test_constructors_and_fit_reject_bad_parameters() -> None:
    with pytest.raises(ValueError, match="alpha must be positive"):
        PixelHistogram.fit(np.zeros((2, 2), dtype=np.uint8), alpha=0.0)
    with pytest.raises(ValueError, match="log_probs must have shape"):
        PixelHistogram(np.zeros((2, 2, 10)))
    with pytest.raises(ValueError, match="std must be positive"):
        PixelGaussian(np.array([0.5, 0.5]), np.array([0.1, 0.0]))
    with pytest.raises(ValueError, match="pixel shape"):
        PixelGaussian(np.array([0.5, 0.5]), np.array([0.1]))
    with pytest.raises(TypeError, match="uint8"):
        PixelGaussian.fit(np.zeros((2, 2), dtype=np.int64))
