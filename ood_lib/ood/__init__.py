"""Out-of-distribution scores and how well they separate data sets.

- ``scores``: per-image BPD and log-likelihood parts of a model on a data set (chapter 01 on).
- ``metrics``: AUROC, AUPR, FPR at 95% TPR and ROC points (chapters 04 and 08).
- ``intervals``: bootstrap intervals over images on means, gaps and AUROCs (every chapter).
- ``typicality``, ``ensembles`` (WAIC), ``likelihood_ratio``, ``complexity``: the scores of chapter 08.

Convention: higher score = more in-distribution (minus BPD).
"""

from ood_lib.ood.ensembles import waic
from ood_lib.ood.intervals import Interval, bootstrap_auroc, bootstrap_mean
from ood_lib.ood.metrics import ood_metrics
from ood_lib.ood.typicality import TypicalityTest

__all__ = ["Interval", "TypicalityTest", "bootstrap_auroc", "bootstrap_mean", "ood_metrics", "waic"]
