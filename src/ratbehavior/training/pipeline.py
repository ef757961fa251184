"""The whole training: stage 1 -> stage 2 -> stage 3 -> classifier -> R pseudo-label rounds
(stage 3 again on real plus confident labels, then the classifier again)."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ratbehavior.config import Config, config_to_dict, tree_hash
from ratbehavior.data.dataset import SessionData
from ratbehavior.errors import InputError
from ratbehavior.model.ensemble import Model, assemble
from ratbehavior.model.network import ModelDims, RatBehaviourNet, build_model
from ratbehavior.training.checkpoint import Checkpoints, seed_everything
from ratbehavior.training.classifier import (
    Calibration,
    calibrate_model,
    confident_pseudo_labels,
    fit_classifier,
    shortest_bouts,
)
from ratbehavior.training.data import TrainData, prepare_training_data
from ratbehavior.training.loop import EpochHook, TrainContext, run_stage
from ratbehavior.training.stages import StageData, align_plan, finetune_plan, pretrain_plan


@dataclass
class TrainedModel:
    model: Model
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
    # An ensemble's members train alike whatever their number: a training with more members resumes
    # one with fewer (its first members are done), so the identity leaves the count out. Folders
    # written before the setting existed hold one network's training, and so stay valid.
    tree = config_to_dict(cfg)
    del tree["training"]["members"]
    identity = {
        "config_hash": tree_hash(tree),
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


def member_prefix(member: int) -> str:
    """What names an ensemble member's stages: nothing for the first, so that a one-network training
    and the first member of an ensemble share their checkpoints."""
    return f"member{member}_" if member else ""


def stage_names(cfg: Config) -> list[str]:
    """The checkpointed steps of a training that do any work, in order: each is one Ray Train job
    (a stage with no epochs needs none; the next job passes through it). An ensemble's members train
    one after the other."""
    return [step for k in range(cfg.training.members) for step in _member_steps(cfg, k)]


def _member_steps(cfg: Config, member: int) -> list[str]:
    t = cfg.training
    epochs = {"stage1": t.pretrain.epochs, "stage2": t.align.epochs, "stage3": t.finetune.epochs, "classifier": 1}
    rounds = [f"{kind}_round{r}" for r in range(1, t.pseudo_labels.rounds + 1) for kind in ("stage3", "classifier")]
    return [member_prefix(member) + name for name in [name for name, n in epochs.items() if n > 0] + rounds]


@dataclass
class _Member:
    model: RatBehaviourNet
    calibration: Calibration
    history: dict[str, list[dict[str, float]]]
    pseudo_labelled_frames: list[int]


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
    `stage_names`) ends the training there and returns None: the Ray launcher runs one step per job.
    With `training.members` above 1, member k trains as under seed `seed + k` would, on the same
    calibration split, and the members' averaged logits are calibrated as one model's."""
    started = time.perf_counter()
    check_sessions(sessions, holdout_animals)
    store = checkpoints or Checkpoints(checkpoint_dir)
    _claim_checkpoints(store.folder, cfg, sessions, holdout_animals)
    t = cfg.training
    data = prepare_training_data(sessions, cfg, holdout_animals)
    if data.labelled_frames == 0:
        raise InputError("no labelled frames left for training once held-out animals and calibration are set aside")
    labelled = data.label_counts()
    _warn_of_missing_labels(labelled)
    stage_data = StageData(data.sessions, data.slots, t.window, t.stride)
    # Pseudo-labels of later rounds can form bouts no annotator marked: bounds come from real labels.
    shortest = shortest_bouts(data.sessions)
    # Members train independently: a job that stops inside member k need not load the ones before it.
    first = next((k for k in range(t.members) if stop_after in _member_steps(cfg, k)), 0)
    members = []
    for k in range(first, t.members):
        ctx = TrainContext(cfg.seed + k, store, t.max_grad_norm, progress, list(hooks), member_prefix(k))
        member = _train_member(ctx, data, stage_data, cfg, shortest, stop_after)
        if member is None:
            return None
        members.append(member)
    model = assemble([m.model for m in members])
    model.eval()
    calibration = (
        members[0].calibration
        if len(members) == 1
        else calibrate_model(model, stage_data, data.calibration, cfg, shortest)
    )
    f = sessions[0].features
    return TrainedModel(
        model=model,
        calibration=calibration,
        slots=data.slots,
        behaviours=data.behaviours,
        feature_names={"pose": list(f.pose_names), "imu": list(f.imu_names)},
        holdout_animals=tuple(holdout_animals),
        history={name: h for m in members for name, h in m.history.items()},
        pseudo_labelled_frames=[n for m in members for n in m.pseudo_labelled_frames],
        seconds=time.perf_counter() - started,
        label_counts=labelled,
    )


def _train_member(
    ctx: TrainContext,
    data: TrainData,
    stage_data: StageData,
    cfg: Config,
    shortest: np.ndarray,
    stop_after: str | None,
) -> _Member | None:
    """One network through stages 1-3, the classifier and the rounds; None once `stop_after` is done."""
    t = cfg.training
    history: dict[str, list[dict[str, float]]] = {}

    def done(step: str) -> bool:
        return stop_after == ctx.prefix + step

    seed_everything(ctx.seed, "init")
    model = build_model(cfg.model, model_dims(data.sessions, len(data.slots)))
    model.unfreeze_all()
    history[ctx.prefix + "stage1"] = run_stage(ctx, "stage1", model, t.pretrain, pretrain_plan(model, stage_data, cfg))
    if done("stage1"):
        return None
    model.freeze_encoders()
    history[ctx.prefix + "stage2"] = run_stage(ctx, "stage2", model, t.align, align_plan(model, stage_data, cfg))
    if done("stage2"):
        return None
    model.unfreeze_all()
    history[ctx.prefix + "stage3"] = run_stage(ctx, "stage3", model, t.finetune, finetune_plan(model, stage_data, cfg))
    if done("stage3"):
        return None
    history[ctx.prefix + "classifier"], calibration = fit_classifier(
        ctx, "classifier", model, stage_data, data.calibration, cfg, shortest
    )
    if done("classifier"):
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
        history[f"{ctx.prefix}stage3_round{r}"] = run_stage(
            ctx, f"stage3_round{r}", model, round_stage, finetune_plan(model, round_data, cfg)
        )
        if done(f"stage3_round{r}"):
            return None
        history[f"{ctx.prefix}classifier_round{r}"], calibration = fit_classifier(
            ctx, f"classifier_round{r}", model, round_data, data.calibration, cfg, shortest
        )
        if done(f"classifier_round{r}"):
            return None
    return _Member(model, calibration, history, counts)
