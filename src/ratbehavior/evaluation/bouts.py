"""Per-frame 0/1 decisions -> bouts: what an ethologist reads and counts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

BOUT_COLUMNS = ["behaviour", "start_s", "stop_s", "duration_s", "start_frame", "stop_frame"]


def runs(column: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the maximal runs of non-zero values."""
    edges = np.diff(np.concatenate([[0], (np.asarray(column) != 0).astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def bout_table(decisions: np.ndarray, frames: np.ndarray, behaviours: Sequence[str], grid_hz: float) -> pd.DataFrame:
    """One row per bout; stops are exclusive (the frame after the last one), times in seconds on the
    video clock. `frames` are the consecutive absolute frame numbers of the rows of `decisions`."""
    rows = []
    for c, behaviour in enumerate(behaviours):
        for start, stop in runs(decisions[:, c]):
            first, after = int(frames[start]), int(frames[stop - 1]) + 1
            rows.append((behaviour, first / grid_hz, after / grid_hz, (after - first) / grid_hz, first, after, c))
    table = pd.DataFrame(rows, columns=[*BOUT_COLUMNS, "order"]).sort_values(["start_frame", "order"], kind="stable")
    table[["start_s", "stop_s", "duration_s"]] = table[["start_s", "stop_s", "duration_s"]].round(3)
    return table.drop(columns="order").reset_index(drop=True)
