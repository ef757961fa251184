"""train -> predict -> evaluate through the command line on a tiny simulated dataset (the contract's calls)."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from ratbehavior.cli import app
from ratbehavior.config import load_config
from ratbehavior.cpu_kernels import active_kernels
from tests.e2e.test_data_pipeline import CI_CONFIG

runner = CliRunner()


def _run(args, code=0):
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ci") / "data"
    _run(["data", "simulate", "--out", str(root), "--config", str(CI_CONFIG)])
    return root


def test_train_then_predict_an_unseen_animal(dataset, tmp_path):
    model = tmp_path / "model"
    _run(["train", "--data", str(dataset), "--out", str(model), "--config", str(CI_CONFIG), "--holdout-animal", "R03"])
    manifest = json.loads((model / "model.json").read_text())
    assert manifest["holdout_animals"] == ["R03"]
    session = next(p for p in sorted((dataset / "sessions").iterdir()) if p.name.startswith("R03"))
    out = tmp_path / "pred" / "predictions.csv"
    _run(["predict", "--model", str(model), "--session", str(session), "--out", str(out), "--adapt-steps", "2"])
    table = pd.read_csv(out)
    behaviours = load_config(CI_CONFIG).data.behaviours
    assert list(table.columns) == ["frame", "time_s", *behaviours, *(f"prob_{b}" for b in behaviours)]
    assert table["frame"].diff().dropna().eq(1).all() and len(table) > 1000
    bouts = pd.read_csv(out.with_suffix(".bouts.csv"))
    assert list(bouts.columns[:4]) == ["behaviour", "start_s", "stop_s", "duration_s"]
    assert out.with_suffix(".ethogram.png").read_bytes()[:4] == b"\x89PNG"


def test_training_again_under_the_same_name_returns_the_finished_model(dataset, tmp_path):
    """Ray restores a run of the same name from its storage; when every step had finished, the
    second training must still hand back the model (it used to end with no checkpoint)."""
    args = ["--data", str(dataset), "--config", str(CI_CONFIG), "--holdout-animal", "R03"]
    args += ["--set", f"ray.storage_path={tmp_path / 'ray'}"]
    _run(["train", *args, "--out", str(tmp_path / "model")])
    first = (tmp_path / "model" / "weights.pt").read_bytes()
    _run(["train", *args, "--out", str(tmp_path / "model")])
    assert (tmp_path / "model" / "weights.pt").read_bytes() == first


@pytest.fixture(scope="module")
def evaluated(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluation")
    cv = ["--cv", "leave-one-animal-out"]
    output = _run(["evaluate", "--data", str(dataset), *cv, "--out", str(out), "--config", str(CI_CONFIG)])
    return out, output


def test_evaluate_leave_one_animal_out_writes_metrics_and_plots(evaluated):
    out, output = evaluated
    assert "macro-F1" in output
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["folds"]) == {"R01", "R02", "R03"}
    assert 0.0 <= metrics["macro_f1"] <= 1.0 and "without_video" in metrics and "with_video" in metrics
    assert {"precision", "recall", "f1"} <= set(metrics["pooled"]["per_behaviour"]["walk"])
    for png in ("per_behaviour_f1.png", "cooccurrence.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert len(list(out.glob("ethogram_*.png"))) == 3
    assert (out / "folds" / "fold-R01" / "stage3.pt").is_file()


def test_folds_trained_in_parallel_processes_score_as_one_after_the_other(dataset, evaluated, tmp_path):
    """The tests run torch on one thread (conftest), so both runs train every fold on one thread."""
    sequential = json.loads((evaluated[0] / "metrics.json").read_text())
    cv = ["--cv", "leave-one-animal-out", "--jobs", "2"]
    _run(["evaluate", "--data", str(dataset), *cv, "--out", str(tmp_path), "--config", str(CI_CONFIG)])
    parallel = json.loads((tmp_path / "metrics.json").read_text())
    assert parallel["torch_threads"] == sequential["torch_threads"] == 1
    assert parallel["cpu_kernels"] == sequential["cpu_kernels"] == active_kernels()
    for key in ("folds", "pooled", "with_video", "without_video", "macro_f1"):
        assert parallel[key] == sequential[key], key


def test_bad_inputs_exit_2_with_one_line(dataset, tmp_path):
    output = _run(["predict", "--model", str(tmp_path), "--session", str(dataset), "--out", str(tmp_path / "p.csv")], 2)
    assert output.startswith("error:") and "not a model directory" in output
    args = ["--out", str(tmp_path / "m"), "--config", str(CI_CONFIG), "--holdout-animal", "R09"]
    output = _run(["train", "--data", str(dataset), *args], 2)
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "R09" in errors[0] and "R01" in errors[0]
