"""Lecture slides (reveal.js) of each chapter's headings, key equations and figures, from the committed notebooks.

python scripts/build_slides.py [OUTPUT_DIR]      # default build/slides; open OUTPUT_DIR/NN_name.slides.html

One deck per executed ``chapters/NN_*.ipynb`` (found by glob, like the book), converted with
nbconvert's reveal.js exporter; the notebooks are never re-executed. The slide-selection rule, in
document order:

- the chapter's title (its ``#`` heading) and every ``##``/``###`` heading start a slide that holds
  the heading and the *first block* of text under it, cut short: a paragraph keeps the first
  sentences that fit in 450 characters, a list the first sentences of each of its first five items
  that fit in 200 (a first sentence too long is cut at a word; " …" marks every cut);
- every display equation (``$$ ... $$``) of a markdown cell is kept, wherever it sits in the
  section, on an equation slide under the section's heading (up to three equations a slide);
- every figure (a code cell's ``image/png`` output) gets a slide of its own under the section's
  heading;
- dropped: code (sources and text outputs), later paragraphs, tables, HTML comments, the
  "Exercises" section (its hints stay in the book, where they start collapsed), and a heading
  left with nothing under it (a table only), unless subsections follow.

reveal.js (5.x) comes from the ``sphinx-revealjs`` package and MathJax 3 (SVG output, no fonts
to fetch) from ``sphinx-mathjax-offline``; both are copied into ``OUTPUT_DIR/_static``, so the
decks work offline from the folder (or any static web server). Figures are embedded in each deck.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import jinja2
import nbformat

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPH_CHARS = 450  # a slide's text: the first sentences of the first block, up to about this many characters
LIST_ITEMS = 5  # a list keeps the first sentences of this many items, up to ITEM_CHARS each
ITEM_CHARS = 200
EQUATIONS_PER_SLIDE = 3
SKIPPED_SECTIONS = re.compile(r"^exercises\b", re.IGNORECASE)
HEADING = re.compile(r"^(#{1,3})\s+(.*?)\s*#*\s*$")
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
LIST_ITEM = re.compile(r"^(\s*)(\d+\.|[-*+])\s+")
SENTENCE_END = re.compile(r"[.?!][*_)\]]*(?= [*_(\[]*[A-Z])")

# nbconvert's reveal template with every CDN script replaced: no jQuery, RequireJS or Mermaid
# (the decks need none), MathJax 3 and reveal.js from the deck's _static folder.
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
        processEscapes: true},
  svg: {fontCache: 'global'}
};
</script>
<script src="_static/mathjax/tex-svg.js"></script>
<style>
.reveal .slides section { text-align: left; }
.reveal .jp-Collapser { display: none; }
.reveal .jp-RenderedHTMLCommon, .reveal .jp-OutputArea, .reveal .jp-Cell { overflow: visible !important; }
.reveal h1, .reveal h2, .reveal h3 { text-transform: none !important; }
.reveal .slides img { width: 100%; height: 620px; max-width: 100%; max-height: 620px; object-fit: contain;
                      object-position: center top; }
.reveal .jp-RenderedMarkdown p, .reveal .jp-RenderedMarkdown li { font-size: 28px; line-height: 1.4; }
.reveal mjx-container[display="true"] { font-size: 130%; margin: 0.8em 0; }
</style>
<link rel="icon" href="_static/favicon.png">
{%- endblock html_head_js_mathjax -%}
{% block footer_js %}
<script src="{{ resources.reveal.url_prefix }}/dist/reveal.js"></script>
<script>
Reveal.initialize({controls: true, progress: true, history: true, hash: true, center: false,
                   slideNumber: "c/t", transition: "none", width: 1280, height: 800});
</script>
{% endblock footer_js %}
"""


@dataclass
class Section:
    """One heading of the chapter and what the slides keep of it."""

    level: int
    title: str
    text: str | None = None
    items: list[tuple[str, object]] = field(default_factory=list)  # ("math", latex) or ("figure", output)


def chapter_notebooks() -> list[Path]:
    return sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def outside_markup(text: str) -> list[bool]:
    """For each character of ``text``: is it outside inline maths (``$...$``) and code (backticks)?"""
    mask, in_math, in_code, escaped = [], False, False, False
    for char in text:
        if char == "`" and not in_math:
            in_code = not in_code
            mask.append(False)
        elif char == "$" and not in_code and not escaped:
            in_math = not in_math
            mask.append(False)
        else:
            mask.append(not (in_math or in_code))
        escaped = char == "\\" and not escaped
    return mask


def first_sentences(text: str, limit: int = PARAGRAPH_CHARS) -> str:
    """The first sentences of ``text`` that fit in ``limit`` characters, " …" when something is cut.

    A sentence ends at ``.``, ``?`` or ``!`` (closing emphasis or a bracket may follow) before a
    space and a capital letter, outside inline maths and code; lines are joined first. When the
    first sentence alone is longer than ``limit``, it is cut at the last space (outside maths and
    code) before ``limit``, and emphasis left open by the cut is closed.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    outside = outside_markup(text)
    ends = [m.end() for m in SENTENCE_END.finditer(text) if outside[m.start()]]
    fitting = [end for end in ends if end <= limit]
    if fitting:
        return text[: fitting[-1]] + " …"
    spaces = [i for i, char in enumerate(text[:limit]) if char == " " and outside[i]]
    cut = text[: spaces[-1]] if spaces else text[:limit]
    bold = cut.count("**")
    if bold % 2:
        cut += "**"
    if (cut.count("*") - 2 * (bold + bold % 2)) % 2:
        cut += "*"
    return cut + " …"


def blocks(markdown: str) -> list[str]:
    """Split a markdown cell into blocks: each heading line on its own, otherwise runs of non-blank lines."""
    out: list[list[str]] = [[]]
    for line in COMMENT.sub("", markdown).split("\n"):
        if HEADING.match(line):
            out += [[line], []]
        elif line.strip():
            out[-1].append(line)
        else:
            out.append([])
    return ["\n".join(block) for block in out if block]


def shorten(block: str) -> str | None:
    """The slide text of a section's first block (None for a table, raw HTML or nothing left)."""
    lines = [line for line in block.split("\n") if line.strip()]
    if not lines or lines[0].lstrip().startswith(("|", "<")):
        return None
    if not LIST_ITEM.match(lines[0]):
        return first_sentences(block)
    items: list[list[str]] = []
    for line in lines:
        if LIST_ITEM.match(line) and len(LIST_ITEM.match(line).group(1)) == 0:
            items.append([line])
        elif items:
            items[-1].append(line)
    kept = []
    for item in items[:LIST_ITEMS]:
        marker = LIST_ITEM.match(item[0]).group(0)
        body = " ".join(item)[len(marker) :]
        kept.append(marker + first_sentences(body, limit=ITEM_CHARS))
    if len(items) > LIST_ITEMS:
        kept.append("- …")
    return "\n".join(kept)


def select(notebook: nbformat.NotebookNode) -> list[Section]:
    """Apply the module's rule: the sections in order with their kept text, equations and figures."""
    sections: list[Section] = []
    skipping = False
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for block in blocks(cell.source):
                heading = HEADING.match(block)
                if heading:
                    title = heading.group(2)
                    skipping = bool(SKIPPED_SECTIONS.match(title))
                    if not skipping:
                        sections.append(Section(len(heading.group(1)), title))
                    continue
                if skipping or not sections:
                    continue
                section = sections[-1]
                section.items += [("math", latex.strip()) for latex in DISPLAY_MATH.findall(block)]
                rest = DISPLAY_MATH.sub("", block).strip()
                if section.text is None and rest.strip(",.;:"):  # not just the punctuation after an equation
                    section.text = shorten(rest)
        elif cell.cell_type == "code" and sections and not skipping:
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    sections[-1].items.append(("figure", output))
    return [  # a heading with nothing kept under it (e.g. only a table) is dropped, unless subsections follow
        section
        for section, after in zip(sections, [*sections[1:], None])
        if section.text or section.items or (after is not None and after.level > section.level)
    ]


def slide_cells(sections: list[Section]) -> list[nbformat.NotebookNode]:
    """One markdown or output-only code cell per slide, each marked as a new reveal.js slide."""
    cells = []

    def add(cell: nbformat.NotebookNode) -> None:
        cell.metadata["slideshow"] = {"slide_type": "slide"}
        cells.append(cell)

    for section in sections:
        text = f"{'#' * section.level} {section.title}" + (f"\n\n{section.text}" if section.text else "")
        add(nbformat.v4.new_markdown_cell(text))
        equations: list[str] = []
        for kind, item in [*section.items, ("end", None)]:
            if equations and (kind != "math" or len(equations) == EQUATIONS_PER_SLIDE):
                body = "\n\n".join(f"$${latex}$$" for latex in equations)
                add(nbformat.v4.new_markdown_cell(f"### {section.title}\n\n{body}"))
                equations = []
            if kind == "math":
                equations.append(item)
            elif kind == "figure":
                add(nbformat.v4.new_markdown_cell(f"### {section.title}"))
                figure = nbformat.v4.new_code_cell("")
                figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": item["data"]["image/png"]})]
                figure.metadata["slideshow"] = {"slide_type": "-"}  # same slide as its title
                cells.append(figure)
    return cells


def slides_notebook(path: Path) -> nbformat.NotebookNode:
    """The deck of one executed chapter as a notebook of slide cells (the chapter itself is not changed)."""
    notebook = nbformat.read(path, as_version=4)
    deck = nbformat.v4.new_notebook(metadata=notebook.metadata)
    deck.cells = slide_cells(select(notebook))
    return deck


def copy_assets(output: Path) -> None:
    """reveal.js and MathJax from their pip packages into ``output/_static`` (the decks' only scripts)."""
    static = output / "_static"
    if static.exists():
        shutil.rmtree(static)
    reveal = Path(find_spec("sphinx_revealjs").origin).parent / "_static" / "revealjs"
    shutil.copytree(reveal / "dist", static / "revealjs" / "dist", ignore=shutil.ignore_patterns("*.map"))
    shutil.copy(reveal / "LICENSE", static / "revealjs" / "LICENSE")
    shutil.copy(ROOT / "book" / "favicon.png", static / "favicon.png")  # else the browser logs a 404 for /favicon.ico
    mathjax = Path(find_spec("sphinx-mathjax-offline").origin).parent / "static" / "mathjax"
    (static / "mathjax" / "input" / "tex").mkdir(parents=True)
    shutil.copy(mathjax / "tex-svg.js", static / "mathjax" / "tex-svg.js")
    for folder in ("input/tex/extensions", "ui"):  # loaded on demand (macros of other packages, the menu)
        shutil.copytree(mathjax / folder, static / "mathjax" / folder)


def exporter():
    from nbconvert import SlidesExporter

    slides = SlidesExporter(
        extra_loaders=[jinja2.DictLoader({"ood_slides.html.j2": TEMPLATE})],
        template_file="ood_slides.html.j2",
        reveal_url_prefix="_static/revealjs",
        reveal_theme="white",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    return slides


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else ROOT / "build" / "slides"
    output.mkdir(parents=True, exist_ok=True)
    for stale in output.glob("*.slides.html"):  # a renamed chapter leaves no old deck behind
        stale.unlink()
    copy_assets(output)
    export = exporter()
    for path in chapter_notebooks():
        deck = slides_notebook(path)
        html, _ = export.from_notebook_node(deck, resources={"metadata": {"name": path.stem}})
        target = output / f"{path.stem}.slides.html"
        target.write_text(html)
        count = sum(cell.metadata["slideshow"]["slide_type"] == "slide" for cell in deck.cells)
        print(f"{target.name}: {count} slides")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
