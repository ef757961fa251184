"""Hyper-parameters of training: windows, the three stages, the classifier and the pseudo-label rounds.

No torch import here: the configuration tree imports this module and must stay cheap to load.
An epoch is a fixed number of optimiser steps rather than a pass over the data, so that a stage
costs the same whatever the share of labelled frames, and the costs in the README stay true.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ratbehavior.section import Section


class StageConfig(Section):
    epochs: int = Field(1, ge=0)
    steps_per_epoch: int = Field(40, ge=1)
    lr: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(1e-4, ge=0.0)


class PretrainConfig(StageConfig):
    """Stage 1: TS2Vec contrast of two crops per modality and of the fused embedding, masked
    reconstruction, and the cross-modal imputers learning each stream from the other."""

    # One epoch: longer pretraining, and a heavier reconstruction term, lowered leave-one-animal-out
    # F1 in the ablations (README, "Quality").
    epochs: int = Field(1, ge=0)
    min_overlap: int = Field(32, ge=1)
    # Pooling depth where the temporal contrast starts: 2**2 = 80 ms, below which frames are near-copies.
    temporal_unit: int = Field(2, ge=0)
    noise_sigma: float = Field(0.1, ge=0.0)
    scaling_sigma: float = Field(0.1, ge=0.0)
    mask_ratio: float = Field(0.15, ge=0.0, lt=1.0)
    mask_span: int = Field(10, ge=1)
    reconstruction_weight: float = Field(0.2, ge=0.0)
    imputation_weight: float = Field(1.0, ge=0.0)


class AlignConfig(StageConfig):
    """Stage 2: only the shared adapters train."""

    epochs: int = Field(1, ge=0)
    alignment_weight: float = Field(0.5, ge=0.0)
    structure_weight: float = Field(1.0, ge=0.0)
    supcon_weight: float = Field(1.0, ge=0.0)
    temperature: float = Field(0.1, gt=0.0)
    noise_sigma: float = Field(0.1, ge=0.0)


class FinetuneConfig(StageConfig):
    """Stage 3: all parameters free."""

    # Stage 3 is where labels enter: leave-one-animal-out macro-F1 went 0.72 (4 epochs, one fold),
    # 0.88 (12), 0.91 (16, every fold up).
    epochs: int = Field(16, ge=0)
    lr: float = Field(5e-4, gt=0.0)
    bce_weight: float = Field(1.0, ge=0.0)
    supcon_weight: float = Field(0.5, ge=0.0)
    temperature: float = Field(0.1, gt=0.0)
    # "Heavy" noise on the supervised contrastive view, in robust standard deviations of the features.
    heavy_noise_sigma: float = Field(0.5, ge=0.0)
    mixup_alpha: float = Field(0.4, gt=0.0)
    # Unlabelled frames this similar to a class prototype join the labelled batch with its labels.
    prototype_threshold: float = Field(0.95, ge=-1.0, le=1.0)
    fixmatch_weight: float = Field(0.2, ge=0.0)
    # The same similarity for FixMatch's weak view to label the strong view: its own setting, so that
    # either use of the prototypes can be switched off (1.0) without the other.
    fixmatch_threshold: float = Field(0.95, ge=-1.0, le=1.0)
    fixmatch_temperature: float = Field(0.1, gt=0.0)
    weak_noise_sigma: float = Field(0.05, ge=0.0)
    # The strong view: heavy noise, plus per-window feature scaling and hidden blocks of frames.
    strong_scaling_sigma: float = Field(0.2, ge=0.0)
    strong_mask_ratio: float = Field(0.1, ge=0.0, lt=1.0)
    strong_mask_span: int = Field(10, ge=1)
    mixing_weight: float = Field(0.05, ge=0.0)


class ClassifierConfig(StageConfig):
    """The MLP head refitted on frozen embeddings, then calibrated on held-out labelled frames."""

    epochs: int = Field(6, ge=1)
    steps_per_epoch: int = Field(100, ge=1)
    batch_frames: int = Field(1024, ge=8)
    # Share of the labelled stretches kept out of stages 2-3 and the classifier, for calibration
    # and per-behaviour thresholds.
    calibration_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    # Labelled frames are assigned to calibration in blocks this long, so that the two sides do not
    # share near-identical neighbouring frames.
    calibration_block_s: float = Field(10.0, gt=0.0)
    # Candidate widths, in frames, of a centred moving average of each behaviour's logits; calibration
    # picks one per behaviour (1: no smoothing). Odd, so that the window stays centred on its frame.
    smoothing_windows: list[int] = Field(default_factory=lambda: [1, 5, 11, 25, 51], min_length=1)
    # Candidate minimum bouts, in frames: calibration picks one per behaviour, never longer than the
    # shortest bout annotated in the training labels, and decisions drop bouts shorter than it.
    min_bouts: list[int] = Field(default_factory=lambda: [1, 3, 5, 9, 15], min_length=1)

    @model_validator(mode="after")
    def _odd_windows(self) -> ClassifierConfig:
        if any(w < 1 or w % 2 == 0 for w in self.smoothing_windows):
            raise ValueError(f"smoothing_windows {self.smoothing_windows} must all be odd and >= 1")
        if min(self.min_bouts) < 1:
            raise ValueError(f"min_bouts {self.min_bouts} must all be >= 1")
        return self


class RoundsConfig(Section):
    """Pseudo-label rounds: after the classifier, frames whose every behaviour is decided with at least
    this confidence become labels, and stage 3 (for `finetune_epochs`) and the classifier run again."""

    rounds: int = Field(1, ge=0)
    confidence: float = Field(0.95, gt=0.5, le=1.0)
    finetune_epochs: int = Field(2, ge=1)


class TrainingConfig(Section):
    window: int = Field(256, ge=8)
    stride: int = Field(128, ge=1)
    batch_size: int = Field(16, ge=2)
    # Stage 3 takes this many labelled windows per batch, and as many unlabelled ones.
    labelled_batch_size: int = Field(8, ge=2)
    max_grad_norm: float = Field(1.0, gt=0.0)
    # Which modalities the model sees: the pose-only and IMU-only baselines switch one off.
    use_pose: bool = True
    use_imu: bool = True
    # Windows in one forward pass when embedding or predicting whole sessions.
    inference_batch: int = Field(32, ge=1)
    # Networks trained alike under seeds seed, seed+1, ... on the same calibration split; their logits
    # are averaged and calibrated as one model's. Each member costs a whole training and an inference pass.
    members: int = Field(1, ge=1)
    pretrain: PretrainConfig = Field(default_factory=PretrainConfig)
    align: AlignConfig = Field(default_factory=AlignConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    pseudo_labels: RoundsConfig = Field(default_factory=RoundsConfig)

    @model_validator(mode="after")
    def _consistent(self) -> TrainingConfig:
        if not (self.use_pose or self.use_imu):
            raise ValueError("use_pose and use_imu cannot both be false")
        if self.stride > self.window:
            raise ValueError(f"stride {self.stride} must not exceed window {self.window}: frames would be skipped")
        if self.pretrain.min_overlap > self.window:
            raise ValueError(f"pretrain.min_overlap {self.pretrain.min_overlap} exceeds window {self.window}")
        return self


class RayConfig(Section):
    """Where the stages run. Every stage, the classifier and each pseudo-label round is one Ray Train
    job; `num_workers: 0` is Ray Train's local mode (the loop runs in the driver process)."""

    num_workers: int = Field(0, ge=0)
    cpus_per_worker: float = Field(1.0, gt=0.0)
    gpus_per_worker: float = Field(0.0, ge=0.0)
    # None: start a Ray on this machine. A dashboard URL (http://head:8265): submit the training to that
    # cluster through the Ray Jobs API (Ray Client cannot run Ray Train).
    address: str | None = None
    # CPUs of the local Ray (None: all of this machine's).
    local_num_cpus: int | None = Field(None, ge=1)
    # Checkpoints and the features the workers read: a local folder, or s3://bucket/prefix on a cluster.
    storage_path: str = "artifacts/ray"
    # S3-compatible endpoint (MinIO) for s3:// storage; credentials come from AWS_ACCESS_KEY_ID and
    # AWS_SECRET_ACCESS_KEY, never from configuration.
    s3_endpoint: str | None = None
    max_failures: int = Field(2, ge=0)
