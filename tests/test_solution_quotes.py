"""Every worked solution restates its exercise in the chapter's current words.

Each solution section ``## Exercise k: ...`` opens with the question in italics. That restatement must be
chapter NN's exercise k as the chapter's ``## Exercises`` cell now reads it, without its ``*Hint: ...*``
(whitespace-normalised; a relative link to another chapter is written relative to ``solutions/``).
When a chapter's exercise is reworded, this test names the solutions whose quotation has gone stale.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
SOLUTIONS = ROOT / "solutions"

EXERCISES_HEADING = re.compile(r"(?m)^## Exercises[ \t]*$")
NEXT_HEADING = re.compile(r"(?m)^#{1,6} ")
ITEM = re.compile(r"(?m)^(\d+)\. ")
HINT = re.compile(r"\s*\*Hint:.*\Z", re.S)
COMMENT = re.compile(r"<!--.*?-->", re.S)
SECTION = re.compile(r"\A## Exercise (\d+)\b[^\n]*\n")
CHAPTER_LINK = re.compile(r"\]\((\d\d_[\w-]+\.ipynb)")


def normalise(text: str) -> str:
    return " ".join(text.split())


def exercise_list(chapter: nbformat.NotebookNode) -> dict[int, str]:
    """Exercise number -> question without its hint, from the chapter's ``## Exercises`` markdown cell."""
    for cell in chapter.cells:
        heading = EXERCISES_HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        if heading is None:
            continue
        body = cell.source[heading.end() :]
        following = NEXT_HEADING.search(body)
        body = COMMENT.sub("", body[: following.start()] if following else body)
        parts = ITEM.split(body)
        return {int(number): normalise(HINT.sub("", text)) for number, text in zip(parts[1::2], parts[2::2])}
    raise AssertionError("the chapter has no '## Exercises' markdown cell")


def as_in_solutions(question: str) -> str:
    """A chapter's question as a solution notebook quotes it: links to other chapters go through ../chapters/."""
    return CHAPTER_LINK.sub(r"](../chapters/\1", question)


def stale_quotations(solution: nbformat.NotebookNode, chapter: nbformat.NotebookNode) -> list[str]:
    """One message per solution section whose italic restatement is not the chapter's exercise text."""
    exercises = exercise_list(chapter)
    problems = []
    for index, cell in enumerate(solution.cells):
        section = SECTION.match(cell.source) if cell.cell_type == "markdown" else None
        if section is None:
            continue
        number = int(section.group(1))
        if number not in exercises:
            problems.append(f"cell {index}: exercise {number} is not in the chapter's list")
            continue
        expected = f"*{as_in_solutions(exercises[number])}*"
        opening = normalise(cell.source[section.end() :].strip().split("\n\n")[0])
        if not opening.startswith(expected):
            problems.append(
                f"cell {index}, exercise {number}:\n  solution: {opening[: len(expected) + 40]}\n  chapter:  {expected}"
            )
    return problems


def solution_pairs() -> list[tuple[Path, Path]]:
    pairs = []
    for solution in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        chapter = CHAPTERS / solution.name
        pairs.append((solution, chapter))
    return pairs


PAIRS = solution_pairs()


def test_every_solution_has_its_chapter() -> None:
    assert PAIRS, "no solution notebooks found"
    for solution, chapter in PAIRS:
        assert chapter.exists(), f"{solution.name} has no chapter of the same name"


@pytest.mark.parametrize("solution, chapter", PAIRS, ids=[solution.stem for solution, _ in PAIRS])
def test_solution_quotes_the_chapters_exercises(solution: Path, chapter: Path) -> None:
    problems = stale_quotations(nbformat.read(solution, as_version=4), nbformat.read(chapter, as_version=4))
    assert problems == [], f"{solution.name}: re-quote from {chapter.name}:\n" + "\n".join(problems)


# --- the checker itself, on a tiny constructed pair


def tiny_pair(quotation: str) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    chapter = nbformat.v4.new_notebook()
    chapter.cells = [
        nbformat.v4.new_markdown_cell("# A chapter\n\nText."),
        nbformat.v4.new_markdown_cell(
            "## Summary\n\nDone.\n\n## Exercises\n\n"
            "1. Compute the *mean* of $x_d$ over\n   the test set. *Hint: `np.mean`; seconds.*\n"
            "2. Is it above 0.5? See [chapter 01](01_x.ipynb). *Hint: look.*\n\n"
            "<!-- quoted: 0.5 -->\n"
        ),
    ]
    solution = nbformat.v4.new_notebook()
    solution.cells = [
        nbformat.v4.new_markdown_cell("# Solutions"),
        nbformat.v4.new_markdown_cell(f"## Exercise 1: the mean\n\n{quotation} We compute it.\n\nMore."),
        nbformat.v4.new_code_cell("print(1)"),
        nbformat.v4.new_markdown_cell(
            "## Exercise 2: above a half\n\n*Is it above 0.5? See [chapter 01](../chapters/01_x.ipynb).*"
        ),
    ]
    return solution, chapter


def test_exercise_list_drops_hints_and_comments() -> None:
    _, chapter = tiny_pair("")
    assert exercise_list(chapter) == {
        1: "Compute the *mean* of $x_d$ over the test set.",
        2: "Is it above 0.5? See [chapter 01](01_x.ipynb).",
    }


def test_checker_accepts_the_current_wording() -> None:
    assert stale_quotations(*tiny_pair("*Compute the *mean* of $x_d$\nover the test set.*")) == []


@pytest.mark.parametrize(
    "quotation",
    [
        "*Compute the mean of $x_d$ over the training set.*",  # an older wording
        "*Compute the *mean* of $x_d$ over the test set. *Hint: `np.mean`; seconds.**",  # hint kept
        "Compute the *mean* of $x_d$ over the test set.",  # not in italics
        "*Compute the *mean* of $x_d$.*",  # shortened
    ],
)
def test_checker_rejects_a_different_wording(quotation: str) -> None:
    problems = stale_quotations(*tiny_pair(quotation))
    assert len(problems) == 1 and "exercise 1" in problems[0]


def test_checker_rejects_an_exercise_the_chapter_does_not_have() -> None:
    solution, chapter = tiny_pair("*Compute the *mean* of $x_d$ over the test set.*")
    solution.cells.append(nbformat.v4.new_markdown_cell("## Exercise 3: gone\n\n*Old question.*"))
    assert stale_quotations(solution, chapter) == ["cell 4: exercise 3 is not in the chapter's list"]
