"""What this machine's CPU can do for Glow: fp32 matmul peak and every coupling-network convolution.

Example::

    python benchmarks/conv_layers.py

Prints (1) the GFLOP/s of a 2048 x 2048 fp32 matmul on 1 thread and on all
threads, next to the cores' nominal FMA peak (cores x clock x FLOPs per cycle,
from ``--flops-per-cycle``: 32 for two 256-bit FMA units, AVX2; 64 with
AVX-512), and (2) forward and backward (input + weight gradient) GFLOP/s of
every convolution in the coupling networks of the benchmark's two Glows
(batch 64, hidden 128), in NCHW and channels-last layout, and (3) the time
these convolutions take per training step at the channels-last rates: a
training step cannot run faster. ``--ceiling MODEL`` measures only that
model's channels-last convolutions and ends with ``images_per_second=<the
bound>``, so that ``compare.py`` can measure the bound in the same rounds as
the training runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

# (input channels, output channels, height = width, kernel) of conv3x3 - conv1x1 - ZeroConv2d 3x3 per level
COUPLING_CONVS = {
    "32x32x3 L3": [
        (6, 128, 16, 3),
        (128, 128, 16, 1),
        (128, 12, 16, 3),
        (12, 128, 8, 3),
        (128, 128, 8, 1),
        (128, 24, 8, 3),
        (24, 128, 4, 3),
        (128, 128, 4, 1),
        (128, 48, 4, 3),
    ],
    "28x28x1 L2": [
        (2, 128, 14, 3),
        (128, 128, 14, 1),
        (128, 4, 14, 3),
        (4, 128, 7, 3),
        (128, 128, 7, 1),
        (128, 8, 7, 3),
    ],
}


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls after 3 warm-up calls."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(size: int, threads: int, repeats: int) -> float:
    """fp32 GFLOP/s of a size x size matmul on ``threads`` threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / median_seconds(lambda: a @ b, repeats) / 1e9


def forward_flops(in_channels: int, out_channels: int, size: int, kernel: int, batch: int) -> int:
    """FLOPs (2 per multiply-add) of one convolution's forward pass; its backward costs twice that."""
    return 2 * batch * size * size * in_channels * out_channels * kernel * kernel


def conv_gflops(
    in_channels: int, out_channels: int, size: int, kernel: int, channels_last: bool, batch: int, repeats: int
) -> tuple[float, float]:
    """(forward, backward) GFLOP/s of one convolution; backward = input and weight gradients."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(batch, in_channels, size, size).to(memory_format=layout)
    weight = torch.randn(out_channels, in_channels, kernel, kernel)
    grad_output = torch.randn(batch, out_channels, size, size).to(memory_format=layout)
    padding = kernel // 2

    def backward() -> object:
        return torch.ops.aten.convolution_backward(
            grad_output, x, weight, [out_channels], [1, 1], [padding] * 2, [1, 1], False, [0, 0], 1, [True, True, True]
        )

    flops = forward_flops(in_channels, out_channels, size, kernel, batch)
    forward_seconds = median_seconds(lambda: F.conv2d(x, weight, padding=padding), repeats)
    return flops / forward_seconds / 1e9, 2 * flops / median_seconds(backward, repeats) / 1e9


def step_seconds(
    convs: list[tuple[int, int, int, int]], rates: list[tuple[float, float]], batch: int, steps: int
) -> float:
    """Seconds per training step of ``steps`` x these convolutions at (forward, backward) GFLOP/s ``rates``."""
    return sum(
        steps * forward_flops(*conv, batch) * (1 / forward + 2 / backward) / 1e9
        for conv, (forward, backward) in zip(convs, rates)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--clock-ghz",
        type=float,
        default=None,
        help="nominal core clock (default: the first 'cpu MHz' of /proc/cpuinfo)",
    )
    parser.add_argument("--flops-per-cycle", type=int, default=32, help="fp32 FLOPs per cycle and core")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8, help="flow steps per level (K)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--ceiling",
        choices=sorted(COUPLING_CONVS),
        help="only this model's channels-last convolutions; last line images_per_second=<the "
        "images/s the convolutions alone allow> (what compare.py runs)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.ceiling:
        convs = COUPLING_CONVS[args.ceiling]
        rates = [conv_gflops(*conv, True, args.batch, args.repeats) for conv in convs]
        print(f"images_per_second={args.batch / step_seconds(convs, rates, args.batch, args.steps):.2f}")
        return

    clock_ghz = args.clock_ghz
    if clock_ghz is None and os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as cpuinfo:
            megahertz = [line.split(":")[1] for line in cpuinfo if line.startswith("cpu MHz")]
        clock_ghz = float(megahertz[0]) / 1000 if megahertz else None
    if clock_ghz:
        print(
            f"nominal FMA peak: {args.threads} cores x {clock_ghz:.3f} GHz x {args.flops_per_cycle} FLOP/cycle "
            f"= {args.threads * clock_ghz * args.flops_per_cycle:.1f} GFLOP/s"
        )
    print(
        f"matmul 2048^2 fp32: 1 thread {matmul_gflops(2048, 1, args.repeats):.1f} GFLOP/s, "
        f"{args.threads} threads {matmul_gflops(2048, args.threads, args.repeats):.1f} GFLOP/s"
    )
    torch.set_num_threads(args.threads)
    print("\n| model | conv (in->out, size, kernel) | NCHW fwd / bwd GFLOP/s | channels-last fwd / bwd GFLOP/s |")
    print("|---|---|---|---|")
    for model, convs in COUPLING_CONVS.items():
        channels_last_rates = []
        for conv in convs:
            rates = [conv_gflops(*conv, channels_last, args.batch, args.repeats) for channels_last in (False, True)]
            channels_last_rates.append(rates[1])
            in_channels, out_channels, size, kernel = conv
            print(
                f"| {model} | {in_channels}->{out_channels}, {size}x{size}, {kernel}x{kernel} | "
                + " | ".join(f"{forward:.0f} / {backward:.0f}" for forward, backward in rates)
                + " |",
                flush=True,
            )
        seconds = step_seconds(convs, channels_last_rates, args.batch, args.steps)
        print(
            f"{model}: the coupling convolutions alone (channels-last, {args.steps} steps per level) take "
            f"{seconds:.3f} s per training step: at most {args.batch / seconds:.0f} images/s"
        )


if __name__ == "__main__":
    main()
