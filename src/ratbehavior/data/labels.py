"""Frame-wise labels on the 50 Hz grid from `labels.csv` or a BORIS export.

Every reader returns the same table: index `frame` (50 Hz grid, video clock), one int8 column per
behaviour. A frame that is absent is unlabelled, never negative.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ratbehavior.data.csvfile import read_table
from ratbehavior.errors import DataContractError

FRAME_COLUMN = "frame"
BORIS_STATE, BORIS_POINT = "STATE", "POINT"
BORIS_AGGREGATED = ("Behavior", "Behavior type", "Start (s)", "Stop (s)")
BORIS_EVENTS = ("Time", "Behavior", "Status")


def _unknown_behaviours(path: Path, found: Sequence[str], behaviours: Sequence[str], where: str) -> None:
    unknown = [b for b in dict.fromkeys(found) if b not in behaviours]
    if unknown:
        raise DataContractError(
            path, f"unknown behaviours {unknown}: the vocabulary is {list(behaviours)}", where=where
        )


def read_frame_labels(path: Path | str, behaviours: Sequence[str], *, strict: bool = True) -> pd.DataFrame:
    """`labels.csv`: header `frame` + behaviours, values 0/1. With strict=False unknown columns are kept."""
    path = Path(path)
    table = read_table(path, "a header 'frame,<behaviour>...'")
    table.columns = [str(c).strip() for c in table.columns]
    if table.columns[0] != FRAME_COLUMN:
        raise DataContractError(path, f"first column is {table.columns[0]!r}: expected 'frame'", where="header")
    columns = list(table.columns[1:])
    if strict:
        _unknown_behaviours(path, columns, behaviours, where="header")
        missing = [b for b in behaviours if b not in columns]
        if missing:
            raise DataContractError(path, f"missing behaviour columns {missing}", where="header")
    if table.isna().to_numpy().any():
        row, col = (int(a[0]) for a in np.nonzero(table.isna().to_numpy()))
        raise DataContractError(
            path, "empty cell (truncated file?)", where=f"line {row + 2}, column {table.columns[col]!r}"
        )
    frames = pd.to_numeric(table[FRAME_COLUMN], errors="coerce")
    if frames.isna().any() or (frames < 0).any() or (frames % 1 != 0).any():
        row = int(np.flatnonzero(frames.isna() | (frames.fillna(-1) < 0) | (frames.fillna(0) % 1 != 0))[0])
        raise DataContractError(
            path, f"frame {table[FRAME_COLUMN].iloc[row]!r} is not a non-negative integer", where=f"line {row + 2}"
        )
    if frames.duplicated().any():
        raise DataContractError(
            path, f"frame {int(frames[frames.duplicated()].iloc[0])} appears twice", where="column 'frame'"
        )
    values = table[columns].apply(pd.to_numeric, errors="coerce")
    bad = ~values.isin([0, 1]).to_numpy()
    if bad.any():
        row, col = (int(a[0]) for a in np.nonzero(bad))
        raise DataContractError(
            path,
            f"value {table[columns[col]].iloc[row]}: expected 0 or 1",
            where=f"line {row + 2}, column {columns[col]!r}",
        )
    order = [b for b in behaviours if b in columns] + [c for c in columns if c not in behaviours]
    out = values[order].astype(np.int8)
    out.index = pd.Index(frames.astype(np.int64).to_numpy(), name=FRAME_COLUMN)
    return out.sort_index()


def _find_header(path: Path, required: Sequence[str]) -> int:
    """BORIS puts a preamble (observation id, media, ...) above the table in some exports."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.reader(handle)):
            if all(name in [cell.strip() for cell in row] for name in required):
                return number
            if number > 100:
                break
    return -1


def _states_from_events(path: Path, events: pd.DataFrame) -> pd.DataFrame:
    """BORIS's event list (one row per START, STOP or POINT) -> one row per state or point event."""
    rows: list[tuple[str, str, float, float]] = []
    open_at: dict[tuple[str, str], float] = {}
    subject = events["Subject"] if "Subject" in events.columns else pd.Series("", index=events.index)
    for line, (time, behaviour, status, who) in enumerate(
        zip(events["Time"], events["Behavior"], events["Status"], subject, strict=True)
    ):
        key = (str(who), str(behaviour))
        status = str(status).strip().upper()
        if status == "POINT":
            rows.append((key[1], BORIS_POINT, time, time))
        elif status == "START":
            open_at[key] = time
        elif status == "STOP":
            if key not in open_at:
                raise DataContractError(path, f"STOP of {behaviour!r} without a START", where=f"event {line + 1}")
            rows.append((key[1], BORIS_STATE, open_at.pop(key), time))
        else:
            raise DataContractError(
                path, f"status {status!r}: expected START, STOP or POINT", where=f"event {line + 1}"
            )
    if open_at:
        raise DataContractError(path, f"events started but never stopped: {sorted(b for _, b in open_at)}")
    return pd.DataFrame(rows, columns=list(BORIS_AGGREGATED))


def read_boris_events(path: Path | str) -> pd.DataFrame:
    """A BORIS export as one row per event: Behavior, Behavior type (STATE/POINT), Start (s), Stop (s).

    Accepts the aggregated-events export (the contract's) and the plain events export.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise DataContractError(path, "empty or missing file: expected a BORIS aggregated-events export")
    for required, convert in ((BORIS_AGGREGATED, None), (BORIS_EVENTS, _states_from_events)):
        header = _find_header(path, required)
        if header < 0:
            continue
        table = pd.read_csv(path, skiprows=header, encoding="utf-8-sig", skipinitialspace=True)
        table.columns = [str(c).strip() for c in table.columns]
        times = [c for c in table.columns if c in ("Start (s)", "Stop (s)", "Time")]
        numeric = table[times].apply(pd.to_numeric, errors="coerce")
        if numeric.isna().to_numpy().any():
            row, col = (int(a[0]) for a in np.nonzero(numeric.isna().to_numpy()))
            raise DataContractError(
                path, "missing or non-numeric time", where=f"line {header + row + 2}, column {times[col]!r}"
            )
        table[times] = numeric
        events = convert(path, table) if convert else table[list(BORIS_AGGREGATED)].copy()
        events["Behavior type"] = events["Behavior type"].astype(str).str.strip().str.upper()
        kinds = set(events["Behavior type"]) - {BORIS_STATE, BORIS_POINT}
        if kinds:
            raise DataContractError(
                path, f"Behavior type {sorted(kinds)}: expected STATE or POINT", where="column 'Behavior type'"
            )
        if (events["Stop (s)"] < events["Start (s)"]).any():
            row = int(np.flatnonzero(events["Stop (s)"] < events["Start (s)"])[0])
            raise DataContractError(path, "Stop (s) before Start (s)", where=f"event {row + 1}")
        return events.reset_index(drop=True)
    raise DataContractError(path, f"no BORIS table found: expected columns {list(BORIS_AGGREGATED)}", where="header")


def intervals_to_frames(
    starts: np.ndarray, stops: np.ndarray, grid_hz: float, span: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Grid frames whose time lies in the span [start, stop), and for each interval a boolean row over them."""
    first = int(np.ceil(span[0] * grid_hz - 1e-9))
    last = int(np.ceil(span[1] * grid_hz - 1e-9))
    frames = np.arange(first, max(last, first + 1))
    times = frames / grid_hz
    marks = (times[None, :] >= starts[:, None] - 1e-9) & (times[None, :] < stops[:, None] - 1e-9)
    return frames, marks


def read_boris(path: Path | str, grid_hz: float, behaviours: Sequence[str], *, strict: bool = True) -> pd.DataFrame:
    """BORIS events on the grid: a STATE marks [Start, Stop), a POINT the one frame at Start."""
    path = Path(path)
    events = read_boris_events(path)
    if events.empty:
        raise DataContractError(path, "no events")
    names = events["Behavior"].astype(str).str.strip()
    if strict:
        _unknown_behaviours(path, names, behaviours, where="column 'Behavior'")
    columns = list(behaviours) + [b for b in dict.fromkeys(names) if b not in behaviours]
    starts = events["Start (s)"].to_numpy(float)
    stops = events["Stop (s)"].to_numpy(float)
    is_point = (events["Behavior type"] == BORIS_POINT).to_numpy()
    # A point lasts one frame, so it still marks a frame when Start == Stop.
    stops = np.where(is_point, np.floor(starts * grid_hz + 0.5) / grid_hz + 1.0 / grid_hz, stops)
    starts = np.where(is_point, np.floor(starts * grid_hz + 0.5) / grid_hz, starts)
    frames, marks = intervals_to_frames(starts, stops, grid_hz, (starts.min(), stops.max()))
    out = pd.DataFrame(0, index=pd.Index(frames, name=FRAME_COLUMN), columns=columns, dtype=np.int8)
    for column in columns:
        rows = (names == column).to_numpy()
        if rows.any():
            out[column] = marks[rows].any(axis=0).astype(np.int8)
    return out
