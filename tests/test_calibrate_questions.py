"""Question-set files: validation with readable problems, and the shipped question sets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from timepoint.calibrate.questions import ThresholdOutcome, load_questions
from timepoint.errors import QuestionSetError, ScenarioError
from timepoint.scenario import load_scenario

from .conftest import ROOT
from .test_batch_specs import TINY, write_scenario


def write_set(folder: Path, questions: list[dict], **top: object) -> Path:
    """A question set over the tiny scenario (``well.yaml`` beside it)."""
    (folder / "well.yaml").write_text(yaml.safe_dump(TINY))
    path = folder / "set.yaml"
    path.write_text(yaml.safe_dump({"questions": questions, **top}))
    return path


def question(**changes: object) -> dict:
    base = {
        "id": "q1",
        "question": "Does the well run dry?",
        "scenario": "well.yaml",
        "outcome": {"kind": "event", "pattern": "dry"},
    }
    return {**base, **changes}


def test_a_valid_set_resolves_scenarios_against_its_folder(tmp_path):
    path = write_set(tmp_path, [question(closes="2027-01-31", resolution="yes")], title="Wells")
    loaded = load_questions(path)
    assert loaded.id == "set" and loaded.title == "Wells"
    (q,) = loaded.questions
    assert q.scenario == str((tmp_path / "well.yaml").resolve())
    assert q.question_set == "set" and q.resolved_yes() is True
    assert str(q.closes) == "2027-01-31"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"outcome": {"kind": "vibes"}},
            "questions[0].outcome.kind: unknown kind 'vibes'; allowed: event, knows, path,",
        ),
        (
            {"outcome": {"kind": "evnt", "pattern": "dry"}},
            "questions[0].outcome.kind: unknown kind 'evnt'; did you mean 'event'? allowed: event,",
        ),
        (
            {"outcome": {"pattern": "dry"}},
            "questions[0].outcome.kind: required field is missing; add 'kind: …', one of event,",
        ),
        ({"outcome": {"kind": "event"}}, "outcome.event.pattern: required field is missing"),
        ({"outcome": {"kind": "event", "pattern": "("}}, "is not a regular expression"),
        ({"scenario": "nowhere.yaml"}, "questions[0].scenario: no file 'nowhere.yaml'"),
        ({"questoin": "typo"}, "unknown key"),
        (
            {"outcome": {"kind": "threshold", "quantity": "scene.tension"}},
            "give exactly one of above or below",
        ),
        ({"market_probability": 1.5}, "market_probability"),
        (
            {"opens": "2026-02-01", "closes": "2026-01-01"},
            "questions[0].closes: 2026-01-01 is before opens 2026-02-01 (question 'q1'); "
            "give dates in the order opens ≤ closes ≤ resolves",
        ),
        (
            {"closes": "2026-02-01", "resolves": "2026-01-31"},
            "questions[0].resolves: 2026-01-31 is before closes 2026-02-01 (question 'q1')",
        ),
        (
            {"opens": "2026-02-01", "resolves": "2026-01-31"},
            "questions[0].resolves: 2026-01-31 is before opens 2026-02-01 (question 'q1')",
        ),
        (
            {"overrides": {"timepoints.cuont": 2}},
            "questions[0].overrides.timepoints.cuont: unknown key; did you mean 'count'?",
        ),
        (
            {"overrides": {"timepoints.count": 0}},
            "questions[0].overrides.timepoints.count: got 0; input should be greater than or "
            "equal to 1 (question 'q1', scenario ",
        ),
    ],
)
def test_problems_name_the_file_the_field_and_the_fix(tmp_path, changes, message):
    path = write_set(tmp_path, [question(**changes)])
    with pytest.raises(QuestionSetError) as caught:
        load_questions(path)
    assert str(caught.value).startswith("set.yaml") or "set.yaml" in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize("field", ["opens", "closes", "resolves"])
@pytest.mark.parametrize("bad", ["2025-13-01", "31/12/2025", "2025-01-01T09:00:00+00:00"])
def test_a_bad_date_says_how_to_write_a_date_and_that_advice_works(tmp_path, field, bad):
    path = write_set(tmp_path, [question(**{field: bad})])
    with pytest.raises(QuestionSetError) as caught:
        load_questions(path)
    message = str(caught.value)
    assert f"set.yaml: questions[0].{field}: {bad!r} is not a date;" in message
    assert "time" not in message.split(f"{bad!r}")[1]
    example = re.search(r"e\.g\. (\S+)$", message)
    assert example is not None
    advised = re.sub(rf"(?m)^([\s-]*{field}): .*$", rf"\g<1>: {example.group(1)}", path.read_text())
    path.write_text(advised)
    loaded = load_questions(path)
    assert str(getattr(loaded.questions[0], field)) == example.group(1)


def test_a_bad_datetime_field_still_asks_for_a_date_and_time(tmp_path):
    path = write_scenario(tmp_path, timepoints={"count": 1, "start": "noon"})
    with pytest.raises(ScenarioError, match="'noon' is not a date and time with a timezone"):
        load_scenario(path)


def test_overrides_are_checked_against_each_questions_scenario_at_load(tmp_path):
    path = write_set(
        tmp_path,
        [
            question(id="fine", overrides={"timepoints.count": 2}, opens="2026-01-01"),
            question(id="bad", overrides={"entities.roster.9.name": "Dee"}),
        ],
    )
    with pytest.raises(QuestionSetError) as caught:
        load_questions(path)
    (line,) = caught.value.problems
    assert line.startswith(f"{path}: questions[1].overrides.entities.roster.9.name: ")
    assert "no index 9" in line and "question 'bad'" in line
    assert line.endswith("correct or remove the override")
    path = write_set(tmp_path, [question(id="fine", overrides={"timepoints.count": 2})])
    (fine,) = load_questions(path).questions
    assert fine.overrides == {"timepoints.count": 2}


def test_a_scenario_that_does_not_load_is_named_once_for_the_questions_that_share_it(tmp_path):
    path = write_set(
        tmp_path,
        [
            question(id="a", scenario="bad.yaml", overrides={"seed": 2}),
            question(id="b", scenario="bad.yaml", overrides={"seed": 3}),
        ],
    )
    (tmp_path / "bad.yaml").write_text("id: broken\ntitle: Broken\n")
    with pytest.raises(QuestionSetError) as caught:
        load_questions(path)
    (line,) = caught.value.problems
    assert line.startswith(f"{path}: questions[0].scenario: ")
    assert "description: required field is missing" in line


def test_dates_may_fall_on_one_day(tmp_path):
    day = "2026-01-31"
    path = write_set(tmp_path, [question(opens=day, closes=day, resolves=day)])
    (q,) = load_questions(path).questions
    assert q.opens == q.closes == q.resolves


def test_duplicate_ids_and_malformed_yaml_are_refused(tmp_path):
    path = write_set(tmp_path, [question(), question()])
    with pytest.raises(QuestionSetError, match="'q1' is used twice"):
        load_questions(path)
    path.write_text("questions: [\n")
    with pytest.raises(QuestionSetError, match=r"set.yaml:\d+:\d+"):
        load_questions(path)
    with pytest.raises(QuestionSetError, match="no such question-set file"):
        load_questions(tmp_path / "missing.yaml")


def test_numeric_resolutions_compare_with_the_threshold(tmp_path):
    outcome = {"kind": "threshold", "quantity": "scene.tension", "above": 0.5}
    path = write_set(tmp_path, [question(outcome=outcome, resolution=0.7)])
    (q,) = load_questions(path).questions
    assert isinstance(q.outcome, ThresholdOutcome) and q.resolved_yes() is True


def test_the_shipped_question_sets_load_and_cover_the_library():
    sets = sorted((ROOT / "questions").glob("*.yaml"))
    assert sets
    total = 0
    kinds = set()
    for path in sets:
        loaded = load_questions(path)
        total += len(loaded.questions)
        for q in loaded.questions:
            assert Path(q.scenario).is_relative_to(ROOT / "scenarios")
            kinds.add(q.outcome.kind)
    assert total >= 5
    assert kinds >= {"event", "knows", "threshold", "judge"}
