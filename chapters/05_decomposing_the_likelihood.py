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
# on digits. The paper tests this in two steps, and we add one between them:
#
# 1. split every image's log-likelihood into the two terms (the paper's Figure 4a, b);
# 2. (ours, not the paper's) find out which layers produce the volume term;
# 3. remove the suspect: train a **constant-volume** Glow (CV-Glow), whose couplings' volume
#    term is the same number for every input, and see whether MNIST still wins (the paper's
#    Figure 4c). Its Figure 4d, BPD of train, test and OOD over training, is described in our
#    brief without naming the model, so we show both models' curves: the affine Glow's in
#    chapter 03, CV-Glow's here.
#
# Conventions used throughout: an AUROC here scores "in-distribution" with minus the BPD (higher
# = more in-distribution), so 0.5 is chance and a value far below 0.5 means the OOD set is
# scored *more* in-distribution than the test set; intervals are 95% bootstrap intervals over
# images (`ood_lib.ood.intervals`). All models are the `quick` profile's (departures table at the
# end of section 3): one seed each, except the FashionMNIST Glow, whose three cached seeds give
# section 3 a seed spread.
#
# Then two pieces of background the later chapters lean on: how large the volume term *can*
# be given the flow's sensitivity (the paper's Appendix C), and why the most likely input of a
# high-dimensional density looks nothing like a typical sample.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from ood_lib import data
from ood_lib.analysis.jacobian import largest_singular_value, per_example_jacobian
from ood_lib.analysis.log_prob_terms import log_prob_terms
from ood_lib.book import plots
from ood_lib.book.chapter import chapter_footer, chapter_header
from ood_lib.book.findings import finding, sanity_check
from ood_lib.data.dequantization import dequantize
from ood_lib.models.bpd import bits_per_dim_from_log_prob
from ood_lib.ood import intervals, scores
from ood_lib.training import zoo

profile = chapter_header("05 · Decomposing the likelihood")
test_sets = {
    name: data.load_tensor(name, "test", n=profile.n_eval, seed=profile.seed)[0] for name in ("fashion_mnist", "mnist")
}
mnist_labels = np.asarray(data.load_tensor("mnist", "test", n=profile.n_eval, seed=profile.seed)[1])
TITLES = {name: data.get_spec(name).title for name in data.SPECS}
NUM_DIMS = 28 * 28


def loaded(model_name: str, train_set: str) -> zoo.TrainedModel:
    """A model from the zoo, with a line saying where it came from and what it cost."""
    trained = zoo.get(model_name, train_set, profile)
    print(f"{model_name} on {TITLES[train_set]}: {trained.provenance()}")
    print(f"  architecture {trained.config['model']}; batch size {trained.config['train']['batch_size']}")
    return trained


def counted(samples: dict[str, np.ndarray], bins: np.ndarray) -> dict[str, np.ndarray]:
    """The same samples, each label extended by how many of its values fall off the axis on each side."""
    return {
        f"{label} (off-axis: {int((values < bins[0]).sum())} left, {int((values > bins[-1]).sum())} right, "
        f"of {len(values)})": values
        for label, values in samples.items()
    }


def covering_bins(arrays: list[np.ndarray], count: int = 60, clip_percent: float = 0.5) -> np.ndarray:
    """Shared bins spanning every sample's own central range (its clip_percent and 100 - clip_percent
    percentiles), so no set's mode is cut by a percentile of the pooled values."""
    low = min(np.percentile(values, clip_percent) for values in arrays)
    high = max(np.percentile(values, 100.0 - clip_percent) for values in arrays)
    return np.linspace(low, high, count + 1)


def signed_log10(values: np.ndarray) -> np.ndarray:
    """sign(v) log10(1 + |v|): keeps -50 and -4e11 nats on one readable axis."""
    return np.sign(values) * np.log10(1.0 + np.abs(values))


# %% [markdown]
# ## 1. Figure 4a, b: the two terms, image by image
#
# The density convention, once: an 8-bit image $x$ is dequantized to $y = (x + u)/256$ with
# $u \sim U[0,1)^D$, and $\log p$ is the flow's density of $y$ on $[0, 1)^D$, a density on a unit
# cube, so it is positive for a good model (thousands of nats);
# $\mathrm{BPD} = (D\log 256 - \log p(y)) / (D \ln 2)$. The split below runs the flow once per image
# (`ood_lib.analysis.log_prob_terms`, with the same dequantization noise as the BPD scores of chapter
# 04) and returns $\log p(z)$ (all latents, including the ones factored out at each level) and
# $\log|\det \partial f/\partial x|$, in **nats**, together with the parts of $\log p(z)$ that
# section 3 needs.

# %%
glow_fashion = loaded("glow", "fashion_mnist")


def likelihood_terms(model: torch.nn.Module, x_uint8: torch.Tensor) -> dict[str, np.ndarray]:
    """Per image: log p(z), log|det|, log p(x) and log p(z)'s parts (nats), with the noise of scores.bits_per_dim."""
    generator = torch.Generator().manual_seed(profile.seed)  # as scores.log_prob_parts: one generator, batches of 256
    rows = []
    with torch.no_grad():
        for start in range(0, len(x_uint8), 256):
            terms = log_prob_terms(model, dequantize(x_uint8[start : start + 256], generator))
            rows.append(
                {
                    "log_pz": terms.log_pz,
                    "log_det": terms.log_det,
                    "split_scale": sum(part.scale for prior, part in terms.priors.items() if prior != "top"),
                    "mahalanobis": terms.part("mahalanobis"),
                    "constant": terms.part("constant") + terms.priors["top"].scale,  # the same for every image
                    # diagnostics: the smallest prior scale log sigma met, the largest |z - mu|, and which
                    # prior (0 = split 1, ..., last = top) has the most negative Mahalanobis part
                    "smallest_log_std": torch.stack([part.smallest_log_std for part in terms.priors.values()]).amin(0),
                    "largest_deviation": torch.stack([part.largest_deviation for part in terms.priors.values()]).amax(
                        0
                    ),
                    "worst_prior": torch.stack([part.mahalanobis for part in terms.priors.values()]).argmin(0),
                    # the joint diagnostic, in the prior with the most negative Mahalanobis part, all at
                    # its one position with the largest |z - mu| / sigma
                    **{
                        key: torch.stack([getattr(part, key) for part in terms.priors.values()]).gather(
                            0, torch.stack([part.mahalanobis for part in terms.priors.values()]).argmin(0)[None]
                        )[0]
                        for key in ("worst_standardised", "worst_miss", "worst_log_std", "worst_share")
                    },
                }
            )
    values = {key: torch.cat([row[key] for row in rows]).double().numpy() for key in rows[0]}
    values["log_px"] = values["log_pz"] + values["log_det"]
    return values


def split_likelihood(model: torch.nn.Module) -> dict[str, dict[str, np.ndarray]]:
    """{set: {"log_pz", "log_det", "log_px", and the parts of log_pz}} per test image, nats."""
    return {name: likelihood_terms(model, x_uint8) for name, x_uint8 in test_sets.items()}


def plot_split(parts: dict[str, dict[str, np.ndarray]], title: str, signed_log: tuple[str, ...] = ()) -> None:
    """Histograms of log p(z), log|det| and log p(x) per test set, each panel on shared bins; the terms in
    ``signed_log`` are drawn as sign(v) log10(1 + |v|) over their whole range. Legends count off-axis images."""
    terms = {
        "log_pz": r"$\log p(z)$",
        "log_det": r"$\log|\det \partial f/\partial x|$",
        "log_px": r"$\log p(x)$",
    }
    fig, axes = plt.subplots(1, 3, figsize=(16, 3.8))
    for ax, (term, label) in zip(axes, terms.items()):
        samples = {f"{TITLES[name]} test": values[term] for name, values in parts.items()}
        low_tail = {}
        if term in signed_log:
            samples = {key: signed_log10(values) for key, values in samples.items()}
            bins = plots.shared_bins(list(samples.values()), clip_percent=0.0)
            label = f"sign · log10(1 + |{label}| / nat)"
            # images below -1e4 nats are on the axis but their bars are too low to see: count them, mark them
            low_tail = {key: values[values < -4.0] for key, values in samples.items()}
        else:
            bins = covering_bins(list(samples.values()))
            label = f"{label} (nats)"
        shown = counted(samples, bins)
        if low_tail:
            shown = {
                f"{key}; below -1e4 nats: {len(tail_values)} (rug)": values
                for (key, values), tail_values in zip(shown.items(), low_tail.values())
            }
        plots.histograms(ax, shown, bins, xlabel=label)
        for tail_values in low_tail.values():
            if len(tail_values):
                ax.plot(tail_values, np.zeros_like(tail_values), "|", color="black", markersize=12)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    fig.suptitle(title)
    fig.tight_layout()
    plots.show(fig)


def share_interval(
    parts: dict[str, dict[str, np.ndarray]], in_set: str, ood_set: str, term: str, total: str = "log_px"
) -> intervals.Interval:
    """Share of the mean ``total`` gap (OOD minus in) carried by ``term``, with a 95% bootstrap interval:
    images resampled within each set, the same resample for numerator and denominator."""
    rng = np.random.default_rng(profile.seed)
    top_in, top_ood = parts[in_set][term], parts[ood_set][term]
    bottom_in, bottom_ood = parts[in_set][total], parts[ood_set][total]
    shares = []
    for _ in range(1000):
        i, o = rng.integers(0, len(top_in), len(top_in)), rng.integers(0, len(top_ood), len(top_ood))
        shares.append((top_ood[o].mean() - top_in[i].mean()) / (bottom_ood[o].mean() - bottom_in[i].mean()))
    estimate = (top_ood.mean() - top_in.mean()) / (bottom_ood.mean() - bottom_in.mean())
    low, high = np.percentile(shares, [2.5, 97.5])
    return intervals.Interval(float(estimate), float(low), float(high))


def median_gap_interval(ood: np.ndarray, inside: np.ndarray) -> intervals.Interval:
    """Median of ``ood`` minus median of ``inside``, 95% bootstrap interval (images resampled within each set)."""
    rng = np.random.default_rng(profile.seed)
    draws = [
        np.median(ood[rng.integers(0, len(ood), len(ood))])
        - np.median(inside[rng.integers(0, len(inside), len(inside))])
        for _ in range(1000)
    ]
    low, high = np.percentile(draws, [2.5, 97.5])
    return intervals.Interval(float(np.median(ood) - np.median(inside)), float(low), float(high))


def gap_shares(
    parts: dict[str, dict[str, np.ndarray]], in_set: str, ood_set: str, outlier_dominated: bool = False
) -> dict[str, float]:
    """Mean of each term per set, each term's share of the mean log p(x) gap (OOD minus in-dist) with its
    interval, the gap in standard deviations of the in-distribution set, and medians. With
    ``outlier_dominated`` the columns a few images dominate are blanked and the median gap gets an interval."""
    means = {name: {term: float(values.mean()) for term, values in terms.items()} for name, terms in parts.items()}
    medians = {
        name: {term: float(np.median(values)) for term, values in terms.items()} for name, terms in parts.items()
    }
    gap = {term: means[ood_set][term] - means[in_set][term] for term in ("log_pz", "log_det", "log_px")}
    print(
        f"{'mean (nats)':14s} {TITLES[in_set] + ' test':>18s} {TITLES[ood_set] + ' test':>18s} "
        f"{'OOD - in':>10s} {'(in-set stds)':>13s} {'share of gap (95%)':>20s} {'medians: in':>12s} {'OOD':>9s}"
        "   95% interval of the gap"
    )
    for term in ("log_pz", "log_det", "log_px"):
        interval = intervals.bootstrap_mean_difference(parts[ood_set][term], parts[in_set][term])
        share = share_interval(parts, in_set, ood_set, term).format(2) if term != "log_px" else "1"
        stds = f"{gap[term] / parts[in_set][term].std():13.2f}"
        interval_text = f"[{interval.low:.1f}, {interval.high:.1f}]"
        if outlier_dominated:
            share, stds, interval_text = "-", f"{'-':>13s}", "-"
        print(
            f"{term:14s} {means[in_set][term]:18.1f} {means[ood_set][term]:18.1f} {gap[term]:10.1f} "
            f"{stds} {share:>20s} "
            f"{medians[in_set][term]:12.1f} {medians[ood_set][term]:9.1f}   {interval_text}"
        )
        gap[f"{term} interval excludes 0"] = bool(interval.excludes(0.0))
        gap[f"{term} in-set stds"] = gap[term] / parts[in_set][term].std()
    if outlier_dominated:
        for term in ("log_pz", "log_det", "log_px"):
            median_interval = median_gap_interval(parts[ood_set][term], parts[in_set][term])
            gap[f"{term} median interval"] = median_interval
            print(f"median gap (OOD - in) of {term}, 95% interval: {median_interval.format(1)}")
    return gap


parts_fashion = split_likelihood(glow_fashion.model)
print(f"test images scored per set: {len(test_sets['mnist'])} (a random subset; one dequantization draw each)")
plot_split(parts_fashion, "Glow trained on FashionMNIST")
gap_fashion = gap_shares(parts_fashion, "fashion_mnist", "mnist")
for term in ("log_det", "log_px"):
    top_40 = np.argsort(parts_fashion["mnist"][term])[-40:]
    print(
        f"MNIST's upper edge of {term}: digit classes of its 40 highest values: "
        f"{dict(enumerate(np.bincount(mnist_labels[top_40], minlength=10).tolist()))}; "
        f"its 99th percentile and max: {np.percentile(parts_fashion['mnist'][term], 99):.0f}, "
        f"{parts_fashion['mnist'][term].max():.0f} nats"
    )
grey_level_shift = NUM_DIMS * np.log(256.0)
print(
    f"mean log|det| for x in grey levels 0..255 instead of [0, 1) (minus D ln 256 = {grey_level_shift:.0f} nats): "
    + ", ".join(f"{TITLES[n]} {parts_fashion[n]['log_det'].mean() - grey_level_shift:.0f}" for n in test_sets)
)

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "log p(z) + log|det| = log p(x), image by image, and matches the BPD of chapter 04",
    bool(
        np.allclose(
            parts_fashion["mnist"]["log_px"],
            NUM_DIMS * np.log(256.0)
            - scores.bits_per_dim(glow_fashion.model, test_sets["mnist"], seed=profile.seed) * NUM_DIMS * np.log(2.0),
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
finding(
    "both terms' gap intervals exclude zero",
    bool(gap_fashion["log_pz interval excludes 0"] and gap_fashion["log_det interval excludes 0"]),
)
finding(
    "the volume term is shifted by more FashionMNIST spreads than log p(z)",
    bool(gap_fashion["log_det in-set stds"] > gap_fashion["log_pz in-set stds"]),
)
finding(
    "in grey-level units (minus D ln 256) the mean volume term is negative for both sets",
    bool(all(parts_fashion[n]["log_det"].mean() - grey_level_shift < 0 for n in test_sets)),
)

# %% [markdown]
# Read the table row by row. The "share of gap" column divides each term's mean gap (MNIST
# minus FashionMNIST) by the total log-likelihood gap, so the two shares add up to 1 (a share
# above 1 would mean that term alone favours MNIST by more than the total, and a negative one
# that it works against it); the medians show whether a few images drive the means. The
# histograms' axes span each set's own central 99% (legends count the images off each side);
# at the upper edge of the $\log|\det|$ and $\log p(x)$ panels MNIST's top is 1s (digit classes
# of its 40 highest values, printed; the pile-up holds more images than these 40, and we have
# not classified the rest).
#
# For our FashionMNIST Glow **both terms favour MNIST, and the volume term carries most of the
# gap** (its share and the share's bootstrap interval are printed in the table, about nine
# tenths in the `quick` run; both gaps' intervals exclude zero). Measured in standard deviations
# of FashionMNIST's own spread (the "in-set stds" column), MNIST's volume term is shifted by
# about one and a half spreads, its $\log p(z)$ by about two thirds of one. The volume term is positive for both
# sets *in the $[0, 1)$ pixel units of our density*; that sign is a matter of units, not of the
# model: for $x$ in grey levels it is lower by $D \ln 256$ and negative for both (printed, pinned). Only
# the gap between the sets is unit-free. This differs from what the paper found. Its Section 4 reads
# Figure 4a, b (CIFAR-10 against SVHN) as: $\log p(z)$ favours the in-distribution set, CIFAR-10,
# and the volume term favours SVHN, by more, so the volume term alone carries the OOD set's
# advantage. Ours has no term that favours the training set under the model's own bookkeeping.
# Why it differs we cannot say from these outputs. Two untested candidates: a different pair
# (grey 28x28 images, where MNIST's black background is a large, easily compressed region) and
# a Glow trained for minutes on a CPU, whose size beside the paper's the brief does not give (departures table, section 3). Bookkeeping is *not* a
# candidate: the paper's $\log p(z)$ includes the split priors' scales (Glow's code books them
# there), and so does ours. What section 3 does show is that a reading of the form "$\log p(z)$
# favours one set, volume the other" depends on that bookkeeping: moving the split priors'
# scales into the volume term changes which part carries the gap. Is the volume term *the
# cause*? Section 3 answers what our experiment can.
#
# The same split for the Glow trained on MNIST (chapter 04's Figure 6: the direction that
# works). Here a few FashionMNIST images get an extremely negative $\log p(z)$, so the
# $\log p(z)$ and $\log p(x)$ panels are drawn on a signed log scale (every image on the axis),
# and $\log p(x)$ once more on a linear axis clipped to the bulk (images off each side counted
# in the legend, rug marks for FashionMNIST's lowest 5% still on the axis). The means, shares
# and the bootstrap interval of the mean gap are meaningless here (one image dominates each
# resample that contains it), so the table blanks those columns; read the medians, whose gaps
# get their own bootstrap intervals below the table. The cell after the table looks at the
# extreme images.

# %%
glow_mnist = loaded("glow", "mnist")
parts_mnist = split_likelihood(glow_mnist.model)
plot_split(parts_mnist, "Glow trained on MNIST", signed_log=("log_pz", "log_px"))
# the same log p(x) on a linear axis clipped to the bulk: each set's own 1st-100th percentile
log_px_mnist = {f"{TITLES[name]} test": values["log_px"] for name, values in parts_mnist.items()}
bulk_low = min(np.percentile(values, 1.0) for values in log_px_mnist.values())
bulk_high = max(values.max() for values in log_px_mnist.values())
bulk_bins = np.linspace(bulk_low, bulk_high, 61)
fig, ax = plt.subplots(figsize=(8, 3.6))
plots.histograms(
    ax,
    counted(log_px_mnist, bulk_bins),
    bulk_bins,
    xlabel=r"$\log p(x)$ (nats), linear axis clipped to the bulk",
    title="Glow trained on MNIST: log p(x) of the bulk",
)
tail = log_px_mnist["FashionMNIST test"]
tail = np.sort(tail[tail < np.percentile(tail, 5.0)])
on_axis = tail[tail >= bulk_low]
ax.plot(
    on_axis, np.zeros_like(on_axis), "|", color="black", markersize=12, label="FashionMNIST's lowest 5% on the axis"
)
ax.text(
    0.02,
    0.6,
    f"off the axis to the left:\n{int((tail < bulk_low).sum())} FashionMNIST images,\ndown to {tail.min():.2g} nats",
    transform=ax.transAxes,
    fontsize=8,
)
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22))
fig.tight_layout()
plots.show(fig)
print(
    f"linear panel: axis {bulk_low:.0f} to {bulk_high:.0f} nats; off-axis left: "
    + ", ".join(f"{label} {int((values < bulk_low).sum())}" for label, values in log_px_mnist.items())
)
gap_mnist = gap_shares(parts_mnist, "mnist", "fashion_mnist", outlier_dominated=True)

# %%
ood_parts = parts_mnist["fashion_mnist"]
extreme = ood_parts["log_pz"]
for threshold in (-1e4, -1e6):
    print(
        f"FashionMNIST images with log p(z) below {threshold:.0e} nats: {(extreme < threshold).sum()} of {len(extreme)}"
    )
print(
    f"the lowest: {extreme.min():.3g} nats, i.e. {extreme.min() / len(extreme):.3g} nats of the mean "
    f"{extreme.mean():.3g} on its own; mean without the images below -1e4: {extreme[extreme >= -1e4].mean():.1f}"
)
prior_names = ["split 1", "top"]
order = np.argsort(extreme)[:8]
print("Columns 6-7 are maxima over all priors, taken separately (different positions, maybe different priors);")
print("columns 8-11 are the joint diagnostic in the worst prior, at its one position with the largest |z - mu|/sigma.")
print(
    f"{'image':>6s} {'log p(z)':>10s} {'Mahalanobis':>12s} {'split scale':>12s} {'worst prior':>12s} "
    f"{'min log sigma':>14s} {'max |z - mu|':>13s} {'|z-mu|/sigma':>13s} {'its |z-mu|':>11s} {'its log sigma':>14s} "
    f"{'top-5 share':>12s} {'ink fraction':>13s}"
)
ink = (test_sets["fashion_mnist"] > 0).double().mean(dim=(1, 2, 3)).numpy()
for index in order:
    print(
        f"{index:6d} {extreme[index]:10.3g} {ood_parts['mahalanobis'][index]:12.3g} {ood_parts['split_scale'][index]:12.1f} "
        f"{prior_names[int(ood_parts['worst_prior'][index])]:>12s} {ood_parts['smallest_log_std'][index]:14.2f} "
        f"{ood_parts['largest_deviation'][index]:13.1f} {ood_parts['worst_standardised'][index]:13.2g} "
        f"{ood_parts['worst_miss'][index]:11.2f} {ood_parts['worst_log_std'][index]:14.2f} "
        f"{ood_parts['worst_share'][index]:12.4f} {ink[index]:13.2f}"
    )
deep = extreme < -1e6
if deep.any():  # always in quick; smoke's tiny models may have none
    print(
        f"images below -1e6: largest miss at their worst position {ood_parts['worst_miss'][deep].max():.2f} units, "
        f"smallest share of the Mahalanobis sum in their 5 worst positions {ood_parts['worst_share'][deep].min():.4f}"
    )
for name, values in parts_mnist.items():
    print(
        f"median over {TITLES[name]} test: min log sigma {np.median(values['smallest_log_std']):.2f}, "
        f"max |z - mu| {np.median(values['largest_deviation']):.1f}"
    )
fig, axes = plt.subplots(1, 8, figsize=(12, 1.9))
for ax, index in zip(axes, order):
    plots.imshow_uint8(
        ax, test_sets["fashion_mnist"][index].permute(1, 2, 0).numpy().astype(np.uint8), title=f"{extreme[index]:.2g}"
    )
fig.suptitle("the 8 FashionMNIST test images with the lowest log p(z) under Glow(MNIST) (nats)")
fig.tight_layout()
plots.show(fig)

# %%
# NBVAL_CHECK_OUTPUT
finding(
    "the 8 lowest log p(z) of FashionMNIST under Glow(MNIST) are all in split 1's Mahalanobis part",
    bool(all(ood_parts["worst_prior"][order] == 0)),
)
finding(
    "the 2 images below -1e6 nats meet a split-prior scale log sigma below -10 (the median image's is above -5)",
    bool(np.all(ood_parts["smallest_log_std"][extreme < -1e6] < -10) and np.median(ood_parts["smallest_log_std"]) > -5),
)
finding(
    "the 2 images below -1e6 nats: at their worst position the miss |z - mu| is under 1 unit and the 5 worst "
    "positions carry over 0.99 of the Mahalanobis sum",
    bool(np.all(ood_parts["worst_miss"][deep] < 1) and np.all(ood_parts["worst_share"][deep] > 0.99)),
)
finding(
    "Glow(MNIST) gives its own test set the higher median log p(x) too (the median gap's interval is below 0)",
    bool(gap_mnist["log_px median interval"].high < 0),
)

# %% [markdown]
# What the diagnostics show: each extreme value is a Mahalanobis term, all in the first split
# prior. Columns 6 and 7 of the table are maxima taken separately, at different positions and
# over all priors, so they must not be read together; the joint columns read the miss and the
# scale at the *same* position, the one with the largest standardised deviation. For the two
# images below $-10^6$ nats that position has a collapsed scale ($\log\sigma$ near $-15$) and a
# miss well under one unit (printed), and five positions carry essentially the whole Mahalanobis
# sum: the astronomical $-\tfrac12((z-\mu)/\sigma)^2$ is made by a handful of collapsed scales
# alone, not by a runaway latent (the large "max $|z-\mu|$" of the separate column is not at
# that worst position; where it sits we did not print). The mildest of them, image 1839, needs no collapse: a
# scale of a few hundredths and a miss of a few units give tens of standard deviations at one
# position (table); the others in between still meet small scales (their log sigma in the table). Where in the image those collapsed scales sit we have not
# mapped; "ink where MNIST always has background" is the natural guess, not something these
# outputs show (the ink fractions in the table vary widely). The single lowest image alone
# accounts for almost all of the mean (printed: its value divided by the number of images).
#
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
# ActNorm and 1×1 convolution are together one affine channel map $v \mapsto A v + b$ applied at
# every position; only its linear part $A$ enters the Jacobian, so they contribute
# $H_\ell W_\ell \log|\det A|$: **the same number for every input**. Only the
# affine couplings, $\sum \log a(x)$ with $a(x)$ the coupling's scale (a letter of its own: $\sigma$
# is kept for the priors' scales below), depend on the image. `Glow.log_det_per_step` returns
# the two parts for each level $\ell$ and step $k$. (This per-layer step is ours: the paper does
# not analyse the volume term layer by layer.) One property holds by construction: our
# couplings' scale is a sigmoid, $a \in (0, 1)$, so every coupling's $\log a < 0$, and
# the coupling part *contracts* every input; that it is negative is a code sanity check, not a
# finding. What is not fixed in advance is how much it contracts each set.


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
level_dims = [NUM_DIMS // 2**level for level in range(levels)]  # each level's input: 784, then 392 after the split
per_dim_gap = [coupling_gap[level].sum() / level_dims[level] for level in range(levels)]
print(
    "Coupling gap per dimension of the level's input: "
    + ", ".join(f"level {level + 1} ({level_dims[level]} dims): {per_dim_gap[level]:+.3f}" for level in range(levels))
    + " nats"
)

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
sanity_check(
    "the couplings contract for both sets (coupling part < 0: a sigmoid scale is below 1 by construction)",
    bool(all(step_parts[name][1].sum() < 0 for name in ("fashion_mnist", "mnist"))),
)
finding(
    "the couplings contract MNIST less than FashionMNIST",
    bool(step_parts["mnist"][1].sum() > step_parts["fashion_mnist"][1].sum()),
)
finding(
    "per dimension of its input, the first level's coupling gap is over 10 times the second's",
    bool(abs(per_dim_gap[0]) > 10 * abs(per_dim_gap[1])),
)
finding(
    "in [0, 1) pixel units the whole volume term is positive for both sets",
    bool(all(channel_map.sum() + step_parts[name][1].sum() > 0 for name in ("fashion_mnist", "mnist"))),
)
sanity_check(
    "the couplings' gap is the whole volume-term gap, to 0.5 nats (the rest is the same for every image)",
    bool(abs(coupling_gap.sum() - gap_fashion["log_det"]) < 0.5),
)

# %% [markdown]
# The grey bars are large (together the printed input-independent part) but cannot favour
# either data set: they are the same for every image. In $[0,1)$ pixel units they exceed the
# couplings' contraction, so $\log|\det|$ is positive for both sets; as section 1 showed, that
# sign belongs to the units. Every nat of
# the volume-term *gap* between MNIST and FashionMNIST comes from the affine couplings, which
# contract by construction and contract MNIST less (printed sums). The first level, which sees
# the image at full resolution after a single squeeze, produces almost all of it, and not
# merely because it acts on twice as many dimensions: per dimension of its input its gap is
# still the larger by far (printed per-dimension values).
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
cv_parts = {label: likelihood_terms(cv_glow.model, x) for label, x in probes.items()}  # noise as scores.*
cv_parts_test = {"fashion_mnist": cv_parts["FashionMNIST test"], "mnist": cv_parts["MNIST test"]}
all_log_dets = np.concatenate([values["log_det"] for values in cv_parts.values()])
print(f"CV-Glow log|det df/dx| = {all_log_dets[0]:.4f} nats for all {all_log_dets.size} inputs")

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "spread (max - min) of CV-Glow's log|det| over training images, MNIST, noise and constants (zero by design)",
    float(all_log_dets.max() - all_log_dets.min()),
    0.0,
)

# %% [markdown]
# The volume term is now literally one number. Does MNIST still win? (The paper's Figure 4d,
# BPD of train, test and OOD over training, is described in our brief without naming its
# model; chapter 03 draws this curve for the affine Glow, the right panel below draws it for
# CV-Glow.)

# %%
cv_bpd = {  # derived from the parts above (same dequantization noise as scores.bits_per_dim)
    name: bits_per_dim_from_log_prob(torch.from_numpy(values["log_px"]), NUM_DIMS).numpy()
    for name, values in cv_parts_test.items()
}
fig, axes = plt.subplots(1, 2, figsize=(13, 3.6))
samples = {f"{TITLES[name]} test": values for name, values in cv_bpd.items()}
bpd_bins = covering_bins(list(samples.values()))
plots.histograms(
    axes[0],
    counted(samples, bpd_bins),
    bpd_bins,
    xlabel="bits per dimension (lower = more likely)",
    title="CV-Glow trained on FashionMNIST",
)
history = cv_glow.history
for key, values in history["eval"].items():
    label = f"FashionMNIST {key}" if key in ("train", "test") else f"{TITLES[key]} test (OOD)"
    axes[1].plot(history["step"], values, marker="o", markersize=3, label=label)
axes[1].set_xlabel("training step")
axes[1].set_ylabel("mean bits per dimension")
axes[1].set_title("CV-Glow: BPD during training (Figure 4d's kind of curve)")
axes[1].legend()
axes[0].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22))
fig.tight_layout()
plots.show(fig)

cv_auroc = scores.auroc(-cv_bpd["fashion_mnist"], -cv_bpd["mnist"])
print(
    "CV-Glow: digit classes of the 40 MNIST images with the lowest BPD (the left edge): "
    f"{dict(enumerate(np.bincount(mnist_labels[np.argsort(cv_bpd['mnist'])[:40]], minlength=10).tolist()))}"
)
for name, values in cv_bpd.items():
    print(
        f"CV-Glow mean BPD, {TITLES[name]} test: {intervals.bootstrap_mean(values).format(3)} (95% bootstrap interval)"
    )
print(f"CV-Glow AUROC: {intervals.bootstrap_auroc(-cv_bpd['fashion_mnist'], -cv_bpd['mnist']).format(3)}")
mnist_lower = [ood < test for ood, test in zip(history["eval"]["mnist"], history["eval"]["test"])]
print(
    f"CV-Glow: FashionMNIST-test {cv_bpd['fashion_mnist'].mean():.3f}, MNIST-test {cv_bpd['mnist'].mean():.3f} BPD; "
    f"AUROC {cv_auroc:.3f}"
)
print(
    f"MNIST below FashionMNIST-test at {sum(mnist_lower)} of {len(mnist_lower)} evaluations during training (1000 fixed images per set) "
    f"(the first, step 0, is the untrained model)"
)

# %%
# NBVAL_CHECK_OUTPUT
finding("CV-Glow still gives MNIST the lower mean BPD", bool(cv_bpd["mnist"].mean() < cv_bpd["fashion_mnist"].mean()))
finding("CV-Glow: MNIST below FashionMNIST-test at every evaluation after step 0", all(mnist_lower[1:]))
finding("CV-Glow's AUROC is below 0.2", bool(cv_auroc < 0.2))

# %% [markdown]
# MNIST's left edge in the histogram is again its 1s (printed). Side by side, the affine Glow
# of chapter 03 and the CV-Glow, both trained on FashionMNIST with the same budget (train BPD on
# a fixed subset of the training set):


# %%
def to_bpd(log_px: np.ndarray) -> np.ndarray:
    return bits_per_dim_from_log_prob(torch.from_numpy(log_px), NUM_DIMS).numpy()


# the BPDs come from the parts already computed (sections 1 and 3); only the Glow's train subset is new
train_subset = probes["FashionMNIST train"]
glow_train = likelihood_terms(glow_fashion.model, train_subset)
bpds = {
    "Glow": {"train": to_bpd(glow_train["log_px"]), **{n: to_bpd(v["log_px"]) for n, v in parts_fashion.items()}},
    "CV-Glow": {"train": to_bpd(cv_parts["FashionMNIST train"]["log_px"]), **cv_bpd},
}
print(
    f"{'model':10s} {'FashionMNIST train':>19s} {'FashionMNIST test':>18s} {'MNIST test':>11s}   AUROC (95% interval)"
)
aurocs = {}
for label, bpd in bpds.items():
    aurocs[label] = intervals.bootstrap_auroc(-bpd["fashion_mnist"], -bpd["mnist"])
    print(
        f"{label:10s} {bpd['train'].mean():19.3f} {bpd['fashion_mnist'].mean():18.3f} {bpd['mnist'].mean():11.3f}   "
        f"{aurocs[label].format(3)}"
    )
print("Paper (its Glow, Figure 1's table): FashionMNIST train 2.902, test 2.958, MNIST test 1.833")
auroc_difference = intervals.bootstrap_auroc_difference(
    -bpds["CV-Glow"]["fashion_mnist"], -bpds["CV-Glow"]["mnist"], -bpds["Glow"]["fashion_mnist"], -bpds["Glow"]["mnist"]
)
print(f"AUROC, CV-Glow minus Glow (paired, same images): {auroc_difference.format(3)}")
print(
    f"CV-Glow is {bpds['CV-Glow']['fashion_mnist'].mean() - bpds['Glow']['fashion_mnist'].mean():.2f} BPD worse "
    "on FashionMNIST test than the Glow"
)
# seed spread: the three cached FashionMNIST Glows (seeds 0, 1, 2; chapters 04 and 08 load them), scored on the
# first N_SEED test images of each set (the same images and dequantization noise for every model), to keep the
# chapter's run time within budget; CV-Glow exists in one seed only
N_SEED = 500
glow_seed_histories = {0: glow_fashion.history}
seed_scores = {0: {n: (parts_fashion[n]["log_pz"][:N_SEED], parts_fashion[n]["log_det"][:N_SEED]) for n in test_sets}}
for seed in (1, 2):
    member = zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=seed))
    print(f"glow on FashionMNIST, seed {seed}: {member.provenance()}")
    glow_seed_histories[seed] = member.history
    seed_scores[seed] = {
        n: tuple(np.asarray(v, dtype=float) for v in scores.log_prob_parts(member.model, x[:N_SEED], seed=profile.seed))
        for n, x in test_sets.items()
    }
seed_aurocs, seed_shares = {}, {}
print(
    f"Glow seeds on the first {N_SEED} test images per set: test BPD, MNIST BPD, AUROC (95% interval over images), volume share"
)
for seed, per_set in seed_scores.items():
    seed_bpd = {n: to_bpd(log_pz + log_det) for n, (log_pz, log_det) in per_set.items()}
    seed_aurocs[seed] = intervals.bootstrap_auroc(-seed_bpd["fashion_mnist"], -seed_bpd["mnist"])
    log_px_gap = {n: (log_pz + log_det).mean() for n, (log_pz, log_det) in per_set.items()}
    seed_shares[seed] = (per_set["mnist"][1].mean() - per_set["fashion_mnist"][1].mean()) / (
        log_px_gap["mnist"] - log_px_gap["fashion_mnist"]
    )
    print(
        f"  seed {seed}: {seed_bpd['fashion_mnist'].mean():.3f}, {seed_bpd['mnist'].mean():.3f}, "
        f"{seed_aurocs[seed].format(3)}, {seed_shares[seed]:.2f}"
    )
cv_auroc_subset = intervals.bootstrap_auroc(-cv_bpd["fashion_mnist"][:N_SEED], -cv_bpd["mnist"][:N_SEED])
seed_auroc_values = [interval.estimate for interval in seed_aurocs.values()]
print(
    f"  CV-Glow on the same images: AUROC {cv_auroc_subset.format(3)}; Glow seeds' AUROC range "
    f"{min(seed_auroc_values):.3f} to {max(seed_auroc_values):.3f}, volume-share range "
    f"{min(seed_shares.values()):.2f} to {max(seed_shares.values()):.2f}"
)

# %%
# NBVAL_CHECK_OUTPUT
finding("the Glow's AUROC is below 0.2 too", bool(aurocs["Glow"].estimate < 0.2))
finding("the two AUROCs differ: the paired difference's interval excludes 0", bool(auroc_difference.excludes(0.0)))
finding(
    "on the same images CV-Glow's AUROC is above the upper end of every Glow seed's interval",
    bool(all(cv_auroc_subset.estimate > interval.high for interval in seed_aurocs.values())),
)
finding(
    "CV-Glow fits FashionMNIST worse (higher test BPD, intervals apart)",
    bool(
        intervals.bootstrap_mean(bpds["CV-Glow"]["fashion_mnist"]).low
        > intervals.bootstrap_mean(bpds["Glow"]["fashion_mnist"]).high
    ),
)

# %% [markdown]
# ### The split priors: a volume term by another name
#
# "CV-Glow's volume term is constant" needs a qualification. Glow's split priors
# $\mathcal{N}(z_\ell; \mu(h_\ell), \sigma(h_\ell)^2)$ take their mean and scale from the kept half,
# so they depend on the image, and
#
# $$\log \mathcal{N}(z; \mu(h), \sigma(h)^2) = \underbrace{-\textstyle\sum\log\sigma(h)}_{\text{prior scale}}
#   \underbrace{-\tfrac12\textstyle\sum\big((z - \mu(h))/\sigma(h)\big)^2}_{\text{Mahalanobis}}
#   - \tfrac{n}{2}\log 2\pi .$$
#
# The first term is what the log-determinant of an affine step applied to $z$, followed by a
# standard normal, would contribute. So whether this
# input-dependent volume is booked under $\log p(z)$ (the model's convention, and the paper's)
# or under the volume term is a convention. Below, each model's $\log p(z)$ gap taken apart:
# the split priors' scale part, the Mahalanobis part of all priors, and the constant (including
# the top prior's input-independent scale), each with a bootstrap interval over the images.

# %%
decompositions = {"Glow": parts_fashion, "CV-Glow": cv_parts_test}
part_gaps = {}
print(
    f"{'model':8s} {'part of log p(z)':18s} {'FashionMNIST':>13s} {'MNIST':>9s} {'gap (95% interval)':>26s} {'of log p(z) gap':>16s}"
)
for label, parts in decompositions.items():
    part_gaps[label] = {}
    for part in ("split_scale", "mahalanobis", "constant", "log_pz"):
        interval = intervals.bootstrap_mean_difference(parts["mnist"][part], parts["fashion_mnist"][part])
        part_gaps[label][part] = interval
        share = interval.estimate / (parts["mnist"]["log_pz"].mean() - parts["fashion_mnist"]["log_pz"].mean())
        print(
            f"{label:8s} {part:18s} {parts['fashion_mnist'][part].mean():13.1f} {parts['mnist'][part].mean():9.1f} "
            f"{interval.format(1):>26s} {share:16.2f}"
        )
rebooked_shares = {}
for label, parts in decompositions.items():
    for values in parts.values():
        values["rebooked_volume"] = values["log_det"] + values["split_scale"]
    log_px_gap = parts["mnist"]["log_px"].mean() - parts["fashion_mnist"]["log_px"].mean()
    rebooked_shares[label] = {
        term: share_interval(parts, "fashion_mnist", "mnist", term)
        for term in ("log_det", "rebooked_volume", "mahalanobis")
    }
    print(
        f"{label}: shares of the log p(x) gap ({log_px_gap:.1f} nats), 95% intervals: volume as the model books it "
        f"{rebooked_shares[label]['log_det'].format(2)}; with the split priors' scale booked as volume "
        f"{rebooked_shares[label]['rebooked_volume'].format(2)}; Mahalanobis part "
        f"{rebooked_shares[label]['mahalanobis'].format(2)}; spread (std) of that volume over FashionMNIST-test: "
        f"{parts['fashion_mnist']['rebooked_volume'].std():.1f} nats"
    )

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "CV-Glow: the parts' BPD = scores.bits_per_dim on the first 256 MNIST images (same noise, parts add up)",
    bool(
        np.allclose(
            cv_bpd["mnist"][:256],
            scores.bits_per_dim(cv_glow.model, test_sets["mnist"][:256], seed=profile.seed),
            atol=1e-4,
        )
    ),
)
finding(
    "CV-Glow: the split priors' scale part is over 90% of its log p(z) gap (lower end of its interval)",
    bool(part_gaps["CV-Glow"]["split_scale"].low > 0.9 * part_gaps["CV-Glow"]["log_pz"].estimate),
)
finding(
    "Glow: the split priors' scale part favours MNIST (interval above 0)",
    bool(part_gaps["Glow"]["split_scale"].low > 0),
)
finding(
    "Glow: the Mahalanobis part favours FashionMNIST (interval below 0)",
    bool(part_gaps["Glow"]["mahalanobis"].high < 0),
)
sanity_check(
    "the constant part has no gap (the same for every image)", bool(abs(part_gaps["Glow"]["constant"].estimate) < 1e-6)
)
finding(
    "Glow: re-booked as volume, the volume's share of the log p(x) gap is above 1 (interval excludes 1)",
    bool(rebooked_shares["Glow"]["rebooked_volume"].low > 1.0),
)
finding(
    "CV-Glow: the Mahalanobis part's share of the log p(x) gap is positive (interval excludes 0)",
    bool(rebooked_shares["CV-Glow"]["mahalanobis"].low > 0.0),
)

# %% [markdown]
# What "CV-Glow's volume term is constant" does mean: the Jacobian determinant of its flow $f$,
# as parametrised, is the same for every input. What it does not mean: that CV-Glow has no
# input-dependent volume. Nearly all of its $\log p(z)$ gap (printed: over nine tenths) sits in
# the split priors' scale part $-\sum\log\sigma(h)$, which an affine step would call volume;
# booked that way, CV-Glow's input-dependent volume carries the printed share of its
# $\log p(x)$ gap, and the Mahalanobis part, the only one that measures how far the latents lie
# from their priors' centres, carries a small remainder (its share, printed, is a few hundredths;
# its interval excludes zero, pinned). For the affine Glow the same re-booking moves the
# volume's share from about nine tenths to slightly above one (interval above 1, pinned), and
# its Mahalanobis part favours **FashionMNIST** (interval below zero).
# The paper's Figure 4a shows its whole $\log p(z)$, which in Glow's code includes the split
# priors' scales, so this Mahalanobis part is a different quantity and not a replication of
# Figure 4a. So the shares are a property of the bookkeeping, not of the model alone.
#
# **What the experiment answers.** The question was whether the volume term is necessary for
# MNIST to win. In the model's own bookkeeping, CV-Glow's *couplings' volume term cannot tell
# one image from another*, yet CV-Glow still gives MNIST the lower BPD at every evaluation after
# the untrained start, and an AUROC far below chance (though not equal to the Glow's: the
# paired difference's interval excludes zero). So **the couplings' volume term is not necessary
# for the effect**. That is all the experiment shows. Whether *input-dependent volume* in
# general is necessary it does not answer: booked the other way, an input-dependent
# prior-scale volume carries almost all of CV-Glow's gap, and the latent-distance part a few
# hundredths. Two further cautions: CV-Glow is the printed amount worse in BPD than the Glow, so
# any side-by-side comparison of shares or AUROCs mixes "constant volume" with "worse model";
# and CV-Glow is one seed. The Glow has three cached seeds (chapters 04 and 08 use them): on
# the same first 500 test images per set their AUROCs and volume shares are printed above, and
# CV-Glow's AUROC lies above every seed's interval (pinned). So the AUROC difference is not one
# Glow seed's accident; whether it belongs to constant volume, to CV-Glow's worse fit or to its
# seed, one CV-Glow cannot say: "differ" means "these networks differ".
#
# **The missing control.** What would separate the two readings is a CV-Glow whose split priors
# do not depend on the input: additive couplings *and* split priors with learned but
# input-independent $\mu, \sigma$ (or no split at all, every latent scored by the top prior).
# Its whole volume, under either bookkeeping, is then one number for every image. If MNIST
# still wins there, no form of input-dependent volume is needed; if it does not, the split
# priors' scale is where this model's preference lives. We have not trained it (no training in
# this round); it costs about as much as CV-Glow's own training (estimate printed below the
# departures table, about 12 min of CPU at the `quick` budget), and it is exercise 9.
# Does the paper's CV-Glow have conditional split priors too? The paper does not say; it
# describes CV-Glow only as Glow with additive couplings, and the official Glow code computes
# each split prior's mean and log-scale from the kept half (`split2d_prior`). If the paper's
# CV-Glow used that code, its Figure 4c carries the same caveat.
#
# The scope of this chapter's replication and where it departs from the paper, with the
# paper's numbers beside ours:

# %%
departures = [
    (
        "Fig. 4a, b: log p(z), log|det| histograms",
        "partly: FashionMNIST vs MNIST, not CIFAR-10 vs SVHN",
        f"both terms favour MNIST, volume share {gap_fashion['log_det'] / gap_fashion['log_px']:.2f}",
        "log p(z) favours CIFAR-10, volume favours SVHN",
        "pair (CIFAR-10/SVHN absent offline), model size, budget",
    ),
    (
        "Fig. 4c: CV-Glow, OOD set still wins",
        "yes, on FashionMNIST vs MNIST",
        f"MNIST {bpds['CV-Glow']['mnist'].mean():.3f} vs test {bpds['CV-Glow']['fashion_mnist'].mean():.3f} BPD",
        "SVHN still higher likelihood (CIFAR-10 CV-Glow)",
        "pair; our split priors are conditional (maybe theirs too)",
    ),
    (
        "Fig. 1 table: Glow BPDs on FashionMNIST",
        "level: not replicated (outside the interval); ordering: replicated",
        f"train {bpds['Glow']['train'].mean():.3f}, test {bpds['Glow']['fashion_mnist'].mean():.3f}, "
        f"MNIST {bpds['Glow']['mnist'].mean():.3f}",
        "train 2.902, test 2.958, MNIST 1.833",
        "quick Glow, minutes of CPU training; cause not separated (chapter 03)",
    ),
    (
        "Fig. 4d: BPD of train, test and OOD over training",
        "yes, both models (the brief does not name the paper's model)",
        "OOD lower at every evaluation after step 0: affine Glow (chapter 03), CV-Glow (below)",
        "OOD set lower throughout",
        "pair; budget",
    ),
    ("per-layer volume (section 2)", "ours, not in the paper", "level 1 couplings carry the gap", "-", "-"),
]
for row in departures:
    print(" | ".join(row))
train_config = glow_fashion.config["train"]
print(
    f"Training, ours (all three models): Adamax, learning rate {train_config['lr']}, linear warm-up over "
    f"{train_config['warmup_steps']} steps, linear decay over the last {train_config['decay_fraction']:.0%} of "
    f"{train_config['n_steps']} steps, batch {train_config['batch_size']}, gradient clipping at {train_config['grad_clip']}; "
    "the paper's optimiser, learning rate, warm-up, batch and steps: not in the brief (it says only that the "
    "paper's Glow is a smaller one than the full Glow, trained on one GPU)"
)
print(
    f"Model and budget (all three models): {glow_fashion.config['model']}; "
    f"{glow_fashion.config['train']['n_steps']} steps of batch {glow_fashion.config['train']['batch_size']} "
    f"(about {glow_fashion.config['train']['n_steps'] * glow_fashion.config['train']['batch_size'] / 60000:.1f} epochs); "
    "affine coupling scale sigmoid(r + 2); learned top prior and learned split priors conditional on the kept half; "
    f"one seed each (the FashionMNIST Glow: three, section 3's seed table); evaluation on random {len(test_sets['mnist'])}-image test subsets and a "
    f"{len(train_subset)}-image training subset, one dequantization draw per image"
)
print(
    f"Glow's FashionMNIST test BPD minus the paper's 2.958: {bpds['Glow']['fashion_mnist'].mean() - 2.958:.2f}; "
    f"estimated CPU time of the missing control (CV-Glow with input-independent split priors): about "
    f"{cv_glow.train_seconds / 60:.0f} min, as CV-Glow's own training"
)
glow_test_interval = intervals.bootstrap_mean(bpds["Glow"]["fashion_mnist"])
print(
    f"Glow's FashionMNIST test BPD {glow_test_interval.format(3)} (95% bootstrap interval) vs the paper's 2.958 "
    "(quoted, Figure 1's table)"
)
print("Training histories (saved at training; 1000 fixed images per set at each evaluation), BPD:")
histories = {"Glow": glow_fashion.history, "CV-Glow": cv_glow.history}
seed_histories = {f"Glow seed {seed}": history for seed, history in glow_seed_histories.items()}
for label, history in histories.items():
    rows_h = zip(history["step"], history["eval"]["test"], history["eval"]["mnist"])
    print(
        f"  {label:8s} step: test / gap (test - MNIST): "
        + "; ".join(
            f"{step} {test:.3f}/{test - mnist:.3f}"
            for step, test, mnist in rows_h
            if step % 1000 == 500 or step == history["step"][-1]
        )
    )
cv_eval, glow_eval = cv_glow.history["eval"], glow_fashion.history["eval"]


def last_steps(history: dict, n_steps: int) -> int:
    """Index (from the end) of the first evaluation in a history's last ``n_steps`` training steps."""
    return -sum(step >= history["step"][-1] - n_steps for step in history["step"])


matched = next(
    (i for i, test in enumerate(glow_eval["test"]) if test <= cv_eval["test"][-1]), len(glow_eval["test"]) - 1
)
glow_matched_gap = glow_eval["test"][matched] - glow_eval["mnist"][matched]
cv_final_gap = cv_eval["test"][-1] - cv_eval["mnist"][-1]
print(
    f"matched fit: the Glow first reaches CV-Glow's final test BPD {cv_eval['test'][-1]:.3f} at step "
    f"{glow_fashion.history['step'][matched]} (test {glow_eval['test'][matched]:.3f}); its gap there "
    f"{glow_matched_gap:.3f} vs CV-Glow's final gap {cv_final_gap:.3f}"
)
seed_matched_gaps = {}
for label, history in seed_histories.items():
    first = next(
        (i for i, test in enumerate(history["eval"]["test"]) if test <= cv_eval["test"][-1]), len(history["step"]) - 1
    )
    seed_matched_gaps[label] = history["eval"]["test"][first] - history["eval"]["mnist"][first]
    print(
        f"  {label}: first at or below {cv_eval['test'][-1]:.3f} at step {history['step'][first]} "
        f"(test {history['eval']['test'][first]:.3f}), gap {seed_matched_gaps[label]:.3f}"
    )
# optimisation noise: how far the gap moves between consecutive evaluations (fixed images, so this is
# not image sampling), from step 2500 (the matched point) on; and how far the test BPD still falls
eval_jumps, test_falls = {}, {}
for label, history in {**seed_histories, "CV-Glow": cv_glow.history}.items():
    gaps_all = np.array(history["eval"]["test"]) - np.array(history["eval"]["mnist"])
    jumps = np.abs(np.diff(gaps_all[history["step"].index(glow_fashion.history["step"][matched]) :]))
    eval_jumps[label] = jumps
    test_falls[label] = history["eval"]["test"][last_steps(history, 3000)] - history["eval"]["test"][-1]
    print(
        f"  {label}: gap change between consecutive evaluations from step 2500 on: median {np.median(jumps):.3f}, "
        f"largest {jumps.max(initial=0.0):.3f} BPD; test BPD fall over the last 3000 steps {test_falls[label]:.3f}, "
        f"over the last 1500 {history['eval']['test'][last_steps(history, 1500)] - history['eval']['test'][-1]:.3f}"
    )
gap_trends = {}
for label, history in histories.items():
    last_3000 = slice(last_steps(history, 3000), None)
    steps_h = np.array(history["step"][last_3000], dtype=float)
    gaps_h = np.array(history["eval"]["test"][last_3000]) - np.array(history["eval"]["mnist"][last_3000])
    slope = np.polyfit(steps_h / 1000.0, gaps_h, 1)[0]
    gap_trends[label] = {
        "slope": slope,
        "range": gaps_h.max() - gaps_h.min(),
        "last is largest": gaps_h.argmax() == len(gaps_h) - 1,
    }
    print(
        f"{label:8s} over its last 3000 steps: test BPD {history['eval']['test'][last_3000][0]:.3f} -> "
        f"{history['eval']['test'][-1]:.3f}; gap {gaps_h[0]:.3f} -> {gaps_h[-1]:.3f}, range {gaps_h.max() - gaps_h.min():.3f}, "
        f"least-squares slope {slope:+.3f} BPD per 1000 steps"
    )
# The history keeps only each evaluation's mean over 1000 images (no per-image values, no step-2500
# checkpoint), so the matched-fit difference has no bootstrap interval of its own. A stand-in for its
# sampling error: the same difference of gaps between the two *final* models, resampled over 1000-image
# draws of our test images (the same draw for both models: the histories use the same images).
rng = np.random.default_rng(profile.seed)
n_test = len(bpds["Glow"]["fashion_mnist"])
stand_in = []
for _ in range(1000):
    i, o = rng.integers(0, n_test, 1000), rng.integers(0, n_test, 1000)
    stand_in.append(
        (bpds["Glow"]["fashion_mnist"][i].mean() - bpds["Glow"]["mnist"][o].mean())
        - (bpds["CV-Glow"]["fashion_mnist"][i].mean() - bpds["CV-Glow"]["mnist"][o].mean())
    )
stand_in_half_width = float(np.diff(np.percentile(stand_in, [2.5, 97.5]))[0] / 2)
matched_difference = glow_matched_gap - cv_final_gap
print(
    f"matched-fit gap difference (Glow at step {glow_fashion.history['step'][matched]} minus CV-Glow final): "
    f"{matched_difference:.3f} BPD; no interval from the history (means only); stand-in 95% half-width of such a "
    f"difference at 1000 images per set, from the final models' per-image BPDs: {stand_in_half_width:.3f}"
)

# %%
# NBVAL_CHECK_OUTPUT
finding(
    "Glow's FashionMNIST test BPD is above the paper's 2.958: the level is not replicated",
    bool(glow_test_interval.low > 2.958),
)
finding(
    "over the last 3000 steps CV-Glow's gap rises (slope above 0.05 BPD per 1000 steps), the Glow's slope is under a "
    "fifth of CV-Glow's",
    bool(
        gap_trends["CV-Glow"]["slope"] > 0.05 and abs(gap_trends["Glow"]["slope"]) < gap_trends["CV-Glow"]["slope"] / 5
    ),
)
finding("CV-Glow's gap is largest at its last evaluation", bool(gap_trends["CV-Glow"]["last is largest"]))
finding(
    "the Glow's gap stays within a 0.06 BPD range over its last 3000 steps", bool(gap_trends["Glow"]["range"] < 0.06)
)
finding(
    "the stand-in interval of the matched-fit gap difference excludes 0",
    bool(abs(matched_difference) > stand_in_half_width),
)
finding(
    "at matched fit all three Glow seeds have a larger gap than CV-Glow's final one",
    bool(all(gap > cv_final_gap for gap in seed_matched_gaps.values())),
)
finding(
    "CV-Glow's largest gap change between consecutive evaluations (from step 2500) exceeds the matched-fit difference",
    bool(eval_jumps["CV-Glow"].max(initial=0.0) > matched_difference),
)
finding(
    "over the last 3000 steps CV-Glow's test BPD falls further than every Glow seed's",
    bool(all(test_falls["CV-Glow"] > fall for label, fall in test_falls.items() if label != "CV-Glow")),
)

# %% [markdown]
# The absolute level is a failed replication: our Glow trails the paper's on FashionMNIST test
# by four tenths of a BPD (printed), outside the interval. The quick budget (a far smaller model
# trained for a few epochs on a CPU) is the obvious suspect, but, as chapter 03 says, size and
# budget were never varied apart, so these outputs do not show that they are the cause. The
# ordering (MNIST more likely) is replicated. None of the departures above is tested for its
# effect on the shares.
#
# **The training histories** (printed above; 1000 fixed images per set at each evaluation, the
# same images for every model) show that both models are unconverged and CV-Glow the less
# converged: over the last 3000 steps its test BPD falls 0.550, the Glow's 0.276 (the other two
# seeds' falls are printed; pinned: CV-Glow's is the largest of the four), and over the last
# 1500 steps 0.346 against 0.115. The *gap* (FashionMNIST test minus MNIST) behaves differently too: over
# the last 3000 steps the Glow's moves within a range of 0.053 (slope 0.012 BPD per 1000
# steps), while CV-Glow's rises from 0.861 to 1.107 (slope 0.074) and is largest at the last
# evaluation (pinned). So CV-Glow's gap was still widening when training stopped, the Glow's
# was not; how far CV-Glow's would go with longer training these outputs do not say.
#
# **Matched fit.** The Glow first reaches CV-Glow's final test BPD at step 2500 (3.724 against
# 3.767, so not quite matched: the Glow fits a little better there, and its gap rose with fit);
# its gap there, 1.215, exceeds CV-Glow's final 1.107 by 0.107. Two kinds of noise bear on
# that difference. Image sampling: the history keeps only each evaluation's mean, so there is
# no bootstrap interval over images; the printed stand-in (the same difference between the two
# *final* models, resampled at 1000 images per set) has a 95% half-width of 0.019 (pinned: it
# excludes zero), but it covers only which images are drawn. Optimisation: the histories use
# fixed images, so the gap's changes from one evaluation to the next are the training's own
# jitter, and they are larger: CV-Glow's gap moves by up to 0.216 between consecutive
# evaluations from step 2500 on, more than the difference itself (pinned), the Glow's by up to
# 0.053 (printed). What survives is the seed comparison: at their first evaluation at or below
# 3.767 the three Glow seeds have gaps 1.215, 1.183 and 1.199, all above CV-Glow's 1.107
# (pinned). So at matched fit all three Glows have the larger gap; but this is one noisy CV-Glow
# point against three seeds, taken at the end of CV-Glow's learning-rate decay while the Glows were still at the full learning rate (steps 2500-3500), so the learning-rate phase is confounded with the model; that is as far as these outputs go, and they do not rule out that
# a longer-trained CV-Glow would close the difference.
#
# ## 4. Appendix C made concrete: how large can the volume term be?
#
# If $f$ is $L$-Lipschitz around $x$, every singular value of its Jacobian is at most
# $L$, and since $|\det J|$ is the product of the singular values,
#
# $$\log\left|\det \frac{\partial f}{\partial x}\right| = \sum_{i=1}^D \log s_i(x) \le D \log L .$$
#
# As chapter 02 (section 5) sets out, the appendix's Eq. 7 reaches this bound through Hadamard's
# inequality: $|\det J|$ is at most the product of the column norms $\|J e_j\|$, and each column
# norm is at most $s_1 \le L$. (Its Proposition 1 is a different statement, a Chebyshev-type
# bound on how far $f(x)$ strays from its mean; exercise 8.) Between the two sits a bound from
# the arithmetic-geometric mean inequality on the squared column norms,
# $|\det J| \le (\|J\|_F/\sqrt{D})^D$. All of this is one chain of theorems, for every $J$:
#
# $$\sum_i \log s_i \;\le\; \underbrace{\textstyle\sum_j \log\|J e_j\|}_{\text{Hadamard}}
#   \;\le\; \underbrace{D\log\big(\|J\|_F/\sqrt D\big)}_{\text{AM-GM}} \;\le\; D\log s_1 \;\le\; D \log L ,$$
#
# so checking it on our Jacobians is a code sanity check. (Chapter 02 also shows why the paper's
# footnote 3, a bound by $\|J\|_F$ without the power, is false; the AM-GM step
# $|\det J| \le (\|J\|_F/\sqrt D)^D$ is the correct form of that bound.) What the model decides is how
# *loose* each step is.
#
# We estimate the local constant $L(x) = s_1(x) = \|\partial f/\partial x\|_2$ for the printed
# number of images of each set by power iteration (`ood_lib.analysis.jacobian.largest_singular_value`:
# one Jacobian-vector and one vector-Jacobian product per iteration, no $784\times784$
# matrix), and compare $D \log L(x)$ with the actual $\log|\det|$. For one image of each set we
# also build the full $784\times784$ Jacobian: its spectrum checks the power iteration and
# evaluates all three bounds.


# %%
def flat_latents(model: torch.nn.Module):
    def latents(x: torch.Tensor) -> torch.Tensor:
        zs, _ = model(x)
        return torch.cat([z.flatten(1) for z in zs], dim=1)

    return latents


lipschitz = {}
n_power_iteration = min(
    profile.n_jacobian, 64
)  # 64 per set: the full-Jacobian check below, not more images, tests convergence
generator = torch.Generator().manual_seed(profile.seed)
for name, x_uint8 in test_sets.items():
    x = dequantize(x_uint8[:n_power_iteration], generator).to(next(glow_fashion.model.parameters()).device)
    spectral_norm = largest_singular_value(flat_latents(glow_fashion.model), x, num_iterations=30)
    with torch.no_grad():
        _, log_det = glow_fashion.model.log_prob_parts(x)
    lipschitz[name] = {"log_L": spectral_norm.log().cpu().numpy(), "log_det": log_det.cpu().numpy(), "x": x[:1]}

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, values in lipschitz.items():
    ax.scatter(NUM_DIMS * values["log_L"], values["log_det"], s=8, alpha=0.6, label=f"{TITLES[name]} test")
low = min(min(NUM_DIMS * v["log_L"].min(), v["log_det"].min()) for v in lipschitz.values())
high = max(max(NUM_DIMS * v["log_L"].max(), v["log_det"].max()) for v in lipschitz.values())
ax.plot([low, high], [low, high], color="black", linewidth=1, label="log|det| = D log L")
ax.set_xlabel(r"$D \log L(x)$, $L(x) = \|\partial f/\partial x\|_2$ (nats)")
ax.set_ylabel(r"$\log|\det \partial f/\partial x|$ (nats)")
ax.set_title("the singular-value bound, image by image (Glow on FashionMNIST)")
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
    f"Largest L over these {2 * n_power_iteration} images: {np.exp(global_log_L):.2f}, "
    f"so D log L = {NUM_DIMS * global_log_L:.0f} nats; the largest log|det| among them: "
    f"{max(values['log_det'].max() for values in lipschitz.values()):.0f} nats"
)

spectra, singular_value_arrays = {}, {}
for name, values in lipschitz.items():
    jacobian = per_example_jacobian(flat_latents(glow_fashion.model), values["x"])[0].double()
    singular_values = torch.linalg.svdvals(jacobian)
    singular_value_arrays[name] = singular_values.numpy()
    column_norms = jacobian.norm(dim=0)
    spectra[name] = {
        "power iteration s1": float(np.exp(values["log_L"][0])),
        "full s1": singular_values[0].item(),
        "sum log s_i": singular_values.log().sum().item(),
        "log|det| (model)": float(values["log_det"][0]),
        "D log s1": NUM_DIMS * singular_values[0].log().item(),
        "Hadamard": jacobian.norm(dim=0).log().sum().item(),
        "Frobenius AM-GM": NUM_DIMS * (jacobian.norm() / np.sqrt(NUM_DIMS)).log().item(),
        "smallest s_i": singular_values[-1].item(),
    }
    print(
        f"{TITLES[name]} (first image), full Jacobian: " + ", ".join(f"{k} {v:.4g}" for k, v in spectra[name].items())
    )
    counts = ", ".join(
        f"{int((singular_values > t).sum())} above {t:g}" for t in (1, 10, 100, 0.1 * singular_values[0].item())
    )
    print(
        f"  latent shift of a norm-1/256 perturbation along the top singular vector, s1/256: "
        f"{singular_values[0].item() / 256:.1f} units"
    )
    print(
        f"  singular values: {counts} (the last: s1/10); latent shift of one grey level (1/256) at one pixel = "
        f"column norm / 256: geometric mean {column_norms.log().mean().exp().item() / 256:.2f}, "
        f"median {column_norms.median().item() / 256:.2f}, max {column_norms.max().item() / 256:.2f} units"
    )

fig, ax = plt.subplots(figsize=(6.5, 3.6))
for name, values in singular_value_arrays.items():
    ax.semilogy(np.arange(1, NUM_DIMS + 1), values, label=f"{TITLES[name]} test, first image")
ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":", label="s = 1 (neither stretch nor shrink)")
ax.set_xlabel("index i (sorted)")
ax.set_ylabel(r"singular value $s_i$ of $\partial f/\partial x$")
ax.set_title("Glow on FashionMNIST: the full Jacobian spectrum at two images")
ax.legend(fontsize=8)
fig.tight_layout()
plots.show(fig)

# %%
# NBVAL_CHECK_OUTPUT
sanity_check(
    "log|det| <= D log L(x) holds for every image checked (a theorem; thousands of nats of slack)",
    all(bool(np.all(values["log_det"] <= NUM_DIMS * values["log_L"] + 1e-3)) for values in lipschitz.values()),
)
sanity_check(
    "full Jacobian: sum of log singular values = the model's log|det| to 0.1 nat (the analytic log-det)",
    all(abs(v["sum log s_i"] - v["log|det| (model)"]) < 0.1 for v in spectra.values()),
)
sanity_check(
    "30 power iterations reach the full Jacobian's s1 to 1% on both images (the numerical method, 2 images)",
    all(abs(v["power iteration s1"] / v["full s1"] - 1) < 0.01 for v in spectra.values()),
)
finding(
    "on both full Jacobians most singular values exceed 1 but fewer than half lie within a factor of ten of s1",
    all(
        bool((values > 1).sum() > NUM_DIMS / 2 and (values > 0.1 * values[0]).sum() < NUM_DIMS / 2)
        for values in singular_value_arrays.values()
    ),
)
sanity_check(
    "the chain sum log s_i <= Hadamard <= AM-GM (Frobenius) <= D log s1 holds on both images (theorems)",
    all(
        v["sum log s_i"] <= v["Hadamard"] + 1e-6 <= v["Frobenius AM-GM"] + 2e-6 <= v["D log s1"] + 3e-6
        for v in spectra.values()
    ),
)
min_slack = min(float((NUM_DIMS * v["log_L"] - v["log_det"]).min()) for v in lipschitz.values())
finding(
    f"the singular-value bound is loose by over 1000 nats on every one of the {2 * n_power_iteration} images",
    bool(min_slack > 1000),
)

# %% [markdown]
# Power iteration approaches $s_1(x)$ from *below* ($\|Jv\| \le s_1$ for every unit $v$), so
# too few iterations would make the check $\log|\det| \le D\log \hat L$ *harder* to pass, not
# easier; it passes here with thousands of nats of slack, so it is a code sanity check, and
# whether the iteration converged is what the full Jacobians test (a check of the numerical
# method, not of the model, checked on 2 of the images only). Their spectra also reproduce the model's analytic $\log|\det|$.
# What the model decides, and what the finding pins, is how loose the bound is: over a
# thousand nats on every image. The spectrum plot shows why: the singular values span about
# four orders of magnitude, from $s_1$ in the thousands down to about a tenth; most of them
# exceed 1, but fewer than half lie within a factor of ten of $s_1$ (printed counts), so
# $D\log s_1$ overestimates $\sum_i\log s_i$ by thousands of nats. A local Lipschitz constant in the thousands means that a perturbation of
# Euclidean norm 1/256 *along the top singular vector* (a pattern spread over many pixels, so
# far less than one grey level per pixel) moves the latents by $s_1/256$, several units (printed
# for the two images); a one-grey-level change of a *single pixel* moves them by that
# pixel's column norm divided by 256: from a fraction of a unit to about one and a half units
# for the median pixel of the two images, and under four units for every pixel (printed
# geometric means, medians and maxima). Two cautions about reading
# the global number: the largest $L(x)$ *over these samples* is a lower bound on the flow's
# global Lipschitz constant (each power-iteration value is at most $s_1(x)$, which is at most
# $L$), not an upper bound (an unseen input can be more sensitive), and the
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
# A caution on comparing these numbers with section 1: the mode's value here is that of a
# *standard* normal, not a ceiling for the trained models' $\log p(z)$, which is far higher
# (section 1's table). Their priors are learned: the split priors' scales, smaller than one
# where the model is confident, raise the density at their centres (the positive scale parts of
# section 3).
#
# High likelihood and "looks like the training data" are different things. The typical set
# (where samples fall) is a thin shell far from the mode, so a density model *can* give its
# highest values to inputs that no training image resembles. Chapter 04's constant images are
# the obvious candidates (a black image beats every test image there, Figure 8; chapter 04's
# numbers are the affine Glow's). Do they win by mapping near the latent mode, that is, through
# the Mahalanobis part, or through the volume? Section 3 already scored 64 constant images and
# 64 noise images with CV-Glow; we score the same images with the affine Glow too (seconds),
# print both models' parts, and plot each constant's advantage over the FashionMNIST test mean,
# term by term ($\log|\det|$, the split priors' scale, the Mahalanobis part; with the constant
# part, the same for every image, they add up to $\log p(x)$):

# %%
rows = {
    "FashionMNIST test (mean)": {k: v.mean() for k, v in cv_parts["FashionMNIST test"].items()},
    "MNIST test (mean)": {k: v.mean() for k, v in cv_parts["MNIST test"].items()},
    "constant images (mean)": {k: v.mean() for k, v in cv_parts["constant images"].items()},
    "black image (grey level 0)": {k: v[0] for k, v in cv_parts["constant images"].items()},
    "uniform noise (mean)": {k: v.mean() for k, v in cv_parts["uniform noise"].items()},
}
print(f"CV-Glow, nats {'log p(z)':>20s} {'split scale':>12s} {'Mahalanobis':>12s}")
for label, values in rows.items():
    print(f"{label:27s} {values['log_pz']:10.1f} {values['split_scale']:12.1f} {values['mahalanobis']:12.1f}")
black, test_mean = rows["black image (grey level 0)"], rows["FashionMNIST test (mean)"]
print(
    f"black image minus FashionMNIST test mean: log p(z) {black['log_pz'] - test_mean['log_pz']:+.1f}, of which "
    f"split scale {black['split_scale'] - test_mean['split_scale']:+.1f}, "
    f"Mahalanobis {black['mahalanobis'] - test_mean['mahalanobis']:+.1f}"
)
constant_log_pz = cv_parts["constant images"]["log_pz"]
print(
    f"constant images with log p(z) above the FashionMNIST test mean: "
    f"{int((constant_log_pz > test_mean['log_pz']).sum())} of {len(constant_log_pz)}; with log p(x) above it: "
    f"{int((cv_parts['constant images']['log_px'] > test_mean['log_px']).sum())} of {len(constant_log_pz)}"
)
glow_probe_parts = {
    "FashionMNIST test (mean)": parts_fashion["fashion_mnist"],
    "MNIST test (mean)": parts_fashion["mnist"],
    "constant images": likelihood_terms(glow_fashion.model, probes["constant images"]),
    "uniform noise": likelihood_terms(glow_fashion.model, probes["uniform noise"]),
}
glow_rows = {label: {k: v.mean() for k, v in values.items()} for label, values in glow_probe_parts.items()}
glow_rows["black image (grey level 0)"] = {k: v[0] for k, v in glow_probe_parts["constant images"].items()}
print(f"\nGlow, nats {'log p(x)':>22s} {'log p(z)':>10s} {'split scale':>12s} {'Mahalanobis':>12s} {'log|det|':>9s}")
for label, values in glow_rows.items():
    print(
        f"{label:27s} {values['log_px']:10.1f} {values['log_pz']:10.1f} {values['split_scale']:12.1f} "
        f"{values['mahalanobis']:12.1f} {values['log_det']:9.1f}"
    )
glow_black, glow_test = glow_rows["black image (grey level 0)"], glow_rows["FashionMNIST test (mean)"]
black_advantage = {k: glow_black[k] - glow_test[k] for k in ("log_px", "log_pz", "log_det")}
print(
    f"Glow: black image minus FashionMNIST test mean: log p(x) {black_advantage['log_px']:+.1f} = log|det| "
    f"{black_advantage['log_det']:+.1f} + log p(z) {black_advantage['log_pz']:+.1f}"
)
glow_constants = glow_probe_parts["constant images"]
print(
    f"Glow: constant images with log p(x) above the FashionMNIST test mean: "
    f"{int((glow_constants['log_px'] > glow_test['log_px']).sum())} of {len(glow_constants['log_px'])}; "
    f"with log|det| above its mean: {int((glow_constants['log_det'] > glow_test['log_det']).sum())}; "
    f"with log p(z) above its mean: {int((glow_constants['log_pz'] > glow_test['log_pz']).sum())}"
)
grey_levels = np.arange(0, 256, 4)  # the constant images of section 3, in this order
contributions = ("log_det", "split_scale", "mahalanobis")  # with the constant part these add up to log p(x)
sweep = {}
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), sharey=True)
for ax, (label, constants, reference) in zip(
    axes,
    (
        ("Glow", glow_probe_parts["constant images"], glow_test),
        ("CV-Glow", cv_parts["constant images"], test_mean),
    ),
):
    advantage = {term: constants[term] - reference[term] for term in ("log_px", *contributions)}
    leader = np.stack([advantage[term] for term in contributions]).argmax(0)
    sweep[label] = {**advantage, "leader": leader, "wins": advantage["log_px"] > 0}
    math_labels = {
        "log_px": r"$\log p(x)$",
        "log_det": r"$\log|\det \partial f/\partial x|$",
        "split_scale": r"split priors' scale $-\sum\log\sigma(h)$",
        "mahalanobis": r"Mahalanobis $-\frac{1}{2}\sum((z-\mu)/\sigma)^2$",
    }
    for term, style in zip(("log_px", *contributions), ("-k", "-", "-", "-")):
        ax.plot(grey_levels, advantage[term], style, marker=".", label=math_labels[term])
    ax.axhline(0.0, color="gray", linewidth=0.8, linestyle=":")
    ax.set_xlabel("grey level v of the constant image")
    ax.set_title(f"{label}: constant images minus the FashionMNIST test mean")
    ax.legend(fontsize=8)
    wins = sweep[label]["wins"]
    print(
        f"{label}: constants beating the test mean on log p(x): {int(wins.sum())} of {len(wins)} "
        f"(v = {', '.join(str(v) for v in grey_levels[wins][:12])}{' ...' if wins.sum() > 12 else ''}); "
        "the largest positive term per constant: "
        + ", ".join(f"{term} {int((leader == k).sum())}" for k, term in enumerate(contributions))
        + "; terms favouring every constant: "
        + str([term for term in contributions if np.all(advantage[term] > 0)])
        + "; constants the Mahalanobis part favours: "
        + str(int((advantage["mahalanobis"] > 0).sum()))
        + "; grey levels where the sign of log p(x)'s advantage is that of: "
        + ", ".join(
            f"{term} {int((np.sign(advantage[term]) == np.sign(advantage['log_px'])).sum())}" for term in contributions
        )
    )
axes[0].set_ylabel("advantage over the test mean (nats)")
fig.tight_layout()
plots.show(fig)
glow_leader = sweep["Glow"]["leader"]
runs = np.split(np.arange(len(grey_levels)), np.flatnonzero(np.diff(glow_leader)) + 1)
print(
    "Glow, the term with the largest advantage, by grey level: "
    + "; ".join(f"v {grey_levels[r[0]]}-{grey_levels[r[-1]]}: {contributions[glow_leader[r[0]]]}" for r in runs)
)
mahalanobis_bounds = {}
for label, constants, reference in (
    ("Glow", glow_probe_parts["constant images"], glow_test),
    ("CV-Glow", cv_parts["constant images"], test_mean),
):
    # the Mahalanobis part is <= 0 for every input, so its advantage over the test mean is at most -(test mean's)
    bound = -reference["mahalanobis"]
    best = int(np.argmax(constants["mahalanobis"]))
    observed = constants["mahalanobis"][best] - reference["mahalanobis"]
    mahalanobis_bounds[label] = {
        "bound": bound,
        "observed": observed,
        "all <= 0": bool(np.all(constants["mahalanobis"] <= 0)),
    }
    print(
        f"{label}: the Mahalanobis part is <= 0, so no input can beat the test mean through it by more than "
        f"{bound:.1f} nats (D/2 = {NUM_DIMS / 2:.0f}); the largest among the constants: {observed:.1f} (v = "
        f"{grey_levels[best]}), where the sum of squared standardised latents is {-2 * constants['mahalanobis'][best]:.0f} "
        f"(a typical latent: about D = {NUM_DIMS})"
    )
noise_bpds = {
    "Glow": intervals.bootstrap_mean(to_bpd(glow_probe_parts["uniform noise"]["log_px"])),
    "CV-Glow": intervals.bootstrap_mean(to_bpd(cv_parts["uniform noise"]["log_px"])),
}
print(
    f"uniform noise, mean BPD over its {len(probes['uniform noise'])} images (95% bootstrap interval): "
    + ", ".join(f"{label} {interval.format(3)}" for label, interval in noise_bpds.items())
)
print("BPD (ours vs the paper's Figure 8, quoted):")
for label, model_rows, paper in (
    ("black image", {"Glow": glow_black, "CV-Glow": black}, 0.339),
    ("uniform noise (mean)", {"Glow": glow_rows["uniform noise"], "CV-Glow": rows["uniform noise (mean)"]}, 8.686),
):
    print(
        f"  {label:21s} "
        + ", ".join(f"{m} {to_bpd(np.array([v['log_px']]))[0]:.3f}" for m, v in model_rows.items())
        + f"; paper {paper}"
    )

# %%
# NBVAL_CHECK_OUTPUT
finding(
    "CV-Glow: the black image's log p(z) is above both test sets' means",
    bool(black["log_pz"] > max(rows["FashionMNIST test (mean)"]["log_pz"], rows["MNIST test (mean)"]["log_pz"])),
)
finding(
    "CV-Glow: the split priors' scale makes more of the black image's advantage than the Mahalanobis part",
    bool(black["split_scale"] - test_mean["split_scale"] > black["mahalanobis"] - test_mean["mahalanobis"]),
)
finding(
    "CV-Glow: the constant images' mean log p(z) is below FashionMNIST test's",
    bool(rows["constant images (mean)"]["log_pz"] < test_mean["log_pz"]),
)
finding(
    "CV-Glow: the black image's Mahalanobis part is above the FashionMNIST test mean's",
    bool(black["mahalanobis"] > test_mean["mahalanobis"]),
)
finding(
    "Glow: every constant image has log p(x) above the FashionMNIST test mean",
    bool(np.all(glow_constants["log_px"] > glow_test["log_px"])),
)
finding(
    "Glow: log|det| makes most of the black image's log p(x) advantage over the FashionMNIST test mean",
    bool(black_advantage["log_det"] > 0.5 * black_advantage["log_px"]),
)
finding(
    "Glow: log|det| is the largest term at v = 0 and at every v >= 192, the Mahalanobis part at every v in 16..144",
    bool(
        glow_leader[0] == 0
        and np.all(glow_leader[grey_levels >= 192] == 0)
        and np.all(glow_leader[(grey_levels >= 16) & (grey_levels <= 144)] == 2)
    ),
)
finding("CV-Glow: the split scale favours every constant image", bool(np.all(sweep["CV-Glow"]["split_scale"] > 0)))
finding(
    "CV-Glow: the grey levels whose constant the Mahalanobis part favours",
    grey_levels[sweep["CV-Glow"]["mahalanobis"] > 0].tolist(),
    [0, 8],
)
sanity_check(
    "CV-Glow: the Mahalanobis part's sign matches which constants win for more grey levels than the split scale's "
    "(a consequence of the two findings above and of which constants win, not independent evidence)",
    bool(
        (np.sign(sweep["CV-Glow"]["mahalanobis"]) == np.sign(sweep["CV-Glow"]["log_px"])).sum()
        > (np.sign(sweep["CV-Glow"]["split_scale"]) == np.sign(sweep["CV-Glow"]["log_px"])).sum()
    ),
)
sanity_check(
    "both models: every constant's Mahalanobis part is <= 0 and its advantage over the test mean is at most the "
    "bound -(test mean's Mahalanobis part) (holds by construction)",
    all(v["all <= 0"] and v["observed"] <= v["bound"] for v in mahalanobis_bounds.values()),
)
finding(
    "both models: uniform noise's mean log p(x) is below the FashionMNIST test mean",
    bool(
        glow_rows["uniform noise"]["log_px"] < glow_test["log_px"]
        and rows["uniform noise (mean)"]["log_px"] < test_mean["log_px"]
    ),
)

finding(
    "Glow: more constant images beat the FashionMNIST test mean on log p(x) than under CV-Glow",
    bool(
        (glow_constants["log_px"] > glow_test["log_px"]).sum()
        > (cv_parts["constant images"]["log_px"] > test_mean["log_px"]).sum()
    ),
)

# %% [markdown]
# Under CV-Glow the black image's $\log p(z)$ is above both test sets' means, and its
# Mahalanobis part is above the test images' mean too (pinned), but most of its advantage is
# the split priors' scale: the model is *confident* about the rest of a black image once it has
# seen part of it, the same input-dependent prior-scale volume that carries CV-Glow's MNIST gap.
#
# **Beyond black: which term decides.** Under CV-Glow the split priors' scale favours every
# constant (pinned), so it cannot tell the winners from the losers; the Mahalanobis part works
# against every constant except v = 0 and 8 (pinned), and so its sign matches the outcome at more
# grey levels than the scale's (printed counts; a consequence of those two facts and of which
# constants win, so a code sanity check, not further evidence). The 10 constants that win are those
# where the scale's bonus outweighs the latents' distance from the priors' centres: the darkest
# ones and one mid-dark grey (printed grey levels). Under the affine Glow, the model of chapter
# 04 and of the paper's Figure 8, every constant wins, yet no single term is positive for all of
# them; the largest term is $\log|\det|$ for the darkest and the brightest constants and the
# Mahalanobis part for the greys in between (printed ranges, pinned). So the mechanism depends on
# the model and on the grey level: the black image wins under the Glow mostly through the
# couplings' volume (pinned), the mid-greys with the Mahalanobis part, latents closer to the
# priors' centres than a test image's, as their largest term; under CV-Glow the few that win do
# so through the split priors' scale.
#
# **How much can mapping near the latent mode buy?** Not much, and this is the typical-set
# cell at work. The Mahalanobis part $-\tfrac12\sum((z-\mu)/\sigma)^2$ is at most 0, reached
# only at the priors' centres, so no input whatever can beat the test mean through it by more
# than minus the test mean's Mahalanobis part: 390.6 nats for the Glow and 398.0 for CV-Glow
# (printed), both close to $D/2 = 392$, the mode-versus-sample gap of section 5's cell (a
# typical latent has $\sum((z-\mu)/\sigma)^2 \approx D$). The largest Mahalanobis advantage
# among the constants stays below that bound (printed beside it; a code sanity check, since it
# holds by construction). Volume has no such ceiling: the black image gets +1397.2 nats from
# $\log|\det|$ under the Glow and +1610.3 from the split priors' scale under CV-Glow (printed).
# Reaching the latent mode can buy any input at most about $D/2$ nats; making the flow
# expansive, or the priors confident, can buy thousands. The Glow's best constant on this part
# (a dark grey, printed) keeps a sum of squared standardised latents of 354
# (printed), less than a typical latent's $D$ but far from the mode's 0.
#
# **Beside the paper** (printed above): the black image gets 0.296 BPD under the Glow against
# the paper's 0.339 for its Glow, and 0.623 under CV-Glow; uniform noise 8.969 and 14.859
# against the paper's 8.686. The paper's values are its affine Glow's, and so are chapter 04's
# (the same model as our Glow here; it prints the same 0.296 for black); the paper publishes no
# CV-Glow value. Our noise value is a mean over 64 images, 8.969 [8.950, 8.988] (printed);
# chapter 04's 8.998 [8.994, 9.002] for the same Glow is a mean over 2000 noise images, drawn
# by the same generator with the same seed, so ours should be its first 64 (we have not checked
# that image by image). Chapter 04's value lies outside our interval, about three standard errors away, more than the
# choice of 64 images usually explains; we have not compared the images one by one, so whether
# it is the sample or something else (the images' order, their noise draws) is open. That our Glow puts black a little *below* the paper's 0.339 although it fits
# FashionMNIST test four tenths of a BPD worse is no contradiction: a constant image lies far
# outside the training data, so its BPD measures how the model extrapolates. The architecture
# (ours: two levels of eight steps, a sigmoid coupling scale, conditional split priors) and the
# budget (minutes of CPU, one seed, one dequantization draw) are the obvious suspects for how
# it does so, neither the paper's, and neither varied here. The level is not expected to match; the ordering is what replicates: black far
# more likely than the average test image, noise far less (pinned, for both models). Whether the MNIST gap is a milder version of
# the black image's advantage is suggested by section 3 (the scale part carries nearly all of
# CV-Glow's gap, the Mahalanobis part a few hundredths), not shown. Chapter 06 expands
# $\log p(x)$ to second order around a point, and chapter 07 measures the data property behind
# it.
#
# ## Summary
#
# - For the FashionMNIST Glow both $\log p(z)$ and the volume term favour MNIST, the volume
#   term by far the more (section 1, shares with intervals printed). Unlike the paper's
#   Figure 4a, b, no term of ours favours the training set under the model's bookkeeping.
# - The ActNorm and 1×1-convolution parts of the volume term are identical for every input;
#   the volume-term gap comes from the affine couplings, almost all of it from the first level,
#   also per dimension (section 2). The volume term's sign depends on the pixel units; its gap
#   does not.
# - CV-Glow, whose couplings' volume term is one constant, still gives MNIST the lower BPD at
#   every evaluation of its training after the start (section 3): **the couplings' volume term
#   is not necessary for the effect.** Whether input-dependent volume in general is necessary is
#   open: CV-Glow's conditional split priors carry nearly all of its gap in their scale term, an
#   input-dependent volume under the other bookkeeping; the latent-distance (Mahalanobis) part
#   carries a few hundredths for CV-Glow and favours FashionMNIST for the Glow. The control that
#   would decide it, a CV-Glow with input-independent split priors, was not run (exercise 9).
# - CV-Glow fits worse than the Glow, is the less converged (its test BPD still falling twice
#   as fast), and its AUROC lies above all three Glow seeds' intervals, so side-by-side
#   comparisons mix constant volume with model quality; CV-Glow is one seed. Its MNIST gap was
#   still widening at the end of training, the Glow's flat; at matched fit all three Glow seeds
#   have the larger gap, a difference of the size of CV-Glow's own jumps between evaluations
#   (training histories).
# - The singular-value bound $\log|\det| \le D \log L$ holds on every image checked (a theorem,
#   as is the Hadamard-AM-GM chain below it) and is loose by over a thousand nats on every image,
#   because the Jacobian's spectrum spans orders of magnitude (section 4).
# - Under CV-Glow a black image's $\log p(z)$ is above both test sets' means, mostly through
#   the split priors' scale, and only the few constants whose scale bonus outweighs their
#   Mahalanobis deficit win; under the affine Glow every constant beats the FashionMNIST test
#   mean on $\log p(x)$, the darkest and brightest mostly through the couplings' volume term,
#   the mid-greys with the Mahalanobis part as the largest term; that part can never buy more
#   than about $D/2$ nats, volume buys thousands (section 5).
#
# ## Exercises
#
# 1. Show that an additive coupling $y_a = x_a$, $y_b = x_b + t(x_a)$ has Jacobian
#    determinant exactly 1, for any network $t$. *Hint: write the Jacobian as a block
#    matrix; what kind of matrix has a determinant you can read off without expanding it?*
# 2. Predict what section 2's per-step plot looks like for the Glow trained on MNIST: which
#    level's couplings carry the gap between MNIST and FashionMNIST there, and with which
#    sign? Run it (a one-line change) and compare with your prediction. *Hint: section 1's
#    table for that model says which set its volume term favours.*
# 3. CV-Glow's volume term is the same for every input, but it is not zero (section 3). Which
#    parameters set it, and can maximum likelihood change it during training even though it
#    cannot tell images apart? *Hint: write the log-determinant of one ActNorm and of one 1×1
#    convolution as functions of their parameters, and ask what the gradient of the training
#    loss with respect to them contains.*
# 4. Replace the 30 power iterations of section 4 by 3 and rerun its cells. How far below the
#    full Jacobian's $s_1$ does the estimate land on each of the two images, and how many
#    iterations does the 1% check need? Is that count what the spectrum predicts? *Hint: the
#    error of power iteration shrinks geometrically with a ratio you can read off
#    `singular_value_arrays`.*
# 5. In the typical-set cell, compute the probability that a sample lands within radius
#    $\sqrt{D}/2$ of the mode. *Hint: $\|z\|^2 \sim \chi^2_D$; use `scipy.stats.chi2.cdf`.*
# 6. Section 3 books CV-Glow's split-prior scale as volume, but not *where in the image* that
#    volume's gap sits. Average $-\log\sigma(h)$ of split 1 per latent position over each test
#    set and map the MNIST-minus-FashionMNIST difference onto the image grid: is the gap spread
#    evenly, or concentrated where MNIST has background and FashionMNIST has cloth? *Hint:
#    `Split.prior_params` gives $\mu$ and $\log\sigma$ per latent; after one squeeze each
#    position of split 1 covers a 2×2 block of pixels.*
# 7. For the two images with full Jacobians in section 4, find the smallest number of singular
#    values that would have to be raised to $s_1$ (the others staying as they are) for the
#    singular-value bound to be tight within 100 nats. *Hint: the slack is a sum over $i$ of
#    one non-negative quantity; which terms of it are largest?*
# 8. Evaluate the paper's Proposition 1 (Appendix C: a Chebyshev-type bound on how far $f(x)$
#    strays from its mean) for our Glow, with $L$ from section 4 and $\sigma_x^2$ from the test
#    images. Is the bound informative for a $\delta$ of a few latent units? *Hint: work out the
#    units of each factor before plugging numbers in.*
# 9. **The missing control.** A CV-Glow whose split priors are learned but do not depend on the
#    input (a learned mean and log-scale per latent, as the top prior has), trained with the same
#    budget, comes with the book: `zoo.get("cv_glow", "fashion_mnist", profile,
#    variant=zoo.Variant(input_independent_split_prior=True))` (training it afresh costs about one
#    CV-Glow training run, whose time section 3 prints). Redo section 3's table and section 1's
#    split for it. Does MNIST still get the lower BPD? Which part of $\log p(z)$ now carries the
#    gap? *Hint: the split prior's parameters come from `Split.prior_params`; before comparing the
#    two models' gaps, compare how well each fits FashionMNIST.*
# 10. Section 4 evaluates the Eq. 7 bound on test images only. Does any input the chapter
#    scores come closer to it? Compute the slack $D\log L(x) - \log|\det|$ for the 64 constant
#    images of section 3 under the Glow and compare its smallest value with the test images'.
#    *Hint: `largest_singular_value` takes any batch of dequantized images (64 power-iteration
#    runs cost about half a minute of CPU); think about which of the two terms section 5 already
#    shows to be large for constants.*
# 11. CV-Glow's $\log|\det|$ is the same number for every input (section 3). Is the slack of the
#    Hadamard bound, $\sum_j\log\|Je_j\| - \log|\det J|$, the same too? Compute it for CV-Glow
#    at one FashionMNIST and one MNIST test image, and say which Jacobian is further from
#    having orthogonal columns. *Hint: `per_example_jacobian` works on CV-Glow unchanged (a
#    784×784 Jacobian takes seconds); compare logarithms, not the numbers themselves.*
#
#
# <!-- quoted: 8.998 8.994 9.002 (chapter 04, uniform noise under the same Glow, 2000 images) -->
# %%
chapter_footer()
