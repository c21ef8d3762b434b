# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format eval bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/newsloom demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests eval bench
	$(BIN)/ruff format --check src tests eval bench

format: $(STAMP)
	$(BIN)/ruff format src tests eval bench
	$(BIN)/ruff check --fix src tests eval bench

eval: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,eval]'
	$(BIN)/python eval/extraction.py
	$(BIN)/python eval/stories.py
	$(BIN)/python eval/dedup.py
	$(BIN)/python eval/provenance.py

bench: $(STAMP)
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/growth.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
