"""The compiled training step (``TrainConfig.compile`` / ``OOD_COMPILE``): same numbers as eager,
exact resumption within compiled mode, eager fallback, and no effect on any model's identity.

Compilation is slow on a CPU, so the models are the smallest of each family and share their
input shapes: dynamo traces each family once per process and later models of the same shapes
reuse its graphs. By default the numerical tests compile with ``aot_eager`` (dynamo's graph
capture and the compiled forward/backward graphs, run by eager kernels: about 20 CPU seconds
for the file at one thread). ``OOD_INDUCTOR_TESTS=1`` adds the same tests with TorchInductor,
the backend the engine uses (generated C++ kernels): measured at about 290 CPU seconds with an
empty inductor cache and 18 with a warm one (``$TORCHINDUCTOR_CACHE_DIR``), so they are off in
``make unit-test``.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from pathlib import Path

import pytest
import torch

from ood_lib.models.flows import Glow
from ood_lib.models.pixelcnn import PixelCNN
from ood_lib.models.vae import VAE
from ood_lib.settings.profiles import TrainConfig
from ood_lib.training import compiled_step, zoo
from ood_lib.training import engine as engine
from ood_lib.training.compiled_step import CompiledLoss, compile_enabled
from ood_lib.training.engine import train
from ood_lib.training.run_config import run_config

CPU = torch.device("cpu")
SHAPE = (1, 8, 8)
BATCH = 16
BACKENDS = [
    "aot_eager",
    pytest.param(
        "inductor",
        marks=pytest.mark.skipif(
            os.environ.get("OOD_INDUCTOR_TESTS") != "1", reason="slow (C++ compilation): set OOD_INDUCTOR_TESTS=1"
        ),
    ),
]
REPO_MODELS = Path(__file__).resolve().parents[1] / "data" / "models"

FAMILIES = {
    "glow": lambda: Glow(SHAPE, levels=2, steps=2, hidden=8),
    "cv_glow": lambda: Glow(SHAPE, levels=2, steps=2, hidden=8, coupling="additive"),
    "pixelcnn": lambda: PixelCNN(SHAPE, hidden=8, layers=1, first_kernel=3),
    "vae": lambda: VAE(SHAPE, latent_dim=2, hidden=4),
}


def images(n: int, seed: int) -> torch.Tensor:
    """uint8 images with some structure (a gradient plus noise), so a few updates move the loss."""
    generator = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(40, 210, SHAPE[1] * SHAPE[2]).reshape(SHAPE)
    return (ramp + 20 * torch.randn((n, *SHAPE), generator=generator)).round().clamp(0, 255).to(torch.uint8)


def tiny_config(**changes) -> TrainConfig:
    config = TrainConfig(
        n_steps=8,
        batch_size=BATCH,
        lr=2e-3,
        warmup_steps=2,
        grad_clip=50.0,
        eval_every=4,
        checkpoint_every=3,
        n_train=None,
        n_eval=32,
        seed=3,
    )
    return dataclasses.replace(config, **changes)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, single_thread) -> str:
    """The engine's compile backend for one test."""
    monkeypatch.setattr(compiled_step, "COMPILE_BACKEND", request.param)
    return request.param


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_compiled_loss_and_gradients_equal_eager_ones_to_float_tolerance(family: str, backend: str) -> None:
    torch.manual_seed(0)
    model = FAMILIES[family]().train()
    x = images(BATCH, seed=1)
    with torch.no_grad():  # data-dependent initialisation (ActNorm), as the engine's first pass
        model.bits_per_dim(x, generator=torch.Generator().manual_seed(0))
    twin = copy.deepcopy(model)

    eager_loss = model.bits_per_dim(x, generator=torch.Generator().manual_seed(5)).mean()
    eager_loss.backward()
    compiled = CompiledLoss(twin.bits_per_dim)
    compiled_loss = compiled(x, generator=torch.Generator().manual_seed(5)).mean()
    compiled_loss.backward()

    assert compiled.active, "compilation failed (see the log line)"
    assert compiled_loss.dtype == torch.float32
    assert compiled_loss.item() == pytest.approx(eager_loss.item(), rel=1e-5)
    # Reordered float32 sums: each gradient tensor agrees to 1e-3 of its largest entry (measured with
    # TorchInductor: at most about 1.2e-4), the whole gradient to 1e-4 in relative L2 norm.
    eager_grads, compiled_grads = [], []
    for (name, parameter), twin_parameter in zip(model.named_parameters(), twin.parameters(), strict=True):
        if parameter.grad is None:
            assert twin_parameter.grad is None, name
            continue
        scale = parameter.grad.abs().max().item() + 1e-12
        assert (twin_parameter.grad - parameter.grad).abs().max().item() <= 1e-3 * scale, name
        eager_grads.append(parameter.grad.flatten())
        compiled_grads.append(twin_parameter.grad.flatten())
    eager_grad, compiled_grad = torch.cat(eager_grads), torch.cat(compiled_grads)
    assert (compiled_grad - eager_grad).norm() <= 1e-4 * eager_grad.norm()


def interrupt_at(monkeypatch: pytest.MonkeyPatch, update: int) -> None:
    """Make the engine's minibatch draw for training update ``update`` raise KeyboardInterrupt (outside the graph)."""
    draw = engine.batch_indices

    def interrupting(step: int, *args, **kwargs) -> torch.Tensor:
        if step == update and torch.is_grad_enabled():
            raise KeyboardInterrupt
        return draw(step, *args, **kwargs)

    monkeypatch.setattr(engine, "batch_indices", interrupting)


def test_resume_is_bit_identical_within_compiled_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    x_train, eval_sets = images(64, seed=2), {"test": images(32, seed=3)}
    config = tiny_config(compile=True)  # checkpoints at 3, 6, 8

    torch.manual_seed(0)
    straight = FAMILIES["glow"]()
    straight_history = train(straight, x_train, config, tmp_path / "straight.pt", eval_sets, CPU, progress=False)

    with monkeypatch.context() as patch:
        interrupt_at(patch, 5)
        torch.manual_seed(0)
        with pytest.raises(KeyboardInterrupt):
            train(FAMILIES["glow"](), x_train, config, tmp_path / "resumed.pt", eval_sets, CPU, progress=False)
    resumed = FAMILIES["glow"]()  # other initial weights: the checkpoint (step 3) overrides them
    resumed_history = train(resumed, x_train, config, tmp_path / "resumed.pt", eval_sets, CPU, progress=False)

    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert straight_history.pop("wall_time_s") > 0
    resumed_history.pop("wall_time_s")
    assert resumed_history == straight_history
    assert straight_history["train_loss"][-1] < straight_history["train_loss"][0]

    # The same run in eager mode: the same history keys, losses equal to float tolerance.
    torch.manual_seed(0)
    eager_history = train(
        FAMILIES["glow"](),
        x_train,
        dataclasses.replace(config, compile=False),
        tmp_path / "eager.pt",
        eval_sets,
        CPU,
        progress=False,
    )
    eager_history.pop("wall_time_s")
    assert set(eager_history) == set(straight_history) and eager_history["step"] == straight_history["step"]
    assert eager_history["train_loss"] == pytest.approx(straight_history["train_loss"], rel=1e-4)


def test_a_failing_compiler_falls_back_to_eager_with_one_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, single_thread
) -> None:
    def broken_backend(graph, example_inputs):
        raise RuntimeError("no C++ compiler found (forced by the test)")

    x_train = images(64, seed=4)
    torch.manual_seed(0)
    eager_history = train(
        FAMILIES["pixelcnn"](), x_train, tiny_config(compile=False), tmp_path / "eager.pt", device=CPU, progress=False
    )
    monkeypatch.setattr(compiled_step, "COMPILE_BACKEND", broken_backend)
    torch.manual_seed(0)
    with caplog.at_level(logging.WARNING, logger="ood_lib.training.engine"):
        fallback_history = train(
            FAMILIES["pixelcnn"](), x_train, tiny_config(compile=True), tmp_path / "fb.pt", device=CPU, progress=False
        )
    lines = [record.getMessage() for record in caplog.records if "torch.compile" in record.getMessage()]
    assert len(lines) == 1, lines
    assert "forced by the test" in lines[0] and "eager" in lines[0]
    eager_history.pop("wall_time_s")
    fallback_history.pop("wall_time_s")
    assert fallback_history == eager_history  # eager from the first update on: bit for bit


def test_the_switch_reads_the_config_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OOD_COMPILE", raising=False)
    assert not compile_enabled(tiny_config())  # off by default
    monkeypatch.setenv("OOD_COMPILE", "1")
    assert compile_enabled(tiny_config()) and not compile_enabled(tiny_config(compile=False))
    monkeypatch.setenv("OOD_COMPILE", "0")
    assert not compile_enabled(tiny_config()) and compile_enabled(tiny_config(compile=True))
    monkeypatch.setenv("OOD_COMPILE", "yes")
    with pytest.raises(ValueError, match="OOD_COMPILE"):
        compile_enabled(tiny_config())


def test_the_switch_is_not_part_of_a_run_or_a_models_identity() -> None:
    model, x_train = FAMILIES["glow"](), images(32, seed=5)
    plain = run_config(model, x_train, tiny_config())
    assert "compile" not in plain["train"]
    for value in (True, False):
        assert run_config(model, x_train, tiny_config(compile=value)) == plain
        assert zoo._zoo_config("glow", model, "mnist", tiny_config(compile=value), zoo.PLAIN) == zoo._zoo_config(
            "glow", model, "mnist", tiny_config(), zoo.PLAIN
        )
