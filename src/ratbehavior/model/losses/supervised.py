"""Losses and batch helpers for the labelled frames: multi-label BCE, multi-label SupCon, mixup and
class-balanced sampling weights.

Labels are (..., C) 0/1 (or soft) per behaviour and `label_mask` (...) marks the annotated frames; an
unannotated frame is unknown, never negative, so its label values are ignored whatever they hold.
An annotated frame without features (no pose, no IMU) teaches nothing: pass `label_mask & valid`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from scipy.special import betaincinv

from ratbehavior.model.losses._masking import keep, masked_mean, zero_loss

# Bounds the (max_anchors, max_anchors) similarity matrix of SupCon: 1024^2 floats are 4 MB.
DEFAULT_MAX_ANCHORS = 1024


def masked_bce_with_logits(
    logits: torch.Tensor,
    targets: torch.Tensor,
    label_mask: torch.Tensor,
    pos_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Binary cross-entropy per behaviour, averaged over annotated frames and behaviours.

    logits, targets: (..., C); targets may be soft (mixup, pseudo-labels) and may be NaN where
    `label_mask` (...) is False. pos_weight: (C,), as in `F.binary_cross_entropy_with_logits`.
    """
    # Cutting the unlabelled logits out of the graph is enough: NaN targets there are then dropped by
    # the masked mean in the value and meet only a zero gradient in the backward pass.
    logits = keep(logits, label_mask)
    per_frame = F.binary_cross_entropy_with_logits(
        logits, targets.to(logits.dtype), pos_weight=pos_weight, reduction="none"
    ).mean(-1)
    return masked_mean(per_frame, label_mask)


def multilabel_supcon_loss(
    z: torch.Tensor,
    labels: torch.Tensor,
    label_mask: torch.Tensor,
    temperature: float,
    *,
    max_anchors: int = DEFAULT_MAX_ANCHORS,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020) with positives weighted by label overlap.

    z: (..., P) embeddings (L2-normalised here); labels: (..., C); label_mask: (...). For anchor i,
    every other annotated frame j is a positive with weight w_ij = |Y_i & Y_j| / |Y_i | Y_j| (Jaccard),
    so "rearing + turn_left" is pulled harder towards itself than towards "rearing" alone, and
    loss_i = -sum_j w_ij log softmax_j(z_i . z_j / temperature) / sum_j w_ij. A frame with no
    behaviour has no positive (Jaccard of empty sets is taken as 0: "none of the 12" is not a
    behaviour the embedding should cluster) but still serves as a negative. Frames with no positive
    are not anchors. At most `max_anchors` annotated frames, drawn with `generator`, take part.
    """
    flat_z = z.reshape(-1, z.shape[-1])
    chosen = label_mask.reshape(-1).nonzero().squeeze(1)
    if chosen.numel() > max_anchors:
        chosen = chosen[torch.randperm(chosen.numel(), generator=generator, device=chosen.device)[:max_anchors]]
    if chosen.numel() < 2:
        return zero_loss(z)
    emb = F.normalize(flat_z[chosen], dim=-1)
    y = labels.reshape(-1, labels.shape[-1])[chosen].to(emb.dtype)
    overlap = y @ y.T
    union = y.sum(1, keepdim=True) + y.sum(1) - overlap
    self_pair = torch.eye(len(chosen), dtype=torch.bool, device=emb.device)
    weights = (overlap / union.clamp(min=1)).masked_fill(self_pair, 0.0)
    log_prob = (emb @ emb.T / temperature).masked_fill(self_pair, float("-inf")).log_softmax(dim=-1)
    # The diagonal is -inf and its weight 0; 0 * -inf would be NaN.
    weighted = (weights * log_prob.masked_fill(self_pair, 0.0)).sum(-1)
    total_weight = weights.sum(-1)
    return masked_mean(-weighted / total_weight.clamp(min=1e-12), total_weight > 0)


class Mixed(NamedTuple):
    """A mixed batch; `lam` is the weight of each original sample, 1 - lam that of its partner."""

    x: torch.Tensor
    y: torch.Tensor
    label_mask: torch.Tensor
    lam: float


def mixup(
    x: torch.Tensor, y: torch.Tensor, alpha: float, generator: torch.Generator, label_mask: torch.Tensor
) -> Mixed:
    """Mixup (Zhang et al. 2018) of whole samples along dim 0: lam * a + (1 - lam) * b, lam ~ Beta(alpha, alpha).

    x: (B, ...) features, y: (B, ..., C) targets, label_mask: (B, ...). The mixed targets are soft
    multi-label targets for `masked_bce_with_logits`. A mixed frame is annotated only if both sources
    are (half a label is no label), and a NaN feature in either source stays NaN, i.e. missing.
    Lives here rather than in augment.py because it produces targets.
    """
    # Inverse-CDF sampling, because torch's Beta sampler cannot take a generator.
    lam = float(betaincinv(alpha, alpha, torch.rand((), generator=generator).item()))
    order = torch.randperm(x.shape[0], generator=generator).to(x.device)
    return Mixed(
        x=lam * x + (1 - lam) * x[order],
        y=lam * y + (1 - lam) * y[order],
        label_mask=label_mask & label_mask[order],
        lam=lam,
    )


def inverse_frequency_weights(labels: torch.Tensor, label_mask: torch.Tensor) -> torch.Tensor:
    """Per-frame sampling weights, 1 / (count of the frame's rarest behaviour), for WeightedRandomSampler.

    labels: (..., C) 0/1, label_mask: (...); returns (...) float64. The rarest class, not the mean,
    decides: a rare behaviour mostly co-occurs with a common one (scratch with still), and averaging
    would sample it at nearly the common rate. Frames with no behaviour count as one more class, so
    they are neither never drawn nor drawn infinitely often; unannotated frames get weight 0.
    """
    present = labels.bool() & label_mask.unsqueeze(-1)
    class_weight = 1.0 / present.sum(dim=tuple(range(present.dim() - 1))).clamp(min=1).double()
    weights = torch.where(present, class_weight, 0.0).amax(dim=-1)
    background = label_mask & ~present.any(-1)
    weights = torch.where(background, 1.0 / background.sum().clamp(min=1).double(), weights)
    return weights
