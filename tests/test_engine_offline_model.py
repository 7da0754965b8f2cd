from pydantic import BaseModel

from timepoint.llm.base import ActionType, Message, Request
from timepoint.llm.drafts import DialogDraft, EventDraft
from timepoint.llm.offline import OfflineModel
from timepoint.llm.task_data import read_task_data, task_request, with_task_data

PARTICIPANTS = [
    {
        "id": "ada",
        "name": "Ada Lovelace",
        "voice": "precise",
        "strain": 0.0,
        "known": [
            {"id": "f_1", "text": "The engine can compute Bernoulli numbers", "kind": "fact"}
        ],
        "unknown": [{"id": "f_2", "text": "The funding was withdrawn", "kind": "fact"}],
    },
    {
        "id": "charles",
        "name": "Charles Babbage",
        "voice": "gruff",
        "strain": 0.8,
        "known": [{"id": "f_2", "text": "The funding was withdrawn", "kind": "fact"}],
        "unknown": [
            {"id": "f_1", "text": "The engine can compute Bernoulli numbers", "kind": "fact"}
        ],
    },
]


def dialog_request(**data) -> Request:
    return task_request(
        ActionType.DIALOG_SYNTHESIS,
        DialogDraft,
        system="You write dialog.",
        prose="talk",
        data={"participants": PARTICIPANTS, "turns": 4, **data},
        seed=None,
        max_tokens=500,
    )


def test_same_seed_same_answer_and_different_seed_differs():
    request = dialog_request()
    assert (
        OfflineModel(seed=1).complete(request).text == OfflineModel(seed=1).complete(request).text
    )
    texts = {OfflineModel(seed=s).complete(request).text for s in range(5)}
    assert len(texts) > 1


def test_dialog_is_between_participants_and_uses_known_facts():
    completion = OfflineModel(seed=3).complete(dialog_request())
    draft = completion.parsed
    assert isinstance(draft, DialogDraft)
    assert completion.provider == "offline"
    assert {t.speaker for t in draft.turns} == {"ada", "charles"}
    known = {p["id"]: {f["id"] for f in p["known"]} for p in PARTICIPANTS}
    for turn in draft.turns:
        assert set(turn.knowledge_refs) <= known[turn.speaker]
    assert any("Bernoulli" in t.text for t in draft.turns)
    strained = [t for t in draft.turns if t.speaker == "charles"]
    assert all(t.tone == "strained" for t in strained)


def test_leak_rate_plants_recorded_leaks_and_repair_suppresses_them():
    model = OfflineModel(seed=0, leak_rate=1.0)
    draft = model.complete(dialog_request()).parsed
    known = {p["id"]: {f["id"] for f in p["known"]} for p in PARTICIPANTS}
    leaked = [
        (t.speaker, r) for t in draft.turns for r in t.knowledge_refs if r not in known[t.speaker]
    ]
    assert leaked and len(leaked) == len(model.planted_leaks)
    repaired = OfflineModel(seed=0, leak_rate=1.0).complete(dialog_request(repair=True)).parsed
    assert all(set(t.knowledge_refs) <= known[t.speaker] for t in repaired.turns)


def test_the_answer_comes_from_the_prompt_alone():
    request = dialog_request()
    block = read_task_data(request.messages)
    assert block is not None and block.task == "dialog_synthesis" and block.answer == "DialogDraft"
    assert block.data["participants"][1]["strain"] == 0.8
    calm = [{**p, "strain": 0.0} for p in PARTICIPANTS]
    turns = OfflineModel(seed=3).complete(dialog_request(participants=calm)).parsed.turns
    assert "strained" not in {t.tone for t in turns}, "the strain came from the prompt"
    plain = Request(messages=(Message(role="user", content="Hello there"),))
    assert OfflineModel().complete(plain).text.startswith("Considering")


def test_a_follow_up_block_adds_to_the_first():
    request = dialog_request()
    follow_up = Message(
        role="user", content=with_task_data("Again, without leaks.", "dialog_synthesis", {"x": 1})
    )
    merged = read_task_data((*request.messages, follow_up))
    assert merged is not None and merged.answer == "DialogDraft"
    assert merged.data["x"] == 1 and merged.data["turns"] == 4


def test_usage_follows_the_documented_estimate():
    request = dialog_request()
    completion = OfflineModel().complete(request)
    chars = sum(len(m.content) for m in request.messages)
    assert completion.usage.prompt_tokens == sum(
        (len(m.content) + 3) // 4 for m in request.messages
    )
    assert completion.usage.prompt_tokens >= chars // 4
    assert completion.usage.completion_tokens == (len(completion.text) + 3) // 4


def test_event_names_candidates_and_schema_offline_twin():
    request = task_request(
        ActionType.TEMPORAL_REASONING,
        EventDraft,
        system="You advance simulations.",
        prose="next",
        data={
            "scenario": {"title": "Tea", "location": "the garden"},
            "index": 0,
            "count": 2,
            "candidates": [
                {"id": "a", "name": "Alice", "role": "primary"},
                {"id": "h", "name": "Hatter", "role": "primary"},
            ],
        },
        seed=None,
        max_tokens=300,
    )
    draft = OfflineModel().complete(request).parsed
    assert set(draft.present) == {"a", "h"}
    assert "Alice" in draft.event and "the garden" in draft.event

    class Verdict(BaseModel):
        score: float

        @classmethod
        def offline_answer(cls, context, rng):
            return {"score": context["base"] + rng.random() / 10}

    verdict = (
        OfflineModel()
        .complete(
            task_request(
                ActionType.GENERAL,
                Verdict,
                system="You judge.",
                prose="judge",
                data={"base": 0.5},
                seed=None,
                max_tokens=50,
            )
        )
        .parsed
    )
    assert 0.5 <= verdict.score <= 0.6
