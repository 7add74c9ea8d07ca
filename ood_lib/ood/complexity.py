r"""Input complexity (Serra, Alvarez, Gomez, Slizovskaia, Nunez, Luque 2020).

Likelihoods are dominated by how *compressible* an input is: simple inputs (constant images,
MNIST's black border) are likely under any model. Serra et al. subtract a generic
compressor's code length :math:`L(x)` in bits from the model's code length:

.. math:: S(x) = -\log_2 p(x) - L(x),

a likelihood ratio against a "universal" model :math:`2^{-L(x)}`. A large S means the model
needs more bits than a generic compressor: OOD. Here :math:`L(x)` is the size of the image
as a PNG file (Pillow, maximum compression), in bits, and :math:`-\log_2 p(x) = D \cdot`
BPD. The book's in-distribution score is :math:`-S(x)`.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def png_code_lengths(x_uint8: np.ndarray) -> np.ndarray:
    """Size in bits of each image (uint8 NHWC, 1 or 3 channels) written as a PNG with compression level 9."""
    if x_uint8.dtype != np.uint8 or x_uint8.ndim != 4 or x_uint8.shape[-1] not in (1, 3):
        raise ValueError(f"Expected uint8 images (N, H, W, 1 or 3), got {x_uint8.dtype} {x_uint8.shape}.")
    lengths = np.empty(len(x_uint8))
    for index, image in enumerate(x_uint8):
        buffer = io.BytesIO()
        Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(
            buffer, format="PNG", compress_level=9
        )
        lengths[index] = 8 * buffer.getbuffer().nbytes
    return lengths


def complexity_scores(bits_per_dim: np.ndarray, code_lengths_bits: np.ndarray, num_dims: int) -> np.ndarray:
    """S(x) = D * BPD(x) - L(x) in bits per input (higher = more OOD)."""
    return num_dims * np.asarray(bits_per_dim, dtype=np.float64) - np.asarray(code_lengths_bits, dtype=np.float64)
