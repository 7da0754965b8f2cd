"""Import of earlier-format JSON templates: every fixture converts, nothing is dropped silently."""

from __future__ import annotations

import json

import pytest

from timepoint.cli import main
from timepoint.errors import ScenarioError
from timepoint.scenario.legacy import import_template, import_template_file
from timepoint.scenario.loader import load_scenario

from .conftest import ROOT

#: templates of the earlier Timepoint format
FIXTURES = ROOT / "tests" / "fixtures" / "legacy_templates"
TEMPLATES = sorted(FIXTURES.glob("*.json"))


def leaf_paths(node, prefix=""):
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, path)
        else:
            yield path


def test_the_seven_fixtures_are_present():
    assert len(TEMPLATES) == 7, f"expected the earlier-format templates in {FIXTURES}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_every_fixture_imports_validates_and_reports_unmapped_keys(path, tmp_path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    imported = import_template_file(path)
    scenario = imported.scenario
    assert scenario.id == raw["world_id"]
    assert scenario.title == raw["patch"]["name"]
    assert scenario.description.split()[:4] == raw["scenario_description"].split()[:4]
    assert scenario.entities.count >= raw["entities"]["count"]
    assert scenario.entities.animism == raw["entities"]["animism_level"]
    expected_mode = {"forward": "pearl"}.get(raw["temporal"]["mode"], raw["temporal"]["mode"])
    assert scenario.temporal.mode.value == expected_mode
    assert scenario.fidelity.token_budget == int(raw["temporal"]["token_budget"])
    unmapped = [item.path for item in imported.unmapped]
    assert "variations.strategies" in unmapped
    assert "patch.tags" in unmapped
    assert all(str(item).startswith(f"not mapped: {item.path}") for item in imported.unmapped)
    assert len(unmapped) == len(set(unmapped))
    assert set(unmapped) <= set(leaf_paths(raw))
    out = tmp_path / f"{path.stem}.yaml"
    out.write_text(imported.to_yaml(), encoding="utf-8")
    header = [line for line in out.read_text().splitlines() if line.startswith("#")]
    for key in unmapped:
        assert any(f"# not mapped: {key} = " in line for line in header), key
    assert load_scenario(out) == scenario


def test_forward_template_maps_timepoints_fidelity_and_outputs():
    imported = import_template_file(FIXTURES / "jefferson_dinner.json")
    scenario = imported.scenario
    assert scenario.temporal.mode.value == "pearl"
    assert (scenario.timepoints.count, scenario.timepoints.before, scenario.timepoints.after) == (
        1,
        2,
        2,
    )
    assert scenario.timepoints.unit.value == "hour"
    assert scenario.fidelity.template.value == "balanced"
    assert scenario.fidelity.planning.value == "hybrid"
    assert scenario.fidelity.budget_mode.value == "soft"
    assert scenario.outputs.formats == ["markdown", "json", "pdf"]
    assert scenario.outputs.detail == "summary"
    reasons = {item.path: item.reason for item in imported.unmapped}
    assert reasons["temporal.backward_steps"] == "a portal setting; mode is pearl"
    assert reasons["economic_scenario"] == "empty in the template"


def test_portal_template_maps_portal_keys_and_the_roster():
    imported = import_template_file(FIXTURES / "mars_mission_portal.json")
    scenario = imported.scenario
    portal = scenario.temporal.portal
    assert portal is not None
    assert (portal.portal_year, portal.origin_year, portal.backward_steps) == (2031, 2026, 10)
    assert portal.description.startswith("Ares III crewed Mars mission loses contact")
    assert portal.simulation_judging is True
    assert portal.judge_model == "meta-llama/llama-3.1-405b-instruct"
    assert (portal.weights.plausibility, portal.weights.necessity) == (0.3, 0.3)
    roster = {e.id: e for e in scenario.entities.roster}
    assert list(roster) == ["sarah_okafor", "raj_mehta", "lin_zhang", "thomas_webb"]
    okafor = roster["sarah_okafor"]
    assert okafor.name == "Sarah Okafor"
    assert okafor.description.startswith("Mission Commander.")
    assert okafor.knowledge == [
        "Mission parameters",
        "Crew capabilities",
        "Nasa political pressure",
    ]
    assert okafor.traits["authoritative"] == 0.8
    assert (
        "verbal tics: Look," in okafor.voice and "examples: I've read the report." in okafor.voice
    )
    unmapped = {item.path for item in imported.unmapped}
    assert "temporal.backward_steps" not in unmapped
    assert "temporal.judge_temperature" in unmapped
    assert any("personality traits given by name" in note for note in imported.notes)


def test_mechanism_metadata_goes_to_settings_and_roster_states():
    hospital = import_template_file(FIXTURES / "hospital_crisis.json").scenario
    roster = {e.id: e for e in hospital.entities.roster}
    assert roster["patient_chen"].physical.pain == 0.9
    assert roster["patient_chen"].physical.fever == pytest.approx(0.55)
    assert roster["dr_martinez"].physical.stamina == pytest.approx(0.3)
    assert hospital.mechanisms.settings["m14"]["timepoints"] == ["22:00", "02:00", "06:00"]
    assert (hospital.timepoints.start.hour, hospital.timepoints.step) == (22, 4)
    detective = import_template_file(FIXTURES / "detective_prospection.json").scenario
    holmes = next(e for e in detective.entities.roster if e.id == "sherlock_holmes")
    assert holmes.plans and holmes.traits["theory_of_mind"] == 0.9
    assert detective.mechanisms.settings["m15"]["target_entity"] == "moriarty"
    kami = import_template_file(FIXTURES / "kami_shrine.json").scenario
    kinds = {e.id: e.kind.value for e in kami.entities.roster}
    assert kinds == {
        "shrine_building": "building",
        "inari_okami": "kami",
        "white_fox": "animal",
        "pilgrim": "human",  # "A pilgrim visits Fushimi Inari Shrine" fills the fourth place
    }
    vc = import_template_file(FIXTURES / "vc_pitch_branching.json").scenario
    assert vc.temporal.mode.value == "branching"
    assert vc.temporal.branching.path_count == 5
    assert vc.timepoints.events == ["The critical question is asked: What is your traction / MRR?"]
    sarah = next(e for e in vc.entities.roster if e.id == "sarah_ceo")
    assert (sarah.name, sarah.description) == ("Sarah", "CEO")
    assert sarah.cognitive.arousal == 0.8 and sarah.cognitive.confidence == 0.85


def test_unknown_keys_and_values_are_reported_not_dropped():
    template = {
        "world_id": "odd_world",
        "scenario_description": "Something odd.",
        "entities": {"count": 2, "types": ["human", "dragon"], "mystery": {"depth": 3}},
        "timepoints": {"count": 2, "resolution": "fortnight"},
        "temporal": {"mode": "spiral"},
        "metadata": {"entity_roster": {"ann": {"type": "human", "favourite_colour": "red"}}},
        "brand_new_key": [1, 2],
    }
    imported = import_template(template)
    reasons = {item.path: item.reason for item in imported.unmapped}
    assert reasons["entities.types"] == "kind 'dragon' is not one of the entity kinds"
    assert reasons["entities.mystery.depth"] == "no counterpart in the scenario schema"
    assert reasons["timepoints.resolution"].startswith("allowed: minute, hour")
    assert reasons["temporal.mode"].startswith("unknown mode; allowed: forward, pearl")
    assert reasons["metadata.entity_roster.ann.favourite_colour"] == (
        "no counterpart in a roster entry"
    )
    assert reasons["brand_new_key"] == "no counterpart in the scenario schema"
    assert imported.scenario.temporal.mode.value == "pearl"
    assert [e.id for e in imported.scenario.entities.roster] == ["ann"]


def test_a_template_that_is_not_json_or_absent_is_a_scenario_error(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"world_id": "x",\n  oops}', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        import_template_file(broken)
    assert caught.value.problems[0].startswith(f"{broken}:2:3: ")
    with pytest.raises(ScenarioError, match="no such file"):
        import_template_file(tmp_path / "absent.json")


def test_import_template_cli_writes_yaml_and_lists_unmapped(tmp_path, capsys):
    out = tmp_path / "scenarios" / "board.yaml"
    template = FIXTURES / "board_meeting.json"
    assert main(["import-template", str(template), "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"wrote {out}  (board_meeting_example, pearl, 5 entities, ")
    assert "not mapped: patch.tags (preset catalogue data; this schema has no tags" in lines[2]
    table = lines.index(next(line for line in lines if line.startswith("status ")))
    assert all(line.startswith(("not mapped: ", "note: ")) for line in lines[1:table])
    assert lines[table + 1].startswith("mapped ") and lines[-1].endswith(" unsupported")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# imported from ")
    assert "# not mapped: variations.count = 1" in text
    assert main(["validate", str(out)]) == 0
    assert main(["import-template", str(template), "-o", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["import-template", str(template), "-o", str(out), "--force"]) == 0


def test_import_template_cli_without_output_prints_yaml(capsys):
    assert main(["import-template", str(FIXTURES / "kami_shrine.json")]) == 0
    captured = capsys.readouterr()
    assert "\nid: kami_shrine\n" in captured.out
    assert "not mapped: patch.author" in captured.err


def test_values_of_the_wrong_type_are_a_scenario_error():
    with pytest.raises(ScenarioError, match="does not have the type"):
        import_template({"world_id": "x", "timepoints": {"count": "many"}})
    with pytest.raises(ScenarioError) as caught:
        import_template({"world_id": "x", "entities": {"initial_resolution": "ultra"}})
    assert caught.value.problems == [
        "template (converted): entities.initial_resolution: 'ultra' is not one of "
        "tensor_only, scene, graph, dialog, trained"
    ]
