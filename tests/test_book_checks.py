"""The book's own checks (scripts/book_checks.py) on notebooks whose answer is known."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import book_checks  # noqa: E402


def notebook(markdown: str, printed: str, checked: bool = False) -> nbformat.NotebookNode:
    code = nbformat.v4.new_code_cell(("# NBVAL_CHECK_OUTPUT\n" if checked else "") + "print(...)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown), code])


@pytest.mark.parametrize(
    ("prose", "printed"),
    [
        ("the test BPD is 3.353", "test BPD 3.353"),
        ("the test BPD is 3.35", "test BPD 3.353"),  # fewer digits: rounds to the printed value
        ("a gap of 1.255 bits", "gap -1.255"),  # the prose may drop the sign
        ("lower for 98.6% of the images", "fraction lower 0.986"),
        ("1.19e5 times the closed form", "ratio 119000.0"),
        ("quoted 2.39 vs 3.46 <!-- quoted: 2.39 3.46 -->", "nothing"),
        ("the version `torch==2.13.0` and [a link](http://x/1.5)", "nothing"),
    ],
)
def test_prose_numbers_the_outputs_print_pass(prose: str, printed: str) -> None:
    assert book_checks.unprinted_numbers(notebook(prose, printed)) == []


@pytest.mark.parametrize(
    ("prose", "printed", "missing"),
    [
        ("the test BPD is 3.354", "test BPD 3.353", "3.354"),
        ("the test BPD is 3.36", "test BPD 3.353", "3.36"),
        ("lower for 98.7% of the images", "fraction lower 0.986", "98.7"),
        ("quoted 2.39 vs 3.46 <!-- quoted: 2.39 -->", "nothing", "3.46"),
    ],
)
def test_a_prose_number_no_output_prints_is_reported(prose: str, printed: str, missing: str) -> None:
    problems = book_checks.unprinted_numbers(notebook(prose, printed))
    assert len(problems) == 1 and f": {missing} in" in problems[0]


def test_integers_and_version_numbers_are_not_prose_figures() -> None:
    assert book_checks.prose_numbers("2000 images, torch 2.13.0, 28x28, Eq. 6") == []


def test_a_flipped_checked_finding_is_reported() -> None:
    committed = notebook("text", "finding: MNIST below FashionMNIST: True\n", checked=True)
    executed = copy.deepcopy(committed)
    executed.cells[1].outputs[0].text = "finding: MNIST below FashionMNIST: False\n"
    problems = book_checks.compare_checked(committed, executed)
    assert len(problems) == 1 and "-finding: MNIST below FashionMNIST: True" in problems[0]


def test_paths_and_timings_are_masked_in_checked_cells() -> None:
    committed = notebook("text", "data in /work/shared/data, 3.2 s\n", checked=True)
    executed = notebook("text", "data in /home/reader/data, 4.1 s\n", checked=True)
    assert book_checks.compare_checked(committed, executed) == []


def test_unchecked_cells_are_not_compared() -> None:
    assert book_checks.compare_checked(notebook("t", "3.353"), notebook("t", "3.360")) == []


def test_a_contradicted_smoke_finding_and_an_unlabelled_boolean_are_found() -> None:
    printed = "finding: x: 2 (the text claims 3; smoke models need not show it)\nlower than before: True\n"
    book = notebook("text", printed, checked=True)
    assert book_checks.contradicted_findings(book) == [printed.splitlines()[0]]
    assert book_checks.unlabelled_booleans(book) == ["lower than before: True"]
