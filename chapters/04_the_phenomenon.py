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
# # 04 · The phenomenon, across data sets and model families
#
# Chapter 03 showed one number: Glow trained on FashionMNIST gives MNIST a lower *mean* BPD.
# This chapter asks how general that is.
#
# 1. **Per example** (the paper's Figure 2): is the whole MNIST distribution of
#    log-likelihoods shifted, or only its mean? If likelihood were a usable OOD detector, the
#    in-distribution test images would score *higher* than the OOD images.
# 2. **Asymmetry** (Figure 6): trained the other way round, on MNIST, does the model also
#    prefer the other data set? And which FashionMNIST images does it reject so violently?
# 3. **Other model families** (Figure 3): an autoregressive PixelCNN and a VAE.
# 4. **Constant and random images** (Figure 8): which inputs does a model like best?
#
# The detector "flag x as OOD when $\log p(x) < \tau$" is judged by its AUROC over all
# thresholds $\tau$: the probability that a random in-distribution test image gets a higher
# likelihood than a random OOD image. 1 is perfect, 0.5 is chance, **below 0.5 the model
# prefers the OOD data.** Each experiment prints its mean BPDs and AUROC with a 95% bootstrap
# interval over the test images (`ood_lib.ood.intervals`, 1000 resamples), and the summary table
# near the end collects them: an interval says how much the number would move with another
# draw of test images from the same data set, not with another training run (for that, three
# FashionMNIST Glows trained with different seeds are compared near the end).
#
# What each BPD is: the PixelCNN's is an *exact* discrete likelihood. The Glow's is computed
# with one draw of dequantization noise per image, an unbiased estimate of an *upper bound* on
# the discrete BPD (chapter 01's Jensen bound); per image, one draw can fall on either side of
# its expectation. The VAE's 256-way categorical decoder scores the integer pixels directly (no
# dequantization noise); its BPD comes from one bound, the importance-weighted bound with K
# latent samples, estimated with one draw of those K samples, so it too is an upper bound only
# in expectation. (Why a dequantized density can exceed 1, and log-densities be positive, on the
# [0, 1) scale: chapter 03.)

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import LogNorm
from scipy.stats import spearmanr

from ood_lib import data
from ood_lib.book import plots
from ood_lib.book.chapter import chapter_footer, chapter_header
from ood_lib.book.findings import finding
from ood_lib.data.dequantization import dequantize
from ood_lib.models.bpd import bits_per_dim_from_log_prob
from ood_lib.ood import intervals, metrics, scores
from ood_lib.training import zoo

profile = chapter_header("04 · The phenomenon")


# %%
def load_test_sets(names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """``profile.n_eval`` test images of each data set (a fixed subset), uint8 NCHW."""
    return {name: data.load_tensor(name, "test", n=profile.n_eval, seed=profile.seed)[0] for name in names}


def score_sets(model: torch.nn.Module, test_sets: dict[str, torch.Tensor], **kwargs) -> dict[str, np.ndarray]:
    """Per-example BPD of every test set (seeded dequantization noise)."""
    return {
        name: scores.bits_per_dim(model, x_uint8, seed=profile.seed, **kwargs) for name, x_uint8 in test_sets.items()
    }


def plot_histograms(
    bpd: dict[str, np.ndarray], title: str, ax: plt.Axes, paper_means: dict[str, float] | None = None
) -> None:
    """Histograms of per-example BPD on shared bins from the lowest BPD (so the most likely images
    are never cut off) to the pooled 99.5th percentile; the legend, below the axis, counts the
    images off the axis on each side. Dashed lines: our means; where a mean lies off the axis,
    a dash-dotted line at the median instead; dotted: the paper's means, where given."""
    pooled = np.concatenate(list(bpd.values()))
    bins = np.linspace(pooled.min(), np.percentile(pooled, 99.5), 61)
    for index, (name, values) in enumerate(bpd.items()):
        below, above = int(np.sum(values < bins[0])), int(np.sum(values > bins[-1]))
        colour = PALETTE[index]
        label = f"{data.get_spec(name).title} test" + (
            f" (off the axis: {below} left, {above} right)" if below or above else ""
        )
        ax.hist(values, bins=bins, alpha=0.55, density=True, label=label, color=colour)
        if values.mean() < bins[-1]:
            ax.axvline(
                values.mean(), color=colour, linestyle="--", linewidth=1.2, label=f"our mean {values.mean():.3f}"
            )
        else:
            ax.axvline(
                np.median(values),
                color=colour,
                linestyle="-.",
                linewidth=1.2,
                label=f"our median {np.median(values):.2f} (mean {values.mean():.4g}, off the axis)",
            )
        if paper_means and name in paper_means:
            ax.axvline(
                paper_means[name], color=colour, linestyle=":", linewidth=1.8, label=f"paper's mean {paper_means[name]}"
            )
    ax.set_xlabel("bits per dimension (lower = more likely)")
    ax.set_ylabel("density of images")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=8)


MODEL_LABELS = {"glow": "Glow", "pixelcnn": "PixelCNN", "vae": "VAE"}
PALETTE = plt.rcParams["axes.prop_cycle"].by_key()["color"]  # the book theme's colour-blind palette
# One colour per (model, training set), distinct within every figure (palette entry 3, a second orange, unused).
ROW_COLOURS = {
    ("glow", "fashion_mnist"): PALETTE[0],
    ("pixelcnn", "fashion_mnist"): PALETTE[1],
    ("vae", "fashion_mnist"): PALETTE[2],
    ("glow", "mnist"): PALETTE[4],
    ("glow", "cifar10"): PALETTE[5],
    ("glow", "svhn"): PALETTE[9],
    ("pixelcnn", "cifar10"): PALETTE[7],
    ("vae", "cifar10"): PALETTE[8],
}
results = []  # one row per experiment, for the summary table at the end


def format_mean(interval: intervals.Interval) -> str:
    """A mean BPD with its interval: 3 decimals, or 4 significant digits where the tail makes it huge."""
    if interval.high < 1000:
        return interval.format(3)
    return f"{interval.estimate:.4g} [{interval.low:.4g}, {interval.high:.4g}]"


def experiment(
    model_name: str,
    train_set: str,
    ood_set: str,
    test_sets: dict[str, torch.Tensor],
    ax: plt.Axes,
    paper_means: dict[str, float] | None = None,
) -> dict:
    """Score ``test_sets`` with ``model_name`` trained on ``train_set`` (from the zoo), draw the
    histograms on ``ax``, print the AUROC of log p(x) as in-distribution score, record the row."""
    trained = zoo.get(model_name, train_set, profile)
    extra = {"num_samples": profile.vae_importance_samples} if model_name == "vae" else {}
    print(f"scoring {len(test_sets)} test sets with the {MODEL_LABELS[model_name]} trained on {train_set}...")
    bpd = score_sets(trained.model, test_sets, **extra)
    auroc = scores.auroc(-bpd[train_set], -bpd[ood_set])
    label = MODEL_LABELS[model_name]
    plot_histograms(bpd, f"{label} trained on {data.get_spec(train_set).title}", ax, paper_means)
    print(
        f"{label} trained on {train_set}: {trained.provenance()}"
        + (f"; bound with K = {extra['num_samples']}" if extra else "")
    )
    budget = trained.config["train"]
    print(
        f"  architecture {trained.config['model']}; batch {budget['batch_size']}, lr {budget['lr']}"
        + (
            f"; trained on the ELBO (K = 1), scored with the importance-weighted bound (K = {extra['num_samples']}): "
            "its expectation is a lower bound on log p(x), so the BPDs are upper bounds in expectation"
            if extra
            else ""
        )
    )
    print(
        "  mean BPD [95% bootstrap interval]: "
        + ", ".join(f"{name} {format_mean(intervals.bootstrap_mean(values))}" for name, values in bpd.items())
    )
    print(
        f"  AUROC {train_set} (in) vs {ood_set} (out) = "
        f"{intervals.bootstrap_auroc(-bpd[train_set], -bpd[ood_set]).format(3)}"
    )
    row = {
        "label": label,
        "model_name": model_name,
        "train_set": train_set,
        "ood_set": ood_set,
        "model": trained.model,
        "config": trained.config,
        "extra": extra,
        "bpd": bpd,
        "auroc": auroc,
        "colour": ROW_COLOURS.get((model_name, train_set), PALETTE[6]),
    }
    results.append(row)
    return row


def panels(count: int) -> tuple[plt.Figure, np.ndarray]:
    fig, axes = plt.subplots(1, count, figsize=(6.5 * count, 4.2), squeeze=False)
    return fig, axes[0]


def finish(fig: plt.Figure) -> None:
    fig.tight_layout()
    plots.show(fig)


small_sets = load_test_sets(("fashion_mnist", "mnist"))

# %% [markdown]
# ## Figure 2: per-example likelihoods of Glow
#
# The FashionMNIST Glow of chapter 03 (loaded from the model cache) scores every test image:

# %%
fig, axes = panels(1)
PAPER_FIGURE_1 = {"fashion_mnist": 2.958, "mnist": 1.833, "mnist own": 1.262}
glow_fashion = experiment(
    "glow",
    "fashion_mnist",
    "mnist",
    small_sets,
    axes[0],
    paper_means={k: PAPER_FIGURE_1[k] for k in ("fashion_mnist", "mnist")},
)
finish(fig)

# %%
# NBVAL_CHECK_OUTPUT
finding("Glow(FashionMNIST) prefers MNIST, AUROC < 0.5", bool(glow_fashion["auroc"] < 0.5))
finding(
    "both our means lie above (to the right of) the paper's 2.958 and 1.833",
    bool(all(glow_fashion["bpd"][name].mean() > PAPER_FIGURE_1[name] for name in ("fashion_mnist", "mnist"))),
)

# %% [markdown]
# Not just the mean moved: the bulk of the MNIST histogram lies to the left of (more likely
# than) FashionMNIST's, so a randomly drawn MNIST image is more likely than a randomly drawn FashionMNIST one far more often than not (the AUROC below). The
# axis starts at the most likely image (the MNIST 1s shown near the end of the chapter), so only
# the least likely tail is cut off, and the legend counts it. The dotted lines are the paper's
# means: both of ours lie to their right (our levels are worse, see the scope table), but the
# order of the two sets is the paper's. A reader comparing with the paper's Figure 2: its
# histograms are of the log-likelihood $\log p(x)$, where more likely lies to the *right*; ours
# are of BPD $= -\log_2 p(x) / D$, where more likely lies to the *left*, so the axis is mirrored
# (and rescaled) and MNIST's histogram sits on the other side of FashionMNIST's.
#
# ## Figure 6: the effect is not symmetric
#
# Train the same architecture on MNIST and score FashionMNIST:

# %%
fig, axes = panels(1)
glow_mnist = experiment("glow", "mnist", "fashion_mnist", small_sets, axes[0], paper_means={"mnist": 1.262})
finish(fig)
# The same MNIST test images (and the same dequantization noise) under the two Glows, paired.
own_minus_fashion = intervals.bootstrap_mean(glow_mnist["bpd"]["mnist"] - glow_fashion["bpd"]["mnist"])
print(
    f"MNIST test, mean BPD: under MNIST's own Glow {glow_mnist['bpd']['mnist'].mean():.3f}, under the "
    f"FashionMNIST Glow {glow_fashion['bpd']['mnist'].mean():.3f}; own minus FashionMNIST's "
    f"{own_minus_fashion.format(3)} (paired bootstrap over the images)"
)
# The spread of each test set around its own mean: the per-pixel variance, summed over the 784 pixels.
pixel_variance_sum = {
    name: float((x_uint8[:, 0].numpy().astype(np.float64) / 255).var(axis=0).sum())
    for name, x_uint8 in small_sets.items()
}
print(
    "per-pixel variance summed over the pixels (pixel values in [0, 1]): "
    + ", ".join(f"{name} {value:.1f}" for name, value in pixel_variance_sum.items())
)

# %%
# NBVAL_CHECK_OUTPUT
finding("Glow(MNIST) gives FashionMNIST the lower likelihood, AUROC > 0.5", bool(glow_mnist["auroc"] > 0.5))
finding(
    "MNIST's own Glow gives MNIST a lower mean BPD than the FashionMNIST Glow (interval excludes 0)",
    bool(own_minus_fashion.high < 0),
)
finding(
    "MNIST test has the smaller summed per-pixel variance",
    bool(pixel_variance_sum["mnist"] < pixel_variance_sum["fashion_mnist"]),
)

# %% [markdown]
# Trained on MNIST, the model *does* find FashionMNIST unlikely. The failure is one-directional:
# what matters is not "in" versus "out" but a property of the two data sets. Which property is
# the subject of chapters 05-07; the paper's answer is the per-pixel variances (MNIST has the
# smaller spread around its mean: the summed per-pixel variance printed above), although, as chapter 00 showed, the two sets' means differ
# too (chapter 00 prints MNIST's darker mean pixel), so both have to be looked at.
#
# A higher likelihood is not a good fit. The FashionMNIST Glow gives MNIST 2.062 BPD, better
# than its own test set, yet MNIST's own Glow gives the same images 1.540 (the paired difference
# and its interval are printed above): on digits the FashionMNIST model spends 0.52 bits per
# pixel more than MNIST's own Glow (interval 0.516-0.528). (How far either is from the best possible model of
# digits or of clothes, nothing here measures.)
#
# ### Which FashionMNIST images does the MNIST Glow reject, and where is their ink?
#
# The histogram above has images outside its axis (the legend counts them): a few FashionMNIST
# images get BPDs of hundreds or far more, so their mean lies off the axis and the figure draws
# their median (5.81) instead. A tempting story is that "MNIST's border is always black, so ink there
# is impossible". The data say otherwise: count MNIST's training pixels that are 0 in *every*
# image, and how many training images have ink in the outer ring (the two outermost rows and
# columns, 208 of the 784 pixels).

# %%
mnist_train = data.load("mnist", "train")[0][..., 0]
always_zero = (mnist_train == 0).all(axis=0)
ring = np.ones((28, 28), dtype=bool)
ring[2:-2, 2:-2] = False
mnist_ink_frequency = (mnist_train > 0).mean(axis=0)
mnist_ring_ink = (mnist_train[:, ring] > 0).any(axis=1)
print(
    f"MNIST training pixels that are 0 in all {len(mnist_train)} images: {always_zero.sum()} of 784, "
    f"{(always_zero & ring).sum()} of them in the outer ring ({ring.sum()} pixels)"
)
print(f"MNIST training images with ink (a pixel > 0) in the outer ring: {mnist_ring_ink.mean():.1%}")

fashion_test = small_sets["fashion_mnist"][:, 0].numpy().astype(np.float64)
fashion_ink_frequency = (fashion_test > 0).mean(axis=0)
ink_mass = fashion_test.sum(axis=(1, 2))
ring_share = (fashion_test * ring).sum(axis=(1, 2)) / ink_mass
always_zero_share = (fashion_test * always_zero).sum(axis=(1, 2)) / ink_mass
mnist_ring_share = (mnist_train * ring).sum(axis=(1, 2)) / mnist_train.sum(axis=(1, 2))
print(
    f"FashionMNIST test images with ink in the outer ring: {(fashion_test[:, ring] > 0).any(axis=1).mean():.1%}; "
    f"with ink on one of MNIST's always-zero pixels: {(always_zero_share > 0).mean():.1%}"
)
print(
    f"share of an image's ink mass in the outer ring, mean: MNIST training {mnist_ring_share.mean():.2%}, "
    f"FashionMNIST test {ring_share.mean():.1%}"
)

bpd_under_mnist = glow_mnist["bpd"]["fashion_mnist"]
worst = np.argsort(bpd_under_mnist)[::-1][:8].copy()
typical_cut = np.percentile(bpd_under_mnist, 95)
print(
    f"\nFashionMNIST test BPD under the MNIST Glow: median {np.median(bpd_under_mnist):.2f}, 95th percentile {typical_cut:.2f}"
)
print("the 8 highest, with each image's share of its ink in the outer ring and on MNIST's always-zero pixels:")
for index in worst:
    print(
        f"  BPD {bpd_under_mnist[index]:10.4g}   ring {ring_share[index]:6.1%} "
        f"(percentile {np.mean(ring_share < ring_share[index]):4.0%})   always-zero pixels {always_zero_share[index]:6.2%}"
    )
print(
    f"  median FashionMNIST test image: ring {np.median(ring_share):6.1%}, always-zero pixels {np.median(always_zero_share):6.2%}"
)
ring_correlation = spearmanr(bpd_under_mnist, ring_share).statistic
inked_correlation = spearmanr(bpd_under_mnist, (fashion_test > 0).sum(axis=(1, 2))).statistic
# Is the 8 worst's ring share unusual? Their mean percentile against that of 8 random test images.
ring_percentile = (np.argsort(np.argsort(ring_share)) + 0.5) / len(ring_share)
worst_mean_percentile = ring_percentile[worst].mean()
permutation_rng = np.random.default_rng(0)
random_sets = np.stack([permutation_rng.choice(len(ring_share), 8, replace=False) for _ in range(10000)])
random_means = ring_percentile[random_sets].mean(axis=1)
ring_share_p = float(np.mean(np.abs(random_means - 0.5) >= abs(worst_mean_percentile - 0.5)))
print(
    f"the 8 worst's mean percentile of ring share: {worst_mean_percentile:.0%}; two-sided permutation p-value "
    f"against 10000 random sets of 8 test images: {ring_share_p:.2f}"
)
print(
    f"Spearman rank correlation of BPD with the ring share: {ring_correlation:.2f}; "
    f"with the number of inked pixels: {inked_correlation:.2f}"
)

fig = plt.figure(figsize=(13, 5.4), layout="constrained")
maps_figure, worst_figure = fig.subfigures(1, 2, width_ratios=[1, 2.4])
map_axes = maps_figure.subplots(2, 1)
# Floor at half of one image in 60000: every pixel inked at least once is drawn in the colour map;
# pixels never inked are below the floor and get their own colour (cyan-free light green).
floor = 1 / 120000
ink_cmap = plt.get_cmap("magma").with_extremes(under="#7fd67f")
norm = LogNorm(vmin=floor, vmax=1)
for ax, frequency, title in (
    (map_axes[0], mnist_ink_frequency, "MNIST train"),
    (map_axes[1], fashion_ink_frequency, "FashionMNIST test"),
):
    shown = ax.imshow(np.where(frequency > 0, frequency, floor / 2), cmap=ink_cmap, norm=norm)
    ax.contour(ring.astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
maps_figure.colorbar(shown, ax=map_axes, shrink=0.9, extend="min", label="share of images inked\n(green: never inked)")
maps_figure.suptitle("Where the images have ink\n(cyan: inner edge of the outer ring)", fontsize=10)
for ax, index in zip(worst_figure.subplots(2, 4).ravel(), worst):
    plots.imshow_uint8(ax, small_sets["fashion_mnist"][index].permute(1, 2, 0).numpy())
    ax.contour(ring.astype(float), levels=[0.5], colors="cyan", linewidths=0.6)
    ax.set_title(f"{bpd_under_mnist[index]:.3g} BPD\nring {ring_share[index]:.0%} of its ink", fontsize=9)
worst_figure.suptitle("The 8 FashionMNIST test images the MNIST Glow finds least likely", fontsize=10)
plots.show(fig)

# %% [markdown]
# Only a minority of the ring is never inked in MNIST, and one MNIST training image in eight
# has ink in the ring, so "always 0" is wrong. What is true is that MNIST puts almost none of
# its ink there, while every FashionMNIST image has some: compare the two ink-frequency maps.
# But the share of ink in the ring does not pick out the rejected images: the 8 worst put an
# ordinary share there (their percentiles are spread over the range), and across all test images
# the BPD hardly correlates with that share, while it does with how many pixels are inked.
#
# A control answers whether the ring's ink is nevertheless what blows up those BPDs: set the
# ring to 0 in the 8 worst images and in 8 images of median BPD, and score original and
# edited images with the same dequantization noise. Clearing the ring also removes ink, and the
# BPD rank-correlates with the number of inked pixels (above), so two matched edits try to
# separate "ring" from "less ink" (how far they get is discussed after the table): clear the same
# *number* of inked pixels, or the same ink *mass*, chosen at random among the image's inked
# pixels in the interior (the 24×24 centre, inside the ring's inner edge); the table shows one
# seeded choice, and four more choices are scored after it. Then set only MNIST's always-zero
# pixels to 0. Re-scored as a batch of their own, the images get other noise draws, so the
# "original" numbers move too; three draws show how much. Finally, to rule out float32 overflow
# at BPDs up to $10^{22}$, the first draw of the unedited images and each of the four edited sets
# (under the same noise) are recomputed in float64.

# %%
typical = np.argsort(np.abs(bpd_under_mnist - np.median(bpd_under_mnist)))[:8]
probe_index = np.concatenate([worst, typical])
probe_images = small_sets["fashion_mnist"][probe_index]
ring_zeroed, always_zero_zeroed = probe_images.clone(), probe_images.clone()
ring_zeroed[:, 0][:, torch.from_numpy(ring)] = 0
always_zero_zeroed[:, 0][:, torch.from_numpy(always_zero)] = 0


# The matched controls: the same count, or the same ink mass, of inked interior pixels (the 24x24 centre,
# inside the ring's inner edge), chosen at random by `rng`.
def matched_controls(rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """The probe images with as many inked interior pixels, or as much interior ink mass, set to 0 as
    the ring holds; and the share of each image's ink removed (ring, count-matched, mass-matched)."""
    count_edit, mass_edit = probe_images.clone(), probe_images.clone()
    removed = np.zeros((3, len(probe_images)))
    ring_pixels = ring.ravel()
    for position in range(len(probe_images)):
        pixels = probe_images[position, 0].numpy().astype(np.int64).ravel()
        inked_in_ring = int((pixels[ring_pixels] > 0).sum())
        order = rng.permutation(np.flatnonzero(~ring_pixels & (pixels > 0)))
        by_mass = int(np.searchsorted(np.cumsum(pixels[order]), pixels[ring_pixels].sum()) + 1)
        for edited, chosen in ((count_edit, order[:inked_in_ring]), (mass_edit, order[:by_mass])):
            edited[position, 0].view(-1)[torch.from_numpy(chosen)] = 0
        removed[:, position] = [
            pixels[ring_pixels].sum() / pixels.sum(),
            pixels[order[:inked_in_ring]].sum() / pixels.sum(),
            pixels[order[:by_mass]].sum() / pixels.sum(),
        ]
    return count_edit, mass_edit, removed


count_matched, mass_matched, removed_mass = matched_controls(np.random.default_rng(profile.seed))
draws = np.stack([scores.bits_per_dim(glow_mnist["model"], probe_images, seed=seed) for seed in range(3)])
after = {
    name: scores.bits_per_dim(glow_mnist["model"], edited, seed=0)
    for name, edited in (
        ("ring", ring_zeroed),
        ("count", count_matched),
        ("mass", mass_matched),
        ("always-zero", always_zero_zeroed),
    )
}
# float64 re-score of draw 0 and of every edited set: the same dequantized inputs, a float64 copy of the model.
float64_model = copy.deepcopy(glow_mnist["model"]).double()
float64_ratio = {}
with torch.no_grad():
    for name, images, float32_bpd in (
        ("unedited", probe_images, draws[0]),
        ("ring", ring_zeroed, after["ring"]),
        ("count", count_matched, after["count"]),
        ("mass", mass_matched, after["mass"]),
        ("always-zero", always_zero_zeroed, after["always-zero"]),
    ):
        dequantized = dequantize(images, torch.Generator().manual_seed(0))
        float64_bpd = bits_per_dim_from_log_prob(
            float64_model.log_prob(dequantized.double()), dequantized[0].numel()
        ).numpy()
        float64_ratio[name] = float(np.max(np.abs(float64_bpd / float32_bpd - 1)))
print(
    f"{'':17s} {'3 noise draws: min':>18s} {'max':>10s} {'ring to 0':>10s} {'same count':>11s} "
    f"{'same mass':>10s} {'always-zero':>12s}   ink removed: ring / count / mass"
)
for position, index in enumerate(probe_index):
    kind = "worst" if position < 8 else "median"
    print(
        f"{kind:6s} image {index:4d} {draws[:, position].min():18.4g} {draws[:, position].max():10.4g} "
        f"{after['ring'][position]:10.4g} {after['count'][position]:11.4g} {after['mass'][position]:10.4g} "
        f"{after['always-zero'][position]:12.4g}   " + " / ".join(f"{share:.0%}" for share in removed_mass[:, position])
    )
worst_stay = int((draws[:, :8].min(axis=0) > typical_cut).sum())
rescued = {name: int((values[:8] < typical_cut).sum()) for name, values in after.items()}
median_change = {name: float(np.mean(values[8:] - draws[0, 8:])) for name, values in after.items()}
always_zero_factor = draws[0, :8] / after["always-zero"][:8]
print(
    f"of the 8 worst: above the 95th percentile ({typical_cut:.2f}) in every noise draw: {worst_stay}; below it "
    f"with the ring set to 0: {rescued['ring']}; with the same count of inked interior pixels cleared: {rescued['count']}; "
    f"the same ink mass from interior pixels: {rescued['mass']}; only the always-zero pixels: {rescued['always-zero']}"
)
print(
    "median images, mean change of BPD: " + ", ".join(f"{name} {value:+.2f}" for name, value in median_change.items())
)
# The matched controls' random choice of pixels, repeated: 4 more seeds (the first choice is the table's).
choice_rescued = {"count": [rescued["count"]], "mass": [rescued["mass"]]}
choice_median_change = {"count": [median_change["count"]], "mass": [median_change["mass"]]}
for choice_seed in range(profile.seed + 1, profile.seed + 5):
    for name, edited in zip(("count", "mass"), matched_controls(np.random.default_rng(choice_seed))[:2]):
        edited_bpd = scores.bits_per_dim(glow_mnist["model"], edited, seed=0)
        choice_rescued[name].append(int((edited_bpd[:8] < typical_cut).sum()))
        choice_median_change[name].append(float(np.mean(edited_bpd[8:] - draws[0, 8:])))
for name in ("count", "mass"):
    print(
        f"same {name}, 5 random choices of the interior pixels: of the 8 worst rescued "
        + ", ".join(str(value) for value in choice_rescued[name])
        + f" (ring: {rescued['ring']}); median images' mean change "
        + ", ".join(f"{value:+.2f}" for value in choice_median_change[name])
        + f" (ring: {median_change['ring']:+.2f})"
    )
print(
    "the 8 worst, factor by which clearing only the always-zero pixels divides the BPD: "
    + ", ".join(f"{index}: {factor:.3g}" for index, factor in zip(worst, always_zero_factor))
)
print(
    "float64 against float32 BPD, largest relative difference over the 16 images, unedited and each edit: "
    + ", ".join(f"{name} {value:.1e}" for name, value in float64_ratio.items())
)

# %%
# NBVAL_CHECK_OUTPUT
finding("MNIST training pixels that are 0 in every image", int(always_zero.sum()), 67)
finding("all of them lie in the outer ring", bool((always_zero & ring).sum() == always_zero.sum()))
finding(
    "MNIST training images with ink in the outer ring, rounded percent", int(round(100 * mnist_ring_ink.mean())), 12
)
finding("every FashionMNIST test image has ink in the outer ring", bool((fashion_test[:, ring] > 0).any(axis=1).all()))
finding("the 8 least likely images' ring share is not unusual: permutation p > 0.05", bool(ring_share_p > 0.05))
finding("|rank correlation of BPD with the ring share| < 0.1", bool(abs(ring_correlation) < 0.1))
finding("rank correlation of BPD with the number of inked pixels > 0.5", bool(inked_correlation > 0.5))
finding("the 8 worst stay above the 95th percentile in all 3 noise draws", worst_stay, 8)
finding(
    "the two highest BPDs each move by more than a factor of 2 over the 3 noise draws",
    bool(np.all(draws[:, :2].max(axis=0) > 2 * draws[:, :2].min(axis=0))),
)
finding(
    "the 2 highest FashionMNIST BPDs under the MNIST Glow carry more than half of the set's mean",
    bool(np.sort(bpd_under_mnist)[-2:].sum() > 0.5 * bpd_under_mnist.sum()),
)
finding(
    "the enormous BPDs, unedited and edited, are not float32 artefacts: float64 agrees within 0.1%",
    bool(max(float64_ratio.values()) < 1e-3),
)
finding("of the 8 worst, below the 95th percentile once the ring is set to 0", rescued["ring"], 6)
finding(
    "clearing as many inked interior pixels (24x24 centre) rescues fewer of the 8 worst than clearing the ring",
    bool(rescued["count"] < rescued["ring"]),
)
finding(
    "clearing the same ink mass from interior pixels (24x24 centre) rescues fewer of the 8 worst than clearing the ring",
    bool(rescued["mass"] < rescued["ring"]),
)
finding(
    "median images: clearing the ring lowers the mean BPD, clearing the same count or mass in the interior raises it",
    bool(median_change["ring"] < 0 < min(median_change["count"], median_change["mass"])),
)
finding(
    "of the 8 worst, more than 10 times their largest noise draw under the count- or mass-matched control",
    int(np.sum(np.maximum(after["count"][:8], after["mass"][:8]) > 10 * draws[:, :8].max(axis=0))),
    2,
)
finding(
    "in all 5 random choices, each matched control rescues fewer of the 8 worst than clearing the ring",
    bool(max(max(values) for values in choice_rescued.values()) < rescued["ring"]),
)
finding(
    "in all 5 random choices, both matched controls raise the median images' mean BPD",
    bool(min(min(values) for values in choice_median_change.values()) > 0),
)
finding(
    "of the 8 worst, BPD divided by more than 10 by clearing only the always-zero pixels",
    int((always_zero_factor > 10).sum()),
    2,
)

# %% [markdown]
# The enormous BPDs are not noise-draw flukes, nor float32 overflow: each of the 8 stays far
# above the typical range in every draw (although the largest move by a factor of two or more
# from draw to draw: the one-draw estimate is itself unreliable out there), and float64 gives the
# same values, for the unedited images and for every edited set in the table. Setting the
# outer ring to 0 brings 6 of the 8 back among ordinary images, and lowers even the median
# images' BPD. The matched controls, clearing as many inked pixels, or as much ink, in the
# interior (the 24×24 centre), rescue fewer of the 8 (1 to 4, against the ring's 6) and *raise* the median images' BPD, in
# each of the five random choices of pixels (printed under the table); in two of the count-matched choices the rise is more than +350 BPD (printed), one median image blown far out of the typical range by the holes alone; in the table's choice
# they also make two of the 8 far worse (more than ten times their largest noise draw). But they punch scattered holes into the garment,
# and the holes cost on their own (the median images' BPD rises): so these controls do not show
# that ink in the outer ring costs more than the same ink elsewhere, only that clearing the ring
# is not like punching the same ink out of the interior (a control without holes is left open).
# The ring is
# not the whole story: two of the 8 stay above the 95th percentile with the ring cleared (the
# checked shirt, image 597, which falls from hundreds to about 13 BPD, and the trousers, image
# 1107, which clearing the ring hardly changes), and since every FashionMNIST image has ink in
# the ring and the worst put an ordinary share of their ink there (the permutation p-value),
# ink in the ring does not say which images explode.
#
# Clearing only MNIST's 67 always-zero pixels is image by image: for 2 of the 8 (images 906 and
# 17) it divides the BPD by more than 10, 906 falling from millions to hundreds; for the other
# six the factor is 1.00 to the printed precision (image 1545 has no ink on those pixels at
# all). So the always-zero
# pixels matter for some images, and a 95th-percentile cut alone would hide that. What else
# makes these few explode, these pixel edits do not isolate.
#
# ## The 32×32×3 pair, when present
#
# CIFAR-10 → SVHN (Figure 2b, and Figure 3c, d for the PixelCNN and the VAE) and
# SVHN → CIFAR-10 (Figure 6) run the same code where the two data sets are on disk. Neither is
# on this machine, so this branch has **not been executed here** and no finding checks it: its
# histograms and AUROCs, where it runs, are unchecked output.

# %%
PAPER_LARGE = {
    "glow cifar10 test": 3.464,
    "glow svhn test (cifar10 model)": 2.389,
    "glow svhn test (svhn model)": 2.057,
}
large_present = data.is_available("cifar10") and data.is_available("svhn")
if large_present:
    large_sets = load_test_sets(("cifar10", "svhn"))
    fig, axes = panels(4)
    pairs = (
        ("glow", "cifar10", "svhn"),
        ("glow", "svhn", "cifar10"),
        ("pixelcnn", "cifar10", "svhn"),
        ("vae", "cifar10", "svhn"),
    )
    for ax, (model_name, train_set, ood_set) in zip(axes, pairs):
        experiment(model_name, train_set, ood_set, large_sets, ax)
    finish(fig)
else:
    print("CIFAR-10 or SVHN absent (run `make data` where there is internet): Figure 2b, 3c, 3d and 6b not run.")
    print(
        f"The paper's Glow (Figure 1): trained on CIFAR-10, CIFAR-10 test {PAPER_LARGE['glow cifar10 test']} and "
        f"SVHN test {PAPER_LARGE['glow svhn test (cifar10 model)']} BPD; trained on SVHN, SVHN test "
        f"{PAPER_LARGE['glow svhn test (svhn model)']} BPD."
    )
    print("The paper's PixelCNN and VAE on CIFAR-10 vs SVHN (Figure 3c, d): histograms only, SVHN the more likely.")

# %% [markdown]
# ## Figure 3: PixelCNN and VAE
#
# Is this a quirk of flows? The paper repeats the experiment with two other families, both
# implemented in `ood_lib`:
#
# - **PixelCNN** (van den Oord et al., 2016): $p(x) = \prod_{i} p(x_i \mid x_{<i})$ with masked
#   convolutions and a 256-way softmax per sub-pixel, an *exact discrete* likelihood (no
#   dequantization needed).
# - **VAE** with a convolutional encoder and a 256-way categorical decoder (as in Rosca et al.,
#   2018). Its likelihood is intractable; we report the importance-weighted bound
#   $\log p(x) \ge \mathbb{E}\left[\log \frac{1}{K}\sum_{k=1}^K \frac{p(x, z_k)}{q(z_k\mid x)}\right]$,
#   $z_k \sim q(z \mid x)$, with the $K$ printed below, estimated with one draw of the $K$ samples.

# %%
fig, axes = panels(2)
families = {
    family: experiment(family, "fashion_mnist", "mnist", small_sets, ax)
    for ax, family in zip(axes, ("pixelcnn", "vae"))
}
finish(fig)

# %%
# NBVAL_CHECK_OUTPUT
for family, row in families.items():
    finding(
        f"{family}: MNIST-test mean BPD < FashionMNIST-test mean BPD",
        bool(row["bpd"]["mnist"].mean() < row["bpd"]["fashion_mnist"].mean()),
    )
    finding(f"{family}: prefers MNIST image by image too, AUROC < 0.5", bool(row["auroc"] < 0.5))

# %% [markdown]
# All three families, trained on clothes, find digits more likely. Whatever causes it is shared
# by a flow, an autoregressive model with an exact likelihood and a latent-variable model,
# which points at the data rather than at one architecture. Two cautions: the VAE's numbers
# are upper bounds on its BPD in expectation (importance-weighted with K = 16, one draw), so
# its row compares bounds, whose looseness may differ between the sets; and the three families
# differ in budget as well as in kind (the printed steps and training times), so where they
# disagree below, family and budget are not separated.
#
# ## Figure 8: constant and random images
#
# Feed each model images whose pixels all have the same value $v$, for every $v \in
# \{0, \dots, 255\}$, and images of uniform noise. The paper finds constant images to be the
# most likely inputs of all (FashionMNIST Glow: constant 0 at 0.339 BPD, random at 8.686; the
# paper's values are printed beside ours below).

# %%
PAPER_FIGURE_8 = {
    "fashion constant 0": 0.339,
    "fashion noise": 8.686,
    "cifar constant 128": 0.589,
    "cifar noise": 15.773,
}
shape_chw = tuple(small_sets["fashion_mnist"].shape[1:])
constant = scores.constant_images(np.arange(256), shape_chw)
noise = scores.uniform_noise_images(profile.n_eval, shape_chw, seed=profile.seed)
fashion_rows = [glow_fashion, *families.values()]
probe_bpd = {
    row["label"]: {
        "constant": scores.bits_per_dim(row["model"], constant, seed=profile.seed, **row["extra"]),
        "noise": scores.bits_per_dim(row["model"], noise, seed=profile.seed, **row["extra"]),
    }
    for row in fashion_rows
}

fig, (ax, zoom) = plt.subplots(1, 2, figsize=(13, 5.6), width_ratios=[3, 1], layout="constrained")
for row in fashion_rows:
    ax.plot(
        np.arange(256), probe_bpd[row["label"]]["constant"], color=row["colour"], label=f"{row['label']}: constant v"
    )
    ax.axhline(
        row["bpd"]["fashion_mnist"].mean(),
        color=row["colour"],
        linestyle="--",
        linewidth=1,
        label=f"{row['label']}: mean FashionMNIST test",
    )
ax.axhline(8.0, color="black", linestyle=":", linewidth=1, label="8 bits (a uniform model)")
for row in fashion_rows:
    ax.axhline(
        probe_bpd[row["label"]]["noise"].mean(),
        color=row["colour"],
        linestyle="-.",
        linewidth=1,
        label=f"{row['label']}: uniform noise, mean {probe_bpd[row['label']]['noise'].mean():.3f}",
    )
ax.plot(0, PAPER_FIGURE_8["fashion constant 0"], "k*", markersize=11, label="paper's Glow: constant 0 (0.339)")
ax.axhline(
    PAPER_FIGURE_8["fashion noise"], color="black", linestyle="--", linewidth=1, label="paper's Glow: noise (8.686)"
)
ax.set_xlabel("constant pixel value v")
ax.set_ylabel("bits per dimension")
ax.set_title("Constant images under models trained on FashionMNIST")
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
# A separate panel for the left edge, where the curves drop to their best value at v = 0;
# the v = 0 values are in its legend, so no label sits on the curves.
for row in fashion_rows:
    zoom.plot(
        np.arange(9),
        probe_bpd[row["label"]]["constant"][:9],
        "o-",
        color=row["colour"],
        markersize=3,
        label=f"{row['label']}: v = 0 at {probe_bpd[row['label']]['constant'][0]:.3f}",
    )
zoom.plot(0, PAPER_FIGURE_8["fashion constant 0"], "k*", markersize=9, label="paper's Glow: v = 0 at 0.339")
zoom.set_xlabel("constant pixel value v (0-8)")
zoom.set_ylabel("bits per dimension")
zoom.set_title("Zoom: v = 0 ... 8")
zoom.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
plots.show(fig)

for row in fashion_rows:
    probes = probe_bpd[row["label"]]
    test_mean = row["bpd"]["fashion_mnist"].mean()
    beating = np.flatnonzero(probes["constant"] < test_mean)
    best, second = np.argsort(probes["constant"])[:2]
    print(
        f"{row['label']:8s} constant 0: {probes['constant'][0]:6.3f}  constant 128: {probes['constant'][128]:6.3f}  "
        f"best constants v={best}, {second}: {probes['constant'][best]:6.3f}, {probes['constant'][second]:6.3f}  "
        f"uniform noise: {intervals.bootstrap_mean(probes['noise']).format(3)}  "
        f"mean FashionMNIST test: {test_mean:6.3f} BPD"
        + (
            f"  (paper's Glow: constant 0: {PAPER_FIGURE_8['fashion constant 0']}, "
            f"uniform noise: {PAPER_FIGURE_8['fashion noise']})"
            if row["label"] == "Glow"
            else ""
        )
    )
    print(
        f"         constants more likely than the average test image: {len(beating)} of 256"
        + (f" (v = {beating.min()} ... {beating.max()})" if len(beating) else "")
        + f"; constant 128 less likely than uniform noise: {bool(probes['constant'][128] > probes['noise'].mean())}"
    )

# One dequantization draw per image: how much does the Glow's constant 0 move with the draw?
constant_zero_draws = scores.bits_per_dim(
    glow_fashion["model"], scores.constant_images(np.zeros(32, dtype=int), shape_chw), seed=profile.seed
)
print(
    f"Glow, constant 0 under 32 noise draws: {constant_zero_draws.min():.3f} ... {constant_zero_draws.max():.3f} "
    f"(mean {constant_zero_draws.mean():.3f}); the paper's {PAPER_FIGURE_8['fashion constant 0']}"
)
print(
    f"Glow, uniform noise minus the paper's: {probe_bpd['Glow']['noise'].mean() - PAPER_FIGURE_8['fashion noise']:+.2f} BPD; "
    f"constant 0 minus the paper's: {probe_bpd['Glow']['constant'][0] - PAPER_FIGURE_8['fashion constant 0']:+.3f} BPD"
)

# How often each value v occurs among FashionMNIST's training pixels, against each curve above.
pixel_value_frequency = np.bincount(data.load("fashion_mnist", "train")[0].ravel(), minlength=256) / (60000 * 784)
frequency_rank_correlation = {
    row["label"]: spearmanr(pixel_value_frequency, probe_bpd[row["label"]]["constant"]).statistic
    for row in fashion_rows
}
most_common = np.argsort(pixel_value_frequency)[::-1][:3]
print(
    "the three most common training pixel values: "
    + ", ".join(f"{v} ({pixel_value_frequency[v]:.2%} of pixels)" for v in most_common)
    + f"; v = 11: {pixel_value_frequency[11]:.3%}, v = 12: {pixel_value_frequency[12]:.3%}"
)
for row in fashion_rows:
    least = int(np.argmax(probe_bpd[row["label"]]["constant"]))
    print(
        f"{row['label']:8s} least likely constant v = {least} ({probe_bpd[row['label']]['constant'][least]:.3f} BPD); "
        f"Spearman rank correlation of BPD(constant v) with v's frequency among training pixels: "
        f"{frequency_rank_correlation[row['label']]:.2f}"
    )

# %%
# NBVAL_CHECK_OUTPUT
for row in fashion_rows:
    probes = probe_bpd[row["label"]]
    most_likely_test_image = min(values.min() for values in row["bpd"].values())
    test_mean = row["bpd"]["fashion_mnist"].mean()
    finding(
        f"{row['label']}: the best constant image beats every test image",
        bool(probes["constant"].min() < most_likely_test_image),
    )
    finding(f"{row['label']}: the best constant is black (v = 0)", int(np.argmin(probes["constant"])), 0)
    finding(
        f"{row['label']}: uniform noise is less likely than the average FashionMNIST test image",
        bool(probes["noise"].mean() > test_mean),
    )
    finding(
        f"{row['label']}: constants more likely than the average test image",
        int((probes["constant"] < test_mean).sum()),
        256 if row["label"] == "Glow" else 1,
    )
glow_probes = probe_bpd["Glow"]["constant"]
finding(
    "Glow: constant 128 is less than 0.25 BPD more likely than the average test image",
    bool(0 < glow_fashion["bpd"]["fashion_mnist"].mean() - glow_probes[128] < 0.25),
)
finding("the three most common training pixel values", ", ".join(str(v) for v in most_common), "0, 1, 255")
for label in ("PixelCNN", "VAE"):
    finding(
        f"{label}: the more often v occurs among training pixels, the more likely constant v (rank correlation < -0.5)",
        bool(frequency_rank_correlation[label] < -0.5),
    )
    finding(
        f"{label}: the second most likely constant is the second or third most common value (1 or 255)",
        bool(np.argsort(probe_bpd[label]["constant"])[1] in most_common[1:]),
    )
for label in ("PixelCNN", "VAE"):
    finding(
        f"{label}: the least likely constant is a rare dark grey (0 < v < 20)",
        bool(0 < np.argmax(probe_bpd[label]["constant"]) < 20),
    )
finding("Glow: |rank correlation with v's frequency| < 0.2", bool(abs(frequency_rank_correlation["Glow"]) < 0.2))
finding(
    "VAE: constant 128 is less likely than uniform noise",
    bool(probe_bpd["VAE"]["constant"][128] > probe_bpd["VAE"]["noise"].mean()),
)
finding(
    "Glow: the paper's constant 0 (0.339) lies above all 32 of our noise draws",
    bool(constant_zero_draws.max() < PAPER_FIGURE_8["fashion constant 0"]),
)
finding(
    "Glow: uniform noise above 8 BPD, less likely than under a uniform model (interval excludes 8)",
    bool(intervals.bootstrap_mean(probe_bpd["Glow"]["noise"]).low > 8),
)
finding(
    "Glow: our uniform-noise BPD is above the paper's 8.686 (interval excludes it)",
    bool(intervals.bootstrap_mean(probe_bpd["Glow"]["noise"]).low > PAPER_FIGURE_8["fashion noise"]),
)

# %% [markdown]
# What the constants' order follows differs between the families. (The PixelCNN and the VAE both end in
# a 256-way softmax per sub-pixel, a discrete likelihood of the integer value; the Glow is a
# continuous density of the dequantized value. That shared output layer is one candidate for why
# the two agree and the Glow does not; nothing here tests it.) For the PixelCNN and the VAE it follows
# how often the value $v$ occurs among the training pixels (rank correlations -0.90 and -0.93: close, but not an exact order):
# black is half of all training pixels and the best constant; the next most common values, 1
# and 255 (saturated white cloth), give the second most likely constant (the printed ranking);
# the least likely constants are the rare dark greys just above them (v = 11 and 12), not the
# values farthest from 0. Under the Glow the
# rank correlation with the frequency of $v$ is 0.04: apart from its two best constants, v = 0 and 1 (the two most common training values), frequency does not order its curve, which is nearly flat: every constant beats the
# average test image, but mid-grey only barely (constant 128: 3.140 against a test mean of 3.353).
#
# Beside the paper. Our Glow's constant 0 (0.296, one noise draw; 0.236-0.322 over 32 draws)
# is a little *more* likely than the paper's 0.339, although our Glow fits the real test images
# worse (3.353 against the paper's 2.958, chapter 03); uniform noise gets 8.998 BPD
# [8.994, 9.002] against the paper's 8.686: both give noise more than 8 BPD, less likely than
# under a uniform model, ours by 0.31 bits per dimension more than the paper's. Both gaps are
# outside what the noise draws and
# the choice of noise images explain; they are differences between the models (ours trained for
# minutes on a CPU; the paper's size is not in our brief) or between the noise images (ours are
# uniform integers 0..255, dequantized; the paper's recipe is not in our brief), which this
# chapter does not separate. So the FashionMNIST half of Figure 8 is, like the CIFAR-10 half below, a failed replication of the levels; the qualitative
# claim, black beats every real image and noise is worse than a typical one, reproduces.
#
# ### The CIFAR-10 half of Figure 8, on the CIFAR-10 subset
#
# The paper's second case is a CIFAR-10 Glow: constant 128 at 0.589 BPD, far below its test
# mean, and noise at 15.773. The full CIFAR-10 is not on this machine, but the Glow of chapters
# 03 and 07, trained on the 4000-image CIFAR-10 subset (the `quick` 32×32×3 architecture, printed
# below), can stand in, labelled as such; chapter 03 sets its test BPDs beside the paper's.

# %%
if data.is_available("cifar10_subset"):
    glow_subset = zoo.get("glow", "cifar10_subset", profile)
    print(f"Glow on the CIFAR-10 subset: {glow_subset.provenance()}")
    subset_model, subset_train = glow_subset.config["model"], glow_subset.config["train"]
    subset_images = data.get_spec("cifar10_subset").split_sizes["train"]
    print(
        f"  {subset_model['levels']} levels x {subset_model['steps']} steps, {subset_model['hidden']} channels; "
        f"{subset_train['n_steps']} steps of batch {subset_train['batch_size']} on {subset_images} training images "
        f"({subset_train['n_steps'] * subset_train['batch_size'] / subset_images:.0f} epochs; "
        "the paper's CIFAR-10 Glow: 50000 images)"
    )
    subset_shape = (3, 32, 32)
    subset_test = data.to_tensor(data.load("cifar10_subset", "test")[0])
    subset_probes = {
        "test": scores.bits_per_dim(glow_subset.model, subset_test, seed=profile.seed),
        "constant": scores.bits_per_dim(
            glow_subset.model, scores.constant_images(np.arange(256), subset_shape), seed=profile.seed
        ),
        "noise": scores.bits_per_dim(
            glow_subset.model, scores.uniform_noise_images(256, subset_shape, seed=profile.seed), seed=profile.seed
        ),
    }
    print(
        f"subset test images ({len(subset_test)}): mean {format_mean(intervals.bootstrap_mean(subset_probes['test']))}, "
        f"least {subset_probes['test'].min():.3f} BPD (paper's CIFAR-10 test mean 3.464)"
    )
    # One dequantization draw per image: 32 draws of constant 128, as for the FashionMNIST Glow's constant 0.
    subset_constant_128_draws = scores.bits_per_dim(
        glow_subset.model, scores.constant_images(np.full(32, 128), subset_shape), seed=profile.seed
    )
    print(
        f"constant 128: {subset_probes['constant'][128]:.3f} (32 noise draws: {subset_constant_128_draws.min():.3f} ... "
        f"{subset_constant_128_draws.max():.3f}; paper's {PAPER_FIGURE_8['cifar constant 128']}); "
        f"constant 0: {subset_probes['constant'][0]:.3f}; all 256 constants within "
        f"{subset_probes['constant'].min():.3f} ... {subset_probes['constant'].max():.3f} BPD"
    )
    print(
        f"uniform noise (256 images): median {np.median(subset_probes['noise']):.3f}, "
        f"mean {format_mean(intervals.bootstrap_mean(subset_probes['noise']))} BPD (paper's {PAPER_FIGURE_8['cifar noise']})"
    )
else:
    subset_probes = None
    print(
        f"CIFAR-10 subset absent: the paper's CIFAR-10 Glow gives constant 128 {PAPER_FIGURE_8['cifar constant 128']} "
        f"and uniform noise {PAPER_FIGURE_8['cifar noise']} BPD."
    )

# %%
# NBVAL_CHECK_OUTPUT
if subset_probes is not None:
    finding(
        "subset Glow: every constant image beats every subset test image",
        bool(subset_probes["constant"].max() < subset_probes["test"].min()),
    )
    finding(
        "subset Glow: constant 128 is more than 2 BPD below the test mean",
        bool(subset_probes["test"].mean() - subset_probes["constant"][128] > 2),
    )
    finding(
        "subset Glow, the paper's order: constant 128 < subset test mean < median uniform noise",
        bool(subset_probes["constant"][128] < subset_probes["test"].mean() < np.median(subset_probes["noise"])),
    )
    finding(
        "subset Glow, level not replicated: constant 128 above the paper's 0.589 in all 32 noise draws",
        bool(subset_constant_128_draws.min() > PAPER_FIGURE_8["cifar constant 128"]),
    )
    finding(
        "subset Glow, level not replicated: median uniform noise is less likely than the paper's 15.773",
        bool(np.median(subset_probes["noise"]) > PAPER_FIGURE_8["cifar noise"]),
    )

# %% [markdown]
# **The levels are a failed replication**: constant 128 gets 1.420 BPD (and stays above the
# paper's 0.589 in all 32 noise draws), uniform noise a median of 250.736 against the paper's
# 15.773. **The ordering replicates**: constant 128 < test mean < uniform noise, the paper's order
# (pinned above). On colour images our stand-in behaves like the paper's model and unlike our
# FashionMNIST Glow: every constant, mid-grey included, is more likely than every real test
# image, by more than 2 BPD against the test mean. So "mid-grey barely beats the
# average image" does not hold for every Glow; between our two Glows the data, the image size
# and channels, the architecture and the budget all differ, so which of them makes the
# difference is not separated. (One candidate is the data: how common mid-grey values are among CIFAR-10's pixels, against
# FashionMNIST's, half of whose pixels are 0; neither counted nor tested here.) Uniform noise has a heavy tail of
# enormous values (the printed mean against the median). Why the levels differ, this chapter does not test: the
# subset Glow differs from the paper's in training-set size, architecture and budget together.
# Chapter 07 decomposes the noise images' log-likelihood and finds that the first split's
# conditional prior carries most of the excess. Chapter 03 sets this Glow's test BPDs beside
# the paper's Figure 1.

# %% [markdown]
# ## Summary table, with intervals
#
# Mean and median BPD of each model on its own test set and the OOD test set, and the AUROC of
# $\log p(x)$ as an in-distribution score, each mean and AUROC with its 95% bootstrap interval
# over the test images. A mean can be dominated by a few images with enormous BPD (the MNIST
# Glow's row: two FashionMNIST images carry most of its OOD mean, and its interval spans orders
# of magnitude); the median and the AUROC are not.

# %%
print(
    f"{'model':9s} {'trained on':14s} {'in-dist test: mean [95%]':>26s} {'median':>7s} {'OOD':>14s} "
    f"{'OOD test: mean [95%]':>32s} {'median':>7s} {'AUROC [95%]':>22s}"
)
auroc_intervals = {}
for row in results:
    in_bpd, ood_bpd = row["bpd"][row["train_set"]], row["bpd"][row["ood_set"]]
    in_mean, ood_mean = intervals.bootstrap_mean(in_bpd), intervals.bootstrap_mean(ood_bpd)
    ood_text = format_mean(ood_mean)
    auroc_intervals[row["label"], row["train_set"]] = interval = intervals.bootstrap_auroc(-in_bpd, -ood_bpd)
    print(
        f"{row['label']:9s} {row['train_set']:14s} {in_mean.format(3):>26s} {np.median(in_bpd):7.3f} "
        f"{row['ood_set']:>14s} {ood_text:>32s} "
        f"{np.median(ood_bpd):7.3f} {interval.format(3):>22s}"
    )

# %% [markdown]
# Are the three families' AUROCs on FashionMNIST → MNIST (0.089, 0.047, 0.058) different, or
# within each other's noise? They were computed on the *same* test images, so the right
# interval is that of the paired difference: resample the images once and recompute both
# AUROCs on the same resample (`intervals.bootstrap_auroc_difference`).

# %%
family_rows = {row["label"]: row for row in fashion_rows}
auroc_differences = {}
for first, second in (("Glow", "PixelCNN"), ("Glow", "VAE"), ("VAE", "PixelCNN")):
    a, b = family_rows[first]["bpd"], family_rows[second]["bpd"]
    auroc_differences[first, second] = difference = intervals.bootstrap_auroc_difference(
        -a["fashion_mnist"], -a["mnist"], -b["fashion_mnist"], -b["mnist"]
    )
    print(f"AUROC {first} minus {second}: {difference.format(3)} (paired over the same images)")

# Training randomness, for the Glow: the seed-1 and seed-2 FashionMNIST Glows of chapter 03, scored on
# the first SEED_IMAGES test images of each set (fewer than above, to keep the run short), beside seed 0
# on the same images.
SEED_IMAGES = 1000
seed_aurocs = {
    0: intervals.bootstrap_auroc(
        -glow_fashion["bpd"]["fashion_mnist"][:SEED_IMAGES], -glow_fashion["bpd"]["mnist"][:SEED_IMAGES]
    )
}
for seed in (1, 2):
    member = zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=seed))
    member_bpd = score_sets(member.model, {name: x[:SEED_IMAGES] for name, x in small_sets.items()})
    seed_aurocs[seed] = intervals.bootstrap_auroc(-member_bpd["fashion_mnist"], -member_bpd["mnist"])
for seed, interval in seed_aurocs.items():
    print(f"Glow seed {seed}, AUROC on {SEED_IMAGES} + {SEED_IMAGES} test images: {interval.format(3)}")
seed_range = float(np.ptp([interval.estimate for interval in seed_aurocs.values()]))
print(
    f"range of the Glow's AUROC over the 3 seeds: {seed_range:.3f}, against the paired differences' lower ends: "
    + ", ".join(f"{first}-{second} {difference.low:.3f}" for (first, second), difference in auroc_differences.items())
)

# %%
# NBVAL_CHECK_OUTPUT
for (first, second), difference in auroc_differences.items():
    finding(f"AUROC {first} > {second}, paired interval excludes 0", bool(difference.low > 0))
finding("all three Glow seeds: AUROC interval below 0.5", bool(max(i.high for i in seed_aurocs.values()) < 0.5))
for (first, second), difference in auroc_differences.items():
    if first == "Glow":
        finding(
            f"the Glow's seed range of the AUROC is smaller than the lower end of Glow minus {second}",
            bool(seed_range < difference.low),
        )
for (label, train_set), interval in auroc_intervals.items():
    if train_set == "fashion_mnist":
        finding(f"{label} on FashionMNIST: the AUROC's whole interval lies below 0.5", bool(interval.high < 0.5))

# %% [markdown]
# All three differences exclude 0: the Glow is the least bad detector, then the VAE, then the
# PixelCNN. That ordering is about *these* trained models on these images. For the Glow,
# training randomness is measured: the three seeds' AUROCs (on 1000 + 1000 of the images) differ
# by less than the lower end of either Glow difference: over these three seeds, training
# randomness is far smaller than the gap to the VAE or the PixelCNN. The zoo has one PixelCNN and one VAE, so their seed spread
# is unknown, and the VAE minus PixelCNN difference (the smallest) has no seed check. The
# families also differ in budget, so "PixelCNNs are worse detectors than Glows" does not follow.
#
# ## Scope: what of the paper this chapter reproduces
#
# One row per panel of the paper this chapter is about: whether the ordering and the level are
# reproduced, our number beside the published one (BPD unless said otherwise), and, below each
# row, why different (model, budget, data split, regularisation, how the hyperparameters were
# chosen). "Figure 1" numbers are the paper's means
# for the histograms of Figure 2 and 6; where a few images dominate an OOD mean, the median
# stands beside it.
#
# As in chapter 03, **the absolute levels are a failed replication**: our FashionMNIST-test
# mean is 13% above the paper's, MNIST under its own Glow 22% above, and the Figure-1 gap is
# 1.291 against the paper's 1.125 (all printed below; chapter 03 shows these lie outside the
# intervals over images and the seed spread). The qualitative results (the order of the sets,
# the asymmetry, constants beating real images) replicate. Our models are small and briefly
# trained (printed below), but this chapter varies neither size nor budget, so it does not show
# that they cause the differences; the project's brief of the paper gives neither the paper's
# FashionMNIST Glow size nor its training length, nor the PixelCNN's and VAE's architectures or
# the VAE's estimator, so those cells say "not in our brief".

# %%
glow_config = glow_fashion["config"]["model"]
glow_train = glow_fashion["config"]["train"]
glow_epochs = glow_train["n_steps"] * glow_train["batch_size"] / data.get_spec("fashion_mnist").split_sizes["train"]
NO_REGULARISATION = "regularisation: none (no weight decay, no dropout)"
small_glow = (
    f"model: {glow_config['levels']} levels x {glow_config['steps']} steps, {glow_config['hidden']} channels "
    f"(the paper's size not in our brief); budget: {glow_train['n_steps']} updates of batch "
    f"{glow_train['batch_size']} ({glow_epochs:.1f} epochs, CPU); data: {profile.n_eval} of the 10000 test images; "
    f"{NO_REGULARISATION}; hyperparameters (lr {glow_train['lr']}, warm-up, decay): chosen on FashionMNIST test "
    "BPD, no validation split (chapter 03)"
)
mnist_glow = (
    f"model, budget ({glow_train['n_steps']} updates of batch {glow_train['batch_size']}), {NO_REGULARISATION} and "
    "hyperparameters those of the FashionMNIST Glow, not retuned for MNIST; data: "
    f"{profile.n_eval} of the 10000 test images; the paper gives the MNIST test mean only"
)
noise_images = "; noise images: ours uniform integers 0..255, dequantized (the paper's recipe not in our brief)"
pixelcnn_config, vae_config = families["pixelcnn"]["config"]["model"], families["vae"]["config"]["model"]
baseline_train = families["pixelcnn"]["config"]["train"]
baseline_budget = (
    f"budget: {baseline_train['n_steps']} updates of batch {baseline_train['batch_size']} "
    f"({baseline_train['n_steps'] * baseline_train['batch_size'] / data.get_spec('fashion_mnist').split_sizes['train']:.2f} "
    f"epochs); data: {profile.n_eval} of the 10000 test images; {NO_REGULARISATION}; "
    f"hyperparameters (lr {baseline_train['lr']}) fixed in the profile, no recorded search"
)
pixelcnn_why = (
    f"model: {pixelcnn_config['layers']} masked layers, {pixelcnn_config['hidden']} channels (the paper's not in "
    f"our brief); {baseline_budget}"
)
vae_why = (
    f"model: latent {vae_config['latent_dim']}, hidden {vae_config['hidden']} (the paper's not in our brief); "
    f"{baseline_budget}; estimator: trained on the ELBO (K = 1), scored with the IWAE bound "
    f"(K = {profile.vae_importance_samples}), the paper's not in our brief"
)
subset_why = (
    "subset absent"
    if subset_probes is None
    else f"data: {subset_images} CIFAR-10 training images instead of 50000, {len(subset_test)} test images; "
    f"model: {subset_model['levels']} levels x {subset_model['steps']} steps, {subset_model['hidden']} channels; "
    f"budget: {subset_train['n_steps']} updates of batch {subset_train['batch_size']} "
    f"({subset_train['n_steps'] * subset_train['batch_size'] / subset_images:.0f} epochs), lr {subset_train['lr']} "
    f"set to train in about 12 CPU-minutes, no BPD benchmark (chapter 03); {NO_REGULARISATION}"
)
found = {(row["model_name"], row["train_set"]): row for row in results}


def means(model_name: str, train_set: str, ood_set: str) -> str:
    row = found.get((model_name, train_set))
    if row is None:
        return "absent"
    ood = row["bpd"][ood_set]
    return (
        f"{row['bpd'][train_set].mean():.3f} / {ood.mean():.4g}"
        + (f" (median {np.median(ood):.2f})" if ood.mean() > 2 * np.median(ood) else "")
        + f"; AUROC {row['auroc']:.3f}"
    )


fashion_gap = glow_fashion["bpd"]["fashion_mnist"].mean() - glow_fashion["bpd"]["mnist"].mean()
paper_gap = PAPER_FIGURE_1["fashion_mnist"] - PAPER_FIGURE_1["mnist"]
print(
    f"Figure 1 gap, FashionMNIST test minus MNIST test under the FashionMNIST Glow: ours {fashion_gap:.3f}, "
    f"the paper's {paper_gap:.3f}"
)
print(
    "relative to the paper: FashionMNIST test "
    f"{glow_fashion['bpd']['fashion_mnist'].mean() / PAPER_FIGURE_1['fashion_mnist'] - 1:+.0%}, "
    f"MNIST under its own Glow {glow_mnist['bpd']['mnist'].mean() / PAPER_FIGURE_1['mnist own'] - 1:+.0%}"
)


NOT_HERE = "not run: CIFAR-10 and SVHN are not on this machine"
scope = [
    (
        "Fig 2a Glow FashionMNIST->MNIST",
        "order yes, level no",
        means("glow", "fashion_mnist", "mnist"),
        "2.958 / 1.833",
        small_glow,
    ),
    ("Fig 2b Glow CIFAR-10->SVHN", "if data", means("glow", "cifar10", "svhn"), "3.464 / 2.389", NOT_HERE),
    ("Fig 2c Glow CelebA->SVHN", "no", "-", "histogram", "not run: CelebA is not in ood_lib"),
    ("Fig 2d Glow ImageNet->CIFAR/SVHN", "no", "-", "histograms", "not run: ImageNet and CIFAR-100 are not in ood_lib"),
    (
        "Fig 3a PixelCNN FashionMNIST->MNIST",
        "order yes",
        means("pixelcnn", "fashion_mnist", "mnist"),
        "histogram",
        pixelcnn_why,
    ),
    ("Fig 3b VAE FashionMNIST->MNIST", "order yes", means("vae", "fashion_mnist", "mnist"), "histogram", vae_why),
    ("Fig 3c PixelCNN CIFAR-10->SVHN", "if data", means("pixelcnn", "cifar10", "svhn"), "histogram", NOT_HERE),
    ("Fig 3d VAE CIFAR-10->SVHN", "if data", means("vae", "cifar10", "svhn"), "histogram", NOT_HERE),
    (
        "Fig 6a Glow MNIST->FashionMNIST",
        "order yes, level no",
        means("glow", "mnist", "fashion_mnist"),
        "1.262 / -",
        mnist_glow,
    ),
    ("Fig 6b Glow SVHN->CIFAR-10", "if data", means("glow", "svhn", "cifar10"), "2.057 / -", NOT_HERE),
    (
        "Fig 8 constant 0, FashionMNIST Glow",
        "order yes, level no",
        f"{probe_bpd['Glow']['constant'][0]:.3f} ({constant_zero_draws.min():.3f}-{constant_zero_draws.max():.3f}, 32 draws)",
        f"{PAPER_FIGURE_8['fashion constant 0']}",
        "the Glow of Fig 2a: " + small_glow,
    ),
    (
        "Fig 8 noise, FashionMNIST Glow",
        "order yes, level no",
        intervals.bootstrap_mean(probe_bpd["Glow"]["noise"]).format(3),
        f"{PAPER_FIGURE_8['fashion noise']}",
        "the Glow of Fig 2a" + noise_images,
    ),
    (
        "Fig 8 constant 128, CIFAR-10 Glow",
        "subset: order yes, level no",
        "absent"
        if subset_probes is None
        else f"{subset_probes['constant'][128]:.3f} (test mean {subset_probes['test'].mean():.3f})",
        f"{PAPER_FIGURE_8['cifar constant 128']} (test 3.464)",
        subset_why,
    ),
    (
        "Fig 8 noise, CIFAR-10 Glow",
        "subset: order yes, level no",
        "absent" if subset_probes is None else f"median {np.median(subset_probes['noise']):.3f}",
        f"{PAPER_FIGURE_8['cifar noise']}",
        "the subset Glow above" + noise_images + "; chapter 07 decomposes the excess",
    ),
]
print(f"{'paper panel':37s} {'reproduced here?':28s} {'ours (Fig 2-6: in / OOD mean)':46s} paper")
print("    why different (one line per row, below it)")
for panel, here, ours, paper, why in scope:
    print(f"{panel:37s} {here:28s} {ours:46s} {paper}")
    print(f"    why different: {why}")
print(f"(test images: {profile.n_eval} per set, a fixed subset; the paper used the full test sets)")

# %%
# NBVAL_CHECK_OUTPUT
finding(
    "our Glow levels lie above the paper's: FashionMNIST test, MNIST test under its own Glow",
    bool(
        glow_fashion["bpd"]["fashion_mnist"].mean() > PAPER_FIGURE_1["fashion_mnist"]
        and glow_mnist["bpd"]["mnist"].mean() > PAPER_FIGURE_1["mnist own"]
    ),
)
finding("our Figure-1 gap is larger than the paper's", bool(fashion_gap > paper_gap))

# %% [markdown]
# ## ROC curves and the images behind them
#
# Each AUROC above is the area under a curve: the share of in-distribution test images
# accepted (true positive rate) against the share of OOD images accepted (false positive
# rate) as the threshold on $\log p(x)$ moves (`ood_lib.ood.metrics`, from scikit-learn). A curve
# below the diagonal is a detector that prefers the OOD set.

# %%
fig, ax = plt.subplots(figsize=(9.5, 5))
for row in results:
    false_positive_rate, true_positive_rate = metrics.roc_points(
        -row["bpd"][row["train_set"]], -row["bpd"][row["ood_set"]]
    )
    ax.plot(
        false_positive_rate,
        true_positive_rate,
        color=row["colour"],
        label=f"{row['label']} on {data.get_spec(row['train_set']).title} (AUROC {row['auroc']:.3f})",
    )
ax.plot([0, 1], [0, 1], color="gray", linestyle=":", label="chance")
ax.set_xlabel("false positive rate (OOD test images accepted)")
ax.set_ylabel("true positive rate\n(in-distribution test images accepted)")
ax.set_title("ROC curves of log p(x) as an in-distribution score")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# Which images does the FashionMNIST Glow find most and least likely? The 16 lowest-BPD and
# 16 highest-BPD test images of each set, with each panel's BPD range:

# %%
fig, axes = plt.subplots(2, 2, figsize=(10, 5.6))
for col, name in enumerate(("fashion_mnist", "mnist")):
    order = np.argsort(glow_fashion["bpd"][name])
    for row_index, (label, chosen) in enumerate((("most likely", order[:16]), ("least likely", order[-16:]))):
        images = small_sets[name][chosen].permute(0, 2, 3, 1).numpy()
        values = glow_fashion["bpd"][name][chosen]
        plots.imshow_uint8(
            axes[row_index, col],
            plots.image_grid(images, 2, 8),
            f"{data.get_spec(name).title} test, {label}: {values.min():.2f}-{values.max():.2f} BPD",
        )
fig.tight_layout()
plots.show(fig)
inked_rank_correlation = {
    name: spearmanr(glow_fashion["bpd"][name], (small_sets[name][:, 0] > 0).sum(dim=(1, 2)).numpy()).statistic
    for name in ("fashion_mnist", "mnist")
}
print(
    "FashionMNIST Glow, Spearman rank correlation of BPD with the number of inked pixels: "
    + ", ".join(f"{name} test {value:.2f}" for name, value in inked_rank_correlation.items())
)

# %%
# NBVAL_CHECK_OUTPUT
for name, value in inked_rank_correlation.items():
    finding(f"FashionMNIST Glow on {name}: BPD rank-correlates with the inked-pixel count (> 0.5)", bool(value > 0.5))

# %% [markdown]
# The most likely images of both sets are the simplest: much black background and little,
# flat ink (sandals, thin dresses, the digit 1); the least likely are the ones with the most
# ink and texture: patterned knitwear for FashionMNIST, wide bold 0s and 8s for MNIST. Over all
# test images, not only these 32, the FashionMNIST Glow's BPD rank-correlates with the number
# of inked pixels on both sets (printed above); texture is not measured. The per-pixel
# statistics of chapters 06-07 return to this.
#
# ## Summary
#
# - Every model trained on FashionMNIST gives MNIST the higher likelihood, with AUROC intervals
#   entirely below 0.5: $\log p(x)$ is not a usable OOD score for this pair. The three AUROCs
#   (Glow 0.089, VAE 0.058, PixelCNN 0.047) differ beyond their paired intervals; for the
#   Glow, three training seeds move the AUROC by less than its gap to the other two.
# - The absolute BPD levels are a failed replication (13% and 22% above the paper's, as in
#   chapter 03); the orderings replicate.
# - Higher likelihood is not a good fit: MNIST's own Glow gives MNIST 1.540 BPD against the
#   FashionMNIST Glow's 2.062.
# - Trained on MNIST, Glow does reject FashionMNIST (AUROC 0.999): the effect depends on the
#   pair's statistics, not on "being OOD". Clearing the outer ring brings 6 of its 8 least
#   likely FashionMNIST images back among ordinary ones; clearing as many inked pixels (or as
#   much ink) in the interior rescues fewer (1 to 4 of the 8) in each of five random choices, but that edit punches holes, so whether ring ink costs
#   more than ink elsewhere is not settled here. MNIST puts almost none of its ink in the ring
#   (67 pixels are never inked; 12% of its training images have some ink there), but every
#   FashionMNIST image has ink there, so the ring alone does not say
#   which images explode; for 2 of the 8, clearing only the 67 never-inked pixels divides the
#   BPD by more than 10. The enormous BPDs are not float32 artefacts.
# - The best constant image, black (v = 0, FashionMNIST's background), beats every real test
#   image under all three models, and uniform noise is less likely than a typical test image.
#   Against the paper: constant 0 at 0.296 (paper 0.339), noise at 8.998 (paper 8.686); both
#   differences are beyond our noise draws and intervals.
# - Beyond black the families disagree: for the PixelCNN and the VAE the constants' BPDs are
#   rank-correlated with how often $v$ occurs among training pixels; our FashionMNIST Glow likes every constant,
#   mid-grey only barely; the CIFAR-10-subset Glow, like the paper's CIFAR-10 Glow, likes every
#   constant far more than any real image (the order constant 128 < test < noise replicates; the
#   levels, constant 128 at 1.420 against 0.589 and noise at 250.736 against 15.773, do not).
# - Scope: the FashionMNIST/MNIST panels of Figures 2, 3 and 6 and both halves of Figure 8
#   (the CIFAR-10 half on the subset) reproduce as orderings, not as levels; the CIFAR-10/SVHN panels run only where
#   those data sets are present; CelebA and ImageNet are not covered (the table above).
#
# <!-- quoted: 0.339 8.686 2.958 (the paper's Figures 1 and 8) -->

# %% [markdown]
# ## Exercises
#
# 1. Compute the AUROC of the FashionMNIST Glow separately for each MNIST digit, with a
#    bootstrap interval. Which pairs of digits are separated beyond an interval of their difference,
#    and does the digits' order follow how much ink they carry? *Hint:
#    `data.load_tensor("mnist", "test", n=..., seed=...)` with the chapter's `n` and seed returns the labels of the scored images; a difference needs its own interval: resample the FashionMNIST images and both digits' images together and recompute both AUROCs each time.*
# 2. The VAE rates mid-grey below uniform noise. Does that survive a tighter bound? Score
#    constant 128 (32 times: one image cannot be bootstrapped, its draws can) and 100 of the noise
#    images with K = 1, 16 and 128 importance samples (scoring only, about 15 CPU-seconds; all 2000
#    noise images at K = 128 take about 3 CPU-minutes). *Hint: `num_samples=` of `scores.bits_per_dim`; which way can a
#    tighter bound move a BPD?*
# 3. Write the ROC curve yourself, without scikit-learn, and check it against the figure's.
#    *Hint: sort all scores, then take cumulative fractions of in-distribution and OOD images.*
# 4. Instead of clearing the outer ring of the 8 worst images, halve its values (`x // 2`) and
#    score again with the same seed. Is the BPD a gradual function of the ring's ink, or a cliff?
#    *Hint: compare original, halved and cleared images under one noise draw.*
# 5. Does the asymmetry of Figure 6 hold for the PixelCNN? Train it on MNIST and score both test
#    sets (the `quick` model is committed with the book; training it afresh takes about 3 minutes on
#    two idle cores). *Hint:
#    `zoo.get("pixelcnn", "mnist", profile)`.*

# %%
chapter_footer()
