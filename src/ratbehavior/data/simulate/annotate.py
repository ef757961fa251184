"""Which frames a human labelled, and how: contiguous stretches with each boundary a little off.

Annotators label stretches of tens of seconds, preferring those where something rare happens,
and place each bout boundary a few frames off (less on short bouts, whose edges are salient).
A BORIS session is one stretch annotated completely, exported as events; a labels.csv session
may hold several stretches, frame by frame on the 50 Hz grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np

from ratbehavior.config import SimulationConfig
from ratbehavior.data.simulate.behaviour import BEHAVIOURS, Timeline

RARE: tuple[str, ...] = ("jump", "aiming", "scratch")
_RARE_INTEREST = 4.0  # a rare behaviour counts this many times towards a stretch's appeal
_SEEN_INTEREST = 0.3  # and one already annotated in the session this much
_SHORTEST_SEGMENT_S = 5.0
_JITTER_PER_BOUT_LENGTH = 0.05  # an annotator misplaces an edge by at most about this share of the bout
_CANDIDATE_STEP_S = 0.5


@dataclass(frozen=True)
class Annotation:
    frames: np.ndarray  # (m,) labelled 50 Hz frames, sorted
    labels: np.ndarray  # (m, C) int8, as a reader of the written file sees them
    events: list[tuple[str, float, float]] | None  # BORIS STATE events (behaviour, start s, stop s), else None
    segments: list[tuple[float, float]]  # annotated stretches, video clock


def _jitter(length: float, sigma: float, rng: np.random.Generator) -> float:
    s = min(sigma, _JITTER_PER_BOUT_LENGTH * length)
    return float(np.clip(rng.normal(0.0, 1.0), -3.0, 3.0)) * s


def annotated_timeline(timeline: Timeline, sigma: float, rng: np.random.Generator) -> Timeline:
    """The timeline as the annotator marked it: one shared shift per boundary between primary bouts
    (the end of one behaviour is the start of the next), independent shifts for overlay edges."""
    bouts = timeline.primary
    edges = [bouts[0].start]
    for before, after in pairwise(bouts):
        shortest = min(before.stop - before.start, after.stop - after.start)
        edges.append(after.start + _jitter(shortest, sigma, rng))
    edges.append(bouts[-1].stop)
    primary = [replace(b, start=edges[i], stop=edges[i + 1]) for i, b in enumerate(bouts)]
    overlays = []
    for b in timeline.overlays:
        length = b.stop - b.start
        start, stop = b.start + _jitter(length, sigma, rng), b.stop + _jitter(length, sigma, rng)
        overlays.append(replace(b, start=start, stop=max(stop, start + 0.02)))
    return Timeline(primary, overlays)


def _segment_lengths(total: float, sim: SimulationConfig, one: bool, rng: np.random.Generator) -> list[float]:
    if one:
        return [total]
    lengths: list[float] = []
    while sum(lengths) < total - 1e-9:
        lengths.append(min(float(rng.uniform(*sim.annotation_segment_s)), total - sum(lengths)))
    if len(lengths) > 1 and lengths[-1] < _SHORTEST_SEGMENT_S:
        last = lengths.pop()
        lengths[-1] += last
    return sorted(lengths, reverse=True)


def _place(
    lengths: list[float], span: tuple[float, float], timeline: Timeline, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Non-overlapping stretches inside `span`. An annotator looks for variety: stretches showing
    rare behaviours, and behaviours the session's earlier stretches did not show, are preferred."""
    step = _CANDIDATE_STEP_S
    grid = np.arange(span[0], span[1], step)
    cumulative = np.concatenate([np.zeros((1, len(BEHAVIOURS))), np.cumsum(timeline.active(BEHAVIOURS, grid), axis=0)])
    interest = np.array([_RARE_INTEREST if b in RARE else 1.0 for b in BEHAVIOURS])
    chosen: list[tuple[float, float]] = []
    for length in lengths:
        width = round(length / step)
        starts = grid[: max(0, grid.size - width)]
        if starts.size == 0:
            starts, length, width = grid[:1], span[1] - span[0], grid.size
        shown = (cumulative[np.arange(starts.size) + width] - cumulative[: starts.size]) > 0
        free = np.array([all(s + length + 1.0 <= a or s >= b + 1.0 for a, b in chosen) for s in starts], dtype=bool)
        if not free.any():
            continue
        weight = (1.0 + (shown * interest).sum(axis=1)) ** 2 * free
        pick = int(rng.choice(starts.size, p=weight / weight.sum()))
        interest = np.where(shown[pick], interest * _SEEN_INTEREST, interest)
        start = float(starts[pick])
        chosen.append((start, start + length))
    return sorted(chosen)


def _events(
    marked: Timeline, segment: tuple[float, float], behaviours: Sequence[str], fps: float
) -> list[tuple[str, float, float]]:
    """BORIS events inside one stretch; an annotator clicks on video frames, BORIS keeps milliseconds."""

    def snap(t: float) -> float:
        return round(round(t * fps) / fps, 3)

    events = []
    for name in behaviours:
        for start, stop in zip(*marked.intervals(name), strict=True):
            a, b = snap(max(start, segment[0])), snap(min(stop, segment[1]))
            if b > a:
                events.append((name, a, b))
    return sorted(events, key=lambda e: (e[1], e[2], behaviours.index(e[0])))


def _rasterise(
    events: list[tuple[str, float, float]], behaviours: Sequence[str], grid_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """What a reader of the BORIS file sees: each STATE marks the grid frames in [start, stop)."""
    first = int(np.ceil(min(e[1] for e in events) * grid_hz - 1e-9))
    last = int(np.ceil(max(e[2] for e in events) * grid_hz - 1e-9))
    frames = np.arange(first, last)
    times = frames / grid_hz
    labels = np.zeros((frames.size, len(behaviours)), dtype=np.int8)
    for name, start, stop in events:
        labels[:, behaviours.index(name)] |= ((times >= start - 1e-9) & (times < stop - 1e-9)).astype(np.int8)
    return frames, labels


def annotate(
    timeline: Timeline,
    span: tuple[float, float],
    boris: bool,
    video_fps: float,
    sim: SimulationConfig,
    behaviours: Sequence[str],
    grid_hz: float,
    rng: np.random.Generator,
) -> Annotation:
    """Labels for some of the frames in `span` (video clock, both modalities present)."""
    behaviours = list(behaviours)
    fraction = float(rng.uniform(*sorted(sim.labelled_fraction)))
    usable = (span[0] + 0.5, span[1] - 0.5)
    total = min(fraction * (span[1] - span[0]), usable[1] - usable[0])
    segments = _place(_segment_lengths(total, sim, boris, rng), usable, timeline, rng)
    marked = annotated_timeline(timeline, sim.boundary_jitter_s, rng)
    if boris:
        events = [e for segment in segments for e in _events(marked, segment, behaviours, video_fps)]
        frames, labels = _rasterise(events, behaviours, grid_hz)
        return Annotation(frames, labels, events, segments)
    frames = np.concatenate(
        [np.arange(int(np.ceil(a * grid_hz - 1e-9)), int(np.ceil(b * grid_hz - 1e-9))) for a, b in segments]
    )
    labels = marked.active(behaviours, frames / grid_hz).astype(np.int8)
    return Annotation(frames, labels, None, segments)
