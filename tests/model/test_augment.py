"""Augmentations for contrastive views: aligned crops, NaN kept as missing, reproducible under a seed."""

from __future__ import annotations

import pytest
import torch

from ratbehavior.model.augment import gaussian_noise, random_crop_pair, random_scaling, time_mask

B, T, F = 16, 40, 5


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def window_with_gaps() -> torch.Tensor:
    x = torch.randn(B, T, F, generator=gen())
    x[:, 10:13] = float("nan")
    return x


def test_crop_views_share_the_same_frames_on_their_overlap() -> None:
    x = torch.arange(B * T, dtype=torch.float32).reshape(B, T, 1)
    for seed in range(20):
        crop = random_crop_pair(B, T, min_overlap=4, generator=gen(seed))
        view1, view2 = crop.views(x)
        assert crop.overlap >= 4
        assert ((crop.index1 >= 0) & (crop.index1 < T)).all() and ((crop.index2 >= 0) & (crop.index2 < T)).all()
        torch.testing.assert_close(view1[:, crop.overlap1], view2[:, crop.overlap2])
        torch.testing.assert_close(crop.shared(x), view1[:, crop.overlap1])


def test_crops_are_reproducible_and_differ_between_seeds() -> None:
    first, again, other = (random_crop_pair(B, T, 2, gen(s)) for s in (1, 1, 2))
    assert torch.equal(first.index1, again.index1) and torch.equal(first.index2, again.index2)
    assert not torch.equal(first.index1, other.index1) or not torch.equal(first.index2, other.index2)


def test_crop_rejects_an_overlap_longer_than_the_window() -> None:
    with pytest.raises(ValueError, match="min_overlap"):
        random_crop_pair(B, T, T + 1, gen())


@pytest.mark.parametrize("augment", [gaussian_noise, random_scaling])
def test_jitter_and_scaling_change_values_keep_nan_and_repeat_under_a_seed(augment) -> None:
    x = window_with_gaps()
    out = augment(x, 0.1, gen(3))
    assert torch.equal(out.isnan(), x.isnan())
    assert not torch.allclose(out.nan_to_num(), x.nan_to_num())
    torch.testing.assert_close(out, augment(x, 0.1, gen(3)), equal_nan=True)


def test_scaling_is_constant_over_time() -> None:
    x = torch.ones(B, T, F)
    out = random_scaling(x, 0.2, gen())
    assert torch.equal(out, out[:, :1].expand(B, T, F))


def test_time_mask_hides_blocks_as_nan_at_the_asked_ratio() -> None:
    x = torch.randn(B, T, F, generator=gen())
    out, hidden = time_mask(x, ratio=0.3, span=4, generator=gen(5))
    assert torch.equal(out.isnan().all(-1), hidden)
    assert torch.equal(out[~hidden], x[~hidden])
    assert abs(hidden.float().mean().item() - 0.3) < 0.1
    # Blocks: a hidden frame has a hidden neighbour unless the block is cut by the window edge.
    interior = hidden[:, 1:-1] & ~hidden[:, :-2] & ~hidden[:, 2:]
    assert not interior.any()
    _, hidden_again = time_mask(x, ratio=0.3, span=4, generator=gen(5))
    assert torch.equal(hidden, hidden_again)


def test_time_mask_blocks_start_at_a_random_phase() -> None:
    hidden = torch.cat([time_mask(torch.zeros(B, T, F), 0.3, 4, gen(seed))[1] for seed in range(5)])
    starts = (hidden[:, 1:] & ~hidden[:, :-1]).nonzero()[:, 1] + 1
    assert (starts % 4 != 0).any()
