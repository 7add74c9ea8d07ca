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
# # 05 · Decomposing the likelihood: is the volume term the culprit?
#
# Chapters 03 and 04 showed *that* a Glow trained on FashionMNIST gives MNIST the higher
# likelihood. This chapter starts on *why*. A flow's log-likelihood has two parts
# (chapter 02):
#
# $$\log p(x) = \underbrace{\log p_z(f(x))}_{\text{how well } z \text{ fits the prior}}
#   + \underbrace{\log\left|\det \frac{\partial f}{\partial x}\right|}_{\text{volume term}} .$$
#
# The volume term rewards $f$ for *expanding* space around $x$: the more sensitive $f$ is to
# its input, the larger it is. A natural suspect: maybe the flow happens to be very expansive
# on digits. The paper tests this in three steps, and so do we:
#
# 1. split every image's log-likelihood into the two terms (the paper's Figure 4a, b);
# 2. find out which layers produce the volume term;
# 3. remove the suspect: train a **constant-volume** Glow (CV-Glow), whose volume term is the
#    same number for every input, and see whether MNIST still wins (Figure 4c, 4d).
#
# Then two pieces of background the later chapters lean on: how large the volume term *can*
# be given the flow's sensitivity (the paper's Appendix C), and why the most likely input of a
# high-dimensional density looks nothing like a typical sample.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from ood_lib import data, plots, scores, zoo
from ood_lib.bpd import dequantize
from ood_lib.findings import finding, sanity_check
from ood_lib.jacobian import largest_singular_value
from ood_lib.profile import chapter_footer, chapter_header

profile = chapter_header("05 · Decomposing the likelihood")
test_sets = {
    name: data.load_tensor(name, "test", n=profile.n_eval, seed=profile.seed)[0] for name in ("fashion_mnist", "mnist")
}
TITLES = {name: data.get_spec(name).title for name in data.SPECS}
NUM_DIMS = 28 * 28


def loaded(model_name: str, train_set: str) -> zoo.TrainedModel:
    """A model from the zoo, with a line saying where it came from and what it cost."""
    trained = zoo.get(model_name, train_set, profile)
    print(f"{model_name} on {TITLES[train_set]}: {trained.provenance()}")
    return trained


# %% [markdown]
# ## 1. Figure 4a, b: the two terms, image by image
#
# `scores.log_prob_parts` runs the flow once per image and returns $\log p(z)$ (all latents,
# including the ones factored out at each level) and $\log|\det \partial f/\partial x|$, in
# **nats**, with the same dequantization noise as the BPD scores of chapter 04 (so the two parts
# add up to exactly the log-likelihood behind those BPDs).

# %%
glow_fashion = loaded("glow", "fashion_mnist")


def split_likelihood(model: torch.nn.Module) -> dict[str, dict[str, np.ndarray]]:
    """{set: {"log_pz", "log_det", "log_px"}} per test image, nats."""
    parts = {}
    for name, x_uint8 in test_sets.items():
        log_pz, log_det = scores.log_prob_parts(model, x_uint8, seed=profile.seed)
        parts[name] = {"log_pz": log_pz, "log_det": log_det, "log_px": log_pz + log_det}
    return parts


def plot_split(parts: dict[str, dict[str, np.ndarray]], title: str) -> None:
    """Histograms of log p(z), log|det| and log p(x) per test set, each panel on shared bins."""
    terms = {
        "log_pz": r"$\log p(z)$ (nats)",
        "log_det": r"$\log|\det \partial f/\partial x|$ (nats)",
        "log_px": r"$\log p(x)$ (nats)",
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    for ax, (term, label) in zip(axes, terms.items()):
        samples = {f"{TITLES[name]} test": values[term] for name, values in parts.items()}
        plots.histograms(ax, samples, plots.shared_bins(list(samples.values())), xlabel=label)
    fig.suptitle(title)
    fig.tight_layout()
    plots.show(fig)


def gap_shares(parts: dict[str, dict[str, np.ndarray]], in_set: str, ood_set: str) -> dict[str, float]:
    """Mean of each term per set, each term's share of the mean log p(x) gap (OOD minus in-dist), and medians."""
    means = {name: {term: float(values.mean()) for term, values in terms.items()} for name, terms in parts.items()}
    medians = {
        name: {term: float(np.median(values)) for term, values in terms.items()} for name, terms in parts.items()
    }
    gap = {term: means[ood_set][term] - means[in_set][term] for term in ("log_pz", "log_det", "log_px")}
    print(
        f"{'mean (nats)':14s} {TITLES[in_set] + ' test':>18s} {TITLES[ood_set] + ' test':>18s} "
        f"{'OOD - in':>10s} {'share of gap':>13s} {'medians: in':>12s} {'OOD':>9s}"
    )
    for term in ("log_pz", "log_det", "log_px"):
        print(
            f"{term:14s} {means[in_set][term]:18.1f} {means[ood_set][term]:18.1f} {gap[term]:10.1f} "
            f"{gap[term] / gap['log_px']:13.2f} {medians[in_set][term]:12.1f} {medians[ood_set][term]:9.1f}"
        )
    return gap


parts_fashion = split_likelihood(glow_fashion.model)
plot_split(parts_fashion, "Glow trained on FashionMNIST")
gap_fashion = gap_shares(parts_fashion, "fashion_mnist", "mnist")

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "log p(z) + log|det| = log p(x), image by image, and matches the BPD of chapter 04",
    bool(
        np.allclose(
            parts_fashion["mnist"]["log_px"],
            -(
                scores.bits_per_dim(glow_fashion.model, test_sets["mnist"], seed=profile.seed) * NUM_DIMS * np.log(2.0)
                - NUM_DIMS * np.log(256.0)
            ),
            rtol=1e-5,
            atol=1e-2,
        )
    ),
)
finding("MNIST has the higher mean log p(x)", bool(gap_fashion["log_px"] > 0))
finding(
    "terms with a higher mean on MNIST than on FashionMNIST",
    [term for term in ("log_pz", "log_det") if gap_fashion[term] > 0],
    ["log_pz", "log_det"],
)
finding("the volume term makes the larger part of the gap", bool(gap_fashion["log_det"] > gap_fashion["log_pz"]))

# %% [markdown]
# Read the table row by row. The "share of gap" column divides each term's mean gap (MNIST
# minus FashionMNIST) by the total log-likelihood gap, so the two shares add up to 1 (a share
# above 1 would mean that term alone favours MNIST by more than the total, and a negative one
# that it works against it); the medians show whether a few images drive the means.
#
# For our FashionMNIST Glow **both terms favour MNIST, and the volume term carries most of the
# gap** (its share is printed in the table, about nine tenths in the `quick` run): the flow
# contracts MNIST images less than FashionMNIST images. In the histograms, MNIST's
# $\log|\det|$ sits at the upper end of FashionMNIST's much wider spread, and its $\log p(z)$ is
# shifted right by less, relative to the spreads. Is the volume term therefore *the cause*?
# Section 3 answers that.
#
# The same split for the Glow trained on MNIST (chapter 04's Figure 6: the direction that
# works). Here a handful of FashionMNIST images get a $\log p(z)$ of minus hundreds of millions
# of nats (ink where every MNIST training image has background; chapter 04's summary table
# shows their effect on the mean BPD), so the means and shares are dominated by them; read the
# medians.

# %%
glow_mnist = loaded("glow", "mnist")
parts_mnist = split_likelihood(glow_mnist.model)
plot_split(parts_mnist, "Glow trained on MNIST")
gap_mnist = gap_shares(parts_mnist, "mnist", "fashion_mnist")

# %%
# NBVAL_CHECK_OUTPUT
finding("Glow(MNIST) gives its own test set the higher mean log p(x)", bool(gap_mnist["log_px"] < 0))
finding(
    "Glow(MNIST) gives its own test set the higher median log p(x) too (the mean is outlier-dominated)",
    bool(np.median(parts_mnist["mnist"]["log_px"]) > np.median(parts_mnist["fashion_mnist"]["log_px"])),
)

# %% [markdown]
# ### CIFAR-10 and SVHN
#
# The paper's Figure 4a, b show this split for CIFAR-10 vs SVHN. The same code runs here when
# both data sets are present.

# %%
if data.is_available("cifar10") and data.is_available("svhn"):
    large_sets = {
        name: data.load_tensor(name, "test", n=profile.n_eval, seed=profile.seed)[0] for name in ("cifar10", "svhn")
    }
    glow_cifar = loaded("glow", "cifar10")
    parts_cifar = {}
    for name, x_uint8 in large_sets.items():
        log_pz, log_det = scores.log_prob_parts(glow_cifar.model, x_uint8, seed=profile.seed)
        parts_cifar[name] = {"log_pz": log_pz, "log_det": log_det, "log_px": log_pz + log_det}
    plot_split(parts_cifar, "Glow trained on CIFAR-10")
    gap_shares(parts_cifar, "cifar10", "svhn")
else:
    print(
        "CIFAR-10 or SVHN absent: skipped (run `make data` where there is internet). The paper's "
        "Figure 4a, b split CIFAR-10 vs SVHN this way; its Figure 4c shows that a constant-volume "
        "Glow still gives SVHN the higher likelihood (section 3 below)."
    )

# %% [markdown]
# ## 2. Where the volume comes from
#
# Each step of flow (ActNorm → 1×1 convolution → coupling) adds to the volume term. Its
# ActNorm and 1×1 convolution are one linear channel map $A$ applied at every position, so they
# contribute $H_\ell W_\ell \log|\det A|$: **the same number for every input**. Only the
# affine couplings, $\sum \log \sigma(x)$, depend on the image. `Glow.log_det_per_step` returns
# the two parts for each level $\ell$ and step $k$.


# %%
def per_step_means(model: torch.nn.Module, x_uint8: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(channel-map part [L, K], mean coupling part [L, K]) of the volume term, nats."""
    generator = torch.Generator().manual_seed(profile.seed)
    coupling_sum, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x_uint8), 500):
            x = dequantize(x_uint8[start : start + 500], generator).to(next(model.parameters()).device)
            channel_map, coupling = model.log_det_per_step(x)
            coupling_sum = coupling_sum + coupling.sum(dim=0).double().cpu()
            count += len(x)
    return channel_map.double().cpu().numpy(), (coupling_sum / count).numpy()


step_parts = {name: per_step_means(glow_fashion.model, x) for name, x in test_sets.items()}
channel_map = step_parts["fashion_mnist"][0]
levels, steps = channel_map.shape
labels = [f"{level + 1}.{step + 1}" for level in range(levels) for step in range(steps)]
positions = np.arange(len(labels))

fig, axes = plt.subplots(1, 2, figsize=(14, 3.8))
axes[0].bar(positions, channel_map.ravel(), color="gray")
axes[0].set_title("ActNorm + 1×1 conv: input-independent")
width = 0.4
for offset, name in ((-width / 2, "fashion_mnist"), (width / 2, "mnist")):
    axes[1].bar(positions + offset, step_parts[name][1].ravel(), width=width, label=f"{TITLES[name]} test")
axes[1].set_title("affine couplings: mean over test images")
axes[1].legend()
for ax in axes:
    ax.set_xticks(positions, labels, rotation=90)
    ax.set_xlabel("level.step")
    ax.set_ylabel("log-det contribution (nats)")
fig.suptitle("Glow trained on FashionMNIST: the volume term, step by step")
fig.tight_layout()
plots.show(fig)

coupling_gap = step_parts["mnist"][1] - step_parts["fashion_mnist"][1]
largest = np.unravel_index(np.argmax(np.abs(coupling_gap)), coupling_gap.shape)
print(f"Input-independent part (ActNorm + 1x1 convs): {channel_map.sum():.1f} nats for every image")
print(
    f"Coupling part, mean: FashionMNIST {step_parts['fashion_mnist'][1].sum():.1f}, "
    f"MNIST {step_parts['mnist'][1].sum():.1f} nats"
)
print(
    "Coupling gap (MNIST - FashionMNIST) per level: "
    + ", ".join(f"level {level + 1}: {coupling_gap[level].sum():+.1f}" for level in range(levels))
)
print(f"Largest single step: level {largest[0] + 1}, step {largest[1] + 1}: {coupling_gap[largest]:+.1f} nats")

# %%
# NBVAL_CHECK_OUTPUT
level_gaps = np.abs(coupling_gap.sum(axis=1))
finding(
    "the first level's couplings produce more of the volume-term gap than the second's",
    bool(level_gaps[0] > level_gaps[1]),
)
finding(
    "the first level's couplings produce over 90% of the couplings' gap", bool(level_gaps[0] > 0.9 * level_gaps.sum())
)
finding(
    "the couplings contract on average for both sets (mean coupling part < 0)",
    bool(all(step_parts[name][1].sum() < 0 for name in ("fashion_mnist", "mnist"))),
)
sanity_check(
    "the couplings' gap is the whole volume-term gap, to 0.5 nats (the rest is the same for every image)",
    bool(abs(coupling_gap.sum() - gap_fashion["log_det"]) < 0.5),
)

# %% [markdown]
# The grey bars are large (together the printed input-independent part) but cannot favour
# either data set: they are the same for every image. Every nat of the volume-term *gap* between
# MNIST and FashionMNIST comes from the affine couplings, which contract (their $\log\sigma < 0$)
# and contract MNIST less; the printed per-level sums put almost all of that gap in the first
# level, the one that sees the image at full resolution after a single squeeze.
#
# ## 3. Figure 4c, d: remove the suspect, CV-Glow
#
# With **additive** couplings, $y_b = x_b + \mathrm{NN}(x_a)$, every coupling has unit
# Jacobian determinant, and what is left of the volume term, the channel maps, does not depend
# on $x$. This constant-volume Glow (CV-Glow) is the chapter-03 architecture and training
# budget with that one change, trained through the zoo.

# %%
cv_glow = loaded("cv_glow", "fashion_mnist")
probes = {
    "FashionMNIST train": data.load_tensor("fashion_mnist", "train", n=profile.n_eval, seed=profile.seed)[0],
    "FashionMNIST test": test_sets["fashion_mnist"],
    "MNIST test": test_sets["mnist"],
    "uniform noise": scores.uniform_noise_images(64, (1, 28, 28), seed=profile.seed),
    "constant images": scores.constant_images(np.arange(0, 256, 4), (1, 28, 28)),
}
cv_parts = {label: scores.log_prob_parts(cv_glow.model, x, seed=profile.seed) for label, x in probes.items()}
all_log_dets = np.concatenate([log_det for _, log_det in cv_parts.values()])
print(f"CV-Glow log|det df/dx| = {all_log_dets[0]:.4f} nats for all {all_log_dets.size} inputs")

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "spread (max - min) of CV-Glow's log|det| over training images, MNIST, noise and constants (zero by design)",
    float(all_log_dets.max() - all_log_dets.min()),
    0.0,
)

# %% [markdown]
# The volume term is now literally one number. Does MNIST still win?

# %%
cv_bpd = {name: scores.bits_per_dim(cv_glow.model, x, seed=profile.seed) for name, x in test_sets.items()}
fig, axes = plt.subplots(1, 2, figsize=(13, 3.6))
samples = {f"{TITLES[name]} test": values for name, values in cv_bpd.items()}
plots.histograms(
    axes[0],
    samples,
    plots.shared_bins(list(samples.values())),
    xlabel="bits per dimension (lower = more likely)",
    title="CV-Glow trained on FashionMNIST",
)
history = cv_glow.history
for key, values in history["eval"].items():
    label = f"FashionMNIST {key}" if key in ("train", "test") else f"{TITLES[key]} test (OOD)"
    axes[1].plot(history["step"], values, marker="o", markersize=3, label=label)
axes[1].set_xlabel("training step")
axes[1].set_ylabel("mean bits per dimension")
axes[1].set_title("CV-Glow: BPD during training (Figure 4d)")
axes[1].legend()
fig.tight_layout()
plots.show(fig)

cv_auroc = scores.auroc(-cv_bpd["fashion_mnist"], -cv_bpd["mnist"])
mnist_lower = [ood < test for ood, test in zip(history["eval"]["mnist"], history["eval"]["test"])]
print(
    f"CV-Glow: FashionMNIST-test {cv_bpd['fashion_mnist'].mean():.3f}, MNIST-test {cv_bpd['mnist'].mean():.3f} BPD; "
    f"AUROC {cv_auroc:.3f}"
)
print(
    f"MNIST below FashionMNIST-test at {sum(mnist_lower)} of {len(mnist_lower)} evaluations during training "
    f"(the first, step 0, is the untrained model)"
)

# %%
# NBVAL_CHECK_OUTPUT
finding("CV-Glow still gives MNIST the lower mean BPD", bool(cv_bpd["mnist"].mean() < cv_bpd["fashion_mnist"].mean()))
finding("CV-Glow: MNIST below FashionMNIST-test at every evaluation after step 0", all(mnist_lower[1:]))
finding("CV-Glow's AUROC is below 0.2, like the affine Glow's", bool(cv_auroc < 0.2))

# %% [markdown]
# Side by side, the affine Glow of chapter 03 and the CV-Glow, both trained on FashionMNIST
# with the same budget (train BPD on a fixed subset of the training set):

# %%
train_subset = probes["FashionMNIST train"]
print(f"{'model':10s} {'FashionMNIST train':>19s} {'FashionMNIST test':>18s} {'MNIST test':>11s} {'AUROC':>6s}")
comparison = {}
for label, trained in (("Glow", glow_fashion), ("CV-Glow", cv_glow)):
    bpd = {name: scores.bits_per_dim(trained.model, x, seed=profile.seed) for name, x in test_sets.items()}
    train_bpd = scores.bits_per_dim(trained.model, train_subset, seed=profile.seed).mean()
    comparison[label] = scores.auroc(-bpd["fashion_mnist"], -bpd["mnist"])
    print(
        f"{label:10s} {train_bpd:19.3f} {bpd['fashion_mnist'].mean():18.3f} {bpd['mnist'].mean():11.3f} "
        f"{comparison[label]:6.3f}"
    )
print("Paper (Glow, full scale): FashionMNIST train 2.902, test 2.958, MNIST test 1.833")

# %% [markdown]
# The answer to the chapter's question is **no**. In the affine Glow most of the mean gap sits
# in the volume term (section 1), but CV-Glow, whose volume term cannot tell one image from
# another, still gives MNIST the lower BPD at every evaluation after the untrained start, with a
# comparable AUROC (table). The volume term is where the affine Glow happens to *put* its
# preference for MNIST, not what *causes* it: without it, the preference moves into
# $\log p(z)$, i.e. into *where the flow maps the images*. The next chapter (06) expands
# $\log p(x)$ around a point to find out what property of the data decides that.
#
# ## 4. Appendix C made concrete: how large can the volume term be?
#
# If $f$ is $L$-Lipschitz around $x$, every singular value of its Jacobian is at most
# $L$, so by Hadamard's inequality
#
# $$\log\left|\det \frac{\partial f}{\partial x}\right| = \sum_{i=1}^D \log s_i(x) \le D \log L .$$
#
# We estimate the local constant $L(x) = s_1(x) = \|\partial f/\partial x\|_2$ for a few
# hundred images of each set by power iteration (`ood_lib.jacobian.largest_singular_value`:
# one Jacobian-vector and one vector-Jacobian product per iteration, no $784\times784$
# matrix), and compare $D \log L(x)$ with the actual $\log|\det|$.


# %%
def flat_latents(model: torch.nn.Module):
    def latents(x: torch.Tensor) -> torch.Tensor:
        zs, _ = model(x)
        return torch.cat([z.flatten(1) for z in zs], dim=1)

    return latents


lipschitz = {}
generator = torch.Generator().manual_seed(profile.seed)
for name, x_uint8 in test_sets.items():
    x = dequantize(x_uint8[: profile.n_jacobian], generator).to(next(glow_fashion.model.parameters()).device)
    spectral_norm = largest_singular_value(flat_latents(glow_fashion.model), x, num_iterations=30)
    with torch.no_grad():
        _, log_det = glow_fashion.model.log_prob_parts(x)
    lipschitz[name] = {"log_L": spectral_norm.log().cpu().numpy(), "log_det": log_det.cpu().numpy()}

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, values in lipschitz.items():
    ax.scatter(NUM_DIMS * values["log_L"], values["log_det"], s=8, alpha=0.6, label=f"{TITLES[name]} test")
low = min(min(NUM_DIMS * v["log_L"].min(), v["log_det"].min()) for v in lipschitz.values())
high = max(max(NUM_DIMS * v["log_L"].max(), v["log_det"].max()) for v in lipschitz.values())
ax.plot([low, high], [low, high], color="black", linewidth=1, label="log|det| = D log L")
ax.set_xlabel(r"$D \log L(x)$, $L(x) = \|\partial f/\partial x\|_2$ (nats)")
ax.set_ylabel(r"$\log|\det \partial f/\partial x|$ (nats)")
ax.set_title("Hadamard's bound, image by image (Glow on FashionMNIST)")
ax.legend()
fig.tight_layout()
plots.show(fig)

for name, values in lipschitz.items():
    lipschitz_constant = np.exp(values["log_L"])
    slack = NUM_DIMS * values["log_L"] - values["log_det"]
    print(
        f"{TITLES[name]:13s} L(x): median {np.median(lipschitz_constant):6.2f}, max {lipschitz_constant.max():6.2f};"
        f"  D log L(x) - log|det|: median {np.median(slack):7.0f} nats"
    )
global_log_L = max(values["log_L"].max() for values in lipschitz.values())
print(
    f"Largest L over these {2 * profile.n_jacobian} images: {np.exp(global_log_L):.2f}, "
    f"so D log L = {NUM_DIMS * global_log_L:.0f} nats; the largest log|det| among them: "
    f"{max(values['log_det'].max() for values in lipschitz.values()):.0f} nats"
)

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "Hadamard's bound log|det| <= D log L(x) holds for every image checked (a theorem; thousands of nats of slack)",
    all(bool(np.all(values["log_det"] <= NUM_DIMS * values["log_L"] + 1e-3)) for values in lipschitz.values()),
)

# %% [markdown]
# Power iteration approaches $s_1(x)$ from below, so a failure of this check would mean the
# iteration had not converged (or a bug); it can fail, and it does not. The bound is far from
# tight: the flow stretches a few directions a lot (local Lipschitz constants in the
# thousands: a pixel change of one grey level, 1/256, moves the latents by several units) and
# the others much less, so $D \log s_1$ overestimates $\sum_i \log s_i$ by the thousands of nats
# printed. Two cautions about reading
# the global number: the largest $L(x)$ *over these samples* is an estimate of the flow's
# Lipschitz constant, not a bound on it (an unseen input can be more sensitive), and the
# Appendix-C argument is about what a flow *could* do, not a measurement of what it does.
#
# ## 5. The typical set in one cell
#
# Why can an input be more likely than anything in the training set? In $D = 784$ dimensions,
# take $z \sim \mathcal{N}(0, I)$. Its density is highest at the mode $z = 0$,
# $\log p(0) = -\tfrac{D}{2}\log 2\pi$, but a sample has $\|z\|^2 \approx D$, so
# $\log p(z) \approx \log p(0) - D/2$, and almost never comes near the mode.

# %%
D = NUM_DIMS
z = torch.randn(20000, D, generator=torch.Generator().manual_seed(profile.seed), dtype=torch.float64)
log_p_samples = -0.5 * D * np.log(2 * np.pi) - 0.5 * (z**2).sum(dim=1)
log_p_mode = -0.5 * D * np.log(2 * np.pi)
radius = z.norm(dim=1)
print(
    f"radius of samples: mean {radius.mean():.2f} (sqrt(D) = {np.sqrt(D):.2f}), std {radius.std():.2f}, "
    f"min {radius.min():.2f}"
)
print(
    f"log p at the mode: {log_p_mode:.1f} nats; samples: mean {log_p_samples.mean():.1f}, "
    f"std {log_p_samples.std():.1f}, best of 20000: {log_p_samples.max():.1f}"
)
print(
    f"the mode beats the best sample by {log_p_mode - log_p_samples.max():.0f} nats "
    f"= {(log_p_mode - log_p_samples.max()) / log_p_samples.std():.0f} standard deviations of log p(samples)"
)

fig, ax = plt.subplots(figsize=(6.5, 3.2))
ax.hist(log_p_samples.numpy(), bins=60, density=True, alpha=0.7, label="log p(z) of samples")
ax.axvline(log_p_mode, color="black", linestyle="--", label="log p at the mode z = 0")
ax.set_xlabel("log p(z) (nats)")
ax.set_ylabel("density")
ax.set_title(f"Standard Gaussian in D = {D}: the mode is never sampled")
ax.legend()
fig.tight_layout()
plots.show(fig)

# %%
# NBVAL_CHECK_OUTPUT
sanity_check("every sample is less likely than the mode", bool((log_p_samples < log_p_mode).all()))
sanity_check(
    "at least 99.9% of samples sit within 10% of radius sqrt(D) (concentration of measure: 10% is 4 std of the radius)",
    bool(((radius / np.sqrt(D) - 1).abs() < 0.1).double().mean() >= 0.999),
)

# %% [markdown]
# High likelihood and "looks like the training data" are different things. The typical set
# (where samples fall) is a thin shell far from the mode; a density model can give its highest
# values to inputs that map near the latent mode even though no training image does. Chapter
# 04's constant images are such inputs: a black image beats every test image (Figure 8). The OOD
# gap may be a milder version of the same thing: section 3 shows that the $\log p(z)$ term alone
# suffices for it. Chapter 06 makes "closer to the mode" precise with a second-order expansion,
# and chapter 07 measures the data property behind it.
#
# ## Summary
#
# - For the FashionMNIST Glow both $\log p(z)$ and the volume term favour MNIST, the volume
#   term by far the more (section 1, shares printed).
# - The ActNorm and 1×1-convolution parts of the volume term are identical for every input;
#   the volume-term gap comes from the affine couplings, almost all of it from the first level
#   (section 2).
# - CV-Glow, whose volume term is one constant, still gives MNIST the lower BPD, at every
#   evaluation of its training after the start (section 3): the volume term is not needed for
#   the effect.
# - Hadamard's bound $\log|\det| \le D \log L$ holds on every image checked and is loose by
#   thousands of nats (section 4).
#
# ## Exercises
#
# 1. Show that an additive coupling $y_a = x_a$, $y_b = x_b + t(x_a)$ has Jacobian
#    determinant exactly 1, for any network $t$. *Hint: order the variables as $(a, b)$; the
#    Jacobian is block lower-triangular with identity blocks on the diagonal.*
# 2. Predict the sign of the volume-term gap (FashionMNIST minus MNIST) for the Glow trained on
#    MNIST, then check it against the medians in section 1's second table. *Hint: the couplings
#    learn to contract least where their training data lies.*
# 3. CV-Glow's volume term is the same for every input, but it is not zero (section 3). Which
#    parameters set it, and why does maximum likelihood still change it during training? *Hint:
#    it is $\sum_{\ell,k} H_\ell W_\ell(\sum_c s_c + \log|\det W|)$; compare chapter 02.*
# 4. Replace the 30 power iterations of section 4 by 3. Does the Hadamard check still pass?
#    Why can it never fail because of too *many* iterations? *Hint: the iteration's estimate is
#    $\|Jv\|$ for a unit vector $v$.*
# 5. In the typical-set cell, compute the probability that a sample lands within radius
#    $\sqrt{D}/2$ of the mode. *Hint: $\|z\|^2 \sim \chi^2_D$; use `scipy.stats.chi2.cdf`.*

# %%
chapter_footer()
