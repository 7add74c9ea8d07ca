"""OOD scores beyond the likelihood, each on a constructed case where it must separate and one where it must not."""

from __future__ import annotations

import numpy as np
import pytest

from ood_lib.ood import scores
from ood_lib.ood.complexity import complexity_scores, png_code_lengths
from ood_lib.ood.ensembles import ensemble_mean, member_offsets, waic, waic_centred
from ood_lib.ood.intervals import bootstrap_mean
from ood_lib.ood.likelihood_ratio import likelihood_ratio
from ood_lib.ood.metrics import ood_metrics, roc_points
from ood_lib.ood.typicality import TypicalityTest, batch_means, bootstrap_batch_detection

RNG = np.random.default_rng(0)


def gaussian_log_density(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """log N(x; mean, std^2) summed over the last axis."""
    return (-0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)).sum(axis=-1)


def test_metrics_agree_with_the_rank_based_auroc_and_known_cases() -> None:
    in_scores, out_scores = RNG.normal(1.0, 1.0, 500), RNG.normal(0.0, 1.0, 400)
    metrics = ood_metrics(in_scores, out_scores)
    assert metrics.auroc == pytest.approx(scores.auroc(in_scores, out_scores), abs=1e-12)
    perfect = ood_metrics(np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0]))
    assert perfect.auroc == 1.0 and perfect.aupr_in == 1.0 and perfect.fpr_at_95_tpr == 0.0
    reversed_scores = ood_metrics(np.array([0.0, 1.0]), np.array([3.0, 4.0, 5.0]))
    assert reversed_scores.auroc == 0.0 and reversed_scores.fpr_at_95_tpr == 1.0
    same = ood_metrics(RNG.normal(size=20000), RNG.normal(size=20000))
    assert same.auroc == pytest.approx(0.5, abs=0.01) and same.fpr_at_95_tpr == pytest.approx(0.95, abs=0.01)
    false_positive_rate, true_positive_rate = roc_points(in_scores, out_scores)
    assert false_positive_rate[0] == 0.0 and true_positive_rate[-1] == 1.0
    with pytest.raises(ValueError, match="finite"):
        ood_metrics(np.array([1.0, np.inf]), np.array([0.0]))


def test_typicality_rejects_too_likely_batches_and_accepts_training_batches_at_its_level() -> None:
    num_dims = 50
    train = RNG.normal(size=(4000, num_dims))
    reference = gaussian_log_density(train[:2000], 0.0, 1.0)
    validation = gaussian_log_density(train[2000:], 0.0, 1.0)
    test = TypicalityTest.fit(reference, validation, batch_size=10, level=0.99, n_bootstrap=2000)
    in_batches = batch_means(gaussian_log_density(RNG.normal(size=(3000, num_dims)), 0.0, 1.0), 10, 2000, seed=1)
    assert test.rejects(in_batches).mean() == pytest.approx(0.01, abs=0.01), "false rejections at the stated level"
    # Shrunk toward the mode: every input is MORE likely than training inputs, and atypical.
    shrunk = gaussian_log_density(0.5 * RNG.normal(size=(3000, num_dims)), 0.0, 1.0)
    assert shrunk.mean() > reference.mean(), "the likelihood prefers the shrunk inputs"
    assert test.rejects(batch_means(shrunk, 10, 500, seed=2)).mean() > 0.99
    assert ood_metrics(test.scores(in_batches), test.scores(batch_means(shrunk, 10, 500, seed=2))).auroc > 0.99


def test_waic_equals_the_mean_for_identical_members_and_penalises_disagreement() -> None:
    member = RNG.normal(size=100)
    identical = np.stack([member, member, member])
    np.testing.assert_allclose(waic(identical), member)
    np.testing.assert_allclose(ensemble_mean(identical), member)
    in_log_p = RNG.normal(0.0, 0.1, size=(5, 300))  # members agree on in-distribution inputs
    out_log_p = 1.0 + RNG.normal(0.0, 3.0, size=(5, 300))  # higher mean, but members disagree
    assert ood_metrics(ensemble_mean(in_log_p), ensemble_mean(out_log_p)).auroc < 0.5
    assert ood_metrics(waic(in_log_p), waic(out_log_p)).auroc > 0.9
    with pytest.raises(ValueError, match="members"):
        waic(member[None])


def test_likelihood_ratio_cancels_a_background_term_that_fools_the_likelihood() -> None:
    # x = (semantic s, background b). In: s ~ N(0, 1), b ~ N(0, 0.1^2). OOD: s ~ N(3, 1), b ~ N(0, 0.01^2).
    def sample(n: int, semantic_mean: float, background_std: float) -> np.ndarray:
        return np.concatenate(
            [RNG.normal(semantic_mean, 1.0, (n, 2)), RNG.normal(0.0, background_std, (n, 20))], axis=1
        )

    def log_p(x: np.ndarray, semantic_std: float) -> np.ndarray:
        return gaussian_log_density(x[:, :2], 0.0, semantic_std) + gaussian_log_density(x[:, 2:], 0.0, 0.1)

    inliers, outliers = sample(1000, 0.0, 0.1), sample(1000, 3.0, 0.01)
    model, background = (lambda x: log_p(x, 1.0)), (lambda x: log_p(x, 3.0))
    assert ood_metrics(model(inliers), model(outliers)).auroc < 0.5, "the likelihood is fooled"
    ratio = ood_metrics(
        likelihood_ratio(model(inliers), background(inliers)), likelihood_ratio(model(outliers), background(outliers))
    )
    assert ratio.auroc > 0.9
    same = sample(1000, 0.0, 0.1)
    no_shift = ood_metrics(
        likelihood_ratio(model(inliers), background(inliers)), likelihood_ratio(model(same), background(same))
    )
    assert no_shift.auroc == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="Shapes"):
        likelihood_ratio(np.zeros(3), np.zeros(4))


def test_png_code_lengths_are_short_for_constant_images_and_long_for_noise() -> None:
    constant = np.full((2, 28, 28, 1), 128, dtype=np.uint8)
    noise = RNG.integers(0, 256, (2, 28, 28, 1), dtype=np.uint8)
    colour_noise = RNG.integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    assert (png_code_lengths(constant) < 800).all()
    assert (png_code_lengths(noise) > 8 * 784).all(), "noise does not compress: more than 8 bits per pixel"
    assert png_code_lengths(colour_noise)[0] > 8 * 3072
    with pytest.raises(ValueError, match="uint8"):
        png_code_lengths(noise.astype(np.float32))


def test_complexity_score_flags_simple_inputs_that_a_uniform_model_cannot() -> None:
    noise = RNG.integers(0, 256, (50, 28, 28, 1), dtype=np.uint8)
    constant = np.repeat(RNG.integers(0, 256, (50, 1, 1, 1), dtype=np.uint8), 784, axis=1).reshape(50, 28, 28, 1)
    uniform_model_bpd = np.full(50, 8.0)  # the uniform model: 8 bits per pixel for every image
    in_scores = -complexity_scores(uniform_model_bpd, png_code_lengths(noise), 784)
    out_scores = -complexity_scores(uniform_model_bpd, png_code_lengths(constant), 784)
    assert ood_metrics(in_scores, out_scores).auroc == 1.0, "constant images need far fewer bits than 8 per pixel"
    # A model that is itself the compressor: S = 0 for every input, nothing is separated.
    compressor_scores = [
        np.round(-complexity_scores(png_code_lengths(images) / 784, png_code_lengths(images), 784), 6)
        for images in (noise, constant)
    ]
    assert np.abs(np.concatenate(compressor_scores)).max() == 0.0
    assert ood_metrics(*compressor_scores).auroc == pytest.approx(0.5)


def test_centred_waic_ignores_constant_member_offsets_and_equals_waic_without_them() -> None:
    rng = np.random.default_rng(0)
    disagreement = rng.normal(0.0, 1.0, (3, 50))
    offsets = np.array([[0.0], [40.0], [-25.0]])
    shifted = disagreement + offsets
    centred = waic_centred(shifted, member_offsets(shifted))
    # the offsets inflate plain WAIC's variance on every input by the same amount; centred WAIC sees only the rest
    per_input = (disagreement - disagreement.mean(axis=1, keepdims=True)).var(axis=0)
    assert np.allclose(shifted.mean(axis=0) - centred, per_input)
    assert np.allclose(waic_centred(disagreement, np.zeros((3, 1))), waic(disagreement))
    assert (waic(shifted) < centred).all()
    with pytest.raises(ValueError, match="one offset per member"):
        waic_centred(shifted, np.zeros((2, 1)))


def test_batch_detection_intervals_resample_images_and_separate_only_what_differs() -> None:
    rng = np.random.default_rng(0)
    reference, validation = rng.normal(0.0, 1.0, 2000), rng.normal(0.0, 1.0, 2000)
    test = TypicalityTest.fit(reference, validation, batch_size=25, seed=0)
    inliers, shifted, same = rng.normal(0.0, 1.0, 300), rng.normal(1.0, 1.0, 300), rng.normal(0.0, 1.0, 300)
    auroc, rejected = bootstrap_batch_detection(test, inliers, shifted, n_batches=400, n_resamples=100)
    assert auroc.low > 0.99 and rejected.low > 0.9, (auroc, rejected)
    auroc, rejected = bootstrap_batch_detection(test, inliers, same, n_batches=400, n_resamples=100)
    assert auroc.low < 0.5 < auroc.high and rejected.high < 0.2, (auroc, rejected)
    # resampling the images widens the interval beyond what 400 batches of fixed images would give
    nearby = rng.normal(0.3, 1.0, 300)  # a share of batches in between is rejected
    naive = bootstrap_mean(test.rejects(batch_means(nearby, 25, 400, seed=1)).astype(float))
    _, wide = bootstrap_batch_detection(test, inliers, nearby, n_batches=400, n_resamples=100)
    assert wide.high - wide.low > naive.high - naive.low, (wide, naive)
