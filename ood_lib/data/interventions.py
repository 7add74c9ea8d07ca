r"""Variance-lowering interventions on 8-bit images, and the controls that separate their effects.

Every function takes and returns uint8 images ``(N, H, W, C)``, so the result is dequantized
afresh with full-width noise, :math:`y = (x + u)/256,\ u \sim U[0,1)^D`, exactly like training
data. (Shrinking *dequantized* images would shrink the noise too and leave the distribution the
model was trained on; that is the confound these functions avoid.)

- ``shrink_toward(x, t, centre)``: :math:`\mathrm{round}(c + t (x - c))`, per-pixel variance
  times about :math:`t^2`; with ``foreground_only`` the pixels equal to ``background`` (e.g.
  FashionMNIST's exact-zero surround) are left as they are, so no grey background appears.
  Toward the set's mean image that also darkens the strokes (the mean counts the zeros); toward
  ``foreground_mean(x)``, the per-pixel mean over the images in which that pixel is not
  background, the foreground's mean stays (nearly) where it was and only its variance falls.
- ``desaturate(x, amount)``: :math:`\mathrm{round}(\ell + (1 - a)(x - \ell))` with the luma
  :math:`\ell` broadcast over channels: ``amount = 1`` is graying (three equal channels),
  ``0 < amount < 1`` lowers the chroma variance while the channels stay distinct.
- ``copy_channel(x, c)``: channel ``c`` in all three, the redundancy of graying with
  (almost) the colour image's variance.
"""

from __future__ import annotations

import numpy as np

from ood_lib.data.loaders import to_grayscale


def _images(x_uint8: np.ndarray, colour: bool = False) -> np.ndarray:
    if x_uint8.dtype != np.uint8 or x_uint8.ndim != 4:
        raise ValueError(f"Expected uint8 images (N, H, W, C), got {x_uint8.dtype} {x_uint8.shape}.")
    if colour and x_uint8.shape[-1] != 3:
        raise ValueError(f"Expected RGB images (N, H, W, 3), got {x_uint8.shape[-1]} channels.")
    return x_uint8


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def shrink_toward(
    x_uint8: np.ndarray,
    t: float,
    centre: np.ndarray | float | None = None,
    foreground_only: bool = False,
    background: int = 0,
) -> np.ndarray:
    """``round(centre + t (x - centre))``; ``centre`` defaults to the set's mean image.

    With ``foreground_only`` only pixels that differ from ``background`` move.
    """
    x_uint8 = _images(x_uint8)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"shrink factor t must lie in [0, 1] (1 = the images unchanged), got {t}")
    pixels = x_uint8.astype(np.float64)
    centre = pixels.mean(axis=0) if centre is None else np.asarray(centre, dtype=np.float64)
    shrunk = _to_uint8(centre + t * (pixels - centre))
    if foreground_only:
        shrunk = np.where(x_uint8 == background, x_uint8, shrunk)
    return shrunk


def foreground_mean(x_uint8: np.ndarray, background: int = 0) -> np.ndarray:
    """Per-pixel mean ``(H, W, C)`` over the images in which that pixel differs from ``background``.

    Pixels that are background in every image get ``background``.
    """
    x_uint8 = _images(x_uint8)
    foreground = x_uint8 != background
    counts = foreground.sum(axis=0)
    sums = np.where(foreground, x_uint8, 0).sum(axis=0, dtype=np.float64)
    return np.where(counts > 0, sums / np.maximum(counts, 1), float(background))


def desaturate(x_uint8: np.ndarray, amount: float) -> np.ndarray:
    """Move each RGB pixel toward its luma by ``amount`` (0 = unchanged, 1 = gray in three channels)."""
    x_uint8 = _images(x_uint8, colour=True)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"desaturation amount must lie in [0, 1], got {amount}")
    luma = to_grayscale(x_uint8).astype(np.float64)
    return _to_uint8(luma + (1.0 - amount) * (x_uint8.astype(np.float64) - luma))


def copy_channel(x_uint8: np.ndarray, channel: int) -> np.ndarray:
    """RGB images whose three channels all equal channel ``channel`` (0 = R, 1 = G, 2 = B)."""
    x_uint8 = _images(x_uint8, colour=True)
    if channel not in (0, 1, 2):
        raise ValueError(f"channel must be 0, 1 or 2, got {channel}")
    return np.repeat(x_uint8[..., channel : channel + 1], 3, axis=-1)
