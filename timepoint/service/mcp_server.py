"""The MCP server (``timepoint mcp``): simulation as tools for MCP clients, on the official SDK.

Tools: ``simulate``, ``get_run``, ``list_runs``, ``ask``, ``branch``, ``compare`` and
``forecast``;
resources ``timepoint://runs/{run_id}/narrative`` (Markdown) and
``timepoint://runs/{run_id}/narrative.json``. Like the REST API, the server only queues work in
the store — a service worker does it — and then waits for it (``wait_s``), reporting the
batch's progress to the client; work still running when the wait ends is returned with its id,
for ``get_run`` later.

Who is calling: on stdio, the API key the command was started with; on streamable HTTP, the
bearer token of each request, checked by :class:`KeyVerifier`. A key sees only its own runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pydantic_core
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from timepoint.calibrate.questions import load_questions
from timepoint.engine.run import compare as compare_runs
from timepoint.errors import AuthError, ScenarioError, ServiceError, TimepointError
from timepoint.report.narrative import narrative_json, narrative_markdown
from timepoint.service.keys import ApiKey, check_token
from timepoint.service.requests import (
    AskRequest,
    BranchRequest,
    ForecastRequest,
    RunRequest,
    WorkView,
    library_file,
)
from timepoint.service.work import Service, run_view, work_view
from timepoint.store.base import Row

#: Seconds between looks at work being waited for.
POLL_S = 0.5
FINAL = ("completed", "failed", "cancelled")


class KeyVerifier:
    """Checks the bearer token of an MCP request against the store's API keys."""

    def __init__(self, service: Service):
        self.service = service

    async def verify_token(self, token: str) -> AccessToken | None:
        """An access token naming the key (``client_id``), or None for a bad key."""
        try:
            key = check_token(self.service.store, token)
            self.service.limiter.check(key)
        except ServiceError:
            return None
        return AccessToken(token=token, client_id=key.key_id, scopes=[])


def bearer_identity(service: Service) -> Callable[[], ApiKey]:
    """The key of the current streamable-HTTP request."""

    def identity() -> ApiKey:
        token = get_access_token()
        if token is None:
            raise AuthError("this MCP server needs 'Authorization: Bearer <key>'")
        return check_token(service.store, token.token)

    return identity


def _problem(error: TimepointError) -> ToolError:
    """What the client reads when a tool refuses: the problem lines of a bad scenario, or the
    error's message."""
    if isinstance(error, ScenarioError):
        return ToolError("invalid scenario:\n" + "\n".join(error.problems))
    return ToolError(str(error))


def build_mcp(
    service: Service,
    identity: Callable[[], ApiKey],
    *,
    questions: Path = Path("questions"),
    auth_url: str | None = None,
) -> MCPServer:
    """The MCP server over ``service``.

    Args:
        service: keys, ownership and queueing, shared with the REST API.
        identity: who is calling (the stdio key, or :func:`bearer_identity`).
        questions: the folder of question sets ``forecast`` may name.
        auth_url: for streamable HTTP: the server's URL; requests then need a bearer key.
    """
    auth: dict[str, Any] = {}
    if auth_url is not None:
        auth = {
            "token_verifier": KeyVerifier(service),
            # API keys are issued by this server for this server: no audience to check
            "auth": AuthSettings(
                issuer_url=auth_url,
                resource_server_url=f"{auth_url}/mcp",
                validate_token_resource=False,
            ),
        }
    server = MCPServer(
        name="timepoint",
        instructions="Temporal simulation: run scenarios, then ask, branch and compare runs.",
        **auth,
    )
    store = service.store

    def caller() -> ApiKey:
        try:
            return identity()
        except TimepointError as error:
            raise _problem(error) from None

    async def wait(work: WorkView, wait_s: float, ctx: Context | None) -> dict[str, Any]:
        deadline = time.monotonic() + wait_s
        view = work
        while view.status not in FINAL and time.monotonic() < deadline:
            await anyio.sleep(POLL_S)
            row = store.work(work.id)
            assert row is not None
            view = work_view(store, row)
            if ctx is not None and view.progress is not None:
                await ctx.report_progress(view.progress.done, view.progress.total, view.status)
        out = view.model_dump(mode="json")
        if view.status == "completed" and view.run_id and view.kind != "ask":
            out["summary"] = store.load_run(view.run_id).summary
        return out

    def queue(kind: str, jobs: int, request: dict[str, Any]) -> WorkView:
        try:
            return service.queue(caller(), kind, request, jobs=jobs)
        except TimepointError as error:
            raise _problem(error) from None

    def own(run: str) -> str:
        try:
            return service.owned_run_id(caller(), run)
        except TimepointError as error:
            raise _problem(error) from None

    @server.tool()
    async def simulate(
        ctx: Context,
        scenario: str | None = None,
        scenario_yaml: str | None = None,
        overrides: dict[str, Any] | None = None,
        seed: int | None = None,
        wait_s: float = 300.0,
    ) -> dict[str, Any]:
        """Simulate a scenario (a library path such as showcase/jefferson_dinner.yaml, or
        YAML) and wait up to wait_s seconds; returns the work id, status, run id and summary."""
        body = RunRequest(
            scenario=scenario, scenario_yaml=scenario_yaml, overrides=overrides or {}, seed=seed
        )
        try:
            path = service.library.check(body)
        except TimepointError as error:
            raise _problem(error) from None
        request = {"scenario_path": str(path), "overrides": body.overrides, "seed": seed}
        return await wait(queue("run", 1, request), wait_s, ctx)

    @server.tool()
    async def get_run(run: str) -> dict[str, Any]:
        """Status and progress of work (by its id) or of a stored run (by run id or prefix)."""
        row: Row | None = service.owned_work(caller(), run)
        if row is not None:
            return work_view(store, row).model_dump(mode="json")
        run_id = own(run)
        summary = next(r for r in store.list_runs(text=run_id) if r.run_id == run_id)
        return {**run_view(summary).model_dump(mode="json"), "summary": None}

    @server.tool()
    async def list_runs(
        scenario: str | None = None,
        mode: str | None = None,
        status: str | None = None,
        text: str | None = None,
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        """This key's stored runs, newest first, filtered as `timepoint runs` filters."""
        owned = set(store.owned_run_ids(caller().key_id))
        filters: dict[str, Any] = {"scenario": scenario, "mode": mode, "status": status}
        filters["text"] = text
        runs = store.list_runs(**{k: v for k, v in filters.items() if v is not None})
        return [run_view(r).model_dump(mode="json") for r in runs if r.run_id in owned][:limit]

    @server.tool()
    async def ask(ctx: Context, run: str, question: str, wait_s: float = 120.0) -> dict[str, Any]:
        """Ask a question of a run; returns the answer with its citations."""
        body = AskRequest(question=question)
        request = {"parent": own(run), "question": body.question}
        return await wait(queue("ask", 0, request), wait_s, ctx)

    @server.tool()
    async def branch(
        ctx: Context,
        run: str,
        at: str,
        remove: str | None = None,
        cancel_event: bool = False,
        modify: dict[str, dict[str, Any]] | None = None,
        wait_s: float = 300.0,
    ) -> dict[str, Any]:
        """Branch a run at a timepoint with one intervention (remove an entity, cancel the
        event, or modify one entity's fields) and simulate the new history."""
        body = BranchRequest(at=at, remove=remove, cancel_event=cancel_event, modify=modify)
        request = {"parent": own(run), **body.model_dump(mode="json")}
        return await wait(queue("branch", 1, request), wait_s, ctx)

    @server.tool()
    async def forecast(
        ctx: Context,
        question_set: str,
        question: str,
        runs: int = 20,
        budget_usd: float | None = None,
        wait_s: float = 600.0,
    ) -> dict[str, Any]:
        """Forecast a question of a question set (e.g. library.yaml) from an ensemble of runs;
        returns the probability, its interval and the runs behind it."""
        body = ForecastRequest(
            question_set=question_set, question=question, runs=runs, budget_usd=budget_usd
        )
        try:
            path = library_file(questions, body.question_set, "question set")
            load_questions(path).get(body.question)
        except TimepointError as error:
            raise _problem(error) from None
        request = {
            "question_set": str(path),
            "question": body.question,
            "runs": body.runs,
            "budget_usd": body.budget_usd,
        }
        return await wait(queue("forecast", body.runs, request), wait_s, ctx)

    @server.tool()
    async def compare(run_a: str, run_b: str) -> dict[str, Any]:
        """Compare two runs: the first divergence, events, knowledge, and their figures."""
        a, b = own(run_a), own(run_b)
        text = str(compare_runs(a, b, store=store))
        fields = pydantic_core.to_jsonable_python(store.compare(a, b)["fields"])
        return {"a": a, "b": b, "comparison": text, "fields": fields}

    @server.resource("timepoint://runs/{run_id}/narrative", mime_type="text/markdown")
    def narrative(run_id: str) -> str:
        """A run's narrative as Markdown."""
        return narrative_markdown(store.load_run(own(run_id)))

    @server.resource("timepoint://runs/{run_id}/narrative.json", mime_type="application/json")
    def narrative_as_json(run_id: str) -> str:
        """A run's narrative as JSON."""
        return narrative_json(store.load_run(own(run_id)))

    return server
