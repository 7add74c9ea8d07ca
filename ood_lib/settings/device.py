"""Pick the compute device: CUDA when present, else the CPU with all cores."""

from __future__ import annotations

import os

import torch


def get_device() -> torch.device:
    """Return ``cuda`` when a GPU is visible, else ``cpu``.

    ``OOD_DEVICE`` overrides the choice (e.g. ``OOD_DEVICE=cpu`` on a GPU box).
    On the CPU, torch uses every available core unless ``OMP_NUM_THREADS`` says
    otherwise (set it to 1 when several jobs share the cores: oversubscribed
    threads slow each job down many times over).
    """
    requested = os.environ.get("OOD_DEVICE")
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    return torch.device("cpu")
