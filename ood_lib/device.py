"""Pick the compute device: CUDA when present, else the CPU with all cores."""

from __future__ import annotations

import os

import torch


def get_device() -> torch.device:
    """Return ``cuda`` when a GPU is visible, else ``cpu``.

    ``OOD_DEVICE`` overrides the choice (e.g. ``OOD_DEVICE=cpu`` on a GPU box).
    On the CPU, torch is told to use every available core.
    """
    requested = os.environ.get("OOD_DEVICE")
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    return torch.device("cpu")
