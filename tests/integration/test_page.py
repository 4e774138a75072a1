"""The decision page in a real browser: Debian's chromium, driven by Playwright.

The page is built from a results document by ``write_report``, as ``kit local`` builds it;
the expected figures come from the grid the report wrote beside it (``grid.json``), not
from the page, so a control that shows the wrong study fails.
"""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path

import pytest

from kit.decide.recommend.answer import _money
from kit.decide.report import write_report
from kit.render.screenshot import FLAGS
from tests.helpers.results import doc, hostile_doc, setup

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Debian chromium; missing, the test fails and says how to install it."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: run `make browser` (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            viewport={"width": 1200, "height": 900},
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        yield context
        context.close()


def _open(browser, html: Path):
    """A new tab on the page, recording dialogs, console errors and page errors."""
    page = browser.new_page()
    events: list[str] = []
    page.on("dialog", lambda d: (events.append(f"dialog {d.message}"), d.dismiss()))
    page.on("console", lambda m: events.append(f"console {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: events.append(f"pageerror {e}"))
    page.goto(html.as_uri())
    return page, events


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report for a Lambda-only run whose 300 ms model cannot meet the strictest target."""
    out = tmp_path_factory.mktemp("report")
    d = doc(
        {"standard": setup()},
        {"standard": [300.0 + 5 * (i % 7) for i in range(40)]},
        {"standard": [900.0] * 5},
    )
    _, html = write_report(d, out)
    return html, json.loads((out / "grid.json").read_text())


def _level(study: dict, rpm: float) -> dict:
    return min(study["levels"], key=lambda lv: abs(math.log(lv["rpm"] / rpm)))


def _pick_title(level: dict) -> str:
    if level["pick_deployable"] is None:
        return "Nothing this kit deploys meets the target at this traffic."
    e = level["families"][level["pick_deployable"]]
    return f"{e['label']}: {_money(e['monthly'])} a month"


def test_the_page_opens_with_the_answer_and_its_controls_switch_studies(browser, report):
    html, grid = report
    page, events = _open(browser, html)
    default = grid["studies"][f"given|{grid['default']['p99_ms']:g}"]
    yours = next(lv for lv in default["levels"] if lv["scale"] == 1.0)
    answer = page.locator("#answer-text").inner_text()
    assert answer.split() == default["answer"].replace("**", "").split()
    assert page.locator("#pick-title").inner_text() == _pick_title(yours)

    # the strictest target: the pick at the same traffic comes from that study
    strict = min(grid["targets_ms"])
    page.select_option("#target", str(strict).removesuffix(".0"))
    study = grid["studies"][f"given|{strict:g}"]
    level = _level(study, yours["rpm"])
    assert page.locator("#pick-title").inner_text() == _pick_title(level)
    assert _pick_title(level) != _pick_title(yours)  # the fixture's model cannot meet it

    # the busiest level searched: answer and cost follow the slider
    top = len(study["levels"]) - 1
    page.locator("#level").fill(str(top))
    level = study["levels"][top]
    text = page.locator("#answer-text").inner_text()
    if level["pick"]:
        pick = level["families"][level["pick"]]
        assert pick["label"] in text and _money(pick["monthly"]) in text
    else:
        assert "no option meets the target" in text
    assert page.locator("#pick-title").inner_text() == _pick_title(level)
    rows = page.locator("#options-body tr").count()
    assert rows == len(level["families"])

    # the other shape at the loosest target, then a typed figure snaps to the nearest level
    loose = max(grid["targets_ms"])
    page.select_option("#target", str(loose).removesuffix(".0"))
    other = next(s["id"] for s in grid["shapes"] if s["id"] != "given")
    page.select_option("#shape", other)
    study = grid["studies"][f"{other}|{loose:g}"]
    page.select_option("#unit", "rpm")
    typed = study["levels"][2]["rpm"] * 1.1
    page.fill("#traffic-input", f"{typed:.6g}")
    page.click("#traffic-form button[type=submit]")
    level = study["levels"][2]
    assert page.locator("#pick-title").inner_text() == _pick_title(level)
    assert "Nearest level searched" in page.locator("#traffic-note").inner_text()
    assert (
        page.locator("#commands").inner_text().splitlines()
        == (level["families"][level["pick_deployable"]]["commands"])
    )
    page.click("#copy")
    page.wait_for_function("document.getElementById('copy').textContent === 'Copied'", timeout=5000)
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#commands").inner_text()
    # the plot: one line per family with a feasible point, crossovers and your traffic marked
    assert page.locator("#frontier path").count() >= 1
    assert page.locator("#frontier .you").count() == (
        1 if any(lv["scale"] == 1.0 for lv in study["levels"]) else 0
    )
    assert events == []


PAYLOADS = {
    "script": "<script>alert('script')</script>",
    "handler": "<img src=x onerror=\"alert('handler')\">",
    "link": "[click](javascript:alert('link'))",
    "svg": "<svg onload=alert('svg')></svg>",
    "end": "</script><script>alert('end')</script>",
    "image": "![secret](../outside.png) ![own](frontier.png?x)",
}


def test_a_hostile_results_file_and_trace_run_no_script_and_embed_nothing_outside(
    browser, tmp_path
):
    out = tmp_path / "report"
    out.mkdir()
    (tmp_path / "outside.png").write_bytes(b"\x89PNG secret outside the folder")
    # a trace whose file name is markup: it reaches the page's data (the restated shape);
    # "<!--<script>" would keep an unescaped data block open past its own </script>
    trace = tmp_path / f"<!--<script>{PAYLOADS['handler']}.csv"
    trace.write_text("timestamp\n" + "\n".join(str(60 * i) for i in range(2000)) + "\n")
    hostile = hostile_doc(
        labels=[PAYLOADS["script"], PAYLOADS["end"]],
        source=PAYLOADS["svg"],
        run={"note": PAYLOADS["image"], "link": PAYLOADS["link"]},
        host=PAYLOADS["handler"],
    )
    from kit.decide.demand import Demand

    quick = {"levels": (1.0, 3.0), "extend": False, "ci_reps": 2}  # what matters is the page
    _, html = write_report(hostile, out, demand=Demand(replay=trace), search=quick)
    page, events = _open(browser, html)
    assert page.locator("#shape option").count() == 2  # the page's own script ran
    for control in ("#shape", "#target"):  # render every study once
        for value in page.locator(f"{control} option").evaluate_all("os => os.map(o => o.value)"):
            page.select_option(control, value)
    page.locator("#level").fill("0")
    page.locator("details").evaluate_all("ds => ds.forEach(d => d.open = true)")
    assert events == []  # no alert, no blocked script, no error
    found = page.evaluate(
        """() => ({
        scripts: document.scripts.length,
        handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes]
            .some(a => a.name.startsWith('on'))).length,
        links: document.querySelectorAll('a, svg svg, iframe, object, embed').length,
        images: [...document.images].map(i => i.getAttribute('src')),
    })"""
    )
    assert found["scripts"] == 2  # the data block and the page's own script
    assert found["handlers"] == 0 and found["links"] == 0
    assert all(src == "" or src.startswith("data:image/png;base64,") for src in found["images"])
    text = page.locator("body").inner_text()
    assert "alert('script')" in text and "onerror" in text  # shown as text, never run
    source = html.read_text()
    secret = base64.b64encode((tmp_path / "outside.png").read_bytes()).decode()
    assert secret not in source
