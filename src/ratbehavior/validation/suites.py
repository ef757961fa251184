"""Expectation suites as code, one per contract file, each on a table indexed by the file's line numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import great_expectations.expectations as gxe
import numpy as np
import pandas as pd

from ratbehavior.config import DataConfig
from ratbehavior.data.imu import STANDARD_GRAVITY
from ratbehavior.data.labels import BORIS_POINT, BORIS_STATE, FRAME_COLUMN
from ratbehavior.data.session import SessionMeta
from ratbehavior.validation.runner import Check

# The share of frames that may lack a usable pose before the file is a "NaN storm".
MAX_POSE_MISSING = 0.5
# IMU sample spacing may wander this far from the nominal rate (loggers drift, packets drop).
RATE_TOLERANCE = 0.25
# Degrees per second a head can plausibly exceed; above it rad/s-declared data is probably deg/s.
RAD_S_LIMIT = 40.0


def _first(result: dict[str, Any]) -> str:
    lines = result.get("partial_unexpected_index_list") or []
    values = result.get("partial_unexpected_list") or []
    where = f" first at line {lines[0]}" if lines else ""
    value = f" ({values[0]!r})" if values else ""
    return f"{result.get('unexpected_count', 0)} rows do not,{where}{value}"


def pose_table(pose: pd.DataFrame, header_lines: int, cfg: DataConfig) -> pd.DataFrame:
    likelihood = pose.xs("likelihood", axis=1, level=1)
    table = likelihood.add_prefix("likelihood_")
    table["usable"] = ((likelihood >= cfg.likelihood_threshold).sum(axis=1) >= cfg.min_keypoints).astype(float)
    table.index = np.arange(len(table)) + header_lines + 1
    return table


def pose_checks(bodyparts: Sequence[str], cfg: DataConfig) -> list[Check]:
    checks = [
        Check(
            gxe.ExpectColumnValuesToBeBetween(column=f"likelihood_{part}", min_value=0.0, max_value=1.0),
            lambda r: f"likelihood must lie in [0, 1]: {_first(r)}",
        )
        for part in bodyparts
    ]
    checks.append(
        Check(
            gxe.ExpectColumnMeanToBeBetween(column="usable", min_value=1.0 - MAX_POSE_MISSING),
            lambda r: (
                f"only {r['observed_value']:.0%} of frames have a usable pose (>= {cfg.min_keypoints} keypoints "
                f"with likelihood >= {cfg.likelihood_threshold}); at least {1 - MAX_POSE_MISSING:.0%} expected"
            ),
        )
    )
    return checks


def imu_table(raw: pd.DataFrame, meta: SessionMeta) -> pd.DataFrame:
    table = raw.copy()
    table["acc_norm"] = np.linalg.norm(raw[["acc_x", "acc_y", "acc_z"]].to_numpy(), axis=1)
    table["gyr_abs"] = raw[["gyr_x", "gyr_y", "gyr_z"]].abs().max(axis=1)
    table["dt"] = raw["time_s"].diff()
    table.index = np.arange(len(table)) + 2
    return table


def imu_checks(meta: SessionMeta) -> list[Check]:
    gravity = 1.0 if meta.imu_units.acc == "g" else STANDARD_GRAVITY
    other = "m/s^2" if meta.imu_units.acc == "g" else "g"
    period = 1.0 / meta.imu_rate_hz
    checks = [
        Check(
            gxe.ExpectColumnValuesToBeIncreasing(column="time_s", strictly=True),
            lambda r: f"values must be strictly increasing: {_first(r)}",
        ),
        Check(
            gxe.ExpectColumnMedianToBeBetween(column="acc_norm", min_value=0.75 * gravity, max_value=1.3 * gravity),
            lambda r: (
                f"median |acc| is {r['observed_value']:.3g}, expected about {gravity:.3g} for the declared "
                f"{meta.imu_units.acc}"
                + (f"; the values look like {other}" if _looks_like_other(r["observed_value"], gravity) else "")
            ),
        ),
        Check(
            gxe.ExpectColumnMedianToBeBetween(
                column="dt", min_value=period * (1 - RATE_TOLERANCE), max_value=period * (1 + RATE_TOLERANCE)
            ),
            lambda r: (
                f"median sample spacing {r['observed_value']:.4g} s does not match imu_rate_hz {meta.imu_rate_hz}"
            ),
        ),
    ]
    if meta.imu_units.gyr == "rad/s":
        checks.append(
            Check(
                # The quantile expectation would say this directly, but GE 1.24 cannot serialise its result.
                gxe.ExpectColumnValuesToBeBetween(column="gyr_abs", max_value=RAD_S_LIMIT, mostly=0.99),
                lambda r: "angular rates this large look like deg/s, but session.yaml declares rad/s",
                severity="warning",
            )
        )
    return checks


def _looks_like_other(observed: float, gravity: float) -> bool:
    expected_other = STANDARD_GRAVITY if gravity == 1.0 else 1.0
    return 0.75 * expected_other <= observed <= 1.3 * expected_other


def labels_checks(columns: Sequence[str], behaviours: Sequence[str]) -> list[Check]:
    checks = [
        Check(
            gxe.ExpectTableColumnsToMatchSet(column_set=[FRAME_COLUMN, *behaviours], exact_match=True),
            lambda r: _column_mismatch(r, behaviours),
        ),
        Check(
            gxe.ExpectColumnValuesToBeUnique(column=FRAME_COLUMN),
            lambda r: f"every frame may appear once: {_first(r)}",
        ),
        Check(
            gxe.ExpectColumnValuesToBeBetween(column=FRAME_COLUMN, min_value=0),
            lambda r: f"frames must be non-negative: {_first(r)}",
        ),
    ]
    for column in columns:
        if column != FRAME_COLUMN:
            checks.append(
                Check(
                    gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[0, 1]),
                    lambda r: f"values must be 0 or 1: {_first(r)}",
                )
            )
    return checks


def _column_mismatch(result: dict[str, Any], behaviours: Sequence[str]) -> str:
    details = result.get("details", {}).get("mismatched", {})
    unexpected, missing = details.get("unexpected", []), details.get("missing", [])
    parts = []
    if unexpected:
        parts.append(f"unknown behaviours {sorted(unexpected)}")
    if missing:
        parts.append(f"missing columns {sorted(missing)}")
    return "; ".join(parts) + f" (the vocabulary is {list(behaviours)})"


def boris_checks(behaviours: Sequence[str]) -> list[Check]:
    return [
        Check(
            gxe.ExpectColumnValuesToBeInSet(column="Behavior", value_set=list(behaviours)),
            lambda r: (
                f"unknown behaviours {sorted(set(r.get('partial_unexpected_list') or []))} "
                f"(the vocabulary is {list(behaviours)})"
            ),
        ),
        Check(
            gxe.ExpectColumnValuesToBeInSet(column="Behavior type", value_set=[BORIS_STATE, BORIS_POINT]),
            lambda r: f"expected STATE or POINT: {_first(r)}",
        ),
    ]
