# Every target builds what it needs from nothing: a virtual environment in .venv (or $VENV),
# Debian packages where a target needs them, and a running PostgreSQL for the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DB ?= sqlite:///sweeptrack.db
export TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: demo test lint typecheck layers pytest postgres chromium bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Tracks three plain runs, then runs the quickstart sweep (16 trials, 2 at a time, median pruning),
# which ends with the sweep's leaderboard, and writes its HTML report beside a SQLite database
# (in the working directory for another database).
DEMO_REPORT = $(if $(filter sqlite:///%,$(DB)),$(dir $(patsubst sqlite:///%,%,$(DB))),)quickstart-report.html
demo: $(STAMP)
	$(PY) examples/track_digits.py --db $(DB)
	$(VENV)/bin/sweeptrack --db $(DB) runs list --experiment digits --filter "tags.model = 'sgd'"
	$(VENV)/bin/sweeptrack --db $(DB) sweep run sweeps/quickstart.yaml
	$(VENV)/bin/sweeptrack --db $(DB) report quickstart --out $(DEMO_REPORT)

# PostgreSQL for the postgres-marked tests: started if it is installed and down, installed if absent.
postgres:
	@command -v pg_ctlcluster >/dev/null || (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

# Headless Chromium and its driver for the browser-marked tests (Debian's, so Selenium downloads nothing).
chromium:
	@command -v chromedriver >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(VENV)/bin/mypy

layers: $(STAMP)
	$(VENV)/bin/lint-imports

pytest: $(STAMP) postgres chromium
	$(VENV)/bin/pytest

test: lint typecheck layers pytest

bench: $(STAMP)
	$(PY) benchmarks/bench_tracking.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
