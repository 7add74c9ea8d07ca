"""Every chapter is a jupytext pair whose executed notebook matches its source, cell for cell."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

CHAPTER_DIR = Path(__file__).resolve().parent.parent / "chapters"
SOURCES = sorted(CHAPTER_DIR.glob("[0-9][0-9]_*.py"))


def test_chapters_exist() -> None:
    assert SOURCES, f"no chapters found in {CHAPTER_DIR}"


@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_notebook_matches_source(source: Path) -> None:
    notebook_path = source.with_suffix(".ipynb")
    assert notebook_path.exists(), f"{notebook_path.name} missing: run `make chapters CHAPTERS={source.stem[:2]}`"
    from_source = [(cell.cell_type, cell.source) for cell in jupytext.read(source).cells]
    from_notebook = [(cell.cell_type, cell.source) for cell in jupytext.read(notebook_path).cells]
    assert from_source == from_notebook, (
        f"{source.name} and {notebook_path.name} differ: re-execute with `make chapters CHAPTERS={source.stem[:2]}`"
    )


@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_notebook_is_executed_with_profile_and_run_time(source: Path) -> None:
    notebook = jupytext.read(source.with_suffix(".ipynb"))
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "Profile: " in printed and "Chapter run time: " in printed, f"{source.stem} has no executed outputs"
