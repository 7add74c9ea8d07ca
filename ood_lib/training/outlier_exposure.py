r"""Outlier exposure for density models (Hendrycks, Mazeika, Dietterich 2019).

Fine-tune a trained model on inliers :math:`x` and known outliers :math:`x'` with

.. math::
    \mathcal{L} = \overline{b(x)} + \lambda\, \overline{\max\{0,\ m + b(x) - b(x')\}},

:math:`b` the bits per dimension, so outliers are pushed at least :math:`m` bits per dimension
above the inliers (Hendrycks et al. use a margin of one bit per pixel for PixelCNN++). The
outlier set must be disjoint from every OOD set the model is tested on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class OutlierExposure:
    """Outlier images (uint8 NCHW, the training images' shape) and the margin loss's constants."""

    images: torch.Tensor
    name: str  # what the images are, e.g. "cifar10_subset train as 28x28x1"
    margin: float = 1.0  # bits per dimension
    weight: float = 1.0

    def describe(self) -> dict:
        """JSON-able description (the training engine adds a fingerprint of the images)."""
        return {"name": self.name, "margin": self.margin, "weight": self.weight}

    def loss(self, inlier_bpd: torch.Tensor, outlier_bpd: torch.Tensor) -> torch.Tensor:
        """The fine-tuning loss from per-image BPDs of an inlier and an outlier batch."""
        return inlier_bpd.mean() + self.weight * torch.relu(self.margin + inlier_bpd - outlier_bpd).mean()
