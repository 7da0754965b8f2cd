"""A leaked fact does not spread: listeners do not learn it, so repeating it is flagged too."""

from __future__ import annotations

import json
from pathlib import Path

import timepoint as tp
from timepoint.llm.base import ActionType, Completion, Request
from timepoint.llm.offline import OfflineModel
from timepoint.llm.task_data import read_task_data
from timepoint.settings import Settings

from .conftest import JEFFERSON


class RepeatingLeaker:
    """An endpoint stand-in (not the offline model's leak planting): in every dialog the first
    speaker uses a fact neither of the first two speakers knows, and the second repeats it."""

    provider = "leaky"

    def __init__(self) -> None:
        self.inner = OfflineModel(seed=2)
        self.planted: list[tuple[str, str, str]] = []

    def complete(self, request: Request) -> Completion:
        completion = self.inner.complete(request)
        task = read_task_data(request.messages)
        if request.action is not ActionType.DIALOG_SYNTHESIS or task is None:
            return completion
        participants = task.data.get("participants", [])
        answer = json.loads(completion.text)
        turns = answer["turns"]
        if len(participants) < 2 or len(turns) < 2:
            return completion
        first, second = participants[0], participants[1]
        unknown = {f["id"] for f in first["unknown"]} & {f["id"] for f in second["unknown"]}
        if not unknown:
            return completion
        leak = sorted(unknown)[0]
        turns[0].update(speaker=first["id"], knowledge_refs=[leak])
        turns[1].update(speaker=second["id"], knowledge_refs=[leak])
        self.planted.append((first["id"], second["id"], leak))
        text = json.dumps(answer)
        assert request.output_schema is not None
        parsed = request.output_schema.model_validate_json(text)
        return completion.model_copy(update={"text": text, "parsed": parsed})


def test_a_repeated_leak_is_flagged_and_nobody_learns_it(tmp_path: Path):
    model = RepeatingLeaker()
    record = tp.run(
        JEFFERSON,
        model=model,
        settings=Settings(home=tmp_path),
        overrides={"mechanisms.repair_violations": False},
    ).record
    assert model.planted, "the endpoint planted leaks"
    flagged = {
        (v.entity_id, v.fact_id)
        for v in record.validation
        if v.validator == "information_conservation" and not v.ok
    }
    for speaker, repeater, leak in model.planted:
        assert (speaker, leak) in flagged
        assert (repeater, leak) in flagged, "the repetition of a leak is flagged too"
    leaked = {leak for _, _, leak in model.planted}
    told = [e for e in record.exposures if e.kind.value == "told" and e.fact_id in leaked]
    assert told == [], "no one learns a leaked fact from a dialog"
