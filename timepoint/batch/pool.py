"""A process pool whose workers each run several jobs at once on threads.

Batch jobs spend most of their time waiting for a model, so a process can keep several in
flight. Jobs wait on the driver's side until a thread is free, so a job that has not started can
always be cancelled, and a job handed to a worker is running.
"""

from __future__ import annotations

import itertools
import multiprocessing
import pickle
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from timepoint.errors import BatchError


def _serve(
    tasks: Any,
    results: Any,
    threads: int,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> None:
    """Worker process: run ``initializer``, then tasks from ``tasks`` on ``threads`` threads,
    answering on ``results``."""
    if initializer is not None:
        initializer(*initargs)
    free = threading.Semaphore(threads)

    def work(task_id: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            outcome: tuple[int, bool, Any] = (task_id, True, fn(*args))
        except BaseException as error:
            outcome = (task_id, False, error)
        try:
            pickle.dumps(outcome[2])
        except Exception:
            outcome = (task_id, False, BatchError(f"unpicklable job outcome: {outcome[2]!r}"))
        results.put(outcome)
        free.release()

    with ThreadPoolExecutor(threads) as pool:
        while True:
            free.acquire()
            task = tasks.get()
            if task is None:
                break
            pool.submit(work, *task)


class ThreadedProcessPool:
    """``processes`` worker processes with ``threads`` job threads each.

    ``initializer(*initargs)`` runs first in every worker process (it must be picklable).
    """

    def __init__(
        self,
        processes: int,
        threads: int,
        *,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
    ):
        context = multiprocessing.get_context("spawn")
        self.capacity = processes * threads
        self._tasks = context.Queue()
        self._results = context.Queue()
        self._processes = [
            context.Process(
                target=_serve,
                args=(self._tasks, self._results, threads, initializer, initargs),
                daemon=True,
            )
            for _ in range(processes)
        ]
        for process in self._processes:
            process.start()
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._waiting: deque[tuple[int, Callable[..., Any], tuple[Any, ...], Future]] = deque()
        self._running: dict[int, Future] = {}
        self._closed = False
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise BatchError("the process pool is closed")
            self._waiting.append((next(self._ids), fn, args, future))
            self._dispatch()
        return future

    def cancel(self, future: Future) -> bool:
        """Cancel ``future`` if its job has not been handed to a worker."""
        with self._lock:
            for item in self._waiting:
                if item[3] is future:
                    self._waiting.remove(item)
                    return future.cancel()
        return False

    def _dispatch(self) -> None:
        while self._waiting and len(self._running) < self.capacity:
            task_id, fn, args, future = self._waiting.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            self._running[task_id] = future
            self._tasks.put((task_id, fn, args))

    def _collect(self) -> None:
        while True:
            try:
                item = self._results.get(timeout=0.5)
            except queue.Empty:
                if self._closed:
                    return
                self._fail_if_a_worker_died()
                continue
            except (EOFError, OSError):
                return
            task_id, ok, value = item
            with self._lock:
                future = self._running.pop(task_id, None)
                self._dispatch()
            if future is not None:
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _fail_if_a_worker_died(self) -> None:
        if all(p.is_alive() for p in self._processes):
            return
        with self._lock:
            lost, self._running = list(self._running.values()), {}
            self._closed = True
            waiting, self._waiting = list(self._waiting), deque()
        for future in lost:
            future.set_exception(BatchError("a worker process died while running this job"))
        for *_, future in waiting:
            future.cancel()

    def shutdown(self, *, kill: bool = False) -> None:
        with self._lock:
            self._closed = True
            waiting, self._waiting = list(self._waiting), deque()
        for *_, future in waiting:
            future.cancel()
        if kill:
            for process in self._processes:
                process.kill()
        else:
            for _ in self._processes:
                self._tasks.put(None)
        for process in self._processes:
            process.join(timeout=None if not kill else 5)
        self._collector.join(timeout=2)
