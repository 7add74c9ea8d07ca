"""The density models and the unit they are scored in.

- ``flows``: Glow and its layers (ActNorm, invertible 1x1 convolutions, couplings, squeeze, split,
  learned priors): chapters 02-03 build it, chapters 04-08 score with it.
- ``pixelcnn``, ``vae``: the comparison families of chapter 04 (the small PixelCNN is also chapter
  08's local model and the base of its outlier exposure).
- ``gated_pixelcnn``, ``discretized_logistic``: the likelihood-ratio models of chapter 08.
- ``pixel_models``: per-pixel Gaussian and histogram baselines with exact likelihoods (chapter 01).
- ``image_model``: the base class of the image density models (image shape, D, device).
- ``bpd``: log-density to bits per dimension (chapter 01 derives it; every BPD in the book uses it).

Models import only ``ood_lib.settings`` and ``ood_lib.data`` (dequantization), never training or scores.
"""

from ood_lib.models.bpd import bits_per_dim_from_log_prob
from ood_lib.models.flows import Glow
from ood_lib.models.pixel_models import PixelGaussian, PixelHistogram
from ood_lib.models.pixelcnn import PixelCNN
from ood_lib.models.vae import VAE

__all__ = ["VAE", "Glow", "PixelCNN", "PixelGaussian", "PixelHistogram", "bits_per_dim_from_log_prob"]
