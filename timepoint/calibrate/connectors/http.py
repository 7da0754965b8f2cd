"""GET requests that return JSON, with the connectors' error handling: rate limits (429,
honouring ``Retry-After``) are waited out a few times, every other failure is a
:class:`~timepoint.errors.ConnectorError` naming the source, the URL path and the status."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from timepoint.errors import ConnectorError

Sleep = Callable[[float], None]
#: longest wait for one ``Retry-After``, in seconds
MAX_WAIT_S = 60.0


def _wait(response: httpx.Response, attempt: int) -> float:
    header = response.headers.get("Retry-After", "")
    try:
        return min(MAX_WAIT_S, max(0.0, float(header)))
    except ValueError:
        return min(MAX_WAIT_S, 2.0**attempt)


def get_json(
    client: httpx.Client,
    path: str,
    *,
    source: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    attempts: int = 4,
    sleep: Sleep = time.sleep,
) -> Any:
    """``GET path`` on ``client`` and decode the JSON answer.

    Raises:
        ConnectorError: the connection failed, the server answered an error (or kept
            answering 429 after ``attempts`` tries), or the body is not JSON.
    """
    for attempt in range(attempts):
        try:
            response = client.get(path, params=dict(params or {}), headers=dict(headers or {}))
        except httpx.HTTPError as error:
            raise ConnectorError(f"{source}: GET {path} failed: {error}") from None
        if response.status_code == 429 and attempt + 1 < attempts:
            sleep(_wait(response, attempt))
            continue
        if response.status_code == 429:
            raise ConnectorError(
                f"{source}: GET {path} was rate limited {attempts} times (429); wait and try "
                "again, or ask for fewer items",
                status=429,
            )
        if response.status_code in (401, 403):
            raise ConnectorError(
                f"{source}: GET {path} was refused ({response.status_code}); check the token",
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise ConnectorError(
                f"{source}: GET {path} answered {response.status_code}: {response.text[:200]}",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                f"{source}: GET {path} answered something that is not JSON: {response.text[:100]!r}"
            ) from None
    raise ConnectorError(f"{source}: GET {path}: no attempts made")  # attempts < 1
