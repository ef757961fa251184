"""Self-supervised losses: TS2Vec contrast, session mixing, masked reconstruction, CORAL alignment."""

from __future__ import annotations

import pytest
import torch

from ratbehavior.model.losses import (
    hierarchical_contrastive_loss,
    masked_reconstruction_loss,
    session_alignment_loss,
    unsupervised_session_mixing_contrastive,
)
from tests.model.loss_checks import (
    B,
    D,
    T,
    check_empty_is_zero,
    check_finite_and_differentiable,
    check_masked_frames_ignored,
    frame_mask,
    gen,
    randn,
    with_nan_where,
)

# ---- TS2Vec hierarchical contrast ---------------------------------------------------------


def test_ts2vec_is_finite_and_differentiable() -> None:
    z1, z2 = randn(B, T, D, seed=0).requires_grad_(), randn(B, T, D, seed=1).requires_grad_()
    check_finite_and_differentiable(hierarchical_contrastive_loss(z1, z2, frame_mask(B, T)), z1, z2)


def test_ts2vec_ignores_masked_frames() -> None:
    mask, z2 = frame_mask(B, T), randn(B, T, D, seed=1)
    check_masked_frames_ignored(
        lambda z: hierarchical_contrastive_loss(z, z2, mask, temporal_unit=1), randn(B, T, D), mask
    )


def test_ts2vec_prefers_identical_views_to_shuffled_ones() -> None:
    z = 3 * randn(B, T, D)
    shuffled = z.reshape(B * T, D)[torch.randperm(B * T, generator=gen())].reshape(B, T, D)
    mask = torch.ones(B, T, dtype=torch.bool)
    assert hierarchical_contrastive_loss(z, z, mask) < hierarchical_contrastive_loss(z, shuffled, mask) - 1.0


def test_ts2vec_masked_frames_act_as_absent() -> None:
    z1, z2, mask = randn(B, T, D), randn(B, T, D, seed=1), torch.ones(B, T, dtype=torch.bool)
    # A fully masked window is no negative for the others: same loss as without it.
    mask[0] = False
    torch.testing.assert_close(
        hierarchical_contrastive_loss(z1, z2, mask), hierarchical_contrastive_loss(z1[1:], z2[1:], mask[1:])
    )
    # A masked frame never wins the max-pooling: with the second of two frames masked, the pooled
    # frame is the first one, and the loss equals that of the first frame alone.
    pair_mask = torch.tensor([[True, False]]).expand(B, 2)
    torch.testing.assert_close(
        hierarchical_contrastive_loss(z1[:, :2], z2[:, :2], pair_mask),
        hierarchical_contrastive_loss(z1[:, :1], z2[:, :1], pair_mask[:, :1]),
    )
    # A lone valid frame whose only would-be negatives are masked has nothing to contrast with.
    lone = torch.tensor([[True, False, False, False]])
    assert hierarchical_contrastive_loss(z1[:1, :4], z2[:1, :4], lone) == 0


def test_ts2vec_without_valid_frames_is_zero() -> None:
    z = randn(B, T, D).requires_grad_()
    check_empty_is_zero(hierarchical_contrastive_loss(z, z.detach() + 1, torch.zeros(B, T, dtype=torch.bool)), z)


def test_ts2vec_single_window_still_learns_from_time() -> None:
    # One window has no instance-wise negatives; the temporal contrast must carry the loss alone.
    z1 = randn(1, T, D).requires_grad_()
    check_finite_and_differentiable(
        hierarchical_contrastive_loss(z1, randn(1, T, D, seed=1), torch.ones(1, T, dtype=torch.bool)), z1
    )


# ---- session-mixing InfoNCE ---------------------------------------------------------------


SESSIONS = torch.tensor([0, 0, 1, 1, 2, 2])


def test_session_mixing_is_finite_and_ignores_masked_frames() -> None:
    z1, z2 = randn(B, T, D).requires_grad_(), randn(B, T, D, seed=1).requires_grad_()
    check_finite_and_differentiable(unsupervised_session_mixing_contrastive(z1, z2, SESSIONS, frame_mask(B, T)), z1, z2)
    mask = frame_mask(B, T)
    check_masked_frames_ignored(
        lambda z: unsupervised_session_mixing_contrastive(z, randn(B, T, D, seed=1), SESSIONS, mask, temperature=0.5),
        randn(B, T, D),
        mask,
    )


def test_session_mixing_prefers_identical_views_and_is_empty_safe() -> None:
    z, mask = 3 * randn(B, T, D), torch.ones(B, T, dtype=torch.bool)
    shuffled = z[torch.randperm(B, generator=gen())]
    assert unsupervised_session_mixing_contrastive(z, z, SESSIONS, mask) < unsupervised_session_mixing_contrastive(
        z, shuffled, SESSIONS, mask
    )
    z1 = randn(B, T, D).requires_grad_()
    check_empty_is_zero(
        unsupervised_session_mixing_contrastive(z1, z, SESSIONS, torch.zeros(B, T, dtype=torch.bool)), z1
    )


def test_session_mixing_frame_without_negatives_does_not_dilute_the_loss() -> None:
    # At window position 0 only window 0 is valid: its two views form a pair with no negative.
    z1, z2, mask = randn(B, T, D), randn(B, T, D, seed=1), torch.ones(B, T, dtype=torch.bool)
    mask[1:, 0] = False
    without = mask.clone()
    without[0, 0] = False
    torch.testing.assert_close(
        unsupervised_session_mixing_contrastive(z1, z2, SESSIONS, mask),
        unsupervised_session_mixing_contrastive(z1, z2, SESSIONS, without),
    )


def test_session_mixing_weighs_sessions_equally() -> None:
    # Session 0 has three windows whose views agree, session 1 one window whose views disagree:
    # per-session averaging gives the bad session half the weight instead of a quarter.
    z1 = 3 * randn(4, T, D)
    z2 = torch.cat([z1[:3], randn(1, T, D, seed=5)])
    mask = torch.ones(4, T, dtype=torch.bool)
    balanced = unsupervised_session_mixing_contrastive(z1, z2, torch.tensor([0, 0, 0, 1]), mask)
    pooled = unsupervised_session_mixing_contrastive(z1, z2, torch.zeros(4, dtype=torch.long), mask)
    assert balanced > pooled


# ---- masked reconstruction ----------------------------------------------------------------


def test_reconstruction_is_mse_on_hidden_valid_finite_values() -> None:
    pred, target = randn(B, T, D).requires_grad_(), randn(B, T, D, seed=1)
    hidden, valid = frame_mask(B, T, seed=2), frame_mask(B, T, seed=3)
    target[0, 0, 0] = float("nan")  # one missing keypoint inside a valid frame
    selected = (hidden & valid).unsqueeze(-1) & target.isfinite()
    loss = masked_reconstruction_loss(pred, target, hidden, valid)
    torch.testing.assert_close(loss, (pred - target)[selected].square().mean())
    check_finite_and_differentiable(loss, pred)
    assert (pred.grad[~selected] == 0).all()


def test_reconstruction_ignores_invalid_frames_and_empty_is_zero() -> None:
    hidden, valid, target = frame_mask(B, T, seed=2), frame_mask(B, T, seed=3), randn(B, T, D, seed=1)
    check_masked_frames_ignored(
        lambda p: masked_reconstruction_loss(p, target, hidden, valid), randn(B, T, D), hidden & valid
    )
    pred = randn(B, T, D).requires_grad_()
    check_empty_is_zero(masked_reconstruction_loss(pred, with_nan_where(target, ~hidden), hidden, ~hidden), pred)


# ---- session alignment (CORAL) ------------------------------------------------------------


def two_sessions(shift: float, spread: float) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = randn(2000, D, seed=1), randn(2000, D, seed=2)
    b[:, 0] = b[:, 0] * spread + shift
    return torch.cat([a, b]), torch.repeat_interleave(torch.tensor([0, 1]), 2000)


# A spread on one axis leaves the mean of the unit vectors at ~0: only the covariance term sees it.
@pytest.mark.parametrize("shift, spread", [(2.0, 1.0), (0.0, 4.0)])
def test_coral_is_near_zero_for_identical_distributions_and_grows_with_shift(shift: float, spread: float) -> None:
    everyone = torch.ones(4000, dtype=torch.bool)
    same = session_alignment_loss(*two_sessions(0.0, 1.0), everyone)
    assert same < 0.01
    assert session_alignment_loss(*two_sessions(shift, spread), everyone) > 10 * same


def test_coral_ignores_masked_frames_and_accepts_window_session_ids() -> None:
    mask = frame_mask(B, T)
    check_masked_frames_ignored(lambda z: session_alignment_loss(z, SESSIONS, mask), randn(B, T, D), mask)
    z = randn(B, T, D)
    per_frame_ids = SESSIONS.unsqueeze(1).expand(B, T)
    torch.testing.assert_close(
        session_alignment_loss(z, SESSIONS, mask), session_alignment_loss(z, per_frame_ids, mask)
    )


@pytest.mark.parametrize(
    "sessions, mask",
    [
        (torch.zeros(B, dtype=torch.long), torch.ones(B, T, dtype=torch.bool)),  # one session
        (SESSIONS, torch.zeros(B, T, dtype=torch.bool)),  # no valid frame
        (torch.arange(B), torch.eye(B, T, dtype=torch.bool)),  # one frame per session: no covariance
    ],
)
def test_coral_without_two_sessions_to_compare_is_zero(sessions: torch.Tensor, mask: torch.Tensor) -> None:
    z = randn(B, T, D).requires_grad_()
    check_empty_is_zero(session_alignment_loss(z, sessions, mask), z)
