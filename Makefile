# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-postgres postgresql-server test-spark test-browser lint format eval bench fuzz reliability reliability-postgres clean

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
	$(MAKE) test-postgres
	$(MAKE) test-spark
	$(MAKE) test-browser

# The Store contract suite and the concurrent-ingest tests on a real PostgreSQL
# server: Debian's postgresql is installed when missing (as root), and the tests
# start a throwaway server on loopback (initdb in a temporary directory) and stop it.
test-postgres: $(STAMP) postgresql-server
	NEWSLOOM_REQUIRE_POSTGRES=1 $(BIN)/python -m pytest tests/postgres

# Debian's PostgreSQL server binaries, installed when missing (as root).
postgresql-server:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y postgresql || (apt-get update && apt-get install -y postgresql)); \
	  else \
	    echo "PostgreSQL's server is needed here: Debian's postgresql package." \
	         "Run 'sudo apt-get install -y postgresql' and retry" >&2; exit 1; \
	  fi; \
	fi

# `newsloom batch` on Spark local[*] (pyspark from PyPI, Java 17+ from Debian when missing).
test-spark: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@if ! command -v java >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y openjdk-17-jre-headless || \
	     (apt-get update && apt-get install -y openjdk-17-jre-headless)); \
	  else \
	    echo "test-spark needs Java 17+: run 'sudo apt-get install -y openjdk-17-jre-headless'" >&2; exit 1; \
	  fi; \
	fi
	NEWSLOOM_REQUIRE_SPARK=1 $(BIN)/python -m pytest tests/spark

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
	$(BIN)/ruff check src tests eval bench reliability fuzz
	$(BIN)/ruff format --check src tests eval bench reliability fuzz

format: $(STAMP)
	$(BIN)/ruff format src tests eval bench reliability fuzz
	$(BIN)/ruff check --fix src tests eval bench reliability fuzz

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
	$(BIN)/python bench/load.py
	$(BIN)/python bench/postgres.py
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,spark]'
	$(BIN)/python bench/spark.py

# A million generated and mutated inputs through every parser (fuzz/run.py);
# findings land in fuzz/out/.  Fewer: make fuzz FUZZ_ARGS="--count 50000".
fuzz: $(STAMP)
	$(BIN)/python fuzz/run.py $(FUZZ_ARGS)

# SIGKILL `newsloom ingest` at 20 seeded random moments over 5,000 pages, resume
# each time, and compare the store with an uninterrupted run (reliability/crash.py).
# Shorter: make reliability RELIABILITY_ARGS="--pages 1000 --kills 5".
reliability: $(STAMP)
	$(BIN)/python reliability/crash.py --pages 5000 --kills 20 $(RELIABILITY_ARGS)

# The same with the uninterrupted run and the killed store both on a throwaway
# PostgreSQL server (amcheck on every btree index after each kill).
reliability-postgres: $(STAMP) postgresql-server
	$(BIN)/python reliability/crash.py --pages 5000 --kills 20 --postgres $(RELIABILITY_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
