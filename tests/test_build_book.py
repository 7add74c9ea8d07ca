"""The website's source assembly (scripts/build_book.py) on markdown whose answer is known."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import build_book  # noqa: E402


def test_a_closing_hint_becomes_a_dropdown_under_its_item() -> None:
    markdown = (
        "## Exercises\n\n1. Compute $x$. Which *digit* wins?\n   *Hint: look at\n   the labels.*\n"
        "2. No hint here.\n10. Long marker. *Hint: ten.*"
    )
    collapsed = build_book.collapse_hints(markdown)
    assert "*Hint" not in collapsed
    assert "1. Compute $x$. Which *digit* wins?\n\n   ```{dropdown} Hint\n   Look at the labels.\n   ```" in collapsed
    assert "2. No hint here." in collapsed
    assert "    ```{dropdown} Hint\n    Ten.\n    ```" in collapsed  # indented under the 4-character marker


def test_text_outside_list_items_and_hints_mid_item_are_left_alone() -> None:
    markdown = "A paragraph with *Hint: not an exercise.*\n\n- item *Hint: mid* and more text"
    assert build_book.collapse_hints(markdown) == markdown


def test_the_solutions_part_is_in_the_landing_page_only_on_request() -> None:
    without, with_solutions = build_book.landing_page(), build_book.landing_page(solutions=True)
    assert "solutions/*" not in without and ":caption: Solutions" not in without
    assert ":caption: Solutions" in with_solutions and "solutions/*" in with_solutions
    assert "seminar" in without and "seminar" in with_solutions  # the seminar guide is always a page
