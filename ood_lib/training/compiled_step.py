"""The compiled training step: the loss through ``torch.compile``, with a fallback to eager.

``train`` (``ood_lib.training.engine``) computes each update's loss through :class:`CompiledLoss` when
:func:`compile_enabled` says so (``TrainConfig.compile``, else ``$OOD_COMPILE=0|1``, default off).
``torch.compile`` traces the forward pass into graphs and fuses the element-wise work around the
convolutions; the backward pass is compiled with it. A failure to compile shows up at the first call:
the caller hands it to :meth:`CompiledLoss.fall_back`, which logs one line and computes eagerly from
then on. The loss and log-determinants stay float32. Compilation costs tens of seconds per model and
input shape on a CPU (more on a busy one), counted in the measured training time; the results equal
eager ones to float tolerance, not bit for bit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import torch

from ood_lib.settings.profiles import TrainConfig

log = logging.getLogger(__name__)

# The environment variable that switches the compiled training step when TrainConfig.compile is None.
COMPILE_ENV = "OOD_COMPILE"
# torch.compile's backend for the training step (tests and CPU smoke runs may swap in "aot_eager").
COMPILE_BACKEND: str | Callable = "inductor"


def compile_enabled(config: TrainConfig) -> bool:
    """Whether ``train`` compiles the loss: ``config.compile`` if set, else ``$OOD_COMPILE`` (``0``/``1``), else off."""
    if config.compile is not None:
        return bool(config.compile)
    value = os.environ.get(COMPILE_ENV, "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{COMPILE_ENV}={value!r} is not one of: 0, 1 (default: 0).")
    return value == "1"


class CompiledLoss:
    """``forward`` (e.g. ``model.bits_per_dim``) through ``torch.compile``, or eager once compilation failed.

    ``torch.compile`` compiles lazily, at the first call (and the backward at the first backward
    pass), so a failure shows up there: the caller hands it to :meth:`fall_back`, which logs
    one line and makes every later call eager. ``active`` says whether calls still compile.
    """

    def __init__(self, forward: Callable, enabled: bool = True, backend: str | Callable | None = None) -> None:
        self.eager = forward
        self.compiled: Callable | None = None
        if enabled:
            try:
                self.compiled = torch.compile(forward, backend=backend or COMPILE_BACKEND, dynamic=False)
            except Exception as error:  # e.g. a Python version torch.compile does not support
                self.fall_back(error)

    @property
    def active(self) -> bool:
        """Whether calls still go through the compiled function."""
        return self.compiled is not None

    def __call__(self, *args, **kwargs) -> torch.Tensor:
        return (self.compiled or self.eager)(*args, **kwargs)

    def fall_back(self, error: BaseException) -> None:
        """Log that compilation is unavailable or failed (one line) and compute eagerly from now on."""
        self.compiled = None
        cause = error
        while getattr(cause, "inner_exception", None) or cause.__cause__:  # dynamo wraps the backend's error
            cause = getattr(cause, "inner_exception", None) or cause.__cause__
        reason = (str(cause).strip().splitlines() or [""])[0][:200]
        log.warning(
            "torch.compile unavailable or failed (%s: %s); training with the eager (uncompiled) step.",
            type(cause).__name__,
            reason,
        )
