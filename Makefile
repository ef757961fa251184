# The README's two commands: `make run` and `make test`. Both set up .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(abspath $(VENV))/bin
# Nothing here may phone home, and plots are files, not windows.
export DVC_NO_ANALYTICS := 1
export MPLBACKEND := Agg
export PATH := $(BIN):$(PATH)

.PHONY: setup data run evaluate test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

data: setup
	ratbehavior data pull

run: data
	dvc repro
	@echo
	@echo "validation report: artifacts/validation/report.json"
	@echo "Data Docs:         artifacts/validation/data_docs/index.html"
	@echo "features:          artifacts/features/manifest.json"
	@echo "model:             artifacts/model (ratbehavior predict --model artifacts/model --session <dir> --out <csv>)"

# Leave-one-animal-out of the default configuration: metrics.json and plots in artifacts/evaluation.
evaluate: data
	ratbehavior evaluate --data data --cv leave-one-animal-out --config configs/default.yaml --out artifacts/evaluation

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf artifacts .pytest_cache
