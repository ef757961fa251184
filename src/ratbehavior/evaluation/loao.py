"""Leave-one-animal-out evaluation of the full training: per animal, train without its labels and
score its annotated frames."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ratbehavior.config import Config
from ratbehavior.cpu_kernels import active_kernels, cpu_name, mkl_branch
from ratbehavior.data.dataset import SessionData
from ratbehavior.evaluation.cv import leave_one_animal_out
from ratbehavior.evaluation.metrics import FoldResult, summarise_folds
from ratbehavior.inference import Prediction, Predictor, predict_session, predictor_of
from ratbehavior.training.checkpoint import Checkpoints
from ratbehavior.training.data import label_blocks, restrict_modalities
from ratbehavior.training.pipeline import stage_names, train_model

# Blocks of labels kept by the label-efficiency curve. Shorter than calibration's blocks: a session
# holds only a few 10 s blocks of labels, and drawn at 5 or 10 % most sessions kept none, which left
# a fold with no labelled frame to train on.
THINNING_BLOCK_S = 2.0


def thin_labels(sessions: Sequence[SessionData], fraction: float, cfg: Config) -> list[SessionData]:
    """Keep `fraction` of each session's labelled frames (at least one block), in whole 2 s blocks, as
    if the annotators had labelled less (the label-efficiency curve)."""
    if fraction >= 1.0:
        return list(sessions)
    block = max(1, round(THINNING_BLOCK_S * cfg.data.grid_hz))
    return [
        replace(s, label_mask=label_blocks(s, fraction, block, cfg.seed, "label-efficiency", exact=True))
        for s in sessions
    ]


@dataclass
class FoldScore:
    result: FoldResult
    predictions: list[Prediction]
    frames: int
    inference_seconds: float
    video_hidden: list[Prediction] | None = None  # the same sessions predicted with their video hidden


def score_fold(predictor: Predictor, test_sessions: Sequence[SessionData]) -> FoldScore:
    """Predict the held-out animal's sessions, and again with their video hidden, and keep their
    annotated frames for scoring. Only the first pass is timed."""
    started = time.perf_counter()
    held = [predict_session(predictor, s) for s in test_sessions]
    seconds = time.perf_counter() - started
    hidden = [predict_session(predictor, restrict_modalities(s, use_pose=False, use_imu=True)) for s in test_sessions]
    return fold_score(held, seconds, hidden)


def fold_score(
    held: Sequence[Prediction], inference_seconds: float, video_hidden: Sequence[Prediction] | None = None
) -> FoldScore:
    labelled = [p.session.label_mask for p in held]
    result = FoldResult(
        y_true=np.concatenate([p.session.labels[m] for p, m in zip(held, labelled, strict=True)]),
        y_pred=np.concatenate([p.decisions[m] for p, m in zip(held, labelled, strict=True)]),
        video=np.concatenate([p.session.features.pose_mask[m] for p, m in zip(held, labelled, strict=True)]),
        y_pred_video_hidden=None
        if video_hidden is None
        else np.concatenate([p.decisions[m] for p, m in zip(video_hidden, labelled, strict=True)]),
    )
    frames = sum(p.session.frames.size for p in held)
    return FoldScore(
        result, list(held), frames, inference_seconds, None if video_hidden is None else list(video_hidden)
    )


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


def _train_and_score(
    training: Sequence[SessionData],
    cfg: Config,
    held_out: str,
    test_sessions: Sequence[SessionData],
    checkpoints: Path | None,
    progress: bool,
) -> tuple[FoldScore, float]:
    trained = train_model(training, cfg, [held_out], checkpoints, progress)
    return score_fold(predictor_of(trained, cfg), test_sessions), trained.seconds


def evaluate_loao(
    sessions: Sequence[SessionData],
    cfg: Config,
    workdir: Path | None = None,
    animals: Sequence[str] | None = None,
    label_fraction: float = 1.0,
    progress: bool = False,
    jobs: int = 1,
) -> LoaoRun:
    """`workdir` keeps each fold's checkpoints (fold-<animal>/), so an interrupted evaluation resumes.
    Labels are thinned (`label_fraction`) before each fold holds its animal out; scores always use
    every annotated frame of the held-out animal.

    `jobs` > 1 trains that many folds at once, each in its own process with an equal share of torch's
    threads: on 2 cores, two folds at one thread each finish sooner than one after the other at two.
    A fold's result depends on its thread count, not on the order or the process it runs in, so
    `summary["torch_threads"]`, `summary["cpu_kernels"]`, `summary["mkl_branch"]` and `summary["cpu"]` are
    recorded to compare runs,
    and with a `workdir`, the hash of each fold's weights after each stage (`summary["stage_digests"]`)."""
    training = thin_labels(sessions, label_fraction, cfg)
    by_id = {s.session_id: s for s in sessions}
    tasks = {
        fold.held_out: (
            training, cfg, fold.held_out, [by_id[i] for i in fold.test_sessions],
            None if workdir is None else workdir / f"fold-{fold.held_out}",
        )
        for fold in leave_one_animal_out({s.session_id: s.animal for s in sessions}, animals)
    }  # fmt: skip
    threads = max(1, torch.get_num_threads() // max(1, jobs))
    if jobs <= 1:
        done = {animal: _train_and_score(*task, progress) for animal, task in tasks.items()}
    else:
        # Spawned, not forked: forking once torch has started its thread pool can hang the child.
        context = get_context("spawn")
        with ProcessPoolExecutor(jobs, context, initializer=torch.set_num_threads, initargs=(threads,)) as pool:
            futures = {pool.submit(_train_and_score, *task, False): animal for animal, task in tasks.items()}
            done = {}
            for future in tqdm(as_completed(futures), total=len(futures), desc="folds", disable=not progress):
                done[futures[future]] = future.result()
    scores = {animal: done[animal][0] for animal in tasks}
    seconds = {animal: done[animal][1] for animal in tasks}
    run = summarise_scores(scores, sessions[0].behaviours, seconds, label_fraction)
    run.summary["torch_threads"] = threads
    run.summary["cpu_kernels"] = active_kernels()
    run.summary["cpu"] = cpu_name()
    run.summary["mkl_branch"] = mkl_branch()
    if workdir is not None:
        # A fold folder can hold more than this training: the later members of a larger ensemble.
        steps = set(stage_names(cfg))
        run.summary["stage_digests"] = {
            a: {step: d for step, d in Checkpoints(workdir / f"fold-{a}").digests().items() if step in steps}
            for a in tasks
        }
    # At small fractions the one-block minimum per session keeps more than asked.
    run.summary["label_share_kept"] = float(
        sum(s.label_mask.sum() for s in training) / max(1, sum(s.label_mask.sum() for s in sessions))
    )
    return run
