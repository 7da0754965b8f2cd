"""``tp.forecast``: an ensemble of runs becomes a probability, stored with the runs behind it.

The ensemble is a batch (:func:`timepoint.run_batch`: one budget, resume, progress) of the
question's scenario over ``n`` seeds. Each completed run's outcome is extracted (rule-based or
model-judged, with its evidence); with ``k`` of ``N`` runs answering *yes*, the forecast is
``p̂ = k/N`` with a Wilson interval and the Jeffreys-smoothed ``(k + ½)/(N + 1)`` for log
scores. The question and the forecast are written to the store (``questions``, ``forecasts``),
so a question's forecasts over time can be read back with :func:`forecast_history`.

The budget cap covers the whole forecast: the batch first, then the model-judged outcomes,
which are charged to what the batch (and the judgements of earlier invocations of a resumed
forecast) left of the cap. A judgement the cap cannot pay for is not made: its run is left out
of that question's ``N`` and counted in ``failed``, like a run the batch skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.batch import JobSpec, expand_grid, run_batch
from timepoint.calibrate.ensemble import jeffreys, share, wilson
from timepoint.calibrate.extractors import Extraction
from timepoint.calibrate.judge import extract
from timepoint.calibrate.questions import JudgeOutcome, Question
from timepoint.engine.run import Run, load_run
from timepoint.engine.session import environment
from timepoint.errors import BudgetExceeded, CalibrationError
from timepoint.llm.base import ActionType, LanguageModel
from timepoint.llm.budget import Budget
from timepoint.settings import Settings
from timepoint.store import open_store

METHOD = "ensemble share; Wilson interval; Jeffreys smoothing"


class Forecast(BaseModel):
    """A probability for one question, from an ensemble of runs.

    Attributes:
        probability: ``k/N``, the share of runs that answered yes.
        lower / upper: the Wilson interval of that share at ``level``.
        smoothed: ``(k + 0.5)/(N + 1)``, never 0 or 1 (use it for log scores).
        runs / yes_runs: ``N`` and ``k``.
        extractions: each run's outcome with its evidence.
        failed: runs of the ensemble that did not complete (left out of ``N``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    forecast_id: str
    question_id: str
    question_set: str = ""
    made: datetime
    probability: float
    lower: float
    upper: float
    level: float
    smoothed: float
    runs: int
    yes_runs: int
    batch_id: str
    run_ids: list[str] = Field(default_factory=list)
    extractions: list[Extraction] = Field(default_factory=list)
    failed: int = 0

    @classmethod
    def from_extractions(
        cls,
        question: Question,
        extractions: list[Extraction],
        *,
        batch_id: str,
        made: datetime,
        level: float = 0.9,
        failed: int = 0,
    ) -> Forecast:
        """The forecast that ``extractions`` (one per completed run) make."""
        n = len(extractions)
        k = sum(e.outcome for e in extractions)
        low, high = wilson(k, n, level)
        return cls(
            forecast_id=f"{question.id}@{made.strftime('%Y%m%dT%H%M%S.%f')}",
            question_id=question.id,
            question_set=question.question_set,
            made=made,
            probability=share(k, n),
            lower=low,
            upper=high,
            level=level,
            smoothed=jeffreys(k, n),
            runs=n,
            yes_runs=k,
            batch_id=batch_id,
            run_ids=[e.run_id for e in extractions],
            extractions=extractions,
            failed=failed,
        )

    def describe(self) -> str:
        """One line: the probability, its interval and the ensemble."""
        return (
            f"{self.question_id}: p = {self.probability:.2f} ({self.level:.0%} Wilson "
            f"{self.lower:.2f}-{self.upper:.2f}; smoothed {self.smoothed:.3f}) from "
            f"{self.yes_runs}/{self.runs} runs" + (f", {self.failed} failed" if self.failed else "")
        )


def _moment(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day is not None else None


def check_question_ids(store: Any, questions: Sequence[Question]) -> None:
    """Refuse questions whose ids the store already holds for another question set: an id
    names one question in a store, so saving it would overwrite the other set's question."""
    stored = {row["question_id"]: row["question_set"] for row in store.questions()}
    for question in questions:
        other = stored.get(question.id)
        if other is not None and other != (question.question_set or None):
            raise CalibrationError(
                f"question {question.id!r} of set {question.question_set or '(none)'!r}: the "
                f"store already holds a question {question.id!r} of set {other!r}; question ids "
                f"name one question across the store, so rename it (e.g. "
                f"'{question.question_set or 'set'}-{question.id}')"
            )


def save_question(store: Any, question: Question) -> None:
    """Write (or update) the ``questions`` row of ``question``: its resolution as yes (1) or
    no (0), and a numeric resolution's number as well."""
    value = question.resolution
    store.save_question(
        question.id,
        question_set=question.question_set or None,
        text=question.question,
        scenario=question.scenario,
        extractor=question.outcome.model_dump(mode="json"),
        open_date=_moment(question.opens),
        close_date=_moment(question.closes),
        resolution_date=_moment(question.resolves),
        resolution=None if question.resolved_yes() is None else float(question.resolved_yes()),  # type: ignore[arg-type]
        resolution_value=None if value is None or isinstance(value, bool) else float(value),
        source=question.source,
        source_ref=question.source_ref,
        market_probability=question.market_probability,
    )


def save_forecast(store: Any, forecast: Forecast) -> None:
    """Write the ``forecasts`` row of ``forecast`` (its runs and their outcomes included)."""
    store.save_forecast(
        forecast.forecast_id,
        question_id=forecast.question_id,
        made=forecast.made,
        probability=forecast.probability,
        lower=forecast.lower,
        upper=forecast.upper,
        runs=forecast.runs,
        yes_runs=forecast.yes_runs,
        batch_id=forecast.batch_id,
        run_ids=forecast.run_ids,
        method=METHOD,
        smoothed=forecast.smoothed,
        level=forecast.level,
        outcomes_json=[e.model_dump(mode="json") for e in forecast.extractions],
    )


def forecast_history(
    question_id: str, *, store: Any = None, settings: Settings | None = None
) -> list[Forecast]:
    """Every stored forecast of a question, oldest first (``store``: default the one the
    settings name)."""
    if store is None:
        settings = environment(settings)
        store = open_store(settings.db_url, home=Path(settings.home))
    question_set = next(
        (q["question_set"] or "" for q in store.questions() if q["question_id"] == question_id), ""
    )
    history = []
    for row in store.forecasts(question_id):
        outcomes = row.get("outcomes_json") or []
        runs, yes = int(row["runs"] or 0), int(row["yes_runs"] or 0)
        history.append(
            Forecast(
                forecast_id=row["forecast_id"],
                question_id=row["question_id"],
                question_set=question_set,
                made=row["made"],
                probability=row["probability"],
                lower=row["lower"],
                upper=row["upper"],
                level=row.get("level") or 0.9,
                smoothed=row.get("smoothed") or jeffreys(yes, max(runs, 1)),
                runs=runs,
                yes_runs=yes,
                batch_id=row["batch_id"] or "",
                run_ids=list(row.get("run_ids_json") or []),
                extractions=[Extraction.model_validate(o) for o in outcomes],
            )
        )
    return history


def forecast(
    question: Question,
    n: int = 20,
    budget_cap: float | None = 10.0,
    backend: str = "local",
    **options: Any,
) -> Forecast:
    """Forecast ``question`` from an ensemble of ``n`` runs of its scenario.

    Args:
        question: a question from :func:`~timepoint.calibrate.questions.load_questions`.
        n: runs in the ensemble (seeds ``first_seed`` … ``first_seed + n − 1``).
        budget_cap: the most the forecast may spend, in USD: its runs and any model-judged
            outcomes (``None``: no cap).
        backend: ``local`` (processes) or ``dask``; see :func:`timepoint.run_batch`.
        **options: as for :func:`forecast_many`.

    Raises:
        CalibrationError: ``n < 1``, or no run of the ensemble completed.
    """
    return forecast_many([question], n, budget_cap, backend, **options)[0]


def forecast_many(
    questions: Sequence[Question],
    n: int = 20,
    budget_cap: float | None = 10.0,
    backend: str = "local",
    *,
    parallel_workers: int = 2,
    first_seed: int = 0,
    level: float = 0.9,
    model: Callable[[], LanguageModel] | None = None,
    judge_model: LanguageModel | None = None,
    settings: Settings | None = None,
    store: Any = None,
    batch_id: str | None = None,
    resume: str | None = None,
    progress: bool = False,
) -> list[Forecast]:
    """Forecast several questions from one batch; questions whose scenario, overrides and
    seed coincide share their runs.

    Args:
        questions: questions from :func:`~timepoint.calibrate.questions.load_questions`.
        n: runs per question (seeds ``first_seed`` … ``first_seed + n − 1``).
        budget_cap: the most the whole forecast may spend, in USD: the batch, then the
            model-judged outcomes, whose calls the cap refuses once it is spent; a run whose
            judgement was refused is left out of its question's forecast (``None``: no cap).
        backend: ``local`` (processes) or ``dask``; see :func:`timepoint.run_batch`.
        parallel_workers: workers of the batch.
        first_seed: the first seed of each ensemble.
        level: coverage of the Wilson intervals.
        model: a picklable factory of each run's provider (default: from settings).
        judge_model: the provider of model-judged outcomes (default: from settings).
        settings: environment settings (default: the ``TIMEPOINT_*`` environment variables).
        store: the run store (default: the one the settings name).
        batch_id: a name for the batch (default: the questions' ids and the time).
        resume: the batch id of a forecast that stopped, to finish it.
        progress: show the batch's progress bar.

    Returns:
        One forecast per question, in order.

    Raises:
        CalibrationError: ``n < 1``, no questions, or questions none of whose runs completed
            or could be judged under the cap (raised after the other questions' forecasts
            are stored).
    """
    if n < 1:
        raise CalibrationError(f"n={n}: an ensemble needs at least 1 run")
    if not questions:
        raise CalibrationError("no questions to forecast; give at least one")
    settings = environment(settings)
    store = store if store is not None else open_store(settings.db_url, home=Path(settings.home))
    check_question_ids(store, questions)
    made = datetime.now(UTC)
    specs: dict[str, JobSpec] = {}
    jobs_of: dict[str, list[str]] = {}
    grids: dict[str, list[str]] = {}  # questions with one scenario and overrides share runs
    for question in questions:
        shared = json.dumps([question.scenario, question.overrides], sort_keys=True, default=str)
        if shared not in grids:
            grid = expand_grid(
                question.scenario,
                {"seed": range(first_seed, first_seed + n)},
                overrides=question.overrides,
            )
            for spec in grid:
                specs.setdefault(spec.job_id, spec)
            grids[shared] = [spec.job_id for spec in grid]
        jobs_of[question.id] = grids[shared]
    label = questions[0].id if len(questions) == 1 else questions[0].question_set or "questions"
    salt = hashlib.sha256(" ".join(jobs_of).encode() + made.isoformat().encode()).hexdigest()[:6]
    name = resume or batch_id or f"forecast-{label}-{made:%Y%m%dT%H%M%S}-{salt}"
    summary = run_batch(
        list(specs.values()),
        parallel_workers=parallel_workers,
        budget_cap=budget_cap,
        backend=backend,
        resume=resume,
        batch_id=None if resume else name,
        model=model,
        settings=settings,
        store=store,
        progress=progress,
        definition={"questions": list(jobs_of), "n": n},
    )
    runs = {
        r["job_id"]: r["run_id"]
        for r in store.jobs(summary.batch_id)
        if r["status"] == "completed" and r["run_id"]
    }
    loaded: dict[str, Run] = {}

    def run_of(job: str) -> Run:
        if job not in loaded:
            loaded[job] = load_run(runs[job], store=store, settings=settings)
        return loaded[job]

    judging = any(isinstance(q.outcome, JudgeOutcome) for q in questions)
    budget = None
    if budget_cap is not None and judging:
        judged = sum(_judge_spend(run_of(job)) for job in runs)
        left = max(0.0, budget_cap - summary.batch_cost_usd - judged)
        budget = Budget("forecast", max_usd=left)
    results = []
    missing = []
    refused: str | None = None
    for question in questions:
        save_question(store, question)
        extractions = []
        for job in jobs_of[question.id]:
            if job not in runs:
                continue
            try:
                found = extract(
                    run_of(job), question, model=judge_model, settings=settings, budget=budget
                )
            except BudgetExceeded as error:
                refused = str(error)
                continue
            extractions.append(found)
        if not extractions:
            missing.append(question.id)
            continue
        result = Forecast.from_extractions(
            question,
            extractions,
            batch_id=summary.batch_id,
            made=made,
            level=level,
            failed=n - len(extractions),
        )
        save_forecast(store, result)
        results.append(result)
    if missing:
        why = summary.stop_reason or summary.skip_reason or "see the batch's jobs"
        judge = f"; outcome judgements refused: {refused}" if refused else ""
        raise CalibrationError(
            f"no run of batch {summary.batch_id} completed for {', '.join(missing)} "
            f"({summary.failed} failed, {summary.skipped} skipped: {why}{judge}); the other "
            f"{len(results)} forecasts are stored. Fix the failures or raise the budget and "
            f"resume the batch (resume={summary.batch_id!r})"
        )
    return results


def _judge_spend(run: Run) -> float:
    """USD spent judging outcomes in ``run`` (by earlier invocations of its forecast)."""
    judged = run.record.usage.by_action.get(ActionType.OUTCOME_JUDGEMENT.value)
    return judged.cost_usd if judged is not None else 0.0
