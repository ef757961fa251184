"""The registry by aliases: registration with `candidate`, promotion only of gated versions, rollback,
and predicting from models:/<name>@production."""

from __future__ import annotations

import mlflow
import pytest
import torch

from ratbehavior.inference import resolve_model, save_model_dir
from ratbehavior.tracking.config import GateConfig
from ratbehavior.tracking.gate import check_gate
from ratbehavior.tracking.pyfunc import log_model_dir
from ratbehavior.tracking.registry import (
    CANDIDATE,
    PRODUCTION,
    RegistryError,
    list_versions,
    promote,
    register,
    rollback,
)
from ratbehavior.training.pipeline import train_model
from tests.training.toy import tiny_config, toy_dataset

NAME = "toy"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    cfg = tiny_config("training.pseudo_labels.rounds=0")
    return save_model_dir(train_model(toy_dataset(), cfg, []), cfg, tmp_path_factory.mktemp("model") / "model")


@pytest.fixture
def client(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment("t", (tmp_path / "artifacts").as_uri()))
    return mlflow.MlflowClient(uri)


def _log(model_dir) -> tuple[str, str]:
    with mlflow.start_run() as run:
        info = log_model_dir(model_dir, ["walk"])
    return info.model_uri, run.info.run_id


def test_the_gate_checks_the_mean_and_every_animal():
    summary = {"macro_f1": 0.93, "folds": {"R01": {"macro_f1": 0.95}, "R02": {"macro_f1": 0.84}}}
    result = check_gate(summary, GateConfig())
    assert not result.passed and result.reasons == ("animal R02 macro-F1 0.840 < 0.85",)
    assert check_gate(summary, GateConfig(min_animal_f1=0.8)).passed
    assert check_gate({**summary, "macro_f1": 0.89}, GateConfig(min_animal_f1=0.8)).verdict.startswith("failed")


def test_register_promote_rollback_and_predict_from_production(client, model_dir):
    first = register(client, NAME, *_log(model_dir), {"macro_f1": "0.93"})
    # A version registered by hand, outside the gate, can never reach production.
    ungated = mlflow.register_model(_log(model_dir)[0], NAME).version
    second = register(client, NAME, *_log(model_dir), {"macro_f1": "0.95"})
    assert client.get_model_version_by_alias(NAME, CANDIDATE).version == int(second)

    with pytest.raises(RegistryError, match="did not pass"):
        promote(client, NAME, str(ungated))
    with pytest.raises(RegistryError, match="no version 9"):
        promote(client, NAME, "9")
    with pytest.raises(RegistryError, match="no earlier production"):
        rollback(client, NAME)
    assert promote(client, NAME, first) is None
    assert promote(client, NAME, second) == first
    rows = {r.version: r for r in list_versions(client, NAME)}
    assert rows[second].aliases == (CANDIDATE, PRODUCTION) and rows[second].tags["macro_f1"] == "0.95"
    assert rows[str(ungated)].gate == "unknown"
    assert rollback(client, NAME) == first
    assert client.get_model_version_by_alias(NAME, PRODUCTION).version == int(first)

    from_registry = resolve_model(f"models:/{NAME}@{PRODUCTION}")
    saved = resolve_model(str(model_dir))
    assert from_registry.behaviours == saved.behaviours
    for key, value in saved.model.state_dict().items():
        assert torch.equal(from_registry.model.state_dict()[key], value)


def test_unknown_models_are_one_line_errors(client):
    with pytest.raises(RegistryError, match="no registered model named 'absent'"):
        list_versions(client, "absent")
    with pytest.raises(RegistryError, match="models:/absent@production"):
        resolve_model("models:/absent@production")
