r"""Input perturbation for background models (Ren et al. 2019, "Likelihood ratios for OOD detection").

Each pixel value is independently replaced, with probability :math:`\mu` (the rate), by a value
drawn uniformly from 0..255:

.. math::
    \tilde x_d = \begin{cases} u_d \sim \mathcal{U}\{0, \dots, 255\} & \text{with probability } \mu, \\
    x_d & \text{otherwise.} \end{cases}

A model trained on perturbed inputs learns the population-level "background" statistics and
less of the semantic content, so :math:`\log p_\theta(x) - \log p_{\theta_0}(x)` cancels the
background part of the likelihood.
"""

from __future__ import annotations

import torch
from torch import Tensor


def perturb_pixels(x_uint8: Tensor, rate: float, generator: torch.Generator | None = None) -> Tensor:
    """A perturbed copy of uint8 images: each value replaced with probability ``rate`` by a uniform one."""
    if x_uint8.dtype != torch.uint8:
        raise ValueError(f"perturb_pixels expects uint8 images, got {x_uint8.dtype}.")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"The perturbation rate must lie in [0, 1], got {rate}.")
    device = x_uint8.device
    replace = torch.rand(x_uint8.shape, generator=generator, device=device) < rate
    noise = torch.randint(0, 256, x_uint8.shape, generator=generator, device=device, dtype=torch.uint8)
    return torch.where(replace, noise, x_uint8)
