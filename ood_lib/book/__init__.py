"""Chapter plumbing: what every chapter's cells use besides the science.

- ``chapter``: ``chapter_header`` (the first cell: profile, device, data, seeds) and ``chapter_footer``.
- ``plots``: the book's figure theme and its histograms, image grids and training curves.
- ``findings``: ``finding`` and ``sanity_check``, the pinned claims the book check compares.
"""

from ood_lib.book.chapter import chapter_footer, chapter_header
from ood_lib.book.findings import finding, sanity_check

__all__ = ["chapter_footer", "chapter_header", "finding", "sanity_check"]
