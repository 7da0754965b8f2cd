"""Naming the crowd (M1): one model call gives every generated entity a proper name.

A scenario whose ``entities.count`` is larger than its roster gets generated entries with ids
such as ``human_5`` (:func:`~timepoint.synthesis.population.roster_with_generated`). Entities
expected below ``graph`` resolution are not populated by the model (M1's saving), so without
this they would carry their ids as names. One ``entity_population`` call asks for as many
names as there are generated entries, each with a line of description, fitting the scenario's
place and period. The answer's schema is built per request: it fixes the count and refuses a
name that repeats another, is taken by the roster, is an id or a numbered label (``Human 5``),
so the structured-output layer re-asks a model whose answer does not fit, as it does for every
draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import Field, create_model, model_validator

from timepoint.kernel.context import RunContext
from timepoint.llm.base import ActionType, Request
from timepoint.llm.drafts import CrowdName, CrowdNamesDraft
from timepoint.llm.structured import expect_answer
from timepoint.llm.task_data import task_request
from timepoint.scenario.schema import RosterEntity, Scenario

#: a label with a number (``Human 5``, ``guest_12``), which is what an entity without a name
#: would otherwise be called
PLACEHOLDER = re.compile(r"^[^\W\d_]+[ _-]?\d+$")
#: tokens of answer allowed per name asked for, above a fixed allowance
TOKENS_PER_NAME = 40


def display_id(entity_id: str) -> str:
    """What an entity without a name is called: its id, title-cased (``human_5`` → ``Human 5``)."""
    return entity_id.replace("_", " ").title()


def naming_problems(names: Sequence[str], count: int, reserved: Iterable[str]) -> list[str]:
    """Why ``names`` are not ``count`` distinct proper names outside ``reserved``; empty if
    they are. Names compare without regard to case or spacing."""
    problems = []
    if len(names) != count:
        problems.append(
            f"{len(names)} names given; exactly {count} are needed, one per entity, in order"
        )
    taken = {_key(name) for name in reserved}
    seen: set[str] = set()
    for n, name in enumerate(names):
        key = _key(name)
        if PLACEHOLDER.match(name.strip()):
            problems.append(f"names[{n}]: {name!r} is a numbered label, not a name")
        elif key in taken:
            problems.append(f"names[{n}]: {name!r} is an id or the name of another entity")
        elif key in seen:
            problems.append(f"names[{n}]: {name!r} repeats an earlier name")
        seen.add(key)
    return problems


def crowd_answer(count: int, reserved: Iterable[str]) -> type[CrowdNamesDraft]:
    """A subclass of :class:`CrowdNamesDraft` (same name) that takes exactly ``count`` distinct
    names, none of them ``reserved`` or a numbered label."""
    frozen = tuple(reserved)

    def fits(draft: CrowdNamesDraft) -> CrowdNamesDraft:
        problems = naming_problems([n.name for n in draft.names], count, frozen)
        if problems:
            raise ValueError("; ".join(problems))
        return draft

    validators: dict[str, Any] = {"_fits": model_validator(mode="after")(fits)}
    return create_model(
        CrowdNamesDraft.__name__,
        __base__=CrowdNamesDraft,
        __module__=CrowdNamesDraft.__module__,
        __validators__=validators,
        names=(list[CrowdName], Field(min_length=count, max_length=count)),
    )


def crowd_request(scenario: Scenario, entries: Sequence[RosterEntity], seed: int | None) -> Request:
    """The one request that names ``entries``, the generated entries of ``scenario``."""
    start = scenario.timepoints.start
    place = scenario.timepoints.location or "the scene of the scenario"
    cast = scenario.entities.roster
    taken = [r.name or display_id(r.id) for r in cast]
    ids = [r.id for r in (*cast, *entries)]
    reserved = [*taken, *ids, *(display_id(i) for i in ids)]
    listed = "\n".join(
        f"{n}. a {entry.role.value} {entry.kind.value}" for n, entry in enumerate(entries, 1)
    )
    data = {
        "scenario": {
            "title": scenario.title,
            "description": scenario.description,
            "location": scenario.timepoints.location,
            "period": start.date().isoformat(),
        },
        "entities": [{"id": e.id, "kind": e.kind.value, "role": e.role.value} for e in entries],
        "taken": taken,
        "ids": ids,
    }
    return task_request(
        ActionType.ENTITY_POPULATION,
        crowd_answer(len(entries), reserved),
        system="You populate historical and fictional simulations with precise, plausible "
        "entities. Answer in JSON.",
        prose=f"Scenario: {scenario.title}. {scenario.description}\n"
        f"Setting: {place}, from {start.date().isoformat()} (year {start.year}).\n"
        f"Besides the named cast, {len(entries)} more entities are present:\n{listed}\n"
        "Give each, in this order, a distinct proper name that fits this place and period (a "
        "person's given name and surname as people there and then were named; a building's, "
        "animal's or thing's own name), and one line saying who or what it is. No numbered "
        "labels or ids, and none of the names already taken"
        + (f": {', '.join(taken)}." if taken else "."),
        data=data,
        seed=seed,
        max_tokens=200 + TOKENS_PER_NAME * len(entries),
        subject="entities",
    )


def name_crowd(
    scenario: Scenario, ctx: RunContext, entries: Sequence[RosterEntity]
) -> dict[str, CrowdName]:
    """A name and a line of description per id of ``entries`` (the generated entries of
    ``scenario``), from one model call; no call when there are none.

    Raises:
        StructuredOutputError: the answers never gave distinct, untaken names, re-asks included.
    """
    if not entries:
        return {}
    request = crowd_request(scenario, entries, ctx.seed)
    draft = expect_answer(ctx.gateway.complete(request).parsed, CrowdNamesDraft)
    return {entry.id: named for entry, named in zip(entries, draft.names, strict=True)}


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()
