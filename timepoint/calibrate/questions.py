"""Question sets: YAML files of forecasting questions, each answered by ensembles of runs.

A question set names its questions; each question has the question text, the scenario that
simulates it (a path relative to the question file, with optional ``--set``-style
overrides), an outcome extractor that says what counts as *yes* in a finished run, its dates
and, once known, its resolution::

    id: library
    title: Questions over the scenario library
    questions:
      - id: dinner-bargain
        question: Does the assumption bargain come up at the 1790 dinner?
        scenario: ../scenarios/showcase/jefferson_dinner.yaml
        overrides: {timepoints.count: 2}
        outcome: {kind: event, pattern: "assum|capital"}
        closes: 2026-12-31
        resolution: yes

Files are validated by frozen, extra-forbidding pydantic models; problems come back as one
line each naming the file, the field and the fix (:class:`~timepoint.errors.QuestionSetError`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from timepoint.errors import QuestionSetError, ScenarioError
from timepoint.problems import describe_errors
from timepoint.scenario.loader import display_path, load_scenario, parse_yaml
from timepoint.scenario.schema import Scenario

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"{value!r} is not a regular expression ({error}); escape it") from None
    return value


class EventOutcome(_Frozen):
    """Yes when an event (or one of its key facts) matching ``pattern`` happens by ``by``."""

    kind: Literal["event"]
    pattern: str = Field(description="Regular expression, matched case-insensitively.")
    by: str | None = Field(None, description="Timepoint id; default the end of the run.")

    _check = field_validator("pattern")(_regex)


class KnowsOutcome(_Frozen):
    """Yes when ``entity`` was exposed to a fact matching ``fact`` by ``by`` (default: end)."""

    kind: Literal["knows"]
    entity: str = Field(description="Entity id, or a unique part of its name.")
    fact: str = Field(description="Regular expression over fact texts (or a fact id).")
    by: str | None = None

    _check = field_validator("fact")(_regex)


class PathOutcome(_Frozen):
    """Yes when the winning path (timeline ``main``, the best of BRANCHING and PORTAL runs)
    has an event matching ``pattern`` and, with ``min_score``, scores at least that."""

    kind: Literal["path"]
    pattern: str = ".*"
    min_score: float | None = None

    _check = field_validator("pattern")(_regex)


class ThresholdOutcome(_Frozen):
    """Yes when a numeric state goes above ``above`` (or below ``below``) by ``by``.

    ``quantity`` is one of ``scene.<atmosphere field>`` (per timepoint),
    ``relationship.<a>.<b>.<trust|affinity|alignment|power_balance>`` (per timepoint),
    ``entity.<id>.<cognitive|physical>.<field>`` (at the end) or
    ``ledger.<mechanism>.<count>`` (at the end).
    """

    kind: Literal["threshold"]
    quantity: str = Field(pattern=r"^(scene|relationship|entity|ledger)\.[\w.|-]+$")
    above: float | None = None
    below: float | None = None
    by: str | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> ThresholdOutcome:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        return self


class JudgeOutcome(_Frozen):
    """A model reads the run's events and dialog and answers ``prompt`` (default: the
    question) yes or no; the call is metered and recorded with the run's calls."""

    kind: Literal["judge"]
    prompt: str | None = Field(None, max_length=2000)


Outcome = Annotated[
    EventOutcome | KnowsOutcome | PathOutcome | ThresholdOutcome | JudgeOutcome,
    Field(discriminator="kind"),
]


class Question(_Frozen):
    """One forecasting question."""

    id: str = Field(pattern=_ID)
    question: str = Field(min_length=3, max_length=2000)
    scenario: str = Field(min_length=1, description="Scenario path, relative to the question file.")
    overrides: dict[str, Any] = Field(default_factory=dict)
    outcome: Outcome
    opens: date | None = None
    closes: date | None = None
    resolves: date | None = None
    resolution: bool | float | None = None
    market_probability: float | None = Field(None, ge=0, le=1)
    #: when the market had that price (UTC); empty: a price read when the question was written
    market_probability_at: datetime | None = None
    #: where the reference probability comes from, or why there is none
    market_note: str = Field("", max_length=500)
    #: ``[unix seconds, probability]`` points of the market's price, oldest first
    market_history: list[tuple[int, float]] = Field(default_factory=list)
    source: str = "yaml"
    source_ref: str | None = None
    #: the set the question was loaded from (filled in by :func:`load_questions`)
    question_set: str = Field("", exclude=True)

    def resolved_yes(self) -> bool | None:
        """The resolution as yes/no; a numeric resolution is compared with a threshold
        extractor's bound. ``None`` while unresolved."""
        value = self.resolution
        if value is None or isinstance(value, bool):
            return value
        outcome = self.outcome
        if isinstance(outcome, ThresholdOutcome):
            return value > outcome.above if outcome.above is not None else value < outcome.below  # type: ignore[operator]
        return bool(value)


class QuestionSet(_Frozen):
    """A named list of questions (``id`` defaults to the file name)."""

    id: str = Field(pattern=_ID)
    title: str = ""
    questions: list[Question] = Field(min_length=1)
    #: the folder scenario paths are relative to (not part of the file)
    folder: Path = Field(default=Path("."), exclude=True)

    def scenario_path(self, question: Question) -> Path:
        """The scenario file of ``question``, resolved against the question file's folder
        (loaded sets hold absolute paths already)."""
        return (self.folder / question.scenario).resolve()

    def get(self, question_id: str) -> Question:
        """The question with that id.

        Raises:
            QuestionSetError: no such question (names the known ids).
        """
        for question in self.questions:
            if question.id == question_id:
                return question
        known = ", ".join(q.id for q in self.questions)
        raise QuestionSetError(
            [f"question set {self.id!r} has no question {question_id!r}; known: {known}"]
        )


def load_questions(path: str | Path) -> QuestionSet:
    """Read and validate a question-set file.

    Raises:
        QuestionSetError: the file is missing, malformed YAML, fails validation (one line per
            problem) or names a scenario file that does not exist or two questions alike.
    """
    path = Path(path)
    label = display_path(path)
    if not path.is_file():
        raise QuestionSetError([f"{label}: no such question-set file; give a YAML file"])
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"), label)
    except ScenarioError as error:
        raise QuestionSetError(error.problems) from None
    data.setdefault("id", path.stem)
    try:
        questions = QuestionSet.model_validate({**data, "folder": path.parent.resolve()})
    except ValidationError as error:
        raise QuestionSetError(describe_errors(error, QuestionSet, label)) from None
    problems = []
    seen: set[str] = set()
    scenarios: dict[Path, Scenario | None] = {}  # None: it does not load (said once)
    for n, question in enumerate(questions.questions):
        where = f"{label}: questions[{n}]"
        if question.id in seen:
            problems.append(f"{where}.id: {question.id!r} is used twice; give each an own id")
        seen.add(question.id)
        problems += _date_problems(where, question)
        scenario = questions.scenario_path(question)
        if not scenario.is_file():
            problems.append(
                f"{where}.scenario: no file {question.scenario!r} relative to "
                f"{display_path(path.parent)}; give a scenario path relative to the question file"
            )
        elif question.overrides:
            if scenario not in scenarios:
                scenarios[scenario], found = _base_scenario(where, scenario)
                problems += found
            base = scenarios[scenario]
            if base is not None:
                problems += _override_problems(where, question, scenario, base)
    if problems:
        raise QuestionSetError(problems)
    placed = [
        q.model_copy(
            update={"scenario": str(questions.scenario_path(q)), "question_set": questions.id}
        )
        for q in questions.questions
    ]
    return questions.model_copy(update={"questions": placed})


def _date_problems(where: str, question: Question) -> list[str]:
    """The dates of ``question`` that come before an earlier one (opens ≤ closes ≤ resolves)."""
    dates = [
        (name, day)
        for name, day in (
            ("opens", question.opens),
            ("closes", question.closes),
            ("resolves", question.resolves),
        )
        if day is not None
    ]
    return [
        f"{where}.{later}: {late} is before {earlier} {early} (question {question.id!r}); "
        "give dates in the order opens ≤ closes ≤ resolves"
        for (earlier, early), (later, late) in pairwise(dates)
        if late < early
    ]


def _base_scenario(where: str, path: Path) -> tuple[Scenario | None, list[str]]:
    """The scenario at ``path``, or ``None`` and the problems that keep it from loading."""
    try:
        return load_scenario(path), []
    except ScenarioError as error:
        return None, [f"{where}.scenario: {problem}" for problem in error.problems]


def _override_problems(where: str, question: Question, path: Path, base: Scenario) -> list[str]:
    """What is wrong with the ``overrides`` of ``question`` over its scenario, one line each,
    named by the override's path (checked as a forecast's batch applies them)."""
    try:
        base.with_overrides(dict(question.overrides))
    except ScenarioError as error:
        fix = (
            f"(question {question.id!r}, scenario {display_path(path)}); "
            "correct or remove the override"
        )
        return [f"{where}.overrides.{_override_at(line)} {fix}" for line in error.problems]
    return []


def _override_at(line: str) -> str:
    """``--set a.b: problem`` or ``--set: a.b: problem`` (from ``with_overrides``) as
    ``a.b: problem``."""
    return line.removeprefix("--set").lstrip(": ")
