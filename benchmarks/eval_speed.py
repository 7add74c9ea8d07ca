"""Scoring speed and score equality of the committed quick models (issue 25: evaluation batches).

Three modes, each at one thread (``OMP_NUM_THREADS=1``), on the committed ``quick`` models
(``OOD_TRAIN=never``), the sets chapters 04 and 08 score:

    # per-image BPD of every model on every set, saved (run once with the old code, once with the new)
    PYTHONPATH=<old checkout> python benchmarks/eval_speed.py save old.npz --n 500
    python benchmarks/eval_speed.py save new.npz --n 500
    # max |difference| per model, and how many values differ after rounding to 3 decimals
    python benchmarks/eval_speed.py compare old.npz new.npz
    # CPU seconds per 1000 FashionMNIST-test images for one model of each family
    python benchmarks/eval_speed.py time --n 512 --repeat 2

``scores.bits_per_dim`` is called as the chapters call it (batch 256, seed 0; the VAE with the
quick profile's K = 16), so the seeded dequantization noise is the chapters'. Which ``ood_lib``
is imported is printed: point ``PYTHONPATH`` at an older copy to measure the code before.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("OOD_TRAIN", "never")
os.environ.setdefault("OOD_MODEL_DIR", str(Path(__file__).resolve().parent.parent / "data" / "models"))

import ood_lib  # noqa: E402
from ood_lib import data
from ood_lib.analysis import stats
from ood_lib.ood import scores
from ood_lib.settings.profiles import get_profile  # noqa: E402
from ood_lib.training import zoo  # noqa: E402

PROFILE = get_profile("quick")
# (key, model name, training set, variant): the models chapters 04 and 08 score.
MODELS = [
    ("glow_fashion_mnist", "glow", "fashion_mnist", zoo.Variant()),
    ("glow_fashion_mnist_seed1", "glow", "fashion_mnist", zoo.Variant(seed=1)),
    ("glow_fashion_mnist_seed2", "glow", "fashion_mnist", zoo.Variant(seed=2)),
    ("glow_mnist", "glow", "mnist", zoo.Variant()),
    ("pixelcnn_fashion_mnist", "pixelcnn", "fashion_mnist", zoo.Variant()),
    ("pixelcnn_perturbed0.1", "pixelcnn", "fashion_mnist", zoo.Variant(perturbation_rate=0.1)),
    ("pixelcnn_perturbed0.2", "pixelcnn", "fashion_mnist", zoo.Variant(perturbation_rate=0.2)),
    ("pixelcnn_perturbed0.3", "pixelcnn", "fashion_mnist", zoo.Variant(perturbation_rate=0.3)),
    ("pixelcnn_oe", "pixelcnn", "fashion_mnist", zoo.Variant(outliers_from="cifar10_subset")),
    ("vae_fashion_mnist", "vae", "fashion_mnist", zoo.Variant()),
]
# The VAE is slow (K = 16 decoder passes per image): chapter 04 scores it on these sets only.
VAE_SETS = ("FashionMNIST", "MNIST", "constant", "uniform noise")


def load_model(model_name: str, train_set: str, variant: zoo.Variant) -> torch.nn.Module:
    """A committed quick model, in eval mode."""
    return zoo.get(model_name, train_set, PROFILE, variant=variant, progress=False).model.eval()


def extra_arguments(model_name: str) -> dict:
    """Keyword arguments of ``scores.bits_per_dim`` as chapter 04 passes them."""
    return {"num_samples": PROFILE.vae_importance_samples} if model_name == "vae" else {}


def evaluation_sets(n: int) -> dict[str, torch.Tensor]:
    """``n`` images of each set chapter 08 scores (chapter 04's test sets among them), uint8 NCHW."""
    rng = np.random.default_rng(0)
    fashion_test = data.load_tensor("fashion_mnist", "test", n=n, seed=0)[0]
    mean, std = stats.pixel_mean_std(data.load("fashion_mnist", "train")[0], scale=1.0)
    gaussian = np.rint(np.clip(rng.normal(mean, std, (n, 1, 28, 28)), 0, 255)).astype(np.uint8)
    cifar = data.to_tensor(data.as_shape(data.load("cifar10_subset", "test")[0], (28, 28, 1)))
    return {
        "FashionMNIST": fashion_test,
        "MNIST": data.load_tensor("mnist", "test", n=n, seed=0)[0],
        "uniform noise": scores.uniform_noise_images(n, (1, 28, 28), seed=0),
        "Gaussian noise": torch.from_numpy(gaussian),
        "constant": scores.constant_images(rng.integers(0, 256, n), (1, 28, 28)),
        "h-flipped FashionMNIST": fashion_test.flip(-1),
        "v-flipped FashionMNIST": fashion_test.flip(-2),
        "train": data.load_tensor("fashion_mnist", "train", n=n, seed=1)[0],
        "validation": cifar[:n],
    }


def save(path: Path, n: int, only: str | None) -> None:
    """Per-image BPD of every model on every set, into ``path`` (keys ``model/set``)."""
    sets = evaluation_sets(n)
    result = {}
    for key, model_name, train_set, variant in MODELS:
        if only and only not in key:
            continue
        model = load_model(model_name, train_set, variant)
        start = time.process_time()
        for name, x_uint8 in sets.items():
            if model_name == "vae" and name not in VAE_SETS:
                continue
            result[f"{key}/{name}"] = scores.bits_per_dim(model, x_uint8, seed=0, **extra_arguments(model_name))
        print(f"{key}: {time.process_time() - start:.1f} CPU s", flush=True)
    np.savez(path, **result)
    print(f"saved {len(result)} score arrays to {path}")


def compare(old_path: Path, new_path: Path) -> None:
    """Max |BPD difference| per model and the values whose 3-decimal rounding differs."""
    old, new = np.load(old_path), np.load(new_path)
    if sorted(old.files) != sorted(new.files):
        raise SystemExit(f"different keys: {sorted(set(old.files) ^ set(new.files))}")
    by_model: dict[str, list[str]] = {}
    for key in old.files:
        by_model.setdefault(key.split("/")[0], []).append(key)
    worst = 0.0
    for model, keys in by_model.items():
        max_diff, flips, count, nonfinite_mismatch, mean_flips = 0.0, 0, 0, 0, 0
        for key in keys:
            a, b = old[key], new[key]
            finite = np.isfinite(a) & np.isfinite(b)
            nonfinite_mismatch += int(np.sum(np.isfinite(a) != np.isfinite(b)))
            both_nonfinite = ~np.isfinite(a) & ~np.isfinite(b)
            nonfinite_mismatch += int(np.sum(both_nonfinite & (a != b) & ~(np.isnan(a) & np.isnan(b))))
            if finite.any():
                max_diff = max(max_diff, float(np.max(np.abs(a[finite] - b[finite]))))
                flips += int(np.sum(np.round(a[finite], 3) != np.round(b[finite], 3)))
                mean_flips += int(round(float(a[finite].mean()), 3) != round(float(b[finite].mean()), 3))
            count += a.size
        worst = max(worst, max_diff)
        print(
            f"{model:28s} {count:6d} images: max |dBPD| {max_diff:.2e}, {flips} differ at 3 decimals, "
            f"{mean_flips} of {len(keys)} set means differ at 3 decimals, {nonfinite_mismatch} non-finite mismatches"
        )
    print(f"largest difference over all models: {worst:.2e} BPD")


def time_families(n: int, repeat: int) -> None:
    """CPU seconds (and wall seconds) per 1000 FashionMNIST-test images, one model per family."""
    x_uint8 = data.load_tensor("fashion_mnist", "test", n=n, seed=0)[0]
    for key, model_name, train_set, variant in MODELS:
        if key not in ("glow_fashion_mnist", "pixelcnn_fashion_mnist", "vae_fashion_mnist"):
            continue
        model = load_model(model_name, train_set, variant)
        scores.bits_per_dim(model, x_uint8[:16], **extra_arguments(model_name))  # warm-up
        for run in range(repeat):
            cpu, wall = time.process_time(), time.perf_counter()
            scores.bits_per_dim(model, x_uint8, seed=0, **extra_arguments(model_name))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(
                f"{key:24s} run {run}: {1000 * cpu / n:6.2f} CPU s, {1000 * wall / n:6.2f} wall s per 1000 images",
                flush=True,
            )


def main() -> None:
    """Command line: save, compare or time."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["save", "compare", "time"])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--n", type=int, default=500, help="images per set")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", help="save: only the models whose key contains this")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"ood_lib from {Path(ood_lib.__file__).parent}, {torch.get_num_threads()} thread(s)", file=sys.stderr)
    if args.mode == "save":
        save(args.paths[0], args.n, args.only)
    elif args.mode == "compare":
        compare(*args.paths)
    else:
        time_families(args.n, args.repeat)


if __name__ == "__main__":
    main()
