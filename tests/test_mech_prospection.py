"""M15 prospection: planners form expectations that shape their words and are then scored."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

import timepoint as tp
from timepoint.llm.base import ActionType
from timepoint.llm.testing import ScriptedModel
from timepoint.scenario.schema import Scenario
from timepoint.synthesis.prospection import ProspectionDraft, anxiety
from timepoint.world import Expectation
from timepoint.world.exposure import fact_id


def negotiation(m15: dict | None = None, count: int = 3) -> Scenario:
    """A buyer who plans, a seller who does not, and a broker."""
    people = (
        ("buyer", "Ines Vale", "The buyer's budget is capped at two million", True),
        ("seller", "Omar Reed", "The seller must close before the year ends", False),
        ("broker", "Pia Lund", "A rival bid arrived on Friday", False),
    )
    return Scenario.model_validate(
        {
            "id": "negotiation",
            "title": "Closing the deal",
            "description": "A buyer and a seller haggle over a warehouse.",
            "entities": {
                "count": 3,
                "initial_resolution": "dialog",
                "roster": [
                    {
                        "id": key,
                        "name": name,
                        "role": "primary",
                        "description": "A party to the deal.",
                        "traits": {"conscientiousness": 0.1},
                        "knowledge": [fact],
                        "goals": ["buy the warehouse below asking"] if plans else [],
                        "plans": plans,
                        "cognitive": {"risk_tolerance": 0.2, "confidence": 0.5},
                    }
                    for key, name, fact, plans in people
                ],
                "relations": [{"a": "buyer", "b": "seller", "kind": "rival"}],
            },
            "timepoints": {"count": count, "start": "2025-09-09T10:00:00+00:00"},
            "mechanisms": {"settings": {"m15": m15 or {}}},
        }
    )


def test_anxiety_follows_the_reference_formula():
    feared = Expectation(event="a", probability=0.8, desired=False, confidence=0.4)
    hoped = Expectation(event="b", probability=0.3, desired=True, confidence=0.9)
    risk_tolerance = 0.25
    first = 0.3 * abs(2 * 0.8 - 1) + 0.5 * (0.75 * 0.8) + 0.2 * (1 - 0.4)
    second = 0.3 * abs(2 * 0.3 - 1) + 0.5 * (0.75 * 0.7) + 0.2 * (1 - 0.9)
    assert anxiety([feared, hoped], risk_tolerance) == pytest.approx((first + second) / 2, abs=1e-4)
    assert anxiety([], 0.5) == 0.0


def test_offline_answer_is_derived_from_the_context():
    context = {
        "entity": {"id": "buyer", "name": "Ines Vale", "goals": ["buy low"], "confidence": 0.5},
        "known": [{"id": "f_1", "text": "A rival bid arrived on Friday", "kind": "fact"}],
        "others": [{"id": "seller", "name": "Omar Reed", "relation": "rival"}],
        "tension": 0.5,
        "location": "the warehouse",
    }
    draft = ProspectionDraft.model_validate(
        ProspectionDraft.offline_answer(context, random.Random(1))
    )
    kinds = {(e.kind, e.subject) for e in draft.expectations}
    assert ("raises", "f_1") in kinds and ("speaks", "seller") in kinds
    speaks = next(e for e in draft.expectations if e.kind == "speaks")
    assert "Omar Reed" in speaks.event and speaks.desired is False  # a rival pressing is feared
    assert any("Omar Reed" in c for c in draft.contingencies)


def test_planners_form_expectations_that_are_scored_against_the_next_moment(settings):
    record = tp.run(negotiation(), settings=settings).record
    states = {p.timepoint_id: p for p in record.prospection}
    assert {p.entity_id for p in record.prospection} == {"buyer"}
    assert list(states) == [t.id for t in record.timepoints]
    buyer = next(e for e in record.entities if e.id == "buyer")
    for state in states.values():
        assert state.anxiety == anxiety(state.expectations, buyer.cognitive.risk_tolerance)
    ids = [t.id for t in record.timepoints]
    scored = []
    for earlier, later in pairwise(ids):
        dialog = next(d for d in record.dialogs if d.timepoint_id == later)
        refs = {r for t in dialog.turns for r in t.knowledge_refs}
        refs |= {fact_id(k) for k in record.timepoints[ids.index(later)].key_facts}
        speakers = {t.speaker for t in dialog.turns}
        for e in states[earlier].expectations:
            if e.kind == "raises":
                assert e.fulfilled == (e.subject in refs)
            elif e.kind == "speaks":
                assert e.fulfilled == (e.subject in speakers)
            assert e.fulfilled is not None
            scored.append(e)
    assert all(e.fulfilled is None for e in states[ids[-1]].expectations)
    accuracy = record.evidence.expectation_accuracy["buyer"]
    assert accuracy.scored == len(scored)
    assert accuracy.fulfilled == sum(bool(e.fulfilled) for e in scored)
    brier = sum((e.probability - float(e.fulfilled)) ** 2 for e in scored) / len(scored)
    assert accuracy.brier == pytest.approx(brier, abs=1e-4)
    counts = next(m.counts for m in record.mechanisms if m.mechanism == "M15")
    assert counts["expectations scored"] == len(scored)


def test_expectations_reach_the_planners_prompt_and_voice(settings, channel_model):
    model = ScriptedModel([channel_model.complete], repeat_last=True, provider="offline")
    run = tp.run(negotiation({"anxious_threshold": 0.05}, count=2), model=model, settings=settings)
    prompts = [
        r.messages[-1].content for r in model.requests if r.action is ActionType.DIALOG_SYNTHESIS
    ]
    first = run.record.prospection[0].expectations[0]
    assert any(f"expects: {first.event}" in p for p in prompts)
    assert all("leans anxious in tone" in p for p in prompts), "the prompt asks for the tone"
    turns = [t for d in run.record.dialogs for t in d.turns]
    assert {t.tone for t in turns if t.speaker == "buyer"} == {"anxious"}
    assert "anxious" not in {t.tone for t in turns if t.speaker != "buyer"}


def test_planners_can_be_chosen_by_role_or_trait(settings):
    by_role = tp.run(negotiation({"roles": ["primary"]}, count=1), settings=settings).record
    assert {p.entity_id for p in by_role.prospection} == {"buyer", "seller", "broker"}
    by_trait = tp.run(
        negotiation({"trait_threshold": 0.05}, count=1), settings=settings
    ).record  # every entity has conscientiousness 0.1
    assert len(by_trait.prospection) == 3
    one_each = tp.run(
        negotiation({"roles": ["primary"], "expectations_per_entity": 1}, count=1),
        settings=settings,
    ).record
    assert [len(p.expectations) for p in one_each.prospection] == [1, 1, 1]
