"""Tools that take a model or a data set apart: the analysis chapters 05-07 rest on.

- ``jacobian``: per-example Jacobians, brute-force log-determinants, largest singular values
  (chapters 02 and 05).
- ``log_prob_terms``: a Glow's log p(x) split into its prior and volume terms (chapters 05-07).
- ``second_order``: gradients, Hessian diagonals and the second-order prediction of a BPD gap (chapter 06).
- ``cv_glow_closed_form``: the paper's closed-form curvature of a constant-volume Glow (chapters 06-07).
- ``frozen_activations``: activations frozen or replaced for the second-order checks (chapter 06).
- ``receptive_field``: which earlier pixels an autoregressive model's conditional sees, by perturbation (chapter 08).
- ``stats``: image statistics (per-dimension moments, variance sums, bootstraps; chapters 00, 06-08).
"""

from ood_lib.analysis.cv_glow_closed_form import diagonal_curvature
from ood_lib.analysis.jacobian import largest_singular_value, per_example_jacobian
from ood_lib.analysis.second_order import hessian_diagonal, predict_gap

__all__ = ["diagonal_curvature", "hessian_diagonal", "largest_singular_value", "per_example_jacobian", "predict_gap"]
