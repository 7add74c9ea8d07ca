"""Interleaved throughput comparison of Glow implementations, robust to a noisy shared machine.

Example (what ``benchmarks/RESULTS.md`` reports)::

    python benchmarks/compare.py --rounds 6

Each round runs every variant once per shape (``train_throughput.py`` for the
Glow implementations; ``conv_layers.py --ceiling`` for "conv ceiling", the
images/s that the coupling convolutions alone allow), in an order rotated from
round to round, each run started only once the machine has been
idle (``--idle`` fraction of CPU time over 2 s, read from /proc/stat) so that
other jobs do not land in one variant's runs. On a shared machine single runs
vary by tens of percent; variants measured in the same round see the same
conditions, so the speed-up is taken per round (variant / plain of that round)
and summarised by its median, next to the median images/s of each variant; the
table is printed after every round, so an interrupted comparison still reports.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
# Per shape, the arguments that select it for each benchmark script.
SHAPES = {
    "32x32x3 L3 K8 h128": {
        "train_throughput.py": ["--shape", "32,32,3", "--levels", "3"],
        "conv_layers.py": ["--ceiling", "32x32x3 L3"],
    },
    "28x28x1 L2 K8 h128": {
        "train_throughput.py": ["--shape", "28,28,1", "--levels", "2"],
        "conv_layers.py": ["--ceiling", "28x28x1 L2"],
    },
}
# Variant name -> (script, its extra arguments).
VARIANTS = {
    "plain": (
        "train_throughput.py",
        ["--implementation", "plain", "--no-multi-tensor-optimizer", "--no-malloc-tuning"],
    ),
    "ood_lib": ("train_throughput.py", []),
    "ood_lib --compile": ("train_throughput.py", ["--compile"]),
    "conv ceiling": ("conv_layers.py", []),
}
BASELINE = "plain"


def cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies since boot, from the first line of /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)


def wait_until_idle(min_idle_fraction: float, timeout_seconds: float = 300.0) -> None:
    """Return once the CPUs were at least ``min_idle_fraction`` idle over a 2 s window (or after the timeout)."""
    if not Path("/proc/stat").exists():
        return
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        idle_before, total_before = cpu_times()
        time.sleep(2.0)
        idle_after, total_after = cpu_times()
        if (idle_after - idle_before) >= min_idle_fraction * max(total_after - total_before, 1):
            return
    print(f"machine not idle after {timeout_seconds:.0f} s; measuring anyway", file=sys.stderr)


def images_per_second(script: str, arguments: list[str]) -> float:
    """Run a benchmark script once and parse its last line ``images_per_second=<float>``."""
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments], capture_output=True, text=True, check=True
    )
    key, value = completed.stdout.strip().splitlines()[-1].split("=")
    if key != "images_per_second":
        raise RuntimeError(f"unexpected last line from {script}: {key}={value}")
    return float(value)


def print_summary(results: dict[tuple[str, str], list[float]], variants: list[str], rounds: int) -> None:
    """Markdown table: median images/s per variant and shape, and the median per-round speed-up over plain."""
    print(f"\nafter {rounds} round(s):\n| configuration | {' | '.join(SHAPES)} |\n|---|{'---|' * len(SHAPES)}")
    for variant in variants:
        cells = []
        for shape in SHAPES:
            speeds = results[shape, variant]
            ratios = [speed / plain for speed, plain in zip(speeds, results[shape, BASELINE])]
            cells.append(
                f"{statistics.median(speeds):.1f} images/s ({statistics.median(ratios):.2f}x plain; "
                f"runs {min(speeds):.0f}-{max(speeds):.0f})"
            )
        print(f"| {variant} | {' | '.join(cells)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--iters", type=int, default=12, help="timed steps per run")
    parser.add_argument("--idle", type=float, default=0.9, help="idle fraction to wait for before each run")
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=sorted(VARIANTS))
    args = parser.parse_args()
    variants = [BASELINE, *(name for name in args.variants if name != BASELINE)]

    results = {(shape, variant): [] for shape in SHAPES for variant in variants}
    for round_index in range(args.rounds):
        for shape, shape_arguments in SHAPES.items():
            rotation = round_index % len(variants)
            for variant in variants[rotation:] + variants[:rotation]:
                wait_until_idle(args.idle)
                script, variant_arguments = VARIANTS[variant]
                timed_steps = ["--iters", str(args.iters)] if script == "train_throughput.py" else []
                speed = images_per_second(script, [*shape_arguments[script], *timed_steps, *variant_arguments])
                results[shape, variant].append(speed)
                print(f"round {round_index + 1}/{args.rounds} {shape} {variant}: {speed:.1f} images/s", flush=True)
        print_summary(results, variants, round_index + 1)


if __name__ == "__main__":
    main()
