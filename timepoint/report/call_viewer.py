"""The call viewer: a page per run listing every LLM call the run's meter recorded.

Rows come from the store's ``llm_calls`` (the same records as the run folder's
``llm_calls.jsonl``): action, model, provider, outcome (``invalid`` rows are re-asks, ``error``
rows retried attempts), tokens, cost, latency, structured-output mode, whether the call was
made on demand (``ask``, ``branch``) after the run, and what it was for (``subject``: a
timepoint, a dialog, a question). Under each row, the call's prompt and response from
``llm_call_texts`` (redacted and capped when stored); runs stored before the store kept them
say so. The page is static HTML made from a Jinja2 template (autoescaped) with a small site
script that filters rows and keeps the filter in the URL's hash (``#subject=dlg_tp_001`` shows
the calls of that dialog); it works from ``file://``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from timepoint.llm.base import CallRecord
from timepoint.llm.call_log import CallText

#: the viewer's script, a file under the site's ``assets/``
SCRIPT = "call_viewer.js"


def subject_anchor(subject: str) -> str:
    """The hash that filters the viewer to the calls made for ``subject`` (with its ``#``)."""
    return "#subject=" + quote(subject, safe="")


def call_row(call: CallRecord, texts: CallText | None = None) -> dict[str, Any]:
    """What the viewer shows of one call, as text (``texts``: its prompt and response)."""
    structured = call.structured_mode or ""
    if call.refused_modes:
        structured += f" (refused: {', '.join(call.refused_modes)})"
    return {
        "seq": call.seq,
        "action": call.action,
        "model": call.model,
        "provider": call.provider,
        "outcome": call.outcome,
        "subject": call.subject or "",
        "prompt_tokens": f"{call.prompt_tokens:,}",
        "completion_tokens": f"{call.completion_tokens:,}",
        "cost": f"{call.cost_usd:.6f}",
        "latency": f"{call.latency_ms:.1f}",
        "structured": structured,
        "on_demand": "yes" if call.on_demand else "",
        "error": call.error or "",
        "prompt": texts.prompt if texts is not None else None,
        "response": texts.response if texts is not None else None,
        "text": " ".join(
            [
                call.action,
                call.model,
                call.provider,
                call.outcome,
                call.subject or "",
                call.error or "",
            ]
        ).lower(),
    }


def call_viewer_body(
    templates: Any, run_id: str, calls: Sequence[CallRecord], texts: Sequence[CallText] = ()
) -> str:
    """The call viewer's content for ``run_id`` (``templates`` is the site's Jinja2
    environment; ``texts`` the calls' prompts and responses, none for older runs)."""
    by_seq = {t.seq: t for t in texts}
    return str(
        templates.get_template("call_viewer.html").render(
            run_id=run_id,
            rows=[call_row(c, by_seq.get(c.seq)) for c in calls],
            has_texts=bool(by_seq),
            actions=sorted({c.action for c in calls}),
            models=sorted({c.model for c in calls}),
            outcomes=sorted({c.outcome for c in calls}),
            subjects=sorted({c.subject for c in calls if c.subject}),
            tokens=f"{sum(c.prompt_tokens + c.completion_tokens for c in calls):,}",
            cost=f"{sum(c.cost_usd for c in calls):.4f}",
            latency=f"{sum(c.latency_ms for c in calls):.1f}",
        )
    )
