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
# many images and classes there are, and the first- and second-order pixel statistics that
# chapter 07 will show to be what the likelihood mostly responds to.
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
# whether they are present. CIFAR-10 and SVHN are ~160 MB and ~180 MB of downloads; `make data`
# fetches and verifies everything. The test machines of this project have no internet, so
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
# normalisation constants (MNIST 0.1307 / 0.3081, FashionMNIST 0.2860 / 0.3530). The paper's
# argument (chapters 06-07) is about *second* moments: it predicts that the data set with the
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
# MNIST's pixels are darker on average *and* less spread than FashionMNIST's (the finding
# above), and most of an MNIST image is exactly 0, the background (the check below). The histogram of pixel values shows it; note the
# logarithmic count axis.

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
for name in ("fashion_mnist", "mnist"):
    x_uint8 = data.load(name, "test")[0]
    print(f"{data.get_spec(name).title:14s} test: fraction of pixels equal to 0 = {np.mean(x_uint8 == 0):.3f}")
zero_fraction = {name: np.mean(data.load(name, "test")[0] == 0) for name in ("fashion_mnist", "mnist")}
finding(
    "most of MNIST's test pixels are exactly 0, more than FashionMNIST's",
    bool(zero_fraction["mnist"] > 0.5 and zero_fraction["fashion_mnist"] < zero_fraction["mnist"]),
)

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
    print(
        f"{data.get_spec(name).title:14s} train: sum of per-pixel variances {variance_map.sum():6.1f}, "
        f"mean of per-pixel means {mean_map.mean():.3f} (pixels / 256)"
    )

# %%
# NBVAL_CHECK_OUTPUT
variance_fashion, variance_mnist = (moments[name][1][..., 0] for name in ("fashion_mnist", "mnist"))
centre = (slice(4, 24), slice(4, 24))  # the central 20 x 20 pixels; the rest is a 4-pixel frame
frame_mask = np.ones((28, 28), dtype=bool)
frame_mask[centre] = False
mnist_varies_more = variance_mnist > variance_fashion
for label, region in (("central 20x20", ~frame_mask), ("outer 4-pixel frame", frame_mask)):
    print(
        f"{label:19s} sum of per-pixel variances: FashionMNIST {variance_fashion[region].sum():5.1f}, "
        f"MNIST {variance_mnist[region].sum():5.1f}"
    )
finding(
    "MNIST's per-pixel variances sum to less than FashionMNIST's", bool(variance_mnist.sum() < variance_fashion.sum())
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
# (variance sum 2.4 against FashionMNIST's 23.0); FashionMNIST varies over most of the image. Inside the blob MNIST's
# pixels vary *more* than FashionMNIST's (the brighter variance map, and the central 20 × 20
# sums above): its total is smaller only because of the nearly empty frame. Both the means and the variances differ, so the paper's
# expansion (chapter 06) has to keep both its mean term and its variance term for this pair.
#
# ## Summary
#
# - The data layer gives verified, official-order `uint8` arrays, or a clear message that a
#   data set is absent.
# - The FashionMNIST → MNIST pair is always available here; CIFAR-10 → SVHN runs wherever the
#   data can be downloaded.
# - MNIST has a lower pixel mean and standard deviation than FashionMNIST, and far more
#   exactly-zero pixels: keep that in mind when a FashionMNIST model prefers MNIST.

# %% [markdown]
# ## Exercises
#
# 1. Repeat the per-pixel variance sums for the test splits, and for each MNIST digit on its
#    own. Which digit has the smallest total? *Hint: `data.load` returns the labels;
#    `ood_lib.stats.per_dimension_moments` returns both maps.*
# 2. What fraction of MNIST training images has any non-zero pixel in the outermost two rows
#    and columns? And of FashionMNIST? *Hint: index `x[:, :2]`, `x[:, -2:]`, `x[:, :, :2]`,
#    `x[:, :, -2:]` and use `.any(axis=(1, 2, 3))`.*
# 3. Check one official file's md5 by hand. *Hint: `data.md5sum(path)` against
#    `data.SPECS["mnist"].files`.*

# %%
chapter_footer()
