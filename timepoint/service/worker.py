"""The service worker: a process that claims queued work from the store and does it.

Runs and batches execute with :func:`timepoint.run_batch` (the local pool or Dask), under the
work id as batch id; questions and branches run through the session pipeline in this process.
The worker holds each piece of work under a lease it renews while it works; a worker that dies
leaves the lease to run out, and the next worker takes the work over — a batch resumes with
``resume=`` (completed jobs are kept), so a restart loses nothing.

Cancellation: ``POST /batches/{id}/cancel`` sets the work's ``cancel`` flag; the watch thread
sees it and interrupts the main thread, which stops the batch the way Ctrl-C does (jobs not yet
started are cancelled, running ones are stopped and the batch row says ``cancelled``).
"""

from __future__ import annotations

import _thread
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from timepoint.batch.runner import run_batch
from timepoint.batch.spec import expand_grid, make_spec
from timepoint.calibrate.forecast import forecast, forecast_history
from timepoint.calibrate.questions import load_questions
from timepoint.engine.run import RunFailed, load_run
from timepoint.engine.session import new_run_id
from timepoint.errors import StoreError, TimepointError
from timepoint.settings import Settings
from timepoint.store import Store
from timepoint.store.base import Row
from timepoint.time.intervention import Intervention
from timepoint.world.record import RunRecord

#: Seconds a worker's hold on work lasts unless renewed (renewed every quarter of it).
LEASE_S = 30.0

#: Share of a batch's budget whose spending is announced (``batch.budget_80``).
BUDGET_WARNING = 0.8

#: Called with (event, work row) when work ends: the webhook dispatcher.
Notify = Callable[[str, Row], None]


def _ignore(event: str, row: Row) -> None:
    return None


def intervention_of(request: dict[str, Any]) -> Intervention:
    """The intervention a branch request describes."""
    if request.get("remove"):
        return Intervention.remove(request["remove"])
    if request.get("cancel_event"):
        return Intervention.cancel_event()
    if request.get("alter"):
        alter = request["alter"]
        return Intervention.alter(alter["fact"], alter["text"], entity=alter.get("holder"))
    ((entity, changes),) = request["modify"].items()
    return Intervention.modify(entity, changes)


class Worker:
    """Claims and does service work, one piece at a time.

    Args:
        store: the run store the API writes work to.
        settings: the environment runs use (home folder, model endpoint).
        backend / cluster: where batches run (``local`` or ``dask`` and a scheduler address).
        lease_s: how long a hold on work, and a batch's leases, last unless renewed.
        notify: told about finished work (webhooks).
        say: where a line about each piece of work goes (``timepoint worker`` prints it).
        batch_options: further arguments for :func:`run_batch` (``model=`` in tests).
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        backend: str = "local",
        cluster: Any = None,
        lease_s: float = LEASE_S,
        notify: Notify = _ignore,
        say: Callable[[str], None] = lambda _line: None,
        **batch_options: Any,
    ):
        self.store = store
        self.settings = settings
        self.backend = backend
        self.cluster = cluster
        self.lease_s = lease_s
        self.notify = notify
        self.say = say
        self.batch_options = batch_options
        self.token = f"{secrets.token_hex(6)}"

    def serve(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        """Do work until ``stop`` is set, looking for new work every ``poll_s`` seconds."""
        while not stop.is_set():
            if not self.step():
                stop.wait(poll_s)

    def step(self) -> bool:
        """Claim and do one piece of work; False when there was none."""
        row = self.store.claim_work(self.token, self.lease_s)
        if row is None:
            return False
        if row["cancel"]:
            self._finish(row, status="cancelled", error="cancelled before it started")
            return True
        resumed = " (resumed)" if row.get("resumed") else ""
        self.say(f"{row['work_id']} ({row['kind']}, key {row['key_id']}): started{resumed}")
        watch = _Watch(
            self.store, row["work_id"], self.token, self.lease_s, tick=self.progress_check(row)
        )
        try:
            with watch:
                changes = self._do(row)
        except KeyboardInterrupt:
            if not watch.cancelled:
                raise
            if row["kind"] in ("run", "batch") and self._batch_exists(row["work_id"]):
                self.store.update_batch(row["work_id"], status="cancelled")
            changes = {"status": "cancelled", "error": "cancelled on request"}
        except TimepointError as error:
            changes = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
        self._finish(row, **changes)
        return True

    def progress_check(self, row: Row) -> Callable[[], None] | None:
        """What to do now and then while ``row`` runs: give the key the runs of the jobs
        finished so far (so ``GET /runs`` lists them at once), and watch the budget."""
        if row["kind"] not in ("run", "batch", "forecast"):
            return None
        budget = self.budget_check(row)

        def check() -> None:
            if self._batch_exists(row["work_id"]):
                for job in self.store.jobs(row["work_id"]):
                    if job["run_id"] and self.store.run_owner(job["run_id"]) is None:
                        self.store.own_run(job["run_id"], row["key_id"], row["work_id"])
            if budget is not None:
                budget()

        return check

    def budget_check(self, row: Row) -> Callable[[], None] | None:
        """For a batch with a budget: a check, made while it runs, that tells ``notify``
        (``batch.budget_80``) once the batch has spent 80% of its budget."""
        budget = (row["request_json"] or {}).get("budget_usd")
        if row["kind"] != "batch" or not budget:
            return None
        told = False

        def check() -> None:
            nonlocal told
            if told or not self._batch_exists(row["work_id"]):
                return
            spent = self.store.batch_spend(row["work_id"])[0]
            if spent >= BUDGET_WARNING * budget:
                told = True
                self.notify("batch.budget_80", {**row, "cost_usd": spent})

        return check

    def _finish(self, row: Row, **changes: Any) -> None:
        self.store.update_work(row["work_id"], worker=None, lease_expires=None, **changes)
        final = self.store.work(row["work_id"])
        if final is not None:
            error = f": {final['error']}" if final["error"] else ""
            self.say(
                f"{final['work_id']} ({final['kind']}, key {final['key_id']}): "
                f"{final['status']}{error}"
            )
            self.notify(f"{final['kind']}.{final['status']}", final)

    def _do(self, row: Row) -> dict[str, Any]:
        if row["kind"] in ("run", "batch"):
            return self._batch(row)
        if row["kind"] == "ask":
            return self._ask(row)
        if row["kind"] == "forecast":
            return self._forecast(row)
        return self._branch(row)

    def _batch(self, row: Row) -> dict[str, Any]:
        request = row["request_json"]
        work_id = row["work_id"]
        if row["kind"] == "run":
            specs: Any = [
                make_spec(request["scenario_path"], request["overrides"], request["seed"])
            ]
            workers = 1
        else:
            specs = expand_grid(
                request["scenario_path"],
                request["grid"],
                replicates=request["replicates"],
                overrides=request["overrides"],
            )
            workers = request["workers"]
        started = self._batch_exists(work_id)
        summary = run_batch(
            specs,
            parallel_workers=workers,
            budget_cap=request.get("budget_usd"),
            backend=self.backend,
            cluster=self.cluster,
            resume=work_id if started else None,
            batch_id=None if started else work_id,
            settings=self.settings,
            store=self.store,
            progress=False,
            lease_s=self.lease_s,
            say=lambda _message: None,
            **self.batch_options,
        )
        jobs = self.store.jobs(work_id)
        for job in jobs:
            if job["run_id"]:
                self.store.own_run(job["run_id"], row["key_id"], work_id)
        run_ids = [j["run_id"] for j in jobs if j["run_id"]]
        failed = [j for j in jobs if j["status"] == "failed"]
        result = {"summary": summary.model_dump(mode="json"), "run_ids": run_ids}
        status = "failed" if failed and len(failed) == len(jobs) else "completed"
        error = f"{failed[0]['error_class']}: {failed[0]['message']}" if failed else None
        return {
            "status": status,
            "run_id": run_ids[0] if row["kind"] == "run" and run_ids else None,
            "result": result,
            "error": error,
            "cost_usd": summary.batch_cost_usd,
        }

    def _batch_exists(self, batch_id: str) -> bool:
        try:
            self.store.batch(batch_id)
        except StoreError:
            return False
        return True

    def _forecast(self, row: Row) -> dict[str, Any]:
        request = row["request_json"]
        question = load_questions(request["question_set"]).get(request["question"])
        before = forecast_history(question.id, store=self.store)
        started = self._batch_exists(row["work_id"])
        made = forecast(
            question,
            request["runs"],
            request.get("budget_usd"),
            self.backend,
            parallel_workers=request.get("workers", 2),
            settings=self.settings,
            store=self.store,
            batch_id=None if started else row["work_id"],
            resume=row["work_id"] if started else None,
            **self.batch_options,
        )
        for run_id in made.run_ids:
            self.store.own_run(run_id, row["key_id"], row["work_id"])
        summary = made.model_dump(mode="json", exclude={"extractions"})
        if before:
            moved = abs(made.probability - before[-1].probability)
            self.notify(
                "forecast.moved",
                {**row, "moved": moved, "previous": before[-1].probability, "forecast": summary},
            )
        return {
            "status": "completed",
            "result": summary,
            "cost_usd": self.store.batch_spend(row["work_id"])[0],
        }

    def _ask(self, row: Row) -> dict[str, Any]:
        request = row["request_json"]
        run = load_run(request["parent"], store=self.store, settings=self.settings)
        before = run.record.usage.cost_usd
        # under the work id, so a worker taking over after a death returns the stored answer
        answer = run.ask(request["question"], request_id=row["work_id"])
        after = load_run(request["parent"], store=self.store, settings=self.settings)
        return {
            "status": "completed",
            "result": answer.model_dump(mode="json"),
            "cost_usd": max(0.0, after.record.usage.cost_usd - before),
        }

    def _stored_branch(self, row: Row) -> RunRecord | None:
        """The completed branch an earlier worker stored for this work, or None."""
        planned = (row.get("result_json") or {}).get("planned_run")
        if not row.get("resumed") or not planned:
            return None
        try:
            record: RunRecord = self.store.load_run(planned)
        except StoreError:
            return None
        return record if record.status == "completed" else None

    def _branch(self, row: Row) -> dict[str, Any]:
        request = row["request_json"]
        parent = load_run(request["parent"], store=self.store, settings=self.settings)
        stored = self._stored_branch(row)
        if stored is not None:  # a worker that died stored it before recording it
            self.store.own_run(stored.run_id, row["key_id"], row["work_id"])
            return {
                "status": "completed",
                "run_id": stored.run_id,
                "result": {"parent": parent.run_id, "run_id": stored.run_id},
                "cost_usd": stored.usage.cost_usd,
            }
        planned = new_run_id(row["work_id"])
        self.store.update_work(row["work_id"], result={"planned_run": planned})
        at: str | int = int(request["at"]) if str(request["at"]).isdigit() else request["at"]
        try:
            branched = parent.branch(at=at, intervention=intervention_of(request), run_id=planned)
        except RunFailed as failure:
            self.store.own_run(failure.run.run_id, row["key_id"], row["work_id"])
            return {
                "status": "failed",
                "run_id": failure.run.run_id,
                "error": f"failed at step {failure.step!r}: {failure.cause}",
                "cost_usd": failure.run.record.usage.cost_usd,
            }
        self.store.own_run(branched.run_id, row["key_id"], row["work_id"])
        return {
            "status": "completed",
            "run_id": branched.run_id,
            "result": {"parent": parent.run_id, "run_id": branched.run_id},
            "cost_usd": branched.record.usage.cost_usd,
        }


class _Watch:
    """While work runs: renews the worker's hold on it, and interrupts the main thread when
    cancellation is asked for."""

    def __init__(
        self,
        store: Store,
        work_id: str,
        token: str,
        lease_s: float,
        tick: Callable[[], None] | None = None,
    ):
        self.tick = tick
        self.store = store
        self.work_id = work_id
        self.token = token
        self.every = max(0.2, min(1.0, lease_s / 4))
        self.lease_s = lease_s
        self.cancelled = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="work-watch")
        self._renewed = time.monotonic()

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            try:
                row = self.store.work(self.work_id)
                if time.monotonic() - self._renewed >= self.lease_s / 4:
                    self.store.renew_work(self.work_id, self.token, self.lease_s)
                    self._renewed = time.monotonic()
                if self.tick is not None:
                    self.tick()
            except StoreError:
                continue
            if row is not None and row["cancel"]:
                with self._lock:
                    if not self._stop.is_set():
                        self.cancelled = True
                        _thread.interrupt_main()
                return
