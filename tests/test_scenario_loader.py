"""Scenario YAML loading: extends, deep merge, readable errors, config hash, YAML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from timepoint.errors import ScenarioError
from timepoint.scenario.loader import deep_merge, load_scenario, load_scenario_data
from timepoint.scenario.writer import to_yaml, write_atomic

BASE = """\
id: base
title: Base
description: A base scenario.
entities:
  count: 4
  kinds: [human, animal]
  animism: 1
  roster:
    - {id: ada, role: primary}
    - {id: ben}
timepoints:
  count: 3
  start: "2025-01-01T09:00:00+00:00"
  unit: hour
temporal:
  mode: pearl
mechanisms:
  settings:
    m14: {night_start_hour: 22, night_energy_penalty: 1.5}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value.problems


def test_deep_merge_merges_mappings_and_replaces_lists_and_scalars():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    merged = deep_merge(base, {"a": {"y": [3], "z": 2}, "b": {"new": True}})
    assert merged == {"a": {"x": 1, "y": [3], "z": 2}, "b": {"new": True}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


def test_extends_deep_merges_and_lists_replace(tmp_path):
    write(tmp_path, "base/forward.yaml", BASE)
    child = write(
        tmp_path,
        "child/x.yaml",
        """\
extends: ../base/forward.yaml
id: child
entities:
  animism: 2
  roster:
    - {id: cy, kind: animal}
mechanisms:
  settings:
    m14: {night_energy_penalty: 2.0}
""",
    )
    data = load_scenario_data(child)
    assert "extends" not in data
    scenario = load_scenario(child)
    assert scenario.id == "child"
    assert scenario.title == "Base"
    assert scenario.entities.count == 4
    assert scenario.entities.animism == 2
    assert [e.id for e in scenario.entities.roster] == ["cy"]
    assert [k.value for k in scenario.entities.kinds] == ["human", "animal"]
    assert scenario.mechanisms.settings["m14"] == {
        "night_start_hour": 22,
        "night_energy_penalty": 2.0,
    }


def test_extends_chain_of_three_files(tmp_path):
    write(tmp_path, "a.yaml", BASE)
    write(tmp_path, "b.yaml", "extends: a.yaml\ntimepoints: {count: 5}\n")
    c = write(tmp_path, "sub/c.yaml", "extends: ../b.yaml\nid: c\ntimepoints: {step: 2}\n")
    scenario = load_scenario(c)
    assert (scenario.id, scenario.timepoints.count, scenario.timepoints.step) == ("c", 5, 2)
    assert scenario.timepoints.unit.value == "hour"


def test_extends_cycle_is_detected(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nid: a\n")
    write(tmp_path, "b.yaml", "extends: c.yaml\n")
    write(tmp_path, "c.yaml", "extends: a.yaml\n")
    (problem,) = problems_of(tmp_path / "a.yaml")
    assert "extends cycle" in problem
    assert problem.index("a.yaml") < problem.index("b.yaml") < problem.index("c.yaml")


def test_missing_file_and_missing_base_are_reported(tmp_path):
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file"]
    child = write(tmp_path, "child.yaml", "extends: gone.yaml\nid: x\n")
    (problem,) = problems_of(child)
    assert "gone.yaml: no such file" in problem
    assert "extended by" in problem and "child.yaml" in problem


def test_unknown_key_suggests_the_close_field_and_lists_allowed(tmp_path):
    path = write(tmp_path, "x.yaml", BASE.replace("  count: 3\n", "  cuont: 3\n"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: timepoints.cuont: unknown key; did you mean 'count'?")
    assert "allowed: count, start, step, unit" in problem


def test_unknown_top_level_key_without_a_close_match(tmp_path):
    path = write(tmp_path, "x.yaml", BASE + "zzz: 1\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: zzz: unknown key; allowed: schema_version, id, title")


def test_enum_error_lists_the_allowed_values_with_the_list_index(tmp_path):
    path = write(tmp_path, "x.yaml", BASE.replace("{id: ben}", "{id: ben, kind: hooman}"))
    (problem,) = problems_of(path)
    assert problem == (
        f"{path}: entities.roster[1].kind: 'hooman' is not one of human, animal, building, "
        "object, abstract, institution, ai, kami, any"
    )


def test_pattern_alternatives_read_as_allowed_values(tmp_path):
    path = write(tmp_path, "x.yaml", BASE + "outputs: {detail: everything}\n")
    (problem,) = problems_of(path)
    assert problem.endswith(
        "outputs.detail: 'everything' is not one of minimal, summary, comprehensive"
    )


def test_missing_required_field_says_so(tmp_path):
    path = write(tmp_path, "x.yaml", BASE.replace("title: Base\n", ""))
    assert problems_of(path) == [f"{path}: title: required field is missing; add 'title: …'"]


def test_every_problem_is_reported_at_once(tmp_path):
    text = BASE.replace("title: Base\n", "").replace("unit: hour", "unit: hours")
    path = write(tmp_path, "x.yaml", text.replace("mode: pearl", "mode: forward"))
    problems = problems_of(path)
    assert len(problems) == 3
    assert any("timepoints.unit: 'hours' is not one of minute, hour" in p for p in problems)
    assert any("temporal.mode: 'forward' is not one of pearl, directorial" in p for p in problems)


def test_model_level_rule_names_the_section(tmp_path):
    path = write(tmp_path, "x.yaml", BASE.replace("  count: 4\n", "  count: 1\n"))
    (problem,) = problems_of(path)
    assert problem == f"{path}: entities: count=1 is smaller than the roster (2 entities)"


def test_naive_start_time_is_rejected_with_an_example(tmp_path):
    path = write(tmp_path, "x.yaml", BASE.replace("09:00:00+00:00", "09:00:00"))
    (problem,) = problems_of(path)
    assert "timepoints: start must carry a timezone" in problem


def test_problem_inherited_from_a_base_names_the_base_file(tmp_path):
    base = write(tmp_path, "base.yaml", BASE.replace("unit: hour", "unit: fortnight"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nid: child\n")
    (problem,) = problems_of(child)
    assert problem.startswith(f"{base}: timepoints.unit: 'fortnight'")


def test_malformed_yaml_gives_file_line_and_column(tmp_path):
    path = write(tmp_path, "x.yaml", "id: x\ntitle: [unclosed\ndescription: d\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3:12: expected ',' or ']'")
    assert "started at line 2, column 8" in problem


def test_bad_indentation_gives_line_and_column(tmp_path):
    path = write(tmp_path, "x.yaml", "id: x\ntitle: t\n  description: d\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3:14: ")


def test_a_list_at_the_top_is_not_a_scenario(tmp_path):
    path = write(tmp_path, "x.yaml", "- a\n- b\n")
    assert problems_of(path) == [f"{path}: the file holds a list; a scenario is a mapping of keys"]


def test_timestamps_stay_strings_until_the_schema_parses_them(tmp_path):
    path = write(tmp_path, "x.yaml", BASE.replace('"2025-01-01T09:00:00+00:00"', "1790-06-20"))
    assert load_scenario_data(path)["timepoints"]["start"] == "1790-06-20"
    (problem,) = problems_of(path)
    assert "start must carry a timezone" in problem


def test_config_hash_is_stable_across_formatting_and_key_order(tmp_path):
    first = load_scenario(write(tmp_path, "a.yaml", BASE))
    data = yaml.safe_load(BASE)
    reordered = yaml.safe_dump(dict(reversed(data.items())), default_flow_style=True)
    second = load_scenario(write(tmp_path, "b.yaml", reordered))
    assert first.config_hash == second.config_hash
    assert len(first.config_hash) == 64
    changed = load_scenario(write(tmp_path, "c.yaml", BASE.replace("count: 3", "count: 4")))
    assert changed.config_hash != first.config_hash


def test_config_hash_of_an_extending_file_equals_its_flattened_twin(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = load_scenario(write(tmp_path, "child.yaml", "extends: base.yaml\nseed: 7\n"))
    flat = load_scenario(write(tmp_path, "flat.yaml", BASE + "seed: 7\n"))
    assert child.config_hash == flat.config_hash


def test_written_yaml_loads_back_to_the_same_scenario(tmp_path):
    scenario = load_scenario(write(tmp_path, "a.yaml", BASE))
    out = write_atomic(tmp_path / "out" / "again.yaml", to_yaml(scenario, header=["a note"]))
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# a note\nid: base\n")
    assert "schema_version" not in text
    assert load_scenario(out) == scenario
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
