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
from ratbehavior.inference import Prediction, predict_session, predictor_of
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
class LoaoRun:
    summary: dict[str, Any]
    predictions: dict[str, list[Prediction]]  # held-out animal -> its sessions' predictions


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
    folds: dict[str, FoldResult] = {}
    predictions: dict[str, list[Prediction]] = {}
    seconds: dict[str, float] = {}
    frames, inference_time = 0, 0.0
    by_id = {s.session_id: s for s in sessions}
    for fold in leave_one_animal_out({s.session_id: s.animal for s in sessions}, animals):
        checkpoints = None if workdir is None else workdir / f"fold-{fold.held_out}"
        trained = train_model(training, cfg, [fold.held_out], checkpoints, progress)
        seconds[fold.held_out] = trained.seconds
        predictor = predictor_of(trained, cfg)
        started = time.perf_counter()
        held = [predict_session(predictor, by_id[i]) for i in fold.test_sessions]
        inference_time += time.perf_counter() - started
        frames += sum(p.session.frames.size for p in held)
        predictions[fold.held_out] = held
        labelled = [p.session.label_mask for p in held]
        folds[fold.held_out] = FoldResult(
            y_true=np.concatenate([p.session.labels[m] for p, m in zip(held, labelled, strict=True)]),
            y_pred=np.concatenate([p.decisions[m] for p, m in zip(held, labelled, strict=True)]),
            video=np.concatenate([p.session.features.pose_mask[m] for p, m in zip(held, labelled, strict=True)]),
        )
    summary = summarise_folds(folds, sessions[0].behaviours)
    summary["training_seconds"] = seconds
    summary["inference_frames_per_s"] = frames / inference_time if inference_time else float("nan")
    summary["label_fraction"] = label_fraction
    return LoaoRun(summary, predictions)
