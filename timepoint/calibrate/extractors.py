"""Rule-based outcome extractors: did a finished run answer a question *yes*?

Each extractor reads a :class:`~timepoint.world.record.RunRecord` and returns an
:class:`Extraction` with its evidence (the timepoint, fact, timeline or turn that decided
it). Model-judged outcomes are in :mod:`timepoint.calibrate.judge`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

from timepoint.calibrate.questions import (
    EventOutcome,
    KnowsOutcome,
    PathOutcome,
    Question,
    ThresholdOutcome,
)
from timepoint.errors import CalibrationError
from timepoint.world.record import RunRecord, timeline_order
from timepoint.world.timeline import Timepoint


class Evidence(BaseModel):
    """What decided an extraction: where in the run, and the text or value found there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timepoint_id: str | None = None
    fact_id: str | None = None
    timeline_id: str | None = None
    turn: int | None = None
    text: str = ""


class Extraction(BaseModel):
    """The outcome of one question in one run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    kind: str
    outcome: bool
    value: float | None = None
    evidence: Evidence = Evidence()


def _search(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.IGNORECASE) is not None


def moments(record: RunRecord, by: str | None, question_id: str) -> list[Timepoint]:
    """The main timeline's timepoints up to and including ``by`` (all when ``by`` is None).

    Raises:
        CalibrationError: ``by`` is not a timepoint of the run (names the known ones).
    """
    ordered = timeline_order(record)
    if by is None:
        return ordered
    ids = [t.id for t in ordered]
    if by not in ids:
        known = ", ".join(ids) or "none"
        raise CalibrationError(
            f"question {question_id!r}: outcome.by {by!r} is not a timepoint of run "
            f"{record.run_id} (known: {known}); name one of them or leave 'by' out"
        )
    return ordered[: ids.index(by) + 1]


def _event(record: RunRecord, rule: EventOutcome, question: Question) -> Extraction:
    for moment in moments(record, rule.by, question.id):
        for text in (moment.event, *moment.key_facts):
            if _search(rule.pattern, text):
                found = Evidence(timepoint_id=moment.id, text=text)
                return Extraction(run_id=record.run_id, kind="event", outcome=True, evidence=found)
    window = moments(record, rule.by, question.id)
    where = window[-1].id if window else None
    return Extraction(
        run_id=record.run_id,
        kind="event",
        outcome=False,
        evidence=Evidence(timepoint_id=where, text=f"no event matched {rule.pattern!r}"),
    )


def _entity_id(record: RunRecord, name: str, question_id: str) -> str:
    ids = {e.id for e in record.entities}
    if name in ids:
        return name
    matches = [e.id for e in record.entities if name.lower() in e.name.lower()]
    if len(matches) == 1:
        return matches[0]
    raise CalibrationError(
        f"question {question_id!r}: outcome.entity {name!r} is no single entity of run "
        f"{record.run_id}; give one of {', '.join(sorted(ids))}"
    )


def _knows(record: RunRecord, rule: KnowsOutcome, question: Question) -> Extraction:
    entity = _entity_id(record, rule.entity, question.id)
    window = moments(record, rule.by, question.id)
    allowed = {t.id for t in window}
    until = window[-1].timestamp if window else None
    for exposure in sorted(record.exposures, key=lambda e: (e.timestamp, e.fact_id)):
        if exposure.entity_id != entity:
            continue
        in_time = exposure.timepoint_id in allowed or (
            exposure.timepoint_id is None and (until is None or exposure.timestamp <= until)
        )
        matches = exposure.fact_id == rule.fact or _search(rule.fact, exposure.fact_text)
        if in_time and matches:
            found = Evidence(
                timepoint_id=exposure.timepoint_id,
                fact_id=exposure.fact_id,
                text=f"{entity} {exposure.kind} from {exposure.source}: {exposure.fact_text}",
            )
            return Extraction(run_id=record.run_id, kind="knows", outcome=True, evidence=found)
    return Extraction(
        run_id=record.run_id,
        kind="knows",
        outcome=False,
        evidence=Evidence(text=f"{entity} was never exposed to a fact matching {rule.fact!r}"),
    )


def _path(record: RunRecord, rule: PathOutcome, question: Question) -> Extraction:
    main = next((t for t in record.timelines if t.id == "main"), None)
    score = main.score if main is not None else None
    ordered = timeline_order(record)
    hit = next(
        (t for t in ordered if any(_search(rule.pattern, x) for x in (t.event, *t.key_facts))),
        None,
    )
    scored = rule.min_score is None or (score is not None and score >= rule.min_score)
    outcome = hit is not None and scored
    text = (
        hit.event if hit is not None else f"the winning path has no event matching {rule.pattern!r}"
    )
    if hit is not None and not scored:
        text = f"winning path scored {score}, below {rule.min_score}"
    return Extraction(
        run_id=record.run_id,
        kind="path",
        outcome=outcome,
        value=score,
        evidence=Evidence(
            timeline_id="main", timepoint_id=hit.id if hit is not None else None, text=text
        ),
    )


def _series(
    record: RunRecord, rule: ThresholdOutcome, question: Question
) -> Iterator[tuple[str | None, float]]:
    """``(timepoint id, value)`` of the rule's quantity, in time order."""
    kind, _, rest = rule.quantity.partition(".")
    window = moments(record, rule.by, question.id)
    ids = [t.id for t in window]
    if kind == "scene":
        scenes = {s.timepoint_id: s for s in record.scenes}
        for tp_id in ids:
            if tp_id in scenes:
                yield tp_id, _field(scenes[tp_id].atmosphere, rest, rule, question)
    elif kind == "relationship":
        a, b, field = _parts(rest, 3, rule, question)
        pair = tuple(sorted((a, b)))
        rows = {r.timepoint_id: r for r in record.relationships if (r.a, r.b) == pair}
        for tp_id in ids:
            if tp_id in rows:
                yield tp_id, _field(rows[tp_id], field, rule, question)
    elif kind == "entity":
        entity, group, field = _parts(rest, 3, rule, question)
        found = next((e for e in record.entities if e.id == entity), None)
        if found is None:
            raise CalibrationError(
                f"question {question.id!r}: outcome.quantity names entity {entity!r}, not in run "
                f"{record.run_id}; known: {', '.join(sorted(e.id for e in record.entities))}"
            )
        yield None, _field(getattr(found, group, None), field, rule, question)
    else:
        mechanism, count = _parts(rest, 2, rule, question)
        entry = next(
            (e for e in record.mechanisms if e.mechanism.lower() == mechanism.lower()), None
        )
        yield None, float(entry.counts.get(count, 0.0)) if entry is not None else 0.0


def _parts(rest: str, n: int, rule: ThresholdOutcome, question: Question) -> list[str]:
    parts = rest.split(".")
    if len(parts) != n:
        raise CalibrationError(
            f"question {question.id!r}: outcome.quantity {rule.quantity!r} has {len(parts)} parts "
            f"after its kind, expected {n}; see the forms in the README"
        )
    return parts


def _field(obj: object, name: str, rule: ThresholdOutcome, question: Question) -> float:
    value = getattr(obj, name, None) if obj is not None else None
    if not isinstance(value, int | float):
        raise CalibrationError(
            f"question {question.id!r}: outcome.quantity {rule.quantity!r}: {name!r} is not a "
            "number of the run record; see the forms in the README"
        )
    return float(value)


def _threshold(record: RunRecord, rule: ThresholdOutcome, question: Question) -> Extraction:
    last: tuple[str | None, float] | None = None
    for tp_id, value in _series(record, rule, question):
        last = (tp_id, value)
        crossed = value > rule.above if rule.above is not None else value < rule.below  # type: ignore[operator]
        if crossed:
            side = f"above {rule.above}" if rule.above is not None else f"below {rule.below}"
            found = Evidence(timepoint_id=tp_id, text=f"{rule.quantity} = {value:g}, {side}")
            return Extraction(
                run_id=record.run_id, kind="threshold", outcome=True, value=value, evidence=found
            )
    text = f"{rule.quantity} never crossed" if last is None else f"{rule.quantity} = {last[1]:g}"
    return Extraction(
        run_id=record.run_id,
        kind="threshold",
        outcome=False,
        value=last[1] if last else None,
        evidence=Evidence(timepoint_id=last[0] if last else None, text=text),
    )


def extract_rule(record: RunRecord, question: Question) -> Extraction:
    """The outcome of ``question`` in ``record`` by its rule-based extractor.

    Raises:
        CalibrationError: the extractor is model-judged (use
            :func:`timepoint.calibrate.judge.extract`), or names something the run lacks.
    """
    rule = question.outcome
    if isinstance(rule, EventOutcome):
        return _event(record, rule, question)
    if isinstance(rule, KnowsOutcome):
        return _knows(record, rule, question)
    if isinstance(rule, PathOutcome):
        return _path(record, rule, question)
    if isinstance(rule, ThresholdOutcome):
        return _threshold(record, rule, question)
    raise CalibrationError(
        f"question {question.id!r}: outcome kind {rule.kind!r} needs a model; "
        "extract it with timepoint.calibrate.judge.extract"
    )
