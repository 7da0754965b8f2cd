"""Batch progress: a tqdm bar with completed, failed and running counts, spend and ETA.

``tqdm.auto`` shows a widget in notebooks and text in a terminal. With the Dask backend the bar
runs in the driver, so Dask's own progress (the dashboard, ``distributed.progress``) can be
watched at the same time.
"""

from __future__ import annotations

from typing import Any, Protocol


class BatchProgress(Protocol):
    def update(
        self, *, finished: int, completed: int, failed: int, running: int, spent_usd: float
    ) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    """Shows nothing."""

    def update(
        self, *, finished: int, completed: int, failed: int, running: int, spent_usd: float
    ) -> None:
        return None

    def close(self) -> None:
        return None


class BarProgress:
    """A tqdm bar over the jobs to run (``tqdm.auto``: a widget in notebooks).

    Args:
        total: jobs to run in this invocation.
        description: the bar's label (the batch id).
        cap_usd: the batch cap, shown beside the spend.
    """

    def __init__(self, total: int, description: str, cap_usd: float | None = None):
        from tqdm.auto import tqdm

        self._bar: Any = tqdm(total=total, desc=description, unit="job", dynamic_ncols=True)
        self._cap = f"/{cap_usd:.2f}" if cap_usd is not None else ""
        self._shown = 0

    def update(
        self, *, finished: int, completed: int, failed: int, running: int, spent_usd: float
    ) -> None:
        if finished > self._shown:
            self._bar.update(finished - self._shown)
            self._shown = finished
        self._bar.set_postfix_str(
            f"ok {completed} failed {failed} running {running} ${spent_usd:.4f}{self._cap}",
            refresh=True,
        )

    def close(self) -> None:
        self._bar.close()
