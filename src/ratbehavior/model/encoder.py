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


class Attention(nn.Module):
    """Multi-head attention of (B, T, D) queries over a (B, S, D) context (the queries themselves for
    self-attention).

    Written on `scaled_dot_product_attention` rather than taken from `nn.MultiheadAttention` or
    `nn.TransformerEncoderLayer`: on CPU their eval fast path materialises every (T, S) attention
    matrix, about three times slower than the fused kernel here.
    """

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads, self.dropout = n_heads, dropout
        self.query = nn.Linear(d, d)
        self.key_value = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, d = x.shape
        return x.view(batch, length, self.n_heads, d // self.n_heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        key, value = self.key_value(context).chunk(2, dim=-1)
        attended = F.scaled_dot_product_attention(
            self._heads(self.query(x)), self._heads(key), self._heads(value),
            dropout_p=self.dropout if self.training else 0.0,
        )  # fmt: skip
        return self.out(attended.transpose(1, 2).flatten(2))


class TransformerBlock(nn.Module):
    """Pre-norm Transformer encoder layer: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, d: int, n_heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.norm_attention = nn.LayerNorm(d)
        self.attention = Attention(d, n_heads, dropout)
        self.norm_mlp = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, ff_mult * d), nn.GELU(), nn.Linear(ff_mult * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm_attention(x)
        x = x + self.drop(self.attention(h, h))
        return x + self.drop(self.mlp(self.norm_mlp(x)))


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
        self.transformer = nn.Sequential(
            *(TransformerBlock(d, cfg.n_heads, cfg.ff_mult, cfg.dropout) for _ in range(cfg.n_layers)),
            nn.LayerNorm(d),
        )

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
