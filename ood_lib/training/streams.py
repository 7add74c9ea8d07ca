"""The random streams of a training run: every one a pure function of ``(config.seed, ...)``.

The minibatch of update ``s`` comes from a permutation seeded by ``(seed, epoch)`` and its
dequantization noise from a generator seeded by ``(seed, NOISE_STREAM, s)``; perturbations and
outlier batches have streams of their own, evaluation a fixed subset and a fixed noise seed. A run
resumed at update ``s`` therefore draws exactly what the uninterrupted run would have drawn
(``ood_lib.training.engine``).
"""

from __future__ import annotations

import numpy as np
import torch

# Independent random streams derived from ``config.seed``.
SHUFFLE_STREAM, NOISE_STREAM, EVAL_NOISE_STREAM, EVAL_SUBSET_STREAM, PERTURB_STREAM, OUTLIER_STREAM = range(6)


def derived_seed(*keys: int) -> int:
    """A well-mixed 63-bit seed from integer keys, so neighbouring steps get unrelated streams."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0] >> 1)


def batch_indices(step: int, n_examples: int, batch_size: int, seed: int) -> torch.Tensor:
    """Indices into the training set of the minibatch of update ``step``.

    Epoch ``e`` walks through a permutation seeded by ``(seed, e)``; the incomplete
    last batch of an epoch is dropped. Depends on nothing but its arguments, which
    is what makes a resumed run identical to an uninterrupted one.
    """
    if n_examples < batch_size:
        raise ValueError(f"Need at least one full batch: {n_examples} examples < batch size {batch_size}.")
    batches_per_epoch = n_examples // batch_size
    epoch, position = divmod(step, batches_per_epoch)
    generator = torch.Generator().manual_seed(derived_seed(seed, SHUFFLE_STREAM, epoch))
    permutation = torch.randperm(n_examples, generator=generator)
    return permutation[position * batch_size : (position + 1) * batch_size]


def seeded_generator(device: torch.device, *keys: int) -> torch.Generator:
    """A generator on ``device`` seeded by :func:`derived_seed` of ``keys``, e.g. ``(seed, NOISE_STREAM, step)``."""
    return torch.Generator(device=device).manual_seed(derived_seed(*keys))


def fixed_subset(x_uint8: torch.Tensor, n_max: int, seed: int) -> torch.Tensor:
    """At most ``n_max`` examples of ``x_uint8``, the same ones on every call."""
    if len(x_uint8) <= n_max:
        return x_uint8
    generator = torch.Generator().manual_seed(derived_seed(seed, EVAL_SUBSET_STREAM))
    keep = torch.randperm(len(x_uint8), generator=generator)[:n_max].sort().values
    return x_uint8[keep]
