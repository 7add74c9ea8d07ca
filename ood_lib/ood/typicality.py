r"""The typicality test (Nalisnick, Matsukawa, Teh, Lakshminarayanan 2019).

A batch of M inputs is in-distribution if its mean log-likelihood is close to the training
data's, :math:`\hat H = \frac1N\sum_n \log p(x_n)` (the model's typical set), not if it is high:

.. math::
    \left| \frac1M \sum_{m=1}^M \log p(\tilde x_m) - \hat H \right| > \epsilon_M^\alpha
    \ \Rightarrow\ \text{reject (OOD)},

with :math:`\epsilon_M^\alpha` the :math:`\alpha`-quantile of the same distance over batches of
size M drawn (bootstrap) from held-out training data. A batch of inputs that are *too likely*
(MNIST under a FashionMNIST model) is rejected as readily as one that is too unlikely. The
test's score for a batch is :math:`-|\bar\ell_M - \hat H|` (higher = more typical).
:func:`bootstrap_batch_detection` gives the test's batch AUROC and rejection share with intervals
that resample the images, not the batches built from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from ood_lib.ood.intervals import Interval, percentile_interval


def batch_means(log_likelihoods: np.ndarray, batch_size: int, n_batches: int, seed: int = 0) -> np.ndarray:
    """Mean log-likelihood of ``n_batches`` batches of ``batch_size`` inputs drawn without replacement
    within a batch (independently across batches) from ``log_likelihoods``."""
    values = np.asarray(log_likelihoods, dtype=np.float64)
    if batch_size > len(values):
        raise ValueError(f"batch_size {batch_size} exceeds the {len(values)} values to draw from.")
    rng = np.random.default_rng(seed)
    return np.array([values[rng.choice(len(values), batch_size, replace=False)].mean() for _ in range(n_batches)])


@dataclass(frozen=True)
class TypicalityTest:
    """Reference mean log-likelihood, batch size M and the rejection threshold epsilon_M."""

    reference_mean: float
    batch_size: int
    threshold: float

    @classmethod
    def fit(
        cls,
        reference_log_likelihoods: np.ndarray,
        validation_log_likelihoods: np.ndarray,
        batch_size: int,
        level: float = 0.99,
        n_bootstrap: int = 5000,
        seed: int = 0,
    ) -> TypicalityTest:
        """Reference mean from training data; threshold = ``level`` quantile of the distance of
        bootstrap batches of held-out (validation) data from it."""
        reference_mean = float(np.mean(reference_log_likelihoods))
        means = batch_means(validation_log_likelihoods, batch_size, n_bootstrap, seed)
        return cls(reference_mean, batch_size, float(np.quantile(np.abs(means - reference_mean), level)))

    def scores(self, batch_mean_log_likelihoods: np.ndarray) -> np.ndarray:
        """-|batch mean - reference mean|: higher = more typical."""
        return -np.abs(np.asarray(batch_mean_log_likelihoods) - self.reference_mean)

    def rejects(self, batch_mean_log_likelihoods: np.ndarray) -> np.ndarray:
        """True for each batch whose distance from the reference exceeds the threshold."""
        return -self.scores(batch_mean_log_likelihoods) > self.threshold


def _batch_means_with_replacement(
    values: np.ndarray, batch_size: int, n_batches: int, rng: np.random.Generator
) -> np.ndarray:
    return values[rng.integers(0, len(values), (n_batches, batch_size))].mean(axis=1)


def bootstrap_batch_detection(
    test: TypicalityTest,
    in_log_likelihoods: np.ndarray,
    out_log_likelihoods: np.ndarray,
    n_batches: int = 1000,
    n_resamples: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[Interval, Interval]:
    """(AUROC of ``test`` on batches of in- vs OOD images, share of OOD batches it rejects), each with an interval.

    The batches are drawn from the images (M each, with replacement), and the interval resamples
    the *images* of both sets before drawing batches from them: batches built from the same images
    are not independent, so resampling the batches alone would give too narrow an interval.

    With replacement, unlike ``TypicalityTest.fit`` (without replacement within a batch): once the
    images are resampled, repeats occur anyway. The two differ only in the variance of a batch mean,
    by the factor (N - M) / (N - 1) of drawing without replacement: at least 0.976 for the book's
    M <= 25 of N = 1000 images.
    """
    rng = np.random.default_rng(seed)
    in_values = np.asarray(in_log_likelihoods, dtype=np.float64)
    out_values = np.asarray(out_log_likelihoods, dtype=np.float64)
    labels = np.concatenate([np.ones(n_batches), np.zeros(n_batches)])

    def statistics(inliers: np.ndarray, outliers: np.ndarray) -> tuple[float, float]:
        in_means = _batch_means_with_replacement(inliers, test.batch_size, n_batches, rng)
        out_means = _batch_means_with_replacement(outliers, test.batch_size, n_batches, rng)
        auroc = roc_auc_score(labels, np.concatenate([test.scores(in_means), test.scores(out_means)]))
        return float(auroc), float(test.rejects(out_means).mean())

    estimates = statistics(in_values, out_values)
    resampled = np.array(
        [
            statistics(
                in_values[rng.integers(0, len(in_values), len(in_values))],
                out_values[rng.integers(0, len(out_values), len(out_values))],
            )
            for _ in range(n_resamples)
        ]
    )
    return tuple(percentile_interval(estimates[k], resampled[:, k], level) for k in range(2))
