r"""Percentile bootstrap intervals over images: means, mean differences, AUROCs and their differences.

A resample draws each set's images with replacement, as many as the set has; the statistic is
recomputed on it, and the interval is the (1 - level)/2 and (1 + level)/2 percentiles of the
resampled statistics. Resamples are represented by *counts* (how often each image was drawn),
so a mean is ``counts @ values / n`` and an AUROC is the Mann-Whitney statistic with weights:

.. math::

    \mathrm{AUROC} = \frac{1}{n_\mathrm{in} n_\mathrm{out}} \sum_{i, j} c_i d_j
        \left([s_i > t_j] + \tfrac12 [s_i = t_j]\right),

with in-distribution scores :math:`s_i` drawn :math:`c_i` times and OOD scores :math:`t_j`
drawn :math:`d_j` times (all counts 1 gives scikit-learn's ``roc_auc_score``). A *paired*
comparison (two models or two scores on the same images) uses the same counts for both, so
the interval of the difference reflects only how the images were drawn, not two independent draws.

The same counts give the other two metrics of ``ood_lib.ood.metrics`` (:func:`bootstrap_ood_metrics`):
FPR at 95% TPR, the weighted share of OOD scores at or above the threshold :math:`t^*`, the
largest score that keeps at least 95% of the (weighted) in-distribution scores at or above it;
and AUPR-In, the average precision :math:`\sum_k (R_k - R_{k-1}) P_k` over the distinct score
thresholds in decreasing order, with weighted true and false positives (all counts 1 give
scikit-learn's ``roc_curve`` and ``average_precision_score`` values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
TPR_LEVEL = 0.95  # the true positive rate of "FPR at 95% TPR"


@dataclass(frozen=True)
class Interval:
    """A statistic on the data as drawn, and its percentile bootstrap interval [low, high]."""

    estimate: float
    low: float
    high: float

    def excludes(self, value: float) -> bool:
        """True when ``value`` lies outside [low, high] (e.g. 0 for a difference called real)."""
        return not self.low <= value <= self.high

    def format(self, digits: int = 3) -> str:
        """``"estimate [low, high]"`` with ``digits`` decimals."""
        return f"{self.estimate:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def _resample_counts(num_items: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    if num_items < 2:
        raise ValueError(f"a bootstrap needs at least 2 values per set, got {num_items}")
    draws = rng.integers(0, num_items, (n_resamples, num_items))
    return np.stack([np.bincount(row, minlength=num_items) for row in draws]).astype(np.float64)


def _two_set_counts(first_size: int, second_size: int, n_resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample counts of two sets drawn separately (the first set's draws come first)."""
    rng = np.random.default_rng(seed)
    return _resample_counts(first_size, n_resamples, rng), _resample_counts(second_size, n_resamples, rng)


def percentile_interval(estimate: float, resampled: np.ndarray, level: float) -> Interval:
    """``estimate`` with the (1 - level)/2 and (1 + level)/2 percentiles of its ``resampled`` values."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(resampled, [tail, 100.0 - tail])
    return Interval(float(estimate), float(low), float(high))


def _finite(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(values).all():
        raise ValueError(f"{name} must be finite; clip or drop infinite values first")
    return values


def bootstrap_mean(values: np.ndarray, n_resamples: int = RESAMPLES, level: float = 0.95, seed: int = 0) -> Interval:
    """Interval of the mean of ``values`` (one per image). Paired differences: pass ``a - b``."""
    values = _finite(values, "values")
    counts = _resample_counts(len(values), n_resamples, np.random.default_rng(seed))
    return percentile_interval(values.mean(), counts @ values / len(values), level)


def bootstrap_mean_difference(
    first: np.ndarray, second: np.ndarray, n_resamples: int = RESAMPLES, level: float = 0.95, seed: int = 0
) -> Interval:
    """Interval of ``mean(first) - mean(second)`` for two independent sets, each resampled on its own."""
    first, second = _finite(first, "first"), _finite(second, "second")
    first_counts, second_counts = _two_set_counts(len(first), len(second), n_resamples, seed)
    resampled = first_counts @ first / len(first) - second_counts @ second / len(second)
    return percentile_interval(first.mean() - second.mean(), resampled, level)


def weighted_auroc(
    in_scores: np.ndarray, out_scores: np.ndarray, in_counts: np.ndarray, out_counts: np.ndarray
) -> np.ndarray:
    """AUROC (higher score = in-distribution) for each row of counts: shape (R, n_in), (R, n_out) -> (R,)."""
    order = np.argsort(out_scores, kind="stable")
    sorted_out = out_scores[order]
    below = np.searchsorted(sorted_out, in_scores, side="left")
    up_to = np.searchsorted(sorted_out, in_scores, side="right")
    cumulative = np.concatenate([np.zeros((len(out_counts), 1)), np.cumsum(out_counts[:, order], axis=1)], axis=1)
    wins = cumulative[:, below] + 0.5 * (cumulative[:, up_to] - cumulative[:, below])
    return (in_counts * wins).sum(axis=1) / (in_counts.sum(axis=1) * out_counts.sum(axis=1))


def _auroc(in_scores: np.ndarray, out_scores: np.ndarray) -> float:
    return float(weighted_auroc(in_scores, out_scores, np.ones((1, len(in_scores))), np.ones((1, len(out_scores))))[0])


def _resampled(
    metric: Callable[..., np.ndarray],
    in_scores: np.ndarray,
    out_scores: np.ndarray,
    in_counts: np.ndarray,
    out_counts: np.ndarray,
    chunk: int = 100,
) -> np.ndarray:
    """``metric`` (a ``weighted_*`` function) for every row of counts, ``chunk`` rows at a time (memory)."""
    return np.concatenate(
        [
            metric(in_scores, out_scores, in_counts[start : start + chunk], out_counts[start : start + chunk])
            for start in range(0, len(in_counts), chunk)
        ]
    )


def _auroc_resamples(
    in_scores: np.ndarray, out_scores: np.ndarray, in_counts: np.ndarray, out_counts: np.ndarray
) -> np.ndarray:
    return _resampled(weighted_auroc, in_scores, out_scores, in_counts, out_counts)


def bootstrap_auroc(
    in_scores: np.ndarray, out_scores: np.ndarray, n_resamples: int = RESAMPLES, level: float = 0.95, seed: int = 0
) -> Interval:
    """Interval of the AUROC of one score, the in-distribution and OOD images resampled separately."""
    in_scores, out_scores = _finite(in_scores, "in_scores"), _finite(out_scores, "out_scores")
    in_counts, out_counts = _two_set_counts(len(in_scores), len(out_scores), n_resamples, seed)
    return percentile_interval(
        _auroc(in_scores, out_scores), _auroc_resamples(in_scores, out_scores, in_counts, out_counts), level
    )


def bootstrap_auroc_difference(
    in_first: np.ndarray,
    out_first: np.ndarray,
    in_second: np.ndarray,
    out_second: np.ndarray,
    n_resamples: int = RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Interval of AUROC(first) - AUROC(second), two scores of the *same* images (paired resamples)."""
    in_first, out_first = _finite(in_first, "in_first"), _finite(out_first, "out_first")
    in_second, out_second = _finite(in_second, "in_second"), _finite(out_second, "out_second")
    if in_first.shape != in_second.shape or out_first.shape != out_second.shape:
        raise ValueError("a paired difference needs both scores on the same images: the set sizes differ")
    in_counts, out_counts = _two_set_counts(len(in_first), len(out_first), n_resamples, seed)
    estimate = _auroc(in_first, out_first) - _auroc(in_second, out_second)
    resampled = _auroc_resamples(in_first, out_first, in_counts, out_counts) - _auroc_resamples(
        in_second, out_second, in_counts, out_counts
    )
    return percentile_interval(estimate, resampled, level)


def weighted_fpr_at_tpr(
    in_scores: np.ndarray, out_scores: np.ndarray, in_counts: np.ndarray, out_counts: np.ndarray
) -> np.ndarray:
    """FPR at 95% TPR (higher score = in-distribution) for each row of counts: (R, n_in), (R, n_out) -> (R,)."""
    descending = np.argsort(-in_scores, kind="stable")
    kept = np.cumsum(in_counts[:, descending], axis=1) / in_counts.sum(axis=1, keepdims=True)
    threshold = in_scores[descending][np.argmax(kept >= TPR_LEVEL, axis=1)]
    ascending = np.argsort(out_scores, kind="stable")
    below = np.searchsorted(out_scores[ascending], threshold, side="left")
    cumulative = np.concatenate([np.zeros((len(out_counts), 1)), np.cumsum(out_counts[:, ascending], axis=1)], axis=1)
    total = cumulative[:, -1]
    return (total - cumulative[np.arange(len(out_counts)), below]) / total


def weighted_aupr_in(
    in_scores: np.ndarray, out_scores: np.ndarray, in_counts: np.ndarray, out_counts: np.ndarray
) -> np.ndarray:
    """Average precision, in-distribution positive, for each row of counts: (R, n_in), (R, n_out) -> (R,)."""
    scores = np.concatenate([in_scores, out_scores])
    descending = np.argsort(-scores, kind="stable")
    sorted_scores = scores[descending]
    group_ends = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    positives = np.concatenate([in_counts, np.zeros_like(out_counts)], axis=1)[:, descending]
    negatives = np.concatenate([np.zeros_like(in_counts), out_counts], axis=1)[:, descending]
    true_pos = np.cumsum(positives, axis=1)[:, group_ends]
    false_pos = np.cumsum(negatives, axis=1)[:, group_ends]
    flagged = true_pos + false_pos
    precision = np.divide(true_pos, flagged, out=np.zeros_like(true_pos), where=flagged > 0)
    recall = true_pos / true_pos[:, -1:]
    return (np.diff(recall, axis=1, prepend=0.0) * precision).sum(axis=1)


@dataclass(frozen=True)
class OODMetricIntervals:
    """Bootstrap intervals of AUROC, AUPR-In and FPR at 95% TPR, all from the same resamples."""

    auroc: Interval
    aupr_in: Interval
    fpr_at_95_tpr: Interval


def bootstrap_ood_metrics(
    in_scores: np.ndarray,
    out_scores: np.ndarray,
    n_resamples: int = RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
    chunk: int = 100,
) -> OODMetricIntervals:
    """Intervals of ``ood_lib.ood.metrics``' three metrics; in-distribution and OOD images resampled separately."""
    in_scores, out_scores = _finite(in_scores, "in_scores"), _finite(out_scores, "out_scores")
    in_counts, out_counts = _two_set_counts(len(in_scores), len(out_scores), n_resamples, seed)
    ones_in, ones_out = np.ones((1, len(in_scores))), np.ones((1, len(out_scores)))
    intervals = []
    for metric in (weighted_auroc, weighted_aupr_in, weighted_fpr_at_tpr):
        resampled = _resampled(metric, in_scores, out_scores, in_counts, out_counts, chunk)
        intervals.append(percentile_interval(metric(in_scores, out_scores, ones_in, ones_out)[0], resampled, level))
    return OODMetricIntervals(*intervals)
