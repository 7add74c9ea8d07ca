r"""The discretized logistic (mixture) distribution over the 256 levels of a sub-pixel (PixelCNN++).

Salimans, Karpathy, Chen, Kingma 2017. A level :math:`x \in \{0, \dots, 255\}` is mapped to the
centre :math:`c(x) = 2x/255 - 1` of a bin of width :math:`2/255` on :math:`[-1, 1]`; the edge
bins extend to :math:`\pm\infty`. A logistic with mean :math:`m` and scale :math:`s` puts on level
:math:`x` the mass of its bin,

.. math::
    P(x \mid m, s) = \begin{cases}
    \sigma(b_+) & x = 0, \\
    \sigma(b_+) - \sigma(b_-) & 0 < x < 255, \\
    1 - \sigma(b_-) & x = 255,
    \end{cases}
    \qquad b_\pm = \frac{c(x) \pm 1/255 - m}{s},

so the 256 masses telescope to exactly 1. The middle case is evaluated in logs without
cancellation through the identity :math:`\sigma(a) - \sigma(b) = \sigma(a)\,\sigma(-b)\,(1 - e^{b-a})`:

.. math:: \log P = \log\sigma(b_+) + \log\sigma(-b_-) + \log\bigl(1 - e^{-(b_+ - b_-)}\bigr),
   \qquad b_+ - b_- = \frac{2}{255 s} > 0,

which is exact for every :math:`m` and :math:`s` (no fallback to the density at the bin centre,
as PixelCNN++'s code uses when the difference underflows). A mixture of K components with
weights :math:`\pi_k = \operatorname{softmax}(\ell)_k` is :math:`\log\sum_k \pi_k P(x \mid m_k, s_k)`.
Scales are parameterised by :math:`\log s`, clamped below at :data:`MIN_LOG_SCALE`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

NUM_LEVELS = 256
HALF_BIN = 1.0 / (NUM_LEVELS - 1)  # half the bin width 2/255 on [-1, 1]
MIN_LOG_SCALE = -7.0


def level_centres(x_uint8: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """c(x) = 2 x / 255 - 1: the bin centre of each level on [-1, 1]."""
    return x_uint8.to(dtype) * (2.0 / (NUM_LEVELS - 1)) - 1.0


def _log_one_minus_exp(t: Tensor) -> Tensor:
    """log(1 - exp(-t)) for t > 0, accurate for small and large t (Maechler 2012)."""
    return torch.where(t < math.log(2.0), torch.log(-torch.expm1(-t)), torch.log1p(-torch.exp(-t)))


def discretized_logistic_log_prob(x_uint8: Tensor, mean: Tensor, log_scale: Tensor) -> Tensor:
    r"""log P(x | m, s) of one logistic component, elementwise (broadcasting), in nats.

    ``x_uint8`` holds levels 0..255 (any integer dtype), ``mean`` the logistic's mean on the
    [-1, 1] scale and ``log_scale`` log s (clamped at :data:`MIN_LOG_SCALE`). Differentiable in
    ``mean`` and ``log_scale``.
    """
    log_scale = log_scale.clamp(min=MIN_LOG_SCALE)
    inverse_scale = torch.exp(-log_scale)
    centred = level_centres(x_uint8, mean.dtype) - mean
    upper = (centred + HALF_BIN) * inverse_scale  # b_+
    lower = (centred - HALF_BIN) * inverse_scale  # b_-
    log_cdf_upper = F.logsigmoid(upper)  # log P(X <= x) for x = 0
    log_survival_lower = F.logsigmoid(-lower)  # log P(X >= x) for x = 255
    log_middle = log_cdf_upper + log_survival_lower + _log_one_minus_exp(2.0 * HALF_BIN * inverse_scale)
    levels = x_uint8.to(torch.long)
    levels = levels.expand(torch.broadcast_shapes(levels.shape, mean.shape))
    return torch.where(
        levels == 0, log_cdf_upper, torch.where(levels == NUM_LEVELS - 1, log_survival_lower, log_middle)
    )


def mixture_log_prob(x_uint8: Tensor, logits: Tensor, means: Tensor, log_scales: Tensor, dim: int = -1) -> Tensor:
    r"""log sum_k softmax(logits)_k P(x | m_k, s_k): a discretized logistic mixture, components along ``dim``.

    ``x_uint8`` must broadcast against the parameters with a size-1 (or broadcastable) ``dim``.
    """
    component = discretized_logistic_log_prob(x_uint8, means, log_scales)
    return torch.logsumexp(torch.log_softmax(logits, dim=dim) + component, dim=dim)


def sample_discretized_logistic(mean: Tensor, log_scale: Tensor, generator: torch.Generator | None = None) -> Tensor:
    r"""Levels drawn from P(. | m, s), as uint8: v = round((y + 1) 255 / 2) clipped to 0..255, y ~ Logistic(m, s).

    Rounding maps exactly the bin :math:`[c(v) - 1/255, c(v) + 1/255]` to v and clipping the
    tails to the edge levels, so the draw follows :func:`discretized_logistic_log_prob` exactly.
    """
    uniform = torch.rand(mean.shape, generator=generator, device=mean.device, dtype=torch.float64)
    uniform = uniform.clamp(1e-12, 1.0 - 1e-12)
    scale = log_scale.clamp(min=MIN_LOG_SCALE).double().exp()
    y = mean.double() + scale * (torch.log(uniform) - torch.log1p(-uniform))
    return torch.round((y + 1.0) * ((NUM_LEVELS - 1) / 2.0)).clamp(0, NUM_LEVELS - 1).to(torch.uint8)
