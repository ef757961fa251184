"""The whole training on toy sessions: it learns, it is deterministic, it resumes, it keeps held-out labels out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ratbehavior.errors import InputError
from ratbehavior.evaluation.loao import thin_labels
from ratbehavior.evaluation.metrics import frame_metrics
from ratbehavior.inference import predict_session, predictor_of
from ratbehavior.training.checkpoint import Checkpoints, weights_digest
from ratbehavior.training.data import label_blocks, prepare_training_data, with_labels
from ratbehavior.training.pipeline import stage_names, train_model
from tests.training.toy import BEHAVIOURS, tiny_config, toy_dataset, toy_session


@pytest.fixture(scope="module")
def sessions():
    return toy_dataset()


def _weights(trained) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trained.model.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_held_out_labels_never_reach_training_and_calibration_is_disjoint(sessions):
    data = prepare_training_data(sessions, tiny_config(), ["A1"])
    for fitted, held, original in zip(data.sessions, data.calibration, sessions, strict=True):
        if original.animal == "A1":
            assert not fitted.label_mask.any() and not held.label_mask.any()
        else:
            assert not (fitted.label_mask & held.label_mask).any()
            np.testing.assert_array_equal(fitted.label_mask | held.label_mask, original.label_mask)
    assert 0 < sum(h.label_mask.sum() for h in data.calibration) < sum(f.label_mask.sum() for f in data.sessions)
    assert set(data.slots.values()) == set(range(1, len(sessions) + 1))


def test_label_blocks_take_whole_blocks_of_labelled_frames():
    session = toy_session("S", "A", frames=1000, labelled=0.8)
    chosen = label_blocks(session, 0.5, 50, seed=3, purpose="x")
    assert not (chosen & ~session.label_mask).any()
    per_block = chosen.reshape(-1, 50).sum(1)
    labelled_per_block = session.label_mask.reshape(-1, 50).sum(1)
    assert set(np.flatnonzero(per_block)) <= set(np.flatnonzero(labelled_per_block))
    assert ((per_block == 0) | (per_block == labelled_per_block)).all()
    assert 0.2 < chosen.sum() / session.label_mask.sum() < 0.8


def test_thinned_labels_leave_every_fold_frames_to_train_on():
    """Sessions hold a few 10 s stretches of labels, as the demo data does. Drawn block by block at
    10 %, most sessions kept no label and a fold could be left with none to train on."""
    sessions = [toy_session(f"A{a}_D{d}", f"A{a}", frames=3000, seed=a + 7 * d, labelled=0.6)
                for a in range(4) for d in range(2)]  # fmt: skip
    cfg = tiny_config()
    for fraction in (0.05, 0.1, 0.25):
        thinned = thin_labels(sessions, fraction, cfg)
        for before, after in zip(sessions, thinned, strict=True):
            assert 0 < after.label_mask.sum() <= before.label_mask.sum()
            assert not (after.label_mask & ~before.label_mask).any()
        kept = sum(s.label_mask.sum() for s in thinned) / sum(s.label_mask.sum() for s in sessions)
        assert fraction / 2 < kept < 2 * fraction
        for held_out in ("A0", "A1", "A2", "A3"):
            assert prepare_training_data(thinned, cfg, [held_out]).labelled_frames > 0


def test_training_is_deterministic_by_seed(sessions, tmp_path):
    cfg = tiny_config()
    a, b = (train_model(sessions, cfg, ["A2"], tmp_path / run) for run in ("a", "b"))
    assert _same(_weights(a), _weights(b))
    np.testing.assert_array_equal(a.calibration.threshold, b.calibration.threshold)
    c = train_model(sessions, tiny_config("seed=1"), ["A2"], tmp_path / "c")
    assert not _same(_weights(a), _weights(c))
    # Stage by stage, the checkpoints' hashes say the same: equal runs agree on every stage, and the
    # last stage's hash is that of the trained model.
    digests = {run: Checkpoints(tmp_path / run).digests() for run in ("a", "b", "c")}
    assert sorted(digests["a"]) == sorted(stage_names(cfg))
    assert digests["a"] == digests["b"]
    assert digests["a"][stage_names(cfg)[-1]] == weights_digest(a.model.state_dict())
    assert all(digests["a"][stage] != digests["c"][stage] for stage in digests["a"])


def test_an_interrupted_training_resumes_to_the_same_result(sessions, tmp_path):
    cfg = tiny_config()
    reference = _weights(train_model(sessions, cfg, ["A0"]))

    class Crash(RuntimeError):
        pass

    def crash(stage: str, epoch: int, losses: dict[str, float]) -> None:
        if stage == "stage3" and epoch == 0:
            raise Crash

    with pytest.raises(Crash):
        train_model(sessions, cfg, ["A0"], tmp_path, hooks=[crash])
    assert (tmp_path / "stage3.pt").is_file() and not (tmp_path / "classifier.pt").exists()
    seen: list[tuple[str, int]] = []
    resumed = train_model(sessions, cfg, ["A0"], tmp_path, hooks=[lambda s, e, _: seen.append((s, e))])
    # Stages 1-2 and the first stage-3 epoch came from checkpoints; only the rest ran again.
    assert ("stage1", 0) not in seen and ("stage3", 0) not in seen and ("stage3", 1) in seen
    assert _same(_weights(resumed), reference)
    with pytest.raises(InputError, match="another training"):
        train_model(sessions, tiny_config("seed=5"), ["A0"], tmp_path)


def test_every_stage_logs_its_losses(sessions):
    trained = train_model(sessions, tiny_config(), ["A1"])
    assert list(trained.history) == [
        "stage1", "stage2", "stage3", "classifier", "stage3_round1", "classifier_round1",
    ]  # fmt: skip
    assert {"ts2vec_pose", "reconstruction_imu", "imputation"} <= set(trained.history["stage1"][0])
    assert {"alignment", "structure", "supcon"} <= set(trained.history["stage2"][0])
    assert {"bce", "supcon", "fixmatch", "mixing"} <= set(trained.history["stage3"][0])
    assert all(np.isfinite(v) for stage in trained.history.values() for epoch in stage for v in epoch.values())


def test_fixmatch_keeps_its_targets_when_the_prototype_pseudo_labels_are_off(sessions):
    """One threshold once served both uses of the prototypes, so an ablation of the pseudo-labels
    silently switched FixMatch off too."""
    no_labels = "training.finetune.prototype_threshold=1.0"
    every_frame = train_model(sessions, tiny_config(no_labels, "training.finetune.fixmatch_threshold=-1.0"), ["A1"])
    assert all(epoch["fixmatch"] > 0 for epoch in every_frame.history["stage3"])
    none = train_model(sessions, tiny_config("training.finetune.fixmatch_threshold=1.0"), ["A1"])
    assert all(epoch["fixmatch"] == 0 for epoch in none.history["stage3"])


def test_the_model_learns_the_toy_behaviours_of_an_unseen_animal_even_without_video(sessions):
    cfg = tiny_config(
        "training.finetune.epochs=4", "training.finetune.steps_per_epoch=15", "training.classifier.steps_per_epoch=60"
    )
    trained = train_model(sessions, cfg, ["A2"])
    predictor = predictor_of(trained, cfg)
    held = [predict_session(predictor, s) for s in sessions if s.animal == "A2"]
    y = np.concatenate([p.session.labels for p in held])
    decided = np.concatenate([p.decisions for p in held])
    video = np.concatenate([p.session.features.pose_mask for p in held])
    assert frame_metrics(y, decided, BEHAVIOURS)["macro_f1"] > 0.85
    assert frame_metrics(y[~video], decided[~video], BEHAVIOURS)["macro_f1"] > 0.6


def test_a_behaviour_left_without_labels_is_named_in_a_warning(sessions):
    """At 5 % of the demo labels, folds had no walk frame to train on and scored walk 0.0, silently."""
    no_groom = [with_labels(s, s.labels * np.array([1, 1, 0], dtype=s.labels.dtype), s.label_mask) for s in sessions]
    with pytest.warns(UserWarning, match="no labelled fit frame of groom: the model cannot learn them"):
        trained = train_model(no_groom, tiny_config(), ["A2"])
    assert trained.label_counts["groom"] == {"fit": 0, "calibration": 0}
    assert trained.label_counts["walk"]["fit"] > 0


def test_training_refuses_unusable_requests(sessions):
    with pytest.raises(InputError, match="not in the data"):
        train_model(sessions, tiny_config(), ["nobody"])
    with pytest.raises(InputError, match="no labelled frames"):
        train_model(sessions, tiny_config(), ["A0", "A1", "A2"])
