"""Leave-one-animal-out evaluation of the full training: per animal, train without its labels and
score its annotated frames."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ratbehavior.config import Config
from ratbehavior.data.dataset import SessionData
from ratbehavior.evaluation.cv import leave_one_animal_out
from ratbehavior.evaluation.metrics import FoldResult, summarise_folds
from ratbehavior.inference import Prediction, Predictor, predict_session, predictor_of
from ratbehavior.training.data import label_blocks
from ratbehavior.training.pipeline import train_model


def thin_labels(sessions: Sequence[SessionData], fraction: float, cfg: Config) -> list[SessionData]:
    """Keep about `fraction` of each session's labelled frames, in whole calibration-sized blocks,
    as if the annotators had labelled less (the label-efficiency curve)."""
    if fraction >= 1.0:
        return list(sessions)
    block = max(1, round(cfg.training.classifier.calibration_block_s * cfg.data.grid_hz))
    return [replace(s, label_mask=label_blocks(s, fraction, block, cfg.seed, "label-efficiency")) for s in sessions]


@dataclass
class FoldScore:
    result: FoldResult
    predictions: list[Prediction]
    frames: int
    inference_seconds: float


def score_fold(predictor: Predictor, test_sessions: Sequence[SessionData]) -> FoldScore:
    """Predict the held-out animal's sessions and keep its annotated frames for scoring."""
    started = time.perf_counter()
    held = [predict_session(predictor, s) for s in test_sessions]
    return fold_score(held, time.perf_counter() - started)


def fold_score(held: Sequence[Prediction], inference_seconds: float) -> FoldScore:
    labelled = [p.session.label_mask for p in held]
    result = FoldResult(
        y_true=np.concatenate([p.session.labels[m] for p, m in zip(held, labelled, strict=True)]),
        y_pred=np.concatenate([p.decisions[m] for p, m in zip(held, labelled, strict=True)]),
        video=np.concatenate([p.session.features.pose_mask[m] for p, m in zip(held, labelled, strict=True)]),
    )
    return FoldScore(result, list(held), sum(p.session.frames.size for p in held), inference_seconds)


@dataclass
class LoaoRun:
    summary: dict[str, Any]
    predictions: dict[str, list[Prediction]]  # held-out animal -> its sessions' predictions


def summarise_scores(
    scores: dict[str, FoldScore], behaviours: Sequence[str], seconds: dict[str, float], label_fraction: float
) -> LoaoRun:
    summary = summarise_folds({a: s.result for a, s in scores.items()}, behaviours)
    summary["training_seconds"] = seconds
    inference = sum(s.inference_seconds for s in scores.values())
    frames = sum(s.frames for s in scores.values())
    summary["inference_frames_per_s"] = frames / inference if inference else float("nan")
    summary["label_fraction"] = label_fraction
    return LoaoRun(summary, {a: s.predictions for a, s in scores.items()})


def evaluate_loao(
    sessions: Sequence[SessionData],
    cfg: Config,
    workdir: Path | None = None,
    animals: Sequence[str] | None = None,
    label_fraction: float = 1.0,
    progress: bool = False,
) -> LoaoRun:
    """`workdir` keeps each fold's checkpoints (fold-<animal>/), so an interrupted evaluation resumes.
    Labels are thinned (`label_fraction`) before each fold holds its animal out; scores always use
    every annotated frame of the held-out animal."""
    training = thin_labels(sessions, label_fraction, cfg)
    scores: dict[str, FoldScore] = {}
    seconds: dict[str, float] = {}
    by_id = {s.session_id: s for s in sessions}
    for fold in leave_one_animal_out({s.session_id: s.animal for s in sessions}, animals):
        checkpoints = None if workdir is None else workdir / f"fold-{fold.held_out}"
        trained = train_model(training, cfg, [fold.held_out], checkpoints, progress)
        seconds[fold.held_out] = trained.seconds
        scores[fold.held_out] = score_fold(predictor_of(trained, cfg), [by_id[i] for i in fold.test_sessions])
    return summarise_scores(scores, sessions[0].behaviours, seconds, label_fraction)
