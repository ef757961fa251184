"""Networks trained alike under different seeds, used as one model: each runs over the session and
their per-frame logits are averaged (`ratbehavior.model.sliding`). One member is the network itself."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ratbehavior.model.config import ModelConfig
from ratbehavior.model.network import ModelDims, RatBehaviourNet, build_model


class Ensemble(nn.Module):
    def __init__(self, members: Sequence[RatBehaviourNet]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members: use the network itself")
        self.members = nn.ModuleList(members)

    @property
    def dims(self) -> ModelDims:
        """The members share the data and so the sizes; adding a session slot adds it to each."""
        return self.members[0].dims


# What a model directory holds and predictions run: one network or an ensemble of them.
Model = RatBehaviourNet | Ensemble


def networks(model: Model) -> list[RatBehaviourNet]:
    return list(model.members) if isinstance(model, Ensemble) else [model]


def assemble(members: Sequence[RatBehaviourNet]) -> Model:
    return members[0] if len(members) == 1 else Ensemble(members)


def build_members(cfg: ModelConfig, dims: ModelDims, members: int) -> Model:
    """The model a model directory's config and dims describe, with fresh weights (load the state dict next)."""
    return assemble([build_model(cfg, dims) for _ in range(members)])
