"""The REST API: FastAPI routes over the store. The web process never simulates.

``POST /runs``, ``/batches``, ``/runs/{id}/ask`` and ``/runs/{id}/branch`` check the request,
queue it as work in the store and answer ``202`` with the work's id; a service worker does the
work on the batch backends. ``GET /runs/{id}`` takes a work id or a run id. A key sees only its
own work and runs: anything else is ``404``, as if it did not exist.
"""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from timepoint.batch.spec import expand_grid
from timepoint.calibrate.questions import load_questions
from timepoint.errors import RunNotFound, ServiceError
from timepoint.report.narrative import narrative_json, narrative_markdown
from timepoint.report.pdf import run_pdf
from timepoint.service import problems
from timepoint.service.keys import ApiKey
from timepoint.service.limits import RateLimiter
from timepoint.service.requests import (
    MAX_BATCH_JOBS,
    AskRequest,
    BatchRequest,
    BranchRequest,
    ForecastRequest,
    RunRequest,
    RunView,
    ScenarioLibrary,
    WebhookRequest,
    WorkView,
    library_file,
)
from timepoint.service.webhooks import WebhookSecrets
from timepoint.service.work import Service, run_view, work_view
from timepoint.settings import Settings
from timepoint.store import Store

VERSION = "1"
PROBLEM: dict[str, Any] = {"model": problems.Problem, "content": {problems.MEDIA_TYPE: {}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {**PROBLEM, "description": text}
    for code, text in (
        (401, "No valid API key"),
        (404, "No such run or work for this key"),
        (422, "Invalid request or scenario"),
        (429, "Rate limit; see Retry-After"),
    )
}
FORECAST_FIELDS = (
    "forecast_id",
    "question_id",
    "made",
    "probability",
    "lower",
    "upper",
    "runs",
    "yes_runs",
    "batch_id",
    "run_ids_json",
)
QUOTA: dict[int | str, dict[str, Any]] = {402: {**PROBLEM, "description": "Monthly quota used up"}}


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> ApiKey:
    """The key of the request (checked and counted against its rate limit)."""
    service: Service = request.app.state.service
    return service.authenticate(authorization)


Key = Annotated[ApiKey, Depends(caller)]


def create_app(
    store: Store,
    settings: Settings,
    *,
    library: Path = Path("scenarios"),
    questions: Path = Path("questions"),
    limiter: RateLimiter | None = None,
    webhook_secrets: WebhookSecrets | None = None,
) -> FastAPI:
    """The REST API application on ``store``.

    Args:
        store: the run store, shared with the service workers.
        settings: what scenario checks use (the model registry) and where inline scenarios go.
        library: the folder of scenarios a request may name.
        questions: the folder of question sets a forecast may name.
        limiter: per-key rate limits (default: :class:`RateLimiter` with its defaults).
        webhook_secrets: derives webhook signing secrets (default: from the server key file
            ``<home>/service/webhook.key``, made when missing).
    """
    secrets_of = webhook_secrets or WebhookSecrets.at(settings.home / "service" / "webhook.key")
    inline = settings.home / "service" / "scenarios"
    scenarios = ScenarioLibrary(library, inline, settings)
    service = Service(store, scenarios, limiter or RateLimiter(store))
    app = FastAPI(
        title="Timepoint",
        version=VERSION,
        description="Temporal simulation as a service. Every route but /healthz and /readyz "
        "needs `Authorization: Bearer <key>`; errors are RFC 9457 problem details.",
    )
    problems.install(app)
    app.state.service = service

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: PROBLEM})
    def readyz() -> dict[str, Any]:
        """The store answers and its schema is current."""
        return {"status": "ready", "schema_version": store.version}

    @app.post("/runs", status_code=202, tags=["runs"], responses={**ERRORS, **QUOTA})
    def create_run(body: RunRequest, key: Key) -> WorkView:
        """Queue one simulation."""
        path = service.library.check(body)
        request = {
            "scenario_path": str(path),
            "overrides": body.overrides,
            "seed": body.seed,
            "budget_usd": body.budget_usd,
        }
        return service.queue(key, "run", request, jobs=1)

    @app.post("/batches", status_code=202, tags=["batches"], responses={**ERRORS, **QUOTA})
    def create_batch(body: BatchRequest, key: Key) -> WorkView:
        """Queue a batch: every combination of the grid's axes."""
        path = service.library.check(body)
        grid = expand_grid(path, body.grid, replicates=body.replicates, overrides=body.overrides)
        if len(grid) > MAX_BATCH_JOBS:
            raise ServiceError(
                f"the grid has {len(grid)} jobs; one request may ask for {MAX_BATCH_JOBS}",
                status=422,
            )
        request = {
            "scenario_path": str(path),
            "overrides": body.overrides,
            "grid": body.grid,
            "replicates": body.replicates,
            "budget_usd": body.budget_usd,
            "workers": body.workers,
        }
        return service.queue(key, "batch", request, jobs=len(grid))

    @app.get("/batches/{batch_id}", tags=["batches"], responses=ERRORS)
    def get_batch(batch_id: str, key: Key) -> WorkView:
        """A batch's status and progress."""
        row = service.owned_work(key, batch_id)
        if row is None or row["kind"] != "batch":
            raise RunNotFound(f"no batch {batch_id!r} for this key")
        return work_view(store, row)

    @app.post("/batches/{batch_id}/cancel", tags=["batches"], responses=ERRORS)
    def cancel_batch(batch_id: str, key: Key) -> WorkView:
        """Stop a batch: queued, it never starts; running, its jobs not yet started are
        cancelled and those running are stopped."""
        row = service.owned_work(key, batch_id)
        if row is None or row["kind"] not in ("batch", "run"):
            raise RunNotFound(f"no batch {batch_id!r} for this key")
        if row["status"] not in ("completed", "failed", "cancelled"):
            store.request_cancel(batch_id)
        again = store.work(batch_id)
        assert again is not None
        return work_view(store, again)

    @app.post("/forecasts", status_code=202, tags=["forecasts"], responses={**ERRORS, **QUOTA})
    def create_forecast(body: ForecastRequest, key: Key) -> WorkView:
        """Queue a forecast: an ensemble of runs answers one question of a question set."""
        path = library_file(questions, body.question_set, "question set")
        load_questions(path).get(body.question)
        request = {
            "question_set": str(path),
            "question": body.question,
            "runs": body.runs,
            "budget_usd": body.budget_usd,
        }
        return service.queue(key, "forecast", request, jobs=body.runs)

    @app.get("/forecasts", tags=["forecasts"], responses=ERRORS)
    def list_forecasts(key: Key, question: str | None = None) -> list[dict[str, Any]]:
        """Forecasts this key made, oldest first (of one question, or of all)."""
        return [
            {name: row[name] for name in FORECAST_FIELDS}
            for row in store.forecasts(question)
            if service.owned_work(key, row["batch_id"] or "") is not None
        ]

    @app.get("/runs", tags=["runs"], responses=ERRORS)
    def list_runs(
        key: Key,
        scenario: str | None = None,
        mode: str | None = None,
        status: str | None = None,
        since: date | None = None,
        until: date | None = None,
        min_cost: Annotated[float | None, Query(ge=0)] = None,
        max_cost: Annotated[float | None, Query(ge=0)] = None,
        text: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[RunView]:
        """This key's stored runs, newest first, with the filters of `timepoint runs`."""
        filters: dict[str, Any] = {
            "scenario": scenario,
            "mode": mode,
            "status": status,
            "since": since,
            "until": until,
            "min_cost": min_cost,
            "max_cost": max_cost,
            "text": text,
        }
        owned = set(store.owned_run_ids(key.key_id))
        runs = store.list_runs(**{k: v for k, v in filters.items() if v is not None})
        return [run_view(r) for r in runs if r.run_id in owned][:limit]

    @app.get("/runs/{ident}", tags=["runs"], responses=ERRORS)
    def get_run(ident: str, key: Key) -> WorkView | RunView:
        """Status and progress of work (by work id) or of a stored run (by run id)."""
        row = service.owned_work(key, ident)
        if row is not None:
            return work_view(store, row)
        run_id = service.owned_run_id(key, ident)
        return run_view(next(r for r in store.list_runs(text=run_id) if r.run_id == run_id))

    @app.get("/work/{work_id}", tags=["runs"], responses=ERRORS)
    def get_work(work_id: str, key: Key) -> WorkView:
        """Any accepted work: a run, batch, question or branch."""
        row = service.owned_work(key, work_id)
        if row is None:
            raise RunNotFound(f"no work {work_id!r} for this key")
        return work_view(store, row)

    @app.get("/runs/{ident}/record", tags=["runs"], responses=ERRORS)
    def get_record(ident: str, key: Key) -> Any:
        """The stored run record (run.json)."""
        record = store.load_run(service.owned_run_id(key, ident))
        return JSONResponse(record.model_dump(mode="json"))

    @app.get(
        "/runs/{ident}/narrative",
        tags=["runs"],
        responses={
            **ERRORS,
            200: {"content": {"text/markdown": {}, "application/json": {}, "application/pdf": {}}},
        },
        response_class=Response,
    )
    def get_narrative(
        ident: str,
        key: Key,
        format: Literal["md", "json", "pdf"] = "md",
        detail: Literal["minimal", "summary", "comprehensive"] = "summary",
    ) -> Response:
        """The run's narrative as Markdown, JSON or PDF (the PDF of the run folder and the site)."""
        record = store.load_run(service.owned_run_id(key, ident))
        if format == "json":
            return Response(narrative_json(record, detail), media_type="application/json")
        if format == "pdf":
            return Response(run_pdf(record, detail), media_type="application/pdf")
        return Response(narrative_markdown(record, detail), media_type="text/markdown")

    @app.post("/runs/{ident}/ask", status_code=202, tags=["runs"], responses=ERRORS)
    def ask(ident: str, body: AskRequest, key: Key) -> WorkView:
        """Queue a question of a run; the answer is the work's result."""
        run_id = service.owned_run_id(key, ident)
        return service.queue(key, "ask", {"parent": run_id, "question": body.question}, jobs=0)

    @app.post("/runs/{ident}/branch", status_code=202, tags=["runs"], responses={**ERRORS, **QUOTA})
    def branch(ident: str, body: BranchRequest, key: Key) -> WorkView:
        """Queue a branch of a run with one intervention; the new run is the work's run."""
        run_id = service.owned_run_id(key, ident)
        request = {"parent": run_id, **body.model_dump(mode="json")}
        return service.queue(key, "branch", request, jobs=1)

    @app.post("/webhooks", status_code=201, tags=["webhooks"], responses=ERRORS)
    def add_webhook(body: WebhookRequest, key: Key) -> dict[str, Any]:
        """Register a webhook for this key's events; the signing secret is shown only here."""
        webhook_id = f"wh-{secrets.token_hex(6)}"
        store.add_webhook(
            webhook_id,
            key.key_id,
            url=body.url,
            events=body.events,
            style=body.style,
            min_move=body.min_move,
        )
        secret = secrets_of.secret_for(webhook_id)
        return {
            "id": webhook_id,
            "url": body.url,
            "events": body.events,
            "style": body.style,
            "secret": secret,
        }

    @app.get("/webhooks", tags=["webhooks"], responses=ERRORS)
    def list_webhooks(key: Key) -> list[dict[str, Any]]:
        """This key's webhooks (without their secrets)."""
        return [
            {
                "id": w["webhook_id"],
                "url": w["url"],
                "events": w["events_json"],
                "style": w["style"],
            }
            for w in store.webhooks(key.key_id)
        ]

    @app.delete("/webhooks/{webhook_id}", status_code=204, tags=["webhooks"], responses=ERRORS)
    def delete_webhook(webhook_id: str, key: Key) -> Response:
        """Stop posting to a webhook."""
        if not store.disable_webhook(webhook_id, key.key_id):
            raise RunNotFound(f"no webhook {webhook_id!r} for this key")
        return Response(status_code=204)

    return app
