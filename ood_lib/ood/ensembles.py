r"""Ensembles of independently trained models and WAIC (Choi, Jang, Alemi 2018, "WAIC, but Why?").

With K models :math:`\theta_k` trained from different random seeds and
:math:`\ell_k(x) = \log p_{\theta_k}(x)`,

.. math::
    \text{WAIC}(x) = \frac1K \sum_k \ell_k(x) - \operatorname{Var}_k[\ell_k(x)],

the ensemble's mean log-likelihood penalised by how much its members *disagree* about x
(population variance over members). Inputs far from the training data, where the members
extrapolate differently, are pushed down even when their mean likelihood is high.

Members trained from different seeds also end at different overall levels. With
:math:`\ell_k(x) = c_k + d_k(x)`, :math:`c_k` member k's mean log-likelihood on in-distribution
reference inputs, :math:`\operatorname{Var}_k \ell_k = \operatorname{Var}_k c_k + \operatorname{Var}_k d_k
+ 2 \operatorname{Cov}_k(c_k, d_k(x))`: the offsets add a term common to every input and a
covariance term that is not, and neither is disagreement about x. The **centred** variant
subtracts each member's offset :math:`c_k` before the variance,

.. math::
    \text{WAIC}_c(x) = \frac1K \sum_k \ell_k(x) - \operatorname{Var}_k[\ell_k(x) - c_k],

so only per-input disagreement is penalised. The log-likelihoods are in nats and the variance
in nats squared: the two terms' balance, and with it WAIC's ranking, depends on the unit (bits
or nats, per image or per dimension).
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


def member_offsets(reference_log_likelihoods: np.ndarray) -> np.ndarray:
    """Each member's mean log-likelihood on in-distribution reference inputs, shape (K, 1), from (K, N_ref)."""
    values = np.asarray(reference_log_likelihoods, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"Expected reference log-likelihoods of shape (K members, N inputs), got {values.shape}.")
    return values.mean(axis=1, keepdims=True)


def waic_centred(member_log_likelihoods: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """WAIC with each member's ``offsets`` (shape (K, 1), :func:`member_offsets`) removed from the variance only."""
    values = np.asarray(member_log_likelihoods, dtype=np.float64)
    if values.ndim != 2 or len(values) < 2:
        raise ValueError(f"Expected log-likelihoods of shape (K >= 2 members, N inputs), got {values.shape}.")
    offsets = np.asarray(offsets, dtype=np.float64).reshape(-1, 1)
    if len(offsets) != len(values):
        raise ValueError(f"Expected one offset per member ({len(values)}), got {len(offsets)}.")
    return values.mean(axis=0) - (values - offsets).var(axis=0)
