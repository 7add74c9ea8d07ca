r"""Brute-force Jacobians of per-example maps, to check analytic log-determinants.

A flow layer maps each example x in R^D to y = f(x) in R^D. Its Jacobian
J(x) = \partial f / \partial x is a dense D x D matrix: building it with autograd
costs D backward passes and \log|\det J| an O(D^3) ``slogdet``, so this is only
for tiny inputs, in float64, as the reference the layers' O(D) formulas are
tested against.

For larger inputs, :func:`largest_singular_value` estimates the local Lipschitz
constant :math:`\|J(x)\|_2` by power iteration on :math:`J^\top J`, with one
Jacobian-vector and one vector-Jacobian product per iteration and no dense J.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import jvp, vjp


def per_example_jacobian(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    r"""J_n = \partial\,\mathrm{vec}(fn(x)_n) / \partial\,\mathrm{vec}(x_n) for every example n, shape (N, D_out, D_in).

    ``fn`` maps a batch (N, ...) to a batch (N, ...) and must treat examples
    independently (e.g. a layer in eval mode); it is called on one example at a time.
    """
    if x.ndim < 2:
        raise ValueError(f"x must be a batch (N, ...), got shape {tuple(x.shape)}.")
    example_shape = x.shape[1:]

    def flat_map(x_flat: Tensor) -> Tensor:
        return fn(x_flat.view(1, *example_shape)).reshape(-1)

    return torch.stack([torch.autograd.functional.jacobian(flat_map, example.reshape(-1)) for example in x])


def brute_force_log_abs_det(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    r"""\log|\det \partial fn/\partial x| per example, shape (N,), from the dense Jacobian and ``slogdet``.

    Computed in float64 (``x`` is converted; ``fn``'s parameters should be float64 too).
    Raises if fn does not map R^D to R^D.
    """
    jacobians = per_example_jacobian(fn, x.double())
    if jacobians.shape[1] != jacobians.shape[2]:
        raise ValueError(f"fn maps R^{jacobians.shape[2]} to R^{jacobians.shape[1]}: no determinant.")
    return torch.linalg.slogdet(jacobians)[1]


def largest_singular_value(
    fn: Callable[[Tensor], Tensor], x: Tensor, num_iterations: int = 30, seed: int = 0, batch_size: int = 64
) -> Tensor:
    r"""Power-iteration estimate of \|\partial fn / \partial x\|_2 at each example, shape (N,).

    Iterates :math:`v \leftarrow J^\top J v / \|J^\top J v\|` from a seeded random start
    and returns :math:`\|J v\|`. ``fn`` maps a batch to a batch and must treat examples
    independently, so one batched JVP/VJP handles a whole chunk of ``batch_size`` examples
    (chunks bound the memory the stored forward pass needs). The estimate approaches the
    largest singular value from below: it is never above it (up to rounding).
    """
    if x.ndim < 2:
        raise ValueError(f"x must be a batch (N, ...), got shape {tuple(x.shape)}.")
    generator = torch.Generator(device=x.device).manual_seed(seed)
    start_directions = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)

    def normalised(batch: Tensor) -> Tensor:
        norms = batch.flatten(1).norm(dim=1).clamp_min(torch.finfo(batch.dtype).tiny)
        return (batch / norms.view(-1, *([1] * (batch.ndim - 1)))).detach()

    estimates = []
    for start in range(0, len(x), batch_size):
        chunk = x[start : start + batch_size].detach()
        direction = normalised(start_directions[start : start + batch_size])
        _, pullback = vjp(fn, chunk)
        for _ in range(num_iterations):
            _, image = jvp(fn, (chunk,), (direction,))
            direction = normalised(pullback(image.detach())[0])
        _, image = jvp(fn, (chunk,), (direction,))
        estimates.append(image.flatten(1).norm(dim=1).detach())
    return torch.cat(estimates)
