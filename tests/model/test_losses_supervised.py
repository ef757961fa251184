"""Supervised and semi-supervised losses: BCE, multi-label SupCon, prototypes/FixMatch, mixup, sampling."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ratbehavior.model.losses import (
    class_prototypes,
    inverse_frequency_weights,
    masked_bce_with_logits,
    mixup,
    multilabel_supcon_loss,
    prototype_fixmatch_loss,
    pseudo_labels_from_prototypes,
)
from tests.model.loss_checks import (
    B,
    C,
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

# ---- masked BCE ---------------------------------------------------------------------------


def test_bce_matches_torch_on_labelled_frames_with_soft_targets() -> None:
    logits, targets, labelled = randn(B, T, C).requires_grad_(), torch.rand(B, T, C, generator=gen()), frame_mask(B, T)
    pos_weight = torch.tensor([1.0, 2.0, 3.0, 4.0])
    loss = masked_bce_with_logits(logits, with_nan_where(targets, labelled), labelled, pos_weight)
    expected = F.binary_cross_entropy_with_logits(logits[labelled], targets[labelled], pos_weight=pos_weight)
    torch.testing.assert_close(loss, expected)
    check_finite_and_differentiable(loss, logits)


def test_bce_ignores_unlabelled_frames_and_empty_is_zero() -> None:
    targets, labelled = torch.rand(B, T, C, generator=gen()), frame_mask(B, T)
    check_masked_frames_ignored(lambda z: masked_bce_with_logits(z, targets, labelled), randn(B, T, C), labelled)
    logits = randn(B, T, C).requires_grad_()
    check_empty_is_zero(masked_bce_with_logits(logits, targets, torch.zeros(B, T, dtype=torch.bool)), logits)


# ---- multi-label SupCon -------------------------------------------------------------------


def random_labels(n: int, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, C, generator=gen(seed)) < 0.4).float()


def test_supcon_weights_positives_by_jaccard() -> None:
    # Labels {0}, {0, 1}, {1}, {0, 1}: frame 1 is twice as much a positive of frame 3 as of frame 0.
    z = F.normalize(randn(4, D), dim=-1)
    labels = torch.tensor([[1.0, 0, 0, 0], [1.0, 1, 0, 0], [0.0, 1, 0, 0], [1.0, 1, 0, 0]])
    jaccard = torch.tensor([[0, 0.5, 0, 0.5], [0.5, 0, 0.5, 1], [0, 0.5, 0, 0.5], [0.5, 1, 0.5, 0]])
    log_p = (z @ z.T / 0.5).masked_fill(torch.eye(4, dtype=torch.bool), float("-inf")).log_softmax(-1)
    expected = (-(jaccard * log_p.nan_to_num(neginf=0)).sum(1) / jaccard.sum(1)).mean()
    torch.testing.assert_close(multilabel_supcon_loss(z, labels, torch.ones(4, dtype=torch.bool), 0.5), expected)


def test_supcon_is_lower_when_same_label_frames_cluster() -> None:
    labels = torch.eye(C).repeat(16, 1)
    centres = F.normalize(randn(C, D), dim=-1)
    clustered = F.normalize(labels @ centres + 0.05 * randn(len(labels), D, seed=1), dim=-1)
    scattered = F.normalize(randn(len(labels), D, seed=2), dim=-1)
    everyone = torch.ones(len(labels), dtype=torch.bool)
    assert (
        multilabel_supcon_loss(clustered, labels, everyone, 0.1)
        < multilabel_supcon_loss(scattered, labels, everyone, 0.1) - 1.0
    )


def test_supcon_is_finite_and_ignores_unlabelled_frames() -> None:
    labels, labelled = random_labels(B * T).reshape(B, T, C), frame_mask(B, T)
    z = randn(B, T, D).requires_grad_()
    check_finite_and_differentiable(multilabel_supcon_loss(z, labels, labelled, 0.1), z)
    check_masked_frames_ignored(lambda e: multilabel_supcon_loss(e, labels, labelled, 0.1), randn(B, T, D), labelled)


@pytest.mark.parametrize(
    "labels, labelled",
    [
        (random_labels(5), torch.zeros(5, dtype=torch.bool)),  # nothing annotated
        (torch.eye(5, C), torch.ones(5, dtype=torch.bool)),  # no two frames share a behaviour
        (torch.zeros(5, C), torch.ones(5, dtype=torch.bool)),  # no behaviour at all
    ],
)
def test_supcon_without_positives_is_zero(labels: torch.Tensor, labelled: torch.Tensor) -> None:
    z = randn(5, D).requires_grad_()
    check_empty_is_zero(multilabel_supcon_loss(z, labels, labelled, 0.1), z)


def test_supcon_subsampling_is_deterministic_under_a_seed() -> None:
    z, labels, labelled = randn(200, D), random_labels(200), torch.ones(200, dtype=torch.bool)

    def loss(seed: int) -> torch.Tensor:
        return multilabel_supcon_loss(z, labels, labelled, 0.1, max_anchors=32, generator=gen(seed))

    assert loss(3) == loss(3)
    assert loss(3) != loss(4)


# ---- prototypes and FixMatch --------------------------------------------------------------


def test_class_prototypes_are_normalised_class_means() -> None:
    z, labels, labelled = randn(B, T, D), random_labels(B * T).reshape(B, T, C), frame_mask(B, T)
    labels[..., -1] = 0  # a behaviour nobody shows
    prototypes = class_prototypes(with_nan_where(z, labelled), labels, labelled)
    units = F.normalize(z[labelled], dim=-1)
    for c in range(C - 1):
        expected = F.normalize(units[labels[labelled][:, c] == 1].mean(0), dim=0)
        torch.testing.assert_close(prototypes[c], expected)
    assert (prototypes[-1] == 0).all()
    check_masked_frames_ignored(lambda e: class_prototypes(e, labels, labelled).sum(), z, labelled)


def test_pseudo_labels_can_be_several_and_need_the_threshold() -> None:
    prototypes = torch.eye(C, D)
    z = torch.stack(
        [
            prototypes[0] + prototypes[1],
            prototypes[0] + 0.1 * prototypes[2],
            prototypes[0] + prototypes[1] + prototypes[2],
        ]
    )
    labels, confident = pseudo_labels_from_prototypes(z, prototypes, threshold=0.7)
    assert labels.tolist() == [[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    assert confident.tolist() == [True, True, False]


def fixmatch_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prototypes are the first C axes; frames 0-2 are confident about class 0, frames 3-5 about nothing."""
    prototypes = torch.eye(C, D)
    weak = torch.cat([prototypes[0] + 0.05 * randn(3, D), randn(3, D, seed=1)])
    weak[3:, :C] = 0  # orthogonal to every prototype
    return weak, randn(6, D, seed=2), prototypes


def test_fixmatch_ignores_unconfident_frames_and_pulls_confident_ones() -> None:
    weak, strong, prototypes = fixmatch_case()
    valid = torch.ones(6, dtype=torch.bool)
    confident = torch.tensor([True, True, True, False, False, False])
    check_masked_frames_ignored(
        lambda s: prototype_fixmatch_loss(weak, s, prototypes, 0.9, 0.1, valid), strong, confident
    )

    strong.requires_grad_()
    prototypes.requires_grad_()
    prototype_fixmatch_loss(weak, strong, prototypes, 0.9, 0.1, valid).backward()
    assert prototypes.grad is None  # pseudo-targets are constants, as in FixMatch
    stepped = strong.detach() - 0.1 * strong.grad
    before, after = (
        F.cosine_similarity(strong.detach()[:3], prototypes[:1]),
        F.cosine_similarity(stepped[:3], prototypes[:1]),
    )
    assert (after > before).all()


def test_fixmatch_sums_over_confident_frames_and_divides_by_valid_ones() -> None:
    # FixMatch's normalisation: the loss grows with the share of confident frames.
    weak, strong, prototypes = fixmatch_case()
    logits = F.normalize(strong[:3], dim=-1) @ prototypes.T / 0.1
    targets = torch.tensor([1.0, 0, 0, 0]).expand(3, C)
    expected = F.binary_cross_entropy_with_logits(logits, targets) * 3 / 6
    loss = prototype_fixmatch_loss(weak, strong, prototypes, 0.9, 0.1, torch.ones(6, dtype=torch.bool))
    torch.testing.assert_close(loss, expected)


def test_fixmatch_ignores_invalid_frames_and_empty_is_zero() -> None:
    weak, strong, prototypes = fixmatch_case()
    valid = torch.tensor([True, False, True, True, False, True])
    check_masked_frames_ignored(lambda s: prototype_fixmatch_loss(weak, s, prototypes, 0.9, 0.1, valid), strong, valid)
    strong.requires_grad_()
    check_empty_is_zero(prototype_fixmatch_loss(weak, strong, prototypes, 0.999, 0.1, valid), strong)


# ---- mixup and sampling weights -----------------------------------------------------------


def test_mixup_pairs_features_and_targets_and_combines_label_masks() -> None:
    y, labelled = torch.rand(B, T, C, generator=gen()), frame_mask(B, T)
    mixed = mixup(10 * y, y, 0.4, gen(7), labelled)
    assert 0.0 <= mixed.lam <= 1.0
    torch.testing.assert_close(mixed.x, 10 * mixed.y)
    assert mixed.label_mask.sum() < labelled.sum()
    again = mixup(10 * y, y, 0.4, gen(7), labelled)
    assert again.lam == mixed.lam and torch.equal(again.y, mixed.y)
    assert mixup(10 * y, y, 0.4, gen(8), labelled).lam != mixed.lam


def test_inverse_frequency_weights_follow_the_rarest_behaviour() -> None:
    labels = torch.tensor([[1, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 1]])
    labelled = torch.tensor([True, True, True, True, True, False])
    weights = inverse_frequency_weights(labels, labelled)
    assert weights.tolist() == [0.25, 0.25, 0.25, 1.0, 1.0, 0.0]


def test_inverse_frequency_weights_balance_a_weighted_sampler() -> None:
    labels = torch.zeros(1000, 2)
    labels[:900, 0] = 1
    labels[900:, 1] = 1
    weights = inverse_frequency_weights(labels, torch.ones(1000, dtype=torch.bool))
    sampler = torch.utils.data.WeightedRandomSampler(weights, num_samples=4000, generator=gen())
    rare_share = (torch.tensor(list(sampler)) >= 900).float().mean().item()
    assert math.isclose(rare_share, 0.5, abs_tol=0.05)
