# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Dequantization and bits per dimension
#
# Every number in the paper's Figure 1 is a *bits per dimension* (BPD) of a continuous
# density model (Glow) on 8-bit images. Pixels are integers, densities are continuous; this
# chapter makes the bridge between the two precise, because the paper's whole argument is a
# comparison of such numbers:
#
# 1. a continuous density fitted to integer data can reach arbitrarily high likelihood,
#    so the raw number means nothing;
# 2. adding uniform noise (*dequantization*) fixes that, and by Jensen's inequality the
#    dequantized log-likelihood is a lower bound of an honest discrete log-likelihood;
# 3. BPD is that discrete log-likelihood in bits, divided by the number of dimensions; its
#    $D \log 256$ term and its conventions;
# 4. a first density model on real data, one independent distribution per pixel, already
#    gives MNIST a better score than the FashionMNIST test set it was not trained on;
# 5. why small differences in log-likelihood say little about a model (Theis et al. 2016).

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.special import logsumexp

from ood_lib import bpd, data, intervals, plots
from ood_lib import scores as ood_scores
from ood_lib.findings import finding, sanity_check
from ood_lib.pixel_models import PixelGaussian, PixelHistogram, log_normal_interval_mass
from ood_lib.profile import chapter_footer, chapter_header

profile = chapter_header("01 · Dequantization and bits per dimension")

# %% [markdown]
# ## 1. A density on integers is ill-posed
#
# Take one pixel, the centre pixel (14, 14) of all 10 000 FashionMNIST test images: 10 000
# integers in $\{0, \dots, 255\}$ with empirical frequencies $\hat\pi_k$. The best any
# *discrete* model can do on these data is $\hat\pi$ itself, with average log-likelihood
# $\sum_k \hat\pi_k \log \hat\pi_k = -H(\hat\pi)$ (Gibbs' inequality).
#
# Now fit a *continuous* density instead: the mixture
#
# $$q_\sigma(y) = \sum_{k=0}^{255} \hat\pi_k\, \mathcal{N}\!\left(y;\ k + \tfrac12,\ \sigma^2\right),$$
#
# one narrow Gaussian on each value's bin $[k, k+1)$. Placing each integer $x$ at its bin centre
# $x + \frac12$ and scoring the density there gives
# $\log q_\sigma(x + \frac12) \approx \log \hat\pi_x - \log(\sigma\sqrt{2\pi})$, which grows
# without bound as $\sigma \to 0$: the model "wins" by putting spikes on the 256 values, a
# density can exceed 1 and nothing stops it. Any continuous model with enough capacity does
# this on undithered pixels.
#
# **Uniform dequantization** scores instead $y = x + u$, $u \sim U[0, 1)$: the average
# $\mathbb{E}_u[\log q_\sigma(x + u)]$. A spike now only covers a sliver of the bin, and the
# rest of the bin has almost no density: as $\sigma \to 0$ this goes to $-\infty$. The figure
# also shows the discrete model the mixture defines, the mass of each bin
# $Q_\sigma(x) = \int_x^{x+1} q_\sigma(y)\,dy$, whose log-likelihood can never exceed $-H(\hat\pi)$.
# The expectation over $u$ is computed with 48-node Gauss-Legendre quadrature on each bin.

# %%
centre_pixel = data.load("fashion_mnist", "test")[0][:, 14, 14, 0].astype(np.int64)
frequencies = np.bincount(centre_pixel, minlength=256) / len(centre_pixel)
support = np.flatnonzero(frequencies)
log_weights = np.log(frequencies[support])
empirical_log_lik = float(frequencies[support] @ log_weights)  # -H(pi_hat), nats
quadrature_nodes, quadrature_weights = np.polynomial.legendre.leggauss(48)
quadrature_nodes, quadrature_weights = (quadrature_nodes + 1) / 2, quadrature_weights / 2  # on [0, 1)


def mixture_log_density(y: np.ndarray, sigma: float) -> np.ndarray:
    """log q_sigma(y) = log sum_k pi_k N(y; k + 1/2, sigma^2), elementwise."""
    offsets = y[..., None] - (support + 0.5)
    return logsumexp(log_weights - 0.5 * math.log(2 * math.pi) - math.log(sigma) - offsets**2 / (2 * sigma**2), axis=-1)


def mixture_log_bin_mass(sigma: float) -> np.ndarray:
    """log Q_sigma(x) = log sum_k pi_k [Phi((x + 1 - k - 1/2)/sigma) - Phi((x - k - 1/2)/sigma)], x in support."""
    lower = (support[:, None] - support[None, :] - 0.5) / sigma
    return logsumexp(log_weights + log_normal_interval_mass(lower, lower + 1.0 / sigma), axis=1)


sigmas = np.logspace(-6, 2, 49)
raw_log_lik, dequantized_log_lik, discrete_log_lik = [], [], []
for sigma in sigmas:
    raw_log_lik.append(frequencies[support] @ mixture_log_density(support + 0.5, sigma))
    bin_averages = mixture_log_density(support[:, None] + quadrature_nodes, sigma) @ quadrature_weights
    dequantized_log_lik.append(frequencies[support] @ bin_averages)
    discrete_log_lik.append(frequencies[support] @ mixture_log_bin_mass(sigma))
raw_log_lik, dequantized_log_lik, discrete_log_lik = map(np.array, (raw_log_lik, dequantized_log_lik, discrete_log_lik))

fig, ax = plt.subplots(figsize=(9.5, 3.8))
zoom = ax.inset_axes([0.6, 0.52, 0.37, 0.4])  # upper right: no curve passes there
for axis in (ax, zoom):
    axis.semilogx(sigmas, raw_log_lik, label=r"raw: $\log q_\sigma(x + \frac{1}{2})$")
    axis.semilogx(sigmas, dequantized_log_lik, label=r"dequantized: $\mathbb{E}_u \log q_\sigma(x + u)$")
    axis.semilogx(sigmas, discrete_log_lik, "--", label=r"discrete: $\log Q_\sigma(x)$")
    axis.axhline(empirical_log_lik, color="gray", lw=0.8, label=r"best discrete model: $-H(\hat\pi)$")
zoom.set_xlim(0.05, 20)
zoom.set_ylim(empirical_log_lik - 1.0, empirical_log_lik + 0.3)
zoom.set_title(r"zoom: $0.05 \leq \sigma \leq 20$", fontsize=8)
zoom.tick_params(labelsize=7)
ax.indicate_inset_zoom(zoom, edgecolor="gray")
ax.set_ylim(empirical_log_lik - 4, raw_log_lik.max() + 1)
ax.set_xlabel(r"mixture component width $\sigma$ (pixel units)")
ax.set_ylabel("average log-likelihood (nats)")
ax.set_title("FashionMNIST centre pixel: continuous fits to integers")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
fig.tight_layout()
plots.show(fig)

# %%
# NBVAL_CHECK_OUTPUT
best = int(np.argmax(dequantized_log_lik))
print(f"distinct values at the centre pixel: {len(support)}, -H(pi_hat) = {empirical_log_lik:.3f} nats")
for index in (0, 24, best, len(sigmas) - 1):
    print(
        f"sigma = {sigmas[index]:8.2g}: raw {raw_log_lik[index]:10.3f}   dequantized {dequantized_log_lik[index]:14.3f}"
        f"   discrete {discrete_log_lik[index]:7.3f}"
    )
sanity_check(
    "raw log-likelihood increases as sigma shrinks (a density on discrete values is unbounded)",
    bool(np.all(np.diff(raw_log_lik[sigmas < 0.1]) < 0)),
)
sanity_check(
    "dequantized <= discrete <= -H(pi_hat) for every sigma (Jensen, Gibbs)",
    bool(
        np.all(dequantized_log_lik <= discrete_log_lik + 1e-9) and np.all(discrete_log_lik <= empirical_log_lik + 1e-9)
    ),
)
print(
    f"best dequantized width sigma = {sigmas[best]:.2f} pixel values; its score is "
    f"{empirical_log_lik - dequantized_log_lik[best]:.3f} nats below -H(pi_hat)"
)
finding("the dequantized curve peaks at a width of the order of a bin (0.1 < sigma < 1)", bool(0.1 < sigmas[best] < 1))
finding(
    "at its peak the dequantized score is within 0.05 nats of the best discrete model",
    bool(empirical_log_lik - dequantized_log_lik[best] < 0.05),
)

# %% [markdown]
# The raw curve rises like $-\log\sigma$ forever, past the best possible discrete score:
# meaningless. The orderings dequantized $\le$ discrete $\le -H(\hat\pi)$ are code sanity
# checks (Jensen and Gibbs guarantee them). What could have come out otherwise is the shape
# (the two findings): the dequantized curve has a finite maximum at a width of the order of the
# bin ($\sigma = 0.46$ pixel values), only 0.036 nats below the discrete optimum, and
# collapses for spiky densities. So a density model on images is always trained and scored on
# $x + u$, never on $x$.
#
# ## 2. The Jensen bound: dequantized likelihood is a discrete lower bound
#
# For any density $q$ on $\mathbb{R}^D$ define the discrete model
# $Q(x) = \int_{[0,1)^D} q(x + u)\, du$, the mass of the unit cube at $x$. The $Q(x)$ of the
# $256^D$ cubes sum to at most 1 (exactly 1 if $q$ lives on $[0, 256)^D$), so $Q$ is an honest
# discrete model. Since $\log$ is concave, Jensen's inequality gives
#
# $$\mathbb{E}_{u \sim U[0,1)^D}\left[\log q(x + u)\right] \;\le\; \log \mathbb{E}_u\left[q(x + u)\right] = \log Q(x).$$
#
# Maximising the dequantized log-likelihood therefore maximises a lower bound of a discrete
# log-likelihood. The gap $\log Q(x) - \mathbb{E}_u \log q(x+u)$ is small when $q$ is nearly
# constant across each cube: for a smooth $q$, a second-order expansion gives
# $\tfrac12 \mathrm{Var}_u[\log q(x + u)]$.
#
# `ood_lib.pixel_models.PixelGaussian` makes the gap exactly computable: one Gaussian per
# pixel on the $[0, 1)$ scale (bin width $w = 1/256$), truncated to $[0, 1)$ so the 256 bin masses
# sum to 1, with both $\log Q(x)$ (differences of normal CDFs) and
# $\mathbb{E}_u[\log q]$ in closed form (the expectation of a quadratic over a uniform bin:
# $\mathbb{E}[(y - \mu)^2] = (c - \mu)^2 + w^2/12$ with $c$ the bin centre). Below: a single pixel
# with mean at the centre of bin 100 and standard deviation $\sigma$ (in pixel units), data drawn
# from its own $Q$. For a Gaussian, $\tfrac12\mathrm{Var}_u[\log q] \approx (c-\mu)^2 / (24\sigma^4)$ per
# bin, and averaging $(c - \mu)^2 \approx \sigma^2$ gives the approximation
# $\text{gap} \approx 1/(24\sigma^2)$ nats.

# %%
# NBVAL_CHECK_OUTPUT
all_values = np.arange(256, dtype=np.uint8)[:, None]  # 256 one-pixel "images"
jensen_sigmas = np.array([0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0])
jensen_gaps, smallest_gaps = [], []
print(f"{'sigma (pixels)':>14s} {'E_Q[gap] (nats)':>16s} {'1/(24 sigma^2)':>15s} {'min gap over x':>15s}")
for sigma in jensen_sigmas:
    pixel = PixelGaussian(mean=np.array([100.5 / 256]), std=np.array([sigma / 256]))
    log_bin_mass = pixel.log_prob(all_values)
    dequantized_bound = pixel.expected_dequantized_log_prob(all_values) - math.log(256)  # back to bin-width-1 units
    gap = log_bin_mass - dequantized_bound
    expected_gap = float(np.exp(log_bin_mass) @ gap)
    jensen_gaps.append(expected_gap)
    smallest_gaps.append(gap.min())
    print(f"{sigma:14.1f} {expected_gap:16.5f} {1 / (24 * sigma**2):15.5f} {gap.min():15.2e}")
sanity_check("the gap is never negative, at any bin and sigma (Jensen)", bool(min(smallest_gaps) >= 0))
sanity_check(
    "for sigma >= 2 pixel values the gap is within 2% of 1/(24 sigma^2) (its second-order expansion)",
    bool(all(abs(g * 24 * s**2 - 1) < 0.02 for s, g in zip(jensen_sigmas, jensen_gaps) if s >= 2)),
)
gap_ratio = {float(s): g * 24 * s**2 for s, g in zip(jensen_sigmas, jensen_gaps)}
finding(
    "1/(24 sigma^2) overstates the gap below half a bin (sigma <= 0.3) and understates it at sigma = 0.5 and 1",
    bool(all(gap_ratio[s] < 1 for s in (0.1, 0.2, 0.3)) and all(gap_ratio[s] > 1 for s in (0.5, 1.0))),
)
sanity_check(
    "bin masses sum to 1 (to 1e-12) at the widest and narrowest sigma",
    [
        round(float(np.exp(PixelGaussian(np.array([100.5 / 256]), np.array([s / 256])).log_prob(all_values)).sum()), 12)
        for s in (jensen_sigmas[0], jensen_sigmas[-1])
    ],
    [1.0, 1.0],
)

# %% [markdown]
# The gap is never negative (smallest value over all 256 bins in the last column; a code
# sanity check, Jensen guarantees it), shrinks as $q$ gets smoother, and follows
# $1/(24\sigma^2)$ once $\sigma$ is a few pixel values. Only at $\sigma = 0.1$ of a bin is the
# bound loose by whole nats (2.78 nats per pixel); at $\sigma$ = 0.2, 0.3 and 0.5 it is loose by
# 0.43, 0.33 and 0.18 nats, at one bin by 0.043. Below half a bin the second-order formula
# overstates the gap (4.17 against 2.78 at $\sigma = 0.1$), around one bin it slightly
# understates it (the finding). Either way a dequantized model pays for spikes, which is what
# section 1 needed.
#
# A Monte Carlo check of the closed form for one case, drawing $x \sim Q$ and $u \sim U[0,1)$
# (200 000 draws, fixed seed):

# %%
# NBVAL_CHECK_OUTPUT
pixel = PixelGaussian(mean=np.array([100.5 / 256]), std=np.array([1.0 / 256]))
rng = np.random.default_rng(0)
x_draws = pixel.sample(200_000, rng)
y_draws = (x_draws + rng.random(x_draws.shape)) / 256
monte_carlo = pixel.continuous_log_prob(y_draws).mean()
closed_form = float(np.exp(pixel.log_prob(all_values)) @ pixel.expected_dequantized_log_prob(all_values))
print(f"E[log q(y)], sigma = 1 pixel: Monte Carlo {monte_carlo:.3f}, closed form {closed_form:.3f} (nats, [0,1) scale)")
print(
    f"the same density in pixel units [0, 256): {closed_form - math.log(256):.3f} nats (log 256 = {math.log(256):.3f})"
)
sanity_check("Monte Carlo within 0.01 nats of the closed form", bool(abs(monte_carlo - closed_form) < 0.01))

fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.loglog(jensen_sigmas, jensen_gaps, "o-", label=r"$\mathbb{E}_{x\sim Q}[\log Q(x) - \mathbb{E}_u \log q]$")
ax.loglog(jensen_sigmas, 1 / (24 * jensen_sigmas**2), "--", label=r"$1/(24\sigma^2)$")
ax.set_xlabel(r"$\sigma$ (pixel units)")
ax.set_ylabel("Jensen gap (nats per pixel)")
ax.legend()
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# The log-density is *positive*, +4.04 nats: no error. On the $[0, 1)$ scale a bin is $1/256$
# wide, so a density concentrated on a few bins exceeds 1; in pixel units the same density is
# $\log 256 = 5.545$ nats lower, -1.50 nats. The positive log-densities of image models (and
# BPDs below 8) come from this scale, not from probabilities above 1.
#
# ## 3. Bits per dimension
#
# Models are trained on $y = (x + u)/256 \in [0, 1)^D$. Each pixel's bin has width $1/256$ on
# that scale, so $Q(x) = 256^{-D}\, \mathbb{E}_u[q(y)]$, and by the Jensen bound of section 2
#
# $$\mathrm{BPD}(x) = \frac{-\log_2 Q(x)}{D} \;\le\; \frac{-\mathbb{E}_u[\log q(y)] + D \log 256}{D \ln 2}.$$
#
# What a flow reports is the right-hand side with *one* noise draw $u$,
# $(-\log q(y) + D \log 256)/(D \ln 2)$: an unbiased estimate of the upper bound, not the
# discrete BPD itself (a single draw can even fall below it; only its average over $u$ is
# bounded). The paper's Glow numbers, and ours in later chapters, are such estimates; the
# per-pixel models of section 4 compute $-\log_2 Q(x)/D$ exactly. For the smooth densities met
# in this book the bound is tight (section 4 measures it on real data).
#
# - $D \log 256$ is the log-Jacobian of the map $y \mapsto 256\,y$ back to pixel units (the
#   rescaling $x + u \mapsto (x+u)/256$ has log-Jacobian $-D \log 256$); it is added to
#   *each image's* log-density (a classic bug adds it once per batch).
# - Dividing by $\ln 2$ converts nats to bits ($1$ nat $= 1/\ln 2$ bits); dividing by $D$ makes
#   images of different sizes comparable: $D = 28 \cdot 28 \cdot 1$ for MNIST/FashionMNIST,
#   $32 \cdot 32 \cdot 3$ for CIFAR-10/SVHN.
# - The uniform density on $[0,1)^D$ has $\log q = 0$, hence exactly 8 bits/dim: any model
#   worse than 8 is worse than knowing nothing. Lower is better.
#
# `ood_lib.bpd.bits_per_dim_from_log_prob` implements the formula:

# %%
# NBVAL_CHECK_OUTPUT
print(f"1 nat = {1 / math.log(2):.5f} bits")
for name, shape in (("28x28x1", (28, 28, 1)), ("32x32x3", (32, 32, 3))):
    num_dims = math.prod(shape)
    uniform_bpd = bpd.bits_per_dim_from_log_prob(torch.zeros(1, dtype=torch.float64), num_dims).item()
    print(
        f"{name}: D = {num_dims}, D log 256 = {num_dims * math.log(256):.1f} nats, "
        f"uniform density on [0,1)^D: {uniform_bpd:.6f} bits/dim"
    )

# %% [markdown]
# **Conventions.** Glow scores $y - \frac12 \in [-\frac12, \frac12)^D$ (`ood_lib.flows.Glow` does this
# shift internally); other code uses pixel units $[0, 256)$ or $[-1, 1)$. A change of scale
# $y' = a y + b$ changes the density by the Jacobian, $\log q'(y') = \log q(y) - D \log a$,
# and the bin width to $a/256$, so the BPD becomes $(-\log q'(y') - D\log(a/256)) / (D \ln 2)$:
# the same number. The shift by $\frac12$ has $a = 1$, so `bits_per_dim_from_log_prob` applies
# unchanged. As a code sanity check of this bookkeeping (the agreement is guaranteed by the
# algebra; a forgotten Jacobian or bin width would break it), the per-pixel Gaussian of section 4
# is *fitted natively in each convention*: the mean and variance of each pixel of the
# dequantized training images $y' = a y + b$ (one noise draw, the first 10 000 training images),
# truncated to that convention's interval $[b, a + b)$, scored on the dequantized test images in
# the same convention with its own bin width $a/256$.

# %%
fit_indices = data.subset_indices(60000, profile.train_small.n_train, seed=profile.seed)  # all 60000 unless smoke
eval_indices = data.subset_indices(10000, profile.n_eval, seed=profile.seed)  # profile's evaluation subset
fashion_train = data.load("fashion_mnist", "train")[0][fit_indices]
fashion_test = data.load("fashion_mnist", "test")[0][eval_indices]
mnist_test = data.load("mnist", "test")[0][eval_indices]
num_dims = math.prod(fashion_test.shape[1:])
print(f"fitting on {len(fashion_train)} FashionMNIST training images, scoring {len(fashion_test)} test images per set")

gaussian = PixelGaussian.fit(fashion_train)
y_unit = bpd.dequantize(data.to_tensor(fashion_test), torch.Generator().manual_seed(0)).double()
y_unit = y_unit.permute(0, 2, 3, 1).numpy()  # back to (N, H, W, C), the models' layout
conventions = {  # name: (scale a, shift b) of y' = a y + b
    "[0, 1)": (1.0, 0.0),
    "[-0.5, 0.5)": (1.0, -0.5),
    "[0, 256)": (256.0, 0.0),
    "[-1, 1)": (2.0, -1.0),
}
native_fit_images = fashion_train[:10000].reshape(-1, num_dims)
y_fit_unit = (native_fit_images + np.random.default_rng(profile.seed).random(native_fit_images.shape)) / 256
y_test_unit = y_unit.reshape(len(y_unit), num_dims)
bpd_by_convention = {}
for name, (scale, shift) in conventions.items():
    y_fit = scale * y_fit_unit + shift  # the training data as this convention sees them
    fit_mean, fit_std = y_fit.mean(axis=0), y_fit.std(axis=0)
    log_truncation = log_normal_interval_mass((shift - fit_mean) / fit_std, (scale + shift - fit_mean) / fit_std)
    y_test = scale * y_test_unit + shift
    log_q_native = np.sum(
        -0.5 * math.log(2 * math.pi) - np.log(fit_std) - log_truncation - 0.5 * ((y_test - fit_mean) / fit_std) ** 2,
        axis=1,
    )
    bin_log_width = math.log(scale / 256)
    bpd_by_convention[name] = float(np.mean((-log_q_native - num_dims * bin_log_width) / (num_dims * math.log(2))))
print(
    "mean BPD of the natively fitted Gaussians, (-log q'(y') - D log(a/256)) / (D ln 2):",
    {name: round(value, 4) for name, value in bpd_by_convention.items()},
)
same_images_gaussian = PixelGaussian.fit(fashion_train[:10000])  # the library's fit: 1/12 instead of a noise draw
bpd_from_library = (
    bpd.bits_per_dim_from_log_prob(torch.from_numpy(same_images_gaussian.continuous_log_prob(y_unit)), num_dims)
    .mean()
    .item()
)
print(
    f"ood_lib's PixelGaussian fitted on the same 10000 images, through "
    f"ood_lib.bpd.bits_per_dim_from_log_prob: {bpd_from_library:.4f}"
)
glow_convention_log_q = torch.from_numpy(gaussian.continuous_log_prob(y_unit))  # the model of section 4, all images
one_draw_bpd = bpd.bits_per_dim_from_log_prob(glow_convention_log_q, num_dims).numpy()
print(
    f"the PixelGaussian of section 4 (all {len(fashion_train)} images), one-draw BPD estimates on "
    f"FashionMNIST-test: mean {one_draw_bpd.mean():.4f}, "
    f"{np.mean(one_draw_bpd > 8):.1%} of the images above the 8 bits/dim of the uniform density"
)

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "the four natively fitted conventions give the same mean BPD (to 1e-9)",
    bool(np.ptp(list(bpd_by_convention.values())) < 1e-9),
)
sanity_check(
    "and the library's PixelGaussian agrees with them to 0.001 bits/dim",
    bool(abs(bpd_from_library - bpd_by_convention["[0, 1)"]) < 1e-3),
)
finding("the per-pixel Gaussian beats the uniform density on average (mean BPD below 8)", bool(one_draw_bpd.mean() < 8))
finding(
    "yet more than 5% of FashionMNIST test images get a BPD above 8 from it", bool(np.mean(one_draw_bpd > 8) > 0.05)
)

# %% [markdown]
# The bookkeeping agrees in every convention (code sanity checks). The finding that could have
# failed: the per-pixel Gaussian is better than knowing nothing only on average, by about half a
# bit per dimension, and worse than the uniform density on some of FashionMNIST's own test images
# (the fraction printed above).

# %% [markdown]
# ## 4. A first density model: one distribution per pixel
#
# Before any deep model: treat the $D = 784$ pixels as independent,
# $Q(x) = \prod_d Q_d(x_d)$. `ood_lib.pixel_models` has two such models, both with an exact
# discrete likelihood (no dequantization bound needed):
#
# - `PixelHistogram`: a 256-way categorical per pixel, counted with add-one (Laplace) smoothing,
#   $Q_d(v) = (n_{d,v} + 1)/(N + 256)$;
# - `PixelGaussian`: the truncated, discretised Gaussian of section 2, one per pixel, with the
#   mean and variance of the dequantized training pixels.
#
# Both are fitted on the FashionMNIST training images printed above (the profile's training
# subset) and scored on the profile's subsets of FashionMNIST-test and MNIST-test, on the
# constant images 0, 128, 255 (the paper's Figure 8 uses constant 0 for FashionMNIST) and on
# uniform-noise images. The paper's Glow numbers for the same sets (Figures 1 and 8) are
# printed alongside. And the bound of section 2 on real data: the dequantized BPD of
# `PixelGaussian` is an upper bound of its exact BPD on every test image.

# %%
histogram = PixelHistogram.fit(fashion_train, alpha=1.0)
rng = np.random.default_rng(profile.seed)
score_sets = {
    "FashionMNIST-test": fashion_test,
    "MNIST-test": mnist_test,
    "constant 0": np.zeros((1, 28, 28, 1), dtype=np.uint8),
    "constant 128": np.full((1, 28, 28, 1), 128, dtype=np.uint8),
    "constant 255": np.full((1, 28, 28, 1), 255, dtype=np.uint8),
    "uniform noise": rng.integers(0, 256, size=(len(fashion_test), 28, 28, 1), dtype=np.uint8),
}
bpd_histogram = {name: histogram.bits_per_dim(images) for name, images in score_sets.items()}
bpd_gaussian = {name: gaussian.bits_per_dim(images) for name, images in score_sets.items()}
paper_glow_bpd = {"FashionMNIST-test": 2.958, "MNIST-test": 1.833, "constant 0": 0.339, "uniform noise": 8.686}
print(f"{'scored set':18s} {'histogram BPD':>14s} {'Gaussian BPD':>13s} {'Gaussian median':>16s} {'paper Glow':>11s}")
for name in score_sets:
    paper_value = f"{paper_glow_bpd[name]:11.3f}" if name in paper_glow_bpd else f"{'-':>11s}"
    print(
        f"{name:18s} {bpd_histogram[name].mean():14.3f} {bpd_gaussian[name].mean():13.3f} "
        f"{np.median(bpd_gaussian[name]):16.3f} {paper_value}"
    )
dequantized_bpd = bpd.bits_per_dim_from_log_prob(
    torch.from_numpy(gaussian.expected_dequantized_log_prob(fashion_test)), num_dims
).numpy()
jensen_gap_bpd = dequantized_bpd - bpd_gaussian["FashionMNIST-test"]
print(
    f"PixelGaussian on FashionMNIST-test: exact BPD {bpd_gaussian['FashionMNIST-test'].mean():.4f}, "
    f"dequantized bound {dequantized_bpd.mean():.4f}; per-image gap: mean {jensen_gap_bpd.mean():.4f}, "
    f"largest {jensen_gap_bpd.max():.3f} bits/dim"
)

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "dequantized BPD >= exact BPD on every FashionMNIST test image (Jensen)",
    bool(np.all(dequantized_bpd >= bpd_gaussian["FashionMNIST-test"])),
)
mean_histogram = {name: values.mean() for name, values in bpd_histogram.items()}
chain = ("constant 0", "MNIST-test", "FashionMNIST-test", "uniform noise")
finding(
    "histogram: mean BPD of " + " < ".join(chain),
    bool(all(mean_histogram[a] < mean_histogram[b] for a, b in zip(chain, chain[1:]))),
)
finding(
    "Gaussian: MNIST-test lower mean BPD than FashionMNIST-test",
    bool(bpd_gaussian["MNIST-test"].mean() < bpd_gaussian["FashionMNIST-test"].mean()),
)
finding("on real data the Jensen gap is small on average: under 0.001 bits/dim", bool(jensen_gap_bpd.mean() < 1e-3))

# %% [markdown]
# The dequantized bound sits above the exact BPD on every image (a code sanity check: Jensen),
# and on these data it is tight on average, 0.0006 bits/dim, though one image pays 0.155.
# The histogram model, trained on FashionMNIST, scores MNIST *better* than FashionMNIST's own
# test set, and the all-black image best of all: the ordering of the paper's Figures 1 and 8,
# at higher BPD than Glow's, with a model that has no neural network in it. The per-image histograms show that this is
# not a few outliers: the two histograms overlap only at their edges.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
for ax, (model_name, scores) in zip(axes, (("PixelHistogram", bpd_histogram), ("PixelGaussian", bpd_gaussian))):
    low, high = np.percentile(np.concatenate([scores["FashionMNIST-test"], scores["MNIST-test"]]), [0.5, 99.5])
    bins = np.linspace(low, high, 60)
    for name in ("FashionMNIST-test", "MNIST-test"):
        ax.hist(scores[name], bins=bins, alpha=0.6, density=True, label=name)
    ax.set_xlabel("bits per dimension (lower = more likely)")
    ax.set_title(f"{model_name} trained on FashionMNIST")
    ax.legend()
axes[0].set_ylabel("density of images")
fig.tight_layout()
plots.show(fig)
auroc_interval, gap_interval = {}, {}
for model_name, scores in (("PixelHistogram", bpd_histogram), ("PixelGaussian", bpd_gaussian)):
    fashion_bpd, mnist_bpd = scores["FashionMNIST-test"], scores["MNIST-test"]
    print(
        f"{model_name:14s} mean BPD FashionMNIST-test {fashion_bpd.mean():.3f}, MNIST-test {mnist_bpd.mean():.3f}; "
        f"medians {np.median(fashion_bpd):.3f}, {np.median(mnist_bpd):.3f}; "
        f"AUROC of log p (FashionMNIST in, MNIST out) {ood_scores.auroc(-fashion_bpd, -mnist_bpd):.3f}"
    )
    auroc_interval[model_name] = intervals.bootstrap_auroc(-fashion_bpd, -mnist_bpd, seed=profile.seed)
    gap_interval[model_name] = intervals.bootstrap_mean_difference(mnist_bpd, fashion_bpd, seed=profile.seed)
    print(
        f"{'':14s} 95% bootstrap intervals over images: AUROC {auroc_interval[model_name].format(3)}; "
        f"mean BPD MNIST-test minus FashionMNIST-test {gap_interval[model_name].format(4)}"
    )

# %%
# NBVAL_CHECK_OUTPUT
histogram_auroc = ood_scores.auroc(-bpd_histogram["FashionMNIST-test"], -bpd_histogram["MNIST-test"])
gaussian_auroc = ood_scores.auroc(-bpd_gaussian["FashionMNIST-test"], -bpd_gaussian["MNIST-test"])
finding("histogram: an inverted detector, AUROC below 0.1", bool(histogram_auroc < 0.1))
finding(
    "histogram: the AUROC interval lies below 0.1, the mean-BPD gap's below 0",
    bool(auroc_interval["PixelHistogram"].high < 0.1 and gap_interval["PixelHistogram"].high < 0),
)
finding(
    "Gaussian: MNIST's lower mean BPD is outside sampling noise (the gap's interval excludes 0)",
    bool(gap_interval["PixelGaussian"].high < 0),
)
finding(
    "Gaussian: the AUROC interval lies above 0.5 (correctly oriented)", bool(auroc_interval["PixelGaussian"].low > 0.5)
)
finding(
    "Gaussian: the median goes the other way (FashionMNIST-test's median BPD below MNIST-test's)",
    bool(np.median(bpd_gaussian["FashionMNIST-test"]) < np.median(bpd_gaussian["MNIST-test"])),
)
finding(
    "Gaussian: FashionMNIST-test's mean BPD above its median (a long right tail)",
    bool(bpd_gaussian["FashionMNIST-test"].mean() > np.median(bpd_gaussian["FashionMNIST-test"])),
)
finding("Gaussian: a weak, correctly oriented detector (AUROC between 0.5 and 0.75)", bool(0.5 < gaussian_auroc < 0.75))

# %% [markdown]
# The two models disagree image by image (the printed lines). The histogram model is a strong
# *inverted* detector: its AUROC of 0.025 (interval 0.021 to 0.029) means it prefers almost
# every MNIST image to almost every FashionMNIST one. The Gaussian prefers MNIST only *in the
# mean* (by 0.053 bits/dim, an interval that excludes 0): its medians go the other way, the
# FashionMNIST mean is pulled up by the long right tail of the right-hand panel, and image by
# image it is a weak but correctly oriented detector, AUROC 0.635 (interval 0.615 to 0.655). A
# mean BPD can hide what happens to most images; the book prints medians and AUROCs beside means
# from here on.
#
# Where does the Gaussian's right tail come from? No pixel is 0 in every FashionMNIST training
# image, but near the corners almost all are, and there the fitted $s_d$ is barely more than the
# dequantization noise alone. A bright pixel at such a position costs hundreds of bits:


# %%
# NBVAL_CHECK_OUTPUT
raw_pixel_std = np.sqrt(np.maximum((gaussian.std * 256) ** 2 - 1 / 12, 0.0))  # s_d^2 = Var(x_d) + 1/12, pixel units
model_std = gaussian.std.ravel() * 256
print(
    f"training pixels that are 0 in every image: {int(np.sum(fashion_train.max(axis=0) == 0))} of {num_dims}; "
    f"smallest per-pixel standard deviation {raw_pixel_std.min():.3f} pixel values, so the smallest s_d is "
    f"{model_std.min():.3f} (the noise alone would give sqrt(1/12) = {math.sqrt(1 / 12):.3f})"
)
fashion_bits = -gaussian.log_prob_per_pixel(fashion_test).reshape(len(fashion_test), -1) / math.log(2)
tail_images = bpd_gaussian["FashionMNIST-test"] >= np.quantile(bpd_gaussian["FashionMNIST-test"], 0.99)
narrow_pixels = model_std < 10
excess_bits = fashion_bits[tail_images].mean(axis=0) - fashion_bits.mean(axis=0)
narrow_share = excess_bits[narrow_pixels].sum() / excess_bits.sum()
print(
    f"the {int(tail_images.sum())} FashionMNIST-test images with the highest Gaussian BPD (top 1%) pay "
    f"{excess_bits.sum() / num_dims:.2f} bits/dim more than the average test image; "
    f"{narrow_share:.0%} of that excess is paid at the {int(narrow_pixels.sum())} positions with s_d < 10 pixel values"
)
finding("no FashionMNIST training pixel is 0 in every image", int(np.sum(fashion_train.max(axis=0) == 0)), 0)
finding(
    "more than half of the tail images' excess bits are paid at the 5-6% of positions with s_d < 10",
    bool(narrow_share > 0.5),
)

# %% [markdown]
# The top 1% of test images pay most of their excess (68%) at the few positions (42 of 784)
# where the training images almost never had ink, and where the Gaussian's $s_d$ is under 10
# pixel values: one bright pixel there costs hundreds of bits, so a handful of such images
# lift the FashionMNIST mean above its median.
#
# **Why does the histogram prefer MNIST?** Its log-likelihood is a sum over pixels of
# $\log Q_d(x_d)$, so it is enough to ask what each pixel value costs. A pixel that is 0 costs
# $-\log_2 Q_d(0)$ bits, cheap wherever FashionMNIST's background is often black; a non-zero
# value costs more, since the probability of "ink" at a pixel is spread over 255 values. Split
# the BPD of each set into the part paid by its zero pixels and the part paid by the rest:


# %%
def cost_split(model: PixelHistogram, images: np.ndarray) -> tuple[float, float, float, float]:
    """(fraction of zero pixels, BPD paid by zeros, BPD paid by non-zeros, mean bits per non-zero pixel)."""
    bits = -model.log_prob_per_pixel(images) / math.log(2)
    is_zero = images == 0
    return (
        float(is_zero.mean()),
        float(bits[is_zero].sum() / bits.size),
        float(bits[~is_zero].sum() / bits.size),
        float(bits[~is_zero].mean()),
    )


for name in ("FashionMNIST-test", "MNIST-test"):
    zero_fraction, zero_bpd, nonzero_bpd, bits_per_ink = cost_split(histogram, score_sets[name])
    print(
        f"{name:18s} zero pixels {zero_fraction:.3f}: they pay {zero_bpd:.3f} bits/dim; "
        f"non-zero pixels pay {nonzero_bpd:.3f} bits/dim ({bits_per_ink:.2f} bits each)"
    )
most_probable_value = histogram.log_probs.argmax(axis=-1)
print(
    f"pixel positions where 0 is the histogram's most probable value: {np.sum(most_probable_value == 0)} of {num_dims}"
)

# %%
# NBVAL_CHECK_OUTPUT
(
    (fashion_zero_fraction, _, fashion_ink_bpd, fashion_bits_per_ink),
    (mnist_zero_fraction, _, mnist_ink_bpd, mnist_bits_per_ink),
) = (cost_split(histogram, score_sets[name]) for name in ("FashionMNIST-test", "MNIST-test"))
finding("0 is the most probable value at every pixel position", int(np.sum(most_probable_value == 0)), num_dims)
finding("a non-zero pixel costs MNIST more bits than FashionMNIST", bool(mnist_bits_per_ink > fashion_bits_per_ink))
finding(
    "MNIST's non-zero pixels pay under half of what FashionMNIST's do, per dimension",
    bool(mnist_ink_bpd < 0.5 * fashion_ink_bpd),
)

# %%
fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
maps = [
    (np.exp(histogram.log_probs[..., 0, 0]), r"$Q_d(0)$ (FashionMNIST-trained)", "viridis"),
    (histogram.entropy_per_pixel()[..., 0] / math.log(2), "entropy of $Q_d$ (bits)", "viridis"),
    (
        -histogram.log_prob_per_pixel(fashion_test).mean(0)[..., 0] / math.log(2),
        "mean bits: FashionMNIST-test",
        "magma",
    ),
    (-histogram.log_prob_per_pixel(mnist_test).mean(0)[..., 0] / math.log(2), "mean bits: MNIST-test", "magma"),
]
shared_max = max(maps[2][0].max(), maps[3][0].max())
for index, (ax, (image, title, cmap)) in enumerate(zip(axes, maps)):
    shown = ax.imshow(image, cmap=cmap, vmin=0, vmax=shared_max if index >= 2 else None)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    fig.colorbar(shown, ax=ax, fraction=0.046)
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# A non-zero pixel costs MNIST slightly more than FashionMNIST (the last number of each row), but
# MNIST has far fewer of them: its digits are thin strokes on a black background, and black is
# the most probable value at every pixel position of the FashionMNIST-trained model (last
# line; the first map shows its probability). The per-pixel cost maps make the point spatially: MNIST is cheap everywhere
# except along the stroke region. The histogram's likelihood is mostly a count of "ink", a
# measure of how simple the image is, which is what the constant-0 image wins on. The
# input-complexity correction of Serra et al. (2020), met later in the book, is built on
# exactly this observation.
#
# **And the Gaussian?** `PixelGaussian` is a poor model of these pixels (bimodal: background or
# object), with a BPD close to the 8 of uniform noise, and its mean is pulled up by rare bright
# pixels where the training images were nearly always black (the tail above). But a Gaussian is
# where the paper's second-order argument (chapter 06) becomes exact, so it is worth dissecting. Per
# pixel, $\mathbb{E}_u \log q_d$ is $-[(c_d - \mu_d)^2 + w^2/12]/(2 s_d^2)$ plus a constant, with the
# model's mean $\mu_d$ and standard deviation $s_d$. Averaged over a scored set whose bin centres
# have per-pixel mean $m_d$ and variance $v_d$, the difference between MNIST (subscript M) and
# FashionMNIST-test (subscript F) is exactly
#
# $$\overline{\log q}_{\mathrm{M}} - \overline{\log q}_{\mathrm{F}} = \underbrace{-\tfrac12 \sum_d \frac{v_{\mathrm{M},d} - v_{\mathrm{F},d}}{s_d^2}}_{\text{variance term}}
#   \; \underbrace{-\tfrac12 \sum_d \frac{(m_{\mathrm{M},d} - \mu_d)^2 - (m_{\mathrm{F},d} - \mu_d)^2}{s_d^2}}_{\text{mean term}} .$$
#
# The variance term is the paper's Eq. 6 (a log-concave model prefers the set with smaller
# per-pixel variance); the mean term vanishes in the paper's argument because it assumes both
# sets have the same mean. Here they do not:


# %%
def bin_centre_moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and variance of the bin centres (x + 1/2)/256."""
    centres = (images.astype(np.float64) + 0.5) / 256
    return centres.mean(axis=0), centres.var(axis=0)


mean_fashion, var_fashion = bin_centre_moments(fashion_test)
mean_mnist, var_mnist = bin_centre_moments(mnist_test)
inverse_variance = 1 / gaussian.std**2
variance_term = -0.5 * np.sum((var_mnist - var_fashion) * inverse_variance)
mean_term = -0.5 * np.sum(((mean_mnist - gaussian.mean) ** 2 - (mean_fashion - gaussian.mean) ** 2) * inverse_variance)
direct_difference = (
    gaussian.expected_dequantized_log_prob(mnist_test).mean()
    - gaussian.expected_dequantized_log_prob(fashion_test).mean()
)
nats_to_bpd = 1 / (num_dims * math.log(2))
print(
    f"variance term {variance_term:+.1f} nats, mean term {mean_term:+.1f} nats, sum {variance_term + mean_term:+.1f}; "
    f"direct difference of E_u log q: {direct_difference:+.1f} nats = {-direct_difference * nats_to_bpd:+.4f} BPD"
)

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "decomposition is exact (to 1e-6 relative)",
    bool(np.isclose(variance_term + mean_term, direct_difference, rtol=1e-6)),
)
finding("variance term favours MNIST (> 0)", bool(variance_term > 0))
finding("mean term penalises MNIST (< 0)", bool(mean_term < 0))
finding(
    "the two nearly cancel: the net difference is under a quarter of either term",
    bool(abs(variance_term + mean_term) < 0.25 * min(abs(variance_term), abs(mean_term))),
)

# %% [markdown]
# That the two terms add up to the direct difference is a code sanity check (an algebraic
# identity); their signs and their near-cancellation are the findings. The maps below show
# where each term comes from (red: in MNIST's favour). The variance term is
# *not* favourable everywhere: in the centre MNIST's strokes vary more than clothes do (blue).
# Its bonus comes from the ring around the object, where FashionMNIST's $s_d$ is small, so
# every unit of variance is weighted by a large $1/s_d^2$, and MNIST is black almost always.
# The mean term charges MNIST for being black where FashionMNIST is bright on average
# (shoulders at the top, the centre). The net preference for MNIST is much smaller than
# either term: for this crude model the two effects nearly cancel.

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
variance_map = (-0.5 * (var_mnist - var_fashion) * inverse_variance)[..., 0]
mean_map = (-0.5 * ((mean_mnist - gaussian.mean) ** 2 - (mean_fashion - gaussian.mean) ** 2) * inverse_variance)[..., 0]
limit = np.percentile(np.abs(np.concatenate([variance_map.ravel(), mean_map.ravel()])), 99)
panels = (
    (gaussian.std[..., 0] * 256, r"$s_d$ (pixel values)", dict(cmap="viridis")),
    (variance_map, "variance term per pixel (nats)", dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
    (mean_map, "mean term per pixel (nats)", dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
)
for ax, (image, title, style) in zip(axes, panels):
    shown = ax.imshow(image, **style)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    fig.colorbar(shown, ax=ax, fraction=0.046)
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# Samples show how little either model knows about clothes: every pixel is drawn on its own.

# %%
sample_rng = np.random.default_rng(profile.seed)
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
for ax, (title, images) in zip(
    axes,
    (
        ("FashionMNIST-test", fashion_test[:24]),
        ("PixelHistogram samples", histogram.sample(24, sample_rng)),
        ("PixelGaussian samples", gaussian.sample(24, sample_rng)),
    ),
):
    shown = plots.imshow_uint8(ax, plots.image_grid(images, 4, 6), title)
fig.tight_layout()
fig.colorbar(shown, ax=axes, fraction=0.02, pad=0.02, label="pixel value")
plots.show(fig)

# %% [markdown]
# ## 5. How much can a log-likelihood difference say? (Theis et al. 2016)
#
# Mix a model $p$ with anything, say uniform noise $u$: $m = 0.01\, p + 0.99\, u$. Because
# $m(x) \ge 0.01\, p(x)$,
#
# $$\log m(x) \ge \log p(x) - \log 100 \quad\Longrightarrow\quad \mathrm{BPD}_m(x) \le \mathrm{BPD}_p(x) + \frac{\log 100}{D \ln 2},$$
#
# yet 99 % of $m$'s samples are noise. Per dimension the bound is tiny, and much smaller than
# differences that papers report between models:
#
# <!-- constant: 0.01 0.99 (the weights of the mixture example) -->

# %%
# NBVAL_CHECK_OUTPUT
print(f"log(100) = {math.log(100):.3f} nats")
for name, dims in (("28x28x1", 784), ("32x32x3", 3072)):
    print(f"{name}: D = {dims}, log(100) / (D ln 2) = {math.log(100) / (dims * math.log(2)):.5f} bits/dim")
paper_small_glow, paper_full_glow = 3.46, 3.35  # CIFAR-10 test BPD, the paper's Glow and the full-size Glow
print(
    f"paper's CIFAR-10 Glows differ by {paper_small_glow - paper_full_glow:.2f} bits/dim "
    f"= {(paper_small_glow - paper_full_glow) / (math.log(100) / (3072 * math.log(2))):.0f} times the 32x32x3 bound"
)

# %% [markdown]
# Checked on the histogram model mixed with the uniform distribution over images
# ($\log u(x) = -D \log 256$):


# %%
def mixture_bits_per_dim(model: PixelHistogram, images: np.ndarray, weight: float) -> np.ndarray:
    """BPD of weight * model + (1 - weight) * uniform over the 256^D images."""
    log_mix = np.logaddexp(
        math.log(weight) + model.log_prob(images), math.log(1 - weight) - model.num_dims * math.log(256)
    )
    return -log_mix / (model.num_dims * math.log(2))


bpd_increase = mixture_bits_per_dim(histogram, fashion_test, 0.01) - bpd_histogram["FashionMNIST-test"]
noise_mixture_bpd = mixture_bits_per_dim(histogram, score_sets["uniform noise"], 0.01)
print(
    f"FashionMNIST-test: histogram {bpd_histogram['FashionMNIST-test'].mean():.4f} BPD, "
    f"mixture {bpd_histogram['FashionMNIST-test'].mean() + bpd_increase.mean():.4f} BPD: "
    f"worse on average by {bpd_increase.mean():.4f} bits/dim"
)
print(
    f"uniform noise:     histogram {bpd_histogram['uniform noise'].mean():.4f} BPD, "
    f"mixture {noise_mixture_bpd.mean():.4f} BPD"
)
above_uniform = bpd_histogram["FashionMNIST-test"] > 8
print(
    f"FashionMNIST test images the histogram scores above 8 bits/dim (where the noise part helps): "
    f"{above_uniform.sum()} of {len(above_uniform)}"
)
histogram_mean_interval = intervals.bootstrap_mean(bpd_histogram["FashionMNIST-test"], seed=profile.seed)
half_width = (histogram_mean_interval.high - histogram_mean_interval.low) / 2
print(
    f"histogram's mean BPD on these {len(fashion_test)} test images, 95% bootstrap interval: "
    f"{histogram_mean_interval.format(4)}, half-width {half_width:.4f} bits/dim"
)

# %%
# NBVAL_CHECK_OUTPUT
bound = math.log(100) / (num_dims * math.log(2))
sanity_check(
    "mixture costs every FashionMNIST test image at most log(100)/(D ln 2) (the bound)",
    bool(np.all(bpd_increase <= bound + 1e-12)),
)
clearly_better_than_uniform = bpd_histogram["FashionMNIST-test"] < 7.5
sanity_check(
    "and equals it (to 1e-9) on every image the histogram scores below 7.5 bits/dim",
    bool(np.allclose(bpd_increase[clearly_better_than_uniform], bound, rtol=0, atol=1e-9)),
)
sanity_check(
    "mixture scores noise better than the histogram does (any model scores uniform noise at 8 BPD or more)",
    bool(noise_mixture_bpd.mean() < bpd_histogram["uniform noise"].mean()),
)
print(f"test images below 7.5 bits/dim, where the cost equals the bound: {int(clearly_better_than_uniform.sum())}")
finding(
    "the mixture's average penalty is under a fifth of the sampling uncertainty (interval half-width) of the mean BPD",
    bool(bpd_increase.mean() < 0.2 * half_width),
)

# %% [markdown]
# The three checks above are code sanity checks (they follow from $m \ge 0.01\,p$ and from
# $m \ge 0.99\,u$). For an image the histogram already scores well below 8 bits/dim the noise
# component adds nothing, and the cost is exactly the bound, 0.00847 bits/dim; the few test
# images it scores above 8 even get cheaper. So on FashionMNIST the mixture is worse than the
# histogram by 0.0071 bits/dim on average (exactly the bound on the 1986 images it scores
# below 7.5 bits/dim, at most the bound on the others), and a far better model of noise (8 bits/dim plus $-\log_2(0.99)/D$), while
# generating noise 99 % of the time. The finding that could have failed: that penalty is far
# inside the sampling uncertainty of the mean BPD itself (half-width 0.05 bits/dim on 2000
# test images), so no likelihood table of this size could tell the two models apart. Likelihood, sample quality and the scores of individual
# inputs can disagree; a small average difference in BPD does not say which model is better,
# and a high likelihood of one input does not say it looks like the training data. This is
# the backdrop of the paper.
#
# <!-- constant: 0.01 0.99 (the weights of the mixture example) -->

# %%
fig, ax = plt.subplots(figsize=(4.5, 3.4))
mixture_rng = np.random.default_rng(profile.seed)
from_model = mixture_rng.random(24) < 0.01
mixture_samples = np.where(
    from_model[:, None, None, None],
    histogram.sample(24, mixture_rng),
    mixture_rng.integers(0, 256, size=(24, 28, 28, 1), dtype=np.uint8),
)
plots.imshow_uint8(ax, plots.image_grid(mixture_samples, 4, 6), "samples of 0.01 histogram + 0.99 noise")
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# ## Scope: what of the paper this chapter touches
#
# This chapter has no Glow: it builds the BPD the paper reports and scores the paper's
# FashionMNIST sets with two per-pixel models, so "ours vs paper" compares an independent-pixel
# model with the paper's Glow (the paper's numbers are the last column of the table in
# section 4).
#
# | paper | reproduced here? | ours vs paper | why different |
# |---|---|---|---|
# | dequantization and BPD (Section 2; Theis et al.'s bound) | yes: the Jensen bound, its gap, the conventions | the paper's BPDs are one-draw estimates of an upper bound of the discrete BPD; ours here are exact for the per-pixel models | - |
# | Figure 1, FashionMNIST-test and MNIST-test rows | the ordering only, with per-pixel models | histogram 4.608 and 2.548 BPD vs Glow's 2.958 and 1.833; the Gaussian's mean also prefers MNIST (7.509 vs 7.456), its AUROC 0.635 does not | independent pixels, no network; Glow is chapters 03-04 |
# | Figure 1, MNIST-trained and train-split rows | no | - | chapters 03-04 |
# | Figure 8, FashionMNIST half (constant 0, uniform noise) | yes, with the histogram | constant 0: 1.362 vs 0.339; noise: 9.819 vs 8.686 | Laplace smoothing gives unseen values mass, the histogram is far from Glow's fit |
# | Figure 8, CIFAR-10 half (constant 128, noise) | no | - | a 32 × 32 × 3 model: chapters 04 and 07 |
#
# ## Summary
#
# - A continuous density scored on raw integers can reach any likelihood (section 1); scoring
#   $x + u$ with uniform $u$ makes the average score a lower bound of a discrete
#   log-likelihood $\log Q(x)$ (Jensen), with a gap that vanishes for densities smooth on the
#   scale of one bin and is only whole nats for spikes far narrower than a bin.
# - $\mathrm{BPD} = -\log_2 Q(x)/D \le (-\mathbb{E}_u \log q(y) + D \log 256)/(D \ln 2)$ for
#   $y \in [0,1)^D$; a flow's reported BPD is the one-draw estimate of the right-hand side, an
#   upper bound. Uniform noise is exactly 8; shifting or rescaling the data does not change the
#   BPD once the Jacobian is counted; positive log-densities come from the $[0, 1)$ scale.
# - An independent per-pixel histogram trained on FashionMNIST already gives MNIST a lower BPD than
#   FashionMNIST-test, and a black image the lowest of all: its likelihood counts cheap
#   background pixels (AUROC 0.025, an inverted detector).
# - A per-pixel Gaussian teaches the opposite caution: it prefers MNIST *on average* (a gap of
#   0.053 bits/dim whose interval excludes 0), yet image by image it is a weak but correctly
#   oriented detector (AUROC 0.635, interval 0.615 to 0.655): its mean is driven by a few
#   FashionMNIST images with ink where training images almost never had any. Its log-likelihood
#   splits exactly into a variance term (favouring MNIST, the paper's Eq. 6) and a mean term
#   (against it), which nearly cancel.
# - Mixing a model with 99 % noise costs at most $\log 100$ nats per image, under 0.01 bits/dim,
#   far less than the sampling uncertainty of a mean BPD on 2000 images: averages of
#   log-likelihood are blunt instruments.

# %% [markdown]
# ## Exercises
#
# 1. Train the histogram on MNIST instead and score MNIST-test and FashionMNIST-test. Is the
#    preference symmetric, and how does your answer compare with the paper's Figure 6? *Hint:
#    `PixelHistogram.fit(data.load("mnist", "train")[0])`; think about which values an MNIST
#    pixel near the border has ever seen. Fitting takes about 2 s of CPU time.*
# 2. A model reports $\log q(y) = 1000$ nats for a $28 \times 28$ image in the $[0, 1)$
#    convention. What is its BPD, and what log-density would it report in the $[0, 256)$
#    convention? *Hint: $D \log 256 = 4347.4$ nats.*
# 3. Estimate the Glow-style one-draw BPD of the per-pixel Gaussian with 1, 10 and 100 noise
#    draws per image, and compare each with the exact BPD of section 4. How far below the exact
#    value can a single draw fall on one image? *Hint: `bpd.dequantize` with different
#    generators and `gaussian.continuous_log_prob`; seconds of CPU time.*
# 4. The histogram model gives the all-black image about 1.36 BPD. Which pixels cost the most
#    bits? *Hint: map $-\log_2 Q_d(0)$ over the 784 pixels.*
# 5. Vary the histogram's smoothing `alpha` (0.01, 1, 100) and watch its AUROC on
#    FashionMNIST against MNIST. Which images change their BPD the most? *Hint: values a
#    pixel never took in training; each fit takes about 2 s of CPU time.*
#
# <!-- constant: 0.01 0.99 (the weights of the mixture example) -->

# %%
chapter_footer()
