"""The errors of the training engine (``ood_lib.training.engine``, which also exports them)."""

from __future__ import annotations

from pathlib import Path


class TrainingDivergedError(RuntimeError):
    """The training loss or its gradient became NaN or infinite.

    ``step`` is the number of updates done before the bad one, ``checkpoint_path``
    the last good checkpoint (None if none was written yet), which is left untouched.
    """

    def __init__(self, step: int, loss: float, checkpoint_path: Path | None, checkpoint_step: int | None):
        self.step = step
        self.loss = loss
        self.checkpoint_path = checkpoint_path
        self.checkpoint_step = checkpoint_step
        if checkpoint_path is None:
            where = "No checkpoint was written yet."
        else:
            where = f"The last good checkpoint (step {checkpoint_step}) is {checkpoint_path}."
        super().__init__(
            f"Training diverged at step {step}: loss or gradient norm is {loss}. {where} "
            "Try a lower learning rate, a longer warmup or a smaller grad_clip."
        )


class CheckpointMismatchError(ValueError):
    """A checkpoint exists at the given path but belongs to a different run (model, data or config)."""
