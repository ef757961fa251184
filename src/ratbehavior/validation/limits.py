"""The thresholds of the checks that judge amounts; the rules themselves come from DATA_CONTRACT.md."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ValidationLimits(BaseModel):
    # A typo in a YAML key must fail loudly, as everywhere in the configuration tree.
    model_config = ConfigDict(extra="forbid")

    # A "NaN storm": more than this share of frames without a usable pose fails the pose file.
    max_pose_missing: float = Field(0.5, ge=0.0, le=1.0)
    # The median IMU sample spacing may differ this much (relative) from 1 / imu_rate_hz.
    imu_rate_tolerance: float = Field(0.1, gt=0.0)
    # IMU gaps longer than DataConfig.imu_max_gap_s may cover at most this share of the recording.
    max_imu_gap_share: float = Field(0.2, ge=0.0, le=1.0)
    # Warn when the aligned session keeps less than this share of the video or of the IMU recording.
    min_overlap_share: float = Field(0.5, ge=0.0, le=1.0)
