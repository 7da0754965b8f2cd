"""Store behaviour, run against SQLite and (marked ``postgres``) a private PostgreSQL cluster."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.test_store_support import PostgresCluster, make_calls, make_record, postgres_unavailable
from timepoint.errors import RunNotFound, StoreError
from timepoint.store import SCHEMA_VERSION, TABLES, open_store


@pytest.fixture(scope="module")
def pg_url():
    """One migrated database in a private cluster for the module; tests empty it first."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    cluster = PostgresCluster().start()
    try:
        yield cluster.new_database()
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        opened = open_store(tmp_path / "timepoint.db")
    else:
        opened = open_store(request.getfixturevalue("pg_url"))
        with opened._guard("emptying the test database") as db:
            db.execute(f"TRUNCATE {', '.join(t.name for t in TABLES)}")
    yield opened
    opened.close()


def _day(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def filled(store):
    """Four runs over three days, two scenarios, two modes, one failure, rising costs."""
    specs = [
        ("20250301-120000-aaaa", "jefferson_dinner", "pearl", "completed", _day(1), 0.001),
        ("20250302-090000-bbbb", "jefferson_dinner", "branching", "completed", _day(2, 9), 0.02),
        ("20250302-180000-cccc", "mars_mission", "portal", "failed", _day(2, 18), 0.5),
        ("20250303-120000-dddd", "mars_mission", "pearl", "completed", _day(3), 1.25),
    ]
    for run_id, scenario, mode, status, started, cost in specs:
        record = make_record(
            run_id, scenario_id=scenario, mode=mode, status=status, started=started, cost=cost
        )
        store.save_run(record, make_calls())
    return store


def test_round_trip_returns_an_equal_record_and_calls(store):
    record, calls = make_record(), make_calls()
    store.save_run(record, calls)

    assert store.load_run(record.run_id) == record
    assert store.calls(record.run_id) == calls


def test_saving_twice_replaces_rather_than_duplicates(store):
    record = make_record()
    store.save_run(record, make_calls())
    changed = record.model_copy(update={"status": "failed", "error": "boom"})
    store.save_run(changed, make_calls(2))

    assert store.load_run(record.run_id).status == "failed"
    assert len(store.table_frame("exposures")) == len(record.exposures)
    assert len(store.table_frame("entities")) == 3
    assert len(store.calls(record.run_id)) == 2
    assert [r.run_id for r in store.list_runs()] == [record.run_id]


def test_saving_only_the_run_row_keeps_the_child_rows(store):
    record, calls = make_record(), make_calls()
    store.save_run(record.model_copy(update={"status": "running"}), calls)
    store.save_run(record, calls, children=False)

    assert store.load_run(record.run_id) == record
    assert store.list_runs()[0].status == record.status
    assert len(store.table_frame("exposures")) == len(record.exposures)
    assert store.calls(record.run_id) == calls


def test_saving_only_the_run_row_of_an_unsaved_run_saves_it_all(store):
    record, calls = make_record(), make_calls()
    store.save_run(record, calls, children=False)

    assert store.load_run(record.run_id) == record
    assert len(store.table_frame("exposures")) == len(record.exposures)
    assert store.calls(record.run_id) == calls


def test_child_tables_hold_the_record_flattened(store):
    record = make_record()
    store.save_run(record, make_calls())

    entities = store.table_frame("entities")
    assert sorted(entities["name"]) == ["Alexander Hamilton", "James Madison", "Thomas Jefferson"]
    assert entities.set_index("entity_id").loc["hamilton", "traits_json"]["ambition"] == 0.8
    dialogs = store.table_frame("dialogs")
    assert list(dialogs["speaker"]) == ["jefferson", "madison"]
    assert dialogs.iloc[1]["knowledge_refs"] == ["f_capital", "f_assumption"]
    ledger = store.table_frame("mechanism_ledger")
    assert ledger.set_index("mechanism").loc["M3", "counts_json"] == {"exposures": 4, "sources": 2}
    validations = store.table_frame("validations")
    assert list(validations["ok"]) == [True, False]
    timelines = store.table_frame("timelines")
    assert timelines.iloc[0]["path_rank"] == 1 and timelines.iloc[0]["length"] == 2
    exposures = store.table_frame("exposures")
    assert exposures["timestamp"].min() == datetime(1790, 6, 20, 18, tzinfo=UTC)
    run = store.list_runs()[0]
    assert (run.entities, run.timepoints, run.llm_calls, run.tokens_in) == (3, 2, 3, 1230)


def test_filters_select_runs(filled):
    def ids(**filters):
        return [r.run_id[-4:] for r in filled.list_runs(**filters)]

    assert ids() == ["dddd", "cccc", "bbbb", "aaaa"]
    assert ids(scenario="mars_mission") == ["dddd", "cccc"]
    assert ids(mode="pearl") == ["dddd", "aaaa"]
    assert ids(mode=["pearl", "portal"]) == ["dddd", "cccc", "aaaa"]
    assert ids(status="failed") == ["cccc"]
    assert ids(since="2025-03-02") == ["dddd", "cccc", "bbbb"]
    assert ids(until="2025-03-02") == ["cccc", "bbbb", "aaaa"]
    assert ids(since=date(2025, 3, 2), until=date(2025, 3, 2)) == ["cccc", "bbbb"]
    assert ids(until=_day(2, 10)) == ["bbbb", "aaaa"]
    assert ids(min_cost=0.02, max_cost=0.5) == ["cccc", "bbbb"]
    assert ids(text="CCCC") == ["cccc"]
    assert ids(text="mars") == ["dddd", "cccc"]
    assert ids(text="100%_") == []
    assert ids(scenario="jefferson_dinner", limit=1) == ["bbbb"]


def test_bad_date_filter_names_the_value_and_the_format(filled):
    with pytest.raises(StoreError, match="since: 'last tuesday' is not a date; use YYYY-MM-DD"):
        filled.list_runs(since="last tuesday")


def test_unique_prefix_finds_a_run_and_misses_explain_themselves(filled):
    assert filled.load_run("20250303").run_id == "20250303-120000-dddd"
    assert filled.resolve_run_id("20250302-18") == "20250302-180000-cccc"
    with pytest.raises(RunNotFound, match="matches several runs: 20250302-090000-bbbb"):
        filled.load_run("20250302")
    with pytest.raises(RunNotFound, match="did you mean '20250303-120000-dddd'"):
        filled.load_run("20250303-120000-ddde")
    with pytest.raises(RunNotFound, match="most recent runs: 20250303-120000-dddd"):
        filled.load_run("zzz")


def test_run_not_found_in_an_empty_store(store):
    with pytest.raises(RunNotFound, match="the store has no runs yet"):
        store.load_run("20250301")


def test_aggregate_sums_means_and_counts_in_the_database(filled):
    by_scenario = filled.aggregate("scenario_id", "cost_usd")
    assert list(by_scenario["scenario_id"]) == ["jefferson_dinner", "mars_mission"]
    assert list(by_scenario["cost_usd_sum"]) == pytest.approx([0.021, 1.75])

    by_day = filled.aggregate(["day", "status"], "rows", "count")
    assert by_day.values.tolist() == [
        ["2025-03-01", "completed", 1],
        ["2025-03-02", "completed", 1],
        ["2025-03-02", "failed", 1],
        ["2025-03-03", "completed", 1],
    ]
    tokens = filled.aggregate("mode", "tokens_in", "sum", status="completed")
    assert dict(zip(tokens["mode"], tokens["tokens_in_sum"], strict=True)) == {
        "branching": 1230,
        "pearl": 2460,
    }
    calls = filled.aggregate(["scenario_id", "action"], "cost_usd", "mean", table="llm_calls")
    assert len(calls) == 6 and set(calls["cost_usd_mean"]) == {0.001}
    passed = filled.aggregate("validator", "ok", "mean", table="validations")
    assert list(passed["ok_mean"]) == [1.0, 0.0]


def test_aggregate_rejects_unknown_columns_and_functions(filled):
    with pytest.raises(StoreError, match="cannot group runs by 'colour'; allowed: run_id"):
        filled.aggregate("colour", "cost_usd")
    with pytest.raises(StoreError, match="cannot aggregate 'title' of runs; numeric columns"):
        filled.aggregate("mode", "title")
    with pytest.raises(StoreError, match="fn 'median' is not one of sum, mean, count"):
        filled.aggregate("mode", "cost_usd", "median")


def test_compare_puts_two_runs_side_by_side(filled):
    result = filled.compare("20250301", "20250302-18")

    assert (result["a"], result["b"]) == ("20250301-120000-aaaa", "20250302-180000-cccc")
    fields = result["fields"]
    assert fields["cost_usd"] == {"a": 0.001, "b": 0.5, "delta": pytest.approx(0.499)}
    assert fields["status"] == {"a": "completed", "b": "failed", "same": False}
    assert fields["entities"]["delta"] == 0
    assert fields["tokens"]["a"] == 1230 + 363
    assert fields["duration_s"] == {"a": 4.5, "b": 4.5, "delta": 0.0}


def test_batch_jobs_upsert_and_report_completed_ids(store):
    store.create_batch("sweep-1", {"axes": {"seed": [1, 2, 3]}, "budget": 5.0})
    store.upsert_job("sweep-1", "job-a", spec={"seed": 1}, status="running")
    store.upsert_job("sweep-1", "job-b", spec={"seed": 2}, status="running")
    store.upsert_job("sweep-1", "job-c", spec={"seed": 3}, status="pending")
    store.upsert_job("sweep-1", "job-a", status="completed", run_id="r1", cost_usd=0.2, tokens=900)
    store.upsert_job(
        "sweep-1",
        "job-b",
        status="failed",
        error_class="BudgetExceeded",
        step="dialog",
        message="run budget exceeded",
        retries=2,
    )

    jobs = {j["job_id"]: j for j in store.jobs("sweep-1")}
    assert jobs["job-a"]["spec_json"] == {"seed": 1}
    assert (jobs["job-a"]["status"], jobs["job-a"]["run_id"], jobs["job-a"]["tokens"]) == (
        "completed",
        "r1",
        900,
    )
    assert jobs["job-b"]["retries"] == 2 and jobs["job-b"]["error_class"] == "BudgetExceeded"
    assert store.completed_job_ids("sweep-1") == {"job-a"}
    store.create_batch("sweep-1", {"axes": {"seed": [1, 2, 3]}, "budget": 5.0})
    assert store.completed_job_ids("sweep-1") == {"job-a"}
    store.update_batch("sweep-1", status="completed")
    assert store.batch("sweep-1")["status"] == "completed"


def test_batch_helpers_reject_unknown_batches_and_fields(store):
    with pytest.raises(StoreError, match="no batch 'nope' for job 'j'; call create_batch"):
        store.upsert_job("nope", "j", status="running")
    store.create_batch("b", {})
    with pytest.raises(StoreError, match="batch_jobs has no field 'stauts'; did you mean 'status'"):
        store.upsert_job("b", "j", stauts="running")


def test_questions_and_forecasts_are_upserted(store):
    store.save_question("q1", question_set="space", text="Will Ares III return?", resolution=None)
    store.save_question("q1", resolution=1.0)
    store.save_forecast(
        "f1",
        question_id="q1",
        probability=0.7,
        lower=0.5,
        upper=0.85,
        runs=20,
        yes_runs=14,
        run_ids=["r1", "r2"],
        made=_day(1),
    )

    (question,) = store.questions("space")
    assert (question["text"], question["resolution"]) == ("Will Ares III return?", 1.0)
    (forecast,) = store.forecasts("q1")
    assert forecast["run_ids_json"] == ["r1", "r2"] and forecast["made"] == _day(1)


def test_four_threads_write_concurrently(store):
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                run_id = f"2025030{n}-1200{i:02d}-t{n}"
                store.save_run(make_record(run_id, started=_day(1) + timedelta(minutes=i)), [])
                store.load_run(run_id)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(store.list_runs()) == 20
    assert len(store.table_frame("entities")) == 60


def test_migration_version_is_recorded_once(store):
    assert store.version == SCHEMA_VERSION
    with store._guard("test") as db:
        _, rows = db.query("SELECT version, description FROM schema_version")
    assert sorted(r[0] for r in rows) == list(range(1, SCHEMA_VERSION + 1))
    assert "initial schema" in dict(rows)[1]
    assert "batch leases" in dict(rows)[2]


def test_delete_run_removes_every_row(filled):
    filled.delete_run("20250301")
    assert len(filled.list_runs()) == 3
    assert set(filled.table_frame("entities")["run_id"]) == {
        "20250302-090000-bbbb",
        "20250302-180000-cccc",
        "20250303-120000-dddd",
    }


def test_a_pickled_store_reopens_the_same_database(filled):
    import pickle

    with pickle.loads(pickle.dumps(filled)) as copy:
        assert [r.run_id for r in copy.list_runs()] == [r.run_id for r in filled.list_runs()]


def _lease_batch(store, batch_id="leased"):
    store.create_batch(batch_id, {"jobs": 1})
    assert store.claim_batch(batch_id, "driver-a", host="h", pid=1, lease_s=60) is None
    return batch_id


def test_a_live_batch_lease_is_not_taken_but_a_gone_driver_can_be_taken_over(store):
    batch_id = _lease_batch(store)
    holder = store.claim_batch(batch_id, "driver-b", host="h2", pid=2, lease_s=60)
    assert (holder["lease_owner"], holder["lease_host"], holder["lease_pid"]) == (
        "driver-a",
        "h",
        1,
    )
    assert store.renew_batch_lease(batch_id, "driver-a", 60)
    assert (
        store.claim_batch(batch_id, "driver-b", host="h2", pid=2, lease_s=60, takeover="driver-a")
        is None
    )
    assert not store.renew_batch_lease(batch_id, "driver-a", 60)
    store.release_batch_lease(batch_id, "driver-a")
    assert store.batch(batch_id)["lease_owner"] == "driver-b"
    store.release_batch_lease(batch_id, "driver-b")
    assert store.batch(batch_id)["lease_owner"] is None


def test_an_expired_batch_lease_is_taken(store):
    store.create_batch("expired", {"jobs": 1})
    assert store.claim_batch("expired", "driver-a", host="h", pid=1, lease_s=-1) is None
    assert store.claim_batch("expired", "driver-b", host="h", pid=2, lease_s=60) is None


def test_only_the_attempt_holding_a_job_records_its_result_and_every_spend_counts(store):
    batch_id = _lease_batch(store)
    first, _ = store.claim_job(batch_id, "j", "driver-a", spec={}, lease_s=60, host="h", pid=11)
    assert first == 1
    assert store.claim_job(batch_id, "j", "driver-b", spec={}, lease_s=60, host="h", pid=12) == (
        None,
        "the batch is no longer held by the driver that started this job",
    )
    assert store.renew_job_lease(batch_id, "j", "driver-a", 1, lease_s=60, cost_usd=0.5, tokens=5)
    # driver-a dies; driver-b takes the batch over, abandons the job and runs it again
    store.claim_batch(batch_id, "driver-b", host="h", pid=2, lease_s=60, takeover="driver-a")
    held = store.held_jobs(batch_id, "driver-b")
    assert [(r["job_id"], r["attempt"], r["host"], r["pid"]) for r in held] == [("j", 1, "h", 11)]
    assert [r["job_id"] for r in store.abandon_jobs(batch_id, "driver-b", "gone")] == ["j"]
    second, _ = store.claim_job(batch_id, "j", "driver-b", spec={}, lease_s=60, host="h", pid=13)
    assert second == 2
    # the first attempt goes on: it can neither renew nor record, but its spend is kept
    assert not store.renew_job_lease(
        batch_id, "j", "driver-a", 1, lease_s=60, cost_usd=1.0, tokens=10
    )
    assert not store.finish_job(
        batch_id, "j", "driver-a", 1, status="completed", run_id="r1", cost_usd=1.5, tokens=15
    )
    assert store.finish_job(
        batch_id, "j", "driver-b", 2, status="completed", run_id="r2", cost_usd=2.0, tokens=20
    )
    assert not store.finish_job(
        batch_id, "j", "driver-b", 2, status="completed", run_id="r3", cost_usd=2.0, tokens=20
    )
    (job,) = store.jobs(batch_id)
    assert (job["status"], job["run_id"], job["attempt"], job["cost_usd"]) == (
        "completed",
        "r2",
        2,
        2.0,
    )
    assert [(a["attempt"], a["status"], a["cost_usd"]) for a in store.attempts(batch_id)] == [
        (1, "lost", 1.5),
        (2, "completed", 2.0),
    ]
    assert store.batch_spend(batch_id) == (pytest.approx(3.5), 35)
    assert store.claim_job(batch_id, "j", "driver-b", spec={}, lease_s=60, host="h", pid=13) == (
        None,
        "the job is already completed",
    )


def test_a_job_whose_driver_lost_the_batch_is_abandoned_when_it_ends(store):
    batch_id = _lease_batch(store)
    store.claim_job(batch_id, "j", "driver-a", spec={}, lease_s=60, host="h", pid=11)
    store.claim_batch(batch_id, "driver-b", host="h", pid=2, lease_s=60, takeover="driver-a")
    assert not store.finish_job(batch_id, "j", "driver-a", 1, status="completed", cost_usd=1.0)
    (job,) = store.jobs(batch_id)
    assert job["status"] == "abandoned" and "lease was lost" in job["message"]
    assert store.held_jobs(batch_id, "driver-b") == []


def test_service_work_is_claimed_once_renewed_cancelled_and_counted(store):
    store.add_api_key("k1", "alice", "hash", monthly_runs=5)
    store.add_work("w1", "k1", "batch", {"grid": {"seed": [0, 1]}}, jobs=2)
    store.add_work("w2", "k1", "run", {"seed": 3}, jobs=1)
    first = store.claim_work("worker-a", 30)
    second = store.claim_work("worker-b", 30)
    assert (first["work_id"], second["work_id"]) == ("w1", "w2")
    assert store.claim_work("worker-c", 30) is None, "held work is not claimed again"
    assert store.renew_work("w1", "worker-a", 30) and not store.renew_work("w1", "worker-b", 30)
    store.update_work("w2", lease_expires=datetime.now(UTC) - timedelta(seconds=1))
    taken = store.claim_work("worker-c", 30)
    assert taken["work_id"] == "w2" and taken["resumed"] is True
    store.add_work("w3", "k1", "run", {}, jobs=1)
    assert store.request_cancel("w3")["status"] == "cancelled"
    store.update_work("w1", status="completed", cost_usd=0.25, result={"run_ids": ["r1"]})
    assert store.work("w1")["result_json"] == {"run_ids": ["r1"]}
    assert store.month_usage("k1") == (4, 0.25)
    assert store.month_usage("nobody") == (0, 0.0)
    store.save_run(make_record("20250301-120000-aaaa"), [])
    store.own_run("20250301-120000-aaaa", "k1", "w1")
    assert store.owned_run_ids("k1") == ["20250301-120000-aaaa"]
    assert store.run_owner("20250301-120000-aaaa") == "k1" and store.owned_run_ids("k2") == []
    store.add_webhook("wh1", "k1", url="http://127.0.0.1/h", events=["run.finished"], style="json")
    assert [w["webhook_id"] for w in store.webhooks("k1")] == ["wh1"]
    assert not store.disable_webhook("wh1", "k2") and store.disable_webhook("wh1", "k1")
    assert store.webhooks() == []
    store.log_delivery(
        delivery_id="d1", attempt=1, webhook_id="wh1", event="run.finished", status="delivered"
    )
    assert [d["status"] for d in store.deliveries("wh1")] == ["delivered"]
    assert store.revoke_api_key("alice")["key_id"] == "k1"
    assert store.api_key("k1")["revoked"] is not None
