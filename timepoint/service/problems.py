"""Every error the API answers with is an RFC 9457 problem (``application/problem+json``).

``type`` is a stable URI naming the kind of problem, ``title`` its short summary, ``detail``
what went wrong with this request and how to fix it. Scenario problems add ``errors``: the
lines ``timepoint validate`` prints, one per problem.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from timepoint.errors import (
    BatchError,
    BranchError,
    BudgetExceeded,
    QuestionSetError,
    RateLimited,
    ReportError,
    RunNotFound,
    ScenarioError,
    ServiceError,
    StoreError,
    TimepointError,
)
from timepoint.service.requests import Problem

MEDIA_TYPE = "application/problem+json"
#: Base of the ``type`` URIs (a URN: they name kinds of problem, and resolve nowhere).
TYPES = "urn:timepoint:problem:"


def problem_response(
    status: int,
    title: str,
    detail: str,
    request: Request,
    *,
    kind: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem details response."""
    body = Problem(
        type=TYPES + kind,
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        **extra,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    lines = [f"{_field(tuple(e['loc']))}: {e['msg']}" for e in error.errors()]
    return problem_response(
        422,
        "Invalid request",
        "; ".join(lines),
        request,
        kind="invalid-request",
        errors=lines,
    )


def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(error.status_code, "HTTP error")
    return problem_response(
        error.status_code, title, str(error.detail), request, kind=f"http-{error.status_code}"
    )


def _timepoint(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, RateLimited):
        wait = "3600" if math.isinf(error.retry_after) else str(math.ceil(error.retry_after))
        return problem_response(
            429,
            error.title,
            error.detail,
            request,
            kind="rate-limited",
            headers={"Retry-After": wait},
        )
    if isinstance(error, ServiceError):
        kind = error.title.lower().replace(" ", "-")
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return problem_response(
            error.status, error.title, error.detail, request, kind=kind, headers=headers
        )
    if isinstance(error, ScenarioError):
        return problem_response(
            422,
            "Invalid scenario",
            f"the scenario has {len(error.problems)} problem(s); see errors",
            request,
            kind="invalid-scenario",
            errors=list(error.problems),
        )
    if isinstance(error, QuestionSetError):
        return problem_response(
            422,
            "Invalid question",
            f"the question set has {len(error.problems)} problem(s); see errors",
            request,
            kind="invalid-question",
            errors=list(error.problems),
        )
    if isinstance(error, RunNotFound):
        return problem_response(404, "Run not found", str(error), request, kind="run-not-found")
    if isinstance(error, BudgetExceeded):
        return problem_response(402, "Budget exceeded", str(error), request, kind="budget")
    if isinstance(error, StoreError):
        return problem_response(503, "Store unavailable", str(error), request, kind="store")
    if isinstance(error, ReportError):
        return problem_response(501, "Export unavailable", str(error), request, kind="report")
    status = 422 if isinstance(error, (BatchError, BranchError)) else 400
    return problem_response(status, "Request refused", str(error), request, kind="refused")


def _unexpected(request: Request, error: Exception) -> JSONResponse:
    return problem_response(
        500,
        "Internal error",
        f"the server failed on this request ({type(error).__name__}); it is logged",
        request,
        kind="internal",
    )


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(TimepointError, _timepoint)
    app.add_exception_handler(Exception, _unexpected)
