"""Frozen activations make a network affine around the input they were frozen at."""

from __future__ import annotations

import torch
from torch import nn

from ood_lib.analysis.frozen_activations import FrozenReLU, TangentSoftplus, replace_activations


def small_net(activation: type) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), activation(), nn.Linear(8, 2)).double()


def test_frozen_relu_equals_the_relu_at_its_input_and_is_affine_elsewhere() -> None:
    net = small_net(nn.ReLU)
    x0 = torch.randn(4, 3, dtype=torch.float64)
    frozen = replace_activations(small_net(nn.ReLU), FrozenReLU)
    assert torch.allclose(frozen(x0), net(x0))  # records the masks at x0
    d = torch.randn(4, 3, dtype=torch.float64)
    # affine: f(x0 + 2d) - f(x0) = 2 (f(x0 + d) - f(x0)), even where the real ReLUs switch
    assert torch.allclose(frozen(x0 + 2 * d) - frozen(x0), 2 * (frozen(x0 + d) - frozen(x0)))


def test_tangent_softplus_matches_value_and_slope_at_its_input() -> None:
    net = small_net(nn.Softplus)
    x0 = torch.randn(1, 3, dtype=torch.float64, requires_grad=True)
    tangent = replace_activations(small_net(nn.Softplus), TangentSoftplus)
    assert torch.allclose(tangent(x0), net(x0))
    jacobian_net = torch.autograd.functional.jacobian(net, x0)
    jacobian_tangent = torch.autograd.functional.jacobian(tangent, x0)
    assert torch.allclose(jacobian_net, jacobian_tangent)
    d = torch.randn(1, 3, dtype=torch.float64)
    assert torch.allclose(tangent(x0 + 2 * d) - tangent(x0), 2 * (tangent(x0 + d) - tangent(x0)))


def test_replace_activations_swaps_every_kind_and_nothing_else() -> None:
    net = replace_activations(small_net(nn.ReLU), TangentSoftplus)
    assert [type(module) for module in net] == [nn.Linear, TangentSoftplus, nn.Linear]
    replace_activations(net, FrozenReLU)
    assert isinstance(net[1], FrozenReLU)
