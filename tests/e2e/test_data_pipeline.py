"""The data pipeline end to end through the command line, on a tiny simulated dataset."""

import json
from pathlib import Path

from typer.testing import CliRunner

from ratbehavior.cli import app
from ratbehavior.data.dataset import load_feature_set
from ratbehavior.evaluation.baselines import random_forest_loao

CI_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ci.yaml"
runner = CliRunner()


def _ok(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_simulate_validate_featurise_and_score_a_baseline(tmp_path):
    data, features = tmp_path / "data", tmp_path / "features"
    _ok(["data", "simulate", "--out", str(data), "--config", str(CI_CONFIG)])
    report = tmp_path / "report.json"
    output = _ok(["data", "validate", str(data), "--config", str(CI_CONFIG), "--report", str(report)])
    assert "validation PASSED: 3 sessions" in output
    assert json.loads(report.read_text())["ok"] is True
    _ok(["data", "features", str(data), "--out", str(features), "--config", str(CI_CONFIG)])
    sessions = load_feature_set(features)
    assert len(sessions) == 3 and all(s.label_mask.any() for s in sessions)
    scores = random_forest_loao(sessions, n_estimators=10)
    assert set(scores["folds"]) == {"R01", "R02", "R03"}
    assert 0.0 < scores["macro_f1"] < 1.0


def test_data_docs_go_to_a_relative_folder(tmp_path, monkeypatch):
    # `make run` passes relative paths; Great Expectations wants absolute ones.
    monkeypatch.chdir(tmp_path)
    _ok(["data", "simulate", "--out", "data", "--config", str(CI_CONFIG)])
    _ok(["data", "validate", "data", "--docs", "docs"])
    assert (tmp_path / "docs" / "index.html").is_file()


def test_a_planted_fault_stops_validation_with_exit_code_1(tmp_path):
    data = tmp_path / "data"
    _ok(["data", "simulate", "--out", str(data), "--config", str(CI_CONFIG)])
    imu = next((data / "sessions").iterdir()) / "imu.csv"
    lines = imu.read_text().splitlines()
    lines[50], lines[51] = lines[51], lines[50]
    imu.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["data", "validate", str(data)])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "imu.csv column time_s: values must be strictly increasing" in result.output
