"""Activation normalisation, Glow's per-channel affine layer (Kingma & Dhariwal 2018, Sec. 3.1)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ActNorm(nn.Module):
    r"""Per-channel affine map with data-dependent initialisation.

    .. math::
        y_{n,c,h,w} = (x_{n,c,h,w} + b_c)\, e^{s_c}, \qquad
        \log\left|\det \frac{\partial y}{\partial x}\right| = H W \sum_c s_c .

    On the first forward pass in training mode, ``bias`` b and ``log_scale`` s are
    set from that batch so that y has zero mean and unit standard deviation per
    channel: b_c = -mean_c(x), s_c = -log(std_c(x) + eps). The flag
    ``initialized`` is a buffer, so it is saved in ``state_dict`` and a reloaded
    model is not initialised a second time. A Python mirror of the flag spares
    later training steps the tensor read (a device sync on CUDA, a graph break
    under ``torch.compile``); loading a state_dict resets the mirror.
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.log_scale = nn.Parameter(torch.zeros(num_channels))
        self.register_buffer("initialized", torch.tensor(False))
        self._initialized_checked = False

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """Set b and s from the batch ``x`` (NCHW) and mark the layer initialised."""
        mean = x.mean(dim=(0, 2, 3))
        std = x.std(dim=(0, 2, 3), correction=0)
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + self.eps))
        self.initialized.fill_(True)

    @property
    def pending_initialization(self) -> bool:
        """True until the first training-mode pass has checked (and, if needed, set) the initialisation."""
        return self.training and not self._initialized_checked

    def maybe_initialize(self, x: Tensor) -> None:
        """Initialise from ``x`` if in training mode and not yet initialised."""
        if self.pending_initialization:
            if not bool(self.initialized):
                self.initialize(x)
            self._initialized_checked = True

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._initialized_checked = False

    def log_abs_det_per_position(self) -> Tensor:
        """sum_c s_c, the log-determinant for a single spatial position (a scalar)."""
        return self.log_scale.sum()

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """y = (x + b) e^s; log_det = H W sum(s), shape [N]."""
        self.maybe_initialize(x)
        y = (x + self.bias.view(1, -1, 1, 1)) * self.log_scale.exp().view(1, -1, 1, 1)
        log_det = x.shape[2] * x.shape[3] * self.log_abs_det_per_position()
        return y, log_det.expand(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        """x = y e^{-s} - b."""
        return y * torch.exp(-self.log_scale).view(1, -1, 1, 1) - self.bias.view(1, -1, 1, 1)
