"""The prompt and response of every LLM call: kept redacted and capped, shown by the call viewer,
linked from the timepoints and dialogs of the run page; runs stored before have none."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from markupsafe import escape

import timepoint as tp
from timepoint.llm.base import Message
from timepoint.llm.call_log import MAX_TEXT_BYTES, CallLog, call_text, capped
from timepoint.redaction import redact_secrets
from timepoint.report.call_viewer import call_viewer_body
from timepoint.report.narrative import narrative_markdown
from timepoint.report.pages import templates
from timepoint.settings import Settings
from timepoint.store import open_store

from .conftest import JEFFERSON

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAKE_KEY = "sk-or-v1-0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tp.Run:
    """An offline run of the Jefferson dinner (dialogs at every timepoint)."""
    return tp.run(JEFFERSON, settings=Settings(home=tmp_path_factory.mktemp("calls") / "runs"))


def _viewer(run: tp.Run) -> str:
    store = run.store
    return call_viewer_body(
        templates(), run.run_id, store.calls(run.run_id), store.call_texts(run.run_id)
    )


def test_the_call_viewer_shows_the_prompt_and_response_of_a_dialog_call(run) -> None:
    dialog = run.record.dialogs[0]
    calls = run.store.calls(run.run_id)
    texts = {t.seq: t for t in run.store.call_texts(run.run_id)}
    assert set(texts) == {c.seq for c in calls}, "every call has its texts"
    call = next(c for c in calls if c.subject == dialog.id)
    assert call.action == "dialog_synthesis"
    kept = texts[call.seq]
    assert kept.prompt.startswith("[system]\nYou write period-accurate dialog")
    assert "\n\n[user]\n" in kept.prompt
    assert dialog.turns[0].text.split(":")[0][:20] in kept.response
    html = _viewer(run)
    assert str(escape(kept.prompt)) in html and str(escape(kept.response)) in html
    assert "stored without the prompts and responses" not in html


def test_a_dialog_on_the_run_page_links_to_the_viewer_filtered_to_its_calls(run) -> None:
    viewer = f"{run.run_id}/calls.html"
    page = narrative_markdown(run.record, "summary", heading=False, calls=viewer)
    dialog = run.record.dialogs[0]
    assert f"[LLM calls of this dialog]({viewer}#subject={dialog.id})" in page
    for timepoint in run.record.timepoints:
        assert f"[LLM calls]({viewer}#subject={timepoint.id})" in page
    assert f"[LLM calls of this summary]({viewer}#subject=summary)" in page
    assert [c.action for c in run.store.calls(run.run_id) if c.subject == "summary"] == [
        "summarization"
    ]
    assert "calls.html" not in narrative_markdown(run.record, "summary"), "not in narrative.md"
    html = _viewer(run)
    made_for = [c for c in run.store.calls(run.run_id) if c.subject == dialog.id]
    assert made_for and {c.action for c in made_for} == {"dialog_synthesis"}
    assert html.count(f'data-subject="{dialog.id}"') == len(made_for)
    assert f'<option value="{dialog.id}">' in html, "the subject filter offers the dialog"
    generation = [c for c in run.store.calls(run.run_id) if c.subject == "tp_000"]
    assert [c.action for c in generation] == ["temporal_reasoning"]


def test_a_key_placed_in_a_scenario_never_reaches_the_kept_prompts(tmp_path) -> None:
    description = f"A dinner. The clerk's note reads api_key={FAKE_KEY} and nothing else."
    overrides = {"description": description}
    run = tp.run(JEFFERSON, overrides=overrides, settings=Settings(home=tmp_path / "runs"))
    texts = run.store.call_texts(run.run_id)
    carrying = [t for t in texts if "The clerk's note reads" in t.prompt]
    assert carrying, "the description is part of the prompts"
    assert all("api_key=[redacted] and nothing else" in t.prompt for t in carrying)
    assert not any(FAKE_KEY[:14] in t.prompt + t.response for t in texts)
    assert FAKE_KEY[:14] not in _viewer(run)


def test_redaction_catches_keys_by_shape_and_the_endpoint_key_by_its_parts() -> None:
    text = (
        f"openrouter {FAKE_KEY}; anthropic sk-ant-api03-abcdefghijklmnopqrstuv; "
        "service tp_ab12cd_0123456789abcdefghij; header Bearer abcdefghijklmnop0123; "
        "github ghp_abcdefghijklmnopqrstuvwxyz0123; own secret-own-key-123456 truncated secret-own"
    )
    shown = redact_secrets(text, keys=["secret-own-key-123456"])
    for secret in (FAKE_KEY, "sk-ant-api03", "tp_ab12cd_", "abcdefghijklmnop0123", "ghp_"):
        assert secret not in shown
    assert "own-key" not in shown and "truncated [redacted]" in shown
    assert shown.startswith("openrouter [redacted]; anthropic [redacted]; service [redacted];")
    ordinary = "max_tokens: 1200; the tokens of a sk-etch; Bearer of bad news; secret: yes"
    assert redact_secrets(ordinary) == ordinary


def test_a_long_text_is_capped_with_a_marker_and_never_cut_inside_a_character() -> None:
    long = "é" * MAX_TEXT_BYTES
    kept = capped(long)
    assert len(kept.encode("utf-8")) < MAX_TEXT_BYTES + 80
    body, marker = kept.split("\n… truncated: ")
    assert body == "é" * (MAX_TEXT_BYTES // 2)
    assert marker == f"{MAX_TEXT_BYTES:,} more bytes were not kept"
    assert capped("short") == "short"
    text = call_text(3, [Message(role="user", content="x" * (MAX_TEXT_BYTES + 10))], "ok")
    assert text.seq == 3 and text.prompt.endswith("… truncated: 17 more bytes were not kept")


def test_the_call_log_keeps_texts_by_the_records_seq_and_redacts_its_keys() -> None:
    log = CallLog(keys=["k-live-0123456789"])
    log.write(action="general", model="m", provider="p", outcome="refused")
    prompt = (Message(role="user", content="use k-live-0123456789 please"),)
    record = log.write(
        action="general", model="m", provider="p", prompt=prompt, response="k-live-01234…"
    )
    [kept] = log.texts()
    assert kept.seq == record.seq == 2
    assert kept.prompt == "[user]\nuse [redacted] please" and kept.response == "[redacted]…"
    assert "prompt" not in record.model_dump(), "call records stay small"


def test_questions_asked_later_keep_their_texts_numbered_after_the_run_s(tmp_path) -> None:
    run = tp.run(JEFFERSON, settings=Settings(home=tmp_path / "runs"))
    before = run.store.call_texts(run.run_id)
    run.ask("What did Jefferson know about the debt at the end?")
    calls = run.store.calls(run.run_id)
    texts = run.store.call_texts(run.run_id)
    assert texts[: len(before)] == before
    assert [t.seq for t in texts] == [c.seq for c in calls]
    answer = [c for c in calls if c.subject and c.subject.startswith("answer:")]
    assert answer and all(c.on_demand for c in answer)
    assert "What did Jefferson know" in texts[answer[0].seq - 1].prompt


def test_runs_stored_before_texts_were_kept_still_render(tmp_path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURES / "store_v2.sqlite", path)
    with open_store(path) as store:
        run_id = "20250301-120000-ab12"
        calls = store.calls(run_id)
        assert calls and store.call_texts(run_id) == []
        assert {c.subject for c in calls} == {None}
        html = call_viewer_body(templates(), run_id, calls, store.call_texts(run_id))
    assert "This run was stored without the prompts and responses" in html
    assert html.count('<tr class="tp-call" ') == len(calls)
    assert "tp-call-texts" not in html and "<pre" not in html


@pytest.mark.parametrize(
    "scenario",
    [
        "base/animistic.yaml",
        "base/branching.yaml",
        "base/directorial.yaml",
        "base/portal.yaml",
        "showcase/detective_prospection.yaml",
    ],
)
def test_every_call_of_a_run_says_what_it_was_for(tmp_path: Path, scenario: str) -> None:
    library = Path(__file__).resolve().parents[1] / "scenarios"
    run = tp.run(library / scenario, settings=Settings(home=tmp_path / "runs"))
    calls = run.store.calls(run.run_id)
    assert calls and [c.seq for c in calls if not c.subject] == [], "calls without a subject"
    # a branching run asks for consequents of nodes it may prune later
    timepoints = {t.id for t in run.record.timepoints}
    entities = {e.id for e in run.record.entities}
    for call in calls:
        subject = call.subject or ""
        kind, _, rest = subject.partition(":")
        assert (
            subject in timepoints
            or subject.removeprefix("dlg_") in timepoints
            or (run.record.mode == "branching" and re.fullmatch(r"tp_\d{3}_[a-z]+", subject))
            or (kind == "entity" and rest in entities)
            or kind == "portal"
            or subject in ("entities", "plan", "history", "summary")
        ), f"{call.action}: subject {subject!r} names nothing of the run"
