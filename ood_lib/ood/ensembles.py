r"""Ensembles of independently trained models and WAIC (Choi, Jang, Alemi 2018, "WAIC, but Why?").

With K models :math:`\theta_k` trained from different random seeds and
:math:`\ell_k(x) = \log p_{\theta_k}(x)`,

.. math::
    \text{WAIC}(x) = \frac1K \sum_k \ell_k(x) - \operatorname{Var}_k[\ell_k(x)],

the ensemble's mean log-likelihood penalised by how much its members *disagree* about x
(population variance over members). Inputs far from the training data, where the members
extrapolate differently, are pushed down even when their mean likelihood is high.
"""

from __future__ import annotations

import numpy as np


def ensemble_mean(member_log_likelihoods: np.ndarray) -> np.ndarray:
    """Mean over members, shape (N,), from ``member_log_likelihoods`` of shape (K, N)."""
    return np.asarray(member_log_likelihoods, dtype=np.float64).mean(axis=0)


def waic(member_log_likelihoods: np.ndarray) -> np.ndarray:
    """WAIC(x) = mean_k l_k(x) - Var_k l_k(x) per input, shape (N,), from (K, N) log-likelihoods."""
    values = np.asarray(member_log_likelihoods, dtype=np.float64)
    if values.ndim != 2 or len(values) < 2:
        raise ValueError(f"Expected log-likelihoods of shape (K >= 2 members, N inputs), got {values.shape}.")
    return values.mean(axis=0) - values.var(axis=0)
