"""nbval policy (the fast `smoke` loop, `make test-fast`): every chapter runs; no output is compared.

The committed notebooks hold `quick` outputs, which tiny `smoke` models need not reproduce, so in
smoke nbval only checks that every cell executes (a contradicted finding is reported on its line by
``ood_lib.book.findings``, not raised). The outputs themselves are compared in `quick` by
``book/test_quick_book.py`` (`make book-check`, part of `make test`).
"""

# Output keys nbval would compare; none of them is meaningful across profiles.
NOT_COMPARED_ACROSS_PROFILES = ("stdout", "stderr", "text", "data", "text/plain", "text/html", "image/png")


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += NOT_COMPARED_ACROSS_PROFILES
