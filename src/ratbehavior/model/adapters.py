"""Session-aware adapters: what lets one encoder serve recordings that differ in camera placement,
IMU mounting, lighting and animal size.

Two kinds work together on the stem output of each modality:

- a per-session adapter, one learned row per session slot (FiLM or low-rank), trained in stages 1
  and 3 and, for a session first met at predict time, alone on that session's row;
- a shared alignment adapter, the same for every session, trained alone in stage 2.

Both start as the identity, so adding one never changes what a model computed before it learned.
Slot `UNKNOWN_SESSION` holds sessions the model has never seen; slots 1..n are the training
sessions in the order of `ratbehavior.training.windows.session_indices`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

UNKNOWN_SESSION = 0


class SessionAdapter(nn.Module):
    """Base of the per-session adapters: all their parameters are one (slots, width) table, so adding
    sessions and adapting one session's row work the same for every kind."""

    table: nn.Parameter

    @property
    def n_slots(self) -> int:
        return self.table.shape[0]

    @torch.no_grad()
    def add_sessions(self, n: int) -> None:
        """Append `n` rows, each the mean of the known sessions' rows: the best guess for a new
        session before adaptation, and one that leaves existing rows (and their outputs) untouched."""
        known = self.table[UNKNOWN_SESSION + 1 :] if self.n_slots > 1 else self.table
        new = known.mean(0, keepdim=True).expand(n, -1)
        self.table = nn.Parameter(torch.cat([self.table, new]), requires_grad=self.table.requires_grad)


class SessionFiLM(SessionAdapter):
    """h * (1 + scale[s]) + shift[s] per channel: after the stem's LayerNorm this is a session-conditional
    layer norm, enough to absorb per-session offsets and gains of the features."""

    def __init__(self, n_slots: int, d: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(n_slots, 2 * d))

    def forward(self, h: torch.Tensor, session: torch.Tensor) -> torch.Tensor:
        scale, shift = self.table[session].unsqueeze(1).chunk(2, dim=-1)
        return h * (1 + scale) + shift


class SessionLowRank(SessionAdapter):
    """h + h @ down[s] @ up[s] with rank-r factors: can also mix channels, e.g. a rotated IMU mount.

    As in LoRA, `up` starts at zero and `down` random, so the map starts as the identity and still
    receives gradient.
    """

    def __init__(self, n_slots: int, d: int, rank: int) -> None:
        super().__init__()
        self.d, self.rank = d, rank
        down = torch.randn(n_slots, d * rank) / d**0.5
        self.table = nn.Parameter(torch.cat([down, torch.zeros(n_slots, rank * d)], dim=1))

    def forward(self, h: torch.Tensor, session: torch.Tensor) -> torch.Tensor:
        down, up = self.table[session].split(self.d * self.rank, dim=-1)
        batch = session.shape[0]
        return h + h.bmm(down.view(batch, self.d, self.rank)).bmm(up.view(batch, self.rank, self.d))


def session_adapter(kind: str, n_slots: int, d: int, rank: int) -> SessionAdapter:
    if kind == "film":
        return SessionFiLM(n_slots, d)
    if kind == "lowrank":
        return SessionLowRank(n_slots, d, rank)
    raise ValueError(f"unknown adapter kind {kind!r}: expected 'film' or 'lowrank'")


class SharedAdapter(nn.Module):
    """A residual bottleneck MLP applied to every session alike. Trained alone in stage 2 (encoders
    frozen) to pull sessions into one space, it is also what an unseen session gets without any
    adaptation of its own."""

    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.down = nn.Linear(d, hidden)
        self.up = nn.Linear(hidden, d)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.up(F.gelu(self.down(self.norm(h))))
