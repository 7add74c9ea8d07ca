"""ood_lib.training.kept: a small model is fitted once, then loaded; OOD_TRAIN=never refuses to fit."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ood_lib.training.kept import kept_path, trained_once
from ood_lib.training.zoo import ModelNotTrainedError


@pytest.fixture(autouse=True)
def _model_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OOD_MODEL_DIR", str(tmp_path))
    monkeypatch.delenv("OOD_MODEL_WRITE_DIR", raising=False)
    monkeypatch.delenv("OOD_TRAIN", raising=False)


def _fill(value: float):
    calls = []

    def fit(model: nn.Module) -> None:
        calls.append(value)
        with torch.no_grad():
            model.weight.fill_(value)

    return fit, calls


def test_fitted_once_then_loaded() -> None:
    fit, calls = _fill(3.0)
    first = trained_once("tiny", nn.Linear(2, 2), fit)
    assert calls == [3.0] and kept_path("tiny").exists()
    refit, recalls = _fill(5.0)
    second = trained_once("tiny", nn.Linear(2, 2), refit)
    assert recalls == [], "a kept model is loaded, not fitted again"
    assert torch.equal(second.weight, first.weight) and torch.equal(second.bias, first.bias)


def test_loads_into_a_float64_model() -> None:
    trained_once("tiny", nn.Linear(2, 2), _fill(2.0)[0])
    loaded = trained_once("tiny", nn.Linear(2, 2).double(), _fill(7.0)[0])
    assert loaded.weight.dtype == torch.float64 and torch.all(loaded.weight == 2.0)


def test_another_architecture_is_fitted_anew() -> None:
    trained_once("tiny", nn.Linear(2, 2), _fill(2.0)[0])
    fit, calls = _fill(4.0)
    trained_once("tiny", nn.Linear(3, 2), fit)
    assert calls == [4.0]


def test_never_refuses_to_fit(monkeypatch) -> None:
    monkeypatch.setenv("OOD_TRAIN", "never")
    fit, calls = _fill(1.0)
    with pytest.raises(ModelNotTrainedError, match="unset OOD_TRAIN"):
        trained_once("absent", nn.Linear(2, 2), fit)
    assert calls == []


def test_bad_name_is_refused() -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        kept_path("../escape")
