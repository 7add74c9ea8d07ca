"""Torch helpers: deterministic subsets, NCHW tensors, grayscale, dequantizing loaders."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from ood_lib.data.dequantization import dequantize
from ood_lib.data.store import load

# ITU-R BT.601 luma weights, the usual RGB -> grayscale conversion.
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def subset_indices(n_total: int, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a uniformly random subset of size ``n`` (all if ``n`` is None or too big).

    The same ``(n_total, n, seed)`` always gives the same indices.
    """
    if n is None or n >= n_total:
        return np.arange(n_total)
    if n < 0:
        raise ValueError(f"Subset size must be non-negative, got {n}.")
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:n])


def held_out_indices(n_total: int, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices *not* in ``subset_indices(n_total, n, seed)``: the validation split of a training subset."""
    held_out = np.ones(n_total, dtype=bool)
    held_out[subset_indices(n_total, n, seed)] = False
    return np.flatnonzero(held_out)


def to_grayscale(x_uint8: np.ndarray) -> np.ndarray:
    """RGB ``(N, H, W, 3)`` uint8 -> luma ``(N, H, W, 1)`` uint8 (BT.601 weights, rounded)."""
    if x_uint8.ndim != 4 or x_uint8.shape[-1] not in (1, 3):
        raise ValueError(f"Expected images (N, H, W, 1 or 3), got shape {x_uint8.shape}.")
    if x_uint8.shape[-1] == 1:
        return x_uint8
    luma = np.rint(x_uint8 @ _LUMA_WEIGHTS)
    return np.clip(luma, 0, 255).astype(np.uint8)[..., None]


def as_shape(x_uint8: np.ndarray, shape_hwc: tuple[int, int, int]) -> np.ndarray:
    """Images ``(N, H, W, C)`` converted to ``shape_hwc``: luma if one channel is wanted, then resized
    (Pillow, bilinear with antialiasing) if the size differs. E.g. CIFAR-10 as 28x28 grayscale."""
    height, width, channels = shape_hwc
    if channels not in (1, x_uint8.shape[-1]):
        raise ValueError(f"Cannot convert {x_uint8.shape[-1]}-channel images to {channels} channels.")
    images = to_grayscale(x_uint8) if channels == 1 else x_uint8
    if images.shape[1:3] == (height, width):
        return np.ascontiguousarray(images)
    resized = [
        np.asarray(
            Image.fromarray(image.squeeze(-1) if channels == 1 else image).resize((width, height), Image.BILINEAR)
        )
        for image in images
    ]
    return np.stack(resized).reshape(len(images), height, width, channels)


def to_tensor(x_uint8: np.ndarray) -> torch.Tensor:
    """uint8 images ``(N, H, W, C)`` -> a uint8 torch tensor ``(N, C, H, W)`` (a copy)."""
    if x_uint8.dtype != np.uint8 or x_uint8.ndim != 4:
        raise ValueError(f"Expected uint8 images (N, H, W, C), got {x_uint8.dtype} {x_uint8.shape}.")
    return torch.from_numpy(np.array(x_uint8.transpose(0, 3, 1, 2), order="C", copy=True))


def load_tensor(
    name: str, split: str, n: int | None = None, seed: int = 0, grayscale: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic subset of ``name``/``split`` as uint8 NCHW images and int64 labels."""
    x_uint8, labels = load(name, split)
    keep = subset_indices(len(x_uint8), n, seed)
    images = x_uint8[keep]
    if grayscale:
        images = to_grayscale(images)
    return to_tensor(images), torch.from_numpy(labels[keep].copy())


def make_loader(
    name: str,
    split: str,
    batch_size: int,
    *,
    n: int | None = None,
    seed: int = 0,
    grayscale: bool = False,
    dequantized: bool = False,
    shuffle: bool = False,
) -> DataLoader:
    """Batches ``(x, y)`` of ``name``/``split``.

    ``x`` is uint8 NCHW, or with ``dequantized=True`` float ``(x + u) / 256`` in [0, 1)
    with ``u ~ U[0, 1)``. Subset, shuffling order and noise are all fixed by ``seed``.
    """
    images, labels = load_tensor(name, split, n=n, seed=seed, grayscale=grayscale)
    order_generator = torch.Generator().manual_seed(seed)
    noise_generator = torch.Generator().manual_seed(seed + 1)

    def collate(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.stack([item[0] for item in batch])
        y = torch.stack([item[1] for item in batch])
        return (dequantize(x, noise_generator) if dequantized else x), y

    return DataLoader(
        TensorDataset(images, labels),
        batch_size=batch_size,
        shuffle=shuffle,
        generator=order_generator,
        collate_fn=collate,
    )
