import numpy as np
import pytest

from ratbehavior.evaluation.cv import leave_one_animal_out
from ratbehavior.evaluation.metrics import frame_metrics


def test_macro_f1_ignores_behaviours_absent_from_the_truth():
    truth = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]])
    pred = np.array([[1, 0, 0], [0, 0, 0], [0, 1, 0], [0, 1, 1]])
    m = frame_metrics(truth, pred, ["a", "b", "c"])
    assert m["per_behaviour"]["a"]["f1"] == pytest.approx(2 / 3)
    assert m["per_behaviour"]["b"]["f1"] == 1.0
    assert m["per_behaviour"]["c"]["support"] == 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2)
    # micro: tp 3, fp 1, fn 1
    assert m["micro_f1"] == pytest.approx(0.75)


def test_each_animal_is_held_out_once_with_all_its_sessions():
    sessions = {"A_d1": "A", "A_d2": "A", "B_d1": "B", "C_d1": "C"}
    folds = list(leave_one_animal_out(sessions))
    assert [f.held_out for f in folds] == ["A", "B", "C"]
    assert folds[0].test_sessions == ("A_d1", "A_d2")
    assert folds[0].train_sessions == ("B_d1", "C_d1")
    for fold in folds:
        assert not set(fold.train_sessions) & set(fold.test_sessions)
    with pytest.raises(ValueError, match="animal 'Z' has no sessions"):
        list(leave_one_animal_out(sessions, ["Z"]))
