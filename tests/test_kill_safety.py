"""Storing a run survives kills: the store row comes first, then the folder, then the final row;
what a killed writer leaves is finished or failed on the next start."""

from __future__ import annotations

import shutil
from pathlib import Path

import timepoint as tp
from timepoint.engine.persist import recover_interrupted
from timepoint.settings import Settings
from timepoint.store import open_store

from .conftest import JEFFERSON


def test_a_kill_after_the_folder_was_written_is_completed_on_the_next_start(tmp_path: Path):
    settings = Settings(home=tmp_path / "runs")
    record = tp.run(JEFFERSON, settings=settings).record
    store = open_store(home=settings.home)
    try:
        # what a kill between the folder rename and the final store write leaves behind
        store.save_run(record.model_copy(update={"status": "running"}), store.calls(record.run_id))
        assert store.load_run(record.run_id).status == "running"
        done = recover_interrupted(settings.home, store)
        assert done == [f"{record.run_id}: stored from its folder (completed)"]
        assert store.load_run(record.run_id) == record
        assert len(store.calls(record.run_id)) == record.usage.calls
    finally:
        store.close()


def test_a_kill_before_the_folder_was_written_is_marked_failed(tmp_path: Path):
    settings = Settings(home=tmp_path / "runs")
    record = tp.run(JEFFERSON, settings=settings).record
    folder = settings.home / record.run_id
    staging = settings.home / f".{record.run_id}.partial"
    shutil.move(folder, staging)  # killed while staging: the folder never appeared
    store = open_store(home=settings.home)
    try:
        store.save_run(record.model_copy(update={"status": "running"}))
        tp.run(JEFFERSON, settings=settings)  # the next start recovers
        stored = store.load_run(record.run_id)
        assert stored.status == "failed" and "never written" in (stored.error or "")
        assert not staging.exists(), "the abandoned staging folder is removed"
        assert not list(settings.home.glob(".*.partial"))
        assert tp.load_run(record.run_id, settings=settings).status == "failed"
    finally:
        store.close()


def test_nothing_is_recovered_while_its_writer_holds_the_lock(tmp_path: Path):
    from timepoint.engine.locks import run_lock

    settings = Settings(home=tmp_path / "runs")
    record = tp.run(JEFFERSON, settings=settings).record
    store = open_store(home=settings.home)
    try:
        store.save_run(record.model_copy(update={"status": "running"}))
        with run_lock(settings.home, record.run_id):
            assert recover_interrupted(settings.home, store) == []
        assert store.load_run(record.run_id).status == "running"
    finally:
        store.close()
