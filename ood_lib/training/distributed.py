"""Data-parallel training under ``torchrun``: the process group's rank and size, and the pieces
the training engine wraps with ``DistributedDataParallel``.

With R ranks and a global batch of B images, rank r takes images ``r B/R .. (r+1) B/R - 1`` of
the batch every rank draws alike; DDP averages the ranks' gradients, so with equal shards

.. math:: \\frac1R \\sum_r \\nabla \\Big(\\frac{R}{B} \\sum_{i \\in \\text{shard}_r} \\ell_i\\Big)
    = \\nabla \\Big(\\frac1B \\sum_{i=1}^{B} \\ell_i\\Big),

the single-process gradient of the global batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from ood_lib.models.bpd import bits_per_dim_from_log_prob


def distributed_rank_and_size() -> tuple[int, int]:
    """(rank, world size) of the default process group (``torchrun``); (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class BitsPerDim(nn.Module):
    """A flow as a module whose forward is the per-example BPD of dequantized inputs (what DDP wraps)."""

    def __init__(self, flow: nn.Module) -> None:
        super().__init__()
        self.flow = flow

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """BPD per example of ``x`` in [0, 1)^D."""
        return bits_per_dim_from_log_prob(self.flow.log_prob(x), self.flow.num_dims)


def mean_over_ranks(value: torch.Tensor, world_size: int) -> float:
    """The mean of a scalar over all ranks (the global batch's loss from the shards' losses)."""
    total = value.detach().clone()
    dist.all_reduce(total)
    return total.item() / world_size
