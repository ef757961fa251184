"""Masking helpers shared by the losses: keep invalid frames out of both the value and the gradient."""

from __future__ import annotations

import torch


def keep(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`x` (..., F) with the frames where `mask` (...) is False set to 0.

    Multiplying by the mask is not enough: a NaN feature times 0 is still NaN, in the value and in the
    backward pass. `masked_fill` cuts invalid frames out of the graph, so their gradient is exactly 0.
    """
    return x.masked_fill(~mask.unsqueeze(-1), 0.0)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` where `mask`; 0 (still attached to the graph) when nothing is selected."""
    total = torch.where(mask, values, 0.0).sum()
    return total / mask.sum().clamp(min=1)


def zero_loss(x: torch.Tensor) -> torch.Tensor:
    """A 0 that is part of `x`'s graph, so `backward()` works on a batch with nothing to learn from.

    Summing an empty slice gives 0 whatever `x` holds; `x.sum() * 0` would be NaN if `x` held a NaN.
    """
    return x.flatten()[:0].sum()
