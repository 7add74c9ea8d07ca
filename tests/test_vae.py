"""VAE: the importance-weighted bound against exact and numerically integrated log-likelihoods."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from ood_lib.models.vae import NUM_LEVELS, VAE

pytestmark = pytest.mark.usefixtures("single_thread")


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_images(n: int, image_shape: tuple[int, int, int]) -> torch.Tensor:
    return torch.randint(0, NUM_LEVELS, (n, *image_shape), generator=seeded(0), dtype=torch.uint8)


def z_independent_model(image_shape: tuple[int, int, int], q_is_prior: bool) -> tuple[VAE, torch.Tensor]:
    """A float64 VAE whose decoder ignores z: logits = one random bias vector per colour.

    Returns the model and those per-colour logits, shape (C, 256). With
    ``q_is_prior`` the encoder outputs mu = 0, log sigma = 0 for every x.
    """
    torch.manual_seed(0)
    model = VAE(image_shape, latent_dim=3, hidden=4).double()
    output_layer = model.decoder[-1]
    nn.init.zeros_(output_layer.weight)
    nn.init.normal_(output_layer.bias, std=2.0)
    if q_is_prior:
        nn.init.zeros_(model.encoder[-1].weight)
        nn.init.zeros_(model.encoder[-1].bias)
    return model, output_layer.bias.detach().view(image_shape[0], NUM_LEVELS)


def exact_log_prob_of_z_independent_model(x_uint8: torch.Tensor, colour_logits: torch.Tensor) -> torch.Tensor:
    """log p(x) = sum over sub-pixels of log softmax(colour_logits[c])[x], computed without the model."""
    log_probs = torch.log_softmax(colour_logits, dim=1)  # (C, 256)
    colours = torch.arange(x_uint8.shape[1])[None, :, None, None].expand_as(x_uint8)
    return log_probs[colours, x_uint8.long()].flatten(1).sum(1)


@pytest.mark.parametrize("image_shape", [(1, 8, 8), (3, 4, 4)])
@pytest.mark.parametrize("num_samples", [1, 5, 16])
def test_bound_is_exact_when_decoder_ignores_z_and_q_is_the_prior(image_shape, num_samples):
    model, colour_logits = z_independent_model(image_shape, q_is_prior=True)
    x_uint8 = random_images(6, image_shape)
    exact = exact_log_prob_of_z_independent_model(x_uint8, colour_logits)
    with torch.no_grad():
        bound = model.log_prob(x_uint8, num_samples=num_samples, generator=seeded(1))
    torch.testing.assert_close(bound, exact, rtol=0, atol=1e-9)


def test_bound_approaches_the_exact_value_from_below_when_q_is_not_the_prior():
    model, colour_logits = z_independent_model((1, 4, 4), q_is_prior=False)
    x_uint8 = random_images(1, (1, 4, 4)).expand(400, 1, 4, 4)
    exact = exact_log_prob_of_z_independent_model(x_uint8[:1], colour_logits).item()
    with torch.no_grad():
        elbo = model.log_prob(x_uint8, num_samples=1, generator=seeded(1))
        iwae = model.log_prob(x_uint8[:20], num_samples=500, generator=seeded(2))
        mean, log_std = model.encode(x_uint8[:1])
    # With p(x | z) = p(x), the ELBO is log p(x) - KL(q || p) in expectation, and KL > 0 here.
    kl = (0.5 * (mean.square() + (2 * log_std).exp() - 1) - log_std).sum().item()
    assert kl > 0.05
    assert elbo.mean().item() == pytest.approx(exact - kl, abs=4 * elbo.std().item() / math.sqrt(len(elbo)))
    assert iwae.mean().item() == pytest.approx(exact, abs=0.01)


def test_iwae_bound_grows_with_the_number_of_samples_on_average():
    torch.manual_seed(0)
    model = VAE((1, 8, 8), latent_dim=2, hidden=4).double()
    with torch.no_grad():
        model.decoder[0].weight.mul_(10.0)  # a decoder that depends strongly on z: a posterior far from q
    x_uint8 = random_images(4, (1, 8, 8)).repeat(100, 1, 1, 1)  # 100 independent draws per image
    with torch.no_grad():
        bounds = {k: model.log_prob(x_uint8, num_samples=k, generator=seeded(k)) for k in (1, 4, 16)}
    for smaller, larger in [(1, 4), (1, 16)]:
        gain = bounds[larger] - bounds[smaller]
        standard_error = gain.std() / math.sqrt(gain.numel())
        assert gain.mean() > 3 * standard_error, f"L_{larger} is not above L_{smaller} on average"


def test_bounds_against_log_likelihood_by_numerical_integration():
    """Latent dimension 1: log p(x) = log integral p(x | z) N(z; 0, 1) dz on a fine grid.

    The decoder's parameters are redrawn from N(0, 1), which makes p(x | z) depend
    strongly on z: the posterior is narrow and far from q, the ELBO loose by tens of nats.
    """
    torch.manual_seed(0)
    model = VAE((1, 4, 4), latent_dim=1, hidden=4).double()
    for parameter in model.decoder.parameters():
        nn.init.normal_(parameter, std=1.0)
    x_uint8 = model.sample(1, generator=seeded(0))
    grid = torch.linspace(-8.0, 8.0, 4001, dtype=torch.float64)[:, None]
    grid_step = (grid[1, 0] - grid[0, 0]).item()
    with torch.no_grad():
        log_joint = model.log_likelihood(x_uint8.expand(len(grid), 1, 4, 4), grid) - 0.5 * grid[:, 0] ** 2
        exact = (torch.logsumexp(log_joint, dim=0) - 0.5 * math.log(2 * math.pi) + math.log(grid_step)).item()
        elbo = model.log_prob(x_uint8.expand(2000, 1, 4, 4), num_samples=1, generator=seeded(1))
        iwae_16 = model.log_prob(x_uint8.expand(200, 1, 4, 4), num_samples=16, generator=seeded(2))
        iwae_1000 = model.log_prob(x_uint8.expand(20, 1, 4, 4), num_samples=1000, generator=seeded(3))

    def standard_error(values: torch.Tensor) -> float:
        return values.std().item() / math.sqrt(len(values))

    assert elbo.mean().item() + 4 * standard_error(elbo) < exact - 1.0
    assert elbo.mean().item() + 4 * standard_error(elbo) < iwae_16.mean().item() - 4 * standard_error(iwae_16)
    assert iwae_16.mean().item() + 4 * standard_error(iwae_16) < exact
    assert iwae_1000.mean().item() == pytest.approx(exact, abs=4 * standard_error(iwae_1000))


def test_decoder_gives_normalised_categoricals_per_subpixel():
    torch.manual_seed(0)
    model = VAE((3, 4, 4), latent_dim=2, hidden=6).double()
    z = torch.randn(3, 2, dtype=torch.float64)
    x_uint8 = random_images(3, (3, 4, 4))
    with torch.no_grad():
        logits = model.decode_logits(z)
        log_likelihood = model.log_likelihood(x_uint8, z)
    assert logits.shape == (3, 3, NUM_LEVELS, 4, 4)
    torch.testing.assert_close(logits.softmax(dim=2).sum(dim=2), torch.ones(3, 3, 4, 4, dtype=torch.float64))
    reference = torch.distributions.Categorical(logits=logits.movedim(2, -1)).log_prob(x_uint8.long())
    torch.testing.assert_close(log_likelihood, reference.flatten(1).sum(1))


def test_bits_per_dim_is_the_negative_bound_in_bits_and_deterministic_given_a_generator():
    torch.manual_seed(0)
    model = VAE((1, 8, 8), latent_dim=2, hidden=4)
    x_uint8 = random_images(5, (1, 8, 8))
    x_before = x_uint8.clone()
    with torch.no_grad():
        elbo_bits = model.bits_per_dim(x_uint8, generator=seeded(3))
        elbo = model.log_prob(x_uint8, num_samples=1, generator=seeded(3))
        iwae_bits = model.bits_per_dim(x_uint8, generator=seeded(4), num_samples=8)
        iwae = model.log_prob(x_uint8, num_samples=8, generator=seeded(4))
        other_seed = model.bits_per_dim(x_uint8, generator=seeded(5))
    assert elbo_bits.shape == (5,)
    torch.testing.assert_close(elbo_bits, -elbo / (64 * math.log(2.0)))
    torch.testing.assert_close(iwae_bits, -iwae / (64 * math.log(2.0)))
    assert not torch.equal(elbo_bits, other_seed)
    assert torch.equal(x_uint8, x_before)


def test_samples_are_uint8_and_reproducible():
    torch.manual_seed(0)
    model = VAE((3, 8, 8), latent_dim=2, hidden=6)
    samples = model.sample(5, generator=seeded(0))
    assert samples.shape == (5, 3, 8, 8) and samples.dtype == torch.uint8
    assert torch.equal(samples, model.sample(5, generator=seeded(0)))
    assert not torch.equal(samples, model.sample(5, generator=seeded(1)))


def test_samples_follow_the_decoder():
    """With a decoder that ignores z, every sub-pixel is drawn from softmax(bias): compare the means."""
    model, colour_logits = z_independent_model((3, 4, 4), q_is_prior=True)
    samples = model.sample(1000, generator=seeded(0))
    probabilities = colour_logits.softmax(dim=1)  # (C, 256)
    values = torch.arange(NUM_LEVELS, dtype=torch.float64)
    exact_mean = probabilities @ values
    exact_std = (probabilities @ values.square() - exact_mean.square()).sqrt()
    sample_mean = samples.double().mean(dim=(0, 2, 3))
    standard_error = exact_std / math.sqrt(samples.numel() / 3)
    assert ((sample_mean - exact_mean).abs() < 4 * standard_error).all()


def test_config_round_trip_rebuilds_the_same_model():
    torch.manual_seed(0)
    model = VAE((3, 8, 8), latent_dim=5, hidden=6)
    rebuilt = VAE(**json.loads(json.dumps(model.config)))
    rebuilt.load_state_dict(model.state_dict())
    assert rebuilt.config == model.config
    x_uint8 = random_images(2, (3, 8, 8))
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.log_prob(x_uint8, 4, seeded(0)), model.log_prob(x_uint8, 4, seeded(0)))


def test_rejects_bad_arguments():
    model = VAE((1, 4, 4), latent_dim=2, hidden=4)
    with pytest.raises(TypeError, match="uint8"):
        model.log_prob(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="num_samples"):
        model.log_prob(random_images(1, (1, 4, 4)), num_samples=0)
    with pytest.raises(ValueError, match="multiples of 4"):
        VAE((1, 6, 6))


def test_a_few_training_steps_lower_the_negative_elbo():
    torch.manual_seed(0)
    # Vertical stripes of random grey levels: every row repeats the first.
    first_rows = torch.randint(0, 4, (64, 1, 1, 8), generator=seeded(0)) * 60
    x_uint8 = first_rows.expand(64, 1, 8, 8).to(torch.uint8).contiguous()
    model = VAE((1, 8, 8), latent_dim=4, hidden=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        initial = model.bits_per_dim(x_uint8, generator=seeded(0)).mean().item()
    for step in range(40):
        loss = model.bits_per_dim(x_uint8, generator=seeded(step + 1)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = model.bits_per_dim(x_uint8, generator=seeded(0)).mean().item()
    assert final < initial - 3.0


def test_log_likelihood_equals_the_old_formula_in_blocks_with_the_same_gradients(monkeypatch):
    from ood_lib.models import pixelcnn

    monkeypatch.setattr(pixelcnn, "_HEAD_CHUNK_VALUES", 7 * 3 * NUM_LEVELS)  # blocks of 7 positions
    torch.manual_seed(0)
    model = VAE((3, 8, 8), latent_dim=2, hidden=6).double()
    z = torch.randn(4, 2, dtype=torch.float64)
    x_uint8 = random_images(4, (3, 8, 8))
    log_probs = torch.log_softmax(model.decode_logits(z), dim=2)  # the formula before the head was fused
    old = log_probs.gather(2, x_uint8.long().unsqueeze(2)).flatten(1).sum(1)
    (old_gradient,) = torch.autograd.grad(old.sum(), model.decoder[3].weight)
    new = model.log_likelihood(x_uint8, z)
    (new_gradient,) = torch.autograd.grad(new.sum(), model.decoder[3].weight)
    torch.testing.assert_close(new, old, rtol=0, atol=1e-10)
    torch.testing.assert_close(new_gradient, old_gradient, rtol=1e-9, atol=1e-10)
