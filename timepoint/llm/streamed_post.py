"""One POST to an endpoint, its answer read under a total deadline and a byte cap.

The answer is streamed: reading stops ``timeout`` seconds after sending
(:class:`~timepoint.llm.http_errors.DeadlineExceeded`) and at ``max_bytes``
(:class:`~timepoint.llm.http_errors.ResponseTooLarge`), so an endpoint that trickles or floods
its answer cannot hold a worker. Either error says whether the answer was billed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from timepoint.errors import ProviderError
from timepoint.llm.http_errors import DeadlineExceeded, ResponseTooLarge

__all__ = ["post_streamed"]


def post_streamed(
    client: httpx.Client,
    url: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str],
    shown: str,
    model: str,
    timeout: float,
    max_bytes: int,
    redact: Callable[[str], str],
) -> tuple[int, bytes, httpx.Headers]:
    """Send ``body`` to ``url``; returns the status, the whole body and the headers.

    Args:
        client: the HTTP client to send with.
        url: where to send.
        body: the JSON body.
        headers: the request headers.
        shown: ``url`` fit to print in error messages.
        model: the model asked, for error messages.
        timeout: total seconds from sending to the last byte of the answer.
        max_bytes: the most bytes of the answer that are read.
        redact: removes secrets from text put in error messages.

    Raises:
        DeadlineExceeded: the answer was not whole within ``timeout``.
        ResponseTooLarge: the answer is larger than ``max_bytes``.
        ProviderError: the endpoint could not be reached (``status=None``).
    """
    deadline = time.monotonic() + timeout
    status: int | None = None
    try:
        with client.stream("POST", url, content=json.dumps(body), headers=headers) as response:
            status = response.status_code
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(shown, model, status, max_bytes, f"{int(declared):,} bytes")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(shown, model, status, max_bytes, "more than that")
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise _late(shown, model, status, size, timeout)
            return status, b"".join(chunks), response.headers
    except httpx.TimeoutException as error:
        raise DeadlineExceeded(
            f"{shown} did not answer within {timeout:g}s for model {model!r} "
            f"({type(error).__name__}); raise TIMEPOINT_LLM_TIMEOUT for a slow server, or "
            "lower max_tokens",
            billed=status is not None and status < 400,
        ) from None
    except httpx.TransportError as error:
        raise ProviderError(
            f"could not reach {shown} ({type(error).__name__}: {redact(str(error))}); "
            "check TIMEPOINT_LLM_BASE_URL and the network",
            status=None,
        ) from None


def _too_large(shown: str, model: str, status: int, max_bytes: int, got: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"{shown} answered HTTP {status} for model {model!r} with a body larger than the "
        f"cap of {max_bytes:,} bytes ({got}); reading stopped at the cap. Lower "
        "max_tokens, or raise TIMEPOINT_LLM_MAX_RESPONSE_BYTES if the endpoint's answers "
        "really are that large",
        status=None,
        billed=status < 400,
    )


def _late(shown: str, model: str, status: int, size: int, timeout: float) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"{shown} answered HTTP {status} for model {model!r} but sent only {size:,} bytes "
        f"within the total deadline of {timeout:g}s; raise TIMEPOINT_LLM_TIMEOUT for "
        "a slow server, or lower max_tokens",
        billed=status < 400,
    )
