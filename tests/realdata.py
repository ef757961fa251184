"""Where the real public files live: beside the repo in ../shared/realdata, never copied into it."""

from __future__ import annotations

from pathlib import Path

import pytest

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def real(relative: str) -> Path:
    path = REALDATA / relative
    if not path.is_file():
        pytest.skip(f"real data file not found: {path}")
    return path
