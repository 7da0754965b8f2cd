"""Sentence -> validated scenario through a language model, re-asking with validation errors."""

from __future__ import annotations

import json
import os

import pytest

from timepoint.cli import main
from timepoint.commands.new import write_new_scenario
from timepoint.errors import ScenarioError
from timepoint.llm.base import ActionType, Completion, Request
from timepoint.llm.offline import OfflineModel
from timepoint.llm.task_data import read_task_data
from timepoint.scenario.generate import generate_scenario
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.sentence import ScenarioDraft

SENTENCE = "Holmes models Moriarty's plans in London in 1891"

INVALID = {
    "scenario": {
        "id": "Holmes Plans",
        "title": "Holmes models Moriarty",
        "description": "A detective anticipates his adversary.",
        "timepoints": {"count": 3, "unit": "hours"},
    },
    "assumptions": [],
}
VALID = {
    "scenario": {
        "id": "holmes_plans",
        "title": "Holmes models Moriarty",
        "description": "A detective anticipates his adversary.",
        "entities": {
            "count": 2,
            "roster": [{"id": "holmes", "plans": True}, {"id": "moriarty"}],
        },
        "timepoints": {"count": 3, "unit": "hour", "start": "1891-04-24T21:00:00+00:00"},
    },
    "assumptions": ["start time chosen as 21:00"],
}


class ScriptedModel:
    """Answers each request with the next scripted payload and keeps the requests."""

    def __init__(self, answers: list[dict | str]):
        self.answers = list(answers)
        self.requests: list[Request] = []

    @property
    def provider(self) -> str:
        return "scripted"

    def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, str):
            return Completion(text=answer, model="scripted-1", provider=self.provider)
        parsed = request.output_schema.model_validate(answer) if request.output_schema else None
        return Completion(
            text=json.dumps(answer), parsed=parsed, model="scripted-1", provider=self.provider
        )


def test_invalid_draft_is_re_asked_with_its_problems_then_accepted():
    model = ScriptedModel([INVALID, VALID])
    generated = generate_scenario(SENTENCE, model)
    assert generated.attempts == 2
    assert generated.scenario.id == "holmes_plans"
    assert [e.id for e in generated.scenario.entities.roster] == ["holmes", "moriarty"]
    assert generated.assumptions == ["start time chosen as 21:00"]
    first, second = model.requests
    for request in (first, second):
        assert request.action is ActionType.CONFIG_GENERATION
        assert request.output_schema is ScenarioDraft
        block = read_task_data(request.messages)
        assert block is not None and block.data["sentence"] == SENTENCE
    assert len(second.messages) == len(first.messages) + 2
    assert second.messages[-2].role == "assistant"
    assert json.loads(second.messages[-2].content) == INVALID
    reask = second.messages[-1].content
    assert "generated scenario: id: 'Holmes Plans' does not match the pattern" in reask
    assert "timepoints.unit: 'hours' is not one of minute, hour, day" in reask
    assert '"title"' in first.messages[0].content  # the schema is spelled out


def test_a_draft_that_never_validates_raises_with_the_last_problems():
    model = ScriptedModel([INVALID, INVALID, INVALID])
    with pytest.raises(ScenarioError) as caught:
        generate_scenario(SENTENCE, model, max_attempts=3)
    problems = caught.value.problems
    assert problems[0] == "generated scenario: no valid scenario after 3 attempts; last problems:"
    assert any("timepoints.unit: 'hours'" in p for p in problems[1:])
    assert len(model.requests) == 3


def test_text_answers_are_parsed_from_code_fences_and_bare_scenarios():
    fenced = "Here you go:\n```json\n" + json.dumps(VALID) + "\n```"
    assert generate_scenario(SENTENCE, ScriptedModel([fenced])).scenario.id == "holmes_plans"
    bare = json.dumps(VALID["scenario"])
    generated = generate_scenario(SENTENCE, ScriptedModel([bare]))
    assert (generated.scenario.id, generated.assumptions) == ("holmes_plans", [])
    model = ScriptedModel(["I cannot do that.", fenced])
    assert generate_scenario(SENTENCE, model).attempts == 2
    assert "holds no JSON object" in model.requests[1].messages[-1].content


def test_the_offline_model_writes_a_scenario_from_the_sentence():
    generated = generate_scenario(
        "What if Jefferson, Hamilton and Madison had never met in 1790?", OfflineModel(seed=0)
    )
    scenario = generated.scenario
    assert generated.attempts == 1
    assert scenario.temporal.mode.value == "branching"
    assert [e.id for e in scenario.entities.roster] == ["jefferson", "hamilton", "madison"]
    assert scenario.timepoints.start.year == 1790
    assert generated.assumptions


def test_write_new_scenario_writes_yaml_that_loads_back(tmp_path, capsys):
    out = tmp_path / "scenarios" / "shrine.yaml"
    generated = write_new_scenario(
        "A pilgrim visits a shrine where a kami and a white fox watch at dawn",
        OfflineModel(seed=0),
        output=out,
    )
    assert load_scenario(out) == generated.scenario
    text = out.read_text(encoding="utf-8")
    assert text.startswith('# written by `timepoint new` from: "A pilgrim visits a shrine')
    assert "#   - animism level 5" in text
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"wrote {out}  (pilgrim_visits_shrine_kami, pearl, 4 entities")
    assert all(line.startswith("assumed: ") for line in printed[1:])
    assert len(printed) == 1 + len(generated.assumptions)


@pytest.mark.skipif(
    bool(os.environ.get("TIMEPOINT_LLM_API_KEY") or os.environ.get("OPENROUTER_API_KEY")),
    reason="an API key is configured; the CLI would call the endpoint",
)
def test_new_command_end_to_end_with_the_offline_model(tmp_path, capsys):
    out = tmp_path / "elk.yaml"
    sentence = "An elk herd migrates through the seasons every year under climate pressure"
    assert main(["new", sentence, "-o", str(out)]) == 0
    scenario = load_scenario(out)
    assert scenario.temporal.mode.value == "cyclical"
    assert "elk_herd" in {e.id for e in scenario.entities.roster}
    assert "assumed: mode cyclical, from the phrase 'seasons'" in capsys.readouterr().out
    assert main(["new", sentence, "-o", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
