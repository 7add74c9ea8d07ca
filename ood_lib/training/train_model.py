"""``python -m ood_lib.training.train_model MODEL DATA [--profile P] [--seed S] ...``: one zoo model from the shell.

Trains exactly what ``zoo.get(MODEL, DATA, profile, variant=Variant(seed=S, ...))`` would (same
cache path, configuration, checkpoints and resume), so the chapters then find the model in the
cache. Every variant can be trained: ``--perturbation-rate`` (likelihood-ratio background
models), ``--outliers-from`` (outlier exposure; ``--outlier-margin BPD`` chooses its margin in bits
per dimension, default ``zoo.OUTLIER_MARGIN_BPD``), ``--input-independent-split-prior`` (a Glow whose
split priors do not depend on the input), ``--no-lr-decay`` (a constant learning rate) and
``--bf16``. ``--compile`` / ``--no-compile`` switch the compiled training step
(``ood_lib.training.engine``; default ``$OOD_COMPILE``, else off), which does not change which
model is trained or where it is cached.

Under ``torchrun`` (``WORLD_SIZE`` > 1) it initialises PyTorch's process group, NCCL with one
GPU per process (``LOCAL_RANK``) or gloo on CPUs, and the training engine splits every global
batch across the ranks (``ood_lib.training.engine.train``); rank 0 writes the files::

    torchrun --nproc_per_node 4 -m ood_lib.training.train_model glow cifar10 --profile full
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.distributed as dist

from ood_lib import data
from ood_lib.settings.profiles import PROFILES, get_profile
from ood_lib.training import zoo
from ood_lib.training.compiled_step import COMPILE_ENV


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ood_lib.training.train_model", description=__doc__.splitlines()[0])
    parser.add_argument("model", help=f"one of: {', '.join(zoo.MODEL_BUILDERS)}")
    parser.add_argument("data", help=f"training data set, one of: {', '.join(data.SPECS)}")
    parser.add_argument("--profile", help=f"one of: {', '.join(PROFILES)} (default: $OOD_PROFILE, else by device)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (0 = the book's models)")
    parser.add_argument(
        "--bf16", action="store_true", help="bfloat16 autocast and TF32 (GPU); saved as a model of its own"
    )
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile the training step, or not (default: $OOD_COMPILE, else off); not part of the model's "
        "identity, so the cached model is the same either way",
    )
    parser.add_argument("--perturbation-rate", type=float, default=0.0, help="train on perturbed inputs (0 = off)")
    parser.add_argument("--outliers-from", help="fine-tune with outlier exposure on this data set's training split")
    parser.add_argument(
        "--outlier-margin",
        type=float,
        metavar="BPD",
        help="outlier exposure's margin in bits per dimension, with --outliers-from "
        f"(default {zoo.OUTLIER_MARGIN_BPD:g}; another margin is a model of its own)",
    )
    parser.add_argument(
        "--input-independent-split-prior",
        action="store_true",
        help="Glow / CV-Glow only: split priors with learned constants instead of a function of the kept half",
    )
    parser.add_argument(
        "--no-lr-decay", action="store_true", help="a constant learning rate (the profile's decay fraction set to 0)"
    )
    return parser


def _start_process_group() -> tuple[int, int]:
    """Join torchrun's process group if there is one; return (rank, world size)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return 0, 1
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        os.environ["OOD_DEVICE"] = f"cuda:{local_rank}"
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size()


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, train (or load) the model, print one summary line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.model not in zoo.MODEL_BUILDERS:
        parser.error(f"unknown model {args.model!r}; valid models: {', '.join(zoo.MODEL_BUILDERS)}")
    if args.data not in data.SPECS:
        parser.error(f"unknown data set {args.data!r}; valid data sets: {', '.join(data.SPECS)}")
    if args.profile is not None and args.profile not in PROFILES:
        parser.error(f"unknown profile {args.profile!r}; valid profiles: {', '.join(PROFILES)}")
    if args.seed < 0:
        parser.error(f"the seed must be >= 0, got {args.seed}")
    if not 0 <= args.perturbation_rate <= 1:
        parser.error(f"the perturbation rate must be in [0, 1], got {args.perturbation_rate}")
    if args.outliers_from is not None and args.outliers_from not in data.SPECS:
        parser.error(f"unknown outlier data set {args.outliers_from!r}; valid data sets: {', '.join(data.SPECS)}")
    if args.outlier_margin is not None:
        if args.outliers_from is None:
            parser.error(
                "--outlier-margin is an outlier-exposure option: pass --outliers-from DATA with it, or leave it out"
            )
        problem = zoo.outlier_margin_problem(args.outlier_margin)
        if problem is not None:
            parser.error(f"--outlier-margin: {problem}")
    if args.compile is not None:  # reaches the engine through the profile's TrainConfig.compile = None
        os.environ[COMPILE_ENV] = "1" if args.compile else "0"
    variant = zoo.Variant(
        args.seed,
        args.perturbation_rate,
        args.outliers_from,
        args.bf16,
        input_independent_split_prior=args.input_independent_split_prior,
        no_lr_decay=args.no_lr_decay,
        outlier_margin=args.outlier_margin,
    )
    profile = get_profile(args.profile)
    rank, world_size = _start_process_group()
    try:
        trained = zoo.get(args.model, args.data, profile, variant=variant)
    finally:
        if world_size > 1:
            dist.destroy_process_group()
    if rank == 0:
        final = ", ".join(f"{name} {values[-1]:.3f}" for name, values in trained.history["eval"].items() if values)
        print(f"{args.model} on {args.data} ({profile.name}, seed {args.seed}, {world_size} process(es)): ")
        print(f"  {trained.provenance()}; last evaluation (BPD): {final}; file {trained.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
