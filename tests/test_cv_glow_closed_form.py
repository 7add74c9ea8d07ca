"""The paper's closed-form CV-Glow curvature against autograd: exact where its assumptions hold."""

from __future__ import annotations

import pytest
import torch

from ood_lib.analysis.cv_glow_closed_form import diagonal_curvature, small_cv_glow
from ood_lib.analysis.second_order import hessian_diagonal
from ood_lib.models.flows import Glow


def tiny_cv_glow(seed: int, diagonal_kernels: bool) -> Glow:
    return small_cv_glow(torch.Generator().manual_seed(seed), diagonal_kernels)


@pytest.mark.parametrize("seed", range(3))
def test_closed_form_equals_autograd_where_the_papers_assumptions_hold(seed: int) -> None:
    glow = tiny_cv_glow(seed, diagonal_kernels=True)
    x0 = torch.rand(1, 4, 4, generator=torch.Generator().manual_seed(100 + seed), dtype=torch.float64)
    closed_form = diagonal_curvature(glow, x0).hessian_diagonal
    autograd = hessian_diagonal(glow.log_prob, x0)
    torch.testing.assert_close(closed_form, autograd, rtol=1e-9, atol=1e-9)
    assert closed_form.std() > 0.1 * closed_form.abs().mean(), "gains must differ across values for the test to bite"


def test_closed_form_differs_from_autograd_with_mixing_kernels() -> None:
    glow = tiny_cv_glow(0, diagonal_kernels=False)
    x0 = torch.full((1, 4, 4), 0.5, dtype=torch.float64)
    closed_form = diagonal_curvature(glow, x0).hessian_diagonal
    autograd = hessian_diagonal(glow.log_prob, x0)
    assert not torch.allclose(closed_form, autograd, rtol=0.05), "row sums are not the Jacobian's diagonal"
    assert (autograd < 0).all(), "a Gaussian latent through a linear map: the true diagonal is negative"


def test_eq6_sign_follows_the_variances_for_any_parameters() -> None:
    glow = tiny_cv_glow(1, diagonal_kernels=False)
    curvature = diagonal_curvature(glow, torch.full((1, 4, 4), 0.5, dtype=torch.float64))
    variances = torch.rand(1, 4, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert curvature.predict_gap(0.5 * variances, variances) > 0
    assert curvature.predict_gap(variances, 0.5 * variances) < 0


def test_closed_form_refuses_an_affine_glow_and_a_wrong_shape() -> None:
    with pytest.raises(ValueError, match="constant-volume"):
        diagonal_curvature(Glow((1, 4, 4), levels=1, steps=1, hidden=4), torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="shape"):
        diagonal_curvature(Glow((1, 4, 4), levels=1, steps=1, hidden=4, coupling="additive"), torch.zeros(4, 4))
