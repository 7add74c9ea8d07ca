r"""Brute-force Jacobians of per-example maps, to check analytic log-determinants.

A flow layer maps each example x in R^D to y = f(x) in R^D. Its Jacobian
J(x) = \partial f / \partial x is a dense D x D matrix: building it with autograd
costs D backward passes and \log|\det J| an O(D^3) ``slogdet``, so this is only
for tiny inputs, in float64, as the reference the layers' O(D) formulas are
tested against.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


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
