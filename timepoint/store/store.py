"""The run store: runs and their call records in, run records and tables out.

``runs.record_json`` holds each run record whole and is what :meth:`Store.load_run` reads; the
child tables (entities, exposures, dialogs...) are flat projections of it for queries and
exports. Saving a run replaces all of its rows in one transaction, so saving twice is harmless
and a reader never sees half a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from timepoint.engine.record import RunRecord
from timepoint.llm.base import CallRecord
from timepoint.store.base import Row
from timepoint.store.batches import BatchTables
from timepoint.store.dialect import Backend
from timepoint.store.migrations import current_version, migrate
from timepoint.store.queries import RunQueries
from timepoint.store.rows import call_from_row, child_rows, run_row
from timepoint.store.schema import LLM_CALLS, RUN_CHILDREN, RUNS


class Store(RunQueries, BatchTables):
    """A run store on SQLite or PostgreSQL. Open one with :func:`timepoint.store.open_store`.

    Safe to share between the threads of one process (calls are serialized); several processes
    may open the same store. A store pickles as its URL, so it can be handed to batch workers
    (joblib, Dask), each of which reopens it; an in-memory SQLite store reopens empty.
    """

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        from timepoint.store.location import open_store

        return open_store, (self.url,)

    def __init__(self, backend: Backend, *, location: str, url: str | None = None):
        super().__init__(backend, location=location, url=url)
        try:
            with self._guard("migrating the schema") as db:
                migrate(db)
        except BaseException:
            self.close()
            raise

    @property
    def version(self) -> int:
        """The schema version recorded in the store."""
        with self._guard("reading the schema version") as db:
            return current_version(db)

    def save_run(
        self, record: RunRecord, calls: Sequence[CallRecord] = (), *, children: bool = True
    ) -> None:
        """Write a run and its call records, replacing whatever the store held for that run id.

        With ``children=False`` only the ``runs`` row is replaced when the run is already
        stored: for a record whose child rows are stored (the same run saved before with another
        status), which saves re-writing every row of a large run.
        """
        head = run_row(record, calls)
        with self._guard(f"saving run {record.run_id!r}") as db, db.write():
            if not children and db.query("SELECT 1 FROM runs WHERE run_id = ?", [record.run_id])[1]:
                columns = [c for c in RUNS.columns if c.name != "run_id"]
                assignments = ", ".join(f"{c.name} = ?" for c in columns)
                values = [self._backend.encode(c.type, head.get(c.name)) for c in columns]
                db.execute(
                    f"UPDATE runs SET {assignments} WHERE run_id = ?", [*values, record.run_id]
                )
                return
            rows = child_rows(record, calls)
            for table in reversed(RUN_CHILDREN):
                db.execute(f"DELETE FROM {table.name} WHERE run_id = ?", [record.run_id])
            db.execute("DELETE FROM runs WHERE run_id = ?", [record.run_id])
            db.execute(self._insert_sql(RUNS), self._encode_row(RUNS, head))
            for table in RUN_CHILDREN:
                encoded = [
                    self._encode_row(table, {**row, "run_id": record.run_id, "seq": seq})
                    for seq, row in enumerate(rows[table.name])
                ]
                db.executemany(self._insert_sql(table), encoded)

    def load_run(self, run_id: str) -> RunRecord:
        """The record of the run ``run_id`` names (a full id or a unique prefix).

        Raises:
            RunNotFound: no run matches, or the prefix is ambiguous.
        """
        full = self.resolve_run_id(run_id)
        rows = self._select(
            RUNS,
            "SELECT record_json FROM runs WHERE run_id = ?",
            [full],
            doing=f"loading run {full!r}",
        )
        return RunRecord.model_validate(rows[0]["record_json"])

    def calls(self, run_id: str) -> list[CallRecord]:
        """The call records saved with a run, in the order they were saved."""
        full = self.resolve_run_id(run_id)
        rows: list[Row] = self._select(
            LLM_CALLS,
            "SELECT * FROM llm_calls WHERE run_id = ? ORDER BY seq",
            [full],
            doing=f"reading calls of run {full!r}",
        )
        return [call_from_row(r) for r in rows]

    def delete_run(self, run_id: str) -> str:
        """Delete a run and all its rows; returns the full id that was deleted."""
        full = self.resolve_run_id(run_id)
        with self._guard(f"deleting run {full!r}") as db, db.write():
            for table in reversed(RUN_CHILDREN):
                db.execute(f"DELETE FROM {table.name} WHERE run_id = ?", [full])
            db.execute("DELETE FROM runs WHERE run_id = ?", [full])
        return full
