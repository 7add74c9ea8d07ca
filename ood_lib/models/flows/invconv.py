"""Invertible 1x1 convolution (Kingma & Dhariwal 2018, Sec. 3.2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class InvConv2d(nn.Module):
    r"""Channel mixing y_{:,h,w} = W x_{:,h,w} with a learned invertible C x C matrix W.

    .. math::
        \log\left|\det \frac{\partial y}{\partial x}\right| = H W \log|\det W| .

    ``lu=True`` (default) parameterises
    W = P L (U + diag(sign_s * exp(log_s))), with P a fixed permutation, L unit
    lower-triangular and U strictly upper-triangular, so log|det W| = sum(log_s)
    costs O(C). ``lu=False`` learns W directly and evaluates log|det W| with a
    float64 ``slogdet`` (float32 loses precision for larger C).
    W starts as a random rotation (Q of the QR decomposition of a Gaussian matrix).
    """

    def __init__(self, num_channels: int, lu: bool = True) -> None:
        super().__init__()
        self.num_channels = num_channels
        self.lu = lu
        rotation = torch.linalg.qr(torch.randn(num_channels, num_channels, dtype=torch.float64))[0]
        if lu:
            permutation, lower, upper = torch.linalg.lu(rotation)
            diagonal = torch.diagonal(upper)
            self.register_buffer("permutation", permutation.float())
            self.register_buffer("sign_s", torch.sign(diagonal).float())
            self.register_buffer("lower_mask", torch.tril(torch.ones(num_channels, num_channels), -1))
            self.register_buffer("identity", torch.eye(num_channels))
            self.lower = nn.Parameter(lower.float())
            self.upper = nn.Parameter(torch.triu(upper, 1).float())
            self.log_s = nn.Parameter(torch.log(torch.abs(diagonal)).float())
        else:
            self.weight_matrix = nn.Parameter(rotation.float())

    def weight(self) -> Tensor:
        """The C x C matrix W (from its LU factors when ``lu``)."""
        if not self.lu:
            return self.weight_matrix
        lower = self.lower * self.lower_mask + self.identity
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.permutation @ lower @ upper

    def log_abs_det_per_position(self) -> Tensor:
        """log|det W| (a scalar): sum(log_s) for LU, float64 slogdet otherwise."""
        if self.lu:
            return self.log_s.sum()
        return torch.linalg.slogdet(self.weight_matrix.double())[1].to(self.weight_matrix.dtype)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """y = W x at every position; log_det = H W log|det W|, shape [N]."""
        y = F.conv2d(x, self.weight().view(self.num_channels, self.num_channels, 1, 1))
        log_det = x.shape[2] * x.shape[3] * self.log_abs_det_per_position()
        return y, log_det.expand(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        """x = W^{-1} y, with W^{-1} computed in float64."""
        weight_inverse = torch.linalg.inv(self.weight().double()).to(y.dtype)
        return F.conv2d(y, weight_inverse.view(self.num_channels, self.num_channels, 1, 1))
