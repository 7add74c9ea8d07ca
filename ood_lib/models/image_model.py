"""What every density model over uint8 images shares: its image shape (C, H, W), D = C H W and its device.

Glow, the PixelCNNs and the VAE subclass :class:`ImageDensityModel`; each sets ``image_shape`` in
its constructor and defines ``log_prob`` / ``bits_per_dim`` in its own way (exact, dequantized or a bound).
The two PixelCNNs subclass :class:`AutoregressiveImageModel`, which derives both from the exact
per-sub-pixel conditionals, log P(x) = sum_i log P(x_i | x_<i).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ImageDensityModel(nn.Module):
    """Base of the book's image density models: ``num_dims`` and ``device`` from ``image_shape`` and the parameters."""

    image_shape: tuple[int, int, int]

    @property
    def num_dims(self) -> int:
        """D = C H W."""
        return math.prod(self.image_shape)

    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return next(self.parameters()).device


class AutoregressiveImageModel(ImageDensityModel):
    """An exact discrete model given by its conditionals: subclasses define ``log_prob_per_subpixel``.

    log P(x) = sum_i log P(x_i | x_<i) in nats, and BPD = -log2 P(x) / D, exact: the model assigns
    probability to the 256 levels directly, so there is no dequantization (``generator`` is unused).
    """

    def log_prob_per_subpixel(self, x_uint8: torch.Tensor) -> torch.Tensor:
        """log P(x_i | x_<i) for every sub-pixel, shape (N, C, H, W)."""
        raise NotImplementedError

    def log_prob(self, x_uint8: torch.Tensor) -> torch.Tensor:
        """log P(x) in nats per image, shape (N,)."""
        return self.log_prob_per_subpixel(x_uint8).flatten(1).sum(1)

    def bits_per_dim(self, x_uint8: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """BPD = -log2 P(x) / D per image, exact."""
        return -self.log_prob(x_uint8) / (self.num_dims * math.log(2.0))
