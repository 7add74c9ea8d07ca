"""BPD reached per CPU-minute: train a Glow on FashionMNIST for a fixed wall-clock budget.

Example (the settings the ``quick`` profile's Glow uses, at width 64, for 4 minutes)::

    python benchmarks/time_to_bpd.py --hidden 64 --batch 32 --lr 3e-3 --decay 0.3 --budget-min 4

The loop mirrors the training engine's (``ood_lib.training.engine``): the same seeded minibatches
(``batch_indices``), the same warmup (``learning_rate``), fresh dequantization noise per
update (seeded here by the update number), gradient-norm clipping and multi-tensor Adamax
(or Adam). The clock covers everything a reader waits for during training, ActNorm's
data-dependent first pass included, and stops at ``--budget-min``. ``--decay`` is the
engine's ``TrainConfig.decay_fraction`` expressed as a fraction of the wall-clock budget
(the number of updates is not known in advance); ``--bf16`` is an option the engine does
not have, there to decide whether it should. ``--compile`` compiles the loss as the engine's
``TrainConfig.compile`` does (``ood_lib.training.compiled_step.CompiledLoss``); the compilation, at the first
update, is inside the clock.

Every ``--curve-every-s`` seconds of training the clock is paused and the model
scored on 500 fixed test images per set (the curve); at the end it is scored on
``--n-eval`` fixed FashionMNIST-test and MNIST-test images with fixed noise (mean,
median and the images above 8 BPD, since a few outliers can dominate the mean).
The last line is machine-readable::

    time_to_bpd budget_s=240 steps=... images_per_s=... fashion_mnist_test_bpd=... mnist_test_bpd=...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time

import numpy as np
import torch

from ood_lib import data
from ood_lib.models.flows import COUPLINGS, Glow
from ood_lib.ood import scores
from ood_lib.settings.profiles import TrainConfig
from ood_lib.training.compiled_step import CompiledLoss
from ood_lib.training.evaluation import mean_bits_per_dim
from ood_lib.training.schedule import learning_rate
from ood_lib.training.streams import batch_indices

OPTIMIZERS = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax}
CURVE_EVAL_SIZE = 500


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--coupling", choices=sorted(COUPLINGS), default="affine")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=200, help="linear learning-rate warmup (updates)")
    parser.add_argument(
        "--decay",
        type=float,
        default=0.0,
        help="fraction of the budget at the end over which the learning rate falls linearly to 0",
    )
    parser.add_argument("--grad-clip", type=float, default=50.0)
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adamax")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast for the whole loss (CPU)")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the loss as the engine does with TrainConfig.compile (compile time counts as training)",
    )
    parser.add_argument("--budget-min", type=float, default=4.0, help="training wall-clock budget (minutes)")
    parser.add_argument("--curve-every-s", type=float, default=60.0, help="score the curve subset this often")
    parser.add_argument("--n-eval", type=int, default=2000, help="test images per set in the final score")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default="", help="free text copied to the last line")
    parser.add_argument("--save", default="", help="write the trained model's config and state_dict here")
    return parser.parse_args()


def fixed_test_images(name: str, n: int) -> torch.Tensor:
    """The same ``n`` test images of ``name`` on every run (seed 0)."""
    x_uint8, _ = data.load(name, "test")
    return data.to_tensor(x_uint8[data.subset_indices(len(x_uint8), n, seed=0)])


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    x_train = data.to_tensor(data.load("fashion_mnist", "train")[0])
    tests = {name: fixed_test_images(name, args.n_eval) for name in ("fashion_mnist", "mnist")}
    curve_tests = {name: x[:CURVE_EVAL_SIZE] for name, x in tests.items()}
    model = Glow((1, 28, 28), levels=args.levels, steps=args.steps, hidden=args.hidden, coupling=args.coupling)
    schedule = TrainConfig(
        n_steps=0,
        batch_size=args.batch,
        lr=args.lr,
        warmup_steps=args.warmup,
        grad_clip=args.grad_clip,
        eval_every=0,
        checkpoint_every=0,
        n_train=None,
        n_eval=0,
    )
    optimizer_options = {"fused" if args.optimizer == "adam" else "foreach": True}
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), lr=args.lr, **optimizer_options)
    precision = torch.autocast("cpu", dtype=torch.bfloat16) if args.bf16 else contextlib.nullcontext()
    budget_s = 60.0 * args.budget_min
    print(
        f"config={model.config} params={sum(p.numel() for p in model.parameters())} args={vars(args)} "
        f"torch={torch.__version__} threads={torch.get_num_threads()}",
        flush=True,
    )

    def lr_at(step: int, elapsed_s: float) -> float:
        warm = learning_rate(step, schedule)
        if args.decay <= 0:
            return warm
        return warm * min(1.0, (budget_s - elapsed_s) / (args.decay * budget_s))

    bits_per_dim = CompiledLoss(model.bits_per_dim, enabled=args.compile)  # compiled at the first update

    def noise_for(step: int) -> torch.Generator:
        return torch.Generator().manual_seed(args.seed * 1_000_003 + step)

    curve = []
    step, trained_s, next_curve_s = 0, 0.0, args.curve_every_s
    model.train()
    clock_start = time.perf_counter()
    with torch.no_grad():  # as the engine: ActNorm's data-dependent initialisation eagerly, on update 0's batch
        model.bits_per_dim(x_train[batch_indices(0, len(x_train), args.batch, args.seed)], generator=noise_for(0))
    while trained_s < budget_s:
        batch = x_train[batch_indices(step, len(x_train), args.batch, args.seed)]
        noise = noise_for(step)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, trained_s)
        with precision:
            loss = bits_per_dim(batch, generator=noise).float().mean()
        if not torch.isfinite(loss):
            raise SystemExit(f"loss is {loss.item()} at step {step}: lower --lr or raise --warmup")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip, foreach=True)
        optimizer.step()
        step += 1
        trained_s = time.perf_counter() - clock_start
        if step == 1:
            print(f"first update (ActNorm's initialisation and any compilation) took {trained_s:.1f} s", flush=True)
        if trained_s >= next_curve_s or trained_s >= budget_s:
            point = {"seconds": round(trained_s, 1), "step": step, "train_loss": round(loss.item(), 4)}
            point.update(
                {
                    f"{name}_bpd": round(mean_bits_per_dim(model, x, device, seed=0), 4)
                    for name, x in curve_tests.items()
                }
            )
            print(json.dumps(point), flush=True)
            curve.append(point)
            next_curve_s += args.curve_every_s
            clock_start += time.perf_counter() - clock_start - trained_s  # evaluation is not training time

    per_image = {name: scores.bits_per_dim(model, x, seed=0) for name, x in tests.items()}
    for name, values in per_image.items():
        print(
            f"{name}: mean {values.mean():.4f} median {np.median(values):.4f} max {values.max():.2f} "
            f"images above 8 BPD: {int((values > 8).sum())} of {len(values)}"
        )
    if args.save:
        torch.save({"config": model.config, "model_state": model.state_dict(), "args": vars(args)}, args.save)
    final = {name: float(values.mean()) for name, values in per_image.items()}
    print(
        f"time_to_bpd budget_s={budget_s:.0f} steps={step} images_per_s={step * args.batch / trained_s:.1f} "
        f"fashion_mnist_test_bpd={final['fashion_mnist']:.4f} mnist_test_bpd={final['mnist']:.4f} "
        f"label={args.label or '-'}"
    )


if __name__ == "__main__":
    main()
