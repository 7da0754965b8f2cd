"""The :class:`Run` a researcher holds in a notebook: the record plus queries over it."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from timepoint.engine.ask import ask as ask_about
from timepoint.engine.branch import branch_of
from timepoint.engine.session import Outcome, default_store, environment
from timepoint.errors import SimulationError
from timepoint.kernel.progress import ProgressSink
from timepoint.knowledge.provenance import KnowledgeQueryError, Provenance
from timepoint.llm.base import LanguageModel
from timepoint.report.narrative import narrative_markdown
from timepoint.settings import Settings
from timepoint.store import Store
from timepoint.time.comparison import Comparison
from timepoint.time.comparison import compare as compare_histories
from timepoint.time.intervention import Intervention
from timepoint.time.paths import RunPath, paths_of
from timepoint.world import ExposureEvent, Timeline, Timepoint
from timepoint.world.record import Answer, RunRecord


class Run:
    """A stored run. Knowledge queries are derived from its exposure events."""

    def __init__(
        self,
        record: RunRecord,
        *,
        folder: Path | None = None,
        store: Store | None = None,
        scenario: Any = None,
        settings: Settings | None = None,
    ):
        self.record = record
        self.folder = folder
        self.store = store
        self.scenario = scenario
        self.settings = settings

    def __repr__(self) -> str:
        r = self.record
        return (
            f"<Run {r.run_id} {r.scenario_id} mode={r.mode} status={r.status} "
            f"entities={len(r.entities)} timepoints={len(r.timepoints)} provider={r.provider}>"
        )

    def _repr_markdown_(self) -> str:
        return narrative_markdown(self.record, "minimal")

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def timepoints(self) -> dict[str, Timepoint]:
        return {t.id: t for t in self.record.timepoints}

    @property
    def timelines(self) -> dict[str, Timeline]:
        return {t.id: t for t in self.record.timelines}

    @cached_property
    def _provenance(self) -> Provenance:
        return Provenance(self.timepoints, self.record.exposures)

    def entity_id(self, name_or_id: str) -> str:
        """An entity id from an id or a (case-insensitive) part of its name."""
        ids = {e.id for e in self.record.entities}
        if name_or_id in ids:
            return name_or_id
        needle = name_or_id.lower()
        matches = [e.id for e in self.record.entities if needle in e.name.lower()]
        if len(matches) == 1:
            return matches[0]
        raise KnowledgeQueryError(
            f"no single entity matches {name_or_id!r}; known: {', '.join(sorted(ids))}"
        )

    def knowledge_at(self, entity: str, timepoint: str) -> list[ExposureEvent]:
        """What ``entity`` could know at ``timepoint`` (first exposure per fact, oldest first)."""
        known = self._provenance.knowledge_at(self.entity_id(entity), timepoint)
        return sorted(known.values(), key=lambda e: (e.timestamp, e.fact_id))

    def provenance(self, entity: str, fact: str) -> list[ExposureEvent]:
        """The chain of exposures from the origin of ``fact`` to ``entity``."""
        return self._provenance.chain(self.entity_id(entity), fact)

    def who_knew(self, fact: str, at: str) -> list[str]:
        """Entity ids that held ``fact`` (id or text fragment) at timepoint ``at``."""
        return self._provenance.who_knew(fact, at)

    def ask(
        self,
        question: str,
        *,
        model: LanguageModel | None = None,
        request_id: str | None = None,
    ) -> Answer:
        """Answer a question about this run, raising detail only where needed (M5, M9).

        The answer (an :class:`~timepoint.world.record.Answer`) is appended to
        ``record.answers``; the updated record is written to the run folder and the store.
        Asked again with the same ``request_id``, the stored answer is returned.

        >>> run.ask("What did Madison know before the dinner, and from whom?")  # doctest: +SKIP
        """
        return ask_about(self, question, model=model, request_id=request_id)

    def branch(
        self,
        at: str | int,
        intervention: Intervention | dict[str, Any],
        *,
        model: LanguageModel | None = None,
        progress: ProgressSink | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Re-simulate from ``at`` after an intervention (M12); the branch is a new stored run
        (under ``run_id`` when given, e.g. one written down beforehand to find it again).

        >>> from timepoint.time.intervention import Intervention  # doctest: +SKIP
        >>> other = run.branch(at="tp_001", intervention=Intervention.remove("hamilton"))
        """
        return finished(
            branch_of(self, at, intervention, model=model, progress=progress, run_id=run_id)
        )

    def paths(self) -> list[RunPath]:
        """The run's paths, best first, each with its score, pivot points and timepoints.

        BRANCHING and PORTAL runs keep several scored paths (``main`` is the best); other runs
        return their timelines unscored. Each item is a :class:`~timepoint.time.paths.RunPath`.

        >>> [(p.timeline_id, p.score, p.pivots) for p in run.paths()]  # doctest: +SKIP
        """
        return paths_of(self.record)


class RunFailed(SimulationError):
    """A run stopped at a step; ``run`` holds the stored partial record (status ``failed``)."""

    def __init__(self, run: Run, cause: BaseException):
        self.run = run
        self.cause = cause
        record = run.record
        super().__init__(
            record.failed_step or "unknown",
            f"run {record.run_id} failed: {type(cause).__name__}: {cause} "
            f"(partial record kept in {run.folder})",
        )


def finished(outcome: Outcome) -> Run:
    """The :class:`Run` of a stored ``outcome``.

    Raises:
        RunFailed: the run failed; its stored partial record is attached.
    """
    run = Run(
        outcome.record,
        folder=outcome.folder,
        store=outcome.store,
        scenario=outcome.scenario,
        settings=outcome.settings,
    )
    if outcome.failure is not None:
        raise RunFailed(run, outcome.failure) from outcome.failure
    return run


def load_run(run_id: str, store: Store | None = None, settings: Settings | None = None) -> Run:
    """Read a stored run back (a unique prefix of the id is enough)."""
    settings = environment(settings)
    store = store if store is not None else default_store(settings)
    record = store.load_run(run_id)
    folder = Path(settings.home) / record.run_id
    return Run(record, folder=folder if folder.exists() else None, store=store, settings=settings)


def compare(
    a: Run | RunRecord | str,
    b: Run | RunRecord | str,
    *,
    store: Store | None = None,
    settings: Settings | None = None,
) -> Comparison:
    """Compare two histories (``tp.compare``): each side a Run, a RunRecord or
    ``"RUN_ID[:TIMELINE]"``; run ids are loaded from ``store`` (default: the store the settings
    name). See :func:`timepoint.time.comparison.compare`."""
    if store is None and any(isinstance(side, str) for side in (a, b)):
        store = default_store(environment(settings))
    return compare_histories(a, b, store=store)
