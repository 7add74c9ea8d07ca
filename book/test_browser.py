"""The built book in a real browser (Debian's headless Chromium through Selenium and the system chromedriver).

For every chapter page: it loads without console errors, every image has loaded, MathJax has
typeset the equations and no raw ``$$`` is left, "next" leads to the following chapter, and every
exercise hint starts collapsed and opens on a click; the seminar guide is a page. In a build with the worked solutions
(``make book SOLUTIONS=1``; ``make book-test-solutions`` builds ``build/book_solutions`` and runs the
solution tests here), every solution page loads the same way; without them those tests are skipped.
Run by ``make book-test`` (part of ``make test``) after ``make book``; saves a screenshot of one
chapter page as ``build/book_screenshot.png``.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parent.parent
BOOK = Path(os.environ.get("OOD_BOOK_DIR", ROOT / "build" / "book"))
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHAPTERS = sorted(path.name for path in (BOOK / "chapters").glob("[0-9][0-9]_*.html"))
SOLUTION_PAGES = sorted(path.name for path in (BOOK / "solutions").glob("[0-9][0-9]_*.html"))
NO_SOLUTIONS = "the book was built without solutions (make book SOLUTIONS=1, or make book-test-solutions)"


def serve(directory: Path) -> Iterator[str]:
    """``directory`` served over HTTP on localhost until the generator is closed; yields its address."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *args: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The built book served over HTTP on localhost (as a reader's web server would)."""
    if not (BOOK / "index.html").exists():
        pytest.fail(f"No built book at {BOOK}: run `make book` first.")
    yield from serve(BOOK)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium is not installed: `apt-get install -y chromium chromium-driver` (.ci/run does this).")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def open_page(browser: webdriver.Chrome, url: str) -> None:
    """Load ``url`` and wait until MathJax has finished typesetting."""
    browser.get(url)
    browser.set_script_timeout(60)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (!document.querySelector('script[src*=mathjax]')) { done(false); return; }"
        "const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)"
        "  ? MathJax.startup.promise.then(() => done(true)) : setTimeout(wait, 100);"
        "wait();"
    )


def assert_page_renders(browser: webdriver.Chrome, url: str, name: str, need_images: bool) -> None:
    """Open ``url``: no console errors, every image loaded (at least one if ``need_images``), all maths typeset."""
    browser.get_log("browser")  # drop messages of earlier pages
    open_page(browser, url)
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], f"console errors on {name}"
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]);"
    )
    assert (images or not need_images) and all(loaded for _, loaded in images), f"images not loaded on {name}: {images}"
    math_blocks = browser.execute_script("return document.querySelectorAll('.math').length;")
    typeset = browser.execute_script("return document.querySelectorAll('mjx-container').length;")
    assert typeset >= math_blocks, f"{name}: {math_blocks} math elements, {typeset} typeset by MathJax"


def test_the_book_has_every_chapter() -> None:
    sources = sorted(path.stem for path in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    assert [Path(name).stem for name in CHAPTERS] == sources


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_page_renders(page: str, site: str, browser: webdriver.Chrome) -> None:
    assert_page_renders(browser, f"{site}/chapters/{page}", page, need_images=True)
    assert "$$" not in browser.execute_script("return document.body.innerText;"), f"raw $$ left on {page}"
    index = CHAPTERS.index(page)
    if index + 1 < len(CHAPTERS):
        browser.find_element("css selector", "a.right-next").click()
        assert browser.current_url.endswith(f"/chapters/{CHAPTERS[index + 1]}")
    if page.startswith("06"):
        browser.get(f"{site}/chapters/{page}")
        browser.save_screenshot(str(ROOT / "build" / "book_screenshot.png"))


def hints_in_source(page: str) -> int:
    notebook = nbformat.read(ROOT / "chapters" / Path(page).with_suffix(".ipynb"), as_version=4)
    return sum(cell.source.count("*Hint:") for cell in notebook.cells if cell.cell_type == "markdown")


@pytest.mark.parametrize("page", CHAPTERS)
def test_hints_start_hidden_and_open_on_click(page: str, site: str, browser: webdriver.Chrome) -> None:
    browser.get(f"{site}/chapters/{page}")
    dropdowns = browser.find_elements("css selector", "details.sd-dropdown")
    assert len(dropdowns) == hints_in_source(page), f"{page}: every *Hint: ...* should be one collapsed dropdown"
    for dropdown in dropdowns:
        body = dropdown.find_element("css selector", ".sd-summary-content")
        assert dropdown.get_attribute("open") is None and not body.is_displayed(), f"{page}: a hint is visible"
    if dropdowns:
        summary = dropdowns[0].find_element("css selector", "summary")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
        summary.click()
        assert dropdowns[0].find_element("css selector", ".sd-summary-content").is_displayed()


def test_landing_page_links_every_chapter(site: str, browser: webdriver.Chrome) -> None:
    open_page(browser, f"{site}/index.html")
    links = browser.execute_script("return Array.from(document.querySelectorAll('a')).map(a => a.href);")
    for page in CHAPTERS:
        assert any(link.endswith(f"chapters/{page}") for link in links), page


def test_solutions_build_has_every_solution() -> None:
    if not SOLUTION_PAGES:
        pytest.skip(NO_SOLUTIONS)
    sources = sorted(path.stem for path in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    assert [Path(name).stem for name in SOLUTION_PAGES] == sources


@pytest.mark.parametrize("page", SOLUTION_PAGES or [pytest.param("none", marks=pytest.mark.skip(reason=NO_SOLUTIONS))])
def test_solution_page_renders(page: str, site: str, browser: webdriver.Chrome) -> None:
    assert_page_renders(browser, f"{site}/solutions/{page}", f"solutions/{page}", need_images=False)
    assert "finding:" in browser.execute_script("return document.body.innerText;"), f"no pinned finding on {page}"
    open_page(browser, f"{site}/index.html")
    links = browser.execute_script("return Array.from(document.querySelectorAll('a')).map(a => a.href);")
    assert any(link.endswith(f"solutions/{page}") for link in links), f"the landing page does not link {page}"


def test_seminar_guide_is_a_page(site: str, browser: webdriver.Chrome) -> None:
    browser.get_log("browser")
    open_page(browser, f"{site}/seminar.html")
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], "console errors on the seminar guide"
    assert "Seminar guide" in browser.execute_script("return document.body.innerText;")
    open_page(browser, f"{site}/index.html")
    links = browser.execute_script("return Array.from(document.querySelectorAll('a')).map(a => a.href);")
    assert any(link.endswith("seminar.html") for link in links), "the landing page does not link the seminar guide"


SLIDES = ROOT / "build" / "slides"
SLIDE_DECKS = sorted(path.name for path in SLIDES.glob("[0-9][0-9]_*.slides.html"))
NO_SLIDES = "no slide decks in build/slides: run `make slides` (or `make slides-test`) first"
# Two decks with display equations and figures: the bits-per-dimension chapter and the decomposition.
TESTED_DECKS = [name for name in SLIDE_DECKS if name.startswith(("01_", "05_"))]


@pytest.fixture(scope="module")
def slides_site() -> Iterator[str]:
    """build/slides served over HTTP on localhost, as the book is."""
    if not SLIDE_DECKS:
        pytest.skip(NO_SLIDES)
    yield from serve(SLIDES)


def test_slides_exist_for_every_chapter() -> None:
    if not SLIDE_DECKS:
        pytest.skip(NO_SLIDES)
    sources = sorted(path.stem for path in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    assert [name.removesuffix(".slides.html") for name in SLIDE_DECKS] == sources


@pytest.mark.parametrize("deck", TESTED_DECKS or [pytest.param("none", marks=pytest.mark.skip(reason=NO_SLIDES))])
def test_slide_deck_opens(deck: str, slides_site: str, browser: webdriver.Chrome) -> None:
    """reveal.js initialised with more than 5 slides, figures loaded, maths typeset, nothing fetched from elsewhere,
    no code shown and nothing running off a slide."""
    browser.get_log("browser")
    open_page(browser, f"{slides_site}/{deck}")
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], f"console errors in {deck}"
    assert browser.execute_script("return typeof Reveal !== 'undefined' && Reveal.isReady();"), f"{deck}: no reveal.js"
    slides = browser.execute_script("return Reveal.getTotalSlides();")
    assert slides > 5, f"{deck}: {slides} slides"
    images = browser.execute_script(
        "return Array.from(document.querySelectorAll('.slides img')).map(i => i.complete && i.naturalWidth > 0);"
    )
    assert images and all(images), f"{deck}: figures {images}"
    typeset = browser.execute_script("return document.querySelectorAll('mjx-container').length;")
    assert typeset > 0 and "$$" not in browser.execute_script("return document.body.textContent;"), deck
    assert browser.execute_script("return document.querySelectorAll('mjx-merror').length;") == 0, f"{deck}: TeX error"
    assert browser.execute_script("return document.querySelectorAll('.jp-CodeCell .jp-InputArea').length;") == 0
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(r => r.name);")
    assert fetched and all(url.startswith(slides_site) for url in fetched), f"{deck} fetched from elsewhere: {fetched}"
    overflowing = browser.execute_script(
        "const bottom = document.querySelector('.reveal .slides').getBoundingClientRect().bottom;"
        "return Reveal.getSlides().map((slide, i) => { Reveal.slide(i); let low = 0;"
        "  slide.querySelectorAll('h1, h2, h3, p, li, img, mjx-container').forEach("
        "    e => { low = Math.max(low, e.getBoundingClientRect().bottom); });"
        "  return low > bottom + 1 ? i : -1; }).filter(i => i >= 0);"
    )
    assert overflowing == [], f"{deck}: content runs off slides {overflowing}"
    browser.execute_script("Reveal.slide(0); Reveal.next();")
    assert browser.execute_script("return Reveal.getIndices().h;") == 1, f"{deck}: 'next' does not move"
    if deck.startswith("05_"):
        browser.execute_script("Reveal.slide(3);")
        browser.save_screenshot(str(ROOT / "build" / "slides_screenshot.png"))
