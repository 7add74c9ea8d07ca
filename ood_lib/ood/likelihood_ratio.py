r"""Likelihood ratios against a background model (Ren, Liu, Fertig, Poplin, Jaitly, DePristo,
Dillon, Lakshminarayanan 2019).

A model's log-likelihood mixes a *background* part (statistics shared by all natural images:
smooth regions, a dark border) with a *semantic* part. A background model
:math:`p_{\theta_0}`, the same architecture trained on inputs perturbed so that their
semantics are destroyed (:mod:`ood_lib.training.perturbation`, rate :math:`\mu`), captures mostly the
first, and the ratio cancels it:

.. math:: \operatorname{LLR}(x) = \log p_\theta(x) - \log p_{\theta_0}(x) .

Higher = more in-distribution. The rate :math:`\mu` is a hyperparameter, to be chosen without
the test OOD set.
"""

from __future__ import annotations

import numpy as np


def likelihood_ratio(model_log_likelihoods: np.ndarray, background_log_likelihoods: np.ndarray) -> np.ndarray:
    """log p_theta(x) - log p_theta0(x) per input (nats, or any unit shared by both)."""
    model_values = np.asarray(model_log_likelihoods, dtype=np.float64)
    background_values = np.asarray(background_log_likelihoods, dtype=np.float64)
    if model_values.shape != background_values.shape:
        raise ValueError(f"Shapes differ: {model_values.shape} vs {background_values.shape}.")
    return model_values - background_values
