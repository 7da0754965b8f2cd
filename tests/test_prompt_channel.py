"""The prompt is the only channel: runs over HTTP match in-process runs, and effects vanish with
the prompt section that carries them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from statistics import mean

import httpx
import pytest
from pydantic import SecretStr

import timepoint as tp
from timepoint.llm.base import ActionType, Completion, LanguageModel, Message, Request
from timepoint.llm.offline_server import OfflineServer
from timepoint.llm.task_data import read_task_data, with_task_data
from timepoint.settings import Settings
from timepoint.world.record import RunRecord

from .conftest import JEFFERSON, SCENARIOS
from .test_mech_prospection import negotiation

SHOWCASE = sorted((SCENARIOS / "showcase").glob("*.yaml"))
HOSPITAL = SCENARIOS / "showcase" / "hospital_crisis.yaml"
_INTRO_SPLIT = re.compile(r"\n\nThe same facts as structured data")


def comparable(record: RunRecord) -> dict:
    """What a run produced, without provider labels, model choices and timings."""
    dump = record.model_dump(mode="json")
    kept = ("entities", "timepoints", "dialogs", "exposures", "scenes", "relationships")
    same = {key: dump[key] for key in kept}
    same["ledger"] = [m for m in dump["mechanisms"] if m["mechanism"] != "M18"]
    same["validation"] = dump["validation"]
    same["summary"] = dump["summary"]
    return same


@pytest.mark.parametrize("path", SHOWCASE, ids=[p.stem for p in SHOWCASE])
def test_a_showcase_run_over_http_reproduces_the_in_process_run(
    path: Path, tmp_path: Path, offline_endpoint: OfflineServer
):
    local = tp.run(path, settings=Settings(home=tmp_path / "local")).record
    remote_settings = Settings(
        home=tmp_path / "remote", base_url=offline_endpoint.url, api_key=SecretStr("k")
    )
    remote = tp.run(path, settings=remote_settings).record
    assert remote.status == local.status == "completed"
    assert remote.provider == "openai-compatible" and local.provider == "offline"
    assert remote.usage.calls == local.usage.calls > 0
    assert comparable(remote) == comparable(local)


def test_the_endpoint_speaks_openai_chat_completions(offline_endpoint: OfflineServer):
    with httpx.Client(base_url=offline_endpoint.url) as client:
        models = client.get("/models").json()
        assert [m["id"] for m in models["data"]] == ["offline-composer"]
        prompt = with_task_data("Next event.", "temporal_reasoning", {"index": 0}, "EventDraft")
        body = {"model": "any", "seed": 3, "messages": [{"role": "user", "content": prompt}]}
        answer = client.post("/chat/completions", json=body).json()
        assert set(json.loads(answer["choices"][0]["message"]["content"])) >= {"event", "present"}
        assert answer["usage"]["prompt_tokens"] > 0 and answer["usage"]["completion_tokens"] > 0
        again = client.post("/chat/completions", json=body).json()
        assert again["choices"] == answer["choices"], "deterministic given seed and messages"
        bad = client.post("/chat/completions", json={"messages": []})
        assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]


class WithoutLines:
    """Passes requests on with some prose lines and data-block keys removed from them.

    It edits only what the model is told; the engine is untouched. An effect that disappears
    behind it was carried by the prompt.
    """

    def __init__(self, inner: LanguageModel, action: ActionType, lines: str, keys: set[str]):
        self.inner = inner
        self.action = action
        self.lines = re.compile(lines)
        self.keys = keys

    @property
    def provider(self) -> str:
        return self.inner.provider

    def complete(self, request: Request) -> Completion:
        if request.action is self.action:
            request = request.with_messages(tuple(self._edit(m) for m in request.messages))
        return self.inner.complete(request)

    def _edit(self, message: Message) -> Message:
        task = read_task_data((message,))
        if task is None:
            return message
        prose = _INTRO_SPLIT.split(message.content)[0]
        kept = "\n".join(line for line in prose.splitlines() if not self.lines.search(line))
        data = json.loads(json.dumps(task.data), object_hook=self._drop)
        return Message(
            role=message.role, content=with_task_data(kept, task.task, data, task.answer)
        )

    def _drop(self, obj: dict) -> dict:
        return {k: v for k, v in obj.items() if k not in self.keys}


def _tones(record: RunRecord) -> list[str]:
    return [t.tone for d in record.dialogs for t in d.turns]


def _mood_shift(record: RunRecord) -> float:
    return mean(s.after.valence - s.atmosphere.valence for s in record.scenes if s.after)


def _trust(record: RunRecord) -> float:
    last = record.timepoints[-1].id
    return mean(r.trust for r in record.relationships if r.timepoint_id == last)


@pytest.mark.parametrize("channel", ["in-process", "http"])
def test_body_strain_reaches_the_dialog_through_the_prompt_and_moves_mood_and_trust(
    channel_model: LanguageModel, tmp_path: Path
):
    strained = tp.run(HOSPITAL, model=channel_model, settings=Settings(home=tmp_path)).record
    assert "strained" in _tones(strained)
    unstrained_model = WithoutLines(
        channel_model, ActionType.DIALOG_SYNTHESIS, r"bodily strain", {"strain"}
    )
    calm = tp.run(HOSPITAL, model=unstrained_model, settings=Settings(home=tmp_path)).record
    assert "strained" not in _tones(calm)
    assert _mood_shift(strained) < _mood_shift(calm), "M10: strained voices darken the room"
    assert _trust(strained) < _trust(calm), "M13: strained exchanges build less trust"


@pytest.mark.parametrize("channel", ["in-process", "http"])
def test_an_anxious_planner_sounds_anxious_only_while_the_prompt_says_so(
    channel_model: LanguageModel, tmp_path: Path
):
    scenario = negotiation({"anxious_threshold": 0.05}, count=2)
    settings = Settings(home=tmp_path)
    anxious = tp.run(scenario, model=channel_model, settings=settings).record
    assert {t.tone for d in anxious.dialogs for t in d.turns if t.speaker == "buyer"} == {"anxious"}
    quiet_model = WithoutLines(
        channel_model, ActionType.DIALOG_SYNTHESIS, r"in tone \(use tone", {"tone_bias"}
    )
    quiet = tp.run(scenario, model=quiet_model, settings=settings).record
    assert quiet.prospection[0] == anxious.prospection[0], "the same expectations were formed"
    assert "anxious" not in {t.tone for d in quiet.dialogs for t in d.turns}


def test_disabling_prospection_removes_its_prompt_section_and_its_voice(tmp_path: Path):
    scenario = negotiation({"anxious_threshold": 0.05}, count=2)
    off = scenario.with_overrides({"mechanisms.disabled": ["m15"]})
    record = tp.run(off, settings=Settings(home=tmp_path)).record
    assert record.prospection == []
    assert "anxious" not in _tones(record)


def test_leak_rate_in_the_scenario_plants_recorded_leaks_that_the_validators_catch(
    tmp_path: Path,
):
    leaky = {"mechanisms.leak_rate": 0.5}
    record = tp.run(JEFFERSON, overrides=leaky, settings=Settings(home=tmp_path)).record
    planted = record.evidence.planted_leaks
    assert len(planted) >= 3
    caught = {
        (v.entity_id, v.fact_id)
        for v in record.validation
        if v.validator == "information_conservation" and not v.ok
    }
    found = [leak for leak in planted if (leak.speaker, leak.fact_id) in caught]
    assert len(found) >= 0.95 * len(planted)
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M4"]["planted leaks"] == len(planted)
    clean = tp.run(
        SCENARIOS / "showcase" / "jefferson_dinner.yaml", settings=Settings(home=tmp_path)
    )
    assert clean.record.evidence.planted_leaks == []
