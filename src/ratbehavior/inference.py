"""Self-contained model directories, and a model + a session folder -> per-frame predictions.

A model directory holds `weights.pt` (the state dict) and `model.json`: the whole configuration
(data settings included, so a session is featurised exactly as in training; features are normalised
per session, so the statistics are the session's own), the network's sizes, the vocabulary and
feature names, the session slots, the calibration and thresholds, and the package version.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ratbehavior.config import Config
from ratbehavior.data.dataset import SessionData, prepare_session
from ratbehavior.data.session import open_session
from ratbehavior.errors import DataContractError, InputError
from ratbehavior.model.adapters import UNKNOWN_SESSION
from ratbehavior.model.ensemble import Model, build_members, networks
from ratbehavior.model.network import ModelDims
from ratbehavior.model.sliding import run_session
from ratbehavior.training.checkpoint import Checkpoints, seed_everything
from ratbehavior.training.classifier import Calibration
from ratbehavior.training.config import StageConfig
from ratbehavior.training.data import restrict_modalities
from ratbehavior.training.loop import TrainContext, run_stage
from ratbehavior.training.pipeline import TrainedModel
from ratbehavior.training.stages import StageData, pretrain_plan

FORMAT_VERSION = 1
WEIGHTS, MANIFEST = "weights.pt", "model.json"


class ModelDirError(InputError):
    """A model directory that is missing, incomplete or from an incompatible version."""


@dataclass
class Predictor:
    model: Model
    calibration: Calibration
    config: Config
    slots: dict[str, int]
    behaviours: tuple[str, ...]
    feature_names: dict[str, list[str]]


def save_model_dir(trained: TrainedModel, cfg: Config, out: Path, extra: dict[str, Any] | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    torch.save(trained.model.state_dict(), out / WEIGHTS)
    manifest = {
        "format_version": FORMAT_VERSION,
        "package_version": version("ratbehavior"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": cfg.model_dump(mode="json"),
        "dims": asdict(trained.model.dims),
        "behaviours": list(trained.behaviours),
        "feature_names": trained.feature_names,
        "slots": trained.slots,
        "calibration": trained.calibration.to_dict(),
        "holdout_animals": list(trained.holdout_animals),
        "pseudo_labelled_frames": trained.pseudo_labelled_frames,
        "labelled_frames": trained.label_counts,
        "training_seconds": round(trained.seconds, 1),
        "history": trained.history,
        **(extra or {}),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return out


def resolve_model(reference: str) -> Predictor:
    """A model directory, or a registry URI (models:/<name>@<alias>) in the tracking store that
    MLFLOW_TRACKING_URI names (else the default configuration's)."""
    if reference.startswith("models:/"):
        import mlflow

        from ratbehavior.tracking.registry import load_registered
        from ratbehavior.tracking.runs import tracking_uri

        mlflow.set_tracking_uri(tracking_uri(Config()))
        return load_registered(reference)
    return load_model_dir(Path(reference))


def load_model_dir(path: Path) -> Predictor:
    if not (path / MANIFEST).is_file() or not (path / WEIGHTS).is_file():
        raise ModelDirError(f"{path}: not a model directory (expected {MANIFEST} and {WEIGHTS})")
    manifest = json.loads((path / MANIFEST).read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelDirError(
            f"{path}: model format {manifest.get('format_version')}, this ratbehavior reads format {FORMAT_VERSION}"
        )
    cfg = Config.model_validate(manifest["config"])
    model = build_members(cfg.model, ModelDims(**manifest["dims"]), cfg.training.members)
    model.load_state_dict(torch.load(path / WEIGHTS, map_location="cpu", weights_only=True))
    model.eval()
    return Predictor(
        model=model,
        calibration=Calibration.from_dict(manifest["calibration"]),
        config=cfg,
        slots=manifest["slots"],
        behaviours=tuple(manifest["behaviours"]),
        feature_names=manifest["feature_names"],
    )


def load_session_for(predictor: Predictor, session_dir: Path) -> SessionData:
    """The session featurised as in training; fails, naming what differs, if its features cannot match."""
    files = open_session(session_dir)
    session = prepare_session(files, predictor.config.data)
    for modality, names in (("pose", session.features.pose_names), ("imu", session.features.imu_names)):
        expected = predictor.feature_names[modality]
        if list(names) != expected:
            missing = sorted(set(expected) - set(names))
            raise DataContractError(
                files.pose if modality == "pose" else files.imu,
                f"its {modality} features do not match the model's (missing: {', '.join(missing) or 'none'}; "
                "a different set of bodyparts or configuration?)",
            )
    return session


def model_view(predictor: Predictor, session: SessionData) -> SessionData:
    """The session as the model was trained to see it: a pose-only or IMU-only model must not be fed
    the other stream, whose encoder never learned (its untrained output would pass for evidence)."""
    t = predictor.config.training
    return restrict_modalities(session, t.use_pose, t.use_imu)


def adapt_to_session(predictor: Predictor, session: SessionData, steps: int, lr: float = 1e-2) -> int:
    """Unlabelled adaptation: a new adapter slot for the session, trained alone with the stage-1
    losses on the session's own frames; everything else stays as trained. Returns the slot. Each
    member of an ensemble adapts its own slot; they all get the same index."""
    cfg = predictor.config
    session = model_view(predictor, session)
    # The members know the same sessions, so each one's new slot has the same index.
    (slot,) = {net.add_sessions(1)[0] for net in networks(predictor.model)}
    stage = StageData([session], {session.session_id: slot}, cfg.training.window, cfg.training.stride)
    for net in networks(predictor.model):
        handles = net.adapt_sessions([slot])
        try:
            seed_everything(cfg.seed, "adapt", session.session_id)
            run_stage(
                TrainContext(cfg.seed, Checkpoints(None), cfg.training.max_grad_norm),
                f"adapt_{session.session_id}",
                net,
                StageConfig(epochs=1, steps_per_epoch=steps, lr=lr, weight_decay=0.0),
                pretrain_plan(net, stage, cfg),
            )
        finally:
            for handle in handles:
                handle.remove()
            net.unfreeze_all()
            net.eval()
    return slot


@dataclass(frozen=True)
class Prediction:
    session: SessionData
    probabilities: np.ndarray  # (T, C) calibrated
    decisions: np.ndarray  # (T, C) 0/1 after the per-behaviour thresholds

    def table(self, grid_hz: float) -> pd.DataFrame:
        """The contract's predictions.csv: frame, time_s, one 0/1 column per behaviour, then prob_<behaviour>."""
        behaviours = self.session.behaviours
        frame = pd.DataFrame({"frame": self.session.frames, "time_s": np.round(self.session.frames / grid_hz, 3)})
        decisions = pd.DataFrame(self.decisions, columns=list(behaviours))
        probabilities = pd.DataFrame(np.round(self.probabilities, 4), columns=[f"prob_{b}" for b in behaviours])
        return pd.concat([frame, decisions, probabilities], axis=1)


def predict_session(predictor: Predictor, session: SessionData, slot: int | None = None) -> Prediction:
    """Predictions for every frame. The slot defaults to the session's own when the model was
    trained with it, else to the unknown-session slot."""
    if slot is None:
        slot = predictor.slots.get(session.session_id, UNKNOWN_SESSION)
    t = predictor.config.training
    out = run_session(predictor.model, model_view(predictor, session), slot, t.window, t.stride, t.inference_batch)
    probabilities = predictor.calibration.probabilities(out.logits)
    return Prediction(session, probabilities, predictor.calibration.decide(probabilities))


def predictor_of(trained: TrainedModel, cfg: Config) -> Predictor:
    """The in-memory model of a training, as `load_model_dir` would give it back."""
    return Predictor(trained.model, trained.calibration, cfg, trained.slots, trained.behaviours, trained.feature_names)
