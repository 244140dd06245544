# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PORT ?= 8000
# Benchmark size; BENCH_DATABASE_URL defaults to a local PostgreSQL database.
BENCH_CALLS ?= 1000000
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/calllog_bench
# Load test (tests/load/run.py): locust users, how long they are measured after all have
# logged in, gunicorn workers; LOAD_DATABASE_URL defaults to a local PostgreSQL database.
LOAD_USERS ?= 50
LOAD_TIME ?= 2m
LOAD_WORKERS ?= 3
LOAD_SPAWN_RATE ?= 2
LOAD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/calllog_load
# Where `make backup` writes (README, "Backups").
BACKUP_DIR ?= backups

.PHONY: install run test lint format bench load clean backup restore

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# Development server with demo data; DEBUG is on unless you say otherwise.
run: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo --if-empty
	DEBUG=$${DEBUG:-1} $(PY) manage.py tally --if-empty
	DEBUG=$${DEBUG:-1} SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	SECRET_KEY=$${SECRET_KEY:-make-test-only-key} $(PY) manage.py makemigrations --check --dry-run
	SECRET_KEY=$${SECRET_KEY:-make-test-only-key} $(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	DATABASE_URL=$(BENCH_DATABASE_URL) SECRET_KEY=bench-only-key $(PY) tests/bench/run.py --calls $(BENCH_CALLS)

# Many people at once: locust against gunicorn and PostgreSQL with 100,000 calls (README).
load: install
	LOAD_DATABASE_URL=$(LOAD_DATABASE_URL) SECRET_KEY=load-test-only-key $(PY) tests/load/run.py --users $(LOAD_USERS) --run-time $(LOAD_TIME) --workers $(LOAD_WORKERS) --spawn-rate $(LOAD_SPAWN_RATE)

# A backup of the DATABASE_URL database: backups/calllog-YYYYMMDD-HHMMSS.dump (pg_dump -Fc).
backup: install
	$(PY) manage.py backup --dir "$(BACKUP_DIR)"

# Put one back: make restore FILE=backups/calllog-....dump (asks first; YES=1 does not).
restore: install
	@test -n "$(FILE)" || { echo "Which backup? make restore FILE=backups/calllog-....dump" >&2; exit 2; }
	$(PY) manage.py restore "$(FILE)" $(if $(YES),--yes)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache *.egg-info
