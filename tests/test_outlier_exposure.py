"""Outlier exposure in the engine: the share of active hinge pairs, its history entry, exact resumption."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_train import CPU, DiagonalGaussian, interrupt_at_update, small_config, structured_images

from ood_lib.training import streams
from ood_lib.training.engine import ACTIVE_FRACTION_KEY, _TrainingRun, train
from ood_lib.training.model_files import load_checkpoint
from ood_lib.training.outlier_exposure import OutlierExposure
from ood_lib.training.streams import batch_indices, seeded_generator


def exposure(margin: float, n: int = 80, seed: int = 21) -> OutlierExposure:
    """Outliers of the same shape as ``structured_images``, but uniform pixels (far less likely under the model)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 6, 6), generator=generator, dtype=torch.uint8)
    return OutlierExposure(images, "uniform noise 6x6x1", margin=margin)


def test_active_fraction_counts_pairs_whose_margin_is_not_yet_met() -> None:
    inlier = torch.tensor([2.0, 2.0, 2.0, 2.0])
    far = OutlierExposure(torch.zeros(1, 1, 1, 1, dtype=torch.uint8), "none", margin=1.0)
    assert far.active_fraction(inlier, torch.tensor([5.0, 6.0, 7.0, 8.0])) == 0.0  # every outlier 3+ BPD above
    assert far.active_fraction(inlier, torch.tensor([1.0, 2.0, 2.5, 2.9])) == 1.0  # every one within the margin
    assert far.active_fraction(inlier, torch.tensor([1.0, 2.5, 4.0, 9.0])) == 0.5  # exactly half
    # on the margin itself the hinge is 0 and gives no gradient: not active
    assert far.active_fraction(inlier, torch.tensor([3.0, 3.0, 0.0, 0.0])) == 0.5
    zero = OutlierExposure(far.images, "none", margin=0.0)
    assert zero.active_fraction(inlier, torch.tensor([1.9, 2.1, 1.0, 3.0])) == 0.5
    # the pairs with a positive hinge are the active ones
    generator = torch.Generator().manual_seed(3)
    a, b = torch.randn(1000, generator=generator), torch.randn(1000, generator=generator)
    assert far.active_fraction(a, b) == (far.hinge(a, b) > 0).double().mean().item()
    with pytest.raises(ValueError, match="equal batches"):
        far.active_fraction(inlier, torch.tensor([1.0, 2.0]))


def test_history_records_the_active_fraction_at_every_evaluation(tmp_path: Path) -> None:
    x_train = structured_images(100, seed=8)
    config = small_config()  # 12 steps, evaluations at 0, 3, 6, 9, 12

    def train_with_margin(margin: float, name: str) -> dict:
        return train(
            DiagonalGaussian((1, 6, 6)),
            x_train,
            config,
            tmp_path / name,
            device=CPU,
            progress=False,
            outliers=exposure(margin=margin),
        )

    history = train_with_margin(2.0, "oe.pt")
    fractions = history[ACTIVE_FRACTION_KEY]
    assert history["step"] == [0, 3, 6, 9, 12] and len(fractions) == len(history["train_loss"])
    assert all(isinstance(value, float) and 0.0 <= value <= 1.0 for value in fractions), fractions

    # at step 0: the first inlier and outlier batches under the initial model, by hand
    initial = DiagonalGaussian((1, 6, 6))
    with torch.no_grad():
        first_inliers = initial.bits_per_dim(
            x_train[batch_indices(0, len(x_train), config.batch_size, config.seed)],
            seeded_generator(CPU, config.seed, streams.NOISE_STREAM, 0),
        )
        outliers = exposure(margin=2.0)
        first_outliers = initial.bits_per_dim(
            outliers.images[batch_indices(0, len(outliers.images), config.batch_size, config.seed + 1)],
            seeded_generator(CPU, config.seed, streams.OUTLIER_STREAM, 0),
        )
    assert fractions[0] == outliers.active_fraction(first_inliers, first_outliers)

    huge = train_with_margin(1000.0, "huge.pt")
    assert huge[ACTIVE_FRACTION_KEY] == [1.0] * len(huge["step"]), "no outlier sits 1000 BPD above an inlier"

    plain = train(DiagonalGaussian((1, 6, 6)), x_train, config, tmp_path / "plain.pt", device=CPU, progress=False)
    assert ACTIVE_FRACTION_KEY not in plain, "runs without outliers keep their history as it was"


def test_looking_at_the_first_outlier_batch_changes_no_update(tmp_path: Path, monkeypatch) -> None:
    """The step-0 entry's extra forward pass leaves torch's global RNG (dropout's) as a run that did not look."""
    x_train = structured_images(100, seed=8)
    config = small_config(n_steps=6)

    def noisy_model() -> DiagonalGaussian:  # its loss draws from the global RNG, as dropout does
        model = DiagonalGaussian((1, 6, 6))
        forward = model.bits_per_dim
        model.bits_per_dim = lambda x, generator=None: forward(x, generator) + 0.1 * torch.rand(len(x))
        return model

    looked = noisy_model()
    looked_history = train(looked, x_train, config, tmp_path / "a.pt", device=CPU, progress=False, outliers=exposure(2))
    monkeypatch.setattr(_TrainingRun, "_first_active_fraction", lambda self, first_bpd: -1.0)
    blind = noisy_model()
    blind_history = train(blind, x_train, config, tmp_path / "b.pt", device=CPU, progress=False, outliers=exposure(2))
    assert blind_history[ACTIVE_FRACTION_KEY][0] == -1.0 and 0 <= looked_history[ACTIVE_FRACTION_KEY][0] <= 1
    for history in (looked_history, blind_history):
        history.pop("wall_time_s")
        history[ACTIVE_FRACTION_KEY].pop(0)
    assert looked_history == blind_history
    for name, value in looked.state_dict().items():
        assert torch.equal(value, blind.state_dict()[name]), name


def test_interrupted_outlier_exposure_run_resumes_to_the_same_history(tmp_path: Path) -> None:
    x_train = structured_images(100, seed=8)
    eval_sets = {"test": structured_images(50, seed=9)}
    config = small_config()  # checkpoints at 4, 8, 12; evaluations every 3 steps: step 4's checkpoint holds a share
    runs = {}

    def run(model: DiagonalGaussian, name: str) -> dict:
        return train(
            model,
            x_train,
            config,
            tmp_path / f"{name}.pt",
            eval_sets=eval_sets,
            device=CPU,
            progress=False,
            outliers=exposure(margin=2.0),
        )

    for name, interrupt in (("straight", None), ("resumed", config.n_steps // 2)):
        model = DiagonalGaussian((1, 6, 6))
        if interrupt is not None:
            interrupt_at_update(model, 2 * interrupt, KeyboardInterrupt())  # two gradient passes per update
            with pytest.raises(KeyboardInterrupt):
                run(model, name)
            checkpoint = load_checkpoint(tmp_path / f"{name}.pt")
            assert checkpoint["step"] == 4 and len(checkpoint["outlier_active_since_eval"]) == 1
            model = DiagonalGaussian((1, 6, 6))
            torch.nn.init.normal_(model.mean)  # the checkpoint overrides it
        history = run(model, name)
        history.pop("wall_time_s")
        runs[name] = (model, history)
    (straight, straight_history), (resumed, resumed_history) = runs["straight"], runs["resumed"]
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert resumed_history == straight_history
    assert len(straight_history[ACTIVE_FRACTION_KEY]) == len(straight_history["step"]) == 5
