"""Gated bidirectional cross-attention: the pose stream reads the IMU stream and the IMU stream reads
the pose stream, then a per-frame, per-channel gate mixes the two into one embedding.

Gates rather than plain residual sums because how much one modality should borrow from the other
changes from frame to frame: a head-scratch is all IMU, a stretched rearing is mostly posture.
"""

from __future__ import annotations

import torch
from torch import nn

from ratbehavior.model.encoder import Attention


class GatedCrossAttention(nn.Module):
    """stream + gate * attention(stream -> context), gate = sigmoid(linear([stream, attended]))."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.norm_stream = nn.LayerNorm(d)
        self.norm_context = nn.LayerNorm(d)
        self.attention = Attention(d, n_heads, dropout)
        self.gate = nn.Linear(2 * d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, stream: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        query = self.norm_stream(stream)
        attended = self.attention(query, self.norm_context(context))
        gate = torch.sigmoid(self.gate(torch.cat([query, attended], dim=-1)))
        return stream + gate * self.drop(attended)


class GatedFusion(nn.Module):
    """(B, T, D) pose and IMU streams + their (B, T) availability -> (B, T, E) embedding."""

    def __init__(self, d: int, n_heads: int, embedding_dim: int, dropout: float) -> None:
        super().__init__()
        self.pose_reads_imu = GatedCrossAttention(d, n_heads, dropout)
        self.imu_reads_pose = GatedCrossAttention(d, n_heads, dropout)
        # The two availability flags tell the mixing gate which stream is measured and which imputed.
        self.mix = nn.Linear(2 * d + 2, d)
        self.out = nn.Sequential(nn.Linear(d, embedding_dim), nn.LayerNorm(embedding_dim))

    def forward(
        self, pose: torch.Tensor, imu: torch.Tensor, pose_mask: torch.Tensor, imu_mask: torch.Tensor
    ) -> torch.Tensor:
        # Both directions read the streams as they came in, so neither direction goes first.
        pose, imu = self.pose_reads_imu(pose, imu), self.imu_reads_pose(imu, pose)
        flags = torch.stack([pose_mask, imu_mask], dim=-1).to(pose.dtype)
        weight = torch.sigmoid(self.mix(torch.cat([pose, imu, flags], dim=-1)))
        return self.out(weight * pose + (1 - weight) * imu)
