"""The throughput benchmark: its plain baseline is the same model, and the script reports images/s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ood_lib.models.flows import Glow, squeeze2d

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from plain_glow import PlainGlow, squeeze_nchw  # noqa: E402


def plain_state_from_glow(glow: Glow) -> dict[str, torch.Tensor]:
    """Glow's state_dict under PlainGlow's names: step k of a level is layers 3k, 3k+1, 3k+2."""
    layer_offset = {"actnorm": 0, "invconv": 1, "coupling": 2}
    state = {}
    for name, value in glow.state_dict().items():
        parts = name.split(".")
        if parts[0] == "levels":
            level, step, layer = parts[1], int(parts[2]), parts[3]
            name = ".".join(["levels", level, str(3 * step + layer_offset[layer]), *parts[4:]])
        state[name] = value
    return state


@pytest.mark.parametrize("coupling", ["affine", "additive"])
def test_plain_glow_is_the_same_density_as_glow(coupling: str) -> None:
    torch.manual_seed(0)
    glow = Glow((3, 8, 8), levels=2, steps=2, hidden=8, coupling=coupling)
    with torch.no_grad():
        for parameter in glow.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
        for module in glow.modules():
            if hasattr(module, "initialized"):
                module.initialized.fill_(True)
    plain = PlainGlow((3, 8, 8), levels=2, steps=2, hidden=8, coupling=coupling)
    plain.load_state_dict(plain_state_from_glow(glow))
    x = torch.rand(4, 3, 8, 8)
    torch.testing.assert_close(plain.log_prob(x), glow.log_prob(x), rtol=1e-5, atol=1e-3)
    assert plain.num_dims == glow.num_dims


def test_plain_squeeze_is_contiguous_nchw_with_the_same_values() -> None:
    x = torch.randn(2, 3, 4, 6)
    squeezed = squeeze_nchw(x)
    assert squeezed.is_contiguous()
    assert torch.equal(squeezed, squeeze2d(x))


@pytest.mark.parametrize("implementation", ["ood_lib", "plain"])
def test_benchmark_ends_with_images_per_second(implementation: str) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "train_throughput.py"),
            "--shape",
            "8,8,1",
            "--levels",
            "2",
            "--steps",
            "1",
            "--hidden",
            "8",
            "--batch",
            "4",
            "--iters",
            "2",
            "--warmup",
            "1",
            "--threads",
            "1",
            "--implementation",
            implementation,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = completed.stdout.strip().splitlines()
    key, value = lines[-1].split("=")
    assert key == "images_per_second" and float(value) > 0
    assert any(line.startswith("gflop_per_step=") for line in lines)


def test_conv_layer_report_covers_every_coupling_convolution() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "conv_layers.py"),
            "--batch",
            "2",
            "--repeats",
            "1",
            "--threads",
            "1",
            "--clock-ghz",
            "2.0",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("nominal FMA peak: 1 cores x 2.000 GHz x 32 FLOP/cycle = 64.0 GFLOP/s")
    rows = [line for line in lines if line.startswith("| 32x32x3") or line.startswith("| 28x28x1")]
    assert len(rows) == 15
    ceilings = [line for line in lines if "the coupling convolutions alone" in line]
    assert len(ceilings) == 2 and all("images/s" in line for line in ceilings)


def test_comparison_summary_takes_the_speed_up_within_each_round(capsys: pytest.CaptureFixture[str]) -> None:
    from compare import SHAPES, print_summary

    shape_a, shape_b = SHAPES
    results = {
        (shape_a, "plain"): [100.0, 50.0, 60.0],
        (shape_a, "fast"): [150.0, 100.0, 90.0],
        (shape_b, "plain"): [10.0, 20.0, 30.0],
        (shape_b, "fast"): [10.0, 20.0, 30.0],
    }
    print_summary(results, ["plain", "fast"], rounds=3)
    rows = {
        line.split(" | ")[0].strip("| "): line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| plain") or line.startswith("| fast")
    }
    # per-round ratios 1.5, 2.0, 1.5 -> median 1.50 (the ratio of medians would be 100 / 60 = 1.67)
    assert (
        rows["fast"] == "| fast | 100.0 images/s (1.50x plain; runs 90-150) | 20.0 images/s (1.00x plain; runs 10-30) |"
    )
    assert "(1.00x plain; runs 50-100)" in rows["plain"]
