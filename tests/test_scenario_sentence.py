"""Sentence -> scenario draft: entities, kinds and modes come from the sentence."""

from __future__ import annotations

import random

import pytest

from timepoint.errors import ScenarioError
from timepoint.scenario.loader import scenario_from_data
from timepoint.scenario.sentence import ScenarioDraft, draft_scenario_from_sentence


def draft(sentence: str, seed: int = 0):
    answer = draft_scenario_from_sentence(sentence, random.Random(seed))
    envelope = ScenarioDraft.model_validate(answer)
    return scenario_from_data(envelope.scenario), envelope.assumptions


def roster(scenario) -> dict[str, tuple[str, str]]:
    return {e.id: (e.kind.value, e.role.value) for e in scenario.entities.roster}


def test_named_people_become_the_roster_of_a_forward_scenario():
    scenario, assumptions = draft(
        "The 1790 Compromise dinner of Jefferson, Hamilton and Madison at Jefferson's rooms "
        "in New York"
    )
    assert roster(scenario) == {
        "jefferson": ("human", "primary"),
        "hamilton": ("human", "primary"),
        "madison": ("human", "primary"),
    }
    assert [e.name for e in scenario.entities.roster] == ["Jefferson", "Hamilton", "Madison"]
    assert scenario.temporal.mode.value == "pearl"
    assert scenario.timepoints.start.year == 1790
    assert scenario.timepoints.start.hour == 18  # "dinner"
    assert scenario.timepoints.location == "New York"
    assert scenario.id == "compromise_dinner_jefferson_hamilton_1790"
    assert scenario.title.startswith("The 1790 Compromise dinner of Jefferson")
    assert any("pearl" in line for line in assumptions)
    assert any("UTC" in line for line in assumptions)


def test_what_if_gives_branching_with_the_date_of_the_sentence():
    scenario, assumptions = draft(
        "What if Hamilton had not come to the dinner with Jefferson and Madison on June 20, 1790?"
    )
    assert scenario.temporal.mode.value == "branching"
    assert set(roster(scenario)) == {"hamilton", "jefferson", "madison"}
    start = scenario.timepoints.start
    assert (start.year, start.month, start.day) == (1790, 6, 20)
    assert "mode branching, from the phrase 'what if'" in assumptions


def test_how_did_we_get_there_gives_portal_with_years_from_the_sentence():
    scenario, assumptions = draft("The Ares III crew is lost in 2031: how did we get there?")
    portal = scenario.temporal.portal
    assert scenario.temporal.mode.value == "portal"
    assert (portal.portal_year, portal.origin_year) == (2031, 2026)
    assert portal.description.startswith("The Ares III crew is lost in 2031")
    assert roster(scenario) == {"ares_iii_crew": ("human", "primary")}
    assert scenario.timepoints.start.year == 2026
    assert "origin year 2026: 5 years before the endpoint" in assumptions


def test_backwards_with_two_years_uses_both():
    scenario, _ = draft("By 2040 a third party wins the presidency; reason backwards from 2025")
    portal = scenario.temporal.portal
    assert (portal.portal_year, portal.origin_year) == (2040, 2025)


def test_kami_fox_and_shrine_give_animistic_kinds_and_level_five():
    scenario, assumptions = draft("A pilgrim visits a shrine where a kami and a white fox watch")
    assert roster(scenario) == {
        "shrine": ("building", "environment"),
        "kami": ("kami", "secondary"),
        "white_fox": ("animal", "secondary"),
        "pilgrim": ("human", "primary"),
    }
    assert scenario.entities.animism == 5
    assert {k.value for k in scenario.entities.kinds} == {"building", "kami", "animal", "human"}
    assert scenario.timepoints.location == "The shrine"
    assert any(line.startswith("animism level 5") for line in assumptions)


def test_seasons_give_cyclical_with_animals_and_an_abstract_pressure():
    scenario, _ = draft(
        "An elk herd migrates through the seasons every year under climate pressure"
    )
    assert scenario.temporal.mode.value == "cyclical"
    assert roster(scenario) == {
        "elk_herd": ("animal", "primary"),
        "climate_pressure": ("abstract", "background"),
    }
    assert scenario.entities.animism == 3
    assert (scenario.timepoints.unit.value, scenario.timepoints.step) == ("month", 3)


def test_flashback_gives_nonlinear():
    scenario, _ = draft("An old detective remembers, in flashback, the night Moriarty escaped")
    assert scenario.temporal.mode.value == "nonlinear"
    assert sorted(scenario.temporal.nonlinear.presentation) == [0, 1, 2]
    assert "moriarty" in roster(scenario)
    assert scenario.timepoints.start.hour == 22  # "night"


def test_drama_with_an_ai_gives_directorial_and_animism_six():
    scenario, _ = draft("A drama about an AI named Ada and her creator Alan Turing")
    assert scenario.temporal.mode.value == "directorial"
    assert roster(scenario) == {"ada": ("ai", "secondary"), "alan_turing": ("human", "primary")}
    assert scenario.entities.animism == 6
    assert scenario.temporal.directorial.pov == ["alan_turing"]


def test_clock_times_and_pace_words_are_read():
    scenario, _ = draft("Dr. Elena Martinez treats a patient during the ER night shift at 22:00")
    assert (scenario.timepoints.start.hour, scenario.timepoints.step) == (22, 4)
    assert roster(scenario) == {
        "elena_martinez": ("human", "primary"),
        "patient": ("human", "primary"),
    }


def test_without_names_the_model_is_left_to_populate_entities():
    scenario, assumptions = draft("It rains for a while over the valley")
    assert scenario.entities.roster == []
    assert scenario.entities.count == 3
    assert "no entities could be read from the sentence; the model will populate 3 more" in (
        assumptions
    )


def test_drafts_are_deterministic_for_a_seed_and_traits_follow_the_rng():
    sentence = "Holmes models Moriarty before the Reichenbach Falls"
    first = draft_scenario_from_sentence(sentence, random.Random(3))
    assert first == draft_scenario_from_sentence(sentence, random.Random(3))
    other = draft_scenario_from_sentence(sentence, random.Random(4))
    assert first["scenario"]["entities"]["roster"] != other["scenario"]["entities"]["roster"]
    assert first["scenario"]["id"] == other["scenario"]["id"]


def test_an_empty_sentence_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="has no words"):
        draft_scenario_from_sentence("  ... ", random.Random(0))


@pytest.mark.parametrize(
    ("sentence", "start"),
    [
        ("Ann meets Bob at 7:30 pm on June 30, 1861", "1861-06-30T19:30:00+00:00"),
        ("Ann meets Bob at 9 pm on 2 March 1902", "1902-03-02T21:00:00+00:00"),
        ("Ann meets Bob on 1848-02-24 at noon", "1848-02-24T12:00:00+00:00"),
    ],
)
def test_dates_and_times_are_read_from_the_sentence(sentence, start):
    scenario, _ = draft(sentence)
    assert scenario.timepoints.start.isoformat() == start
    assert set(roster(scenario)) == {"ann", "bob"}
