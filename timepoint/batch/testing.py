"""Test doubles for batches, shipped in the package so worker processes can import them.

Batch jobs build their model inside the worker from a picklable factory, e.g.
``functools.partial(PricedOfflineModel, latency_ms=50)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from timepoint.errors import LLMError
from timepoint.llm.base import Completion, Request
from timepoint.llm.offline import OfflineModel


@dataclass
class PricedOfflineModel(OfflineModel):
    """The offline model's answers, billed at registry list prices.

    Its provider label is ``offline-priced`` rather than ``offline``, so the gateway prices
    every call from the registry (``input/output_usd_per_m`` of the chosen model) and reserves
    its worst case against the run, job and batch budgets like any paid provider.
    """

    @property
    def provider(self) -> str:
        return "offline-priced"


@dataclass
class OutageModel(OfflineModel):
    """The offline model behind an endpoint that fails the first ``failures`` job attempts.

    Failures are counted across processes in ``state_dir`` (one file per failure, created
    atomically), so a batch sees exactly ``failures`` failed attempts in all, whichever worker
    runs them. Every call of a failing attempt raises a plain :class:`LLMError`, which the
    run's own retry layer does not repeat, so the run fails and the batch retries the job.

    Args:
        state_dir: folder shared by the workers (created when missing).
        failures: how many attempts fail in all; ``-1`` for every attempt.
    """

    state_dir: str = ""
    failures: int = 1
    _decided: bool | None = field(default=None, init=False, repr=False)

    def complete(self, request: Request) -> Completion:
        if self._should_fail():
            raise LLMError("emulated outage: the endpoint is unavailable for this attempt")
        return super().complete(request)

    def _should_fail(self) -> bool:
        with self._lock:
            if self._decided is None:
                self._decided = self._claim_failure()
            return self._decided

    def _claim_failure(self) -> bool:
        folder = Path(self.state_dir)
        folder.mkdir(parents=True, exist_ok=True)
        if self.failures < 0:
            return True
        for slot in range(self.failures):
            try:
                fd = os.open(folder / f"failure-{slot}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                continue
            os.close(fd)
            return True
        return False
