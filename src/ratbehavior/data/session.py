"""A session folder on disk: its `session.yaml` and which contract files it holds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ratbehavior.errors import DataContractError

SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
SESSION_YAML = "session.yaml"
POSE_FILES = ("pose.csv", "pose.h5")
IMU_FILE = "imu.csv"
LABELS_FILE = "labels.csv"
BORIS_FILE = "labels_boris.csv"


class ImuUnits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    acc: Literal["m/s^2", "g"] = "m/s^2"
    gyr: Literal["deg/s", "rad/s"] = "deg/s"


class SessionMeta(BaseModel):
    """`session.yaml` as DATA_CONTRACT.md defines it."""

    model_config = ConfigDict(extra="allow")
    animal: str
    day: int
    condition: str | None = None
    video_fps: float = Field(gt=0)
    imu_rate_hz: float = Field(gt=0)
    imu_offset_s: float = 0.0
    imu_units: ImuUnits = Field(default_factory=ImuUnits)
    # For loggers that write a sample counter instead of `time_s`: the column and the counter's rate.
    imu_counter_column: str | None = None
    imu_counter_rate_hz: float | None = Field(None, gt=0)
    # Loggers with their own column names: contract name -> name in imu.csv, e.g. {acc_x: ax}.
    imu_columns: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class SessionFiles:
    session_id: str
    root: Path
    meta: SessionMeta

    @property
    def pose(self) -> Path:
        for name in POSE_FILES:
            if (self.root / name).is_file():
                return self.root / name
        raise DataContractError(self.root, f"no pose file: expected one of {', '.join(POSE_FILES)}")

    @property
    def imu(self) -> Path:
        return self.root / IMU_FILE

    @property
    def labels(self) -> Path | None:
        return self.root / LABELS_FILE if (self.root / LABELS_FILE).is_file() else None

    @property
    def boris(self) -> Path | None:
        return self.root / BORIS_FILE if (self.root / BORIS_FILE).is_file() else None


def read_session_meta(path: Path) -> SessionMeta:
    if not path.is_file():
        raise DataContractError(path, "missing: every session needs a session.yaml")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise DataContractError(path, f"not valid YAML ({err.__class__.__name__})") from err
    if not isinstance(raw, dict):
        raise DataContractError(path, "expected a mapping of keys (animal, day, video_fps, imu_rate_hz, ...)")
    try:
        return SessionMeta.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise DataContractError(path, f"{first['msg']}", where=f"key {key!r}") from err


def open_session(folder: Path) -> SessionFiles:
    folder = Path(folder)
    if not SESSION_ID_PATTERN.match(folder.name):
        raise DataContractError(folder, "session folder names may use only letters, digits, '_' and '-'")
    meta = read_session_meta(folder / SESSION_YAML)
    return SessionFiles(session_id=folder.name, root=folder, meta=meta)


def list_sessions(root: Path) -> list[SessionFiles]:
    """Every session under `<root>/sessions/`, sorted by id so that order never depends on the disk."""
    sessions_dir = Path(root) / "sessions"
    if not sessions_dir.is_dir():
        raise DataContractError(root, "no sessions/ folder: expected <root>/sessions/<session_id>/")
    folders = sorted(p for p in sessions_dir.iterdir() if p.is_dir())
    if not folders:
        raise DataContractError(sessions_dir, "no session folders found")
    return [open_session(p) for p in folders]
