"""The tracked workflow as steps whose inputs and outputs are plain values (paths, URIs, run ids),
so that each runs in its own process: `run_workflow` chains them in one process, and each Kubeflow
component calls exactly one of them.

Steps reopen the MLflow runs they are given by id; the parent run (configuration, lineage, dataset,
summary, plots, model) is created by `start_run`, a fold's run by `start_fold`, and each Ray Train
step's run by the launcher under its fold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from ratbehavior.config import Config, config_to_dict, load_config
from ratbehavior.data.dataset import SessionData, build_features, load_feature_set
from ratbehavior.errors import InputError
from ratbehavior.evaluation.loao import (
    FoldScore,
    evaluate_loao,
    fold_score,
    score_fold,
    summarise_scores,
)
from ratbehavior.evaluation.metrics import frame_metrics
from ratbehavior.evaluation.report import write_evaluation
from ratbehavior.inference import Prediction, predictor_of, save_model_dir
from ratbehavior.tracking.gate import GateResult, check_gate
from ratbehavior.tracking.lineage import lineage_tags
from ratbehavior.tracking.pyfunc import log_model_dir
from ratbehavior.tracking.registry import register
from ratbehavior.tracking.runs import StepRuns, setup_tracking, tracking_uri
from ratbehavior.training.checkpoint import Checkpoints
from ratbehavior.training.data import restrict_modalities
from ratbehavior.training.pipeline import stage_names, train_model
from ratbehavior.training.ray_launcher import (
    local_checkpoint,
    run_step,
    storage,
    submit_to_cluster,
    trained_from_checkpoint,
    upload_features,
)

# Metrics that measure time, not quality: a reproduction compares every metric but these.
TIME_PREFIX = "time."
# A fold run's tags with the hash of its weights after each training step.
WEIGHTS_PREFIX = "weights."
ALL_ANIMALS = "all-animals"


def pipeline_config(repo: str, config: str, overrides: str, mlflow_uri: str, ray_address: str = "") -> Config:
    """The configuration a pipeline step runs with: a YAML file of the project (relative to `repo`),
    `overrides` a JSON list of section.key=value, and the pipeline's MLflow URI and Ray cluster
    address (Jobs API) when given."""
    extra = [f"tracking.uri={mlflow_uri}"] if mlflow_uri else []
    extra += [f"ray.address={ray_address}"] if ray_address else []
    return load_config(Path(repo) / config, [*json.loads(overrides or "[]"), *extra])


def _flat(tree: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = json.dumps(value)
    return flat


def summary_metrics(summary: dict) -> dict[str, float]:
    """The leave-one-animal-out summary as flat MLflow metrics."""
    metrics = {
        "macro_f1": summary["macro_f1"], "micro_f1": summary["micro_f1"],
        "worst_animal_f1": summary["worst_animal_f1"],
        "with_video_f1": summary["with_video"]["macro_f1"], "without_video_f1": summary["without_video"]["macro_f1"],
    }  # fmt: skip
    if "video_hidden" in summary:
        metrics["video_hidden_f1"] = summary["video_hidden"]["macro_f1"]
    metrics |= {f"fold_f1.{a}": m["macro_f1"] for a, m in summary["folds"].items()}
    metrics |= {f"f1.{b}": m["f1"] for b, m in summary["pooled"]["per_behaviour"].items()}
    metrics |= {f"{TIME_PREFIX}training_s.{a}": s for a, s in summary["training_seconds"].items()}
    metrics[f"{TIME_PREFIX}inference_frames_per_s"] = summary["inference_frames_per_s"]
    return metrics


def start_run(cfg: Config, repo: Path, data_root: Path, extra_tags: dict[str, str] | None = None) -> str:
    """The parent run: configuration (whole, as config.yaml and as parameters) and lineage tags."""
    experiment_id = setup_tracking(cfg)
    tags = lineage_tags(repo, cfg, data_root) | (extra_tags or {})
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"train-{tags['config_hash'][:8]}", tags=tags) as run:
        mlflow.log_dict(config_to_dict(cfg), "config.yaml")
        mlflow.log_params(_flat(config_to_dict(cfg)))
    return run.info.run_id


def validate(run_id: str, cfg: Config, data_root: Path, out: Path) -> None:
    """Great Expectations on the raw data; the report goes to the run, and a failure stops the run."""
    # Here, not at the top: Great Expectations takes 4 s to import, and every task of a pipeline run
    # imports this module in a process of its own, this step alone needing it.
    from ratbehavior.validation import validate_dataset

    setup_tracking(cfg)
    report = validate_dataset(data_root, cfg.data, None)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(report.to_json())
    with mlflow.start_run(run_id=run_id):
        mlflow.log_artifact(str(out / "report.json"), "validation")
        if not report.ok:
            mlflow.set_tag("gate", "not run: data validation failed")
    if not report.ok:
        raise InputError(f"{data_root}: data validation failed; see the validation report of run {run_id}")


def features(run_id: str, cfg: Config, data_root: Path, out: Path) -> Path:
    """Aligned, featurised sessions in `out`, recorded as the run's dataset input."""
    setup_tracking(cfg)
    build_features(data_root, cfg.data, out, progress=False)
    sessions = load_feature_set(out)
    table = pd.DataFrame(
        {
            "session_id": [s.session_id for s in sessions],
            "animal": [s.animal for s in sessions],
            "frames": [int(s.frames.size) for s in sessions],
            "labelled_frames": [int(s.label_mask.sum()) for s in sessions],
        }
    )
    tags = mlflow.MlflowClient().get_run(run_id).data.tags
    md5 = tags["data_md5"].removesuffix(".dir")
    # The DVC remote serves the data when it is the version data.dvc records; else only its folder is known.
    in_remote = tags["data_md5"] == tags["data_dvc_md5"] and tags["data_remote"] != "unknown"
    source = tags["data_remote"].split(" ", 1)[-1] if in_remote else tags["data_path"]
    with mlflow.start_run(run_id=run_id):
        dataset = mlflow.data.from_pandas(table, source=source, name=f"sessions@{md5[:12]}", digest=md5[:12])
        mlflow.log_input(dataset, context="training")
    return out


def animals(features_dir: Path) -> list[str]:
    return sorted({s.animal for s in load_feature_set(features_dir)})


def start_fold(run_id: str, cfg: Config, features_dir: Path, held_out: str) -> str:
    """A nested run for one fold (`held_out` an animal) or for the model on all animals
    (`ALL_ANIMALS`); the fold's features are put where its Ray workers read them."""
    experiment_id = setup_tracking(cfg)
    name = ALL_ANIMALS if held_out == ALL_ANIMALS else f"fold-{held_out}"
    client = mlflow.MlflowClient()
    tags = {"mlflow.parentRunId": run_id, "held_out_animal": held_out}
    fold = client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
    upload_features(load_feature_set(features_dir), cfg.ray, fold)
    # Later steps reopen it by id to add their results.
    client.set_terminated(fold)
    return fold


def _holdout(held_out: str) -> list[str]:
    return [] if held_out == ALL_ANIMALS else [held_out]


def train(fold_run_id: str, cfg: Config, held_out: str, step: str, previous: str | None, progress: bool = False) -> str:
    """One step of a fold's training as a Ray Train job; returns its checkpoint. A step the
    configuration gives no epochs passes the previous checkpoint on ("" before the first that has)."""
    if step not in stage_names(cfg):
        return previous or ""
    if cfg.ray.address:
        return _train_on_cluster(fold_run_id, cfg, held_out, step, previous)
    uri = tracking_uri(cfg)
    experiment_id = setup_tracking(cfg)
    location = f"{storage(cfg.ray)[0]}/{fold_run_id}/features"
    steps = StepRuns(uri, experiment_id, fold_run_id)
    return run_step(step, location, cfg, _holdout(held_out), fold_run_id, previous or None, progress, step_runs=steps)


CHECKPOINT_MARK = "ratbehavior-checkpoint: "


def _train_on_cluster(fold_run_id: str, cfg: Config, held_out: str, step: str, previous: str | None) -> str:
    """The step as a Ray job on the cluster at `ray.address` (Jobs API): its driver runs `train` there,
    on that cluster's Ray, and prints the checkpoint it ends with."""
    on_cluster = cfg.model_copy(update={"ray": cfg.ray.model_copy(update={"address": None})})
    request = {"fold_run_id": fold_run_id, "config": config_to_dict(on_cluster), "held_out": held_out,
               "step": step, "previous": previous or ""}  # fmt: skip
    entrypoint = ["python", "-m", "ratbehavior.remote_step", json.dumps(request)]
    # The store this side resolved (MLFLOW_TRACKING_URI or the configuration), not the cluster's environment's.
    job, status, logs = submit_to_cluster(str(cfg.ray.address), entrypoint, {"MLFLOW_TRACKING_URI": tracking_uri(cfg)})
    marked = [line.removeprefix(CHECKPOINT_MARK) for line in logs.splitlines() if line.startswith(CHECKPOINT_MARK)]
    if status != "SUCCEEDED" or not marked:
        raise InputError(f"Ray job {job} for {step} on {cfg.ray.address} ended {status}")
    return marked[-1].strip()


def _save_fold(path: Path, score: FoldScore, training_seconds: float) -> None:
    passes = {"": score.predictions, "video_hidden/": score.video_hidden or []}
    arrays = {f"{prefix}{kind}/{p.session.session_id}": getattr(p, kind) for prefix, held in passes.items()
              for p in held for kind in ("probabilities", "decisions")}  # fmt: skip
    np.savez_compressed(path, **arrays)
    meta = {"inference_seconds": score.inference_seconds, "training_seconds": training_seconds,
            "sessions": [p.session.session_id for p in score.predictions]}  # fmt: skip
    path.with_suffix(".json").write_text(json.dumps(meta))


def _stored_predictions(stored: Mapping[str, np.ndarray], prefix: str, sessions: list[SessionData]) -> list[Prediction]:
    return [
        Prediction(s, stored[f"{prefix}probabilities/{s.session_id}"], stored[f"{prefix}decisions/{s.session_id}"])
        for s in sessions
    ]


def _load_fold(path: Path, sessions: dict[str, SessionData]) -> tuple[FoldScore, float]:
    meta = json.loads(path.with_suffix(".json").read_text())
    held_out = [sessions[i] for i in meta["sessions"]]
    blind = [restrict_modalities(s, use_pose=False, use_imu=True) for s in held_out]
    with np.load(path) as stored:
        held = _stored_predictions(stored, "", held_out)
        hidden = _stored_predictions(stored, "video_hidden/", blind)
    return fold_score(held, meta["inference_seconds"], hidden), meta["training_seconds"]


def evaluate_fold(fold_run_id: str, cfg: Config, features_dir: Path, held_out: str, checkpoint: str, out: Path) -> Path:
    """Score the held-out animal's sessions with the fold's model; the fold's metrics go to its run
    and its predictions to `out`/fold-<animal>.npz for the aggregate step."""
    setup_tracking(cfg)
    sessions = load_feature_set(features_dir)
    # One copy of the checkpoint gives the model and the hash of its weights after each step.
    with local_checkpoint(cfg, checkpoint) as folder:
        trained = train_model(sessions, cfg, [held_out], folder)
        digests = Checkpoints(folder).digests()
    score = score_fold(predictor_of(trained, cfg), [s for s in sessions if s.animal == held_out])
    metrics = frame_metrics(score.result.y_true, score.result.y_pred, sessions[0].behaviours)
    client = mlflow.MlflowClient()
    step_runs = client.search_runs(
        [client.get_run(fold_run_id).info.experiment_id], f"tags.mlflow.parentRunId = '{fold_run_id}'"
    )
    training_seconds = sum(r.data.metrics.get("seconds", 0.0) for r in step_runs)
    with mlflow.start_run(run_id=fold_run_id):
        # `reproduce` compares these to name the first step whose weights differ.
        mlflow.set_tags({f"{WEIGHTS_PREFIX}{step}": d for step, d in digests.items()})
        mlflow.log_metrics({"macro_f1": metrics["macro_f1"], "micro_f1": metrics["micro_f1"]})
        mlflow.log_metrics({f"f1.{b}": m["f1"] for b, m in metrics["per_behaviour"].items()})
        mlflow.log_metric(f"{TIME_PREFIX}training_s", training_seconds)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"fold-{held_out}.npz"
    _save_fold(path, score, training_seconds)
    return path


def aggregate(run_id: str, cfg: Config, features_dir: Path, fold_files: Sequence[Path], out: Path) -> GateResult:
    """Pool the folds: summary metrics, metrics.json and plots to the parent run, then the gate."""
    setup_tracking(cfg)
    sessions = {s.session_id: s for s in load_feature_set(features_dir)}
    scores, seconds = {}, {}
    for path in sorted(Path(p) for p in fold_files):
        animal = path.stem.removeprefix("fold-")
        scores[animal], seconds[animal] = _load_fold(path, sessions)
    behaviours = next(iter(sessions.values())).behaviours
    loao = summarise_scores(scores, behaviours, seconds, 1.0)
    written = write_evaluation(loao, out, cfg.data.grid_hz)
    gate = check_gate(loao.summary, cfg.tracking.gate)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(summary_metrics(loao.summary))
        mlflow.log_artifacts(str(written["metrics"].parent), "evaluation")
        mlflow.set_tags(
            {"gate": gate.verdict, "folds": ",".join(sorted(scores)), "worst_animal": loao.summary["worst_animal"],
             "registered_version": "pending" if gate.passed else "none: the gate failed"}
        )  # fmt: skip
    return gate


def label_efficiency(run_id: str, cfg: Config, features_dir: Path, animals: Sequence[str] | None) -> pd.DataFrame:
    """Leave-one-animal-out again with fewer labels (`evaluation.label_fractions`), as a table in the run."""
    setup_tracking(cfg)
    sessions = load_feature_set(features_dir)
    rows = []
    for fraction in sorted(cfg.evaluation.label_fractions):
        s = evaluate_loao(sessions, cfg, None, animals, fraction).summary
        rows.append(
            {"label_fraction": fraction, "macro_f1": s["macro_f1"], "micro_f1": s["micro_f1"],
             "worst_animal_f1": s["worst_animal_f1"], "without_video_f1": s["without_video"]["macro_f1"]}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_table(table, "label_efficiency.json")
        for row in rows:
            mlflow.log_metric("label_efficiency.macro_f1", row["macro_f1"], step=round(row["label_fraction"] * 100))
    return table


def export_model(run_id: str, cfg: Config, features_dir: Path, checkpoint: str, out: Path) -> str:
    """The model on all animals as a model directory in `out` and as the run's pyfunc model; returns its URI."""
    setup_tracking(cfg)
    sessions = load_feature_set(features_dir)
    model_dir = save_model_dir(trained_from_checkpoint(sessions, cfg, [], checkpoint), cfg, out)
    with mlflow.start_run(run_id=run_id):
        info = log_model_dir(model_dir, list(sessions[0].behaviours))
        mlflow.set_tags({"model_uri": info.model_uri, "model_dir": str(model_dir)})
    return info.model_uri


def register_model(run_id: str, cfg: Config, model_uri: str) -> str:
    """Register the run's model, which passed the gate, with its metrics and lineage as version tags."""
    setup_tracking(cfg)
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    if not run.data.tags.get("gate", "").startswith("passed"):
        raise InputError(f"run {run_id} did not pass the gate ({run.data.tags.get('gate', 'not run')}); not registered")
    tags = {k: f"{v:.6f}" for k, v in run.data.metrics.items() if not k.startswith(TIME_PREFIX)}
    tags |= {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
    version = register(client, cfg.tracking.model_name, model_uri, run_id, tags)
    client.set_tag(run_id, "registered_version", version)
    return version
