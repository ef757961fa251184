"""Per-modality encoder: (B, T, F) features of one modality -> (B, T, D) per-frame representation.

stem (linear + LayerNorm) -> per-session adapter -> learned "missing" vector on absent frames ->
shared alignment adapter -> residual dilated 1-D convolutions (local motion, non-causal) ->
Transformer encoder (the whole window).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ratbehavior.model.adapters import SharedAdapter, session_adapter
from ratbehavior.model.config import ModelConfig


def available(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T) frames that both the mask and the data call present. A frame whose features are all
    NaN is absent whatever its mask says, so a view hidden by `augment.time_mask` is absent too."""
    return mask & x.isfinite().any(-1)


def sinusoidal_positions(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(length, dim) sine/cosine position codes of "Attention is all you need". Their dot products
    depend on the offset between two frames, so attention can be relative; computed per call because
    window lengths vary between training and prediction."""
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    codes = torch.zeros(length, dim, device=device)
    codes[:, 0::2] = torch.sin(position * frequency)
    codes[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return codes.to(dtype)


class DilatedResidualBlock(nn.Module):
    """x + dropout(GELU(conv_dilated(LayerNorm(x)))), on (B, T, D), same length in and out."""

    def __init__(self, d: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, d, kernel_size, dilation=dilation, padding=dilation * (kernel_size - 1) // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(self.norm(x).transpose(1, 2)).transpose(1, 2)
        return x + self.drop(F.gelu(h))


class ModalityEncoder(nn.Module):
    def __init__(self, n_features: int, n_slots: int, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.stem = nn.Sequential(nn.Linear(n_features, d), nn.LayerNorm(d))
        self.session_adapter = session_adapter(cfg.adapter, n_slots, d, cfg.adapter_rank)
        self.missing = nn.Parameter(0.02 * torch.randn(d))
        self.shared_adapter = SharedAdapter(d, cfg.shared_adapter_dim)
        self.convs = nn.Sequential(
            *(DilatedResidualBlock(d, cfg.kernel_size, dilation, cfg.dropout) for dilation in cfg.dilations)
        )
        layer = nn.TransformerEncoderLayer(
            d, cfg.n_heads, dim_feedforward=cfg.ff_mult * d, dropout=cfg.dropout, activation="gelu",
            batch_first=True, norm_first=True,
        )  # fmt: skip
        # Nested tensors only pay off with key padding masks, which full windows do not need.
        self.transformer = nn.TransformerEncoder(layer, cfg.n_layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, session: torch.Tensor) -> torch.Tensor:
        """x: (B, T, F) with anything (NaN, garbage) where `mask` (B, T) is False; session: (B,) slots.

        Absent frames are zeroed before the stem, not only replaced after it: a NaN times a zero
        gradient is NaN in the stem's weight gradient. A NaN feature inside a present frame becomes
        0, the session median after the robust normalisation of the features.
        """
        present = mask.unsqueeze(-1)
        x = torch.where(present & x.isfinite(), x, 0.0)
        h = self.session_adapter(self.stem(x), session)
        # After the session adapter, so that "missing" means the same in every session.
        h = torch.where(present, h, self.missing)
        h = self.convs(self.shared_adapter(h))
        h = h + sinusoidal_positions(h.shape[1], h.shape[2], h.device, h.dtype)
        return self.transformer(h)
