"""Can a CPU budget train a likelihood ratio (Ren et al. 2019) that separates FashionMNIST from MNIST?

Trains one model per process, so a foreground and a background run can share two cores::

    OMP_NUM_THREADS=1 python benchmarks/lr_feasibility.py train --role foreground --out build/lr &
    OMP_NUM_THREADS=1 python benchmarks/lr_feasibility.py train --role background --out build/lr &
    wait; python benchmarks/lr_feasibility.py report --out build/lr

Data: the first 48,000 FashionMNIST training images train; the last 12,000 are the validation
split (its BPD is printed; no test image is used for any choice). The background model sees
each batch mutated afresh (``ood_lib.training.perturbation.perturb_pixels``, rate ``--rate``, 0.2 being
the references' a-priori choice). ``--model gated_pixelcnn`` is :class:`ood_lib.models.gated_pixelcnn.
GatedPixelCNN` (``--filters``, ``--blocks``, ``--components``); ``--model pixelcnn`` is today's
:class:`ood_lib.models.pixelcnn.PixelCNN` at the ``quick`` size (hidden 32, 4 layers).

At every ``--eval-at`` update the CPU clock of training is paused and the model scores fixed
subsets: ``--n-eval`` FashionMNIST-test, MNIST-test and validation images (``--n-final`` of
each at the last update). The per-image log-likelihoods go to ``OUT/ROLE_MODEL_STEP.npz``;
``report`` pairs foreground and background files of equal step and prints, per step, the CPU
seconds of both trainings, foreground test/validation BPD, background test BPD, the AUROC of
the likelihood alone and of the ratio log p - log p_0 (FashionMNIST-test positive, MNIST-test
negative; ``ood_lib.ood.likelihood_ratio``, ``ood_lib.ood.metrics``) with a bootstrap 95% interval.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

from ood_lib import data
from ood_lib.models.gated_pixelcnn import GatedPixelCNN
from ood_lib.models.pixelcnn import PixelCNN
from ood_lib.ood.intervals import bootstrap_auroc
from ood_lib.ood.likelihood_ratio import likelihood_ratio
from ood_lib.ood.metrics import ood_metrics
from ood_lib.training.perturbation import perturb_pixels

N_TRAIN = 48_000  # FashionMNIST training images used for training; the rest is the validation split


def build(args: argparse.Namespace) -> torch.nn.Module:
    """The untrained model of ``args.model`` for 1 x 28 x 28 images."""
    if args.model == "gated_pixelcnn":
        return GatedPixelCNN((1, 28, 28), filters=args.filters, blocks=args.blocks, components=args.components)
    return PixelCNN((1, 28, 28), hidden=32, layers=4)


@torch.no_grad()
def log_likelihoods(model: torch.nn.Module, x_uint8: torch.Tensor, batch: int = 500) -> np.ndarray:
    """log p(x) in nats per image, in eval mode."""
    model.eval()
    values = [model.log_prob(x_uint8[start : start + batch]).double() for start in range(0, len(x_uint8), batch)]
    model.train()
    return torch.cat(values).numpy()


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    fashion_train, _ = data.load("fashion_mnist", "train")
    x_train = data.to_tensor(fashion_train[:N_TRAIN])
    eval_sets = {
        "fashion_test": data.load_tensor("fashion_mnist", "test", n=args.n_final, seed=1)[0],
        "mnist_test": data.load_tensor("mnist", "test", n=args.n_final, seed=2)[0],
        "fashion_valid": data.to_tensor(fashion_train[N_TRAIN:])[
            torch.from_numpy(data.subset_indices(len(fashion_train) - N_TRAIN, args.n_final, 3))
        ],
    }
    model = build(args)
    rate = args.rate if args.role == "background" else 0.0
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    order = torch.Generator().manual_seed(args.seed)
    mutation = torch.Generator().manual_seed(args.seed + 1000)
    eval_at = sorted(set(args.eval_at) | {args.steps})
    permutation, cursor = torch.randperm(N_TRAIN, generator=order), 0
    train_cpu, images_seen = 0.0, 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_parameters = sum(parameter.numel() for parameter in model.parameters())
    print(f"{args.role} {args.model}: {n_parameters} parameters, threads {torch.get_num_threads()}", flush=True)
    for step in range(1, args.steps + 1):
        started = time.process_time()
        if cursor + args.batch > N_TRAIN:
            permutation, cursor = torch.randperm(N_TRAIN, generator=order), 0
        batch = x_train[permutation[cursor : cursor + args.batch]]
        cursor += args.batch
        if rate:
            batch = perturb_pixels(batch, rate, generator=mutation)  # redrawn for every batch
        for group in optimizer.param_groups:
            group["lr"] = args.lr * min(1.0, step / args.warmup)
        loss = model.bits_per_dim(batch).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        optimizer.step()
        train_cpu += time.process_time() - started
        images_seen += len(batch)
        if step in eval_at:
            n = args.n_final if step == args.steps else args.n_eval
            started = time.process_time()
            scores = {name: log_likelihoods(model, images[:n]) for name, images in eval_sets.items()}
            eval_cpu = time.process_time() - started
            np.savez(
                out / f"{args.role}_{args.model}_{step:06d}.npz",
                step=step,
                train_cpu_s=train_cpu,
                images_per_s=images_seen / train_cpu,
                loss=loss.item(),
                **scores,
            )
            print(
                f"{args.role} step {step} loss {loss.item():.3f} train CPU {train_cpu:.0f} s "
                f"({images_seen / train_cpu:.1f} img/s) valid BPD "
                f"{-scores['fashion_valid'].mean() / (784 * math.log(2)):.3f} eval CPU {eval_cpu:.0f} s",
                flush=True,
            )


def bpd(log_likelihood: np.ndarray) -> float:
    return float(-np.mean(log_likelihood) / (784 * math.log(2.0)))


def report(args: argparse.Namespace) -> None:
    out = Path(args.out)
    print(
        "| updates | images seen | CPU s fg + bg | img/s fg | fg test BPD | fg valid BPD | bg test BPD "
        "| AUROC log p | AUROC LR [95%] |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for foreground_path in sorted(out.glob(f"foreground_{args.model}_*.npz")):
        background_path = out / foreground_path.name.replace("foreground", "background")
        if not background_path.exists():
            continue
        fg, bg = np.load(foreground_path), np.load(background_path)
        ratio_in = likelihood_ratio(fg["fashion_test"], bg["fashion_test"])
        ratio_out = likelihood_ratio(fg["mnist_test"], bg["mnist_test"])
        interval = bootstrap_auroc(ratio_in, ratio_out)
        step = int(fg["step"])
        print(
            f"| {step} | {step * args.batch} | {float(fg['train_cpu_s']):.0f} + {float(bg['train_cpu_s']):.0f} "
            f"| {float(fg['images_per_s']):.0f} | {bpd(fg['fashion_test']):.3f} | {bpd(fg['fashion_valid']):.3f} "
            f"| {bpd(bg['fashion_test']):.3f} | {ood_metrics(fg['fashion_test'], fg['mnist_test']).auroc:.3f} "
            f"| {interval.format(3)} (n = {len(ratio_in)} + {len(ratio_out)}) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["train", "report"])
    parser.add_argument("--role", choices=["foreground", "background"], default="foreground")
    parser.add_argument("--model", choices=["gated_pixelcnn", "pixelcnn"], default="gated_pixelcnn")
    parser.add_argument("--out", default="build/lr_feasibility")
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--components", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--eval-at", type=int, nargs="*", default=[100, 200, 400, 800])
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--n-eval", type=int, default=1000)
    parser.add_argument("--n-final", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train(args) if args.command == "train" else report(args)


if __name__ == "__main__":
    main()
