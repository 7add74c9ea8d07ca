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
# # 00 · The data sets
#
# *Do Deep Generative Models Know What They Don't Know?* (Nalisnick et al., ICLR 2019) trains
# density models on one image data set and scores another. Its two headline pairs are
#
# | trained on | scored on (out-of-distribution) | image shape |
# |---|---|---|
# | FashionMNIST | MNIST | 28 × 28 × 1 |
# | CIFAR-10 | SVHN | 32 × 32 × 3 |
#
# and the surprise is that the model gives the *other* data set the higher likelihood.
# Before any model, this chapter looks at the data themselves: where they come from, how
# many images and classes there are, and the first- and second-order pixel statistics on
# which the paper's second-order argument (chapter 06) rests and which chapter 07 measures
# in detail.
#
# **Where the files come from.** `ood_lib.data` knows each data set's official release files,
# their URLs and md5 sums. `load(name, split)` verifies the md5 of each official file (or
# downloads it with `pooch`, which checks the md5 before keeping it), parses the official
# format once (IDX for MNIST/FashionMNIST, the python-pickle tarball for CIFAR-10, MATLAB
# `.mat` for SVHN) and afterwards reads a cached `<name>.npz`. Images come back as `uint8`
# arrays of shape `(N, H, W, C)` in the official order. A data set that is not on disk is
# reported, never silently replaced: every chapter carries on with what is present.

# %%
import matplotlib.pyplot as plt
import numpy as np

from ood_lib import data, plots, stats
from ood_lib.findings import finding
from ood_lib.profile import chapter_footer, chapter_header

profile = chapter_header("00 · The data sets")

# %% [markdown]
# ## What is on this machine
#
# The header above lists the paper's four data sets and a fifth, the **CIFAR-10 subset**, and
# whether they are present. `make data` fetches and verifies everything (the cell below names
# the official files of whatever is absent). The test machines of this project have no internet, so
# there MNIST and FashionMNIST (exact copies of the official files) are present, the full
# CIFAR-10 and SVHN are absent and their cells say so, and the CIFAR-10 subset is present: the
# first 4000 training and first 1000 test images of CIFAR-10 in the official order, exact
# pixels, read from `cifar10_subset.npz` (md5-checked) or, where the full CIFAR-10 is on disk,
# cut from it, so both routes give the same images. It is a *sample* of CIFAR-10: every
# statistic computed on it is labelled "subset", never passed off as the full data set's.

# %%
present = data.available_datasets()
absent = [name for name in data.SPECS if name not in present]
for name in absent:
    spec = data.get_spec(name)
    if spec.subset_of is not None:
        print(f"{spec.title} is absent: put {name}.npz into the data directory, or the full {spec.subset_of}.")
        continue
    print(
        f"{spec.title} is absent: its cells are skipped. Official files: "
        + ", ".join(remote.fname for remote in spec.files.values())
        + f" from {spec.homepage}"
    )

# %% [markdown]
# ## Split sizes and class balance
#
# The paper's numbers are averages over the *test* splits (and the training split of the
# in-distribution set). The worked example that always runs is FashionMNIST → MNIST:

# %%
# NBVAL_CHECK_OUTPUT
for name in ("fashion_mnist", "mnist"):
    spec = data.get_spec(name)
    for split in data.SPLITS:
        x_uint8, labels = data.load(name, split)
        counts = stats.class_counts(labels, len(spec.class_names))
        print(f"{spec.title:14s} {split:5s} images {x_uint8.shape} {x_uint8.dtype}, per class {counts.tolist()}")

# %% [markdown]
# FashionMNIST is exactly balanced (6000 / 1000 per class); MNIST is close to balanced
# (5421 to 6742 training images per class).
# The same for the 32 × 32 × 3 sets, when present (the CIFAR-10 subset, being a prefix of the
# official order, is only roughly balanced):

# %%
for name in ("cifar10", "svhn", "cifar10_subset"):
    spec = data.get_spec(name)
    if name not in present:
        print(f"{spec.title}: absent, skipped.")
        continue
    for split in data.SPLITS:
        x_uint8, labels = data.load(name, split)
        counts = stats.class_counts(labels, len(spec.class_names))
        print(f"{spec.title:22s} {split:5s} images {x_uint8.shape}, per class {counts.tolist()}")

# %% [markdown]
# ## What the images look like
#
# The first 32 test images of each present data set, in official order.

# %%
fig, axes = plt.subplots(1, len(present), figsize=(3.4 * len(present), 3.0), squeeze=False)
for ax, name in zip(axes[0], present):
    x_uint8, _ = data.load(name, "test")
    plots.imshow_uint8(ax, plots.image_grid(x_uint8, 4, 8), data.get_spec(name).title)
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# ## Pixel statistics
#
# With pixels scaled to $[0, 1]$ by $1/255$, the mean $\mu = \frac{1}{ND}\sum_{n,d} x_{n,d}$
# and standard deviation over every pixel of the training split are the familiar
# normalisation constants (MNIST 0.1307 / 0.3081, FashionMNIST 0.2860 / 0.3530). This is the
# only place the book divides by 255, so that these constants come out as everyone quotes
# them; from the per-pixel statistics below on, pixels are divided by 256, the scale the
# models see (chapter 01), and a mean on that scale is the same number times 255/256. The paper's
# argument (chapter 06, measured in chapter 07) is about *second* moments: it predicts that the data set with the
# smaller spread of pixel values gets the higher likelihood, a claim the later chapters test.

# %%
# NBVAL_CHECK_OUTPUT
for name in ("fashion_mnist", "mnist"):
    for split in data.SPLITS:
        mean, std = stats.pixel_mean_std(data.load(name, split)[0])
        print(f"{data.get_spec(name).title:14s} {split:5s} mean {mean:.4f} std {std:.4f}")
(mean_fashion, std_fashion), (mean_mnist, std_mnist) = (
    stats.pixel_mean_std(data.load(name, "train")[0]) for name in ("fashion_mnist", "mnist")
)
finding(
    "MNIST train's pixel mean and standard deviation are both below FashionMNIST's",
    bool(mean_mnist < mean_fashion and std_mnist < std_fashion),
)

# %%
for name in ("cifar10", "svhn", "cifar10_subset"):
    if name not in present:
        print(f"{data.get_spec(name).title}: absent, skipped.")
        continue
    x_uint8 = data.load(name, "train")[0]
    for channel, colour in enumerate("RGB"):
        mean, std = stats.pixel_mean_std(x_uint8[..., channel])
        print(f"{data.get_spec(name).title:22s} train {colour}: mean {mean:.4f} std {std:.4f}")

# %% [markdown]
# MNIST's pixels are darker on average and their pooled standard deviation is smaller (the
# finding above). The histogram of pixel values (note the logarithmic count axis) shows where
# that comes from; the cell after it puts numbers on three ranges of values.

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.2))
bins = np.arange(257) - 0.5
for name in ("fashion_mnist", "mnist"):
    x_uint8 = data.load(name, "test")[0]
    ax.hist(x_uint8.ravel(), bins=bins, histtype="step", density=True, label=data.get_spec(name).title)
ax.set_yscale("log")
ax.set_xlabel("pixel value")
ax.set_ylabel("fraction of pixels")
ax.legend()
fig.tight_layout()
plots.show(fig)

# %%
# NBVAL_CHECK_OUTPUT
value_ranges = {"0": (0, 0), "1-249": (1, 249), "250-255": (250, 255)}
range_fraction, ink_std = {}, {}
for name in ("fashion_mnist", "mnist"):
    pixels = data.load(name, "test")[0].ravel()
    range_fraction[name] = {
        label: float(np.mean((pixels >= lo) & (pixels <= hi))) for label, (lo, hi) in value_ranges.items()
    }
    ink_std[name] = float((pixels[pixels > 0] / 255.0).std())
    print(
        f"{data.get_spec(name).title:14s} test: fraction of pixels "
        + ", ".join(f"{label}: {fraction:.3f}" for label, fraction in range_fraction[name].items())
        + f"; std of the non-zero pixels (/255) {ink_std[name]:.3f}"
    )
fashion_fraction, mnist_fraction = range_fraction["fashion_mnist"], range_fraction["mnist"]
finding(
    "most of MNIST's test pixels are exactly 0, more than FashionMNIST's",
    bool(mnist_fraction["0"] > 0.5 and fashion_fraction["0"] < mnist_fraction["0"]),
)
finding(
    "MNIST has under half FashionMNIST's share of mid-grey values 1-249",
    bool(mnist_fraction["1-249"] < 0.5 * fashion_fraction["1-249"]),
)
finding(
    "MNIST has a larger share of near-white values 250-255",
    bool(mnist_fraction["250-255"] > fashion_fraction["250-255"]),
)
finding(
    "the non-zero pixels are MORE spread in MNIST than in FashionMNIST",
    bool(ink_std["mnist"] > ink_std["fashion_mnist"]),
)

# %% [markdown]
# The histogram does not show "less spread" as such. It shows three differences: MNIST has far
# more zeros (a fraction 0.807 of its pixels against 0.500), far fewer mid-grey values (0.117
# against 0.487) and more near-white ones (0.076 against 0.013): thin saturated strokes on a
# black background. Among the non-zero pixels MNIST's values are in fact the *more* spread
# (standard deviation 0.344 against 0.290); its smaller pooled standard deviation comes from the
# mass at 0 pulling every pixel toward one value.

# %% [markdown]
# ### Per-pixel means and variances: the paper's quantities
#
# The pooled numbers above mix all pixel positions. The paper's explanation (chapters 06-07)
# uses the mean and variance of *each pixel position* across the images, with pixels divided
# by 256, and sums the per-pixel variances per channel (its Eq. 6). The maps show where each
# data set varies:

# %%
moments = {name: stats.per_dimension_moments(data.load(name, "train")[0]) for name in ("fashion_mnist", "mnist")}
fig, axes = plt.subplots(2, 2, figsize=(9, 6.6))
for row, (name, (mean_map, variance_map)) in enumerate(moments.items()):
    for col, (values, label, upper) in enumerate(((mean_map, "mean", 1.0), (variance_map, "variance", 0.25))):
        image = axes[row, col].imshow(values[..., 0], cmap="viridis", vmin=0.0, vmax=upper)
        axes[row, col].set_title(f"{data.get_spec(name).title} train: per-pixel {label}", fontsize=10)
        axes[row, col].set_axis_off()
        fig.colorbar(image, ax=axes[row, col], fraction=0.046, pad=0.04)
fig.tight_layout()
plots.show(fig)
for name, (mean_map, variance_map) in moments.items():
    pooled_mean_255 = {"fashion_mnist": mean_fashion, "mnist": mean_mnist}[name]
    print(
        f"{data.get_spec(name).title:14s} train: sum of per-pixel variances {variance_map.sum():6.1f}, "
        f"mean of per-pixel means {mean_map.mean():.4f} (pixels / 256; the pooled mean {pooled_mean_255:.4f} "
        f"of pixels / 255 times 255/256 is {pooled_mean_255 * 255 / 256:.4f})"
    )

# %%
# NBVAL_CHECK_OUTPUT
variance_fashion, variance_mnist = (moments[name][1][..., 0] for name in ("fashion_mnist", "mnist"))
centre = (slice(4, 24), slice(4, 24))  # the central 20 x 20 pixels; the rest is a 4-pixel frame
frame_mask = np.ones((28, 28), dtype=bool)
frame_mask[centre] = False
mnist_varies_more = variance_mnist > variance_fashion
for label, region in (
    ("whole image", np.ones((28, 28), dtype=bool)),
    ("central 20x20", ~frame_mask),
    ("outer 4-pixel frame", frame_mask),
):
    print(
        f"{label:19s} sum of per-pixel variances: FashionMNIST {variance_fashion[region].sum():5.1f}, "
        f"MNIST {variance_mnist[region].sum():5.1f}, MNIST minus FashionMNIST "
        f"{variance_mnist[region].sum() - variance_fashion[region].sum():+5.1f}"
    )
variance_intervals = {
    name: stats.bootstrap_variance_sums(data.load(name, "train")[0], n_resamples=100, seed=0)
    for name in ("fashion_mnist", "mnist")
}
for name, (low, high) in variance_intervals.items():
    print(
        f"{data.get_spec(name).title:14s} train: whole-image sum {moments[name][1].sum():.1f}, "
        f"bootstrap 95% interval over images [{low[0]:.1f}, {high[0]:.1f}] (100 resamples)"
    )
finding(
    "MNIST's per-pixel variances sum to less than FashionMNIST's, the intervals apart",
    bool(variance_intervals["mnist"][1][0] < variance_intervals["fashion_mnist"][0][0]),
)
finding(
    f"MNIST varies more than FashionMNIST at some positions ({int(mnist_varies_more.sum())} of 784)",
    bool(mnist_varies_more.sum() > 0),
)
finding("of those positions, the ones in the outer 4-pixel frame", int((mnist_varies_more & frame_mask).sum()), 0)
finding(
    "in the central 20x20 MNIST's variances sum to more than FashionMNIST's",
    bool(variance_mnist[centre].sum() > variance_fashion[centre].sum()),
)
finding(
    "MNIST's smaller total comes from the frame, where its variances sum to under a fifth of FashionMNIST's",
    bool(variance_mnist[frame_mask].sum() < 0.2 * variance_fashion[frame_mask].sum()),
)

# %% [markdown]
# MNIST varies only in a central blob where strokes fall, and its outer frame is nearly empty
# (variance sum 2.4 against FashionMNIST's 23.0); FashionMNIST varies over most of the image.
# Inside the central 20 × 20 MNIST's pixels vary *more* than FashionMNIST's (the brighter
# variance map; the sum is 49.9 against 44.6, a surplus of 5.3), and none of the 230 positions
# where MNIST varies more lies in the frame. The whole-image difference of 15.4 is the frame's
# deficit of 20.6 minus that central surplus: by this split, MNIST's total is smaller only
# because of its nearly empty frame. The two totals are far apart compared with how much they
# move when the images are resampled (the bootstrap intervals above). Both the means and the
# variances differ, so the paper's expansion (chapter 06) has to keep both its mean term and
# its variance term for this pair.
#
# ### The 32 × 32 × 3 sets: the paper's per-channel sums
#
# The paper's Eq. 6 uses the per-channel sums of per-pixel variances of CIFAR-10 and SVHN
# (pixels / 256). Only the CIFAR-10 subset is on this machine, so its sums are estimates of the
# full set's: a bootstrap over images (500 resamples) gives a 95% interval for each channel,
# treating the subset as a random sample of CIFAR-10. We do not know which split the paper's
# sums come from, so both splits are shown. Chapter 07 uses these sums in Eq. 6.

# %%
# NBVAL_CHECK_OUTPUT
PAPER_VARIANCE_SUMS = {"cifar10": (61.9, 59.2, 68.1), "svhn": (49.6, 52.7, 53.6)}
subset_inside = []
if "cifar10_subset" in present:
    for split in data.SPLITS:
        x_uint8 = data.load("cifar10_subset", split)[0]
        sums = stats.variance_sums(x_uint8)
        low, high = stats.bootstrap_variance_sums(x_uint8, n_resamples=500, seed=0)
        for channel, colour in enumerate("RGB"):
            paper = PAPER_VARIANCE_SUMS["cifar10"][channel]
            subset_inside.append(bool(low[channel] <= paper <= high[channel]))
            print(
                f"CIFAR-10 subset {split:5s} {colour}: {sums[channel]:.1f}, 95% interval "
                f"[{low[channel]:.1f}, {high[channel]:.1f}]; paper's full CIFAR-10 {paper}"
            )
else:
    print("CIFAR-10 subset absent: the paper's CIFAR-10 sums are 61.9, 59.2, 68.1.")
for name in ("cifar10", "svhn"):
    if name in present:
        print(
            f"{data.get_spec(name).title} train (full set): "
            + ", ".join(f"{value:.1f}" for value in stats.variance_sums(data.load(name, "train")[0]))
            + f"; paper {PAPER_VARIANCE_SUMS[name]}"
        )
    else:
        print(
            f"{data.get_spec(name).title} absent: the paper's sums are "
            + ", ".join(str(value) for value in PAPER_VARIANCE_SUMS[name])
            + " (not measured here)"
        )
if subset_inside:
    finding(
        "the paper's full-CIFAR-10 sums lie inside the subset's 95% intervals, all 3 channels of both splits",
        bool(all(subset_inside)),
    )

# %% [markdown]
# All six of the paper's CIFAR-10 sums lie inside the subset's intervals: the subset is
# consistent with them, and sampling error alone could explain the differences (the subset's
# training sums are 61.6, 59.4, 68.3). SVHN's sums (the paper's 49.6, 52.7, 53.6) cannot be
# checked here.
#
# ## Scope: what of the paper this chapter touches
#
# | paper | reproduced here? | ours vs paper | why different |
# |---|---|---|---|
# | the four data sets (Section 3 and Figure 1's pairs) | MNIST, FashionMNIST in full; CIFAR-10 as a 4000 / 1000 subset; SVHN no | official files, md5-checked | no internet on the test machines; `make data` fetches the rest |
# | Eq. 6's per-channel variance sums, CIFAR-10 | yes, on the subset | subset train 61.6, 59.4, 68.3 (intervals above) vs 61.9, 59.2, 68.1 | a 4000-image sample; the paper's split is not stated |
# | Eq. 6's per-channel variance sums, SVHN | no | paper 49.6, 52.7, 53.6 only | SVHN absent |
# | Figure 10 (per-dimension means and variances of FashionMNIST and MNIST) | as maps and sums here; as histograms in chapter 07 | the paper prints no numbers | - |
#
# ## Summary
#
# - The data layer gives verified, official-order `uint8` arrays, or a clear message that a
#   data set is absent.
# - The FashionMNIST → MNIST pair is always available here; CIFAR-10 → SVHN runs wherever the
#   data can be downloaded.
# - MNIST has a lower pixel mean and standard deviation than FashionMNIST, and far more
#   exactly-zero pixels: its smaller spread is the mass at 0, not narrower ink (its non-zero
#   pixels are the more spread). Keep that in mind when a FashionMNIST model prefers MNIST.
# - MNIST's per-pixel variances sum to 52.3 against FashionMNIST's 67.7: the outer frame's
#   deficit (-20.6) is more than the whole difference (-15.4), and in the centre MNIST varies more.
# - The CIFAR-10 subset's per-channel variance sums agree with the paper's full-data sums
#   within their bootstrap intervals; SVHN's cannot be measured here.

# %% [markdown]
# ## Exercises
#
# 1. Repeat the per-pixel variance sums for the test splits, and for each MNIST digit on its
#    own. Which digit has the smallest total? Compare your ranking with the per-digit AUROC
#    of the FashionMNIST Glow, exercise 1 of [chapter 04](04_the_phenomenon.ipynb): is the
#    digit with the smallest variance sum the one the Glow finds most in-distribution?
#    *Hint: `data.load` returns the labels; `ood_lib.stats.per_dimension_moments` returns
#    both maps.*
# 2. What fraction of MNIST training images has any non-zero pixel in the outermost two rows
#    and columns? And of FashionMNIST? *Hint: index `x[:, :2]`, `x[:, -2:]`, `x[:, :, :2]`,
#    `x[:, :, -2:]` and use `.any(axis=(1, 2, 3))`.*
# 3. Check one official file's md5 by hand. *Hint: `data.md5sum(path)` against
#    `data.SPECS["mnist"].files`.*

# %%
chapter_footer()
