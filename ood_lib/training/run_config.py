"""What identifies a training run, so a checkpoint is resumed only by the same run: the run's
configuration (model, training config, variant, data fingerprints) and the random states."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from ood_lib.settings.profiles import TrainConfig
from ood_lib.training.model_files import CHECKPOINT_FORMAT, read_record
from ood_lib.training.outlier_exposure import OutlierExposure


def data_fingerprint(x_uint8: torch.Tensor) -> dict:
    """Shape and SHA-1 of a uint8 data set, so a checkpoint is only resumed on the same data."""
    digest = hashlib.sha1(x_uint8.cpu().contiguous().numpy().tobytes()).hexdigest()
    return {"shape": list(x_uint8.shape), "sha1": digest}


# TrainConfig fields that choose how a run computes, not what: left out of every identity (checkpoints, the zoo).
RUNTIME_FIELDS = ("compile",)
DEFAULT_ONLY_WHEN_SET = {
    "optimizer": "adamax",
    "weight_decay": 0.0,
    "per_image_eval": False,
    "betas": None,
    "lr_decay_per_step": 1.0,
}


def train_identity(config: TrainConfig) -> dict:
    """``config`` as a dict without :data:`RUNTIME_FIELDS`: what identifies a run's training budget.

    So switching ``compile`` neither makes a cached model stale nor refuses a checkpoint (a run
    may resume in the other mode; it is then equal to float tolerance, not bit for bit).
    """
    identity = {key: value for key, value in dataclasses.asdict(config).items() if key not in RUNTIME_FIELDS}
    for key, default in DEFAULT_ONLY_WHEN_SET.items():  # fields added later: absent at their default, so
        if identity[key] == default:  # every model trained before them keeps its identity
            del identity[key]
    return identity


def run_config(
    model: nn.Module,
    x_train: torch.Tensor,
    config: TrainConfig,
    eval_sets: dict[str, torch.Tensor] | None = None,
    perturbation_rate: float = 0.0,
    outliers: OutlierExposure | None = None,
    bf16: bool = False,
) -> dict:
    """Everything that determines a training run's result and history, as plain JSON data.

    Model class and config, training config, the variant's settings where they are not the
    defaults (input perturbation rate, outlier exposure with a fingerprint of its images, bf16)
    and fingerprints of the training and evaluation data. Stored in every checkpoint;
    a checkpoint is resumed only if this matches.
    """
    description = {
        "model_class": type(model).__name__,
        "model": model.config,
        "train": train_identity(config),
        "data": data_fingerprint(x_train),
        "eval_data": {name: data_fingerprint(x) for name, x in sorted((eval_sets or {}).items())},
    }
    if perturbation_rate:
        description["perturbation_rate"] = perturbation_rate
    if outliers is not None:
        description["outlier_exposure"] = {**outliers.describe(), "data": data_fingerprint(outliers.images)}
    if bf16:
        description["bf16"] = True
    return json.loads(json.dumps(description))


def config_differences(stored: object, wanted_config: object, prefix: str = "") -> list[str]:
    """Where two configs differ, e.g. ``["train.lr: stored 0.003, wanted 0.002"]``."""
    if isinstance(stored, dict) and isinstance(wanted_config, dict):
        keys = list(dict.fromkeys([*stored, *wanted_config]))
        return [
            difference
            for key in keys
            for difference in config_differences(stored.get(key), wanted_config.get(key), f"{prefix}{key}.")
        ]
    return [] if stored == wanted_config else [f"{prefix[:-1]}: stored {stored!r}, wanted {wanted_config!r}"]


def read_run_config(checkpoint_path: Path) -> dict | None:
    """The ``run_config`` stored in a checkpoint (read as data only), or None if there is no checkpoint."""
    if not Path(checkpoint_path).exists():
        return None
    return read_record(checkpoint_path, CHECKPOINT_FORMAT)["run_config"]


def rng_states() -> dict[str, torch.Tensor]:
    """The global torch random states as uint8 tensors: ``torch_cpu``, and ``torch_cuda<i>`` per GPU."""
    states = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        states.update({f"torch_cuda{index}": state for index, state in enumerate(torch.cuda.get_rng_state_all())})
    return states


def restore_rng_states(states: dict[str, torch.Tensor]) -> None:
    """Restore what :func:`rng_states` saved."""
    torch.set_rng_state(states["torch_cpu"])
    cuda_states = [states[f"torch_cuda{index}"] for index in range(len(states) - 1)]
    if torch.cuda.is_available() and cuda_states:
        torch.cuda.set_rng_state_all(cuda_states)
