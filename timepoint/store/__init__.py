"""The run store (SPEC §8): SQLite by default, PostgreSQL by URL; queries and exports.

>>> store = open_store(home=Path("runs"))        # runs/timepoint.db  # doctest: +SKIP
>>> store.save_run(record, calls)                                      # doctest: +SKIP
>>> store.list_runs(scenario="jefferson_dinner", since="2025-01-01")   # doctest: +SKIP

Importing this package is cheap: pandas, pyarrow and psycopg are imported only when used.
"""

from timepoint.store.anonymize import Pseudonyms
from timepoint.store.exports import export_jsonl, export_parquet, export_table
from timepoint.store.location import store_target
from timepoint.store.queries import RunSummary
from timepoint.store.schema import SCHEMA_VERSION, TABLES
from timepoint.store.store import Store, open_store

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "Pseudonyms",
    "RunSummary",
    "Store",
    "export_jsonl",
    "export_parquet",
    "export_table",
    "open_store",
    "store_target",
]
