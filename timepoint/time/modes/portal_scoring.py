"""PORTAL scoring: weighted components of a candidate, and forward checks of a path.

A candidate's score is the weighted sum of four components *(ref weights: plausibility .3,
precedent .2, necessity .3, capability .2, normalized to sum to 1)*. Plausibility and precedent
are model judgements; causal necessity and entity capability are computed here:

- *necessity*: for an antecedent, how explicitly its causal link prepares the later state's key
  events and how many of the later state's actors it already involves; for a consequent of the
  origin side, how much of the portal it moves toward;
- *capability*: whether the entities it changes exist and can act (role and physical state).

Forward checks of a path pair a model's coherence judgement with computed continuity and a
knowledge-flow check: a state may not mention a year after its own, nor restate what only a
later state establishes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from timepoint.scenario.schema import PortalWeights
from timepoint.time.modes.portal_drafts import StateCandidate
from timepoint.time.wording import clamp, content_words, coverage, overlap, years_in

COMPONENTS = ("plausibility", "precedent", "necessity", "capability")
ROLE_CAPABILITY = {"primary": 1.0, "secondary": 0.8, "background": 0.5, "environment": 0.3}
#: Share of a later key event's words an earlier description must restate: foreknowledge.
FOREKNOWLEDGE_SHARE = 0.8
#: Share of a sentence naming a later year that a later state must contain: an anachronism.
ANACHRONISM_SHARE = 0.5


def normalized_weights(weights: PortalWeights) -> dict[str, float]:
    """The four weights scaled to sum to 1 (equal weights when all are zero)."""
    raw = {name: float(getattr(weights, name)) for name in COMPONENTS}
    total = sum(raw.values())
    if total <= 0:
        return {name: 1 / len(COMPONENTS) for name in COMPONENTS}
    return {name: value / total for name, value in raw.items()}


def weighted(components: Mapping[str, float], weights: Mapping[str, float]) -> float:
    return round(sum(weights[name] * components[name] for name in COMPONENTS), 4)


def necessity(candidate: StateCandidate, anchor: StateCandidate) -> float:
    """How necessary an antecedent is to ``anchor``: explicit link and shared actors."""
    link = coverage(candidate.causal_link + " " + candidate.text(), " ".join(anchor.key_events))
    actors = set(anchor.entity_changes)
    shared = len(actors & set(candidate.entity_changes)) / len(actors) if actors else 0.5
    return round(clamp(0.15 + 0.5 * clamp(2 * link) + 0.35 * shared), 4)


def progress(candidate: StateCandidate, portal: StateCandidate) -> float:
    """How far a consequent on the origin side moves toward the portal."""
    reached = coverage(candidate.text() + " " + candidate.causal_link, portal.text())
    return round(clamp(0.15 + 0.85 * clamp(2 * reached)), 4)


def capability(candidate: StateCandidate, entities: Mapping[str, tuple[str, float]]) -> float:
    """Whether the entities a candidate changes exist and can act.

    Args:
        candidate: the state.
        entities: entity id → (role, physical capacity 0..1).
    """
    changed = list(candidate.entity_changes)
    if not changed:
        return 0.3
    values = []
    for entity_id in changed:
        if entity_id not in entities:
            values.append(0.2)
            continue
        role, body = entities[entity_id]
        values.append(ROLE_CAPABILITY.get(role, 0.5) * (0.5 + 0.5 * body))
    return round(sum(values) / len(values), 4)


def continuity(earlier: StateCandidate, later: StateCandidate) -> float:
    """Computed continuity of two consecutive states: shared words and shared actors."""
    words = clamp(2.5 * overlap(earlier.text() + " " + earlier.causal_link, later.text()))
    a, b = set(earlier.entity_changes), set(later.entity_changes)
    actors = len(a & b) / len(a | b) if a | b else 0.5
    return round(0.6 * words + 0.4 * actors, 4)


def flow_problems(
    earlier: StateCandidate,
    earlier_year: int,
    later: Sequence[tuple[StateCandidate, int]],
    label: str,
) -> list[str]:
    """Knowledge-flow problems of ``earlier`` against the states that follow it on its path.

    ``later`` holds the following states with their years. A sentence of the earlier state
    that names a later year and restates what a state of that year (or after) says is an
    anachronism; a description that restates a later key event (other than as one of its own
    key events, which is a recurrence) is foreknowledge. ``label`` names the step.
    """
    problems = []
    asserted = f"{earlier.description} {earlier.world_context} " + " ".join(earlier.key_events)
    for sentence in re.split(r"(?<=[.;!?])\s+", asserted):
        future = sorted({y for y in years_in(sentence) if y > earlier_year})
        restated = [
            state
            for state, year in later
            if future
            and year >= future[0]
            and coverage(state.text(), sentence) >= ANACHRONISM_SHARE
        ]
        if restated:
            problems.append(
                f"{label}: the {earlier_year} state already tells of {future}: {sentence[:60]!r}"
            )
    own = earlier.key_events
    for state, _ in later:
        for event in state.key_events:
            if len(content_words(event)) < 3 or any(coverage(e, event) >= 0.8 for e in own):
                continue
            if coverage(earlier.description, event) >= FOREKNOWLEDGE_SHARE:
                problems.append(f"{label}: the earlier state already knows {event[:60]!r}")
    return problems


def pair_score(judged: float, computed: float, problems: int) -> float:
    """One forward step's coherence: the model's judgement, continuity, and a flow penalty."""
    return round(clamp(0.7 * judged + 0.3 * computed - 0.3 * problems), 4)
