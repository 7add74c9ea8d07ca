"""The slide-selection rule of scripts/build_slides.py on a tiny notebook whose slides are known."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import build_slides  # noqa: E402

PNG = base64.b64encode(b"\x89PNG fake image bytes").decode()
LONG = " ".join(f"Sentence {i} says something about the model and its $x_{i}$." for i in range(20))


def tiny_notebook() -> nbformat.NotebookNode:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    figure = code("plt.plot(x)")
    figure.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a printed number 0.123\n"),
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
    ]
    hidden = code("plt.imshow(answer)")
    hidden.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG})]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        md(f"# 09 · A tiny chapter\n\n{LONG}\n\n1. a list under the intro, dropped"),
        code("import numpy"),
        md(
            "## 1. First section\n\nThe density\n\n$$p(x) = \\frac{1}{Z} e^{-E(x)},$$\n\n"
            "a later paragraph, dropped.\n\n<!-- quoted: 1.23 -->\n\nAnother $$a = b$$ inline display."
        ),
        figure,
        md("| a | b |\n|---|---|\n| 1 | 2 |\n\nThe text after a table.\n\n### A subsection\n\nShort."),
        md("## Summary\n\n" + "\n".join(f"- Item {i} first. Then a second{' long' * 50} sentence." for i in range(7))),
        md("## Exercises\n\n1. Compute it. *Hint: the answer is 4.*\n\n$$y = 4$$"),
        hidden,
        md("## 2. After the exercises\n\nKept again.\n\n## Scope\n\n| only | a table |\n|---|---|"),
        md("## 3. A part\n\n### 3.1 Its subsection\n\nText."),
    ]
    return notebook


def test_sections_keep_headings_first_blocks_equations_and_figures() -> None:
    sections = build_slides.select(tiny_notebook())
    assert [(s.level, s.title) for s in sections] == [
        (1, "09 · A tiny chapter"),
        (2, "1. First section"),
        (3, "A subsection"),
        (2, "Summary"),
        (2, "2. After the exercises"),
        (2, "3. A part"),
        (3, "3.1 Its subsection"),
    ]  # dropped: Exercises (with its equation and figure) and the table-only Scope; kept: the empty parent "3. A part"
    intro, first, subsection, summary, after, _, _ = sections
    assert intro.text.endswith(" …") and len(intro.text) <= build_slides.PARAGRAPH_CHARS + 2
    assert intro.text.startswith("Sentence 0 says") and intro.text[-3] == "."  # cut at a sentence end
    assert first.text == "The density"  # the first block; later paragraphs and comments dropped
    kinds = [kind for kind, _ in first.items]
    assert kinds == ["math", "math", "figure"]
    assert first.items[0][1] == "p(x) = \\frac{1}{Z} e^{-E(x)},"
    assert first.items[2][1]["data"]["image/png"] == PNG  # the image, not the stream output
    assert subsection.text == "Short." and subsection.items == []
    assert after.text == "Kept again."
    lines = summary.text.split("\n")
    assert lines[:5] == [f"- Item {i} first. …" for i in range(5)] and lines[5] == "- …"


def test_a_table_is_not_a_first_block() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("## Scope\n\n| a |\n|---|\n| 1 |\n\nThe text after it.")]
    assert build_slides.select(notebook)[0].text == "The text after it."


def test_first_sentences_respects_maths_code_and_emphasis() -> None:
    text = "A ratio $p. Q$ and `f. G` here. Next sentence is long enough to be cut."
    assert build_slides.first_sentences(text, limit=40) == "A ratio $p. Q$ and `f. G` here. …"
    assert build_slides.first_sentences("Short one. Two.", limit=40) == "Short one. Two."
    cut = build_slides.first_sentences("A **very long bold claim that runs on** and on.", limit=20)
    assert cut == "A **very long bold** …"
    cut = build_slides.first_sentences("One $x + y + z + w$ more words here.", limit=12)
    assert cut == "One …"  # never inside the maths
    closing = "It holds (see *Figure 2*.) Then more words follow, beyond the limit of this text."
    assert build_slides.first_sentences(closing, limit=30) == "It holds (see *Figure 2*.) …"


def test_slides_hide_code_and_mark_every_slide() -> None:
    cells = build_slides.slide_cells(build_slides.select(tiny_notebook()))
    slides = [cell for cell in cells if cell.metadata["slideshow"]["slide_type"] == "slide"]
    # 7 headings, 1 equation slide (two equations) and 1 figure slide
    assert len(slides) == 9
    equations = [cell.source for cell in cells if "$$" in cell.source]
    assert equations == ["### 1. First section\n\n$$p(x) = \\frac{1}{Z} e^{-E(x)},$$\n\n$$a = b$$"]
    figures = [cell for cell in cells if cell.cell_type == "code"]
    assert len(figures) == 1 and figures[0].source == "" and list(figures[0].outputs[0].data) == ["image/png"]
    assert figures[0].metadata["slideshow"]["slide_type"] == "-"  # on the slide of its title


def test_the_deck_loads_nothing_from_the_network() -> None:
    deck = nbformat.v4.new_notebook()
    deck.cells = build_slides.slide_cells(build_slides.select(tiny_notebook()))
    html, _ = build_slides.exporter().from_notebook_node(deck, resources={"metadata": {"name": "09_tiny"}})
    assert "Reveal.initialize" in html and '<script src="_static/revealjs/dist/reveal.js">' in html
    assert '<script src="_static/mathjax/tex-svg.js">' in html
    assert "plt.plot" not in html and "0.123" not in html  # code and text outputs hidden
    for tag in ('src="http', "src='http", 'href="http', "import mermaid", "require("):
        assert tag not in html, tag
