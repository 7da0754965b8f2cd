"""The machine-readable block a prompt carries: what a model must take into account, as JSON.

Every mechanism tells the model what it wants considered in the prompt itself: prose for the
reader, and one fenced block with the same data for anything that wants structure. A real model
reads the block like any other text; the offline model composes its answer from it. Nothing else
reaches a model, so an effect that is not in the prompt does not exist.

The block is the last fenced section labelled ``json timepoint`` in a message::

    ```json timepoint
    {"task": "dialog_synthesis", "answer": "DialogDraft", "data": {...}}
    ```
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from timepoint.llm.base import ActionType, Message, Request

FENCE_LABEL = "json timepoint"
_BLOCK = re.compile(r"```json timepoint\n(?P<body>.*?)\n```", re.DOTALL)
_INTRO = "The same facts as structured data (use them; answer in the requested form):"


@dataclass(frozen=True)
class TaskData:
    """What a block says: the task, the name of the answer's shape, and the data."""

    task: str
    answer: str | None
    data: dict[str, Any]


def render_task_data(
    action: ActionType | str, data: Mapping[str, Any], answer: str | None = None
) -> str:
    """The fenced block for ``data``; ``answer`` names the output schema, when there is one."""
    payload = {"task": str(action), "answer": answer, "data": dict(data)}
    body = json.dumps(payload, ensure_ascii=False, default=_plain)
    return f"{_INTRO}\n```{FENCE_LABEL}\n{body}\n```"


def with_task_data(
    prose: str, action: ActionType | str, data: Mapping[str, Any], answer: str | None = None
) -> str:
    """``prose`` followed by the block for ``data``: one user message carrying both."""
    return f"{prose.rstrip()}\n\n{render_task_data(action, data, answer)}"


def task_request(
    action: ActionType,
    schema: type[BaseModel] | None,
    *,
    system: str,
    prose: str,
    data: Mapping[str, Any],
    seed: int | None,
    max_tokens: int,
    on_demand: bool = False,
    model: str | None = None,
    subject: str | None = None,
) -> Request:
    """A request whose user message is ``prose`` plus the block for ``data``.

    Args:
        action: the kind of call, for model selection and accounting.
        schema: the pydantic model the answer must validate against, or ``None`` for text.
        system: the system message.
        prose: the user message's prose; it should say in words what ``data`` holds.
        data: what the model must take into account, as JSON-ready values.
        seed: the request seed (sent to the endpoint).
        max_tokens: the answer's token cap.
        on_demand: bookkeeping: the call answers a question about a finished run.
        model: the registry model to ask (``None``: selection decides).
        subject: bookkeeping: what the call is for (a timepoint, dialog or question id),
            recorded with the call and shown by the call viewer.
    """
    answer = schema.__name__ if schema is not None else None
    return Request(
        action=action,
        output_schema=schema,
        seed=seed,
        max_tokens=max_tokens,
        on_demand=on_demand,
        model=model,
        subject=subject,
        messages=(
            Message(role="system", content=system),
            Message(role="user", content=with_task_data(prose, action, data, answer)),
        ),
    )


def read_task_data(messages: Iterable[Message]) -> TaskData | None:
    """The blocks of ``messages`` merged in order, or ``None`` when there is none.

    A later block (a follow-up such as a repair request) adds to and overrides the data of an
    earlier one; the task and answer are the latest given. A block that is not valid JSON, or
    not shaped as :func:`render_task_data` writes it, is ignored: a prompt written by hand
    simply has no structured data.
    """
    found: TaskData | None = None
    for message in messages:
        for match in _BLOCK.finditer(message.content):
            try:
                payload = json.loads(match.group("body"))
            except ValueError:
                continue
            if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
                continue
            answer = payload.get("answer")
            found = TaskData(
                task=str(payload.get("task") or (found.task if found else "")),
                answer=answer if isinstance(answer, str) else (found.answer if found else None),
                data={**(found.data if found else {}), **payload["data"]},
            )
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
