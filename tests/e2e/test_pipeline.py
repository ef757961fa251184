"""The Kubeflow pipeline: the committed YAML is current, its shape is what the UI user relies on,
and it runs end to end with Kubeflow's local runner on a tiny project."""

from __future__ import annotations

import mlflow
import pytest
import yaml
from typer.testing import CliRunner

from ratbehavior.cli import app
from ratbehavior.kubeflow import COMPILED, compile_pipeline
from tests.tracking.project import CI_CONFIG, make_project

runner = CliRunner()


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(COMPILED.read_text())


def test_the_committed_pipeline_is_current(tmp_path):
    fresh = compile_pipeline(tmp_path / "training.yaml")
    assert fresh.read_text() == COMPILED.read_text(), "pipelines/training.yaml is stale: `ratbehavior pipeline compile`"


def test_folds_run_in_parallel_and_feed_the_gate_which_guards_registration(spec):
    root = spec["root"]["dag"]["tasks"]
    loop = root["for-loop-1"]
    assert loop["parameterIterator"]["items"]["inputParameter"].endswith("list-folds-Output")
    assert loop["iteratorPolicy"]["parallelismLimit"] == 2
    aggregate = root["aggregate"]["inputs"]["parameters"]["fold_files"]
    assert aggregate["taskOutputParameter"]["producerTask"] == "for-loop-1"  # dsl.Collected of the loop
    gate = root["condition-2"]
    assert "aggregate-Output" in gate["triggerPolicy"]["condition"]
    inner = spec["components"]["comp-condition-2"]["dag"]["tasks"]
    assert set(inner) == {"register"}
    fold = spec["components"]["comp-for-loop-1"]["dag"]["tasks"]
    assert {"start-fold", "pseudo-label-round", "evaluate-fold"} <= set(fold)
    # One task per training step, shown under the step's name.
    names = [fold[f"train-step{n}"]["taskInfo"]["name"] for n in ("", "-2", "-3", "-4")]
    assert names == ["stage 1", "stage 2", "stage 3", "classifier"]


def test_an_ensembles_later_members_train_after_the_first_one_ends(tmp_path):
    fold = yaml.safe_load(compile_pipeline(tmp_path / "two.yaml", members=2).read_text())
    tasks = {t["taskInfo"]["name"]: t for t in fold["components"]["comp-for-loop-1"]["dag"]["tasks"].values()}
    first = tasks["member 1 stage 1"]["inputs"]["parameters"]
    assert first["step"]["runtimeValue"]["constant"] == "member1_stage1"
    assert first["previous"]["taskOutputParameter"]["producerTask"] == "pseudo-label-round"
    assert tasks["member 1 pseudo-label round 1"]["inputs"]["parameters"]["member"]["runtimeValue"]["constant"] == 1
    evaluated = tasks["evaluate-fold"]["inputs"]["parameters"]["checkpoint"]["taskOutputParameter"]
    assert evaluated["producerTask"] == "pseudo-label-round-2"


def test_a_local_run_unrolls_the_rounds_and_members_its_configuration_asks_for(monkeypatch):
    class Unrolled(Exception):
        pass

    def run_local(arguments, rounds, members):
        raise Unrolled(rounds, members)

    monkeypatch.setattr("ratbehavior.kubeflow.run_local", run_local)
    overrides = '["training.members=2", "training.pseudo_labels.rounds=0"]'
    args = ["--arg", f"config={CI_CONFIG}", "--arg", f"overrides={overrides}"]
    assert runner.invoke(app, ["pipeline", "run", *args]).exception.args == (0, 2)
    given = runner.invoke(app, ["pipeline", "run", *args, "--rounds", "1", "--members", "3"])
    assert given.exception.args == (1, 3)


def test_the_data_version_and_the_run_are_never_cached_and_the_rest_may_be(spec):
    root = spec["root"]["dag"]["tasks"]
    assert root["resolve-data-version"]["cachingOptions"] == {}
    assert root["start-run"]["cachingOptions"] == {}
    assert root["fetch-data"]["cachingOptions"] == {"enableCache": True}


def test_components_run_on_the_project_image_without_installing_kfp(spec):
    executors = spec["deploymentSpec"]["executors"].values()
    assert {e["container"]["image"] for e in executors} == {"ratbehavior:0.1.0"}
    assert not any("pip install" in " ".join(e["container"]["command"]) for e in executors)


def test_the_pipeline_runs_end_to_end_with_the_local_runner(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project", str(tmp_path / "remote"))
    monkeypatch.chdir(project.root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    overrides = '["tracking.gate.min_macro_f1=0", "tracking.gate.min_animal_f1=0"]'
    args = ["--arg", f"config={CI_CONFIG}", "--arg", 'animals=["R01"]', "--arg", f"overrides={overrides}"]
    result = runner.invoke(app, ["pipeline", "run", *args])
    assert result.exit_code == 0, result.output
    assert "gate: passed" in result.output and "registered: ratbehavior version 1" in result.output
    assert "mlflow ui --backend-store-uri sqlite:///" in result.output

    client = mlflow.MlflowClient(f"sqlite:///{project.root / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    (parent,) = client.search_runs(experiments, "tags.mlflow.parentRunId IS NULL")
    assert parent.data.tags["git_commit"] == project.commit and parent.data.tags["kfp_run_id"] != "none"
    assert parent.data.tags["registered_version"] == "1"
    folds = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(r.info.run_name for r in folds) == ["all-animals", "fold-R01"]
    assert client.get_model_version_by_alias("ratbehavior", "candidate").version == 1
