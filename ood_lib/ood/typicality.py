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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
