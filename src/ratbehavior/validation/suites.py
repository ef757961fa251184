"""Expectation suites for session.yaml and the label files, and the wording shared by every suite.

A suite's messages name places through the index of its table: line numbers for CSV files, event
numbers for BORIS, session names for session.yaml (one table for the whole dataset: GE costs ~15 ms
per expectation whatever the table's size).
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Any

import great_expectations.expectations as gxe
import pandas as pd

from ratbehavior.data.labels import FRAME_COLUMN
from ratbehavior.data.session import ImuUnits, SessionMeta
from ratbehavior.validation.report import count
from ratbehavior.validation.runner import WHOLE_FILE, Check

# CSV files have one header line; data row i (from 0) is on line i + 2.
FIRST_DATA_LINE = 2
# For each type SessionMeta declares: its name for users, and the Python type names GE accepts for it.
_GE_TYPES: dict[type, tuple[str, list[str]]] = {
    str: ("text", ["str"]),
    int: ("a whole number", ["int", "int64"]),
    float: ("a number", ["int", "int64", "float", "float64"]),
}
_POSITIVE = ("video_fps", "imu_rate_hz")


# Names the place of a row of a suite's table, e.g. "line 1,204", from its index value.
Place = Callable[[Any], str]


def line(number: Any) -> str:
    return f"line {int(number):,}"


def event(number: Any) -> str:
    return f"event {int(number):,}"


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)


def offenders(result: dict[str, Any], noun: str = "row", place: Place = line, value: bool = True) -> str:
    """'3 rows fail, first at line 1,204: 0.5' from a GE map-expectation result."""
    n = int(result.get("unexpected_count") or 0)
    places = result.get("partial_unexpected_index_list") or []
    values = result.get("partial_unexpected_list") or []
    first = f", first at {place(places[0])}" if places else ""
    shown = f": {_value(values[0])}" if value and values else ""
    return f"{count(n, noun)} fail{'s' if n == 1 else ''}{first}{shown}"


def file_lines(table: pd.DataFrame) -> pd.DataFrame:
    """The same table indexed by the line each row has in its CSV file."""
    table = table.copy()
    table.index = pd.RangeIndex(FIRST_DATA_LINE, FIRST_DATA_LINE + len(table))
    return table


def cells(table: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, Place]:
    """`columns` of a line-indexed table stacked into one `value` column, row by row, and each cell's place:
    one expectation then checks them all (GE costs ~15 ms per expectation whatever the table's size)."""
    values = pd.DataFrame({"value": table[list(columns)].to_numpy().ravel()})
    rows = table.index

    def place(i: Any) -> str:
        return f"{line(rows[int(i) // len(columns)])}, column {columns[int(i) % len(columns)]}"

    return values, place


def meta_tables(raws: dict[str, dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every session's session.yaml, one row each (index: session), `imu_units` flattened to `imu_units.acc`/`.gyr`.

    Two tables: as written, for required keys and types; and with non-numbers blanked in the numeric
    keys, for the ranges, because GE gives up on a whole column when it compares a number with text.
    Absent keys are None when required (so that one not-null expectation says "missing"), else at
    their default.
    """
    defaults: dict[str, Any] = {key: None for key, spec in SessionMeta.model_fields.items() if spec.is_required()}
    defaults["imu_offset_s"] = SessionMeta.model_fields["imu_offset_s"].default
    defaults |= {f"imu_units.{key}": value for key, value in ImuUnits().model_dump().items()}
    rows = {}
    for session, raw in raws.items():
        row = dict(defaults)
        for key, value in raw.items():
            if key == "imu_units" and isinstance(value, dict):
                row |= {f"imu_units.{unit}": given for unit, given in value.items()}
            else:
                row[str(key)] = value
        rows[session] = row
    # Object columns built value by value: GE then checks each value's Python type, and no 1 turns into 1.0
    # beside a missing value (pandas' own dtypes would, and its str dtype confuses GE's type names).
    columns = list(dict.fromkeys(key for row in rows.values() for key in row))
    written = pd.DataFrame(
        {key: pd.Series([row.get(key) for row in rows.values()], index=list(rows), dtype=object) for key in columns}
    )
    numbers = written.copy()
    for key in _POSITIVE:
        kept = [v if isinstance(v, int | float) and not isinstance(v, bool) else None for v in written[key]]
        numbers[key] = pd.Series(kept, index=written.index, dtype=object)
    return written, numbers


def meta_checks() -> list[Check]:
    """Required keys, the types SessionMeta declares, units from the allowed sets (on the table as written)."""
    checks = []
    for key, spec in SessionMeta.model_fields.items():
        if spec.is_required():
            checks.append(
                Check(gxe.ExpectColumnValuesToNotBeNull(column=key), lambda r: "required key missing or empty")
            )
        if spec.annotation in _GE_TYPES:
            kind, types = _GE_TYPES[spec.annotation]  # type: ignore[index]
            hint = " (quote it)" if spec.annotation is str else ""
            checks.append(
                Check(
                    gxe.ExpectColumnValuesToBeInTypeList(column=key, type_list=types),
                    lambda r, kind=kind, hint=hint: f"must be {kind}{hint}",
                )
            )
    for unit, spec in ImuUnits.model_fields.items():
        allowed = list(typing.get_args(spec.annotation))
        checks.append(
            Check(
                gxe.ExpectColumnValuesToBeInSet(column=f"imu_units.{unit}", value_set=allowed),
                lambda r, allowed=allowed: f"must be one of {allowed}",
            )
        )
    return checks


def meta_range_checks() -> list[Check]:
    """Rates must be positive (on the table with non-numbers blanked)."""
    return [
        Check(gxe.ExpectColumnValuesToBeBetween(column=key, min_value=0, strict_min=True), lambda r: "must be > 0")
        for key in _POSITIVE
    ]


def labels_checks(columns: Sequence[str], behaviours: Sequence[str]) -> list[Check]:
    """labels.csv as read by pandas: header `frame` + the vocabulary, frames present, unique and non-negative."""
    return [
        Check(
            gxe.ExpectColumnToExist(column=FRAME_COLUMN, column_index=0),
            lambda r: f"the first column must be {FRAME_COLUMN!r}, found {list(columns)[:1]}",
        ),
        Check(
            gxe.ExpectTableColumnsToMatchSet(column_set=[FRAME_COLUMN, *behaviours], exact_match=True),
            lambda r: _column_mismatch(r, behaviours),
        ),
        Check(gxe.ExpectColumnValuesToNotBeNull(column=FRAME_COLUMN), lambda r: f"empty cells ({offenders(r)})"),
        Check(
            gxe.ExpectColumnValuesToBeUnique(column=FRAME_COLUMN),
            lambda r: f"every frame may appear once ({offenders(r)})",
        ),
        Check(
            gxe.ExpectColumnValuesToBeBetween(column=FRAME_COLUMN, min_value=0),
            lambda r: f"frames must be non-negative ({offenders(r)})",
        ),
    ]


def label_value_checks(place: Place) -> list[Check]:
    """Every behaviour cell of labels.csv, stacked by `cells`: present and 0 or 1."""
    return [
        Check(
            gxe.ExpectColumnValuesToNotBeNull(column="value"),
            lambda r: f"empty cells, is the file truncated? ({offenders(r, 'cell', place, value=False)})",
            column=WHOLE_FILE,
        ),
        Check(
            gxe.ExpectColumnValuesToBeInSet(column="value", value_set=[0, 1]),
            lambda r: f"values must be 0 or 1 ({offenders(r, 'cell', place)})",
            column=WHOLE_FILE,
        ),
    ]


def _column_mismatch(result: dict[str, Any], behaviours: Sequence[str]) -> str:
    details = result.get("details", {}).get("mismatched", {})
    unexpected, missing = details.get("unexpected", []), details.get("missing", [])
    parts = [f"unknown behaviours {unexpected}"] if unexpected else []
    parts += [f"missing columns {missing}"] if missing else []
    return "; ".join(parts) + f" (the vocabulary is {list(behaviours)})"


def boris_checks(behaviours: Sequence[str]) -> list[Check]:
    """BORIS events as `read_boris_events` returns them; it has already enforced types and Start <= Stop."""
    return [
        Check(
            gxe.ExpectColumnValuesToBeInSet(column="Behavior", value_set=list(behaviours)),
            lambda r: (
                f"unknown behaviours {sorted(set(r.get('partial_unexpected_list') or []))} "
                f"({offenders(r, 'event', event)}; the vocabulary is {list(behaviours)})"
            ),
        ),
    ]
