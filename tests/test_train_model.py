"""The training command line: trains as the zoo would, resumes from the cache, refuses bad arguments."""

from __future__ import annotations

import pytest
from test_zoo import fake_datasets, tiny_profile, training_runs  # noqa: F401 (fixtures)

from ood_lib.settings import profiles as profiles
from ood_lib.training import zoo
from ood_lib.training.train_model import main


def test_command_trains_then_loads_from_the_cache(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setitem(profiles.PROFILES, "tiny", tiny_profile())
    assert main(["glow", "fashion_mnist", "--profile", "tiny", "--seed", "1"]) == 0
    first = capsys.readouterr().out
    assert "trained now (glow_fashion_mnist_seed1.safetensors)" in first and "last evaluation (BPD): train" in first
    assert main(["glow", "fashion_mnist", "--profile", "tiny", "--seed", "1"]) == 0
    assert "loaded from the model cache" in capsys.readouterr().out
    assert len(training_runs) == 1
    assert zoo.model_path("glow", "fashion_mnist", tiny_profile(), zoo.Variant(seed=1)).exists()


def test_command_trains_the_variants_the_zoo_names_in_its_errors(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(profiles.PROFILES, "tiny", tiny_profile())
    background = zoo.Variant(perturbation_rate=0.2)
    command = zoo.train_command(zoo.wanted("pixelcnn", "fashion_mnist", tiny_profile(), background))
    assert (
        command
        == "python -m ood_lib.training.train_model pixelcnn fashion_mnist --profile tiny --perturbation-rate 0.2"
    )
    assert main(command.split()[3:]) == 0
    monkeypatch.setenv("OOD_TRAIN", "never")
    assert zoo.get("pixelcnn", "fashion_mnist", tiny_profile(), variant=background, progress=False).from_cache


def test_command_trains_the_input_independent_split_prior_variant(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(profiles.PROFILES, "tiny", tiny_profile())
    constant_split = zoo.Variant(input_independent_split_prior=True)
    command = zoo.train_command(zoo.wanted("cv_glow", "fashion_mnist", tiny_profile(), constant_split))
    assert (
        command
        == "python -m ood_lib.training.train_model cv_glow fashion_mnist --profile tiny --input-independent-split-prior"
    )
    assert main(command.split()[3:]) == 0
    monkeypatch.setenv("OOD_TRAIN", "never")
    assert zoo.get("cv_glow", "fashion_mnist", tiny_profile(), variant=constant_split, progress=False).from_cache


def test_command_trains_the_no_decay_variant_with_a_constant_learning_rate(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decaying = tiny_profile(decay_fraction=0.5)
    monkeypatch.setitem(profiles.PROFILES, "tiny", decaying)
    no_decay = zoo.Variant(no_lr_decay=True)
    target = zoo.wanted("glow", "fashion_mnist", decaying, no_decay)
    plain = zoo.wanted("glow", "fashion_mnist", decaying)
    assert target.path.name == "glow_fashion_mnist_nodecay.safetensors"
    assert plain.train_config.decay_fraction > 0 and target.train_config.decay_fraction == 0
    assert target.config["train"] == {**plain.config["train"], "decay_fraction": 0.0}
    assert {k: v for k, v in target.config.items() if k != "train"} == {
        k: v for k, v in plain.config.items() if k != "train"
    }
    command = zoo.train_command(target)
    assert command == "python -m ood_lib.training.train_model glow fashion_mnist --profile tiny --no-lr-decay"
    assert main(command.split()[3:]) == 0
    assert training_runs[-1]["config"].decay_fraction == 0
    monkeypatch.setenv("OOD_TRAIN", "never")
    assert zoo.get("glow", "fashion_mnist", decaying, variant=no_decay, progress=False).from_cache


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["flowpp", "mnist"], "valid models: glow, cv_glow, pixelcnn, vae, gated_pixelcnn, gated_pixelcnn_local"),
        (["glow", "imagenet"], "valid data sets: mnist, fashion_mnist, cifar10, svhn, cifar10_subset"),
        (["glow", "mnist", "--profile", "huge"], "valid profiles: smoke, quick, full"),
        (["glow", "mnist", "--seed", "-1"], "seed must be >= 0"),
        (["pixelcnn", "mnist", "--perturbation-rate", "1.5"], "perturbation rate must be in [0, 1]"),
        (["pixelcnn", "mnist", "--outliers-from", "imagenet"], "unknown outlier data set 'imagenet'"),
    ],
)
def test_command_refuses_bad_arguments_listing_valid_values(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
