r"""PixelCNN (van den Oord et al. 2016): an autoregressive model with an exact discrete likelihood.

An image x_uint8 of shape (C, H, W) is read in raster order, row by row, pixel by
pixel, and within a pixel channel by channel (R, then G, then B). Writing
x_1, ..., x_D for the sub-pixels in that order,

.. math::
    \log P(x) = \sum_{i=1}^{D} \log P(x_i \mid x_{<i}),

where each factor is a 256-way softmax. Nothing is dequantized: P is a proper
distribution over {0, ..., 255}^D and BPD = -log2 P(x) / D exactly.

The conditionals come from one convolutional network whose weights are masked
so that the logits of sub-pixel i see only x_{<i}:

- spatially, a k x k kernel sees the rows above its centre and the pixels left
  of its centre on the centre row;
- at the centre pixel, the channels of every layer are split into C contiguous
  groups (group c "belongs" to colour c). Mask type A (the first layer) lets
  group c see input colours < c; mask type B (every later layer) lets group c
  see groups <= c. The output logits of colour c form group c, so red is
  predicted from nothing at its own pixel, green from red, blue from red and
  green.

Like the original PixelCNN, the stack of masked 3x3 convolutions has a blind
spot: sub-pixels up and to the right of the receptive-field cone never enter
a conditional. They are ignored, not leaked, so the likelihood stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ood_lib.models.image_model import AutoregressiveImageModel

NUM_LEVELS = 256
# Sub-pixel positions whose 256 logits are formed at once by :func:`categorical_log_prob_from_features`
# (about 1 MiB of float32 logits: they stay in cache while their logsumexp is taken).
_HEAD_CHUNK_VALUES = 1 << 18


def categorical_log_prob(logits: Tensor, x_uint8: Tensor) -> Tensor:
    r"""log softmax(logits)[x] = logits[x] - logsumexp(logits) over the last dimension (the 256 levels).

    ``logits`` has shape (..., 256) and ``x_uint8`` the leading shape (...); the result has that
    shape. Equal to ``log_softmax(logits, -1).gather(-1, x)`` without forming the 256 log-probabilities.
    """
    index = x_uint8.to(device=logits.device, dtype=torch.long).unsqueeze(-1)
    return logits.gather(-1, index).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def categorical_log_prob_from_features(features: Tensor, weight: Tensor, bias: Tensor, x_uint8: Tensor) -> Tensor:
    r"""log P(x_i) per sub-pixel, shape (N, C, H, W), when the logits are a 1x1 convolution of ``features``.

    ``features`` (N, F, H, W) feed a 1x1 convolution with ``weight`` (256 C, F, 1, 1) and ``bias``
    (256 C) whose output channel 256 c + v is the logit of level v of colour c. The convolution is
    computed as a matrix product over the positions in channels-last order, a block of positions
    at a time, so each block's (C, 256) logits are contiguous and still in cache when
    :func:`categorical_log_prob` takes their logsumexp: the same values as
    ``log_softmax(conv1x1(features).view(N, C, 256, H, W), 2).gather(2, x)`` up to float rounding,
    without the (N, C, 256, H, W) tensor. Differentiable.
    """
    num_images, num_colours, height, width = x_uint8.shape
    rows = features.permute(0, 2, 3, 1).reshape(num_images * height * width, features.shape[1])
    targets = x_uint8.permute(0, 2, 3, 1).reshape(num_images * height * width, num_colours)
    matrix = weight.reshape(weight.shape[0], weight.shape[1])
    block = max(1, _HEAD_CHUNK_VALUES // (num_colours * NUM_LEVELS))
    log_probs = [
        categorical_log_prob(
            F.linear(rows[start : start + block], matrix, bias).view(-1, num_colours, NUM_LEVELS),
            targets[start : start + block],
        )
        for start in range(0, len(rows), block)
    ]
    return torch.cat(log_probs).view(num_images, height, width, num_colours).permute(0, 3, 1, 2)


def _channel_groups(num_channels: int, num_colours: int) -> Tensor:
    """Colour group of each of ``num_channels`` channels: C contiguous blocks of equal size."""
    if num_channels % num_colours:
        raise ValueError(f"{num_channels} channels cannot be split into {num_colours} colour groups")
    return torch.arange(num_channels) // (num_channels // num_colours)


def causal_mask(out_channels: int, in_channels: int, kernel_size: int, num_colours: int, mask_type: str) -> Tensor:
    """Binary mask of shape (out, in, k, k) for a causal convolution.

    Entry (o, i, dy, dx) is 1 iff input channel i at kernel offset (dy, dx) may
    feed output channel o: offsets on rows above the centre, or left of the
    centre on the centre row, always; the centre itself iff
    group(i) < group(o) (type "A") or group(i) <= group(o) (type "B").
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    centre = kernel_size // 2
    mask = torch.zeros(out_channels, in_channels, kernel_size, kernel_size)
    mask[:, :, :centre, :] = 1.0
    mask[:, :, centre, :centre] = 1.0
    out_groups = _channel_groups(out_channels, num_colours)[:, None]
    in_groups = _channel_groups(in_channels, num_colours)[None, :]
    centre_allowed = in_groups < out_groups if mask_type == "A" else in_groups <= out_groups
    mask[:, :, centre, centre] = centre_allowed.float()
    return mask


class MaskedConv2d(nn.Conv2d):
    """A same-padded k x k convolution whose weight is multiplied by :func:`causal_mask` on every call."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, num_colours: int, mask_type: str) -> None:
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.register_buffer(
            "mask", causal_mask(out_channels, in_channels, kernel_size, num_colours, mask_type), persistent=False
        )

    @property
    def masked_weight(self) -> Tensor:
        """weight * mask: the kernel the convolution applies."""
        return self.weight * self.mask

    def forward(self, x: Tensor) -> Tensor:
        """conv(x, weight * mask) + bias."""
        return F.conv2d(x, self.masked_weight, self.bias, padding=self.padding)


class ResidualBlock(nn.Module):
    """h + conv1x1_B(relu(conv3x3_B(relu(h)))): causal, so it preserves the autoregressive order."""

    def __init__(self, hidden: int, num_colours: int) -> None:
        super().__init__()
        self.conv3x3 = MaskedConv2d(hidden, hidden, 3, num_colours, "B")
        self.conv1x1 = MaskedConv2d(hidden, hidden, 1, num_colours, "B")

    def forward(self, h: Tensor) -> Tensor:
        """Residual update of the hidden state h (N, hidden, H, W)."""
        return h + self.conv1x1(F.relu(self.conv3x3(F.relu(h))))


class PixelCNN(AutoregressiveImageModel):
    r"""PixelCNN density over uint8 images of shape ``image_shape`` = (C, H, W).

    Network: pixels scaled to x / 255 * 2 - 1, a ``first_kernel`` x
    ``first_kernel`` mask-A convolution to ``hidden`` channels, ``layers``
    :class:`ResidualBlock` s (mask B), then ReLU, a 1x1 mask-B convolution,
    ReLU and a 1x1 mask-B convolution to 256 C logits. ``hidden`` must be a
    multiple of C. The last layer starts at zero, so an untrained model gives
    every sub-pixel the uniform distribution: exactly 8 bits per dimension.
    """

    def __init__(self, image_shape: Sequence[int], hidden: int = 64, layers: int = 5, first_kernel: int = 7) -> None:
        super().__init__()
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {tuple(image_shape)}")
        self.image_shape = tuple(int(size) for size in image_shape)
        num_colours = self.image_shape[0]
        self.hidden = hidden
        self.layers = layers
        self.first_kernel = first_kernel

        self.input_conv = MaskedConv2d(num_colours, hidden, first_kernel, num_colours, "A")
        self.blocks = nn.Sequential(*(ResidualBlock(hidden, num_colours) for _ in range(layers)))
        self.head_conv = MaskedConv2d(hidden, hidden, 1, num_colours, "B")
        self.output_conv = MaskedConv2d(hidden, NUM_LEVELS * num_colours, 1, num_colours, "B")
        nn.init.zeros_(self.output_conv.weight)
        nn.init.zeros_(self.output_conv.bias)

    @property
    def config(self) -> dict:
        """JSON-serialisable constructor arguments: ``PixelCNN(**model.config)`` rebuilds the architecture."""
        return {
            "image_shape": list(self.image_shape),
            "hidden": self.hidden,
            "layers": self.layers,
            "first_kernel": self.first_kernel,
        }

    def _features(self, x_uint8: Tensor, channels_last: bool = False) -> Tensor:
        """The input of the output layer, relu(head_conv(relu(h))), shape (N, hidden, H, W)."""
        if x_uint8.dtype != torch.uint8:
            raise TypeError(f"PixelCNN expects uint8 images, got {x_uint8.dtype}")
        weight = self.output_conv.weight
        x_scaled = x_uint8.to(device=weight.device, dtype=weight.dtype) / (NUM_LEVELS - 1) * 2 - 1
        if channels_last:
            x_scaled = x_scaled.contiguous(memory_format=torch.channels_last)
        h = self.blocks(self.input_conv(x_scaled))
        return F.relu(self.head_conv(F.relu(h)))

    def forward(self, x_uint8: Tensor) -> Tensor:
        """Logits of P(x_i | x_{<i}) for every sub-pixel, shape (N, C, 256, H, W)."""
        logits = self.output_conv(self._features(x_uint8))
        num_colours, height, width = x_uint8.shape[1:]
        return logits.view(x_uint8.shape[0], num_colours, NUM_LEVELS, height, width)

    def log_prob_per_subpixel(self, x_uint8: Tensor) -> Tensor:
        """log P(x_i | x_{<i}) in nats for every sub-pixel, shape (N, C, H, W).

        Equal to ``log_softmax(self(x_uint8), dim=2)`` at the observed levels, computed without
        the 256 log-probabilities per sub-pixel (:func:`categorical_log_prob_from_features`) and
        with the convolutions in channels-last layout (oneDNN's faster CPU kernels).
        """
        features = self._features(x_uint8, channels_last=True)
        return categorical_log_prob_from_features(
            features, self.output_conv.masked_weight, self.output_conv.bias, x_uint8
        )

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n images drawn sub-pixel by sub-pixel from P(x_i | x_{<i}), as uint8 (n, C, H, W).

        One forward pass per sub-pixel (D passes). Rows below the current one
        cannot influence it, so each pass runs on the rows up to the current one.
        ``generator`` must live on the model's device.
        """
        num_colours, height, width = self.image_shape
        x_uint8 = torch.zeros(n, num_colours, height, width, dtype=torch.uint8, device=self.device)
        for row in range(height):
            for column in range(width):
                for colour in range(num_colours):
                    logits = self(x_uint8[:, :, : row + 1])[:, colour, :, row, column]
                    draws = torch.multinomial(F.softmax(logits.double(), dim=1), 1, generator=generator)
                    x_uint8[:, colour, row, column] = draws[:, 0].to(torch.uint8)
        return x_uint8
