"""Diagonal Gaussian priors of Glow's latents: the learned top prior and its density."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

_LOG_2PI = math.log(2.0 * math.pi)


def diagonal_gaussian_log_prob(z: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    r"""log N(z; mean, diag(exp(2 log_std))) summed over all but the batch dimension.

    .. math::
        \log p(z) = -\tfrac{1}{2} \sum_i \left[\log 2\pi + 2 \log\sigma_i
        + (z_i - \mu_i)^2 e^{-2 \log\sigma_i}\right]
    """
    per_dim = -0.5 * (_LOG_2PI + 2.0 * log_std + (z - mean) ** 2 * torch.exp(-2.0 * log_std))
    return per_dim.sum(dim=tuple(range(1, per_dim.dim())))


def diagonal_gaussian_sample(
    mean: Tensor, log_std: Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """z = mean + temperature * exp(log_std) * eps, eps ~ N(0, I) (Glow's reduced-temperature sampling)."""
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + temperature * torch.exp(log_std) * eps


class LearnedGaussianPrior(nn.Module):
    r"""Top prior p(z) = N(z; mu, diag(sigma^2)) with a learned mean and log-std per position.

    ``mean`` and ``log_std`` have shape [C, H, W] and start at zero (a standard
    normal), as Glow's "learntop".
    """

    def __init__(self, shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(shape))
        self.log_std = nn.Parameter(torch.zeros(shape))

    def log_prob(self, z: Tensor) -> Tensor:
        """log p(z) per example, shape [N]."""
        return diagonal_gaussian_log_prob(z, self.mean, self.log_std)

    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """n draws with the standard deviation scaled by ``temperature``, shape [n, C, H, W]."""
        mean = self.mean.expand(n, *self.mean.shape)
        log_std = self.log_std.expand(n, *self.log_std.shape)
        return diagonal_gaussian_sample(mean, log_std, temperature, generator)
