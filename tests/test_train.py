"""The training engine: learning, warmup, evaluation history, NaN guard, exact resumption."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from ood_lib.models.flows import Glow
from ood_lib.settings.profiles import TrainConfig
from ood_lib.training.engine import CheckpointMismatchError, TrainingDivergedError, learning_rate, train
from ood_lib.training.evaluation import PER_IMAGE_KEY
from ood_lib.training.model_files import load_checkpoint
from ood_lib.training.perturbation import perturb_pixels
from ood_lib.training.run_config import read_run_config, run_config, train_identity
from ood_lib.training.schedule import make_optimizer
from ood_lib.training.streams import batch_indices

CPU = torch.device("cpu")


class DiagonalGaussian(nn.Module):
    """Smallest model with the book's model API: an independent Gaussian per pixel on (x + u) / 256.

    With ``data_init`` the first forward in training mode sets the means to that
    batch's pixel means, like Glow's ActNorm. ``first_batch`` keeps that batch.
    """

    def __init__(self, image_shape: tuple[int, int, int], data_init: bool = True):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.data_init = data_init
        self.mean = nn.Parameter(torch.full(self.image_shape, 0.5))
        self.log_scale = nn.Parameter(torch.zeros(self.image_shape))
        self.register_buffer("initialized", torch.tensor(not data_init))
        self.first_batch: torch.Tensor | None = None

    @property
    def config(self) -> dict:
        return {"image_shape": list(self.image_shape), "data_init": self.data_init}

    def bits_per_dim(self, x_uint8: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.rand(x_uint8.shape, generator=generator, device=x_uint8.device)
        y = (x_uint8.float() + noise) / 256
        if self.training and not bool(self.initialized):
            with torch.no_grad():
                self.mean.copy_(y.mean(0))
                self.initialized.fill_(True)
            self.first_batch = x_uint8.clone()
        log_density = torch.distributions.Normal(self.mean, self.log_scale.exp()).log_prob(y).flatten(1).sum(1)
        dims = y[0].numel()
        return (-log_density + dims * math.log(256)) / (dims * math.log(2))


def structured_images(n: int, seed: int, shape: tuple[int, int, int] = (1, 6, 6)) -> torch.Tensor:
    """uint8 images whose pixels scatter (std 10) around fixed per-pixel means: learnable by DiagonalGaussian."""
    generator = torch.Generator().manual_seed(seed)
    pixel_means = torch.linspace(50, 200, math.prod(shape)).reshape(shape)
    pixels = pixel_means + 10 * torch.randn((n, *shape), generator=generator)
    return pixels.round().clamp(0, 255).to(torch.uint8)


def small_config(**changes) -> TrainConfig:
    config = TrainConfig(
        n_steps=12,
        batch_size=16,
        lr=0.05,
        warmup_steps=3,
        grad_clip=50.0,
        eval_every=3,
        checkpoint_every=4,
        n_train=None,
        n_eval=40,
        seed=7,
    )
    return dataclasses.replace(config, **changes)


def interrupt_at_update(model: DiagonalGaussian, update: int, error: BaseException) -> None:
    """Make the forward of training update ``update`` (0-based, counting only gradient passes) raise ``error``."""
    forward = model.bits_per_dim
    gradient_passes = 0

    def failing_forward(x_uint8: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        nonlocal gradient_passes
        if torch.is_grad_enabled():
            if gradient_passes == update:
                raise error
            gradient_passes += 1
        return forward(x_uint8, generator)

    model.bits_per_dim = failing_forward


def nan_at_update(model: DiagonalGaussian, update: int) -> None:
    """Make training update ``update`` see a NaN loss."""
    forward = model.bits_per_dim
    gradient_passes = 0

    def nan_forward(x_uint8: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        nonlocal gradient_passes
        bpd = forward(x_uint8, generator)
        if torch.is_grad_enabled():
            gradient_passes += 1
            if gradient_passes - 1 == update:
                return bpd * float("nan")
        return bpd

    model.bits_per_dim = nan_forward


def test_loss_goes_down_on_learnable_data(tmp_path: Path) -> None:
    x_train = structured_images(256, seed=0)
    history = train(
        DiagonalGaussian((1, 6, 6)),
        x_train,
        small_config(n_steps=60, eval_every=20),
        tmp_path / "run.pt",
        device=CPU,
        progress=False,
    )
    assert history["train_loss"][-1] < history["train_loss"][0] - 2.0
    assert history["eval"]["train"][-1] < history["eval"]["train"][0] - 2.0


def test_first_forward_initialises_on_a_real_training_batch(tmp_path: Path) -> None:
    x_train = structured_images(64, seed=1)
    config = small_config(n_steps=2)
    model = DiagonalGaussian((1, 6, 6))
    train(model, x_train, config, tmp_path / "run.pt", device=CPU, progress=False)
    expected = x_train[batch_indices(0, len(x_train), config.batch_size, config.seed)]
    assert torch.equal(model.first_batch, expected)


def test_batches_cover_each_epoch_once_and_differ_between_epochs() -> None:
    n_examples, batch_size, seed = 50, 8, 3
    batches_per_epoch = n_examples // batch_size
    epoch0 = torch.cat([batch_indices(step, n_examples, batch_size, seed) for step in range(batches_per_epoch)])
    epoch1 = torch.cat(
        [batch_indices(step, n_examples, batch_size, seed) for step in range(batches_per_epoch, 2 * batches_per_epoch)]
    )
    assert len(set(epoch0.tolist())) == batches_per_epoch * batch_size
    assert not torch.equal(epoch0, epoch1)
    assert torch.equal(batch_indices(9, n_examples, batch_size, seed), batch_indices(9, n_examples, batch_size, seed))


def test_warmup_schedule_values() -> None:
    config = small_config(lr=1e-3, warmup_steps=4)
    assert [learning_rate(step, config) for step in range(6)] == pytest.approx(
        [0.25e-3, 0.5e-3, 0.75e-3, 1e-3, 1e-3, 1e-3]
    )
    assert learning_rate(0, small_config(lr=1e-3, warmup_steps=0)) == 1e-3


def test_decay_schedule_falls_linearly_to_zero_over_the_last_fraction() -> None:
    config = small_config(lr=1e-3, warmup_steps=2, n_steps=10, decay_fraction=0.4)
    assert [learning_rate(step, config) for step in range(10)] == pytest.approx(
        [0.5e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 0.75e-3, 0.5e-3, 0.25e-3]
    )
    assert learning_rate(9, small_config(lr=1e-3, n_steps=10)) == 1e-3, "no decay unless asked for"


def test_first_update_uses_the_warmed_up_learning_rate(tmp_path: Path) -> None:
    # Adamax's first update moves every parameter with a nonzero gradient by exactly lr * sign(grad).
    model = DiagonalGaussian((1, 6, 6), data_init=False)
    before = torch.cat([parameter.detach().clone().flatten() for parameter in model.parameters()])
    config = small_config(n_steps=1, lr=0.01, warmup_steps=4)
    train(model, structured_images(64, seed=2), config, tmp_path / "run.pt", device=CPU, progress=False)
    after = torch.cat([parameter.detach().flatten() for parameter in model.parameters()])
    assert (after - before).abs() == pytest.approx(torch.full_like(before, 0.01 / 4), rel=1e-4)


def test_history_has_every_eval_set_at_every_eval_step(tmp_path: Path) -> None:
    x_train = structured_images(128, seed=3)
    eval_sets = {"test": structured_images(100, seed=4), "ood": torch.full((30, 1, 6, 6), 128, dtype=torch.uint8)}
    model = DiagonalGaussian((1, 6, 6))
    eval_batch_sizes = []
    forward = model.bits_per_dim

    def recording_forward(x_uint8: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not model.training:
            eval_batch_sizes.append(len(x_uint8))
        return forward(x_uint8, generator)

    model.bits_per_dim = recording_forward
    history = train(
        model,
        x_train,
        small_config(n_steps=10, eval_every=4, n_eval=40),
        tmp_path / "run.pt",
        eval_sets=eval_sets,
        device=CPU,
        progress=False,
    )
    assert history["step"] == [0, 4, 8, 10]
    assert set(history["eval"]) == {"train", "test", "ood"}
    for values in [history["train_loss"], history["lr"], *history["eval"].values()]:
        assert len(values) == 4 and all(math.isfinite(value) for value in values)
    # At most n_eval examples of each set: 40 train, 40 test, all 30 constant images.
    assert sorted(eval_batch_sizes) == sorted([40, 40, 30] * 4)
    assert history["wall_time_s"] > 0


def test_nan_loss_raises_with_step_and_keeps_last_good_checkpoint(tmp_path: Path) -> None:
    checkpoint_path = tmp_path / "run.pt"
    model = DiagonalGaussian((1, 6, 6))
    nan_at_update(model, 6)
    with pytest.raises(TrainingDivergedError) as caught:
        train(model, structured_images(128, seed=5), small_config(), checkpoint_path, device=CPU, progress=False)
    error = caught.value
    assert error.step == 6 and error.checkpoint_path == checkpoint_path and error.checkpoint_step == 4
    assert "step 6" in str(error) and str(checkpoint_path) in str(error)
    stored = load_checkpoint(checkpoint_path)
    assert stored["step"] == 4
    assert all(torch.isfinite(value).all() for value in stored["model_state"].values())


def test_nan_before_any_checkpoint_says_there_is_none(tmp_path: Path) -> None:
    model = DiagonalGaussian((1, 6, 6))
    nan_at_update(model, 1)
    with pytest.raises(TrainingDivergedError, match="No checkpoint") as caught:
        train(model, structured_images(64, seed=6), small_config(), tmp_path / "run.pt", device=CPU, progress=False)
    assert caught.value.checkpoint_path is None
    assert not (tmp_path / "run.pt").exists()


def test_interrupted_run_resumes_to_the_same_result(tmp_path: Path) -> None:
    x_train = structured_images(100, seed=8)
    eval_sets = {"test": structured_images(50, seed=9)}
    config = small_config()  # 12 steps, checkpoints at 4, 8, 12; evaluations every 3 steps

    torch.manual_seed(0)
    straight = DiagonalGaussian((1, 6, 6))
    straight_history = train(
        straight, x_train, config, tmp_path / "straight.pt", eval_sets=eval_sets, device=CPU, progress=False
    )

    interrupted = DiagonalGaussian((1, 6, 6))
    interrupt_at_update(interrupted, config.n_steps // 2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, x_train, config, tmp_path / "resumed.pt", eval_sets=eval_sets, device=CPU, progress=False)
    assert load_checkpoint(tmp_path / "resumed.pt")["step"] == 4

    resumed = DiagonalGaussian((1, 6, 6))
    torch.nn.init.normal_(resumed.mean)  # whatever it starts from, the checkpoint overrides it
    resumed_history = train(
        resumed, x_train, config, tmp_path / "resumed.pt", eval_sets=eval_sets, device=CPU, progress=False
    )

    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    straight_history.pop("wall_time_s")
    resumed_history.pop("wall_time_s")
    assert resumed_history == straight_history


def test_finished_run_is_not_trained_again(tmp_path: Path) -> None:
    x_train = structured_images(64, seed=10)
    config = small_config(n_steps=4)
    first = DiagonalGaussian((1, 6, 6))
    history = train(first, x_train, config, tmp_path / "run.pt", device=CPU, progress=False)
    second = DiagonalGaussian((1, 6, 6))
    interrupt_at_update(second, 0, AssertionError("a finished run must not take another update"))
    assert train(second, x_train, config, tmp_path / "run.pt", device=CPU, progress=False) == history
    assert torch.equal(second.mean, first.mean)


def test_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    x_train = structured_images(64, seed=11)
    train(
        DiagonalGaussian((1, 6, 6)), x_train, small_config(n_steps=4), tmp_path / "run.pt", device=CPU, progress=False
    )
    stored = read_run_config(tmp_path / "run.pt")
    assert stored["train"]["n_steps"] == 4 and stored["model_class"] == "DiagonalGaussian"
    with pytest.raises(CheckpointMismatchError):
        train(
            DiagonalGaussian((1, 6, 6)),
            x_train,
            small_config(n_steps=4, lr=0.01),
            tmp_path / "run.pt",
            device=CPU,
            progress=False,
        )
    with pytest.raises(CheckpointMismatchError):
        train(
            DiagonalGaussian((1, 6, 6)),
            structured_images(64, seed=12),
            small_config(n_steps=4),
            tmp_path / "run.pt",
            device=CPU,
            progress=False,
        )
    with pytest.raises(CheckpointMismatchError):
        train(
            DiagonalGaussian((1, 6, 6)),
            x_train,
            small_config(n_steps=4),
            tmp_path / "run.pt",
            eval_sets={"test": structured_images(20, seed=13)},
            device=CPU,
            progress=False,
        )


def test_perturb_pixels_replaces_about_the_given_fraction_with_uniform_values() -> None:
    x_uint8 = torch.full((200, 1, 28, 28), 7, dtype=torch.uint8)
    assert torch.equal(perturb_pixels(x_uint8, 0.0, torch.Generator().manual_seed(0)), x_uint8)
    perturbed = perturb_pixels(x_uint8, 0.3, torch.Generator().manual_seed(0))
    changed = (perturbed != x_uint8).float().mean().item()
    assert abs(changed - 0.3 * 255 / 256) < 0.01
    assert perturbed[perturbed != 7].float().mean().item() == pytest.approx(127.5, abs=2.0)
    assert torch.equal(x_uint8, torch.full_like(x_uint8, 7)), "the caller's images are not modified"
    with pytest.raises(ValueError, match="rate"):
        perturb_pixels(x_uint8, 1.5)


def test_bf16_autocast_training_reaches_the_same_bpd_within_0_01_on_a_small_glow(tmp_path: Path) -> None:
    config = small_config(n_steps=30, lr=2e-3, warmup_steps=2, eval_every=30, checkpoint_every=30, n_eval=64, seed=0)
    images = torch.randint(0, 256, (256, 1, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    final = {}
    for bf16 in (False, True):
        torch.manual_seed(0)
        model = Glow((1, 8, 8), levels=2, steps=2, hidden=16)
        history = train(model, images, config, tmp_path / f"{bf16}.pt", device=CPU, progress=False, bf16=bf16)
        final[bf16] = history["eval"]["train"][-1]
    assert final[True] == pytest.approx(final[False], abs=0.01)
    assert final[True] < history["eval"]["train"][0] - 0.02, "training under autocast must still make progress"
    assert run_config(model, images, config, bf16=True)["bf16"] is True


def test_the_optimiser_and_weight_decay_come_from_the_config_and_old_identities_stay() -> None:
    model = DiagonalGaussian((1, 6, 6))
    default = small_config()
    assert isinstance(make_optimizer(model, default), torch.optim.Adamax)
    assert "optimizer" not in train_identity(default) and "weight_decay" not in train_identity(default)
    adam = dataclasses.replace(default, optimizer="adam", weight_decay=10.0)
    optimizer = make_optimizer(model, adam)
    assert isinstance(optimizer, torch.optim.Adam) and optimizer.param_groups[0]["weight_decay"] == 10.0
    assert train_identity(adam)["optimizer"] == "adam" and train_identity(adam)["weight_decay"] == 10.0
    with pytest.raises(ValueError, match="optimizer must be one of adamax, adam"):
        make_optimizer(model, dataclasses.replace(default, optimizer="sgd"))
    with pytest.raises(ValueError, match="weight_decay must be a non-negative"):
        make_optimizer(model, dataclasses.replace(default, weight_decay=-1.0))


def test_per_image_evaluation_pairs_the_same_images_under_the_same_noise_in_two_runs(tmp_path: Path) -> None:
    """``per_image_eval``: per-image BPDs whose means are the recorded means; two runs with one seed (a
    likelihood ratio's two models) evaluate the same images under the same noise, so their lists pair up."""
    x_train = structured_images(128, seed=3)
    eval_sets = {"test": structured_images(100, seed=4), "ood": torch.full((30, 1, 6, 6), 128, dtype=torch.uint8)}
    config = small_config(n_steps=8, eval_every=4, n_eval=40, per_image_eval=True)
    history = train(DiagonalGaussian((1, 6, 6)), x_train, config, tmp_path / "a.pt", eval_sets, CPU, False)
    per_image = history[PER_IMAGE_KEY]
    assert set(per_image) == {"train", "test", "ood"}
    for name, lists in per_image.items():
        assert [len(values) for values in lists] == [30 if name == "ood" else 40] * 3
        for values, mean in zip(lists, history["eval"][name], strict=True):
            assert abs(sum(values) / len(values) - mean) < 1e-4  # rounded to PER_IMAGE_DECIMALS

    # A second run with the same seed that stops at update 0 (as a background model would start): its first
    # evaluation repeats the first run's image for image, so the images and their noise are the same ones.
    other = train(
        DiagonalGaussian((1, 6, 6)),
        x_train,
        dataclasses.replace(config, n_steps=0),
        tmp_path / "b.pt",
        eval_sets,
        CPU,
        False,
    )
    assert [lists[0] for lists in other[PER_IMAGE_KEY].values()] == [lists[0] for lists in per_image.values()]
    assert len(set(per_image["ood"][0])) > 1, "identical constant images differ by their (fixed) noise alone"

    plain = train(
        DiagonalGaussian((1, 6, 6)), x_train, small_config(n_steps=4), tmp_path / "c.pt", eval_sets, CPU, False
    )
    assert PER_IMAGE_KEY not in plain and "per_image_eval" not in train_identity(small_config())
    assert train_identity(config)["per_image_eval"] is True


def test_betas_and_an_exponential_decay_reach_the_optimiser_and_identities_stay_without_them() -> None:
    """Ren et al.'s optimiser: Adam betas (0.95, 0.9995) and the rate times 0.999995 at every update."""
    model = DiagonalGaussian((1, 6, 6))
    default = small_config()
    assert "betas" not in train_identity(default) and "lr_decay_per_step" not in train_identity(default)
    assert make_optimizer(model, default).param_groups[0]["betas"] == (0.9, 0.999)
    reference = dataclasses.replace(default, optimizer="adam", betas=(0.95, 0.9995), lr_decay_per_step=0.5)
    assert make_optimizer(model, reference).param_groups[0]["betas"] == (0.95, 0.9995)
    assert (
        train_identity(reference)["betas"] == (0.95, 0.9995) and train_identity(reference)["lr_decay_per_step"] == 0.5
    )
    for step in (5, 7):  # after the warmup (3 updates): lr * 0.5 ** step
        assert learning_rate(step, reference) == pytest.approx(default.lr * 0.5**step)
    with pytest.raises(ValueError, match="lr_decay_per_step must lie in"):
        make_optimizer(model, dataclasses.replace(default, lr_decay_per_step=0.0))
