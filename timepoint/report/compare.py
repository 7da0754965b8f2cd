"""Aligning two paths step by step: two timelines of one run, or the main timelines of two runs.

Steps and differences are those of ``timepoint compare``
(:mod:`timepoint.time.comparison`): a step is a 0-based position on a path read from its root
(:func:`~timepoint.time.comparison.path_order`), and a step differs in the aspects
:func:`~timepoint.time.comparison.moment_aspects` names (event, present, dialog, missing); the
first step that differs is the divergence.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.errors import ReportError
from timepoint.report.records import as_record, timeline_label
from timepoint.time.comparison import dialog_texts, moment_aspects, path_order
from timepoint.world import Timepoint
from timepoint.world.record import RunRecord


class PathStep(BaseModel):
    """One aligned step; a side is None when that path is shorter; ``aspects`` say what
    differs (empty when ``same``)."""

    model_config = ConfigDict(frozen=True)

    step: int
    left: Timepoint | None
    right: Timepoint | None
    same: bool
    aspects: list[str] = Field(default_factory=list)


class PathComparison(BaseModel):
    """Two aligned paths and where they diverge (``first_divergence`` is a step or None)."""

    model_config = ConfigDict(frozen=True)

    left_label: str
    right_label: str
    steps: list[PathStep] = Field(default_factory=list)
    first_divergence: int | None = None

    @property
    def shared(self) -> int:
        """How many steps the paths share before they diverge."""
        return len(self.steps) if self.first_divergence is None else self.first_divergence


def path_timepoints(record: RunRecord, timeline_id: str) -> list[Timepoint]:
    """The full path of ``timeline_id`` from the root, ancestors of its first timepoint first.

    Raises:
        ReportError: the run has no such timeline.
    """
    if not any(t.id == timeline_id for t in record.timelines):
        known = ", ".join(t.id for t in record.timelines) or "none"
        raise ReportError(
            f"run {record.run_id} has no timeline {timeline_id!r}; known timelines: {known}"
        )
    return path_order(record, timeline_id)


def _other_timeline(record: RunRecord, left: str) -> str:
    ranked = [p.timeline_id for p in sorted(record.paths, key=lambda p: p.rank)]
    others = [t for t in ranked if t != left] or [
        t.id for t in sorted(record.timelines, key=lambda t: -len(t.timepoint_ids)) if t.id != left
    ]
    if not others:
        raise ReportError(
            f"run {record.run_id} has a single timeline ({left!r}); nothing to compare within "
            "it. Compare it with another run: compare_paths(run, other_run)"
        )
    return others[0]


def compare_paths(
    a: Any, b: Any = None, *, left: str | None = None, right: str | None = None
) -> PathComparison:
    """Align two paths step by step.

    Args:
        a: a run (``Run`` or ``RunRecord``).
        b: a second run; when given, its timeline ``right`` (default ``main``) is compared
            with ``a``'s timeline ``left`` (default ``main``).
        left: timeline of ``a`` (default ``main``).
        right: timeline to compare with; for one run, default: the best-ranked other path.

    Raises:
        ReportError: a timeline does not exist, or one run has nothing to compare with.
    """
    first = as_record(a)
    second = as_record(b) if b is not None else first
    left = left or ("main" if first.main_timeline else first.timelines[0].id)
    right = right or ("main" if b is not None else _other_timeline(first, left))
    ours = path_timepoints(first, left)
    theirs = path_timepoints(second, right)
    across = second is not first
    dialogs_left, dialogs_right = dialog_texts(first), dialog_texts(second)
    steps = []
    for i in range(max(len(ours), len(theirs))):
        l_tp = ours[i] if i < len(ours) else None
        r_tp = theirs[i] if i < len(theirs) else None
        aspects = moment_aspects(l_tp, r_tp, dialogs_left, dialogs_right)
        steps.append(PathStep(step=i, left=l_tp, right=r_tp, same=not aspects, aspects=aspects))
    divergence = next((s.step for s in steps if not s.same), None)
    if across:
        left_label = f"{first.run_id} · {timeline_label(first, left)}"
        right_label = f"{second.run_id} · {timeline_label(second, right)}"
    else:
        left_label, right_label = timeline_label(first, left), timeline_label(first, right)
    return PathComparison(
        left_label=left_label,
        right_label=right_label,
        steps=steps,
        first_divergence=divergence,
    )
