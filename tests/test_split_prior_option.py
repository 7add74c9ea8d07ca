"""The input-independent split prior (Split(input_dependent=False), zoo variant ``_constsplit``):
it ignores the kept half, the flow still inverts and its density is the Gaussian change of
variables, it saves and loads, and the default models (and every committed one) are unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_flows import brute_force_log_abs_det, perturb_
from test_zoo import serve_fake_datasets, tiny_profile

from ood_lib import data
from ood_lib.models.flows import Glow, Split
from ood_lib.settings.profiles import get_profile
from ood_lib.training import zoo

REPO = Path(__file__).resolve().parents[1]
COMMITTED_QUICK_MODELS = sorted((REPO / "data" / "models" / "quick").glob("*.safetensors"))
COMMITTED_QUICK_MODELS = [path for path in COMMITTED_QUICK_MODELS if not path.name.endswith(".ckpt.safetensors")]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def const_split_glow(image_shape=(1, 8, 8), levels: int = 2, coupling: str = "additive") -> Glow:
    """A tiny float64 Glow with input-independent split priors, every parameter perturbed, then
    every ActNorm initialised on data (as ``test_flows.tiny_glow``)."""
    model = Glow(image_shape, levels=levels, steps=2, hidden=8, coupling=coupling, input_dependent_split_prior=False)
    model = perturb_(model.double())
    model(torch.rand(16, *image_shape, dtype=torch.float64))
    return model.eval()


def test_split_prior_does_not_depend_on_the_kept_half() -> None:
    split = perturb_(Split(8, input_dependent=False, spatial_shape=(4, 4)).double(), scale=0.5)
    assert not hasattr(split, "prior_net")
    x_kept, z = split(torch.randn(3, 8, 4, 4, dtype=torch.float64))
    mean, log_std = split.prior_params(x_kept)
    assert mean.shape == z.shape and log_std.shape == z.shape
    other_mean, other_log_std = split.prior_params(x_kept + torch.randn_like(x_kept))
    assert torch.equal(other_mean, mean) and torch.equal(other_log_std, log_std)
    assert torch.equal(mean[0], split.mean) and torch.equal(mean[2], split.mean)
    expected = torch.distributions.Normal(split.mean, split.log_std.exp()).log_prob(z).sum(dim=(1, 2, 3))
    torch.testing.assert_close(split.log_prob(z, x_kept), expected, rtol=1e-12, atol=1e-12)
    assert torch.equal(split.log_prob(z, torch.randn_like(x_kept)), split.log_prob(z, x_kept))


def test_input_independent_split_prior_starts_standard_normal_and_learns() -> None:
    split = Split(8, input_dependent=False, spatial_shape=(2, 3))
    assert split.mean.shape == (4, 2, 3) and split.log_std.shape == (4, 2, 3)
    x_kept, z = split(torch.randn(5, 8, 2, 3))
    standard = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(dim=(1, 2, 3))
    torch.testing.assert_close(split.log_prob(z, x_kept), standard)
    split.log_prob(z, x_kept).sum().backward()
    assert split.mean.grad is not None and split.log_std.grad.abs().sum() > 0


def test_input_independent_split_needs_its_spatial_shape() -> None:
    with pytest.raises(ValueError, match="spatial_shape"):
        Split(8, input_dependent=False)


@pytest.mark.parametrize("coupling", ["additive", "affine"])
def test_glow_with_constant_split_priors_inverts(coupling: str) -> None:
    model = const_split_glow(coupling=coupling)
    assert all(not split.input_dependent for split in model.splits)
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    zs, _ = model(x)
    torch.testing.assert_close(model.inverse(zs), x, rtol=1e-9, atol=1e-9)
    samples = model.sample(3, temperature=0.7, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (3, 1, 8, 8) and torch.isfinite(samples).all()
    means = [split.mean.detach().expand(2, *split.mean.shape) for split in model.splits]
    top = model.top_prior.mean.detach().expand(2, *model.top_prior.mean.shape)
    torch.testing.assert_close(model.sample(2, temperature=0.0), model.inverse([*means, top]))


def test_log_prob_is_the_gaussian_change_of_variables_with_constant_split_priors() -> None:
    """log p(x) = sum_l log N(z_l; mu_l, sigma_l) (learned constants) + log|det J| (dense Jacobian)."""
    model = const_split_glow(image_shape=(1, 4, 4), levels=2, coupling="affine")
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    zs, _ = model(x)
    priors = [(split.mean, split.log_std) for split in model.splits]
    priors.append((model.top_prior.mean, model.top_prior.log_std))
    log_pz = sum(
        torch.distributions.Normal(mean, log_std.exp()).log_prob(z).sum(dim=(1, 2, 3))
        for z, (mean, log_std) in zip(zs, priors, strict=True)
    )
    for example in range(3):
        log_det = brute_force_log_abs_det(lambda v: torch.cat([z.flatten(1) for z in model(v)[0]], 1), x[example])
        torch.testing.assert_close(model.log_prob(x[example : example + 1])[0], log_pz[example] + log_det)


def test_constant_split_config_round_trips_and_the_default_config_is_unchanged() -> None:
    default = Glow((1, 8, 8), levels=2, steps=1, hidden=8)
    assert "input_dependent_split_prior" not in default.config
    assert "splits.0.prior_net.weight" in default.state_dict()

    model = const_split_glow()
    config = json.loads(json.dumps(model.config))
    assert config["input_dependent_split_prior"] is False
    assert {key: value for key, value in config.items() if key != "input_dependent_split_prior"} == {
        **Glow((1, 8, 8), levels=2, steps=2, hidden=8, coupling="additive").config
    }
    rebuilt = Glow(**config).double()
    rebuilt.load_state_dict(model.state_dict())
    assert rebuilt.config == model.config
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
    assert torch.equal(rebuilt.eval().log_prob(x), model.log_prob(x))
    with pytest.raises(RuntimeError):  # the plain architecture has a prior net instead
        Glow(**{**config, "input_dependent_split_prior": True}).double().load_state_dict(model.state_dict())


def test_zoo_variant_has_its_own_file_and_config_and_the_same_other_initial_weights(monkeypatch) -> None:
    serve_fake_datasets(monkeypatch.setattr)
    variant = zoo.Variant(input_independent_split_prior=True)
    assert variant.suffix() == "_constsplit" and zoo.PLAIN.suffix() == ""
    plain = zoo.wanted("cv_glow", "fashion_mnist", get_profile("quick"))
    const = zoo.wanted("cv_glow", "fashion_mnist", get_profile("quick"), variant)
    assert const.path.name == "cv_glow_fashion_mnist_constsplit.safetensors"
    assert const.config["model"] == {**plain.config["model"], "input_dependent_split_prior": False}
    assert {k: v for k, v in const.config.items() if k != "model"} == {
        k: v for k, v in plain.config.items() if k != "model"
    }
    plain_state, const_state = plain.model.state_dict(), const.model.state_dict()
    prior_net = {f"splits.0.prior_net.{name}" for name in ("weight", "bias", "log_scale")}
    assert set(plain_state) - set(const_state) == prior_net
    assert set(const_state) - set(plain_state) == {"splits.0.mean", "splits.0.log_std"}
    for key in set(plain_state) & set(const_state):
        assert torch.equal(plain_state[key], const_state[key]), key
    with pytest.raises(ValueError, match="Glow option"):
        zoo.wanted("pixelcnn", "fashion_mnist", get_profile("quick"), variant)


def test_zoo_trains_and_serves_the_constant_split_variant(tmp_path, monkeypatch, single_thread) -> None:
    monkeypatch.setenv("OOD_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("OOD_MODEL_WRITE_DIR", raising=False)
    monkeypatch.delenv("OOD_TRAIN", raising=False)
    monkeypatch.setenv("OOD_DEVICE", "cpu")
    serve_fake_datasets(monkeypatch.setattr)
    variant = zoo.Variant(input_independent_split_prior=True)
    trained = zoo.get("cv_glow", "fashion_mnist", tiny_profile(), variant=variant, progress=False)
    assert trained.path.name == "cv_glow_fashion_mnist_constsplit.safetensors" and not trained.from_cache
    assert not trained.model.splits[0].input_dependent
    assert trained.model.splits[0].mean.abs().sum() > 0, "the split prior's mean was trained"
    monkeypatch.setenv("OOD_TRAIN", "never")
    served = zoo.get("cv_glow", "fashion_mnist", tiny_profile(), variant=variant, progress=False)
    assert served.from_cache and served.config == trained.config
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(served.model.log_prob(x), trained.model.log_prob(x))
    with pytest.raises(zoo.ModelNotTrainedError):  # the plain model is another file
        zoo.get("cv_glow", "fashion_mnist", tiny_profile(), progress=False)


def _variant_of(stored: dict, profile) -> zoo.Variant:
    """The zoo variant a committed model's stored config describes."""
    outliers = stored.get("outlier_exposure", {}).get("outliers_from")
    base = profile.outlier_exposure_train if outliers else None
    if base is None:
        family = zoo.MODEL_BUILDERS[stored["model_name"]][1]
        base = profile.train(data.SPECS[stored["data"]["train_set"]].shape, family)
    return zoo.Variant(
        seed=stored["train"]["seed"] - base.seed,
        perturbation_rate=stored.get("perturbation_rate", 0.0),
        outliers_from=outliers,
        bf16=stored.get("bf16", False),
        input_independent_split_prior=stored["model"].get("input_dependent_split_prior") is False,
        no_lr_decay=stored["train"]["decay_fraction"] == 0 and base.decay_fraction != 0,
        outlier_margin=stored.get("outlier_exposure", {}).get("margin"),  # the default one stored as None
    )


@pytest.mark.parametrize("compile_env", ["0", "1"])  # the compiled step's switch is not part of a model's identity
@pytest.mark.parametrize("path", COMMITTED_QUICK_MODELS, ids=lambda path: path.stem)
def test_every_committed_quick_model_still_loads_through_the_zoo(path, compile_env, shared_data, monkeypatch) -> None:
    monkeypatch.setenv("OOD_COMPILE", compile_env)
    monkeypatch.setenv("OOD_DATA_DIR", str(shared_data))
    monkeypatch.setenv("OOD_MODEL_DIR", str(path.parent.parent))
    monkeypatch.delenv("OOD_MODEL_WRITE_DIR", raising=False)
    monkeypatch.setenv("OOD_TRAIN", "never")
    monkeypatch.setenv("OOD_DEVICE", "cpu")
    stored = json.loads(path.with_suffix(".json").read_text())["config"]
    profile = get_profile("quick")
    loaded = zoo.get(
        stored["model_name"], stored["data"]["train_set"], profile, variant=_variant_of(stored, profile), progress=False
    )
    assert loaded.from_cache and loaded.path == path and loaded.config == stored
