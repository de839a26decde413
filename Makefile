# Clickstream: `make run` serves the demo shop, `make test` runs every check. Both install what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000
export PORT

.PHONY: run test lint format worker beat migrate bench services browser-deps storefront clean

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(INSTALLED)

storefront: $(INSTALLED)
	@if [ -f storefront_script/package.json ]; then $(MAKE) -C storefront_script build; fi

run: $(INSTALLED) storefront
	$(BIN)/clickstream db upgrade
	$(BIN)/clickstream demo
	$(BIN)/clickstream serve

test: $(INSTALLED) browser-deps storefront lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@if [ -f storefront_script/package.json ]; then $(MAKE) -C storefront_script lint; fi

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
	$(BIN)/python -m bench

services:
	@scripts/services

browser-deps:
	@scripts/browser-deps

clean:
	rm -rf $(VENV) instance .mypy_cache .ruff_cache
