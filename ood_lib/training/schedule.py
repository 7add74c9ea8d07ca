"""The learning-rate schedule of the training engine (``ood_lib.training.engine``, which also exports it)."""

from __future__ import annotations

from ood_lib.settings.profiles import TrainConfig


def learning_rate(step: int, config: TrainConfig) -> float:
    """Learning rate of update ``step`` (0-based): linear warmup to ``config.lr``, then an optional linear decay.

    Warmup: update 0 uses ``lr / warmup_steps``; updates ``warmup_steps - 1`` and later use
    ``lr`` (Glow without warmup often produces NaN losses in its first updates). Decay: over
    the last ``decay_fraction * n_steps`` updates the rate falls linearly towards 0, update
    ``n_steps - 1`` using ``lr / (decay_fraction * n_steps)``. Annealing the rate at the end
    lowers the BPD reached in a fixed budget and tames test images whose BPD a high constant
    rate leaves far above the rest (``benchmarks/RESULTS.md``).
    """
    warmup = 1.0 if config.warmup_steps <= 0 else min(1.0, (step + 1) / config.warmup_steps)
    decay = 1.0
    if config.decay_fraction > 0:
        decay = min(1.0, (config.n_steps - step) / (config.decay_fraction * config.n_steps))
    return config.lr * warmup * decay
