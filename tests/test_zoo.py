"""The model zoo: trains once, serves from the cache, retrains on a new config, resumes, loads on CPU."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from test_train import DiagonalGaussian, interrupt_at_update

from ood_lib import data
from ood_lib.models.flows import Glow
from ood_lib.models.gated_pixelcnn import GatedPixelCNN
from ood_lib.models.pixelcnn import PixelCNN
from ood_lib.models.vae import VAE
from ood_lib.settings.profiles import PROFILES, GlowConfig, Profile, TrainConfig
from ood_lib.training import model_files, zoo

TINY_TRAIN = TrainConfig(
    n_steps=4,
    batch_size=16,
    lr=1e-3,
    warmup_steps=2,
    grad_clip=50.0,
    eval_every=2,
    checkpoint_every=2,
    n_train=64,
    n_eval=24,
    seed=0,
)
TINY_GLOW = GlowConfig(levels=2, steps=1, hidden=8)


def tiny_profile(**train_changes) -> Profile:
    """A profile small enough for unit tests; ``train_changes`` edit its training config."""
    train_config = dataclasses.replace(TINY_TRAIN, **train_changes)
    return dataclasses.replace(
        PROFILES["smoke"],
        name="tiny",
        description="unit tests",
        n_eval=24,
        glow_small=TINY_GLOW,
        glow_large=TINY_GLOW,
        train_small=train_config,
        train_large=train_config,
        pixelcnn_small={"hidden": 4, "layers": 1},
        vae_small={"latent_dim": 2, "hidden": 4},
        baseline_train_small=dataclasses.replace(train_config, n_steps=2, eval_every=1),
        gated_pixelcnn={"filters": 4, "blocks": 1, "components": 1},
        gated_pixelcnn_train=dataclasses.replace(train_config, n_steps=3, eval_every=1),
    )


def serve_fake_datasets(setattr_: Callable[[object, str, object], None]) -> dict[tuple[str, str], np.ndarray]:
    """Small 28x28x1 stand-ins for FashionMNIST and MNIST, served by ``data.load`` (set with ``setattr_``)."""
    rng = np.random.default_rng(0)
    datasets = {
        ("fashion_mnist", "train"): rng.integers(0, 256, (96, 28, 28, 1), dtype=np.uint8),
        ("fashion_mnist", "test"): rng.integers(0, 256, (40, 28, 28, 1), dtype=np.uint8),
        ("mnist", "test"): (rng.random((40, 28, 28, 1)) < 0.2).astype(np.uint8) * 255,
    }
    setattr_(data, "load", lambda name, split: (datasets[name, split], np.zeros(96, dtype=np.int64)))
    setattr_(data, "is_available", lambda name: any(name == stored for stored, _ in datasets))
    return datasets


@pytest.fixture
def fake_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], np.ndarray]:
    """The stand-ins of :func:`serve_fake_datasets`; models go to tmp_path."""
    monkeypatch.setenv("OOD_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("OOD_MODEL_WRITE_DIR", raising=False)
    monkeypatch.delenv("OOD_TRAIN", raising=False)
    monkeypatch.setenv("OOD_DEVICE", "cpu")
    return serve_fake_datasets(monkeypatch.setattr)


@pytest.fixture
def training_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Counts the zoo's calls of the training engine (one entry per call, with its config)."""
    runs = []
    engine = zoo.train

    def counting_train(model, x_train, config, checkpoint_path, **kwargs):
        runs.append({"config": config, "checkpoint_path": checkpoint_path})
        return engine(model, x_train, config, checkpoint_path, **kwargs)

    monkeypatch.setattr(zoo, "train", counting_train)
    return runs


def register_toy_model(monkeypatch: pytest.MonkeyPatch, interrupt_update: int | None = None) -> None:
    """Register ``toy``, a DiagonalGaussian; optionally interrupted (KeyboardInterrupt) at a training update."""

    def build(profile: Profile, image_shape_hwc: tuple[int, int, int]) -> DiagonalGaussian:
        height, width, channels = image_shape_hwc
        model = DiagonalGaussian((channels, height, width))
        if interrupt_update is not None:
            interrupt_at_update(model, interrupt_update, KeyboardInterrupt())
        return model

    monkeypatch.setitem(zoo.MODEL_BUILDERS, "toy", (build, "glow"))


def test_glow_is_trained_once_then_served_from_cache(fake_datasets, training_runs) -> None:
    first = zoo.get("glow", "fashion_mnist", tiny_profile(), progress=False)
    assert first.path == zoo.model_path("glow", "fashion_mnist", tiny_profile())
    assert first.path.exists() and first.path.with_suffix(".json").exists()
    assert not first.path.with_suffix(".ckpt.safetensors").exists()
    assert isinstance(first.model, Glow) and not first.model.training
    assert first.model.coupling == "affine"
    assert first.history["step"] == [0, 2, 4]
    assert set(first.history["eval"]) == {"train", "test", "mnist"}
    assert len(training_runs) == 1

    second = zoo.get("glow", "fashion_mnist", tiny_profile(), progress=False)
    assert len(training_runs) == 1
    assert second.history == first.history and second.config == first.config
    assert second.train_seconds == first.train_seconds > 0
    for name, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[name]), name
    assert json.loads(first.path.with_suffix(".json").read_text())["history"] == first.history
    assert not first.from_cache and second.from_cache
    assert first.provenance().startswith("trained now") and second.provenance().startswith(
        "loaded from the model cache"
    )
    assert "4 steps" in second.provenance() and "cpu (" in second.provenance()


def test_cv_glow_has_additive_coupling_and_its_own_file(fake_datasets, training_runs) -> None:
    trained = zoo.get("cv_glow", "fashion_mnist", tiny_profile(), progress=False)
    assert trained.model.coupling == "additive" and trained.config["model"]["coupling"] == "additive"
    assert trained.path.name == "cv_glow_fashion_mnist.safetensors"


def test_changed_config_retrains(fake_datasets, training_runs, monkeypatch) -> None:
    register_toy_model(monkeypatch)
    zoo.get("toy", "fashion_mnist", tiny_profile(), progress=False)
    changed = zoo.get("toy", "fashion_mnist", tiny_profile(lr=2e-3), progress=False)
    assert len(training_runs) == 2 and changed.config["train"]["lr"] == 2e-3
    zoo.get("toy", "fashion_mnist", tiny_profile(n_train=80), progress=False)
    assert len(training_runs) == 3
    zoo.get("toy", "fashion_mnist", tiny_profile(n_train=80), progress=False)
    assert len(training_runs) == 3


def test_ood_partner_appearing_on_disk_retrains_to_record_its_curve(fake_datasets, training_runs, monkeypatch) -> None:
    register_toy_model(monkeypatch)
    monkeypatch.setattr(data, "is_available", lambda name: name == "fashion_mnist")
    without_partner = zoo.get("toy", "fashion_mnist", tiny_profile(), progress=False)
    assert set(without_partner.history["eval"]) == {"train", "test"}
    monkeypatch.setattr(data, "is_available", lambda name: True)
    with_partner = zoo.get("toy", "fashion_mnist", tiny_profile(), progress=False)
    assert set(with_partner.history["eval"]) == {"train", "test", "mnist"} and len(training_runs) == 2


def test_saved_model_loads_on_cpu_and_rebuilds_from_its_config(fake_datasets, training_runs) -> None:
    trained = zoo.get("glow", "fashion_mnist", tiny_profile(), progress=False)
    stored = model_files.load_model(trained.path)
    assert all(value.device.type == "cpu" for value in stored.state.values())
    assert stored.provenance["torch"] == torch.__version__ and stored.provenance["device"].startswith("cpu")
    rebuilt = Glow(**stored.config["model"])
    rebuilt.load_state_dict(stored.state)
    rebuilt.eval()
    images = data.to_tensor(fake_datasets["mnist", "test"][:8])
    expected = trained.model.bits_per_dim(images, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(rebuilt.bits_per_dim(images, generator=torch.Generator().manual_seed(1)), expected)


def test_interrupted_training_resumes_to_the_uninterrupted_result(
    fake_datasets, training_runs, monkeypatch, tmp_path
) -> None:
    register_toy_model(monkeypatch, interrupt_update=3)
    with pytest.raises(KeyboardInterrupt):
        zoo.get("toy", "fashion_mnist", tiny_profile(), progress=False)
    checkpoint_path = zoo.model_path("toy", "fashion_mnist", tiny_profile()).with_suffix(".ckpt.safetensors")
    assert model_files.load_checkpoint(checkpoint_path)["step"] == 2

    register_toy_model(monkeypatch)
    resumed = zoo.get("toy", "fashion_mnist", tiny_profile(), progress=False)
    monkeypatch.setenv("OOD_MODEL_DIR", str(tmp_path / "uninterrupted"))
    straight = zoo.get("toy", "fashion_mnist", tiny_profile(), progress=False)
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert {k: v for k, v in resumed.history.items() if k != "wall_time_s"} == {
        k: v for k, v in straight.history.items() if k != "wall_time_s"
    }


def test_checkpoint_of_an_outdated_config_is_discarded(fake_datasets, training_runs, monkeypatch) -> None:
    register_toy_model(monkeypatch, interrupt_update=3)
    with pytest.raises(KeyboardInterrupt):
        zoo.get("toy", "fashion_mnist", tiny_profile(), progress=False)
    register_toy_model(monkeypatch)
    retrained = zoo.get("toy", "fashion_mnist", tiny_profile(lr=5e-3), progress=False)
    assert retrained.history["step"] == [0, 2, 4] and retrained.config["train"]["lr"] == 5e-3


def test_missing_training_data_raises_a_clear_error(isolated_data, offline, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OOD_MODEL_DIR", str(tmp_path / "models"))
    with pytest.raises(zoo.TrainingDataUnavailableError, match="'cifar10'") as caught:
        zoo.get("glow", "cifar10", tiny_profile(), progress=False)
    assert isinstance(caught.value.__cause__, data.DataNotFoundError)
    assert "could not be downloaded" in str(caught.value)


def test_unknown_names_are_rejected_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="glow, cv_glow"):
        zoo.get("realnvp", "mnist", tiny_profile())
    with pytest.raises(ValueError, match="fashion_mnist"):
        zoo.get("glow", "imagenet", tiny_profile())


@pytest.mark.parametrize(
    "model_name, model_class",
    [("pixelcnn", PixelCNN), ("vae", VAE), ("gated_pixelcnn", GatedPixelCNN), ("gated_pixelcnn_local", GatedPixelCNN)],
)
def test_other_families_use_their_architecture_and_budget(
    model_name: str, model_class: type, fake_datasets, training_runs
) -> None:
    profile = tiny_profile()
    trained = zoo.get(model_name, "fashion_mnist", profile, progress=False)
    assert isinstance(trained.model, model_class)
    expected = {"image_shape": [1, 28, 28], **profile.architecture(model_name, (28, 28, 1))}
    assert {key: trained.config["model"][key] for key in expected} == expected
    budget = profile.train((28, 28, 1), zoo.MODEL_BUILDERS[model_name][1])
    assert trained.history["step"] == list(range(budget.n_steps + 1))
    assert zoo.get(model_name, "fashion_mnist", profile, progress=False).path == trained.path
    assert len(training_runs) == 1


def test_a_truncated_model_file_gives_a_clear_error_naming_it(fake_datasets, training_runs) -> None:
    trained = zoo.get("glow", "fashion_mnist", tiny_profile(), progress=False)
    trained.path.write_bytes(trained.path.read_bytes()[:100])
    with pytest.raises(zoo.CorruptModelFileError, match="cannot be read") as error:
        zoo.get("glow", "fashion_mnist", tiny_profile(), progress=False)
    assert str(trained.path) in str(error.value) and "Delete it" in str(error.value)
    save_file({"something": torch.zeros(2)}, trained.path)
    with pytest.raises(zoo.CorruptModelFileError, match="without this book's record"):
        zoo.get("glow", "fashion_mnist", tiny_profile(), progress=False)


def test_seed_variant_is_a_separate_model_with_other_weights(fake_datasets, training_runs) -> None:
    profile = tiny_profile()
    plain = zoo.get("glow", "fashion_mnist", profile, progress=False)
    seeded = zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=1), progress=False)
    assert seeded.path.name == "glow_fashion_mnist_seed1.safetensors"
    assert plain.path.name == "glow_fashion_mnist.safetensors"
    assert seeded.config["train"]["seed"] == plain.config["train"]["seed"] + 1
    first_plain, first_seeded = (next(t.model.parameters()) for t in (plain, seeded))
    assert not torch.equal(first_plain, first_seeded)
    again = zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=1), progress=False)
    assert again.from_cache and len(training_runs) == 2


def test_perturbed_variant_trains_on_perturbed_inputs_and_records_the_rate(fake_datasets, training_runs) -> None:
    profile = tiny_profile()
    plain = zoo.get("pixelcnn", "fashion_mnist", profile, progress=False)
    background = zoo.get(
        "pixelcnn", "fashion_mnist", profile, variant=zoo.Variant(perturbation_rate=0.2), progress=False
    )
    assert background.path.name == "pixelcnn_fashion_mnist_perturbed0.2.safetensors"
    assert background.config["perturbation_rate"] == 0.2 and "perturbation_rate" not in plain.config
    first_plain, first_background = (next(t.model.parameters()) for t in (plain, background))
    assert not torch.equal(first_plain, first_background), "same seed, same data: only the perturbation differs"


def test_outlier_exposure_starts_from_the_plain_model_and_pushes_outliers_up(
    fake_datasets, training_runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    fake_datasets["cifar10_subset", "train"] = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    budget = dataclasses.replace(TINY_TRAIN, n_steps=40, lr=3e-3, eval_every=20, checkpoint_every=20)
    profile = dataclasses.replace(tiny_profile(), outlier_exposure_train=budget)
    plain = zoo.get("pixelcnn", "fashion_mnist", profile, progress=False)
    exposed = zoo.get("pixelcnn", "fashion_mnist", profile, variant=zoo.Variant(outliers_from="cifar10_subset"))
    assert exposed.path.name == "pixelcnn_fashion_mnist_oe-cifar10_subset.safetensors"
    assert exposed.config["outlier_exposure"]["outliers_from"] == "cifar10_subset"
    assert [run["config"].n_steps for run in training_runs] == [2, 40], "the plain model, then the fine-tuning"
    outliers = data.to_tensor(data.as_shape(fake_datasets["cifar10_subset", "train"], (28, 28, 1)))
    inliers = data.to_tensor(fake_datasets["fashion_mnist", "test"])

    def gap(model: torch.nn.Module) -> float:
        with torch.no_grad():
            generator = torch.Generator().manual_seed(0)
            return (
                model.bits_per_dim(outliers, generator).mean() - model.bits_per_dim(inliers, generator).mean()
            ).item()

    assert gap(exposed.model) > gap(plain.model) + 0.2, "the margin loss must raise the outliers' BPD over the inliers'"
