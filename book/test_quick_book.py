"""The published book re-executed: each chapter in `quick` with the committed checkpoints.

For every ``chapters/NN_*.ipynb`` this executes the committed cells afresh (profile
``$OOD_BOOK_PROFILE``, default ``quick``; ``OOD_TRAIN=never``, so a missing or stale
checkpoint fails at once instead of training), writes the result to
``build/executed/`` and fails if

- a cell raises, a contradicted finding included (``ood_lib.book.findings``);
- a checked cell (``# NBVAL_CHECK_OUTPUT``) prints anything other than the committed notebook;
- the prose states a decimal figure the fresh outputs do not print (``scripts/book_checks.py``).

Run with ``make book-check`` (part of ``make test``), which is ``scripts/check_book.py``: two groups
of chapters at once, one thread each (``OMP_NUM_THREADS=1``), which also proves that the checked
cells do not depend on the thread count the committed notebooks were executed with;
``make book-check CHAPTERS="04 08"`` runs only some chapters.

The exercises' worked solutions (``solutions/NN_*.ipynb``) are checked the same way when
``$BOOK_SOLUTIONS`` names them: ``all`` for every one, else name prefixes (``00 03``); unset or empty,
none. ``scripts/check_book.py`` sets it to the chapters of each group.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import nbclient
import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import book_checks  # noqa: E402
from execute_chapters import SOLUTION_DIR, chapter_sources, run_in_chapter_dir  # noqa: E402

EXECUTED_DIR = REPO_ROOT / "build" / "executed"
CELL_TIMEOUT_S = 1800


def solution_notebooks(requested: str) -> list[Path]:
    """The solutions ``$BOOK_SOLUTIONS`` asks for: ``all``, name prefixes, or none when empty."""
    if not requested.strip():
        return []
    prefixes = [] if requested.strip() == "all" else requested.split()
    return [source.with_suffix(".ipynb") for source in chapter_sources(prefixes, SOLUTION_DIR)]


NOTEBOOKS = [
    source.with_suffix(".ipynb") for source in chapter_sources(os.environ.get("CHAPTERS", "").split())
] + solution_notebooks(os.environ.get("BOOK_SOLUTIONS", ""))


def notebook_id(path: Path) -> str:
    """``00_data`` for a chapter, ``solutions_00_data`` for a solution (ids, file names in build/executed)."""
    return f"{path.parent.name}_{path.stem}" if path.parent == SOLUTION_DIR else path.stem


def execute_fresh(committed: nbformat.NotebookNode, directory: Path) -> nbformat.NotebookNode:
    """The committed notebook's cells executed from scratch in ``directory`` (its own)."""
    notebook = copy.deepcopy(committed)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    try:
        run_in_chapter_dir(notebook, CELL_TIMEOUT_S, directory)
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"a cell failed (partial notebook not written):\n{error}", pytrace=False)
    return notebook


def cell_seconds(notebook: nbformat.NotebookNode) -> list[tuple[float, int]]:
    """(seconds, cell index) of every executed code cell, from nbclient's recorded timestamps."""
    durations = []
    for index, cell in enumerate(notebook.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (
                datetime.fromisoformat(timing[key].rstrip("Z"))
                for key in ("iopub.execute_input", "shell.execute_reply")
            )
            durations.append(((end - start).total_seconds(), index))
    return durations


@pytest.mark.parametrize("notebook_path", NOTEBOOKS, ids=[notebook_id(path) for path in NOTEBOOKS])
def test_chapter_reproduces(notebook_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OOD_PROFILE", os.environ.get("OOD_BOOK_PROFILE", "quick"))
    monkeypatch.setenv("OOD_TRAIN", "never")  # the kernel inherits this environment
    committed = book_checks.read_notebook(notebook_path)
    start = time.perf_counter()
    executed = execute_fresh(committed, notebook_path.parent)
    seconds = time.perf_counter() - start
    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed, EXECUTED_DIR / f"{notebook_id(notebook_path)}.ipynb")
    problems = book_checks.compare_checked(committed, executed) + [
        f"prose number not printed by the fresh outputs: {problem}"
        for problem in book_checks.unprinted_numbers(executed)
    ]
    slowest = sorted(cell_seconds(executed), reverse=True)[:3]
    timing = f"{notebook_id(notebook_path)}: executed in {seconds:.0f} s; slowest cells: " + ", ".join(
        f"cell {index} {duration:.0f} s" for duration, index in slowest
    )
    (EXECUTED_DIR / f"{notebook_id(notebook_path)}.timing.txt").write_text(timing + "\n")
    assert not problems, f"{timing}\n" + "\n\n".join(problems)
