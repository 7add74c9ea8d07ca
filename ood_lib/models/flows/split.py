"""Glow's split: half the channels leave the flow as a latent with a learned conditional prior."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ood_lib.models.flows.priors import diagonal_gaussian_log_prob, diagonal_gaussian_sample
from ood_lib.models.flows.zero_conv import ZeroConv2d


class Split(nn.Module):
    r"""x = (x_kept, z): z leaves the flow and is scored by a conditional Gaussian.

    .. math::
        (\mu, \log\sigma) = \mathrm{ZeroConv2d}(x_{\text{kept}}), \qquad
        \log p(z \mid x_{\text{kept}}) = \sum_i \log \mathcal{N}(z_i; \mu_i, \sigma_i^2).

    The partition itself is a coordinate permutation (log|det| = 0), so
    ``forward`` returns no log-det; the density term is :meth:`log_prob`. The
    prior starts as a standard normal (zero-initialised convolution).

    ``input_dependent=False`` replaces the convolution by a learned mean and
    log-std per latent position and channel (``mean``, ``log_std`` of z's shape
    [C_z, H, W], zero-initialised, as the top prior): p(z) then does not depend
    on x_kept. It needs ``spatial_shape`` = (H, W) of the split's input.
    """

    def __init__(
        self, num_channels: int, input_dependent: bool = True, spatial_shape: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.num_channels_kept = num_channels // 2
        self.num_channels_z = num_channels - self.num_channels_kept
        self.input_dependent = input_dependent
        if input_dependent:
            self.prior_net = ZeroConv2d(self.num_channels_kept, 2 * self.num_channels_z)
        else:
            if spatial_shape is None:
                raise ValueError("Split(input_dependent=False) needs spatial_shape = (H, W) of its input")
            height, width = (int(size) for size in spatial_shape)
            self.mean = nn.Parameter(torch.zeros(self.num_channels_z, height, width))
            self.log_std = nn.Parameter(torch.zeros(self.num_channels_z, height, width))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Return (x_kept, z): the first half of the channels and the rest."""
        x_kept, z = x.split([self.num_channels_kept, self.num_channels_z], dim=1)
        return x_kept, z

    def inverse(self, x_kept: Tensor, z: Tensor) -> Tensor:
        """x = concat(x_kept, z) along channels."""
        return torch.cat([x_kept, z], dim=1)

    def prior_params(self, x_kept: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, log_std) of p(z | x_kept), each shaped like z (broadcast over the batch if input-independent)."""
        if not self.input_dependent:
            shape = (x_kept.shape[0], *self.mean.shape)
            return self.mean.expand(shape), self.log_std.expand(shape)
        mean, log_std = self.prior_net(x_kept).chunk(2, dim=1)
        return mean, log_std

    def log_prob(self, z: Tensor, x_kept: Tensor) -> Tensor:
        """log p(z | x_kept) per example, shape [N]."""
        mean, log_std = self.prior_params(x_kept)
        return diagonal_gaussian_log_prob(z, mean, log_std)

    def sample(self, x_kept: Tensor, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Draw z ~ p(z | x_kept) with the standard deviation scaled by ``temperature``."""
        mean, log_std = self.prior_params(x_kept)
        return diagonal_gaussian_sample(mean, log_std, temperature, generator)
