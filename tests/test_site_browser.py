"""The built site in a real browser: headless Chromium driven over the DevTools protocol.

Chromium (Debian package ``chromium``; ``.ci/run`` installs it) is started by the test with a
throw-away profile and ``--remote-debugging-port=0``; the test reads the port Chromium chose
from ``DevToolsActivePort`` and talks to the page over a websocket (``websocket-client``). The
site is served by ``timepoint.report.serve_site`` on 127.0.0.1 with an ephemeral port. Skipped,
with the reason, when Chromium is not installed.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

import timepoint as tp
from timepoint.report.serve import serve_site
from timepoint.report.site import build_site

from .conftest import JEFFERSON
from .hostile import HOSTILE_TITLE, PAYLOADS, build_hostile_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

DEBUGGING = ("--remote-debugging-port=0",)
VISIBLE_ROWS = "Array.from(document.querySelectorAll('#tp-runs tbody tr')).filter(r => !r.hidden)"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
    ),
]


class DevTools:
    """A minimal DevTools-protocol client for one page target."""

    def __init__(self, profile: Path):
        import websocket

        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *DEBUGGING, "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
        )
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result; events that arrive meanwhile are kept."""
        call_id = next(self.ids)
        self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if event.get("method") == method:
                    return event
            seen = len(self.events)
            self.events.append(json.loads(self.socket.recv()))
        raise TimeoutError(method)

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        time.sleep(0.2)
        self.call("Runtime.evaluate", expression="1")  # drain events queued after load

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def errors(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(json.dumps(params.get("args"))[:300])
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
        return found

    def requested_hosts(self) -> set[str]:
        urls = [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        return {urlparse(u).hostname or urlparse(u).scheme for u in urls}

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def served_site(settings, tmp_path):
    first = tp.run(JEFFERSON, settings=settings)
    other = tp.run(JEFFERSON, settings=settings, seed=11, overrides={"id": "jefferson_variant"})
    site = build_site(settings=settings, out=tmp_path / "_site")
    server = serve_site(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}", first, other
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def browser(tmp_path):
    client = DevTools(tmp_path / "chromium-profile")
    yield client
    client.close()


def test_index_and_run_page_load_offline_and_the_filter_narrows(served_site, browser, tmp_path):
    base, first, other = served_site
    browser.open(f"{base}/index.html")
    assert browser.evaluate("document.querySelectorAll('#tp-runs tbody tr').length") == 2
    browser.evaluate(
        "var s = document.getElementById('tp-scenario'); s.value = 'jefferson_variant';"
        "s.dispatchEvent(new Event('change'));"
    )
    visible = browser.evaluate(f"{VISIBLE_ROWS}.map(r => r.dataset.run)")
    assert visible == [other.run_id]
    assert browser.evaluate("document.getElementById('tp-count').textContent") == "1 of 2 runs"
    browser.evaluate(
        "var q = document.getElementById('tp-search'); q.value = 'no such run';"
        "q.dispatchEvent(new Event('input'));"
    )
    assert browser.evaluate(f"{VISIBLE_ROWS}.length") == 0
    index_errors, index_hosts = browser.errors(), browser.requested_hosts()
    browser.open(f"{base}/runs/{first.run_id}.html")
    text = browser.evaluate("document.body.innerText")
    assert all(e.name in text for e in first.record.entities)
    assert browser.evaluate("document.querySelectorAll('img').length") >= 5
    shot = browser.screenshot(tmp_path / "run_page.png")
    assert shot.stat().st_size > 10_000
    assert index_errors == [] and browser.errors() == []
    assert index_hosts | browser.requested_hosts() <= {"127.0.0.1", "localhost", "data"}


PWNED = "window.__pwned === undefined ? null : window.__pwned"


@pytest.fixture(scope="module")
def served_hostile_site(tmp_path_factory):
    """The site built from the hostile scenario and model (``tests/hostile.py``), served."""
    site, first, second, batch = build_hostile_site(tmp_path_factory.mktemp("hostile"))
    server = serve_site(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}", site, first, second, batch
    server.shutdown()
    server.server_close()
    thread.join()


def test_hostile_scenario_and_model_output_run_nothing_on_any_page(served_hostile_site, browser):
    base, site, first, second, batch = served_hostile_site
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))
    assert {
        "index.html",
        "costs.html",
        f"runs/{first.run_id}.html",
        f"paths/{first.run_id}.html",
        f"paths/{first.run_id}_vs_{second.run_id}.html",
        f"batches/{batch.batch_id}.html",
    } <= set(pages)
    for page in pages:
        browser.open(f"{base}/{page}")
        assert browser.evaluate(PWNED) is None, f"a payload ran on {page}"
        assert (
            browser.evaluate("document.querySelectorAll('[onerror],[onload],iframe').length") == 0
        )
        assert browser.errors() == [], f"{page}: {browser.errors()}"
        assert browser.requested_hosts() <= {"127.0.0.1", "localhost", "data"}, page
        if page.startswith("runs/") and page.count("/") == 1:  # a run page
            text = browser.evaluate("document.body.innerText")
            assert PAYLOADS[0] in text and PAYLOADS[1] in text, "payloads are shown as text"
    browser.open(f"{base}/runs/{first.run_id}.html")
    assert browser.evaluate("document.title") == f"{HOSTILE_TITLE} · {first.run_id} · Timepoint"
    browser.open(f"{base}/index.html")
    browser.evaluate(
        f"var q = document.getElementById('tp-search'); q.value = {json.dumps(second.run_id)};"
        "q.dispatchEvent(new Event('input'));"
    )
    assert browser.evaluate(f"{VISIBLE_ROWS}.map(r => r.dataset.run)") == [second.run_id]
    assert browser.evaluate(PWNED) is None and browser.errors() == []


def test_the_policy_stops_script_that_got_into_a_page(served_site, browser, tmp_path):
    """Were a value ever written unescaped, the page's policy (its meta element, and the
    header from ``site serve``) would still keep it from running; the run browser works."""
    base, first, _ = served_site
    site = tmp_path / "_site"
    injected = (
        "<main><script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"
        "<a id=tp-js href='javascript:window.__pwned = 3'>x</a>"
    )
    run_page = site / "runs" / f"{first.run_id}.html"
    run_page.write_text(run_page.read_text().replace("<main>", injected, 1))
    index = site / "index.html"
    index.write_text(index.read_text().replace("<main>", injected, 1))
    meta = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')
    assert meta.search(index.read_text())
    (site / "bare.html").write_text(meta.sub("", index.read_text()))
    for url in (
        f"{base}/runs/{first.run_id}.html",
        f"{base}/index.html",
        f"{base}/bare.html",  # no meta element: the header alone
        index.as_uri(),  # from file://: the meta element alone
    ):
        browser.open(url)
        browser.evaluate("var a = document.getElementById('tp-js'); a && a.click();")
        time.sleep(0.3)
        browser.call("Runtime.evaluate", expression="1")
        assert browser.evaluate(PWNED) is None, url
        assert any("Content Security Policy" in e for e in browser.errors()), url
        if "runs/" not in url:
            browser.evaluate(
                "var s = document.getElementById('tp-scenario'); s.value = 'jefferson_variant';"
                "s.dispatchEvent(new Event('change'));"
            )
            count = browser.evaluate("document.getElementById('tp-count').textContent")
            assert count == "1 of 2 runs", f"the run browser's script did not run on {url}"
