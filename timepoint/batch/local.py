"""The local backend: joblib's loky processes, each running a group of jobs on threads.

Batch jobs spend most of their time waiting for a model, so one process can keep several in
flight. loky runs one task per process at a time; here a task is a *group* of up to ``threads``
jobs, which :func:`run_group` runs at once on a thread pool inside the worker process and answers
with one outcome per job.

The backend hands a group to loky only when a process is idle, so a group starts as soon as it
is submitted and every job it holds is running; jobs not yet in a group wait on the driver's
side, where :meth:`LocalBackend.cancel` can still take them back. Groups are formed on the
driver's thread — when a submission fills one, and whenever the driver waits — so no lock is
needed. A process takes new jobs only once its whole group is done, so threads whose jobs ended
early wait for the group's slowest job (the throughput benchmark's jobs last 5 s on average, 6 s
at the 90th percentile and 8 s at most); the driver keeps twice the capacity submitted, so the
next group is full.

Workers run :func:`~timepoint.batch.lifeline.bind_to_parent` first, so they die with the driver.
"""

from __future__ import annotations

import os
import pickle
from collections import deque
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from joblib.externals.loky import ProcessPoolExecutor
from joblib.externals.loky.process_executor import BrokenProcessPool

from timepoint.batch.lifeline import bind_to_parent
from timepoint.errors import BatchError

#: a job as a worker receives it: the function and its arguments
Call = tuple[Callable[..., Any], tuple[Any, ...]]


def _outcome(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any]:
    """``(True, result)`` or ``(False, error)``, the error made safe to send back."""
    try:
        outcome: tuple[bool, Any] = (True, fn(*args))
    except Exception as error:
        outcome = (False, error)
    try:
        pickle.dumps(outcome)
    except Exception:
        return False, BatchError(f"the job's outcome cannot be sent back: {outcome[1]!r}")
    return outcome


def run_group(calls: Sequence[Call]) -> list[tuple[bool, Any]]:
    """Worker side: run every call at once, one thread each; one outcome per call, in order."""
    if len(calls) == 1:
        return [_outcome(*calls[0])]
    with ThreadPoolExecutor(len(calls), thread_name_prefix="timepoint-job") as pool:
        return list(pool.map(lambda call: _outcome(*call), calls))


@dataclass
class _Job:
    call: Call
    future: Future


class LocalBackend:
    """``workers`` loky processes running up to ``threads`` jobs each.

    Args:
        workers: worker processes.
        threads: jobs one process runs at once.
    """

    name = "local"

    def __init__(self, workers: int, threads: int = 1):
        self.workers, self.threads = workers, threads
        self.capacity = workers * threads
        self._executor = self._new_executor()
        self._waiting: deque[_Job] = deque()
        self._groups: dict[Future, list[_Job]] = {}

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, initializer=bind_to_parent, initargs=(os.getpid(),)
        )

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Future:
        future: Future = Future()
        self._waiting.append(_Job((fn, args), future))
        if len(self._waiting) >= self.threads:
            self._dispatch(partial_groups=False)
        return future

    def wait(self, futures: Collection[Any], timeout: float) -> set[Any]:
        self._dispatch(partial_groups=True)
        done = {future for future in futures if future.done()}
        if self._groups and not done:
            finished, _ = wait(list(self._groups), timeout=timeout, return_when=FIRST_COMPLETED)
            for group in finished:
                self._settle(group)
            self._dispatch(partial_groups=True)
            done = {future for future in futures if future.done()}
        return done

    def cancel(self, future: Any) -> bool:
        """Take back a job that no process has started; a started job runs on."""
        for job in self._waiting:
            if job.future is future:
                self._waiting.remove(job)
                return future.cancel()
        return False

    def describe(self) -> str:
        processes = "process" if self.workers == 1 else "processes"
        return f"local: {self.workers} {processes} × {self.threads} job threads (joblib/loky)"

    def close(self, *, kill: bool = False) -> None:
        for job in self._waiting:
            job.future.cancel()
        self._waiting.clear()
        self._executor.shutdown(wait=not kill, kill_workers=kill)

    def _dispatch(self, *, partial_groups: bool) -> None:
        """Hand groups of waiting jobs to idle processes."""
        while self._waiting and len(self._groups) < self.workers:
            if not partial_groups and len(self._waiting) < self.threads:
                return
            jobs = [self._waiting.popleft() for _ in range(min(self.threads, len(self._waiting)))]
            jobs = [job for job in jobs if job.future.set_running_or_notify_cancel()]
            if jobs:
                self._groups[self._submit([job.call for job in jobs])] = jobs

    def _submit(self, calls: list[Call]) -> Future:
        try:
            return self._executor.submit(run_group, calls)
        except BrokenProcessPool:  # a worker died: the jobs it held have failed already
            self._executor.shutdown(wait=False, kill_workers=True)
            self._executor = self._new_executor()
            return self._executor.submit(run_group, calls)

    def _settle(self, group: Future) -> None:
        """Give each job of a finished group its result, or the group's error."""
        jobs = self._groups.pop(group)
        try:
            outcomes = group.result()
        except Exception as error:
            for job in jobs:
                job.future.set_exception(error)
            return
        for job, (ok, value) in zip(jobs, outcomes, strict=True):
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
