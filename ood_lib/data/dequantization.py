"""Dequantization: from 8-bit pixels to the continuous data a density model scores.

Pixels are integers ``x_uint8`` in {0, ..., 255}. A continuous density q is
trained on y = (x_uint8 + u) / 256 with u ~ U[0, 1)^D, so y lies in [0, 1)^D.
The cube [x/256, (x+1)/256) has volume 256^{-D}, hence the discrete model
Q(x) ~ q(y) 256^{-D}: ``ood_lib.models.bpd`` turns log q(y) into bits per dimension.

By Jensen, E_u[log q(y)] <= log Q(x): the dequantized score is a lower bound of
a discrete log-likelihood, and the BPD an upper bound.
"""

from __future__ import annotations

import torch
from torch import Tensor

NUM_BINS = 256


def dequantize(x_uint8: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Return y = (x_uint8 + u) / 256 with fresh u ~ U[0, 1) per pixel, as float32.

    The noise is drawn on ``x_uint8``'s device (``generator`` must live there too).
    The input is never modified.
    """
    if x_uint8.dtype != torch.uint8:
        raise TypeError(f"dequantize expects a uint8 tensor, got {x_uint8.dtype}")
    noise = torch.rand(x_uint8.shape, generator=generator, device=x_uint8.device)
    return (x_uint8.float() + noise) / NUM_BINS
