# Khabar — every target works from a fresh clone: the venv is made on demand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= ../shared/datasets/il-ner

.PHONY: install run test unit integration lint typecheck check train-ner eval bench chaos kb clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/khabar up --demo

test: install
	$(BIN)/ruff check shared services tests tools
	$(BIN)/mypy
	$(BIN)/pytest -q -ra

unit: install
	$(BIN)/pytest -q -ra tests/unit

integration: install
	$(BIN)/pytest -q -ra tests/integration

lint: install
	$(BIN)/ruff check shared services tests tools
	$(BIN)/ruff format --check shared services tests tools

typecheck: install
	$(BIN)/mypy

kb: install
	$(BIN)/python -m pip install --quiet -e '.[kb]'
	$(BIN)/python tools/build_kb.py

train-ner: install
	$(BIN)/python tools/train_ner.py --data $(DATA)

eval: install
	$(BIN)/python tools/eval_ner.py --data $(DATA) --out bench/ner_eval.json

clean:
	rm -rf $(VENV) .khabar .pytest_cache .mypy_cache .ruff_cache
