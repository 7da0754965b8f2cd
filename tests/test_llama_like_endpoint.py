"""Every showcase scenario completes honestly against an endpoint that behaves like a small local
llama.cpp server: it drops system messages, constrains output only in the ``json_object`` +
``schema`` dialect (refusing ``json_schema`` with HTTP 500), compiles no numeric bounds and no
enums into its grammar, answers one request at a time, and lets the model name some speakers by
their display names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import timepoint as tp
from timepoint.commands.offline_server import offline_endpoint
from timepoint.llm.base import Message
from timepoint.llm.task_data import read_task_data
from timepoint.settings import Settings

from .conftest import SCENARIOS
from .llm_stub_server import Reply, StubServer, chat, error

SHOWCASE = sorted((SCENARIOS / "showcase").glob("*.yaml"))
SERVED = "gemma-3-270m"


class LlamaLike:
    """The answering side of the fake server: the offline model behind llama.cpp's habits."""

    def __init__(self) -> None:
        self.offline = offline_endpoint()
        self.forms: list[str] = []
        self.renamed = 0

    def __call__(self, body: dict[str, Any]) -> Reply:
        fmt = body.get("response_format") or {}
        form = fmt.get("type", "prompt") + ("+schema" if "schema" in fmt else "")
        self.forms.append(form)
        if form.startswith("json_schema"):
            return error(500, "Unsupported response_format type: json_schema")
        messages = [m for m in body["messages"] if m["role"] != "system"]
        answer = self.offline.answer({**body, "messages": messages})
        content = answer["choices"][0]["message"]["content"]
        if form == "json_object+schema":
            content = self._sampled_under(fmt["schema"], json.loads(content), messages)
        elif form == "json_object":
            content = json.dumps({"reply": "Happy to help with that."})  # free JSON, no schema
        return chat(content, **_usage(answer))

    def _sampled_under(self, schema: dict, value: Any, messages: list[dict]) -> str:
        """What a grammar without enums or bounds lets a small model write."""
        task = read_task_data(Message(**m) for m in messages)
        names = {
            p["id"]: p["name"]
            for p in (task.data.get("participants", []) if task else [])
            if p.get("name")
        }
        for n, turn in enumerate(value.get("turns", []) if isinstance(value, dict) else []):
            if n % 3 == 1 and turn.get("speaker") in names:
                turn["speaker"] = names[turn["speaker"]]
                self.renamed += 1
        _assert_bounds_are_enums(schema)
        return json.dumps(value)


def _usage(answer: dict) -> dict[str, int]:
    usage = answer["usage"]
    return {
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
    }


def _assert_bounds_are_enums(schema: Any) -> None:
    """A grammar ignores ``minimum``/``maximum``: every bounded number must be an ``enum``."""
    if isinstance(schema, dict):
        if schema.get("type") in ("number", "integer") and (
            "minimum" in schema or "maximum" in schema
        ):
            assert "enum" in schema, f"a bounded number a grammar cannot enforce: {schema}"
        for child in schema.values():
            _assert_bounds_are_enums(child)
    elif isinstance(schema, list):
        for child in schema:
            _assert_bounds_are_enums(child)


@pytest.mark.parametrize("path", SHOWCASE, ids=[p.stem for p in SHOWCASE])
def test_a_showcase_scenario_completes_against_a_llama_like_server(path: Path, tmp_path: Path):
    fake = LlamaLike()
    with StubServer(default=fake, models=[{"id": SERVED, "object": "model"}], serial=True) as s:
        settings = Settings(home=tmp_path, base_url=s.url, api_key=SecretStr("local"))
        record = tp.run(path, settings=settings).record
        asked_for = {r.body.get("model") for r in s.requests}
    assert record.status == "completed", record.error
    assert record.dialogs and all(d.turns for d in record.dialogs), "no dialog is empty"
    failed = [v for v in record.validation if v.validator in ("grounded_ids", "dialog_turns")]
    assert not [v for v in failed if not v.ok], "nothing was dropped"
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    mapped = sum(counts.get("names mapped to ids", 0) for counts in ledger.values())
    assert mapped == fake.renamed > 0, "every display name was mapped back to its id"
    assert record.usage.cost_usd == 0.0, "a local model costs nothing"
    assert asked_for == {SERVED} and set(record.usage.by_model) == {SERVED}
    assert fake.forms.count("json_schema") == 1, "the refused dialect is remembered"
    assert set(fake.forms) == {"json_schema", "json_object+schema"}
