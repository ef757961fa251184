"""`imu.csv` -> a table of `time_s` and six channels in m/s^2 and deg/s, on the IMU's own clock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ratbehavior.data.aligned import IMU_CHANNELS
from ratbehavior.data.csvfile import read_table
from ratbehavior.data.session import SessionMeta
from ratbehavior.errors import DataContractError

STANDARD_GRAVITY = 9.80665
TIME_COLUMN = "time_s"
# Names some head-stage loggers write (e.g. the open rat head IMU data of Fayat et al. 2021).
COMMON_ALIASES = {"ax": "acc_x", "ay": "acc_y", "az": "acc_z", "gx": "gyr_x", "gy": "gyr_y", "gz": "gyr_z"}


def _rename(path: Path, frame: pd.DataFrame, meta: SessionMeta) -> pd.DataFrame:
    frame = frame.rename(columns=lambda c: str(c).strip())
    declared = {source: target for target, source in meta.imu_columns.items()}
    unknown = [source for source in declared if source not in frame.columns]
    if unknown:
        raise DataContractError(path, f"session.yaml imu_columns names {unknown}, not in the file's header")
    renames = {c: declared.get(c, COMMON_ALIASES.get(c, c)) for c in frame.columns}
    frame = frame.rename(columns=renames)
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()].tolist()
        raise DataContractError(path, f"columns {dup} appear twice (after resolving aliases)", where="header")
    return frame


def _time_column(path: Path, frame: pd.DataFrame, meta: SessionMeta) -> pd.Series:
    counter = meta.imu_counter_column
    if counter is not None:
        if counter not in frame.columns:
            raise DataContractError(
                path, f"counter column {counter!r} named in session.yaml is missing", where="header"
            )
        if meta.imu_counter_rate_hz is None:
            raise DataContractError(path, "session.yaml names imu_counter_column but not imu_counter_rate_hz")
        ticks = frame[counter]
        return (ticks - ticks.iloc[0]) / meta.imu_counter_rate_hz
    if TIME_COLUMN not in frame.columns:
        raise DataContractError(
            path, f"no {TIME_COLUMN!r} column (a logger with a sample counter names it in session.yaml)", where="header"
        )
    return frame[TIME_COLUMN]


def read_imu_raw(path: Path | str, meta: SessionMeta) -> pd.DataFrame:
    """The file as written: `time_s` resolved, channels named, units untouched, order not yet checked."""
    path = Path(path)
    frame = read_table(path, "a header and one row per IMU sample")
    if frame.empty:
        raise DataContractError(path, "no samples: the file has a header but no rows")
    frame = _rename(path, frame, meta)
    missing = [c for c in IMU_CHANNELS if c not in frame.columns]
    if missing:
        raise DataContractError(
            path, f"missing columns {missing}: expected time_s and {list(IMU_CHANNELS)}", where="header"
        )
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    time = _time_column(path, numeric, meta)
    table = numeric[list(IMU_CHANNELS)].copy()
    table.insert(0, TIME_COLUMN, time)
    bad = table.isna().to_numpy()
    if bad.any():
        row, col = (int(a[0]) for a in np.nonzero(bad))
        value = frame[table.columns[col]].iloc[row] if table.columns[col] in frame.columns else "?"
        raise DataContractError(
            path, f"missing or non-numeric value {value!r}", where=f"line {row + 2}, column {table.columns[col]!r}"
        )
    return table.astype(np.float64)


def read_imu(path: Path | str, meta: SessionMeta) -> pd.DataFrame:
    """Channels converted to m/s^2 and deg/s; `time_s` checked strictly increasing."""
    path = Path(path)
    table = read_imu_raw(path, meta)
    steps = np.diff(table[TIME_COLUMN].to_numpy())
    if (steps <= 0).any():
        first = int(np.flatnonzero(steps <= 0)[0])
        raise DataContractError(
            path,
            f"time_s must be strictly increasing ({int((steps <= 0).sum())} steps are not)",
            where=f"line {first + 3}",
        )
    acc = ["acc_x", "acc_y", "acc_z"]
    gyr = ["gyr_x", "gyr_y", "gyr_z"]
    if meta.imu_units.acc == "g":
        table[acc] *= STANDARD_GRAVITY
    if meta.imu_units.gyr == "rad/s":
        table[gyr] = np.rad2deg(table[gyr])
    return table
