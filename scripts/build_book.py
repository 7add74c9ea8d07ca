"""Build the book as a static HTML site from the committed, executed notebooks (never re-executed).

python scripts/build_book.py [OUTPUT_DIR]                # default build/book; open OUTPUT_DIR/index.html
python scripts/build_book.py --solutions [OUTPUT_DIR]    # also the exercises' worked solutions (make book SOLUTIONS=1)

Assembles a Sphinx source tree in ``build/book_src``: the landing page from the README's
introduction and chapter table, every ``chapters/NN_*.ipynb`` in order (found by glob, so a
new chapter appears without editing a list), each with download links to its ``.ipynb`` and
``.py`` added at the top and every exercise's ``*Hint: ...*`` turned into a collapsed dropdown
(sphinx-design), so a reader tries the exercise before opening the hint; the seminar guide
(``SEMINAR.md``) as a page; only with ``--solutions``, every ``solutions/NN_*.ipynb`` in a part of
its own (so a lecturer can publish the book without them); then runs
``sphinx-build -W`` (warnings are errors: broken references, missing images). Fails first if a
notebook has no outputs or was not executed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "build" / "book_src"
LIST_ITEM = re.compile(r"^(\s*)(\d+\.|[-*+])\s+")
HINT = re.compile(r"\s*\*Hint:\s*(.*?)\*\s*$", re.DOTALL)


def chapter_notebooks(folder: str = "chapters") -> list[Path]:
    """The executed chapters (or, with ``folder="solutions"``, the worked solutions), in order."""
    return sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))


def check_executed(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Refuse a notebook without outputs (the book shows results, it does not compute them)."""
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if not any(cell.get("outputs") for cell in code_cells) or any(
        cell.get("execution_count") is None for cell in code_cells
    ):
        raise SystemExit(f"{path.name} has code cells that were never executed: run `make chapters` first.")


def list_blocks(markdown: str) -> list[tuple[int, str]]:
    """Split markdown into (marker width, text) blocks: one per list item with its indented lines, 0 for others."""
    blocks: list[tuple[int, list[str]]] = []
    for line in markdown.split("\n"):
        match = LIST_ITEM.match(line)
        if match:
            blocks.append((len(match.group(0)), [line]))
        elif blocks and blocks[-1][0] and line.strip() and line.startswith(" "):
            blocks[-1][1].append(line)
        else:
            blocks.append((0, [line]))
    return [(width, "\n".join(block)) for width, block in blocks]


def collapse_hints(markdown: str) -> str:
    """Move a list item's closing ``*Hint: ...*`` into a collapsed dropdown under that item.

    The hint must end its item (the exercises' convention); other emphasis is left alone.
    """
    out = []
    for width, text in list_blocks(markdown):
        hint = HINT.search(text) if width else None
        if hint is None:
            out.append(text)
            continue
        pad = " " * width
        body = " ".join(part.strip() for part in hint.group(1).split("\n"))
        body = body[:1].upper() + body[1:]
        out.append(f"{text[: hint.start()]}\n\n{pad}```{{dropdown}} Hint\n{pad}{body}\n{pad}```\n")
    return "\n".join(out)


def landing_page(solutions: bool = False) -> str:
    """The README's introduction and chapter table, with chapter names turned into links; the seminar
    guide, and the solutions part when ``solutions``."""
    readme = (ROOT / "README.md").read_text().splitlines()
    title, intro = readme[0], []
    for line in readme[1:]:
        if line.startswith("## "):
            break
        intro.append(line)
    start = readme.index("## Chapters")
    table = []
    for line in readme[start + 1 :]:
        if line.startswith("## ") or (table and not line.startswith("|")):
            break
        if line.startswith("| `"):
            name = line.split("`")[1]
            line = line.replace(f"`{name}`", f"[{name}](chapters/{name}.ipynb)", 1)
        if line.startswith("|"):
            table.append(line)
    toctree = ["```{toctree}", ":maxdepth: 1", ":caption: Chapters", ":glob:", "", "chapters/*", "```", ""]
    toctree += ["```{toctree}", ":maxdepth: 1", ":caption: Teaching", "", "seminar", "```", ""]
    if solutions:
        toctree += ["```{toctree}", ":maxdepth: 1", ":caption: Solutions", ":glob:", "", "solutions/*", "```", ""]
    return "\n".join([title, *intro, "## Chapters", "", *table, "", *toctree])


def add_notebook(path: Path, folder: str, kind: str) -> None:
    """Write one executed notebook into the source tree's ``folder``, with its download links."""
    notebook = nbformat.read(path, as_version=4)
    check_executed(notebook, path)
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and "*Hint:" in cell.source:
            cell.source = collapse_hints(cell.source)
    source = path.with_suffix(".py")
    downloads = SOURCE / "downloads" / folder
    downloads.mkdir(parents=True, exist_ok=True)
    links = (
        f"*Download this {kind}:* {{download}}`{path.name} <../downloads/{folder}/{path.name}>` (executed notebook) · "
        f"{{download}}`{source.name} <../downloads/{folder}/{source.name}>` (py:percent source)"
    )
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(links))
    nbformat.write(notebook, SOURCE / folder / path.name)
    for original in (path, source):
        shutil.copy(original, downloads / original.name)


def assemble(solutions: bool = False) -> None:
    """Write the Sphinx source tree (the solutions' part only when ``solutions``)."""
    if SOURCE.exists():
        shutil.rmtree(SOURCE)
    (SOURCE / "chapters").mkdir(parents=True)
    (SOURCE / "downloads").mkdir()
    for name in ("conf.py", "favicon.png"):
        shutil.copy(ROOT / "book" / name, SOURCE / name)
    (SOURCE / "index.md").write_text(landing_page(solutions))
    shutil.copy(ROOT / "SEMINAR.md", SOURCE / "seminar.md")
    for path in chapter_notebooks():
        add_notebook(path, "chapters", "chapter")
    if solutions:
        (SOURCE / "solutions").mkdir()
        for path in chapter_notebooks("solutions"):
            add_notebook(path, "solutions", "solution")


def main(argv: list[str]) -> int:
    solutions = "--solutions" in argv
    argv = [argument for argument in argv if argument != "--solutions"]
    output = Path(argv[0]) if argv else ROOT / "build" / "book"
    assemble(solutions)
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(SOURCE), str(output)]
    result = subprocess.run(command, check=False)
    if result.returncode == 0:
        print(f"The book: {output / 'index.html'}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
