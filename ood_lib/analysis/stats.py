"""Summary statistics of 8-bit image data sets.

With pixels scaled to [0, 1] by 1/255 (the convention of the usual normalisation
constants, e.g. MNIST 0.1307 / 0.3081), ``pixel_mean_std`` gives the mean and
standard deviation over all pixels; ``per_dimension_moments`` gives the mean
and variance of every pixel position (H, W, C) across images, the quantities
of the paper's Figure 5 and Eq. 6 (there scaled by 1/256).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import spearmanr


def pixel_mean_std(x_uint8: np.ndarray, scale: float = 255.0, chunk: int = 10000) -> tuple[float, float]:
    """Mean and standard deviation over every pixel of ``x_uint8 / scale`` (float64, chunked)."""
    total, total_sq, count = 0.0, 0.0, 0
    for start in range(0, len(x_uint8), chunk):
        block = x_uint8[start : start + chunk].astype(np.float64) / scale
        total += block.sum()
        total_sq += np.square(block).sum()
        count += block.size
    mean = total / count
    return float(mean), float(np.sqrt(total_sq / count - mean**2))


def per_dimension_moments(x_uint8: np.ndarray, scale: float = 256.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and variance ``(H, W, C)`` of ``x_uint8 / scale`` across images."""
    scaled = x_uint8.astype(np.float64) / scale
    return scaled.mean(axis=0), scaled.var(axis=0)


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Number of examples of each class 0..num_classes-1."""
    return np.bincount(labels, minlength=num_classes)


def variance_sums(x_uint8: np.ndarray, scale: float = 256.0) -> np.ndarray:
    r"""Per-channel sums of per-pixel variances, :math:`\sum_{h,w} \sigma^2_{h,w,c}` (the paper's Eq. 6), shape (C,)."""
    return per_dimension_moments(x_uint8, scale)[1].sum(axis=(0, 1))


def bisect_to_variance_sum(make: Callable[[float], np.ndarray], target: float, steps: int = 40) -> float:
    r"""A parameter :math:`p \in [0, 1]` at which :math:`\sum_c` ``variance_sums(make(p))`` crosses ``target``.

    Bisection on :math:`[0, 1]`: keeps the half whose upper end has a summed variance at or below the
    target, and returns that upper end after ``steps`` halvings (within :math:`2^{-\text{steps}}` of a
    crossing). It finds *the* crossing only if the sum decreases in :math:`p`; where it does not, it
    returns one of the crossings. ``make(p)`` returns uint8 images (e.g. an intervention of strength ``p``).
    """
    low, high = 0.0, 1.0
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (middle, high) if variance_sums(make(middle)).sum() > target else (low, middle)
    return high


def bootstrap_variance_sums(
    x_uint8: np.ndarray,
    n_resamples: int = 500,
    level: float = 0.95,
    seed: int = 0,
    scale: float = 256.0,
    chunk: int = 5000,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval (low, high), each shape (C,), of :func:`variance_sums` over images.

    Each resample draws N images with replacement; its per-pixel moments are weighted sums
    of the images (weights = how often each was drawn), accumulated ``chunk`` images at a time.
    """
    num_images = len(x_uint8)
    counts = np.random.default_rng(seed).multinomial(num_images, np.full(num_images, 1.0 / num_images), n_resamples)
    first = np.zeros((n_resamples, int(np.prod(x_uint8.shape[1:]))))
    second = np.zeros_like(first)
    for start in range(0, num_images, chunk):
        block = x_uint8[start : start + chunk].reshape(-1, first.shape[1]).astype(np.float64) / scale
        weights = counts[:, start : start + chunk].astype(np.float64)
        first += weights @ block
        second += weights @ np.square(block)
    variances = (second / num_images - np.square(first / num_images)).reshape(n_resamples, *x_uint8.shape[1:])
    sums = variances.sum(axis=(1, 2))
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(sums, [tail, 100.0 - tail], axis=0)
    return low, high


def map_rank_correlation(map_a: np.ndarray, map_b: np.ndarray) -> float:
    """Spearman's rank correlation between two maps of the same shape, over all their entries.

    Both maps are flattened first, so every pixel (and channel) is one paired observation:
    rho = corr(rank(a_1..a_D), rank(b_1..b_D)), ties given their average rank.
    """
    if map_a.shape != map_b.shape:
        raise ValueError(f"maps of different shapes {map_a.shape} and {map_b.shape}: correlate maps of one image shape")
    return float(spearmanr(np.ravel(map_a), np.ravel(map_b)).statistic)
