"""Every chapter (and every worked-solutions notebook) is a jupytext pair whose executed notebook matches its
source, cell for cell, and states only what its outputs show."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import book_checks  # noqa: E402
from execute_chapters import CHAPTER_DIR, SOLUTION_DIR, chapter_sources  # noqa: E402

SOURCES = chapter_sources([]) + chapter_sources([], SOLUTION_DIR)


def test_chapters_exist() -> None:
    assert any(source.parent == CHAPTER_DIR for source in SOURCES), f"no chapters found in {CHAPTER_DIR}"


def execute_command(source: Path) -> str:
    """The make command that re-executes ``source``'s notebook."""
    target = "solutions" if source.parent == SOLUTION_DIR else "chapters"
    return f"make {target} CHAPTERS={source.stem[:2]}"


@pytest.mark.parametrize("source", SOURCES, ids=[f"{path.parent.name}/{path.stem}" for path in SOURCES])
def test_notebook_matches_source(source: Path) -> None:
    notebook_path = source.with_suffix(".ipynb")
    assert notebook_path.exists(), f"{notebook_path.name} missing: run `{execute_command(source)}`"
    from_source = [(cell.cell_type, cell.source) for cell in jupytext.read(source).cells]
    from_notebook = [(cell.cell_type, cell.source) for cell in jupytext.read(notebook_path).cells]
    assert from_source == from_notebook, (
        f"{source.name} and {notebook_path.name} differ: re-execute with `{execute_command(source)}`"
    )


@pytest.mark.parametrize("source", SOURCES, ids=[f"{path.parent.name}/{path.stem}" for path in SOURCES])
def test_notebook_is_executed_with_profile_and_run_time(source: Path) -> None:
    notebook = book_checks.read_notebook(source.with_suffix(".ipynb"))
    printed = "".join(book_checks.cell_text(cell) for cell in notebook.cells if cell.cell_type == "code")
    assert "Profile: " in printed and "Chapter run time: " in printed, f"{source.stem} has no executed outputs"


# --- What the committed notebooks may not carry (the fresh quick re-execution is book/test_quick_book.py).

NOTEBOOKS = [source.with_suffix(".ipynb") for source in SOURCES]
ABSOLUTE_PATH = re.compile(r"(?:^|[\s(='\"])(/[\w.-]+){2,}")


@pytest.mark.parametrize("notebook_path", NOTEBOOKS, ids=[f"{path.parent.name}/{path.stem}" for path in NOTEBOOKS])
def test_committed_notebook_states_only_what_it_shows(notebook_path: Path) -> None:
    notebook = book_checks.read_notebook(notebook_path)
    assert book_checks.contradicted_findings(notebook) == [], "a committed finding is contradicted"
    assert book_checks.findings_outside_checked_cells(notebook) == [], "findings belong in # NBVAL_CHECK_OUTPUT cells"
    assert book_checks.unlabelled_booleans(notebook) == [], "print checked booleans with finding()/sanity_check()"
    assert book_checks.unprinted_numbers(notebook) == [], "prose numbers no output prints (or mark them quoted)"


@pytest.mark.parametrize("notebook_path", NOTEBOOKS, ids=[f"{path.parent.name}/{path.stem}" for path in NOTEBOOKS])
def test_committed_notebook_prints_no_machine_paths(notebook_path: Path) -> None:
    notebook = book_checks.read_notebook(notebook_path)
    printed = "\n".join(book_checks.cell_text(cell) for cell in notebook.cells if cell.cell_type == "code")
    assert [match.group(0).strip() for match in ABSOLUTE_PATH.finditer(printed)] == []
