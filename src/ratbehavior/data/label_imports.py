"""Other annotation tools' files -> the same frame table as `labels.read_frame_labels`.

Labs bring labels from more tools than the contract names; these turn two common ones into
`labels.csv` (see `ratbehavior data import-labels`): the Caltech Behavior Annotator's `.txt`
(video frame ranges, 1-based, inclusive, one stream per simultaneous label) and a plain table of
intervals in seconds (start, stop, behaviour), such as the open-field ratings of Sturman et al.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ratbehavior.data.csvfile import read_table
from ratbehavior.data.labels import FRAME_COLUMN, intervals_to_frames
from ratbehavior.errors import DataContractError

_CALTECH_STREAM = re.compile(r"^(S\d+):\s+start")


def _to_frame_table(
    path: Path,
    names: Sequence[str],
    starts: np.ndarray,
    stops: np.ndarray,
    grid_hz: float,
    behaviours: Sequence[str] | None,
) -> pd.DataFrame:
    if len(names) == 0:
        raise DataContractError(path, "no intervals found")
    vocabulary = list(behaviours) if behaviours is not None else sorted(set(names))
    unknown = sorted(set(names) - set(vocabulary))
    if unknown:
        raise DataContractError(path, f"unknown behaviours {unknown}: the vocabulary is {vocabulary}")
    frames, marks = intervals_to_frames(starts, stops, grid_hz, (float(starts.min()), float(stops.max())))
    labels = np.asarray(names)
    data = {b: marks[labels == b].any(axis=0).astype(np.int8) for b in vocabulary}
    return pd.DataFrame(data, index=pd.Index(frames, name=FRAME_COLUMN))


def read_caltech_annotations(
    path: Path | str,
    video_fps: float,
    grid_hz: float,
    behaviours: Sequence[str] | None = None,
    ignore: Sequence[str] = ("base",),
) -> pd.DataFrame:
    """Every stream's ranges on the grid; `ignore` names the 'nothing happening' type of the file."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise DataContractError(path, "empty or missing file: expected a Caltech Behavior Annotator file")
    rows: list[tuple[str, int, int]] = []
    stream = None
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if match := _CALTECH_STREAM.match(line):
            stream = match.group(1)
            continue
        parts = line.split()
        if stream and len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            first, last = int(parts[0]), int(parts[1])
            if last < first:
                raise DataContractError(path, f"range {first}-{last} ends before it starts", where=f"line {number}")
            rows.append((parts[2], first, last))
    if stream is None:
        raise DataContractError(path, "no stream table ('S1: start end type') found")
    kept = [r for r in rows if r[0] not in ignore]
    names = [r[0] for r in kept]
    # Video frame f (1-based) lasts from (f - 1) / fps to f / fps.
    starts = np.array([(r[1] - 1) / video_fps for r in kept])
    stops = np.array([r[2] / video_fps for r in kept])
    table = _to_frame_table(path, names, starts, stops, grid_hz, behaviours)
    end = max(r[2] for r in rows) / video_fps
    span = int(np.ceil((min(r[1] for r in rows) - 1) / video_fps * grid_hz - 1e-9)), int(np.ceil(end * grid_hz - 1e-9))
    return table.reindex(pd.RangeIndex(*span, name=FRAME_COLUMN), fill_value=0)


def read_interval_table(
    path: Path | str,
    grid_hz: float,
    behaviours: Sequence[str] | None = None,
    *,
    start: str = "from",
    stop: str = "to",
    behaviour: str = "type",
    where: Mapping[str, str] | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """A table with one row per bout in seconds; `where` keeps the rows of one video or rater."""
    path = Path(path)
    table = read_table(path, "a table of intervals", sep=sep, engine="python")
    missing = [c for c in (start, stop, behaviour, *(where or {})) if c not in table.columns]
    if missing:
        raise DataContractError(path, f"missing columns {missing}", where="header")
    for column, value in (where or {}).items():
        table = table[table[column].astype(str) == value]
    times = table[[start, stop]].apply(pd.to_numeric, errors="coerce")
    if times.isna().to_numpy().any():
        raise DataContractError(
            path,
            f"non-numeric {start!r}/{stop!r} value",
            where=f"line {int(times.isna().any(axis=1).to_numpy().argmax()) + 2}",
        )
    names = table[behaviour].astype(str).str.strip().tolist()
    if behaviours is not None:
        keep = [n in behaviours for n in names]
        names = [n for n, k in zip(names, keep, strict=True) if k]
        times = times[keep]
    return _to_frame_table(path, names, times[start].to_numpy(float), times[stop].to_numpy(float), grid_hz, behaviours)
