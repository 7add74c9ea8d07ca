"""Zero-initialised convolution: Glow's output layer for coupling nets and priors."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ZeroConv2d(nn.Module):
    r"""3x3 convolution (zero padding) whose output starts at exactly zero.

    .. math:: y = (w * x + b) \odot e^{3 \ell}

    with weight w, bias b and per-output-channel log-scale \ell, all
    zero-initialised; the factor 3 speeds up learning of \ell as in Glow. A
    coupling layer or prior that ends in this layer starts as the identity or
    a standard normal.
    """

    LOG_SCALE_FACTOR = 3.0

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.log_scale = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        """(w * x + b) e^{3 l}, with the scale folded into w and b (one convolution)."""
        scale = torch.exp(self.LOG_SCALE_FACTOR * self.log_scale)
        return F.conv2d(x, self.weight * scale.view(-1, 1, 1, 1), self.bias * scale, padding=1)
