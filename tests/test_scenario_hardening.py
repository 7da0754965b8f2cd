"""Inputs that used to pass ``validate`` and then crash or misbehave in ``run``, and nonsense that
was accepted silently: each is now refused by both commands, before anything is written, with
one line per problem that names the file (or ``--set``), the field and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from timepoint.cli import main
from timepoint.errors import ScenarioError
from timepoint.scenario.check import check_scenario_file
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.profiles import Profile
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings

BASE = {"id": "id: tiny\n", "title": "title: Tiny\n", "description": "description: d\n"}
HEAD = "".join(BASE.values()) + "timepoints: {count: 1}\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``timepoint run`` in-process writes below a fresh home, with the offline model."""
    home = tmp_path / "runs"
    for name in ("TIMEPOINT_DB_URL", "TIMEPOINT_LLM_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TIMEPOINT_LLM_REGISTRY", raising=False)
    monkeypatch.setenv("TIMEPOINT_HOME", str(home))
    return home


def scenario_file(tmp_path: Path, extra: str = "", name: str = "s.yaml") -> Path:
    """A one-timepoint scenario with ``extra`` lines; they replace the top-level keys they set."""
    given = {line.split(":")[0] for line in extra.splitlines() if line[:1].isalpha()}
    head = "".join(line for key, line in BASE.items() if key not in given)
    if "timepoints" not in given:
        head += "timepoints: {count: 1}\n"
    path = tmp_path / name
    path.write_text(head + extra, encoding="utf-8")
    return path


def refused(capsys, home: Path | None, *argv: str) -> list[str]:
    """Run the CLI; assert exit 2, no traceback and no run written; the problem lines."""
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.out + captured.err
    if home is not None:
        assert not home.exists() or not any(home.glob("2*")), "a run folder was written"
    text = captured.out if argv[0] == "validate" else captured.err
    lines = text.strip().splitlines()
    if argv[0] != "validate":  # a command that uses the store names it first
        store = lines.pop(0)
        assert home is None or store == f"store: {home} (TIMEPOINT_HOME)", store
    return [line.removeprefix(f"timepoint {argv[0]}: ") for line in lines]


# --- item 11: passes validate, crashes run -------------------------------------------------------

FILE_CASES = {
    "seed-beyond-64-bits": (
        "seed: 99999999999999999999999\n",
        "seed: got 99999999999999999999999; input should be less than or equal to "
        "9223372036854775807",
    ),
    "step-of-a-billion-hours": (
        "timepoints: {count: 2, step: 1000000000}\n",
        "timepoints: 2 timepoints of 1000000000 hour(s) from 2025-01-01T09:00:00+00:00 leave "
        "the years 1 to 9999; lower step or count, or move start",
    ),
    "start-near-9999": (
        "timepoints: {count: 3, start: '9999-12-31T22:00:00+00:00'}\n",
        "timepoints: 3 timepoints of 1 hour(s) from 9999-12-31T22:00:00+00:00 leave the years "
        "1 to 9999; lower step or count, or move start",
    ),
    "start-near-year-1-with-sub-moments": (
        "timepoints: {count: 1, unit: year, before: 1, start: '0001-01-01T00:00:00+00:00'}\n",
        "timepoints: 1 timepoints of 1 year(s) from 0001-01-01T00:00:00+00:00 leave the years "
        "1 to 9999; lower step or count, or move start",
    ),
}


@pytest.mark.parametrize("case", FILE_CASES, ids=list(FILE_CASES))
def test_files_that_crashed_run_are_refused_by_validate_and_run(tmp_path, capsys, home, case):
    extra, problem = FILE_CASES[case]
    path = scenario_file(tmp_path, extra)
    expected = [f"{path}: {problem}"]
    assert refused(capsys, None, "validate", str(path)) == expected
    assert refused(capsys, home, "run", str(path), "--quiet") == expected


SET_CASES = {
    "timepoints.count=0": "--set: timepoints.count: got 0; input should be greater than or "
    "equal to 1",
    "timepoints.count=abc": "--set: timepoints.count: got 'abc'; input should be a valid "
    "integer, unable to parse string as an integer",
    "entities=5": "--set entities: entities is a section of keys (count, kinds, animism, "
    "initial_resolution, roster, relations), not a single value; set one key below it, e.g. "
    "--set entities.count=VALUE",
    "title.x=1": "--set title.x: title holds a single value ('Tiny'), not keys; set it whole: "
    "--set title=VALUE",
    "entities.roster.0.id=x": "--set entities.roster.0.id: entities.roster has 0 items, so "
    "there is no index 0; set the whole list",
    "timepoints.cuont=2": "--set timepoints.cuont: unknown key; did you mean 'count'? allowed: "
    "count, start, step, unit, before, after, expand, location, events (keys of timepoints)",
    "seed=123456789012345678901234567890": "--set: seed: got 123456789012345678901234567890; "
    "input should be less than or equal to 9223372036854775807",
    "title=[": "--set title:1:2: expected the node content, but found '<stream end>' (while "
    "parsing a flow node started at line 1, column 2)",
    "novalue": "--set 'novalue': expected PATH=VALUE, PATH a dotted key like timepoints.count "
    "and VALUE in YAML, e.g. timepoints.count=2",
    "timepoints..count=2": "--set timepoints..count: empty key in the path; write PATH=VALUE, "
    "PATH a dotted key like timepoints.count and VALUE in YAML",
}


@pytest.mark.parametrize("pair", SET_CASES, ids=list(SET_CASES))
def test_bad_set_values_name_the_key_and_the_allowed_form(tmp_path, capsys, home, pair):
    path = scenario_file(tmp_path)
    assert refused(capsys, home, "run", str(path), "--quiet", "--set", pair) == [SET_CASES[pair]]


def test_set_reaches_into_lists_by_index(tmp_path):
    path = scenario_file(tmp_path, "entities:\n  roster: [{id: ann}, {id: bob}]\n")
    scenario = load_scenario(path, {"entities.roster.1.name": "Bob Lee", "timepoints.count": 2})
    assert scenario.entities.roster[1].name == "Bob Lee"
    assert scenario.timepoints.count == 2
    assert load_scenario(path).entities.roster[1].name is None, "the file's data is unchanged"
    same = load_scenario(path).with_overrides({"entities.roster.1.name": "Bob Lee"})
    assert same.entities.roster[1].name == "Bob Lee"


def test_with_overrides_raises_scenario_errors():
    base = Scenario(id="tiny", title="Tiny", description="d")
    with pytest.raises(ScenarioError) as caught:
        base.with_overrides({"title.x": 1, "timepoints.count": 0})
    assert caught.value.problems == [
        "--set title.x: title holds a single value ('Tiny'), not keys; set it whole: "
        "--set title=VALUE"
    ]


def test_a_too_large_seed_option_is_refused_before_the_run(tmp_path, capsys, home):
    path = scenario_file(tmp_path)
    lines = refused(capsys, home, "run", str(path), "--quiet", "--seed", str(2**64))
    assert lines == [
        f"--set: seed: got {2**64}; input should be less than or equal to 9223372036854775807"
    ]


def test_the_largest_seed_runs_and_is_stored(tmp_path, capsys, home):
    path = scenario_file(tmp_path, f"seed: {2**63 - 1}\n")
    assert main(["run", str(path), "--quiet"]) == 0
    assert "completed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "{path} is a folder; point it at a JSON file"),
        ("[1, 2]", None),
        ('{"name": "Ann", "rank": 3}', None),
        ('{"traits": {"calm": 4}}', None),
        ('{"name": ', None),
    ],
    ids=["folder", "array", "unknown-key", "trait-out-of-range", "malformed"],
)
def test_profiles_are_checked_by_validate_and_run(tmp_path, capsys, home, content, problem):
    profile = tmp_path / "ann"
    if content is None:
        profile.mkdir()
    else:
        profile.write_text(content)
    path = scenario_file(tmp_path, "entities:\n  roster: [{id: ann, profile: ann}]\n")
    lines = refused(capsys, None, "validate", str(path))
    assert refused(capsys, home, "run", str(path), "--quiet") == lines
    assert len(lines) == 1
    expected = {
        "folder": f"{path}: entities.roster[0].profile: {profile} is a folder; point it at a "
        "JSON file",
        "[1, 2]": f'{profile}: holds a JSON array, not an object; write {{"name": …, '
        f'"description": …}} (profile of entities.roster[0] in {path})',
        '{"name": "Ann", "rank": 3}': f"{profile}: rank: unknown key; allowed: name, "
        "description, traits, knowledge, voice, goals, physical, cognitive, kind, role",
        '{"traits": {"calm": 4}}': f"{profile}: (top level): trait 'calm'=4.0 must lie in [-1, 1]",
        '{"name": ': f"{profile}:1:10: not valid JSON (Expecting value: line 1 column 10 "
        "(char 9)); fix the profile file",
    }
    assert lines == [expected["folder" if content is None else content]]


def test_a_valid_profile_is_accepted(tmp_path):
    (tmp_path / "ann.json").write_text(json.dumps({"name": "Ann", "kind": "human"}))
    path = scenario_file(tmp_path, "entities:\n  roster: [{id: ann, profile: ann.json}]\n")
    assert load_scenario(path).entities.roster[0].profile == "ann.json"


def test_profile_keys_are_the_ones_population_merges():
    from timepoint.llm.drafts import EntityDraft

    allowed = set(EntityDraft.model_fields) | {"physical", "cognitive", "kind", "role"}
    assert set(Profile.model_fields) == allowed


# --- item 13: nonsense accepted silently -------------------------------------------------------

NONSENSE = {
    "schema_version: 99\n": "schema_version: schema_version 99 is not one this version of "
    "Timepoint reads; write schema_version: 1 (or leave it out)",
    "timepoints: {count: 2, expand: [999]}\n": "timepoints: expand names timepoints [999], but "
    "the indexes run from 0 to 1 (count=2)",
    "mechanisms: {disabled: [m99]}\n": "mechanisms.disabled: 'm99' is not a mechanism; the "
    "mechanisms are m1 to m18; did you mean 'm9'? allowed: m1, m2, m3, m4, m5, m6, m7, m8, m9, "
    "m10, m11, m12, m13, m14, m15, m16, m17, m18",
    "mechanisms: {settings: {m41: {x: 1}}}\n": "mechanisms.settings: 'm41' is not a mechanism; "
    "the mechanisms are m1 to m18; did you mean 'm4'? allowed: m1, m2, m3, m4, m5, m6, m7, m8, "
    "m9, m10, m11, m12, m13, m14, m15, m16, m17, m18",
    "outputs: {formats: [exe]}\n": "outputs.formats[0]: 'exe' is not one of markdown, json, pdf",
    "entities: {kinds: []}\n": "entities.kinds: got []; list should have at least 1 item after "
    "validation, not 0",
    "budget: {max_usd: .inf}\n": "budget.max_usd: got inf; input should be a finite number",
    "mechanisms: {leak_rate: .nan}\n": "mechanisms.leak_rate: got nan; input should be a finite "
    "number",
    "entities:\n  roster: [{id: ann, traits: {calm: .nan}}]\n": "entities.roster[0].traits.calm: "
    "got nan; input should be a finite number",
    "mechanisms: {settings: {m14: {night_start_hour: 99}}}\n": "mechanisms.settings.m14."
    "night_start_hour: got 99; input should be less than or equal to 23",
    "mechanisms: {settings: {m14: {baseline: .inf}}}\n": "mechanisms.settings.m14.baseline: got "
    "inf; input should be a finite number",
    "mechanisms: {settings: {m2: {queries: [1, 2]}}}\n": "mechanisms.settings.m2.queries: got "
    "[1, 2]; list should have at least 4 items after validation, not 2",
    "mechanisms: {settings: {m6: {components: {context: 0}}}}\n": "mechanisms.settings.m6."
    "components.context: got 0; input should be greater than or equal to 1",
    "temporal: {branching: {branches: 100000}}\n": "temporal.branching.branches: got 100000; "
    "input should be less than or equal to 20",
    "entities:\n  roster: [{id: ann}]\n  relations: [{a: ann, b: ann}]\n": "entities.relations[0]: "
    "relation links 'ann' to itself; name two different entities",
    "title: ''\n": "title: got ''; string should have at least 1 character",
    "models: {model: ''}\n": "models.model: got ''; string should have at least 1 character",
    "models: {model: gpt-17-ultra}\n": "models.model: no model 'gpt-17-ultra'",
    "models: {actions: {dialog_synth: llama-3.1-8b}}\n": "models.actions.dialog_synth: unknown "
    "action; did you mean 'dialog_synthesis'?",
    "models: {actions: {dialog_synthesis: no-such-model}}\n": "models.actions.dialog_synthesis: "
    "no model 'no-such-model'",
}


@pytest.mark.parametrize("extra", NONSENSE, ids=range(len(NONSENSE)))
def test_nonsense_is_refused_by_validate_and_run_alike(tmp_path, capsys, home, extra):
    path = scenario_file(tmp_path, extra)
    lines = refused(capsys, None, "validate", str(path))
    assert refused(capsys, home, "run", str(path), "--quiet") == lines
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: {NONSENSE[extra]}")


def test_portal_weights_must_be_finite(tmp_path):
    portal = (
        "temporal:\n  mode: portal\n  portal:\n    description: d\n    portal_year: 2030\n"
        "    origin_year: 2020\n    weights: {plausibility: .inf}\n"
    )
    with pytest.raises(ScenarioError, match=r"weights.plausibility: got inf; input should be a "):
        load_scenario(scenario_file(tmp_path, portal))


def test_duplicate_keys_are_refused_by_run_too(tmp_path, capsys, home):
    path = scenario_file(tmp_path, "seed: 1\nseed: 2\n")
    assert refused(capsys, home, "run", str(path), "--quiet") == [
        f"{path}:6:1: key 'seed' appears twice (first at line 5); keep one"
    ]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("title: " + "x" * 201 + "\n", "title: got 'xxx"),
        ("description: " + "x" * 5001 + "\n", "description: got 'xxx"),
        ("timepoints: {count: 1, location: " + "x" * 2001 + "}\n", "timepoints.location: got"),
    ],
    ids=["title", "description", "any-text"],
)
def test_field_sizes_are_capped(tmp_path, extra, problem):
    path = scenario_file(tmp_path, extra)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    [line] = caught.value.problems
    assert line.startswith(f"{path}: {problem}")
    assert "string should have at most" in line


def test_endpoint_model_ids_and_registry_ids_pass(tmp_path):
    path = scenario_file(
        tmp_path,
        "models:\n  model: meta-llama/llama-3.3-70b-instruct\n"
        "  actions: {dialog_synthesis: llama-3.1-8b}\n",
    )
    scenario = check_scenario_file(path, settings=Settings(home=tmp_path))
    assert scenario.models.actions == {"dialog_synthesis": "llama-3.1-8b"}


def test_every_mechanism_settings_model_is_registered():
    import importlib
    import pkgutil

    from timepoint.kernel.mechanism_settings import MechanismSettings
    from timepoint.scenario.mechanisms import SETTINGS_MODELS, settings_model

    layers = ("engine", "fidelity", "knowledge", "synthesis", "time")
    for layer in layers:
        package = importlib.import_module(f"timepoint.{layer}")
        for module in pkgutil.walk_packages(package.__path__, f"timepoint.{layer}."):
            importlib.import_module(module.name)
    declared = {cls for cls in MechanismSettings.__subclasses__()}
    registered = {settings_model(key) for key in SETTINGS_MODELS}
    assert declared == registered
