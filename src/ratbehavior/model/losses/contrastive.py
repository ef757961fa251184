"""Stage-1 contrastive losses on two views (B, T, D) of the same frames: TS2Vec's hierarchical contrast
(Yue et al., AAAI 2022) and a session-balanced InfoNCE that reuses its instance-wise part.

The views are the overlap of two crops, already aligned so that z1[b, t] and z2[b, t] encode the same
frame; `mask` (B, T) marks the frames that exist in the data (pose or IMU present) in that overlap.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ratbehavior.model.losses._masking import keep, masked_mean

# TS2Vec weighs instance-wise and temporal contrast equally.
DEFAULT_ALPHA = 0.5


def _two_view_nll(
    a: torch.Tensor, b: torch.Tensor, valid: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """-log p(positive) for each anchor, in G independent groups of K items seen twice.

    a, b: (G, K, D), with a[g, k] and b[g, k] the two views of one item; valid: (G, K). Within a group,
    every other valid item of either view is a negative. Returns the (G, 2K) losses and the (G, 2K)
    mask of anchors that count: valid, with at least one negative (a lone pair has nothing to learn).
    """
    k = a.shape[1]
    z = torch.cat([a, b], dim=1)
    ok = torch.cat([valid, valid], dim=1)
    logits = z @ z.transpose(1, 2) / temperature
    self_pair = torch.eye(2 * k, dtype=torch.bool, device=z.device)
    # Only valid anchors' rows are masked: an invalid anchor's row would otherwise be all -inf, whose
    # softmax is NaN, and NaN survives even a zero upstream gradient.
    excluded = (self_pair | ~ok.unsqueeze(1)) & ok.unsqueeze(2)
    log_prob = logits.masked_fill(excluded, float("-inf")).log_softmax(dim=-1)
    partner = torch.arange(2 * k, device=z.device).roll(k)
    nll = -log_prob.gather(-1, partner.expand(log_prob.shape[0], -1).unsqueeze(-1)).squeeze(-1)
    counted = ok & (valid.sum(dim=1, keepdim=True) >= 2)
    return nll, counted


def _instance_nll(
    z1: torch.Tensor, z2: torch.Tensor, mask: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Contrast across the batch at each timestamp: groups are timestamps, items are windows. (T, 2B)."""
    return _two_view_nll(z1.transpose(0, 1), z2.transpose(0, 1), mask.transpose(0, 1), temperature)


def _max_pool_time(z: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Halve T by max-pooling; a missing frame is -inf so it never wins, and a pair of missing frames
    stays missing. `ceil_mode` keeps a trailing odd frame that TS2Vec's floor pooling would drop."""
    filled = z.masked_fill(~mask.unsqueeze(-1), float("-inf")).transpose(1, 2)
    pooled = F.max_pool1d(filled, kernel_size=2, ceil_mode=True).transpose(1, 2)
    pooled_mask = F.max_pool1d(mask.unsqueeze(1).float(), kernel_size=2, ceil_mode=True).squeeze(1).bool()
    return keep(pooled, pooled_mask), pooled_mask


def hierarchical_contrastive_loss(
    z1: torch.Tensor,
    z2: torch.Tensor,
    mask: torch.Tensor,
    temporal_unit: int = 0,
    alpha: float = DEFAULT_ALPHA,
) -> torch.Tensor:
    """TS2Vec loss: instance-wise and temporal contrast at every scale from T frames down to 1.

    Instance-wise: at each timestamp, the same window in the other view is the positive and the other
    windows of the batch are negatives. Temporal: within a window, the same timestamp in the other view
    is the positive and the other timestamps are negatives; it starts at pooling depth `temporal_unit`
    because at fine scales neighbouring 20 ms frames are near-duplicates. Similarities are raw dot
    products, as in TS2Vec. Returns the mean over depths of alpha * instance + (1 - alpha) * temporal.
    """
    z1, z2 = keep(z1, mask), keep(z2, mask)
    total = z1.new_zeros(())
    depth = 0
    while True:
        total = total + alpha * masked_mean(*_instance_nll(z1, z2, mask, 1.0))
        if depth >= temporal_unit and z1.shape[1] > 1:
            total = total + (1 - alpha) * masked_mean(*_two_view_nll(z1, z2, mask, 1.0))
        depth += 1
        if z1.shape[1] <= 1:
            return total / depth
        z2 = _max_pool_time(z2, mask)[0]
        z1, mask = _max_pool_time(z1, mask)


def unsupervised_session_mixing_contrastive(
    z1: torch.Tensor,
    z2: torch.Tensor,
    session_ids: torch.Tensor,
    mask: torch.Tensor,
    temperature: float = 1.0,
) -> torch.Tensor:
    """InfoNCE over a batch whose windows come from several sessions, each session weighted equally.

    The positive of a frame is the same frame in the other view; the negatives are the other windows'
    frames at the same window position (TS2Vec's instance-wise contrast), which in a session-mixed
    batch are frames of other times and other sessions. Costs O(T B^2) instead of O((B T)^2).
    Averaging per session first keeps a long recording that fills most of the batch from setting
    the loss alone. `session_ids`: (B,) integer id of each window. With temperature 1 and
    unnormalised embeddings this is exactly the first-depth instance term of TS2Vec.
    """
    z1, z2 = keep(z1, mask), keep(z2, mask)
    nll, counted = _instance_nll(z1, z2, mask, temperature)
    sessions, window_session = torch.unique(session_ids, return_inverse=True)
    anchor_session = window_session.repeat(2)
    n_sessions = len(sessions)
    per_window = torch.where(counted, nll, 0.0).sum(dim=0)
    anchors_per_window = counted.sum(dim=0).to(per_window.dtype)
    sums = per_window.new_zeros(n_sessions).index_add(0, anchor_session, per_window)
    counts = per_window.new_zeros(n_sessions).index_add(0, anchor_session, anchors_per_window)
    return masked_mean(sums / counts.clamp(min=1), counts > 0)
