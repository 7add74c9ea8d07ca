"""The trained-model cache every chapter draws from.

``get("glow", "fashion_mnist")`` returns the profile's Glow trained on
FashionMNIST: loaded from ``<profile>/glow_fashion_mnist.safetensors`` in
``model_write_dir()`` or ``model_dir()`` when that file was trained with the
current configuration, otherwise trained now into ``model_write_dir()``
(resuming an interrupted training from ``glow_fashion_mnist.ckpt.safetensors``)
and saved. Files hold data only (``ood_lib.training.model_files``); beside each model,
``glow_fashion_mnist.json`` holds its configuration, training history and
provenance in readable form.

One trainer per model: a process that has to train a model holds
``glow_fashion_mnist.lock`` (an OS file lock, released if the process dies) and
writes its pid and host to ``glow_fashion_mnist.trainer.json``; others asking
for the model wait, saying for whom, then load it. ``OOD_TRAIN=never`` makes a
missing or stale model an error naming the command that trains it.

During training the periodic evaluation covers a fixed subset of the training
data, the test split and, when it is on disk, the test split of the OOD partner
(FashionMNIST <-> MNIST, CIFAR-10 <-> SVHN): the curves of the paper's Figure 4d.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ood_lib import data
from ood_lib.settings.device import get_device
from ood_lib.settings.paths import model_search_dirs, model_write_dir
from ood_lib.settings.profiles import Profile, TrainConfig, get_profile
from ood_lib.training.distributed import distributed_rank_and_size
from ood_lib.training.engine import train
from ood_lib.training.lock import ModelDirNotWritableError, one_trainer  # noqa: F401 (raised by get)
from ood_lib.training.model_files import (
    MODEL_FORMAT,
    ModelFileError,
    StoredModel,
    load_model,
    provenance_now,
    read_record,
    save_model,
)
from ood_lib.training.outlier_exposure import OutlierExposure
from ood_lib.training.run_config import config_differences, read_run_config, run_config, train_identity
from ood_lib.training.variant import OUTLIER_MARGIN_BPD, PLAIN, Variant, outlier_margin_problem  # noqa: F401 (zoo.*)
from ood_lib.training.zoo_models import GLOW_MODELS, MODEL_BUILDERS

# Each data set's out-of-distribution partner in the paper.
OOD_PARTNERS = {
    "fashion_mnist": "mnist",
    "mnist": "fashion_mnist",
    "cifar10": "svhn",
    "svhn": "cifar10",
    "cifar10_subset": "svhn",
}

# Outlier exposure's weight of the margin term (the margin: ``Variant.margin_bpd``, default OUTLIER_MARGIN_BPD).
OUTLIER_WEIGHT = 1.0

# The name chapters and tests know for an unreadable, foreign or pickled model file.
CorruptModelFileError = ModelFileError

# OOD_TRAIN: "missing" (the default) trains what is missing or stale; "never" raises ModelNotTrainedError instead.
TRAIN_MODES = ("missing", "never")


class ModelNotTrainedError(RuntimeError):
    """``OOD_TRAIN=never`` and the wanted model's file is missing or stale for its configuration."""


class TrainingDataUnavailableError(RuntimeError):
    """The data set a model should be trained on cannot be loaded."""


@dataclass
class TrainedModel:
    """A model from the zoo (eval mode, on the compute device) with what produced it."""

    model: nn.Module
    config: dict  # model name and config, training config, training and evaluation data
    history: dict  # see ``ood_lib.training.engine.train``
    train_seconds: float
    path: Path
    from_cache: bool  # loaded from ``path`` rather than trained (or resumed) by this call

    def provenance(self) -> str:
        """One line for a chapter: loaded or trained now, steps, training time and device."""
        how = "loaded from the model cache" if self.from_cache else "trained now"
        device = self.history.get("device", "an unrecorded device")
        return (
            f"{how} ({self.path.name}); {self.config['train']['n_steps']} steps, "
            f"trained in {self.train_seconds / 60:.1f} min on {device}"
        )


def model_path(model_name: str, train_set: str, profile: Profile, variant: Variant = PLAIN) -> Path:
    """Where the zoo trains and writes ``model_name`` trained on ``train_set`` under ``profile`` (and ``variant``).

    In ``model_write_dir()``; ``get`` also reads the same file name under ``model_dir()``.
    """
    return model_write_dir() / profile.name / f"{model_name}_{train_set}{variant.suffix()}.safetensors"


def _ood_partner_on_disk(train_set: str) -> str | None:
    """The OOD partner of ``train_set`` if its data is on disk (no download is attempted for it)."""
    partner = OOD_PARTNERS.get(train_set)
    return partner if partner is not None and data.is_available(partner) else None


def _zoo_config(model_name: str, model: nn.Module, train_set: str, train_config: TrainConfig, variant: Variant) -> dict:
    """Everything the cached file must match to be reused, as plain JSON data."""
    description = {
        "model_name": model_name,
        "model_class": type(model).__name__,
        "model": model.config,
        "train": train_identity(train_config),  # without ``compile``
        "data": {"train_set": train_set, "ood_eval_set": _ood_partner_on_disk(train_set)},
    }
    if variant.perturbation_rate:
        description["perturbation_rate"] = variant.perturbation_rate
    if variant.bf16:
        description["bf16"] = True
    if variant.outliers_from:
        description["outlier_exposure"] = {
            "outliers_from": variant.outliers_from,
            "margin": variant.margin_bpd,
            "weight": OUTLIER_WEIGHT,
        }
    return json.loads(json.dumps(description))


def _load_training_data(
    train_set: str, model_name: str, subset_size: int | None, seed: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The training subset and the test splits evaluated during training (keys ``test``, partner name)."""
    try:
        x_train, _ = data.load(train_set, "train")
    except data.DataError as error:
        raise TrainingDataUnavailableError(
            f"Cannot train {model_name!r} on {train_set!r}: its training split is not available. {error}"
        ) from error
    x_train_subset = data.to_tensor(x_train[data.subset_indices(len(x_train), subset_size, seed)])
    eval_sets = {"test": data.to_tensor(data.load(train_set, "test")[0])}
    partner = _ood_partner_on_disk(train_set)
    if partner is not None:
        eval_sets[partner] = data.to_tensor(data.load(partner, "test")[0])
    return x_train_subset, eval_sets


@dataclass
class Wanted:
    """What ``get`` looks for: a model's identity, a freshly built (untrained) model and its zoo config."""

    model_name: str
    train_set: str
    profile: Profile
    variant: Variant
    model: nn.Module
    config: dict  # what a stored file's config must equal to be used
    train_config: TrainConfig

    @property
    def path(self) -> Path:
        """Where it is trained and written (:func:`model_path`)."""
        return model_path(self.model_name, self.train_set, self.profile, self.variant)


def wanted(model_name: str, train_set: str, profile: Profile | None = None, variant: Variant = PLAIN) -> Wanted:
    """The model ``get(model_name, train_set, profile, variant=variant)`` wants, with the config it must match."""
    if model_name not in MODEL_BUILDERS:
        raise ValueError(f"Unknown model {model_name!r}. Valid models: {', '.join(MODEL_BUILDERS)}.")
    if train_set not in data.SPECS:
        raise ValueError(f"Unknown data set {train_set!r}. Valid data sets: {', '.join(data.SPECS)}.")
    if variant.outliers_from and variant.outliers_from not in data.SPECS:
        raise ValueError(
            f"Unknown outlier data set {variant.outliers_from!r}. Valid data sets: {', '.join(data.SPECS)}."
        )
    if variant.input_independent_split_prior and model_name not in GLOW_MODELS:
        raise ValueError(
            f"input_independent_split_prior is a Glow option; {model_name!r} is not one of {', '.join(GLOW_MODELS)}."
        )
    profile = profile or get_profile()
    image_shape = data.SPECS[train_set].shape
    build, training_family = MODEL_BUILDERS[model_name]
    options = {"input_independent_split_prior": True} if variant.input_independent_split_prior else {}
    base_config = (
        profile.outlier_exposure_train if variant.outliers_from else profile.train(image_shape, training_family)
    )
    train_config = dataclasses.replace(base_config, seed=base_config.seed + variant.seed)
    if variant.no_lr_decay:
        train_config = dataclasses.replace(train_config, decay_fraction=0.0)
    with torch.random.fork_rng(devices=[]):  # the same initial weights every time, global RNG untouched
        torch.manual_seed(train_config.seed)
        model = build(profile, image_shape, **options)
    config = _zoo_config(model_name, model, train_set, train_config, variant)
    return Wanted(model_name, train_set, profile, variant, model, config, train_config)


def train_command(target: Wanted) -> str:
    """The shell command that trains ``target`` into the zoo (``ood_lib.training.train_model``)."""
    parts = [
        "python -m ood_lib.training.train_model",
        target.model_name,
        target.train_set,
        "--profile",
        target.profile.name,
    ]
    variant = target.variant
    parts += ["--seed", str(variant.seed)] if variant.seed else []
    parts += ["--perturbation-rate", f"{variant.perturbation_rate:g}"] if variant.perturbation_rate else []
    parts += ["--outliers-from", variant.outliers_from] if variant.outliers_from else []
    parts += ["--outlier-margin", f"{variant.outlier_margin:g}"] if variant.outlier_margin is not None else []
    parts += ["--bf16"] if variant.bf16 else []
    parts += ["--input-independent-split-prior"] if variant.input_independent_split_prior else []
    parts += ["--no-lr-decay"] if variant.no_lr_decay else []
    return " ".join(parts)


def _look_up(target: Wanted, device: torch.device) -> tuple[TrainedModel | None, list[Path]]:
    """The first file in the search directories whose config is the wanted one, loaded; and the stale ones seen.

    Reads only; a legacy pickle (``.pt``) where a model is expected is refused with what to do.
    """
    stale = []
    for directory in model_search_dirs():
        path = directory / target.profile.name / target.path.name
        legacy = path.with_suffix(".pt")
        if not path.exists() and legacy.exists():
            raise ModelFileError(
                f"{legacy} is a model file of the old pickle format, which is no longer read (it could run "
                "code). If you trust it, convert it: "
                f"`python -m ood_lib.training.model_files convert {legacy}`; else delete it."
            )
        if not path.exists():
            continue
        if read_record(path, MODEL_FORMAT).get("config") != target.config:
            stale.append(path)
            continue
        stored = load_model(path)
        target.model.load_state_dict(stored.state)
        model = target.model.to(device).eval()
        return TrainedModel(model, stored.config, stored.history, stored.train_seconds, path, from_cache=True), stale
    return None, stale


def train_mode() -> str:
    """``$OOD_TRAIN``: ``missing`` (train what is absent, the default) or ``never`` (absent is an error)."""
    mode = os.environ.get("OOD_TRAIN") or "missing"
    if mode not in TRAIN_MODES:
        raise ValueError(f"OOD_TRAIN={mode!r} is not one of: {', '.join(TRAIN_MODES)} (default: missing).")
    return mode


def _not_trained(target: Wanted, stale: list[Path]) -> ModelNotTrainedError:
    if stale:
        stored_config = read_record(stale[0], MODEL_FORMAT).get("config")
        differences = "; ".join(config_differences(stored_config, target.config)[:3])
        what = f"The model file {stale[0]} is stale for its configuration ({differences})"
    else:
        searched = ", ".join(str(directory / target.profile.name) for directory in model_search_dirs())
        what = f"The model file {target.path.name} is missing (looked in {searched})"
    return ModelNotTrainedError(
        f"{what}, and OOD_TRAIN=never forbids training it here. Train it with "
        f"`OOD_TRAIN=missing {train_command(target)}` (or set OOD_TRAIN=missing to let the zoo train it), "
        "or receive it from a model archive: "
        "`python -m ood_lib.training.model_archive unpack ARCHIVE`."
    )


def get(
    model_name: str,
    train_set: str,
    profile: Profile | None = None,
    *,
    variant: Variant = PLAIN,
    progress: bool = True,
) -> TrainedModel:
    """``model_name`` trained on ``train_set``'s training split at ``profile``'s size (default: current profile).

    Loads the first file in ``model_write_dir()``, then ``model_dir()``, whose configuration
    matches (reading only, so a read-only shared directory works), else trains it into
    ``model_write_dir()`` (resuming an interrupted run) and caches it. While one process
    trains a model, others asking for it wait for it (a lock file beside the model) and then
    load it. Raises ``ModelNotTrainedError`` under ``OOD_TRAIN=never`` instead of training,
    ``TrainingDataUnavailableError`` if training is needed and the training data cannot be
    loaded, ``ModelDirNotWritableError`` if the model cannot be written, and
    ``CorruptModelFileError`` for a file that is not a data-only model file (never running it).

    ``variant`` (see :class:`Variant`): ``seed`` changes the initial weights and every
    training random stream; ``perturbation_rate`` trains on perturbed inputs; ``outliers_from``
    starts from the plain model of the same seed and fine-tunes it for the profile's
    ``outlier_exposure_train`` budget with the outlier-exposure margin loss (margin
    ``outlier_margin`` bits per dimension, default ``OUTLIER_MARGIN_BPD``); its history then
    also holds ``outlier_active_fraction`` (``ood_lib.training.engine.train``).
    """
    target = wanted(model_name, train_set, profile, variant)
    device = get_device()
    found, stale = _look_up(target, device)
    if found is not None:
        return found
    if train_mode() == "never":
        raise _not_trained(target, stale)
    with one_trainer(target.path):
        found, _ = _look_up(target, device)  # trained by the process this one waited for
        return found or _train_and_save(target, device, progress)


def _train_and_save(target: Wanted, device: torch.device, progress: bool) -> TrainedModel:
    """Train ``target`` (resuming its checkpoint), write it to ``target.path`` (rank 0), return it."""
    model, train_config, variant, path = target.model, target.train_config, target.variant, target.path
    x_train, eval_sets = _load_training_data(
        target.train_set, target.model_name, train_config.n_train, train_config.seed
    )
    outliers = None
    if variant.outliers_from:
        base = get(
            target.model_name, target.train_set, target.profile, variant=Variant(seed=variant.seed), progress=progress
        )
        model.load_state_dict(base.model.state_dict())
        image_shape = data.SPECS[target.train_set].shape
        height, width, channels = image_shape
        outlier_images = data.as_shape(data.load(variant.outliers_from, "train")[0], image_shape)
        outliers = OutlierExposure(
            data.to_tensor(outlier_images),
            f"{variant.outliers_from} train as {height}x{width}x{channels}",
            variant.margin_bpd,
            OUTLIER_WEIGHT,
        )
    checkpoint_path = path.with_suffix(".ckpt.safetensors")
    stored_run = read_run_config(checkpoint_path)
    wanted_run = run_config(model, x_train, train_config, eval_sets, variant.perturbation_rate, outliers, variant.bf16)
    if stored_run is not None and stored_run != wanted_run:
        checkpoint_path.unlink()  # a checkpoint of an outdated configuration
    history = train(
        model,
        x_train,
        train_config,
        checkpoint_path,
        eval_sets=eval_sets,
        device=device,
        progress=progress,
        perturbation_rate=variant.perturbation_rate,
        outliers=outliers,
        bf16=variant.bf16,
    )

    rank, world_size = distributed_rank_and_size()
    if rank == 0:  # under torchrun, rank 0 alone holds the history and writes the files
        provenance = provenance_now(history["device"])
        save_model(path, StoredModel(model.state_dict(), target.config, history, history["wall_time_s"], provenance))
        checkpoint_path.unlink(missing_ok=True)
    if world_size > 1:
        torch.distributed.barrier()
        if rank != 0:
            history = load_model(path).history
    return TrainedModel(model.eval(), target.config, history, history["wall_time_s"], path, from_cache=False)
