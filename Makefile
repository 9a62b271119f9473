# Every target builds what it needs from nothing: a virtual environment in .venv (or $VENV),
# Debian packages where a target needs them, and a running PostgreSQL for the tests.
# The demo installs what it runs (sweeptrack, scikit-learn, the dashboard); the test targets add the
# dev tools (pytest, ruff, mypy, torch, Lightning, transformers, Keras, Ray, Selenium) on top of the same environment.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(PY) -m pip install -qq --disable-pip-version-check
DB ?= sqlite:///sweeptrack.db
export TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# The browser tests leave their screenshots here (test-output/dashboard/*.png), kept after the run.
export SWEEPTRACK_TEST_OUTPUT ?= $(CURDIR)/test-output

.PHONY: demo test lint typecheck layers pytest postgres chromium bench bench-ui clean

$(DEMO_STAMP): pyproject.toml
	@echo "installing sweeptrack, scikit-learn and the dashboard's packages into $(VENV) ..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) -e '.[examples,ui]'
	@touch $@

$(DEV_STAMP): $(DEMO_STAMP)
	@echo "adding the dev tools (pytest, ruff, mypy, torch, the framework integrations, ray, selenium) to $(VENV) ..."
	@$(PIP) -e '.[dev]'
	@touch $@

# Tracks three plain runs, then runs the quickstart sweep (16 trials, 2 at a time, median pruning),
# which ends with the sweep's leaderboard, and writes its HTML report beside a SQLite database
# (in the working directory for another database).
DEMO_REPORT = $(if $(filter sqlite:///%,$(DB)),$(dir $(patsubst sqlite:///%,%,$(DB))),)quickstart-report.html
demo: $(DEMO_STAMP)
	@echo "tracking three runs of examples/track_digits.py in $(DB) ..."
	@$(PY) examples/track_digits.py --db $(DB)
	@echo "listing the sgd runs of experiment digits ..."
	@$(VENV)/bin/sweeptrack --db $(DB) runs list --experiment digits --filter "tags.model = 'sgd'"
	@echo "running the sweep sweeps/quickstart.yaml (16 trials) ..."
	@$(VENV)/bin/sweeptrack --db $(DB) sweep run sweeps/quickstart.yaml
	@echo "writing the sweep's HTML report ..."
	@$(VENV)/bin/sweeptrack --db $(DB) report quickstart --out $(DEMO_REPORT)
	@echo "to browse the runs and the sweep in the dashboard (http://127.0.0.1:8080/):"
	@echo "  $(VENV)/bin/sweeptrack --db $(DB) ui"

# PostgreSQL for the postgres-marked tests: started if it is installed and down, installed if absent.
postgres:
	@command -v pg_ctlcluster >/dev/null || (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

# Headless Chromium and its driver for the browser-marked tests (Debian's, so Selenium downloads nothing).
chromium:
	@command -v chromedriver >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

layers: $(DEV_STAMP)
	$(VENV)/bin/lint-imports

pytest: $(DEV_STAMP) postgres chromium
	$(VENV)/bin/pytest

test: lint typecheck layers pytest

bench: $(DEV_STAMP)
	$(PY) benchmarks/bench_tracking.py

bench-ui: $(DEV_STAMP) postgres
	$(PY) benchmarks/bench_ui.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache test-output
