"""The whole training: stage 1 -> stage 2 -> stage 3 -> classifier -> R pseudo-label rounds
(stage 3 again on real plus confident labels, then the classifier again)."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ratbehavior.config import Config, config_hash
from ratbehavior.data.dataset import SessionData
from ratbehavior.errors import InputError
from ratbehavior.model.network import ModelDims, RatBehaviourNet, build_model
from ratbehavior.training.checkpoint import Checkpoints, seed_everything
from ratbehavior.training.classifier import Calibration, confident_pseudo_labels, fit_classifier, shortest_bouts
from ratbehavior.training.data import prepare_training_data
from ratbehavior.training.loop import EpochHook, TrainContext, run_stage
from ratbehavior.training.stages import StageData, align_plan, finetune_plan, pretrain_plan


@dataclass
class TrainedModel:
    model: RatBehaviourNet
    calibration: Calibration
    slots: dict[str, int]
    behaviours: tuple[str, ...]
    feature_names: dict[str, list[str]]
    holdout_animals: tuple[str, ...]
    history: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    pseudo_labelled_frames: list[int] = field(default_factory=list)
    seconds: float = 0.0
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)


def model_dims(sessions: Sequence[SessionData], n_sessions: int) -> ModelDims:
    f = sessions[0].features
    return ModelDims(f.pose.shape[1], f.imu.shape[1], len(sessions[0].behaviours), n_sessions)


def check_sessions(sessions: Sequence[SessionData], holdout_animals: Sequence[str]) -> None:
    if not sessions:
        raise InputError("no sessions to train on")
    animals = {s.animal for s in sessions}
    unknown = sorted(set(holdout_animals) - animals)
    if unknown:
        raise InputError(f"held-out animal(s) {unknown} not in the data: animals are {sorted(animals)}")
    names = {(s.features.pose_names, s.features.imu_names, s.behaviours) for s in sessions}
    if len(names) > 1:
        raise InputError("sessions differ in their feature names or behaviours: build them with one configuration")


def _claim_checkpoints(
    folder: Path | None, cfg: Config, sessions: Sequence[SessionData], holdout: Sequence[str]
) -> None:
    """Checkpoints resume only the training that wrote them: same configuration, sessions and held-out animals."""
    if folder is None:
        return
    identity = {
        "config_hash": config_hash(cfg),
        "sessions": sorted(s.session_id for s in sessions),
        "labelled_frames": int(sum(s.label_mask.sum() for s in sessions)),
        "holdout_animals": sorted(holdout),
    }
    marker = folder / "training.json"
    if marker.is_file() and json.loads(marker.read_text()) != identity:
        raise InputError(
            f"{folder}: its checkpoints belong to another training (configuration, data or held-out animals "
            "differ); choose another folder or delete this one"
        )
    folder.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(identity, indent=1) + "\n")


def _warn_of_missing_labels(counts: dict[str, dict[str, int]]) -> None:
    """A behaviour without a labelled frame to fit cannot be learnt, and one without a calibration
    frame keeps an uncalibrated threshold: both are silent otherwise, and both mean labelling more."""
    for side, consequence in (
        ("fit", "the model cannot learn them"),
        ("calibration", "their thresholds are not tuned (they stay at 0.5)"),
    ):
        missing = [b for b, n in counts.items() if n[side] == 0]
        if missing:
            warnings.warn(f"no labelled {side} frame of {', '.join(missing)}: {consequence}", stacklevel=3)


def stage_names(cfg: Config) -> list[str]:
    """The checkpointed steps of a training that do any work, in order: each is one Ray Train job
    (a stage with no epochs needs none; the next job passes through it)."""
    t = cfg.training
    epochs = {"stage1": t.pretrain.epochs, "stage2": t.align.epochs, "stage3": t.finetune.epochs, "classifier": 1}
    rounds = [f"{kind}_round{r}" for r in range(1, t.pseudo_labels.rounds + 1) for kind in ("stage3", "classifier")]
    return [name for name, n in epochs.items() if n > 0] + rounds


def train_model(
    sessions: Sequence[SessionData],
    cfg: Config,
    holdout_animals: Sequence[str] = (),
    checkpoint_dir: Path | None = None,
    progress: bool = False,
    hooks: Sequence[EpochHook] = (),
    checkpoints: Checkpoints | None = None,
    stop_after: str | None = None,
) -> TrainedModel | None:
    """Train on `sessions` without the labels of `holdout_animals`. With `checkpoint_dir` (or another
    `checkpoints` store), every stage checkpoints each epoch and a rerun resumes from the last
    checkpoint to the same result; completed stages are loaded, not run. `stop_after` (a name of
    `stage_names`) ends the training there and returns None: the Ray launcher runs one step per job."""
    started = time.perf_counter()
    check_sessions(sessions, holdout_animals)
    store = checkpoints or Checkpoints(checkpoint_dir)
    _claim_checkpoints(store.folder, cfg, sessions, holdout_animals)
    t = cfg.training
    ctx = TrainContext(cfg.seed, store, t.max_grad_norm, progress, list(hooks))
    data = prepare_training_data(sessions, cfg, holdout_animals)
    if data.labelled_frames == 0:
        raise InputError("no labelled frames left for training once held-out animals and calibration are set aside")
    labelled = data.label_counts()
    _warn_of_missing_labels(labelled)
    seed_everything(cfg.seed, "init")
    model = build_model(cfg.model, model_dims(data.sessions, len(data.slots)))
    stage_data = StageData(data.sessions, data.slots, t.window, t.stride)
    history: dict[str, list[dict[str, float]]] = {}

    model.unfreeze_all()
    history["stage1"] = run_stage(ctx, "stage1", model, t.pretrain, pretrain_plan(model, stage_data, cfg))
    if stop_after == "stage1":
        return None
    model.freeze_encoders()
    history["stage2"] = run_stage(ctx, "stage2", model, t.align, align_plan(model, stage_data, cfg))
    if stop_after == "stage2":
        return None
    model.unfreeze_all()
    history["stage3"] = run_stage(ctx, "stage3", model, t.finetune, finetune_plan(model, stage_data, cfg))
    if stop_after == "stage3":
        return None
    # Pseudo-labels of later rounds can form bouts no annotator marked: bounds come from real labels.
    shortest = shortest_bouts(data.sessions)
    history["classifier"], calibration = fit_classifier(
        ctx, "classifier", model, stage_data, data.calibration, cfg, shortest
    )
    if stop_after == "classifier":
        return None

    counts = []
    round_stage = t.finetune.model_copy(update={"epochs": t.pseudo_labels.finetune_epochs})
    for r in range(1, t.pseudo_labels.rounds + 1):
        extended, n = confident_pseudo_labels(
            model, stage_data, data.calibration, calibration, t.pseudo_labels.confidence, t.inference_batch
        )
        counts.append(n)
        round_data = StageData(extended, data.slots, t.window, t.stride)
        model.unfreeze_all()
        history[f"stage3_round{r}"] = run_stage(
            ctx, f"stage3_round{r}", model, round_stage, finetune_plan(model, round_data, cfg)
        )
        if stop_after == f"stage3_round{r}":
            return None
        history[f"classifier_round{r}"], calibration = fit_classifier(
            ctx, f"classifier_round{r}", model, round_data, data.calibration, cfg, shortest
        )
        if stop_after == f"classifier_round{r}":
            return None
    model.eval()
    f = sessions[0].features
    return TrainedModel(
        model=model,
        calibration=calibration,
        slots=data.slots,
        behaviours=data.behaviours,
        feature_names={"pose": list(f.pose_names), "imu": list(f.imu_names)},
        holdout_animals=tuple(holdout_animals),
        history=history,
        pseudo_labelled_frames=counts,
        seconds=time.perf_counter() - started,
        label_counts=labelled,
    )
