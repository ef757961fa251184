"""A SimBA-style baseline: a random forest on each frame's engineered features, nothing temporal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from ratbehavior.data.dataset import SessionData
from ratbehavior.evaluation.cv import leave_one_animal_out
from ratbehavior.evaluation.metrics import FoldResult, summarise_folds


def frame_matrix(data: SessionData, use_pose: bool = True, use_imu: bool = True) -> np.ndarray:
    """Features per frame with missing values as 0 plus an explicit 'missing' column per modality,
    so the forest can tell 'absent' from 'zero'."""
    parts: list[np.ndarray] = []
    if use_pose:
        parts += [np.nan_to_num(data.features.pose, nan=0.0), ~data.features.pose_mask[:, None]]
    if use_imu:
        parts += [np.nan_to_num(data.features.imu, nan=0.0), ~data.features.imu_mask[:, None]]
    return np.hstack(parts).astype(np.float32)


def _labelled(sessions: Sequence[SessionData], use_pose: bool, use_imu: bool) -> tuple[np.ndarray, ...]:
    x = np.vstack([frame_matrix(s, use_pose, use_imu)[s.label_mask] for s in sessions])
    y = np.vstack([s.labels[s.label_mask] for s in sessions])
    video = np.concatenate([s.features.pose_mask[s.label_mask] for s in sessions])
    return x, y, video


def random_forest_loao(
    sessions: Sequence[SessionData],
    *,
    use_pose: bool = True,
    use_imu: bool = True,
    n_estimators: int = 100,
    seed: int = 0,
    n_jobs: int = 2,
) -> dict[str, Any]:
    """Leave-one-animal-out scores of a per-frame forest: per fold, overall, and with/without video."""
    by_id = {s.session_id: s for s in sessions}
    folds: dict[str, FoldResult] = {}
    for fold in leave_one_animal_out({s.session_id: s.animal for s in sessions}):
        x_train, y_train, _ = _labelled([by_id[i] for i in fold.train_sessions], use_pose, use_imu)
        x_test, y_test, video = _labelled([by_id[i] for i in fold.test_sessions], use_pose, use_imu)
        forest = RandomForestClassifier(
            n_estimators=n_estimators, min_samples_leaf=2, class_weight="balanced_subsample",
            random_state=seed, n_jobs=n_jobs,
        )  # fmt: skip
        forest.fit(x_train, y_train)
        folds[fold.held_out] = FoldResult(y_test, forest.predict(x_test).astype(np.int8), video)
    return summarise_folds(folds, sessions[0].behaviours)
