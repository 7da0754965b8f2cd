"""M9 on-demand entities: a crowd member a question or generated text mentions is created in the
scene, at low resolution, knowing exactly what it witnessed there."""

from __future__ import annotations

import pytest

import timepoint as tp
from timepoint.llm.base import ActionType, Completion, Request
from timepoint.llm.drafts import EventDraft
from timepoint.llm.offline import OfflineModel
from timepoint.llm.task_data import read_task_data
from timepoint.settings import Settings
from timepoint.synthesis.crowd import PLACEHOLDER
from timepoint.synthesis.on_demand import CrowdMemberDraft
from timepoint.world import EntityRole, ExposureKind, ResolutionLevel
from timepoint.world.references import unknown_references

from .conftest import JEFFERSON


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("What did attendee_47 see?", ["attendee_47"]),
        ("Ask Guest 3 and guest #4 about it", ["guest_3", "guest_4"]),
        ("At tp_001 Hamilton spoke", []),
        ("madison_2 is already known", []),
        ("The fact f_1234abcd and dlg_tp_000 are records, not people", []),
    ],
)
def test_numbered_crowd_members_are_recognised(text, found):
    assert unknown_references(text, {"madison_2", "hamilton"}) == found


def test_offline_crowd_member_is_drawn_from_the_scene():
    import random

    context = {
        "noun": "attendee",
        "location": "Jefferson's rooms",
        "crowd_size": 12,
        "mood": "tense",
        "event": "Over wine the three argue about assumption",
    }
    draft = CrowdMemberDraft.model_validate(
        CrowdMemberDraft.offline_answer(context, random.Random(3))
    )
    assert "Jefferson's rooms" in draft.description and "12" in draft.description
    assert "assumption" in draft.description and draft.vantage
    taken = {"Thomas Jefferson", "James Madison"}
    named = CrowdMemberDraft.offline_answer(
        {**context, "period": "1790-06-20", "taken": taken}, random.Random(3)
    )
    assert named["name"] not in taken and " " in named["name"]


def test_a_crowd_member_given_a_numbered_label_is_refused():
    with pytest.raises(ValueError, match="numbered label"):
        CrowdMemberDraft(name="Attendee 47", description="d", vantage="v")


def test_asking_about_a_crowd_member_creates_it_where_it_could_have_been(tmp_path):
    run = tp.run(JEFFERSON, settings=Settings(home=tmp_path / "runs"))
    answer = run.ask("What did attendee_47 see at the second timepoint?")
    record = run.record
    entity = next(e for e in record.entities if e.id == "attendee_47")
    assert entity.on_demand and entity.role is EntityRole.BACKGROUND
    assert entity.resolution is ResolutionLevel.SCENE
    assert not PLACEHOLDER.match(entity.name) and entity.name != "Attendee 47"
    assert entity.name not in {e.name for e in record.entities if e.id != "attendee_47"}
    location = record.timepoints[0].location
    assert location in entity.description
    present = [t.id for t in record.timepoints if "attendee_47" in t.entities_present]
    assert present == ["tp_000", "tp_001"], "present up to the moment asked about, not after"
    assert all("attendee_47" in s.present for s in record.scenes if s.timepoint_id in present)
    cells = {c.timepoint_id: c.resolution for c in record.fidelity if c.entity_id == "attendee_47"}
    assert cells == {
        "tp_000": ResolutionLevel.SCENE,
        "tp_001": ResolutionLevel.SCENE,
        "tp_002": ResolutionLevel.TENSOR_ONLY,
    }
    exposures = [e for e in record.exposures if e.entity_id == "attendee_47"]
    assert exposures and all(e.kind is ExposureKind.WITNESSED for e in exposures)
    seen = {e.fact_text for e in exposures}
    expected = {t.event.strip() for t in record.timepoints[:2]} | {
        f for t in record.timepoints[:2] for f in t.key_facts
    }
    assert seen == expected
    assert {e.fact_id for e in run.knowledge_at("attendee_47", "tp_001")} == {
        e.fact_id for e in exposures
    }
    assert answer.entity_id == "attendee_47" and answer.kind == "witnessed"
    assert answer.elevated == ["attendee_47: created on demand at tp_001 (scene)"]
    assert answer.citations and set(answer.citations) <= {e.fact_id for e in exposures}
    assert "attendee_47" in record.evidence.tensors.entities, "projected with the codebook"
    ledger = {e.mechanism: e.counts for e in record.mechanisms}
    assert ledger["M9"] == {"entities created": 1, "witnessed exposures": len(exposures)}
    assert record.usage.on_demand_tokens == answer.tokens


class MentioningModel:
    """The offline model, except that the event at the second step mentions a servant."""

    def __init__(self) -> None:
        self.inner = OfflineModel(seed=0)

    @property
    def provider(self) -> str:
        return "offline"

    def complete(self, request: Request) -> Completion:
        completion = self.inner.complete(request)
        draft = completion.parsed
        task = read_task_data(request.messages)
        second_event = request.action is ActionType.TEMPORAL_REASONING and (
            task is not None and task.data.get("index") == 1
        )
        if second_event and isinstance(draft, EventDraft):
            draft = draft.model_copy(
                update={"event": draft.event + " Servant_12 refills the glasses."}
            )
            completion = completion.model_copy(
                update={"parsed": draft, "text": draft.model_dump_json()}
            )
        return completion


def test_a_crowd_member_mentioned_in_generated_text_is_created_at_generation(tmp_path):
    run = tp.run(JEFFERSON, model=MentioningModel(), settings=Settings(home=tmp_path / "runs"))
    record = run.record
    servant = next(e for e in record.entities if e.id == "servant_12")
    assert servant.on_demand
    assert [t.id for t in record.timepoints if "servant_12" in t.entities_present] == [
        "tp_000",
        "tp_001",
    ]
    assert any("Servant_12" in e.fact_text for e in record.exposures if e.entity_id == "servant_12")
    assert record.usage.on_demand_tokens == 0, "created during generation, not for a question"
    assert {e.mechanism: e.counts for e in record.mechanisms}["M9"]["entities created"] == 1
