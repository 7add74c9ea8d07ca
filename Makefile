# Three commands matter: `make chapters` (execute the book), `make test` (everything CI runs) and
# `make test-fast` (lint, unit tests, every chapter executed in smoke: a few minutes).
# Both create .venv and install the project on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Without an NVIDIA GPU, pin the CPU build of torch (see constraints-cpu.txt); with one, pip picks torch freely.
TORCH_CONSTRAINT ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,-c constraints-cpu.txt)
CHAPTERS ?=

.PHONY: install chapters solutions book-test-solutions test test-fast lint format unit-test notebook-test book-check data lab clean-models train pack-models unpack-models book book-test slides slides-test

install: $(STAMP)

$(STAMP): pyproject.toml constraints-cpu.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_CONSTRAINT) -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ood-textbook)" >/dev/null
	touch $(STAMP)

chapters: $(STAMP)
	$(PY) scripts/execute_chapters.py $(CHAPTERS)

# The exercises' worked solutions (solutions/NN_*.py -> .ipynb), executed like the chapters; CHAPTERS="00" for some.
# One thread unless OMP_NUM_THREADS says otherwise: their short training loops ran far slower on 2 threads of a busy machine.
solutions: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) scripts/execute_chapters.py --solutions $(CHAPTERS)

# make train MODEL=glow DATA=cifar10 [PROFILE=full] [SEED=0]: one zoo model, as the chapters would train it
# (other variants: python -m ood_lib.training.train_model --help).
train: $(STAMP)
	$(PY) -m ood_lib.training.train_model $(MODEL) $(DATA) $(if $(PROFILE),--profile $(PROFILE)) --seed $(or $(SEED),0)

# make pack-models [PROFILE=quick] [ARCHIVE=models-quick.tar]: the profile's trained models in one archive to hand out.
pack-models: $(STAMP)
	$(PY) -m ood_lib.training.model_archive pack --profile $(or $(PROFILE),quick) -o $(or $(ARCHIVE),models-$(or $(PROFILE),quick).tar)

# make unpack-models ARCHIVE=models-quick.tar: verify an archive, then place its models in the zoo.
unpack-models: $(STAMP)
	$(PY) -m ood_lib.training.model_archive unpack $(ARCHIVE)

# The published book: lint, unit tests, every chapter re-executed in quick with the committed checkpoints
# and compared with its committed notebook (findings, checked cells, prose numbers), the website in a browser,
# and two slide decks in a browser (slides-test, about 15 s; before book-test, which runs the slide tests too,
# so that they never see decks older than the chapters).
test: lint unit-test book-check slides-test book-test book-test-solutions

# The fast local loop: lint, unit tests, every chapter executed in smoke (tiny models, no output compared).
test-fast: lint unit-test notebook-test

# One linter and formatter for the whole tree (configured in pyproject.toml); `make format` fixes what it can.
lint: $(STAMP)
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check

format: $(STAMP)
	$(VENV)/bin/ruff format
	$(VENV)/bin/ruff check --fix

unit-test: $(STAMP)
	$(PY) -m pytest tests

notebook-test: $(STAMP)
	OOD_PROFILE=smoke $(PY) -m pytest --nbval-lax chapters/

# Re-execute the committed quick notebooks (never training: OOD_TRAIN=never) and compare; CHAPTERS="04 08" for some.
# Two groups of chapters at once, one thread each: faster on 2 cores than one chapter on two threads,
# and it shows that the checked cells do not depend on the thread count.
book-check: $(STAMP)
	CHAPTERS="$(CHAPTERS)" $(PY) scripts/check_book.py

# The book as a static website from the committed notebooks (never re-executed): build/book/index.html.
# make book SOLUTIONS=1: the exercises' worked solutions too, in a part of their own (publish without them by default).
book: $(STAMP)
	$(PY) scripts/build_book.py $(if $(SOLUTIONS),--solutions) build/book

# Every chapter page in headless Chromium: loads, images, MathJax, navigation (needs chromium + chromium-driver).
# Without Chromium a reader's `make test` ends here with how to install it; under CI (which installs it) it fails.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
book-test: book
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then \
	  $(PY) -m pytest -q book/test_browser.py; \
	elif [ -n "$$CI" ]; then \
	  echo "book-test: Chromium is missing under CI; .ci/run should have installed chromium and chromium-driver." >&2; exit 1; \
	else \
	  echo "book-test: SKIPPED (no $(CHROMIUM)): everything else passed; to run the browser test too:" \
	    "sudo apt-get install chromium chromium-driver (Debian/Ubuntu), then make book-test."; \
	fi

# The solutions build (build/book_solutions) in headless Chromium: every solution page loads (as book-test does).
book-test-solutions: $(STAMP)
	$(PY) scripts/build_book.py --solutions build/book_solutions
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then \
	  OOD_BOOK_DIR=build/book_solutions $(PY) -m pytest -q book/test_browser.py -k solution; \
	elif [ -n "$$CI" ]; then \
	  echo "book-test-solutions: Chromium is missing under CI." >&2; exit 1; \
	else \
	  echo "book-test-solutions: SKIPPED (no $(CHROMIUM)); see book-test."; \
	fi

# Lecture slides (reveal.js, offline) of each chapter's headings, key equations and figures, from the committed
# notebooks (never re-executed): build/slides/NN_name.slides.html. The selection rule: scripts/build_slides.py.
slides: $(STAMP)
	$(PY) scripts/build_slides.py build/slides

# Two decks in headless Chromium: reveal.js starts, more than 5 slides, figures and typeset maths, no console errors.
slides-test: slides
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then \
	  $(PY) -m pytest -q book/test_browser.py -k slide; \
	elif [ -n "$$CI" ]; then \
	  echo "slides-test: Chromium is missing under CI." >&2; exit 1; \
	else \
	  echo "slides-test: SKIPPED (no $(CHROMIUM)); see book-test."; \
	fi

data: $(STAMP)
	$(PY) -m ood_lib.data

lab: $(STAMP)
	$(PY) -m pip install --quiet $(TORCH_CONSTRAINT) -e ".[dev,notebook]"
	$(VENV)/bin/jupyter lab chapters/

clean-models:
	rm -rf data/models/smoke
