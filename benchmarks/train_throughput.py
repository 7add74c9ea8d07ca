"""Glow training throughput: timed forward + backward + optimizer steps on random 8-bit images.

Example (the reference configuration, 32x32x3 images)::

    python benchmarks/train_throughput.py --shape 32,32,3 --levels 3 --steps 8 --hidden 128 --batch 64

One step is: dequantize a batch, BPD loss, backward, Adamax (the training
engine's optimiser, ``ood_lib.training.engine``) or Adam update.
The first ``--warmup`` steps run untimed (the first initialises ActNorm from
data, in eager mode, before ``--compile`` compiles the loss). Prints the FLOPs
of one step (``torch.utils.flop_counter.FlopCounterMode``), the median and best
step time, GFLOP/s, and as its last line ``images_per_second=<float>`` (batch /
median step time).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import time

import torch
from plain_glow import PlainGlow
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from ood_lib.data.dequantization import dequantize
from ood_lib.models.bpd import bits_per_dim_from_log_prob
from ood_lib.models.flows import COUPLINGS, Glow

OPTIMIZERS = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax}
IMPLEMENTATIONS = {"ood_lib": Glow, "plain": PlainGlow}
GLIBC_M_TRIM_THRESHOLD = -1
GLIBC_M_MMAP_THRESHOLD = -3


def keep_freed_memory_in_glibc_heap() -> bool:
    """Stop glibc from returning freed activations to the OS after every step.

    By default glibc serves large blocks with mmap and trims the heap, so each
    training step page-faults (and the kernel zeroes) tens of MB of fresh
    activations. Raising the mmap threshold to its 32 MiB maximum and disabling
    trimming keeps that memory for reuse. Returns False where glibc is absent.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(
        libc.mallopt(GLIBC_M_MMAP_THRESHOLD, 32 * 1024 * 1024) and libc.mallopt(GLIBC_M_TRIM_THRESHOLD, 2**31 - 1)
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="32,32,3", help="image shape H,W,C")
    parser.add_argument("--levels", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--coupling", choices=sorted(COUPLINGS), default="affine")
    parser.add_argument(
        "--implementation",
        choices=sorted(IMPLEMENTATIONS),
        default="ood_lib",
        help="ood_lib.models.flows.Glow, or the unfused NCHW baseline of benchmarks/plain_glow.py",
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iters", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (at least 1)")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adamax")
    parser.add_argument(
        "--multi-tensor-optimizer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="update all parameters in a few kernels (Adam: fused=True, Adamax: foreach=True); "
        "on the CPU torch's default is one small kernel per parameter and operation",
    )
    parser.add_argument(
        "--malloc-tuning",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep freed memory in the glibc heap (CPU)",
    )
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="torch.compile the loss (slow to compile: tens of seconds on 2 cores)",
    )
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="torch CPU threads")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    malloc_tuned = args.malloc_tuning and keep_freed_memory_in_glibc_heap()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    height, width, channels = (int(size) for size in args.shape.split(","))
    model = IMPLEMENTATIONS[args.implementation](
        (channels, height, width), levels=args.levels, steps=args.steps, hidden=args.hidden, coupling=args.coupling
    ).to(device)
    multi_tensor = {"fused" if args.optimizer == "adam" else "foreach": args.multi_tensor_optimizer}
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), lr=1e-4, **multi_tensor)
    generator = torch.Generator(device).manual_seed(args.seed)
    x_uint8 = torch.randint(0, 256, (args.batch, channels, height, width), dtype=torch.uint8, device=device)

    def loss_of(x: Tensor) -> Tensor:
        return bits_per_dim_from_log_prob(model.log_prob(x), model.num_dims).mean()

    def train_step(loss_fn) -> float:
        loss = loss_fn(dequantize(x_uint8, generator))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    print(
        f"config={model.config} batch={args.batch} threads={torch.get_num_threads()} device={device} "
        f"torch={torch.__version__} optimizer={args.optimizer} multi_tensor={args.multi_tensor_optimizer} "
        f"malloc_tuned={malloc_tuned} compile={args.compile}"
    )
    train_step(loss_of)
    loss_fn = torch.compile(loss_of) if args.compile else loss_of
    start = time.perf_counter()
    for _ in range(args.warmup - 1):
        train_step(loss_fn)
    synchronize()
    print(f"warmup_seconds={time.perf_counter() - start:.2f} ({args.warmup} steps, compilation included)")

    with FlopCounterMode(display=False) as flop_counter:
        train_step(loss_of)
    flops_per_step = flop_counter.get_total_flops()

    step_seconds = []
    for _ in range(args.iters):
        start = time.perf_counter()
        loss = train_step(loss_fn)
        synchronize()
        step_seconds.append(time.perf_counter() - start)
    median = statistics.median(step_seconds)
    best = min(step_seconds)
    print(f"loss_bpd={loss:.4f}")
    print(f"gflop_per_step={flops_per_step / 1e9:.3f} (forward + backward)")
    print(f"step_seconds median={median:.4f} best={best:.4f} over {args.iters} steps")
    print(f"gflop_per_second median={flops_per_step / median / 1e9:.1f} best={flops_per_step / best / 1e9:.1f}")
    print(f"images_per_second_best={args.batch / best:.2f}")
    print(f"images_per_second={args.batch / median:.2f}")


if __name__ == "__main__":
    main()
