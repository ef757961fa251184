"""MLflow runs of a training: where they are stored, the nested run of each Ray Train step, and the
per-epoch losses that rank 0 of each step logs into the run its driver created."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ratbehavior.config import Config
from ratbehavior.training.distributed import is_main


def tracking_uri(cfg: Config) -> str:
    """MLFLOW_TRACKING_URI when set (a cluster's server), else the configured store. A relative SQLite
    path is made absolute, because Ray workers do not share the driver's working directory."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.tracking.uri
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.removeprefix(prefix).startswith("/"):
        uri = prefix + str(Path(uri.removeprefix(prefix)).resolve())
    return uri


def _serves_artifacts(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def setup_tracking(cfg: Config) -> str:
    """Point MLflow at the store and the project's experiment (created on first use); returns its id.
    A file-backed store keeps its artifacts in `tracking.artifact_root`; a server chooses its own."""
    import mlflow

    uri = tracking_uri(cfg)
    given = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    # MLflow also exports the URI to the environment; put back the user's, so that the variable keeps
    # meaning "a server was given" for the next configuration this process loads.
    if given is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = given
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name(cfg.tracking.experiment)
    if experiment is not None:
        experiment_id = experiment.experiment_id
    else:
        location = None if _serves_artifacts(uri) else Path(cfg.tracking.artifact_root).resolve().as_uri()
        experiment_id = client.create_experiment(cfg.tracking.experiment, artifact_location=location)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


@dataclass(frozen=True)
class EpochLogger:
    """An epoch hook for Ray Train workers: rank 0 logs the epoch's mean losses, as `<stage>/<loss>`,
    to an existing run. A restarted worker group logs into the same run, never a new one."""

    uri: str
    run_id: str

    def __call__(self, stage: str, epoch: int, means: dict[str, float]) -> None:
        if not is_main():
            return
        from mlflow import MlflowClient
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(f"{stage}/{name}", float(value), now, epoch) for name, value in means.items()]
        MlflowClient(self.uri).log_batch(self.run_id, metrics=metrics)


@dataclass(frozen=True)
class StepRuns:
    """Creates, under `parent_run_id`, the nested run of each Ray Train step of one training."""

    uri: str
    experiment_id: str
    parent_run_id: str

    def start(self, step: str, tags: dict[str, str] | None = None) -> str:
        from mlflow import MlflowClient

        run = MlflowClient(self.uri).create_run(
            self.experiment_id, run_name=step, tags={"mlflow.parentRunId": self.parent_run_id, **(tags or {})}
        )
        return run.info.run_id

    def finish(self, run_id: str, metrics: dict[str, Any], failed: bool = False) -> None:
        from mlflow import MlflowClient

        client = MlflowClient(self.uri)
        for key, value in metrics.items():
            client.log_metric(run_id, key, float(value))
        client.set_terminated(run_id, "FAILED" if failed else "FINISHED")
