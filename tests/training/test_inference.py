"""Model directories and predictions: round trip, the contract's table, unseen sessions, adaptation."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from ratbehavior.inference import (
    ModelDirError,
    adapt_to_session,
    load_model_dir,
    predict_session,
    predictor_of,
    resolve_model,
    save_model_dir,
)
from ratbehavior.model.adapters import UNKNOWN_SESSION
from ratbehavior.training.pipeline import train_model
from tests.training.toy import BEHAVIOURS, tiny_config, toy_dataset, toy_session


@pytest.fixture(scope="module")
def trained():
    cfg = tiny_config()
    return train_model(toy_dataset(), cfg, ["A2"]), cfg


def test_a_saved_model_directory_predicts_exactly_like_the_trained_model(trained, tmp_path):
    model, cfg = trained
    save_model_dir(model, cfg, tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "model.json").read_text())
    assert manifest["behaviours"] == list(BEHAVIOURS) and manifest["holdout_animals"] == ["A2"]
    assert set(manifest) >= {"config", "dims", "feature_names", "slots", "calibration", "package_version"}
    assert manifest["labelled_frames"] == model.label_counts and manifest["labelled_frames"]["walk"]["fit"] > 0
    loaded = load_model_dir(tmp_path / "m")
    new = toy_session("B9_D1", "B9", seed=99)
    a = predict_session(predictor_of(model, cfg), new)
    b = predict_session(loaded, new)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    np.testing.assert_array_equal(a.decisions, b.decisions)


def test_predictions_follow_the_contract(trained):
    model, cfg = trained
    session = toy_session("B9_D1", "B9", frames=150, seed=5)
    table = predict_session(predictor_of(model, cfg), session).table(cfg.data.grid_hz)
    assert list(table.columns) == ["frame", "time_s", *BEHAVIOURS, *(f"prob_{b}" for b in BEHAVIOURS)]
    assert len(table) == 150
    np.testing.assert_allclose(table["time_s"], session.frames * 0.02)
    assert set(np.unique(table[list(BEHAVIOURS)])) <= {0, 1}
    probs = table[[f"prob_{b}" for b in BEHAVIOURS]].to_numpy()
    assert (probs >= 0).all() and (probs <= 1).all()


def test_a_session_the_model_never_saw_uses_the_unknown_slot(trained):
    model, cfg = trained
    predictor = predictor_of(model, cfg)
    session = toy_session("B9_D1", "B9", seed=5)
    unknown = predict_session(predictor, session)
    explicit = predict_session(predictor, session, slot=UNKNOWN_SESSION)
    np.testing.assert_array_equal(unknown.probabilities, explicit.probabilities)
    known = predict_session(predictor, replace(session, features=replace(session.features, session_id="A0_D0")))
    assert not np.array_equal(known.probabilities, unknown.probabilities)


@pytest.mark.parametrize("hidden", ["pose", "imu"])
def test_a_single_modality_model_never_sees_the_other_stream(hidden):
    """The pose-only and IMU-only baselines: what the unused stream carries must not move a prediction,
    whichever way the session reaches the model (in memory, as leave-one-animal-out scores it)."""
    cfg = tiny_config(f"training.use_{hidden}=false")
    predictor = predictor_of(train_model(toy_dataset(), cfg, ["A2"]), cfg)
    session = toy_session("B9_D1", "B9", seed=5)
    f = session.features
    other = np.random.default_rng(1).normal(0, 3, getattr(f, hidden).shape).astype(np.float32)
    scrambled = replace(session, features=replace(f, **{hidden: other}))
    np.testing.assert_array_equal(
        predict_session(predictor, session).probabilities, predict_session(predictor, scrambled).probabilities
    )


def test_adaptation_trains_only_the_new_sessions_adapter(trained, tmp_path):
    model, cfg = trained
    save_model_dir(model, cfg, tmp_path / "m")
    predictor = load_model_dir(tmp_path / "m")
    before = {k: v.clone() for k, v in predictor.model.state_dict().items()}
    session = toy_session("B9_D1", "B9", seed=5)
    slot = adapt_to_session(predictor, session, steps=3)
    assert slot == len(model.slots) + 1
    after = predictor.model.state_dict()
    for name, value in before.items():
        if "session_adapter.table" in name:
            np.testing.assert_array_equal(after[name][:slot].numpy(), value.numpy())
            assert not torch.equal(after[name][slot], after[name][1:slot].mean(0))
        else:
            assert torch.equal(after[name], value), name
    assert predict_session(predictor, session, slot).probabilities.shape == (session.frames.size, len(BEHAVIOURS))


def test_model_directory_errors_are_one_line(tmp_path):
    with pytest.raises(ModelDirError, match="not a model directory"):
        load_model_dir(tmp_path)
    with pytest.raises(ModelDirError, match="not a model directory"):
        resolve_model(str(tmp_path / "absent"))
