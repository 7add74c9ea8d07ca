"""Glow training throughput: timed forward + backward + optimizer steps on random 8-bit images.

Example (the reference configuration, 32x32x3 images)::

    python benchmarks/train_throughput.py --shape 32,32,3 --levels 3 --steps 8 --hidden 128 --batch 64

Prints the FLOPs of one step (``torch.utils.flop_counter.FlopCounterMode``),
the median and best step time, GFLOP/s, and as its last line
``images_per_second=<float>`` (batch / median step time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from ood_lib.bpd import bits_per_dim_from_log_prob, dequantize
from ood_lib.flows import COUPLINGS, Glow

OPTIMIZERS = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="32,32,3", help="image shape H,W,C")
    parser.add_argument("--levels", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--coupling", choices=sorted(COUPLINGS), default="affine")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iters", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="torch CPU threads")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    height, width, channels = (int(size) for size in args.shape.split(","))
    model = Glow((channels, height, width), levels=args.levels, steps=args.steps, hidden=args.hidden,
                 coupling=args.coupling).to(device)
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), lr=1e-4)
    generator = torch.Generator(device).manual_seed(args.seed)
    x_uint8 = torch.randint(0, 256, (args.batch, channels, height, width), dtype=torch.uint8, device=device)

    def train_step() -> float:
        x = dequantize(x_uint8, generator)
        loss = bits_per_dim_from_log_prob(model.log_prob(x), model.num_dims).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    print(f"config={model.config} batch={args.batch} threads={torch.get_num_threads()} device={device} "
          f"torch={torch.__version__}")
    start = time.perf_counter()
    for _ in range(args.warmup):
        train_step()
    synchronize()
    print(f"warmup_seconds={time.perf_counter() - start:.2f} ({args.warmup} steps)")

    with FlopCounterMode(display=False) as flop_counter:
        train_step()
    flops_per_step = flop_counter.get_total_flops()

    step_seconds = []
    for _ in range(args.iters):
        start = time.perf_counter()
        loss = train_step()
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
