"""The REST API against a real server on 127.0.0.1 and a real worker process.

One server and one worker serve the whole module; each test uses its own keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.service_support import ROOT, ApiServer, Receiver, WorkerProcess, finished, wait_for
from timepoint.cli import main
from timepoint.report.pdf import run_pdf
from timepoint.service.app import create_app
from timepoint.service.keys import create_key
from timepoint.service.webhooks import HEADER, verify
from timepoint.settings import Settings
from timepoint.store import Store, open_store
from timepoint.world.record import RunRecord

RUN = {
    "scenario": "showcase/jefferson_dinner.yaml",
    "overrides": {"timepoints.count": 2},
    "seed": 3,
}

BATCH = {k: v for k, v in RUN.items() if k != "seed"}


class Service:
    def __init__(self, home: Path, store: Store, url: str):
        self.home = home
        self.store = store
        self.url = url
        self.webhook_secret = ""

    def client(self, key: str | None = None, **limits: object) -> httpx.Client:
        """A client with a new key (``limits`` as for ``create_key``), or with ``key``."""
        if key is None:
            key = create_key(self.store, "test", **limits)  # type: ignore[arg-type]
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    home = tmp_path_factory.mktemp("service") / "runs"
    store = open_store(home=home)
    app = create_app(
        store, Settings(home=home), library=ROOT / "scenarios", questions=ROOT / "questions"
    )
    with ApiServer(app) as server, WorkerProcess(home, "--lease", "5"):
        yield Service(home, store, server.url)
    store.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture(scope="module")
def finished_run(service: Service, receiver: Receiver) -> tuple[str, dict]:
    """A key and the completed run it asked for, with a webhook told when runs finish."""
    key = create_key(service.store, "alice")
    with service.client(key) as client:
        hook = client.post("/webhooks", json={"url": receiver.url, "events": ["run.finished"]})
        assert hook.status_code == 201, hook.text
        service.webhook_secret = hook.json()["secret"]
        accepted = client.post("/runs", json=RUN)
        assert accepted.status_code == 202, accepted.text
        view = finished(client, accepted.json()["id"])
    return key, view


def test_health_and_readiness_need_no_key(service: Service) -> None:
    with service.client("") as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["schema_version"] == service.store.version


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (None, "needs an API key"),
        ("Basic abc", "must be 'Bearer <key>'"),
        ("Bearer tp_000000000000_wrong", "unknown API key"),
    ],
)
def test_a_request_without_a_valid_key_is_a_401_problem(service, header, fragment) -> None:
    headers = {"Authorization": header} if header else {}
    answer = httpx.get(f"{service.url}/runs", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == "Bearer"
    body = answer.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized" and body["instance"] == "/runs"
    assert fragment in body["detail"]


def test_a_revoked_key_is_refused(service: Service) -> None:
    key = create_key(service.store, "leaving")
    with service.client(key) as client:
        assert client.get("/runs").status_code == 200
        service.store.revoke_api_key(key.split("_")[1])
        answer = client.get("/runs")
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_a_run_is_queued_done_by_the_worker_and_served(service, finished_run) -> None:
    key, view = finished_run
    assert view["status"] == "completed", view
    assert view["kind"] == "run" and view["progress"] == {"done": 1, "total": 1}
    run_id = view["run_id"]
    with service.client(key) as client:
        by_run = client.get(f"/runs/{run_id[:14]}").json()
        record = client.get(f"/runs/{run_id}/record").json()
        markdown = client.get(f"/runs/{view['id']}/narrative", params={"format": "md"})
        as_json = client.get(f"/runs/{run_id}/narrative", params={"format": "json"})
        pdf = client.get(f"/runs/{run_id}/narrative", params={"format": "pdf", "detail": "minimal"})
        listed = client.get("/runs", params={"scenario": "jefferson_dinner", "status": "completed"})
        other = client.get("/runs", params={"scenario": "board_meeting"})
    assert by_run["run_id"] == run_id and by_run["status"] == "completed"
    assert by_run["seed"] == 3 and by_run["timepoints"] == 2
    assert record["run_id"] == run_id and len(record["timepoints"]) == 2
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "Compromise Dinner" in markdown.text
    assert json.loads(as_json.text)["run_id"] == run_id
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf.content == run_pdf(RunRecord.model_validate(record), "minimal"), (
        "the API's PDF is not the run folder's and the site's"
    )
    assert [r["run_id"] for r in listed.json()] == [run_id]
    assert other.json() == []
    assert service.store.load_run(run_id).status == "completed"


def test_a_key_sees_only_its_own_runs(service, finished_run) -> None:
    _, view = finished_run
    with service.client() as bob:
        for path in (
            f"/runs/{view['run_id']}",
            f"/runs/{view['id']}",
            f"/runs/{view['run_id']}/record",
            f"/runs/{view['run_id']}/narrative",
            f"/work/{view['id']}",
        ):
            answer = bob.get(path)
            assert answer.status_code == 404, path
            for ident in (view["run_id"], view["id"]):
                path = path.replace(ident, "nothing-here")
            unknown = bob.get(path).json()
            assert (
                answer.json()["detail"]
                .replace(view["run_id"], "nothing-here")
                .replace(view["id"], "nothing-here")
                == unknown["detail"]
            ), "the same answer as for a run that does not exist"
        asked = bob.post(f"/runs/{view['run_id']}/ask", json={"question": "Who came?"})
        assert asked.status_code == 404
        assert bob.get("/runs").json() == []


def test_ask_and_branch_run_on_the_worker(service, finished_run) -> None:
    key, view = finished_run
    with service.client(key) as client:
        asked = client.post(
            f"/runs/{view['run_id']}/ask", json={"question": "What did Madison know at tp_001?"}
        )
        branched = client.post(
            f"/runs/{view['run_id']}/branch", json={"at": "tp_001", "remove": "hamilton"}
        )
        assert asked.status_code == branched.status_code == 202
        answer = finished(client, asked.json()["id"])
        branch = finished(client, branched.json()["id"])
        new_run = client.get(f"/runs/{branch['run_id']}/record").json()
        listed = {r["run_id"] for r in client.get("/runs").json()}
    assert answer["status"] == "completed" and answer["result"]["text"]
    assert answer["result"]["question"] == "What did Madison know at tp_001?"
    assert branch["status"] == "completed", branch
    assert new_run["branch"]["parent_run"] == view["run_id"]
    assert listed == {view["run_id"], branch["run_id"]}


def test_a_bad_scenario_gets_the_lines_timepoint_validate_prints(service, capsys) -> None:
    bad = "id: bad\ntitle: Bad\nentities:\n  count: -3\n  initial_resolution: hi\n"
    with service.client(monthly_runs=0) as client:
        answer = client.post("/runs", json={"scenario_yaml": bad})
        library = client.post(
            "/runs",
            json={**RUN, "overrides": {"timepoints.count": 0, "entities.initial_resolution": "x"}},
        )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["title"] == "Invalid scenario"
    inline = next((service.home / "service" / "scenarios").glob("inline-*.yaml"))
    assert main(["validate", str(inline)]) == 2
    assert problem["errors"] == capsys.readouterr().out.splitlines()
    assert len(problem["errors"]) == 3
    assert any("entities.initial_resolution: 'hi' is not one of" in e for e in problem["errors"])
    lines = library.json()["errors"]
    assert library.status_code == 422 and lines == [
        "--set: entities.initial_resolution: 'x' is not one of tensor_only, scene, graph, "
        "dialog, trained",
        "--set: timepoints.count: got 0; input should be greater than or equal to 1",
    ]


def test_request_shape_errors_are_problems_with_field_names(service) -> None:
    with service.client() as client:
        both = client.post("/runs", json={"scenario": "a.yaml", "scenario_yaml": "id: x"})
        unknown = client.post("/runs", json={"scenario": "nowhere/at_all.yaml"})
        escape = client.post("/runs", json={"scenario": "../pyproject.toml"})
        extra = client.post("/runs", json={**RUN, "sneaky": 1})
        extends = client.post("/runs", json={"scenario_yaml": "extends: /etc/passwd\nid: x\n"})
        profile = client.post(
            "/runs", json={**RUN, "overrides": {"entities.roster.0.profile": "/etc/passwd"}}
        )
    assert both.status_code == 422 and "exactly one of scenario" in both.json()["detail"]
    assert unknown.status_code == 422 and "no scenario 'nowhere/at_all.yaml'" in unknown.text
    assert escape.status_code == 422 and "outside the scenario library" in escape.text
    assert extends.status_code == 422 and "extends would read files" in extends.text
    assert profile.status_code == 422 and "may not set extends or profile" in profile.text
    assert extra.status_code == 422 and extra.json()["errors"] == [
        "sneaky: Extra inputs are not permitted"
    ]


def test_rate_limit_answers_429_with_retry_after(service: Service) -> None:
    with service.client(rate_per_minute=2) as client:
        statuses = [client.get("/runs") for _ in range(3)]
    assert [a.status_code for a in statuses] == [200, 200, 429]
    refused = statuses[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["title"] == "Too many requests"


def test_monthly_quotas_refuse_with_a_clear_body(service: Service) -> None:
    with service.client(monthly_runs=1) as client:
        first = client.post("/runs", json=RUN)
        assert first.status_code == 202
        client.post(f"/batches/{first.json()['id']}/cancel")
        second = client.post("/batches", json={**BATCH, "grid": {"seed": [1, 2]}})
    with service.client(monthly_usd=0.0) as broke:
        no_money = broke.post("/runs", json=RUN)
    assert second.status_code == 402
    body = second.json()
    assert body["title"] == "Monthly quota exceeded"
    assert body["detail"].startswith("key ") and body["detail"].endswith(
        "may start 1 runs a month; it has started 1 this month and this request needs 2. "
        "The quota renews on the first of the month (UTC)."
    )
    assert no_money.status_code == 402 and "0.00 USD a month" in no_money.json()["detail"]


def test_committed_openapi_matches_the_live_app(service: Service) -> None:
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    live = httpx.get(f"{service.url}/openapi.json").json()
    assert live == committed, "regenerate with: python -m timepoint.service.openapi"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
SCHEMA = json.loads((ROOT / "docs" / "openapi.json").read_text())
#: every operation of the committed schema, and every field name its bodies know
OPERATIONS = sorted(
    (method, path)
    for path, operations in SCHEMA["paths"].items()
    for method in operations
    if path != "/openapi.json"
)
FIELDS = st.sampled_from(
    sorted(
        {
            name
            for component in SCHEMA["components"]["schemas"].values()
            for name in component.get("properties", {})
        }
    )
)


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    operation=st.sampled_from(OPERATIONS),
    ident=st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s and s not in (".", "..")),
    body=st.dictionaries(FIELDS, JSON, max_size=4) | JSON,
    query=st.dictionaries(
        st.sampled_from(["since", "until", "min_cost", "limit", "format", "status", "text"]),
        st.text(max_size=10),
        max_size=3,
    ),
)
def test_fuzzed_requests_never_get_a_5xx(service, fuzz_client, operation, ident, body, query):
    method, path = operation
    url = re.sub(r"\{[a-z_]+\}", quote(ident, safe=""), path)
    if method in ("post", "put", "patch"):
        answer = fuzz_client.request(method, url, json=body, params=query)
    else:
        answer = fuzz_client.request(method, url, params=query)
    assert answer.status_code < 500, (url, body, query, answer.text)
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.fixture(scope="module")
def fuzz_client(service: Service) -> Iterator[httpx.Client]:
    with service.client(monthly_runs=0, rate_per_minute=100_000) as client:
        yield client


def test_a_webhook_registered_through_the_api_hears_of_the_finished_run(
    service, finished_run, receiver
) -> None:
    key, view = finished_run
    headers, body = wait_for(lambda: receiver.posts and receiver.posts[0], what="the webhook")
    event = json.loads(body)
    assert event["event"] == "run.finished"
    assert event["data"]["id"] == view["id"] and event["data"]["run_id"] == view["run_id"]
    assert verify(service.webhook_secret, body, headers[HEADER.lower()])
    with service.client(key) as client:
        listed = client.get("/webhooks").json()
    assert [h["url"] for h in listed] == [receiver.url] and "secret" not in listed[0]
    log = service.store.deliveries(listed[0]["id"])
    assert log and all(d["status"] == "delivered" and d["http_status"] == 200 for d in log)


def test_no_api_key_or_webhook_secret_in_any_file_log_record_or_response(
    service, finished_run, receiver
) -> None:
    key, view = finished_run
    wait_for(lambda: receiver.posts, what="the webhook")
    secrets = [key, key.split("_", 2)[2], service.webhook_secret]
    with service.client(key) as client:
        answers = [
            client.get(path).text
            for path in (
                "/runs",
                f"/runs/{view['id']}",
                f"/runs/{view['run_id']}",
                f"/runs/{view['run_id']}/record",
                f"/runs/{view['run_id']}/narrative",
                "/webhooks",
                "/openapi.json",
            )
        ]
        answers.append(client.get("/runs/nothing-here").text)
    answers += [json.dumps(row, default=str) for row in service.store.api_keys()]
    for secret in secrets:
        for text in answers:
            assert secret not in text
        for path in service.home.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret[:6]}… in {path}"
        for _, body in receiver.posts:
            assert secret.encode() not in body


def test_cancelling_a_running_batch_stops_it(service: Service) -> None:
    many = {**BATCH, "overrides": {"timepoints.count": 1}, "grid": {"seed": list(range(100))}}
    with service.client() as client:
        batch = client.post("/batches", json={**many, "workers": 1}).json()["id"]
        wait_for(
            lambda: client.get(f"/batches/{batch}").json()["progress"]["done"] >= 1,
            timeout=60,
            what="the first job",
        )
        listed = wait_for(lambda: client.get("/runs").json(), timeout=10, what="a run mid-batch")
        asked = client.post(f"/batches/{batch}/cancel")
        done = finished(client, batch, timeout=60)
    assert asked.status_code == 200
    assert done["status"] == "cancelled" and done["progress"]["done"] < 100
    assert service.store.batch(batch)["status"] == "cancelled"
    job_runs = {job["run_id"] for job in service.store.jobs(batch)}
    assert listed and {r["run_id"] for r in listed} <= job_runs, "runs listed as jobs finish"


def test_a_forecast_is_made_by_an_ensemble_on_the_worker(service: Service) -> None:
    asked = {"question_set": "library.yaml", "question": "dinner-philadelphia", "runs": 1}
    with service.client() as client, service.client() as other:
        unknown = client.post("/forecasts", json={**asked, "question": "no-such-question"})
        accepted = client.post("/forecasts", json=asked)
        assert accepted.status_code == 202, accepted.text
        done = finished(client, accepted.json()["id"])
        listed = client.get("/forecasts", params={"question": "dinner-philadelphia"}).json()
        hidden = other.get("/forecasts").json()
        runs = client.get("/runs").json()
    assert unknown.status_code == 422 and "no-such-question" in unknown.text
    assert done["status"] == "completed", done
    result = done["result"]
    assert result["question_id"] == "dinner-philadelphia" and result["runs"] == 1
    assert 0 <= result["lower"] <= result["probability"] <= result["upper"] <= 1
    assert [f["forecast_id"] for f in listed] == [result["forecast_id"]]
    assert hidden == []
    assert [r["run_id"] for r in runs] == result["run_ids"]
