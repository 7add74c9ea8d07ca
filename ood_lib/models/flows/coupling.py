"""Affine and additive coupling layers (Dinh et al. 2017; Kingma & Dhariwal 2018, Sec. 3.3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ood_lib.models.flows.actnorm import ActNorm
from ood_lib.models.flows.zero_conv import ZeroConv2d


class ConvActNorm(nn.Module):
    r"""Convolution without bias followed by :class:`ActNorm`, computed as one convolution.

    .. math::
        y = (w * x + b) \odot e^{s}, \qquad w_{ijkl} \sim \mathcal{N}(0, 0.05^2) \text{ at initialisation,}

    with ActNorm's per-channel b and s set on the first training batch so that y
    has zero mean and unit standard deviation per channel (Glow's ``conv2d`` with
    ``do_actnorm``). Only the coupling network uses it: its log-determinant is
    never needed.
    """

    INIT_STD = 0.05

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(self.INIT_STD * torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.actnorm = ActNorm(out_channels)
        self.padding = kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        """(w * x + b) e^s; on the first training batch, b and s are set from w * x first."""
        if self.actnorm.pending_initialization:
            self.actnorm.maybe_initialize(F.conv2d(x, self.weight, padding=self.padding))
        scale = self.actnorm.log_scale.exp()
        return F.conv2d(x, self.weight * scale.view(-1, 1, 1, 1), self.actnorm.bias * scale, padding=self.padding)


def coupling_net(in_channels: int, hidden: int, out_channels: int) -> nn.Sequential:
    """Glow's coupling network: conv3x3-ActNorm-ReLU, conv1x1-ActNorm-ReLU, ZeroConv2d 3x3.

    The hidden convolutions have no bias (ActNorm supplies it); the last layer is
    zero-initialised, so a coupling layer starts as the identity.
    """
    return nn.Sequential(
        ConvActNorm(in_channels, hidden, kernel_size=3),
        nn.ReLU(inplace=True),
        ConvActNorm(hidden, hidden, kernel_size=1),
        nn.ReLU(inplace=True),
        ZeroConv2d(hidden, out_channels),
    )


class AffineCoupling(nn.Module):
    r"""Affine coupling on the channel halves x = (x_a, x_b).

    .. math::
        (t, r) = \mathrm{NN}(x_a), \quad \sigma = \mathrm{sigmoid}(r + 2), \quad
        y_a = x_a, \quad y_b = (x_b + t) \odot \sigma,

        \log\left|\det \frac{\partial y}{\partial x}\right| = \sum_{c,h,w} \log \sigma_{c,h,w} .

    The Jacobian is block-triangular with identity and diag(sigma) blocks. The
    sigmoid keeps the scale in (0, 1) and starts it at sigmoid(2) = 0.88.
    """

    def __init__(self, num_channels: int, hidden: int) -> None:
        super().__init__()
        self.num_channels_a = num_channels // 2
        self.num_channels_b = num_channels - self.num_channels_a
        self.net = coupling_net(self.num_channels_a, hidden, 2 * self.num_channels_b)

    def _shift_and_log_scale(self, x_a: Tensor) -> tuple[Tensor, Tensor]:
        shift, raw = self.net(x_a).chunk(2, dim=1)
        return shift, nn.functional.logsigmoid(raw + 2.0)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """y = (x_a, (x_b + t) sigma); log_det = sum log sigma, shape [N]."""
        x_a, x_b = x.split([self.num_channels_a, self.num_channels_b], dim=1)
        shift, log_scale = self._shift_and_log_scale(x_a)
        y_b = (x_b + shift) * torch.exp(log_scale)
        return torch.cat([x_a, y_b], dim=1), log_scale.sum(dim=(1, 2, 3))

    def inverse(self, y: Tensor) -> Tensor:
        """x = (y_a, y_b / sigma - t) with (t, sigma) from NN(y_a)."""
        y_a, y_b = y.split([self.num_channels_a, self.num_channels_b], dim=1)
        shift, log_scale = self._shift_and_log_scale(y_a)
        return torch.cat([y_a, y_b * torch.exp(-log_scale) - shift], dim=1)


class AdditiveCoupling(nn.Module):
    r"""Additive (volume-preserving) coupling: y_a = x_a, y_b = x_b + NN(x_a).

    .. math:: \log\left|\det \frac{\partial y}{\partial x}\right| = 0

    exactly, for every input: a Glow built from it ("CV-Glow") has a constant
    volume term.
    """

    def __init__(self, num_channels: int, hidden: int) -> None:
        super().__init__()
        self.num_channels_a = num_channels // 2
        self.num_channels_b = num_channels - self.num_channels_a
        self.net = coupling_net(self.num_channels_a, hidden, self.num_channels_b)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """y = (x_a, x_b + t); log_det = 0, shape [N]."""
        x_a, x_b = x.split([self.num_channels_a, self.num_channels_b], dim=1)
        y_b = x_b + self.net(x_a)
        return torch.cat([x_a, y_b], dim=1), x.new_zeros(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        """x = (y_a, y_b - NN(y_a))."""
        y_a, y_b = y.split([self.num_channels_a, self.num_channels_b], dim=1)
        return torch.cat([y_a, y_b - self.net(y_a)], dim=1)
