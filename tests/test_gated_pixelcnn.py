"""Gated PixelCNN: causality without a blind spot, exact normalisation, the sampler, gradients, files."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
from test_pixelcnn import all_images, order  # the exhaustive image grid and the sub-pixel order, shared
from torch import nn

from ood_lib.models.gated_pixelcnn import NUM_LEVELS, GatedPixelCNN
from ood_lib.settings.profiles import get_profile
from ood_lib.training import zoo
from ood_lib.training.model_files import StoredModel, load_model, provenance_now, save_model

pytestmark = pytest.mark.usefixtures("single_thread")


def random_weight_model(
    image_shape: tuple[int, int, int], filters: int = 4, blocks: int = 1, components: int = 1, std: float = 0.5
) -> GatedPixelCNN:
    """A float64 model with every parameter drawn from N(0, std^2): conditionals far from uniform and dependent."""
    torch.manual_seed(0)
    model = GatedPixelCNN(image_shape, filters=filters, blocks=blocks, components=components).double()
    for parameter in model.parameters():
        nn.init.normal_(parameter, std=std)
    return model.eval()


@pytest.mark.parametrize(
    "image_shape, blocks, components", [((1, 5, 5), 2, 1), ((1, 4, 4), 2, 2), ((3, 4, 4), 2, 1), ((3, 3, 3), 1, 3)]
)
def test_each_conditional_depends_on_every_earlier_subpixel_and_on_no_later_one(image_shape, blocks, components):
    """Perturb each sub-pixel: the 256-level conditionals up to it stay put, every later one moves (no blind spot)."""
    model = random_weight_model(image_shape, blocks=blocks, components=components)
    generator = torch.Generator().manual_seed(1)
    x_uint8 = torch.randint(0, NUM_LEVELS, (1, *image_shape), generator=generator, dtype=torch.uint8)
    with torch.no_grad():
        base = model(x_uint8)
    num_colours, height, width = image_shape
    positions = list(itertools.product(range(num_colours), range(height), range(width)))
    for changed in positions:
        x_changed = x_uint8.clone()
        x_changed[(0, *changed)] = (int(x_uint8[(0, *changed)]) + 128) % NUM_LEVELS
        with torch.no_grad():
            change = (model(x_changed) - base).abs().amax(dim=2)[0]  # (C, H, W)
        for target in positions:
            if order(*target, image_shape) <= order(*changed, image_shape):
                assert change[target] < 1e-12, f"conditional at {target} depends on the later or equal {changed}"
            else:
                assert change[target] > 1e-9, f"conditional at {target} ignores the earlier sub-pixel {changed}"


def test_no_blind_spot_with_one_block():
    """The pixel up and to the right enters the conditional (a masked 3x3 stack misses parts of that region)."""
    model = random_weight_model((1, 3, 5), blocks=1)
    x_uint8 = torch.full((1, 1, 3, 5), 100, dtype=torch.uint8)
    with torch.no_grad():
        base = model(x_uint8)[0, 0, :, 2, 1]
        for row, column in [(1, 2), (1, 3), (0, 4), (2, 0)]:  # up-right, two up-right, far up-right, left
            x_changed = x_uint8.clone()
            x_changed[0, 0, row, column] = 250
            assert (model(x_changed)[0, 0, :, 2, 1] - base).abs().max() > 1e-9, (row, column)


@pytest.mark.parametrize("image_shape, components", [((1, 1, 1), 1), ((1, 1, 2), 1), ((1, 2, 1), 2), ((2, 1, 1), 3)])
def test_joint_distribution_sums_to_one_over_every_image(image_shape, components):
    model = random_weight_model(image_shape, components=components, std=1.0)
    with torch.no_grad():
        log_prob = model.log_prob(all_images(image_shape))
    assert log_prob.max() - log_prob.min() > 3.0  # far from uniform, so the sum tests the conditionals
    assert torch.logsumexp(log_prob, dim=0).item() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("image_shape, components", [((1, 3, 3), 1), ((3, 2, 2), 1), ((3, 2, 2), 3)])
def test_every_conditional_sums_to_one_given_any_context_and_matches_the_likelihood(image_shape, components):
    """Set each sub-pixel to each of its 256 levels in turn, the rest fixed: log P of that sub-pixel is forward's."""
    model = random_weight_model(image_shape, components=components)
    x_uint8 = torch.randint(0, NUM_LEVELS, (1, *image_shape), generator=torch.Generator().manual_seed(3)).to(
        torch.uint8
    )
    with torch.no_grad():
        conditionals = model(x_uint8)[0]  # (C, 256, H, W)
        torch.testing.assert_close(conditionals.exp().sum(1), torch.ones(image_shape, dtype=torch.float64))
        num_colours, height, width = image_shape
        for colour, row, column in itertools.product(range(num_colours), range(height), range(width)):
            varied = x_uint8.repeat(NUM_LEVELS, 1, 1, 1)
            varied[:, colour, row, column] = torch.arange(NUM_LEVELS, dtype=torch.uint8)
            per_subpixel = model.log_prob_per_subpixel(varied)[:, colour, row, column]
            torch.testing.assert_close(per_subpixel, conditionals[colour, :, row, column], rtol=0, atol=1e-10)
            assert conditionals[colour, :, row, column].exp().max() < 0.999  # not a point mass


def test_per_subpixel_terms_sum_to_the_log_prob_and_bits_per_dim():
    model = random_weight_model((3, 4, 4), components=2)
    x_uint8 = torch.randint(0, NUM_LEVELS, (3, 3, 4, 4), dtype=torch.uint8)
    with torch.no_grad():
        per_subpixel = model.log_prob_per_subpixel(x_uint8)
        torch.testing.assert_close(model.log_prob(x_uint8), per_subpixel.sum(dim=(1, 2, 3)))
        torch.testing.assert_close(model.bits_per_dim(x_uint8), -model.log_prob(x_uint8) / (48 * math.log(2.0)))


def test_gradients_are_finite_on_extreme_images():
    model = GatedPixelCNN((3, 6, 6), filters=8, blocks=2, components=3)
    x_uint8 = torch.cat([torch.zeros(2, 3, 6, 6), torch.full((2, 3, 6, 6), 255.0), torch.rand(2, 3, 6, 6) * 255])
    loss = model.bits_per_dim(x_uint8.to(torch.uint8)).mean()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(parameter.grad).all() for parameter in model.parameters())
    assert any(parameter.grad.abs().sum() > 0 for parameter in model.residual_blocks.parameters())


def test_rejects_non_uint8_input_and_bad_shapes():
    with pytest.raises(TypeError, match="uint8"):
        GatedPixelCNN((1, 4, 4), filters=4, blocks=1).log_prob(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="image_shape"):
        GatedPixelCNN((4, 4))


def test_samples_are_uint8_and_reproducible():
    model = random_weight_model((3, 3, 3), components=2)
    samples = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, 3, 3, 3) and samples.dtype == torch.uint8
    assert torch.equal(samples, model.sample(5, generator=torch.Generator().manual_seed(0)))
    assert not torch.equal(samples, model.sample(5, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("image_shape, components", [((1, 1, 2), 2), ((3, 1, 1), 2)])
def test_samples_follow_the_model(image_shape, components):
    """Sample means of the first two sub-pixels and of their log P match the exact expectations (4 s.e.).

    For a 3-channel pixel the exact joint of (R, G) is enumerated with B fixed at 0, which does
    not enter the conditionals of R and G.
    """
    model = random_weight_model(image_shape, components=components, std=1.0)
    images = torch.zeros(NUM_LEVELS**2, math.prod(image_shape), dtype=torch.uint8)
    images[:, :2] = all_images((1, 1, 2)).reshape(-1, 2)
    images = images.reshape(-1, *image_shape)

    def first_two(x_uint8: torch.Tensor) -> torch.Tensor:
        """x_1, x_2 and log P(x_1, x_2) per image, in the raster-then-channel order."""
        flat = x_uint8.permute(0, 2, 3, 1).reshape(len(x_uint8), -1)[:, :2].double()
        with torch.no_grad():
            log_prob = model.log_prob_per_subpixel(x_uint8).permute(0, 2, 3, 1).reshape(len(x_uint8), -1)[:, :2]
        return torch.cat([flat, log_prob.sum(1, keepdim=True)], dim=1)

    exact = first_two(images)
    probability = exact[:, 2].exp()
    assert probability.sum().item() == pytest.approx(1.0, abs=1e-9)
    exact_mean = probability @ exact
    exact_std = (probability @ exact.square() - exact_mean.square()).sqrt()
    n = 3000
    observed = first_two(model.sample(n, generator=torch.Generator().manual_seed(1)))
    assert ((observed.mean(0) - exact_mean).abs() < 4 * exact_std / math.sqrt(n)).all()


def test_config_and_file_round_trip_rebuild_the_same_model(tmp_path):
    model = random_weight_model((3, 5, 5), filters=6, blocks=2, components=2).float()
    stored = StoredModel(model.state_dict(), {"model": model.config}, {}, 1.0, provenance_now("cpu"))
    save_model(tmp_path / "gated.safetensors", stored)
    loaded = load_model(tmp_path / "gated.safetensors")
    rebuilt = GatedPixelCNN(**json.loads(json.dumps(loaded.config["model"])))
    rebuilt.load_state_dict(loaded.state)
    assert rebuilt.config == model.config
    x_uint8 = torch.randint(0, NUM_LEVELS, (2, 3, 5, 5), dtype=torch.uint8)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval().log_prob(x_uint8), model.log_prob(x_uint8), rtol=0, atol=0)


def test_the_zoo_builds_it_at_each_profile_size():
    for name, filters, blocks in [("smoke", 8, 1), ("quick", 32, 5), ("full", 32, 5)]:
        target = zoo.wanted("gated_pixelcnn", "fashion_mnist", get_profile(name))
        assert isinstance(target.model, GatedPixelCNN)
        assert (target.model.filters, target.model.blocks, target.model.components) == (filters, blocks, 1)
    full = zoo.wanted("gated_pixelcnn", "fashion_mnist", get_profile("full")).train_config
    assert (full.n_steps, full.batch_size, full.lr) == (50000, 32, 1e-4)


def test_a_few_training_steps_lower_the_bits_per_dim():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    first_rows = torch.randint(0, 4, (32, 1, 1, 6), generator=generator) * 60  # every row repeats the first
    x_uint8 = first_rows.expand(32, 1, 6, 6).to(torch.uint8).contiguous()
    model = GatedPixelCNN((1, 6, 6), filters=8, blocks=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    initial = model.bits_per_dim(x_uint8).mean().item()
    for _ in range(40):
        loss = model.bits_per_dim(x_uint8).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert model.bits_per_dim(x_uint8).mean().item() < initial - 1.5
