"""The whole training run, recorded in MLflow: validate the data, leave-one-animal-out folds (each
fold's every step a Ray Train job), aggregate, gate, the model on all animals, and registration of
that model only if the folds passed the gate.

One parent run holds the configuration, lineage tags, dataset input, validation report, summary
metrics and plots; nested runs hold each fold and, under each fold or the final model, each Ray
Train step with its per-epoch losses.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from ratbehavior.config import Config, config_to_dict
from ratbehavior.data.dataset import SessionData, prepare_dataset
from ratbehavior.errors import InputError
from ratbehavior.evaluation.cv import leave_one_animal_out
from ratbehavior.evaluation.loao import FoldScore, LoaoRun, score_fold, summarise_scores, thin_labels
from ratbehavior.evaluation.metrics import frame_metrics
from ratbehavior.evaluation.report import write_evaluation
from ratbehavior.inference import predictor_of, save_model_dir
from ratbehavior.tracking.gate import GateResult, check_gate
from ratbehavior.tracking.lineage import lineage_tags
from ratbehavior.tracking.pyfunc import log_model_dir
from ratbehavior.tracking.registry import register
from ratbehavior.tracking.runs import StepRuns, setup_tracking, tracking_uri
from ratbehavior.training.ray_launcher import train_on_ray
from ratbehavior.validation import validate_dataset

# Metrics that measure time, not quality: a reproduction compares every metric but these.
TIME_PREFIX = "time."


@dataclass(frozen=True)
class WorkflowResult:
    run_id: str
    summary: dict[str, Any]
    gate: GateResult
    model_dir: Path
    version: str | None  # the registered version, None if the gate failed


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = json.dumps(value)
    return flat


def summary_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The leave-one-animal-out summary as flat MLflow metrics."""
    metrics = {
        "macro_f1": summary["macro_f1"], "micro_f1": summary["micro_f1"],
        "worst_animal_f1": summary["worst_animal_f1"],
        "with_video_f1": summary["with_video"]["macro_f1"], "without_video_f1": summary["without_video"]["macro_f1"],
    }  # fmt: skip
    metrics |= {f"fold_f1.{a}": m["macro_f1"] for a, m in summary["folds"].items()}
    metrics |= {f"f1.{b}": m["f1"] for b, m in summary["pooled"]["per_behaviour"].items()}
    metrics |= {f"{TIME_PREFIX}training_s.{a}": s for a, s in summary["training_seconds"].items()}
    metrics[f"{TIME_PREFIX}inference_frames_per_s"] = summary["inference_frames_per_s"]
    return metrics


def _log_dataset(sessions: Sequence[SessionData], tags: dict[str, str]) -> None:
    table = pd.DataFrame(
        {
            "session_id": [s.session_id for s in sessions],
            "animal": [s.animal for s in sessions],
            "frames": [int(s.frames.size) for s in sessions],
            "labelled_frames": [int(s.label_mask.sum()) for s in sessions],
        }
    )
    md5 = tags["data_md5"].removesuffix(".dir")
    # The DVC remote serves the data when it is the version data.dvc records; else only its folder is known.
    in_remote = tags["data_md5"] == tags["data_dvc_md5"] and tags["data_remote"] != "unknown"
    source = tags["data_remote"].split(" ", 1)[-1] if in_remote else tags["data_path"]
    dataset = mlflow.data.from_pandas(table, source=source, name=f"sessions@{md5[:12]}", digest=md5[:12])
    mlflow.log_input(dataset, context="training")


def _loao(
    sessions: Sequence[SessionData],
    cfg: Config,
    animals: Sequence[str] | None,
    label_fraction: float,
    experiment_id: str,
    progress: bool,
) -> LoaoRun:
    """Leave-one-animal-out with every fold's training on Ray, one nested run per fold."""
    training = thin_labels(sessions, label_fraction, cfg)
    by_id = {s.session_id: s for s in sessions}
    behaviours = sessions[0].behaviours
    scores: dict[str, FoldScore] = {}
    seconds: dict[str, float] = {}
    suffix = "" if label_fraction >= 1.0 else f"-labels{label_fraction:g}"
    for fold in leave_one_animal_out({s.session_id: s.animal for s in sessions}, animals):
        with mlflow.start_run(run_name=f"fold-{fold.held_out}{suffix}", nested=True) as run:
            mlflow.set_tags({"held_out_animal": fold.held_out, "label_fraction": str(label_fraction)})
            steps = StepRuns(tracking_uri(cfg), experiment_id, run.info.run_id)
            trained = train_on_ray(
                training, cfg, [fold.held_out], run_name=run.info.run_id, progress=progress, step_runs=steps
            )
            seconds[fold.held_out] = trained.seconds
            score = score_fold(predictor_of(trained, cfg), [by_id[i] for i in fold.test_sessions])
            metrics = frame_metrics(score.result.y_true, score.result.y_pred, behaviours)
            mlflow.log_metrics({"macro_f1": metrics["macro_f1"], "micro_f1": metrics["micro_f1"]})
            mlflow.log_metrics({f"f1.{b}": m["f1"] for b, m in metrics["per_behaviour"].items()})
            mlflow.log_metric(f"{TIME_PREFIX}training_s", trained.seconds)
            scores[fold.held_out] = score
    return summarise_scores(scores, behaviours, seconds, label_fraction)


def _label_efficiency(
    sessions: Sequence[SessionData], cfg: Config, animals: Sequence[str] | None, full: LoaoRun, experiment_id: str
) -> pd.DataFrame:
    rows = []
    for fraction in sorted(cfg.evaluation.label_fractions):
        run = full if fraction >= 1.0 else _loao(sessions, cfg, animals, fraction, experiment_id, progress=False)
        s = run.summary
        rows.append(
            {"label_fraction": fraction, "macro_f1": s["macro_f1"], "micro_f1": s["micro_f1"],
             "worst_animal_f1": s["worst_animal_f1"], "without_video_f1": s["without_video"]["macro_f1"]}
        )  # fmt: skip
        mlflow.log_metric("label_efficiency.macro_f1", s["macro_f1"], step=round(fraction * 100))
    return pd.DataFrame(rows)


def run_workflow(
    data_root: Path,
    cfg: Config,
    out: Path,
    repo: Path = Path("."),
    animals: Sequence[str] | None = None,
    extra_tags: dict[str, str] | None = None,
    progress: bool = True,
) -> WorkflowResult:
    """Run everything and record it; `out` receives the evaluation files and the final model
    directory. `animals` limits the folds (default: every animal). `extra_tags` override lineage
    tags (a reproduction names the data version it fetched and the run it reproduces)."""
    experiment_id = setup_tracking(cfg)
    tags = lineage_tags(repo, cfg, data_root) | (extra_tags or {})
    with mlflow.start_run(run_name=f"train-{tags['config_hash'][:8]}", tags=tags) as parent:
        mlflow.log_dict(config_to_dict(cfg), "config.yaml")
        mlflow.log_params(_flat(config_to_dict(cfg)))
        with tempfile.TemporaryDirectory() as tmp:
            report = validate_dataset(data_root, cfg.data, None)
            (Path(tmp) / "report.json").write_text(report.to_json())
            mlflow.log_artifact(str(Path(tmp) / "report.json"), "validation")
        if not report.ok:
            mlflow.set_tag("gate", "not run: data validation failed")
            raise InputError(
                f"{data_root}: data validation failed; see the validation report of run {parent.info.run_id}"
            )
        sessions = prepare_dataset(data_root, cfg.data, progress=progress)
        _log_dataset(sessions, tags)

        loao = _loao(sessions, cfg, animals, 1.0, experiment_id, progress)
        summary = loao.summary
        mlflow.log_metrics(summary_metrics(summary))
        evaluation = write_evaluation(loao, out / "evaluation", cfg.data.grid_hz)
        mlflow.log_artifacts(str(evaluation["metrics"].parent), "evaluation")
        if cfg.evaluation.label_fractions:
            mlflow.log_table(_label_efficiency(sessions, cfg, animals, loao, experiment_id), "label_efficiency.json")
        gate = check_gate(summary, cfg.tracking.gate)
        mlflow.set_tags({"gate": gate.verdict, "folds": ",".join(sorted(summary["folds"]))})

        with mlflow.start_run(run_name="all-animals", nested=True) as final:
            steps = StepRuns(tracking_uri(cfg), experiment_id, final.info.run_id)
            trained = train_on_ray(sessions, cfg, [], run_name=final.info.run_id, progress=progress, step_runs=steps)
        model_dir = save_model_dir(trained, cfg, out / "model")
        info = log_model_dir(model_dir, list(sessions[0].behaviours))
        version = None
        if gate.passed:
            version_tags = {k: f"{v:.6f}" for k, v in summary_metrics(summary).items() if not k.startswith(TIME_PREFIX)}
            version_tags |= {"worst_animal": summary["worst_animal"]}
            version_tags |= {k: v for k, v in tags.items() if not k.startswith("mlflow.")}
            version = register(
                mlflow.MlflowClient(), cfg.tracking.model_name, info.model_uri, parent.info.run_id, version_tags
            )
            mlflow.set_tag("registered_version", version)
        else:
            mlflow.set_tag("registered_version", "none: the gate failed")
    return WorkflowResult(parent.info.run_id, summary, gate, model_dir, version)
