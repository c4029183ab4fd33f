# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format check migrate demo worker bench clean browser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

node_modules/.installed: package.json
	@if command -v npm >/dev/null 2>&1; then npm install --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: accessibility checks in browser tests will report it"; fi

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo --if-empty

# Links in e-mails and printed below start with this address unless SITE_URL is set.
RUN_URL := http://$(HOST):$(PORT)

run: demo
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules >/dev/null 2>&1 || true
	@echo ""
	@echo "  Delphi is running at $(RUN_URL)/"
	@echo "  Sign in as researcher / delphi-demo (the demo study's researcher)"
	@echo "        or analyst / delphi-demo (read-only: results and exports)"
	@echo "  Admin: $(RUN_URL)/admin/ as admin / delphi-admin"
	@DELPHI_RUN_URL=$(RUN_URL) $(PY) manage.py demo_link || true
	@echo ""
	DELPHI_RUN_URL=$(RUN_URL) $(PY) manage.py runserver $(HOST):$(PORT)

# The browser tests use Debian's chromium, else Playwright's own (downloaded once, if it can be).
browser: $(VENV)/.installed-dev
	@if [ ! -x /usr/bin/chromium ] && ! $(PY) -c "import pathlib, playwright.sync_api as p; \
	  s = p.sync_playwright().start(); ok = pathlib.Path(s.chromium.executable_path).exists(); \
	  s.stop(); raise SystemExit(0 if ok else 1)" 2>/dev/null; then \
	  echo "No /usr/bin/chromium: trying playwright install chromium"; \
	  $(VENV)/bin/playwright install chromium || echo "Could not download chromium: the browser tests will be reported as not run"; \
	fi

test: $(VENV)/.installed-dev node_modules/.installed browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

worker: $(VENV)/.installed
	$(VENV)/bin/celery -A delphi worker --loglevel=INFO --concurrency=2

clean:
	rm -rf $(VENV) node_modules db.sqlite3 staticfiles .pytest_cache
