"""Stage-2 and stage-3 losses that use unlabelled frames: session alignment (CORAL) and
prototype-based FixMatch."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ratbehavior.model.losses._masking import keep, zero_loss
from ratbehavior.model.losses.supervised import masked_bce_with_logits

# A covariance needs at least two frames; a session with fewer in the batch sits this step out.
MIN_SESSION_FRAMES = 2


def session_alignment_loss(z: torch.Tensor, session_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """CORAL with means: how far each session's embedding mean and covariance are from the average session's.

    z: (..., P), L2-normalised here; session_ids: shape of `mask` or a prefix of it, e.g. (B,) for
    (B, T) windows; mask: (...) valid frames. Returns mean over sessions of
    ||mu_s - mean(mu)||^2 + ||C_s - mean(C)||_F^2.

    Why CORAL (Sun & Saenko 2016) and not MMD: sessions differ in how often each behaviour occurs,
    and MMD with a characteristic kernel would force whole distributions to match, i.e. would pull
    a session's frequent behaviours onto another's rarer ones. Matching two moments removes the
    global shifts sessions add (camera placement, IMU mounting, lighting) and leaves the shape inside
    a session free (behaviour frequencies still move the two moments somewhat, so this loss should
    carry a modest weight). It needs no kernel bandwidth and costs O(N P^2). Unit-norm embeddings bound both
    terms (trace(C) <= 1) so neither dominates, and stop the encoder from zeroing the loss by
    shrinking embeddings. The average session, not the pooled frames, is the target so that a long
    recording does not define it.
    """
    ids = torch.broadcast_to(
        session_ids.reshape(session_ids.shape + (1,) * (mask.dim() - session_ids.dim())), mask.shape
    )
    frames = F.normalize(z.reshape(-1, z.shape[-1])[mask.reshape(-1)], dim=-1)
    ids = ids.reshape(-1)[mask.reshape(-1)]
    sessions = [frames[ids == s] for s in ids.unique()]
    sessions = [emb for emb in sessions if len(emb) >= MIN_SESSION_FRAMES]
    if not sessions:
        return zero_loss(z)
    means = torch.stack([emb.mean(0) for emb in sessions])
    covs = torch.stack([torch.cov(emb.T) for emb in sessions])
    mean_gap = (means - means.mean(0)).square().sum(-1)
    cov_gap = (covs - covs.mean(0)).square().sum((-2, -1))
    return (mean_gap + cov_gap).mean()


def class_prototypes(z: torch.Tensor, labels: torch.Tensor, label_mask: torch.Tensor) -> torch.Tensor:
    """(C, P) unit vectors: the direction of the mean L2-normalised embedding of each behaviour's frames.

    z: (..., P), labels: (..., C), label_mask: (...). Only the direction matters for cosine
    similarity. A behaviour with no annotated frame gets a zero vector: similarity 0 to everything,
    so it is never pseudo-labelled.
    """
    annotated = label_mask.reshape(-1)
    frames = F.normalize(keep(z.reshape(-1, z.shape[-1]), annotated), dim=-1)
    y = keep(labels.reshape(-1, labels.shape[-1]).to(frames.dtype), annotated)
    return F.normalize(y.T @ frames, dim=-1)


@torch.no_grad()
def pseudo_labels_from_prototypes(
    z: torch.Tensor, prototypes: torch.Tensor, threshold: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels (..., C) float 0/1, confident (...) bool): a behaviour is on when the frame's cosine
    similarity to its prototype is >= `threshold`; a frame is confident when any behaviour is on.
    Frames with NaN embeddings are never confident."""
    similarity = F.normalize(z, dim=-1) @ F.normalize(prototypes, dim=-1).T
    labels = similarity >= threshold
    return labels.to(z.dtype), labels.any(-1)


def prototype_fixmatch_loss(
    weak_z: torch.Tensor,
    strong_z: torch.Tensor,
    prototypes: torch.Tensor,
    threshold: float,
    temperature: float,
    mask: torch.Tensor,
) -> torch.Tensor:
    """FixMatch (Sohn et al. 2020) with class prototypes in place of a classifier head, multi-label.

    weak_z, strong_z: (..., P) embeddings of the same frames under weak and strong augmentation;
    prototypes: (C, P); mask: (...) valid frames. The weak view's confident behaviours are the
    targets (1 for behaviours at or above `threshold`, 0 for the rest: the multi-label counterpart of
    FixMatch's one-hot argmax, whose softmax also pushes every other class down). The strong view is
    trained by per-behaviour BCE on cos(strong, prototype) / temperature: independent sigmoids, because
    a softmax over prototypes would make co-occurring behaviours compete. Pseudo-labels and prototypes
    are constants (stop-gradient, as in FixMatch), so unlabelled frames cannot drag the prototypes
    towards themselves. As in FixMatch, the sum runs over confident frames and is divided by all
    valid frames, so the loss grows as the model becomes confident.
    """
    targets, confident = pseudo_labels_from_prototypes(weak_z, prototypes, threshold)
    used = confident & mask
    logits = F.normalize(keep(strong_z, used), dim=-1) @ F.normalize(prototypes.detach(), dim=-1).T / temperature
    share_used = used.sum() / mask.sum().clamp(min=1)
    return masked_bce_with_logits(logits, targets, used) * share_used
