"""`reproduce` names, per fold, the first training step after which the weights differ: where two
machines part, that step computes differently."""

from __future__ import annotations

from ratbehavior.tracking.reproduce import first_divergence

STEPS = ["stage1", "stage2", "stage3", "classifier"]


def test_the_first_step_whose_weights_differ_is_named_per_fold():
    before = {"R01": dict(zip(STEPS, "abcd", strict=True)), "R02": dict(zip(STEPS, "efgh", strict=True))}
    after = {"R01": dict(zip(STEPS, "abxy", strict=True)), "R02": dict(before["R02"])}
    assert first_divergence(before, after, STEPS) == {"R01": "stage3"}


def test_a_step_recorded_on_one_side_only_is_a_divergence():
    before = {"R01": {"stage1": "a", "stage2": "b"}}
    assert first_divergence(before, {"R01": {"stage1": "a"}}, STEPS) == {"R01": "stage2"}
    assert first_divergence(before, {"R02": {"stage1": "z"}}, STEPS) == {}
