"""Paths of a run: scored timelines, their pivot points, and chronology checks.

BRANCHING and PORTAL runs keep several paths, each a timeline of the record with a score; the
best is the main timeline (id ``main``). ``RunRecord.paths`` holds one :class:`PathInfo` per
kept path (rank 1 is ``main``). :func:`paths_of` turns a record into :class:`RunPath` objects
(what ``Run.paths()`` returns); timelines of other modes come back unscored.

Pivot points are the steps where the kept paths diverge most (their events there are least
alike) or where a path's step scores jump.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from timepoint.time.wording import overlap
from timepoint.world import Timeline, Timepoint
from timepoint.world.record import PathInfo, RunRecord

#: A change in step score at least this large marks a pivot.
SCORE_JUMP = 0.15
#: Steps whose divergence is within this margin of the largest are pivots too.
DIVERGENCE_MARGIN = 0.05


@dataclass(frozen=True)
class RunPath:
    """One path of a run: its timeline, rank, score, pivots and timepoints in causal order."""

    timeline_id: str
    rank: int
    score: float | None
    pivots: tuple[str, ...]
    timepoints: tuple[Timepoint, ...]
    components: Mapping[str, float] = field(default_factory=dict)
    warning: str | None = None
    label: str = ""

    @property
    def events(self) -> list[str]:
        return [t.event for t in self.timepoints]

    @property
    def timepoint_ids(self) -> list[str]:
        return [t.id for t in self.timepoints]

    def __repr__(self) -> str:
        score = "unscored" if self.score is None else f"score={self.score:.3f}"
        return (
            f"<RunPath {self.timeline_id} rank={self.rank} {score} "
            f"timepoints={len(self.timepoints)} pivots={list(self.pivots)}>"
        )


def paths_of(record: RunRecord) -> list[RunPath]:
    """The record's paths, best first: scored paths from ``record.paths``, else its timelines."""
    timepoints = {t.id: t for t in record.timepoints}
    timelines = {t.id: t for t in record.timelines}
    if record.paths:
        return [
            RunPath(
                timeline_id=info.timeline_id,
                rank=info.rank,
                score=info.score,
                pivots=tuple(info.pivots),
                timepoints=_chain(timelines.get(info.timeline_id), timepoints),
                components=dict(info.components),
                warning=info.warning,
                label=timelines[info.timeline_id].label if info.timeline_id in timelines else "",
            )
            for info in sorted(record.paths, key=lambda p: p.rank)
        ]
    ordered = sorted(timelines.values(), key=lambda t: (t.id != "main", t.id))
    return [
        RunPath(
            timeline_id=t.id,
            rank=n,
            score=t.score,
            pivots=(),
            timepoints=_chain(t, timepoints),
            label=t.label,
        )
        for n, t in enumerate(ordered, start=1)
    ]


def _chain(timeline: Timeline | None, timepoints: Mapping[str, Timepoint]) -> tuple[Timepoint, ...]:
    if timeline is None:
        return ()
    return tuple(timepoints[i] for i in timeline.timepoint_ids if i in timepoints)


def divergence(events_by_path: Sequence[Sequence[str]]) -> list[float]:
    """Per step, how unlike the paths' events are (1 − mean pairwise word overlap).

    Paths of different lengths are compared on the steps they all have.
    """
    if len(events_by_path) < 2:
        return [0.0] * (len(events_by_path[0]) if events_by_path else 0)
    steps = min(len(p) for p in events_by_path)
    result = []
    for step in range(steps):
        texts = [p[step] for p in events_by_path]
        pairs = list(combinations(texts, 2))
        same = sum(1.0 if a == b else overlap(a, b) for a, b in pairs) / len(pairs)
        result.append(round(1.0 - same, 4))
    return result


def find_pivots(
    events_by_path: Sequence[Sequence[str]], step_scores: Sequence[Sequence[float]]
) -> list[list[int]]:
    """Pivot steps of each path: the most divergent shared steps, and its own score jumps.

    Args:
        events_by_path: per path, the event text of each step (chronological).
        step_scores: per path, the score of each step (same shape).

    Returns:
        Per path, the sorted step indexes that are pivots.
    """
    spread = divergence(events_by_path)
    top = max(spread, default=0.0)
    shared = {i for i, d in enumerate(spread) if top > 0 and d >= top - DIVERGENCE_MARGIN}
    pivots = []
    for scores in step_scores:
        jumps = {i for i in range(1, len(scores)) if abs(scores[i] - scores[i - 1]) >= SCORE_JUMP}
        pivots.append(sorted(shared | jumps))
    return pivots


@dataclass(frozen=True)
class ScoredPath:
    """A kept path as a mode hands it over: chronological ids, events and step scores."""

    timeline_id: str
    score: float
    timepoint_ids: Sequence[str]
    events: Sequence[str]
    step_scores: Sequence[float]
    components: Mapping[str, float] = field(default_factory=dict)
    warning: str | None = None


def path_infos(ranked: Sequence[ScoredPath]) -> list[PathInfo]:
    """``PathInfo`` records (with pivots) for paths already ranked best first."""
    pivots = find_pivots([p.events for p in ranked], [p.step_scores for p in ranked])
    return [
        PathInfo(
            timeline_id=path.timeline_id,
            score=round(path.score, 4),
            rank=n + 1,
            pivots=[path.timepoint_ids[i] for i in pivots[n] if i < len(path.timepoint_ids)],
            components={k: round(v, 4) for k, v in path.components.items()},
            warning=path.warning,
        )
        for n, path in enumerate(ranked)
    ]


def chronology_problems(
    timelines: Sequence[Timeline], timepoints: Mapping[str, Timepoint]
) -> list[str]:
    """Every way a stored timeline breaks chronological order.

    A timeline must list existing timepoints with non-decreasing timestamps, and a timepoint's
    causal parent, when on the same timeline, must come before it there.
    """
    problems = []
    for timeline in timelines:
        position: dict[str, int] = {}
        previous: Timepoint | None = None
        for n, tp_id in enumerate(timeline.timepoint_ids):
            tp = timepoints.get(tp_id)
            if tp is None:
                problems.append(f"{timeline.id}: lists unknown timepoint {tp_id!r}")
                continue
            position[tp_id] = n
            if previous is not None and tp.timestamp < previous.timestamp:
                problems.append(
                    f"{timeline.id}: {tp_id} ({tp.timestamp.isoformat()}) comes after "
                    f"{previous.id} ({previous.timestamp.isoformat()})"
                )
            parent = tp.causal_parent
            if parent in timeline.timepoint_ids and position.get(parent) is None:
                problems.append(f"{timeline.id}: {tp_id} comes before its causal parent {parent}")
            previous = tp
    return problems
