"""Bootstrap intervals on inputs whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ood_lib.ood import intervals
from ood_lib.ood.metrics import ood_metrics


def test_weighted_auroc_with_unit_counts_is_sklearns_auroc_including_ties() -> None:
    rng = np.random.default_rng(0)
    in_scores, out_scores = rng.integers(0, 20, 300).astype(float), rng.integers(3, 25, 200).astype(float)
    expected = roc_auc_score(np.r_[np.ones(300), np.zeros(200)], np.r_[in_scores, out_scores])
    got = intervals.weighted_auroc(in_scores, out_scores, np.ones((1, 300)), np.ones((1, 200)))[0]
    assert got == pytest.approx(expected, abs=1e-12)


def test_weighted_auroc_equals_the_auroc_of_the_repeated_data() -> None:
    rng = np.random.default_rng(1)
    in_scores, out_scores = rng.normal(1, 1, 50), rng.normal(0, 1, 40)
    in_counts, out_counts = rng.integers(0, 4, 50), rng.integers(0, 4, 40)
    repeated_in, repeated_out = np.repeat(in_scores, in_counts), np.repeat(out_scores, out_counts)
    labels = np.r_[np.ones(len(repeated_in)), np.zeros(len(repeated_out))]
    expected = roc_auc_score(labels, np.r_[repeated_in, repeated_out])
    got = intervals.weighted_auroc(in_scores, out_scores, in_counts[None].astype(float), out_counts[None].astype(float))
    assert got[0] == pytest.approx(expected, abs=1e-12)


def test_mean_interval_covers_the_truth_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(2)
    covered = [intervals.bootstrap_mean(rng.exponential(2.0, 200), n_resamples=400, seed=k) for k in range(200)]
    rate = np.mean([not interval.excludes(2.0) for interval in covered])
    assert 0.88 <= rate <= 0.99


def test_mean_interval_has_the_textbook_width() -> None:
    values = np.random.default_rng(3).normal(0.0, 1.0, 4000)
    interval = intervals.bootstrap_mean(values, n_resamples=2000)
    expected_half_width = 1.96 * values.std() / np.sqrt(len(values))
    assert (interval.high - interval.low) / 2 == pytest.approx(expected_half_width, rel=0.1)
    assert interval.estimate == pytest.approx(values.mean())


def test_auroc_interval_separates_separable_scores_and_covers_chance_for_identical_ones() -> None:
    rng = np.random.default_rng(4)
    apart = intervals.bootstrap_auroc(rng.normal(2, 1, 500), rng.normal(0, 1, 500))
    same = intervals.bootstrap_auroc(rng.normal(0, 1, 500), rng.normal(0, 1, 500))
    assert apart.excludes(0.5) and apart.low > 0.9  # true AUROC Phi(2 / sqrt 2) = 0.921
    assert not same.excludes(0.5) and same.high - same.low < 0.1


def test_auroc_difference_is_zero_for_one_score_and_real_for_a_better_one() -> None:
    rng = np.random.default_rng(5)
    in_signal, out_signal = rng.normal(1, 1, 400), rng.normal(0, 1, 400)
    same = intervals.bootstrap_auroc_difference(in_signal, out_signal, in_signal, out_signal)
    assert same.estimate == same.low == same.high == 0.0
    sharper = intervals.bootstrap_auroc_difference(3 * in_signal, 3 * out_signal, in_signal, out_signal)
    assert sharper.estimate == pytest.approx(0.0) and not sharper.excludes(0.0)  # monotone map: same ranks
    better = intervals.bootstrap_auroc_difference(
        in_signal + rng.normal(1, 0.3, 400), out_signal + rng.normal(0, 0.3, 400), in_signal, out_signal
    )
    assert better.excludes(0.0) and better.low > 0


def test_mean_difference_of_independent_sets() -> None:
    rng = np.random.default_rng(6)
    interval = intervals.bootstrap_mean_difference(rng.normal(1.0, 1, 1000), rng.normal(0.0, 1, 1000))
    assert not interval.excludes(1.0) and interval.excludes(0.0)
    assert interval.format(2).count("[") == 1


def test_bad_inputs_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="finite"):
        intervals.bootstrap_mean(np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="at least 2"):
        intervals.bootstrap_auroc(np.array([1.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="same images"):
        intervals.bootstrap_auroc_difference(np.ones(3), np.ones(4), np.ones(3), np.ones(5))
    with pytest.raises(ValueError, match="level"):
        intervals.bootstrap_mean(np.arange(5.0), level=95)


@pytest.mark.parametrize("rounding", [None, 1])
def test_weighted_fpr_and_aupr_with_unit_counts_are_the_metrics_modules_values(rounding: int | None) -> None:
    rng = np.random.default_rng(3)
    in_scores, out_scores = rng.normal(1.0, 1.0, 300), rng.normal(0.0, 1.0, 250)
    if rounding is not None:  # many ties, inside and across the sets
        in_scores, out_scores = np.round(in_scores, rounding), np.round(out_scores, rounding)
    expected = ood_metrics(in_scores, out_scores)
    ones_in, ones_out = np.ones((1, 300)), np.ones((1, 250))
    assert intervals.weighted_fpr_at_tpr(in_scores, out_scores, ones_in, ones_out)[0] == pytest.approx(
        expected.fpr_at_95_tpr, abs=1e-12
    )
    assert intervals.weighted_aupr_in(in_scores, out_scores, ones_in, ones_out)[0] == pytest.approx(
        expected.aupr_in, abs=1e-12
    )


def test_weighted_fpr_and_aupr_equal_the_metrics_of_the_repeated_data() -> None:
    rng = np.random.default_rng(4)
    in_scores, out_scores = rng.normal(0.5, 1.0, 40), rng.normal(0.0, 1.0, 30)
    in_counts, out_counts = rng.integers(0, 4, (1, 40)).astype(float), rng.integers(0, 4, (1, 30)).astype(float)
    repeated = ood_metrics(
        np.repeat(in_scores, in_counts[0].astype(int)), np.repeat(out_scores, out_counts[0].astype(int))
    )
    assert intervals.weighted_fpr_at_tpr(in_scores, out_scores, in_counts, out_counts)[0] == pytest.approx(
        repeated.fpr_at_95_tpr
    )
    aupr = intervals.weighted_aupr_in(in_scores, out_scores, in_counts, out_counts)[0]
    assert aupr == pytest.approx(repeated.aupr_in)


def test_known_fpr_at_95_tpr_and_aupr() -> None:
    """In-scores 1..20, OOD scores 0.5 and 18.5: the 95% threshold is 2, which only 18.5 passes."""
    in_scores, out_scores = np.arange(1.0, 21.0), np.array([0.5, 18.5])
    result = intervals.bootstrap_ood_metrics(in_scores, out_scores, n_resamples=200)
    assert result.fpr_at_95_tpr.estimate == pytest.approx(0.5)
    # precision 1 for the top two in-scores, then 2/3 ... : AP = (2 + sum_{k=3}^{20} k / (k + 1)) / 20
    expected_ap = (2 + sum(k / (k + 1) for k in range(3, 21))) / 20
    assert result.aupr_in.estimate == pytest.approx(expected_ap)


def test_ood_metric_intervals_separate_separable_scores_and_cover_chance_for_identical_ones() -> None:
    rng = np.random.default_rng(5)
    separable = intervals.bootstrap_ood_metrics(rng.normal(5, 1, 500), rng.normal(0, 1, 500))
    assert separable.auroc.low > 0.99 and separable.fpr_at_95_tpr.high < 0.01 and separable.aupr_in.low > 0.99
    same = intervals.bootstrap_ood_metrics(rng.normal(0, 1, 500), rng.normal(0, 1, 500))
    assert same.auroc.low < 0.5 < same.auroc.high
    assert same.fpr_at_95_tpr.low < 0.95 < same.fpr_at_95_tpr.high
    assert same.aupr_in.low < 0.5 < same.aupr_in.high
    for metric in (same.auroc, same.aupr_in, same.fpr_at_95_tpr):
        assert metric.low <= metric.estimate <= metric.high
