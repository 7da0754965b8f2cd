"""Worker processes that die with the process that started them.

A batch's local workers must not outlive a driver that was killed (``kill -9``): they would go
on running the jobs queued to them beside a resumed batch, spending money nobody counts.
:func:`bind_to_parent` is the initializer every local worker runs first. On Linux it asks the
kernel to send the worker ``SIGKILL`` when its parent dies (``prctl(PR_SET_PDEATHSIG)``);
elsewhere, or when that call fails, a watchdog thread ends the worker once its parent process id
changes (the worker was re-parented, typically to pid 1).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
#: how often the watchdog looks at the parent process id, in seconds
WATCH_S = 0.5
#: exit status of a worker whose parent died
ORPHANED = 70


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies (Linux only).

    Returns:
        Whether the signal was set.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def watch_parent(
    parent_pid: int,
    *,
    getppid: Callable[[], int] = os.getppid,
    exit: Callable[[int], object] = os._exit,
    interval_s: float = WATCH_S,
    stop: threading.Event | None = None,
) -> None:
    """Call ``exit`` once this process's parent is no longer ``parent_pid`` (blocks).

    ``stop`` ends the watch without exiting (for tests and orderly shutdowns).
    """
    stop = stop or threading.Event()
    while not stop.is_set():
        if getppid() != parent_pid:
            exit(ORPHANED)
            return
        stop.wait(interval_s)


def start_watchdog(parent_pid: int, **options: object) -> threading.Thread:
    """Run :func:`watch_parent` on a daemon thread."""
    thread = threading.Thread(
        target=watch_parent,
        args=(parent_pid,),
        kwargs=options,
        name="timepoint-parent-watchdog",
        daemon=True,
    )
    thread.start()
    return thread


def bind_to_parent(parent_pid: int) -> None:
    """Worker initializer: end this process when ``parent_pid`` (its parent) dies.

    The parent may have died before this runs; the worker then exits at once.
    """
    if not set_parent_death_signal():
        start_watchdog(parent_pid)
    if os.getppid() != parent_pid:
        os._exit(ORPHANED)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            state = handle.read().rpartition(")")[2].split()
    except OSError:
        return True
    return not state or state[0] not in ("Z", "X")
