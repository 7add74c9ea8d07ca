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
# paper's Eq. 5, and roughly the situation of CIFAR-10 and SVHN. **FashionMNIST and MNIST do not
# have equal means** (printed below), so for our pair the first-order term stays in.
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
# Then $H = -\operatorname{diag}(\alpha_c^2)/\sigma_\psi^2$ and
#
# $$\operatorname{Tr}\{H(\Sigma_q - \Sigma_{p^*})\} = -\frac{1}{\sigma_\psi^2}\sum_c \alpha_c^2
#   \sum_{h,w}\big(\sigma^2_{q,h,w,c} - \sigma^2_{p^*,h,w,c}\big) \qquad \text{(Eq. 6)}.$$
#
# What this ignores in a real CV-Glow: the additive couplings' off-diagonal Jacobian blocks
# ($\partial y_b / \partial x_a$, the whole point of a coupling), the ActNorm scales (they
# multiply each channel like $\alpha_c$ does), the squeeze and split structure, the split priors'
# *learned* means and scales (the latent is not $\mathcal{N}(0, \sigma_\psi^2 I)$), and the
# curvature of $f$ itself. The *sign* argument survives much of it: whenever $\log p_z$ is
# concave, $J^\top(\nabla_z^2 \log p_z)J$ is negative semi-definite for **any** $J$, and the
# trace of a negative semi-definite matrix times a positive semi-definite one is $\le 0$. So
# if the OOD set sits inside the training set ($\Sigma_{p^*} - \Sigma_q$ positive
# semi-definite), this part of the curvature makes the OOD set *more* likely, whatever the
# parameters. What it does not cover is the neglected second sum, i.e. how far a trained flow
# is from linear: that is what the experiments below measure. We do not use the closed form for
# $\alpha_c$: `ood_lib.second_order` computes $g$, $H v$ and $\operatorname{diag}(H)$ of the
# trained models by automatic differentiation, so every error reported here is the expansion's
# own, not that of the simplifications.
#
# **Computing it.** No $784 \times 784$ matrix is needed: $\operatorname{Tr}(H\Sigma) =
# \frac1N\sum_n (x_n - x_0)^\top H (x_n - x_0)$, one Hessian-vector product per image (exact for
# the empirical moments of the images used, in any dimension). The *diagonal* version
# $\tfrac12\sum_d H_{dd}(\Sigma_{q,dd} - \Sigma_{p^*,dd})$ keeps only per-pixel second moments,
# the form of Eq. 6; comparing it with the full one shows how much the pixel *correlations*
# matter.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from ood_lib import data, plots, zoo
from ood_lib.bpd import dequantize
from ood_lib.profile import chapter_footer, chapter_header
from ood_lib.second_order import LinearGaussianFlow, mean_quadratic_form, predict_gap

profile = chapter_header("06 · The second-order argument")
NUM_DIMS = 28 * 28
BPD_PER_NAT = -1.0 / (NUM_DIMS * np.log(2.0))  # a log p gap of +1 nat is a BPD gap of this
generator = torch.Generator().manual_seed(profile.seed)
images = {
    name: dequantize(data.load_tensor(name, "test", n=profile.n_second_order, seed=profile.seed)[0], generator)
    for name in ("fashion_mnist", "mnist")
}
models = {}
for label, model_name in (("Glow", "glow"), ("CV-Glow", "cv_glow")):
    trained = zoo.get(model_name, "fashion_mnist", profile)
    print(f"{label} on FashionMNIST: {trained.provenance()}")
    models[label] = trained.model
device = next(models["Glow"].parameters()).device
images = {name: x.to(device) for name, x in images.items()}
for name, x in images.items():
    print(
        f"{data.get_spec(name).title:13s} {len(x)} test images: mean pixel {x.mean():.3f}, "
        f"mean per-pixel variance {x.var(dim=0).mean():.4f} (pixels in [0, 1))"
    )

# %% [markdown]
# ## A model on which the expansion is exact
#
# Before trusting the code on Glow, test it where the answer is known: a linear flow
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
print("quadratic log-density: prediction = measured gap to 1e-9:", abs(exact.total - measured) < 1e-9 * abs(measured))
print(
    "diagonal-only version differs (A^T A is not diagonal):",
    abs(exact.second_order_diagonal - exact.second_order) > 1e-3,
)

# %% [markdown]
# ## Experiment 1: Gaussian data sets with equal means
#
# The controlled version of Step 4. Around FashionMNIST's mean image $\mu$, make a
# "training-like" set $x = \mu + s_{\text{in}}\varepsilon_n$ and OOD sets $x = \mu + s\,\varepsilon_n$
# for a sweep of $s$, with the same 128 draws $\varepsilon_n \sim \mathcal{N}(0, I)$, centred so that
# every set has mean exactly $\mu$ (the flows are defined on all of $\mathbb{R}^D$, so values
# outside $[0, 1)$ are allowed). Expanded at $x_0 = \mu$ the first-order term is exactly zero and
# Step 4 predicts the gap $\tfrac12 (s^2 - s_{\text{in}}^2)\,\overline{\varepsilon^\top H \varepsilon}$: a
# parabola whose sign flips exactly where the spreads cross, $s = s_{\text{in}}$, provided the
# curvature along the data, $\overline{\varepsilon^\top H \varepsilon}$, is negative. Whether the
# *measured* gap flips there too is the real test.

# %%
mean_image = images["fashion_mnist"].mean(dim=0)
noise_generator = torch.Generator().manual_seed(profile.seed + 1)
epsilon = torch.randn(128, *mean_image.shape, generator=noise_generator).to(device)
epsilon = epsilon - epsilon.mean(dim=0)  # centred: every set below has mean exactly mu
spread_in = 0.1
spreads = np.linspace(0.02, 0.2, 9)  # steps of 0.0225: no s equals s_in
sweep = {}
for label, model in models.items():
    with torch.no_grad():
        in_log_p = model.log_prob(mean_image + spread_in * epsilon).mean().item()
    rows = []
    for spread in spreads:
        ood = mean_image + spread * epsilon
        with torch.no_grad():
            measured_gap = model.log_prob(ood).mean().item() - in_log_p
        predicted = predict_gap(model.log_prob, mean_image, ood, mean_image + spread_in * epsilon, diagonal=False)
        rows.append((measured_gap, predicted.total))
    sweep[label] = np.array(rows)

fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for ax, (label, rows) in zip(axes, sweep.items()):
    ax.plot(spreads, rows[:, 0], marker="o", label="measured")
    ax.plot(spreads, rows[:, 1], marker="x", linestyle="--", label="second-order prediction")
    ax.axvline(spread_in, color="gray", linewidth=1, label=r"$s = s_{\mathrm{in}}$")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("OOD spread s (pixel units)")
    ax.set_ylabel(r"$\mathbb{E}_q[\log p] - \mathbb{E}_{p^*}[\log p]$ (nats)")
    ax.set_title(f"{label} (trained on FashionMNIST)")
    ax.legend()
fig.tight_layout()
plots.show(fig)
for label, rows in sweep.items():
    error = np.abs(rows[:, 1] - rows[:, 0]) / np.maximum(np.abs(rows[:, 0]), 1e-9)
    print(
        f"{label:8s} measured gap at s = {spreads[0]:.2f}: {rows[0, 0]:+8.1f}, predicted {rows[0, 1]:+8.1f}; "
        f"at s = {spreads[-1]:.2f}: {rows[-1, 0]:+8.1f}, predicted {rows[-1, 1]:+8.1f} nats; "
        f"median relative error {np.median(error):.2f}"
    )

# %%
# NBVAL_CHECK_OUTPUT
below, above = spreads < spread_in, spreads > spread_in
for label, rows in sweep.items():
    print(
        f"{label}: the prediction is > 0 for every s < s_in and < 0 for every s > s_in (negative curvature):",
        bool((rows[below, 1] > 0).all() and (rows[above, 1] < 0).all()),
    )

# %%
for label, rows in sweep.items():
    sign_changes = [f"{spreads[i]:.2f}-{spreads[i + 1]:.2f}" for i in np.flatnonzero(np.diff(np.sign(rows[:, 0])))]
    print(
        f"{label}: measured gap > 0 for every s < s_in: {bool((rows[below, 0] > 0).all())}, "
        f"< 0 for every s > s_in: {bool((rows[above, 0] < 0).all())}; "
        f"the measured gap changes sign between s = {sign_changes}"
    )

# %% [markdown]
# ## Experiment 2: shrinking real images toward their mean
#
# The cleanest real test of Step 4: $x_t = \mu + t(x - \mu)$ for FashionMNIST test images $x$,
# with $\mu$ their mean. Every $x_t$-set has mean $\mu$, and its second moments are $t^2$ times
# the original covariance, so expanded at $\mu$ the prediction is
# $\log p(\mu) + \tfrac{t^2}{2}\operatorname{Tr}(H\Sigma)$, quadratic in $t$, with one trace for all $t$.
# At $t = 1$ these are the real images; $t < 1$ "grays" them (chapter 07 returns to this).

# %%
shrink_factors = np.linspace(0.0, 1.5, 7)
centred = images["fashion_mnist"] - mean_image
shrinking = {}
for label, model in models.items():
    with torch.no_grad():
        log_p_mean_image = model.log_prob(mean_image[None]).item()
        measured_log_p = [model.log_prob(mean_image + t * centred).mean().item() for t in shrink_factors]
    trace = mean_quadratic_form(model.log_prob, mean_image, images["fashion_mnist"])
    predicted_log_p = log_p_mean_image + 0.5 * shrink_factors**2 * trace
    shrinking[label] = (np.array(measured_log_p), predicted_log_p)

fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for ax, (label, (measured_log_p, predicted_log_p)) in zip(axes, shrinking.items()):
    ax.plot(shrink_factors, measured_log_p, marker="o", label="measured mean log p")
    ax.plot(
        shrink_factors,
        predicted_log_p,
        marker="x",
        linestyle="--",
        label=r"$\log p(\mu) + \frac{t^2}{2}\mathrm{Tr}(H\Sigma)$",
    )
    ax.axvline(1.0, color="gray", linewidth=1, label="t = 1: the real images")
    ax.set_xlabel("t in x_t = mu + t (x - mu)")
    ax.set_ylabel("mean log p (nats)")
    ax.set_title(f"{label}: FashionMNIST test images shrunk toward their mean")
    ax.legend()
fig.tight_layout()
plots.show(fig)
for label, (measured_log_p, predicted_log_p) in shrinking.items():
    print(
        f"{label:8s} "
        + "  ".join(
            f"t={t:.2f}: {m:8.1f} vs {p:8.1f}" for t, m, p in zip(shrink_factors, measured_log_p, predicted_log_p)
        )
    )

# %%
# NBVAL_CHECK_OUTPUT
for label, (measured_log_p, _) in shrinking.items():
    print(
        f"{label}: shrinking the real images (t = 0.5 vs t = 1) raises the measured mean log p:",
        bool(measured_log_p[2] > measured_log_p[4]),
    )

# %% [markdown]
# ## Experiment 3: the real pair
#
# Now FashionMNIST (in) and MNIST (OOD), expanded at the FashionMNIST test mean, so the
# in-distribution $\Sigma$ is its covariance while MNIST's includes its mean shift. Each term
# in nats (a positive gap favours MNIST) and, for the total, as a BPD gap.

# %%
real_pair = {}
print(
    f"{'model':8s} {'1st order':>10s} {'2nd (full)':>11s} {'2nd (diag)':>11s} {'prediction':>11s} "
    f"{'measured':>9s} {'rel. error':>10s} {'pred. BPD gap':>14s} {'meas. BPD gap':>14s}"
)
for label, model in models.items():
    prediction = predict_gap(model.log_prob, mean_image, images["mnist"], images["fashion_mnist"])
    with torch.no_grad():
        measured_gap = (
            model.log_prob(images["mnist"]).mean().item() - model.log_prob(images["fashion_mnist"]).mean().item()
        )
    real_pair[label] = (prediction, measured_gap)
    print(
        f"{label:8s} {prediction.first_order:10.1f} {prediction.second_order:11.1f} "
        f"{prediction.second_order_diagonal:11.1f} {prediction.total:11.1f} {measured_gap:9.1f} "
        f"{abs(prediction.total - measured_gap) / abs(measured_gap):10.2f} "
        f"{prediction.total * BPD_PER_NAT:14.3f} {measured_gap * BPD_PER_NAT:14.3f}"
    )

# %%
for label, (prediction, measured_gap) in real_pair.items():
    print(
        f"{label}: measured gap favours MNIST: {measured_gap > 0}; prediction has the same sign: "
        f"{(prediction.total > 0) == (measured_gap > 0)}"
    )

# %% [markdown]
# Read the table against the derivation. The first-order column is the part of the gap that
# comes from MNIST's *darker mean* alone; the second-order columns are the spread part; their
# sum is the prediction. A relative error near 0 would mean log p is close to quadratic over the
# range the images span; a large one means the trained flow is far from that, even where the
# sign comes out right. The diagonal column drops every pixel correlation. CIFAR-10 and SVHN run
# the same code when present.

# %%
if data.is_available("cifar10") and data.is_available("svhn"):
    glow_cifar = zoo.get("cv_glow", "cifar10", profile)
    print(f"CV-Glow on CIFAR-10: {glow_cifar.provenance()}")
    large = {
        name: dequantize(data.load_tensor(name, "test", n=profile.n_second_order, seed=profile.seed)[0], generator).to(
            device
        )
        for name in ("cifar10", "svhn")
    }
    prediction = predict_gap(glow_cifar.model.log_prob, large["cifar10"].mean(dim=0), large["svhn"], large["cifar10"])
    with torch.no_grad():
        gap = (
            glow_cifar.model.log_prob(large["svhn"]).mean().item()
            - glow_cifar.model.log_prob(large["cifar10"]).mean().item()
        )
    print(
        f"CV-Glow CIFAR-10 vs SVHN: first {prediction.first_order:.1f}, second {prediction.second_order:.1f} "
        f"(diagonal {prediction.second_order_diagonal:.1f}), prediction {prediction.total:.1f}, measured {gap:.1f} nats"
    )
else:
    print(
        "CIFAR-10 or SVHN absent: skipped. The paper's Eq. 6 with its per-channel variance sums "
        "(CIFAR-10 61.9, 59.2, 68.1; SVHN 49.6, 52.7, 53.6) predicts SVHN >= CIFAR-10 for any alpha_c."
    )

# %% [markdown]
# ## Summary
#
# - To second order, the likelihood gap between two data sets is a mean term
#   $g^\top(\mu_q - \mu_{p^*})$ plus a spread term $\tfrac12\operatorname{Tr}\{H(\Sigma_q - \Sigma_{p^*})\}$;
#   the code reproduces an exactly quadratic model to rounding error.
# - With equal means (Experiments 1 and 2) the spread term decides, and the printed checks say
#   whether the sign follows the spreads for our trained flows; the curves show over which range
#   of spreads the parabola is a good description.
# - For the real pair the table splits the prediction into its parts; the relative error says
#   how much of the measured gap a quadratic model of log p captures.
#
# ## Exercises
#
# 1. Derive the Hessian of $\log \mathcal{N}(f(x); 0, s^2 I)$ for a linear $f(x) = Ax$, and show it
#    does not depend on $x$. *Hint: $\log p = -\|Ax\|^2/(2s^2) + \text{const}$.*
# 2. Why does the sign argument need log-concavity of $p_z$? Construct a one-dimensional latent
#    density for which a *smaller* spread gives a *lower* expected log-likelihood. *Hint: a
#    density with a dip at its centre, e.g. a mixture of two Gaussians at $\pm 1$.*
# 3. Show that $\Sigma_r = \operatorname{Cov}_r + (\mu_r - x_0)(\mu_r - x_0)^\top$, and use it to
#    rewrite the prediction for $x_0 \neq \mu$ as a covariance term plus a term in the means.
#    *Hint: expand $(x - \mu_r + \mu_r - x_0)(\ldots)^\top$ and take expectations.*
# 4. In Experiment 1, replace the isotropic noise by noise with FashionMNIST's per-pixel
#    standard deviations. Does the sign still flip at $s = s_{\text{in}}$? *Hint: both sets then
#    have $\Sigma \propto s^2\,\mathrm{diag}(\sigma^2)$.*
# 5. Expand at a different $x_0$ (a single test image, or the MNIST mean) in Experiment 3. Which
#    terms change, and does the total? *Hint: the exact gap does not depend on $x_0$; the
#    approximation does.*

# %%
chapter_footer()
