"""Reading a contract CSV with pandas, its failures turned into the user's one-line error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ratbehavior.errors import DataContractError


def read_table(path: Path, expected: str, **read_csv_kwargs) -> pd.DataFrame:
    """`expected` completes 'empty file: expected ...' for the file at hand."""
    if not path.is_file():
        raise DataContractError(path, "file not found")
    try:
        return pd.read_csv(path, skipinitialspace=True, **read_csv_kwargs)
    except pd.errors.EmptyDataError as err:
        raise DataContractError(path, f"empty file: expected {expected}") from err
    except pd.errors.ParserError as err:
        raise DataContractError(path, f"malformed CSV ({str(err).splitlines()[0]})") from err
