"""Every step as a Ray Train job: local mode, two real workers, sharding, and a worker killed mid-stage."""

from __future__ import annotations

import os

import mlflow
import pytest
import torch

from ratbehavior.model.network import build_model
from ratbehavior.tracking.runs import StepRuns
from ratbehavior.training import distributed
from ratbehavior.training.checkpoint import seed_everything
from ratbehavior.training.distributed import rank_and_world, shard
from ratbehavior.training.pipeline import model_dims, stage_names, train_model
from ratbehavior.training.ray_launcher import train_on_ray
from tests.training.toy import tiny_config, toy_dataset

# Only the classifier trains: its loss is a mean over equally sized shards, so two workers averaging
# their gradients take exactly the step one worker takes on the whole global batch. Without dropout,
# whose masks each worker draws for its own shard.
CLASSIFIER_ONLY = [
    "model.dropout=0", "training.pretrain.epochs=0", "training.align.epochs=0", "training.finetune.epochs=0",
    "training.pseudo_labels.rounds=0", "training.classifier.steps_per_epoch=10",
]  # fmt: skip


def _weights(trained) -> dict[str, torch.Tensor]:
    return trained.model.state_dict()


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_shard_splits_a_global_batch_without_loss_or_duplication(monkeypatch, world):
    batch = torch.randperm(12)
    parts = []
    for rank in range(world):
        monkeypatch.setattr(distributed, "rank_and_world", lambda rank=rank: (rank, world))
        parts.append(shard(batch))
    assert torch.equal(torch.cat(parts), batch)
    assert {len(p) for p in parts} == {12 // world}


def test_stages_without_epochs_get_no_job():
    assert stage_names(tiny_config(*CLASSIFIER_ONLY)) == ["classifier"]
    assert stage_names(tiny_config()) == [
        "stage1",
        "stage2",
        "stage3",
        "classifier",
        "stage3_round1",
        "classifier_round1",
    ]


def test_local_mode_trains_exactly_like_the_library(local_ray, tmp_path):
    cfg = tiny_config("ray.num_workers=0", f"ray.storage_path={tmp_path}")
    sessions = toy_dataset()
    on_ray = train_on_ray(sessions, cfg, ["A2"], run_name="local")
    direct = train_model(sessions, cfg, ["A2"])
    assert all(torch.equal(v, _weights(direct)[k]) for k, v in _weights(on_ray).items())
    assert (tmp_path / "local" / "features" / "sessions.txt").is_file()
    assert (tmp_path / "local" / "local-classifier_round1" / "checkpoints" / "classifier_round1.pt").is_file()


def test_an_ensemble_on_ray_trains_each_member_in_jobs_of_its_own_exactly_like_the_library(local_ray, tmp_path):
    cfg = tiny_config(*CLASSIFIER_ONLY, "training.members=2", "ray.num_workers=0", f"ray.storage_path={tmp_path}")
    sessions = toy_dataset()
    on_ray = train_on_ray(sessions, cfg, ["A2"], run_name="ensemble")
    direct = train_model(sessions, cfg, ["A2"])
    assert _weights(on_ray).keys() == _weights(direct).keys()
    assert all(torch.equal(v, _weights(direct)[k]) for k, v in _weights(on_ray).items())
    assert on_ray.calibration.to_dict() == direct.calibration.to_dict()
    # Member 1's step is a job of its own, which carries member 0's checkpoint on to the next.
    own = tmp_path / "ensemble" / "local-member1_classifier" / "checkpoints"
    assert sorted(p.name for p in own.glob("*.pt")) == ["classifier.pt", "member1_classifier.pt"]


def test_two_workers_take_the_same_steps_as_one_with_the_same_global_batch(local_ray, tmp_path):
    sessions = toy_dataset()
    runs = {}
    for workers in (1, 2):
        cfg = tiny_config(*CLASSIFIER_ONLY, f"ray.num_workers={workers}", f"ray.storage_path={tmp_path}")
        runs[workers] = _weights(train_on_ray(sessions, cfg, ["A2"], run_name=f"workers{workers}"))
    seed_everything(0, "init")
    initial = build_model(tiny_config().model, model_dims(sessions, len(sessions))).state_dict()
    moved = max(float((runs[1][k] - v).abs().max()) for k, v in initial.items() if k.startswith("classifier"))
    assert moved > 1e-3
    for name, value in runs[1].items():
        # The same steps up to the order of float sums: a tolerance far below what training moved.
        torch.testing.assert_close(runs[2][name], value, atol=1e-5, rtol=0)


@pytest.mark.slow
def test_a_worker_killed_mid_stage_resumes_from_the_last_checkpoint(local_ray, tmp_path):
    overrides = [
        "training.pretrain.epochs=0", "training.align.epochs=0", "training.finetune.epochs=3",
        "training.pseudo_labels.rounds=0", "ray.num_workers=2", f"ray.storage_path={tmp_path}",
    ]  # fmt: skip
    cfg = tiny_config(*overrides)
    sessions = toy_dataset()
    reference = _weights(train_on_ray(sessions, cfg, ["A2"], run_name="reference"))
    marker = tmp_path / "killed"

    def kill_worker_1_once(stage: str, epoch: int, losses: dict[str, float]) -> None:
        if stage == "stage3" and epoch == 1 and rank_and_world()[0] == 1 and not marker.exists():
            marker.touch()
            os._exit(1)

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("killed", (tmp_path / "mlartifacts").as_uri())
    parent = client.create_run(experiment).info.run_id
    steps = StepRuns(uri, experiment, parent)
    trained = train_on_ray(sessions, cfg, ["A2"], run_name="killed", hooks=[kill_worker_1_once], step_runs=steps)
    assert marker.exists()
    assert all(torch.equal(v, _weights(trained)[k]) for k, v in reference.items())
    # Rank 0 logged into the runs the driver created: the restarted worker group made no second run,
    # and the stage's every epoch is recorded.
    runs = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")
    assert sorted(r.info.run_name for r in runs) == ["classifier", "stage3"]
    stage3 = next(r for r in runs if r.info.run_name == "stage3")
    assert {m.step for m in client.get_metric_history(stage3.info.run_id, "stage3/loss")} == {0, 1, 2}
