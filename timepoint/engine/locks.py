"""Per-run writer locks: one process or thread at a time updates a stored run.

A lock is an ``flock`` on ``<home>/.locks/<run_id>.lock``; it excludes other processes and other
threads alike (each holder opens the file itself), and the kernel releases it when its holder
dies, so a killed writer never leaves a run locked.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def run_lock(home: Path, run_id: str, *, wait: bool = True) -> Iterator[bool]:
    """Hold the writer lock of run ``run_id`` under ``home`` for the ``with`` block.

    With ``wait=False`` the block runs at once and receives ``False`` when another writer holds
    the lock (and ``True`` when this one got it).
    """
    folder = Path(home) / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{run_id}.lock").open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
