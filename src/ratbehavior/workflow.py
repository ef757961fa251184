"""The whole tracked training in one process: the steps of `ratbehavior.steps` in order, as the
Kubeflow pipeline runs them as components. Validate the data, build features, leave-one-animal-out
folds (every step of every fold a Ray Train job), aggregate and gate, the model on all animals, and
its registration only if the folds passed the gate."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ratbehavior import steps
from ratbehavior.config import Config
from ratbehavior.tracking.gate import GateResult
from ratbehavior.training.pipeline import stage_names


@dataclass(frozen=True)
class WorkflowResult:
    run_id: str
    summary: dict[str, Any]
    gate: GateResult
    model_dir: Path
    version: str | None  # the registered version, None if the gate failed


def _train(fold_run_id: str, cfg: Config, held_out: str, progress: bool) -> str:
    checkpoint = None
    for step in stage_names(cfg):
        checkpoint = steps.train(fold_run_id, cfg, held_out, step, checkpoint, progress)
    assert checkpoint is not None  # stage_names always holds the classifier
    return checkpoint


def run_workflow(
    data_root: Path,
    cfg: Config,
    out: Path,
    repo: Path = Path("."),
    animals: Sequence[str] | None = None,
    extra_tags: dict[str, str] | None = None,
    progress: bool = True,
) -> WorkflowResult:
    """Run everything and record it; `out` receives features, fold predictions, the evaluation files
    and the final model directory. `animals` limits the folds (default: every animal). `extra_tags`
    are added to the lineage (a reproduction names the run it reproduces)."""
    run_id = steps.start_run(cfg, repo, data_root, extra_tags)
    steps.validate(run_id, cfg, data_root, out / "validation")
    features = steps.features(run_id, cfg, data_root, out / "features")
    fold_files = []
    for animal in animals or steps.animals(features):
        fold = steps.start_fold(run_id, cfg, features, animal)
        checkpoint = _train(fold, cfg, animal, progress)
        fold_files.append(steps.evaluate_fold(fold, cfg, features, animal, checkpoint, out / "folds"))
    gate = steps.aggregate(run_id, cfg, features, fold_files, out / "evaluation")
    if cfg.evaluation.label_fractions:
        steps.label_efficiency(run_id, cfg, features, animals)
    final = steps.start_fold(run_id, cfg, features, steps.ALL_ANIMALS)
    checkpoint = _train(final, cfg, steps.ALL_ANIMALS, progress)
    model_uri = steps.export_model(run_id, cfg, features, checkpoint, out / "model")
    version = steps.register_model(run_id, cfg, model_uri) if gate.passed else None
    summary = json.loads((out / "evaluation" / "metrics.json").read_text())
    return WorkflowResult(run_id, summary, gate, out / "model", version)
