"""Every scenario in ``scenarios/`` validates and the library covers what the spec asks for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from timepoint.scenario.loader import load_scenario, load_scenario_data
from timepoint.scenario.vocabulary import ANIMISM_FOR_KIND
from timepoint.world.entity import EntityKind, EntityRole

from .conftest import SCENARIOS

FILES = sorted(SCENARIOS.rglob("*.yaml"))
SCENARIO_FILES = [p for p in FILES if p.parent.name != "base"]


def label(path: Path) -> str:
    return str(path.relative_to(SCENARIOS))


@pytest.mark.parametrize("path", FILES, ids=label)
def test_every_file_validates(path):
    scenario = load_scenario(path)
    assert scenario.config_hash == load_scenario(path).config_hash
    assert scenario.title and scenario.description


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=label)
def test_every_scenario_extends_a_shared_base(path):
    text = path.read_text(encoding="utf-8")
    assert "\nextends: " in "\n" + text


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=label)
def test_scenarios_are_complete_and_small(path):
    scenario = load_scenario(path)
    assert 3 <= scenario.timepoints.count <= 6
    assert scenario.timepoints.location, "a scenario names where it happens"
    roster = scenario.entities.roster
    assert roster, "a scenario names its entities"
    kinds = set(scenario.entities.kinds) | {e.kind for e in roster}
    assert {e.kind for e in roster} <= set(scenario.entities.kinds)
    assert scenario.entities.animism >= max(ANIMISM_FOR_KIND[k] for k in kinds)
    for entity in roster:
        if entity.role is EntityRole.PRIMARY and entity.kind is EntityKind.HUMAN:
            assert 3 <= len(entity.knowledge) <= 6, entity.id
            assert entity.description and entity.traits, entity.id


def test_library_size_ids_and_coverage():
    scenarios = [load_scenario(p) for p in SCENARIO_FILES]
    assert len(scenarios) >= 26
    ids = Counter(load_scenario(p).id for p in FILES)
    assert [i for i, n in ids.items() if n > 1] == []
    modes = Counter(s.temporal.mode.value for s in scenarios)
    assert set(modes) == {"pearl", "directorial", "nonlinear", "branching", "cyclical", "portal"}
    assert modes["portal"] >= 5
    kinds = {e.kind for s in scenarios for e in s.entities.roster}
    assert kinds >= {
        EntityKind.HUMAN,
        EntityKind.ANIMAL,
        EntityKind.BUILDING,
        EntityKind.OBJECT,
        EntityKind.ABSTRACT,
        EntityKind.INSTITUTION,
        EntityKind.AI,
        EntityKind.KAMI,
    }
    assert max(s.entities.count for s in scenarios) >= 28


def by_id(identifier: str):
    (path,) = [p for p in SCENARIO_FILES if p.stem == identifier]
    return load_scenario(path)


def test_jefferson_dinner_is_the_1790_dinner():
    scenario = by_id("jefferson_dinner")
    assert scenario.timepoints.start.isoformat() == "1790-06-20T17:00:00-04:00"
    assert scenario.timepoints.count == 3
    assert [e.id for e in scenario.entities.roster] == ["jefferson", "hamilton", "madison"]
    knowledge = " ".join(k for e in scenario.entities.roster for k in e.knowledge)
    for topic in ("assumption", "Potomac", "Virginia", "capital"):
        assert topic in knowledge
    assert all(e.voice and e.traits for e in scenario.entities.roster)
    assert len(scenario.entities.relations) == 3


def test_showcase_specifics():
    hospital = by_id("hospital_crisis")
    hours = [(hospital.timepoints.start.hour + i * hospital.timepoints.step) % 24 for i in range(3)]
    assert hours == [22, 2, 6]
    physical = [e.physical for e in hospital.entities.roster if e.physical]
    assert any(p.pain > 0.5 and p.fever > 0.3 for p in physical)
    assert any(p.stamina < 0.5 for p in physical)
    detective = by_id("detective_prospection")
    holmes = next(e for e in detective.entities.roster if e.id == "holmes")
    assert holmes.plans
    shrine = by_id("kami_shrine")
    assert shrine.entities.animism == 5
    assert {e.kind for e in shrine.entities.roster} >= {
        EntityKind.BUILDING,
        EntityKind.KAMI,
        EntityKind.ANIMAL,
    }
    mars = by_id("mars_mission_portal")
    assert (mars.temporal.portal.portal_year, mars.temporal.portal.origin_year) == (2031, 2026)
    election = by_id("presidential_election_portal")
    assert (election.temporal.portal.portal_year, election.temporal.portal.origin_year) == (
        2040,
        2025,
    )
    castaways = by_id("castaway_colony_branching")
    assert castaways.mechanisms.settings["resources"]["food_days"] > 0
    elk = by_id("elk_migration_cyclical")
    assert elk.entities.animism >= 3
    assert "climate_pressure" in {e.id for e in elk.entities.roster}
    convention = by_id("constitutional_convention")
    roles = Counter(e.role for e in convention.entities.roster)
    assert len(convention.entities.roster) == 28
    assert roles[EntityRole.BACKGROUND] > 14


def test_variants_inherit_their_showcase_roster():
    base = load_scenario_data(SCENARIOS / "showcase" / "hospital_crisis.yaml")
    for variant in ("er_night_shift_flu_surge", "er_night_shift_mass_casualty"):
        scenario = by_id(variant)
        assert [e.id for e in scenario.entities.roster] == [
            e["id"] for e in base["entities"]["roster"]
        ]
    surge = by_id("er_night_shift_flu_surge").mechanisms.settings["m14"]
    assert surge["night_energy_penalty"] == 1.8
    assert surge["night_start_hour"] == 22
