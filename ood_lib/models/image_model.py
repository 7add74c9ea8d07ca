"""What every density model over uint8 images shares: its image shape (C, H, W), D = C H W and its device.

Glow, the PixelCNNs and the VAE subclass :class:`ImageDensityModel`; each sets ``image_shape`` in
its constructor and defines ``log_prob`` / ``bits_per_dim`` in its own way (exact, dequantized or a bound).
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
