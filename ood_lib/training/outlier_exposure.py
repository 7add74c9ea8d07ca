r"""Outlier exposure for density models (Hendrycks, Mazeika, Dietterich 2019).

Fine-tune a trained model on inliers :math:`x` and known outliers :math:`x'` with

.. math::
    \mathcal{L} = \overline{b(x)} + \lambda\, \overline{\max\{0,\ m + b(x) - b(x')\}},

:math:`b` the bits per dimension, so outliers are pushed at least :math:`m` above the inliers.

**Unit of the margin.** :math:`m` is in bits per dimension (BPD), like :math:`b`: a margin
:math:`m` asks for :math:`m D` bits, that is :math:`m D \ln 2` nats, more negative log-likelihood
per outlier image than per inlier image, with :math:`D` the number of dimensions of an image
(784 for 28x28x1, 3072 for 32x32x3). Hendrycks et al. 2019 put their margin (one per pixel for
PixelCNN++) on the negative log-likelihood per pixel; for grayscale images a pixel is one dimension.

A hinge pair (inlier :math:`i`, outlier :math:`i` of one update's batches) is **active** when
:math:`m + b(x_i) - b(x'_i) > 0`: only active pairs contribute a gradient to the margin term.
:meth:`OutlierExposure.active_fraction` gives their share, which the training engine records.
The outlier set must be disjoint from every OOD set the model is tested on.
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

    def hinge(self, inlier_bpd: torch.Tensor, outlier_bpd: torch.Tensor) -> torch.Tensor:
        """Per pair ``i``: ``max(0, margin + inlier_bpd[i] - outlier_bpd[i])`` in BPD."""
        return torch.relu(self.margin + inlier_bpd - outlier_bpd)

    def loss(self, inlier_bpd: torch.Tensor, outlier_bpd: torch.Tensor) -> torch.Tensor:
        """The fine-tuning loss from per-image BPDs of an inlier and an outlier batch."""
        return inlier_bpd.mean() + self.weight * self.hinge(inlier_bpd, outlier_bpd).mean()

    @torch.no_grad()
    def active_fraction(self, inlier_bpd: torch.Tensor, outlier_bpd: torch.Tensor) -> float:
        r"""The share of active hinge pairs in one update's batches.

        .. math::
            a = \frac{1}{N} \sum_{i=1}^{N} \mathbb{1}\left[m + b(x_i) - b(x'_i) > 0\right],

        pairing inlier :math:`i` with outlier :math:`i` (equal batch sizes :math:`N`), :math:`b`
        in bits per dimension. :math:`a = 0`: every outlier already sits more than :math:`m` above
        its inlier and the margin term gives no gradient; :math:`a = 1`: every pair is pushed.
        """
        if inlier_bpd.shape != outlier_bpd.shape or inlier_bpd.ndim != 1:
            raise ValueError(
                f"active_fraction pairs per-image BPDs of equal batches, got shapes "
                f"{tuple(inlier_bpd.shape)} and {tuple(outlier_bpd.shape)}."
            )
        # the loss's own expression and precision, so "active" means "gets a gradient from the hinge"
        active = (self.margin + inlier_bpd - outlier_bpd) > 0
        return active.double().mean().item()
