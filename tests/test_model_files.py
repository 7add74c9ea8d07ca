"""Data-only model files and checkpoints: exact round trips, and planted pickles refused without running."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from test_zoo import fake_datasets, tiny_profile, training_runs  # noqa: F401 (fixtures)

from ood_lib.training import model_files, zoo
from ood_lib.training.model_files import ModelFileError, StoredModel


class RunsCode:
    """Unpickling this object runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def plant(path: Path, marker: Path) -> None:
    """A torch.save file at ``path`` that looks like an old zoo file and runs code when unpickled."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"config": {}, "model_state": {"w": torch.zeros(1)}, "history": {}, "train_seconds": RunsCode(marker)}
    torch.save(payload, path)


def test_the_planted_pickle_does_run_code_when_unpickled(tmp_path: Path) -> None:
    plant(tmp_path / "evil.pt", tmp_path / "ran")
    torch.load(tmp_path / "evil.pt", weights_only=False)  # what the zoo did before: the plant is live
    assert (tmp_path / "ran").exists()


def test_a_planted_pickle_is_refused_naming_the_file_and_nothing_runs(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    profile = tiny_profile()
    model = zoo.model_path("glow", "fashion_mnist", profile)
    legacy = zoo.model_path("glow", "mnist", profile).with_suffix(".pt")
    for planted in (model, legacy, tmp_path / "checkpoint.safetensors"):
        plant(planted, marker)
    with pytest.raises(zoo.CorruptModelFileError, match="is a pickle file") as refused:
        zoo.get("glow", "fashion_mnist", profile, progress=False)
    assert str(model) in str(refused.value) and "refused unread" in str(refused.value)
    with pytest.raises(ModelFileError, match="convert") as refused_legacy:
        zoo.get("glow", "mnist", profile, progress=False)
    assert str(legacy) in str(refused_legacy.value)
    with pytest.raises(ModelFileError, match="is a pickle file"):
        model_files.load_checkpoint(tmp_path / "checkpoint.safetensors")
    with pytest.raises(ModelFileError, match="was not converted") as refused_conversion:
        model_files.convert_legacy(legacy)
    assert "WeightsUnpickler" in str(refused_conversion.value) or "weights_only" in str(refused_conversion.value)
    assert not marker.exists(), "no code of the planted files ran"
    assert not training_runs and not legacy.with_suffix(".safetensors").exists()


def test_model_files_round_trip_exactly_and_refuse_other_formats(tmp_path: Path) -> None:
    state = {"weight": torch.randn(3, 4), "initialized": torch.tensor(True), "scale": torch.tensor(2.5)}
    stored = StoredModel(state, {"model": {"a": 1}}, {"step": [0]}, 1.5, model_files.provenance_now("cpu"))
    model_files.save_model(tmp_path / "m.safetensors", stored)
    loaded = model_files.load_model(tmp_path / "m.safetensors")
    assert loaded.record() == stored.record() and loaded.provenance["torch"] == torch.__version__
    for name, value in state.items():
        assert torch.equal(loaded.state[name], value) and loaded.state[name].dtype == value.dtype, name
    with pytest.raises(ModelFileError, match="expected 'ood-textbook checkpoint 1'"):
        model_files.load_checkpoint(tmp_path / "m.safetensors")
    save_file({"x": torch.zeros(1)}, tmp_path / "foreign.safetensors")
    with pytest.raises(ModelFileError, match="without this book's record"):
        model_files.load_model(tmp_path / "foreign.safetensors")
    (tmp_path / "bytes.safetensors").write_bytes(pickle.dumps(RunsCode(tmp_path / "ran")))
    with pytest.raises(ModelFileError, match="is a pickle file"):
        model_files.load_model(tmp_path / "bytes.safetensors")
    assert not (tmp_path / "ran").exists()


def test_a_trusted_old_model_file_converts_to_the_same_tensors(tmp_path: Path) -> None:
    state = {"weight": torch.randn(5), "flag": torch.tensor(False)}
    old = {"config": {"model": {}}, "model_state": state, "history": {"device": "cpu (2 threads)"}, "train_seconds": 3}
    torch.save(old, tmp_path / "glow_mnist.pt")
    assert model_files.main(["convert", str(tmp_path / "glow_mnist.pt")]) == 0
    converted = model_files.load_model(tmp_path / "glow_mnist.safetensors")
    assert all(torch.equal(converted.state[name], value) for name, value in state.items())
    assert converted.provenance["converted_from"] == "glow_mnist.pt" and converted.train_seconds == 3.0
    assert (tmp_path / "glow_mnist.json").exists()
