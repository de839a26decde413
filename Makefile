# Clickstream: `make run` serves the demo shop, `make test` runs every check. Both install what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000
export PORT

.PHONY: run test lint format worker beat migrate bench services browser-deps storefront theme-assets shopify-tools clean

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(INSTALLED)

# Front-end code built from npm packages: the storefront script and the admin's chart library.
ASSET_DIRS := storefront_script shopify_app/admin/assets

storefront: $(INSTALLED)
	@for dir in $(ASSET_DIRS); do if [ -f $$dir/Makefile ]; then $(MAKE) --no-print-directory -C $$dir build || exit 1; fi; done

# The theme app extension's copies of the storefront scripts, committed (a deploy from a fresh
# clone ships them); a test fails while they differ from a build of storefront_script/src.
theme-assets:
	$(MAKE) --no-print-directory -C storefront_script theme-assets

# The Shopify CLI and the web pixel's dependencies, for the test that runs `shopify app build`.
shopify-tools:
	@$(MAKE) --no-print-directory -C tools/shopify install

run: $(INSTALLED) storefront
	$(BIN)/clickstream db upgrade
	$(BIN)/clickstream demo
	$(BIN)/clickstream serve

# The whole suite on MariaDB, then the parts whose SQL differs by database (the writer, its
# rollups, the reports) again on SQLite, the embedded default.
SQLITE_TESTS ?= tests/analytics tests/pipeline

test: $(INSTALLED) browser-deps storefront shopify-tools lint
	$(BIN)/pytest $(PYTEST_ARGS)
	TEST_DATABASE=sqlite $(BIN)/pytest $(SQLITE_TESTS) $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@for dir in $(ASSET_DIRS); do if [ -f $$dir/Makefile ]; then $(MAKE) --no-print-directory -C $$dir lint || exit 1; fi; done

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: $(INSTALLED)
	$(BIN)/clickstream worker

beat: $(INSTALLED)
	$(BIN)/clickstream beat

migrate: $(INSTALLED)
	$(BIN)/clickstream db upgrade

bench: $(INSTALLED)
	$(BIN)/python -m bench $(or $(BENCH),all)

services:
	@scripts/services

browser-deps:
	@scripts/browser-deps

clean:
	rm -rf $(VENV) instance .mypy_cache .ruff_cache
