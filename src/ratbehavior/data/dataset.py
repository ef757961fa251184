"""A dataset root -> aligned, featurised sessions on disk: one pair of .npz per session and a manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import track

from ratbehavior.config import DataConfig
from ratbehavior.data.align import align_session
from ratbehavior.data.features import SessionFeatures, load_features, save_features, session_features
from ratbehavior.data.session import SessionFiles, list_sessions
from ratbehavior.errors import DataContractError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SessionData:
    """What training and evaluation consume for one session: features, targets and where they are."""

    features: SessionFeatures
    frames: np.ndarray  # (T,) absolute 50 Hz frame numbers
    labels: np.ndarray  # (T, C) int8
    label_mask: np.ndarray  # (T,) bool
    behaviours: tuple[str, ...]

    @property
    def session_id(self) -> str:
        return self.features.session_id

    @property
    def animal(self) -> str:
        return self.features.animal


def prepare_session(files: SessionFiles, cfg: DataConfig) -> SessionData:
    aligned = align_session(files, cfg)
    return SessionData(
        features=session_features(aligned),
        frames=aligned.frames,
        labels=aligned.labels,
        label_mask=aligned.label_mask,
        behaviours=aligned.behaviours,
    )


def _paths(folder: Path, session_id: str) -> tuple[Path, Path]:
    return folder / f"{session_id}.features.npz", folder / f"{session_id}.labels.npz"


def save_session(data: SessionData, folder: Path) -> None:
    features_path, labels_path = _paths(folder, data.session_id)
    save_features(data.features, features_path)
    np.savez_compressed(
        labels_path, frames=data.frames, labels=data.labels, label_mask=data.label_mask,
        behaviours=np.array(data.behaviours),
    )  # fmt: skip


def load_session(folder: Path, session_id: str) -> SessionData:
    features_path, labels_path = _paths(folder, session_id)
    with np.load(labels_path) as stored:
        return SessionData(
            features=load_features(features_path),
            frames=stored["frames"],
            labels=stored["labels"],
            label_mask=stored["label_mask"],
            behaviours=tuple(str(b) for b in stored["behaviours"]),
        )


def _summary(data: SessionData, files: SessionFiles) -> dict[str, Any]:
    return {
        "session_id": data.session_id,
        "animal": data.animal,
        "day": files.meta.day,
        "frames": int(data.frames.size),
        "labelled_frames": int(data.label_mask.sum()),
        "pose_missing_fraction": round(float(1 - data.features.pose_mask.mean()), 4),
        "imu_missing_fraction": round(float(1 - data.features.imu_mask.mean()), 4),
    }


def prepare_dataset(root: Path, cfg: DataConfig, progress: bool = True) -> list[SessionData]:
    """Every session of `root`, aligned and featurised; all must share one feature set."""
    prepared: list[SessionData] = []
    for files in track(list_sessions(root), description="features", disable=not progress):
        data = prepare_session(files, cfg)
        if prepared and (data.features.pose_names, data.features.imu_names) != (
            prepared[0].features.pose_names,
            prepared[0].features.imu_names,
        ):
            raise DataContractError(
                files.pose, "its features differ from the other sessions' (a different set of bodyparts?)"
            )
        prepared.append(data)
    return prepared


def build_features(root: Path, cfg: DataConfig, out: Path, progress: bool = True) -> dict[str, Any]:
    """Featurise every session of `root` into `out`; the manifest lists sessions, animals and feature names."""
    sessions = list_sessions(root)
    prepared = prepare_dataset(root, cfg, progress)
    out.mkdir(parents=True, exist_ok=True)
    for data in prepared:
        save_session(data, out)
    first = prepared[0].features if prepared else None
    manifest = {
        "behaviours": list(cfg.behaviours),
        "feature_names": {"pose": list(first.pose_names), "imu": list(first.imu_names)} if first else {},
        "sessions": [_summary(data, files) for data, files in zip(prepared, sessions, strict=True)],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def load_feature_set(folder: Path) -> list[SessionData]:
    manifest = json.loads((folder / MANIFEST).read_text())
    return [load_session(folder, s["session_id"]) for s in manifest["sessions"]]
