"""Multi-entity synthesis (M13): relationships per pair per timepoint, trends, contradictions.

Every timepoint, each pair of present entities at ``graph`` resolution or above (``m13.
min_resolution``) gets a :class:`~timepoint.world.Relationship` record. It starts from the pair's
latest record on the causal path, or, for a first meeting, from the declared relation
(:data:`INITIAL_BY_RELATION`; power from the roles, a mentor holding more), and then evolves:

- each dialog turn one of them speaks to the other: trust −``tone_trust``·(tone tension effect),
  affinity + ``tone_affinity``·(tone valence effect); a turn flagged by information conservation
  (a fact its speaker could not know) costs ``flagged_trust_penalty`` trust; each such turn is one
  interaction; every fact one actually told the other (a new ``told`` exposure) adds
  ``trust_per_fact`` trust;
- power balance drifts by ``power_drift`` toward whoever spoke more;
- the shared experience of the event adds ``shared_experience``·importance affinity;
- shared facts are the non-event facts both hold; newly shared facts raise belief alignment
  (``alignment_per_shared_fact`` each, at most ``max_alignment_gain``), a newly detected
  contradiction between them lowers it by ``contradiction_penalty``.

Contradictions: two facts are opposite sides of one proposition when they say the same thing
with opposite polarity (equal once negations — not, never, no, n't … — and articles are removed,
with an odd number of negations on one side), or when the scenario lists them as a pair in
``m13.contradicts``. An entity believes the side it was exposed to first (hearing the other side
later does not convert it). Two entities believing opposite sides are recorded once per pair and
pair of facts as a failed ``belief_contradiction`` validation and in ``extras["contradictions"]``.

Trends (:func:`trend`) over the records of a pair along a causal path are kept per timeline in
``extras["relationship_trends"]``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import combinations, pairwise
from typing import Any, NamedTuple

from pydantic import Field

from timepoint.kernel.mechanism_settings import MechanismSettings, read_settings
from timepoint.kernel.relationship_records import (
    Pair,
    declared_relations,
    latest_on_path,
)
from timepoint.kernel.state import WorldState
from timepoint.world import EntityRole, ExposureKind, Relationship, ResolutionLevel, Timepoint
from timepoint.world.exposure import fact_id
from timepoint.world.record import ValidationResult


class ToneEffect(NamedTuple):
    """How a tone of voice moves the mood: valence, arousal and tension deltas."""

    valence: float
    arousal: float
    tension: float


TONE_EFFECTS: dict[str, ToneEffect] = {
    "conciliatory": ToneEffect(0.10, -0.05, -0.10),
    "warm": ToneEffect(0.12, 0.00, -0.08),
    "earnest": ToneEffect(0.04, 0.03, -0.02),
    "measured": ToneEffect(0.00, -0.05, -0.04),
    "wry": ToneEffect(0.03, 0.00, -0.03),
    "neutral": ToneEffect(0.00, 0.00, 0.00),
    "narrated": ToneEffect(0.00, 0.00, 0.00),
    "guarded": ToneEffect(-0.04, 0.02, 0.05),
    "insistent": ToneEffect(-0.03, 0.08, 0.07),
    "anxious": ToneEffect(-0.06, 0.08, 0.06),
    "strained": ToneEffect(-0.08, 0.05, 0.06),
    "hostile": ToneEffect(-0.15, 0.15, 0.15),
    "angry": ToneEffect(-0.15, 0.15, 0.15),
}

#: Initial trust, affinity and belief alignment of a pair by declared relation.
INITIAL_BY_RELATION: dict[str, tuple[float, float, float]] = {
    "family": (0.85, 0.8, 0.6),
    "ally": (0.8, 0.6, 0.6),
    "mentor": (0.75, 0.5, 0.4),
    "friend": (0.75, 0.7, 0.3),
    "colleague": (0.6, 0.2, 0.2),
    "acquaintance": (0.5, 0.1, 0.0),
    "neutral": (0.5, 0.0, 0.0),
    "rival": (0.3, -0.4, -0.4),
    "enemy": (0.05, -0.8, -0.7),
}
ROLE_POWER: dict[EntityRole, float] = {
    EntityRole.PRIMARY: 0.3,
    EntityRole.SECONDARY: 0.1,
    EntityRole.BACKGROUND: -0.1,
    EntityRole.ENVIRONMENT: 0.0,
}

_NEGATIONS = frozenset({"not", "no", "never", "neither", "nor", "none", "nobody", "nothing"})
_ARTICLES = frozenset({"a", "an", "the"})
_IRREGULAR = {"cannot": "can", "can't": "can", "won't": "will", "shan't": "shall"}
_WORD = re.compile(r"[a-z0-9']+")


class RelationshipSettings(MechanismSettings):
    """M13 constants."""

    min_resolution: ResolutionLevel = ResolutionLevel.GRAPH
    contradicts: list[tuple[str, str]] = Field(default_factory=list)
    tone_trust: float = 0.5
    tone_affinity: float = 0.6
    trust_per_fact: float = 0.02
    flagged_trust_penalty: float = 0.08
    power_drift: float = 0.1
    shared_experience: float = 0.02
    alignment_per_shared_fact: float = 0.03
    max_alignment_gain: float = 0.15
    contradiction_penalty: float = 0.25
    max_shared_facts: int = Field(30, ge=0)
    trend_window: int = Field(3, ge=1)
    trend_epsilon: float = Field(0.02, ge=0)


def settings_of(state: WorldState) -> RelationshipSettings:
    return read_settings(state.scenario, "m13", RelationshipSettings, state.extras)


def initial_relationship(
    state: WorldState,
    a: str,
    b: str,
    tp_id: str,
    declared: dict[tuple[str, str], str] | None = None,
    mentors: dict[tuple[str, str], list[float]] | None = None,
) -> Relationship:
    """A pair's first record, from the declared relation and the roles.

    ``declared`` (:func:`declared_relations`) and ``mentors`` (:func:`mentor_power`) may be
    passed in when many pairs are started at once; they are read from the scenario otherwise.
    """
    a, b = min(a, b), max(a, b)
    declared = declared_relations(state) if declared is None else declared
    mentors = mentor_power(state) if mentors is None else mentors
    kind = declared.get((a, b), "neutral")
    trust, affinity, alignment = INITIAL_BY_RELATION[kind]
    power = ROLE_POWER[state.entities[a].role] - ROLE_POWER[state.entities[b].role]
    for shift in mentors.get((a, b), ()):
        power += shift
    return Relationship(
        a=a,
        b=b,
        timepoint_id=tp_id,
        trust=trust,
        affinity=affinity,
        alignment=alignment,
        power_balance=_clamp(power),
    )


def mentor_power(state: WorldState) -> dict[tuple[str, str], list[float]]:
    """Per ordered pair, the power each declared mentor relation adds (+0.3 when ``a`` mentors)."""
    power: dict[tuple[str, str], list[float]] = {}
    for relation in state.scenario.entities.relations:
        if relation.kind.value == "mentor":
            a, b = min(relation.a, relation.b), max(relation.a, relation.b)
            power.setdefault((a, b), []).append(0.3 if relation.a == a else -0.3)
    return power


def trend(
    relationships: Sequence[Relationship],
    a: str,
    b: str,
    *,
    window: int = 3,
    epsilon: float = 0.02,
) -> str:
    """``improving``, ``deteriorating``, ``stable`` or ``volatile`` for the pair (a, b).

    ``relationships`` are taken in order; the last ``window`` changes of trust + affinity count.
    Changes both ways beyond ``epsilon`` are volatile; otherwise the net change decides.
    """
    key = (min(a, b), max(a, b))
    scores = [r.trust + r.affinity for r in relationships if (r.a, r.b) == key]
    deltas = [y - x for x, y in pairwise(scores)][-window:]
    rises = any(d > epsilon for d in deltas)
    falls = any(d < -epsilon for d in deltas)
    if rises and falls:
        return "volatile"
    net = sum(deltas)
    if net > epsilon:
        return "improving"
    return "deteriorating" if net < -epsilon else "stable"


def polarity(text: str) -> tuple[tuple[str, ...], bool]:
    """A statement's content words without negations or articles, and whether it is negated."""
    negations = 0
    words: list[str] = []
    for token in _WORD.findall(text.lower().replace("’", "'")):
        if token in _IRREGULAR:
            negations, token = negations + 1, _IRREGULAR[token]
        elif token.endswith("n't"):
            negations, token = negations + 1, token[:-3]
        elif token in _NEGATIONS:
            negations += 1
            continue
        if token not in _ARTICLES:
            words.append(token)
    return tuple(words), negations % 2 == 1


def contradict(first: str, second: str) -> bool:
    """True when two statements say the same thing with opposite polarity."""
    words_a, negated_a = polarity(first)
    words_b, negated_b = polarity(second)
    return len(words_a) >= 2 and words_a == words_b and negated_a != negated_b


def detect_contradictions(
    state: WorldState,
    tp: Timepoint,
    entity_ids: Iterable[str],
    knowledge: Mapping[str, Iterable[str]] | None = None,
) -> list[dict[str, Any]]:
    """New disagreements among ``entity_ids`` at ``tp`` (see the module notes); recorded once.

    ``knowledge`` holds each entity's :meth:`~WorldState.knowledge_at` ``tp`` when the caller
    has read it already.
    """
    settings = settings_of(state)
    parsed = state.indexes.setdefault("fact_polarity", {})  # facts never change their text
    sides: dict[str, tuple[tuple[str, ...], int]] = {}
    for fid, fact in state.facts.items():
        if fid not in parsed:
            parsed[fid] = polarity(fact.text)
        words, negated = parsed[fid]
        if len(words) >= 2:
            sides[fid] = (("said", *words), int(negated))
    for first, second in settings.contradicts:
        flagged: tuple[str, ...] = ("flagged", fact_id(first), fact_id(second))
        sides[fact_id(first)], sides[fact_id(second)] = (flagged, 0), (flagged, 1)
    beliefs: dict[tuple[str, ...], dict[str, tuple[int, str]]] = {}
    for entity_id in sorted(entity_ids):
        if knowledge is not None:
            holds = knowledge[entity_id]
        else:
            holds = state.knowledge_at(entity_id, tp.id)
        for fid in holds:  # in order of first exposure
            if fid in sides:
                proposition, side = sides[fid]
                beliefs.setdefault(proposition, {}).setdefault(entity_id, (side, fid))
    seen = state.extras.setdefault("contradictions", [])
    known = {(c["a"], c["b"], c["fact_a"], c["fact_b"]) for c in seen}
    found = []
    for held in beliefs.values():
        for a, b in _disagreeing(held):
            fact_a, fact_b = held[a][1], held[b][1]
            if (a, b, fact_a, fact_b) in known:
                continue
            known.add((a, b, fact_a, fact_b))
            row = {"a": a, "b": b, "fact_a": fact_a, "fact_b": fact_b, "timepoint_id": tp.id}
            seen.append(row)
            found.append(row)
            state.validation.append(
                ValidationResult(
                    validator="belief_contradiction",
                    target=f"{a}~{b}",
                    ok=False,
                    message=f"{a} believes “{state.facts[fact_a].text}” while {b} believes "
                    f"“{state.facts[fact_b].text}”",
                    entity_id=a,
                    timepoint_id=tp.id,
                    fact_id=fact_a,
                )
            )
    state.ledger.count("M13", "contradictions", len(found))
    return found


def _disagreeing(held: dict[str, tuple[int, str]]) -> Iterator[Pair]:
    """The pairs (a < b, in order) of ``held`` on opposite sides; agreeing pairs are skipped
    without being visited."""
    names = sorted(held)
    by_side: dict[int, list[str]] = {0: [], 1: []}
    for name in names:
        by_side[held[name][0]].append(name)
    for a in names:
        opposite = by_side[1 - held[a][0]]
        for b in opposite[bisect_right(opposite, a) :]:
            yield a, b


def update_relationships(state: WorldState, tp: Timepoint) -> list[Relationship]:
    """The relationship records of ``tp`` (see the module rules); appended to the state."""
    settings = settings_of(state)
    eligible = sorted(
        e
        for e in tp.entities_present
        if e in state.entities and state.resolution(e, tp.id) >= settings.min_resolution
    )
    if len(eligible) < 2:
        return []
    latest = latest_on_path(state, tp.id, include_self=False)
    held = {e: state.knowledge_at(e, tp.id) for e in eligible}
    found = detect_contradictions(state, tp, eligible, held)
    knowledge = {e: _substantive(state, held[e]) for e in eligible}
    dialog = next((d for d in state.dialogs if d.timepoint_id == tp.id), None)
    turns = [t for t in dialog.turns if t.tone != "narrated"] if dialog else []
    listeners = set(dialog.participants) if dialog else set()
    told: dict[tuple[str, str], int] = {}
    for event in state.exposures.events:
        if event.kind is ExposureKind.TOLD and event.timepoint_id == tp.id:
            key = (event.source, event.entity_id)
            told[key] = told.get(key, 0) + 1
    by_speaker: dict[str, list[int]] = {}
    for index, turn in enumerate(turns):
        by_speaker.setdefault(turn.speaker, []).append(index)
    clashes: dict[tuple[str, str], int] = {}
    for c in found:
        key = (min(c["a"], c["b"]), max(c["a"], c["b"]))
        clashes[key] = clashes.get(key, 0) + 1
    declared, mentors = declared_relations(state), mentor_power(state)
    records = []
    for a, b in combinations(eligible, 2):
        prev = latest.get((a, b)) or initial_relationship(state, a, b, tp.id, declared, mentors)
        trust, affinity, interactions = prev.trust, prev.affinity, prev.interactions
        spoke = {a: 0, b: 0}
        # only the turns one of the two speaks, in dialog order
        for index in sorted(by_speaker.get(a, []) + by_speaker.get(b, [])):
            turn = turns[index]
            other = b if turn.speaker == a else a
            if other not in listeners:
                continue
            effect = TONE_EFFECTS.get(turn.tone.lower(), TONE_EFFECTS["neutral"])
            trust -= settings.tone_trust * effect.tension
            if turn.flagged:
                trust -= settings.flagged_trust_penalty
            affinity += settings.tone_affinity * effect.valence
            interactions += 1
            spoke[turn.speaker] += 1
        trust += settings.trust_per_fact * (told.get((a, b), 0) + told.get((b, a), 0))
        talk = spoke[a] + spoke[b]
        power = prev.power_balance + settings.power_drift * (spoke[a] - spoke[b]) / max(1, talk)
        affinity += settings.shared_experience * tp.importance
        shared = sorted(knowledge[a] & knowledge[b])
        gained = len(set(shared) - set(prev.shared_facts))
        alignment = (
            prev.alignment
            + min(settings.max_alignment_gain, settings.alignment_per_shared_fact * gained)
            - settings.contradiction_penalty * clashes.get((a, b), 0)
        )
        records.append(
            Relationship(
                a=a,
                b=b,
                timepoint_id=tp.id,
                trust=round(_clamp(trust), 4),
                affinity=round(_clamp(affinity), 4),
                alignment=round(_clamp(alignment), 4),
                power_balance=round(_clamp(power), 4),
                interactions=interactions,
                shared_facts=shared[: settings.max_shared_facts],
            )
        )
    state.relationships.extend(records)
    _record_trends(state, tp, records, settings)
    state.ledger.count("M13", "relationship records", len(records))
    state.ledger.count("M13", "interactions", sum(r.interactions for r in records))
    return records


def relation_views(state: WorldState, tp: Timepoint, ids: Sequence[str]) -> dict[str, list[str]]:
    """For each of ``ids``, one line per other id on how it stands with them (dialog prompts)."""
    latest = latest_on_path(state, tp.id, include_self=False)
    views: dict[str, list[str]] = {e: [] for e in ids}
    for a, b in combinations(sorted(ids), 2):
        record = latest.get((a, b))
        if record is None:
            kind = declared_relations(state).get((a, b))
            if kind is None:
                continue
            record = initial_relationship(state, a, b, tp.id)
        for me, other in ((a, b), (b, a)):
            views[me].append(
                f"{state.entities[other].name}: trust {record.trust:.2f}, "
                f"affinity {record.affinity:.2f}"
            )
    return views


def _record_trends(
    state: WorldState,
    tp: Timepoint,
    records: list[Relationship],
    settings: RelationshipSettings,
) -> None:
    """Each record's trend over its pair's records on the causal path (the last
    ``trend_window`` changes, so the last ``trend_window`` + 1 records are enough)."""
    on_path = latest_on_path(state, tp.id)
    trends = state.extras.setdefault("relationship_trends", {}).setdefault(tp.timeline_id, {})
    for record in records:
        trends[f"{record.a}~{record.b}"] = trend(
            on_path.history((record.a, record.b), settings.trend_window + 1),
            record.a,
            record.b,
            window=settings.trend_window,
            epsilon=settings.trend_epsilon,
        )


def _substantive(state: WorldState, fact_ids: Iterable[str]) -> set[str]:
    return {f for f in fact_ids if not state.facts[f].origin.startswith("event:")}


def _clamp(value: float) -> float:
    return max(-1.0, min(1.0, value))
