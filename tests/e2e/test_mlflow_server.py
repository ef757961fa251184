"""The cluster set-up on loopback: a real `mlflow server` (PostgreSQL backend, artifacts proxied to a
real S3 server), the same S3 server as the DVC remote. A training is logged through the server,
registered, promoted and predicted from `models:/...@production`; then the working data changes and
the run is reproduced from the S3 remote with the same metrics."""

from __future__ import annotations

import shutil

import mlflow
import pandas as pd
import psycopg
import pyarrow.fs as pafs
import pytest
from typer.testing import CliRunner

from ratbehavior.cli import app
from tests.mlflowserver import POSTGRES, mlflow_server, postgres_database, s3_environment
from tests.s3server import s3_server
from tests.tracking.project import CI_CONFIG, make_project

pytestmark = pytest.mark.slow
runner = CliRunner()


def _ok(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_train_register_promote_predict_and_reproduce_through_a_real_server(tmp_path, monkeypatch, local_ray):
    with s3_server(tmp_path / "s3") as s3, postgres_database() as database:
        s3.make_bucket("mlflow")
        s3.make_bucket("dvc")
        for key, value in s3_environment(s3).items():
            monkeypatch.setenv(key, value)
        project = make_project(tmp_path / "project", "s3://dvc/store", {"endpointurl": s3.endpoint})
        with mlflow_server(database, "s3://mlflow/artifacts", s3, tmp_path / "server") as url:
            monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
            args = ["--config", str(CI_CONFIG), "--animal", "R01", "--repo", str(project.root),
                    "--set", "tracking.gate.min_macro_f1=0", "--set", "tracking.gate.min_animal_f1=0",
                    "--set", f"ray.storage_path={tmp_path / 'ray'}"]  # fmt: skip
            output = _ok(["run", "--data", str(project.data), "--out", str(tmp_path / "run"), *args])
            assert "gate: passed" in output and "registered: ratbehavior version 1" in output
            run_id = output.split("run: ")[1].split(";")[0]

            _ok(["models", "promote", "ratbehavior", "1"])
            assert "candidate, production" in _ok(["models", "list"])
            session = next(p for p in sorted((project.data / "sessions").iterdir()) if p.name.startswith("R01"))
            out = tmp_path / "predicted" / "predictions.csv"
            _ok(["predict", "--model", "models:/ratbehavior@production", "--session", str(session), "--out", str(out)])
            assert len(pd.read_csv(out)) > 1000
            pyfunc = mlflow.pyfunc.load_model("models:/ratbehavior@production")
            assert len(pyfunc.predict(pd.DataFrame({"session": [str(session)]}))) == len(pd.read_csv(out))

            # The runs are in PostgreSQL and the artifacts in S3, through the server.
            with psycopg.connect(**{**POSTGRES, "dbname": database.rsplit("/", 1)[1]}) as db:
                assert db.execute("SELECT count(*) FROM runs").fetchone()[0] > 10
            stored = s3.filesystem().get_file_info(pafs.FileSelector("mlflow/artifacts", recursive=True))
            assert any(f.path.endswith("evaluation/metrics.json") for f in stored)

            # New working data, an empty cache: the old version can only come from the S3 remote.
            project.record_data(simulation_seed=2)
            shutil.rmtree(project.root / ".dvc" / "cache")
            output = _ok(["reproduce", run_id, "--repo", str(project.root), "--out", str(tmp_path / "repro")])
            assert "every quality metric is identical" in output
