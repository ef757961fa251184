"""Shared helpers of the loss tests: tiny tensors, masks and the checks every loss must pass."""

from __future__ import annotations

from collections.abc import Callable

import torch

B, T, D, C = 6, 9, 8, 4


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(seed))


def frame_mask(*shape: int, seed: int = 1) -> torch.Tensor:
    """About a quarter of frames invalid."""
    return torch.rand(*shape, generator=gen(seed)) > 0.25


def with_nan_where(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return x.masked_fill(~mask.unsqueeze(-1), float("nan"))


def check_masked_frames_ignored(
    loss_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, mask: torch.Tensor
) -> None:
    """NaN on masked frames neither changes the loss nor receives any gradient."""
    reference = loss_fn(x)
    poisoned = with_nan_where(x, mask).requires_grad_()
    loss = loss_fn(poisoned)
    loss.backward()
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, reference)
    assert torch.isfinite(poisoned.grad).all()
    assert (poisoned.grad[~mask] == 0).all()
    assert poisoned.grad[mask].abs().sum() > 0


def check_finite_and_differentiable(loss: torch.Tensor, *inputs: torch.Tensor) -> None:
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    for x in inputs:
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def check_empty_is_zero(loss: torch.Tensor, x: torch.Tensor) -> None:
    assert loss.item() == 0.0
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
