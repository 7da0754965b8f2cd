"""The run store's tables, declared once as data and built as SQLAlchemy tables in one MetaData.

How a table is declared (neutral column types, meanings, ``pii`` tags) is in
:mod:`timepoint.store.table_spec`; the tables themselves are declared by concern, in
:mod:`~timepoint.store.run_tables` (runs, their child tables and LLM calls),
:mod:`~timepoint.store.batch_tables`, :mod:`~timepoint.store.forecast_tables` and
:mod:`~timepoint.store.service_tables`. This module gathers them: :data:`TABLES` in the order
parents before children, the schema version this code writes, and the schema as it was at any
earlier version.

:data:`METADATA` holds the SQLAlchemy :class:`~sqlalchemy.Table` of every table (``RUNS.sql``
is that of ``runs``); :func:`metadata_at` builds the tables as they were at an earlier schema
version, which is what the Alembic migrations of versions 1 to 3 create.
"""

from __future__ import annotations

import sqlalchemy as sa

from timepoint.store.batch_tables import BATCH_ATTEMPTS, BATCH_JOBS, BATCHES
from timepoint.store.forecast_tables import FORECASTS, QUESTIONS
from timepoint.store.run_tables import (
    DIALOGS,
    ENTITIES,
    EXPOSURES,
    LLM_CALL_TEXTS,
    LLM_CALLS,
    MECHANISM_LEDGER,
    RELATIONSHIPS,
    RUNS,
    TIMELINES,
    TIMEPOINTS,
    VALIDATIONS,
)
from timepoint.store.service_tables import (
    API_KEYS,
    RATE_BUCKETS,
    SERVICE_RUNS,
    SERVICE_WORK,
    WEBHOOK_DELIVERIES,
    WEBHOOKS,
)
from timepoint.store.table_spec import (
    COLUMN_TYPES,
    METADATA,
    Column,
    Table,
    add_sql_table,
    sql_column,
)

__all__ = [
    "API_KEYS",
    "BATCHES",
    "BATCH_ATTEMPTS",
    "BATCH_JOBS",
    "COLUMN_TYPES",
    "DIALOGS",
    "ENTITIES",
    "EXPOSURES",
    "FORECASTS",
    "LLM_CALLS",
    "LLM_CALL_TEXTS",
    "MECHANISM_LEDGER",
    "METADATA",
    "QUESTIONS",
    "RATE_BUCKETS",
    "RELATIONSHIPS",
    "RUNS",
    "RUN_CHILDREN",
    "SCHEMA_VERSION",
    "SERVICE_RUNS",
    "SERVICE_WORK",
    "TABLES",
    "TABLES_BY_NAME",
    "TIMELINES",
    "TIMEPOINTS",
    "VALIDATIONS",
    "VERSIONS",
    "WEBHOOKS",
    "WEBHOOK_DELIVERIES",
    "Column",
    "Table",
    "metadata_at",
    "sql_column",
]

#: The schema version this code writes (the number of the newest Alembic revision).
SCHEMA_VERSION = 6

#: Every table, parents before children.
TABLES: tuple[Table, ...] = (
    RUNS,
    ENTITIES,
    TIMEPOINTS,
    TIMELINES,
    EXPOSURES,
    DIALOGS,
    RELATIONSHIPS,
    VALIDATIONS,
    MECHANISM_LEDGER,
    LLM_CALLS,
    LLM_CALL_TEXTS,
    BATCHES,
    BATCH_JOBS,
    BATCH_ATTEMPTS,
    QUESTIONS,
    FORECASTS,
    API_KEYS,
    SERVICE_WORK,
    SERVICE_RUNS,
    WEBHOOKS,
    WEBHOOK_DELIVERIES,
    RATE_BUCKETS,
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

#: One row per schema version applied, kept so that Timepoint releases from before Alembic see
#: the version of a store (and refuse a newer one) instead of migrating it again.
VERSIONS = Table(
    "schema_version",
    "One row per schema version applied.",
    (
        Column("version", "int", "Schema version.", key=True),
        Column("applied", "time", "When it was applied (UTC)."),
        Column("description", "text", "What the migration did."),
    ),
)

#: Tables whose rows are replaced when a run is saved, children first.
RUN_CHILDREN: tuple[Table, ...] = tuple(t for t in TABLES if t.child_of_run)


def metadata_at(version: int) -> sa.MetaData:
    """The tables, columns and indexes of schema version ``version``."""
    metadata = sa.MetaData()
    for table in (*TABLES, VERSIONS):
        if table.since <= version:
            add_sql_table(metadata, table, version)
    return metadata
