# The newcomer's path: `make run` serves the hub with demo data, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: install install-dev browser run test lint migrate demo worker files-worker clean

# `install`: the runtime (requirements.txt), enough to serve and to run workers; `install-dev` adds the
# test and lint tools (requirements-dev.txt) for `make test` and `make lint`.
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo_setup --address $(HOST):$(PORT)

# HOST and PORT come from the environment or the command line (`PORT=8001 make run`); the address
# printed by demo_setup is the one runserver listens on.
run: demo
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

# Workers, for a hub with REDIS_URL (tasks are not run eagerly then): light tasks (caches, audit
# checkpoints, the pipeline sweep) and file processing each on a queue of their own; README's production
# start also runs `celery -A openmodelhub beat`.
worker: install
	$(VENV)/bin/celery -A openmodelhub worker -Q celery -n light@%h -l info

files-worker: install
	$(VENV)/bin/celery -A openmodelhub worker -Q $${OMH_FILES_QUEUE:-files} -n files@%h -l info

# The browser tests drive Debian's Chromium (no browser download): install it when it is missing and
# apt is usable (root, or password-less sudo); otherwise those tests skip and say why.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then SUDO=; \
	  elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "make: $(CHROMIUM) is missing and apt-get is not usable: the browser tests will skip"; exit 0; fi; \
	  echo "make: installing Chromium for the browser tests"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; \
	fi

# The suite runs on TEST_WORKERS pytest-xdist workers (auto: one per core; TEST_WORKERS=0 runs it in this
# process); each worker has its own test database, var/ and cache keys (openmodelhub/tests/parallel.py).
# --dist load (not worksteal): each worker receives tests in collection order, where pytest-django puts
# the transactional tests (whose flush empties the rows the migrations seed) after the others; worksteal
# hands a worker the other's queue from its end, transactional tests first, and the tests after them fail.
TEST_WORKERS ?= auto

test: install-dev browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist load $(PYTEST_ARGS)

# ruff with pyproject.toml's settings: lint rules, then the formatter in check mode (nothing is rewritten).
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) var
