# Two commands for a fresh Debian 12 machine with Python 3.11:
#   make run   - set up, create the SQLite database, migrate, seed and serve on 127.0.0.1:5000
#   make test  - set up with test tools, start PostgreSQL if present, run ruff and the tests
#                (CI=true: PostgreSQL is required, its absence fails the run)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RELIEF := $(VENV)/bin/relief
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: setup setup-test run test lint bench translations

$(PY):
	python3 -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv $(VENV); }
	$(PIP) install --quiet --upgrade pip

setup: $(PY)
	./scripts/ensure-system-packages
	$(PIP) install --quiet -e .

setup-test: $(PY)
	./scripts/ensure-system-packages --test
	./scripts/ensure-browser
	$(PIP) install --quiet -e '.[test]'
	./scripts/ensure-postgres

run: setup
	$(RELIEF) init-db
	$(RELIEF) seed --if-empty
	$(RELIEF) serve

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every database test runs on SQLite and PostgreSQL. Without PostgreSQL its cases are
# reported as skipped; with CI=true (.ci/run) a missing PostgreSQL fails the run instead.
# pytest-xdist runs one worker per core, each test module on one worker (its seeded
# fixtures are built once); every worker has its own SQLite files and PostgreSQL schemas.
test: setup-test lint
	@url=$$(./scripts/ensure-postgres --print-url $(PG_URL)); \
	if [ -z "$$url" ] && [ "$$CI" = "true" ]; then \
	  echo "CI=true: PostgreSQL is required on 127.0.0.1:5432 and is not answering" >&2; exit 1; \
	fi; \
	RELIEF_TEST_PG_URL=$$url $(VENV)/bin/pytest -q -n auto --dist loadfile --durations=15

bench: setup-test
	$(PY) -m bench

# The back office's English catalogue: relief_inventory/translations/en/LC_MESSAGES/messages.po
# is edited by hand (message ids are the Chinese texts); its compiled messages.mo is
# committed, so nothing is compiled at install or start. build/messages.pot lists what the
# code marks for translation (tests/test_backoffice.py fails on any string missing).
translations: setup-test
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l --no-location --omit-header -o build/messages.pot .
	$(VENV)/bin/pybabel compile -d relief_inventory/translations -D messages --statistics
