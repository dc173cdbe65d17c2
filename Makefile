# The two commands: `make demo` (console with demo data on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-sqlite test-postgres bench lint format setup messages clean train-text

$(VENV)/.installed: requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cxcore needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

demo: setup
	DEBUG=1 $(BIN)/cxcore demo

test: setup
	@scripts/ensure-chromium.sh
	@scripts/test.sh

test-sqlite: setup
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/membrane.py
	$(BIN)/python bench/feedback.py
	$(BIN)/python bench/text.py

# Retrains the shipped sentiment model (cxcore/text/data/sentiment.json) from ../shared's reviews.
train-text: setup
	$(BIN)/cxcore text train --data ../shared/data/reviews

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: setup
	$(BIN)/python manage.py makemessages -l fr --no-obsolete --ignore ".venv/*" --ignore "node_modules/*" --ignore "*/tests/*" --ignore "bench/*" --ignore "var/*"
	$(BIN)/python manage.py compilemessages -l fr --ignore ".venv/*" --ignore "node_modules/*"

clean:
	rm -rf $(VENV) node_modules var
