"""The whole network: two modality encoders, cross-modal imputation, gated fusion and the heads.

    pose ─ encoder ─ pose_repr ─┬─ imputer ─> imu_from_pose    a missing stream is replaced by the
    imu  ─ encoder ─ imu_repr  ─┴─ imputer ─> pose_from_imu    other one's prediction of it
          └─ reconstruction heads (stage-1 masked reconstruction)
    streams ─ gated bidirectional cross-attention ─ embedding ─┬─ projection (contrastive, unit norm)
                                                               └─ logits (multi-label, per frame)

Stages: 1 trains everything; 2 (`freeze_encoders`) only the shared alignment adapters; 3
(`unfreeze_all`) everything again; a session first met at predict time gets a slot (`add_sessions`)
and `adapt_sessions` trains that slot alone. `ModelConfig` and `ModelDims` saved with the weights
rebuild the model (`build_model`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.hooks import RemovableHandle

from ratbehavior.model.adapters import UNKNOWN_SESSION
from ratbehavior.model.config import ModelConfig
from ratbehavior.model.encoder import ModalityEncoder, available
from ratbehavior.model.fusion import GatedFusion

Modality = Literal["pose", "imu"]
MODALITIES: tuple[Modality, Modality] = ("pose", "imu")
OTHER: dict[Modality, Modality] = {"pose": "imu", "imu": "pose"}


@dataclass(frozen=True)
class ModelDims:
    """The data-dependent sizes; `n_sessions` counts known sessions, the model has one more slot
    (`UNKNOWN_SESSION` = 0) for sessions it has never seen."""

    n_pose_features: int
    n_imu_features: int
    n_classes: int
    n_sessions: int

    def n_features(self, modality: Modality) -> int:
        return self.n_pose_features if modality == "pose" else self.n_imu_features


@dataclass
class ModelOutput:
    """Every tensor is per frame. The masks are those the model used: input masks, minus all-NaN
    frames, minus the streams modality dropout removed. Cross-prediction losses should compare
    `pose_from_imu` with a detached `pose_repr` on frames where both masks hold (and likewise for
    the IMU), so that the imputer follows the encoder rather than dragging it towards itself."""

    embedding: torch.Tensor  # (B, T, E)
    projection: torch.Tensor  # (B, T, P), unit L2 norm
    logits: torch.Tensor  # (B, T, C)
    pose_repr: torch.Tensor  # (B, T, D)
    imu_repr: torch.Tensor  # (B, T, D)
    pose_from_imu: torch.Tensor  # (B, T, D)
    imu_from_pose: torch.Tensor  # (B, T, D)
    pose_reconstruction: torch.Tensor  # (B, T, Fp)
    imu_reconstruction: torch.Tensor  # (B, T, Fi)
    pose_mask: torch.Tensor  # (B, T) bool
    imu_mask: torch.Tensor  # (B, T) bool


def mlp(d_in: int, hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, d_out))


def _role(name: str) -> str:
    """Which optimiser group a parameter belongs to, from its name."""
    if ".session_adapter." in name:
        return "session_adapters"
    if ".shared_adapter." in name:
        return "shared_adapters"
    if name.startswith("encoders."):
        return "encoders"
    if name.startswith(("fusion.", "absent.")):
        return "fusion"
    return "heads"


class RatBehaviourNet(nn.Module):
    def __init__(self, cfg: ModelConfig, dims: ModelDims) -> None:
        super().__init__()
        self.cfg, self.dims = cfg, dims
        d, e = cfg.d_model, cfg.embedding_dim
        self.encoders = nn.ModuleDict(
            {m: ModalityEncoder(dims.n_features(m), dims.n_sessions + 1, cfg) for m in MODALITIES}
        )
        # imputers[m] predicts m's representation from the other modality's.
        self.imputers = nn.ModuleDict({m: mlp(d, 2 * d, d, cfg.dropout) for m in MODALITIES})
        self.reconstructors = nn.ModuleDict({m: nn.Linear(d, dims.n_features(m)) for m in MODALITIES})
        # A stream's stand-in on frames where neither modality was recorded.
        self.absent = nn.ParameterDict({m: nn.Parameter(0.02 * torch.randn(d)) for m in MODALITIES})
        self.fusion = GatedFusion(d, cfg.n_heads, e, cfg.dropout)
        self.projector = mlp(e, e, cfg.projection_dim, cfg.dropout)
        self.classifier = mlp(e, cfg.head_hidden, dims.n_classes, cfg.dropout)

    def encode(
        self, modality: Modality, x: torch.Tensor, mask: torch.Tensor, session_index: torch.Tensor
    ) -> torch.Tensor:
        """One modality's (B, T, D) representation on its own, without modality dropout: stage-1
        contrast per encoder, and masked reconstruction as `reconstructors[modality](encode(...))`
        with the hidden frames NaN in `x` (they are then absent, see `available`)."""
        return self.encoders[modality](x, available(x, mask), session_index)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> ModelOutput:
        """batch: pose (B, T, Fp), imu (B, T, Fi), pose_mask and imu_mask (B, T) bool, session_index
        (B,) long; other keys (labels, ...) are ignored, so a `WindowDataset` batch goes in as is."""
        session = batch["session_index"]
        masks = {m: available(batch[m], batch[f"{m}_mask"]) for m in MODALITIES}
        if self.training:
            masks = self._drop_modalities(masks)
            session = self._forget_sessions(session)
        reprs = {m: self.encoders[m](batch[m], masks[m], session) for m in MODALITIES}
        imputed = {m: self.imputers[m](reprs[OTHER[m]]) for m in MODALITIES}
        streams = {
            m: torch.where(
                masks[m].unsqueeze(-1),
                reprs[m],
                torch.where(masks[OTHER[m]].unsqueeze(-1), imputed[m], self.absent[m]),
            )
            for m in MODALITIES
        }
        embedding = self.fusion(streams["pose"], streams["imu"], masks["pose"], masks["imu"])
        return ModelOutput(
            embedding=embedding,
            projection=F.normalize(self.projector(embedding), dim=-1),
            logits=self.classifier(embedding),
            pose_repr=reprs["pose"],
            imu_repr=reprs["imu"],
            pose_from_imu=imputed["pose"],
            imu_from_pose=imputed["imu"],
            pose_reconstruction=self.reconstructors["pose"](reprs["pose"]),
            imu_reconstruction=self.reconstructors["imu"](reprs["imu"]),
            pose_mask=masks["pose"],
            imu_mask=masks["imu"],
        )

    def _drop_modalities(self, masks: dict[Modality, torch.Tensor]) -> dict[Modality, torch.Tensor]:
        """Per window, hide the pose stream with probability p_pose or else the IMU stream with
        probability p_imu. Only frames where the other modality is present lose theirs, so a frame
        that had data never ends up with none."""
        pose, imu = masks["pose"], masks["imu"]
        draw = torch.rand(pose.shape[0], 1, device=pose.device)
        p_pose, p_imu = self.cfg.modality_dropout_pose, self.cfg.modality_dropout_imu
        drop_pose = draw < p_pose
        drop_imu = (draw >= p_pose) & (draw < p_pose + p_imu)
        return {"pose": pose & ~(drop_pose & imu), "imu": imu & ~(drop_imu & pose)}

    def _forget_sessions(self, session: torch.Tensor) -> torch.Tensor:
        """Feed some windows as the unknown session: otherwise its slot never learns anything."""
        forget = torch.rand(session.shape, device=session.device) < self.cfg.unknown_session_prob
        return session.masked_fill(forget, UNKNOWN_SESSION)

    # Training stages -----------------------------------------------------------------------------

    def freeze_encoders(self) -> None:
        """Stage 2: only the two shared alignment adapters train; encoders, per-session adapters,
        imputers, fusion and heads are frozen."""
        self.requires_grad_(False)
        for encoder in self.encoders.values():
            encoder.shared_adapter.requires_grad_(True)

    def unfreeze_all(self) -> None:
        """Stages 1 and 3."""
        self.requires_grad_(True)

    def parameter_groups(self) -> list[dict[str, Any]]:
        """The trainable parameters as optimiser groups by role (session_adapters, shared_adapters,
        encoders, fusion, heads), so a stage can give each its own learning rate."""
        groups: dict[str, list[nn.Parameter]] = {}
        for name, parameter in self.named_parameters():
            if parameter.requires_grad:
                groups.setdefault(_role(name), []).append(parameter)
        return [{"name": role, "params": params} for role, params in groups.items()]

    def add_sessions(self, n: int) -> list[int]:
        """Append `n` session slots, each starting as the mean of the known sessions' adapters, and
        return their indices. Existing slots keep their outputs. The adapter parameters are replaced:
        build optimisers after calling this."""
        first = self.dims.n_sessions + 1
        for encoder in self.encoders.values():
            encoder.session_adapter.add_sessions(n)
        self.dims = replace(self.dims, n_sessions=self.dims.n_sessions + n)
        return list(range(first, first + n))

    def adapt_sessions(self, slots: Sequence[int]) -> list[RemovableHandle]:
        """Unlabelled adaptation of new sessions: only the adapter rows of `slots` receive gradient.

        Every other parameter is frozen and the other rows' gradients are zeroed by hooks (remove
        them when done). Use no weight decay: it would still move the zero-gradient rows.
        """
        self.requires_grad_(False)
        handles = []
        for encoder in self.encoders.values():
            table = encoder.session_adapter.table
            keep = torch.zeros(table.shape[0], 1, dtype=table.dtype, device=table.device)
            keep[list(slots)] = 1
            table.requires_grad_(True)
            handles.append(table.register_hook(lambda grad, keep=keep: grad * keep))
        return handles


def build_model(cfg: ModelConfig, dims: ModelDims) -> RatBehaviourNet:
    """The model a checkpoint's config and dims describe, with fresh weights (load the state dict next)."""
    return RatBehaviourNet(cfg, dims)
