"""The call log of a run: a record of every call, and apart from the records the prompt and the
answer of each call.

A :class:`~timepoint.llm.base.CallRecord` stays small (what the call was, what it cost). What
was said is a :class:`CallText` with the same ``seq``: the messages sent, as one text with a
``[role]`` line before each message, and the text the endpoint answered (the JSON of a
structured answer). Both are passed through :func:`~timepoint.redaction.redact_secrets` (the
endpoint's key and anything shaped like a key become ``[redacted]``) and capped at
:data:`MAX_TEXT_BYTES` each, with a line saying how much was cut, before they are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from timepoint.llm.base import CallRecord, Message
from timepoint.redaction import redact_secrets

#: the most bytes (UTF-8) of a prompt or of an answer that are kept for one call
MAX_TEXT_BYTES = 64 * 1024
#: the line that ends a text cut at :data:`MAX_TEXT_BYTES`
TRUNCATED = "\n… truncated: {cut:,} more bytes were not kept"


class CallText(BaseModel):
    """The prompt and the answer of the call record with the same ``seq``, redacted and capped.

    ``response`` is empty when no answer came (an error, a refused call).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    prompt: str
    response: str = ""


def prompt_text(messages: Iterable[Message]) -> str:
    """The messages of a request as one text: ``[role]`` on a line, then the content."""
    return "\n\n".join(f"[{m.role}]\n{m.content}" for m in messages)


def capped(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes (never inside a character), with a last line
    saying how many bytes were left out; unchanged when it fits."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", "ignore")
    return kept + TRUNCATED.format(cut=len(data) - len(kept.encode("utf-8")))


def call_text(
    seq: int, messages: Iterable[Message], response: str, keys: Iterable[str] = ()
) -> CallText:
    """The kept texts of call ``seq``: redacted (``keys`` and key-shaped strings), then capped."""
    keys = tuple(keys)
    return CallText(
        seq=seq,
        prompt=capped(redact_secrets(prompt_text(messages), keys)),
        response=capped(redact_secrets(response, keys)),
    )


def renumbered(texts: Iterable[CallText], seqs: dict[int, int]) -> list[CallText]:
    """``texts`` of the calls ``seqs`` renumbers (old ``seq`` -> new), with their new numbers;
    texts of calls not in ``seqs`` are left out."""
    return [t.model_copy(update={"seq": seqs[t.seq]}) for t in texts if t.seq in seqs]


class CallLog:
    """Thread-safe, append-only list of :class:`CallRecord` with monotonically rising ``seq``,
    and the :class:`CallText` of each call whose prompt was given.

    Args:
        sink: also called with each record as it is written (e.g. a JSONL writer).
        keys: secrets redacted from every kept text (the endpoint's API key), besides
            anything shaped like a key.
    """

    def __init__(
        self, sink: Callable[[CallRecord], None] | None = None, *, keys: Sequence[str] = ()
    ):
        self._records: list[CallRecord] = []
        self._texts: list[CallText] = []
        self._sink = sink
        self._keys = tuple(k for k in keys if k)
        self._lock = threading.Lock()

    def write(
        self,
        *,
        prompt: Sequence[Message] | None = None,
        response: str = "",
        **fields: object,
    ) -> CallRecord:
        """Append a record built from ``fields`` (``seq`` is assigned here) and, when the
        ``prompt`` messages are given, the call's texts (``response``: the answer's text)."""
        with self._lock:
            record = CallRecord(seq=len(self._records) + 1, **fields)
            self._records.append(record)
            if prompt is not None:
                self._texts.append(call_text(record.seq, prompt, response, self._keys))
            if self._sink is not None:
                self._sink(record)
        return record

    def snapshot(self) -> list[CallRecord]:
        """A copy of the records so far."""
        with self._lock:
            return list(self._records)

    def texts(self) -> list[CallText]:
        """A copy of the texts kept so far, in ``seq`` order."""
        with self._lock:
            return list(self._texts)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
