"""Tests of the Glow layers and model: log-determinants against brute-force Jacobians,
inverses, densities, save/load, BPD and the model API."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import Tensor, nn

from ood_lib.analysis.jacobian import largest_singular_value, per_example_jacobian
from ood_lib.data.dequantization import dequantize
from ood_lib.models.bpd import bits_per_dim_from_log_prob
from ood_lib.models.flows import (
    ActNorm,
    AdditiveCoupling,
    AffineCoupling,
    ConvActNorm,
    FlowStep,
    Glow,
    InvConv2d,
    LearnedGaussianPrior,
    Split,
    Squeeze,
    ZeroConv2d,
    unsqueeze2d,
)

RTOL = 1e-6
ATOL = 1e-9


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@torch.no_grad()
def perturb_(module: nn.Module, scale: float = 0.1) -> nn.Module:
    """Add Gaussian noise to every parameter, so zero-initialised layers are not the identity."""
    for parameter in module.parameters():
        parameter.add_(scale * torch.randn_like(parameter))
    return module


def brute_force_log_abs_det(fn, x: Tensor) -> Tensor:
    """log|det d fn(x)/dx| for one example ``x`` (no batch dimension) from the full Jacobian."""
    jacobian = torch.autograd.functional.jacobian(lambda v: fn(v.view(1, *x.shape)).flatten(), x.flatten())
    assert jacobian.shape == (x.numel(), x.numel())
    return torch.linalg.slogdet(jacobian)[1]


def assert_log_det_matches_jacobian(layer: nn.Module, x: Tensor) -> None:
    """The layer's per-example log_det equals the brute-force one, example by example."""
    _, log_det = layer(x)
    assert log_det.shape == (x.shape[0],)
    for example in range(x.shape[0]):
        expected = brute_force_log_abs_det(lambda v: layer(v)[0], x[example])
        torch.testing.assert_close(log_det[example], expected, rtol=RTOL, atol=ATOL)


def initialised_actnorm(num_channels: int, x: Tensor) -> ActNorm:
    actnorm = ActNorm(num_channels).double()
    actnorm(x)
    return actnorm.eval()


def coupling_layer(kind: type[nn.Module], num_channels: int) -> nn.Module:
    """A float64 coupling whose network's ActNorms are initialised on data, every parameter then perturbed."""
    layer = kind(num_channels, hidden=8).double()
    layer(torch.randn(16, num_channels, 4, 4, dtype=torch.float64))
    return perturb_(layer).eval()


def flow_step(coupling: str, lu: bool, x: Tensor) -> FlowStep:
    step = FlowStep(x.shape[1], hidden=8, coupling=coupling, lu=lu).double()
    step(x)
    return perturb_(step).eval()


def tiny_glow(image_shape: tuple[int, int, int], levels: int, coupling: str, lu: bool = True) -> Glow:
    """A float64 Glow with every parameter perturbed, then every ActNorm initialised on data.

    Initialising after perturbing keeps each layer's activations standardised, so the
    Jacobian stays well conditioned and its brute-force log-determinant accurate.
    """
    model = perturb_(Glow(image_shape, levels=levels, steps=2, hidden=8, coupling=coupling, lu=lu).double())
    model(torch.rand(16, *image_shape, dtype=torch.float64))
    return model.eval()


def flat_latents(model: Glow, x: Tensor) -> Tensor:
    zs, _ = model(x)
    return torch.cat([z.flatten(1) for z in zs], dim=1)


LAYERS = {
    "actnorm": lambda x: initialised_actnorm(x.shape[1], 3.0 + 2.0 * x),
    "invconv_lu": lambda x: perturb_(InvConv2d(x.shape[1], lu=True).double()),
    "invconv_plain": lambda x: perturb_(InvConv2d(x.shape[1], lu=False).double()),
    "affine_coupling": lambda x: coupling_layer(AffineCoupling, x.shape[1]),
    "additive_coupling": lambda x: coupling_layer(AdditiveCoupling, x.shape[1]),
    "squeeze": lambda x: Squeeze(),
    "flow_step_affine": lambda x: flow_step("affine", True, x),
    "flow_step_additive_plain": lambda x: flow_step("additive", False, x),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_log_det_matches_brute_force_jacobian(name: str) -> None:
    x = torch.randn(3, 4, 4, 4, dtype=torch.float64)
    assert_log_det_matches_jacobian(LAYERS[name](x), x)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_inverse_round_trip(name: str) -> None:
    x = torch.randn(3, 4, 4, 4, dtype=torch.float64)
    layer = LAYERS[name](x)
    y, _ = layer(x)
    assert y.shape != x.shape or not torch.allclose(y, x), "the layer should not be the identity"
    torch.testing.assert_close(layer.inverse(y), x, rtol=1e-10, atol=1e-10)


def test_actnorm_data_dependent_init_standardises_first_batch() -> None:
    x = 3.0 + 2.0 * torch.randn(64, 3, 8, 8)
    actnorm = ActNorm(3)
    assert not actnorm.initialized
    y, _ = actnorm(x)
    assert actnorm.initialized
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(3), rtol=0, atol=1e-5)
    torch.testing.assert_close(y.std(dim=(0, 2, 3), correction=0), torch.ones(3), rtol=0, atol=1e-4)
    bias_after_first_batch = actnorm.bias.detach().clone()
    actnorm(5.0 * x)
    assert torch.equal(actnorm.bias, bias_after_first_batch), "a second batch must not re-initialise"


@pytest.mark.parametrize("kind", [AffineCoupling, AdditiveCoupling])
def test_coupling_net_actnorms_standardise_the_first_batch_then_stay(kind: type[nn.Module]) -> None:
    """Glow's coupling net: conv (no bias, N(0, 0.05^2)) -> ActNorm -> ReLU, twice, then the zero conv."""
    layer = kind(6, hidden=16)
    first, _, second, _, last = layer.net
    assert all(isinstance(conv, ConvActNorm) for conv in (first, second)) and isinstance(last, ZeroConv2d)
    assert not any("bias" in name for name, _ in first.named_parameters() if not name.startswith("actnorm"))
    assert abs(first.weight.std().item() - ConvActNorm.INIT_STD) < 0.01
    x = 2.0 + 3.0 * torch.randn(64, 6, 8, 8)
    layer(x)
    hidden_first = first(x[:, :3])
    hidden_second = second(torch.relu(hidden_first))
    for hidden in (hidden_first, hidden_second):
        torch.testing.assert_close(hidden.mean(dim=(0, 2, 3)), torch.zeros(16), rtol=0, atol=1e-4)
        torch.testing.assert_close(hidden.std(dim=(0, 2, 3), correction=0), torch.ones(16), rtol=0, atol=1e-4)
    state = {key: value.clone() for key, value in layer.state_dict().items()}
    layer(10.0 * x)
    assert all(torch.equal(value, state[key]) for key, value in layer.state_dict().items())


def test_conv_actnorm_is_the_convolution_followed_by_actnorm() -> None:
    layer = ConvActNorm(3, 5, kernel_size=3).double()
    layer(torch.randn(16, 3, 6, 6, dtype=torch.float64))
    perturb_(layer).eval()
    x = torch.randn(4, 3, 6, 6, dtype=torch.float64)
    expected, _ = layer.actnorm(nn.functional.conv2d(x, layer.weight, padding=1))
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)


def test_actnorm_does_not_initialise_in_eval_mode() -> None:
    actnorm = ActNorm(3).eval()
    x = torch.randn(8, 3, 4, 4)
    y, log_det = actnorm(x)
    assert not actnorm.initialized
    assert torch.equal(y, x) and torch.equal(log_det, torch.zeros(8))


def test_fused_flow_step_equals_actnorm_invconv_coupling_in_sequence() -> None:
    x = torch.randn(5, 4, 4, 4, dtype=torch.float64)
    step = flow_step("affine", True, x)
    y, log_det = step(x)
    h, log_det_actnorm = step.actnorm(x)
    h, log_det_invconv = step.invconv(h)
    y_sequential, log_det_coupling = step.coupling(h)
    torch.testing.assert_close(y, y_sequential, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(log_det, log_det_actnorm + log_det_invconv + log_det_coupling, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lu", [True, False])
def test_invconv_starts_as_a_rotation(lu: bool) -> None:
    layer = InvConv2d(6, lu=lu)
    weight = layer.weight().double()
    torch.testing.assert_close(weight @ weight.T, torch.eye(6, dtype=torch.float64), rtol=0, atol=1e-6)
    _, log_det = layer(torch.randn(2, 6, 3, 3))
    torch.testing.assert_close(log_det, torch.zeros(2), rtol=0, atol=1e-4)


def test_plain_invconv_log_det_uses_float64() -> None:
    layer = InvConv2d(48, lu=False)
    with torch.no_grad():
        layer.weight_matrix.mul_(1.5)
    expected = 48 * math.log(1.5)
    assert abs(layer.log_abs_det_per_position().item() - expected) < 1e-5 * expected


def test_additive_coupling_log_det_is_exactly_zero_for_any_input() -> None:
    layer = coupling_layer(AdditiveCoupling, 4)
    for scale in (0.1, 1.0, 10.0):
        y, log_det = layer(scale * torch.randn(6, 4, 4, 4, dtype=torch.float64))
        assert torch.equal(log_det, torch.zeros(6, dtype=torch.float64))


def test_affine_coupling_log_det_depends_on_input() -> None:
    layer = coupling_layer(AffineCoupling, 4)
    _, log_det = layer(torch.randn(6, 4, 4, 4, dtype=torch.float64))
    assert log_det.unique().numel() == 6


def test_split_is_a_volume_preserving_partition() -> None:
    split = perturb_(Split(8).double())
    x = torch.randn(2, 8, 3, 3, dtype=torch.float64)
    x_kept, z = split(x)
    assert x_kept.shape == (2, 4, 3, 3) and z.shape == (2, 4, 3, 3)
    for example in range(2):
        log_abs_det = brute_force_log_abs_det(lambda v: torch.cat([t.flatten(1) for t in split(v)], 1), x[example])
        torch.testing.assert_close(log_abs_det, torch.zeros((), dtype=torch.float64), rtol=0, atol=1e-12)
    assert torch.equal(split.inverse(x_kept, z), x)


def test_split_density_is_the_conditional_gaussian_of_its_prior_net() -> None:
    split = perturb_(Split(8).double())
    x_kept, z = split(torch.randn(3, 8, 4, 4, dtype=torch.float64))
    mean, log_std = split.prior_net(x_kept).chunk(2, dim=1)
    assert not torch.allclose(log_std, torch.zeros_like(log_std))
    expected = torch.distributions.Normal(mean, log_std.exp()).log_prob(z).sum(dim=(1, 2, 3))
    torch.testing.assert_close(split.log_prob(z, x_kept), expected, rtol=1e-12, atol=1e-12)
    other_kept = torch.randn_like(x_kept)
    assert not torch.allclose(split.log_prob(z, other_kept), expected), "the prior must depend on x_kept"


def test_learned_top_prior_density_and_sample_temperature() -> None:
    prior = perturb_(LearnedGaussianPrior((2, 3, 3)).double(), scale=0.5)
    z = torch.randn(4, 2, 3, 3, dtype=torch.float64)
    expected = torch.distributions.Normal(prior.mean, prior.log_std.exp()).log_prob(z).sum(dim=(1, 2, 3))
    torch.testing.assert_close(prior.log_prob(z), expected, rtol=1e-12, atol=1e-12)
    mean_sample = prior.sample(4, temperature=0.0)
    assert torch.equal(mean_sample, prior.mean.detach().expand(4, 2, 3, 3))
    wide = prior.sample(20000, temperature=1.0, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(wide.std(dim=0), prior.log_std.exp().detach(), rtol=0.05, atol=0)


GLOW_CASES = [
    ((2, 4, 4), 1, "affine"),
    ((2, 4, 4), 2, "affine"),
    ((1, 8, 8), 2, "affine"),
    ((2, 4, 4), 1, "additive"),
    ((2, 4, 4), 2, "additive"),
]


@pytest.mark.parametrize(("image_shape", "levels", "coupling"), GLOW_CASES)
def test_glow_log_det_matches_brute_force_jacobian(image_shape, levels: int, coupling: str) -> None:
    model = tiny_glow(image_shape, levels, coupling)
    x = torch.rand(2, *image_shape, dtype=torch.float64)
    _, log_det = model(x)
    for example in range(2):
        expected = brute_force_log_abs_det(lambda v: flat_latents(model, v), x[example])
        torch.testing.assert_close(log_det[example], expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("lu", [True, False])
@pytest.mark.parametrize(("image_shape", "levels", "coupling"), GLOW_CASES)
def test_glow_inverse_round_trip(image_shape, levels: int, coupling: str, lu: bool) -> None:
    model = tiny_glow(image_shape, levels, coupling, lu)
    x = torch.rand(3, *image_shape, dtype=torch.float64)
    zs, _ = model(x)
    assert len(zs) == levels
    assert sum(z[0].numel() for z in zs) == math.prod(image_shape)
    torch.testing.assert_close(model.inverse(zs), x, rtol=1e-10, atol=1e-10)


def test_glow_log_prob_is_the_sum_of_its_factorised_prior_and_log_det() -> None:
    model = tiny_glow((2, 4, 4), 2, "affine")
    x = torch.rand(3, 2, 4, 4, dtype=torch.float64)
    log_pz, log_det = model.log_prob_parts(x)
    torch.testing.assert_close(model.log_prob(x), log_pz + log_det, rtol=1e-12, atol=1e-12)
    zs, log_det_forward = model(x)
    assert torch.equal(log_det, log_det_forward)
    h = zs[1]
    for step in reversed(model.levels[1]):
        h = step.inverse(h)
    h_kept = unsqueeze2d(h)
    mean, log_std = model.splits[0].prior_net(h_kept).chunk(2, dim=1)
    top = model.top_prior
    expected = torch.distributions.Normal(mean, log_std.exp()).log_prob(zs[0]).sum(
        dim=(1, 2, 3)
    ) + torch.distributions.Normal(top.mean, top.log_std.exp()).log_prob(zs[1]).sum(dim=(1, 2, 3))
    torch.testing.assert_close(log_pz, expected, rtol=1e-10, atol=1e-10)


def test_cv_glow_log_det_is_identical_for_different_inputs() -> None:
    model = tiny_glow((2, 4, 4), 2, "additive")
    _, log_det_a = model(torch.rand(4, 2, 4, 4, dtype=torch.float64))
    _, log_det_b = model(torch.zeros(4, 2, 4, 4, dtype=torch.float64))
    assert log_det_a.unique().numel() == 1
    assert torch.equal(log_det_a, log_det_b)
    assert log_det_a[0] != 0, "actnorm and 1x1 convs still contribute a (constant) volume term"


def test_affine_glow_log_det_varies_with_input() -> None:
    model = tiny_glow((2, 4, 4), 2, "affine")
    _, log_det = model(torch.rand(4, 2, 4, 4, dtype=torch.float64))
    assert log_det.unique().numel() == 4


def test_save_load_reproduces_log_prob_without_reinitialising_actnorm() -> None:
    model = Glow((1, 8, 8), levels=2, steps=2, hidden=8)
    model(torch.rand(32, 1, 8, 8))
    state = model.state_dict()
    actnorm_flags = [key for key in state if key.endswith("actnorm.initialized")]
    # 4 flow steps, each with its own ActNorm and 2 in its coupling net
    assert len(actnorm_flags) == 4 * 3 and all(bool(state[key]) for key in actnorm_flags)

    fresh = Glow(**model.config)
    fresh.load_state_dict(state)
    x = torch.rand(8, 1, 8, 8)
    model.eval()
    fresh.eval()
    assert torch.equal(fresh.log_prob(x), model.log_prob(x))

    fresh.train()
    fresh(10.0 * torch.rand(32, 1, 8, 8))
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, state[key]), f"{key} changed: actnorm re-initialised after loading"


def test_loading_an_uninitialised_state_makes_actnorm_initialise_again() -> None:
    model = Glow((1, 8, 8), levels=1, steps=1, hidden=8)
    untrained_state = {key: value.clone() for key, value in model.state_dict().items()}
    model(torch.rand(16, 1, 8, 8))
    actnorm = model.levels[0][0].actnorm
    assert actnorm.initialized
    model.load_state_dict(untrained_state)
    assert not actnorm.initialized
    model(3.0 + torch.rand(16, 1, 8, 8))
    assert actnorm.initialized and actnorm.bias.abs().min() > 2.0


def test_config_is_json_and_rebuilds_the_model() -> None:
    model = Glow((3, 8, 8), levels=2, steps=3, hidden=16, coupling="additive", lu=False)
    config = json.loads(json.dumps(model.config))
    assert config == {
        "image_shape": [3, 8, 8],
        "levels": 2,
        "steps": 3,
        "hidden": 16,
        "coupling": "additive",
        "lu": False,
    }
    rebuilt = Glow(**config)
    assert rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(rebuilt.eval().log_prob(x), model.eval().log_prob(x))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"image_shape": (1, 6, 6), "levels": 2},
        {"image_shape": (8, 8, 1), "levels": 1},
        {"image_shape": (1, 8, 8), "levels": 1, "coupling": "spline"},
    ],
)
def test_invalid_glow_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Glow(**kwargs)


def test_bpd_of_uniform_density_is_eight_bits() -> None:
    num_dims = 3 * 32 * 32
    for low in (0.0, -0.5):
        x = low + torch.rand(5, num_dims, dtype=torch.float64)
        log_prob_uniform = torch.zeros(5, dtype=torch.float64) * x.sum(dim=1)
        bpd = bits_per_dim_from_log_prob(log_prob_uniform, num_dims)
        torch.testing.assert_close(bpd, torch.full((5,), 8.0, dtype=torch.float64), rtol=0, atol=1e-12)


def test_bpd_is_per_image() -> None:
    log_prob = torch.tensor([-100.0, -2000.0], dtype=torch.float64)
    bpd = bits_per_dim_from_log_prob(log_prob, 784)
    expected = (-log_prob + 784 * math.log(256)) / (784 * math.log(2))
    torch.testing.assert_close(bpd, expected, rtol=1e-12, atol=0)
    assert bpd[1] > bpd[0]


def test_bpd_is_identical_under_the_centred_convention() -> None:
    """Shifting x in [0,1) to [-0.5,0.5) is a translation: the density, hence the BPD, is unchanged.

    A copy of the model whose first ActNorm bias absorbs the shift reads inputs in
    [-0.5, 0.5); it must give the same log-density to the shifted points.
    """
    model = tiny_glow((1, 8, 8), 2, "affine")
    centred = tiny_glow((1, 8, 8), 2, "affine")
    centred.load_state_dict(model.state_dict())
    with torch.no_grad():
        centred.levels[0][0].actnorm.bias.add_(0.5)
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    bpd = bits_per_dim_from_log_prob(model.log_prob(x), 64)
    bpd_centred = bits_per_dim_from_log_prob(centred.log_prob(x - 0.5), 64)
    torch.testing.assert_close(bpd_centred, bpd, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(centred.log_prob(x), model.log_prob(x))


def test_dequantize_stays_in_the_pixel_bin() -> None:
    x_uint8 = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    x = dequantize(x_uint8, torch.Generator().manual_seed(0))
    assert x.dtype == torch.float32
    assert torch.all(x >= x_uint8 / 256) and torch.all(x < (x_uint8.float() + 1) / 256)
    assert torch.equal(torch.floor(x * 256).to(torch.uint8), x_uint8)


def test_bits_per_dim_uses_fresh_noise_and_leaves_the_input_alone() -> None:
    model = Glow((1, 8, 8), levels=2, steps=2, hidden=8).eval()
    x_uint8 = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    x_before = x_uint8.clone()
    with torch.no_grad():
        bpd = model.bits_per_dim(x_uint8, torch.Generator().manual_seed(3))
        expected = bits_per_dim_from_log_prob(model.log_prob(dequantize(x_uint8, torch.Generator().manual_seed(3))), 64)
        bpd_other_noise = model.bits_per_dim(x_uint8, torch.Generator().manual_seed(4))
    assert torch.equal(x_uint8, x_before)
    assert bpd.shape == (4,)
    torch.testing.assert_close(bpd, expected, rtol=0, atol=0)
    assert not torch.equal(bpd, bpd_other_noise)


@pytest.mark.parametrize("image_shape", [(1, 8, 8), (3, 8, 8)])
def test_sample_shapes_and_temperature(image_shape) -> None:
    model = perturb_(Glow(image_shape, levels=2, steps=2, hidden=8), scale=0.05)
    x = model.sample(5)
    assert x.shape == (5, *image_shape) and torch.isfinite(x).all()
    torch.testing.assert_close(model.sample(2, temperature=0.0), model.sample(2, temperature=0.0))
    first = model.sample(3, generator=torch.Generator().manual_seed(7))
    again = model.sample(3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(first, again)
    assert not torch.equal(first, model.sample(3, generator=torch.Generator().manual_seed(8)))


def test_untrained_glow_has_standard_normal_priors_and_fixed_coupling_scales() -> None:
    """Zero-initialised nets: every prior is N(0, I) and every coupling scales x_b by sigmoid(2).

    Without actnorm initialisation (eval mode) and with rotation 1x1 convs, log_det is
    (number of coupled coordinates) x log sigmoid(2): level 1 (4x4x4) couples
    2 steps x 2 x 16, level 2 (2x2x8) couples 2 steps x 4 x 4 coordinates.
    """
    model = Glow((1, 8, 8), levels=2, steps=2, hidden=8, coupling="affine").eval()
    x = torch.rand(3, 1, 8, 8)
    log_pz, log_det = model.log_prob_parts(x)
    num_coupled = 2 * 2 * 16 + 2 * 4 * 4
    expected_log_det = num_coupled * torch.nn.functional.logsigmoid(torch.tensor(2.0))
    torch.testing.assert_close(log_det, expected_log_det.expand(3), rtol=1e-5, atol=1e-4)
    zs, _ = model(x)
    z = torch.cat([z.flatten(1) for z in zs], dim=1)
    expected_log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(dim=1)
    torch.testing.assert_close(log_pz, expected_log_pz, rtol=1e-6, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_glow_runs_on_cuda() -> None:
    model = Glow((1, 8, 8), levels=2, steps=2, hidden=8).cuda()
    x_uint8 = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8, device="cuda")
    bpd = model.bits_per_dim(x_uint8, torch.Generator("cuda").manual_seed(0))
    assert bpd.device.type == "cuda" and torch.isfinite(bpd).all()
    x = dequantize(x_uint8)
    zs, _ = model(x)
    torch.testing.assert_close(model.inverse(zs), x, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("coupling", ["affine", "additive"])
def test_log_det_per_step_sums_to_the_volume_term(coupling: str) -> None:
    model = tiny_glow((2, 8, 8), 2, coupling)
    x = torch.rand(3, 2, 8, 8, dtype=torch.float64)
    channel_map, coupling_part = model.log_det_per_step(x)
    assert channel_map.shape == (2, 2) and coupling_part.shape == (3, 2, 2)
    _, log_det = model(x)
    torch.testing.assert_close((channel_map + coupling_part).sum(dim=(1, 2)), log_det, rtol=1e-12, atol=1e-10)
    if coupling == "additive":
        assert torch.equal(coupling_part, torch.zeros_like(coupling_part))
    else:
        assert coupling_part.std(dim=0).min() > 0, "affine couplings' volume depends on the input"


def test_log_det_per_step_of_untrained_couplings_is_log_sigmoid_two_per_scaled_dimension() -> None:
    """Zero-initialised coupling nets scale each of the C/2 x H_l x W_l dimensions by sigmoid(2)."""
    model = Glow((1, 8, 8), levels=2, steps=2, hidden=8).double()
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    model(x)
    model.eval()
    _, coupling_part = model.log_det_per_step(x)
    scaled_dims_per_level = torch.tensor([2 * 4 * 4, 4 * 2 * 2], dtype=torch.float64)  # (4C/2) H W, C kept 2 then 4
    expected = scaled_dims_per_level * math.log(torch.sigmoid(torch.tensor(2.0, dtype=torch.float64)).item())
    torch.testing.assert_close(coupling_part, expected.view(1, 2, 1).expand(4, 2, 2), rtol=1e-12, atol=1e-12)


def test_power_iteration_through_glow_matches_the_dense_jacobian_norm() -> None:
    model = tiny_glow((1, 4, 4), 2, "affine")
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    dense = torch.linalg.matrix_norm(per_example_jacobian(lambda batch: flat_latents(model, batch), x), ord=2)
    estimate = largest_singular_value(lambda batch: flat_latents(model, batch), x, num_iterations=300)
    torch.testing.assert_close(estimate, dense, rtol=1e-5, atol=0)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.rand(2, 8, 8, 1), "NHWC"),
        (torch.rand(2, 3, 8, 8), r"\(N, 1, 8, 8\)"),
        (torch.randint(0, 256, (2, 1, 8, 8), dtype=torch.uint8), "bits_per_dim"),
        (torch.rand(1, 8, 8), r"\(N, 1, 8, 8\)"),
    ],
)
def test_wrong_input_shape_layout_or_dtype_is_named_at_the_entry(x: Tensor, message: str) -> None:
    model = Glow((1, 8, 8), levels=2, steps=1, hidden=8)
    with pytest.raises(ValueError, match=message):
        model.log_prob(x)
