# The README's two commands: `make run` and `make test`. Both set up .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(abspath $(VENV))/bin
# Nothing here may phone home, and plots are files, not windows.
export DVC_NO_ANALYTICS := 1
# MLflow's telemetry phones home too, and its thread unsets an environment variable that a request
# being sent can still read: one CI run failed on that KeyError ('_MLFLOW_TELEMETRY_SESSION_ID').
export MLFLOW_DISABLE_TELEMETRY := true
export MPLBACKEND := Agg
export PATH := $(BIN):$(PATH)

.PHONY: setup data run repro evaluate test test-slow lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

data: setup
	ratbehavior data pull

# The main job: the Kubeflow pipeline with the local runner (each component a subprocess here), a
# local Ray, MLflow on SQLite (mlflow.db), the demo data from the DVC remote. Folds run two at a time,
# so each torch process keeps to one thread instead of fighting the other for both cores.
run: data
	OMP_NUM_THREADS=1 ratbehavior pipeline run --arg config=configs/default.yaml

# The DVC stages (validate, features, a model on all animals) without tracking or the gate.
repro: data
	dvc repro

# Leave-one-animal-out of the default configuration: metrics.json and plots in artifacts/evaluation.
evaluate: data
	ratbehavior evaluate --data data --cv leave-one-animal-out --config configs/default.yaml --out artifacts/evaluation

# The default suite (about 10 minutes on 2 cores), one full pipeline on tiny data included.
test: setup
	$(BIN)/python -m pytest

# The end-to-end runs against a real MLflow server on Postgres, a Ray cluster, an S3 server.
test-slow: setup
	$(BIN)/python -m pytest -m slow

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf artifacts .pytest_cache mlflow.db mlartifacts
