import numpy as np
import torch
from torch.utils.data import DataLoader

from ratbehavior.data.dataset import SessionData
from ratbehavior.data.features import SessionFeatures
from ratbehavior.training.windows import UNKNOWN_SESSION, WindowDataset, session_indices, window_starts


def _session(sid: str, n: int, labelled=slice(10, 20)) -> SessionData:
    pose = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    mask = np.ones(n, bool)
    mask[5] = False
    pose[5] = np.nan
    labels = np.zeros((n, 3), np.int8)
    label_mask = np.zeros(n, bool)
    label_mask[labelled] = True
    labels[labelled, 1] = 1
    features = SessionFeatures(sid, "A", pose, ("a", "b"), np.zeros((n, 1), np.float32), ("c",), mask, np.ones(n, bool))
    return SessionData(features, np.arange(n), labels, label_mask, ("x", "y", "z"))


def test_windows_cover_every_frame_exactly_with_the_last_pulled_back():
    assert window_starts(100, 32, 32) == [0, 32, 64, 68]
    assert window_starts(20, 32, 16) == [0]
    covered = np.zeros(100, int)
    for start in window_starts(100, 32, 16):
        covered[start : start + 32] += 1
    assert (covered > 0).all()


def test_items_keep_missing_frames_missing_and_pad_short_sessions():
    data = WindowDataset([_session("s1", 20)], length=32, stride=32, slots=session_indices(["s1"]))
    item = data[0]
    assert item["pose"].shape == (32, 2)
    assert torch.isnan(item["pose"][5]).all() and not item["pose_mask"][5]
    assert torch.isnan(item["pose"][20:]).all() and not item["frame_mask"][20:].any()
    assert item["frame_mask"][:20].all()
    assert item["label_mask"].sum() == 10 and item["labels"][10:20, 1].eq(1).all()
    assert item["session_index"] == 1


def test_unknown_sessions_get_the_reserved_slot_and_labelled_only_filters():
    sessions = [_session("s1", 100, slice(0, 5)), _session("s2", 100, slice(90, 95))]
    data = WindowDataset(sessions, length=32, stride=32, slots={"s1": 1}, labelled_only=True)
    assert [(w.session, w.start) for w in data.index] == [(0, 0), (1, 64), (1, 68)]
    assert data[1]["session_index"] == UNKNOWN_SESSION
    batch = next(iter(DataLoader(data, batch_size=3)))
    assert batch["pose"].shape == (3, 32, 2) and batch["session_index"].tolist() == [1, 0, 0]
