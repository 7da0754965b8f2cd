"""Tolerant extraction of a JSON value from model text, and validation against a schema.

Models wrap JSON in code fences, put prose before it, leave raw newlines inside strings or
trailing commas, and get cut off at ``max_tokens``. :func:`extract_json` copes with the first
four and reports the last as an incomplete answer; it never invents missing content.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_MAX_CANDIDATES = 25


class ExtractionError(ValueError):
    """No complete JSON value could be read from the text."""


def extract_json(text: str) -> Any:
    """The first complete JSON object or array in ``text``.

    Looks inside code fences first, then scans the whole text; string-aware bracket matching
    finds where a value ends, raw control characters inside strings are accepted, and trailing
    commas are dropped.

    Raises:
        ExtractionError: no JSON found, or the value is incomplete (e.g. cut off at max tokens).
    """
    sources = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    problem = "no JSON object or array found in the answer"
    for source in sources:
        position, tried = 0, 0
        while tried < _MAX_CANDIDATES:
            start = _next_opening(source, position)
            if start is None:
                break
            tried += 1
            end = _matching_end(source, start)
            if end is None:
                problem = (
                    "the JSON value is incomplete (unbalanced brackets or an unterminated "
                    "string; was the answer cut off at max_tokens?)"
                )
                break
            if end < 0:
                position = start + 1
                continue
            value, error = _loads(source[start : end + 1])
            if error is None:
                return value
            problem = f"the JSON value does not parse: {error}"
            position = end + 1
    raise ExtractionError(problem)


def parse_as(schema: type[BaseModel], text: str) -> tuple[BaseModel | None, list[str]]:
    """Extract JSON from ``text`` and validate it against ``schema``.

    Returns:
        ``(instance, [])`` on success, ``(None, problems)`` otherwise; each problem names the
        field path, what was wrong and the value received.
    """
    try:
        data = extract_json(text)
    except ExtractionError as error:
        return None, [str(error)]
    try:
        return schema.model_validate(data), []
    except ValidationError as error:
        return None, [_describe(e) for e in error.errors(include_url=False)]


def _next_opening(text: str, position: int) -> int | None:
    for index in range(position, len(text)):
        if text[index] in "{[":
            return index
    return None


def _loads(candidate: str) -> tuple[Any, str | None]:
    try:
        return json.loads(candidate, strict=False), None
    except json.JSONDecodeError as error:
        first = str(error)
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", candidate), strict=False), None
    except json.JSONDecodeError:
        return None, first


def _matching_end(text: str, start: int) -> int | None:
    """Index of the bracket closing the one at ``start``; -1 if a bracket is mismatched first,
    ``None`` if it never closes."""
    stack: list[str] = []
    in_string = False
    escaped = False
    pairs = {"{": "}", "[": "]"}
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in pairs:
            stack.append(pairs[char])
        elif char in "}]":
            if not stack or stack.pop() != char:
                return -1
            if not stack:
                return index
    return None


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(root)"
    received = repr(error.get("input"))
    if len(received) > 80:
        received = received[:77] + "..."
    return f"{location}: {error['msg']} (received {received})"
