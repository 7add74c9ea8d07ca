"""What the book's tests compare: checked cells, findings and the numbers the prose states.

- **Checked cells** (first line ``# NBVAL_CHECK_OUTPUT``): their text output, with paths,
  timings, progress bars and the torch version masked by ``chapters/sanitize.cfg``, must
  be identical in the committed notebook and in a fresh execution.
- **Findings** (``ood_lib.book.findings``): a committed notebook may not carry a contradicted
  one, every ``finding(`` or ``sanity_check(`` call sits in a checked cell, and a checked
  cell prints True/False only on a line that says which of the two it is.
- **Prose numbers**: every decimal figure of a markdown cell (``3.353``, ``98.6%``,
  ``1.19e5``) must be printed by the chapter's outputs, at the prose's precision, unless
  the cell lists it in an HTML comment, invisible to the reader:
  ``<!-- quoted: 2.39 3.46 -->`` (a published value; the prose names the source) or
  ``<!-- constant: 0.5 -->`` (a constant of the text, e.g. a value in a derivation).
  Numbers in code spans and link targets are not prose; integers are not checked.
"""

from __future__ import annotations

import configparser
import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

CHAPTER_DIR = Path(__file__).resolve().parent.parent / "chapters"
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
CONTRADICTED = "need not show it)"  # the end of a contradicted finding's line in smoke (ood_lib.book.findings)

_NUMBER = re.compile(r"(?<![\w.])-?(\d+\.\d+)(?:[eE]([+-]?\d+))?(?![\w]|\.\d)")
_ANY_NUMBER = re.compile(r"(?<![\w.])-?(\d+(?:\.\d+)?)(?:[eE]([+-]?\d+))?")
_EXEMPT = re.compile(r"<!--\s*(?:quoted|constant):([^>]*)-->")
_NOT_PROSE = re.compile(r"`[^`]*`|\]\([^)]*\)|<!--.*?-->|https?://\S+", re.DOTALL)


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


@functools.cache
def _sanitizers() -> list[tuple[re.Pattern[str], str]]:
    """The (regex, replacement) pairs of ``chapters/sanitize.cfg``, in file order."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(CHAPTER_DIR / "sanitize.cfg")
    return [(re.compile(parser[section]["regex"]), parser[section]["replace"]) for section in parser.sections()]


def sanitize(text: str) -> str:
    for pattern, replacement in _sanitizers():
        text = pattern.sub(replacement, text)
    return text


def cell_text(cell: nbformat.NotebookNode) -> str:
    """Everything a code cell printed or returned as text (stdout, text/plain; never stderr or images)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stdout":
            parts.append(output.text)
        elif output.output_type in {"execute_result", "display_data"}:
            parts.append(output.get("data", {}).get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "".join(parts)


def checked_cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """(source, sanitized text output) of every checked cell, in order."""
    return [
        (cell.source, sanitize(cell_text(cell)))
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.source.startswith(CHECK_MARK)
    ]


def compare_checked(committed: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> list[str]:
    """One message (with a diff) per checked cell whose output differs; empty when all agree."""
    expected, got = checked_cells(committed), checked_cells(executed)
    if [source for source, _ in expected] != [source for source, _ in got]:
        return ["the checked cells' sources differ: the notebook is not the one that was executed"]
    problems = []
    for number, ((source, want), (_, have)) in enumerate(zip(expected, got), start=1):
        if want != have:
            diff = "\n".join(
                difflib.unified_diff(want.splitlines(), have.splitlines(), "committed", "executed", lineterm="")
            )
            first_code_line = source.splitlines()[1] if source.count("\n") else source
            problems.append(f"checked cell {number} ({first_code_line.strip()[:60]}) changed:\n{diff}")
    return problems


def findings_outside_checked_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """The first line of every code cell that states a finding but is not a checked cell."""
    return [
        cell.source.splitlines()[0]
        for cell in notebook.cells
        if cell.cell_type == "code"
        and re.search(r"\b(finding|sanity_check)\(", cell.source)
        and not cell.source.startswith(CHECK_MARK)
    ]


def contradicted_findings(notebook: nbformat.NotebookNode) -> list[str]:
    """Lines of the outputs that report a contradicted finding, or a FindingNotShown error."""
    lines = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for line in cell_text(cell).splitlines():
            if line.rstrip().endswith(CONTRADICTED) or line.startswith("FindingNotShown"):
                lines.append(line)
    return lines


def unlabelled_booleans(notebook: nbformat.NotebookNode) -> list[str]:
    """Lines of checked cells that print True/False without saying finding or code sanity check."""
    return [
        line
        for _, text in checked_cells(notebook)
        for line in text.splitlines()
        if re.search(r"\b(True|False)\b", line) and not line.startswith(("finding: ", "code sanity check: "))
    ]


@dataclass(frozen=True)
class ProseNumber:
    text: str  # as written, e.g. "3.353" or "1.19e5"
    value: float
    tolerance: float  # half a unit in the last written digit
    percent: bool  # written as "98.6%"


def _number(match: re.Match[str], source: str) -> ProseNumber:
    mantissa, exponent = match.group(1), int(match.group(2) or 0)
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    percent = source[match.end() : match.end() + 2].lstrip().startswith("%")
    return ProseNumber(match.group(0), float(mantissa) * 10.0**exponent, 0.5 * 10.0 ** (exponent - decimals), percent)


def prose_numbers(markdown: str) -> list[ProseNumber]:
    """The decimal figures of a markdown cell that no ``quoted``/``constant`` comment exempts."""
    exempt = {token.strip(",;") for comment in _EXEMPT.findall(markdown) for token in comment.split()}
    prose = _NOT_PROSE.sub(" ", markdown)
    numbers = [_number(match, prose) for match in _NUMBER.finditer(prose)]
    return [number for number in numbers if number.text.lstrip("-") not in exempt]


def printed_values(notebook: nbformat.NotebookNode) -> list[float]:
    """Every number (absolute value) the notebook's code cells print."""
    text = "\n".join(cell_text(cell) for cell in notebook.cells if cell.cell_type == "code")
    return [float(match.group(1)) * 10.0 ** int(match.group(2) or 0) for match in _ANY_NUMBER.finditer(text)]


def is_printed(number: ProseNumber, printed: list[float]) -> bool:
    """True if some printed value rounds to ``number`` at its written precision (or as a fraction, for a %)."""
    target, slack = abs(number.value), number.tolerance * (1 + 1e-9)
    candidates = printed + ([100.0 * value for value in printed] if number.percent else [])
    return any(abs(value - target) <= slack for value in candidates)


def unprinted_numbers(notebook: nbformat.NotebookNode) -> list[str]:
    """``"cell N: 3.353 in '...context...'"`` for each prose number the outputs do not print."""
    printed = printed_values(notebook)
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        for number in prose_numbers(cell.source):
            if not is_printed(number, printed):
                at = cell.source.find(number.text)
                context = " ".join(cell.source[max(at - 50, 0) : at + len(number.text) + 30].split())
                problems.append(f"markdown cell {index}: {number.text} in '...{context}...'")
    return problems
