"""DeepLabCut output (`pose.csv` / `pose.h5`) -> one animal's keypoints as a (bodypart, coord) table.

The header is read apart from the body on purpose: `pd.read_csv(header=[0,1,2,3], index_col=0)`
silently takes an all-empty first data row as the index name and loses that frame.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ratbehavior.errors import DataContractError

COORDS = ("x", "y", "likelihood")
H5_KEY = "df_with_missing"
H5_SUFFIXES = (".h5", ".hdf5")
_PANDAS_DEDUP_SUFFIX = re.compile(r"\.\d+$")
_LEVELS_SINGLE = ["scorer", "bodyparts", "coords"]
_LEVELS_MULTI = ["scorer", "individuals", "bodyparts", "coords"]


def _header_rows(path: Path) -> tuple[list[list[str]], int]:
    """The header rows (first cell dropped) and how many leading columns hold the index."""
    with path.open(newline="") as handle:
        head = [row for _, row in zip(range(5), csv.reader(handle), strict=False)]
    if not head or not any(cell.strip() for cell in head[0]):
        raise DataContractError(path, "empty file: expected a DeepLabCut CSV starting with a 'scorer' row")
    # A DLC CSV that went through pandas once more gains a leading index column; accept it as such.
    skip = 1 if head[0][0].strip() == "" and len(head[0]) > 1 and head[0][1].strip() == "scorer" else 0
    names = [row[skip].strip() if len(row) > skip else "" for row in head]
    for layout in (_LEVELS_MULTI, _LEVELS_SINGLE):
        if names[: len(layout)] == layout:
            return [row[skip + 1 :] for row in head[: len(layout)]], skip
    raise DataContractError(
        path,
        f"header rows start with {names[:4]}: expected scorer/bodyparts/coords "
        "(or scorer/individuals/bodyparts/coords for multi-animal DeepLabCut)",
        where="header",
    )


def _check_not_truncated(path: Path, width: int) -> None:
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 65536))
        tail = handle.read().decode(errors="replace")
    last = tail.rstrip("\r\n").rsplit("\n", 1)[-1]
    fields = len(next(csv.reader([last]))) if last else 0
    if fields != width:
        raise DataContractError(
            path, f"truncated: the last row has {fields} fields, the header {width}", where="last row"
        )


def _read_csv(path: Path) -> pd.DataFrame:
    header, skip = _header_rows(path)
    width = skip + 1 + len(header[0])
    _check_not_truncated(path, width)
    body = pd.read_csv(path, header=None, skiprows=len(header), index_col=skip, low_memory=False)
    if skip:
        body = body.drop(columns=body.columns[:skip])
    levels = [[_PANDAS_DEDUP_SUFFIX.sub("", cell.strip()) for cell in row] for row in header]
    if body.shape[1] != len(levels[0]):
        raise DataContractError(path, f"{body.shape[1]} data columns under {len(levels[0])} header columns")
    names = _LEVELS_MULTI if len(levels) == len(_LEVELS_MULTI) else _LEVELS_SINGLE
    body.columns = pd.MultiIndex.from_arrays(levels, names=names)
    return body


def _read_h5(path: Path) -> pd.DataFrame:
    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = store.keys()
            key = f"/{H5_KEY}" if f"/{H5_KEY}" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise DataContractError(path, f"expected key {H5_KEY!r}, found {keys}")
            frame = store[key]
    except (OSError, ValueError) as err:
        if isinstance(err, DataContractError):
            raise
        raise DataContractError(path, f"not a readable DeepLabCut HDF5 file ({err.__class__.__name__})") from err
    if not isinstance(frame.columns, pd.MultiIndex) or frame.columns.nlevels not in (3, 4):
        raise DataContractError(path, "expected DeepLabCut columns (scorer, [individuals,] bodyparts, coords)")
    return frame


def _select_individual(path: Path, frame: pd.DataFrame, individual: str | None) -> pd.DataFrame:
    if frame.columns.nlevels == 3:
        return frame.droplevel(0, axis=1)
    available = list(dict.fromkeys(frame.columns.get_level_values(1)))
    chosen = individual if individual is not None else available[0]
    if chosen not in available:
        raise DataContractError(path, f"individual {chosen!r} not in the file: it has {available}")
    return frame.xs(chosen, axis=1, level=1).droplevel(0, axis=1)


def _check_shape(path: Path, frame: pd.DataFrame, header_lines: int | None) -> pd.DataFrame:
    def place(row: int) -> str:
        return f"line {row + header_lines + 1}" if header_lines is not None else f"row {row}"

    bodyparts = list(dict.fromkeys(frame.columns.get_level_values(0)))
    for part in bodyparts:
        coords = list(frame[part].columns)
        if coords != list(COORDS):
            raise DataContractError(path, f"coords {coords}: expected {list(COORDS)}", where=f"bodypart {part!r}")
    index = pd.to_numeric(pd.Series(frame.index), errors="coerce")
    if index.isna().any() or not np.all(np.mod(index, 1) == 0):
        row = int(np.flatnonzero(index.isna() | (np.mod(index.fillna(0.5), 1) != 0))[0])
        raise DataContractError(path, f"frame index {frame.index[row]!r} is not an integer", where=place(row))
    if not index.is_monotonic_increasing or index.duplicated().any():
        raise DataContractError(path, "frame index must be unique and increasing", where="first column")
    values = frame.apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & frame.notna()
    if bad.to_numpy().any():
        row, col = (int(a[0]) for a in np.nonzero(bad.to_numpy()))
        raise DataContractError(
            path, f"non-numeric value {frame.iat[row, col]!r}", where=f"{place(row)}, column {frame.columns[col]}"
        )
    values.index = index.astype(np.int64).to_numpy()
    values.index.name = "frame"
    values.columns = values.columns.set_names(["bodyparts", "coords"])
    return values.astype(np.float64)


def read_dlc(path: Path | str, individual: str | None = None) -> pd.DataFrame:
    """Keypoints of one animal: index `frame`, columns (bodypart, x|y|likelihood), float64, NaN where empty."""
    path = Path(path)
    if not path.is_file():
        raise DataContractError(path, "pose file not found")
    if path.stat().st_size == 0:
        raise DataContractError(path, "empty file: expected DeepLabCut output")
    if path.suffix in H5_SUFFIXES:
        frame, header_lines = _read_h5(path), None
    else:
        frame = _read_csv(path)
        header_lines = frame.columns.nlevels
    return _check_shape(path, _select_individual(path, frame, individual), header_lines)


def individuals(path: Path | str) -> list[str]:
    """The individuals of a multi-animal file, or an empty list for a single-animal file."""
    path = Path(path)
    frame = _read_h5(path) if path.suffix in H5_SUFFIXES else _read_csv(path)
    return list(dict.fromkeys(frame.columns.get_level_values(1))) if frame.columns.nlevels == 4 else []
