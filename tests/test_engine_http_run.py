"""A whole run against a real OpenAI-compatible server on 127.0.0.1, and where the key goes."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import SecretStr

import timepoint as tp
from timepoint.settings import Settings

from .conftest import JEFFERSON
from .llm_stub_server import Reply, StubServer, chat

KEY = "sk-test-PLANTED-KEY-7f3a9c1e5b"


def scenario_aware_answer(body: dict[str, Any]) -> Reply:
    """Answer from the JSON schema's properties and the ids the prompt lists."""
    schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
    fields = set(schema.get("properties", {}))
    prompt = "\n".join(m["content"] for m in body["messages"])
    ids = re.findall(r"^- (\w+) \(", prompt, re.M)
    facts = re.findall(r"\[(f_[0-9a-f]{8})\]", prompt)
    if "turns" in fields:
        answer: dict[str, Any] = {
            "turns": [
                {
                    "speaker": ids[0],
                    "text": "We must settle the debts.",
                    "tone": "earnest",
                    "knowledge_refs": facts[:1],
                },
                {
                    "speaker": ids[-1],
                    "text": "Then let us talk of the capital.",
                    "tone": "wry",
                    "knowledge_refs": [],
                },
            ]
        }
    elif "event" in fields:
        answer = {
            "event": "The guests sit down to dinner and argue over the debts.",
            "importance": 70,
            "present": ["jefferson", "hamilton", "madison"],
            "key_facts": ["The guests agreed to meet again after dinner"],
        }
    elif "summary" in fields:
        answer = {"summary": "A dinner that traded debts for a capital."}
    else:
        answer = {
            "name": "Someone",
            "description": "A guest.",
            "traits": {},
            "knowledge": [],
            "voice": "plain",
            "goals": [],
        }
    return chat(json.dumps(answer), prompt_tokens=120, completion_tokens=40, cost=0.0004)


def test_run_against_loopback_endpoint_never_writes_the_key(tmp_path):
    with StubServer(default=scenario_aware_answer) as server:
        # the first answer echoes the key (and a truncated copy) in text that is no JSON: the
        # call is re-asked, and its response is kept with the call's prompt, redacted
        server.push(chat(f"I cannot answer; your key {KEY} (or {KEY[:14]}…) is odd", 50, 20))
        settings = Settings(home=tmp_path / "runs", base_url=server.url, api_key=SecretStr(KEY))
        run = tp.run(JEFFERSON, settings=settings)
        auth = {r.headers.get("Authorization") for r in server.requests}
    assert auth == {f"Bearer {KEY}"}, "the key is sent, and only in the Authorization header"
    assert run.record.status == "completed"
    assert run.record.provider != "offline"
    assert run.record.usage.calls == len(server.requests)
    texts = run.store.call_texts(run.run_id)
    assert len(texts) == len(server.requests), "every call's prompt and response are kept"
    assert texts[0].response == "I cannot answer; your key [redacted] (or [redacted]…) is odd"
    assert run.record.usage.cost_usd > 0
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "run.json" for p in written)
    assert any(p.suffix == ".db" for p in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), f"key leaked into {path}"
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())
    calls = [json.loads(line) for line in (run.folder / "llm_calls.jsonl").read_text().splitlines()]
    assert {call["structured_mode"] for call in calls} == {"json_schema"}
    assert {call["model"] for call in calls} == {"stub-model"}, "attributed to the served model"


def test_rerun_with_same_seed_replays_from_cache(tmp_path):
    with StubServer(default=scenario_aware_answer) as server:
        settings = Settings(home=tmp_path / "runs", base_url=server.url, api_key=SecretStr(KEY))
        first = tp.run(JEFFERSON, settings=settings)
        calls_after_first = len(server.requests)
        second = tp.run(JEFFERSON, settings=settings)
        assert len(server.requests) == calls_after_first
    assert second.record.usage.cache_hits == second.record.usage.calls > 0
    assert second.record.usage.prompt_tokens + second.record.usage.completion_tokens == 0
    assert [t.event for t in second.record.timepoints] == [t.event for t in first.record.timepoints]
