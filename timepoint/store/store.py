"""The run store: runs and their call records in, run records and tables out.

``runs.record_json`` holds each run record whole and is what :meth:`Store.load_run` reads; the
child tables (entities, exposures, dialogs...) are flat projections of it for queries and
exports. Saving a run replaces all of its rows in one transaction, so saving twice is harmless
and a reader never sees half a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from timepoint.errors import StoreError
from timepoint.llm.base import CallRecord
from timepoint.llm.call_log import CallText
from timepoint.store.base import StoreConnection, failure
from timepoint.store.forecasts import ForecastTables
from timepoint.store.job_leases import JobLeaseTables
from timepoint.store.location import connect
from timepoint.store.migrations import schema_version, upgrade
from timepoint.store.queries import RunQueries
from timepoint.store.rows import call_from_row, child_rows, run_row, text_from_row
from timepoint.store.run_tables import LLM_CALL_TEXTS, LLM_CALLS, RUNS
from timepoint.store.schema import RUN_CHILDREN
from timepoint.store.service import ServiceTables
from timepoint.world.record import RunRecord


class Store(RunQueries, JobLeaseTables, ForecastTables, ServiceTables):
    """A run store on SQLite or PostgreSQL. Open one with :func:`timepoint.store.open_store`.

    Safe to share between the threads of one process (calls are serialized); several processes
    may open the same store. A store pickles as its URL, so it can be handed to batch workers
    (joblib, Dask), each of which reopens it; an in-memory SQLite store reopens empty.
    """

    def __reduce__(self) -> tuple[Any, tuple[str]]:

        return open_store, (self.url,)

    def __init__(self, engine: Engine, *, location: str, url: str | None = None):
        super().__init__(engine, location=location, url=url)
        try:
            with self._lock:
                upgrade(engine)
        except SQLAlchemyError as error:
            self.close()
            raise StoreError(
                f"{self.dialect} store {self.location}: upgrading the schema failed: "
                f"{failure(error)}"
            ) from error
        except BaseException:
            self.close()
            raise

    @property
    def version(self) -> int:
        """The schema version of the store (the number of its Alembic revision)."""
        with self._guard("reading the schema version") as db:
            return schema_version(db.connection)

    @staticmethod
    def _delete_run(db: StoreConnection, run_id: str) -> None:
        for table in reversed(RUN_CHILDREN):
            db.execute(delete(table.sql).where(table.sql.c.run_id == run_id))
        db.execute(delete(RUNS.sql).where(RUNS.sql.c.run_id == run_id))

    def save_run(
        self,
        record: RunRecord,
        calls: Sequence[CallRecord] = (),
        *,
        children: bool = True,
        texts: Sequence[CallText] = (),
    ) -> None:
        """Write a run, its call records and their ``texts`` (prompts and answers), replacing
        whatever the store held for that run id.

        With ``children=False`` only the ``runs`` row is replaced when the run is already
        stored: for a record whose child rows are stored (the same run saved before with another
        status), which saves re-writing every row of a large run.
        """
        head = run_row(record, calls)
        runs = RUNS.sql
        with self._guard(f"saving run {record.run_id!r}") as db, db.write():
            if not children and db.rows(
                select(runs.c.run_id).where(runs.c.run_id == record.run_id)
            ):
                values = {k: v for k, v in self._full_row(RUNS, head).items() if k != "run_id"}
                db.execute(update(runs).where(runs.c.run_id == record.run_id).values(**values))
                return
            children_rows = child_rows(record, calls, texts)
            self._delete_run(db, record.run_id)
            db.execute(insert(RUNS.sql), [self._full_row(RUNS, head)])
            for table in RUN_CHILDREN:
                rows = [
                    self._full_row(table, {**row, "run_id": record.run_id, "seq": seq})
                    for seq, row in enumerate(children_rows[table.name])
                ]
                if rows:
                    db.execute(insert(table.sql), rows)

    def load_run(self, run_id: str) -> RunRecord:
        """The record of the run ``run_id`` names (a full id or a unique prefix).

        Raises:
            RunNotFound: no run matches, or the prefix is ambiguous.
        """
        full = self.resolve_run_id(run_id)
        runs = RUNS.sql
        rows = self._rows(
            select(runs.c.record_json).where(runs.c.run_id == full),
            doing=f"loading run {full!r}",
        )
        return RunRecord.model_validate(rows[0]["record_json"])

    def calls(self, run_id: str) -> list[CallRecord]:
        """The call records saved with a run, in the order they were saved."""
        full = self.resolve_run_id(run_id)
        calls = LLM_CALLS.sql
        rows = self._rows(
            select(calls).where(calls.c.run_id == full).order_by(calls.c.seq),
            doing=f"reading calls of run {full!r}",
        )
        return [call_from_row(r) for r in rows]

    def call_texts(self, run_id: str) -> list[CallText]:
        """The prompt and answer of each call saved with a run, by call ``seq`` (empty for runs
        stored before schema version 5, which kept none)."""
        full = self.resolve_run_id(run_id)
        texts = LLM_CALL_TEXTS.sql
        rows = self._rows(
            select(texts).where(texts.c.run_id == full).order_by(texts.c.call_seq),
            doing=f"reading call texts of run {full!r}",
        )
        return [text_from_row(r) for r in rows]

    def delete_run(self, run_id: str) -> str:
        """Delete a run and all its rows; returns the full id that was deleted."""
        full = self.resolve_run_id(run_id)
        with self._guard(f"deleting run {full!r}") as db, db.write():
            self._delete_run(db, full)
        return full


def open_store(
    url: str | Path | None = None, *, home: Path | None = None, create: bool = True
) -> Store:
    """Open (and if needed create and upgrade) a run store.

    Args:
        url: ``None`` for ``<home>/timepoint.db``, an SQLite path or ``sqlite:///`` URL, or a
            ``postgresql://`` URL.
        home: the folder of the default SQLite store (the caller resolves ``TIMEPOINT_HOME``);
            ``runs`` when not given.
        create: when False, a missing SQLite file is an error instead of being created.

    Raises:
        StoreError: an unknown URL scheme, a missing file with ``create=False``, a database
            that cannot be opened, or a store written by a newer schema.
    """
    engine, location, again = connect(url, home=home, create=create)
    return Store(engine, location=location, url=again)
