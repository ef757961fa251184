"""Behavioural checks of the network: shapes, masking, imputation, training stages, sessions, learning."""

from __future__ import annotations

from dataclasses import asdict, fields

import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from ratbehavior.model.config import ModelConfig
from ratbehavior.model.network import ModelDims, ModelOutput, RatBehaviourNet, build_model

B, T = 4, 24
DIMS = ModelDims(n_pose_features=7, n_imu_features=5, n_classes=3, n_sessions=2)
TINY = {
    "d_model": 16, "n_heads": 2, "dilations": [1, 2], "embedding_dim": 16, "projection_dim": 8,
    "head_hidden": 16, "shared_adapter_dim": 4,
}  # fmt: skip


def tiny(**overrides: object) -> ModelConfig:
    return ModelConfig(**{**TINY, **overrides})


def make(seed: int = 0, dims: ModelDims = DIMS, **overrides: object) -> RatBehaviourNet:
    torch.manual_seed(seed)
    return build_model(tiny(**overrides), dims)


def make_batch(seed: int = 0, dims: ModelDims = DIMS, missing: float = 0.3) -> dict[str, torch.Tensor]:
    """Random features, about `missing` of each modality's frames absent (NaN), some with neither."""
    g = torch.Generator().manual_seed(seed)
    batch: dict[str, torch.Tensor] = {"session_index": torch.randint(0, dims.n_sessions + 1, (B,), generator=g)}
    for name, n in (("pose", dims.n_pose_features), ("imu", dims.n_imu_features)):
        mask = torch.rand(B, T, generator=g) > missing
        batch[f"{name}_mask"] = mask
        batch[name] = torch.randn(B, T, n, generator=g).masked_fill(~mask.unsqueeze(-1), float("nan"))
    return batch


def tensors(out: ModelOutput) -> dict[str, torch.Tensor]:
    return {f.name: getattr(out, f.name) for f in fields(out)}


def assert_same_outputs(a: ModelOutput, b: ModelOutput) -> None:
    for name, value in tensors(a).items():
        assert torch.equal(value, getattr(b, name)), name


@pytest.mark.parametrize("adapter", ["film", "lowrank"])
def test_every_output_has_its_shape(adapter):
    model = make(adapter=adapter).eval()
    out = model(make_batch())
    d, e, p = TINY["d_model"], TINY["embedding_dim"], TINY["projection_dim"]
    expected = {
        "embedding": (B, T, e), "projection": (B, T, p), "logits": (B, T, DIMS.n_classes),
        "pose_repr": (B, T, d), "imu_repr": (B, T, d), "pose_from_imu": (B, T, d), "imu_from_pose": (B, T, d),
        "pose_reconstruction": (B, T, DIMS.n_pose_features), "imu_reconstruction": (B, T, DIMS.n_imu_features),
        "pose_mask": (B, T), "imu_mask": (B, T),
    }  # fmt: skip
    assert {name: tuple(v.shape) for name, v in tensors(out).items()} == expected
    torch.testing.assert_close(out.projection.norm(dim=-1), torch.ones(B, T))
    assert out.pose_mask.dtype == torch.bool


@pytest.mark.parametrize("training", [False, True])
def test_nan_on_absent_frames_reaches_no_output_and_no_gradient(training):
    model = make().train(training)
    batch = make_batch(missing=0.5)
    neither = ~batch["pose_mask"] & ~batch["imu_mask"]
    assert neither.any() and (batch["pose_mask"] & batch["imu_mask"]).any()
    out = model(batch)
    for name, value in tensors(out).items():
        assert torch.isfinite(value.float()).all(), name
    (out.logits.sum() + out.pose_from_imu.sum() + out.pose_reconstruction.sum()).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is None or torch.isfinite(parameter.grad).all(), name


def test_values_on_absent_pose_frames_change_nothing():
    model = make().eval()
    batch = make_batch()
    absent = ~batch["pose_mask"].unsqueeze(-1)
    garbage = {**batch, "pose": batch["pose"].masked_fill(absent, 1e6)}
    assert_same_outputs(model(batch), model(garbage))
    # The same change on present frames must show, or the check above proves nothing.
    changed = {**batch, "pose": torch.where(absent, batch["pose"], batch["pose"] + 1.0)}
    assert not torch.equal(model(batch).logits, model(changed).logits)
    # An absent frame is not a present frame of zeros (the session median): the encoder knows it is absent.
    args = (batch["pose"].nan_to_num(0.0), batch["session_index"])
    absent_repr = model.encode("pose", args[0], batch["pose_mask"], args[1])
    zeros_repr = model.encode("pose", args[0], torch.ones(B, T, dtype=torch.bool), args[1])
    assert not torch.allclose(absent_repr, zeros_repr)


def test_a_frame_of_nan_features_is_absent_whatever_its_mask_says():
    model = make().eval()
    batch = make_batch(missing=0.0)
    hidden = torch.zeros(B, T, dtype=torch.bool)
    hidden[:, 5:9] = True
    batch["pose"] = batch["pose"].masked_fill(hidden.unsqueeze(-1), float("nan"))
    out = model(batch)
    assert torch.equal(out.pose_mask, ~hidden)
    assert_same_outputs(out, model({**batch, "pose_mask": ~hidden}))


def test_without_any_pose_the_imu_alone_still_predicts():
    model = make().eval()
    batch = make_batch(missing=0.0)
    nowhere = torch.zeros(B, T, dtype=torch.bool)
    no_pose = {**batch, "pose": torch.full_like(batch["pose"], float("nan")), "pose_mask": nowhere}
    both, imu_only = model(batch).logits, model(no_pose).logits
    assert torch.isfinite(imu_only).all()
    assert not torch.allclose(both, imu_only)
    # The pose stream is then the one imputed from the IMU, and only then.
    with torch.no_grad():
        model.imputers["pose"][-1].bias.add_(1.0)
    assert torch.equal(both, model(batch).logits)
    assert not torch.allclose(imu_only, model(no_pose).logits)


def test_modality_dropout_happens_only_in_training_and_never_drops_both():
    batch = make_batch(missing=0.2)
    had_some = batch["pose_mask"] | batch["imu_mask"]
    model = make(modality_dropout_pose=1.0, modality_dropout_imu=0.0)
    evaluated = model.eval()(batch)
    assert torch.equal(evaluated.pose_mask, batch["pose_mask"]) and torch.equal(evaluated.imu_mask, batch["imu_mask"])
    trained = model.train()(batch)
    assert torch.equal(trained.pose_mask, batch["pose_mask"] & ~batch["imu_mask"])
    assert torch.equal(trained.imu_mask, batch["imu_mask"])
    split = make(modality_dropout_pose=0.5, modality_dropout_imu=0.5).train()
    for _ in range(5):
        out = split(batch)
        assert torch.equal(out.pose_mask | out.imu_mask, had_some)


def test_same_seed_same_outputs_and_another_seed_others():
    batch = make_batch()
    assert_same_outputs(make(seed=3).eval()(batch), make(seed=3).eval()(batch))
    # Training mode draws dropout and modality dropout from the seeded generator too.
    assert_same_outputs(make(seed=3).train()(batch), make(seed=3).train()(batch))
    assert not torch.equal(make(seed=4).eval()(batch).logits, make(seed=3).eval()(batch).logits)


def test_stage_two_trains_only_the_shared_alignment_adapters():
    model = make()
    model.freeze_encoders()
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {
        f"encoders.{m}.shared_adapter.{layer}.{kind}"
        for m in ("pose", "imu")
        for layer in ("norm", "down", "up")
        for kind in ("weight", "bias")
    }
    assert [group["name"] for group in model.parameter_groups()] == ["shared_adapters"]
    model.unfreeze_all()
    assert all(p.requires_grad for p in model.parameters())
    roles = {group["name"] for group in model.parameter_groups()}
    assert roles == {"session_adapters", "shared_adapters", "encoders", "fusion", "heads"}
    assert sum(len(g["params"]) for g in model.parameter_groups()) == len(list(model.parameters()))


@pytest.mark.parametrize("adapter", ["film", "lowrank"])
def test_added_sessions_leave_old_sessions_unchanged_and_adapt_alone(adapter):
    torch.manual_seed(0)
    model = make(adapter=adapter)
    for encoder in model.encoders.values():  # trained-looking, distinct rows
        encoder.session_adapter.table.data.normal_()
    model.eval()
    batch = make_batch()
    before = model(batch)
    slots = model.add_sessions(2)
    assert slots == [3, 4] and model.dims.n_sessions == 4
    assert_same_outputs(before, model(batch))
    table = model.encoders["pose"].session_adapter.table
    torch.testing.assert_close(table[3], table[1:3].mean(0))

    new = {**batch, "session_index": torch.full((B,), slots[0])}
    new_before = model(new).logits
    handles = model.adapt_sessions([slots[0]])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        mixed = {**batch, "session_index": torch.tensor([0, 1, 2, slots[0]])}
        model(mixed).logits.square().mean().backward()
        optimizer.step()
    for handle in handles:
        handle.remove()
    assert_same_outputs(before, model(batch))
    assert not torch.allclose(new_before, model(new).logits)


def test_state_dict_round_trip_rebuilds_the_same_model():
    model = make(adapter="lowrank")
    model.add_sessions(1)
    model.eval()
    saved = {"config": model.cfg.model_dump(), "dims": asdict(model.dims), "state_dict": model.state_dict()}
    rebuilt = build_model(ModelConfig.model_validate(saved["config"]), ModelDims(**saved["dims"]))
    rebuilt.load_state_dict(saved["state_dict"])
    batch = make_batch(dims=model.dims)
    assert_same_outputs(model(batch), rebuilt.eval()(batch))


def test_a_small_model_learns_a_per_frame_multilabel_task():
    """Labels are thresholded smoothings of one IMU and one pose channel (so context matters) and
    their conjunction (so fusion matters)."""
    g = torch.Generator().manual_seed(0)
    n, length = 16, 48
    dims = ModelDims(n_pose_features=4, n_imu_features=3, n_classes=3, n_sessions=1)
    pose, imu = torch.randn(n, length, 4, generator=g), torch.randn(n, length, 3, generator=g)

    def smooth(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool1d(x.unsqueeze(1), 7, stride=1, padding=3, count_include_pad=False).squeeze(1)

    a, b = smooth(imu[..., 0]) > 0, smooth(pose[..., 0]) > 0
    labels = torch.stack([a, b, a & b], dim=-1).float()
    ones = torch.ones(n, length, dtype=torch.bool)
    batch = dict(pose=pose, imu=imu, pose_mask=ones, imu_mask=ones, session_index=torch.ones(n, dtype=torch.long))
    model = make(dims=dims, dropout=0.0, modality_dropout_pose=0.0, modality_dropout_imu=0.0).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(100):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(batch).logits, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 < 0.6 < losses[0]
    assert sum(losses[-10:]) < sum(losses[:10]) / 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"d_model": 30, "n_heads": 4}, "multiple of n_heads"),
        ({"kernel_size": 4}, "must be odd"),
        ({"modality_dropout_pose": 0.6, "modality_dropout_imu": 0.6}, "<= 1"),
        ({"dilations": [1, 0]}, ">= 1"),
        ({"d_modle": 32}, "Extra inputs"),
    ],
)
def test_inconsistent_configs_are_refused(overrides, message):
    with pytest.raises(ValidationError, match=message):
        ModelConfig(**overrides)
