"""The brute-force Jacobian helpers against maps whose Jacobian and determinant are known."""

from __future__ import annotations

import math

import pytest
import torch

from ood_lib.analysis.jacobian import brute_force_log_abs_det, largest_singular_value, per_example_jacobian


def test_linear_map_gives_its_matrix_and_log_abs_det() -> None:
    generator = torch.Generator().manual_seed(0)
    matrix = torch.randn(6, 6, generator=generator, dtype=torch.float64)
    x = torch.randn(3, 2, 3, generator=generator, dtype=torch.float64)  # examples of shape (2, 3), D = 6

    def linear(batch: torch.Tensor) -> torch.Tensor:
        return (batch.reshape(len(batch), 6) @ matrix.T).reshape(batch.shape)

    jacobians = per_example_jacobian(linear, x)
    assert jacobians.shape == (3, 6, 6)
    torch.testing.assert_close(jacobians, matrix.expand(3, 6, 6))
    expected = torch.log(torch.abs(torch.linalg.det(matrix)))
    torch.testing.assert_close(brute_force_log_abs_det(linear, x), expected.expand(3))


def test_elementwise_exp_has_log_det_equal_to_the_sum_of_inputs() -> None:
    x = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(brute_force_log_abs_det(torch.exp, x), x.sum(dim=1))


def test_each_example_gets_its_own_jacobian() -> None:
    def coupling(batch: torch.Tensor) -> torch.Tensor:  # y = (x1, x2 exp(sin x1)): log|det| = sin x1
        first, second = batch[:, :1], batch[:, 1:]
        return torch.cat([first, second * torch.exp(torch.sin(first))], dim=1)

    x = torch.tensor([[0.3, 1.0], [-2.0, 0.5], [math.pi / 2, -4.0]], dtype=torch.float64)
    torch.testing.assert_close(brute_force_log_abs_det(coupling, x), torch.sin(x[:, 0]))


def test_float32_input_is_computed_in_float64() -> None:
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float32)
    result = brute_force_log_abs_det(lambda batch: 3.0 * batch, x)
    assert result.dtype == torch.float64
    assert result.item() == pytest.approx(2 * math.log(3.0), abs=1e-12)


def test_non_square_map_and_unbatched_input_are_rejected() -> None:
    x = torch.zeros(2, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="no determinant"):
        brute_force_log_abs_det(lambda batch: batch[:, :2], x)
    with pytest.raises(ValueError, match="batch"):
        per_example_jacobian(lambda batch: batch, torch.zeros(4))


def test_power_iteration_finds_the_largest_singular_value_of_a_linear_map() -> None:
    generator = torch.Generator().manual_seed(1)
    matrix = torch.randn(8, 8, generator=generator, dtype=torch.float64)
    x = torch.randn(4, 8, generator=generator, dtype=torch.float64)
    estimate = largest_singular_value(lambda batch: batch @ matrix.T, x, num_iterations=200)
    expected = torch.linalg.matrix_norm(matrix, ord=2)
    torch.testing.assert_close(estimate, expected.expand(4), rtol=1e-8, atol=0)


def test_power_iteration_matches_the_dense_jacobian_of_a_nonlinear_map_per_example() -> None:
    generator = torch.Generator().manual_seed(2)
    weight = torch.randn(6, 6, generator=generator, dtype=torch.float64)

    def layer(batch: torch.Tensor) -> torch.Tensor:
        return torch.tanh(batch @ weight.T) + 0.5 * batch

    x = 2.0 * torch.randn(5, 6, generator=generator, dtype=torch.float64)
    dense = torch.linalg.matrix_norm(per_example_jacobian(layer, x), ord=2)
    estimate = largest_singular_value(layer, x, num_iterations=300)
    assert dense.std() > 0.1, "the examples should have different local Lipschitz constants"
    torch.testing.assert_close(estimate, dense, rtol=1e-6, atol=0)
    assert bool((largest_singular_value(layer, x, num_iterations=2) <= dense * (1 + 1e-12)).all())
