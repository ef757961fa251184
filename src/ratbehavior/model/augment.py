"""Cheap augmentations of (B, T, F) feature windows, for the two views of the contrastive losses.

NaN marks a missing value (no pose, no IMU) and stays NaN through every transform, so the model's
missing-frame handling sees the same frames as missing in both views. Every random draw comes from
the `generator` argument, so a seeded generator reproduces a view exactly. Mixup, which also makes
targets, is `ratbehavior.model.losses.mixup`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def gaussian_noise(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Jitter: independent N(0, sigma^2) noise on every value."""
    return x + sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)


def random_scaling(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Multiply each feature of each window by its own factor ~ N(1, sigma^2), constant over time,
    like a different animal size or IMU gain (TS-TCC's weak augmentation)."""
    factor = 1 + sigma * torch.randn((x.shape[0], 1, x.shape[-1]), generator=generator, dtype=x.dtype, device=x.device)
    return x * factor


def time_mask(
    x: torch.Tensor, ratio: float, span: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hide random blocks of `span` frames, each with probability `ratio`, by setting them to NaN.

    Returns (x with hidden frames NaN, hidden (B, T) bool), `hidden` being the `mask_recon` of
    `masked_reconstruction_loss`. Blocks rather than single frames because a lone hidden 20 ms frame
    is solved by interpolating its neighbours. The block grid starts at a random phase so that
    block edges do not always fall on the same frames.
    """
    batch, length = x.shape[:2]
    blocks = torch.rand((batch, length // span + 2), generator=generator, device=x.device) < ratio
    phase = int(torch.randint(span, (), generator=generator))
    hidden = blocks.repeat_interleave(span, dim=1)[:, phase : phase + length]
    return x.masked_fill(hidden.unsqueeze(-1), float("nan")), hidden


def _take(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x[b, index[b, i]] for (B, T, ...) x and (B, L) index."""
    rows = torch.arange(x.shape[0], device=x.device).unsqueeze(1)
    return x[rows, index.to(x.device)]


@dataclass(frozen=True)
class CropPair:
    """Two crops of every window that share `overlap` consecutive frames (TS2Vec random cropping).

    index1 (B, L1) and index2 (B, L2) are the window positions of each view's frames. The shared
    frames are the last `overlap` of view 1 and the first `overlap` of view 2, so an encoder output
    z1[:, overlap1] and z2[:, overlap2] are the aligned views the contrastive losses expect.
    """

    index1: torch.Tensor
    index2: torch.Tensor
    overlap: int

    @property
    def overlap1(self) -> slice:
        return slice(self.index1.shape[1] - self.overlap, None)

    @property
    def overlap2(self) -> slice:
        return slice(0, self.overlap)

    def views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two crops of x (B, T, ...)."""
        return _take(x, self.index1), _take(x, self.index2)

    def shared(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, ...) on the shared frames only, e.g. the validity mask for the loss."""
        return _take(x, self.index2[:, : self.overlap])


def random_crop_pair(batch_size: int, length: int, min_overlap: int, generator: torch.Generator) -> CropPair:
    """TS2Vec's cropping: an overlap [left, right) of random length >= `min_overlap`, extended at random
    to the left for view 1 and to the right for view 2, then shifted by a random offset per window.

    The encoder sees each shared frame in two different contexts, which is the contrast TS2Vec
    learns from. TS2Vec uses min_overlap = 2 ** (temporal_unit + 1) so that the temporal contrast has
    at least two timestamps at its first depth.
    """
    if not 1 <= min_overlap <= length:
        raise ValueError(f"min_overlap must be in [1, {length}] for windows of {length} frames, got {min_overlap}")

    def draw(low: int, high: int) -> int:
        return int(torch.randint(low, high, (), generator=generator))

    overlap = draw(min_overlap, length + 1)
    left = draw(0, length - overlap + 1)
    right = left + overlap
    extended_left = draw(0, left + 1)
    extended_right = draw(right, length + 1)
    offset = torch.randint(-extended_left, length - extended_right + 1, (batch_size, 1), generator=generator)
    return CropPair(
        index1=offset + torch.arange(extended_left, right),
        index2=offset + torch.arange(left, extended_right),
        overlap=overlap,
    )
