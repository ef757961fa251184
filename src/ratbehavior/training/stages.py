"""The three representation stages as epoch plans for `run_stage`: what one batch is made of and
which losses it feeds. Freezing is the caller's job (`RatBehaviourNet.freeze_encoders` / `unfreeze_all`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ratbehavior.config import Config
from ratbehavior.data.dataset import SessionData
from ratbehavior.errors import InputError
from ratbehavior.model import augment
from ratbehavior.model.ensemble import Model
from ratbehavior.model.losses import (
    class_prototypes,
    hierarchical_contrastive_loss,
    masked_bce_with_logits,
    masked_reconstruction_loss,
    mixup,
    multilabel_supcon_loss,
    prototype_fixmatch_loss,
    pseudo_labels_from_prototypes,
    session_alignment_loss,
    unsupervised_session_mixing_contrastive,
)
from ratbehavior.model.losses._masking import masked_mean
from ratbehavior.model.network import MODALITIES, ModelOutput, RatBehaviourNet
from ratbehavior.model.sliding import FrameOutputs, run_session
from ratbehavior.training.data import Batch, WindowSampler, balanced_sampler, uniform_sampler, with_labels
from ratbehavior.training.loop import EpochPlan, Losses

TIME_KEYS = ("pose", "imu", "pose_mask", "imu_mask", "labels", "label_mask", "frame_mask")


def present(batch: Batch) -> torch.Tensor:
    """(B, T) frames with any recorded modality."""
    return batch["pose_mask"] | batch["imu_mask"]


def _with(batch: Batch, **changes: torch.Tensor) -> Batch:
    return {**batch, **changes}


def _noisy(batch: Batch, sigma: float, generator: torch.Generator, scaling: float = 0.0) -> Batch:
    changes = {}
    for m in MODALITIES:
        x = augment.gaussian_noise(batch[m], sigma, generator)
        changes[m] = augment.random_scaling(x, scaling, generator) if scaling else x
    return _with(batch, **changes)


def _concat(a: Batch, b: Batch) -> Batch:
    return {key: torch.cat([a[key], b[key]]) for key in a}


def _imputation_loss(out: ModelOutput) -> torch.Tensor:
    """Each imputer learns its modality's representation from the other one's, on frames with both."""
    both = (out.pose_mask & out.imu_mask).unsqueeze(-1)
    pose = masked_mean((out.pose_from_imu - out.pose_repr.detach()).square(), both.expand_as(out.pose_repr))
    imu = masked_mean((out.imu_from_pose - out.imu_repr.detach()).square(), both.expand_as(out.imu_repr))
    return pose + imu


@dataclass
class StageData:
    sessions: list[SessionData]
    slots: dict[str, int]
    window: int
    stride: int


def session_outputs(model: Model, data: StageData, sessions: Sequence[SessionData], batch: int) -> list[FrameOutputs]:
    """The network over whole sessions, each through its own adapter slot."""
    return [run_session(model, s, data.slots[s.session_id], data.window, data.stride, batch) for s in sessions]


def pretrain_plan(model: RatBehaviourNet, data: StageData, cfg: Config) -> EpochPlan:
    """Stage 1: TS2Vec on two overlapping crops, per modality and fused; masked reconstruction of
    hidden blocks of view 1; the imputers learn each modality from the other."""
    s1, batch_size = cfg.training.pretrain, cfg.training.batch_size
    windows = uniform_sampler(data.sessions, data.slots, data.window, data.stride)

    def plan(epoch: int, generator: torch.Generator) -> Callable[[], Losses]:
        def step() -> Losses:
            batch = windows.draw(batch_size, generator)
            crops = augment.random_crop_pair(batch["pose"].shape[0], data.window, s1.min_overlap, generator)
            views = [dict(batch), dict(batch)]
            for key in TIME_KEYS:
                views[0][key], views[1][key] = crops.views(batch[key])
            views = [_noisy(v, s1.noise_sigma, generator, s1.scaling_sigma) for v in views]
            hidden, masked = {}, dict(views[0])
            for m in MODALITIES:
                masked[m], hidden[m] = augment.time_mask(views[0][m], s1.mask_ratio, s1.mask_span, generator)
            out1, out2 = model(masked), model(views[1])
            o1, o2 = crops.overlap1, crops.overlap2
            losses: Losses = {}
            for m in MODALITIES:
                shared = getattr(out1, f"{m}_mask")[:, o1] & getattr(out2, f"{m}_mask")[:, o2]
                z1, z2 = getattr(out1, f"{m}_repr")[:, o1], getattr(out2, f"{m}_repr")[:, o2]
                losses[f"ts2vec_{m}"] = hierarchical_contrastive_loss(z1, z2, shared, s1.temporal_unit)
                losses[f"reconstruction_{m}"] = masked_reconstruction_loss(
                    getattr(out1, f"{m}_reconstruction"), views[0][m], hidden[m], views[0][f"{m}_mask"]
                )
            both = (out1.pose_mask | out1.imu_mask)[:, o1] & (out2.pose_mask | out2.imu_mask)[:, o2]
            losses["ts2vec_fused"] = hierarchical_contrastive_loss(
                out1.embedding[:, o1], out2.embedding[:, o2], both, s1.temporal_unit
            )
            losses["imputation"] = _imputation_loss(out1)
            losses["loss"] = (
                losses["ts2vec_pose"] + losses["ts2vec_imu"] + losses["ts2vec_fused"]
                + s1.reconstruction_weight * (losses["reconstruction_pose"] + losses["reconstruction_imu"])
                + s1.imputation_weight * losses["imputation"]
            )  # fmt: skip
            return losses

        return step

    return plan


def _labelled_and_unlabelled(
    labelled: WindowSampler | None, windows: WindowSampler, batch_size: int, n_labelled: int, generator: torch.Generator
) -> tuple[Batch | None, Batch]:
    if labelled is None:
        return None, windows.draw(batch_size, generator)
    return labelled.draw(n_labelled, generator), windows.draw(batch_size - n_labelled, generator)


def align_plan(model: RatBehaviourNet, data: StageData, cfg: Config) -> EpochPlan:
    """Stage 2 (encoders frozen): CORAL pulls the sessions' embedding moments together, a session-mixing
    contrast of two noisy views keeps each session's structure, and multi-label SupCon pulls labelled
    frames with overlapping behaviours together across sessions."""
    s2, t = cfg.training.align, cfg.training
    windows = uniform_sampler(data.sessions, data.slots, data.window, data.stride)
    labelled = balanced_sampler(data.sessions, data.slots, data.window, data.stride)

    def plan(epoch: int, generator: torch.Generator) -> Callable[[], Losses]:
        def step() -> Losses:
            lab, unl = _labelled_and_unlabelled(labelled, windows, t.batch_size, t.labelled_batch_size, generator)
            batch = unl if lab is None else _concat(lab, unl)
            out_a = model(_noisy(batch, s2.noise_sigma, generator))
            out_b = model(_noisy(batch, s2.noise_sigma, generator))
            valid = present(batch) & (out_a.pose_mask | out_a.imu_mask) & (out_b.pose_mask | out_b.imu_mask)
            sessions = batch["session_index"]
            losses = {
                "alignment": session_alignment_loss(out_a.projection, sessions, valid),
                "structure": unsupervised_session_mixing_contrastive(
                    out_a.projection, out_b.projection, sessions, valid, s2.temperature
                ),
                "supcon": multilabel_supcon_loss(
                    out_a.projection, batch["labels"], batch["label_mask"] & valid, s2.temperature, generator=generator
                ),
            }
            losses["loss"] = (
                s2.alignment_weight * losses["alignment"]
                + s2.structure_weight * losses["structure"]
                + s2.supcon_weight * losses["supcon"]
            )
            return losses

        return step

    return plan


def prototype_pseudo_labels(
    model: RatBehaviourNet, data: StageData, threshold: float, batch_size: int
) -> tuple[list[SessionData], torch.Tensor]:
    """The sessions with unlabelled frames whose projection lies within `threshold` cosine similarity
    of a behaviour's prototype labelled as such, and the (C, P) prototypes of the labelled frames."""
    outputs = session_outputs(model, data, data.sessions, batch_size)
    projections = torch.from_numpy(np.concatenate([o.projection for o in outputs]))
    labels = torch.from_numpy(np.concatenate([s.labels for s in data.sessions]))
    mask = torch.from_numpy(
        np.concatenate([s.label_mask & o.valid for s, o in zip(data.sessions, outputs, strict=True)])
    )
    prototypes = class_prototypes(projections, labels, mask)
    extended = []
    for session, out in zip(data.sessions, outputs, strict=True):
        pseudo, confident = pseudo_labels_from_prototypes(torch.from_numpy(out.projection), prototypes, threshold)
        new = confident.numpy() & out.valid & ~session.label_mask
        merged = np.where(new[:, None], pseudo.numpy().astype(session.labels.dtype), session.labels)
        extended.append(with_labels(session, merged, session.label_mask | new))
    return extended, prototypes


def finetune_plan(model: RatBehaviourNet, data: StageData, cfg: Config) -> EpochPlan:
    """Stage 3 (everything free). Each epoch starts by labelling unlabelled frames close to a class
    prototype; then per batch: BCE on mixed-up labelled windows drawn by inverse class frequency,
    SupCon on heavily noised labelled windows, prototype FixMatch (weak view labels the strong view)
    and a session-mixing contrast on unlabelled windows."""
    s3, t = cfg.training.finetune, cfg.training
    windows = uniform_sampler(data.sessions, data.slots, data.window, data.stride)

    def plan(epoch: int, generator: torch.Generator) -> Callable[[], Losses]:
        extended, prototypes = prototype_pseudo_labels(model, data, s3.prototype_threshold, t.inference_batch)
        labelled = balanced_sampler(extended, data.slots, data.window, data.stride)
        if labelled is None:
            raise InputError("stage 3 needs labelled frames: none are left after held-out animals and calibration")
        n = t.labelled_batch_size

        def step() -> Losses:
            lab, unl = labelled.draw(n, generator), windows.draw(n, generator)
            features = torch.cat([lab["pose"], lab["imu"]], dim=-1)
            mixed = mixup(features, lab["labels"], s3.mixup_alpha, generator, lab["label_mask"] & present(lab))
            n_pose = lab["pose"].shape[-1]
            everywhere = torch.ones_like(lab["pose_mask"])
            out_mix = model(
                _with(
                    lab,
                    pose=mixed.x[..., :n_pose],
                    imu=mixed.x[..., n_pose:],
                    pose_mask=everywhere,
                    imu_mask=everywhere,
                )
            )
            out_noisy = model(_noisy(lab, s3.heavy_noise_sigma, generator))
            weak = model(_noisy(unl, s3.weak_noise_sigma, generator))
            strong_batch = _noisy(unl, s3.heavy_noise_sigma, generator, scaling=s3.strong_scaling_sigma)
            for m in MODALITIES:
                strong_batch[m] = augment.time_mask(
                    strong_batch[m], s3.strong_mask_ratio, s3.strong_mask_span, generator
                )[0]
            strong = model(strong_batch)
            valid_lab = lab["label_mask"] & (out_noisy.pose_mask | out_noisy.imu_mask)
            valid_unl = present(unl) & (weak.pose_mask | weak.imu_mask)
            losses = {
                "bce": masked_bce_with_logits(out_mix.logits, mixed.y, mixed.label_mask),
                "supcon": multilabel_supcon_loss(
                    out_noisy.projection, lab["labels"], valid_lab, s3.temperature, generator=generator
                ),
                "fixmatch": prototype_fixmatch_loss(
                    weak.projection,
                    strong.projection,
                    prototypes,
                    s3.fixmatch_threshold,
                    s3.fixmatch_temperature,
                    valid_unl,
                ),
                "mixing": unsupervised_session_mixing_contrastive(
                    weak.projection, strong.projection, unl["session_index"], valid_unl, s3.temperature
                ),
            }
            losses["loss"] = (
                s3.bce_weight * losses["bce"] + s3.supcon_weight * losses["supcon"]
                + s3.fixmatch_weight * losses["fixmatch"] + s3.mixing_weight * losses["mixing"]
            )  # fmt: skip
            return losses

        return step

    return plan
