"""M10 scenes: computed from who is there and how they stand, updated by the dialog's tones."""

from __future__ import annotations

import pytest

import timepoint as tp
from timepoint.llm.base import ActionType
from timepoint.llm.offline import OfflineModel
from timepoint.llm.testing import ScriptedModel
from timepoint.scenario.schema import Scenario
from timepoint.synthesis.relationships import TONE_EFFECTS


def salon(relation: str, start: str = "2025-06-01T19:00:00+00:00", m10: dict | None = None):
    """Three guests; ``relation`` is declared between the first two."""
    roster = [
        {
            "id": guest,
            "name": name,
            "role": "primary",
            "description": "A guest.",
            "traits": {"wit": 0.4},
            "knowledge": [fact],
        }
        for guest, name, fact in (
            ("ana", "Ana Reyes", "The harbour tax doubles in spring"),
            ("bo", "Bo Lind", "The governor owes the bankers a favour"),
            ("cy", "Cy Moss", "The new bridge opens next week"),
        )
    ]
    return Scenario.model_validate(
        {
            "id": "salon",
            "title": "An evening salon",
            "description": "Three guests argue over the city's future.",
            "entities": {
                "count": 3,
                "initial_resolution": "dialog",
                "roster": roster,
                "relations": [{"a": "ana", "b": "bo", "kind": relation}],
            },
            "timepoints": {"count": 2, "start": start, "location": "the Reyes salon"},
            "mechanisms": {"settings": {"m10": m10 or {}}},
        }
    )


def recording_model() -> ScriptedModel:
    """The offline model behind a recorder, so tests can read the prompts it was sent."""
    return ScriptedModel([OfflineModel(seed=0).complete], repeat_last=True, provider="offline")


def test_a_rival_pair_makes_the_room_tenser_than_allies(settings):
    rivals = tp.run(salon("rival"), settings=settings).record.scenes[0]
    allies = tp.run(salon("ally"), settings=settings).record.scenes[0]
    assert rivals.atmosphere.tension > allies.atmosphere.tension
    # base .1 + .9 · (1 − (1 − .5 · .6)) for one rival pair among three guests
    assert rivals.atmosphere.tension == pytest.approx(0.1 + 0.9 * 0.3)
    assert allies.atmosphere.tension == pytest.approx(0.1)
    for scene in (rivals, allies):
        mood = scene.atmosphere
        assert mood.cohesion == pytest.approx(max(0, 1 - mood.tension - 0.3 * mood.formality))
    assert rivals.atmosphere.cohesion < allies.atmosphere.cohesion


def test_one_scene_per_timepoint_with_environment_by_hour(settings):
    night = tp.run(salon("ally", "2025-06-01T02:00:00+00:00", {"indoor": False}), settings=settings)
    day = tp.run(salon("ally", "2025-06-01T13:00:00+00:00", {"indoor": False}), settings=settings)
    for run in (night, day):
        assert [s.timepoint_id for s in run.record.scenes] == [t.id for t in run.record.timepoints]
    assert night.record.scenes[0].environment.lighting < 0.1
    assert day.record.scenes[0].environment.lighting > 0.9
    assert (
        day.record.scenes[0].environment.temperature_c
        > night.record.scenes[0].environment.temperature_c
    )
    assert day.record.scenes[0].environment.location == "the Reyes salon"


def test_dialog_tones_set_the_mood_after_the_exchange(settings):
    record = tp.run(salon("rival"), settings=settings).record
    for scene in record.scenes:
        dialog = next(d for d in record.dialogs if d.timepoint_id == scene.timepoint_id)
        effects = [TONE_EFFECTS[t.tone] for t in dialog.turns]
        expected = scene.atmosphere.tension + 2 * sum(e.tension for e in effects) / len(effects)
        assert scene.after is not None
        assert scene.after.tension == pytest.approx(min(1, max(0, expected)), abs=1e-3)
        assert scene.after.cohesion == pytest.approx(
            max(0, 1 - scene.after.tension - 0.3 * scene.after.formality), abs=1e-3
        )
        assert "After the exchange" in scene.description
    counts = next(m.counts for m in record.mechanisms if m.mechanism == "M10")
    assert counts["scenes"] == 2 and counts["scenes updated by dialog tone"] == 2


def test_the_scene_description_names_everyone_and_reaches_the_dialog_prompt(settings):
    model = recording_model()
    record = tp.run(salon("rival", m10={"crowd_size": 6}), model=model, settings=settings).record
    scene = record.scenes[0]
    for name in ("Ana Reyes", "Bo Lind", "Cy Moss"):
        assert name in scene.description
    assert scene.crowd.size == 6 and "A crowd of 6" in scene.description
    assert scene.crowd.density == pytest.approx(9 / 18)
    assert sum(scene.crowd.mood.values()) == pytest.approx(1.0)
    prompts = [
        r.messages[-1].content for r in model.requests if r.action is ActionType.DIALOG_SYNTHESIS
    ]
    before = scene.description.split(" After the exchange")[0]
    assert any(f"Setting: {before}" in p for p in prompts)
