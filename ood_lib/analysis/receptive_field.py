"""Which earlier pixels an autoregressive model's conditional actually sees, found by perturbation.

For a model with ``log_prob_per_subpixel(x_uint8) -> Tensor[N, C, H, W]`` (the log-probability of
each sub-pixel given the earlier ones, raster order), the conditional at pixel ``(row, column)``
depends on an earlier pixel ``(r, c)`` when changing that pixel of a probe image (by 128 grey
levels, modulo 256) moves ``log p(x[row, column] | earlier)`` by more than ``threshold`` nats.
The measured window can be smaller than the architecture's nominal one (a blind spot, weights
that vanish) but never larger: a causal model cannot depend on later pixels.

The probe runs on a float64 copy of the model: in float32, rounding alone moves a conditional by
about 1e-6 nats, so which weak dependencies pass the threshold would depend on the thread count.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


@torch.no_grad()
def receptive_field(
    model: nn.Module,
    probe: torch.Tensor,
    row: int,
    column: int,
    threshold: float = 1e-6,
) -> list[tuple[int, int]]:
    """``(rows above, columns right)`` of every earlier pixel whose change moves ``model``'s conditional at
    ``(row, column)`` of channel 0 by more than ``threshold`` nats; ``probe`` is one uint8 image, (1, C, H, W).

    Earlier pixels are the rows above and the pixels to the left in the same row; ``columns right``
    is negative to the left. Costs one forward pass per earlier pixel.
    """
    if probe.dtype != torch.uint8 or probe.ndim != 4 or len(probe) != 1:
        raise ValueError(f"probe must be one uint8 image of shape (1, C, H, W), got {probe.dtype} {tuple(probe.shape)}")
    height, width = probe.shape[-2:]
    if not (0 <= row < height and 0 <= column < width):
        raise ValueError(f"pixel ({row}, {column}) lies outside the {height}x{width} image")
    log_prob_per_subpixel = copy.deepcopy(model).double().eval().log_prob_per_subpixel
    reference = log_prob_per_subpixel(probe)[0, 0, row, column].item()
    seen = []
    for earlier_row in range(row + 1):
        for earlier_column in range(width if earlier_row < row else column):
            changed = probe.clone()
            changed[0, :, earlier_row, earlier_column] = (changed[0, :, earlier_row, earlier_column].int() + 128) % 256
            if abs(log_prob_per_subpixel(changed)[0, 0, row, column].item() - reference) > threshold:
                seen.append((row - earlier_row, earlier_column - column))
    return seen
