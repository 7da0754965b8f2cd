"""Column types of the store: aware UTC times and JSON, stored as the store has always stored them.

SQLAlchemy's own ``DateTime`` on SQLite writes ``2025-03-01 12:00:00.000000`` without an offset,
which neither round-trips a time zone nor compares as text with the ISO-8601 times older stores
hold; its ``JSON`` would be a ``json`` column on PostgreSQL where stores have ``TEXT``. These two
decorators keep the stored formats (see ``docs/schema.md``); booleans use ``sqlalchemy.Boolean``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

from timepoint.errors import StoreError


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_time(value: str | date | datetime, what: str) -> datetime:
    """A date, datetime or ISO string as an aware UTC datetime (dates start at midnight)."""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return utc(datetime.fromisoformat(str(value).strip()))
    except ValueError:
        raise StoreError(
            f"{what}: {value!r} is not a date; use YYYY-MM-DD or an ISO datetime "
            "such as 2025-03-01T14:30"
        ) from None


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime: ``TIMESTAMPTZ`` on PostgreSQL, ISO-8601 text with microseconds
    and ``+00:00`` on SQLite (so times sort and compare as text). Accepts datetimes, dates and
    ISO strings; naive datetimes are taken as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        moment = utc(value) if isinstance(value, datetime) else parse_time(value, "time")
        return moment.isoformat(timespec="microseconds") if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return utc(value) if isinstance(value, datetime) else utc(datetime.fromisoformat(value))


class JSONText(TypeDecorator[Any]):
    """Lists and dicts as JSON text (``TEXT`` in both dialects); non-JSON values as strings."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, default=str, ensure_ascii=False)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(value) if isinstance(value, str) else value
