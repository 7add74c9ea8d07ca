"""Squeeze: the 2x2 space-to-depth reshuffle between Glow's levels."""

from __future__ import annotations

from torch import Tensor, nn


def squeeze2d(x: Tensor) -> Tensor:
    """[N, C, H, W] -> [N, 4C, H/2, W/2]; output channel 4c + 2i + j holds x[:, c, 2h+i, 2w+j].

    The result is laid out channels-last (NHWC in memory), the layout in which
    oneDNN's CPU convolutions run fastest; values and shape are the same in any layout.
    """
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2)
    x_nhwc = x.permute(0, 2, 4, 1, 3, 5).reshape(n, h // 2, w // 2, 4 * c)
    return x_nhwc.permute(0, 3, 1, 2)


def unsqueeze2d(y: Tensor) -> Tensor:
    """Inverse of :func:`squeeze2d`: [N, 4C, H, W] -> [N, C, 2H, 2W]."""
    n, c4, h, w = y.shape
    y = y.reshape(n, c4 // 4, 2, 2, h, w)
    return y.permute(0, 1, 4, 2, 5, 3).reshape(n, c4 // 4, 2 * h, 2 * w)


class Squeeze(nn.Module):
    r"""Space-to-depth 2x2, a permutation of coordinates: log|det| = 0.

    Trades spatial size for channels so that the 1x1 convolutions and coupling
    splits of the next level mix neighbouring pixels.
    """

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """y = squeeze2d(x); log_det = 0, shape [N]."""
        return squeeze2d(x), x.new_zeros(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        """x = unsqueeze2d(y)."""
        return unsqueeze2d(y)
