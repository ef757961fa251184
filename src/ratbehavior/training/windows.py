"""Sessions cut into fixed-length windows of frames: the unit every training stage and the model consume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ratbehavior.data.dataset import SessionData

# Index 0 of the session embedding is kept for sessions the model has never seen.
UNKNOWN_SESSION = 0


@dataclass(frozen=True)
class WindowIndex:
    session: int  # position in the dataset's session list
    start: int  # first frame of the window within that session


def session_indices(session_ids: Sequence[str]) -> dict[str, int]:
    """Adapter slot of each training session, in a stable order; slot 0 stays 'unknown'."""
    return {sid: i + 1 for i, sid in enumerate(sorted(session_ids))}


def window_starts(n_frames: int, length: int, stride: int) -> list[int]:
    """Starts covering every frame; the last window is pulled back to end on the last frame."""
    if n_frames <= length:
        return [0]
    starts = list(range(0, n_frames - length + 1, stride))
    if starts[-1] != n_frames - length:
        starts.append(n_frames - length)
    return starts


class WindowDataset(Dataset):
    """Windows of `length` frames; a session shorter than that is padded with missing frames.

    Missing frames stay NaN in the features and False in the masks: the model, not the data
    pipeline, decides how to represent absence.
    """

    def __init__(
        self,
        sessions: Sequence[SessionData],
        length: int,
        stride: int,
        slots: dict[str, int] | None = None,
        labelled_only: bool = False,
    ) -> None:
        self.sessions = list(sessions)
        self.length = length
        self.slots = slots or {}
        self.index = [
            WindowIndex(i, start)
            for i, s in enumerate(self.sessions)
            for start in window_starts(s.frames.size, length, stride)
            if not labelled_only or s.label_mask[start : start + length].any()
        ]

    def __len__(self) -> int:
        return len(self.index)

    def _cut(self, array: np.ndarray, start: int, fill: float | bool) -> np.ndarray:
        piece = array[start : start + self.length]
        if piece.shape[0] == self.length:
            return piece
        pad = np.full((self.length - piece.shape[0], *piece.shape[1:]), fill, dtype=piece.dtype)
        return np.concatenate([piece, pad])

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        where = self.index[item]
        s = self.sessions[where.session]
        f, start = s.features, where.start
        return {
            "pose": torch.from_numpy(self._cut(f.pose, start, np.nan)),
            "imu": torch.from_numpy(self._cut(f.imu, start, np.nan)),
            "pose_mask": torch.from_numpy(self._cut(f.pose_mask, start, False)),
            "imu_mask": torch.from_numpy(self._cut(f.imu_mask, start, False)),
            "labels": torch.from_numpy(self._cut(s.labels, start, 0).astype(np.float32)),
            "label_mask": torch.from_numpy(self._cut(s.label_mask, start, False)),
            "frame_mask": torch.from_numpy(self._cut(np.ones(s.frames.size, dtype=bool), start, False)),
            "session_index": torch.tensor(self.slots.get(s.session_id, UNKNOWN_SESSION), dtype=torch.long),
            "window": torch.tensor(item, dtype=torch.long),
        }
