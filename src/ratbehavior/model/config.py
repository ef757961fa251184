"""Hyper-parameters of the network: saved with every checkpoint, they and `ModelDims` rebuild the model.

No torch import here: the configuration tree imports this module and must stay cheap to load.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ratbehavior.section import Section


class ModelConfig(Section):
    """Defaults are sized for CPU inference: at least 20,000 frames/s in eval on 2 cores (windows of
    256 frames, 32 at a time). The conv stack has one block per dilation, each d_model channels wide."""

    # Width of each modality's encoder and of the fusion streams.
    d_model: int = Field(64, ge=8)
    n_heads: int = Field(4, ge=1)
    # Transformer layers per modality encoder.
    n_layers: int = Field(1, ge=1)
    # Transformer feed-forward width, as a multiple of d_model.
    ff_mult: int = Field(2, ge=1)
    # Odd kernels keep every output frame centred on its input frame.
    kernel_size: int = Field(3, ge=1)
    dilations: list[int] = Field(default_factory=lambda: [1, 2, 4, 8], min_length=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    # Fused per-frame embedding, contrastive projection and classifier hidden widths.
    embedding_dim: int = Field(64, ge=1)
    projection_dim: int = Field(32, ge=1)
    head_hidden: int = Field(64, ge=1)
    # Per-session adapter: FiLM (scale and shift) or a low-rank residual linear map of that rank.
    adapter: Literal["film", "lowrank"] = "film"
    adapter_rank: int = Field(4, ge=1)
    # Bottleneck width of the shared alignment adapter trained alone in stage 2.
    shared_adapter_dim: int = Field(16, ge=1)
    # Training only: share of windows whose pose (or IMU) stream is dropped and imputed from the other.
    modality_dropout_pose: float = Field(0.15, ge=0.0, le=1.0)
    modality_dropout_imu: float = Field(0.15, ge=0.0, le=1.0)
    # Training only: share of windows fed as the unknown session, so that its adapter slot is learned.
    unknown_session_prob: float = Field(0.1, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} must be a multiple of n_heads {self.n_heads}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size {self.kernel_size} must be odd to keep every frame aligned")
        if any(d < 1 for d in self.dilations):
            raise ValueError(f"dilations {self.dilations} must all be >= 1")
        # One draw picks at most one stream to drop, so that a window never loses both.
        if self.modality_dropout_pose + self.modality_dropout_imu > 1:
            raise ValueError("modality_dropout_pose + modality_dropout_imu must be <= 1")
        return self
