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
# # Solutions · 01 · Dequantization and bits per dimension
#
# Worked answers to the exercises of [chapter 01](../chapters/01_dequantization_and_bpd.ipynb). The
# models are the chapter's per-pixel models (`ood_lib.models.pixel_models`), fitted here in seconds on the
# full training splits and scored on the full test splits; nothing is trained by gradient descent.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import scipy.special
import scipy.stats

from ood_lib import data
from ood_lib.book import plots
from ood_lib.book.chapter import chapter_footer, chapter_header
from ood_lib.book.findings import finding, sanity_check
from ood_lib.models.pixel_models import PixelGaussian, PixelHistogram, log_normal_interval_mass
from ood_lib.ood import intervals, scores

profile = chapter_header("Solutions · 01 · Dequantization and bits per dimension")
fashion_train, mnist_train = (data.load(name, "train")[0] for name in ("fashion_mnist", "mnist"))
fashion_test, mnist_test = (data.load(name, "test")[0] for name in ("fashion_mnist", "mnist"))
D = 28 * 28

# %% [markdown]
# ## Exercise 1: the histogram trained on MNIST, scored on FashionMNIST
#
# *Score FashionMNIST-test with the histogram trained on MNIST (section 4 scored MNIST-test with it).
# Is the preference symmetric, and how does your answer compare with the paper's Figure 6?* The AUROC takes the training set's test split as
# the positive class (higher score = more in-distribution; score = minus BPD), with a bootstrap
# interval over images.

# %%
# NBVAL_CHECK_OUTPUT
fashion_histogram = PixelHistogram.fit(fashion_train, alpha=1.0)
mnist_histogram = PixelHistogram.fit(mnist_train, alpha=1.0)
table = {
    (model, name): model_fit.bits_per_dim(x)
    for model, model_fit in (("FashionMNIST", fashion_histogram), ("MNIST", mnist_histogram))
    for name, x in (("FashionMNIST-test", fashion_test), ("MNIST-test", mnist_test))
}
for (model, name), values in table.items():
    print(f"histogram fitted on {model:12s}: {name:17s} mean BPD {intervals.bootstrap_mean(values, seed=0).format(3)}")
auroc_fashion = intervals.bootstrap_auroc(
    -table["FashionMNIST", "FashionMNIST-test"], -table["FashionMNIST", "MNIST-test"], seed=0
)
auroc_mnist = intervals.bootstrap_auroc(-table["MNIST", "MNIST-test"], -table["MNIST", "FashionMNIST-test"], seed=0)
print(f"AUROC, trained on FashionMNIST (MNIST out): {auroc_fashion.format(3)}")
print(f"AUROC, trained on MNIST (FashionMNIST out): {auroc_mnist.format(3)}")
border = np.zeros((28, 28), dtype=bool)
border[:4], border[-4:], border[:, :4], border[:, -4:] = True, True, True, True
bits = {  # bits per image and pixel under the MNIST histogram
    name: -mnist_histogram.log_prob_per_pixel(x)[..., 0] / math.log(2)
    for name, x in (("FashionMNIST-test", fashion_test), ("MNIST-test", mnist_test))
}
region_bits = {  # mean bits per image in each region
    (name, region): float(values[:, mask].sum(axis=1).mean())
    for name, values in bits.items()
    for region, mask in (("frame", border), ("centre", ~border))
}
gap = {
    region: region_bits["FashionMNIST-test", region] - region_bits["MNIST-test", region]
    for region in ("frame", "centre")
}
frame_gap_share = gap["frame"] / (gap["frame"] + gap["centre"])
print(f"4-pixel frame: {int(border.sum())} of 784 pixels, share of the pixels {border.mean():.3f}")
for region, mask in (("frame", border), ("centre", ~border)):
    print(
        f"  {region:6s}: mean bits per pixel, FashionMNIST-test {region_bits['FashionMNIST-test', region] / mask.sum():.2f}, "
        f"MNIST-test {region_bits['MNIST-test', region] / mask.sum():.2f}"
    )
fashion_frame_share = region_bits["FashionMNIST-test", "frame"] / (
    region_bits["FashionMNIST-test", "frame"] + region_bits["FashionMNIST-test", "centre"]
)
print(
    f"share of FashionMNIST-test's bits in the frame {fashion_frame_share:.3f} (share of the pixels {border.mean():.3f})"
)
print(f"share of the FashionMNIST-minus-MNIST gap (bits per image) in the frame {frame_gap_share:.3f}")
auroc_region = {
    region: intervals.bootstrap_auroc(
        -bits["MNIST-test"][:, mask].sum(axis=1),
        -bits["FashionMNIST-test"][:, mask].sum(axis=1),
        seed=0,
    )
    for region, mask in (("frame", border), ("centre", ~border))
}
for region, interval in auroc_region.items():
    print(f"AUROC, trained on MNIST, scored on the {region} pixels only: {interval.format(3)}")
finding(
    "trained on FashionMNIST, the histogram prefers MNIST (AUROC interval below 0.5)", bool(auroc_fashion.high < 0.5)
)
finding("trained on MNIST, it prefers MNIST too (AUROC interval above 0.5): not symmetric", bool(auroc_mnist.low > 0.5))
finding(
    "trained on MNIST, FashionMNIST-test's mean BPD exceeds MNIST-test's",
    bool(table["MNIST", "FashionMNIST-test"].mean() > table["MNIST", "MNIST-test"].mean()),
)
finding(
    "the frame's share of FashionMNIST-test's bits is below its share of the pixels",
    bool(fashion_frame_share < border.mean()),
)
finding("the frame carries less than half of the gap (the centre the rest)", bool(frame_gap_share < 0.5))
finding("the centre pixels alone separate the sets (AUROC interval above 0.9)", bool(auroc_region["centre"].low > 0.9))

# %% [markdown]
# **Answer.** Not symmetric, in the same direction as the paper's Figure 6 (trained on MNIST,
# FashionMNIST gets the *lower* likelihood): MNIST-test is preferred by both histograms. Where the
# cost sits has to be read against the area. The 4-pixel frame is 0.490 of the pixels but holds only
# 0.336 of FashionMNIST-test's bits, because the centre is expensive for both sets (7.46 against 3.13
# bits per pixel there, 3.93 against 0.19 in the frame). The frame's *gap* per pixel is the larger
# one, since MNIST has seen almost only 0 there, but summed over its pixels the frame carries 0.454 of
# the FashionMNIST-minus-MNIST gap and the centre the rest. Either region alone separates the sets:
# the frame perfectly (AUROC 1.000), the centre almost so (0.986). So the mechanism is independence;
# MNIST's empty border is about half of the gap and a perfect separator on its own, but not the whole
# story, and nothing about shapes is learned. (These numbers use the full test sets; the chapter's use
# 2000-image subsets, so its BPDs differ in the second decimal.)

# %% [markdown]
# ## Exercise 2: one log-density in both conventions
#
# *A model reports $\log q(y) = 1000$ nats for a $28 \times 28$ image in the $[0, 1)$ convention. What
# is its BPD, and what log-density would it report in the $[0, 256)$ convention?* Scaling $y$ by 256 divides
# the density by $256^D$: $\log q_{256}(256y) = \log q(y) - D\log 256$, and the BPD is
# $-\log q_{256}/(D\ln 2) = (D\log 256 - \log q(y))/(D \ln 2)$.
#
# <!-- constant: 4347.4 -->

# %%
# NBVAL_CHECK_OUTPUT
log_q_unit = 1000.0
log_q_256 = log_q_unit - D * math.log(256)
bpd_answer = -log_q_256 / (D * math.log(2))
print(
    f"D log 256 = {D * math.log(256):.1f} nats; log q in the [0, 256) convention = {log_q_256:.1f} nats; BPD = {bpd_answer:.3f}"
)
sanity_check(
    "the same BPD from either convention (8 - log2 q / D)",
    round(8 - log_q_unit / (D * math.log(2)), 6),
    round(bpd_answer, 6),
)
finding("BPD of the 1000-nat image, to 2 decimals", round(bpd_answer, 2), 6.16)

# %% [markdown]
# **Answer.** $\log q_{256} = 1000 - 4347.4 = -3347.4$ nats and BPD $= 3347.4 / (784 \ln 2)$ (printed):
# equivalently $8 - \log_2 q(y)/D$. A positive log-density in $[0,1)$ is an ordinary value, not a sign
# of an error.

# %% [markdown]
# ## Exercise 3: averaging logs or averaging densities over $K$ noise draws
#
# *Estimate the per-pixel Gaussian's BPD from $K$ = 1, 10 and 100 noise draws per image in two ways:
# averaging $\log q(y)$ over the draws, and taking the log of the average of $q(y)$. Which one
# converges to the exact BPD of section 4, and which to something else? How far below the exact value
# can a single draw fall on one image?* For uniform dequantization $\mathbb{E}_u[q((x+u)/256)] = 256^D Q(x)$
# exactly, so the log of the average converges to $\log Q(x)$; the average of the logs converges to
# $\mathbb{E}_u \log q$, which Jensen puts below $\log Q + D\log 256$: the dequantized bound
# (`expected_dequantized_log_prob` gives it in closed form). 500 FashionMNIST-test images.

# %%
# NBVAL_CHECK_OUTPUT
gaussian = PixelGaussian.fit(fashion_train)
x = fashion_test[:500]
exact = gaussian.bits_per_dim(x)
bound = (D * math.log(256) - gaussian.expected_dequantized_log_prob(x)) / (D * math.log(2))
rng = np.random.default_rng(0)
log_q = np.stack([gaussian.continuous_log_prob((x + rng.random(x.shape)) / 256.0) for _ in range(100)])  # (K, N)


def to_bpd(log_q_unit):
    return (D * math.log(256) - log_q_unit) / (D * math.log(2))


print(f"exact BPD (mean over images) {exact.mean():.5f}; dequantized bound {bound.mean():.5f}")
rows = {}
for K in (1, 10, 100):
    mean_of_logs = to_bpd(log_q[:K].mean(axis=0))
    log_of_mean = to_bpd(scipy.special.logsumexp(log_q[:K], axis=0) - math.log(K))
    rows[K] = (
        np.abs(mean_of_logs - exact).mean(),
        np.abs(log_of_mean - exact).mean(),
        np.abs(mean_of_logs - bound).mean(),
    )
    print(
        f"K = {K:3d}: mean of logs {mean_of_logs.mean():.5f}, log of mean {log_of_mean.mean():.5f} BPD; "
        f"mean |error| vs exact: {rows[K][0]:.5f} and {rows[K][1]:.5f}; mean of logs vs bound {rows[K][2]:.5f}"
    )
single_below = (exact - to_bpd(log_q)).max()
print(
    f"largest amount a single draw falls below the exact BPD, over 500 images x 100 draws: {single_below:.4f} bits/dim"
)
finding(
    "K = 100: the log of the mean is closer to the exact BPD than the mean of the logs",
    bool(rows[100][1] < rows[100][0]),
)
finding(
    "K = 100: the mean of the logs is closer to the dequantized bound than to the exact BPD",
    bool(rows[100][2] < rows[100][0]),
)
finding("a single draw can fall below the exact BPD", bool(single_below > 0))

# %% [markdown]
# **Answer.** The log of the average (importance-weighted, as in IWAE) converges to the exact BPD from
# above; the average of the logs converges to the dequantized bound instead, which stays above the
# exact BPD by the Jensen gap of chapter 01 whatever $K$ is. A single draw is an unbiased estimate of
# the *bound*, not a bound itself: on one image it can land below the exact BPD (by the printed amount
# at most, here), because $q$ varies inside a pixel's bin. Only its expectation is guaranteed to be above.

# %% [markdown]
# ## Exercise 4: a zero-inflated per-pixel model
#
# *Build a "zero-inflated" per-pixel model: a point mass at 0 with the training frequency $f_d(0)$,
# and the per-pixel Gaussian fitted to the non-zero values only. Where does constant 0 land now,
# against FashionMNIST-test, and what happens to the AUROC against MNIST?* $Q_d(v) = f_d(0)[v=0] + (1 - f_d(0))\,G_d(v)$ with $G_d$ the Gaussian's bin masses renormalised
# over 1..255. We store the 256 log-probabilities per pixel in a `PixelHistogram`, which then scores
# exactly. $f_d(0)$ is add-one smoothed, so a pixel that is never 0 (or always 0) keeps some mass on
# the other part.


# %%
# NBVAL_CHECK_OUTPUT
def zero_inflated(x_uint8):
    flat = x_uint8.reshape(len(x_uint8), -1)
    count = np.count_nonzero(flat, axis=0)  # zeros add nothing to the sums below
    f0 = (len(flat) - count + 1.0) / (len(flat) + 2.0)
    mean = flat.sum(axis=0, dtype=np.int64) / np.maximum(count, 1)
    var = np.square(flat, dtype=np.int32).sum(axis=0, dtype=np.int64) / np.maximum(count, 1) - mean**2
    mu = (np.where(count > 0, mean, 128.0) + 0.5) / 256.0
    sigma = np.sqrt(np.where(count > 1, np.maximum(var, 0.0), 64.0**2) + 1.0 / 12.0) / 256.0
    edges = np.arange(1, 257)[None, :] / 256.0  # bins v = 1..255: [v/256, (v+1)/256)
    log_mass = log_normal_interval_mass(
        (edges[:, :-1] - mu[:, None]) / sigma[:, None], (edges[:, 1:] - mu[:, None]) / sigma[:, None]
    )
    log_mass -= scipy.special.logsumexp(log_mass, axis=1, keepdims=True)
    table = np.concatenate([np.log(f0)[:, None], np.log1p(-f0)[:, None] + log_mass], axis=1)
    return PixelHistogram(table.reshape(*x_uint8.shape[1:], 256))


zi = zero_inflated(fashion_train)
sanity_check("every pixel's 256 probabilities sum to 1", bool(np.allclose(np.exp(zi.log_probs).sum(axis=-1), 1.0)))
constant_zero = np.zeros((1, 28, 28, 1), dtype=np.uint8)
models = {"Gaussian": gaussian, "histogram (alpha 1)": fashion_histogram, "zero-inflated": zi}
zi_rows, in_means = {}, {}
for label, model in models.items():
    in_bpd, out_bpd = model.bits_per_dim(fashion_test), model.bits_per_dim(mnist_test)
    in_means[label] = float(in_bpd.mean())
    zero_bpd = float(model.bits_per_dim(constant_zero)[0])
    auroc = intervals.bootstrap_auroc(-in_bpd, -out_bpd, seed=0)
    zi_rows[label] = (zero_bpd, float(np.mean(zero_bpd < in_bpd)), auroc)
    print(
        f"{label:20s}: constant 0 {zero_bpd:.3f} BPD, FashionMNIST-test mean {in_bpd.mean():.3f}; "
        f"share of FashionMNIST-test above constant 0 {zi_rows[label][1]:.3f}; AUROC vs MNIST {auroc.format(3)}"
    )
finding(
    "zero-inflated: constant 0 gets a lower BPD than every FashionMNIST-test image", zi_rows["zero-inflated"][1], 1.0
)
finding(
    "the Gaussian puts constant 0 above FashionMNIST-test's mean and prefers FashionMNIST (AUROC above 0.5)",
    bool(zi_rows["Gaussian"][0] > in_means["Gaussian"] and zi_rows["Gaussian"][2].low > 0.5),
)
finding("zero-inflated: the AUROC against MNIST stays below 0.5", bool(zi_rows["zero-inflated"][2].high < 0.5))
finding(
    "zero-inflated AUROC below the Gaussian's and the histogram's (intervals apart)",
    bool(zi_rows["zero-inflated"][2].high < min(zi_rows["Gaussian"][2].low, zi_rows["histogram (alpha 1)"][2].low)),
)

# %% [markdown]
# **Answer.** The point mass moves constant 0 from far above FashionMNIST-test (the Gaussian, which
# has little mass at the bin [0, 1/256) for pixels whose mean is bright) to below every
# FashionMNIST-test image, like the histogram and the paper's Glow in its Figure 8. The AUROC against
# MNIST goes from above 0.5 (the Gaussian prefers FashionMNIST) to far below it, slightly below even
# the histogram's: MNIST images are mostly zeros, and the model now prices a zero at the training
# frequency of 0. Modelling the zeros better makes the paradox appear, not go away.

# %% [markdown]
# ## Exercise 5: the histogram's smoothing `alpha`
#
# *Vary the histogram's smoothing `alpha` (0.01, 1, 100) and watch its AUROC on FashionMNIST against
# MNIST. Which images change their BPD the most, and what do they have in common?* Each fit is the add-`alpha` table of the same
# counts $n_{d,v}$, so we rebuild the three tables from the counts instead of refitting. For each
# image we count its *rare pixels*:
# positions whose value appeared fewer than 10 times there in the 60,000 training images.

# %%
# NBVAL_CHECK_OUTPUT
counts = np.rint(np.exp(fashion_histogram.log_probs) * (len(fashion_train) + 256) - 1)  # n_{d,v} of the alpha-1 fit
fits = {
    alpha: PixelHistogram(np.log((counts + alpha) / (len(fashion_train) + 256 * alpha))) for alpha in (0.01, 1.0, 100.0)
}
sanity_check(
    "the alpha = 1 table rebuilt from the counts equals PixelHistogram.fit's",
    bool(np.allclose(fits[1.0].log_probs, fashion_histogram.log_probs)),
)
alpha_bpd = {}
for alpha, model in fits.items():
    alpha_bpd[alpha] = (model.bits_per_dim(fashion_test), model.bits_per_dim(mnist_test))
    print(
        f"alpha = {alpha:6.2f}: AUROC {scores.auroc(-alpha_bpd[alpha][0], -alpha_bpd[alpha][1]):.3f}, mean BPD FashionMNIST-test {alpha_bpd[alpha][0].mean():.3f}, MNIST-test {alpha_bpd[alpha][1].mean():.3f}"
    )
both = np.concatenate([fashion_test, mnist_test])
change = np.concatenate(alpha_bpd[0.01]) - np.concatenate(alpha_bpd[100.0])
flat_counts = counts.reshape(D, 256)
rare = (flat_counts[np.arange(D), both.reshape(len(both), D)] < 10).sum(axis=1)
is_mnist = np.arange(len(both)) >= len(fashion_test)
order = np.argsort(change)
top, bottom = order[-20:], order[:20]
print(
    f"BPD change, alpha 0.01 minus alpha 100: median {np.median(change):.3f}, from {change.min():.3f} to {change.max():.3f} bits/dim"
)
print(
    f"rare pixels per image: median {np.median(rare):.0f} over all; median {np.median(rare[top]):.0f} among the 20 largest increases (MNIST images there: {int(is_mnist[top].sum())})"
)
print(
    f"the 20 largest decreases: MNIST images {int(is_mnist[bottom].sum())}, median rare pixels {np.median(rare[bottom]):.0f}, median share of zero pixels {np.mean(both[bottom] == 0, axis=(1, 2, 3)).mean():.3f}"
)
finding(
    "the 20 images that gain most BPD at small alpha have a median of more than 10 rare pixels",
    bool(np.median(rare[top]) > 10),
)
finding("the 20 images that lose most BPD at small alpha are all MNIST images", int(is_mnist[bottom].sum()), 20)
finding("the AUROC is below 0.5 at every alpha", bool(all(scores.auroc(-a, -b) < 0.5 for a, b in alpha_bpd.values())))

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.8))
ax.scatter(rare[: len(fashion_test)], change[: len(fashion_test)], s=3, alpha=0.3, label="FashionMNIST-test")
ax.scatter(rare[len(fashion_test) :], change[len(fashion_test) :], s=3, alpha=0.3, label="MNIST-test")
ax.set(
    xlabel="rare pixels in the image (value seen < 10 times at its position)", ylabel="BPD(alpha 0.01) − BPD(alpha 100)"
)
ax.legend(loc="upper left", fontsize=8, markerscale=4)
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# **Answer.** Two groups move, in opposite directions. Images with many values rarely or never seen
# at their position (FashionMNIST garments of unusual shape) get a *higher* BPD at small `alpha`,
# since `alpha` is exactly the mass an unseen value gets. Images made almost entirely of very common
# values (MNIST digits, mostly zeros where 0 is nearly certain) get a higher BPD at *large* `alpha`,
# which takes mass from the common values to spread it over the 256 of each pixel. The AUROC hardly
# moves between the three values (printed): smoothing is not what makes the histogram prefer MNIST.

# %%
chapter_footer()
