"""Training under a process group (what torchrun sets up), on CPU with gloo and 2 processes.

Each case spawns fresh processes; the reference is the same run in this (single) process.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from ood_lib.data.dequantization import dequantize
from ood_lib.models.bpd import bits_per_dim_from_log_prob
from ood_lib.models.flows import Glow
from ood_lib.settings.profiles import TrainConfig
from ood_lib.training import engine as engine
from ood_lib.training import model_files

CONFIG = TrainConfig(
    n_steps=4,
    batch_size=8,
    lr=2e-3,
    warmup_steps=1,
    grad_clip=50.0,
    eval_every=2,
    checkpoint_every=2,
    n_train=None,
    n_eval=16,
)


class GaussianFlow(nn.Module):
    """A diagonal Gaussian density on dequantized 1x8x8 images, with the flow interface the engine uses.

    Its gradients are far from zero, so Adamax (whose first steps move each parameter by about
    the learning rate whatever the gradient's size) does not amplify summation-order noise
    into visible differences, as it does for Glow's near-zero gradients right after ActNorm's
    initialisation; the Glow runs check that the replicas stay identical.
    """

    num_dims = 64
    config = {"kind": "diagonal Gaussian"}

    def __init__(self) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.full((1, 8, 8), 0.2))
        self.log_std = nn.Parameter(torch.full((1, 8, 8), -1.0))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean) * torch.exp(-self.log_std)
        return (-0.5 * z**2 - self.log_std - 0.5 * np.log(2 * np.pi)).flatten(1).sum(dim=1)

    def bits_per_dim(self, x_uint8: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return bits_per_dim_from_log_prob(self.log_prob(dequantize(x_uint8, generator)), self.num_dims)


def tiny_model(kind: str) -> nn.Module:
    torch.manual_seed(0)
    return Glow((1, 8, 8), levels=2, steps=1, hidden=8) if kind == "glow" else GaussianFlow()


def training_images() -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).integers(0, 256, (64, 1, 8, 8), dtype=np.uint8))


def _worker(rank: int, world_size: int, init_file: str, out_dir: str, kind: str, interrupt_at: int | None) -> None:
    torch.set_num_threads(1)
    os.environ["OOD_DEVICE"] = "cpu"
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    writes = []
    write_atomically = model_files.write_atomically
    model_files.write_atomically = lambda path, write: (writes.append(str(path)), write_atomically(path, write))
    model = tiny_model(kind)
    if interrupt_at is not None:
        log_prob, passes = model.log_prob, [0]

        def interrupted(x: torch.Tensor) -> torch.Tensor:
            if torch.is_grad_enabled():
                if passes[0] == interrupt_at:
                    raise KeyboardInterrupt
                passes[0] += 1
            return log_prob(x)

        model.log_prob = interrupted
    try:
        engine.train(model, training_images(), CONFIG, Path(out_dir) / "checkpoint.pt", progress=False)
        torch.save(model.state_dict(), Path(out_dir) / f"final_rank{rank}.pt")
    except KeyboardInterrupt:
        pass
    finally:
        Path(out_dir, f"writes_rank{rank}.txt").write_text("\n".join(writes))
        dist.destroy_process_group()


def run_distributed(tmp_path: Path, kind: str, interrupt_at: int | None = None) -> None:
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path), kind, interrupt_at), nprocs=2, join=True)
    (tmp_path / "init").unlink(missing_ok=True)


@pytest.fixture
def single_process_result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    model = tiny_model("gaussian")
    engine.train(
        model,
        training_images(),
        CONFIG,
        tmp_path_factory.mktemp("single") / "checkpoint.pt",
        device=torch.device("cpu"),
        progress=False,
    )
    return model.state_dict()


def assert_same_parameters(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> None:
    assert first.keys() == second.keys()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=1e-4, atol=1e-5, msg=name)


def test_two_ranks_train_the_same_parameters_as_one_process(tmp_path: Path, single_process_result) -> None:
    run_distributed(tmp_path, "gaussian")
    rank0, rank1 = (torch.load(tmp_path / f"final_rank{rank}.pt") for rank in (0, 1))
    assert_same_parameters(rank0, rank1)
    assert_same_parameters(rank0, single_process_result)
    assert not torch.equal(rank0["mean"], tiny_model("gaussian").state_dict()["mean"]), "training moved the parameters"
    assert (tmp_path / "writes_rank1.txt").read_text() == "", "only rank 0 writes files"
    assert "checkpoint.pt" in (tmp_path / "writes_rank0.txt").read_text()


def test_glow_replicas_start_and_stay_identical(tmp_path: Path) -> None:
    run_distributed(tmp_path, "glow")
    rank0, rank1 = (torch.load(tmp_path / f"final_rank{rank}.pt") for rank in (0, 1))
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name  # ActNorm's initialisation included
    assert all(bool(value) for name, value in rank1.items() if name.endswith("initialized"))
    assert (tmp_path / "writes_rank1.txt").read_text() == ""


def test_an_interrupted_distributed_run_resumes_to_the_same_result(tmp_path: Path, single_process_result) -> None:
    run_distributed(tmp_path, "gaussian", interrupt_at=3)  # after the checkpoint at update 2
    assert not (tmp_path / "final_rank0.pt").exists()
    assert model_files.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 2
    run_distributed(tmp_path, "gaussian")
    assert_same_parameters(torch.load(tmp_path / "final_rank0.pt"), single_process_result)


def test_distributed_training_refuses_a_batch_that_does_not_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rank 0 of a group of 3, in one process: the argument check fails before any collective.
    monkeypatch.setattr(engine, "distributed_rank_and_size", lambda: (0, 3))
    with pytest.raises(ValueError, match="not divisible"):
        engine.train(tiny_model("glow"), training_images(), CONFIG, tmp_path / "checkpoint.pt", progress=False)
