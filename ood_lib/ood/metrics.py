r"""OOD detection metrics, from scikit-learn, with the in-distribution set as the positive class.

Every score in the book follows one convention: **higher means more in-distribution** (a
log-likelihood, minus BPD, minus a typicality distance, WAIC, a likelihood ratio, minus an
input-complexity score). With in-distribution inputs labelled 1:

- AUROC: the probability that a random in-distribution input scores higher than a random OOD
  one (0.5 = chance; below 0.5 the score ranks OOD inputs as *more* in-distribution);
- AUPR-In: average precision with the in-distribution set as positive;
- FPR at 95% TPR: the fraction of OOD inputs accepted when the threshold keeps 95% of the
  in-distribution inputs (lower is better).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


@dataclass(frozen=True)
class OODMetrics:
    """AUROC, AUPR-In and FPR at 95% TPR of one score on one (in, OOD) pair."""

    auroc: float
    aupr_in: float
    fpr_at_95_tpr: float


def _labelled(in_scores: np.ndarray, out_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    in_scores, out_scores = np.asarray(in_scores, dtype=np.float64), np.asarray(out_scores, dtype=np.float64)
    if not (np.isfinite(in_scores).all() and np.isfinite(out_scores).all()):
        raise ValueError("Scores must be finite; clip or drop infinite log-likelihoods first.")
    labels = np.concatenate([np.ones(len(in_scores)), np.zeros(len(out_scores))])
    return labels, np.concatenate([in_scores, out_scores])


def ood_metrics(in_scores: np.ndarray, out_scores: np.ndarray) -> OODMetrics:
    """The three metrics for scores where higher = more in-distribution."""
    labels, scores = _labelled(in_scores, out_scores)
    false_positive_rate, true_positive_rate, _ = roc_curve(labels, scores)
    return OODMetrics(
        auroc=float(roc_auc_score(labels, scores)),
        aupr_in=float(average_precision_score(labels, scores)),
        fpr_at_95_tpr=float(false_positive_rate[np.searchsorted(true_positive_rate, 0.95, side="left")]),
    )


def roc_points(in_scores: np.ndarray, out_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) of the ROC curve, for plotting."""
    labels, scores = _labelled(in_scores, out_scores)
    false_positive_rate, true_positive_rate, _ = roc_curve(labels, scores)
    return false_positive_rate, true_positive_rate
