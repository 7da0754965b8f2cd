"""The MCP server through the SDK's own client: on stdio (a `timepoint mcp` process) and on
streamable HTTP with bearer keys (served on 127.0.0.1). One worker process does the work."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.service_support import ROOT, ApiServer, WorkerProcess, free_port, service_env
from timepoint.service.keys import create_key
from timepoint.service.limits import RateLimiter
from timepoint.service.mcp_server import bearer_identity, build_mcp
from timepoint.service.requests import ScenarioLibrary
from timepoint.service.work import Service
from timepoint.settings import Settings
from timepoint.store import open_store

TOOLS = {"simulate", "get_run", "list_runs", "ask", "branch", "compare", "forecast"}
SIMULATE = {
    "scenario": "showcase/jefferson_dinner.yaml",
    "overrides": {"timepoints.count": 2},
    "seed": 5,
    "wait_s": 90,
}


class Setup:
    def __init__(self, home: Path, key: str, other: str, url: str):
        self.home = home
        self.key = key
        self.other = other
        self.url = url
        self.run_id = ""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    home = tmp_path_factory.mktemp("mcp") / "runs"
    store = open_store(home=home)
    key = create_key(store, "mcp")
    other = create_key(store, "other")
    settings = Settings(home=home)
    library = ScenarioLibrary(ROOT / "scenarios", home / "service" / "scenarios", settings)
    service = Service(store, library, RateLimiter(store))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = build_mcp(service, bearer_identity(service), auth_url=url).streamable_http_app()
    with ApiServer(app, port=port), WorkerProcess(home, "--lease", "5"):
        yield Setup(home, key, other, url)
    store.close()


def data(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content) if set(content) == {"result"} else content
    return json.loads(result.content[0].text)


@asynccontextmanager
async def http_client(setup: Setup, key: str) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
        transport = streamable_http_client(f"{setup.url}/mcp", http_client=http)
        async with Client(transport) as client:
            yield client


def test_stdio_simulates_and_serves_the_narrative(setup: Setup) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "timepoint.cli", "mcp", "--workers", "0", "--library", str(ROOT / "scenarios")],
        env=service_env(setup.home, TIMEPOINT_API_KEY=setup.key),
        cwd=str(ROOT),
    )
    progress: list[float] = []

    async def session() -> tuple[set[str], dict, str, list]:
        async with Client(params) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            run = data(
                await client.call_tool(
                    "simulate",
                    SIMULATE,
                    progress_callback=lambda done, total, message: progress.append(done),
                )
            )
            narrative = await client.read_resource(f"timepoint://runs/{run['run_id']}/narrative")
            listed = data(await client.call_tool("list_runs", {"scenario": "jefferson_dinner"}))
        return tools, run, narrative.contents[0].text, listed

    tools, run, narrative, listed = anyio.run(session)
    assert tools >= TOOLS
    assert run["status"] == "completed" and run["run_id"] and run["summary"]
    assert "Compromise Dinner" in narrative
    assert progress and progress[-1] == 1, "a long run reports its progress"
    assert [r["run_id"] for r in listed] == [run["run_id"]]
    setup.run_id = run["run_id"]


def test_streamable_http_needs_a_bearer_key(setup: Setup) -> None:
    answer = httpx.post(
        f"{setup.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream"},
    )
    wrong = httpx.post(
        f"{setup.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": "Bearer tp_000000000000_nope"},
    )
    assert answer.status_code == wrong.status_code == 401


def test_streamable_http_runs_the_tools_for_the_key_s_own_runs(setup: Setup) -> None:
    run_id = setup.run_id
    assert run_id, "runs after the stdio test, on its run"

    async def session() -> tuple[Any, ...]:
        async with http_client(setup, setup.key) as client:
            got = data(await client.call_tool("get_run", {"run": run_id[:14]}))
            asked = data(
                await client.call_tool(
                    "ask", {"run": run_id, "question": "What did Madison know at tp_001?"}
                )
            )
            branched = data(
                await client.call_tool(
                    "branch", {"run": run_id, "at": "tp_001", "remove": "hamilton"}
                )
            )
            compared = data(
                await client.call_tool("compare", {"run_a": run_id, "run_b": branched["run_id"]})
            )
        async with http_client(setup, setup.other) as other:
            hidden = await other.call_tool("get_run", {"run": run_id})
            theirs = data(await other.call_tool("list_runs", {}))
        return got, asked, branched, compared, hidden, theirs

    got, asked, branched, compared, hidden, theirs = anyio.run(session)
    assert got["run_id"] == run_id and got["status"] == "completed"
    assert asked["status"] == "completed" and asked["result"]["text"]
    assert branched["status"] == "completed" and branched["run_id"] != run_id
    assert compared["a"] == run_id and compared["b"] == branched["run_id"]
    assert compared["comparison"] and "timepoints" in compared["fields"]
    assert hidden.is_error and "no run or work" in hidden.content[0].text
    assert theirs == []
