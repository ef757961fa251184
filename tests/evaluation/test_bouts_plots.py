"""Bout tables, the co-occurrence confusion, and the figures as files."""

import numpy as np
import pytest
from matplotlib.image import imread

from ratbehavior.evaluation.bouts import bout_table, runs
from ratbehavior.evaluation.plots import (
    cooccurrence_confusion,
    plot_cooccurrence_confusion,
    plot_ethogram,
    plot_fold_f1,
    plot_per_behaviour_f1,
)


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ([], []),
        ([1], [(0, 1)]),
        ([0, 0, 0], []),
        ([1, 1, 1], [(0, 3)]),
        ([1, 0, 1, 1, 0, 1], [(0, 1), (2, 4), (5, 6)]),
        ([0, 2, 2, 0], [(1, 3)]),
    ],
)
def test_runs(column, expected):
    assert runs(np.array(column)) == expected


def test_bout_table_has_exclusive_stops_on_the_video_clock():
    decisions = np.zeros((10, 2), dtype=np.int8)
    decisions[0:3, 0] = 1  # touches the start
    decisions[5, 0] = 1  # one frame
    decisions[4:10, 1] = 1  # touches the end
    table = bout_table(decisions, np.arange(100, 110), ["walk", "rear"], 50.0)
    assert table.to_dict("records") == [
        {
            "behaviour": "walk",
            "start_s": 2.0,
            "stop_s": 2.06,
            "duration_s": 0.06,
            "start_frame": 100,
            "stop_frame": 103,
        },
        {
            "behaviour": "rear",
            "start_s": 2.08,
            "stop_s": 2.2,
            "duration_s": 0.12,
            "start_frame": 104,
            "stop_frame": 110,
        },
        {
            "behaviour": "walk",
            "start_s": 2.1,
            "stop_s": 2.12,
            "duration_s": 0.02,
            "start_frame": 105,
            "stop_frame": 106,
        },
    ]
    empty = bout_table(np.zeros((0, 2)), np.arange(0), ["walk", "rear"], 50.0)
    assert empty.empty
    assert list(empty.columns) == ["behaviour", "start_s", "stop_s", "duration_s", "start_frame", "stop_frame"]


def test_cooccurrence_confusion_rows_are_shares_of_true_frames():
    truth = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 1, 0]])
    predicted = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0]])
    m = cooccurrence_confusion(truth, predicted)
    np.testing.assert_allclose(m[0], [2 / 3, 2 / 3, 1 / 3])
    np.testing.assert_allclose(m[1], [0.0, 0.5, 0.5])
    assert np.isnan(m[2]).all()


def _png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(path)


def test_the_figures_are_written(tmp_path):
    rng = np.random.default_rng(0)
    behaviours = ["walk", "rear", "groom"]
    truth = rng.integers(0, 2, (3000, 3))
    predicted = rng.integers(0, 2, (3000, 3))
    per_behaviour = {b: {"f1": 0.5 + 0.1 * i, "support": 10 * i} for i, b in enumerate(behaviours)}
    _png(plot_per_behaviour_f1(per_behaviour, tmp_path / "f1.png", title="t"))
    _png(plot_fold_f1({"full": {"R01": 0.9, "R02": 0.8}, "rf": {"R01": 0.6}}, tmp_path / "folds.png"))
    _png(plot_cooccurrence_confusion(truth, predicted, behaviours, tmp_path / "co.png"))
    mask = np.zeros(3000, dtype=bool)
    mask[500:1500] = True
    image = _png(plot_ethogram(np.arange(3000) * 0.02, predicted, behaviours, tmp_path / "e.png", truth, mask, "s"))
    assert image.shape[1] > 2 * image.shape[0]
    _png(plot_ethogram(np.arange(3000) * 0.02, predicted, behaviours, tmp_path / "p.png"))


def test_an_integer_truth_mask_draws_like_a_boolean_one(tmp_path):
    time_s = np.arange(200) * 0.02
    truth = np.zeros((200, 1), dtype=np.int8)
    truth[20:80] = 1
    mask = np.zeros(200, dtype=np.int8)
    mask[:100] = 1
    as_int = plot_ethogram(time_s, truth, ["walk"], tmp_path / "int.png", truth, mask)
    as_bool = plot_ethogram(time_s, truth, ["walk"], tmp_path / "bool.png", truth, mask.astype(bool))
    np.testing.assert_array_equal(imread(as_int), imread(as_bool))
