"""Generated entities (``entities.count`` beyond the roster) get proper names from one call (M1)."""

from __future__ import annotations

import random
import re

import pytest

import timepoint as tp
from timepoint.batch.call_count import planned_calls
from timepoint.errors import StructuredOutputError
from timepoint.llm.base import ActionType
from timepoint.llm.drafts import CrowdNamesDraft
from timepoint.llm.offline import OfflineModel
from timepoint.llm.offline_names import FORMS, crowd_names
from timepoint.llm.structured import StructuredModel
from timepoint.llm.task_data import read_task_data
from timepoint.llm.testing import ScriptedModel
from timepoint.scenario.schema import Scenario
from timepoint.synthesis.crowd import crowd_request, display_id, naming_problems
from timepoint.synthesis.population import expected_level, generated_entries
from timepoint.world import EntityKind, ResolutionLevel

KINDS = "|".join(kind.value.title() for kind in EntityKind)
PLACEHOLDER = re.compile(rf"^({KINDS}) \d+$")

FAIR = {
    "id": "county_fair",
    "title": "The county fair",
    "description": "Farmers and traders haggle over the price of grain at the autumn fair.",
    "seed": 3,
    "entities": {
        "count": 8,
        "roster": [
            {"id": "ada", "name": "Ada Finch", "role": "primary"},
            {"id": "bo", "role": "primary"},
        ],
    },
    "timepoints": {
        "count": 1,
        "start": "1790-09-20T10:00:00-04:00",
        "location": "the Hartford green",
    },
}


def test_a_crowd_beyond_the_roster_runs_with_proper_distinct_names_from_one_extra_call(settings):
    scenario = Scenario.model_validate(FAIR)
    run = tp.run(scenario, settings=settings)
    entities = run.record.entities
    assert len(entities) == 8
    names = [e.name for e in entities]
    assert len({n.casefold() for n in names}) == 8, names
    for entity in entities:
        assert not PLACEHOLDER.match(entity.name), entity.name
        assert entity.name not in (entity.id, display_id(entity.id)) or entity.id == "bo"
    generated = {e.id for e in generated_entries(scenario)}
    assert all(e.description for e in entities if e.id in generated)

    roster = [*scenario.entities.roster, *generated_entries(scenario)]
    full = [r for r in roster if expected_level(r, scenario) >= ResolutionLevel.GRAPH]
    assert 0 < len(full) < len(roster), "some entities are left to the naming call (M1)"
    calls = run.record.usage.by_action["entity_population"].calls
    assert calls == len(full) + 1
    assert calls == planned_calls(scenario)[ActionType.ENTITY_POPULATION]
    (m1,) = [m for m in run.record.mechanisms if m.mechanism == "M1"]
    assert m1.counts["entities populated by the model"] == len(full)
    assert m1.counts["generated entities named in one call"] == 6


def test_a_roster_that_fills_the_count_makes_no_naming_call(settings):
    scenario = Scenario.model_validate({**FAIR, "entities": {**FAIR["entities"], "count": 2}})
    run = tp.run(scenario, settings=settings)
    assert run.record.usage.by_action["entity_population"].calls == 2


def test_the_naming_prompt_says_the_place_and_period_and_the_offline_answer_is_deterministic():
    scenario = Scenario.model_validate(FAIR)
    request = crowd_request(scenario, generated_entries(scenario), seed=3)
    prose = request.messages[-1].content.split("\n\nThe same facts")[0]
    assert prose == (
        "Scenario: The county fair. Farmers and traders haggle over the price of grain at the "
        "autumn fair.\n"
        "Setting: the Hartford green, from 1790-09-20 (year 1790).\n"
        "Besides the named cast, 6 more entities are present:\n"
        "1. a secondary human\n2. a secondary human\n3. a background human\n"
        "4. a background human\n5. a background human\n6. a background human\n"
        "Give each, in this order, a distinct proper name that fits this place and period (a "
        "person's given name and surname as people there and then were named; a building's, "
        "animal's or thing's own name), and one line saying who or what it is. No numbered "
        "labels or ids, and none of the names already taken: Ada Finch, Bo."
    )
    task = read_task_data(request.messages)
    assert task is not None and task.answer == "CrowdNamesDraft"
    assert task.data["scenario"]["period"] == "1790-09-20"
    first = OfflineModel(seed=0).complete(request)
    assert first.text == OfflineModel(seed=0).complete(request).text
    assert first.text != OfflineModel(seed=1).complete(request).text
    assert isinstance(first.parsed, CrowdNamesDraft)
    assert len(first.parsed.names) == 6


def test_an_answer_with_repeated_or_placeholder_names_is_asked_again():
    scenario = Scenario.model_validate(FAIR)
    request = crowd_request(scenario, generated_entries(scenario)[:3], seed=0)
    bad = '{"names": [{"name": "Human 3"}, {"name": "Ann Lee"}, {"name": "ann  lee"}]}'
    good = '{"names": [{"name": "Ann Lee"}, {"name": "Tom Reed"}, {"name": "Meg Hale"}]}'
    scripted = ScriptedModel([bad, good])
    answer = StructuredModel(scripted).complete(request)
    assert [n.name for n in answer.parsed.names] == ["Ann Lee", "Tom Reed", "Meg Hale"]
    reask = scripted.requests[1].messages[-1].content
    assert "'Human 3' is a numbered label" in reask
    assert "'ann  lee' repeats an earlier name" in reask

    taken = '{"names": [{"name": "Ada Finch"}, {"name": "Tom Reed"}, {"name": "Meg Hale"}]}'
    with pytest.raises(StructuredOutputError, match="another entity"):
        StructuredModel(ScriptedModel([taken]), max_reasks=0).complete(request)


def test_naming_problems_names_each_fault():
    assert naming_problems(["Ann Lee", "Tom Reed"], 2, ["Ada Finch"]) == []
    assert naming_problems(["Ann Lee"], 2, []) == [
        "1 names given; exactly 2 are needed, one per entity, in order"
    ]
    assert naming_problems(["guest_12", "Human 5"], 2, []) == [
        "names[0]: 'guest_12' is a numbered label, not a name",
        "names[1]: 'Human 5' is a numbered label, not a name",
    ]


@pytest.mark.parametrize("kind", [*FORMS, "any"])
def test_the_offline_pools_give_every_kind_a_full_crowd_of_distinct_names(kind):
    entities = [{"id": f"{kind}_{n}", "kind": kind, "role": "background"} for n in range(497)]
    cast = ["bess", "daniel", "old_mill"]  # ids that are names in the pools, named otherwise
    data = {
        "scenario": {"location": "the quay", "period": "2020-05-01"},
        "entities": entities,
        "taken": ["Daniel Okafor", "Bess Walker", "Mill Owner"],
        "ids": [*cast, *(e["id"] for e in entities)],
    }
    answer = crowd_names(data, random.Random(0), 0.0)
    names = [n["name"] for n in answer["names"]]
    assert len(names) == 497
    ids = data["ids"]
    reserved = [*data["taken"], *ids, *(display_id(i) for i in ids)]
    assert naming_problems(names, 497, reserved) == []
