"""Bits per dimension, the unit in which the book reports every density model's likelihood.

A continuous density q scores dequantized images y = (x_uint8 + u) / 256 in [0, 1)^D
(``ood_lib.data.dequantization``). The cube [x/256, (x+1)/256) has volume 256^{-D}, hence
the discrete model Q(x) ~ q(y) 256^{-D} and

    BPD = -log2 Q(x) / D = (-log q(y) + D log 256) / (D ln 2).

By Jensen, E_u[log q(y)] <= log Q(x): the dequantized score is a lower bound of
a discrete log-likelihood, and the BPD an upper bound.
"""

from __future__ import annotations

import math

from torch import Tensor

from ood_lib.data.dequantization import NUM_BINS


def bits_per_dim_from_log_prob(log_prob: Tensor, num_dims: int) -> Tensor:
    """BPD = (-log q(y) + D log 256) / (D ln 2), per example.

    ``log_prob`` holds log q(y) in nats for y in the [0, 1)^D space, one value per
    image; the D log 256 term is added to each image.
    """
    return (-log_prob + num_dims * math.log(NUM_BINS)) / (num_dims * math.log(2.0))
