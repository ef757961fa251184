"""The tracked workflow on a tiny project: what one run records, the gate keeping a weak model out of
the registry, and reproduction of that run after the working data changed."""

from __future__ import annotations

import json

import mlflow
import pytest
import torch

from ratbehavior.cpu_kernels import active_kernels, cpu_name, mkl_branch
from ratbehavior.data.versioning import read_data_version
from ratbehavior.tracking.reproduce import fold_weights, reproduce, torch_threads
from ratbehavior.training.pipeline import stage_names
from ratbehavior.workflow import run_workflow
from tests.tracking.project import make_project


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("tracked")
    return make_project(root / "project", str(root / "remote"))


@pytest.fixture(scope="module")
def first_run(project, local_ray):
    mp = pytest.MonkeyPatch()
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = run_workflow(
        project.data,
        project.config("evaluation.label_fractions=[0.5]"),
        project.root / "artifacts" / "run",
        project.root,
        ["R01"],
        progress=False,
    )
    yield result
    mp.undo()


def _children(client, parent_id):
    runs = client.search_runs(
        [client.get_run(parent_id).info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    return {r.info.run_name: r for r in runs}


def test_a_run_records_configuration_lineage_data_folds_steps_and_plots(project, first_run):
    cfg = project.config()
    client = mlflow.MlflowClient(cfg.tracking.uri)
    parent = client.get_run(first_run.run_id)
    tags = parent.data.tags
    assert tags["git_commit"] == project.commit and tags["git_dirty"] == "false"
    assert tags["data_md5"] == read_data_version(project.root).md5 == tags["data_dvc_md5"]
    assert tags["data_remote"].endswith("remote") and tags["config_hash"] and tags["seed"] == "0"
    assert tags["version.torch"].startswith("2.13") and tags["kfp_run_id"] == "none"
    assert json.loads(parent.data.params["training.window"]) == cfg.training.window
    assert parent.data.metrics["macro_f1"] == pytest.approx(first_run.summary["macro_f1"])
    assert parent.data.metrics["fold_f1.R01"] == pytest.approx(first_run.summary["folds"]["R01"]["macro_f1"])
    (dataset,) = parent.inputs.dataset_inputs
    assert dataset.dataset.name == f"sessions@{tags['data_md5'][:12]}"
    artifacts = {a.path for a in client.list_artifacts(first_run.run_id, "evaluation")}
    assert {"evaluation/metrics.json", "evaluation/per_behaviour_f1.png", "evaluation/cooccurrence.png"} <= artifacts
    assert any(a.startswith("evaluation/ethogram_R01") for a in artifacts)
    assert {a.path for a in client.list_artifacts(first_run.run_id)} >= {
        "config.yaml",
        "validation",
        "evaluation",
        "label_efficiency.json",
    }
    (efficiency,) = client.get_metric_history(first_run.run_id, "label_efficiency.macro_f1")
    assert efficiency.step == 50 and 0.0 <= efficiency.value <= 1.0

    children = _children(client, first_run.run_id)
    assert set(children) == {"fold-R01", "all-animals"}
    assert children["fold-R01"].data.tags["held_out_animal"] == "R01"
    for child in children.values():
        steps = _children(client, child.info.run_id)
        # One run per Ray Train step, no more: a restarted job logs into its step's run.
        assert sorted(steps) == sorted(stage_names(cfg))
        epochs = cfg.training.finetune.epochs
        history = client.get_metric_history(steps["stage3"].info.run_id, "stage3/loss")
        assert sorted(m.step for m in history) == list(range(epochs))
        assert all(s.info.status == "FINISHED" for s in steps.values())


def test_a_model_below_the_gate_stays_in_its_run_unregistered(project, first_run):
    client = mlflow.MlflowClient(project.config().tracking.uri)
    tags = client.get_run(first_run.run_id).data.tags
    assert not first_run.gate.passed and first_run.version is None
    assert tags["gate"].startswith("failed: macro-F1") and tags["registered_version"].startswith("none")
    assert client.search_registered_models() == []
    logged = mlflow.search_logged_models(experiment_ids=[client.get_run(first_run.run_id).info.experiment_id],
                                         output_format="list")  # fmt: skip
    assert [m.source_run_id for m in logged] == [first_run.run_id]
    assert (first_run.model_dir / "model.json").is_file()


def test_reproduce_fetches_the_runs_data_version_and_gets_the_same_metrics(project, first_run, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    original_md5 = read_data_version(project.root).md5
    assert project.record_data(simulation_seed=2) != original_md5  # the workspace now holds other data
    recorded_threads = (
        mlflow.MlflowClient(project.config().tracking.uri).get_run(first_run.run_id).data.tags["torch_threads"]
    )
    # This process now runs on another thread count: reproduce must use the recorded one, then restore.
    other = 1 if recorded_threads != "1" else 2
    with torch_threads(other):
        reproduction = reproduce(first_run.run_id, project.config(), project.root, project.root / "artifacts" / "repro",
                                 progress=False)  # fmt: skip
        assert torch.get_num_threads() == other
    assert reproduction.exact, reproduction.differences
    # Each fold's weights were hashed after every step, and the reproduction's are the same.
    weights = fold_weights(first_run.run_id)
    assert weights and all(sorted(w) == sorted(stage_names(project.config())) for w in weights.values())
    assert reproduction.diverged == {}
    client = mlflow.MlflowClient(project.config().tracking.uri)
    tags = client.get_run(reproduction.result.run_id).data.tags
    assert tags["reproduces"] == first_run.run_id and tags["torch_threads"] == recorded_threads
    assert tags["cpu_kernels"] == active_kernels()
    assert tags["cpu"] == cpu_name() and tags["mkl_branch"] == mkl_branch()
    assert tags["data_md5"] == original_md5 != tags["data_dvc_md5"]
    assert reproduction.result.summary["macro_f1"] == first_run.summary["macro_f1"]
