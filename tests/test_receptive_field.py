"""The receptive-field probe on constructed models whose dependencies are known, and on the small PixelCNN."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ood_lib.analysis.receptive_field import receptive_field
from ood_lib.models.pixelcnn import PixelCNN


class DependsOn(nn.Module):
    """A fake model whose ``log_prob_per_subpixel`` at every pixel sums the pixels at ``offsets``
    (rows above, columns right) of it, where they exist; it computes in its parameter's dtype."""

    def __init__(self, offsets: list[tuple[int, int]]) -> None:
        super().__init__()
        self.offsets = offsets
        self.scale = nn.Parameter(torch.ones(()))

    def log_prob_per_subpixel(self, x_uint8: torch.Tensor) -> torch.Tensor:
        assert self.scale.dtype == torch.float64, "the probe runs on a float64 copy"
        height, width = x_uint8.shape[-2:]
        x = x_uint8.to(self.scale.dtype) * self.scale
        terms = torch.zeros_like(x)
        for rows_above, columns_right in self.offsets:
            shifted = torch.zeros_like(x)
            rows, columns = slice(rows_above, height), slice(max(0, -columns_right), width - max(0, columns_right))
            source_rows = slice(0, height - rows_above)
            source_columns = slice(max(0, columns_right), width - max(0, -columns_right))
            shifted[..., rows, columns] = x[..., source_rows, source_columns]
            terms += shifted
        return terms


def test_finds_exactly_the_pixels_a_constructed_conditional_DependsOn() -> None:
    offsets = [(0, -1), (0, -3), (1, 2), (2, -2), (4, 0)]
    probe = torch.randint(0, 256, (1, 1, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    assert sorted(receptive_field(DependsOn(offsets), probe, row=5, column=4)) == sorted(offsets)


def test_pixels_outside_the_image_or_later_ones_are_never_reported() -> None:
    offsets = [(0, -1), (6, 0), (0, 1)]  # (6, 0) lies above row 5's top; (0, 1) is the next, later pixel
    probe = torch.zeros((1, 1, 8, 8), dtype=torch.uint8)
    assert receptive_field(DependsOn(offsets), probe, row=5, column=4) == [(0, -1)]


def test_a_model_that_ignores_its_inputs_sees_nothing() -> None:
    probe = torch.zeros((1, 1, 8, 8), dtype=torch.uint8)
    assert receptive_field(DependsOn([]), probe, 3, 3) == []


def test_the_small_pixelcnn_sees_a_window_above_and_to_the_left_only() -> None:
    torch.manual_seed(0)
    model = PixelCNN((1, 12, 12), hidden=8, layers=2).eval()
    torch.nn.init.normal_(model.output_conv.weight, std=0.1)  # trained models' last layer is not zero
    probe = torch.randint(0, 256, (1, 1, 12, 12), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    seen = receptive_field(model, probe, row=6, column=6)
    assert model.output_conv.weight.dtype == torch.float32, "the model itself is left as it was"
    assert seen and all(rows_above > 0 or columns_right < 0 for rows_above, columns_right in seen)
    assert max(rows_above for rows_above, _ in seen) < 6, "a 7x7 layer and two 3x3 layers cannot see 6 rows up"


def test_bad_probes_are_refused_with_what_to_pass() -> None:
    with pytest.raises(ValueError, match="one uint8 image"):
        receptive_field(DependsOn([]), torch.zeros((2, 1, 8, 8), dtype=torch.uint8), 1, 1)
    with pytest.raises(ValueError, match="outside the 8x8 image"):
        receptive_field(DependsOn([]), torch.zeros((1, 1, 8, 8), dtype=torch.uint8), 8, 1)
