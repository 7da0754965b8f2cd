"""Request and response bodies of the REST API, and how a request's scenario is found and checked.

A request names a scenario in the library (``showcase/jefferson_dinner.yaml``, relative to the
server's scenario folder) or carries one inline as YAML. Either is checked exactly as
``timepoint validate`` checks a file, so a bad scenario is refused with the same field-level
lines. Inline scenarios are kept, by the hash of their text, under ``<home>/service/scenarios``
so a worker (or a restarted one) can read them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from timepoint.errors import ScenarioError, ServiceError
from timepoint.scenario.check import check_scenario_file
from timepoint.settings import Settings

#: Most simulations one batch request may ask for.
MAX_BATCH_JOBS = 1000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioInput(_Body):
    """A scenario: by library path or inline YAML (exactly one), with overrides."""

    scenario: str | None = Field(
        None,
        description="A scenario file in the server's library, e.g. showcase/jefferson_dinner.yaml",
        max_length=300,
    )
    scenario_yaml: str | None = Field(
        None, description="A whole scenario as YAML (no `extends:`)", max_length=1_000_000
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted-path overrides, as `timepoint run --set`: {'timepoints.count': 2}",
    )

    @model_validator(mode="after")
    def _one_source(self) -> ScenarioInput:
        if (self.scenario is None) == (self.scenario_yaml is None):
            raise ValueError("give exactly one of scenario (a library path) and scenario_yaml")
        return self


class RunRequest(ScenarioInput):
    """``POST /runs``: one simulation."""

    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Run seed (default: the file's)")
    budget_usd: float | None = Field(None, ge=0, description="Most the run may spend, in USD")


class BatchRequest(ScenarioInput):
    """``POST /batches``: every combination of ``grid``'s axes, as ``timepoint batch``."""

    grid: dict[str, list[Any]] = Field(
        default_factory=lambda: {"seed": [0]},
        description="Axis -> values; `seed`, `replicate` or a dotted scenario path",
    )
    replicates: int = Field(1, ge=1, le=100)
    budget_usd: float | None = Field(None, ge=0, description="Batch budget cap in USD")
    workers: int = Field(2, ge=1, le=32, description="Parallel worker processes")


class ForecastRequest(_Body):
    """``POST /forecasts``: a question of a question set, forecast by an ensemble of runs."""

    question_set: str = Field(
        max_length=300, description="A question-set file in the server's library: library.yaml"
    )
    question: str = Field(min_length=1, max_length=200, description="The question's id")
    runs: int = Field(20, ge=1, le=500, description="Runs in the ensemble")
    budget_usd: float | None = Field(None, ge=0, description="Most the ensemble may spend")


class AskRequest(_Body):
    """``POST /runs/{id}/ask``."""

    question: str = Field(min_length=1, max_length=4000)


class AlterFact(_Body):
    fact: str = Field(min_length=1)
    text: str = Field(min_length=1)
    holder: str | None = None


class BranchRequest(_Body):
    """``POST /runs/{id}/branch``: one intervention at a timepoint, as ``timepoint branch``."""

    at: str = Field(min_length=1, description="First timepoint to re-simulate: id or index")
    remove: str | None = Field(None, description="Entity absent from `at` on")
    cancel_event: bool = Field(False, description="The event at `at` does not happen")
    modify: dict[str, dict[str, Any]] | None = Field(
        None, description="{entity: {field: value}} for one entity"
    )
    alter: AlterFact | None = None

    @model_validator(mode="after")
    def _one_intervention(self) -> BranchRequest:
        given = [
            name
            for name, value in (
                ("remove", self.remove),
                ("cancel_event", self.cancel_event or None),
                ("modify", self.modify),
                ("alter", self.alter),
            )
            if value
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one intervention of remove, cancel_event, modify, alter; got "
                + (", ".join(given) or "none")
            )
        if self.modify is not None and len(self.modify) != 1:
            raise ValueError("modify changes one entity: {entity: {field: value}}")
        return self


class WebhookRequest(_Body):
    """``POST /webhooks``: post events to ``url``."""

    url: str = Field(pattern=r"^https?://", max_length=2000)
    events: list[
        Literal["run.finished", "run.failed", "batch.finished", "batch.budget_80", "forecast.moved"]
    ] = Field(min_length=1)
    min_move: float = Field(
        0.1, gt=0, le=1, description="forecast.moved: the least change of probability to tell"
    )
    style: Literal["json", "slack", "discord"] = "json"


class Progress(_Body):
    done: int
    total: int


class WorkView(_Body):
    """What the API says about accepted work (a run, batch, question or branch)."""

    id: str
    kind: str
    status: str
    run_id: str | None = None
    progress: Progress | None = None
    cost_usd: float = 0.0
    error: str | None = None
    result: dict[str, Any] | None = None
    created: datetime
    updated: datetime


class RunView(_Body):
    """A stored run as ``GET /runs/{id}`` shows it (the ``runs`` row)."""

    id: str
    kind: Literal["run"] = "run"
    status: str
    run_id: str
    scenario_id: str
    title: str = ""
    mode: str
    seed: int
    started: datetime
    finished: datetime | None = None
    cost_usd: float = 0.0
    entities: int = 0
    timepoints: int = 0
    error: str | None = None


class Problem(_Body):
    """An RFC 9457 problem details body."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[str] | None = None


#: Scenario keys that name files: a request may not set them (they would read server files).
FILE_KEYS = {"extends", "profile"}


def refuse_file_references(text: str) -> None:
    """Refuse inline YAML that names files on the server (``extends:``, roster ``profile:``).

    Raises:
        ServiceError: the YAML names a file.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return  # the scenario check reports it, line and column
    found: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                here = f"{where}.{key}" if where else str(key)
                if key in FILE_KEYS:
                    found.append(here)
                walk(item, here)
        elif isinstance(value, list):
            for n, item in enumerate(value):
                walk(item, f"{where}[{n}]")

    walk(data, "")
    if found:
        raise ServiceError(
            f"scenario_yaml: {', '.join(found)} would read files on the server; send the "
            "whole scenario inline, or name a library scenario",
            status=422,
        )


def library_file(root: Path, name: str, what: str) -> Path:
    """The file ``name`` of a library folder ``root``.

    Raises:
        ServiceError: a name outside the folder, or no such file.
    """
    base = root.resolve()
    path = (base / name).resolve()
    if path.suffix not in (".yaml", ".yml"):
        path = path.with_suffix(".yaml")
    if not path.is_relative_to(base):
        raise ServiceError(f"{what} {name!r} is outside the library", status=422)
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in base.glob("*.yaml"))) or "none"
        raise ServiceError(
            f"no {what} {name!r} in the library; known: {known}",
            status=422,
            title=f"Unknown {what}",
        )
    return path


class ScenarioLibrary:
    """Finds and checks the scenario of a request.

    Args:
        root: the folder library paths are relative to (``scenarios``).
        inline_dir: where inline scenarios are kept.
        settings: what ``timepoint validate`` would check against (the model registry).
    """

    def __init__(self, root: Path, inline_dir: Path, settings: Settings):
        self.root = root.resolve()
        self.inline_dir = inline_dir
        self.settings = settings

    def path_of(self, request: ScenarioInput) -> Path:
        """The file ``request`` names or carries.

        Raises:
            ServiceError: a library path outside the library or missing.
        """
        if request.scenario_yaml is not None:
            text = request.scenario_yaml
            refuse_file_references(text)
            digest = hashlib.sha256(text.encode()).hexdigest()[:24]
            self.inline_dir.mkdir(parents=True, exist_ok=True)
            path = self.inline_dir / f"inline-{digest}.yaml"
            if not path.exists():
                staged = path.with_suffix(".tmp")
                staged.write_text(text, encoding="utf-8")
                staged.replace(path)
            return path
        name = str(request.scenario)
        path = (self.root / name).resolve()
        if path.suffix not in (".yaml", ".yml"):
            path = path.with_suffix(".yaml")
        if not path.is_relative_to(self.root):
            raise ServiceError(f"scenario {name!r} is outside the scenario library", status=422)
        if not path.is_file():
            raise ServiceError(
                f"no scenario {name!r} in the library; give a path such as "
                "showcase/jefferson_dinner.yaml, or the YAML itself as scenario_yaml",
                status=422,
                title="Unknown scenario",
            )
        return path

    def check(self, request: ScenarioInput) -> Path:
        """The scenario file of ``request``, checked with its overrides.

        Raises:
            ScenarioError: every problem, one line each, as ``timepoint validate`` prints them.
            ServiceError: the scenario cannot be found.
        """
        for dotted in request.overrides:
            if FILE_KEYS & set(str(dotted).replace("[", ".").split(".")):
                raise ServiceError(
                    f"overrides: {dotted!r} would name a file on the server; "
                    "a request may not set extends or profile",
                    status=422,
                )
        path = self.path_of(request)
        try:
            check_scenario_file(path, request.overrides or None, settings=self.settings)
        except ScenarioError as error:
            raise ScenarioError(error.problems) from None
        return path
