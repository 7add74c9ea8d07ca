"""Findings raise where the book's models must show them and report where smoke models need not."""

from __future__ import annotations

import numpy as np
import pytest

from ood_lib.book.findings import FindingNotShown, finding, sanity_check


def test_a_finding_that_holds_prints_its_label_and_value(capsys: pytest.CaptureFixture[str]) -> None:
    finding("MNIST below FashionMNIST", np.bool_(True))
    sanity_check("spread by construction", 0.0, 0.0)
    assert capsys.readouterr().out.splitlines() == [
        "finding: MNIST below FashionMNIST: True",
        "code sanity check: spread by construction: 0.0",
    ]


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_a_contradicted_finding_fails_in_the_books_profiles(profile: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OOD_PROFILE", profile)
    with pytest.raises(FindingNotShown, match="latent term above the mean: got False"):
        finding("latent term above the mean", np.float64(-2.961) > np.float64(-2.826))


def test_a_contradicted_finding_is_reported_in_smoke(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OOD_PROFILE", "smoke")
    finding("ordering", 2, expected=3)
    assert capsys.readouterr().out == "finding: ordering: 2 (the text claims 3; smoke models need not show it)\n"


def test_a_failed_sanity_check_fails_in_every_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OOD_PROFILE", "smoke")
    with pytest.raises(FindingNotShown, match="code sanity check"):
        sanity_check("identity", False)


def test_numpy_integers_compare_and_print_as_python_integers(capsys: pytest.CaptureFixture[str]) -> None:
    finding("count", np.int64(7), 7)
    assert capsys.readouterr().out == "finding: count: 7\n"
