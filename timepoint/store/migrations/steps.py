"""The migrations of schema versions 1 to 6, derived from the ``since`` of tables and columns.

Version *n* creates the tables introduced in version *n* with their columns of version *n* and
adds the columns introduced in version *n* to older tables; then it records *n* in
``schema_version``. This is the schema the store wrote before it moved to Alembic; later
versions may be written as ordinary Alembic operations instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import op

from timepoint.store.schema import TABLES, VERSIONS
from timepoint.store.table_spec import Table, sql_column

#: What each version changed, recorded in ``schema_version``.
DESCRIPTIONS: dict[int, str] = {
    1: "initial schema: runs and their child tables, batches, batch_jobs, questions, forecasts",
    2: "batch leases: lease columns on batches and batch_jobs, new table batch_attempts",
    3: "forecasts: smoothed, level and outcomes_json; questions: open_date",
    4: "service: new tables api_keys, service_work, service_runs, webhooks, webhook_deliveries",
    5: "new tables llm_call_texts and rate_buckets, column llm_calls.subject",
    6: "questions: resolution_value",
}


def _create(table: Table, version: int) -> None:
    op.create_table(
        table.name, *(sql_column(table, c) for c in table.columns if c.since <= version)
    )
    for index in table.indexes:
        op.create_index(table.index_name(index), table.name, list(index))


def schema_step(version: int) -> None:
    """Apply schema version ``version`` (inside a migration's ``upgrade``)."""
    if version == 1:
        _create(VERSIONS, version)
    for table in TABLES:
        if table.since == version:
            _create(table, version)
        elif table.since < version:
            for column in table.columns:
                if column.since == version:
                    op.add_column(table.name, sql_column(table, column))
    op.bulk_insert(
        VERSIONS.sql,
        [{"version": version, "applied": datetime.now(UTC), "description": DESCRIPTIONS[version]}],
    )
