"""The :class:`Run` a researcher holds in a notebook: the record plus queries over it."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from timepoint.knowledge.provenance import Provenance
from timepoint.world import ExposureEvent, Timeline, Timepoint
from timepoint.world.record import RunRecord


class Run:
    """A stored run. Knowledge queries are derived from its exposure events."""

    def __init__(
        self,
        record: RunRecord,
        *,
        folder: Path | None = None,
        store: Any = None,
        scenario: Any = None,
        settings: Any = None,
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
        from timepoint.report.narrative import narrative_markdown

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
        from timepoint.knowledge.provenance import KnowledgeQueryError

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

    def ask(self, question: str, *, model: Any = None) -> Any:
        """Answer a question about this run, raising detail only where needed (M5, M9).

        The answer (an :class:`~timepoint.world.record.Answer`) is appended to
        ``record.answers``; the updated record is written to the run folder and the store.

        >>> run.ask("What did Madison know before the dinner, and from whom?")  # doctest: +SKIP
        """
        from timepoint.engine.ask import ask

        return ask(self, question, model=model)

    def branch(self, at: str | int, intervention: Any, *, model: Any = None) -> Run:
        """Re-simulate from ``at`` after an intervention (M12); the branch is a new stored run.

        >>> from timepoint.time.intervention import Intervention  # doctest: +SKIP
        >>> other = run.branch(at="tp_001", intervention=Intervention.remove("hamilton"))
        """
        from timepoint.engine.branch import branch

        return branch(self, at, intervention, model=model)

    def paths(self) -> list[Any]:
        """The run's paths, best first, each with its score, pivot points and timepoints.

        BRANCHING and PORTAL runs keep several scored paths (``main`` is the best); other runs
        return their timelines unscored. Each item is a :class:`~timepoint.time.paths.RunPath`.

        >>> [(p.timeline_id, p.score, p.pivots) for p in run.paths()]  # doctest: +SKIP
        """
        from timepoint.time.paths import paths_of

        return paths_of(self.record)


def load_run(run_id: str, store: Any = None, settings: Any = None) -> Run:
    """Read a stored run back (a unique prefix of the id is enough)."""
    from timepoint.settings import Settings
    from timepoint.store import open_store

    settings = settings or Settings.from_env()
    store = store if store is not None else open_store(settings.db_url, home=Path(settings.home))
    record = store.load_run(run_id)
    folder = Path(settings.home) / record.run_id
    return Run(record, folder=folder if folder.exists() else None, store=store, settings=settings)
