"""The pieces of ``benchmarks/gpu_check.sh``: each subcommand appends rows of a markdown table.

- ``throughput``: the ``full`` profile's Glow (32x32x3, L3 K32 h400, batch 64) on random 8-bit
  images, the engine's update (Adamax, clipping, fresh dequantization noise) for a fixed
  wall-clock window after warm-up steps: fp32 (TF32 off), bf16 autocast with TF32, and fp32
  with the loss compiled as ``TrainConfig.compile`` does (``ood_lib.training.compiled_step.CompiledLoss``; the
  compile time is reported separately).
- ``bf16``: a small Glow trained twice by ``ood_lib.training.engine.train`` on structured synthetic
  images, fp32 and bf16, same seed: the final BPDs and their difference.
- ``ddp``: run under ``torchrun``: the engine's data-parallel training for a few steps (NCCL on
  GPUs, gloo on CPUs), images/s and whether the replicas end bit-identical.

``--tiny`` shrinks every size (a CPU run in seconds, as ``tests/test_gpu_check.py`` does).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist

from ood_lib.models.flows import Glow
from ood_lib.settings.profiles import PROFILES, TrainConfig
from ood_lib.training import compiled_step
from ood_lib.training.compiled_step import CompiledLoss
from ood_lib.training.engine import train
from ood_lib.training.evaluation import describe_device

FULL = PROFILES["full"]


def sizes(tiny: bool) -> dict:
    """Model and run sizes: the full Glow on a GPU, toys with ``tiny``."""
    if tiny:
        return {"shape": (3, 8, 8), "glow": {"levels": 2, "steps": 2, "hidden": 8}, "batch": 8, "warmup_steps": 2}
    architecture = FULL.glow((32, 32, 3))
    return {
        "shape": (3, 32, 32),
        "glow": {"levels": architecture.levels, "steps": architecture.steps, "hidden": architecture.hidden},
        "batch": FULL.train_large.batch_size,
        "warmup_steps": 5,
    }


def device_now() -> torch.device:
    return torch.device(os.environ.get("OOD_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"))


def bf16_supported(device: torch.device) -> bool:
    """bf16 autocast: on CUDA where the GPU has bf16 units; on CPUs torch emulates it where it has none."""
    return torch.cuda.is_bf16_supported() if device.type == "cuda" else True


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def structured_images(n: int, shape: tuple[int, int, int], seed: int) -> torch.Tensor:
    """Smooth random fields plus pixel noise, as uint8: something a small flow learns within a few hundred steps."""
    generator = torch.Generator().manual_seed(seed)
    channels, height, width = shape
    coarse = torch.rand((n, channels, 4, 4), generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    pixels = 255 * smooth + 12 * torch.randn((n, *shape), generator=generator)
    return pixels.round().clamp(0, 255).to(torch.uint8)


def time_updates(mode: str, seconds: float, tiny: bool, device: torch.device) -> dict:
    """Images/s of the engine's update in ``mode`` (fp32, bf16, compiled) over ``seconds`` after warm-up."""
    size = sizes(tiny)
    torch.backends.cuda.matmul.allow_tf32 = mode == "bf16"
    torch.backends.cudnn.allow_tf32 = mode == "bf16"
    torch.manual_seed(0)
    model = Glow(size["shape"], **size["glow"]).to(device).train()
    optimizer = torch.optim.Adamax(model.parameters(), lr=1e-4, foreach=True)
    batch = size["batch"]
    images = torch.randint(0, 256, (16 * batch, *size["shape"]), dtype=torch.uint8, device=device)
    with torch.no_grad():  # ActNorm's initialisation, eagerly, as the engine does
        model.bits_per_dim(images[:batch], generator=torch.Generator(device=device).manual_seed(0))
    bits_per_dim = CompiledLoss(model.bits_per_dim, enabled=mode == "compiled")

    def update(step: int) -> float:
        x = images[(step % 16) * batch : (step % 16 + 1) * batch]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bf16"):
            loss = bits_per_dim(x, generator=torch.Generator(device=device).manual_seed(step)).float().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0, foreach=True)
        optimizer.step()
        return loss

    start = time.perf_counter()
    for step in range(size["warmup_steps"]):  # compilation (compiled), kernel selection, allocator warm-up
        loss = update(step)
    synchronize(device)
    warmup_s = time.perf_counter() - start
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or steps < 2:
        loss = update(size["warmup_steps"] + steps)
        steps += 1
        if steps % 10 == 0:
            synchronize(device)
    synchronize(device)
    elapsed = time.perf_counter() - start
    return {
        "images_per_s": steps * batch / elapsed,
        "steps": steps,
        "warmup_s": warmup_s,
        "loss": loss.item(),
        "compiled": bits_per_dim.active,
    }


def emit(args: argparse.Namespace, *lines: str) -> None:
    """Append ``lines`` to the result file at once (a later part that times out keeps what came before)."""
    with open(args.out, "a") as out:
        out.write("".join(line + "\n" for line in lines))
    print(*lines, sep="\n", flush=True)


def throughput(args: argparse.Namespace) -> list[str]:
    device = device_now()
    size = sizes(args.tiny)
    glow = size["glow"]
    emit(
        args,
        f"Glow {size['shape'][1]}x{size['shape'][2]}x{size['shape'][0]} L{glow['levels']} K{glow['steps']} "
        f"h{glow['hidden']}, batch {size['batch']}, {args.seconds:g} s timed per mode after {size['warmup_steps']} "
        f"warm-up updates (the compiled mode's compilation among them), on {describe_device(device)}:",
        "",
        "| mode | images/s | timed steps | warm-up updates' time (s) | last loss (BPD) |",
        "|---|---|---|---|---|",
    )
    results = {}
    for mode in ("fp32", "bf16", "compiled"):
        if mode == "bf16" and not bf16_supported(device):
            emit(args, "| bf16 autocast + TF32 | skipped: no bf16 on this device | | | |")
            continue
        result = results[mode] = time_updates(mode, args.seconds, args.tiny, device)
        compiled_how = f"backend {compiled_step.COMPILE_BACKEND}" if result["compiled"] else "FAILED: eager"
        label = {
            "fp32": "fp32 eager (TF32 off)",
            "bf16": "bf16 autocast + TF32, eager",
            "compiled": f"fp32 compiled ({compiled_how})",
        }[mode]
        emit(
            args,
            f"| {label} | {result['images_per_s']:.1f} | {result['steps']} | {result['warmup_s']:.1f} "
            f"| {result['loss']:.3f} |",
        )
    ratios = [
        f"{mode} / fp32 {results[mode]['images_per_s'] / results['fp32']['images_per_s']:.2f}x"
        for mode in ("bf16", "compiled")
        if mode in results
    ]
    return ["", f"Speed-ups: {', '.join(ratios)}."]


def bf16_agreement(args: argparse.Namespace) -> list[str]:
    device = device_now()
    shape = (3, 8, 8) if args.tiny else (3, 32, 32)
    glow = {"levels": 2, "steps": 2, "hidden": 8} if args.tiny else {"levels": 3, "steps": 8, "hidden": 128}
    n_steps = 30 if args.tiny else 400
    images = structured_images(256 if args.tiny else 8192, shape, seed=0)
    config = TrainConfig(
        n_steps=n_steps,
        batch_size=16 if args.tiny else 64,
        lr=2e-3,
        warmup_steps=5 if args.tiny else 50,
        grad_clip=50.0,
        eval_every=n_steps,
        checkpoint_every=n_steps,
        n_train=None,
        n_eval=64 if args.tiny else 1024,
        seed=0,
        compile=False,
    )
    if not bf16_supported(device):
        return ["bf16 vs fp32 BPD: skipped (no bf16 on this device)."]
    final = {}
    with tempfile.TemporaryDirectory() as directory:
        for bf16 in (False, True):
            torch.manual_seed(0)
            model = Glow(shape, **glow)
            history = train(model, images, config, Path(directory) / f"{bf16}.ckpt", None, device, False, bf16=bf16)
            final[bf16] = history["eval"]["train"][-1]
            start = history["eval"]["train"][0]
    difference = final[True] - final[False]
    agree = abs(difference) <= args.tolerance
    return [
        f"bf16 vs fp32 BPD (Glow {shape[1]}x{shape[2]}x{shape[0]} L{glow['levels']} K{glow['steps']} "
        f"h{glow['hidden']}, {n_steps} updates of `ood_lib.training.engine.train`, same seed, "
        f"{config.n_eval} training images "
        f"scored in fp32): BPD {start:.3f} at the start, fp32 {final[False]:.4f}, bf16 {final[True]:.4f}, "
        f"difference {difference:+.4f}: **{'agree' if agree else 'DISAGREE'}** (tolerance {args.tolerance:g})."
    ]


def data_parallel(args: argparse.Namespace) -> list[str]:
    """Under torchrun: a few data-parallel steps of the engine; rank 0 returns the rows."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available() and not args.cpu:
        torch.cuda.set_device(local_rank)
        device, backend = torch.device(f"cuda:{local_rank}"), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend)
    rank, world_size = dist.get_rank(), dist.get_world_size()
    size = sizes(args.tiny)
    n_steps = 6 if args.tiny else 30
    config = TrainConfig(
        n_steps=n_steps,
        batch_size=size["batch"] * world_size,
        lr=1e-4,
        warmup_steps=2,
        grad_clip=50.0,
        eval_every=n_steps,
        checkpoint_every=n_steps,
        n_train=None,
        n_eval=size["batch"],
        seed=0,
        compile=False,
    )
    images = structured_images(4 * config.batch_size, size["shape"], seed=1)
    torch.manual_seed(0)
    model = Glow(size["shape"], **size["glow"])
    checkpoint = Path(args.workdir) / "ddp.ckpt"
    start = time.perf_counter()
    history = train(model, images, config, checkpoint, None, device, False)
    elapsed = time.perf_counter() - start
    flat = torch.cat([parameter.detach().flatten() for parameter in model.parameters()]).to(device)
    gathered = [torch.empty_like(flat) for _ in range(world_size)]
    dist.all_gather(gathered, flat)
    identical = all(torch.equal(gathered[0], other) for other in gathered[1:])
    dist.destroy_process_group()
    if rank != 0:
        return []
    glow = size["glow"]
    loss = history["train_loss"]
    finite = all(math.isfinite(value) for value in loss)
    return [
        f"torchrun, {world_size} process(es), {backend} on {describe_device(device)}: Glow "
        f"{size['shape'][1]}x{size['shape'][2]}x{size['shape'][0]} L{glow['levels']} K{glow['steps']} "
        f"h{glow['hidden']}, global batch {config.batch_size}, {n_steps} updates of `ood_lib.training.engine.train` in "
        f"{elapsed:.1f} s including start-up and evaluation ({n_steps * config.batch_size / elapsed:.1f} images/s), "
        f"mean loss {loss[0]:.3f} -> {loss[-1]:.3f} BPD (finite: {finite}), "
        f"replicas bit-identical at the end: **{identical}**."
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=["throughput", "bf16", "ddp"])
    parser.add_argument("--tiny", action="store_true", help="toy sizes (a CPU smoke run)")
    parser.add_argument("--seconds", type=float, default=75.0, help="timed window per throughput mode")
    parser.add_argument("--tolerance", type=float, default=0.02, help="bf16 vs fp32 BPD agreement (bits/dim)")
    parser.add_argument("--cpu", action="store_true", help="ddp on CPUs with gloo even where GPUs are visible")
    parser.add_argument("--workdir", default=tempfile.gettempdir(), help="ddp: the shared checkpoint directory")
    parser.add_argument("--out", required=True, help="append the markdown lines to this file")
    args = parser.parse_args()
    if os.environ.get("GPU_CHECK_COMPILE_BACKEND"):  # e.g. aot_eager for a quick CPU run
        compiled_step.COMPILE_BACKEND = os.environ["GPU_CHECK_COMPILE_BACKEND"]
    lines = {"throughput": throughput, "bf16": bf16_agreement, "ddp": data_parallel}[args.check](args)
    if lines:
        emit(args, *lines, "")


if __name__ == "__main__":
    main()
