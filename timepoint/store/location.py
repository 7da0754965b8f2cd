"""Where a store lives: a URL, a path or nothing becomes a database connection.

- nothing: SQLite at ``<home>/timepoint.db`` (``home`` defaults to ``runs``);
- a :class:`~pathlib.Path` or a plain string: an SQLite file (a directory means
  ``<dir>/timepoint.db``);
- ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:``;
- ``postgresql://user:password@host:port/database`` (also ``postgres://`` and
  ``postgresql+psycopg://``): PostgreSQL through SQLAlchemy's psycopg 3 driver.

Nothing here reads the environment: callers resolve ``TIMEPOINT_DB_URL`` and ``TIMEPOINT_HOME``
(see :class:`timepoint.settings.Settings`) and pass the result in.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from timepoint.errors import StoreError
from timepoint.store.base import failure
from timepoint.store.engine import postgres_engine, redact, sqlite_engine
from timepoint.store.migrations import State, state, upgrade

DB_FILE = "timepoint.db"
DEFAULT_HOME = Path("runs")
_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def _sqlite_path(target: str | Path) -> Path | str:
    if str(target) == ":memory:":
        return ":memory:"
    path = Path(target).expanduser()
    return path / DB_FILE if path.is_dir() else path


def store_target(url: str | Path | None = None, *, home: Path | None = None) -> str | Path:
    """What ``open_store`` would open: a PostgreSQL URL, an SQLite path or ``:memory:``."""
    if url is None:
        return Path(home if home is not None else DEFAULT_HOME) / DB_FILE
    if isinstance(url, Path):
        return _sqlite_path(url)
    text = url.strip()
    if text.startswith(_POSTGRES_SCHEMES):
        return "postgresql://" + text.split("://", 1)[1]
    if text.startswith("sqlite:///"):
        return _sqlite_path(text[len("sqlite:///") :])
    if "://" in text:
        raise StoreError(
            f"store URL {redact(text)!r} has an unknown scheme; use sqlite:///path/to/file.db, "
            "postgresql://user@host/db, or a plain file path"
        )
    if not text:
        raise StoreError(
            "the store URL is empty; give a file path, sqlite:/// or postgresql:// URL"
        )
    return _sqlite_path(text)


def connect(
    url: str | Path | None = None, *, home: Path | None = None, create: bool = True
) -> tuple[Engine, str, str]:
    """An engine on the store ``url`` names (see :func:`open_store`), checked to connect, with
    the store's location for messages and the URL that opens it again.

    Raises:
        StoreError: an unknown URL scheme, a missing file with ``create=False``, or a database
            that cannot be opened.
    """
    target = store_target(url, home=home)
    if isinstance(target, str) and target.startswith("postgresql://"):
        engine = postgres_engine(target)
        location, again = redact(target), target
        problem = f"cannot connect to PostgreSQL at {location}: {{}}; check host, port, "
        problem += "database and credentials in TIMEPOINT_DB_URL"
    else:
        if isinstance(target, Path) and not target.exists():
            if not create:
                raise StoreError(
                    f"no run store at {target}; run a scenario first, or point "
                    "TIMEPOINT_HOME / TIMEPOINT_DB_URL at an existing store"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
        engine = sqlite_engine(target)
        absolute = target.resolve() if isinstance(target, Path) else target
        location, again = str(target), f"sqlite:///{absolute}"
        problem = f"cannot open SQLite store {target}: {{}}; check the path and permissions"
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        engine.dispose()
        raise StoreError(problem.format(failure(error))) from None
    return engine, location, again


def upgrade_store(
    url: str | Path | None = None, *, home: Path | None = None
) -> tuple[str, State, State]:
    """Upgrade an existing store to the newest schema: its location, and its state before and
    after (``timepoint db upgrade``)."""
    engine, location, _ = connect(url, home=home, create=False)
    try:
        before, after = upgrade(engine)
    except SQLAlchemyError as error:
        raise StoreError(
            f"store {location}: upgrading the schema failed: {failure(error)}"
        ) from error
    finally:
        engine.dispose()
    return location, before, after


def store_state(url: str | Path | None = None, *, home: Path | None = None) -> tuple[str, State]:
    """The location of an existing store and where its schema stands, changing nothing
    (``timepoint db current``)."""
    engine, location, _ = connect(url, home=home, create=False)
    try:
        with engine.connect() as connection:
            return location, state(connection)
    except SQLAlchemyError as error:
        raise StoreError(
            f"store {location}: reading the schema failed: {failure(error)}"
        ) from error
    finally:
        engine.dispose()
