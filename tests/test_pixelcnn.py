"""PixelCNN: causal masks, an exactly normalised joint, 8 bits untrained, sampling, config, learning."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
from torch import nn

from ood_lib.models.pixelcnn import NUM_LEVELS, PixelCNN, causal_mask

pytestmark = pytest.mark.usefixtures("single_thread")


def random_weight_model(
    image_shape: tuple[int, int, int], hidden: int, layers: int, first_kernel: int, all_weights_std: float | None = None
) -> PixelCNN:
    """A float64 PixelCNN whose logits depend on x.

    The zero-initialised output layer gets N(0, 1) weights; with ``all_weights_std``
    every parameter is redrawn from N(0, all_weights_std^2), which makes the
    conditionals of a tiny model far from uniform and strongly dependent.
    """
    torch.manual_seed(0)
    model = PixelCNN(image_shape, hidden=hidden, layers=layers, first_kernel=first_kernel).double()
    redrawn = model.parameters() if all_weights_std is not None else model.output_conv.parameters()
    for parameter in redrawn:
        nn.init.normal_(parameter, std=all_weights_std or 1.0)
    return model.eval()


def all_images(image_shape: tuple[int, int, int]) -> torch.Tensor:
    """Every uint8 image of ``image_shape`` (256^D of them; only for D <= 2)."""
    num_dims = math.prod(image_shape)
    values = torch.arange(NUM_LEVELS, dtype=torch.uint8)
    grid = torch.cartesian_prod(*[values] * num_dims) if num_dims > 1 else values[:, None]
    return grid.reshape(-1, *image_shape)


def order(colour: int, row: int, column: int, image_shape: tuple[int, int, int]) -> int:
    """Position of sub-pixel (colour, row, column) in the raster-then-channel order."""
    num_colours, _, width = image_shape
    return (row * width + column) * num_colours + colour


@pytest.mark.parametrize("image_shape, hidden, first_kernel", [((1, 5, 5), 16, 3), ((3, 4, 4), 24, 7)])
def test_logits_depend_only_on_earlier_subpixels(image_shape, hidden, first_kernel):
    model = random_weight_model(image_shape, hidden=hidden, layers=2, first_kernel=first_kernel)
    generator = torch.Generator().manual_seed(1)
    x_uint8 = torch.randint(0, NUM_LEVELS, (1, *image_shape), generator=generator, dtype=torch.uint8)
    with torch.no_grad():
        base_logits = model(x_uint8)
    num_colours, height, width = image_shape
    positions = list(itertools.product(range(num_colours), range(height), range(width)))
    for changed in positions:
        x_changed = x_uint8.clone()
        x_changed[(0, *changed)] = (int(x_uint8[(0, *changed)]) + 128) % NUM_LEVELS
        with torch.no_grad():
            change = (model(x_changed) - base_logits).abs().amax(dim=2)[0]  # (C, H, W)
        changed_colour, changed_row, changed_column = changed
        for target in positions:
            colour, row, column = target
            if order(*target, image_shape) <= order(*changed, image_shape):
                assert change[target] < 1e-12, f"logits at {target} depend on the later or equal sub-pixel {changed}"
            must_see = (
                (row, column) == (changed_row, changed_column)
                and colour > changed_colour  # earlier colour, same pixel
                or (row, column) == (changed_row, changed_column + 1)  # pixel to the left
                or (row, column) == (changed_row + 1, changed_column)  # pixel above
            )
            if must_see:
                assert change[target] > 1e-6, f"logits at {target} ignore the earlier sub-pixel {changed}"


def test_mask_a_hides_the_centre_of_a_single_colour_and_mask_b_shows_it():
    mask_a = causal_mask(2, 1, 3, num_colours=1, mask_type="A")
    mask_b = causal_mask(2, 1, 3, num_colours=1, mask_type="B")
    expected_spatial = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert torch.equal(mask_a[0, 0], expected_spatial)
    expected_spatial[1, 1] = 1.0
    assert torch.equal(mask_b[1, 0], expected_spatial)


def test_hidden_must_split_into_colour_groups():
    with pytest.raises(ValueError, match="colour groups"):
        PixelCNN((3, 4, 4), hidden=8)


@pytest.mark.parametrize("image_shape", [(1, 1, 1), (1, 2, 1), (1, 1, 2), (2, 1, 1)])
def test_joint_distribution_sums_to_one_over_every_image(image_shape):
    model = random_weight_model(image_shape, hidden=4, layers=1, first_kernel=3, all_weights_std=1.0)
    images = all_images(image_shape)
    with torch.no_grad():
        log_prob = model.log_prob(images)
    assert log_prob.std() > 1.0  # far from uniform, so the sum tests the conditionals
    assert torch.logsumexp(log_prob, dim=0).item() == pytest.approx(0.0, abs=1e-9)


def test_conditionals_are_normalised_and_sum_to_the_log_prob():
    model = random_weight_model((3, 4, 4), hidden=6, layers=1, first_kernel=3)
    x_uint8 = torch.randint(0, NUM_LEVELS, (2, 3, 4, 4), dtype=torch.uint8)
    with torch.no_grad():
        probabilities = model(x_uint8).softmax(dim=2)
        per_subpixel = model.log_prob_per_subpixel(x_uint8)
        log_prob = model.log_prob(x_uint8)
    torch.testing.assert_close(probabilities.sum(dim=2), torch.ones(2, 3, 4, 4, dtype=torch.float64))
    chosen = probabilities.gather(2, x_uint8.long().unsqueeze(2)).squeeze(2)
    torch.testing.assert_close(per_subpixel, chosen.log())
    torch.testing.assert_close(log_prob, per_subpixel.sum(dim=(1, 2, 3)))


def test_untrained_model_is_uniform_at_exactly_8_bits_per_dim():
    model = PixelCNN((3, 8, 8), hidden=6, layers=1)
    x_uint8 = torch.randint(0, NUM_LEVELS, (4, 3, 8, 8), dtype=torch.uint8)
    x_before = x_uint8.clone()
    bits_per_dim = model.bits_per_dim(x_uint8)
    assert bits_per_dim.shape == (4,)
    torch.testing.assert_close(bits_per_dim, torch.full((4,), 8.0))
    torch.testing.assert_close(model.log_prob(x_uint8), torch.full((4,), -3 * 8 * 8 * math.log(NUM_LEVELS)))
    assert torch.equal(x_uint8, x_before)


def test_bits_per_dim_is_minus_log2_prob_over_dims():
    model = random_weight_model((1, 4, 4), hidden=4, layers=1, first_kernel=3)
    x_uint8 = torch.randint(0, NUM_LEVELS, (3, 1, 4, 4), dtype=torch.uint8)
    with torch.no_grad():
        torch.testing.assert_close(model.bits_per_dim(x_uint8), -model.log_prob(x_uint8) / (16 * math.log(2.0)))


def test_rejects_non_uint8_input():
    with pytest.raises(TypeError, match="uint8"):
        PixelCNN((1, 4, 4), hidden=4).log_prob(torch.rand(1, 1, 4, 4))


def test_samples_are_uint8_and_reproducible():
    model = random_weight_model((3, 4, 4), hidden=6, layers=1, first_kernel=3)
    samples = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, 3, 4, 4) and samples.dtype == torch.uint8
    assert torch.equal(samples, model.sample(5, generator=torch.Generator().manual_seed(0)))
    assert not torch.equal(samples, model.sample(5, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("image_shape", [(1, 1, 2), (1, 2, 1), (2, 1, 1)])
def test_samples_follow_the_model(image_shape):
    """Sample averages of each sub-pixel and of log P(x) match their exact expectations (4 standard errors)."""
    model = random_weight_model(image_shape, hidden=4, layers=1, first_kernel=3, all_weights_std=1.0)
    images = all_images(image_shape)
    with torch.no_grad():
        log_prob = model.log_prob(images)
    probability = log_prob.exp()
    statistics = torch.cat([images.reshape(-1, 2).double(), log_prob[:, None]], dim=1)  # x_1, x_2, log P(x)
    exact_mean = probability @ statistics
    exact_std = (probability @ statistics.square() - exact_mean.square()).sqrt()
    n = 4000
    samples = model.sample(n, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        sample_statistics = torch.cat([samples.reshape(n, 2).double(), model.log_prob(samples)[:, None]], dim=1)
    standard_error = exact_std / math.sqrt(n)
    assert ((sample_statistics.mean(0) - exact_mean).abs() < 4 * standard_error).all()


def test_config_round_trip_rebuilds_the_same_model():
    model = random_weight_model((3, 8, 8), hidden=6, layers=2, first_kernel=5).float()
    rebuilt = PixelCNN(**json.loads(json.dumps(model.config)))
    rebuilt.load_state_dict(model.state_dict())
    x_uint8 = torch.randint(0, NUM_LEVELS, (2, 3, 8, 8), dtype=torch.uint8)
    assert rebuilt.config == model.config
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.log_prob(x_uint8), model.log_prob(x_uint8))


def test_a_few_training_steps_lower_the_bits_per_dim():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    # Vertical stripes of random grey levels: every row repeats the first.
    first_rows = torch.randint(0, 4, (64, 1, 1, 8), generator=generator) * 60
    x_uint8 = first_rows.expand(64, 1, 8, 8).to(torch.uint8).contiguous()
    model = PixelCNN((1, 8, 8), hidden=16, layers=2, first_kernel=3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    initial = model.bits_per_dim(x_uint8).mean().item()
    for _ in range(40):
        loss = model.bits_per_dim(x_uint8).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    final = model.bits_per_dim(x_uint8).mean().item()
    assert initial == pytest.approx(8.0)
    assert final < 2.0


def test_categorical_log_prob_equals_log_softmax_at_the_target():
    from ood_lib.models.pixelcnn import categorical_log_prob

    generator = torch.Generator().manual_seed(0)
    logits = 10 * torch.randn(7, 3, NUM_LEVELS, dtype=torch.float64, generator=generator)
    x_uint8 = torch.randint(0, NUM_LEVELS, (7, 3), generator=generator, dtype=torch.uint8)
    old = torch.log_softmax(logits, dim=-1).gather(-1, x_uint8.long().unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(categorical_log_prob(logits, x_uint8), old, rtol=0, atol=1e-12)


@pytest.mark.parametrize("num_colours", [1, 3])
def test_log_prob_from_features_equals_the_full_log_softmax_in_blocks(monkeypatch, num_colours):
    from ood_lib.models import pixelcnn

    monkeypatch.setattr(pixelcnn, "_HEAD_CHUNK_VALUES", 5 * num_colours * NUM_LEVELS)  # blocks of 5 positions
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(3, 6, 4, 5, dtype=torch.float64, generator=generator)
    weight = torch.randn(num_colours * NUM_LEVELS, 6, 1, 1, dtype=torch.float64, generator=generator)
    bias = torch.randn(num_colours * NUM_LEVELS, dtype=torch.float64, generator=generator)
    x_uint8 = torch.randint(0, NUM_LEVELS, (3, num_colours, 4, 5), generator=generator, dtype=torch.uint8)
    logits = torch.nn.functional.conv2d(features, weight, bias).view(3, num_colours, NUM_LEVELS, 4, 5)
    old = torch.log_softmax(logits, dim=2).gather(2, x_uint8.long().unsqueeze(2)).squeeze(2)
    new = pixelcnn.categorical_log_prob_from_features(features, weight, bias, x_uint8)
    assert new.shape == (3, num_colours, 4, 5)
    torch.testing.assert_close(new, old, rtol=0, atol=1e-12)


@pytest.mark.parametrize("image_shape, hidden", [((1, 6, 6), 16), ((3, 4, 4), 24)])
def test_log_prob_per_subpixel_equals_the_old_formula_with_the_same_gradients(image_shape, hidden):
    model = random_weight_model(image_shape, hidden=hidden, layers=2, first_kernel=5, all_weights_std=0.3)
    generator = torch.Generator().manual_seed(2)
    x_uint8 = torch.randint(0, NUM_LEVELS, (4, *image_shape), generator=generator, dtype=torch.uint8)
    logits = model(x_uint8)  # (N, C, 256, H, W), the layout the old formula used
    old = torch.log_softmax(logits, dim=2).gather(2, x_uint8.long().unsqueeze(2)).squeeze(2)
    (old_gradient,) = torch.autograd.grad(old.sum(), model.input_conv.weight)
    new = model.log_prob_per_subpixel(x_uint8)
    (new_gradient,) = torch.autograd.grad(new.sum(), model.input_conv.weight)
    torch.testing.assert_close(new, old, rtol=0, atol=1e-10)
    torch.testing.assert_close(new_gradient, old_gradient, rtol=1e-9, atol=1e-10)
