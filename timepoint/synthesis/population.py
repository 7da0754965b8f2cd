"""Entity population: the roster (or a profile file) first, the model fills what is missing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from timepoint.errors import ScenarioError
from timepoint.fidelity.planner import plan_resolution
from timepoint.kernel.context import RunContext
from timepoint.kernel.fanout import fan_out
from timepoint.llm.base import ActionType
from timepoint.llm.drafts import CrowdName, EntityDraft
from timepoint.llm.structured import expect_answer
from timepoint.llm.task_data import task_request
from timepoint.scenario.schema import RosterEntity, Scenario
from timepoint.synthesis.crowd import display_id, name_crowd
from timepoint.world import (
    CognitiveState,
    Entity,
    EntityKind,
    EntityRole,
    PhysicalState,
    ResolutionLevel,
)

#: Entity kinds admitted at each animism level, cumulatively (M16).
ANIMISM_KINDS: dict[int, set[EntityKind]] = {
    0: {EntityKind.HUMAN},
    1: {EntityKind.ANIMAL, EntityKind.BUILDING},
    2: {EntityKind.OBJECT},
    3: {EntityKind.ABSTRACT, EntityKind.INSTITUTION},
    4: {EntityKind.ANY},
    5: {EntityKind.KAMI},
    6: {EntityKind.AI},
}


def admitted_kinds(level: int) -> set[EntityKind]:
    kinds: set[EntityKind] = set()
    for threshold in range(level + 1):
        kinds |= ANIMISM_KINDS[threshold]
    return kinds


def roster_with_generated(scenario: Scenario) -> list[RosterEntity]:
    """The roster plus generated entries up to ``entities.count``, cycling through the ``kinds``
    that the animism level admits (M16); roster entries must be admitted themselves."""
    roster = list(scenario.entities.roster)
    admitted = admitted_kinds(scenario.entities.animism)
    kinds = [k for k in scenario.entities.kinds if k in admitted] or [EntityKind.HUMAN]
    taken = {r.id for r in roster}
    n = 0
    while len(roster) < scenario.entities.count:
        kind = kinds[n % len(kinds)]
        n += 1
        entity_id = f"{kind.value}_{n}"
        if entity_id in taken:
            continue
        role = EntityRole.SECONDARY if len(roster) < 4 else EntityRole.BACKGROUND
        roster.append(RosterEntity(id=entity_id, kind=kind, role=role))
    return roster


def generated_entries(scenario: Scenario) -> list[RosterEntity]:
    """The entries :func:`roster_with_generated` adds to the scenario's roster."""
    return roster_with_generated(scenario)[len(scenario.entities.roster) :]


def load_profile(path: str, base_dir: Path) -> dict[str, Any]:
    """A known entity's fields from ``profile: path.json`` (relative to the scenario's folder)."""
    file = (base_dir / path) if not Path(path).is_absolute() else Path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError as error:
        raise ScenarioError([f"{file}: profile file not found; fix the 'profile:' path"]) from error
    except json.JSONDecodeError as error:
        raise ScenarioError([f"{file}:{error.lineno}:{error.colno}: {error.msg}"]) from error
    allowed = set(EntityDraft.model_fields) | {"physical", "cognitive", "kind", "role"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ScenarioError(
            [
                f"{file}: unknown profile keys {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            ]
        )
    return data


def expected_level(entry: RosterEntity, scenario: Scenario) -> ResolutionLevel:
    """The level an entity is planned at before the graph exists (M1): entities expected below
    ``graph`` are not sent to the model for population; their roster entry is enough."""
    return plan_resolution(entry.role, 0.0, 0.5, scenario.fidelity.template)


def _needs_model(entry: RosterEntity, profile: dict[str, Any]) -> bool:
    filled = {**entry.model_dump(exclude_defaults=True), **profile}
    return not all(filled.get(k) for k in ("name", "description", "traits", "knowledge"))


@dataclass(frozen=True)
class Population:
    """The entities of a run at its start, their initial knowledge texts by id, and the calls.

    ``populated`` counts the entities the model wrote in full (one call each); ``named`` the
    generated entities named together by one further call (0: no such call).
    """

    entities: list[Entity]
    knowledge: dict[str, list[str]]
    populated: int
    named: int


def populate(
    scenario: Scenario, ctx: RunContext, base_dir: Path, floor: ResolutionLevel
) -> Population:
    """The run's entities, from the roster, profile files and the model.

    Entities expected below ``graph`` are not sent to the model for population (M1); every
    generated entry (beyond the roster, up to ``entities.count``) is named by one call for all
    of them (:mod:`timepoint.synthesis.crowd`), so none is called by its id.
    """
    roster = roster_with_generated(scenario)
    admitted = admitted_kinds(scenario.entities.animism)
    problems = [
        f"entities.roster: {r.id!r} has kind {r.kind.value!r}, which animism level "
        f"{scenario.entities.animism} does not admit; raise entities.animism or change the kind"
        for r in roster
        if r.kind not in admitted
    ]
    if problems:
        raise ScenarioError(problems)
    profiles = {r.id: load_profile(r.profile, base_dir) if r.profile else {} for r in roster}
    to_ask = {
        r.id
        for r in roster
        if _needs_model(r, profiles[r.id]) and expected_level(r, scenario) >= ResolutionLevel.GRAPH
    }
    crowd = name_crowd(scenario, ctx, roster[len(scenario.entities.roster) :])
    roster = [_named(r, crowd.get(r.id), full=r.id in to_ask) for r in roster]
    names = [r.name or display_id(r.id) for r in roster]

    def ask(entry: RosterEntity) -> EntityDraft:
        context = {
            "scenario": _scenario_brief(scenario),
            "entity": {
                "id": entry.id,
                "name": entry.name,
                "kind": entry.kind.value,
                "role": entry.role.value,
                "description": entry.description,
                "knowledge": list(entry.knowledge),
            },
            "others": [n for n, r in zip(names, roster, strict=True) if r.id != entry.id],
        }
        request = task_request(
            ActionType.ENTITY_POPULATION,
            EntityDraft,
            system="You populate historical and fictional simulations with precise, plausible "
            "entities. Answer in JSON.",
            prose=f"Scenario: {scenario.title}. {scenario.description}\n"
            f"Describe the {entry.role.value} {entry.kind.value} '{entry.name or entry.id}'"
            f" ({entry.description or 'no description yet'}). Give name, description, "
            "traits (-100..100), 3-5 facts they know at the start, voice and goals.",
            data=context,
            seed=ctx.seed,
            max_tokens=600,
            subject=f"entity:{entry.id}",
        )
        parsed = expect_answer(ctx.gateway.complete(request).parsed, EntityDraft)
        return parsed

    asked = [r for r in roster if r.id in to_ask]
    drafts = dict(zip([r.id for r in asked], fan_out(ask, asked, ctx.max_concurrency), strict=True))
    entities, knowledge = [], {}
    for entry in roster:
        draft = drafts.get(entry.id)
        profile = profiles[entry.id]
        merged = _merge(entry, draft, profile)
        entities.append(merged.model_copy(update={"resolution": floor}))
        knowledge[entry.id] = list(
            entry.knowledge or profile.get("knowledge") or (draft.knowledge if draft else [])
        )
    return Population(entities, knowledge, populated=len(asked), named=len(crowd))


def _named(entry: RosterEntity, crowd: CrowdName | None, full: bool) -> RosterEntity:
    """``entry`` with its crowd name; its line of description too, unless the model writes a
    fuller one (``full``)."""
    if crowd is None:
        return entry
    update = (
        {"name": crowd.name} if full else {"name": crowd.name, "description": crowd.description}
    )
    return entry.model_copy(update=update)


def _merge(entry: RosterEntity, draft: EntityDraft | None, profile: dict[str, Any]) -> Entity:
    def pick(field: str, default: Any) -> Any:
        for value in (
            getattr(entry, field, None),
            profile.get(field),
            getattr(draft, field, None) if draft else None,
        ):
            if value:
                return value
        return default

    return Entity(
        id=entry.id,
        name=pick("name", display_id(entry.id)),
        kind=EntityKind(profile.get("kind", entry.kind)),
        role=EntityRole(profile.get("role", entry.role)),
        description=pick("description", ""),
        traits=pick("traits", {}),
        voice=pick("voice", ""),
        goals=pick("goals", []),
        constraints=list(entry.constraints),
        physical=entry.physical or PhysicalState.model_validate(profile.get("physical", {})),
        cognitive=entry.cognitive or CognitiveState.model_validate(profile.get("cognitive", {})),
        profile_source=f"profile:{entry.profile}"
        if entry.profile
        else "generated"
        if draft
        else "scenario",
    )


def _scenario_brief(scenario: Scenario) -> dict[str, str]:
    return {
        "title": scenario.title,
        "description": scenario.description,
        "location": scenario.timepoints.location,
    }
