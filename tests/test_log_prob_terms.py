"""The term-by-term split of a Glow's log-likelihood adds up to the model's own log p(z) and log|det|."""

from __future__ import annotations

import math

import pytest
import torch

from ood_lib.analysis.log_prob_terms import gaussian_terms, log_prob_terms
from ood_lib.models.flows import Glow


def random_glow(coupling: str, seed: int) -> Glow:
    torch.manual_seed(seed)
    model = Glow((1, 8, 8), levels=2, steps=2, hidden=8, coupling=coupling).double()
    model(torch.rand(16, 1, 8, 8, dtype=torch.float64))  # initialise ActNorm from data
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))  # zero-initialised priors become image-dependent
    return model.eval()


@pytest.mark.parametrize("coupling", ["affine", "additive"])
def test_terms_add_up_to_the_models_log_prob_parts(coupling: str) -> None:
    model = random_glow(coupling, seed=0)
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
    terms = log_prob_terms(model, x)
    with torch.no_grad():
        log_pz, log_det = model.log_prob_parts(x)
    assert list(terms.priors) == ["split 1", "top"]
    torch.testing.assert_close(terms.log_pz, log_pz)
    torch.testing.assert_close(terms.log_det, log_det)
    torch.testing.assert_close(terms.log_px, model.log_prob(x))
    summed = sum(terms.table().values())
    torch.testing.assert_close(summed, terms.log_px)
    torch.testing.assert_close(terms.part("scale") + terms.part("mahalanobis") + terms.part("constant"), log_pz)


def test_split_scale_term_depends_on_the_image_and_the_top_one_does_not() -> None:
    model = random_glow("additive", seed=1)
    terms = log_prob_terms(model, torch.rand(6, 1, 8, 8, dtype=torch.float64))
    assert terms.priors["split 1"].scale.std() > 0
    assert terms.priors["top"].scale.std() < 1e-12
    assert terms.priors["top"].constant[0] == pytest.approx(-0.5 * 32 * math.log(2 * math.pi))  # 8 x 2 x 2 values


def test_gaussian_terms_of_a_standard_normal() -> None:
    z = torch.tensor([[1.0, -2.0, 0.0]], dtype=torch.float64)
    terms = gaussian_terms(z, torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    assert terms.scale.item() == 0.0
    assert terms.mahalanobis.item() == pytest.approx(-2.5)
    assert terms.total.item() == pytest.approx(-2.5 - 1.5 * math.log(2 * math.pi))
    scaled = gaussian_terms(
        z, torch.zeros(3, dtype=torch.float64), torch.full((3,), math.log(2.0), dtype=torch.float64)
    )
    assert scaled.scale.item() == pytest.approx(-3 * math.log(2.0))
    assert scaled.mahalanobis.item() == pytest.approx(-2.5 / 4)


def test_diagnostics_name_the_largest_deviation_and_the_smallest_scale() -> None:
    z = torch.tensor([[1.0, -5.0], [0.5, 0.25]], dtype=torch.float64)
    log_std = torch.tensor([0.0, -3.0], dtype=torch.float64)
    terms = gaussian_terms(z, torch.zeros(2, dtype=torch.float64), log_std)
    assert terms.largest_deviation.tolist() == [5.0, 0.5]
    assert terms.smallest_log_std.tolist() == [-3.0, -3.0]


def test_joint_diagnostic_reads_miss_and_scale_at_the_same_position() -> None:
    # the largest miss (3.0, scale 1) is not the largest standardised deviation (0.1 / e^-5 = 14.8)
    z = torch.tensor([[3.0, 0.1, 0.0]], dtype=torch.float64)
    log_std = torch.tensor([0.0, -5.0, 0.0], dtype=torch.float64)
    terms = gaussian_terms(z, torch.zeros(3, dtype=torch.float64), log_std)
    assert terms.largest_deviation.item() == 3.0
    assert terms.worst_miss.item() == pytest.approx(0.1)
    assert terms.worst_log_std.item() == -5.0
    assert terms.worst_standardised.item() == pytest.approx(0.1 * math.exp(5.0))
    assert terms.worst_share.item() == pytest.approx(1.0)  # 3 positions, all within the top 5


def test_kept_tensors_reproduce_the_terms_and_change_nothing() -> None:
    model = random_glow("affine", seed=2)
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    plain, kept = log_prob_terms(model, x), log_prob_terms(model, x, keep_tensors=True)
    for name, terms in plain.priors.items():
        assert terms.z is None and terms.mean is None and terms.log_std is None and terms.kept is None
        with_tensors = kept.priors[name]
        torch.testing.assert_close(with_tensors.total, terms.total, rtol=0, atol=0)
        recomputed = gaussian_terms(with_tensors.z, with_tensors.mean, with_tensors.log_std)
        torch.testing.assert_close(recomputed.mahalanobis, terms.mahalanobis)
        torch.testing.assert_close(recomputed.scale, terms.scale)
        assert with_tensors.mean.shape == with_tensors.z.shape == with_tensors.log_std.shape
    split, top = kept.priors["split 1"], kept.priors["top"]
    assert top.kept is None
    assert split.kept.shape == split.z.shape == (4, 2, 4, 4)  # 1x8x8 squeezed to 4x4x4, halved
    torch.testing.assert_close(split.mean, model.splits[0].prior_params(split.kept)[0])
    assert top.mean.shape == top.z.shape
