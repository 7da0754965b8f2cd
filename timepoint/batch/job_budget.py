"""A job's budget within a batch: overspending is shared, and a lost lease stops the next call.

:class:`FlaggedBudget` tells every job of one driver invocation that one of them was charged
more than it reserved (through the file :func:`overspend_flag` names), so all of them stop
calling; :class:`LeasedBudget` also refuses every reservation once the job's
:class:`~timepoint.batch.lease.JobLease` is lost, and writes the attempt's spend before each
call is made.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from timepoint.batch.lease import JobLease, LeaseLost
from timepoint.llm.budget import Budget, BudgetOverspent

log = logging.getLogger(__name__)


class FlaggedBudget(Budget):
    """A job budget that shares overspending with every other job of its batch.

    When an endpoint charges one of the job's calls more than it reserved, the budget writes
    ``flag`` (a file under the batch's home); every job budget of the batch refuses its next
    reservation once the file exists, and the driver submits nothing more. ``flag=None``: the
    job stops alone.
    """

    def __init__(self, name: str, flag: Path | None = None, **limits: Any):
        super().__init__(name, **limits)
        self.flag = flag

    def _check(self, usd: float, tokens: int) -> None:
        if self.flag is not None and self._overspent is None and self.flag.exists():
            try:
                detail = self.flag.read_text(encoding="utf-8").strip()
            except OSError:
                detail = "another job of the batch overspent its reservation"
            raise BudgetOverspent("batch", f"another job of the batch: {detail}", 0.0, 0.0)
        super()._check(usd, tokens)

    def _on_overspent(self, detail: str) -> None:
        if self.flag is None:
            return
        try:
            self.flag.parent.mkdir(parents=True, exist_ok=True)
            self.flag.write_text(detail, encoding="utf-8")
        except OSError as error:  # the job still stops; only the other jobs are not told
            log.warning("could not write %s: %s", self.flag, error)


def overspend_flag(home: Path, batch_id: str, owner: str | None) -> Path:
    """The file that tells every job of one driver invocation of a batch to stop calling."""
    tag = (owner or "local").replace(":", "-").replace("/", "-")
    return Path(home) / ".batch-flags" / f"{batch_id}-{tag}.overspent"


class LeasedBudget(FlaggedBudget):
    """A job budget that refuses every reservation once the job's lease is lost.

    Every model call reserves on the run's budget and each of its parents; the check each of
    them makes (``_check``) is where a lost lease stops the next call, and where the attempt's
    spend, with the call at its worst case, is written before the call is made.
    """

    def __init__(self, name: str, lease: JobLease, flag: Path | None = None, **limits: Any):
        super().__init__(name, flag, **limits)
        self.lease = lease

    def _check(self, usd: float, tokens: int) -> None:
        if self.lease.lost:
            raise LeaseLost(self.lease.job_id)
        super()._check(usd, tokens)
        self.lease.before_call(
            self._spent_usd + self._reserved_usd + usd,
            self._spent_tokens + self._reserved_tokens + tokens,
        )
