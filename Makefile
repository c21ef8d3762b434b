# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-browser lint format eval bench fuzz clean

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
	$(MAKE) test-browser

# The web app in a real headless Chromium (Debian's chromium + chromium-driver);
# screenshots land in test-artifacts/screenshots/.  Fails, never skips, without a browser.
test-browser: $(STAMP)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y chromium chromium-driver || \
	     (apt-get update && apt-get install -y chromium chromium-driver)); \
	  else \
	    echo "test-browser needs Debian's chromium and chromium-driver:" \
	         "run 'sudo apt-get install -y chromium chromium-driver' and retry" >&2; exit 1; \
	  fi; \
	fi
	NEWSLOOM_REQUIRE_BROWSER=1 $(BIN)/python -m pytest tests/browser

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
	$(BIN)/python eval/checks.py
	$(BIN)/python eval/summaries.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/growth.py
	$(BIN)/python bench/web.py

# A million generated and mutated inputs through every parser (fuzz/run.py);
# findings land in fuzz/out/.  Fewer: make fuzz FUZZ_ARGS="--count 50000".
fuzz: $(STAMP)
	$(BIN)/python fuzz/run.py $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
