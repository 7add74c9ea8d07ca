r"""Activations frozen at one input, so that a network becomes exactly affine around it (chapter 06).

A ReLU network is piecewise linear: near an input :math:`x_0` it equals the linear map that keeps each
unit's on/off pattern :math:`m = [a(x_0) > 0]` at :math:`x_0`. :class:`FrozenReLU` records that mask
at its first input and then computes :math:`m \odot a`, so the network acts as that one linear piece
everywhere. A smooth activation has no pattern to freeze; its affine counterpart is the tangent at the
pre-activation :math:`a_0` of its first input, :math:`\mathrm{softplus}(a_0) + \sigma(a_0)(a - a_0)`
(:class:`TangentSoftplus`). Either way, what remains non-quadratic in :math:`\log p(x)` comes from
elsewhere in the flow. :func:`replace_activations` swaps them into a copy of a model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


class FrozenReLU(nn.Module):
    """A ReLU whose on/off mask is recorded at its first input and then kept, so it acts linearly."""

    def __init__(self) -> None:
        super().__init__()
        self.mask: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        """``mask * x``, the mask taken from the first input seen."""
        if self.mask is None:
            self.mask = (x > 0).to(x.dtype)
        return x * self.mask


class TangentSoftplus(nn.Module):
    """softplus replaced by its tangent at the pre-activation of its first input: value and slope there."""

    def __init__(self) -> None:
        super().__init__()
        self.a0: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        """``softplus(a0) + sigmoid(a0) * (x - a0)``, ``a0`` the first input seen."""
        if self.a0 is None:
            self.a0 = x.detach().clone()
        return torch.nn.functional.softplus(self.a0) + torch.sigmoid(self.a0) * (x - self.a0)


ACTIVATIONS = (nn.ReLU, nn.Softplus, FrozenReLU, TangentSoftplus)


def replace_activations(model: nn.Module, make: Callable[[], nn.Module]) -> nn.Module:
    """``model`` with every ReLU, Softplus, FrozenReLU or TangentSoftplus replaced by ``make()`` (in place)."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, ACTIVATIONS):
                setattr(module, name, make())
    return model
