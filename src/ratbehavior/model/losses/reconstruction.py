"""Stage-1 masked reconstruction: predict the features of frames hidden from the encoder."""

from __future__ import annotations

import torch

from ratbehavior.model.losses._masking import masked_mean


def masked_reconstruction_loss(
    pred: torch.Tensor, target: torch.Tensor, mask_recon: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """MSE over the features of frames that were hidden (`mask_recon`, (B, T)) and exist (`valid`, (B, T)).

    pred, target: (B, T, F). A NaN in `target` (a keypoint or IMU channel missing in an otherwise valid
    frame) is left out element by element, so a frame with one missing keypoint still teaches the rest.
    Frames that were not hidden are left out because copying visible input is no pretext task.
    """
    selected = (mask_recon & valid).unsqueeze(-1) & target.isfinite()
    # Selecting before squaring keeps NaN targets and predictions outside `selected` out of the
    # gradient too: the backward of square() would multiply a zero gradient by them.
    error = torch.where(selected, pred - target.nan_to_num(), 0.0)
    return masked_mean(error.square(), selected)
