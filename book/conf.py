"""Sphinx configuration of the book (``make book``); the sources are assembled by ``scripts/build_book.py``."""

project = "ood-textbook"
author = "the ood-textbook authors"
copyright = "2026, the ood-textbook authors"

extensions = ["myst_nb", "sphinx_design", "sphinx-mathjax-offline"]  # MathJax served from the site: reads offline
nb_execution_mode = "off"  # the committed notebooks are executed in `quick`; never re-run them here
nb_output_stderr = "remove"  # progress bars and warnings go to stderr; the book shows results
myst_enable_extensions = ["dollarmath", "amsmath"]
suppress_warnings = ["mystnb.unknown_mime_type"]
exclude_patterns = ["downloads"]  # the original files offered for download, not pages

html_theme = "sphinx_book_theme"
html_title = "Do deep generative models know what they don't know?"
html_theme_options = {
    "use_download_button": True,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
html_context = {"default_mode": "light"}  # an explicit mode: the theme logs an error when none is stored
html_favicon = "favicon.png"  # otherwise the browser asks for /favicon.ico and logs a 404
html_static_path: list[str] = []
