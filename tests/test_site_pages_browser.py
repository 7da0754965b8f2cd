"""Every page type of the site in headless Chromium at 1400×1000: live charts drawn by the
bundled vega-embed (first chart visible without scrolling; on a tutorial page, below its
introduction and code, once scrolled to), no console error, no request off
localhost, the site search, filters kept in the URL, the call viewer, and pages opened from
``file://``. Screenshots of each page type go to ``$TIMEPOINT_SCREENSHOTS`` (default: the
test's temporary folder); ``docs/screenshots/`` holds a committed set.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
import yaml

import timepoint as tp
from timepoint.calibrate import forecast_many, load_questions
from timepoint.calibrate.resolve import resolve
from timepoint.calibrate.site import calibration_pages
from timepoint.report.freeze import Tutorials
from timepoint.report.serve import serve_site
from timepoint.report.site import build_site
from timepoint.settings import Settings
from timepoint.store import open_store

from .conftest import JEFFERSON, ROOT, SCENARIOS
from .test_site_browser import CHROMIUM, DevTools

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
    ),
]

LOCAL = {"127.0.0.1", "localhost", "data", "file"}
FIRST_CHART = """(() => {
  const chart = document.querySelector('.tp-chart');
  if (!chart) { return null; }
  const box = chart.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, height: box.height,
          live: chart.querySelectorAll('.tp-live svg').length};
})()"""
SCROLL_TO_CHART = "document.querySelector('.tp-chart').scrollIntoView({block: 'center'})"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site with two forward runs, a branching run (paths page), a batch, costs, the
    repository's tutorials (from their frozen copies) and a forecast question set."""
    root = tmp_path_factory.mktemp("pages")
    settings = Settings(home=root / "runs")
    first = tp.run(JEFFERSON, settings=settings)
    other = tp.run(JEFFERSON, settings=settings, seed=11, overrides={"id": "jefferson_variant"})
    branching = tp.run(SCENARIOS / "showcase" / "vc_pitch_branching.yaml", settings=settings)
    batch = tp.run_batch(
        tp.expand_grid(JEFFERSON, {"seed": [5]}),
        parallel_workers=1,
        settings=settings,
        progress=False,
    )
    questions = root / "dinner.yaml"
    asked = {"scenario": str(JEFFERSON), "overrides": {"timepoints.count": 2}}
    questions.write_text(
        yaml.safe_dump(
            {
                "questions": [
                    {
                        **asked,
                        "id": "dinner-capital",
                        "question": "Does the capital come up?",
                        "outcome": {"kind": "event", "pattern": "capital"},
                        "resolution": "yes",
                        "market_probability": 0.7,
                    },
                    {
                        **asked,
                        "id": "dinner-debt",
                        "question": "Is the debt settled by the end?",
                        "outcome": {"kind": "judge"},
                        "resolution": "no",
                    },
                ]
            }
        )
    )
    loaded = load_questions(questions)
    forecast_many(loaded.questions, n=3, settings=settings)
    resolve(loaded, open_store(settings.db_url, home=settings.home))
    folder = build_site(
        settings=settings,
        renderer="nbconvert",
        out=root / "_site",
        tutorials=Tutorials.of(ROOT),
        extra=calibration_pages(settings),
    )
    server = serve_site(folder, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield {
        "base": f"http://{host}:{port}",
        "folder": folder,
        "first": first,
        "other": other,
        "branching": branching,
        "batch": batch,
    }
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def browser(tmp_path):
    client = DevTools(tmp_path / "chromium-profile")
    client.call(
        "Emulation.setDeviceMetricsOverride",
        width=1400,
        height=1000,
        deviceScaleFactor=1,
        mobile=False,
    )
    yield client
    client.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("TIMEPOINT_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _settle(browser: DevTools, seconds: float = 5.0) -> None:
    """Wait until every chart on the page is drawn (or ``seconds`` pass)."""
    deadline = time.monotonic() + seconds
    expression = (
        "document.querySelectorAll('.tp-chart').length === "
        "document.querySelectorAll('.tp-chart.tp-drawn').length"
    )
    while time.monotonic() < deadline and not browser.evaluate(expression):
        time.sleep(0.1)


def _page_types(site: dict) -> dict[str, str]:
    first, branching, batch = site["first"], site["branching"], site["batch"]
    return {
        "index": "index.html",
        "run": f"runs/{first.run_id}.html",
        "branching_run": f"runs/{branching.run_id}.html",
        "paths": f"paths/{branching.run_id}.html",
        "batch": f"batches/{batch.batch_id}.html",
        "costs": "costs.html",
        "calls": f"runs/{first.run_id}/calls.html",
        "tutorials": "tutorials/index.html",
        "tutorial": "tutorials/01_fidelity_and_tokens.html",
        "calibration": "calibration/dinner.html",
    }


def test_every_page_type_draws_its_charts_first_offline(site, browser, shots):
    for name, page in _page_types(site).items():
        browser.open(f"{site['base']}/{page}")
        _settle(browser)
        assert browser.errors() == [], f"{page}: {browser.errors()}"
        assert browser.requested_hosts() <= LOCAL, f"{page}: {browser.requested_hosts()}"
        chart = browser.evaluate(FIRST_CHART)
        if name == "tutorial":  # its charts follow the introduction and the code
            browser.evaluate(SCROLL_TO_CHART)
            chart = browser.evaluate(FIRST_CHART)
            assert chart["top"] >= -1, f"{page}: {chart}"
        if name in ("index", "calls", "tutorials"):
            assert chart is None
        else:
            assert chart is not None and chart["live"] == 1, f"{page}: chart not drawn live"
            assert chart["height"] > 100 and chart["bottom"] <= 1000, f"{page}: {chart}"
        browser.screenshot(shots / f"{name}.png")
    browser.open(f"{site['base']}/{_page_types(site)['run']}")
    sizes = browser.evaluate(
        "Array.from(document.querySelectorAll('.tp-live svg text'))"
        ".map(t => parseFloat(getComputedStyle(t).fontSize))"
    )
    assert sizes and min(sizes) >= 11, f"chart labels of {min(sizes)} px"
    toc = browser.evaluate("Array.from(document.querySelectorAll('.tp-toc a')).map(a => a.text)")
    assert "Mechanisms" in toc and toc.count("Mechanisms") == 1


def test_a_run_page_works_from_file_urls(site, browser):
    page = site["folder"] / "runs" / f"{site['first'].run_id}.html"
    browser.open(page.as_uri())
    _settle(browser)
    assert browser.errors() == []
    assert browser.requested_hosts() <= {"file", "data"}
    assert browser.evaluate(FIRST_CHART)["live"] == 1


def test_site_search_finds_a_run_by_an_entity_name(site, browser):
    first = site["first"]
    name = first.record.entities[0].name
    browser.open(f"{site['base']}/costs.html")
    browser.evaluate(
        f"var q = document.getElementById('tp-site-search'); q.value = {json.dumps(name)};"
        "q.dispatchEvent(new Event('input'));"
    )
    found = browser.evaluate(
        "Array.from(document.querySelectorAll('#tp-site-results a')).map(a => a.href)"
    )
    assert any(href.endswith(f"/runs/{first.run_id}.html") for href in found), found
    browser.evaluate(
        "var q = document.getElementById('tp-site-search'); q.value = 'zzz no such thing';"
        "q.dispatchEvent(new Event('input'));"
    )
    assert browser.evaluate("document.getElementById('tp-site-results').innerText") == (
        "nothing found"
    )


def test_a_filtered_url_reproduces_the_filter(site, browser):
    base, other = site["base"], site["other"]
    browser.open(f"{base}/index.html")
    browser.evaluate(
        "var s = document.getElementById('tp-scenario'); s.value = 'jefferson_variant';"
        "s.dispatchEvent(new Event('change'));"
    )
    shared = browser.evaluate("window.location.href")
    assert shared.endswith("#scenario=jefferson_variant")
    browser.open(f"{base}/costs.html")
    browser.open(shared)
    visible = browser.evaluate(
        "Array.from(document.querySelectorAll('#tp-runs tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.dataset.run)"
    )
    assert visible == [other.run_id]
    assert browser.evaluate("document.getElementById('tp-scenario').value") == ("jefferson_variant")


def test_the_call_viewer_lists_and_filters_a_runs_calls(site, browser):
    first = site["first"]
    calls = first.record.usage.calls
    run_page = f"{site['base']}/runs/{first.run_id}.html"
    browser.open(run_page)
    link = browser.evaluate(
        "Array.from(document.querySelectorAll('a')).find(a => a.text.startsWith('LLM calls')).href"
    )
    browser.open(link)
    rows = "Array.from(document.querySelectorAll('#tp-calls tr.tp-call')).filter(r => !r.hidden)"
    assert browser.evaluate(f"{rows}.length") == calls
    actions = browser.evaluate(f"{rows}.map(r => r.dataset.action)")
    chosen = actions[0]
    browser.open(run_page)
    browser.open(f"{link}#action={chosen}")
    assert browser.evaluate(f"{rows}.map(r => r.dataset.action)") == [
        a for a in actions if a == chosen
    ]
    assert browser.evaluate("document.getElementById('tp-call-count').textContent") == (
        f"{actions.count(chosen)} of {calls} calls"
    )
    prompt = "document.querySelector('#tp-calls tr:not([hidden]) pre.tp-call-prompt').textContent"
    assert browser.evaluate(prompt).startswith("[system]\n"), "each call shows its prompt"
    browser.open(run_page)
    dialog = first.record.dialogs[0]
    dialog_link = browser.evaluate(
        "Array.from(document.querySelectorAll('a'))"
        ".find(a => a.text === 'LLM calls of this dialog').href"
    )
    assert dialog_link.endswith(f"/calls.html#subject={dialog.id}")
    browser.open(dialog_link)
    assert set(browser.evaluate(f"{rows}.map(r => r.dataset.subject)")) == {dialog.id}
    assert browser.evaluate("document.getElementById('tp-call-subject').value") == dialog.id
    assert browser.errors() == []


def test_dark_mode_follows_the_system_setting(site, browser, shots):
    browser.call(
        "Emulation.setEmulatedMedia",
        features=[{"name": "prefers-color-scheme", "value": "dark"}],
    )
    browser.open(f"{site['base']}/{_page_types(site)['run']}")
    _settle(browser)
    background = browser.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    assert browser.evaluate(FIRST_CHART)["live"] == 1 and browser.errors() == []
    browser.screenshot(shots / "run_dark.png")
