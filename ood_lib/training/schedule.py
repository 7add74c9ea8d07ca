"""The optimiser and learning-rate schedule of the training engine (``ood_lib.training.engine`` exports both)."""

from __future__ import annotations

import torch
from torch import nn

from ood_lib.settings.profiles import TrainConfig

OPTIMIZERS = {"adamax": torch.optim.Adamax, "adam": torch.optim.Adam}


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` (multi-tensor) over the parameters at update 0's rate, with ``config.weight_decay``."""
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"TrainConfig.optimizer must be one of {', '.join(OPTIMIZERS)}, got {config.optimizer!r}.")
    if not config.weight_decay >= 0.0:
        raise ValueError(f"TrainConfig.weight_decay must be a non-negative number, got {config.weight_decay}.")
    if not 0.0 < config.lr_decay_per_step <= 1.0:
        raise ValueError(f"TrainConfig.lr_decay_per_step must lie in (0, 1], got {config.lr_decay_per_step}.")
    betas = {} if config.betas is None else {"betas": tuple(config.betas)}
    return OPTIMIZERS[config.optimizer](
        model.parameters(), lr=learning_rate(0, config), weight_decay=config.weight_decay, foreach=True, **betas
    )


def learning_rate(step: int, config: TrainConfig) -> float:
    """Learning rate of update ``step`` (0-based): linear warmup to ``config.lr``, then an optional linear decay.

    Warmup: update 0 uses ``lr / warmup_steps``; updates ``warmup_steps - 1`` and later use
    ``lr`` (Glow without warmup often produces NaN losses in its first updates). Decay: over
    the last ``decay_fraction * n_steps`` updates the rate falls linearly towards 0, update
    ``n_steps - 1`` using ``lr / (decay_fraction * n_steps)``. Annealing the rate at the end
    lowers the BPD reached in a fixed budget and tames test images whose BPD a high constant
    rate leaves far above the rest (``benchmarks/RESULTS.md``). ``lr_decay_per_step`` < 1 multiplies
    the rate of update ``step`` by ``lr_decay_per_step ** step`` as well (Ren et al. 2019's
    exponential decay, 0.999995 per update).
    """
    warmup = 1.0 if config.warmup_steps <= 0 else min(1.0, (step + 1) / config.warmup_steps)
    decay = 1.0
    if config.decay_fraction > 0:
        decay = min(1.0, (config.n_steps - step) / (config.decay_fraction * config.n_steps))
    return config.lr * warmup * decay * config.lr_decay_per_step**step
