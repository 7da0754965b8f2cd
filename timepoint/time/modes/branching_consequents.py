"""The answer shape of BRANCHING's branch points: a good, a bad and a surprising consequent.

The offline twin composes them from the context: the entities present, what they know, the
state being branched and whether it holds a decision.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.llm.bounded import Share, percent
from timepoint.llm.grounded_schema import EntityId
from timepoint.world.phrasing import sentence_case, topic_of

KINDS = ("good", "bad", "surprising")


class Consequent(BaseModel):
    """One way a state could unfold, with the model's plausibility for it."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern="^(good|bad|surprising)$")
    event: str
    importance: Share
    present: list[EntityId]
    key_facts: list[str] = Field(default_factory=list)
    plausibility: Share


class ConsequentSet(BaseModel):
    """What may follow a state at a branch point: a good, a bad and a surprising consequent."""

    model_config = ConfigDict(extra="forbid")

    consequents: list[Consequent] = Field(min_length=1)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """Consequents built from the entities present, what they know and what the state left."""
        people = context.get("candidates", [])
        core = [p for p in people if p.get("role") in ("primary", "secondary")] or people
        first = core[0] if core else {"id": "", "name": "everyone", "known": []}
        second = core[1 % len(core)] if core else first
        a, b = first["name"], second["name"]
        outsiders = [p for p in people if p not in core[:2]] or core[-1:] or [first]
        odd = outsiders[rng.randrange(len(outsiders))]
        issues = first.get("known") or context.get("key_facts") or [context.get("state", "")]
        issue = issues[int(context.get("index", 0)) % len(issues)]
        topic = topic_of(issue, 7)
        secrets = [f for f in odd.get("known", []) if f != issue] or [context.get("state", "")]
        secret = sentence_case(rng.choice(secrets))
        decision = context.get("decision")
        settled = ", and the question before them is settled" if decision else ""
        left_open = ", leaving the question before them open" if decision else ""
        options = {
            "good": (
                f"{a} and {b} find common ground on {topic}{settled}; {a} proposes terms {b} "
                "can accept",
                f"{a} and {b} agreed terms on {topic}",
                rng.uniform(0.6, 0.85),
            ),
            "bad": (
                f"Talks over {topic} break down{left_open}: {b} rejects {a}'s position and "
                "threatens to walk away",
                f"{b} rejected {a}'s position on {topic}",
                rng.uniform(0.45, 0.7),
            ),
            "surprising": (
                f"{odd['name']} unexpectedly reveals that {secret}, upending what {a} and {b} "
                "had assumed",
                f"{odd['name']} revealed that {secret}",
                rng.uniform(0.25, 0.55),
            ),
        }
        present = [p["id"] for p in core]
        consequents = []
        for kind in context.get("kinds", KINDS):
            event, fact, plausibility = options[kind]
            extra = [odd["id"]] if kind == "surprising" and odd["id"] not in present else []
            consequents.append(
                {
                    "kind": kind,
                    "event": event + ".",
                    "importance": percent(rng.uniform(0.55, 0.9)),
                    "present": present + extra,
                    "key_facts": [fact],
                    "plausibility": percent(plausibility),
                }
            )
        return {"consequents": consequents}
