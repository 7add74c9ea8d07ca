"""nbval policy: compare text outputs of `# NBVAL_CHECK_OUTPUT` cells only; never stderr or figures.

Progress bars and warnings go to stderr and vary between machines; figures are checked by eye.
"""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("text/html", "application/javascript", "stderr", "image/png")
