"""Alembic migrations of the run store, run from code: no ``alembic.ini``, no script template.

Revisions are numbered like schema versions: revision ``0002`` is schema version 2. Opening a
store calls :func:`upgrade`, which brings it to the newest revision (``timepoint db upgrade``
does the same on demand). Concurrent openers are safe: a store that needs upgrading is upgraded
in one transaction that first takes SQLite's write lock (``BEGIN IMMEDIATE``) or, on
PostgreSQL, a transaction-scoped advisory lock; whoever comes second finds it up to date.

Stores written before Alembic have a ``schema_version`` table and no ``alembic_version``; they
are stamped with the revision of their version, then upgraded. Every migration still records
its version in ``schema_version``, so a Timepoint release from before Alembic sees the version
of a store (and refuses a newer one) rather than migrating it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from timepoint.errors import StoreError
from timepoint.store.engine import WRITE
from timepoint.store.schema import SCHEMA_VERSION, VERSIONS

if TYPE_CHECKING:
    from alembic.config import Config

#: Where Alembic finds ``env.py`` and ``versions/``.
SCRIPT_LOCATION = "timepoint.store:migrations"
_ADVISORY_LOCK = 7_261_890_331


def revision_of(version: int) -> str:
    """The Alembic revision of schema version ``version``."""
    return f"{version:04d}"


HEAD = revision_of(SCHEMA_VERSION)
KNOWN = {revision_of(v): v for v in range(1, SCHEMA_VERSION + 1)}


@dataclass(frozen=True)
class State:
    """Where a database stands: its Alembic revision (``None`` before Alembic or when empty)
    and the highest version in its ``schema_version`` table (``0`` when there is none)."""

    revision: str | None
    recorded: int

    @property
    def version(self) -> int:
        """The schema version: that of the revision (revision ``000n`` is version *n*) or the
        recorded one, whichever is higher."""
        number = int(self.revision) if self.revision and self.revision.isdigit() else 0
        return max(number, self.recorded)

    @property
    def current(self) -> bool:
        return self.revision == HEAD and self.recorded <= SCHEMA_VERSION


def config(connection: sa.Connection) -> Config:
    """An Alembic configuration that runs the store's migrations on ``connection``."""

    settings = Config()
    settings.set_main_option("script_location", SCRIPT_LOCATION)
    settings.attributes["connection"] = connection
    return settings


def state(connection: sa.Connection) -> State:
    """The revision and recorded version of the database behind ``connection``."""

    revision = MigrationContext.configure(connection).get_current_revision()
    recorded = 0
    if sa.inspect(connection).has_table(VERSIONS.name):
        table = VERSIONS.sql
        recorded = int(connection.execute(sa.select(sa.func.max(table.c.version))).scalar() or 0)
    return State(revision, recorded)


def schema_version(connection: sa.Connection) -> int:
    """The schema version of the database behind ``connection``."""
    return state(connection).version


def _refuse_newer(found: State) -> None:
    if found.version > SCHEMA_VERSION or (found.revision and found.revision not in KNOWN):
        raise StoreError(
            f"the store has schema version {found.version} (revision {found.revision or 'none'})"
            f" but this Timepoint knows versions up to {SCHEMA_VERSION} (revision {HEAD}); "
            "upgrade timepoint or open another store"
        )


def upgrade(engine: sa.Engine) -> tuple[State, State]:
    """Bring the database up to :data:`HEAD`; returns its state before and after.

    Raises:
        StoreError: the store was written by a newer Timepoint with a later schema.
    """
    with engine.connect() as connection:
        before = state(connection)
        connection.rollback()
        _refuse_newer(before)
        if before.current:
            return before, before
        connection.execution_options(**{WRITE: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_ADVISORY_LOCK)))
            before = state(connection)
            _refuse_newer(before)
            if not before.current:
                _migrate(connection, before)
            after = state(connection)
    return before, after


def _migrate(connection: sa.Connection, found: State) -> None:

    settings = config(connection)
    if found.revision is None and found.recorded:
        command.stamp(settings, revision_of(found.recorded))
    command.upgrade(settings, "head")
