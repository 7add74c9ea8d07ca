"""Outlier exposure with a chosen margin: file name, zoo config, command line and archive names round trip."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from test_zoo import TINY_TRAIN, fake_datasets, register_toy_model, tiny_profile, training_runs  # noqa: F401

from ood_lib.settings import profiles as profiles
from ood_lib.training import model_archive, train_model, zoo
from ood_lib.training.engine import ACTIVE_FRACTION_KEY

MARGIN_4 = zoo.Variant(outliers_from="cifar10_subset", outlier_margin=4)


def test_a_margin_names_its_own_file_and_config() -> None:
    assert MARGIN_4.suffix() == "_oe-cifar10_subset_m4" and MARGIN_4.outlier_margin == 4.0
    target = zoo.wanted("pixelcnn", "fashion_mnist", tiny_profile(), MARGIN_4)
    assert target.path.name == "pixelcnn_fashion_mnist_oe-cifar10_subset_m4.safetensors"
    default = zoo.wanted("pixelcnn", "fashion_mnist", tiny_profile(), zoo.Variant(outliers_from="cifar10_subset"))
    assert target.config["outlier_exposure"] == {"outliers_from": "cifar10_subset", "margin": 4.0, "weight": 1.0}
    assert {k: v for k, v in target.config.items() if k != "outlier_exposure"} == {
        k: v for k, v in default.config.items() if k != "outlier_exposure"
    }
    assert (
        zoo.Variant(seed=2, outliers_from="mnist", outlier_margin=0.5, bf16=True).suffix()
        == "_seed2_oe-mnist_m0.5_bf16"
    )
    assert zoo.Variant(outliers_from="mnist", outlier_margin=0).suffix() == "_oe-mnist_m0"
    assert zoo.Variant(outliers_from="mnist", outlier_margin=-0.0).suffix() == "_oe-mnist_m0"


def test_the_default_margin_keeps_the_old_file_name_and_config() -> None:
    old = {"outliers_from": "cifar10_subset", "margin": 1.0, "weight": 1.0}  # what every committed OE model stores
    for variant in (
        zoo.Variant(outliers_from="cifar10_subset"),
        zoo.Variant(outliers_from="cifar10_subset", outlier_margin=1),
    ):
        assert variant == zoo.Variant(outliers_from="cifar10_subset") and variant.margin_bpd == zoo.OUTLIER_MARGIN_BPD
        target = zoo.wanted("pixelcnn", "fashion_mnist", tiny_profile(), variant)
        assert target.path.name == "pixelcnn_fashion_mnist_oe-cifar10_subset.safetensors"
        assert target.config["outlier_exposure"] == old
        assert "--outlier-margin" not in zoo.train_command(target)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"outlier_margin": 4.0}, "pass outliers_from"),
        ({"outliers_from": "mnist", "outlier_margin": -1.0}, "pass a finite number of bits per dimension >= 0"),
        ({"outliers_from": "mnist", "outlier_margin": math.nan}, "pass a finite number of bits per dimension >= 0"),
        ({"outliers_from": "mnist", "outlier_margin": math.inf}, "pass a finite number of bits per dimension >= 0"),
        ({"outliers_from": "mnist", "outlier_margin": 1.2345678}, "at most six significant digits"),
        ({"outliers_from": "mnist", "outlier_margin": "4"}, "pass a number of bits per dimension"),
    ],
)
def test_a_margin_that_cannot_be_one_is_refused_saying_what_to_pass(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        zoo.Variant(**changes)


def test_the_command_line_trains_with_the_margin_and_the_zoo_command_round_trips(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register_toy_model(monkeypatch)
    fake_datasets["mnist", "train"] = (np.random.default_rng(1).random((64, 28, 28, 1)) < 0.2).astype(np.uint8) * 255
    budget = dataclasses.replace(TINY_TRAIN, n_steps=4, eval_every=2, checkpoint_every=2)
    profile = dataclasses.replace(tiny_profile(), outlier_exposure_train=budget)
    monkeypatch.setitem(profiles.PROFILES, "tiny", profile)
    variant = zoo.Variant(outliers_from="mnist", outlier_margin=1000)
    command = zoo.train_command(zoo.wanted("toy", "fashion_mnist", profile, variant))
    assert command == (
        "python -m ood_lib.training.train_model toy fashion_mnist --profile tiny --outliers-from mnist "
        "--outlier-margin 1000"
    )
    assert train_model.main(command.split()[3:]) == 0
    assert [run["config"].n_steps for run in training_runs] == [4, 4], "the plain model, then the fine-tuning"
    monkeypatch.setenv("OOD_TRAIN", "never")
    exposed = zoo.get("toy", "fashion_mnist", profile, variant=variant, progress=False)
    assert exposed.from_cache and exposed.path.name == "toy_fashion_mnist_oe-mnist_m1000.safetensors"
    assert exposed.config["outlier_exposure"]["margin"] == 1000.0
    assert exposed.history[ACTIVE_FRACTION_KEY] == [1.0] * len(exposed.history["step"]) == [1.0] * 3
    plain = zoo.get("toy", "fashion_mnist", profile, progress=False)
    assert ACTIVE_FRACTION_KEY not in plain.history
    with pytest.raises(zoo.ModelNotTrainedError, match="--outliers-from mnist --outlier-margin 2.5`"):
        zoo.get("toy", "fashion_mnist", profile, variant=zoo.Variant(outliers_from="mnist", outlier_margin=2.5))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["pixelcnn", "mnist", "--outlier-margin", "4"], "pass --outliers-from DATA with it"),
        (["pixelcnn", "mnist", "--outliers-from", "fashion_mnist", "--outlier-margin", "-1"], "e.g. 4"),
        (["pixelcnn", "mnist", "--outliers-from", "fashion_mnist", "--outlier-margin", "inf"], "finite number"),
        (["pixelcnn", "mnist", "--outliers-from", "fashion_mnist", "--outlier-margin", "nan"], "finite number"),
        (["pixelcnn", "mnist", "--outliers-from", "fashion_mnist", "--outlier-margin", "four"], "invalid float"),
    ],
)
def test_the_command_line_refuses_a_margin_it_cannot_use(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train_model.main(arguments)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "variant",
    [
        zoo.PLAIN,
        zoo.Variant(outliers_from="cifar10_subset"),
        MARGIN_4,
        zoo.Variant(outliers_from="mnist", outlier_margin=0),
        zoo.Variant(outliers_from="mnist", outlier_margin=0.25),
        zoo.Variant(outliers_from="mnist", outlier_margin=1e-5),
        zoo.Variant(outliers_from="mnist", outlier_margin=2e6),
        zoo.Variant(seed=3, perturbation_rate=0.2, outliers_from="cifar10_subset", outlier_margin=4, bf16=True),
        zoo.Variant(input_independent_split_prior=True),
        zoo.Variant(no_lr_decay=True),
    ],
    ids=lambda variant: variant.suffix() or "plain",
)
def test_archive_names_parse_back_to_their_variant(variant: zoo.Variant) -> None:
    for model_name, train_set in (("pixelcnn", "fashion_mnist"), ("cv_glow", "cifar10_subset")):
        name = zoo.model_path(model_name, train_set, tiny_profile(), variant).name
        assert model_archive.identify(name) == (model_name, train_set, variant)


@pytest.mark.parametrize(
    "stem",
    ["pixelcnn_fashion_mnist_oe-mnist_m1", "pixelcnn_fashion_mnist_oe-mnist_m1.2345678", "pixelcnn_fashion_mnist_m4"],
)
def test_archive_refuses_margin_names_no_zoo_model_has(stem: str) -> None:
    with pytest.raises(ValueError, match="is not the name of a zoo model file"):
        model_archive.identify(f"{stem}.safetensors")
