"""The second-order gap prediction: exact on quadratic log-densities, HVPs against dense Hessians."""

from __future__ import annotations

import pytest
import torch

from ood_lib.analysis.second_order import (
    LinearGaussianFlow,
    gradient,
    hessian_diagonal,
    hessian_vector_products,
    predict_gap,
)
from ood_lib.models.flows import Glow


def random_flow(num_dims: int, generator: torch.Generator, diagonal: bool = False) -> LinearGaussianFlow:
    matrix = torch.randn(num_dims, num_dims, generator=generator, dtype=torch.float64)
    if diagonal:
        matrix = torch.diag(matrix.diagonal())
    return LinearGaussianFlow(matrix, torch.randn(num_dims, generator=generator, dtype=torch.float64))


@pytest.mark.parametrize("seed", range(3))
def test_prediction_equals_the_measured_gap_for_an_exactly_quadratic_log_density(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    flow = random_flow(6, generator)
    x0 = torch.randn(6, generator=generator, dtype=torch.float64)
    in_samples = 1.0 + 2.0 * torch.randn(200, 6, generator=generator, dtype=torch.float64)
    ood_samples = -0.5 + 0.7 * torch.randn(150, 6, generator=generator, dtype=torch.float64)
    prediction = predict_gap(flow, x0, ood_samples, in_samples, batch_size=32)
    measured = (flow(ood_samples).mean() - flow(in_samples).mean()).item()
    assert prediction.total == pytest.approx(measured, rel=1e-10, abs=1e-8)
    assert abs(prediction.first_order) > 1.0, "different means: the first-order term must matter here"
    assert prediction.second_order_diagonal != pytest.approx(prediction.second_order, rel=1e-3), (
        "with a dense A^T A the off-diagonal moments contribute"
    )


def test_diagonal_version_is_exact_when_the_hessian_is_diagonal() -> None:
    generator = torch.Generator().manual_seed(5)
    flow = random_flow(5, generator, diagonal=True)
    x0 = torch.zeros(5, dtype=torch.float64)
    in_samples = torch.randn(100, 5, generator=generator, dtype=torch.float64)
    ood_samples = 0.3 * torch.randn(100, 5, generator=generator, dtype=torch.float64)
    prediction = predict_gap(flow, x0, ood_samples, in_samples)
    assert prediction.second_order_diagonal == pytest.approx(prediction.second_order, rel=1e-10)
    assert prediction.second_order > 0, "a log-concave density prefers the set with the smaller spread around x0"


def test_first_order_term_vanishes_when_the_means_are_equal() -> None:
    generator = torch.Generator().manual_seed(6)
    flow = random_flow(4, generator)
    base = torch.randn(80, 4, generator=generator, dtype=torch.float64)
    in_samples = base - base.mean(dim=0)
    ood_samples = 0.5 * in_samples
    prediction = predict_gap(flow, torch.zeros(4, dtype=torch.float64), ood_samples, in_samples, diagonal=False)
    assert abs(prediction.first_order) < 1e-12 and prediction.second_order_diagonal is None


def test_hessian_vector_products_and_diagonal_match_the_dense_hessian_of_a_glow() -> None:
    torch.manual_seed(0)
    model = Glow((1, 4, 4), levels=2, steps=2, hidden=8).double()
    model(torch.rand(16, 1, 4, 4, dtype=torch.float64))  # initialise ActNorm on data
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    model.eval()
    x0 = torch.rand(1, 4, 4, dtype=torch.float64)
    dense = torch.autograd.functional.hessian(lambda v: model.log_prob(v.view(1, 1, 4, 4)).sum(), x0.flatten())
    directions = torch.randn(5, 1, 4, 4, dtype=torch.float64)
    products = hessian_vector_products(model.log_prob, x0, directions)
    torch.testing.assert_close(products.flatten(1), directions.flatten(1) @ dense.T, rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(hessian_diagonal(model.log_prob, x0, batch_size=7).flatten(), dense.diagonal())
    expected_gradient = torch.autograd.functional.jacobian(
        lambda v: model.log_prob(v.view(1, 1, 4, 4)).sum(), x0.flatten()
    )
    torch.testing.assert_close(gradient(model.log_prob, x0).flatten(), expected_gradient)
