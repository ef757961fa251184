"""Expectation suites for the two recordings: DeepLabCut pose and the head IMU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import great_expectations.expectations as gxe
import numpy as np
import pandas as pd

from ratbehavior.config import DataConfig
from ratbehavior.data.imu import STANDARD_GRAVITY, TIME_COLUMN
from ratbehavior.data.session import SessionMeta
from ratbehavior.validation.limits import ValidationLimits
from ratbehavior.validation.report import count
from ratbehavior.validation.runner import WHOLE_FILE, Check
from ratbehavior.validation.suites import Place, file_lines, offenders

# |acc| of a rat's head is gravity most of the time: its median lies in this band of 1 g, in any unit.
GRAVITY_BAND = (0.75, 1.3)
GRAVITY = {"m/s^2": STANDARD_GRAVITY, "g": 1.0}
DEG_PER_UNIT = {"deg/s": 1.0, "rad/s": float(np.rad2deg(1.0))}
# Head-stage gyroscopes saturate at 2000 deg/s; more than 1 % of samples beyond it is another unit.
GYRO_FULL_SCALE_DEG_S = 2000.0
# A moving rat turns its head faster than this in well over 1 % of samples; deg/s data that never
# does may be rad/s, or the animal barely moved, hence only a warning.
GYRO_MOVING_DEG_S = 15.0
TAIL_SHARE = 0.01
ACC = ["acc_x", "acc_y", "acc_z"]
GYR = ["gyr_x", "gyr_y", "gyr_z"]


def keypoints_needed(cfg: DataConfig, present: Sequence[str]) -> int:
    """Keypoints a frame needs for a usable pose, as alignment counts them among the configured bodyparts present."""
    return min(cfg.min_keypoints, len(present))


def pose_table(pose: pd.DataFrame, present: Sequence[str], cfg: DataConfig) -> tuple[pd.DataFrame, Place]:
    """One row per keypoint of every frame, so that one expectation checks all bodyparts at once (GE costs
    ~15 ms per expectation whatever the table's size), and the place of each row.

    Columns: bodypart; likelihood; xy_finite, 1/0 where the keypoint is confident and NaN elsewhere (under
    the threshold DLC's coordinates may be anything); usable, 1 on every row of a frame with a usable pose.
    """
    parts = list(dict.fromkeys(pose.columns.get_level_values(0)))
    frames, k = pose.index.to_numpy(), len(parts)

    def coord(name: str) -> np.ndarray:
        return pose.xs(name, axis=1, level=1)[parts].to_numpy()

    likelihood = coord("likelihood")
    confident = likelihood >= cfg.likelihood_threshold
    finite = np.isfinite(coord("x")) & np.isfinite(coord("y"))
    configured = [parts.index(part) for part in present]
    # As alignment counts them: a keypoint without finite coordinates is missing whatever its likelihood.
    usable = (confident & finite)[:, configured].sum(axis=1) >= keypoints_needed(cfg, present)
    table = pd.DataFrame(
        {
            "bodypart": pd.Categorical.from_codes(np.tile(np.arange(k), len(frames)), parts),
            "likelihood": likelihood.ravel(),
            "xy_finite": np.where(confident, finite, np.nan).ravel(),
            "usable": np.repeat(usable.astype(float), k),
        }
    )

    def place(i: Any) -> str:
        return f"frame {frames[int(i) // k]:,} ({parts[int(i) % k]})"

    return table, place


def pose_checks(place: Place, present: Sequence[str], cfg: DataConfig, limits: ValidationLimits) -> list[Check]:
    needed = keypoints_needed(cfg, present)
    return [
        Check(
            gxe.ExpectColumnDistinctValuesToContainSet(column="bodypart", value_set=list(cfg.bodyparts)),
            lambda r: f"bodyparts {r['partial_missing_list']} are missing; features that need them are dropped",
            severity="warning",
        ),
        Check(
            gxe.ExpectColumnValuesToBeBetween(column="likelihood", min_value=0.0, max_value=1.0),
            lambda r: f"must lie in [0, 1] ({offenders(r, 'keypoint', place)})",
        ),
        # DeepLabCut's filtered multi-animal output blanks coordinates and keeps likelihood 1 where it
        # cut a tracklet; alignment counts such keypoints as missing, so this is only a warning.
        Check(
            gxe.ExpectColumnValuesToBeInSet(column="xy_finite", value_set=[1.0]),
            lambda r: (
                f"not finite although likelihood >= {cfg.likelihood_threshold} "
                f"({offenders(r, 'keypoint', place, value=False)}); they count as missing"
            ),
            severity="warning",
            column="x/y",
        ),
        Check(
            gxe.ExpectColumnMeanToBeBetween(column="usable", min_value=1.0 - limits.max_pose_missing),
            lambda r: (
                f"NaN storm: only {r['observed_value']:.0%} of frames have a usable pose (at least {needed} "
                f"keypoints with likelihood >= {cfg.likelihood_threshold}); at least "
                f"{1 - limits.max_pose_missing:.0%} expected"
            ),
            column=WHOLE_FILE,
        ),
    ]


def imu_table(raw: pd.DataFrame, meta: SessionMeta, cfg: DataConfig) -> pd.DataFrame:
    """`read_imu_raw`'s table by file line, with |acc|, the largest |gyr| in deg/s, sample spacing and long gaps."""
    table = file_lines(raw)
    table["acc_norm"] = np.linalg.norm(table[ACC].to_numpy(), axis=1)
    table["gyr_deg_s"] = table[GYR].abs().max(axis=1) * DEG_PER_UNIT[meta.imu_units.gyr]
    table["dt"] = table[TIME_COLUMN].diff()
    table["gap_s"] = table["dt"].where(table["dt"] > cfg.imu_max_gap_s, 0.0)
    return table


def imu_checks(table: pd.DataFrame, meta: SessionMeta, cfg: DataConfig, limits: ValidationLimits) -> list[Check]:
    period = 1.0 / meta.imu_rate_hz
    # Not negative, so that the gap check fails only when there are gaps (time going back is another check).
    duration = max(0.0, float(table[TIME_COLUMN].iloc[-1] - table[TIME_COLUMN].iloc[0]))
    gaps = table.index[table["gap_s"] > 0]
    acc, gyr = meta.imu_units.acc, meta.imu_units.gyr
    return [
        Check(
            gxe.ExpectColumnValuesToBeIncreasing(column=TIME_COLUMN, strictly=True),
            lambda r: f"values must be strictly increasing ({offenders(r)})",
        ),
        Check(
            gxe.ExpectColumnMedianToBeBetween(
                column="dt",
                min_value=period * (1 - limits.imu_rate_tolerance),
                max_value=period * (1 + limits.imu_rate_tolerance),
            ),
            lambda r: _rate_message(r["observed_value"], meta.imu_rate_hz),
            column=TIME_COLUMN,
        ),
        Check(
            gxe.ExpectColumnSumToBeBetween(column="gap_s", max_value=limits.max_imu_gap_share * duration),
            lambda r: (
                f"gaps longer than {cfg.imu_max_gap_s} s cover {r['observed_value'] / duration:.0%} of the recording "
                f"({count(len(gaps), 'gap')}, the first ending at line {gaps[0]:,}); "
                f"at most {limits.max_imu_gap_share:.0%} allowed"
            ),
            column=TIME_COLUMN,
        ),
        Check(
            gxe.ExpectColumnMedianToBeBetween(
                column="acc_norm", min_value=GRAVITY_BAND[0] * GRAVITY[acc], max_value=GRAVITY_BAND[1] * GRAVITY[acc]
            ),
            lambda r: _acc_message(r["observed_value"], acc),
            column="/".join(ACC),
        ),
        Check(
            gxe.ExpectColumnValuesToBeBetween(
                column="gyr_deg_s", max_value=GYRO_FULL_SCALE_DEG_S, mostly=1 - TAIL_SHARE
            ),
            lambda r: (
                f"{r['unexpected_percent']:.0f}% of samples exceed {GYRO_FULL_SCALE_DEG_S:.0f} deg/s, the full scale "
                f"of head-stage gyroscopes, once read as the declared {gyr}"
                + ("; the values look like deg/s" if gyr == "rad/s" else "")
            ),
            column="/".join(GYR),
        ),
        Check(
            gxe.ExpectColumnValuesToBeBetween(column="gyr_deg_s", min_value=GYRO_MOVING_DEG_S, mostly=TAIL_SHARE),
            lambda r: (
                f"|gyr| stays under {GYRO_MOVING_DEG_S:.0f} deg/s in {r['unexpected_percent']:.1f}% of samples: "
                "the head barely turned"
                + (", or the values are rad/s while session.yaml declares deg/s" if gyr == "deg/s" else "")
            ),
            severity="warning",
            column="/".join(GYR),
        ),
    ]


def _rate_message(spacing: float, rate_hz: float) -> str:
    message = (
        f"median sample spacing {spacing:.4g} s means {1 / spacing:.4g} Hz, session.yaml says imu_rate_hz {rate_hz:g}"
    )
    if 0.5 < spacing * rate_hz / 1000 < 2:
        message += "; time_s looks like milliseconds"
    return message


def _acc_message(median: float, declared: str) -> str:
    message = (
        f"median |acc| is {median:.3g}, expected about {GRAVITY[declared]:.3g} (gravity) for the declared {declared}"
    )
    other = [u for u, g in GRAVITY.items() if u != declared and GRAVITY_BAND[0] <= median / g <= GRAVITY_BAND[1]]
    return message + (f"; the values look like {other[0]}" if other else "")
