"""Ensembles (`training.members`): each member trains as a one-network training under its own seed
would, a one-network training's checkpoints are the first member's, and the members' logits are
averaged before one calibration, in memory as in a model directory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ratbehavior.errors import InputError
from ratbehavior.inference import adapt_to_session, load_model_dir, predict_session, predictor_of, save_model_dir
from ratbehavior.model.ensemble import Ensemble, networks
from ratbehavior.model.sliding import run_session
from ratbehavior.training.checkpoint import Checkpoints, weights_digest
from ratbehavior.training.pipeline import stage_names, train_model
from ratbehavior.training.ray_launcher import local_checkpoint
from tests.training.toy import tiny_config, toy_dataset, toy_session

TWO = "training.members=2"


@pytest.fixture(scope="module")
def sessions():
    return toy_dataset()


@pytest.fixture(scope="module")
def one_network(sessions, tmp_path_factory):
    folder = tmp_path_factory.mktemp("one")
    return train_model(sessions, tiny_config(), ["A2"], folder), folder


@pytest.fixture(scope="module")
def ensemble(one_network, sessions):
    """Two members, resumed from the one-network training's checkpoints."""
    _, folder = one_network
    seen: list[str] = []
    trained = train_model(sessions, tiny_config(TWO), ["A2"], folder, hooks=[lambda s, e, _: seen.append(s)])
    return trained, folder, seen


def test_the_stages_of_later_members_are_named_after_their_member():
    names = stage_names(tiny_config(TWO))
    single = stage_names(tiny_config())
    assert names == single + [f"member1_{name}" for name in single]


def test_an_ensemble_resumes_a_one_network_training_as_its_first_member(one_network, ensemble):
    single, _ = one_network
    trained, folder, seen = ensemble
    assert seen and all(stage.startswith("member1_") for stage in seen)
    assert isinstance(trained.model, Ensemble)
    first, second = networks(trained.model)
    reference = weights_digest(single.model.state_dict())
    assert weights_digest(first.state_dict()) == reference != weights_digest(second.state_dict())
    assert sorted(Checkpoints(folder).digests()) == sorted(stage_names(tiny_config(TWO)))
    assert list(trained.history) == stage_names(tiny_config(TWO))


def test_a_later_member_trains_as_under_its_own_seed(sessions, ensemble, tmp_path):
    """Stage 1 sees no labels, so it does not depend on the calibration split, which stays the
    configuration seed's for every member: there member 1 and a training under seed 1 agree."""
    _, folder, _ = ensemble
    train_model(sessions, tiny_config("seed=1"), ["A2"], tmp_path, stop_after="stage1")
    assert Checkpoints(tmp_path).digests()["stage1"] == Checkpoints(folder).digests()["member1_stage1"]


def test_a_job_that_stops_inside_a_later_member_trains_only_that_member(sessions, tmp_path):
    seen: list[str] = []
    cfg = tiny_config(TWO)
    assert (
        train_model(
            sessions, cfg, ["A2"], tmp_path, hooks=[lambda s, e, _: seen.append(s)], stop_after="member1_stage1"
        )
        is None
    )
    assert set(seen) == {"member1_stage1"}
    assert not (tmp_path / "stage1.pt").exists()


def test_an_ensemble_averages_its_members_logits_and_survives_its_model_directory(ensemble, tmp_path):
    trained, _, _ = ensemble
    cfg = tiny_config(TWO)
    session = toy_session("B9_D1", "B9", seed=5)
    t = cfg.training
    logits = [run_session(net, session, 0, t.window, t.stride, 8).logits for net in networks(trained.model)]
    together = run_session(trained.model, session, 0, t.window, t.stride, 8)
    np.testing.assert_allclose(together.logits, np.mean(logits, axis=0), rtol=1e-6)
    save_model_dir(trained, cfg, tmp_path / "m")
    assert json.loads((tmp_path / "m" / "model.json").read_text())["config"]["training"]["members"] == 2
    loaded = load_model_dir(tmp_path / "m")
    a = predict_session(predictor_of(trained, cfg), session)
    b = predict_session(loaded, session)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    slot = adapt_to_session(loaded, session, steps=2)
    assert slot == len(trained.slots) + 1
    assert all(net.dims.n_sessions == slot for net in networks(loaded.model))
    assert not np.array_equal(predict_session(loaded, session, slot).probabilities, b.probabilities)


def test_a_checkpoint_without_every_step_of_the_configuration_is_refused(ensemble):
    """A pipeline compiled with fewer members than the configuration asks for would otherwise train
    the missing member where it only meant to load the model."""
    _, folder, _ = ensemble
    with local_checkpoint(tiny_config(TWO), str(folder)) as copy:
        assert (copy / "member1_classifier_round1.pt").is_file()
    three = tiny_config("training.members=3")
    with pytest.raises(InputError, match=r"stopped before member2_stage1,"), local_checkpoint(three, str(folder)):
        pass
