"""Batch bookkeeping, questions and forecasts: small keyed rows written as work progresses.

Job rows are upserted as jobs start, finish or fail, so a crashed batch can resume by skipping
:meth:`BatchTables.completed_job_ids`. Job statuses: ``pending``, ``running``, ``completed``,
``failed``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from timepoint.errors import StoreError
from timepoint.store.base import Row, StoreBase
from timepoint.store.schema import BATCH_JOBS, BATCHES, FORECASTS, QUESTIONS

COMPLETED = "completed"


class BatchTables(StoreBase):
    """Rows of ``batches``, ``batch_jobs``, ``questions`` and ``forecasts``."""

    def create_batch(self, batch_id: str, spec: dict[str, Any], *, status: str = "running") -> None:
        """Record a batch. Creating an existing batch again (a resume) updates its spec and
        status and keeps its jobs and creation time."""
        now = datetime.now(UTC)
        with self._guard(f"creating batch {batch_id!r}") as db, db.write():
            db.execute(
                "INSERT INTO batches (batch_id, spec_json, status, created, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (batch_id) DO UPDATE SET "
                "spec_json = excluded.spec_json, status = excluded.status, "
                "updated = excluded.updated",
                [
                    batch_id,
                    db.encode("json", spec),
                    status,
                    db.encode("time", now),
                    db.encode("time", now),
                ],
            )

    def update_batch(self, batch_id: str, *, status: str) -> None:
        """Set the status of an existing batch (``completed``, ``failed``, ``cancelled``...)."""
        self.batch(batch_id)
        with self._guard(f"updating batch {batch_id!r}") as db, db.write():
            self._upsert(
                db, BATCHES, {"batch_id": batch_id, "status": status, "updated": datetime.now(UTC)}
            )

    def batch(self, batch_id: str) -> Row:
        """The batch row (``spec_json`` decoded), or StoreError naming the known batches."""
        rows = self._select(
            BATCHES,
            "SELECT * FROM batches WHERE batch_id = ?",
            [batch_id],
            doing=f"reading batch {batch_id!r}",
        )
        if not rows:
            known = [r["batch_id"] for r in self.batches()][:10]
            listed = f"; known batches: {', '.join(known)}" if known else "; no batches yet"
            raise StoreError(f"no batch {batch_id!r}{listed}; create it with create_batch()")
        return rows[0]

    def batches(self) -> list[Row]:
        """Every batch, newest first."""
        return self._select(
            BATCHES, "SELECT * FROM batches ORDER BY created DESC", doing="listing batches"
        )

    def upsert_job(self, batch_id: str, job_id: str, **fields: Any) -> None:
        """Insert or update one job of a batch; only the given fields change.

        Fields are the ``batch_jobs`` columns (``spec`` or ``spec_json``, ``status``,
        ``run_id``, ``cost_usd``, ``tokens``, ``duration_s``, ``error_class``, ``step``,
        ``message``, ``retries``); ``updated`` is set to now.

        Raises:
            StoreError: an unknown field, or a batch that was never created.
        """
        values = self._fields(BATCH_JOBS, fields, fixed=("batch_id", "job_id", "updated"))
        with self._guard(f"writing job {job_id!r} of batch {batch_id!r}") as db, db.write():
            _, found = db.query("SELECT 1 FROM batches WHERE batch_id = ?", [batch_id])
            if not found:
                raise StoreError(
                    f"no batch {batch_id!r} for job {job_id!r}; call create_batch() first"
                )
            row = {"batch_id": batch_id, "job_id": job_id, **values}
            self._upsert(db, BATCH_JOBS, {**row, "updated": datetime.now(UTC)})

    def jobs(self, batch_id: str) -> list[Row]:
        """Every job of a batch as a dict (``spec_json`` decoded), ordered by job id."""
        return self._select(
            BATCH_JOBS,
            "SELECT * FROM batch_jobs WHERE batch_id = ? ORDER BY job_id",
            [batch_id],
            doing=f"reading jobs of batch {batch_id!r}",
        )

    def completed_job_ids(self, batch_id: str) -> set[str]:
        """Ids of the jobs of a batch whose status is ``completed`` (skipped on resume)."""
        rows = self._select(
            BATCH_JOBS,
            "SELECT job_id FROM batch_jobs WHERE batch_id = ? AND status = ?",
            [batch_id, COMPLETED],
            doing=f"reading jobs of batch {batch_id!r}",
        )
        return {r["job_id"] for r in rows}

    def save_question(self, question_id: str, **fields: Any) -> None:
        """Insert or update a question; fields are ``questions`` columns (``extractor`` may
        stand for ``extractor_json``)."""
        values = self._fields(QUESTIONS, fields, fixed=("question_id", "updated"))
        with self._guard(f"saving question {question_id!r}") as db, db.write():
            self._upsert(
                db,
                QUESTIONS,
                {"question_id": question_id, **values, "updated": datetime.now(UTC)},
            )

    def questions(self, question_set: str | None = None) -> list[Row]:
        """Every question, or those of one question set, ordered by id."""
        where, params = (" WHERE question_set = ?", [question_set]) if question_set else ("", [])
        return self._select(
            QUESTIONS,
            f"SELECT * FROM questions{where} ORDER BY question_id",
            params,
            doing="reading questions",
        )

    def save_forecast(self, forecast_id: str, **fields: Any) -> None:
        """Insert or update a forecast; fields are ``forecasts`` columns (``run_ids`` may stand
        for ``run_ids_json``)."""
        values = self._fields(FORECASTS, fields, fixed=("forecast_id", "updated"))
        with self._guard(f"saving forecast {forecast_id!r}") as db, db.write():
            self._upsert(
                db,
                FORECASTS,
                {"forecast_id": forecast_id, **values, "updated": datetime.now(UTC)},
            )

    def forecasts(self, question_id: str | None = None) -> list[Row]:
        """Every forecast, or those of one question, oldest first."""
        where, params = (" WHERE question_id = ?", [question_id]) if question_id else ("", [])
        return self._select(
            FORECASTS,
            f"SELECT * FROM forecasts{where} ORDER BY made, forecast_id",
            params,
            doing="reading forecasts",
        )
