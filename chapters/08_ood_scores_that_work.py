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
# # 08 · Beyond the paper: OOD scores that work
#
# The paper ends with a warning: a density model's likelihood is not an OOD detector. This
# chapter measures what helps, on one in-distribution test set (FashionMNIST) and the same OOD
# sets for every score, with the book's Glows and PixelCNNs. Seven scores, each in the book's
# rhythm (idea, equation, code in `ood_lib`, check, result):
#
# 1. the **likelihood** itself (the baseline);
# 2. the **typicality test** (Nalisnick, Matsukawa, Teh, Lakshminarayanan 2019): is a batch's mean
#    log-likelihood close to the training data's, rather than high?
# 3. **ensembles and WAIC** (Choi, Jang, Alemi 2018): penalise inputs on which independently
#    trained models disagree;
# 4. the **likelihood ratio** against a background model (Ren et al. 2019), replicated with a
#    smaller model of the references' family and a CPU version of their recipe (departures listed in
#    section 4);
# 5. a **ratio to a local model**, without a perturbation rate (after Schirrmeister et al. 2020);
# 6. **input complexity** (Serra et al. 2020): subtract a PNG compressor's code length;
# 7. **outlier exposure** (Hendrycks, Mazeika, Dietterich 2019): fine-tune the model to give
#    known outliers low likelihood.
#
# **One convention for every score: higher means more in-distribution.** The metrics
# (`ood_lib.ood.metrics`, from scikit-learn) treat the in-distribution set as the positive class:
# AUROC (0.5 = chance, below 0.5 = the score prefers the OOD set), AUPR-In, and the false
# positive rate at 95% true positive rate (FPR95: the share of OOD inputs accepted when 95% of
# the in-distribution inputs are). **Every AUROC, AUPR-In and FPR95 of the tables comes with a 95%
# bootstrap interval** over images (`ood_lib.ood.intervals.bootstrap_ood_metrics`: the in-distribution and
# the OOD images resampled separately, 1000 resamples); a difference is called real only when the
# intervals are disjoint, or when a paired interval (two scores of the same images) excludes 0. The chapter ends with a decision guide: which score to use when.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

from ood_lib import data
from ood_lib.analysis import stats
from ood_lib.analysis.receptive_field import receptive_field
from ood_lib.book import plots
from ood_lib.book.chapter import chapter_footer, chapter_header
from ood_lib.book.findings import finding, sanity_check
from ood_lib.models.gated_pixelcnn import GatedPixelCNN
from ood_lib.ood import scores
from ood_lib.ood.complexity import complexity_scores, png_code_lengths
from ood_lib.ood.ensembles import ensemble_mean, member_offsets, waic, waic_centred
from ood_lib.ood.intervals import (
    bootstrap_auroc_difference,
    bootstrap_mean,
    bootstrap_mean_difference,
    bootstrap_ood_metrics,
)
from ood_lib.ood.likelihood_ratio import likelihood_ratio
from ood_lib.ood.metrics import ood_metrics, roc_points
from ood_lib.ood.typicality import TypicalityTest, bootstrap_batch_detection
from ood_lib.training import zoo
from ood_lib.training.streams import fixed_subset

profile = chapter_header("08 · Beyond the paper: OOD scores that work")
NUM_DIMS = 28 * 28
NATS_PER_BPD = NUM_DIMS * np.log(2.0)  # log p(x) = -BPD * D ln 2 (discrete, dequantized estimate)
n_images = profile.n_ood_images or profile.n_eval
rng = np.random.default_rng(profile.seed)
fashion_test, fashion_test_labels = data.load_tensor("fashion_mnist", "test", n=n_images, seed=profile.seed)
fashion_train_mean, fashion_train_std = stats.pixel_mean_std(data.load("fashion_mnist", "train")[0], scale=1.0)
gaussian_noise = np.clip(rng.normal(fashion_train_mean, fashion_train_std, (len(fashion_test), 1, 28, 28)), 0, 255)
ood_sets = {
    "MNIST": data.load_tensor("mnist", "test", n=n_images, seed=profile.seed)[0],
    "uniform noise": scores.uniform_noise_images(len(fashion_test), (1, 28, 28), seed=profile.seed),
    "Gaussian noise": torch.from_numpy(np.rint(gaussian_noise).astype(np.uint8)),
    "constant": scores.constant_images(rng.integers(0, 256, len(fashion_test)), (1, 28, 28)),
    "h-flipped FashionMNIST": fashion_test.flip(-1),
    "v-flipped FashionMNIST": fashion_test.flip(-2),
}
print(f"in-distribution: {len(fashion_test)} FashionMNIST test images")
for name, x_uint8 in ood_sets.items():
    print(f"OOD set {name:24s} {tuple(x_uint8.shape)}")
print(
    f"Gaussian noise: N({fashion_train_mean:.1f}, {fashion_train_std:.1f}^2) per pixel, FashionMNIST's training "
    "pixel mean and standard deviation, rounded and clipped to 0..255"
)

# %% [markdown]
# **The flipped sets are not alike.** A *horizontally* flipped shirt, trouser or bag is still a
# plausible shirt, trouser or bag, so for those classes h-flipped FashionMNIST is close to
# *in*-distribution and an AUROC near 0.5 is defensible. Footwear is different: shoes are drawn
# facing one way. The next cell counts how often each group has more ink in its right half, and
# section 1 scores the two groups' flips separately. A *vertically* flipped image (shoes upside down, trousers open at
# the top) is not FashionMNIST; Choi et al. 2018 test vertical flips too (their table could not be
# read offline, so no number of theirs is quoted).

# %%
FOOTWEAR = (5, 7, 9)  # FashionMNIST's sandal, sneaker and ankle boot
is_footwear = np.isin(fashion_test_labels.numpy(), FOOTWEAR)
ink = fashion_test.double()
right_heavy = ink[..., 14:].sum(dim=(1, 2, 3)) > ink[..., :14].sum(dim=(1, 2, 3))
for label, mask in (("footwear", is_footwear), ("other classes", ~is_footwear)):
    print(
        f"{label:13s}: {int(mask.sum())} test images, share with more ink in the right half "
        f"{right_heavy.numpy()[mask].mean():.3f}"
    )

# %% [markdown]
# **Validation images.** The likelihood ratio has a hyperparameter; Ren et al. keep 12,000 of
# FashionMNIST's 60,000 training images apart for every choice. The gated PixelCNNs here train on
# 48,000 (`profile.gated_pixelcnn_train.n_train`), and the other 12,000 (`data.held_out_indices`)
# give the in-distribution half of a validation pair. Its OOD half is a set that is neither MNIST
# nor any test set here: the CIFAR-10 subset's test images, grayed and resized to 28×28.

# %%
gated_budget = profile.train((28, 28, 1), "gated_pixelcnn")
fashion_train_all = data.load("fashion_mnist", "train")[0]
held_out = data.held_out_indices(len(fashion_train_all), gated_budget.n_train, gated_budget.seed)
n_validation = min(len(held_out), len(fashion_test) // 2)
validation_sets = {
    "FashionMNIST validation": data.to_tensor(
        fashion_train_all[np.sort(rng.choice(held_out, n_validation, replace=False))]
    ),
    "grayed CIFAR-10": data.to_tensor(
        data.as_shape(data.load("cifar10_subset", "test")[0][:n_validation], (28, 28, 1))
    ),
}
print(
    f"gated PixelCNNs: {gated_budget.n_train} training images, {len(held_out)} held out; "
    f"validation pair: {n_validation} held-out FashionMNIST images against {n_validation} grayed CIFAR-10 test images"
)

# %% [markdown]
# The models, all from the zoo (what is not in the cache is trained here): three Glows trained
# on FashionMNIST from seeds 0, 1 and 2 (all three are chapter 03's); chapter 04's small PixelCNN (a
# masked 7×7 layer and four masked 3×3 residual blocks); a **gated PixelCNN** of the likelihood-ratio references' kind
# (`ood_lib.models.gated_pixelcnn`: gated vertical and horizontal stacks without a blind spot,
# 5 residual blocks of 32 filters, a discretized logistic output) and its background versions,
# trained on perturbed images; the same gated PixelCNN with one block (section 5's control); two
# outlier-exposed versions of the small PixelCNN; and, for the other direction of the pair, the
# MNIST Glow and the MNIST small PixelCNN.

# %%
ACTIVE_MARGIN = 4.0  # bits per dimension; section 7 says why this value
glows = []
for seed in range(profile.ensemble_size):
    member = zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=seed))
    print(f"Glow, seed {seed}: {member.provenance()}")
    glows.append(member)
pixelcnn = zoo.get("pixelcnn", "fashion_mnist", profile)
print(f"small PixelCNN: {pixelcnn.provenance()}")
gated = zoo.get("gated_pixelcnn", "fashion_mnist", profile)
print(f"gated PixelCNN: {gated.provenance()}")
local_gated = zoo.get("gated_pixelcnn_local", "fashion_mnist", profile)  # section 5's control
print(f"one-block gated PixelCNN: {local_gated.provenance()}")
backgrounds = {}
for rate in profile.background_rates:
    backgrounds[rate] = zoo.get("gated_pixelcnn", "fashion_mnist", profile, variant=zoo.Variant(perturbation_rate=rate))
    print(f"background gated PixelCNN, mu = {rate}: {backgrounds[rate].provenance()}")
exposed = {}
for margin in (None, ACTIVE_MARGIN):
    variant = zoo.Variant(outliers_from="cifar10_subset", outlier_margin=margin)
    exposed[margin or zoo.OUTLIER_MARGIN_BPD] = zoo.get("pixelcnn", "fashion_mnist", profile, variant=variant)
for margin, model in exposed.items():
    print(f"small PixelCNN with outlier exposure, margin {margin:g} BPD: {model.provenance()}")
print(f"gated PixelCNN: {sum(p.numel() for p in gated.model.parameters())} parameters")

# %% [markdown]
# Every model scores every set it needs once; all later scores are computed from these BPDs (the
# flows with the same dequantization noise; the PixelCNNs model the discrete pixels directly).
# The CPU seconds of each model's scoring are recorded for the decision guide.

# %%
PRIOR_RATE = 0.2  # the references' a-priori background perturbation rate (section 4)
BPD_CAP = 1e6  # images that overflow a model's split priors (chapter 04) get this BPD; the counts are printed
evaluated = {"FashionMNIST": fashion_test, **ood_sets}
fashion_train = data.load_tensor("fashion_mnist", "train", n=2 * len(fashion_test), seed=profile.seed + 1)[0]
scoring_cpu_seconds: dict[str, float] = {}
scored_images: dict[str, int] = {}


def bpd_of(label: str, model: torch.nn.Module, images: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Per-image BPD of each set, infinite or larger values set to BPD_CAP; CPU time and images added to ``label``."""
    start, result = time.process_time(), {}
    for name, x_uint8 in images.items():
        values = scores.bits_per_dim(model, x_uint8, seed=profile.seed)
        result[name] = np.minimum(np.nan_to_num(values, nan=BPD_CAP, posinf=BPD_CAP), BPD_CAP)
        scored_images[label] = scored_images.get(label, 0) + len(x_uint8)
    scoring_cpu_seconds[label] = scoring_cpu_seconds.get(label, 0.0) + time.process_time() - start
    return result


def cpu_ms_per_image(label: str) -> float:
    """This run's scoring CPU milliseconds per image of the model ``label``."""
    return 1000.0 * scoring_cpu_seconds[label] / scored_images[label]


print("scoring (minutes on 2 cores)...")
# the seed-0 Glow scores 2n training images (the typicality test's reference), seeds 1-2 the first n (WAIC's centring)
glow_bpd = [
    bpd_of(
        f"Glow seed {index}",
        member.model,
        {**evaluated, "train": fashion_train if index == 0 else fashion_train[: len(fashion_test)]},
    )
    for index, member in enumerate(glows)
]
pixelcnn_bpd = bpd_of("small PixelCNN", pixelcnn.model, evaluated)
local_gated_bpd = bpd_of("one-block gated PixelCNN", local_gated.model, evaluated)
gated_bpd = bpd_of("gated PixelCNN", gated.model, {**evaluated, **validation_sets})
background_bpd = {
    rate: bpd_of(
        f"background mu = {rate}",
        model.model,
        {
            **(evaluated if rate == PRIOR_RATE else {name: evaluated[name] for name in ("FashionMNIST", "MNIST")}),
            **validation_sets,
        },
    )
    for rate, model in backgrounds.items()
}
exposed_bpd = {margin: bpd_of(f"OE margin {margin:g}", model.model, evaluated) for margin, model in exposed.items()}
for label, seconds in scoring_cpu_seconds.items():
    print(
        f"{label:24s} scored {scored_images[label]:5d} images in {seconds:5.1f} CPU s ({cpu_ms_per_image(label):.1f} ms each)"
    )
print(
    "mean BPD: "
    + "; ".join(f"{name} Glow {glow_bpd[0][name].mean():.2f}, gated {gated_bpd[name].mean():.2f}" for name in evaluated)
)

# %% [markdown]
# ## 1. The likelihood
#
# Score: $\log p(x)$, i.e. $-\text{BPD}$, under each of the three model families. The baseline
# every other score is measured against. The Glow's row is seed 0's; the spread over the three
# seeds follows it.

# %%
table: dict[str, dict] = {}  # score -> OOD set -> OODMetricIntervals


def add_row(score_name: str, in_scores: np.ndarray, out_scores: dict[str, np.ndarray]) -> None:
    """Metrics with bootstrap intervals of ``score_name`` against every OOD set, into the chapter's table."""
    table[score_name] = {
        name: bootstrap_ood_metrics(in_scores, values, seed=index)
        for index, (name, values) in enumerate(out_scores.items())
    }


def show_row(score_name: str, sets: tuple[str, ...] | None = None) -> None:
    """One line: the row's AUROC and interval per OOD set."""
    row = table[score_name]
    print(f"{score_name}: AUROC " + "; ".join(f"{name} {row[name].auroc.format(3)}" for name in sets or row))


def likelihood_scores(bpd: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(in-distribution scores, OOD scores per set) of the log-likelihood, -BPD."""
    return -bpd["FashionMNIST"], {name: -bpd[name] for name in ood_sets}


add_row("log-likelihood (Glow)", *likelihood_scores(glow_bpd[0]))
add_row("log-likelihood (small PixelCNN)", *likelihood_scores(pixelcnn_bpd))
add_row("log-likelihood (gated PixelCNN)", *likelihood_scores(gated_bpd))
for score_name in table:
    show_row(score_name)
seed_aurocs = {name: [ood_metrics(-bpd["FashionMNIST"], -bpd[name]).auroc for bpd in glow_bpd] for name in ood_sets}
print(
    f"Glow likelihood AUROC over the {len(glows)} seeds (min to max): "
    + "; ".join(f"{name} {min(values):.3f} to {max(values):.3f}" for name, values in seed_aurocs.items())
)
capped = [sum(int((values >= BPD_CAP).sum()) for values in bpd.values()) for bpd in glow_bpd]
print(f"images whose BPD was capped at {BPD_CAP:g} (split-prior overflow), Glow seeds 0, 1, 2: {capped}")
black_images = torch.zeros((16, *fashion_test.shape[1:]), dtype=torch.uint8)
print(
    "Glow seed 0 on all-black images (the paper's Figure 8 constant, 16 dequantization draws): "
    f"{scores.bits_per_dim(glows[0].model, black_images, seed=profile.seed).mean():.3f} BPD (the paper's Glow: 0.339)"
)
flip_by_group = {
    (model_name, label): bootstrap_ood_metrics(-bpd["FashionMNIST"][mask], -bpd["h-flipped FashionMNIST"][mask]).auroc
    for model_name, bpd in (("Glow", glow_bpd[0]), ("gated PixelCNN", gated_bpd))
    for label, mask in (("footwear", is_footwear), ("other classes", ~is_footwear))
}
for (model_name, label), value in flip_by_group.items():
    print(
        f"h-flips, {model_name} likelihood, {label} only (originals against flips, unpaired): AUROC {value.format(3)}"
    )
flip_preferred = {  # paired: the share of images whose original the model rates more likely than its own flip
    (model_name, label): bootstrap_mean((bpd["h-flipped FashionMNIST"][mask] > bpd["FashionMNIST"][mask]).astype(float))
    for model_name, bpd in (("Glow", glow_bpd[0]), ("gated PixelCNN", gated_bpd))
    for label, mask in (("footwear", is_footwear), ("other classes", ~is_footwear))
}
for (model_name, label), share in flip_preferred.items():
    print(f"h-flips, {model_name}, {label}: share of images rated more likely than their own flip {share.format(3)}")

# %% [markdown]
# All three families rate MNIST as *more* FashionMNIST-like than FashionMNIST itself (AUROC 0.087
# for the Glow, 0.047 and 0.050 for the two PixelCNNs, every interval far below 0.5): the paper's
# phenomenon, now as a detector's failure, and not a property of one seed (0.087 to 0.090 over the
# three Glows). The Glow's mean BPDs, 3.33 on FashionMNIST and 2.06 on MNIST (printed above), sit
# above the paper's 2.958 and 1.833 (its Glow is larger and trained far longer; chapter 04 sets the
# two side by side) with the same order. Constant images split the families, as in chapter 04: the
# Glow rates them likely (0.345), both PixelCNNs do not (0.992 and 0.935). Our constants take one
# random level from 0 to 255 per image, so they are not the paper's Figure 8 input (the constant 0,
# 0.339 BPD under its FashionMNIST Glow, against 8.686 for uniform noise); here the Glow gives them
# 2.92 BPD, between MNIST and FashionMNIST, and noise 8.99, while all-black images get 0.281 BPD,
# close to the paper's 0.339 (all printed above). Both PixelCNNs reject them, so the small PixelCNN's verdict on constants is
# shared by the gated one and is not a quirk of that one small model (the gated model is the
# better density model, 3.167 against 3.634 BPD on FashionMNIST-test (printed in later sections), yet on this pair both give the same verdict, 0.050
# against 0.047, which is why chapter 04's Figure 3 keeps the small one). Noise is easy for every
# model; the v-flips sit barely above chance for the Glow and at chance for the two PixelCNNs. The h-flips sit at chance overall, and by group
# (printed). Footwear is right-heavy in 0.959 of the images, the other classes in 0.662 (so they
# are not mirror-symmetric either, only less one-sided): a flipped shoe faces the way few
# FashionMNIST shoes do (by this ink proxy), yet the Glow rates footwear flips at 0.541
# [0.499, 0.589] and the gated PixelCNN at 0.523 [0.482, 0.570], hardly better than chance. Image by
# image the models do see the flip: the Glow rates 0.972 [0.953, 0.991] of the footwear images as
# more likely than their own flip, the gated PixelCNN 0.937 [0.908, 0.962] (other classes: 0.661
# and 0.623). A detector that sees one image at a time cannot use that pairing, and unpaired the
# originals and the flips overlap almost entirely. So for a single-image detector the footwear
# flips are a miss, hidden in the overall number; on the other classes (0.506 and 0.503) the
# models sit at chance, and whether that is the right answer is a labelling choice: their ink is
# right-heavy in 0.662 of the originals, and the models prefer the original in about as many pairs.
#
# <!-- quoted: 2.958 1.833 0.339 8.686 (the paper) -->
#
# ## 2. The typicality test
#
# (Nalisnick, Matsukawa, Teh, Lakshminarayanan 2019, a follow-up by the paper's authors.) A batch
# of $M$ inputs is rejected when its mean log-likelihood is *far from* the training data's,
# $|\bar\ell_M - \hat H| > \epsilon_M$, in either direction, with $\hat H$ the training images' mean
# log-likelihood, an estimate of minus the entropy (the letter is the typicality paper's); the threshold is the 99% quantile
# (a 1% false-rejection rate) of the same distance over bootstrap batches of training images
# (`ood_lib.ood.typicality`). We use $\ell = -$BPD under the seed-0 Glow, the log-likelihood per
# dimension in bits, so thresholds are in BPD. $\hat H$ comes from one half of the printed number
# of FashionMNIST training images and the bootstrap from the other half; the Glow saw all 60,000
# training images, so these are not held out; the printed rejection rate of FashionMNIST-*test*
# images and batches shows whether the 1% level holds anyway. Batches are drawn from one set at a
# time: 1000 random batches per set and size, each of $M$ images drawn with replacement, and the
# intervals on batch AUROCs and rejection shares resample the *images* before drawing the batches
# (`ood_lib.ood.typicality.bootstrap_batch_detection`, 200 resamples), since batches that share
# images are not independent. $M = 1$ scores every image once instead. These choices (the
# reference and the bootstrap from a subset of images the model was trained on, batches drawn with
# replacement, the 99% level) are ours; Nalisnick et al. 2019's own settings and their numbers for
# this pair could not be read offline, so none is quoted.

# %%
train_bpd = glow_bpd[0]["train"]
half = len(train_bpd) // 2
batch_sizes = (2, 5, 10, 25)
n_batches = 1000
print(f"{len(train_bpd)} FashionMNIST training images; {n_batches} batches per set and batch size")
typicality_auroc, typicality_rejected, typicality_tests = {}, {}, {}
for batch_size in batch_sizes:
    test = TypicalityTest.fit(-train_bpd[:half], -train_bpd[half:], batch_size, level=0.99, seed=profile.seed)
    typicality_tests[batch_size] = test
    detection = {
        name: bootstrap_batch_detection(test, -glow_bpd[0]["FashionMNIST"], -glow_bpd[0][name], n_batches, seed=index)
        for index, name in enumerate(ood_sets)
    }
    typicality_auroc[batch_size] = {name: auroc for name, (auroc, _) in detection.items()}
    typicality_rejected[batch_size] = {name: rejected for name, (_, rejected) in detection.items()}
    print(
        f"M = {batch_size:2d}: threshold {test.threshold:.3f} BPD; batch AUROC "
        + ", ".join(f"{name} {value.format(3)}" for name, value in typicality_auroc[batch_size].items())
    )
    _, false_rejections = bootstrap_batch_detection(
        test, -glow_bpd[0]["FashionMNIST"], -glow_bpd[0]["FashionMNIST"], n_batches, seed=99
    )
    print(f"        FashionMNIST-test batches rejected (false rejections) {false_rejections.format(3)}")
    print(
        "        share of OOD batches rejected at the threshold: "
        + ", ".join(f"{name} {value.format(3)}" for name, value in typicality_rejected[batch_size].items())
    )
test_1 = TypicalityTest.fit(-train_bpd[:half], -train_bpd[half:], 1, level=0.99, seed=profile.seed)
test_25 = typicality_tests[25]
print(f"M =  1: threshold {test_1.threshold:.3f} BPD")
add_row(
    "typicality, M = 1 (Glow)",
    test_1.scores(-glow_bpd[0]["FashionMNIST"]),
    {name: test_1.scores(-glow_bpd[0][name]) for name in ood_sets},
)
show_row("typicality, M = 1 (Glow)")
print(
    "M = 1, FPR95: "
    + "; ".join(f"{name} {row.fpr_at_95_tpr.format(3)}" for name, row in table["typicality, M = 1 (Glow)"].items())
)
rejected_at_1 = {
    name: bootstrap_mean(test_1.rejects(-bpd).astype(float)) for name, bpd in glow_bpd[0].items() if name != "train"
}
print(
    "M = 1, share of single images rejected at the test's own threshold [95%]: "
    + ", ".join(f"{name} {share.format(3)}" for name, share in rejected_at_1.items())
)
rejected_at_25 = typicality_rejected[25]
print(
    "distance of each set's mean log-likelihood from the reference (BPD; the M = 25 threshold is "
    f"{test_25.threshold:.3f}): "
    + ", ".join(f"{name} {abs(glow_bpd[0][name].mean() - train_bpd[:half].mean()):.3f}" for name in evaluated)
)

# %% [markdown]
# With $M = 1$ the test is a two-sided likelihood threshold. As a *ranking* it turns MNIST's
# AUROC from the likelihood's 0.087 into 0.819 [0.801, 0.837], because MNIST images are *too*
# likely. As a *detector* it is weak: its FPR95 on MNIST is 0.776, and at its own threshold it
# rejects a share of 0.073 of single MNIST images (FashionMNIST-test: 0.014, its interval covering
# the 1% level it was set for). Single constant images pass (AUROC 0.318, a share of 0.004
# rejected). With batches the AUROC reaches 1 for MNIST from $M = 10$: its mean log-likelihood lies
# far from the reference compared with the threshold (printed: MNIST's distance, 1.256 BPD, is three
# times the $M = 25$ threshold of 0.422, the constants' 0.394 lies just below it, the flips' stay
# below half of it), and the
# rejection rates at the test's own threshold say what it would decide: every MNIST batch of 25, but only a share of 0.237 of the
# constant batches, although they rank well (0.978). Its limits: it needs a batch from one source, and it
# sees only the mean, so the flipped images, whose mean BPD differs little (printed at the top),
# stay hard even in batches of 25. (The batch intervals are percentile intervals over image
# resamples; near an AUROC of 1 or a share of 0 they sit lopsided around the estimate.)
#
# ## 3. Ensembles and WAIC
#
# $K$ Glows from different seeds, with $\ell_k(x) = \log p_{\theta_k}(x)$ in nats: the
# ensemble's mean $\frac1K\sum_k \ell_k(x)$, and
# $\text{WAIC}(x) = \frac1K\sum_k \ell_k(x) - \operatorname{Var}_k \ell_k(x)$
# (`ood_lib.ood.ensembles`; the population variance over members, divisor $K$). Here $K = 3$; Choi
# et al. use $K = 5$ (exercise 2 goes to 5 and compares the divisor $K - 1$). All members score an
# image under the same dequantization noise, so their variance holds no noise variance; how Choi
# et al. dequantized is not known to us.
# Two things to separate before reading WAIC's effect as "the members disagree about OOD inputs":
#
# - **Offsets.** Each seed ends at its own overall level. Write $\ell_k(x) = c_k + d_k(x)$ with
#   $c_k$ member $k$'s mean log-likelihood on training images (printed) and $d_k$ the rest; then
#   $\operatorname{Var}_k \ell_k = \operatorname{Var}_k c_k + \operatorname{Var}_k d_k
#   + 2\operatorname{Cov}_k(c_k, d_k(x))$: the first term is the same for every input, the
#   covariance term is not. The *centred* WAIC subtracts $c_k$ before the variance, so only
#   $\operatorname{Var}_k d_k(x)$, the per-input disagreement, remains.
# - **Units.** WAIC adds a mean in nats to a variance in nats². Rescaling $\ell$ by $1/(D \ln 2)$
#   (bits per dimension) shrinks the mean by that factor and the variance by its square, so the
#   variance term loses a factor $D \ln 2$ (printed) relative to the mean, and the same score in other
#   units ranks differently (printed: WAIC on the BPD scale).

# %%
member_log_p = {name: np.stack([-bpd[name] * NATS_PER_BPD for bpd in glow_bpd]) for name in evaluated}
reference_log_p = np.stack([-bpd["train"][: len(fashion_test)] * NATS_PER_BPD for bpd in glow_bpd])
offsets = member_offsets(reference_log_p)
K = len(glows)
add_row(
    f"ensemble mean ({K} Glows)",
    ensemble_mean(member_log_p["FashionMNIST"]),
    {name: ensemble_mean(member_log_p[name]) for name in ood_sets},
)
add_row(f"WAIC ({K} Glows)", waic(member_log_p["FashionMNIST"]), {name: waic(member_log_p[name]) for name in ood_sets})
add_row(
    f"WAIC, centred ({K} Glows)",
    waic_centred(member_log_p["FashionMNIST"], offsets),
    {name: waic_centred(member_log_p[name], offsets) for name in ood_sets},
)
print("member offsets (mean log p on training images, nats): " + ", ".join(f"{value:.0f}" for value in offsets[:, 0]))
disagreement = {
    kind: {
        name: (member_log_p[name] - (offsets if kind == "centred" else 0.0)).std(axis=0)
        for name in ("FashionMNIST", "MNIST", "constant")
    }
    for kind in ("raw", "centred")
}
for kind, per_set in disagreement.items():
    print(
        f"{kind:7s} member disagreement (std over members), median nats: "
        + ", ".join(f"{name} {np.median(values):.1f}" for name, values in per_set.items())
    )
centred_gap = bootstrap_mean_difference(disagreement["centred"]["MNIST"], disagreement["centred"]["FashionMNIST"])
print(f"centred disagreement, MNIST minus FashionMNIST, mean: {centred_gap.format(1)} nats")
bpd_scale_waic = bootstrap_ood_metrics(
    waic(member_log_p["FashionMNIST"] / NATS_PER_BPD), waic(member_log_p["MNIST"] / NATS_PER_BPD)
).auroc
print(
    f"WAIC on the BPD scale (log p in bits per dimension; the variance term {NATS_PER_BPD:.1f} times weaker "
    f"relative to the mean): MNIST AUROC {bpd_scale_waic.format(3)}"
)
for score_name in (f"ensemble mean ({K} Glows)", f"WAIC ({K} Glows)", f"WAIC, centred ({K} Glows)"):
    show_row(score_name)
offset_share = bootstrap_auroc_difference(
    waic(member_log_p["FashionMNIST"]),
    waic(member_log_p["MNIST"]),
    waic_centred(member_log_p["FashionMNIST"], offsets),
    waic_centred(member_log_p["MNIST"], offsets),
)
print(f"MNIST AUROC, WAIC minus centred WAIC (paired over images): {offset_share.format(3)}")

# %% [markdown]
# WAIC lifts MNIST's AUROC from the ensemble mean's 0.089 to 0.187, still far below 0.5 (FPR95
# 0.995, table below), and the ensemble mean (0.089) prefers MNIST as strongly as one Glow does
# (0.087); its three members score MNIST almost alike (0.087 to 0.090). Part of WAIC's lift comes from the offsets: the three seeds' means on training
# images differ by up to 36 nats, and through the covariance term they move some inputs more than
# others; removing them (centred WAIC) takes the AUROC down to 0.146 (the paired difference
# excludes 0). What is left is per-input disagreement, real but small: after centring, the members
# disagree about MNIST images 2.0 [1.1, 3.0] nats more than about FashionMNIST images. On constant
# images WAIC helps much more (0.892; centred 0.797). And the unit decides (arithmetic, not a
# property of the models: the variance term scales with the square of the unit, the mean with the unit): on the
# bits-per-dimension scale the variance term is 543.4 times weaker relative to the mean, and WAIC's
# MNIST AUROC falls back to the ensemble mean's (0.089).

# %% [markdown]
# ## 4. The likelihood ratio against a background model, replicated
#
# Ren et al. 2019 explain the phenomenon by *background* statistics (how much of an image is a
# smooth, dark background) that a density model rewards in any image, and cancel them: a
# background model $p_{\theta_0}$ is trained on images in which every pixel was replaced, with
# probability $\mu$, by a uniform random value (`ood_lib.training.perturbation`), which destroys
# the shapes more than the background statistics; the score is
#
# $$\text{LLR}(x) = \log p_\theta(x) - \log p_{\theta_0}(x)
#   = D \ln 2\,\bigl(\text{BPD}_{0}(x) - \text{BPD}(x)\bigr),$$
#
# so in bits per dimension the ratio is the background model's BPD *minus* the model's
# (`ood_lib.ood.likelihood_ratio`; the factor $D \ln 2 > 0$ does not change the ranking).
#
# **What is replicated, and what departs.** The published numbers for this exact pair,
# FashionMNIST (in) against MNIST (OOD), and what our `quick` run changes:
#
# | | Ren et al. 2019 | Alibi Detect's example (`od_llr_mnist.ipynb`) | here (`quick`) |
# |---|---|---|---|
# | model | PixelCNN++ (TensorFlow Probability's) at **one resolution** (`num_hierarchies` 1): 5 gated resnet layers in an upward pass and 5 in a downward pass, with skip connections between the two, 32 filters, 1 logistic, concat-ELU, no weight norm, no dropout; pixel values not rescaled (0 to 255); with twice the gated layers, each of two 2×3 shifted convolutions, its conditionals reach about 20 rows up or more (a count from the kernel sizes, not measured) | Alibi Detect's PixelCNN++ (also TensorFlow Probability's) at **two resolutions** (`num_hierarchies` 2), 5 gated resnet layers per pass at each resolution, 32 filters, 1 logistic, **dropout 0.3** | gated PixelCNN, one resolution, **5 gated residual blocks in one pass** (no second pass, no skip connections), 32 filters, 1 logistic, plain ELU, no weight norm, no dropout; inputs scaled to [-1, 1] plus a ones channel; each conditional sees at most the 13 rows above it at 28×28 (measured in section 5) |
# | training | Adam 1e-4 with betas (0.95, 0.9995), the rate multiplied by 0.999995 at every update, no warmup, no gradient clipping, batch 32, **50,000 updates** (about 33 epochs of 48,000 images) | Adam 1e-4, batch 32, 20 epochs of all 60,000 training images (37,500 updates); the published figure comes from the pretrained detector the notebook loads | Adam **1e-3** with torch's default betas (0.9, 0.999): 10 times the references' rate, set for the short budget, not tuned; constant after a 50-update warmup, gradient clipping at 50, batch 32, **800 updates (0.53 epochs)**. The optimiser was Adamax (the engine's default) in an earlier version of these models, which scored 0.821 on MNIST (`benchmarks/RESULTS.md`); it was switched to Adam for fidelity to the reference, after that score was known |
# | initialisation and batch order | a separate training run per model | a separate model per role | the foreground and the three backgrounds start from the same initial weights (seed 0) and draw the same batches; only the perturbations differ, so what the initial weights put into both models can cancel in the ratio more than between independent runs |
# | split | 48,000 train / 12,000 validation | all 60,000 for training, no validation split | 48,000 / 12,000 |
# | perturbation | redrawn as the data are revisited (its input pipeline batches first and then shuffles whole batches, so a batch's images stay together across epochs) | rate 0.2, drawn by the library's mutation function | redrawn for every batch, images reshuffled every epoch |
# | $\mu$ and L2 | grid $\mu \in \{0.1, 0.2, 0.3\}$ × L2 $\in \{0, 10, 100\}$ on the background, chosen on NotMNIST | $\mu = 0.2$, no L2 | **$\mu = 0.2$ a priori** (the references' suggested value; Ren et al.'s released FashionMNIST background uses 0.1, so this departs from their selected value), no L2 (`TrainConfig.weight_decay` exists, but the grid's selection set, NotMNIST, is not offline, so no value could be chosen) |
# | test images | 10,000 + 10,000 | 10,000 + 10,000 | 1000 + 1000 (the chapter's sets) |
# | runs | the evaluation script's note: "We run 10 independent experiments to get the mean and variance of AUROC" (whether the published 0.994 is such a mean is not checked here) | one pretrained detector | one foreground, one background per $\mu$ |
# | MNIST AUROC | 0.994 | 0.957 | printed below |
#
# The reference column is read from Ren et al.'s public code (google-research, `genomics_ood/images_ood`:
# `train.py`, `eval.py` and the `params.json` of the FashionMNIST models released with it, trained for
# 50,000 updates; the background released there has $\mu = 0.1$ and no L2). The library column is
# read from Alibi Detect's public example notebook (SeldonIO/alibi-detect,
# `doc/source/examples/od_llr_mnist.ipynb`: its ROC figure prints AUC 0.9574 for the ratio and
# 0.1027 for the likelihood, beside this chapter's 0.050 and 0.087). Ren et al.'s table may also
# report a variant without L2 on the background, the closer comparison to this run (no L2 here);
# the paper's table could not be read offline, so only the 0.994 given for this pair is quoted.
#
# <!-- quoted: 0.994 (Ren et al. 2019) 0.957 0.9574 0.1027 (Alibi Detect's example) 0.3 0.2 60,000 37,500 50,000 (Ren et al. 2019) 48,000 12,000 10,000 0.53 0.95 0.9995 0.999995 0.821 (benchmarks/RESULTS.md) -->
#
# $\mu$ is fixed before looking at any OOD set, at the value the library example uses and the
# middle of Ren et al.'s grid. The other rates were trained too, to show below how much the
# choice matters; that figure is not used to choose. The `full` profile carries the published
# optimiser and budget (`TrainConfig`: Adam 1e-4 with betas (0.95, 0.9995), the rate times 0.999995
# at every update, batch 32, 50,000 updates; it keeps the clipping at 50) but not the reference's
# second pass with skip connections: a GPU run of it tests budget and optimiser, not the network.

# %%
PUBLISHED_LR = {"Ren et al. 2019 (PixelCNN++, 50,000 updates)": 0.994, "Alibi Detect example (20 epochs)": 0.957}
PUBLISHED_COLOURS = ("tab:purple", "tab:olive")  # the two published values, drawn dotted
prior_background = background_bpd[PRIOR_RATE]


def ratio_scores(background: dict[str, np.ndarray], name: str, foreground: dict | None = None) -> np.ndarray:
    """The log-likelihood ratio in BPD units, background BPD minus foreground BPD, of set ``name``."""
    foreground = gated_bpd if foreground is None else foreground
    return likelihood_ratio(-foreground[name], -background[name])


def paired_mnist_difference(first: dict[str, np.ndarray], second: dict[str, np.ndarray]):
    """MNIST AUROC of the ratio to ``first`` minus that of the ratio to ``second`` (denominator BPDs), paired."""
    first_in, first_out, second_in, second_out = (
        ratio_scores(bpd, name) for bpd in (first, second) for name in ("FashionMNIST", "MNIST")
    )
    return bootstrap_auroc_difference(first_in, first_out, second_in, second_out)


lr_name = f"likelihood ratio (gated PixelCNN, mu = {PRIOR_RATE})"
add_row(
    lr_name,
    ratio_scores(prior_background, "FashionMNIST"),
    {name: ratio_scores(prior_background, name) for name in ood_sets},
)
for name in ("FashionMNIST", "FashionMNIST validation", "MNIST", "constant"):
    print(
        f"{name:24s} mean BPD: gated PixelCNN {gated_bpd[name].mean():.3f}, "
        f"background (mu = {PRIOR_RATE}) {prior_background[name].mean():.3f}"
    )
print(
    "mean ratio (background BPD minus model BPD): "
    + ", ".join(f"{name} {ratio_scores(prior_background, name).mean():.3f}" for name in evaluated)
)
show_row(lr_name)
lr_mnist = table[lr_name]["MNIST"]
print(f"MNIST: AUPR-In {lr_mnist.aupr_in.format(3)}, FPR95 {lr_mnist.fpr_at_95_tpr.format(3)}")
print("published MNIST AUROC: " + "; ".join(f"{source} {value:.3f}" for source, value in PUBLISHED_LR.items()))

# %% [markdown]
# The ratio lifts MNIST's AUROC from the gated likelihood's 0.050 to 0.850 [0.831, 0.867]; its
# FPR95 stays at 0.959 (at a 95% true-positive rate almost every MNIST image is still accepted).
# That is far from Ren et al.'s 0.994 and the library example's 0.957, and below the 0.9 this book
# aimed for: **in this CPU setup the replication fails**, and the next two cells look for why. On the
# other sets the ratio keeps noise (1.000) and *fails* on constant images (0.013, where the gated
# likelihood alone scored 0.935): the background model rates constants far worse than the full
# model does (the printed mean ratios: 1.809 for constants, larger than for any other set), so the
# ratio calls them the most FashionMNIST-like images of all.

# %% [markdown]
# **Budget or architecture?** Both gated models kept, at every evaluation (every 100 updates), the
# BPD of each of the same 500 FashionMNIST-test and 500 MNIST-test images, scored under the same
# seed (`TrainConfig.per_image_eval`; the zoo's fixed evaluation subsets, not the table's 1000
# images). So the ratio's AUROC can be computed at every evaluated update of *these* two models,
# with a bootstrap interval over those images, and the likelihood's beside it. (At update 0 the two
# models are the same network, so every image's ratio is 0: that point is left out.) A curve still
# rising at the last update would say that more of this recipe's updates would help; a flat one says
# only that they help little soon, not what the published recipe would reach.

# %%
foreground_history, background_history = gated.history, backgrounds[PRIOR_RATE].history
updates = np.array(foreground_history["step"])
per_image = {"model": foreground_history["eval_per_image"], "background": background_history["eval_per_image"]}
curve = {"likelihood ratio": [], "likelihood (gated PixelCNN)": []}
trained = updates > 0  # at update 0 both models are the same network: the ratio is 0 for every image
for k, step in enumerate(updates):
    model_bpd = {key: np.array(per_image["model"][key][k]) for key in ("test", "mnist")}
    background_bpd_k = {key: np.array(per_image["background"][key][k]) for key in ("test", "mnist")}
    ratio = {key: background_bpd_k[key] - model_bpd[key] for key in model_bpd}
    curve["likelihood (gated PixelCNN)"].append(bootstrap_ood_metrics(-model_bpd["test"], -model_bpd["mnist"]).auroc)
    if step > 0:
        curve["likelihood ratio"].append(bootstrap_ood_metrics(ratio["test"], ratio["mnist"]).auroc)
    print(
        f"update {step:4d}: BPD FashionMNIST-test model {model_bpd['test'].mean():.3f}, "
        f"background {background_bpd_k['test'].mean():.3f}; MNIST AUROC: ratio "
        f"{curve['likelihood ratio'][-1].format(3) if step > 0 else '(identical models)'}, "
        f"likelihood {curve['likelihood (gated PixelCNN)'][-1].format(3)}"
    )
ratio_curve = np.array([value.estimate for value in curve["likelihood ratio"]])  # updates[trained]
later = updates[trained] >= 300
rate_curves = {}  # the same curve with each background (one foreground, seed and batch order for all)
for rate, model in backgrounds.items():
    rate_per_image = model.history["eval_per_image"]
    rate_curves[rate] = np.array(
        [
            scores.auroc(
                np.array(rate_per_image["test"][k]) - np.array(per_image["model"]["test"][k]),
                np.array(rate_per_image["mnist"][k]) - np.array(per_image["model"]["mnist"][k]),
            )
            for k in np.flatnonzero(trained)
        ]
    )
    print(f"mu = {rate}: ratio AUROC per update " + " ".join(f"{value:.3f}" for value in rate_curves[rate]))
print(
    f"ratio AUROC from update 300 to {updates[-1]}: {ratio_curve[later].min():.3f} to {ratio_curve[later].max():.3f}; "
    f"largest change between successive evaluations there {np.abs(np.diff(ratio_curve[later])).max():.3f}"
)
print(f"at the last update on these 500 + 500 images: {curve['likelihood ratio'][-1].format(3)}")

# Two pairs trained outside the zoo by benchmarks/lr_feasibility.py (mu = 0.2, Adam 1e-3, 1000 + 1000 other
# test images; benchmarks/RESULTS.md): MNIST AUROC of the ratio at each evaluated update, quoted from there.
# update: (AUROC, 95% interval)
OTHER_RUNS = {
    "same recipe; other weights, training images, order (RESULTS.md; 1000 + 1000 other images)": {
        100: (0.853, 0.834, 0.871),
        200: (0.823, 0.801, 0.841),
        400: (0.875, 0.859, 0.893),
        800: (0.876, 0.860, 0.894),
    },
    "10 blocks instead of 5 (RESULTS.md; the first 500 + 500 of its own test sets)": {
        100: (0.906, 0.885, 0.928),
        200: (0.837, 0.807, 0.865),
        400: (0.877, 0.852, 0.902),
        800: (0.552, 0.514, 0.591),
    },
}
OTHER_RUN_BPD = {  # the 10-block pair's mean BPDs at updates 400 and 800 on its 500 + 500 images, from RESULTS.md
    "foreground, FashionMNIST": (3.219, 3.200),
    "foreground, MNIST": (1.581, 1.476),
    "background, FashionMNIST": (3.748, 3.660),
    "background, MNIST": (1.864, 1.861),
}
print("quoted from benchmarks/RESULTS.md (runs outside the zoo, not re-run here): MNIST AUROC of the ratio per update")
for label, run in OTHER_RUNS.items():
    print(f"  {label}: " + ", ".join(f"{u}: {a:.3f} [{lo:.3f}, {hi:.3f}]" for u, (a, lo, hi) in run.items()))
print(
    "  the 10-block pair's mean BPD, update 400 -> 800: "
    + ", ".join(f"{label} {first:.3f} -> {last:.3f}" for label, (first, last) in OTHER_RUN_BPD.items())
)
fig, (ax_bpd, ax_auroc) = plt.subplots(1, 2, figsize=(14, 7.0))
for history, label, style in (
    (foreground_history, "gated PixelCNN", "-"),
    (background_history, f"background, mu = {PRIOR_RATE}", "--"),
):
    for key, colour in (("test", "C0"), ("mnist", "C1")):
        ax_bpd.plot(
            updates,
            history["eval"][key],
            style,
            color=colour,
            label=f"{label}, {'FashionMNIST' if key == 'test' else 'MNIST'}-test",
        )
ax_bpd.set_xlabel("training update")
ax_bpd.set_ylabel("mean BPD (500 images)")
ax_bpd.set_ylim(top=min(8.5, ax_bpd.get_ylim()[1]))
ax_bpd.set_title("(a) the two models' BPD during training")
ax_bpd.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=1)
for (label, values), colour in zip(curve.items(), ("C2", "C3")):
    steps = updates[trained] if label == "likelihood ratio" else updates
    label = f"{label}, mu = {PRIOR_RATE}" if label == "likelihood ratio" else label
    ax_auroc.plot(steps, [value.estimate for value in values], marker="o", color=colour, label=label)
    ax_auroc.fill_between(
        steps, [value.low for value in values], [value.high for value in values], color=colour, alpha=0.2
    )
for rate, style, colour in zip((0.1, 0.3), ("--", "-."), ("C4", "C5")):
    ax_auroc.plot(
        updates[trained],
        rate_curves[rate],
        style,
        color=colour,
        linewidth=1,
        label=f"likelihood ratio, mu = {rate} (no band)",
    )
for (label, run), marker, shift in zip(OTHER_RUNS.items(), ("x", "+"), (-15, 15)):
    label = f"{label}; drawn {shift:+d} updates"

    estimates, lows, highs = (np.array([point[index] for point in run.values()]) for index in range(3))
    ax_auroc.errorbar(
        np.array(list(run)) + shift,  # drawn 15 updates apart so the two runs' markers do not overlap
        estimates,
        yerr=[estimates - lows, highs - estimates],
        fmt=marker,
        color="black",
        markersize=8,
        capsize=3,
        label=label,
    )
for (source, value), colour in zip(PUBLISHED_LR.items(), PUBLISHED_COLOURS):
    ax_auroc.axhline(value, linestyle=":", color=colour, label=f"published ratio: {source}, {value}")


def target_and_chance(ax: plt.Axes) -> None:
    """The 0.9 this chapter aims for and chance, as horizontal lines on an AUROC axis (0 to 1)."""
    ax.axhline(0.9, color="black", linestyle="--", linewidth=0.8, label="this book's target, 0.9")
    ax.axhline(0.5, color="red", linestyle=":", linewidth=0.8, label="chance")
    ax.set_ylim(0, 1.02)


target_and_chance(ax_auroc)
ax_auroc.set_xlabel("training update (both models)")
ax_auroc.set_ylabel("MNIST AUROC (95% interval)")
ax_auroc.set_title(
    "(b) the ratio's AUROC during training\n(lines: the 500 + 500 history images; markers: other runs, their own images)"
)
ax_auroc.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# Both models' BPDs fall over the run as a whole, with a small rise at the last evaluation (FashionMNIST-test: the model from 5.354 to 3.161, the
# background from 5.354 to 3.757), and the likelihood's AUROC stays below 0.1 at every update. The
# ratio's AUROC does not follow the BPDs: it is highest at the first evaluation, 0.929
# [0.911, 0.945] after 100 updates, drops to 0.795 at 200, and from update 300 to 800 stays between
# 0.823 and 0.870 (no trend was tested; at most 0.029 between successive evaluations from update 300 on; 0.848
# [0.819, 0.875] at the end on these 500 + 500 images, 0.850 on the table's 1000 + 1000). The
# backgrounds for the other two rates trace the same shape (printed: highest at update 100, below
# 0.9 from update 300 on), but they are not independent runs: all three share the foreground, the
# seed, the initial weights and the batch order.
#
# So at this learning rate the second half of the budget improves both likelihoods and not the
# ratio. But these are 800 updates against the reference's 50,000, at a constant rate 10 times larger
# than its decaying one: the curve says that more of *this* recipe buys little soon, not what the
# reference recipe reaches. The early peak is no recipe either: stopping at update 100 would be a
# choice made by looking at MNIST, the test set, and the validation pair was scored only with the
# final models (where it ranks backwards, below), so nothing offline here could make that choice.
# Runs also differ: a pair with the same recipe trained outside the zoo
# (quoted from `benchmarks/RESULTS.md` and printed above, not re-run in this notebook;
# `benchmarks/lr_feasibility.py`: other initial weights, the first 48,000 training images where
# the zoo draws a random 48,000, in another order,
# 1000 + 1000 other test images; crosses in panel b) gave 0.853 after 100 updates, 0.875 after 400
# and 0.876 after 800: in that run no early peak, and an end point near this curve's range. Each
# run is scored on its own images, so the two curves are not compared point by point.
#
# **Why 0.850 and not 0.994 is not identified here.** One candidate was tested: depth. The reference
# runs 5 gated layers in an upward and 5 in a downward pass; a pair with 10 blocks in one pass,
# trained like the crosses (pluses in panel b; quoted like them; the same first 500 + 500 test
# images at every point), gave 0.906, 0.837 and 0.877 after 100, 200 and 400 updates, close to the 5-block runs
# (each run on its own test images, so such small differences are not resolved), and then 0.552
# after 800. On those images its foreground's
# BPD still fell (FashionMNIST 3.219 to 3.200) but fell faster on MNIST (1.581 to 1.476) while the
# background's MNIST BPD stayed (1.864 to 1.861) and its FashionMNIST BPD caught up (3.748 to
# 3.660): both moves shrink the FashionMNIST-MNIST gap of the ratio, and the ratio lost MNIST. So in
# that one run doubling the depth did not close the gap at this budget, and a pair's ratio lost a
# third of the AUROC scale between updates 400 and 800 (the two quoted evaluations).
# Untested candidates: the optimiser (the reference's betas (0.95, 0.9995) and its 10 times smaller,
# decaying rate, which need its 60 times longer budget: a GPU run of the `full` profile, which
# carries them); $\mu$ and L2 chosen on NotMNIST (not offline), the reference's skip
# connections between its two passes, and averaging over runs (its evaluation script repeats 10
# independent experiments; here one pair). Note also that the untrained model already prefers MNIST
# (the likelihood's AUROC is 0.022 [0.014, 0.030] at update 0): the preference is there before any
# training (section 5 shows that the initialised network makes black pixels cheap); whether the
# trained models' preference has the same cause is not tested here.
#
# <!-- quoted: 0.95 0.9995 (Ren et al.'s code) -->

# %% [markdown]
# **Sensitivity to $\mu$** (not used to choose): the MNIST AUROC of the ratio with each
# background, and the AUROC the validation pair (held-out FashionMNIST against grayed CIFAR-10)
# would have reported for each, with their intervals.

# %%
sensitivity = {}
for rate, background in background_bpd.items():
    sensitivity[rate] = {
        "MNIST": bootstrap_ood_metrics(
            ratio_scores(background, "FashionMNIST"), ratio_scores(background, "MNIST")
        ).auroc,
        "validation": bootstrap_ood_metrics(
            ratio_scores(background, "FashionMNIST validation"), ratio_scores(background, "grayed CIFAR-10")
        ).auroc,
    }
    print(
        f"mu = {rate}: MNIST AUROC {sensitivity[rate]['MNIST'].format(3)}; "
        f"validation AUROC (grayed CIFAR-10) {sensitivity[rate]['validation'].format(3)}"
    )
mu_differences = {
    rate: paired_mnist_difference(background_bpd[PRIOR_RATE], background)
    for rate, background in background_bpd.items()
    if rate != PRIOR_RATE
}
for rate, difference in mu_differences.items():
    print(
        f"MNIST AUROC, mu = {PRIOR_RATE} minus mu = {rate} (paired, same foreground and images): {difference.format(3)}"
    )
validation_choice = max(sensitivity, key=lambda rate: sensitivity[rate]["validation"].estimate)
print(f"the validation pair would have chosen mu = {validation_choice}; the chapter uses mu = {PRIOR_RATE} (a priori)")

fig, ax = plt.subplots(figsize=(8, 5.6))
rates = np.array(list(sensitivity))
for offset, (key, label) in zip(
    (-0.005, 0.005),
    (
        ("MNIST", "test pair: FashionMNIST-test vs MNIST-test"),
        ("validation", "validation pair: held-out FashionMNIST vs grayed CIFAR-10"),
    ),
):
    values = [sensitivity[rate][key] for rate in rates]
    ax.errorbar(
        rates + offset,
        [value.estimate for value in values],
        yerr=[[value.estimate - value.low for value in values], [value.high - value.estimate for value in values]],
        marker="o",
        capsize=4,
        label=label,
    )
for (source, value), colour in zip(PUBLISHED_LR.items(), PUBLISHED_COLOURS):
    ax.axhline(value, linestyle=":", color=colour, label=f"published (test pair): {source}, {value}")
ax.set_ylim(0, 1.02)
ax.axvline(PRIOR_RATE, color="black", linestyle="--", linewidth=0.8, label=f"mu used (a priori, {PRIOR_RATE})")
ax.axhline(0.5, color="red", linestyle=":", linewidth=0.8, label="chance")
ax.set_xlabel("background perturbation rate mu")
ax.set_ylabel("AUROC of the likelihood ratio (95% interval)")
ax.set_title("Sensitivity to mu (not used for the choice)")
ax.set_xticks(rates)
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
fig.tight_layout()
plots.show(fig)

# %%
# NBVAL_CHECK_OUTPUT
finding("mu = 0.3 ranks MNIST below mu = 0.2 (paired interval above 0)", bool(mu_differences[0.3].low > 0))
finding(
    "mu = 0.1 and mu = 0.2 are not resolved (paired interval covers 0)",
    bool(mu_differences[0.1].low <= 0 <= mu_differences[0.1].high),
)

# %% [markdown]
# On these models the choice between $\mu$ = 0.1 and 0.2 matters little, and $\mu$ = 0.3 costs a
# few hundredths: the MNIST AUROC is 0.846, 0.850 and 0.819 for $\mu$ = 0.1, 0.2 and 0.3, and the
# paired differences (same foreground, same images) are 0.004 [-0.004, 0.011] for 0.2 against 0.1
# and 0.030 [0.024, 0.037] for 0.2 against 0.3 (checked). All three backgrounds share the
# foreground, the initial weights and the batch order, which makes them agree more than
# independent runs would. There is one background model per $\mu$, so
# the intervals cover the images, not training runs; the run-to-run spread is not measured (a second
# seed per $\mu$ would), and Figure 1's cell shows that one pair's AUROC moves by up to 0.029
# between successive evaluations from update 300 on. The validation pair could not have chosen: for every $\mu$ the
# ratio rates grayed CIFAR-10 images as *more* FashionMNIST-like than held-out FashionMNIST images
# (validation AUROC 0.068 to 0.096). Its largest value picks $\mu = 0.3$, the lowest on MNIST,
# by validation differences its unpaired intervals do not resolve. Here grayed natural images could not choose
# (Ren et al. use NotMNIST, letters on black, which is not offline; exercise 3 tries uniform noise).

# %% [markdown]
# ## 5. A ratio without a perturbation rate: a strong model against a local one
#
# The background model's job is to know the local statistics (smoothness, dark areas) and little
# else. The idea of this section (after Schirrmeister et al.): a model that can *only* know local
# statistics might do that job without a perturbation rate. The candidate here is
# the small PixelCNN of chapter 04, a masked 7×7 layer and four masked 3×3 residual blocks, trained
# on clean FashionMNIST; each of its conditionals sees only a window of earlier pixels (measured in
# the next cell, with a blind spot: a pixel counts when changing it moves the conditional by more
# than 1e-6 nats, computed in float64). It is "local" only relative to the gated model, and the next
# cell measures how much: at 28×28 the gated model's five blocks do not reach every earlier pixel
# either (about 13 rows above against 7), so the contrast is a narrower against a wider window, not
# local against global. It also differs from the gated model in much else: output layer (a 256-way
# softmax), optimiser (Adamax, batch 64), training images (all 60,000) and budget. So a second
# local model serves as the **control**: the gated PixelCNN itself with one block instead of five
# (`zoo` name `gated_pixelcnn_local`), trained exactly as the gated models (same output layer,
# optimiser, batch, 48,000 images, 800 updates); its window and its capacity differ. Schirrmeister et al. 2020
# score with the ratio of a model of the data to a general-domain model; the local model plays that
# part here:
#
# $$S(x) = \log p_\text{gated}(x) - \log p_\text{local}(x)
#   = D\ln 2\,(\text{BPD}_\text{local}(x) - \text{BPD}_\text{gated}(x)).$$


# %%
fields = {  # ood_lib.analysis.receptive_field: earlier pixels moving the conditional by > 1e-6 nats (in float64)
    label: receptive_field(model, fashion_test[:1], row=14, column=14)
    for label, model in (
        ("small PixelCNN", pixelcnn.model),
        ("one-block gated PixelCNN", local_gated.model),
        ("gated PixelCNN", gated.model),
    )
}
for label, seen in fields.items():
    print(
        f"the {label}'s conditional at pixel (14, 14) depends on {len(seen)} of the {14 * 28 + 14} earlier "
        f"pixels: at most {max(r for r, _ in seen)} rows above and {max(abs(c) for _, c in seen)} columns to either side"
    )
local_name = "ratio to the small PixelCNN (no mu)"
control_name = "ratio to a one-block gated PixelCNN (control)"


for row_name, denominator in ((local_name, pixelcnn_bpd), (control_name, local_gated_bpd)):
    add_row(
        row_name,
        ratio_scores(denominator, "FashionMNIST"),
        {name: ratio_scores(denominator, name) for name in ood_sets},
    )
    show_row(row_name)
local_against_background = paired_mnist_difference(prior_background, pixelcnn_bpd)
print(f"MNIST AUROC, background ratio minus local ratio (paired over images): {local_against_background.format(3)}")
control_against_local = paired_mnist_difference(local_gated_bpd, pixelcnn_bpd)
print(f"MNIST AUROC, control ratio minus small-PixelCNN ratio (paired over images): {control_against_local.format(3)}")
control_against_background = paired_mnist_difference(local_gated_bpd, prior_background)
print(
    f"MNIST AUROC, control ratio minus background ratio (mu = {PRIOR_RATE}, paired): {control_against_background.format(3)}"
)
for name in evaluated:
    print(
        f"{name:24s} mean BPD: gated {gated_bpd[name].mean():.3f}; small PixelCNN {pixelcnn_bpd[name].mean():.3f} "
        f"(minus gated {(pixelcnn_bpd[name] - gated_bpd[name]).mean():.3f}); one-block gated "
        f"{local_gated_bpd[name].mean():.3f} (minus gated {(local_gated_bpd[name] - gated_bpd[name]).mean():.3f})"
    )
print(
    "parameters: gated PixelCNN "
    + ", one-block gated PixelCNN ".join(
        f"{sum(p.numel() for p in m.model.parameters())}" for m in (gated, local_gated)
    )
)

# %% [markdown]
# **Over training, and against an untrained denominator.** Every gated model kept its per-image
# BPDs on the same 500 + 500 history images (section 4), so the control ratio has a curve too; and
# the foreground's own update-0 entry is the *untrained* gated network, a denominator that has
# learned nothing, which separates "a weaker second model" from "a model of local statistics".

# %%
foreground_images = gated.history["eval_per_image"]


def history_ratio(denominator: dict, k_denominator: int, k_foreground: int) -> dict[str, np.ndarray]:
    """Per-image ratio (denominator BPD minus foreground BPD) on the history images, at two evaluations."""
    return {
        key: np.array(denominator[key][k_denominator]) - np.array(foreground_images[key][k_foreground])
        for key in ("test", "mnist")
    }


local_images = local_gated.history["eval_per_image"]
ratio_paths = {
    f"background ratio, mu = {PRIOR_RATE}": [
        history_ratio(per_image["background"], k, k) for k in np.flatnonzero(trained)
    ],
    "control ratio (one-block gated)": [history_ratio(local_images, k, k) for k in np.flatnonzero(trained)],
    "ratio to the untrained gated network": [history_ratio(foreground_images, 0, k) for k in np.flatnonzero(trained)],
}
path_intervals = {
    label: [bootstrap_ood_metrics(r["test"], r["mnist"]).auroc for r in path] for label, path in ratio_paths.items()
}
path_aurocs = {label: [value.estimate for value in values] for label, values in path_intervals.items()}
for label, values in path_aurocs.items():
    print(
        f"{label:38s} MNIST AUROC at updates {', '.join(str(int(u)) for u in updates[trained])}: "
        + " ".join(f"{v:.3f}" for v in values)
        + f" ({sum(v >= 0.9 for v in values)} of {len(values)} at or above 0.9)"
    )
last_control, last_untrained = (
    ratio_paths["control ratio (one-block gated)"][-1],
    ratio_paths["ratio to the untrained gated network"][-1],
)
untrained_minus_control = bootstrap_auroc_difference(
    last_untrained["test"], last_untrained["mnist"], last_control["test"], last_control["mnist"]
)
print(
    f"at update {updates[-1]} (history images): control {bootstrap_ood_metrics(last_control['test'], last_control['mnist']).auroc.format(3)}, "
    f"untrained denominator {bootstrap_ood_metrics(last_untrained['test'], last_untrained['mnist']).auroc.format(3)}; "
    f"untrained minus control (paired) {untrained_minus_control.format(3)}"
)
fig, ax = plt.subplots(figsize=(8, 5.6))
for (label, values), style, colour in zip(path_intervals.items(), ("o-", "s-", "^--"), ("C0", "C1", "C2")):
    ax.plot(updates[trained], [value.estimate for value in values], style, color=colour, label=label)
    ax.fill_between(
        updates[trained], [value.low for value in values], [value.high for value in values], color=colour, alpha=0.2
    )
target_and_chance(ax)
ax.set_xlabel("training update (the foreground and, for the first two, the second model)")
ax.set_ylabel("MNIST AUROC (500 + 500 history images, 95% interval)")
ax.set_title("Two-model ratios during training")
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# **On the table's images, and across initialisations.** The table's images are scored with freshly
# initialised gated PixelCNNs of the same size (seeds 0, 1, 2; seed 0 on every set, the others on
# FashionMNIST and MNIST; seed 0 is the zoo's, so its network is the foreground's own starting
# point, checked below), and each one's BPD is compared with the share of black (0-valued) pixels
# of an image, the simplest statistic an untrained network could track.

# %%
UNTRAINED_SEEDS = (0, 1, 2)
untrained_name = "ratio to an untrained gated PixelCNN (seed 0)"
untrained_bpd, untrained_models = {}, {}
for seed in UNTRAINED_SEEDS:
    torch.manual_seed(seed)
    untrained_models[seed] = GatedPixelCNN(
        image_shape=(1, 28, 28), **profile.architecture("gated_pixelcnn", (28, 28, 1))
    )
    sets = evaluated if seed == UNTRAINED_SEEDS[0] else {name: evaluated[name] for name in ("FashionMNIST", "MNIST")}
    untrained_bpd[seed] = bpd_of("untrained gated PixelCNN", untrained_models[seed].eval(), sets)
history_test = fixed_subset(
    data.to_tensor(data.load("fashion_mnist", "test")[0]), gated_budget.n_eval, gated_budget.seed
)
seed_0_on_history = scores.bits_per_dim(untrained_models[0], history_test[:50])
seed_0_is_the_start = bool(
    np.abs(seed_0_on_history - np.array(gated.history["eval_per_image"]["test"][0][:50])).max() < 1e-4
)
add_row(
    untrained_name,
    ratio_scores(untrained_bpd[0], "FashionMNIST"),
    {name: ratio_scores(untrained_bpd[0], name) for name in ood_sets},
)
show_row(untrained_name)
untrained_mnist = table[untrained_name]["MNIST"]
all_black = int(evaluated["constant"].flatten(1).eq(0).all(dim=1).sum())
print(
    f"constant images, mean BPD: untrained {untrained_bpd[0]['constant'].mean():.2f}, trained gated "
    f"{gated_bpd['constant'].mean():.2f}; all-black ones among the {len(evaluated['constant'])}: {all_black}"
)
print(
    f"MNIST: FPR95 {untrained_mnist.fpr_at_95_tpr.format(3)} (control {table[control_name]['MNIST'].fpr_at_95_tpr.format(3)})"
)
untrained_against_control = paired_mnist_difference(untrained_bpd[0], local_gated_bpd)
print(f"untrained minus control, MNIST AUROC (paired): {untrained_against_control.format(3)}")
untrained_seed_aurocs = {
    seed: scores.auroc(ratio_scores(bpd, "FashionMNIST"), ratio_scores(bpd, "MNIST"))
    for seed, bpd in untrained_bpd.items()
}
print("MNIST AUROC per initialisation: " + ", ".join(f"seed {s} {v:.3f}" for s, v in untrained_seed_aurocs.items()))
black_share = {name: (x_uint8 == 0).double().mean(dim=(1, 2, 3)).numpy() for name, x_uint8 in evaluated.items()}
print(
    "mean share of black (0) pixels: " + ", ".join(f"{name} {share.mean():.3f}" for name, share in black_share.items())
)
untrained_black_correlation = {
    seed: stats.map_rank_correlation(
        np.concatenate([bpd["FashionMNIST"], bpd["MNIST"]]),
        np.concatenate([black_share["FashionMNIST"], black_share["MNIST"]]),
    )
    for seed, bpd in untrained_bpd.items()
}
for seed, rho in untrained_black_correlation.items():
    print(f"seed {seed}: rank correlation of the untrained BPD with the share of black pixels (2000 images) {rho:.3f}")
control_black = stats.map_rank_correlation(
    np.concatenate([local_gated_bpd["FashionMNIST"], local_gated_bpd["MNIST"]]),
    np.concatenate([black_share["FashionMNIST"], black_share["MNIST"]]),
)
gated_black = stats.map_rank_correlation(
    np.concatenate([gated_bpd["FashionMNIST"], gated_bpd["MNIST"]]),
    np.concatenate([black_share["FashionMNIST"], black_share["MNIST"]]),
)
print(f"the same correlation for the trained models' BPDs: one-block {control_black:.3f}, gated {gated_black:.3f}")
within = {
    name: stats.map_rank_correlation(untrained_bpd[0][name], black_share[name]) for name in ("FashionMNIST", "MNIST")
}
print("untrained (seed 0), within each set: " + ", ".join(f"{name} {rho:.3f}" for name, rho in within.items()))
constant_probe = torch.stack([torch.full(evaluated["MNIST"].shape[1:], v, dtype=torch.uint8) for v in (0, 128, 255)])
probe_bpd = scores.bits_per_dim(untrained_models[0], constant_probe)
print(
    "untrained (seed 0), BPD of constant images with every pixel at 0, 128, 255: "
    + ", ".join(f"{bpd:.2f}" for bpd in probe_bpd)
)
white_share = {name: (evaluated[name] == 255).double().mean().item() for name in ("FashionMNIST", "MNIST")}
print("mean share of white (255) pixels: " + ", ".join(f"{name} {share:.3f}" for name, share in white_share.items()))
print(
    "untrained minus trained gated, mean BPD: "
    + ", ".join(
        f"{name} {(untrained_bpd[0][name] - gated_bpd[name]).mean():.2f}" for name in ("FashionMNIST", "constant")
    )
)

# %% [markdown]
# Without a perturbation rate the ratio to the small PixelCNN lifts MNIST to 0.824 [0.807, 0.841], far
# above the gated likelihood's 0.050 and close to the background ratio's 0.850: the paired
# difference over the same images, 0.025 [0.008, 0.043], says the background ratio ranks MNIST
# slightly better. At the 95% true-positive rate the order reverses: FPR95 0.788 [0.740, 0.882] for
# the local ratio against 0.959 [0.924, 0.974] (disjoint intervals), so it accepts fewer MNIST images
# at that threshold. It fails outright on noise (0.000) and constants (0.050): the local model rates
# noise and constant images far worse than the gated model does (by 1.683 to 2.246 BPD, printed)
# while on FashionMNIST the two differ by 0.467 (3.634 against 3.167), so those images get the
# largest ratios of all. Schirrmeister et al.'s general-domain model was trained on far more
# varied images than this local one, which has seen only FashionMNIST; whether theirs avoids this
# failure is not tested here.
#
# **The control: a narrower window, and less capacity.** The gated model against its one-block
# version (trained the same way; its window reaches at most 5 rows up and 4 columns to either side,
# and it has 32,867 parameters against 160,739, printed) gives MNIST an AUROC of 0.910
# [0.896, 0.923] and FPR95 0.476 [0.400, 0.535] at update 800: 0.085 [0.068, 0.103] above the
# small-PixelCNN ratio and 0.060 [0.041, 0.079] above the background ratio (paired over the same
# images, one run of each model). At update 800 the control, even more local than the small
# PixelCNN (5 rows against 7), does better, so at that stopping point a narrow window is not what
# holds the small PixelCNN's ratio back (earlier in training the control does worse, below); which of the other differences does (stopping point, optimiser, output layer, data,
# capacity) is not separated here.
#
# The curves qualify the 0.910. Over training the control ratio runs from 0.778 at update 100 down
# to 0.084 at update 200 (MNIST ranked almost perfectly *backwards*) and climbs to its highest value,
# 0.898 on the history images, only at the last update: its value depends on where the two models
# are stopped (one run of each). The ratio to the *untrained* gated network, by AUROC, is not
# resolved from it at update 800: 0.918 [0.898, 0.937] against the control's 0.898 [0.875, 0.917] on the same images
# (paired 0.021 [-0.007, 0.051], not resolved), and over training its estimates stay between 0.843
# and 0.923 (printed; the bands in the figure are the intervals per update). The next cell looks at it on the table's
# images. One block is the only window tried. The control keeps the local ratio's failures on noise
# and constants (0.044 and 0.228; the one-block model also rates them worse than the gated one, by
# 0.361 to 0.455 BPD against 0.185 on FashionMNIST, printed), and the control is the only
# single-image score whose h-flip interval excludes 0.5 (0.582 [0.558, 0.607]).

# %% [markdown]
# On the table's images an untrained gated PixelCNN (seed 0) as denominator gives MNIST 0.904
# [0.889, 0.919], by AUROC not resolved from the control (paired -0.006 [-0.023, 0.011]), but with a
# far worse FPR95, 0.820 [0.730, 0.910] against 0.476; two other initialisations give 0.925 and 0.941
# (scored without intervals), so seed 0, the one compared with the control, is the lowest of the three.
# Its BPD follows the share of black pixels almost exactly (rank correlation -0.992 for seed 0
# over FashionMNIST and MNIST pooled, printed for each initialisation; within each set too), and
# that is present at initialisation rather than learned: at initialisation each pixel's discretized
# logistic sits mid-range and wide, so an edge value (0 or 255) collects the whole tail beyond it
# and costs few bits, an interior value many (printed: the untrained BPD of constant images at 0,
# 128 and 255). So the untrained BPD is close to a count of edge-valued pixels, in these sets almost
# all black (the white shares are printed), and this ratio acts as the gated model's BPD minus that
# count, a cruder cousin of section 6's compressed length. The untrained network's preference
# for MNIST at update 0 (section 4) fits the same reading: it is there before anything is learned.
# The trained models' BPDs follow the black share closely too when both sets are pooled (printed;
# within each set they were not computed), which MNIST's being both darker and likelier under every
# model here would produce. The untrained ratio keeps uniform and Gaussian noise (1.000) and
# fails on constant images (0.041): the untrained network rates constants far worse than the
# trained one (untrained minus trained mean BPD printed for constants and for FashionMNIST), and the
# constant values are drawn from 0 to 255, so almost none of them is black (printed). So this is
# not evidence that a second model helps by knowing local statistics, and neither is the control,
# which helps only at some stopping points.
#
# <!-- quoted: 0.476 (the control's FPR95, printed above) -->

# %% [markdown]
# ## 6. Input complexity
#
# $S(x) = -\log_2 p(x) - L(x)$ in bits, with $L(x)$ the image's size as a PNG file
# (`ood_lib.ood.complexity`; Pillow at maximum compression). Constant images and MNIST digits on
# black compress far better than FashionMNIST (the printed bits per pixel, each including PNG's
# fixed framing, printed too: so constants do not reach 0 and noise exceeds 8), so their high
# likelihood is discounted; noise does not compress at all. The in-distribution score is $-S(x)$,
# here with the Glow (seed 0, and the spread over the three seeds) and with the gated PixelCNN.
# Serra et al. 2020 report this score for these models' families, with several compressors (PNG is
# one choice among them; exercise 4 tries another); their table could not be read offline, so no
# number of theirs is quoted.

# %%
png_start = time.process_time()
code_lengths = {name: png_code_lengths(x_uint8.permute(0, 2, 3, 1).numpy()) for name, x_uint8 in evaluated.items()}
scoring_cpu_seconds["PNG compressor"] = time.process_time() - png_start  # the decision guide's cost column
scored_images["PNG compressor"] = sum(len(x_uint8) for x_uint8 in evaluated.values())
print(f"PNG compressor: {cpu_ms_per_image('PNG compressor'):.2f} CPU ms per image")
for name, lengths in code_lengths.items():
    print(f"{name:24s} PNG {lengths.mean() / NUM_DIMS:5.2f} bits per pixel; Glow {glow_bpd[0][name].mean():6.2f} BPD")
PNG_FRAMING_BYTES = 8 + 25 + 12 + 12 + 6  # signature, IHDR chunk, IDAT and IEND chunk fields, zlib header and checksum
print(
    f"of every PNG, {PNG_FRAMING_BYTES} bytes are fixed framing: {8 * PNG_FRAMING_BYTES / NUM_DIMS:.2f} bits per pixel "
    "at 28 x 28 (a shift common to all images, so no ranking changes)"
)


def complexity_row(bpd: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(in-distribution scores, OOD scores per set) of minus the input-complexity score."""
    score = {name: -complexity_scores(bpd[name], code_lengths[name], NUM_DIMS) for name in evaluated}
    return score["FashionMNIST"], {name: score[name] for name in ood_sets}


add_row("input complexity (Glow, PNG)", *complexity_row(glow_bpd[0]))
add_row("input complexity (gated PixelCNN, PNG)", *complexity_row(gated_bpd))
show_row("input complexity (Glow, PNG)")
show_row("input complexity (gated PixelCNN, PNG)")
complexity_seed_aurocs = {
    name: [ood_metrics(complexity_row(bpd)[0], complexity_row(bpd)[1][name]).auroc for bpd in glow_bpd]
    for name in ood_sets
}
print(
    f"Glow input-complexity AUROC over the {len(glows)} seeds (min to max): "
    + "; ".join(f"{name} {min(values):.3f} to {max(values):.3f}" for name, values in complexity_seed_aurocs.items())
)
complexity_glow_minus_gated = bootstrap_auroc_difference(
    complexity_row(glow_bpd[0])[0],
    complexity_row(glow_bpd[0])[1]["MNIST"],
    complexity_row(gated_bpd)[0],
    complexity_row(gated_bpd)[1]["MNIST"],
)
print(
    f"MNIST AUROC, input complexity with the Glow minus with the gated PixelCNN (paired): {complexity_glow_minus_gated.format(3)}"
)

# %%
# NBVAL_CHECK_OUTPUT
finding(
    "PNG code length: MNIST shorter than FashionMNIST (means)",
    bool(code_lengths["MNIST"].mean() < code_lengths["FashionMNIST"].mean()),
)
mean_code_length = {name: lengths.mean() for name, lengths in code_lengths.items()}
sanity_check(
    "PNG code length: constant images shortest, uniform noise longest of every set (by construction of the sets)",
    min(mean_code_length, key=mean_code_length.get) == "constant"
    and max(mean_code_length, key=mean_code_length.get) == "uniform noise",
)

# %% [markdown]
# Input complexity is the best single-image score on MNIST: 0.991 [0.986, 0.996] with the Glow
# (FPR95 0.002; its AUROC the same for all three seeds), and 0.983 with the gated PixelCNN, both
# above every other single-image score (disjoint intervals); the Glow's lead over the gated
# PixelCNN is small but outside its paired interval (0.009 [0.005, 0.013]). It keeps noise
# and constants (0.999 to 1.000 with the Glow). In the other direction of the pair it is the
# weakest of the one-model scores on this pair (below, "The other direction").
#
# ## 7. Outlier exposure
#
# Fine-tune the small PixelCNN with, for each batch of inliers $x$ and outliers $x'$,
#
# $$\mathcal{L} = \overline{b(x)} + \lambda\, \overline{\max\{0,\ m + b(x) - b(x')\}},$$
#
# $b$ the BPD, so the margin $m$ is in **bits per dimension** ($m D \ln 2$ nats per image), and
# $\lambda = 1$ (`ood_lib.training.outlier_exposure`, 300 updates from the trained model).
# **The outliers:** the CIFAR-10 subset's *training* images, grayed and resized to 28×28, a set
# disjoint from every test OOD set here (its test images, section 4's validation set, serve below
# as *held-out* outliers).
#
# | | Hendrycks et al. 2019 | here |
# |---|---|---|
# | model | PixelCNN++ trained on CIFAR-10 | the small PixelCNN (a masked 7×7 layer, four masked 3×3 residual blocks) trained on FashionMNIST |
# | outliers | 80 Million Tiny Images | the 4000 training images of the CIFAR-10 subset, grayed, 28×28 (printed) |
# | margin | 1 on the per-pixel negative log-likelihood (its log base is not known to us; in nats it would be about one and a half BPD) | $m = 1$ and $m = 4$ BPD |
# | weight $\lambda$ | not known to us | 1 |
# | fine-tune | from the trained model (length not known to us) | 300 updates of 64 inliers + 64 outliers, Adamax 5e-4 |
# | test pair | CIFAR-10 vs SVHN: AUROC 15.8 → 75.8 | FashionMNIST vs MNIST (printed) |
#
# <!-- quoted: 15.8 75.8 (Hendrycks et al. 2019, Table 5) -->
#
# A hinge only teaches through the pairs on which it is *active*, $m + b(x) - b(x') > 0$. The
# training history records the share of active pairs (the pairs of each update's batches,
# averaged between evaluations; the first entry is the first batch of 64 pairs only). With $m = 1$
# almost none are: the small PixelCNN already rates these outliers far above the inliers (the
# training pairs' gaps, printed below). So a second run uses $m = 4$, the smallest whole margin at
# which most training pairs start active (printed: the share for each candidate $m$, computed on
# FashionMNIST *training* images paired with the outliers; no test set, no MNIST).

# %%
for margin, model in exposed.items():
    active = model.history["outlier_active_fraction"]
    print(
        f"margin {margin:g} BPD: share of active hinge pairs at updates {model.history['step']}: "
        + ", ".join(f"{share:.3f}" for share in active)
    )
outlier_training_images = data.load("cifar10_subset", "train")[0]
print(f"outlier set: {len(outlier_training_images)} CIFAR-10-subset training images, grayed and resized to 28x28")
outlier_images = data.to_tensor(data.as_shape(outlier_training_images[: len(fashion_test)], (28, 28, 1)))
held_out_outliers = validation_sets["grayed CIFAR-10"]
before_and_after = {"small PixelCNN (no exposure)": pixelcnn_bpd} | {
    f"exposed, margin {margin:g}": exposed_bpd[margin] for margin in exposed
}
models_by_label = {"small PixelCNN (no exposure)": pixelcnn.model} | {
    f"exposed, margin {margin:g}": model.model for margin, model in exposed.items()
}
outlier_bpd = {}
for label, bpd in before_and_after.items():
    outlier_bpd[label] = bpd_of("OE outliers", models_by_label[label], {"x": outlier_images})["x"]
    print(
        f"{label:28s} FashionMNIST-test {bpd['FashionMNIST'].mean():.3f} BPD, MNIST-test {bpd['MNIST'].mean():.3f}, "
        f"outliers (grayed CIFAR-10 train, {len(outlier_images)}) {outlier_bpd[label].mean():.3f}"
    )
training_pairs_bpd = bpd_of("OE outliers", pixelcnn.model, {"x": fashion_train[: len(outlier_images)]})["x"]
training_gaps = outlier_bpd["small PixelCNN (no exposure)"] - training_pairs_bpd  # outlier i against inlier i
print(
    f"before exposure, training pairs (FashionMNIST train image i, outlier i): median gap {np.median(training_gaps):.2f} BPD; "
    "share of pairs a margin m would make active: "
    + ", ".join(f"m = {m}: {(m > training_gaps).mean():.3f}" for m in (1, 2, 3, 4, 5, 6))
)
for margin in exposed:
    add_row(f"outlier exposure (small PixelCNN, m = {margin:g})", *likelihood_scores(exposed_bpd[margin]))
    show_row(f"outlier exposure (small PixelCNN, m = {margin:g})")
held_out_outlier_bpd = {
    label: bpd_of("OE outliers", models_by_label[label], {"x": held_out_outliers})["x"] for label in models_by_label
}
print(
    f"held-out outliers (grayed CIFAR-10 test, {len(held_out_outliers)}), mean BPD: "
    + ", ".join(f"{label} {values.mean():.3f}" for label, values in held_out_outlier_bpd.items())
)
oe_changes = {
    name: bootstrap_mean(after - before)
    for name, after, before in (
        ("outliers", outlier_bpd[f"exposed, margin {ACTIVE_MARGIN:g}"], outlier_bpd["small PixelCNN (no exposure)"]),
        (
            "held-out outliers",
            held_out_outlier_bpd[f"exposed, margin {ACTIVE_MARGIN:g}"],
            held_out_outlier_bpd["small PixelCNN (no exposure)"],
        ),
        ("FashionMNIST-test", exposed_bpd[ACTIVE_MARGIN]["FashionMNIST"], pixelcnn_bpd["FashionMNIST"]),
        ("MNIST-test", exposed_bpd[ACTIVE_MARGIN]["MNIST"], pixelcnn_bpd["MNIST"]),
    )
}
print(
    f"margin {ACTIVE_MARGIN:g}, BPD change per image (paired): "
    + "; ".join(f"{name} {change.format(3)}" for name, change in oe_changes.items())
)
oe_auroc_change = bootstrap_auroc_difference(
    -exposed_bpd[ACTIVE_MARGIN]["FashionMNIST"],
    -exposed_bpd[ACTIVE_MARGIN]["MNIST"],
    -pixelcnn_bpd["FashionMNIST"],
    -pixelcnn_bpd["MNIST"],
)
print(f"margin {ACTIVE_MARGIN:g}, MNIST AUROC change (paired): {oe_auroc_change.format(3)}")

# %% [markdown]
# With $m = 1$ the hinge is active on 1.6% of the pairs at the start and on less than 1% after:
# the fine-tune is ordinary continued training (FashionMNIST-test 3.634 → 3.609 BPD), and nothing
# moves. With $m = 4$, 70.3% of the pairs start active and 14.4% still are at the end; the
# training outliers are pushed up by 2.08 BPD (paired interval printed), and, more to the point,
# the *held-out* grayed CIFAR-10 test images by about as much (printed), at a cost of 0.113 BPD on
# FashionMNIST-test. Outlier exposure does what it is asked, beyond the images it saw. MNIST's AUROC moves by less than 0.01 (the paired
# change and its interval are printed): the MNIST digits' BPD rises too, by less than
# FashionMNIST-test's (both printed), and the paired AUROC change shows that their ranking against
# FashionMNIST hardly changes. What the model learned to
# reject is grayed natural images, including unseen ones, not "anything unlike FashionMNIST".
# Hendrycks et al.'s gain (15.8 → 75.8 on CIFAR-10 vs SVHN) came with 80 Million Tiny Images as
# outliers, a far larger and more varied set than these 4000 images; whether such a set would
# transfer to MNIST here is not tested (the held-out outliers above come from the same distribution
# as the training ones).
#
# <!-- quoted: 15.8 75.8 (Hendrycks et al. 2019, Table 5) -->

# %% [markdown]
# ## All scores, all OOD sets
#
# AUROC with FashionMNIST-test as the in-distribution (positive) set; 0.5 is chance, below 0.5
# the score prefers the OOD set. Each entry's interval is printed in its section, and the published
# values for the MNIST column in the paragraph after the figure (two decimals here: 0.00 and 0.50
# can hide 0.002 or 0.496). Typicality with batches is left out: it ranks batches, not images
# (section 2).

# %%
score_names = list(table)
auroc_matrix = np.array([[table[score][name].auroc.estimate for name in ood_sets] for score in score_names])
fig, ax = plt.subplots(figsize=(11, 0.5 * len(score_names) + 1.8))
sns.heatmap(
    auroc_matrix,
    annot=True,
    fmt=".2f",
    vmin=0.0,
    vmax=1.0,
    center=0.5,
    cmap="RdBu",
    xticklabels=list(ood_sets),
    yticklabels=score_names,
    cbar_kws={"label": "AUROC (FashionMNIST-test = positive)"},
    ax=ax,
)
ax.set_xlabel("OOD set")
ax.set_ylabel("score")
ax.set_title("FashionMNIST-trained models: AUROC of each score")
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# The MNIST column in full, with 95% intervals, and the published numbers where a comparable one
# exists: Choi et al. 2018 report, for FashionMNIST against MNIST with a VAE (not our models),
# AUROC 42.3% for $\log p(x)$ and 76.6% for WAIC (their table as quoted in this book's planning
# notes; the paper itself was not at hand offline to check them). Our WAIC row is **not a replication** of theirs:
# their ensemble is of five VAEs whose likelihood is already near chance on this pair, ours of three
# Glows whose likelihood starts far below it (0.087); the book trains no VAE ensemble, so which of
# model family and $K$ makes the difference is not tested. For the likelihood ratio, Ren et al. 0.994 and the
# library example 0.957 (section 4). No published value is shown for the typicality test, input
# complexity, the ratio to a local model or the vertical flips: Nalisnick et al.'s, Serra et al.'s,
# Schirrmeister et al.'s and Choi et al.'s (vertical flips) tables could not be read offline. AUPR-In has no floor at 0: with equal-sized sets, a score that ranks every OOD image
# above every in-distribution one still gets about 0.31 (in theory $1 - \ln 2$), and chance is 0.5.
#
# <!-- quoted: 42.3 76.6 (Choi et al. 2018) -->

# %%
print(f"{'score (FashionMNIST vs MNIST)':52s} {'AUROC':>22s} {'AUPR-In':>22s} {'FPR95':>22s}")
for score_name, row in table.items():
    metrics = row["MNIST"]
    print(
        f"{score_name:52s} {metrics.auroc.format(3):>22s} {metrics.aupr_in.format(3):>22s} "
        f"{metrics.fpr_at_95_tpr.format(3):>22s}"
    )
print(f"typicality test, batches of 25 (batch-level AUROC): {typicality_auroc[25]['MNIST'].format(3)}")

# %% [markdown]
# The ROC curves behind the MNIST column for one score of each kind (per image; the batch-level
# typicality test has no per-image curve; intervals are in the table above). Scores with nearly
# equal AUROCs overlap: the gated likelihood and the outlier-exposed PixelCNN (0.050 and 0.048), and
# typicality at $M = 1$ and the small-PixelCNN ratio (0.819 and 0.824).

# %%
roc_scores = (
    "log-likelihood (Glow)",
    "log-likelihood (gated PixelCNN)",
    "typicality, M = 1 (Glow)",
    f"WAIC ({K} Glows)",
    lr_name,
    local_name,
    control_name,
    untrained_name,
    "input complexity (Glow, PNG)",
    f"outlier exposure (small PixelCNN, m = {ACTIVE_MARGIN:g})",
)
in_and_out = {
    "log-likelihood (Glow)": likelihood_scores(glow_bpd[0]),
    "log-likelihood (gated PixelCNN)": likelihood_scores(gated_bpd),
    "typicality, M = 1 (Glow)": (
        test_1.scores(-glow_bpd[0]["FashionMNIST"]),
        {"MNIST": test_1.scores(-glow_bpd[0]["MNIST"])},
    ),
    f"WAIC ({K} Glows)": (waic(member_log_p["FashionMNIST"]), {"MNIST": waic(member_log_p["MNIST"])}),
    lr_name: (ratio_scores(prior_background, "FashionMNIST"), {"MNIST": ratio_scores(prior_background, "MNIST")}),
    local_name: (ratio_scores(pixelcnn_bpd, "FashionMNIST"), {"MNIST": ratio_scores(pixelcnn_bpd, "MNIST")}),
    control_name: (ratio_scores(local_gated_bpd, "FashionMNIST"), {"MNIST": ratio_scores(local_gated_bpd, "MNIST")}),
    untrained_name: (
        ratio_scores(untrained_bpd[0], "FashionMNIST"),
        {"MNIST": ratio_scores(untrained_bpd[0], "MNIST")},
    ),
    "input complexity (Glow, PNG)": complexity_row(glow_bpd[0]),
    f"outlier exposure (small PixelCNN, m = {ACTIVE_MARGIN:g})": likelihood_scores(exposed_bpd[ACTIVE_MARGIN]),
}
fig, ax = plt.subplots(figsize=(10, 5.5))
for index, score_name in enumerate(roc_scores):
    in_scores, out_scores = in_and_out[score_name]
    false_positive_rate, true_positive_rate = roc_points(in_scores, out_scores["MNIST"])
    ax.plot(
        false_positive_rate,
        true_positive_rate,
        linestyle=("-", "--", "-.", (0, (1, 1)))[index % 4],
        color=plt.get_cmap("tab10")(index),
        label=score_name,
    )
ax.plot([0, 1], [0, 1], color="black", linestyle=":", linewidth=0.8, label="chance")
ax.set_xlabel("false positive rate (MNIST accepted)")
ax.set_ylabel("true positive rate (FashionMNIST accepted)")
ax.set_title("FashionMNIST (in) vs MNIST (OOD), one image at a time")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
ax.set_aspect("equal")
fig.tight_layout()
plots.show(fig)

# %% [markdown]
# ## The other direction: MNIST-trained models, FashionMNIST as OOD
#
# Chapter 04 found the effect asymmetric: the MNIST Glow rejects FashionMNIST by likelihood. The
# scores that need only one model, side by side, with the MNIST Glow and the MNIST-trained small
# PixelCNN (chapter 04's exercise model); input complexity's advantage in the first direction
# need not survive the swap.

# %%
glow_mnist = zoo.get("glow", "mnist", profile)
pixelcnn_mnist = zoo.get("pixelcnn", "mnist", profile)
print(f"Glow on MNIST: {glow_mnist.provenance()}")
print(f"small PixelCNN on MNIST: {pixelcnn_mnist.provenance()}")
mnist_test = ood_sets["MNIST"]
mnist_train = data.load_tensor("mnist", "train", n=2 * len(fashion_test), seed=profile.seed + 1)[0]
reverse_sets = {"MNIST": mnist_test, "FashionMNIST": fashion_test}
reverse_bpd = bpd_of("MNIST Glow", glow_mnist.model, {**reverse_sets, "train": mnist_train})
reverse_pixelcnn_bpd = bpd_of("MNIST small PixelCNN", pixelcnn_mnist.model, reverse_sets)
print(f"FashionMNIST images at the BPD cap under the MNIST Glow: {(reverse_bpd['FashionMNIST'] >= BPD_CAP).sum()}")
half_mnist = len(reverse_bpd["train"]) // 2
reverse_test = TypicalityTest.fit(
    -reverse_bpd["train"][:half_mnist], -reverse_bpd["train"][half_mnist:], 1, seed=profile.seed
)


def reverse_complexity(bpd: dict[str, np.ndarray], name: str) -> np.ndarray:
    return -complexity_scores(bpd[name], code_lengths[name], NUM_DIMS)


reverse = {
    "log-likelihood (Glow)": (-reverse_bpd["MNIST"], -reverse_bpd["FashionMNIST"]),
    "typicality, M = 1 (Glow)": (
        reverse_test.scores(-reverse_bpd["MNIST"]),
        reverse_test.scores(-reverse_bpd["FashionMNIST"]),
    ),
    "input complexity (Glow, PNG)": (
        reverse_complexity(reverse_bpd, "MNIST"),
        reverse_complexity(reverse_bpd, "FashionMNIST"),
    ),
    "log-likelihood (small PixelCNN)": (-reverse_pixelcnn_bpd["MNIST"], -reverse_pixelcnn_bpd["FashionMNIST"]),
    "input complexity (small PixelCNN, PNG)": (
        reverse_complexity(reverse_pixelcnn_bpd, "MNIST"),
        reverse_complexity(reverse_pixelcnn_bpd, "FashionMNIST"),
    ),
}
reverse_metrics = {name: bootstrap_ood_metrics(*pair) for name, pair in reverse.items()}
for score_name, metrics in reverse_metrics.items():
    print(f"MNIST-trained, {score_name:38s} AUROC {metrics.auroc.format(3)}, FPR95 {metrics.fpr_at_95_tpr.format(3)}")

# %% [markdown]
# In this direction the likelihood already works (AUROC 1.000, FPR95 0.003 with the Glow), and
# input complexity is the *weakest* of the Glow's three scores by FPR95: 0.037 [0.016, 0.117]
# against 0.003 and 0.006, disjoint intervals; with the small PixelCNN the gap is wider (0.247
# against 0.005). On this pair, subtracting the PNG length helps in the direction where the OOD
# set is the simpler one and costs in the other: its advantage depends on the direction (one pair
# in each direction is all this shows).

# %% [markdown]
# CIFAR-10 and SVHN pairs run with the same functions when both data sets are present (they are
# not on this machine). Published CIFAR-10 vs SVHN numbers: Glow likelihood AUROC 7.5 → WAIC 100
# (Choi et al. 2018); PixelCNN++ 15.8 → 75.8 with outlier exposure (Hendrycks et al. 2019,
# Table 5).
#
# <!-- quoted: 7.5 100 (Choi et al. 2018) 15.8 75.8 (Hendrycks et al. 2019, Table 5) -->

# %%
if data.is_available("cifar10") and data.is_available("svhn"):
    cifar_glow = zoo.get("glow", "cifar10", profile)
    pair = {name: data.load_tensor(name, "test", n=n_images, seed=profile.seed)[0] for name in ("cifar10", "svhn")}
    pair_bpd = bpd_of("CIFAR-10 Glow", cifar_glow.model, pair)
    lengths = {name: png_code_lengths(x_uint8.permute(0, 2, 3, 1).numpy()) for name, x_uint8 in pair.items()}
    likelihood_pair = bootstrap_ood_metrics(-pair_bpd["cifar10"], -pair_bpd["svhn"]).auroc
    complexity_pair = bootstrap_ood_metrics(
        -complexity_scores(pair_bpd["cifar10"], lengths["cifar10"], 3072),
        -complexity_scores(pair_bpd["svhn"], lengths["svhn"], 3072),
    ).auroc
    print(f"CIFAR-10 Glow vs SVHN: likelihood AUROC {likelihood_pair.format(3)}")
    print(f"input complexity AUROC {complexity_pair.format(3)}")
else:
    print("CIFAR-10 or SVHN absent: the 32x32x3 pairs are skipped.")

# %% [markdown]
# ## What each score fixes, and what it does not
#
# Each claim of this chapter, checked against the printed metrics and their intervals; a flipped
# finding fails the book's check.


# %%
# NBVAL_CHECK_OUTPUT
def mnist(score_name: str):
    """The MNIST column's metrics (with intervals) of ``score_name``."""
    return table[score_name]["MNIST"]


likelihood_rows = ("log-likelihood (Glow)", "log-likelihood (small PixelCNN)", "log-likelihood (gated PixelCNN)")
single_image_scores = list(table)
finding(
    "likelihood prefers MNIST for all three families (interval below 0.5)",
    all(mnist(row).auroc.high < 0.5 for row in likelihood_rows),
)
finding("likelihood prefers MNIST for every Glow seed (AUROC below 0.5)", bool(max(seed_aurocs["MNIST"]) < 0.5))
footwear_share, other_share = (right_heavy.numpy()[mask].mean() for mask in (is_footwear, ~is_footwear))
finding(
    "footwear is right-heavy in over 90% of the images, more often than the other classes",
    bool(footwear_share > 0.9 and footwear_share > other_share),
)
finding(
    "h-flipped footwear: both likelihoods' AUROC below 0.6 (a miss)",
    bool(max(flip_by_group[(model_name, "footwear")].estimate for model_name in ("Glow", "gated PixelCNN")) < 0.6),
)
sanity_check(
    "likelihood detects uniform noise for all three families (AUROC > 0.99; noise sits near 9 BPD)",
    all(table[row]["uniform noise"].auroc.estimate > 0.99 for row in likelihood_rows),
)
finding(
    "the Glow prefers constant images (interval below 0.5)",
    bool(table["log-likelihood (Glow)"]["constant"].auroc.high < 0.5),
)
finding(
    "both PixelCNNs reject constant images (interval above 0.9)",
    all(table[row]["constant"].auroc.low > 0.9 for row in likelihood_rows[1:]),
)
finding(
    "h-flipped FashionMNIST: 0.5 inside every single-image score's interval but the one-block control ratio's",
    all(
        row["h-flipped FashionMNIST"].auroc.low <= 0.5 <= row["h-flipped FashionMNIST"].auroc.high
        for name, row in table.items()
        if name != control_name
    )
    and table[control_name]["h-flipped FashionMNIST"].auroc.low > 0.5,
)
finding(
    "h-flipped footwear, paired: both likelihoods rate more than 90% of the images above their own flip",
    bool(min(flip_preferred[(model_name, "footwear")].low for model_name in ("Glow", "gated PixelCNN")) > 0.9),
)
finding(
    "v-flipped FashionMNIST: no single-image score reaches 0.65",
    bool(max(row["v-flipped FashionMNIST"].auroc.estimate for row in table.values()) < 0.65),
)
finding(
    "v-flipped: Glow likelihood, WAIC and input complexity above chance (interval above 0.5)",
    all(
        table[row]["v-flipped FashionMNIST"].auroc.low > 0.5
        for row in ("log-likelihood (Glow)", f"WAIC ({K} Glows)", "input complexity (Glow, PNG)")
    ),
)
finding(
    "v-flipped: both PixelCNNs' likelihoods at chance (interval covers 0.5)",
    all(
        table[row]["v-flipped FashionMNIST"].auroc.low <= 0.5 <= table[row]["v-flipped FashionMNIST"].auroc.high
        for row in ("log-likelihood (small PixelCNN)", "log-likelihood (gated PixelCNN)")
    ),
)
finding(
    "typicality, M = 1: MNIST ranked far better than by the likelihood (intervals disjoint)",
    bool(mnist("typicality, M = 1 (Glow)").auroc.low > mnist("log-likelihood (Glow)").auroc.high),
)
finding("typicality, M = 1: FPR95 on MNIST above 0.5", bool(mnist("typicality, M = 1 (Glow)").fpr_at_95_tpr.low > 0.5))
finding(
    "typicality, M = 1: less than a fifth of single MNIST images rejected at its threshold",
    bool(rejected_at_1["MNIST"].high < 0.2),
)
finding(
    "typicality, M = 1: single constant images pass (AUROC interval below 0.5)",
    bool(table["typicality, M = 1 (Glow)"]["constant"].auroc.high < 0.5),
)
finding(
    "typicality: MNIST batches of 10 and of 25 ranked perfectly (AUROC > 0.9995)",
    bool(min(typicality_auroc[10]["MNIST"].estimate, typicality_auroc[25]["MNIST"].estimate) > 0.9995),
)
finding(
    "typicality, M = 25: every MNIST batch rejected at the test's threshold",
    bool(rejected_at_25["MNIST"].estimate == 1.0),
)
finding(
    "typicality, M = 25: constant batches rank well (AUROC > 0.95) but fewer than half are rejected",
    bool(typicality_auroc[25]["constant"].estimate > 0.95 and rejected_at_25["constant"].high < 0.5),
)
sanity_check(
    "ensemble mean prefers MNIST about as strongly as one Glow (AUROCs within 0.01; nearly built in: "
    "the three members' own AUROCs lie within 0.003)",
    bool(
        abs(mnist(f"ensemble mean ({K} Glows)").auroc.estimate - mnist("log-likelihood (Glow)").auroc.estimate) < 0.01
    ),
)
finding(
    "WAIC: above the ensemble mean on MNIST (disjoint intervals), still below 0.5",
    bool(
        mnist(f"ensemble mean ({K} Glows)").auroc.high < mnist(f"WAIC ({K} Glows)").auroc.low
        and mnist(f"WAIC ({K} Glows)").auroc.high < 0.5
    ),
)
finding(
    "WAIC: part of the MNIST gain is the members' offsets (paired difference to centred WAIC above 0)",
    bool(offset_share.low > 0),
)
finding(
    "WAIC: after centring the members disagree slightly more about MNIST (interval above 0)", bool(centred_gap.low > 0)
)
sanity_check(
    "WAIC on the BPD scale ranks as the ensemble mean does (MNIST AUROCs within 0.01; the variance term is 543 times weaker)",
    bool(abs(bpd_scale_waic.estimate - mnist(f"ensemble mean ({K} Glows)").auroc.estimate) < 0.01),
)
finding(
    "WAIC helps far more on constants (interval above the ensemble mean's)",
    bool(table[f"WAIC ({K} Glows)"]["constant"].auroc.low > table[f"ensemble mean ({K} Glows)"]["constant"].auroc.high),
)
finding("WAIC: FPR95 on MNIST above 0.95", bool(mnist(f"WAIC ({K} Glows)").fpr_at_95_tpr.low > 0.95))
finding(
    "likelihood ratio: MNIST AUROC above the gated likelihood's (disjoint intervals)",
    bool(mnist(lr_name).auroc.low > mnist("log-likelihood (gated PixelCNN)").auroc.high),
)
finding(
    "likelihood ratio: MNIST AUROC below 0.9 and below both published values (interval)",
    bool(mnist(lr_name).auroc.high < 0.9),
)
finding("likelihood ratio: FPR95 on MNIST above 0.9", bool(mnist(lr_name).fpr_at_95_tpr.low > 0.9))
finding(
    "likelihood ratio: fails on constant images (AUROC below 0.1)", bool(table[lr_name]["constant"].auroc.high < 0.1)
)
finding(
    "likelihood ratio: AUROC below 0.9 at every evaluation from update 300 on (500 + 500 images)",
    bool(ratio_curve[later].max() < 0.9),
)
finding(
    "likelihood ratio: last AUROC within 0.05 of update 400's (point estimates; no trend test)",
    bool(abs(ratio_curve[-1] - ratio_curve[updates[trained] == 400][0]) < 0.05),
)
sanity_check(
    "likelihood ratio: highest AUROC at update 100 with each background (descriptive: the three share one "
    "foreground, initialisation and batch order, so they are one run seen three times)",
    bool(all(updates[trained][np.argmax(values)] == 100 for values in rate_curves.values())),
)
sanity_check(
    "likelihood ratio: below 0.9 from update 300 on with each of the three backgrounds (descriptive: one run "
    "seen three times)",
    bool(max(values[later].max() for values in rate_curves.values()) < 0.9),
)
sanity_check(
    "both models' FashionMNIST-test BPD lower at the last update than at update 400 (what training optimises)",
    bool(
        all(
            history["eval"]["test"][-1] < np.array(history["eval"]["test"])[updates == 400][0]
            for history in (foreground_history, background_history)
        )
    ),
)
finding(
    "likelihood alone: MNIST AUROC below 0.1 at every evaluated update",
    bool(max(value.estimate for value in curve["likelihood (gated PixelCNN)"]) < 0.1),
)
finding(
    "likelihood ratio: the three mu's MNIST AUROCs lie within 0.05 of each other (one shared foreground, "
    "initialisation and batch order)",
    bool(np.ptp([value["MNIST"].estimate for value in sensitivity.values()]) < 0.05),
)
finding(
    "likelihood ratio: every validation AUROC below 0.5 (the validation pair cannot choose)",
    bool(max(value["validation"].high for value in sensitivity.values()) < 0.5),
)
finding(
    "ratio to the local model: MNIST above the likelihood's (disjoint), below the background ratio's (paired interval)",
    bool(
        mnist("log-likelihood (gated PixelCNN)").auroc.high < mnist(local_name).auroc.low
        and local_against_background.low > 0
    ),
)
finding(
    "control, update 800, one run each: MNIST AUROC above the small-PixelCNN and background ratios' (paired)",
    bool(control_against_local.low > 0 and control_against_background.low > 0),
)
control_path = np.array(path_aurocs["control ratio (one-block gated)"])
finding("control over training: MNIST ranked backwards at update 200 (AUROC below 0.5)", bool(control_path[1] < 0.5))
finding(
    "descriptive (history images): the untrained denominator not resolved from the control at update 800",
    bool(not untrained_minus_control.excludes(0.0)),
)
untrained_path = np.array(path_aurocs["ratio to the untrained gated network"])
finding(
    "ratio to the untrained gated network: above 0.8 at every evaluation (point estimates, history images)",
    bool(untrained_path.min() > 0.8),
)
sanity_check(
    "the seed-0 untrained network is the foreground's own starting network (its BPDs of 50 history images equal "
    "the history's update-0 entries to 1e-4)",
    seed_0_is_the_start,
)
sanity_check(
    "untrained gated PixelCNN: its BPD tracks the share of black pixels (rank correlation below -0.95, every seed; "
    "expected from the output layer at initialisation)",
    bool(max(untrained_black_correlation.values()) < -0.95),
)
finding(
    "untrained denominator, seed 0 (table images): MNIST AUROC within 0.03 of the control's (whole paired interval)",
    bool(abs(untrained_against_control.low) < 0.03 and abs(untrained_against_control.high) < 0.03),
)
finding(
    "untrained denominator: MNIST FPR95 above the control's (disjoint intervals)",
    bool(table[untrained_name]["MNIST"].fpr_at_95_tpr.low > table[control_name]["MNIST"].fpr_at_95_tpr.high),
)
finding(
    "control: still fails on uniform noise and constants (AUROC below 0.3)",
    bool(max(table[control_name]["uniform noise"].auroc.high, table[control_name]["constant"].auroc.high) < 0.3),
)
finding(
    "ratio to the local model: MNIST FPR95 below the background ratio's (disjoint intervals)",
    bool(mnist(local_name).fpr_at_95_tpr.high < mnist(lr_name).fpr_at_95_tpr.low),
)
finding(
    "ratio to the local model: fails on uniform noise and constants (AUROC below 0.05)",
    bool(max(table[local_name]["uniform noise"].auroc.estimate, table[local_name]["constant"].auroc.estimate) < 0.05),
)
complexity_rows = ("input complexity (Glow, PNG)", "input complexity (gated PixelCNN, PNG)")
finding(
    "input complexity (either model): MNIST AUROC above every other single-image score's (disjoint intervals)",
    bool(
        min(mnist(name).auroc.low for name in complexity_rows)
        > max(mnist(name).auroc.high for name in single_image_scores if name not in complexity_rows)
    ),
)
finding(
    "input complexity: the Glow's MNIST AUROC above the gated PixelCNN's (paired interval above 0)",
    bool(complexity_glow_minus_gated.low > 0),
)
finding(
    "input complexity: MNIST AUROC above 0.95 with the Glow and with the gated PixelCNN (intervals)",
    bool(
        min(mnist("input complexity (Glow, PNG)").auroc.low, mnist("input complexity (gated PixelCNN, PNG)").auroc.low)
        > 0.95
    ),
)
finding(
    "input complexity (Glow): noise still caught (AUROC > 0.99)",
    bool(
        min(table["input complexity (Glow, PNG)"][name].auroc.estimate for name in ("uniform noise", "Gaussian noise"))
        > 0.99
    ),
)
sanity_check(
    "input complexity (Glow): constants caught (AUROC > 0.99; nearly built in: constants are the shortest PNGs)",
    bool(table["input complexity (Glow, PNG)"]["constant"].auroc.estimate > 0.99),
)
finding(
    "MNIST-trained Glow: its likelihood rejects FashionMNIST (AUROC > 0.99)",
    bool(reverse_metrics["log-likelihood (Glow)"].auroc.estimate > 0.99),
)
finding(
    "MNIST-trained Glow: input complexity has the worst FPR95 of its three scores (disjoint intervals)",
    bool(
        reverse_metrics["input complexity (Glow, PNG)"].fpr_at_95_tpr.low
        > max(
            reverse_metrics[name].fpr_at_95_tpr.high for name in ("log-likelihood (Glow)", "typicality, M = 1 (Glow)")
        )
    ),
)
finding(
    "MNIST-trained small PixelCNN: input complexity's FPR95 above the likelihood's (disjoint intervals)",
    bool(
        reverse_metrics["input complexity (small PixelCNN, PNG)"].fpr_at_95_tpr.low
        > reverse_metrics["log-likelihood (small PixelCNN)"].fpr_at_95_tpr.high
    ),
)
active_1, active_4 = (
    exposed[margin].history["outlier_active_fraction"] for margin in (zoo.OUTLIER_MARGIN_BPD, ACTIVE_MARGIN)
)
finding("outlier exposure, m = 1: fewer than 5% of hinge pairs ever active", bool(max(active_1) < 0.05))
sanity_check("outlier exposure, m = 4: most pairs active at the start (m was chosen for it)", bool(active_4[0] > 0.5))
finding("outlier exposure, m = 4: under a third of the pairs still active at the end", bool(active_4[-1] < 1 / 3))
sanity_check(
    "outlier exposure, m = 4: its training outliers pushed up by more than 1 BPD (what it optimises)",
    bool(oe_changes["outliers"].low > 1.0),
)
finding(
    "outlier exposure, m = 4: held-out grayed CIFAR-10 images pushed up by more than 1 BPD (paired interval)",
    bool(oe_changes["held-out outliers"].low > 1.0),
)
finding(
    "outlier exposure, m = 4: MNIST AUROC moves by less than 0.01 (whole paired interval)",
    bool(max(abs(oe_auroc_change.low), abs(oe_auroc_change.high)) < 0.01),
)

# %% [markdown]
# - **Likelihood:** detects noise; fails on MNIST for all three families (every Glow seed too) and
#   on constant images for the Glow; h-flips at chance, which is a miss for footwear (drawn facing
#   one way) and closer to right for the other classes; v-flips barely above chance.
# - **Typicality:** turns "too likely" into a *ranking* that lifts MNIST to 0.819 image by image, but
#   one image at a time it *decides* badly (FPR95 0.776; a share of 0.073 of the MNIST images
#   rejected at its own threshold). With batches of 10 or more from one source it ranks MNIST perfectly and rejects
#   every batch of 25; constant batches rank well but mostly pass.
# - **Ensemble mean and WAIC:** three Glows still prefer MNIST; WAIC's small MNIST gain (0.089 →
#   0.187) is partly the members' offsets, and its ranking depends on the unit; on constants it
#   helps much more.
# - **Likelihood ratio:** MNIST at 0.850, far from the published 0.994 in this CPU setup, and
#   between 0.823 and 0.870 from update 300 on; its FPR95 stays
#   near 1 (0.959); on these models $\mu$ = 0.1 and 0.2 are not resolved and 0.3 is 0.030 lower
#   (paired; one background per $\mu$, so run-to-run spread not measured), the one offline
#   validation set tried (grayed CIFAR-10) could not choose it, and it fails on constants and on grayed natural images (validation AUROC
#   0.068 to 0.096: it rates grayed CIFAR-10 as more FashionMNIST-like than FashionMNIST).
# - **Ratio to a local model:** no perturbation rate. With the small PixelCNN, MNIST at 0.824, 0.025
#   below the background ratio (paired interval) but with the better FPR95 (0.788); with a
#   one-block gated PixelCNN trained like the gated model (narrower window, a fifth of the
#   parameters) 0.910 at update 800 on the table's images, but 0.084 at update 200 on the history
#   images. An untrained gated network as denominator gives 0.904 by AUROC (FPR95 0.820): its BPD
#   counts edge-valued (here mostly black) pixels, as its output layer at initialisation makes it
#   (rank correlation -0.992), so that ratio acts as a crude complexity correction. Some weaker denominators help at some
#   stopping points; none is shown to help by knowing local statistics. The ratios to the two
#   local models fail on noise and constants; the untrained one fails on constants.
# - **Input complexity:** the best single-image score on this pair (0.991, FPR95 0.002, with the
#   Glow; 0.983 with the gated PixelCNN), with the Glow noise and constants kept; but in the MNIST-trained direction it
#   is the weakest score by FPR95: its advantage depends on which set is the simpler one.
# - **Outlier exposure:** with the default margin it barely acts (at most 1.6% of pairs active); with an
#   active margin it pushes grayed natural images, seen and unseen, about 2 BPD up and moves MNIST's
#   AUROC by less than 0.01: here it learned to reject the kind of outliers it saw (one outlier set tried).
#
# ## A decision guide
#
# What each score needs, what it costs (the training images its models' updates drew, a
# machine-independent measure of the training budget, since the recorded training times come from
# different machines, loads and thread counts; the outlier-exposure fine-tune also draws as many
# outlier images as inliers; this run's scoring CPU milliseconds per image, one noisy measurement
# per model: the same small-PixelCNN architecture scores at visibly different speeds in its plain and
# outlier-exposed copies, so read the column as an order of magnitude), its result on the hard pair with its interval (over
# images; only the Glow rows have several seeds), and how it fails.

# %%
guide = [
    (
        "log-likelihood (Glow)",
        "one model",
        [glows[0]],
        ["Glow seed 0"],
        "prefers simpler inputs (MNIST; constants for the Glow)",
    ),
    (
        "typicality, M = 1 (Glow)",
        "one model, training images",
        [glows[0]],
        ["Glow seed 0"],
        "one image at a time it rejects few OOD images",
    ),
    (
        f"WAIC ({K} Glows)",
        f"{K} models",
        glows,
        [f"Glow seed {index}" for index in range(K)],
        "a small lift on MNIST, still below chance; unit- and offset-dependent",
    ),
    (
        lr_name,
        "a background per mu tried (3 here), a validation OOD set",
        [gated, *backgrounds.values()],
        ["gated PixelCNN", f"background mu = {PRIOR_RATE}"],
        "below the published value; fails on constants and grayed natural images",
    ),
    (
        local_name,
        "a second model; which one is the choice",
        [gated, pixelcnn],
        ["gated PixelCNN", "small PixelCNN"],
        "fails on noise and constants",
    ),
    (
        control_name,
        "a second, weaker model and when to stop it",
        [gated, local_gated],
        ["gated PixelCNN", "one-block gated PixelCNN"],
        "unstable over training (0.084 at update 200); fails on noise and constants",
    ),
    (
        untrained_name,
        "a second, untrained network (tracks black pixels)",
        [gated],
        ["gated PixelCNN", "untrained gated PixelCNN"],
        "fails on constants; worse FPR95 than the control",
    ),
    (
        "input complexity (Glow, PNG)",
        "one model, a compressor",
        [glows[0]],
        ["Glow seed 0", "PNG compressor"],
        "direction-dependent (see the MNIST-trained models)",
    ),
    (
        f"outlier exposure (small PixelCNN, m = {ACTIVE_MARGIN:g})",
        "outlier data, a fine-tune",
        [pixelcnn, exposed[ACTIVE_MARGIN]],
        ["OE margin 4"],
        "learns the kind of outliers it saw, not MNIST",
    ),
]


def images_trained_on(models: list) -> int:
    """Training images the models' updates drew in all (updates x batch size, summed; a fine-tune counts its base)."""
    return sum(model.config["train"]["n_steps"] * model.config["train"]["batch_size"] for model in models)


print(
    f"{'score':52s} | {'needs':58s} | training images drawn | score CPU ms/image | "
    f"{'MNIST AUROC [95%]':21s} | {'MNIST FPR95 [95%]':21s} | fails how"
)
for score_name, needs, trained, labels, failure in guide:
    metrics = table[score_name]["MNIST"]
    print(
        f"{score_name:52s} | {needs:58s} | {images_trained_on(trained):21,d} | "
        f"{sum(cpu_ms_per_image(label) for label in labels):17.1f} | {metrics.auroc.format(3):21s} | "
        f"{metrics.fpr_at_95_tpr.format(3):21s} | {failure}"
    )
batch_metrics = typicality_auroc[25]["MNIST"]
print(
    f"{'typicality, batches of 25 (Glow)':52s} | {'one model, a batch of 25 from one source':58s} | "
    f"{images_trained_on([glows[0]]):21,d} | {cpu_ms_per_image('Glow seed 0'):17.1f} | {batch_metrics.format(3):21s} | "
    f"{'(batches)':21s} | needs batches; sees only the mean"
)
print(
    "training images drawn per model: "
    + ", ".join(
        f"{label} {images_trained_on([model]):,d}"
        for label, model in (
            ("Glow", glows[0]),
            ("small PixelCNN", pixelcnn),
            ("gated PixelCNN", gated),
            ("outlier-exposure fine-tune", exposed[ACTIVE_MARGIN]),
        )
    )
)
own_models = {  # what chapter 08 trains itself after chapters 03 (Glows, seeds 0-2) and 04 (the small PixelCNN)
    "gated PixelCNN": gated,
    "one-block gated PixelCNN": local_gated,
    **{f"background mu = {rate}": model for rate, model in backgrounds.items()},
    **{f"outlier exposure m = {margin:g}": model for margin, model in exposed.items()},
    "small PixelCNN on MNIST": pixelcnn_mnist,
}
own_minutes = sum(model.train_seconds for model in own_models.values()) / 60
print(
    f"from an empty model directory (after chapters 03 and 04) this chapter trains {len(own_models)} models "
    f"({', '.join(own_models)}); their recorded training times at one thread (some on a shared machine, so not a "
    f"measurement on idle cores) sum to {own_minutes:.0f} minutes, "
    f"{'above' if own_minutes > 60 else 'within'} the 60-minute target"
)

# %% [markdown]
# **Which score, then?** On these models and sets:
#
# - If inputs come **in batches from one source**, the typicality test with $M = 25$ (from $M = 10$
#   the ranking is already perfect; the rejection shares per $M$ are printed in section 2): one
#   model, no extra data, and (the only batch score tried here) it rejected every MNIST batch at a
#   threshold set on training images alone, while falsely rejecting FashionMNIST-test batches at
#   estimated rates of 0.008 to 0.012 for the four batch sizes (intervals printed, reaching 0.027). Check its rejection rate on the kinds of batch you fear (constant
#   batches mostly passed).
# - For **single images**, input complexity: with the Glow and with the gated PixelCNN the best
#   single-image scores here on MNIST; with the Glow it also keeps noise and constants (0.999 to
#   1.000), at no cost beyond a compressor. Test it in the direction you care about: on this pair,
#   in the direction where the in-distribution images are the simpler ones, it was the weakest score.
# - The **likelihood ratio** needs a second model and a $\mu$ that an available validation set may
#   be unable to choose (it was here); at a CPU budget it reached 0.850, not the published 0.994,
#   and failed on constant images. Whether the published budget closes the gap is not shown here
#   (the `full` profile is there to test it); if it is used, check constant-like inputs separately.
# - The **plain likelihood** (0.087 with the Glow) is not a detector on this pair. The **ratio to a
#   local model** needs no perturbation rate, but its value depends on when the second model is
#   stopped (the one-block control: 0.910 at update 800 on the table's images, 0.084 at 200 on the
#   history images; one run), and it ranks noise
#   above FashionMNIST (0.044; 0.000 with the small PixelCNN). Dividing by an untrained network
#   amounts to subtracting a count of edge-valued pixels: input complexity does that job better
#   (0.983 with the same gated PixelCNN, 0.991 with the Glow) and keeps constants. Neither local ratio is a score to deploy without a validation set for the
#   stopping point and a check that catches noise (the plain likelihood ranks
#   noise images below FashionMNIST here, AUROC 1.000 to three decimals).
# - **WAIC** lifted MNIST only to 0.187, still far below chance, and **outlier exposure** moved it
#   by less than 0.01; with the one outlier set tried here, outlier exposure acted on inputs like its
#   outliers and not on MNIST, so choose the outlier set for the inputs to reject (exercise 5 uses
#   MNIST's training split, samples of the very distribution to reject, to show what that buys and
#   costs).

# %% [markdown]
# ## Exercises
#
# 1. Run the typicality test with $M = 25$ on batches that mix FashionMNIST and MNIST half and
#    half. What happens, and why? *Hint: where does such a batch's mean log-likelihood lie, relative to
#    the reference and the threshold?*
# 2. Compute WAIC's MNIST AUROC for K = 1 to 5 Glows, over every subset of K members, with
#    intervals. Does WAIC's AUROC change with K? The fourth and fifth Glow come with the book
#    (`zoo.Variant(seed=3)`, `seed=4`); training them afresh is a project, about a quarter of an
#    hour each on two idle cores (SEMINAR.md, "Running the projects"). *Hint: how many degrees of
#    freedom has a variance over K members, and what does it estimate?*
# 3. The chapter fixed $\mu$ a priori and printed which $\mu$ the grayed CIFAR-10 validation pair
#    would have chosen. Choose $\mu$ on uniform noise instead (held-out FashionMNIST images against
#    uniform noise). Does the choice change, and with it the MNIST AUROC? *Hint:
#    `scores.uniform_noise_images`; the three background models come with the book.*
# 4. Replace PNG by a second compressor (e.g. `zlib` on the raw bytes, or lossless JPEG 2000
#    through Pillow) in the input-complexity score. Does the MNIST AUROC survive the change, and
#    what decides whether it does? *Hint: only `png_code_lengths` changes; compare each
#    compressor's mean code lengths on the two sets.*
# 5. Use MNIST's training split as the outlier set of outlier exposure
#    (`zoo.Variant(outliers_from="mnist")`, a 300-update fine-tune that comes with the book; afresh
#    it takes minutes) and evaluate on the other OOD sets. Why is the MNIST column then meaningless, although no MNIST-test image is
#    among the outliers? *Hint: what distribution were the outliers drawn from?*

# %%
chapter_footer()
