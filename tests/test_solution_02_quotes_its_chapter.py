"""Solution 02's exercise 6 quotes chapter 02's printed medians as numbers: the committed chapter must print them."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "02_change_of_variables.py"
CHAPTER = ROOT / "chapters" / "02_change_of_variables.ipynb"


def quoted_medians(source: str) -> dict[int, tuple]:
    """The literal ``chapter_02 = {seed: (median |det J|, median ||J||_F, smallest s_max or None)}`` in the solution."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "chapter_02" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("solution 02 no longer defines chapter_02; remove this test if the quote went")


def printed_text(notebook_path: Path) -> str:
    notebook = json.loads(notebook_path.read_text())
    return "\n".join(
        "".join(output.get("text", ""))
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    )


def missing_quotes(medians: dict[int, tuple], printed: str) -> list[str]:
    """Each quoted number that chapter 02's outputs do not print in its sentence."""
    missing = []
    for seed, (det_median, frobenius_median, smallest_s_max) in medians.items():
        line = rf"seed {seed}: .*median \|det J\| {det_median}, median \|\|J\|\|_F {frobenius_median}\)"
        if not re.search(line, printed):
            missing.append(f"seed {seed}: medians {det_median}, {frobenius_median}")
        if smallest_s_max is not None and not re.search(
            rf"seed {seed}: .*measured s_max from {smallest_s_max} to", printed
        ):
            missing.append(f"seed {seed}: smallest s_max {smallest_s_max}")
    return missing


def test_solution_02_quotes_the_medians_chapter_02_prints() -> None:
    assert missing_quotes(quoted_medians(SOLUTION.read_text()), printed_text(CHAPTER)) == []


def test_a_changed_number_is_caught() -> None:
    printed = (
        "trained 2-D flow, seed 0: |det J| > ||J||_F at 175 of 200 points (median |det J| 50.1, median ||J||_F 26.8)"
    )
    assert missing_quotes({0: (50.1, 26.8, None)}, printed) == []
    assert missing_quotes({0: (50.2, 26.8, None)}, printed) == ["seed 0: medians 50.2, 26.8"]
    assert missing_quotes({0: (50.1, 26.8, 6.96)}, printed) == ["seed 0: smallest s_max 6.96"]
