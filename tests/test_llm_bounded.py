"""Bounded numbers travel as whole percentages: an enum in the schema sent, a float inside."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

import timepoint as tp
from timepoint.commands.offline_server import answer_schemas
from timepoint.llm.drafts import EntityDraft, EventDraft
from timepoint.llm.json_extract import parse_as
from timepoint.synthesis.animism import AnimisticBehaviorDraft
from timepoint.synthesis.prospection import ProspectionDraft
from timepoint.time.modes.portal_drafts import StateJudgement

from .conftest import JEFFERSON

EVENT = {"event": "They dine.", "present": ["madison"], "key_facts": []}


def test_the_schema_sent_admits_only_whole_percentages():
    importance = EventDraft.model_json_schema()["properties"]["importance"]
    assert importance["type"] == "integer" and importance["enum"] == list(range(101))
    assert "minimum" not in importance, "the enum, not bounds a grammar ignores"
    traits = EntityDraft.model_json_schema()["properties"]["traits"]["additionalProperties"]
    assert traits["enum"] == list(range(-100, 101))
    effect = AnimisticBehaviorDraft.model_json_schema()["properties"]["tension_effect"]
    assert effect["enum"] == list(range(-30, 31)) and effect["default"] == 0
    expectation = ProspectionDraft.model_json_schema()["$defs"]["ExpectationDraft"]
    assert expectation["properties"]["confidence"]["default"] == 50


def test_every_bounded_number_in_an_answer_is_sent_as_an_enum():
    def numbers(schema: dict) -> list[dict]:
        found = []
        for node in [schema, *schema.get("$defs", {}).values()]:
            for prop in node.get("properties", {}).values():
                for leaf in (prop, prop.get("additionalProperties") or {}, prop.get("items") or {}):
                    if isinstance(leaf, dict) and leaf.get("type") in ("number", "integer"):
                        found.append(leaf)
        return found

    for name, cls in answer_schemas().items():
        for leaf in numbers(cls.model_json_schema()):
            assert "enum" in leaf, f"{name} has a number a grammar cannot bound: {leaf}"


def test_a_percentage_becomes_the_engine_share():
    draft = EventDraft.model_validate({**EVENT, "importance": 73})
    assert draft.importance == 0.73
    assert json.loads(draft.model_dump_json())["importance"] == 73, "the wire form round-trips"
    assert draft.model_dump()["importance"] == 0.73
    assert EventDraft.model_validate({**EVENT, "importance": "73%"}).importance == 0.73
    judgement = StateJudgement.model_validate(
        {"plausibility": 5, "precedent": 100, "reasoning": "."}
    )
    assert (judgement.plausibility, judgement.precedent) == (0.05, 1.0)


@pytest.mark.parametrize(
    ("value", "says"),
    [(127, "outside 0..100"), (0.73, "whole percentage"), (-3, "outside 0..100"), (True, "whole")],
)
def test_what_no_percentage_means_is_rejected_with_what_to_write(value, says):
    with pytest.raises(ValidationError, match=says):
        EventDraft.model_validate({**EVENT, "importance": value})
    parsed, problems = parse_as(EventDraft, json.dumps({**EVENT, "importance": value}))
    assert parsed is None and any("73 for 0.73" in p for p in problems), "the re-ask says how"


def test_runs_in_process_and_over_http_agree(tmp_path, offline_endpoint):
    from pydantic import SecretStr

    from timepoint.settings import Settings

    local = tp.run(JEFFERSON, settings=Settings(home=tmp_path / "a")).record
    remote = tp.run(
        JEFFERSON,
        settings=Settings(
            home=tmp_path / "b", base_url=offline_endpoint.url, api_key=SecretStr("x")
        ),
    ).record
    assert [t.importance for t in local.timepoints] == [t.importance for t in remote.timepoints]
    assert all(0 <= t.importance <= 1 for t in local.timepoints)
    assert [e.traits for e in local.entities] == [e.traits for e in remote.entities]
    turns = [[(t.speaker, t.text) for t in d.turns] for d in local.dialogs]
    assert turns == [[(t.speaker, t.text) for t in d.turns] for d in remote.dialogs]
