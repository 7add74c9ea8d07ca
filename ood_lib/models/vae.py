r"""A convolutional VAE with a 256-way categorical likelihood per sub-pixel (as in Rosca et al. 2018).

Generative model, for uint8 images x of shape (C, H, W), D = C H W and a latent
z in R^d:

.. math::
    p(z) = \mathcal N(0, I_d), \qquad
    p(x \mid z) = \prod_{i=1}^{D} \mathrm{Cat}(x_i;\ \mathrm{softmax}(\ell_i(z))),

with logits \ell(z) from a convolutional decoder, and an amortised posterior
q(z | x) = N(mu(x), diag sigma(x)^2) from a convolutional encoder. Like the
PixelCNN's, p(x) is a distribution over {0, ..., 255}^D, so no dequantization
is needed; but log p(x) = log E_{p(z)} p(x | z) is intractable. It is bounded
from below by the importance-weighted bound (IWAE, Burda et al. 2016) with K
samples z_k ~ q(z | x):

.. math::
    \mathcal L_K(x) = \mathbb E \log \frac1K \sum_{k=1}^K \frac{p(x \mid z_k)\, p(z_k)}{q(z_k \mid x)}
    \le \log p(x),

and L_1 <= L_K <= L_{K+1} -> log p(x) as K -> infinity. L_1 is the ELBO,
the training objective.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ood_lib.models.image_model import ImageDensityModel
from ood_lib.models.pixelcnn import categorical_log_prob_from_features

NUM_LEVELS = 256
# K of the importance-weighted bound used by ``VAE.log_prob`` unless told otherwise.
DEFAULT_IWAE_SAMPLES = 16
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I) = sum_j (-z_j^2 / 2 - log(2 pi) / 2), summed over the last dimension."""
    return (-0.5 * z.square() - _HALF_LOG_2PI).sum(-1)


class VAE(ImageDensityModel):
    r"""Convolutional VAE on uint8 images of shape ``image_shape`` = (C, H, W), H and W multiples of 4.

    Encoder: pixels scaled to x / 255 * 2 - 1, two stride-2 4x4 convolutions
    (``hidden`` and 2 ``hidden`` channels, ReLU), a linear map to
    (mu, log sigma) in R^{2d}, d = ``latent_dim``. Decoder: a linear map from z
    to 2 ``hidden`` x H/4 x W/4, two stride-2 4x4 transposed convolutions
    (ReLU), and a 1x1 convolution to 256 C logits, i.e. independent 256-way
    categoricals per sub-pixel given z.
    """

    def __init__(self, image_shape: Sequence[int], latent_dim: int = 32, hidden: int = 32) -> None:
        super().__init__()
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {tuple(image_shape)}")
        self.image_shape = tuple(int(size) for size in image_shape)
        num_colours, height, width = self.image_shape
        if height % 4 or width % 4:
            raise ValueError(f"H={height} and W={width} must be multiples of 4")
        self.latent_dim = latent_dim
        self.hidden = hidden
        bottleneck_shape = (2 * hidden, height // 4, width // 4)
        bottleneck_size = math.prod(bottleneck_shape)

        self.encoder = nn.Sequential(
            nn.Conv2d(num_colours, hidden, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, 2 * hidden, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(bottleneck_size, 2 * latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, bottleneck_size),
            nn.ReLU(),
            nn.Unflatten(1, bottleneck_shape),
            nn.ConvTranspose2d(2 * hidden, hidden, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(hidden, hidden, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, NUM_LEVELS * num_colours, 1),
        )

    @property
    def config(self) -> dict:
        """JSON-serialisable constructor arguments: ``VAE(**model.config)`` rebuilds the architecture."""
        return {"image_shape": list(self.image_shape), "latent_dim": self.latent_dim, "hidden": self.hidden}

    def encode(self, x_uint8: Tensor) -> tuple[Tensor, Tensor]:
        """Parameters (mu, log sigma) of q(z | x), each of shape (N, latent_dim)."""
        if x_uint8.dtype != torch.uint8:
            raise TypeError(f"VAE expects uint8 images, got {x_uint8.dtype}")
        weight = self.decoder[0].weight
        x_scaled = x_uint8.to(device=weight.device, dtype=weight.dtype) / (NUM_LEVELS - 1) * 2 - 1
        mean, log_std = self.encoder(x_scaled).chunk(2, dim=1)
        return mean, log_std

    def decode_logits(self, z: Tensor) -> Tensor:
        """Logits of p(x_i | z) for every sub-pixel, shape (N, C, 256, H, W)."""
        num_colours, height, width = self.image_shape
        return self.decoder(z).view(z.shape[0], num_colours, NUM_LEVELS, height, width)

    def log_likelihood(self, x_uint8: Tensor, z: Tensor) -> Tensor:
        """log p(x | z) = sum_i log softmax(l_i(z))[x_i] in nats, shape (N,).

        The decoder's last layer (a 1x1 convolution to the logits) is applied by
        :func:`~ood_lib.models.pixelcnn.categorical_log_prob_from_features`, which never forms the
        (N, C, 256, H, W) log-probabilities; same values as ``log_softmax(decode_logits(z), 2)``
        at the observed levels, up to float rounding. The transposed convolutions run in
        channels-last layout (oneDNN's faster CPU kernels; the same features).
        """
        bottleneck = self.decoder[:3](z).contiguous(memory_format=torch.channels_last)
        features = self.decoder[3:-1](bottleneck)
        head = self.decoder[-1]
        return categorical_log_prob_from_features(features, head.weight, head.bias, x_uint8).flatten(1).sum(1)

    def log_prob(
        self, x_uint8: Tensor, num_samples: int = DEFAULT_IWAE_SAMPLES, generator: torch.Generator | None = None
    ) -> Tensor:
        r"""One-draw estimate of the importance-weighted bound L_K(x) <= log p(x), in nats, shape (N,).

        With K = ``num_samples`` reparameterised draws z_k = mu + sigma * eps_k,
        eps_k ~ N(0, I) (from ``generator``, which must live on the model's device),
        log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x) and the estimate is
        logsumexp_k(log w_k) - log K. K = 1 gives the ELBO; a larger K a tighter
        bound (default K = 16). Differentiable, so it also trains an IWAE.
        """
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        mean, log_std = self.encode(x_uint8)
        std = log_std.exp()
        log_weights = []
        for _ in range(num_samples):
            eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
            z = mean + std * eps
            log_q = standard_normal_log_prob(eps) - log_std.sum(1)
            log_weights.append(self.log_likelihood(x_uint8, z) + standard_normal_log_prob(z) - log_q)
        return torch.logsumexp(torch.stack(log_weights), dim=0) - math.log(num_samples)

    def bits_per_dim(self, x_uint8: Tensor, generator: torch.Generator | None = None, num_samples: int = 1) -> Tensor:
        """-L_K(x) / (D ln 2) per image: an upper bound (in expectation) of -log2 p(x) / D.

        The default K = 1 is the negative ELBO in bits per dimension, the training
        loss; evaluate with a larger ``num_samples`` for a tighter bound.
        """
        return -self.log_prob(x_uint8, num_samples, generator) / (self.num_dims * math.log(2.0))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n images x ~ p(x | z), z ~ N(0, I), as uint8 (n, C, H, W); ``generator`` on the model's device."""
        weight = self.decoder[0].weight
        z = torch.randn(n, self.latent_dim, generator=generator, device=weight.device, dtype=weight.dtype)
        probabilities = F.softmax(self.decode_logits(z).double(), dim=2)
        flat = probabilities.movedim(2, -1).reshape(-1, NUM_LEVELS)
        draws = torch.multinomial(flat, 1, generator=generator).view(n, *self.image_shape)
        return draws.to(torch.uint8)
