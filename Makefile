# Two commands matter: `make chapters` (execute the book) and `make test` (all tests).
# Both create .venv and install the project on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Without an NVIDIA GPU, pin the CPU build of torch (see constraints-cpu.txt); with one, pip picks torch freely.
TORCH_CONSTRAINT ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,-c constraints-cpu.txt)
CHAPTERS ?=

.PHONY: install chapters test lint format unit-test notebook-test data lab clean-models train pack-models unpack-models book book-test

install: $(STAMP)

$(STAMP): pyproject.toml constraints-cpu.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_CONSTRAINT) -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ood-textbook)" >/dev/null
	touch $(STAMP)

chapters: $(STAMP)
	$(PY) scripts/execute_chapters.py $(CHAPTERS)

# make train MODEL=glow DATA=cifar10 [PROFILE=full] [SEED=0]: one zoo model, as the chapters would train it
# (other variants: python -m ood_lib.train_model --help).
train: $(STAMP)
	$(PY) -m ood_lib.train_model $(MODEL) $(DATA) $(if $(PROFILE),--profile $(PROFILE)) --seed $(or $(SEED),0)

# make pack-models [PROFILE=quick] [ARCHIVE=models-quick.tar]: the profile's trained models in one archive to hand out.
pack-models: $(STAMP)
	$(PY) -m ood_lib.model_archive pack --profile $(or $(PROFILE),quick) -o $(or $(ARCHIVE),models-$(or $(PROFILE),quick).tar)

# make unpack-models ARCHIVE=models-quick.tar: verify an archive, then place its models in the zoo.
unpack-models: $(STAMP)
	$(PY) -m ood_lib.model_archive unpack $(ARCHIVE)

test: lint unit-test notebook-test book-test

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
	OOD_PROFILE=smoke $(PY) -m pytest --nbval-lax --nbval-sanitize-with chapters/sanitize.cfg chapters/

# The book as a static website from the committed notebooks (never re-executed): build/book/index.html.
book: $(STAMP)
	$(PY) scripts/build_book.py build/book

# Every chapter page in headless Chromium: loads, images, MathJax, navigation (needs chromium + chromium-driver).
book-test: book
	$(PY) -m pytest -q book/test_browser.py

data: $(STAMP)
	$(PY) -m ood_lib.data

lab: $(STAMP)
	$(PY) -m pip install --quiet $(TORCH_CONSTRAINT) -e ".[dev,notebook]"
	$(VENV)/bin/jupyter lab chapters/

clean-models:
	rm -rf data/models/smoke
