"""`ratbehavior train` with ray.address: the command runs on a real Ray cluster (a head node started
here, dashboard on loopback) through the Ray Jobs API."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ratbehavior.cli import app
from tests.e2e.test_data_pipeline import CI_CONFIG
from tests.s3server import free_port

RAY = str(Path(sys.executable).parent / "ray")


@pytest.fixture
def ray_head(tmp_path):
    """A one-node cluster of its own (own ports, own temp dir), stopped by terminating its process
    group: `ray stop` would also stop every other Ray on the machine."""
    dashboard = free_port()
    # Ray puts Unix sockets under its temp dir, whose paths must stay under ~100 characters.
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    # As in the project image, the cluster finds `ratbehavior` on its PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    # Without the tracking store earlier tests left in the environment (mlflow.set_tracking_uri sets it).
    inherited = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env = {**inherited, "PATH": path, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [
            RAY, "start", "--head", "--block", "--num-cpus", "2", "--port", str(free_port()),
            "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard), "--include-dashboard", "true",
            "--temp-dir", temp_dir, "--disable-usage-stats",
            # Its own agent port too: another Ray on the machine (a local one) may hold the default.
            "--dashboard-agent-listen-port", str(free_port()),
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    address = f"http://127.0.0.1:{dashboard}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{address}/api/version", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or head.poll() is not None:
                head.kill()
                pytest.fail("the Ray head did not come up")
            time.sleep(1)
    yield address
    os.killpg(head.pid, 15)
    head.wait(timeout=90)
    shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_train_is_submitted_to_a_ray_cluster(ray_head, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    data, model = tmp_path / "data", tmp_path / "model"
    runner = CliRunner()
    result = runner.invoke(app, ["data", "simulate", "--out", str(data), "--config", str(CI_CONFIG)])
    assert result.exit_code == 0, result.output
    args = ["train", "--data", str(data), "--out", str(model), "--config", str(CI_CONFIG)]
    settings = [
        f"ray.address={ray_head}",
        f"ray.storage_path={tmp_path / 'storage'}",
        "training.pseudo_labels.rounds=0",
    ]
    result = runner.invoke(app, [*args, *(arg for s in settings for arg in ("--set", s))])
    assert result.exit_code == 0, result.output
    assert "SUCCEEDED" in result.output
    assert (model / "model.json").is_file() and (model / "weights.pt").is_file()


@pytest.mark.slow
def test_a_pipeline_training_step_runs_on_the_cluster_and_logs_to_its_fold(ray_head, tmp_path, monkeypatch):
    """With ray.address, a pipeline step is a Ray job on the cluster: the driver there trains, rank 0
    logs into the step's run under the fold, and the submitter gets the checkpoint back."""
    import mlflow

    from ratbehavior import steps
    from ratbehavior.config import load_config
    from ratbehavior.data.simulate import simulate_dataset

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(CI_CONFIG, [
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}", f"tracking.artifact_root={tmp_path / 'mlartifacts'}",
        f"ray.storage_path={tmp_path / 'storage'}", "training.pseudo_labels.rounds=0",
    ])  # fmt: skip
    simulate_dataset(cfg.simulation, cfg.data, tmp_path / "data")
    run = steps.start_run(cfg, tmp_path, tmp_path / "data")
    features = steps.features(run, cfg, tmp_path / "data", tmp_path / "features")
    fold = steps.start_fold(run, cfg, features, "R01")
    on_cluster = cfg.model_copy(update={"ray": cfg.ray.model_copy(update={"address": ray_head})})
    checkpoint = steps.train(fold, on_cluster, "R01", "stage1", None)
    assert (Path(checkpoint) / "stage1.pt").is_file()
    client = mlflow.MlflowClient(cfg.tracking.uri)
    (step,) = client.search_runs([client.get_run(fold).info.experiment_id], f"tags.mlflow.parentRunId = '{fold}'")
    assert step.info.run_name == "stage1" and "stage1/loss" in step.data.metrics
