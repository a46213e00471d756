# Kehu CRM. `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help bootstrap run serve test lint format messages bench load faults clean

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

bootstrap: ## venv, packages, PostgreSQL and Redis, database, migrations, catalogues
	@bash scripts/bootstrap.sh

run: bootstrap ## demo data if the database is empty, then web + worker + beat on http://127.0.0.1:8000
	@$(PY) manage.py seed_demo --if-empty
	@bash scripts/run.sh

serve: ## production mode here: kehu.env (secrets made once), migrations, static files, gunicorn + worker + beat, /healthz
	@bash scripts/serve.sh

test: ## bootstrap (with Chromium), the lint, then the whole test suite, browser tests included
	@bash scripts/bootstrap.sh --test
	@$(MAKE) --no-print-directory lint
	@$(VENV)/bin/pytest -n $(PYTEST_WORKERS)

lint: ## ruff check, format check, and the apps' layers (import-linter, .importlinter)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@PYTHONPATH=. $(VENV)/bin/lint-imports --no-cache --no-logo

format: ## ruff fix and format
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

messages: ## refresh both catalogues from the source (then translate what is new in zh_Hans)
	@$(PY) manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore "$(VENV)/*" --ignore "staticfiles/*" --ignore "bench/*"
	@# English is the source language: every msgstr is its msgid (no fuzzy guesses).
	@msgfilter --keep-header --no-wrap -i locale/en/LC_MESSAGES/django.po sed -e d \
		| msgen --no-wrap - | msgattrib --no-wrap --clear-fuzzy --clear-previous \
		-o locale/en/LC_MESSAGES/django.po -
	@$(PY) manage.py compilemessages -v 0 --ignore "$(VENV)"

bench: ## fill kehu_bench (BENCH_CUSTOMERS, default 1000000, with their orders and interactions), then time every page, import and export
	@$(PY) bench/generate.py --customers $(or $(BENCH_CUSTOMERS),1000000)
	@# Each script exits 1 when a target is missed; run them all, then say so.
	@status=0; \
	for script in run.py transfer.py sales.py interactions.py segmentation.py workbench.py; do \
		$(PY) bench/$$script || status=1; \
	done; exit $$status

load: ## on kehu_bench (make bench first): nginx, gunicorn, Celery; locust ramps to 200 users, holds 10 min, then steps; every write checked
	@$(PY) -m pip install -q -r bench/requirements.txt
	@$(PY) bench/load.py

faults: ## on kehu_bench, as root: restarts PostgreSQL and Redis, kills workers, fills a disk under 50 users (bench/faults.py)
	@$(PY) -m pip install -q -r bench/requirements.txt
	@$(PY) bench/faults.py

clean: ## remove the virtualenv and collected static files
	rm -rf $(VENV) staticfiles
