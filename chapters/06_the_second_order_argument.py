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
# # 06 · The second-order argument
#
# Chapter 05 removed the volume term and the effect stayed: a constant-volume Glow still
# prefers MNIST. The paper's explanation (its Eqs. 4-6 and Appendix G) is a Taylor expansion:
# the likelihood gap between two data sets is, to second order, set by their **means** and
# **second moments** and by the model's curvature. This chapter derives it line by line, then
# holds it against the trained models of chapters 03 and 05.
#
# ## The derivation
#
# **Step 1: expand.** Fix a point $x_0$ (an image, or the mean image). With the gradient
# $g = \nabla_x \log p(x_0)$ and the Hessian $H = \nabla_x^2 \log p(x_0)$,
#
# $$\log p(x) = \log p(x_0) + g^\top (x - x_0) + \tfrac12 (x - x_0)^\top H (x - x_0) + O(\|x - x_0\|^3).$$
#
# **Step 2: average over a data set.** For any distribution $r$ over images, take the
# expectation term by term. The first term is a constant; the second is linear, so
# $\mathbb{E}_r[g^\top(x - x_0)] = g^\top(\mu_r - x_0)$ with $\mu_r = \mathbb{E}_r[x]$; the third
# is a scalar, so it equals its own trace, and with $a^\top H a = \operatorname{Tr}(H a a^\top)$
# and linearity of the trace,
#
# $$\mathbb{E}_r[\log p(x)] \approx \log p(x_0) + g^\top(\mu_r - x_0)
#   + \tfrac12 \operatorname{Tr}(H \Sigma_r), \qquad
#   \Sigma_r = \mathbb{E}_r[(x - x_0)(x - x_0)^\top].$$
#
# $\Sigma_r$ is the matrix of second moments *around $x_0$*. It is the covariance of $r$ only when
# $\mu_r = x_0$; in general $\Sigma_r = \operatorname{Cov}_r + (\mu_r - x_0)(\mu_r - x_0)^\top$.
#
# **Step 3: subtract.** Do this for the OOD distribution $q$ and the training distribution
# $p^*$, expanded at the same $x_0$; $\log p(x_0)$ cancels:
#
# $$\mathbb{E}_q[\log p] - \mathbb{E}_{p^*}[\log p] \approx
#   \underbrace{g^\top(\mu_q - \mu_{p^*})}_{\text{first order}}
#   + \underbrace{\tfrac12 \operatorname{Tr}\{H(\Sigma_q - \Sigma_{p^*})\}}_{\text{second order}} .$$
#
# **Step 4: equal means.** If $\mu_q = \mu_{p^*}$ and we expand there ($x_0 = \mu_q = \mu_{p^*}$),
# the first-order term is zero and the $\Sigma$'s are covariances: the gap depends only on how
# the two data sets *spread* around their common mean, weighted by the curvature. This is the
# paper's Eq. 5, and roughly the situation of CIFAR-10 and SVHN. For the 28x28 pairs the paper's
# Figure 10 shows the same per-dimension mean and variance histograms and reads them the same way
# (MNIST's variances are smaller, so Eq. 6 predicts it to be more likely). But **FashionMNIST and
# MNIST do not have equal means** (printed below: MNIST is darker on average), so the assumption
# behind Eq. 5 fails for this pair and the first-order term stays in.
#
# **Step 5: the constant-volume case (Appendix G).** For CV-Glow,
# $\log p(x) = \log p_z(f(x)) + c$ with a constant $c$, so the volume term has no gradient and no
# Hessian, and by the chain rule
#
# $$H = J^\top \big(\nabla_z^2 \log p_z\big) J + \sum_i \frac{\partial \log p_z}{\partial z_i}\,\nabla_x^2 f_i(x),
#   \qquad J = \partial f / \partial x .$$
#
# The paper simplifies three times: a spherical Gaussian latent $\mathcal{N}(0, \sigma_\psi^2 I)$,
# so $\nabla_z^2 \log p_z = -I/\sigma_\psi^2$; the second sum dropped (as if $f$ were linear); and a
# Jacobian that is *diagonal*, $\partial f_{h,w,c}/\partial x_{h,w,c} = \alpha_c = \prod_k \sum_j u_{k,c,j}$
# (the product over the $K$ steps of the row sums of the $1\times1$ convolution kernels $U_k$).
# Note what the row sum is: the true diagonal entry of one $1\times1$ convolution is $u_{c,c}$;
# $\sum_j u_{c,j}$ is its output in channel $c$ when *every* input channel moves by one. And
# even for a linear $f$ the true $\partial^2 \log p/\partial x_d^2 = -\sum_i J_{i,d}^2/\sigma_\psi^2$ is
# minus the *squared* norm of column $d$ of $J$ divided by $\sigma_\psi^2$, not one entry. Then $H = -\operatorname{diag}(\alpha_c^2)/\sigma_\psi^2$ and
#
# $$\operatorname{Tr}\{H(\Sigma_q - \Sigma_{p^*})\} = -\frac{1}{\sigma_\psi^2}\sum_c \alpha_c^2
#   \sum_{h,w}\big(\sigma^2_{q,h,w,c} - \sigma^2_{p^*,h,w,c}\big) .$$
#
# This is Appendix G's general trace formula; the paper's Eq. 6 is its instance for CIFAR-10
# and SVHN, with the per-channel variance sums of the two sets inserted (the last cell of this
# chapter prints it). Below, "Eq. 6" means this formula with our models' $\alpha$ and $\sigma$.
#
# The *sign* of Eq. 6 does not depend on any parameter: $\alpha_c^2 \ge 0$ and $\sigma_\psi^2 > 0$,
# so with one channel the OOD set is predicted to be more likely exactly when its summed
# per-pixel variance is smaller; with several channels, whenever every channel's sum is smaller
# (as for the paper's SVHN against CIFAR-10). More generally, whenever $\log p_z$ is concave, $J^\top(\nabla_z^2 \log p_z)J$ is
# negative semi-definite for **any** $J$, and the trace of a negative semi-definite matrix times a
# positive semi-definite one is $\le 0$: if the OOD set "sits inside" the training set
# ($\Sigma_{p^*} - \Sigma_q$ positive semi-definite), this part of the curvature favours it,
# whatever the parameters. That is why the paper needs log-concavity (exercise 2). A caveat for
# Glow as built (the paper's and ours): the split priors $p(z_l \mid h_l)$ have means and scales
# computed from the kept half, so the joint latent density is not log-concave in general, and
# the parameter-free argument covers it only approximately.
#
# What the simplification ignores in a real CV-Glow: the additive couplings' off-diagonal
# Jacobian blocks ($\partial y_b / \partial x_a$, the whole point of a coupling; their diagonal
# blocks are exactly the identity), the squeeze and split structure, the split priors' *learned*
# means and scales that depend on the other half of the latent, and the second sum above. For
# our parametrisation, `ood_lib.analysis.cv_glow_closed_form` states precisely what $\alpha$ is: each
# step's ActNorm and $1\times1$ convolution form one channel map $A_k = W_k\,\mathrm{diag}(e^{s_k})$,
# so the ActNorm scales sit inside the row sums; because of the squeezes the channel an input
# value occupies changes from level to level, so $\alpha$ is a product along each value's path
# and differs between the four sub-pixel positions of a $2\times2$ block; and $\sigma_\psi$ becomes
# the learned prior scale of the latent coordinate the value ends up in. Below, the closed form
# is checked against automatic differentiation where the paper's assumptions hold, and then
# compared with the true curvature of the trained CV-Glow.
#
# **Computing the general prediction.** `ood_lib.analysis.second_order` computes $g$, $Hv$ and
# $\operatorname{diag}(H)$ of any trained model by automatic differentiation, so its errors are
# the expansion's own, not those of the simplifications. No $784 \times 784$ matrix is needed:
# $\operatorname{Tr}(H\Sigma) = \frac1N\sum_n (x_n - x_0)^\top H (x_n - x_0)$, one Hessian-vector
# product per image (exact for the empirical moments of the images used, in any dimension). The
# *diagonal* version $\tfrac12\sum_d H_{dd}(\Sigma_{q,dd} - \Sigma_{p^*,dd})$ keeps only per-pixel
# second moments, the form of Eq. 6; comparing it with the full one shows how much the pixel
# *correlations* matter.

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import LogNorm

from ood_lib import data
from ood_lib.analysis import stats
from ood_lib.analysis.cv_glow_closed_form import diagonal_curvature, small_cv_glow
from ood_lib.analysis.frozen_activations import FrozenReLU, replace_activations
from ood_lib.analysis.log_prob_terms import log_prob_terms
from ood_lib.analysis.second_order import (
    LinearGaussianFlow,
    gradient,
    hessian_diagonal,
    mean_quadratic_form,
    predict_gap,
)
from ood_lib.book import plots
from ood_lib.book.chapter import chapter_footer, chapter_header
from ood_lib.book.findings import finding, sanity_check
from ood_lib.data import interventions
from ood_lib.data.dequantization import dequantize
from ood_lib.ood import intervals, scores
from ood_lib.training import zoo

profile = chapter_header("06 · The second-order argument")
NUM_DIMS = 28 * 28
BPD_PER_NAT = -1.0 / (NUM_DIMS * np.log(2.0))  # a log p gap of +1 nat is a BPD gap of this
TITLES = {name: data.get_spec(name).title for name in ("fashion_mnist", "mnist")}
generator = torch.Generator().manual_seed(profile.seed)
models = {}
for label, model_name in (("Glow", "glow"), ("CV-Glow", "cv_glow")):
    trained = zoo.get(model_name, "fashion_mnist", profile)
    print(f"{label} on FashionMNIST: {trained.provenance()}")
    models[label] = trained.model.eval()
device = next(models["Glow"].parameters()).device
architecture, budget = profile.glow_small, profile.train_small
print(
    f"both models: L = {architecture.levels} levels, K = {architecture.steps} steps, {architecture.hidden} hidden channels; "
    f"{budget.n_steps} steps of batch {budget.batch_size} = {budget.n_steps * budget.batch_size / 60000:.1f} epochs "
    "of the 60000 training images"
)
images = {
    name: dequantize(data.load_tensor(name, "test", n=profile.n_second_order, seed=profile.seed)[0], generator).to(
        device
    )
    for name in TITLES
}
for name, x in images.items():
    print(
        f"{TITLES[name]:12s} {len(x)} test images (pixels in [0, 1)): mean pixel {x.mean():.3f}, "
        f"sum of per-pixel variances {x.var(dim=0, correction=0).sum():.1f}"
    )
mean_image = images["fashion_mnist"].mean(dim=0)
variances = {name: x.var(dim=0, correction=0) for name, x in images.items()}
print(
    f"pixels where MNIST varies more than FashionMNIST: {(variances['mnist'] > variances['fashion_mnist']).sum()} "
    f"of {NUM_DIMS}"
)

# %%
# NBVAL_CHECK_OUTPUT
finding("MNIST's mean pixel is below FashionMNIST's", bool(images["mnist"].mean() < images["fashion_mnist"].mean()))
finding(
    "MNIST's summed per-pixel variance is below FashionMNIST's",
    bool(variances["mnist"].sum() < variances["fashion_mnist"].sum()),
)

# %% [markdown]
# The two sets do not share a mean (Step 4 does not apply as it stands), and MNIST's summed
# per-pixel variance is the smaller one, so Eq. 6 with the paper's single $\alpha$ and
# $\sigma_\psi$, which looks only at that sum, predicts MNIST to be the more likely set for any
# parameter values. With a gain per pixel, as in our closed form below, that is no longer
# guaranteed: MNIST varies *more* in the printed number of pixels, and the weights decide.
#
# ## A code test: a model on which the expansion is exact
#
# This short section tests the code, not the paper: its two checks hold by construction and are
# code sanity checks, not evidence. Before trusting the code on Glow, test it where the answer
# is known: a linear flow
# $z = Ax + b$ with a Gaussian latent has an exactly quadratic $\log p$, so the prediction must
# equal the measured gap *to rounding error*, with unequal means and any spreads.

# %%
# NBVAL_CHECK_OUTPUT
reference_generator = torch.Generator().manual_seed(0)
quadratic = LinearGaussianFlow(
    torch.randn(8, 8, generator=reference_generator, dtype=torch.float64),
    torch.randn(8, generator=reference_generator, dtype=torch.float64),
)
in_points = 1.0 + 2.0 * torch.randn(300, 8, generator=reference_generator, dtype=torch.float64)
ood_points = -0.5 + 0.5 * torch.randn(300, 8, generator=reference_generator, dtype=torch.float64)
exact = predict_gap(quadratic, torch.zeros(8, dtype=torch.float64), ood_points, in_points)
measured = (quadratic(ood_points).mean() - quadratic(in_points).mean()).item()
sanity_check(
    "quadratic log-density: prediction = measured gap to 1e-9 (exact for a quadratic)",
    bool(abs(exact.total - measured) < 1e-9 * abs(measured)),
)
sanity_check(
    "diagonal-only version differs (A^T A is not diagonal by construction)",
    bool(abs(exact.second_order_diagonal - exact.second_order) > 1e-3),
)

# %% [markdown]
# ## The paper's closed form, and the trained CV-Glow's true curvature
#
# Said plainly: the row-sum rule of Appendix G is *not* the Hessian diagonal of a CV-Glow unless
# every $1\times1$ kernel is diagonal (then row sum and diagonal entry coincide and the couplings
# of a zero-output network add nothing). With mixing kernels it is a different number, and the
# cell after the next prints how different, pair by pair.
#
# First where the paper's assumptions hold exactly: a small CV-Glow whose couplings output zero
# (their last convolution is zero-initialised), whose $1\times1$ kernels are diagonal, with random
# ActNorm scales and a random top prior. There $-\alpha_d^2/\sigma_d^2$ must equal the Hessian's
# diagonal from autograd. Then with mixing kernels, where the row-sum rule is only an
# approximation.


# %%
# NBVAL_CHECK_OUTPUT
small_x0 = torch.full((1, 4, 4), 0.5, dtype=torch.float64)
for diagonal_kernels in (True, False):
    small = small_cv_glow(reference_generator, diagonal_kernels)
    agree = torch.allclose(
        diagonal_curvature(small, small_x0).hessian_diagonal, hessian_diagonal(small.log_prob, small_x0), rtol=1e-9
    )
    sanity_check(
        f"{'diagonal' if diagonal_kernels else 'mixing'} 1x1 kernels: closed form = autograd diag(H) (to 1e-9)",
        bool(agree),
        diagonal_kernels,  # exact where the paper's assumptions hold, off where kernels mix channels
    )

# %%
mixing = small_cv_glow(reference_generator, diagonal_kernels=False)
closed, true = diagonal_curvature(mixing, small_x0).hessian_diagonal, hessian_diagonal(mixing.log_prob, small_x0)
print(
    f"with mixing kernels the closed form's diagonal is off by {((closed - true).abs() / true.abs()).median():.0%} "
    f"(median over the {true.numel()} values of the small model)"
)
print("the first 6 pairs, closed form vs autograd d2 log p / dx_d2:")
print(
    "  " + ", ".join(f"{c:.3g} vs {a:.3g}" for c, a in zip(closed.flatten()[:6].tolist(), true.flatten()[:6].tolist()))
)

# %% [markdown]
# Now the trained CV-Glow, at the FashionMNIST-test mean image: the closed form's
# $-\alpha_d^2/\sigma_d^2$ beside the true $\partial^2 \log p / \partial x_d^2$ from autograd.

# %%
cv_glow = models["CV-Glow"]
closed_form = diagonal_curvature(cv_glow, mean_image)
closed_form_curvature = -closed_form.hessian_diagonal.squeeze(0).cpu().numpy()
true_curvature = -hessian_diagonal(cv_glow.log_prob, mean_image).squeeze(0).double().cpu().numpy()
positive = true_curvature[true_curvature > 0]
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
norm = LogNorm(vmin=max(closed_form_curvature.min(), 1e-2), vmax=max(true_curvature.max(), closed_form_curvature.max()))
for ax, (title, curvature) in zip(
    axes,
    (
        (r"closed form $\alpha_d^2/\sigma_d^2$", closed_form_curvature),
        (r"autograd $-\partial^2 \log p/\partial x_d^2$", true_curvature),
    ),
):
    image = ax.imshow(np.where(curvature > 0, curvature, np.nan), norm=norm, cmap="viridis")
    ax.set_title(title)
    ax.axis("off")
fig.colorbar(image, ax=axes, extend="min", label="curvature (nats per unit pixel$^2$, log scale)")
plots.show(fig)
print(
    f"closed form: median {np.median(closed_form_curvature):.3g}, max {closed_form_curvature.max():.3g}; "
    f"autograd: median {np.median(true_curvature):.3g}, max {true_curvature.max():.3g}; "
    f"{(true_curvature <= 0).sum()} of {NUM_DIMS} autograd values are not negative curvatures (blank); "
    f"{(closed_form_curvature < norm.vmin).sum()} closed-form values lie below the colour scale's floor {norm.vmin:g}"
)
curvature_rank_correlation = stats.map_rank_correlation(true_curvature, closed_form_curvature)
print(
    f"median ratio autograd / closed form: {np.median(true_curvature / closed_form_curvature):.3g}; "
    f"Spearman rank correlation over the {NUM_DIMS} pixels: {curvature_rank_correlation:.2f}"
)
# Experiment 4's diagonal second-order term, 1/2 sum_d H_dd (Sigma_q,dd - Sigma_p,dd), split by the sign of H_dd
moment_difference = ((images["mnist"] - mean_image) ** 2).mean(dim=0) - (
    (images["fashion_mnist"] - mean_image) ** 2
).mean(dim=0)
diagonal_terms = -0.5 * true_curvature * moment_difference.squeeze(0).double().cpu().numpy()
print(
    f"diagonal second-order term of Experiment 4 (nats): {diagonal_terms.sum():.0f} in all, "
    f"{diagonal_terms[true_curvature <= 0].sum():+.1f} from the {(true_curvature <= 0).sum()} pixels of positive H_dd"
)
black_share = (images["fashion_mnist"] < 1 / 256).double().mean(dim=0).squeeze(0).cpu().numpy()  # uint8 value 0
most_curved = true_curvature >= np.quantile(true_curvature, 0.9)
print(
    f"share of FashionMNIST-test images black at a pixel: {black_share[most_curved].mean():.2f} on average over the "
    f"{most_curved.sum()} most curved pixels (top 10%), {black_share.mean():.2f} over all pixels"
)

fig, ax = plt.subplots(figsize=(5.2, 4.4))
ax.loglog(closed_form_curvature[true_curvature > 0], true_curvature[true_curvature > 0], ".", markersize=3, alpha=0.6)
span = np.array([closed_form_curvature.min(), true_curvature.max()])
ax.loglog(span, span, color="gray", linestyle=":", label="equal")
ax.set_xlabel(r"closed form $\alpha_d^2/\sigma_d^2$")
ax.set_ylabel(r"autograd $-\partial^2 \log p/\partial x_d^2$")
ax.set_title(f"one dot per pixel (the {int((true_curvature > 0).sum())} positive ones)")
ax.legend(loc="lower right")
fig.tight_layout()
plots.show(fig)

# %%
# NBVAL_CHECK_OUTPUT
print(f"rank correlation of the two curvature maps (flattened, Spearman): {curvature_rank_correlation:.2f}")
finding(
    "the closed form underestimates the true curvature at most pixels (median ratio > 100)",
    bool(np.median(true_curvature / closed_form_curvature) > 100),
)
finding("the two maps' ranks agree only weakly (Spearman below 0.5)", bool(curvature_rank_correlation < 0.5))
finding(
    "the pixels of positive H_dd contribute under 1% of the diagonal second-order term of Experiment 4",
    bool(abs(diagonal_terms[true_curvature <= 0].sum()) < 0.01 * abs(diagonal_terms.sum())),
)
finding(
    "the most curved pixels are black in more of the images than the average pixel",
    bool(black_share[most_curved].mean() > black_share.mean()),
)

# %% [markdown]
# The printed number of pixels with a *positive* second derivative (blank in the right map)
# matters for the sign argument: a concave $\log p$ has no such direction, so these pixels show
# that the trained CV-Glow's density is not log-concave even at the mean image (at that point the
# ReLU couplings are locally affine, so the positive entries can only come from the split priors,
# whose scales depend on the kept half), and along them a smaller spread would be *less* likely. They
# do not decide the trace of Experiment 4: their share of its diagonal second-order term is
# printed beside the total (under 1%, checked), but they are why the argument can only be
# approximate for a Glow.
#
# The two maps share a colour scale. The closed form sees only the channel structure: its
# gains depend on which of the four positions of a $2\times2$ squeeze block a pixel occupies,
# hence the checkerboard, and most of its values are small. The true curvature varies smoothly
# across the image (by eye, it is largest along parts of the border); its most curved pixels
# are black in more of the images than the average pixel (printed: the share of images black
# there, checked); and it
# is orders of magnitude larger (printed: the median ratio). The ranks do not
# rescue it either: over the 784 pixels the Spearman rank correlation of the two maps is only
# 0.19 (the scatter: one dot per pixel, far from the diagonal and from any monotone curve), so the
# closed form does not even tell which pixels are the most curved. The closed form leaves out the
# couplings' off-diagonal blocks and replaces the diagonal by row sums; this chapter does not
# separate how much of the gap each omission causes (exercise 4 starts on it).
#
# ## Experiment 1: how far does a Taylor expansion of a trained flow reach?
#
# Step 1 is only useful if $\log p$ is close to its quadratic over the distances the data
# span. Test that directly: move away from the mean image $\mu$ along random directions,
# $x = \mu + s\,\varepsilon_n$ with 64 draws $\varepsilon_n \sim \mathcal{N}(0, I)$ centred to mean
# zero, and compare the measured $\overline{\log p(\mu + s\varepsilon_n)} - \log p(\mu)$ with the
# expansion $\tfrac{s^2}{2}\overline{\varepsilon_n^\top H \varepsilon_n}$ (the first-order term
# averages to zero). The models run in float64 here: at the smallest $s$ the changes of $\log p$
# are far below float32's resolution of a number near 2000. For scale, the plot marks one grey
# level ($1/256$) and the root-mean-square distance of a FashionMNIST-test pixel from its mean.

# %%
step_sizes = np.logspace(-9, -0.5, 18)  # 1e-9 to 0.32, beyond the data's spread
noise_generator = torch.Generator().manual_seed(profile.seed + 1)
epsilon = torch.randn(64, *mean_image.shape, generator=noise_generator, dtype=torch.float64).to(device)
epsilon = epsilon - epsilon.mean(dim=0)
mean_image_64 = mean_image.double()
data_spread = images["fashion_mnist"].var(dim=0).mean().sqrt().item()
reach, curvatures_along_noise = {}, {}
for label, model in models.items():
    model_64 = copy.deepcopy(model).double()
    curvature_along_noise = mean_quadratic_form(model_64.log_prob, mean_image_64, mean_image_64 + epsilon)
    curvatures_along_noise[label] = curvature_along_noise  # reused by Experiment 2 and the frozen-ReLU control
    with torch.no_grad():
        log_p_at_mean = model_64.log_prob(mean_image_64[None]).item()
        measured = np.array([model_64.log_prob(mean_image_64 + s * epsilon).mean().item() for s in step_sizes])
    measured = measured - log_p_at_mean
    predicted = 0.5 * step_sizes**2 * curvature_along_noise
    reach[label] = (measured, predicted, np.abs(predicted - measured) / np.abs(measured))

print(f"one grey level = {1 / 256:.4f}; RMS spread of FashionMNIST-test pixels around their mean = {data_spread:.3f}")
for label, (model_drop, _, _) in reach.items():
    print(f"{label}: distances at which log p rose instead of falling (not drawn): {step_sizes[model_drop >= 0]}")
relu_units = sum(
    len(steps) * 2 * models["CV-Glow"].hidden * (28 // 2 ** (level + 1)) ** 2
    for level, steps in enumerate(models["CV-Glow"].levels)
)
print(f"ReLU units in the coupling networks (either model): {relu_units}")
for label, (model_drop, _, _) in reach.items():
    print(
        f"{label}: largest measured drop {-np.nanmin(model_drop):.3g} nats, at s = {step_sizes[np.nanargmin(model_drop)]:.2f}"
    )
for label, (_, _, relative_error) in reach.items():
    breaks = step_sizes[~(relative_error < 0.1)]
    within = step_sizes[(relative_error < 0.1) & (step_sizes > breaks.min())] if len(breaks) else step_sizes[:0]
    print(
        f"{label:8s} distances beyond the first break where the error is back under 10%: "
        + (", ".join(f"{value:.1e}" for value in within) or "none")
    )
    grey_level = np.argmin(np.abs(np.log(step_sizes * 256)))
    print(
        f"{label:8s} relative error at s = {step_sizes[0]:.0e}: {relative_error[0]:.3f}, "
        f"at s = {step_sizes[grey_level]:.1e} (about a grey level): {relative_error[grey_level]:.2f}, "
        f"at s = {step_sizes[-1]:.2f}: {relative_error[-1]:.3g}; "
        f"first s with error > 10%: {f'{breaks.min():.0e}' if len(breaks) else 'none'}"
    )


# %%
# Measure the ReLU-kink explanation: how many coupling-network pre-activations change sign between mu and mu + s eps?
def relu_signs(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Signs (> 0) of every ReLU's input in the coupling networks, flattened per example."""
    captured = []
    hooks = [
        module.register_forward_pre_hook(lambda _, inputs: captured.append((inputs[0] > 0).flatten(1).clone()))
        for module in model.modules()
        if isinstance(module, torch.nn.ReLU)
    ]
    try:
        with torch.no_grad():
            model.log_prob(x)
    finally:
        for hook in hooks:
            hook.remove()
    return torch.cat(captured, dim=1)


kink_steps = step_sizes[[0, 4, 8, 12, 17]]
switched = {}
for label, model in models.items():
    model_64 = copy.deepcopy(model).double()
    at_mean = relu_signs(model_64, mean_image_64.expand_as(epsilon))
    switched[label] = [
        (relu_signs(model_64, mean_image_64 + s * epsilon) != at_mean).double().mean().item() for s in kink_steps
    ]
    print(
        f"{label:8s} share of ReLU pre-activations whose sign differs from that at mu (mean over the 64 draws): "
        + ", ".join(
            f"s = {s:.1e}: {share:.2e} ({share * at_mean.shape[1]:.3g} per image)"
            for s, share in zip(kink_steps, switched[label])
        )
    )


# The control: freeze every ReLU's on/off pattern at mu (the coupling networks become exactly linear) and redo the reach
frozen_steps_of, frozen_error, frozen_change = {}, {}, {}
for label, model in models.items():
    # every other distance, plus each distance at which this model's log p rose (Experiment 1's printed list)
    rose_indices = np.flatnonzero(reach[label][0] >= 0)
    frozen_steps = step_sizes[sorted(set(range(0, len(step_sizes), 2)) | set(rose_indices.tolist()))]
    frozen_steps_of[label] = frozen_steps
    frozen = replace_activations(copy.deepcopy(model).double(), FrozenReLU)
    with torch.no_grad():
        frozen_at_mean = frozen.log_prob(mean_image_64.expand_as(epsilon))[0].item()  # records the masks at mu
        frozen_drop = np.array([frozen.log_prob(mean_image_64 + s * epsilon).mean().item() for s in frozen_steps])
    # the Hessian at mu is the same (a ReLU's second derivative is zero away from its kink), so is the prediction
    frozen_prediction = 0.5 * frozen_steps**2 * curvatures_along_noise[label]
    frozen_change[label] = frozen_drop - frozen_at_mean
    frozen_error[label] = np.abs(frozen_prediction - frozen_change[label]) / np.abs(frozen_change[label])
    print(
        f"{label:8s} relative error with the ReLU masks frozen at mu: "
        + ", ".join(f"s = {s:.1e}: {e:.2g}" for s, e in zip(frozen_steps, frozen_error[label]))
    )
    rose_steps = np.isin(frozen_steps, step_sizes[rose_indices])
    if rose_steps.any():
        print(
            f"{label:8s} at the distances where log p rose, mean log p(mu + s eps) - log p(mu), real vs frozen masks: "
            + ", ".join(
                f"s = {s:.1e}: {real:+.2e} vs {frozen_value:+.2e}"
                for s, real, frozen_value in zip(
                    frozen_steps[rose_steps], reach[label][0][rose_indices], frozen_change[label][rose_steps]
                )
            )
            + " nats"
        )

# the figure of Experiment 1, drawn after the control so that its frozen-mask errors appear in the right panel
REACH_TOP = 1e6  # nats: the drops beyond it (the largest is printed below) are counted in the legend
MODEL_COLOURS = {"Glow": "C0", "CV-Glow": "C1"}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for label, (model_drop, model_prediction, relative_error) in reach.items():
    colour = MODEL_COLOURS[label]
    shown = np.isfinite(model_drop) & (model_drop < 0) & (-model_drop <= REACH_TOP)  # drops, i.e. log p falling
    off_scale = int((np.isfinite(model_drop) & (-model_drop > REACH_TOP)).sum())
    axes[0].loglog(
        step_sizes[shown],
        -model_drop[shown],
        marker="o",
        color=colour,
        label=f"{label}: measured" + (f" ({off_scale} above {REACH_TOP:.0e})" if off_scale else ""),
    )
    axes[0].loglog(step_sizes, -model_prediction, linestyle="--", color=colour, label=f"{label}: second-order")
    rose = np.isfinite(model_drop) & (model_drop >= 0)
    if rose.any():  # log p rose instead of falling: no drop to draw, marked at the bottom edge
        axes[0].plot(
            step_sizes[rose],
            np.full(rose.sum(), 2e-12),
            linestyle="none",
            marker="v",
            color=colour,
            label=f"{label}: log p rose ({rose.sum()} distances)",
        )
    finite = np.isfinite(relative_error)
    axes[1].loglog(step_sizes[finite], relative_error[finite], marker="o", color=colour, label=label)
    axes[1].loglog(
        frozen_steps_of[label],
        frozen_error[label],
        marker="x",
        linestyle="--",
        color=colour,
        label=f"{label}, ReLU masks frozen at mu (control)",
    )
axes[0].set_ylim(top=REACH_TOP)
for ax in axes:
    ax.axvline(1 / 256, color="gray", linewidth=1, linestyle=":", label="one grey level (1/256)")
    ax.axvline(data_spread, color="black", linewidth=1, linestyle=":", label="RMS data spread")
    ax.set_xlabel(r"distance scale $s$ (pixel units, $[0, 1)$)")
axes[0].set_ylabel(r"$\log p(\mu) - \overline{\log p(\mu + s\varepsilon)}$ (nats)")
axes[0].set_title("drop in log-likelihood away from the mean image")
axes[1].axhline(0.1, color="red", linewidth=1, label="10% error")
axes[1].set_ylabel("relative error of the expansion")
axes[1].set_title("how wrong the quadratic is (dashed: masks frozen)")
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()
plots.show(fig)

# %%
# NBVAL_CHECK_OUTPUT
below_grey_level = step_sizes < 1 / 256
for label, (model_drop, _, relative_error) in reach.items():
    finding(
        f"{label}: log p falls with every step of s from 1e-6 on",
        bool((np.diff(model_drop[step_sizes >= 0.99e-6]) < 0).all()),
    )
    sanity_check(
        f"{label}: the expansion is accurate to 5% at some s below one grey level (the gradient and HVP code)",
        bool((relative_error[below_grey_level] < 0.05).any()),
    )
    finding(
        f"{label}: off by more than 10% at s = {step_sizes[-1]:.2f}, beyond the RMS data spread",
        bool(not relative_error[-1] < 0.1),
    )
    finding(
        f"{label}: some ReLU switches sign already at s = {kink_steps[1]:.0e}, and the share rises at each printed s",
        bool(switched[label][1] > 0 and (np.diff(switched[label]) > 0).all()),
    )
    finding(
        f"{label}: with the ReLU masks frozen the error stays under 10% at every s up to 1e-3",
        bool((frozen_error[label][frozen_steps_of[label] <= 1.01e-3] < 0.1).all()),
    )
    finding(
        f"{label}: with the ReLU masks frozen the error still exceeds 10% at s = 0.1",
        bool(not frozen_error[label][-1] < 0.1),
    )
rose_at = step_sizes[reach["CV-Glow"][0] >= 0]
frozen_at_rise = np.isin(frozen_steps_of["CV-Glow"], rose_at)
sanity_check(
    "CV-Glow: every distance where log p rose is among those run with frozen masks (by the choice of distances)",
    bool(frozen_at_rise.sum() == len(rose_at)),
)
finding(
    "CV-Glow: at each of them the frozen-mask log p falls instead, within 10% of the quadratic",
    bool(
        (frozen_change["CV-Glow"][frozen_at_rise] < 0).all() and (frozen_error["CV-Glow"][frozen_at_rise] < 0.1).all()
    ),
)

# %% [markdown]
# Read the right panel from the left. At the smallest distance the relative error is a few per cent
# (printed; the sweep does not go below $10^{-9}$: there the change of $\log p$ is about
# $10^{-11}$ nats, near float64's resolution of a number near 2000), so the gradient and
# Hessian code is right for these trained models too. Each model's error first
# exceeds 10% at a tiny distance (the printed "first s", orders of magnitude below one grey
# level), but it does not stay there: the printed distances beyond that break where the error
# is back under 10% show that it wanders, so "how far the expansion reaches" has no single
# answer below the data's spread; at and beyond the spread both models are off by more than
# 10% (the checked cell). The coupling networks are ReLU networks, with the
# printed number of ReLU units; the printed shares of their pre-activations that change sign
# between $\mu$ and $\mu + s\varepsilon$ (and the number per image) rise with $s$ at each of
# the five printed distances (checked).
# Inside a region where no ReLU switches, a CV-Glow's $f$ is exactly linear and its $\log p$
# smooth (quadratic except for the split priors, whose $\log\sigma$ is linear in the kept half
# and enters as $e^{-2\log\sigma}$; the affine Glow also has its couplings' sigmoid scales).
# Crossing a ReLU kink changes $J$, so the gradient jumps: a kink met at distance $s_k$ adds a
# term proportional to $(s - s_k)_+$, of first order in $s$, which the centred directions no
# longer cancel. The control separates the kinks from the other non-linearities: the same
# models with every ReLU's on/off pattern **frozen** at $\mu$ (so the coupling networks are
# exactly linear, and the Hessian at $\mu$, hence the prediction, is unchanged). With the masks
# frozen the error stays under 10% up to $s = 10^{-3}$ for both models (printed, checked; the
# dashed curves of the right panel, drawn below the control's cell), where
# the real models break at $10^{-7}$ to $10^{-8}$: below about a grey level the kinks are what
# breaks the quadratic. Beyond it the frozen models are off too (over 10% at $s = 0.1$,
# checked): there the split priors' scales (and the Glow's sigmoid) take over. Why the real
# CV-Glow's error comes back under 10% between $10^{-6}$ and $3\cdot 10^{-5}$ while the
# number of switched units keeps rising is not separated here; it is consistent with the
# first-order kink terms of many units partly cancelling, not shown. The Hessian at $\mu$
# describes only a small region around it. The left panel shows what survives at larger
# distances: the measured drop grows with every step of $s$ from $10^{-6}$ on for both models
# (checked; below it the CV-Glow's $\log p$ *rose* at the four printed distances, marked at the
# bottom edge), for the affine Glow explosively from 0.1 on, at a different rate than the
# parabola. At each of those four distances the frozen-mask CV-Glow's $\log p$ falls instead,
# within 10% of the quadratic (the control is run at all four, printed, checked): the rise
# comes from the ReLU kinks. So the *ordering* of two spreads may come out right even where the *size*
# of the gap does not. The next experiment asks exactly that.
#
# ## Experiment 2: Gaussian data sets with equal means, far from the data
#
# The controlled version of Step 4, on isotropic noise. Around $\mu$, a "training" set $\mu + s_{\text{in}}\varepsilon_n$
# with $s_{\text{in}} = 0.05$ and OOD sets $\mu + s\,\varepsilon_n$ for a sweep of $s$, with the same
# centred draws, so every set has mean exactly $\mu$ (a flow is defined on all of $\mathbb{R}^D$, so
# values outside $[0, 1)$ are allowed). Expanded at $\mu$, the prediction
# $\tfrac12(s^2 - s_{\text{in}}^2)\,\overline{\varepsilon^\top H\varepsilon}$ is a parabola whose sign flips
# exactly where the spreads cross, because the curvature along the draws is negative. Because
# every set uses the same draws, the gap is zero at $s = s_{\text{in}}$ by construction; what the
# experiment tests is whether the measured mean $\log p$ *falls monotonically* as the spread
# grows, which is what the sign argument says and what a non-concave $\log p$ could violate.
# These sets are not images: the spreads 0.01 to 0.1 are a few per cent to a third of the RMS
# data spread (printed in Experiment 1), but the noise is isotropic, so even the "training" set
# has many negative pixel values (printed share) and a mean $\log p$ far below that of real
# test images (printed). What this experiment shows is a statement about isotropic noise around
# the mean image, in a region where the affine Glow's smallest split-prior scale is far below
# its values on real images (next section, against a printed real-image baseline from 100 test images; the
# CV-Glow's falls much less far below its own).
#
# <!-- constant: 0.05 (the in-distribution spread, set in the cell below) -->

# %%
spread_in = 0.05
spreads = np.linspace(0.01, 0.1, 9)  # steps of 0.01125: spread_in is not on the grid, no gap is exactly zero
sweep = {}
for label, model in models.items():
    model_64 = copy.deepcopy(model).double()
    curvature_along_noise = curvatures_along_noise[label]  # the same draws and point as in Experiment 1
    with torch.no_grad():
        in_log_p = model_64.log_prob(mean_image_64 + spread_in * epsilon).mean().item()
        real_log_p_64 = model_64.log_prob(images["fashion_mnist"].double()).mean().item()
    print(
        f"{label:8s} mean log p of the 'training' set (s = {spread_in}): {in_log_p:.3g} nats; "
        f"of the {len(images['fashion_mnist'])} real FashionMNIST-test images: {real_log_p_64:.0f} nats"
    )
    with torch.no_grad():
        measured = np.array([model_64.log_prob(mean_image_64 + s * epsilon).mean().item() for s in spreads]) - in_log_p
    sweep[label] = (measured, 0.5 * (spreads**2 - spread_in**2) * curvature_along_noise)
shown_range = 10 * max(np.abs(predicted).max() for _, predicted in sweep.values())
print(
    "share of negative pixel values in the noise sets: "
    + ", ".join(
        f"s = {s:.2f}: {((mean_image_64 + s * epsilon) < 0).double().mean().item():.2f}"
        for s in (spreads[0], spread_in, spreads[-1])
    )
)

fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
for ax, (label, (measured, predicted)) in zip(axes, sweep.items()):
    off_scale = int((np.abs(measured) > shown_range).sum())
    ax.plot(
        spreads,
        np.where(np.abs(measured) <= shown_range, measured, np.nan),  # no line is drawn toward off-range points
        marker="o",
        label="measured"
        + (
            (
                f": all {off_scale} points"
                if off_scale == len(spreads)
                else f": {off_scale} of the {len(spreads)} points"
            )
            + " lie outside this y range (values printed below)"
            if off_scale
            else ""
        ),
    )
    ax.plot(spreads, predicted, marker="x", linestyle="--", label="second-order prediction")
    ax.axvline(spread_in, color="gray", linewidth=1, label=r"$s = s_{\mathrm{in}}$")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_yscale("symlog", linthresh=100.0)
    ax.set_ylim(-shown_range, shown_range)  # points beyond it are counted in the legend
    ax.set_xlabel("OOD spread s (pixel units)")
    ax.set_ylabel("$\\mathbb{E}_q[\\log p] - \\mathbb{E}_{p^*}[\\log p]$\n(nats; symlog, linear within $\\pm 100$)")
    ax.set_title(f"{label} (trained on FashionMNIST)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8)
fig.tight_layout()
plots.show(fig)
for label, (measured, predicted) in sweep.items():
    print(
        f"{label:8s} gap at s = {spreads[0]:.2f}: measured {measured[0]:+.3g}, predicted {predicted[0]:+.3g}; "
        f"at s = {spreads[-1]:.2f}: measured {measured[-1]:+.3g}, predicted {predicted[-1]:+.3g} nats; "
        f"predicted / measured over the sweep: {np.min(predicted / measured):.3g} to {np.max(predicted / measured):.3g}"
    )

# %%
# NBVAL_CHECK_OUTPUT
below, above = spreads < spread_in, spreads > spread_in
for label, (measured, _) in sweep.items():
    finding(f"{label}: measured mean log p falls monotonically with the spread s", bool((np.diff(measured) < 0).all()))
cv_measured, cv_predicted = sweep["CV-Glow"]
finding(
    "CV-Glow: the prediction is between 10 and 100 times the measured gap at every spread",
    bool(((cv_predicted / cv_measured > 10) & (cv_predicted / cv_measured < 100)).all()),
)
finding(
    "Glow: the prediction is under 1% of the measured gap at every spread",
    bool((np.abs(sweep["Glow"][1] / sweep["Glow"][0]) < 0.01).all()),
)

# %% [markdown]
# ### Where do gaps of $10^{20}$ nats come from?
#
# A log-density in 784 dimensions that changes by $10^{20}$ nats (and by the printed largest drop
# at the largest distance of Experiment 1) cannot be a smooth quadratic at work. `ood_lib.analysis.log_prob_terms`
# takes $\log p$ apart: for the top prior and the split prior
# $\mathcal{N}(\mu(h), \sigma(h)^2)$ of level 1, the scale term $-\sum\log\sigma$, the Mahalanobis
# term $-\tfrac12\sum((z - \mu)/\sigma)^2$ and the constant, and $\log|\det|$. Means over the same
# 64 draws, at three spreads, with the largest deviation $|z - \mu|$ and the smallest $\log\sigma$
# met, to tell a latent that runs away from a scale that vanishes.

# %%
decomposition_spreads = (spread_in, spreads[-1], step_sizes[-1])
term_means, term_sums_error, smallest_log_std = {}, {}, {}
for label, model in models.items():
    model_64 = copy.deepcopy(model).double()
    for s in decomposition_spreads:
        with torch.no_grad():
            terms = log_prob_terms(model_64, mean_image_64 + s * epsilon)
        term_means[label, s] = {name: values.mean().item() for name, values in terms.table().items()}
        term_sums_error[label, s] = (
            ((sum(terms.table().values()) - terms.log_px).abs() / terms.log_px.abs()).max().item()
        )
        smallest_log_std[label, s] = terms.priors["split 1"].smallest_log_std.min().item()
        split = terms.priors["split 1"]
        print(
            f"{label:8s} s = {s:.2f}: "
            + ", ".join(
                f"{name} {value:+.3g}" for name, value in term_means[label, s].items() if "constant" not in name
            )
            + f"; total {terms.log_px.mean().item():+.3g}; split 1: largest |z - mu| {split.largest_deviation.max():.3g}, "
            f"smallest log sigma {split.smallest_log_std.min():.3g}"
        )
# the baseline: the same smallest split-1 log sigma on real test images and at the mean image itself
BASELINE_IMAGES = 100  # the first 100 of the 500 FashionMNIST-test images (run time)
baseline_log_std = {}
for label, model in models.items():
    with torch.no_grad():
        real_terms = log_prob_terms(model, images["fashion_mnist"][:BASELINE_IMAGES])
        mean_terms = log_prob_terms(model, mean_image[None])
    baseline_log_std[label] = (
        real_terms.priors["split 1"].smallest_log_std.min().item(),
        mean_terms.priors["split 1"].smallest_log_std.item(),
    )
    print(
        f"{label:8s} smallest split-1 log sigma on {BASELINE_IMAGES} real FashionMNIST-test images: "
        f"{baseline_log_std[label][0]:.3g} (the lowest over the images); at the mean image: {baseline_log_std[label][1]:.3g}"
    )
print(
    f"constants (the same at every s): split 1 {term_means['Glow', spread_in]['split 1 constant']:.1f}, "
    f"top {term_means['Glow', spread_in]['top constant']:.1f} nats"
)

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "the terms add up to log p (relative error under 1e-9, every draw and spread)",
    bool(max(term_sums_error.values()) < 1e-9),
)
for s in decomposition_spreads:
    finding(
        f"s = {s:.2f}: the smallest split-1 log sigma is lower for Glow than for CV-Glow",
        bool(smallest_log_std["Glow", s] < smallest_log_std["CV-Glow", s]),
    )
finding(
    "Glow: the smallest split-1 log sigma at every spread lies below the lowest on the real images and at mu",
    bool(all(smallest_log_std["Glow", s] < min(baseline_log_std["Glow"]) for s in decomposition_spreads)),
)
finding(
    "Glow: the split-1 scale term falls as s grows (0.05, 0.10, 0.32)",
    bool(all(np.diff([term_means["Glow", s]["split 1 scale"] for s in decomposition_spreads]) < 0)),
)
finding(
    "CV-Glow: the split-1 scale term falls as s grows (0.05, 0.10, 0.32)",
    bool(all(np.diff([term_means["CV-Glow", s]["split 1 scale"] for s in decomposition_spreads]) < 0)),
)
for s in decomposition_spreads[1:]:
    glow_terms = term_means["Glow", s]
    finding(
        f"Glow, s = {s:.2f}: the split prior's Mahalanobis term is the most negative term, by over 100 times",
        bool(
            all(
                glow_terms["split 1 mahalanobis"] < 100 * value
                for name, value in glow_terms.items()
                if name != "split 1 mahalanobis" and value < 0
            )
        ),
    )

# %% [markdown]
# The terms add up to $\log p$ (a code sanity check). The responsible term is the **split
# prior's Mahalanobis term** of the affine Glow: at $s = 0.10$ and $0.32$ it is over 100 times
# more negative than any other term (checked), which all stay many orders of magnitude smaller
# (printed: the top prior's Mahalanobis term reaches -3.41e5 and $\log|\det|$
# -2.93e4 at $s = 0.32$). The mean scale term $-\sum\log\sigma$ *falls* as $s$ grows, for
# both models (checked): on average the scales grow, even though the smallest $\log\sigma$
# falls. The printed diagnostics say where the explosion comes from: the deviations
# $|z - \mu|$ grow only to hundreds, while the Glow's smallest $\log\sigma$ falls to about
# $-100$, a scale near $e^{-100}$, where on real test images and at $\mu$ itself it is only a few
# units below zero (printed baseline; the noise sets lie below it at every spread, checked): the
# scales collapse relative to the data. The prior network outputs $\log\sigma(h)$ linearly in
# the kept half $h$, unbounded below, and the density uses $e^{-2\log\sigma}$: a linear drift of
# $\log\sigma$ far from the data becomes an exponential growth of the Mahalanobis term, while the
# scale term grows only linearly. The learned split-prior scales, not the couplings' volume,
# produce the astronomically negative $\log p$ of the isotropic-noise sets. The CV-Glow's
# smallest $\log\sigma$ stays far higher, between $-3.3$ and $-6.8$ (printed; higher than the Glow's at
# every spread, checked), close to its own real-image baseline (printed), so its Mahalanobis term grows much more slowly, though it still
# reaches -1.71e7 nats at $s = 0.32$ (printed), far beyond any real image's scale.
# Either way the experiment's *ordering* is untouched (a larger spread is less likely), but its
# sizes are not comparable with any Taylor expansion.

# %% [markdown]
# ## Experiment 3: shrinking real images toward their mean
#
# The real-image version of Step 4: $x_t = \mu + t(x - \mu)$ for the FashionMNIST test images $x$,
# with $\mu$ their mean. Before rounding, every $x_t$-set has mean $\mu$, and its image part has
# second moments $t^2\Sigma$ (the fresh dequantization noise adds $1/(12\cdot 256^2)$ per pixel at
# every $t$, and rounding changes both slightly); so expanded at $\mu$ the prediction is
# $\log p(\mu) + \tfrac{t^2}{2}\operatorname{Tr}(H\Sigma)$, quadratic in $t$ with one trace for all
# $t$; for the CV-Glow also the closed form's
# $\log p(\mu) - \tfrac{t^2}{2}\sum_d \frac{\alpha_d^2}{\sigma_d^2}\Sigma_{dd}$. At $t = 1$ these are
# the real images; $t = 0$ is the mean image itself. Both predictions say: the smaller $t$, the
# more likely.
#
# Controls decide what a measured curve means. **Dequantization:** shrinking images that are
# already dequantized would shrink the uniform noise by $t$ too, and every $t < 1$ would leave the
# distribution the model was trained on (noise of full width $1/256$); so here the *integer*
# images are shrunk, rounded to 8 bits and dequantized afresh with full-width noise through the
# ordinary scoring path (`ood_lib.data.interventions.shrink_toward`, then `scores.bits_per_dim`).
# **Background:** shrinking the whole image toward $\mu$ also turns FashionMNIST's exactly black
# surround grey wherever $\mu$ is not black, a change in kind, not only in variance. Three more
# sets separate the two: **foreground only** shrinks the non-black pixels toward $\mu$ (which
# counts the zeros, so it lies below the garments' own values: this set also *darkens* them);
# **foreground, mean kept** shrinks them toward each pixel's mean over the images where it is
# not black, so the set's mean stays that of the real images; **background only** greys the
# black pixels as the whole-image shrink does and leaves the garment alone. The table prints
# each set's mean pixel, the largest change of a pixel's mean, the summed per-pixel variance and
# the share of black pixels, so the sets can be compared at equal variance removed. Each
# difference of $\log p$ is paired (the same images and the same noise draws in every set), with
# a bootstrap interval over the images. The two new controls are scored at $t = 0$ and $0.5$ only
# (run time). Two more columns help read the mean shift and the background (neither is a control of the mean shift, see below): beside each measured
# gap the first-order estimate $g^\top(\mu_{\text{set}} - \mu)$, with $g$ at the mean image, a
# linear extrapolation of what the set's change of mean does (only a rough stand-in for it
# where the means move far, as discussed below); and a set whose black pixels are raised by
# **one grey level** (0 to 1, the garment untouched), which changes the mean and the variance by
# almost nothing and the background's exact black entirely.

# %%
shrink_factors = np.linspace(0.0, 1.0, 5)
fashion_uint8 = data.load_tensor("fashion_mnist", "test", n=profile.n_second_order, seed=profile.seed)[0]
fashion_nhwc = fashion_uint8.permute(0, 2, 3, 1).numpy()
centred = images["fashion_mnist"] - mean_image
second_moments = (centred**2).mean(dim=0)
fashion_pixels = fashion_nhwc.astype(np.float64)
is_foreground = fashion_pixels != 0
# each pixel's mean over the images where it is not black: shrinking the foreground toward it keeps the set's mean
foreground_mean = (fashion_pixels * is_foreground).sum(axis=0) / np.maximum(is_foreground.sum(axis=0), 1)


def shrunk_set(variant: str, t: float) -> np.ndarray:
    """The FashionMNIST-test images (uint8 NHWC) shrunk by t in one of the four ways compared below."""
    if variant == "whole image":
        return interventions.shrink_toward(fashion_nhwc, t)
    if variant == "foreground only":
        return interventions.shrink_toward(fashion_nhwc, t, foreground_only=True)
    if variant == "foreground, mean kept":
        return interventions.shrink_toward(fashion_nhwc, t, centre=foreground_mean, foreground_only=True)
    # background only: the black pixels take the values the whole-image shrink gives them, the garment stays
    return np.where(fashion_nhwc == 0, interventions.shrink_toward(fashion_nhwc, t), fashion_nhwc)


SHRINK_FACTORS_OF = {
    "whole image": shrink_factors[:-1],
    "foreground only": shrink_factors[:-1],
    "foreground, mean kept": shrink_factors[[0, 2]],
    "background only": shrink_factors[[0, 2]],
}
shrink_sets = {
    (variant, float(t)): shrunk_set(variant, float(t)) for variant, ts in SHRINK_FACTORS_OF.items() for t in ts
}
# the smallest change of the background: every black pixel (0) raised by one grey level (1), the garment untouched
ONE_GREY_LEVEL = ("background one grey level up", 1.0)
shrink_sets[ONE_GREY_LEVEL] = np.where(fashion_nhwc == 0, 1, fashion_nhwc).astype(np.uint8)
set_statistics = {}
print(f"{'set':32s} {'mean pixel':>10s} {'largest mean shift':>18s} {'summed variance':>15s} {'black pixels':>12s}")
for key, images_uint8 in {("real images", 1.0): fashion_nhwc, **shrink_sets}.items():
    pixels = images_uint8.astype(np.float64) / 256
    set_statistics[key] = (
        pixels.mean(),
        np.abs(pixels.mean(axis=0) - fashion_pixels.mean(axis=0) / 256).max(),
        pixels.var(axis=0).sum(),
        (images_uint8 == 0).mean(),
    )
    name = key[0] if key[0] not in SHRINK_FACTORS_OF else f"{key[0]}, t = {key[1]:.2f}"
    print(f"{name:32s} " + " ".join(f"{v:{w}.3f}" for v, w in zip(set_statistics[key], (10, 18, 15, 12))))


def pixel_covariance(images_uint8: np.ndarray) -> np.ndarray:
    """The 784 x 784 covariance of a set's pixels (in [0, 1) units, dequantization noise left out)."""
    pixels = images_uint8.reshape(len(images_uint8), -1).astype(np.float64) / 256
    pixels = pixels - pixels.mean(axis=0)
    return pixels.T @ pixels / len(pixels)


# does the set "sit inside" the real images? Sigma_real - Sigma_set: its trace, its diagonal, its eigenvalues
real_covariance = pixel_covariance(fashion_nhwc)
variance_premise = {}
for key in (("whole image", 0.5), ("foreground, mean kept", 0.0), ("foreground, mean kept", 0.5)):
    covariance_drop = real_covariance - pixel_covariance(shrink_sets[key])
    eigenvalues = np.linalg.eigvalsh(covariance_drop)
    variance_premise[key] = {
        "summed variance removed": np.trace(covariance_drop),
        "pixels whose variance rose": int((np.diag(covariance_drop) < -1e-12).sum()),
        "smallest eigenvalue": eigenvalues.min(),
        "largest eigenvalue": eigenvalues.max(),
    }
    print(
        f"Sigma_real - Sigma_set, {key[0]}, t = {key[1]:.2f}: "
        + ", ".join(f"{name} {value:.3g}" for name, value in variance_premise[key].items())
    )


def moments_at_mean(images_uint8: np.ndarray) -> torch.Tensor:
    """Per-pixel second moments around the mean image of a set's pixels at their bin centres (C, H, W)."""
    pixels = torch.from_numpy((images_uint8.astype(np.float64) + 0.5) / 256).permute(0, 3, 1, 2)
    return ((pixels - mean_image.double().cpu()) ** 2).mean(dim=0)


# the closed form (Eq. 6) for the mean-kept sets: 1/2 sum_d H_dd (m_set,d - m_real,d), H_dd = -alpha_d^2/sigma_d^2
closed_form_mean_kept = {
    t: closed_form.predict_gap(
        moments_at_mean(shrink_sets["foreground, mean kept", float(t)]), moments_at_mean(fashion_nhwc)
    )
    for t in SHRINK_FACTORS_OF["foreground, mean kept"]
}
print(
    "CV-Glow closed form (Eq. 6) for the mean-kept foreground sets, predicted gap to the real images: "
    + ", ".join(f"t = {t:.2f}: {value:+.0f}" for t, value in closed_form_mean_kept.items())
    + " nats (the autograd-Hessian prediction is not computed for these sets)"
)

shrinking, shrink_gaps, per_image_gaps, prediction_formulas, first_order_of = {}, {}, {}, {}, {}
for label, model in models.items():
    with torch.no_grad():
        log_p_mean_image = model.log_prob(mean_image[None]).item()
    trace = mean_quadratic_form(model.log_prob, mean_image, images["fashion_mnist"])
    # the first-order estimate g^T (mu_set - mu_real), g at the mean image: a stand-in for the effect of the mean shift
    g_at_mean = gradient(model.log_prob, mean_image).double().cpu().numpy().reshape(fashion_nhwc.shape[1:])
    first_order_of[label] = {
        key: float((g_at_mean * (images_uint8.mean(axis=0) - fashion_pixels.mean(axis=0))).sum() / 256)
        for key, images_uint8 in shrink_sets.items()
    }
    real_bpd = scores.bits_per_dim(model, data.to_tensor(fashion_nhwc), seed=profile.seed)
    real_log_p = NUM_DIMS * np.log(256.0) - real_bpd * NUM_DIMS * np.log(2.0)  # log p in nats
    per_image_gaps[label] = {}
    for key, images_uint8 in shrink_sets.items():
        bpd = scores.bits_per_dim(model, data.to_tensor(images_uint8), seed=profile.seed)
        per_image_gaps[label][key] = NUM_DIMS * np.log(256.0) - bpd * NUM_DIMS * np.log(2.0) - real_log_p
    shrink_gaps[label] = {key: intervals.bootstrap_mean(gaps) for key, gaps in per_image_gaps[label].items()}
    # each prediction is log p(mu) + t^2/2 Tr(H Sigma) - mean log p(x): stored as (offset, trace), a formula in t
    prediction_formulas[label] = {"autograd Hessian": (log_p_mean_image - real_log_p.mean(), trace)}
    if label == "CV-Glow":
        closed_form_trace = 2 * closed_form.predict_gap(second_moments, torch.zeros_like(second_moments))
        prediction_formulas[label]["closed form (Eq. 6)"] = (log_p_mean_image - real_log_p.mean(), closed_form_trace)
    shrinking[label] = {
        name: offset + 0.5 * shrink_factors**2 * curvature_trace
        for name, (offset, curvature_trace) in prediction_formulas[label].items()
    }

VARIANT_STYLES = {
    "whole image": ("C0", "o"),
    "foreground only": ("C2", "s"),
    "foreground, mean kept": ("C4", "D"),
    "background only": ("C5", "^"),
}
SHRINK_Y_RANGE = (-1e5, 300)  # nats; measured points beyond it would be counted in the legend
SLOPE_Y_RANGE = (-1500, 1500)  # nats, linear: the lower panels, relative to t = 0.5
dense_t = np.linspace(0.0, 1.0, 101)
# the lower panels: whole-image sets relative to t = 0.5 (paired over the images), where slopes can be compared
relative_to_half = {
    label: {
        float(t): intervals.bootstrap_mean(
            per_image_gaps[label]["whole image", float(t)] - per_image_gaps[label]["whole image", 0.5]
        )
        for t in SHRINK_FACTORS_OF["whole image"]
        if t != 0.5
    }
    for label in models
}
fig, axes = plt.subplots(2, 2, figsize=(12, 8.4), sharey="row")
for column, label in enumerate(models):
    ax = axes[0, column]
    for offset_index, (variant, ts) in enumerate(SHRINK_FACTORS_OF.items()):
        colour, marker = VARIANT_STYLES[variant]
        gaps = [shrink_gaps[label][variant, float(t)] for t in ts]
        beyond = sum(not SHRINK_Y_RANGE[0] <= g.estimate <= SHRINK_Y_RANGE[1] for g in gaps)
        ax.errorbar(
            np.asarray(ts) + 0.008 * (offset_index - 1.5),  # nudged apart so the bars do not hide one another
            [g.estimate for g in gaps],
            yerr=np.array([[g.estimate - g.low for g in gaps], [g.high - g.estimate for g in gaps]]),
            color=colour,
            marker=marker,
            linestyle="none",
            capsize=3,
            label=f"measured, {variant} (t = {', '.join(f'{t:g}' for t in ts)})"
            + (f"; {beyond} beyond the y range" if beyond else ""),
        )
    grey = shrink_gaps[label][ONE_GREY_LEVEL]
    ax.errorbar(
        [1.0],
        [grey.estimate],
        yerr=[[grey.estimate - grey.low], [grey.high - grey.estimate]],
        color="C3",
        marker="P",
        linestyle="none",
        capsize=3,
        label="measured, background one grey level up (drawn at t = 1)",
    )
    for name, (offset, curvature_trace) in prediction_formulas[label].items():
        style = ("black", "--") if name == "autograd Hessian" else ("gray", ":")
        ax.plot(
            dense_t,
            offset + 0.5 * dense_t**2 * curvature_trace,
            color=style[0],
            linestyle=style[1],
            label=f"predicted, {name} (a formula in t)",
        )
        axes[1, column].plot(
            dense_t,
            0.5 * (dense_t**2 - 0.25) * curvature_trace,
            color=style[0],
            linestyle=style[1],
        )
    ax.plot(1.0, 0.0, marker="*", color="black", markersize=10, linestyle="none", label="the real images (gap 0)")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_yscale("symlog", linthresh=100.0)
    ax.set_ylim(*SHRINK_Y_RANGE)
    ax.set_title(f"{label}: FashionMNIST-test shrunk toward a mean")
    lower = axes[1, column]
    steps = relative_to_half[label]
    lower.errorbar(
        [0.5, *steps],
        [0.0, *(g.estimate for g in steps.values())],
        yerr=np.array(
            [
                [0.0, *(g.estimate - g.low for g in steps.values())],
                [0.0, *(g.high - g.estimate for g in steps.values())],
            ]
        ),
        color=VARIANT_STYLES["whole image"][0],
        marker=VARIANT_STYLES["whole image"][1],
        linestyle="none",
        capsize=3,
    )
    lower.axhline(0.0, color="black", linewidth=0.8)
    lower.set_ylim(*SLOPE_Y_RANGE)
    lower.set_xlabel("shrink factor $t$ (1 = the real images)")
    lower.set_title(f"{label}: whole image, relative to $t = 0.5$ (linear axis)")
axes[0, 0].set_ylabel("mean $\\log p$ gap to the real images\n(nats; symlog, linear within $\\pm 100$)")
axes[1, 0].set_ylabel("mean $\\log p$ minus that at $t = 0.5$\n(nats, paired; linear)")
handles, legend_labels = axes[0, 1].get_legend_handles_labels()
fig.legend(
    handles,
    legend_labels,
    loc="lower center",
    ncol=3,
    fontsize=8,
    bbox_to_anchor=(0.5, -0.01),
    title="bars: 95% bootstrap intervals over the images (lower panels: of the paired differences); "
    "the predictions' curves are the same formulas, shifted to 0 at t = 0.5 below",
    title_fontsize=8,
)
fig.tight_layout(rect=(0, 0.12, 1, 1))
plots.show(fig)
print("predicted gaps to the real images (nats; bars in the figure: 95% bootstrap intervals of the measured ones):")
for label, curves in shrinking.items():
    for name, values in curves.items():
        print(f"{label:8s} {name:26s} " + "  ".join(f"t={t:.2f}: {v:7.0f}" for t, v in zip(shrink_factors, values)))
print(
    "measured paired gaps, mean log p(x_t) minus mean log p(x), nats, with 95% bootstrap intervals over the images;\n"
    "in braces {...} the first-order estimate g^T (mu_set - mu_real), g at the mean image (a linear extrapolation):"
)
for label, gaps in shrink_gaps.items():
    for variant, ts in SHRINK_FACTORS_OF.items():
        print(
            f"{label:8s} {variant:22s} "
            + "  ".join(
                f"t={t:.2f}: {gaps[variant, float(t)].format(0)} {{{first_order_of[label][variant, float(t)]:+.0f}}}"
                for t in ts
            )
        )
    print(
        f"{label:8s} {ONE_GREY_LEVEL[0]}: {gaps[ONE_GREY_LEVEL].format(0)} {{{first_order_of[label][ONE_GREY_LEVEL]:+.0f}}}"
    )
shrink_middle = {
    label: intervals.bootstrap_mean(
        per_image_gaps[label]["whole image", 0.5] - per_image_gaps[label]["whole image", 0.75]
    )
    for label in models
}
for label, difference in shrink_middle.items():
    print(f"{label:8s} whole image, t = 0.50 minus t = 0.75 (paired): {difference.format(0)} nats")
# below t = 0.5 the order turns: the paired steps t = 0 minus t = 0.25 and t = 0.25 minus t = 0.5
shrink_inner = {
    label: [
        intervals.bootstrap_mean(per_image_gaps[label]["whole image", a] - per_image_gaps[label]["whole image", b])
        for a, b in ((0.0, 0.25), (0.25, 0.5))
    ]
    for label in models
}
for label, (first_step, second_step) in shrink_inner.items():
    print(
        f"{label:8s} whole image, t = 0 minus t = 0.25 (paired): {first_step.format(0)}; "
        f"t = 0.25 minus t = 0.50: {second_step.format(0)} nats"
    )

# %%
# NBVAL_CHECK_OUTPUT
for label, gaps in shrink_gaps.items():
    whole = [gaps["whole image", float(t)] for t in shrink_factors[:-1]]
    finding(
        f"{label}, whole image: every shrunk set (t < 1) is less likely than the real images (interval below 0)",
        all(gap.high < 0 for gap in whole),
    )
    finding(
        f"{label}, whole image: t = 0.5 is less likely than t = 0.75 (paired interval below 0)",
        bool(shrink_middle[label].high < 0),
    )
    finding(
        f"{label}, whole image: t = 0 is more likely than t = 0.25, and t = 0.25 than t = 0.5 (paired intervals above 0)",
        all(step.low > 0 for step in shrink_inner[label]),
    )
    finding(
        f"{label}, foreground, mean kept: every shrunk set is less likely than the real images (interval below 0)",
        all(gaps["foreground, mean kept", float(t)].high < 0 for t in SHRINK_FACTORS_OF["foreground, mean kept"]),
    )
    finding(
        f"{label}: greying only the background: the first-order estimate is under a fifth of the drop, at t = 0 and 0.5",
        all(
            abs(first_order_of[label]["background only", t]) < 0.2 * abs(gaps["background only", t].estimate)
            for t in (0.0, 0.5)
        ),
    )
    finding(
        f"{label}: raising the black background by one grey level lowers log p (interval below 0)",
        bool(gaps[ONE_GREY_LEVEL].high < 0),
    )
    finding(
        f"{label}: one grey level up costs over a tenth of greying the background at t = 0, its first-order estimate under a fifth",
        bool(
            gaps[ONE_GREY_LEVEL].estimate < 0.1 * gaps["background only", 0.0].estimate
            and abs(first_order_of[label][ONE_GREY_LEVEL]) < 0.2 * abs(gaps[ONE_GREY_LEVEL].estimate)
        ),
    )
    finding(
        f"{label}: greying only the background lowers log p more than the whole-image shrink, at t = 0 and 0.5",
        all(gaps["background only", t].high < gaps["whole image", t].low for t in (0.0, 0.5)),
    )
    finding(
        f"{label}: at t = 0 the mean-kept foreground shrink, with the summed variance of the whole-image t = 0.75 set, "
        "drops log p by less than that set",
        bool(gaps["foreground, mean kept", 0.0].low > gaps["whole image", 0.75].high),
    )
    finding(
        f"{label}: the autograd-Hessian prediction puts t = 0 above t = 1",
        bool(shrinking[label]["autograd Hessian"][0] > shrinking[label]["autograd Hessian"][-1]),
    )
for t in SHRINK_FACTORS_OF["foreground, mean kept"]:
    premise = variance_premise["foreground, mean kept", float(t)]
    sanity_check(
        f"foreground, mean kept, t = {t:.1f}: summed variance below the real images' "
        "(each pixel's variance is p(1-p)m^2 + p t^2 v by construction, up to rounding)",
        bool(premise["summed variance removed"] > 0),
    )
    finding(
        f"foreground, mean kept, t = {t:.1f}: Sigma_real - Sigma_set is positive semi-definite "
        "(smallest eigenvalue above -1% of the largest)",
        bool(premise["smallest eigenvalue"] > -0.01 * premise["largest eigenvalue"]),
        False,
    )
sanity_check(
    "whole-image and mean-kept sets: every pixel's mean moves by less than one grey level (kept by construction, "
    "up to rounding)",
    all(
        set_statistics[variant, float(t)][1] < 1 / 256
        for variant in ("whole image", "foreground, mean kept")
        for t in SHRINK_FACTORS_OF[variant]
    ),
)
sanity_check(
    "CV-Glow: the closed form puts t = 0 above t = 1 (its trace -sum alpha^2/sigma^2 Sigma_dd is negative by construction)",
    bool(shrinking["CV-Glow"]["closed form (Eq. 6)"][0] > shrinking["CV-Glow"]["closed form (Eq. 6)"][-1]),
)
print(
    "summed per-pixel variance, foreground mean kept at t = 0 vs whole image at t = 0.75: "
    f"{set_statistics['foreground, mean kept', 0.0][2]:.1f} vs {set_statistics['whole image', 0.75][2]:.1f}"
)

# %% [markdown]
# In the upper panels the measured gaps are markers at the $t$ where each set was scored (no
# line joins them across unmeasured $t$), with 95% bootstrap intervals over the images as bars;
# the predictions are curves because they are formulas in $t$. They are anchored at the mean
# image, so at $t = 1$ they sit far below the measured 0, and on a symlog axis their slopes
# cannot be compared with the markers'. The lower panels compare them on a linear axis: the
# whole-image sets relative to $t = 0.5$ (paired intervals), beside the same prediction curves
# shifted to 0 at $t = 0.5$. From $t = 0.5$ down to $0$ the measured change has the predicted
# sign and is a few hundred nats, while the autograd-Hessian curves leave the $\pm 1500$-nat
# panel within a small step of $t = 0.5$; from $0.5$ to $0.75$ the measured change is a few tens
# of nats of the *opposite* sign to the predictions.
#
# <!-- constant: 1500 (the lower panels' y range, set in the cell above) -->
#
# Against the real images, the measurements say the opposite of the predictions for the
# whole-image sets. Shrinking the whole image makes every $x_t$ less likely than the real
# images (paired intervals below zero), most of all at the intermediate $t$: $t = 0.5$ lies
# below $t = 0.75$ by a paired interval that excludes zero (printed). Among the shrunk
# whole-image sets themselves, the smaller $t$ from $0.5$ down to $0$ is the more likely one
# ($t = 0$ above $t = 0.25$ above $t = 0.5$, paired intervals above zero, printed and checked),
# as the predictions' sign says: the failure lies in the first steps from $t = 1$, where the
# exactly black background turns grey (the share of black pixels, printed), a change in kind
# rather than in spread.
#
# Shrinking the foreground toward each pixel's own foreground mean keeps the set's mean
# (largest shift of a pixel's mean printed, under one grey level) and does not grey the
# background. By construction it multiplies the spread within the foreground by $t$, so the
# summed variance falls (a code sanity check, not evidence) and, up to rounding, no pixel's
# variance can rise (the printed count of pixels whose variance rose is 0). It
# does not sit inside the real images in the matrix sense: $\Sigma_{\text{real}} -
# \Sigma_{\text{set}}$ is *not* positive semi-definite (its smallest eigenvalue is negative, a few
# per cent of the largest in size, printed, checked). It too lowers $\log p$ for both models,
# with intervals below zero (checked). For these sets only the closed form's prediction is
# computed: it says they are *more* likely (printed; a sign fixed by construction, since every
# closed-form $H_{dd}$ is negative and no pixel's variance rose, so not evidence). The
# autograd-Hessian prediction is not computed for them (one Hessian-vector product per image and
# set, beyond this chapter's run time), and its sign is open: the true Hessian has positive
# diagonal entries (the blank pixels above), its off-diagonal terms dominate in Experiment 4,
# and the premise is not positive semi-definite. So **lowering the per-pixel variances of real
# images at a common mean, starting from the real images, does not make FashionMNIST images
# more likely to either model**. What fails is Eq. 6's per-pixel reading (lower per-pixel
# variances, hence a higher $\log p$), and for the whole-image sets, whose
# $\Sigma_{\text{real}} - \Sigma_{\text{set}}$ is positive semi-definite to rounding (printed at
# $t = 0.5$), the conclusion of Step 5's parameter-free argument too. That argument needs
# $\log p$ to be well described by a concave quadratic, and these models are neither
# log-concave (the blank pixels above) nor quadratic over these distances (Experiment 1); this
# chapter does not separate the two. The sign held for isotropic Gaussian spreads far from the
# data (Experiment 2) and, once the background is grey, among the shrunk sets.
#
# What the controls separate, and what they do not. The first-order estimate in braces,
# $g^\top(\mu_{\text{set}} - \mu)$ with $g$ at the mean image, is a linear extrapolation, not the
# effect of the mean shift itself. The whole-image and mean-kept sets keep every pixel's mean
# to rounding by construction (no pixel's mean moves by a grey level: a code sanity check), so
# their small estimates in braces only confirm that the mean was kept. For the background-only and
# foreground-only sets the pixel means move by up to 0.164 (printed), and over
# such distances the chapter's own outputs show that a linear term at $\mu$ is unreliable: the
# expansion of Experiment 1 is off by more than 10% far below one grey level, and in
# Experiment 4 the same kind of term moves from 206 to 581 to 1485 nats (Glow) with the
# expansion point. So the first-order estimate at $\mu$ is small for the background-only sets
# (under a fifth of the drop, checked), but that does not show that their mean shifts explain
# little: this chapter does not control the mean shift of those sets.
#
# Greying only the background, which leaves the garment as it is, lowers $\log p$ *more* than
# the whole-image shrink at both $t$ tested (checked), and raising the black background by a
# single grey level, which moves no pixel's mean by more than 0.004 (printed; its first-order
# estimate is a few tens of nats), already costs 385 nats (Glow) and 185 nats (CV-Glow), over a
# tenth of greying the background fully (intervals printed, checked): the models penalise a
# background that is *not exactly black*, even by one grey level. Given a grey background,
# shrinking the garment toward $\mu$ as well (the whole-image set) is more likely than greying
# the background alone (checked): shrinking the garment toward $\mu$ then raises $\log p$. That
# shrink also darkens the garment (the foreground-only confound below), so this does not
# separate the garment's variance from its mean.
#
# The mean-kept foreground set at $t = 0$ and the whole-image set at $t = 0.75$ have almost the
# same summed variance (printed), and the first loses less $\log p$ (checked; 123 against 646
# nats for the Glow, 338 against 545 for the CV-Glow). They differ in *where* the variance is
# removed, but also in whether the background stays exactly black (black share 0.504 against
# 0.083, printed), and the one-grey-level control shows that this alone costs hundreds of
# nats, the size of these differences. So this comparison does not tell whether the place of
# the removed variance or the lost black background matters; an equal-variance set that keeps
# the background black is not run here. The **foreground only** set as first
# defined is not a variance-only control: it also darkens the garments (its mean pixel and
# largest mean shift, printed; its first-order estimate is over 100 nats at $t = 0$), and for the
# affine Glow its intervals at $t = 0$ and $0.25$ contain zero; it is kept to show that
# confound, and no conclusion here rests on it.
#
# This is the same kind of test as the paper's own variance-lowering experiment, graying
# CIFAR-10 and SVHN images (its Figure 5b), which *raised* the likelihood. Graying lowers the
# colour variance but also makes the three channels identical, a redundancy a flow can exploit;
# chapter 07 separates the two with partial desaturation and channel copies, on the paper's
# data, and on MNIST (its 28x28 extension) runs four shrinking arms: toward the set's mean,
# with the mean kept, darkened only, and the whole image.
#
# ## Experiment 4: the real pair
#
# Now FashionMNIST (in) and MNIST (OOD), expanded at the FashionMNIST-test mean, so the
# in-distribution $\Sigma$ is its covariance while MNIST's includes its mean shift. Each term in
# nats (a positive gap favours MNIST) and, for the total, as a BPD gap. For the CV-Glow two more
# rows: the paper's Eq. 6 with the closed-form curvature, once as the paper writes it (per-pixel
# *variances*, means ignored) and once with second moments around $x_0$ (the mean shift kept).

# %%
real_pair, expansion_terms, gap_intervals = {}, {}, {}
header = (
    f"{'model':8s} {'1st order':>10s} {'2nd (full)':>11s} {'2nd (diag)':>11s} {'prediction':>11s} "
    f"{'measured':>9s} {'rel. error':>10s} {'pred. BPD gap':>14s} {'meas. BPD gap':>14s}"
)
print(header)
for label, model in models.items():
    prediction = predict_gap(model.log_prob, mean_image, images["mnist"], images["fashion_mnist"])
    with torch.no_grad():
        per_image_log_p = {name: model.log_prob(x).double().cpu().numpy() for name, x in images.items()}
    measured_gap = per_image_log_p["mnist"].mean() - per_image_log_p["fashion_mnist"].mean()
    gap_intervals[label] = intervals.bootstrap_mean_difference(
        per_image_log_p["mnist"], per_image_log_p["fashion_mnist"]
    )
    real_pair[label] = (prediction.total, measured_gap)
    expansion_terms[label] = prediction
    print(
        f"{label:8s} {prediction.first_order:10.0f} {prediction.second_order:11.0f} "
        f"{prediction.second_order_diagonal:11.0f} {prediction.total:11.0f} {measured_gap:9.0f} "
        f"{abs(prediction.total - measured_gap) / abs(measured_gap):10.1f} "
        f"{prediction.total * BPD_PER_NAT:14.3f} {measured_gap * BPD_PER_NAT:14.3f}"
    )
for name, (ood_moments, in_moments) in {
    "Eq. 6 (variances)": (images["mnist"].var(dim=0), images["fashion_mnist"].var(dim=0)),
    "Eq. 6 (moments at x0)": (((images["mnist"] - mean_image) ** 2).mean(dim=0), second_moments),
}.items():
    eq6 = closed_form.predict_gap(ood_moments, in_moments)
    real_pair[f"CV-Glow, {name}"] = (eq6, real_pair["CV-Glow"][1])
    print(
        f"CV-Glow, {name}: {eq6:+.0f} nats (BPD gap {eq6 * BPD_PER_NAT:+.3f}); "
        f"relative error {abs(eq6 - real_pair['CV-Glow'][1]) / abs(real_pair['CV-Glow'][1]):.1f}"
    )

# %%
# Uncertainty: bootstrap intervals over the images on the measured gap and on the first-order term
# g^T (mu_q - mu_p) = mean_q(g^T x) - mean_p(g^T x), for the two models and for chapter 03's two other Glow seeds
seed_models = {"Glow": models["Glow"], "CV-Glow": models["CV-Glow"]}
for seed in (1, 2):
    seeded = zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=seed))
    print(f"Glow seed {seed} on FashionMNIST: {seeded.provenance()}")
    seed_models[f"Glow seed {seed}"] = seeded.model.eval()
PAPER_FIGURE_1 = {"fashion_mnist": 2.958, "mnist": 1.833}  # the paper's Glow on FashionMNIST, mean test BPD
paper_bpd_gap = PAPER_FIGURE_1["mnist"] - PAPER_FIGURE_1["fashion_mnist"]
first_order_intervals, residual_intervals, bpd_gap_intervals, mean_bpd_intervals = {}, {}, {}, {}
for label, model in seed_models.items():
    g_at_mean = gradient(model.log_prob, mean_image)
    projections = {name: (g_at_mean * x).flatten(1).double().sum(dim=1).cpu().numpy() for name, x in images.items()}
    first_order_intervals[label] = intervals.bootstrap_mean_difference(
        projections["mnist"], projections["fashion_mnist"]
    )
    with torch.no_grad():
        per_image_log_p = {name: model.log_prob(x).double().cpu().numpy() for name, x in images.items()}
    if label not in gap_intervals:
        gap_intervals[label] = intervals.bootstrap_mean_difference(
            per_image_log_p["mnist"], per_image_log_p["fashion_mnist"]
        )
    # the absolute mean BPD of each set (log p in [0, 1) units, so the 8-bit bins add log 256 per pixel)
    mean_bpd_intervals[label] = {
        name: intervals.bootstrap_mean((NUM_DIMS * np.log(256.0) - log_p) / (NUM_DIMS * np.log(2.0)))
        for name, log_p in per_image_log_p.items()
    }
    # what the first-order term leaves: the gap of log p(x) - g^T x, each image's own two numbers kept together
    residual_intervals[label] = intervals.bootstrap_mean_difference(
        per_image_log_p["mnist"] - projections["mnist"], per_image_log_p["fashion_mnist"] - projections["fashion_mnist"]
    )
    bpd_gap_intervals[label] = intervals.Interval(
        *(
            value * BPD_PER_NAT
            for value in (gap_intervals[label].estimate, gap_intervals[label].high, gap_intervals[label].low)
        )
    )
    print(
        f"{label:12s} first-order term at the FashionMNIST mean {first_order_intervals[label].format(0)}; "
        f"measured gap {gap_intervals[label].format(0)}; gap minus first-order term (log p - g^T x) "
        f"{residual_intervals[label].format(0)} nats"
    )
print(
    f"mean test BPD (95% intervals, {len(images['fashion_mnist'])} images per set), beside the paper's Glow (Figure 1): "
    f"FashionMNIST {PAPER_FIGURE_1['fashion_mnist']}, MNIST {PAPER_FIGURE_1['mnist']}"
)
for label, bpds in mean_bpd_intervals.items():
    print(f"  {label:12s} FashionMNIST {bpds['fashion_mnist'].format(3)}, MNIST {bpds['mnist'].format(3)}")
print("measured BPD gap, MNIST minus FashionMNIST (95% intervals), beside the paper's Glow (Figure 1):")
for label, bpd_gap in bpd_gap_intervals.items():
    print(f"  {label:12s} {bpd_gap.format(3)}")
print(
    f"  {'paper':12s} {PAPER_FIGURE_1['mnist']} - {PAPER_FIGURE_1['fashion_mnist']} = {paper_bpd_gap:+.3f} "
    "(its larger Glow, trained to convergence)"
)

# %%
# The first-order term at other expansion points: is its match with the measured gap an accident of x0?
mnist_mean = images["mnist"].mean(dim=0)
expansion_points = {
    "FashionMNIST mean": mean_image,
    "midpoint": 0.5 * (mean_image + mnist_mean),
    "MNIST mean": mnist_mean,
}
first_order_at = {}
for label, model in models.items():
    measured_gap = real_pair[label][1]
    first_order_at[label] = {
        point: (gradient(model.log_prob, x0) * (mnist_mean - mean_image)).double().sum().item()
        for point, x0 in expansion_points.items()
    }
    print(
        f"{label:8s} first-order term g(x0)^T (mu_MNIST - mu_Fashion) at "
        + ", ".join(f"{point}: {value:+.0f}" for point, value in first_order_at[label].items())
        + f" nats; measured gap {measured_gap:+.0f}"
    )

# %%
# NBVAL_CHECK_OUTPUT
for label, (predicted, measured_gap) in real_pair.items():
    if label in models:
        finding(f"{label}: measured gap favours MNIST", bool(measured_gap > 0))
    finding(
        f"{label}: prediction has the same sign",
        bool((predicted > 0) == (measured_gap > 0)),
        "Eq. 6 (variances)" in label,
    )
eq6_prediction, cv_gap = real_pair["CV-Glow, Eq. 6 (variances)"]
finding(
    "CV-Glow: Eq. 6 (variances) is within a factor of three of the measured gap",
    bool(cv_gap / 3 < eq6_prediction < 3 * cv_gap),
)
for label in seed_models:
    finding(
        f"{label}: the measured gap favours MNIST (interval above 0)",
        bool(gap_intervals[label].low > 0),
    )
    finding(
        f"{label}: the first-order term's interval overlaps the measured gap's",
        bool(
            first_order_intervals[label].low < gap_intervals[label].high
            and gap_intervals[label].low < first_order_intervals[label].high
        ),
    )
finding(
    "models whose gap minus first-order term (log p - g^T x) has its interval above 0",
    [label for label, residual in residual_intervals.items() if residual.low > 0],
    ["Glow", "Glow seed 1", "Glow seed 2"],
)
finding(
    "models whose mean-BPD intervals lie above the paper's on both sets (a worse fit to each)",
    [
        label
        for label, bpds in mean_bpd_intervals.items()
        if all(bpds[name].low > PAPER_FIGURE_1[name] for name in PAPER_FIGURE_1)
    ],
    list(seed_models),
)
finding(
    f"models whose BPD-gap interval lies below the paper's {paper_bpd_gap:.3f} (a larger gap)",
    [label for label, bpd_gap in bpd_gap_intervals.items() if bpd_gap.high < paper_bpd_gap],
    ["Glow", "Glow seed 1", "Glow seed 2"],
)
for label, prediction in expansion_terms.items():
    measured_gap = real_pair[label][1]
    finding(
        f"{label}: the first-order term alone is within 20% of the measured gap",
        bool(abs(prediction.first_order - measured_gap) < 0.2 * abs(measured_gap)),
    )
    finding(
        f"{label}: expansion points where the first-order term is within 20% of the measured gap",
        [
            point
            for point, value in first_order_at[label].items()
            if abs(value - measured_gap) < 0.2 * abs(measured_gap)
        ],
        ["FashionMNIST mean"],
    )
    finding(
        f"{label}: the full second-order term is over ten times the measured gap, of the opposite sign",
        bool(prediction.second_order < -10 * measured_gap),
    )
    finding(
        f"{label}: the diagonal-only second-order term is several (over 3) times the full one",
        bool(prediction.second_order_diagonal < 3 * prediction.second_order < 0),
    )

# %% [markdown]
# Two things in the table deserve a second look. The first-order column alone, MNIST's darker
# mean seen through the gradient at $x_0$, is close to the measured gap: within 20% as point
# estimates for both models (the affine Glow's 581 against 682 is 15% off), and the two
# bootstrap intervals over the images overlap for both models and for chapter 03's two other
# Glow seeds (printed, checked). Overlap is a weak test for two estimates from the same images;
# the right one is the gap of what the first-order term leaves, $\log p(x) - g^\top x$, each
# image's two numbers kept together. For all three affine Glows its interval lies above zero
# (printed, checked): the first-order term falls short of the measured gap in every seed, by
# about 70 to 100 nats. For the CV-Glow the interval contains zero. So the match is approximate
# but not a one-seed accident; with one CV-Glow its seed spread is not measured. Against the
# paper: its Glow's gap is $1.833 - 2.958 = -1.125$ BPD (Figure 1, a larger model trained to
# convergence); the intervals of our three Glows' BPD gaps lie below it (a larger gap, printed,
# checked), the CV-Glow's contains it. The gaps are differences of two worse absolute numbers:
# every model's mean BPD lies above the paper's 2.958 on FashionMNIST and 1.833 on MNIST, on both
# sets (intervals printed, checked), so the absolute levels are not reproduced (chapter 03 compares them on the full test sets; our quick models trained for 3.7 epochs, which is the obvious suspect, not tested here; and the paper gives these two numbers for its Glow, not for a CV-Glow, so the CV-Glow row is set beside the paper's Glow), and a similar gap does not mean a similar model.
#
# <!-- quoted: 1.833 2.958 -1.125 1.125 (the paper, Figure 1) -->
#
# The second-order columns, which should be corrections, are
# tens of times larger and of the opposite sign (point estimates: this build computes no
# interval for the Hessian terms, one Hessian-vector product per image and model). The
# first-order match does depend on the expansion point: the same term with the gradient at the
# midpoint of the two means, or at MNIST's mean, is off by far more than 20% (printed), as it
# must be for a $\log p$ this far from linear over the distance between the means. A term that
# changes this much with $x_0$ cannot be read as the explanation of the gap; why at the
# FashionMNIST mean it comes within about 15% of the measured gap in all four models (while
# falling short of it in every Glow seed) is not explained here. And
# the diagonal column is several times the full one: the pixel correlations (the off-diagonal
# second moments) cancel most of what the per-pixel variances alone would predict, so a
# diagonal form like Eq. 6 leaves out terms as large as the ones it keeps.
#
# %% [markdown]
# The CIFAR-10 / SVHN rows run the same code when both data sets and a CIFAR-10 CV-Glow are
# available; otherwise the cell prints the paper's Eq. 6 with its own statistics.

# %%
if data.is_available("cifar10") and data.is_available("svhn"):
    cifar_cv_glow = zoo.get("cv_glow", "cifar10", profile)
    print(f"CV-Glow on CIFAR-10: {cifar_cv_glow.provenance()}")
    large = {
        name: dequantize(data.load_tensor(name, "test", n=profile.n_second_order, seed=profile.seed)[0], generator).to(
            device
        )
        for name in ("cifar10", "svhn")
    }
    large_mean = large["cifar10"].mean(dim=0)
    prediction = predict_gap(cifar_cv_glow.model.log_prob, large_mean, large["svhn"], large["cifar10"], diagonal=False)
    eq6 = diagonal_curvature(cifar_cv_glow.model, large_mean).predict_gap(
        large["svhn"].var(dim=0), large["cifar10"].var(dim=0)
    )
    with torch.no_grad():
        gap = (
            cifar_cv_glow.model.log_prob(large["svhn"]).mean().item()
            - cifar_cv_glow.model.log_prob(large["cifar10"]).mean().item()
        )
    print(
        f"CV-Glow, SVHN minus CIFAR-10: first order {prediction.first_order:.0f}, second {prediction.second_order:.0f}, "
        f"prediction {prediction.total:.0f}, Eq. 6 (variances) {eq6:.0f}, measured {gap:.0f} nats"
    )
else:
    paper_difference = np.array([61.9 - 49.6, 59.2 - 52.7, 68.1 - 53.6])
    print(
        "CIFAR-10 or SVHN absent: skipped. The paper's Eq. 6 with its per-channel variance sums "
        "(CIFAR-10 61.9, 59.2, 68.1; SVHN 49.6, 52.7, 53.6) gives SVHN minus CIFAR-10 = "
        f"1/(2 sigma^2) x ({paper_difference[0]:.1f} a1^2 + {paper_difference[1]:.1f} a2^2 + "
        f"{paper_difference[2]:.1f} a3^2) >= 0 for any alpha_c."
    )

# %% [markdown]
# ## What the numbers say
#
# - **The code is right; the expansion is not accurate for trained flows.** The exactly
#   quadratic model is reproduced to rounding error and the closed form matches autograd where
#   the paper's assumptions hold (code sanity checks, true by construction), and the trained
#   models' expansions are within a few per cent at the smallest distance. Everything that goes
#   wrong afterwards is the Taylor expansion's own error.
# - **Used at the data's scale, the second-order terms are far off the measured gaps.** In
#   Experiment 2 the CV-Glow's prediction is 21.4 to 61.7 times the measured gap (printed ratios;
#   between 10 and 100 times at every spread, checked), while for the affine Glow it is under
#   1% of it (checked), since its measured gaps reach $10^{20}$ nats when isotropic noise
#   leaves the data's neighbourhood; those come from its split prior's Mahalanobis term,
#   through learned scales far smaller than on any real image (printed baseline). In
#   Experiment 3 the autograd-Hessian predictions of the gap to the real images, evaluated at the real
#   images themselves ($t = 1$), are -38561 (Glow) and -61584 nats (CV-Glow), where the measured gap
#   is 0 by definition. In Experiment 4 the full second-order terms are over ten times
#   the measured real-pair gaps, of the opposite sign (checked). The curvature behind these
#   terms is also far from the paper's closed form: at the mean image the trained CV-Glow's
#   true curvature per pixel is about $10^5$ times the closed form's (printed median ratio).
#   Up to a distance of $10^{-3}$ (a quarter of a grey level) the ReLU kinks are what breaks the
#   quadratic: with the masks frozen the error stays within 10% there (Experiment 1). Farther
#   out the frozen models fail too, so the kinks, the affine Glow's sigmoid scales and the split
#   priors all contribute, and this build does not separate them.
# - **The sign argument does better than the expansion, sometimes.** With equal means and
#   isotropic noise far from the data (Experiment 2: even the "training" set there has a mean
#   $\log p$ thousands to millions of nats below real images) the measured mean $\log p$ falls
#   monotonically with the spread over the swept range 0.01 to 0.1, so there the smaller spread
#   wins, as the argument says. Not at every distance: very close to the mean image (Experiment
#   1, at the four distances from $10^{-8}$ to $3\cdot 10^{-7}$) the CV-Glow's mean $\log p$ *rose* above $\log p(\mu)$; the
#   frozen-mask model's falls at all four of those distances, within 10% of the quadratic, so
#   the rise comes from the ReLU kinks. With real images the argument fails (Experiment
#   3, on integer images with fresh dequantization): shrinking FashionMNIST test images toward
#   their mean makes them *less* likely, so does lowering the foreground's per-pixel variances
#   with its mean kept, greying the background alone costs more than any whole-image shrink, and one grey level on the
#   black background already costs hundreds of nats; both predictions for the whole-image
#   sets, from the true Hessian and from the closed form, say the opposite, and so does the
#   closed form, by construction, for the mean-kept sets (their autograd prediction is not
#   computed). Whether the lost black background or the place of the removed variance drives
#   the drops, and how much the mean shifts of the background-only sets contribute, this build
#   does not separate.
# - **Eq. 6 gets the real pair's sign, for a fragile reason.** The closed form with per-pixel
#   variances (Eq. 6 as the paper writes it) has the measured sign and is within a factor of
#   three of the measured gap (checked; printed: relative error 1.2); the
#   same closed form with second moments around one common $x_0$, which keeps MNIST's darker
#   mean, gets the sign wrong, and in Experiment 3 the closed form predicts the wrong direction.
#   So the agreement in Experiment 4 should not be read as a confirmation: for this pair, it
#   rests on leaving the means out, which Step 4 only allows for sets with equal means.
#
# Read this way, the paper's Eq. 6 is a statement about a linear map whose Jacobian is
# *diagonal*, with the row-sum gains $\alpha_d$ on the diagonal (its curvature
# $-\alpha_d^2/\sigma_d^2$), which is neither the trained flow nor its linearisation: at $\mu$
# the trained CV-Glow is locally affine, so its linearisation's curvature is the autograd one,
# about $10^5$ times the closed form's (printed), and even for a linear map with mixing
# $1\times1$ kernels the true diagonal is minus the squared column norm of $J$ over
# $\sigma^2$, not $\alpha_d^2/\sigma^2$ (the small model above: off by 100%, printed). For CIFAR-10 and SVHN, which the paper describes as
# having about the same mean, it is the paper's argument, and chapter 07 measures the
# statistics it needs. This build does not test the paper's own instance (CIFAR-10 / SVHN with a
# CIFAR-10 CV-Glow; SVHN is absent here): everything above concerns the 28x28 extension, two
# small models of one seed each (the seed spread covers the affine Glow's first-order term and
# gap only). For that pair, a second-order expansion does not compute the size of a gap: these
# trained flows are far from quadratic over the range their data span.
#
# ## Scope and departures
#
# | paper | reproduced here? | ours vs paper | why different |
# |---|---|---|---|
# | Eqs. 4-5 (expansion, equal means) | derived; tested on a linear flow (exact) and on isotropic noise (Exp. 2) | the sign held on noise far from the data; failed on real images (Exp. 3) | the paper states the expansion, it does not test its accuracy |
# | Appendix G / Eq. 6 closed form | yes, for our parametrisation (`ood_lib.analysis.cv_glow_closed_form`) | matches autograd only with diagonal kernels; trained CV-Glow: curvature about $10^5$ times larger (printed) | the paper simplifies $J$ to a diagonal of row sums; our priors are learned |
# | Eq. 6 on CIFAR-10 vs SVHN | no: the paper's statistics only (last printed cell) | the paper's variance sums give SVHN the higher $\log p$ for any $\alpha$ | SVHN and a CIFAR-10 CV-Glow are absent in this build |
# | Figure 1 (Glow, FashionMNIST vs MNIST BPD gap) | yes, three Glow seeds and the CV-Glow (Experiment 4) | our three Glows' gap is larger than the paper's (intervals printed beside it); the CV-Glow's interval contains it; every model's absolute BPDs are above the paper's on both sets (printed beside them) | not separated here; the departures: quick models of 3.7 epochs, 500 test images per set |
# | Figure 10 (FashionMNIST vs MNIST statistics) | the summed variances and means (first printed cell) | MNIST: smaller summed variance and darker mean | unequal means: the first-order term stays in |
# | Figure 5b (greying lowers variance, raises $\log p$) | analogue on 28x28 images (Exp. 3) | shrinking toward the mean *lowers* $\log p$ | chapter 07 does the paper's own greying |
#
# Departures of the models and data: the quick models (Glow and CV-Glow with $L = 2$ levels,
# $K = 8$ steps, 96 hidden channels, 7000 steps of batch 32, about 3.7 epochs, one seed each;
# chapter 03's two other Glow seeds used only for Experiment 4's first-order term and gap), not
# the paper's large models trained to convergence; a learned top prior and split priors
# conditioned on the kept half, where the paper's argument assumes $\mathcal{N}(0,
# \sigma_\psi^2 I)$; 500 test images per set with one dequantization draw, not the full test
# sets; Hessian-vector products in float32 in Experiments 3 and 4 (float64 in the code test and
# in Experiments 1 and 2, where changes far below float32's resolution are measured; this build
# does not compare the two precisions at Experiments 3-4's points).
#
# ## Exercises
#
# 1. Derive the Hessian of $\log \mathcal{N}(f(x); 0, s^2 I)$ for a linear $f(x) = Ax$ and show
#    that it does not depend on $x$. Then find a $2 \times 2$ matrix $A$ whose row-sum rule
#    ($\alpha_c = \sum_j A_{cj}$) gives zero curvature in some pixel while the true curvature
#    there is large, and one for which the rule gives a *larger* curvature than the truth.
#    *Hint: write the density in $x$ first (the change of variables adds a term: does it depend
#    on $x$?); then compare what signs do to a sum of entries and to a sum of their squares.*
# 2. Why does the sign argument need log-concavity of $p_z$? Construct a one-dimensional latent
#    density for which a *smaller* spread gives a *lower* expected log-likelihood. *Hint: ask
#    where a density that is not log-concave can have $\partial^2 \log p / \partial z^2 > 0$, and
#    centre the data there.*
# 3. Show that $\Sigma_r = \operatorname{Cov}_r + (\mu_r - x_0)(\mu_r - x_0)^\top$ and use it to
#    explain why the two Eq. 6 rows of Experiment 4 have opposite signs. *Hint: expand
#    $(x - x_0)(x - x_0)^\top$ around $\mu_r$; then compute both inputs of the two rows pixel by
#    pixel and see which pixels change the sum.*
# 4. Separate the closed form's omissions: copy the trained CV-Glow, zero the last layer of
#    every coupling network (each coupling becomes the identity) and compare the autograd
#    $\operatorname{diag}(H)$ of the copy with the closed form and with the trained model's. *Hint:
#    list what the copy still has that the closed form assumes away; the coupling networks are
#    not the only part of a Glow that makes a latent's density depend on other coordinates.*
# 5. Replace ReLU by a smooth activation (softplus) in the coupling networks of a small CV-Glow
#    and train it beside a ReLU twin (same architecture, initial weights, batches and number of
#    steps); redo Experiment 1 on both. A softplus network has no on/off masks, so the control
#    becomes: replace each activation by its tangent at $\mu$ (its value and slope at the
#    pre-activation that $\mu$ gives it), which makes the coupling networks exactly linear; unlike
#    freezing ReLU masks this changes the Hessian at $\mu$, so compare the tangent model with its
#    own expansion. Call the reach at a threshold $\tau$ the largest distance up to which the
#    relative error stays below $\tau$ at every swept distance (from $10^{-7}$ on, where float64
#    rounding stops dominating), at 10% and 1%. Does the smooth model's expansion reach farther
#    than its twin's, and farther still with the tangents? A small pair (two steps per level, 64
#    hidden channels, 300 training steps) takes under a minute of CPU at one thread; 2000 softplus
#    steps at the quick size take roughly ten CPU-minutes (8 to 12 measured on a shared machine). *Hint: `ood_lib.models.flows.coupling` builds the
#    network; once the coupling networks are linear, ask which part of the flow still makes
#    $\log p$ non-quadratic.*

# %%
chapter_footer()
