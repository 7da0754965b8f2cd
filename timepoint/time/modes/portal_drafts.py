"""The answer shapes PORTAL asks models for, each with its offline twin.

- :class:`CandidateSet`: states at a target time — the portal itself, the origin, antecedents of
  a later state (``backward``) or consequents of an earlier one (``forward``).
- :class:`StateJudgement`: plausibility and historical precedent of one candidate.
- :class:`CoherenceJudgement`: does an earlier state make the next one plausible?
- :class:`ForwardJudgement`: the judge's verdict on a short forward simulation from a candidate.

Offline answers are composed from the request's context: the scenario's entities, their goals
and knowledge, the portal description and the years involved.
"""

from __future__ import annotations

import random
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.llm.bounded import Share, percent
from timepoint.llm.grounded_schema import EntityId
from timepoint.time.wording import clamp, content_words, coverage
from timepoint.world.phrasing import sentence_case, topic_of

_CUES = """warn warning approve approval review report budget schedule deadline cut delay test
fail failure overrule pressure compromise vote election funding merger lawsuit strike launch
promise resign audit recall scandal leak treaty sanction protest shortage"""
PRECEDENT_CUES = frozenset(_CUES.split())


class Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateCandidate(Draft):
    """One candidate state of the world at a target time."""

    description: str
    key_events: list[str] = Field(min_length=1, max_length=5)
    entity_changes: dict[EntityId, str] = Field(default_factory=dict)
    world_context: str = ""
    causal_link: str = ""

    def text(self) -> str:
        """Description and key events: what the state asserts (not how it links onward)."""
        return " ".join([self.description, *self.key_events])


class CandidateSet(Draft):
    """``k`` candidate states at the target time."""

    candidates: list[StateCandidate] = Field(min_length=1)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        direction = context.get("direction", "backward")
        if direction == "portal":
            return {"candidates": [_portal(context)]}
        if direction == "origin":
            return {"candidates": [_origin(context, rng)]}
        k = max(1, int(context.get("k", 3)))
        lenses = rng.sample(range(len(_LENSES)), k=min(k, len(_LENSES)))
        lenses += [rng.randrange(len(_LENSES)) for _ in range(k - len(lenses))]
        offset = rng.randrange(1000)
        return {
            "candidates": [
                _candidate(context, rng, lens, j + offset) for j, lens in enumerate(lenses)
            ]
        }


class StateJudgement(Draft):
    """A judge's view of one candidate: plausibility and historical precedent, both 0..1."""

    plausibility: Share
    precedent: Share
    reasoning: str

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        candidate = context.get("candidate", {})
        anchor = context.get("anchor", {})
        text = " ".join([candidate.get("description", ""), *candidate.get("key_events", [])])
        link = coverage(text + " " + candidate.get("causal_link", ""), _text(anchor))
        known = set(context.get("entity_ids", []))
        named = list(candidate.get("entity_changes", {}))
        named_share = sum(n in known for n in named) / len(named) if named else 0.0
        cues = sorted(content_words(text) & PRECEDENT_CUES)
        plausibility = clamp(0.3 + 1.2 * link + 0.15 * named_share + rng.uniform(-0.08, 0.08))
        precedent = clamp(0.3 + 0.12 * len(cues) + rng.uniform(-0.05, 0.05))
        year = context.get("target_year", "")
        return {
            "plausibility": percent(plausibility),
            "precedent": percent(precedent),
            "reasoning": f"In {year} this prepares {link:.0%} of what the later state needs; "
            f"comparable cases turn on {', '.join(cues) or 'nothing familiar'}.",
        }


class CoherenceJudgement(Draft):
    """Does the earlier state make the later one plausible (0..1)?"""

    coherence: Share
    reasoning: str

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        earlier, later = context.get("earlier", {}), context.get("later", {})
        link = coverage(_text(earlier) + " " + earlier.get("causal_link", ""), _text(later))
        a, b = set(earlier.get("entity_changes", {})), set(later.get("entity_changes", {}))
        carried = len(a & b) / len(b) if b else 0.5
        coherence = clamp(0.35 + 1.1 * link + 0.2 * carried + rng.uniform(-0.07, 0.07))
        return {
            "coherence": percent(coherence),
            "reasoning": f"{earlier.get('year', '?')} → {later.get('year', '?')}: {link:.0%} of "
            f"the later state is prepared, {carried:.0%} of its actors carry over.",
        }


class ForwardJudgement(Draft):
    """The judge's verdict on a forward simulation from a candidate."""

    plausibility: Share
    reasoning: str

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        simulated = " ".join(context.get("simulated", []))
        expected = _text(context.get("expected", {}))
        reached = coverage(simulated, expected)
        return {
            "plausibility": percent(clamp(0.25 + 1.5 * reached + rng.uniform(-0.05, 0.05))),
            "reasoning": f"the simulated continuation reaches {reached:.0%} of the expected state",
        }


# -- offline composition ------------------------------------------------------------------
def _text(state: dict[str, Any]) -> str:
    return " ".join([state.get("description", ""), *state.get("key_events", [])])


def _leads(context: dict[str, Any]) -> list[dict[str, Any]]:
    people = context.get("entities", [])
    return (
        [p for p in people if p.get("role") in ("primary", "secondary")]
        or people
        or [{"id": "someone", "name": "Someone", "goals": [], "knowledge": []}]
    )


def _aim(entity: dict[str, Any]) -> str:
    goals = entity.get("goals") or ["hold the course"]
    goal = str(goals[0]).strip().rstrip(".")
    return goal[:1].lower() + goal[1:]


def _fact(entity: dict[str, Any], n: int) -> str:
    facts = entity.get("knowledge") or [
        entity.get("description") or f"{entity['name']} is involved"
    ]
    return sentence_case(facts[n % len(facts)])


def _portal(context: dict[str, Any]) -> dict[str, Any]:
    portal = context.get("portal", {})
    text = " ".join(str(portal.get("description", "")).split())
    clauses = [c.strip() for c in re.split(r"(?<=[.;])\s+", text) if len(c.strip()) > 3]
    year = portal.get("year", context.get("target_year"))
    leads = _leads(context)[:3]
    return {
        "description": text,
        "key_events": [c.rstrip(".;") for c in clauses[:3]] or [text],
        "entity_changes": {p["id"]: f"the effort to {_aim(p)} ends here" for p in leads},
        "world_context": f"{year}: {topic_of(context.get('scenario', {}).get('title', ''), 8)}",
        "causal_link": "the endpoint every path has to reach",
    }


def _origin(context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    year = context.get("target_year")
    leads = _leads(context)[:3]
    facts = [_fact(p, 0) for p in leads]
    names = ", ".join(p["name"] for p in leads)
    return {
        "description": f"In {year}, at the start, {names} face the situation as it stands: "
        + "; ".join(facts[:2])
        + ".",
        "key_events": [f"{p['name']} sets out to {_aim(p)}" for p in leads],
        "entity_changes": {p["id"]: f"sets out to {_aim(p)}" for p in leads},
        "world_context": f"{year}: {context.get('scenario', {}).get('title', '')}",
        "causal_link": "the starting point, "
        + rng.choice(("before any choice is made", "as things stand")),
    }


def _candidate(context: dict[str, Any], rng: random.Random, lens: int, n: int) -> dict[str, Any]:
    leads = _leads(context)
    actor, other = leads[n % len(leads)], leads[(n + 1) % len(leads)]
    anchor = context.get("anchor") or {}
    events = anchor.get("key_events") or [anchor.get("description", "what follows")]
    target = topic_of(events[n % len(events)], 7)
    year = context.get("target_year")
    then = anchor.get("year", year)
    forward = context.get("direction") == "forward"
    fact = _fact(actor, n + int(year or 0))
    description, key_events, changes = _LENSES[lens](actor, other, fact, target, year)
    if forward:
        description = f"Following {target}, " + description[0].lower() + description[1:]
        portal = topic_of(context.get("portal", {}).get("description", ""), 8)
        link = f"This carries {target} forward, toward {portal}."
    else:
        link = rng.choice(
            (
                f"What happens in {year} makes {target} likely by {then}.",
                f"Without this, {target} would not follow by {then}.",
                f"This is where the road to {target} in {then} begins.",
            )
        )
    scene = context.get("scenario", {}).get("location") or "the world of the scenario"
    return {
        "description": description,
        "key_events": key_events,
        "entity_changes": changes,
        "world_context": f"{year}: {scene}",
        "causal_link": link,
    }


def _decision(a: dict, b: dict, fact: str, target: str, year: Any) -> tuple[str, list[str], dict]:
    return (
        f"In {year}, {a['name']} signs off on the plan, accepting that {fact}.",
        [f"{a['name']} approves the plan knowing that {fact}", f"{b['name']} is told it is final"],
        {a["id"]: "commits to the plan", b["id"]: "loses the argument"},
    )


def _warning(a: dict, b: dict, fact: str, target: str, year: Any) -> tuple[str, list[str], dict]:
    return (
        f"In {year}, {a['name']} warns that {fact}, but {b['name']} sets the warning aside.",
        [f"{a['name']} raises the warning in a formal review", f"{b['name']} overrules it"],
        {a["id"]: "grows frustrated and isolated", b["id"]: "presses on regardless"},
    )


def _pressure(a: dict, b: dict, fact: str, target: str, year: Any) -> tuple[str, list[str], dict]:
    return (
        f"In {year}, pressure mounts on {b['name']} to {_aim(b)}, and {a['name']} is asked to "
        f"make do although {fact}.",
        [f"{b['name']} pushes to {_aim(b)}", f"{a['name']} accepts a compromise"],
        {b["id"]: "under pressure to deliver", a["id"]: "accepts a compromise"},
    )


def _rift(a: dict, b: dict, fact: str, target: str, year: Any) -> tuple[str, list[str], dict]:
    return (
        f"In {year}, trust between {a['name']} and {b['name']} frays over the fact that {fact}.",
        [
            f"{a['name']} and {b['name']} clash over {topic_of(fact, 6)}",
            f"{a['name']} stops bringing problems to {b['name']}",
        ],
        {a["id"]: "withdraws", b["id"]: "loses a source of warnings"},
    )


def _drift(a: dict, b: dict, fact: str, target: str, year: Any) -> tuple[str, list[str], dict]:
    return (
        f"In {year}, a small slip goes unnoticed: {fact}.",
        [f"{a['name']} notes the slip in a report", f"no one asks {b['name']} to follow it up"],
        {a["id"]: "moves on to other work"},
    )


_LENSES = (_decision, _warning, _pressure, _rift, _drift)
