"""NONLINEAR: a story told out of causal order (flashbacks, flash-forwards).

The timepoints are simulated in causal order, so knowledge flows forward; each then gets a
presentation position (``Timepoint.presentation_position``) from
``temporal.nonlinear.presentation`` (causal indexes in telling order) or, by default, *in medias
res*: the most important moment first, then the story from its start. Validation checks, whatever
the order of telling, that no timepoint uses knowledge from a causally later one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from timepoint.time.expansion import expand_after, expand_before
from timepoint.time.modes.common import planned_event, scored_check, step_time
from timepoint.time.wording import content_words
from timepoint.world import Dialog, ExposureEvent, Timepoint
from timepoint.world.causal import causal_path, integrity_problems

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator

#: Share of a later key fact's new words an earlier event must contain to count as a leak.
LEAK_SHARE = 0.6


class NonlinearMode:
    name = "nonlinear"

    def simulate(self, sim: Simulator) -> None:
        count = sim.timepoint_count
        sim.plan_schedule(count)
        ids: list[str] = []
        parent: str | None = None
        for index in range(count):
            parent = expand_before(sim, index, step_time(sim, index), parent)
            tp = sim.generate_timepoint(
                index=index,
                timestamp=step_time(sim, index),
                parent=parent,
                planned=planned_event(sim, index),
            )
            sim.process_timepoint(tp)
            ids.append(tp.id)
            parent = expand_after(sim, tp, index)
        state = sim.state
        importance = [state.timepoints[i].importance for i in ids]
        order, notes = presentation_order(sim.scenario.temporal.nonlinear.presentation, importance)
        for position, index in enumerate(order):
            tp = state.timepoints[ids[index]]
            state.timepoints[tp.id] = tp.model_copy(update={"presentation_position": position})
        moves = transitions(order)
        sim.extras["presentation"] = [
            {"position": p, "timepoint": ids[i], "causal_index": i, "transition": moves[p]}
            for p, i in enumerate(order)
        ]
        ledger = state.ledger
        moved = sum(position != index for position, index in enumerate(order))
        ledger.count("M17", "presented out of causal order", moved)
        ledger.count("M17", "flashbacks", moves.count("flashback"))
        ledger.count("M17", "flash-forwards", moves.count("flash-forward"))
        for note in notes:
            ledger.note("M17", note)
        checks, problems = later_knowledge_uses(
            state.timepoints, state.exposures.events, state.dialogs
        )
        ledger.count("M17", "knowledge-order checks", checks)
        ledger.count("M17", "uses of later knowledge", len(problems))
        scored_check(
            sim,
            "nonlinear_knowledge_order",
            1.0 - len(problems) / max(1, checks),
            1.0,
            f"{checks} uses of knowledge checked against causal order; {len(problems)} came "
            "from a causally later timepoint",
        )
        for problem in problems:
            scored_check(sim, "nonlinear_knowledge_order", 0.0, 1.0, problem, problem.split(":")[0])
        sim.record_integrity(integrity_problems(state.timepoints, forward=True))


def presentation_order(
    requested: Sequence[int], importance: Sequence[float]
) -> tuple[list[int], list[str]]:
    """The telling order (causal indexes) and notes on what had to be adjusted.

    Indexes outside the run (e.g. after a step-count override) are dropped and missing ones are
    appended in causal order. An order that ends up causal is replaced by the default, which
    opens on the most important moment (the last one on a tie) and then tells the story from
    its start.
    """
    count = len(importance)
    notes: list[str] = []
    order = [i for i in dict.fromkeys(requested) if 0 <= i < count]
    dropped = [i for i in requested if not 0 <= i < count]
    if dropped:
        notes.append(f"presentation indexes {dropped} are outside the {count} timepoints")
    missing = [i for i in range(count) if i not in order]
    if requested and missing:
        notes.append(f"timepoints {missing} were not placed; told in causal order at the end")
    order += missing
    if count > 1 and order == list(range(count)):
        peak = max(range(count), key=lambda i: (importance[i], i))
        peak = peak or count - 1
        order = [peak, *(i for i in range(count) if i != peak)]
        notes.append(f"presentation opens in medias res at causal step {peak}")
    return order, notes


def transitions(order: Sequence[int]) -> list[str]:
    """How each presented timepoint relates to the one told before it."""
    moves = []
    for position, index in enumerate(order):
        before = order[position - 1] if position else -1
        if index < before:
            moves.append("flashback")
        elif index > before + 1:
            moves.append("flash-forward")
        else:
            moves.append("continuation")
    return moves


def later_knowledge_uses(
    timepoints: Mapping[str, Timepoint],
    exposures: Sequence[ExposureEvent],
    dialogs: Sequence[Dialog],
) -> tuple[int, list[str]]:
    """Count uses of knowledge and list those that come from a causally later timepoint.

    A fact is *introduced* by the timepoints whose events or key facts carry it (exposure source
    ``timepoint:<id>``). A use at timepoint T — a ``told`` exposure at T, a dialog reference at
    T, or an event at T restating most of the words a later key fact adds to what was known on
    T's causal path — is a problem
    when none of the fact's introducing timepoints is on T's causal path.
    """
    introduced: dict[str, set[str]] = {}
    for event in exposures:
        if event.source.startswith("timepoint:"):
            introduced.setdefault(event.fact_id, set()).add(event.source.split(":", 1)[1])
    paths = {tp_id: causal_path(timepoints, tp_id) for tp_id in timepoints}
    checks, problems = 0, []

    def check(fact_id: str, at: str, what: str) -> None:
        nonlocal checks
        sources = introduced.get(fact_id)
        if not sources or at not in paths:
            return
        checks += 1
        if not sources & paths[at]:
            later = ", ".join(sorted(sources))
            problems.append(f"{at}: {what} uses {fact_id}, first known at {later}")

    for event in exposures:
        if event.timepoint_id and not event.source.startswith("timepoint:"):
            check(event.fact_id, event.timepoint_id, f"{event.entity_id} ({event.kind.value})")
    for dialog in dialogs:
        for turn in dialog.turns:
            for ref in turn.knowledge_refs:
                check(ref, dialog.timepoint_id, f"{turn.speaker} in dialog")
    background: set[str] = set()
    texts_at: dict[str, list[str]] = {}
    for event in exposures:
        if event.timepoint_id is None:
            background |= content_words(event.fact_text)
        else:
            texts_at.setdefault(event.timepoint_id, []).append(event.fact_text)
    for tp in timepoints.values():
        past = set(background)
        for earlier in paths[tp.id] - {tp.id}:
            past |= content_words(" ".join(texts_at.get(earlier, [])))
        said = content_words(tp.event)
        for later in timepoints.values():
            if later.id == tp.id or tp.id not in paths[later.id]:
                continue
            for fact in later.key_facts:
                new = content_words(fact) - past
                if len(new) < 3:
                    continue
                checks += 1
                share = len(new & said) / len(new)
                if share >= LEAK_SHARE:
                    problems.append(
                        f"{tp.id}: its event restates {share:.0%} of what {later.id} "
                        f"later establishes ({fact[:60]!r})"
                    )
    return checks, problems
