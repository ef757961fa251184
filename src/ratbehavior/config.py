"""One typed configuration tree, loaded from YAML, overridable key by key, logged whole to tracking."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError

from ratbehavior.model.config import ModelConfig
from ratbehavior.section import Section
from ratbehavior.tracking.config import TrackingConfig
from ratbehavior.training.config import RayConfig, TrainingConfig

DEFAULT_BODYPARTS: tuple[str, ...] = (
    "nose", "left_ear", "right_ear", "neck", "mid_back", "tail_base",
    "left_forepaw", "right_forepaw", "left_hindpaw", "right_hindpaw", "tail_mid", "tail_tip",
)  # fmt: skip
DEFAULT_BEHAVIOURS: tuple[str, ...] = (
    "walk", "jump", "aiming", "scratch", "rearing", "stand_up", "still", "eating", "grooming",
    "local_search", "turn_left", "turn_right",
)  # fmt: skip


class DataConfig(Section):
    grid_hz: float = 50.0
    bodyparts: list[str] = Field(default_factory=lambda: list(DEFAULT_BODYPARTS))
    behaviours: list[str] = Field(default_factory=lambda: list(DEFAULT_BEHAVIOURS))
    likelihood_threshold: float = Field(0.6, ge=0.0, le=1.0)
    # A frame has usable pose when at least this many keypoints pass the likelihood threshold.
    min_keypoints: int = Field(4, ge=1)
    # Multi-animal DLC files: which individual to read (None: the first in the file).
    individual: str | None = None
    imu_max_gap_s: float = Field(0.2, gt=0.0)


class SimulationConfig(Section):
    """Knobs of the demo-dataset simulator (`ratbehavior data simulate`).

    The defaults are calibrated so that a per-frame classifier stays well below what a temporal
    model fusing pose and IMU can reach; the difficulty knobs below move that balance.
    """

    seed: int = 0
    animals: int = Field(4, ge=1)
    # Sessions per animal, read cyclically when there are more animals than entries.
    days_per_animal: list[int] = Field(default_factory=lambda: [3, 2, 3, 2], min_length=1)
    session_minutes: float = Field(3.0, gt=0.0)
    labelled_fraction: tuple[float, float] = (0.10, 0.30)
    boris_fraction: float = Field(0.3, ge=0.0, le=1.0)
    # Lengths of the contiguous stretches an annotator labels in one go.
    annotation_segment_s: tuple[float, float] = (12.0, 35.0)
    # Standard deviation of the annotator's error on each bout boundary (capped for short bouts).
    boundary_jitter_s: float = Field(0.03, ge=0.0)
    # 0 makes every animal the same; 1 is the calibrated spread of size, gait, speed and habits.
    animal_variability: float = Field(1.0, ge=0.0)
    day_variability: float = Field(1.0, ge=0.0)
    # DeepLabCut artefacts.
    pose_noise_px: float = Field(1.5, ge=0.0)
    out_of_frame_fraction: float = Field(0.04, ge=0.0, le=0.5)
    swaps_per_minute: float = Field(2.0, ge=0.0)
    outlier_fraction: float = Field(0.003, ge=0.0, le=0.2)
    empty_frame_fraction: float = Field(0.002, ge=0.0, le=0.2)
    # Head IMU artefacts, in m/s^2 and deg/s (noise per sample, bias per axis and session).
    imu_acc_noise: float = Field(0.15, ge=0.0)
    imu_gyr_noise: float = Field(1.5, ge=0.0)
    imu_acc_bias: float = Field(0.3, ge=0.0)
    imu_gyr_bias: float = Field(3.0, ge=0.0)
    imu_gain_error: float = Field(0.03, ge=0.0)
    imu_mount_max_deg: float = Field(30.0, ge=0.0, le=90.0)
    imu_timestamp_jitter: float = Field(0.1, ge=0.0, le=0.4)  # in sample periods
    imu_drop_fraction: float = Field(0.01, ge=0.0, le=0.3)
    imu_long_gaps_per_minute: float = Field(0.7, ge=0.0)

    def days_of(self, animal: int) -> int:
        """Sessions of animal `animal` (0-based)."""
        return self.days_per_animal[animal % len(self.days_per_animal)]


class PathsConfig(Section):
    data_root: Path = Path("data")
    features_dir: Path = Path("artifacts/features")
    validation_dir: Path = Path("artifacts/validation")


class EvaluationConfig(Section):
    # Label shares for a label-efficiency table in the tracked workflow, each one more
    # leave-one-animal-out (trained in-process); empty: no table.
    label_fractions: list[Annotated[float, Field(gt=0.0, le=1.0)]] = Field(default_factory=list)


class Config(Section):
    seed: int = 0
    data: DataConfig = Field(default_factory=DataConfig)
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    paths: PathsConfig = Field(default_factory=PathsConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    ray: RayConfig = Field(default_factory=RayConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)


class ConfigError(ValueError):
    """A configuration file or override that does not fit the tree; the message is one line."""


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted!r}: {key!r} is not a section")
    node[leaf] = value


def load_config(path: Path | str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML file (or the defaults) and apply `section.key=value` overrides, values parsed as YAML."""
    tree: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        tree = loaded
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected section.key=value")
        _set_dotted(tree, key.strip(), yaml.safe_load(raw))
    try:
        return Config.model_validate(tree)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path or 'defaults'}: {where}: {first['msg']}") from err


def config_to_dict(config: Config) -> dict[str, Any]:
    return config.model_dump(mode="json")


def config_hash(config: Config) -> str:
    """A short stable fingerprint of the whole tree, for lineage tags and caching."""
    return tree_hash(config_to_dict(config))


def tree_hash(tree: dict[str, Any]) -> str:
    """`config_hash` of a configuration tree with some keys left out."""
    canonical = json.dumps(tree, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
