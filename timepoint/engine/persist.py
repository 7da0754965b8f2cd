"""Writing a run folder: ``runs/<run_id>/`` appears complete or not at all.

A run is stored in an order a kill cannot break (:func:`store_run`): a store row marked
``running`` first, then the folder (staged, then renamed into place), then the final row, all
under the run's writer lock. :func:`recover_interrupted` finishes what a killed writer left:
a ``running`` row whose folder was written is completed from the folder, one whose folder was
not is marked ``failed``, and staging folders nobody holds are removed.

The prompt and answer of each call (:class:`~timepoint.llm.call_log.CallText`) are kept in the
store only, not in the run folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from timepoint.engine.locks import run_lock
from timepoint.llm.base import CallRecord
from timepoint.llm.call_log import CallText, renumbered
from timepoint.scenario.schema import Scenario
from timepoint.world.record import RunRecord

STAGING_SUFFIX = ".partial"


def store_run(
    home: Path,
    record: RunRecord,
    scenario: Scenario,
    calls: Sequence[CallRecord],
    store: Any,
    extra_files: dict[str, str | bytes] | None = None,
    texts: Sequence[CallText] = (),
) -> Path:
    """Write the run's store rows and folder in an order a kill cannot leave inconsistent."""
    with run_lock(home, record.run_id):
        running = record.model_copy(update={"status": "running"})
        store.save_run(running, calls, texts=texts)
        folder = write_run_folder(home, record, scenario, calls, extra_files)
        store.save_run(record, calls, children=False)  # the child rows are already there
    return folder


def recover_interrupted(home: Path, store: Any) -> list[str]:
    """Finish or fail what killed writers left under ``home``; returns what was done."""
    home = Path(home)
    done = [
        line
        for summary in store.list_runs(status="running")
        if (line := recover_run(home, store, summary.run_id)) is not None
    ]
    for staging in sorted(home.glob(f".*{STAGING_SUFFIX}")) if home.is_dir() else []:
        run_id = staging.name[1 : -len(STAGING_SUFFIX)]
        with run_lock(home, run_id, wait=False) as held:
            if held and staging.is_dir():
                shutil.rmtree(staging, ignore_errors=True)
                done.append(f"{run_id}: removed an abandoned staging folder")
    return done


def recover_run(home: Path, store: Any, run_id: str, *, wait: bool = False) -> str | None:
    """Finish or fail the run ``run_id`` if a killed writer left it ``running``: completed from
    its folder when that was written, else marked failed. Returns what was done, or None (it
    is not ``running`` (any more), or its writer is alive and ``wait`` is False).

    With ``wait=True`` a writer holding the run (another process recovering it, say) is waited
    for, so the run's stored status is final when this returns.
    """
    with run_lock(Path(home), run_id, wait=wait) as held:
        stored = store.load_run(run_id) if held else None
        if stored is None or stored.status != "running":
            return None
        run_json = Path(home) / run_id / "run.json"
        if run_json.is_file():
            record = RunRecord.model_validate_json(run_json.read_text())
            calls = _calls(Path(home) / run_id / "llm_calls.jsonl")
            store.save_run(record, calls, texts=store.call_texts(run_id))
            return f"{run_id}: stored from its folder ({record.status})"
        record = stored.model_copy(
            update={
                "status": "failed",
                "error": "interrupted while being stored: its run folder was never "
                "written; run the scenario again",
            }
        )
        store.save_run(record, store.calls(run_id), texts=store.call_texts(run_id))
        return f"{run_id}: marked failed (its folder was never written)"


def _calls(path: Path) -> list[CallRecord]:
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    return [CallRecord.model_validate_json(line) for line in lines if line.strip()]


def write_run_folder(
    home: Path,
    record: RunRecord,
    scenario: Scenario,
    calls: Sequence[CallRecord],
    extra_files: dict[str, str | bytes] | None = None,
) -> Path:
    """Write every file into a hidden temporary folder, then rename it into place."""
    home.mkdir(parents=True, exist_ok=True)
    final = home / record.run_id
    staging = home / f".{record.run_id}{STAGING_SUFFIX}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        (staging / "scenario.yaml").write_text(
            yaml.dump(
                scenario.model_dump(mode="json"),
                Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                sort_keys=False,
                allow_unicode=True,
            )
        )
        (staging / "run.json").write_text(record.model_dump_json(indent=1))
        with (staging / "llm_calls.jsonl").open("w") as handle:
            for call in calls:
                handle.write(call.model_dump_json() + "\n")
        for name, content in (extra_files or {}).items():
            path = staging / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def store_update(
    run_id: str,
    folder: Path | None,
    store: Any,
    record: RunRecord,
    new_calls: Sequence[CallRecord],
    files: dict[str, str] | None = None,
    new_texts: Sequence[CallText] = (),
) -> None:
    """Rewrite a stored run's ``run.json``, ``llm_calls.jsonl`` and ``files`` (such as
    ``training.jsonl``) atomically (new calls are numbered after the stored ones) and save the
    record to the store, with the stored call texts and ``new_texts`` (the texts of
    ``new_calls``, numbered as they are).

    The caller holds the run's writer lock (:func:`~timepoint.engine.locks.run_lock`).
    """
    old: list[CallRecord] = []
    old_texts: list[CallText] = []
    folder = Path(folder) if folder is not None else None
    if store is not None:
        old, old_texts = store.calls(run_id), store.call_texts(run_id)
    elif folder is not None:
        old = _calls(folder / "llm_calls.jsonl")
    start = max((c.seq for c in old), default=0) + 1
    seqs = {c.seq: start + n for n, c in enumerate(new_calls)}
    calls = [*old, *(c.model_copy(update={"seq": seqs[c.seq]}) for c in new_calls)]
    texts = [*old_texts, *renumbered(new_texts, seqs)]
    if folder is not None and folder.is_dir():
        _replace(folder / "run.json", record.model_dump_json(indent=1))
        _replace(folder / "llm_calls.jsonl", "".join(c.model_dump_json() + "\n" for c in calls))
        for name, text in (files or {}).items():
            _replace(folder / name, text)
    if store is not None:
        store.save_run(record, calls, texts=texts)


def _replace(path: Path, text: str) -> None:
    descriptor, staging = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=STAGING_SUFFIX
    )
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
