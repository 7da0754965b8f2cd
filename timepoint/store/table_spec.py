"""How a store table is declared: columns with a neutral type, a meaning and an anonymization tag.

Every column has a neutral type (``text``, ``int``, ``float``, ``bool``, ``time``, ``json``), a
one-line meaning (``docs/schema.md`` documents the same columns; a test keeps the two in step),
the schema version that introduced it, and a ``pii`` tag that tells exports what to anonymize:

- ``id`` / ``ids`` / ``source``: an entity id, a JSON list of entity ids, an exposure source;
- ``name``: an entity's display name;
- ``text``: free text, dropped when an export drops free text.

When anonymizing, every other string (ids of facts and timelines included) is scrubbed of entity
names and ids too, so a name quoted anywhere does not survive.

Declaring a :class:`Table` adds its SQLAlchemy table, with every column, to :data:`METADATA`, as
the tables of a declarative base join its metadata; ``RUNS.sql`` is that of ``runs``.
:func:`add_sql_table` builds a table as it was at an earlier schema version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from timepoint.store.types import JSONText, UTCDateTime

#: Neutral types and the SQLAlchemy types they are stored as.
COLUMN_TYPES: dict[str, Callable[[], sa.types.TypeEngine[Any]]] = {
    "text": sa.Text,
    "int": lambda: sa.BigInteger().with_variant(sqlite.INTEGER(), "sqlite"),
    "float": lambda: sa.Double().with_variant(sqlite.REAL(), "sqlite"),
    "bool": sa.Boolean,
    "time": UTCDateTime,
    "json": JSONText,
}

#: Every declared table as a SQLAlchemy table of the current schema, in order of declaration.
METADATA = sa.MetaData()


@dataclass(frozen=True)
class Column:
    """One column: name, neutral type, meaning, primary-key membership and anonymization tag."""

    name: str
    type: str
    doc: str
    key: bool = False
    pii: str | None = None
    since: int = 1


@dataclass(frozen=True)
class Table:
    """One table: its columns in order, a description and the version that introduced it.

    Declaring one adds its SQLAlchemy table to :data:`METADATA`.
    """

    name: str
    doc: str
    columns: tuple[Column, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    since: int = 1

    def __post_init__(self) -> None:
        add_sql_table(METADATA, self)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def key(self) -> list[str]:
        return [c.name for c in self.columns if c.key]

    @property
    def has_run_id(self) -> bool:
        return "run_id" in self.column_names

    @property
    def child_of_run(self) -> bool:
        """Rows belong to one run and are replaced whenever that run is saved."""
        return self.key[:2] == ["run_id", "seq"]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def sql(self) -> sa.Table:
        """The SQLAlchemy table (of :data:`METADATA`)."""
        return METADATA.tables[self.name]

    def index_name(self, columns: tuple[str, ...]) -> str:
        return f"ix_{self.name}_{'_'.join(columns)}"


def _references(table: Table, column: Column) -> tuple[sa.ForeignKey, ...]:
    if column.name == "run_id" and table.child_of_run:
        return (sa.ForeignKey("runs.run_id", ondelete="CASCADE"),)
    if column.name == "batch_id" and table.name in ("batch_jobs", "batch_attempts"):
        return (sa.ForeignKey("batches.batch_id", ondelete="CASCADE"),)
    return ()


def sql_column(table: Table, column: Column) -> sa.Column[Any]:
    """A new SQLAlchemy column for ``column`` of ``table`` (keys, references, type, doc)."""
    return sa.Column(
        column.name,
        COLUMN_TYPES[column.type](),
        *_references(table, column),
        primary_key=column.key,
        autoincrement=False,
        doc=column.doc,
        info={"pii": column.pii, "since": column.since},
    )


def add_sql_table(metadata: sa.MetaData, table: Table, version: int | None = None) -> None:
    """Add ``table`` to ``metadata`` with its columns and indexes of schema version ``version``
    (every column when ``None``)."""
    built = sa.Table(
        table.name,
        metadata,
        *(sql_column(table, c) for c in table.columns if version is None or c.since <= version),
        info={"doc": table.doc, "since": table.since},
    )
    for index in table.indexes:
        sa.Index(table.index_name(index), *(built.c[n] for n in index))
