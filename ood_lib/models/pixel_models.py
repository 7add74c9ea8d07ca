r"""Independent per-pixel density models of 8-bit images: the simplest likelihood baselines.

Both models factorise over the D pixels of an image, Q(x) = \prod_d Q_d(x_d) with
x_d in {0, ..., 255}, and give an *exact* discrete log-likelihood (no dequantization
bound), so their bits per dimension are

    BPD(x) = -\log_2 Q(x) / D = -\sum_d \log Q_d(x_d) / (D \ln 2).

- :class:`PixelHistogram`: a 256-way categorical per pixel, fitted by counting with
  add-alpha (Laplace for alpha = 1) smoothing,
  Q_d(v) = (n_{d,v} + \alpha) / (N + 256 \alpha).
- :class:`PixelGaussian`: a Gaussian per pixel on the [0, 1) scale, truncated to
  [0, 1) and integrated over each pixel's bin [v/256, (v+1)/256), so the 256 bin
  masses sum to exactly 1. It also exposes its continuous density q, so the
  dequantization bound E_u[\log q(y)] <= \log Q(x) can be checked in closed form.

Images are ``uint8`` arrays of shape ``(N, *pixel_shape)``, e.g. ``(N, 28, 28, 1)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

NUM_VALUES = 256
BIN_WIDTH = 1.0 / NUM_VALUES
_LOG_2PI = math.log(2.0 * math.pi)
_FIT_CHUNK = 4096


def _check_images(x_uint8: np.ndarray, pixel_shape: tuple[int, ...] | None = None) -> None:
    """Raise unless ``x_uint8`` is a uint8 array (N, *pixel_shape) with N >= 1."""
    if not isinstance(x_uint8, np.ndarray) or x_uint8.dtype != np.uint8:
        raise TypeError(
            f"Expected a uint8 numpy array of images, got {type(x_uint8).__name__} {getattr(x_uint8, 'dtype', '')}."
        )
    if x_uint8.ndim < 2 or len(x_uint8) == 0:
        raise ValueError(f"Expected images (N, *pixel_shape) with N >= 1, got shape {x_uint8.shape}.")
    if pixel_shape is not None and tuple(x_uint8.shape[1:]) != tuple(pixel_shape):
        raise ValueError(f"Images have pixel shape {tuple(x_uint8.shape[1:])}, the model expects {tuple(pixel_shape)}.")


def bits_per_dim_from_discrete_log_prob(log_prob: np.ndarray, num_dims: int) -> np.ndarray:
    """BPD = -log Q(x) / (D ln 2) for exact discrete log-probabilities ``log_prob`` in nats."""
    return -np.asarray(log_prob) / (num_dims * math.log(2.0))


def log_normal_interval_mass(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    r"""\log(\Phi(b) - \Phi(a)) for standardised bounds a = ``lower`` < b = ``upper``, elementwise.

    Stable in both tails: for a > 0 it uses \Phi(b) - \Phi(a) = \Phi(-a) - \Phi(-b), then
    \log\Phi(b) + \log(1 - e^{\log\Phi(a) - \log\Phi(b)}) with ``log_ndtr`` and ``expm1``.
    """
    lower, upper = np.broadcast_arrays(np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64))
    flip = lower > 0
    a = np.where(flip, -upper, lower)
    b = np.where(flip, -lower, upper)
    log_cdf_b = log_ndtr(b)
    return log_cdf_b + np.log(-np.expm1(log_ndtr(a) - log_cdf_b))


class PixelHistogram:
    r"""A 256-way categorical distribution per pixel, independent across pixels.

    ``log_probs[..., v]`` = \log Q_d(v); every pixel's 256 probabilities sum to 1.
    """

    def __init__(self, log_probs: np.ndarray) -> None:
        log_probs = np.asarray(log_probs, dtype=np.float64)
        if log_probs.ndim < 2 or log_probs.shape[-1] != NUM_VALUES:
            raise ValueError(f"log_probs must have shape (*pixel_shape, {NUM_VALUES}), got {log_probs.shape}.")
        self.log_probs = log_probs

    @classmethod
    def fit(cls, x_uint8: np.ndarray, alpha: float = 1.0) -> PixelHistogram:
        r"""Add-alpha estimate Q_d(v) = (n_{d,v} + \alpha) / (N + 256 \alpha) from images (N, *pixel_shape)."""
        _check_images(x_uint8)
        if alpha <= 0:
            raise ValueError(f"alpha must be positive (a value never seen would get probability 0), got {alpha}.")
        pixel_shape = x_uint8.shape[1:]
        num_dims = math.prod(pixel_shape)
        offsets = NUM_VALUES * np.arange(num_dims, dtype=np.int64)
        counts = np.zeros(num_dims * NUM_VALUES, dtype=np.int64)
        for start in range(0, len(x_uint8), _FIT_CHUNK):
            block = x_uint8[start : start + _FIT_CHUNK].reshape(-1, num_dims).astype(np.int64) + offsets
            counts += np.bincount(block.ravel(), minlength=num_dims * NUM_VALUES)
        probs = (counts.reshape(*pixel_shape, NUM_VALUES) + alpha) / (len(x_uint8) + NUM_VALUES * alpha)
        return cls(np.log(probs))

    @property
    def pixel_shape(self) -> tuple[int, ...]:
        """Shape of one image, e.g. (28, 28, 1)."""
        return self.log_probs.shape[:-1]

    @property
    def num_dims(self) -> int:
        """D, the number of pixels per image."""
        return math.prod(self.pixel_shape)

    def log_prob_per_pixel(self, x_uint8: np.ndarray) -> np.ndarray:
        """\\log Q_d(x_d) for every pixel, shape (N, *pixel_shape), nats."""
        _check_images(x_uint8, self.pixel_shape)
        flat_log_probs = self.log_probs.reshape(self.num_dims, NUM_VALUES)
        flat_x = x_uint8.reshape(len(x_uint8), self.num_dims)
        return flat_log_probs[np.arange(self.num_dims), flat_x].reshape(x_uint8.shape)

    def log_prob(self, x_uint8: np.ndarray) -> np.ndarray:
        """\\log Q(x) = sum_d \\log Q_d(x_d) per image, shape (N,), nats."""
        return self.log_prob_per_pixel(x_uint8).reshape(len(x_uint8), -1).sum(axis=1)

    def bits_per_dim(self, x_uint8: np.ndarray) -> np.ndarray:
        """-\\log_2 Q(x) / D per image."""
        return bits_per_dim_from_discrete_log_prob(self.log_prob(x_uint8), self.num_dims)

    def entropy_per_pixel(self) -> np.ndarray:
        """H(Q_d) = -sum_v Q_d(v) \\log Q_d(v) in nats, shape pixel_shape."""
        return -(np.exp(self.log_probs) * self.log_probs).sum(axis=-1)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n independent images (n, *pixel_shape) uint8, each pixel drawn from its Q_d (inverse CDF)."""
        cdf = np.cumsum(np.exp(self.log_probs.reshape(self.num_dims, NUM_VALUES)), axis=1)
        uniforms = rng.random((n, self.num_dims, 1)) * cdf[:, -1:]
        values = (uniforms >= cdf[None]).sum(axis=2)
        return np.minimum(values, NUM_VALUES - 1).astype(np.uint8).reshape(n, *self.pixel_shape)


class PixelGaussian:
    r"""A Gaussian per pixel on the [0, 1) scale, truncated to [0, 1), independent across pixels.

    Continuous density of y in [0, 1)^D (zero outside):

        q(y) = \prod_d N(y_d; \mu_d, s_d^2) / Z_d,   Z_d = \Phi((1 - \mu_d)/s_d) - \Phi(-\mu_d/s_d).

    Discrete model: the mass of pixel value v's bin [v/256, (v+1)/256),

        Q_d(v) = [\Phi(((v+1)/256 - \mu_d)/s_d) - \Phi((v/256 - \mu_d)/s_d)] / Z_d,

    which sums to 1 over v = 0..255.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        mean = np.asarray(mean, dtype=np.float64)
        std = np.asarray(std, dtype=np.float64)
        if mean.shape != std.shape or mean.ndim == 0:
            raise ValueError(f"mean and std must share one pixel shape, got {mean.shape} and {std.shape}.")
        if not np.all(std > 0):
            raise ValueError("Every std must be positive.")
        self.mean = mean
        self.std = std
        self._log_normaliser = log_normal_interval_mass(-mean / std, (1.0 - mean) / std)

    @classmethod
    def fit(cls, x_uint8: np.ndarray) -> PixelGaussian:
        r"""Moments of the dequantized data y = (x + u)/256, u ~ U[0, 1):

        \mu_d = (\bar{x}_d + 1/2) / 256,   s_d^2 = (\mathrm{Var}(x_d) + 1/12) / 256^2.

        (The untruncated Gaussian with these moments is the maximum-likelihood Gaussian
        for the dequantized data; truncation to [0, 1) then renormalises it.)
        """
        _check_images(x_uint8)
        pixel_shape = x_uint8.shape[1:]
        total = np.zeros(pixel_shape, dtype=np.int64)
        total_sq = np.zeros(pixel_shape, dtype=np.int64)
        for start in range(0, len(x_uint8), _FIT_CHUNK):
            block = x_uint8[start : start + _FIT_CHUNK].astype(np.int64)
            total += block.sum(axis=0)
            total_sq += np.square(block).sum(axis=0)
        count = len(x_uint8)
        mean_pixel = total / count
        var_pixel = np.maximum(total_sq / count - mean_pixel**2, 0.0)
        return cls((mean_pixel + 0.5) * BIN_WIDTH, np.sqrt(var_pixel + 1.0 / 12.0) * BIN_WIDTH)

    @property
    def pixel_shape(self) -> tuple[int, ...]:
        """Shape of one image, e.g. (28, 28, 1)."""
        return self.mean.shape

    @property
    def num_dims(self) -> int:
        """D, the number of pixels per image."""
        return math.prod(self.pixel_shape)

    def log_prob_per_pixel(self, x_uint8: np.ndarray) -> np.ndarray:
        """Exact \\log Q_d(x_d) for every pixel, shape (N, *pixel_shape), nats."""
        _check_images(x_uint8, self.pixel_shape)
        lower = (x_uint8 * BIN_WIDTH - self.mean) / self.std
        upper = ((x_uint8 + 1.0) * BIN_WIDTH - self.mean) / self.std
        return log_normal_interval_mass(lower, upper) - self._log_normaliser

    def log_prob(self, x_uint8: np.ndarray) -> np.ndarray:
        """Exact discrete \\log Q(x) per image, shape (N,), nats."""
        return self.log_prob_per_pixel(x_uint8).reshape(len(x_uint8), -1).sum(axis=1)

    def bits_per_dim(self, x_uint8: np.ndarray) -> np.ndarray:
        """-\\log_2 Q(x) / D per image (exact, no dequantization bound)."""
        return bits_per_dim_from_discrete_log_prob(self.log_prob(x_uint8), self.num_dims)

    def continuous_log_prob(self, y: np.ndarray) -> np.ndarray:
        """\\log q(y) per image for y of shape (N, *pixel_shape) on the [0, 1) scale; -inf outside [0, 1)^D."""
        y = np.asarray(y, dtype=np.float64)
        if y.shape[1:] != self.pixel_shape:
            raise ValueError(f"y has pixel shape {y.shape[1:]}, the model expects {self.pixel_shape}.")
        standardised = (y - self.mean) / self.std
        per_pixel = -0.5 * (_LOG_2PI + standardised**2) - np.log(self.std) - self._log_normaliser
        per_pixel = np.where((y >= 0.0) & (y < 1.0), per_pixel, -np.inf)
        return per_pixel.reshape(len(y), -1).sum(axis=1)

    def expected_dequantized_log_prob(self, x_uint8: np.ndarray) -> np.ndarray:
        r"""E_u[\log q((x + u)/256)], u ~ U[0, 1)^D, in closed form, per image (nats, [0, 1) scale).

        With bin centre c_d = (x_d + 1/2)/256 and bin width w = 1/256, y_d is uniform on the
        bin, so E[(y_d - \mu_d)^2] = (c_d - \mu_d)^2 + w^2/12 and

            E_u[\log q(y)] = \sum_d -\tfrac12 \log 2\pi - \log s_d - \log Z_d
                             - [(c_d - \mu_d)^2 + w^2/12] / (2 s_d^2).

        By Jensen, E_u[\log q(y)] - D \log 256 <= \log Q(x).
        """
        _check_images(x_uint8, self.pixel_shape)
        centre = (x_uint8 + 0.5) * BIN_WIDTH
        mean_square = (centre - self.mean) ** 2 + BIN_WIDTH**2 / 12.0
        per_pixel = -0.5 * _LOG_2PI - np.log(self.std) - self._log_normaliser - mean_square / (2.0 * self.std**2)
        return per_pixel.reshape(len(x_uint8), -1).sum(axis=1)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n images (n, *pixel_shape) uint8 drawn from Q: y ~ q by the truncated inverse CDF, then floor(256 y)."""
        low = ndtr(-self.mean / self.std)
        high = ndtr((1.0 - self.mean) / self.std)
        uniforms = low + rng.random((n, *self.pixel_shape)) * (high - low)
        y = self.mean + self.std * ndtri(uniforms)
        return np.clip(np.floor(y * NUM_VALUES), 0, NUM_VALUES - 1).astype(np.uint8)
