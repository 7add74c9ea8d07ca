r"""Gated PixelCNN with a discretized logistic mixture output (van den Oord et al. 2016; Salimans et al. 2017).

The model of the likelihood-ratio references (Ren et al. 2019 use PixelCNN++). An image
:math:`x \in \{0, \dots, 255\}^{C \times H \times W}` is factorised in raster order over pixels
and, within a pixel, over channels (R, then G, then B for C = 3):

.. math::
    \log P(x) = \sum_{p} \log P(x_p \mid x_{<p})
              = \sum_{p} \sum_{c=1}^{C} \log P(x_{p,c} \mid x_{p,<c}, x_{<p}).

**Network.** Two stacks of convolutions whose receptive fields are causal by construction
(shifted convolutions instead of masks), as in PixelCNN++:

- the *vertical* stack :math:`u` sees, at pixel (i, j), only rows :math:`< i` (a ``down-shifted``
  2 x 3 convolution pads two rows above and one column each side; the first one's output is
  shifted down a row), with every column of those rows inside its growing receptive field;
- the *horizontal* stack :math:`h` sees the rows above (through :math:`u`) and the pixels left of
  (i, j) on row i (a ``down-right-shifted`` 2 x 2 convolution; the first one's output is shifted
  right a column).

Together their receptive fields cover every earlier pixel once the network is deep enough (it
grows by about two rows per block; at 28x28 the 5 blocks of the ``quick`` model reach about 13 rows
up, chapter 08 measures it), so unlike the masked 3x3 PixelCNN
(:mod:`ood_lib.models.pixelcnn`) there is **no blind spot**: the pixel up and to the right of the target
enters its conditional. Both stacks start from the image scaled to [-1, 1] plus a channel of
ones (so zero padding is distinguishable from mid-grey). Each of ``blocks`` gated residual
blocks updates them (PixelCNN++'s gated resnet, ELU nonlinearity :math:`\phi`):

.. math::
    u &\leftarrow u + a_u \odot \sigma(b_u), \quad [a_u, b_u] = V_2\,\phi(V_1\,\phi(u)), \\
    h &\leftarrow h + a_h \odot \sigma(b_h), \quad [a_h, b_h] = H_2\,\phi(H_1\,\phi(h) + N\,\phi(u)),

with :math:`V_{1,2}` down-shifted, :math:`H_{1,2}` down-right-shifted convolutions, :math:`N` a
1x1 convolution (the vertical-to-horizontal link) and optional dropout before :math:`V_2, H_2`.
A 1x1 convolution of :math:`\phi(h)` gives, per pixel, the parameters of the output distribution;
they depend on the strictly earlier pixels only.

**Output.** A mixture of K discretized logistics per pixel (:mod:`ood_lib.models.discretized_logistic`)
with component weights :math:`\pi_k` shared by the pixel's channels. Channels are ordered by
*linear conditioning of the means*, as in PixelCNN++ (not by channel masks):

.. math::
    m_{k,c} = \mu_{k,c} + \sum_{c' < c} \tanh(\alpha_{k,c,c'})\, \frac{2 x_{p,c'}}{255} - 1\ ,

so :math:`P(x_p \mid x_{<p}) = \sum_k \pi_k \prod_c P(x_{p,c} \mid m_{k,c}, s_{k,c})`. Per
sub-pixel the exact conditional is a mixture with the posterior weights given the pixel's
earlier channels,

.. math::
    P(x_{p,c} \mid x_{p,<c}, x_{<p}) = \sum_k w_{k,c}\, P(x_{p,c} \mid m_{k,c}, s_{k,c}),
    \qquad w_{k,c} \propto \pi_k \prod_{c'<c} P(x_{p,c'} \mid m_{k,c'}, s_{k,c'}),

and the per-sub-pixel log-probabilities sum to :math:`\log P(x)`. For K = 1 the weights are 1.
Each conditional sums to exactly 1 over the 256 levels; the likelihood is exact (no
dequantization) and BPD = -log2 P(x) / D.

**Departures from the likelihood-ratio reference** (Ren et al. 2019's public code: TensorFlow
Probability's PixelCNN++ with ``num_hierarchies`` 1, ``num_resnet`` 5, 32 filters, one logistic, no
weight norm, no dropout, pixel values not rescaled): that network also stays at one resolution, but
runs 5 gated layers in an upward and 5 in a downward pass with skip connections between the two;
here one pass of ``blocks`` blocks and no skip connections. ELU instead of the concatenated ELU;
inputs scaled to [-1, 1] (plus the ones channel) instead of 0..255; the exact log-bin mass above
instead of a density fallback. (PixelCNN++'s own default, three resolutions, is not what the
reference trained on FashionMNIST.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ood_lib.models.discretized_logistic import NUM_LEVELS, discretized_logistic_log_prob, level_centres
from ood_lib.models.image_model import AutoregressiveImageModel


def down_shift(x: Tensor) -> Tensor:
    """Shift a feature map down by one row (zeros enter at the top): output row i is input row i - 1."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1, :]


def right_shift(x: Tensor) -> Tensor:
    """Shift a feature map right by one column: output column j is input column j - 1."""
    return F.pad(x, (1, 0, 0, 0))[:, :, :, :-1]


class DownShiftedConv2d(nn.Conv2d):
    """A kh x kw convolution whose output at (i, j) sees rows i-kh+1..i and columns j-kw//2..j+kw//2."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int] = (2, 3)) -> None:
        if kernel_size[1] % 2 != 1:
            raise ValueError(f"the kernel width must be odd, got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        """conv(pad(x)) with kh - 1 rows padded above and kw // 2 columns on each side."""
        kh, kw = self.kernel_size
        return super().forward(F.pad(x, (kw // 2, kw // 2, kh - 1, 0)))


class DownRightShiftedConv2d(nn.Conv2d):
    """A kh x kw convolution whose output at (i, j) sees rows i-kh+1..i and columns j-kw+1..j."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int] = (2, 2)) -> None:
        super().__init__(in_channels, out_channels, kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        """conv(pad(x)) with kh - 1 rows padded above and kw - 1 columns on the left."""
        kh, kw = self.kernel_size
        return super().forward(F.pad(x, (kw - 1, 0, kh - 1, 0)))


class GatedResidualBlock(nn.Module):
    r"""One gated residual update of the vertical stack u and the horizontal stack h (module docstring)."""

    def __init__(self, filters: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.vertical_in = DownShiftedConv2d(filters, filters)
        self.vertical_out = DownShiftedConv2d(filters, 2 * filters)
        self.horizontal_in = DownRightShiftedConv2d(filters, filters)
        self.vertical_to_horizontal = nn.Conv2d(filters, filters, 1)
        self.horizontal_out = DownRightShiftedConv2d(filters, 2 * filters)
        self.dropout = nn.Dropout(dropout)

    @staticmethod
    def _gate(x: Tensor) -> Tensor:
        a, b = x.chunk(2, dim=1)
        return a * torch.sigmoid(b)

    def forward(self, u: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """(u', h'): both stacks updated; causality is preserved because every convolution is shifted."""
        inner = self.dropout(F.elu(self.vertical_in(F.elu(u))))
        u = u + self._gate(self.vertical_out(inner))
        inner = F.elu(self.horizontal_in(F.elu(h)) + self.vertical_to_horizontal(F.elu(u)))
        h = h + self._gate(self.horizontal_out(self.dropout(inner)))
        return u, h


class GatedPixelCNN(AutoregressiveImageModel):
    r"""Gated PixelCNN density over uint8 images of shape ``image_shape`` = (C, H, W) (module docstring).

    ``filters`` channels in each stack, ``blocks`` :class:`GatedResidualBlock` s, ``components``
    K logistic mixture components, ``dropout`` inside the blocks (training only). Same interface
    as :class:`ood_lib.models.pixelcnn.PixelCNN`: ``forward`` gives log P of all 256 levels of every
    sub-pixel (valid logits), ``log_prob`` nats per image, ``bits_per_dim``, ``sample``.
    """

    def __init__(
        self, image_shape: Sequence[int], filters: int = 32, blocks: int = 5, components: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {tuple(image_shape)}")
        self.image_shape = tuple(int(size) for size in image_shape)
        self.filters, self.blocks, self.components, self.dropout = filters, blocks, components, float(dropout)
        num_colours = self.image_shape[0]
        self.num_coefficients = num_colours * (num_colours - 1) // 2
        self.vertical_start = DownShiftedConv2d(num_colours + 1, filters, (2, 3))
        self.horizontal_start_above = DownShiftedConv2d(num_colours + 1, filters, (1, 3))
        self.horizontal_start_left = DownRightShiftedConv2d(num_colours + 1, filters, (2, 1))
        self.residual_blocks = nn.ModuleList(GatedResidualBlock(filters, dropout) for _ in range(blocks))
        # Per pixel: K logits, C K means, C K log-scales, K C(C-1)/2 coefficients.
        self.output_conv = nn.Conv2d(filters, components * (1 + 2 * num_colours + self.num_coefficients), 1)

    @property
    def config(self) -> dict:
        """JSON-serialisable constructor arguments: ``GatedPixelCNN(**model.config)`` rebuilds the architecture."""
        return {
            "image_shape": list(self.image_shape),
            "filters": self.filters,
            "blocks": self.blocks,
            "components": self.components,
            "dropout": self.dropout,
        }

    def network_output(self, x_uint8: Tensor) -> Tensor:
        """The output layer's values, shape (N, K (1 + 2C + C(C-1)/2), H, W); at (i, j) a function of x_{<(i, j)}."""
        if x_uint8.dtype != torch.uint8:
            raise TypeError(f"GatedPixelCNN expects uint8 images, got {x_uint8.dtype}")
        weight = self.output_conv.weight
        x_scaled = level_centres(x_uint8.to(weight.device), weight.dtype)
        # channels-last activations: oneDNN's faster layout for these small convolutions (a quarter less time)
        x_scaled = torch.cat([x_scaled, torch.ones_like(x_scaled[:, :1])], dim=1).contiguous(
            memory_format=torch.channels_last
        )
        u = down_shift(self.vertical_start(x_scaled))
        h = down_shift(self.horizontal_start_above(x_scaled)) + right_shift(self.horizontal_start_left(x_scaled))
        for block in self.residual_blocks:
            u, h = block(u, h)
        return self.output_conv(F.elu(h)).contiguous()

    def _mixture_parameters(self, output: Tensor, x_uint8: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(log pi (N, K, H, W), means (N, C, K, H, W) conditioned on the pixel's earlier channels, log-scales)."""
        num_images, _, height, width = output.shape
        num_colours, k = self.image_shape[0], self.components
        log_weights = torch.log_softmax(output[:, :k], dim=1)
        means = output[:, k : k + num_colours * k].view(num_images, num_colours, k, height, width)
        log_scales = output[:, k + num_colours * k : k + 2 * num_colours * k].view(
            num_images, num_colours, k, height, width
        )
        if self.num_coefficients:
            coefficients = torch.tanh(output[:, k + 2 * num_colours * k :]).view(
                num_images, self.num_coefficients, k, height, width
            )
            centres = level_centres(x_uint8.to(output.device), output.dtype)
            conditioned = [means[:, 0]]
            index = 0
            for colour in range(1, num_colours):
                mean = means[:, colour]
                for earlier in range(colour):
                    mean = mean + coefficients[:, index] * centres[:, earlier, None]
                    index += 1
                conditioned.append(mean)
            means = torch.stack(conditioned, dim=1)
        return log_weights, means, log_scales

    def log_prob_per_subpixel(self, x_uint8: Tensor) -> Tensor:
        """log P(x_{p,c} | x_{p,<c}, x_{<p}) in nats for every sub-pixel, shape (N, C, H, W)."""
        log_weights, means, log_scales = self._mixture_parameters(self.network_output(x_uint8), x_uint8)
        x_levels = x_uint8.to(means.device)[:, :, None]  # (N, C, 1, H, W)
        component = discretized_logistic_log_prob(x_levels, means, log_scales)  # (N, C, K, H, W)
        if self.components == 1:
            return component[:, :, 0]
        joint = log_weights[:, None] + component.cumsum(dim=1)  # log pi_k prod_{c' <= c} P_k
        log_marginal = torch.logsumexp(joint, dim=2)  # log P(x_{p, <=c} | x_{<p}), (N, C, H, W)
        return torch.diff(log_marginal, dim=1, prepend=torch.zeros_like(log_marginal[:, :1]))

    def forward(self, x_uint8: Tensor) -> Tensor:
        """log P(x_{p,c} = v | x_{p,<c}, x_{<p}) for all 256 levels v, shape (N, C, 256, H, W).

        The conditional of sub-pixel (c, p) given the observed earlier sub-pixels of ``x_uint8``:
        each (N, c, :, i, j) slice is a normalised log-distribution (valid logits).
        """
        log_weights, means, log_scales = self._mixture_parameters(self.network_output(x_uint8), x_uint8)
        return self._level_log_probs(log_weights, means, log_scales, x_uint8)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n images drawn sub-pixel by sub-pixel from the model's conditionals, as uint8 (n, C, H, W).

        One network pass per pixel on the rows up to the current one (lower rows cannot influence
        it); the pixel's channels are then drawn in order from :meth:`forward`'s 256-level
        conditionals given the channels already drawn. ``generator`` must live on the model's device.
        """
        num_colours, height, width = self.image_shape
        x_uint8 = torch.zeros(n, num_colours, height, width, dtype=torch.uint8, device=self.device)
        for row in range(height):
            for column in range(width):
                rows = x_uint8[:, :, : row + 1]
                output = self.network_output(rows)[:, :, row : row + 1, column : column + 1]
                pixel = rows[:, :, row : row + 1, column : column + 1].clone()
                for colour in range(num_colours):
                    log_weights, means, log_scales = self._mixture_parameters(output, pixel)
                    conditional = self._level_log_probs(log_weights, means, log_scales, pixel, colour)[:, 0, :, 0, 0]
                    draws = torch.multinomial(conditional.double().exp(), 1, generator=generator)
                    pixel[:, colour, 0, 0] = draws[:, 0].to(torch.uint8)
                x_uint8[:, :, row, column] = pixel[:, :, 0, 0]
        return x_uint8

    def _level_log_probs(
        self, log_weights: Tensor, means: Tensor, log_scales: Tensor, x_uint8: Tensor, colour: int | None = None
    ) -> Tensor:
        """:meth:`forward`'s computation from given mixture parameters: sum_k w_{k,c} P(v | m_{k,c}, s_{k,c}).

        All channels (N, C, 256, H, W), or with ``colour`` only that channel's (N, 1, 256, H, W).
        """
        observed = discretized_logistic_log_prob(x_uint8.to(means.device)[:, :, None], means, log_scales)
        posterior = torch.log_softmax(log_weights[:, None] + observed.cumsum(dim=1) - observed, dim=2)
        if colour is not None:
            posterior, means, log_scales = (values[:, colour : colour + 1] for values in (posterior, means, log_scales))
        levels = torch.arange(NUM_LEVELS, device=means.device).view(1, 1, 1, NUM_LEVELS, 1, 1)
        every_level = discretized_logistic_log_prob(levels, means[:, :, :, None], log_scales[:, :, :, None])
        return torch.logsumexp(posterior[:, :, :, None] + every_level, dim=2)
