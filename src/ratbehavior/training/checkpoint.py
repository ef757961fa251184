"""Per-stage checkpoints and the seeding that makes a resumed training end exactly where an
uninterrupted one does.

Every epoch starts from RNG states derived from (seed, stage, epoch) alone, so a checkpoint needs
only the weights, the optimiser and the epoch count: nothing about the random streams.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch


def derived_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed from the base seed and any labels, stable across processes and Python versions
    (unlike `hash()`, which is salted per process)."""
    text = ":".join(str(k) for k in (seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def seed_everything(seed: int, *keys: object) -> torch.Generator:
    """Seed torch's, numpy's and Python's global RNGs (dropout and friends draw from torch's) and
    return a generator for the explicit draws of this unit of work."""
    value = derived_seed(seed, *keys)
    torch.manual_seed(value)
    np.random.seed(value % 2**32)
    random.seed(value)
    return torch.Generator().manual_seed(value)


def weights_digest(weights: dict[str, torch.Tensor]) -> str:
    """A hash of a state dict's names and values, equal only for bit-identical weights."""
    md5 = hashlib.md5()
    for name in sorted(weights):
        md5.update(name.encode())
        md5.update(weights[name].detach().cpu().contiguous().numpy().tobytes())
    return md5.hexdigest()[:12]


class Checkpoints:
    """One file per stage under `folder`; `None` keeps everything in memory only (quick runs, tests)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def _path(self, stage: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{stage}.pt"

    def load(self, stage: str) -> dict[str, Any] | None:
        path = self._path(stage)
        if path is None or not path.is_file():
            return None
        return torch.load(path, map_location="cpu", weights_only=False)

    def digests(self) -> dict[str, str]:
        """The weights each saved stage holds now, as a short hash per stage. Two machines that train
        the same configuration alike agree on every one; the first stage where they disagree is the
        one that computes differently."""
        if self.folder is None:
            return {}
        return {path.stem: weights_digest(self.load(path.stem)["model"]) for path in sorted(self.folder.glob("*.pt"))}

    def save(self, stage: str, state: dict[str, Any]) -> None:
        path = self._path(stage)
        if path is None:
            return
        # Written aside then renamed: a kill during the write leaves the previous checkpoint intact.
        partial = path.with_suffix(".partial")
        torch.save(state, partial)
        os.replace(partial, path)
