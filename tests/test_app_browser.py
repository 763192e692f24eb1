"""The classroom app in a real browser: Playwright driving Debian's chromium.

``supplysim app`` is started on a free local port in a subprocess. Skipped when the
``app`` extra or ``/usr/bin/chromium`` is missing. Screenshots go to
``SUPPLYSIM_SCREENSHOTS`` when that variable names a folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("shiny")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from shiny.playwright import controller  # noqa: E402

from simulator.data.scenario import Scenario  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = os.environ.get("SUPPLYSIM_SCREENSHOTS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from simulator.cli import main; main()", "app", "classroom",
         "--port", str(port), "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the app did not start: {proc.stdout.read()}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_explorer_slider_updates_charts_table_and_download(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1500, "height": 1200})
    page.goto(server)
    page.wait_for_selector("#summary table", timeout=60_000)
    page.wait_for_selector("#tradeoff img")
    table0 = page.inner_text("#summary")
    img0 = page.get_attribute("#tradeoff img", "src")
    assert "JIT (baseline)" in table0 and "Safety stock" in table0

    started = time.monotonic()
    controller.InputSlider(page, "lead_mean").set("14")
    sync_api.expect(page.locator("#reading")).to_contain_text("lead-time mean doubled",
                                                               timeout=30_000)
    page.wait_for_function(
        "(old) => document.querySelector('#summary').innerText !== old", arg=table0)
    took = time.monotonic() - started
    assert page.get_attribute("#tradeoff img", "src") != img0  # the chart was redrawn
    assert page.inner_text("#summary") != table0
    assert "200 replications" in page.inner_text("#status")
    print(f"slider -> charts and table: {took:.2f} s")
    time.sleep(0.5)
    _shot(page, "explorer")

    with page.expect_download() as dl:
        page.click("#download_yaml")
    path = tmp_path / "setup.yaml"
    dl.value.save_as(path)
    scn = Scenario.from_yaml(path)  # what `supplysim run` reads
    assert scn.suppliers["wholesaler"].lead_time.mean == 14 and scn.replications == 200
    page.close()


def test_challenge_two_students_and_the_leaderboard(server, browser):
    teacher = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
    teacher.goto(server)
    teacher.click("a[data-value='challenge']")
    controller.InputNumeric(teacher, "round_replications").set("100")
    teacher.click("#round_open")
    code = teacher.locator("#join-code").inner_text(timeout=30_000).strip()
    assert len(code) == 4
    sync_api.expect(teacher.locator("#leaderboard")).to_contain_text("hybrid (built-in)",
                                                                     timeout=60_000)
    for name, s, big_s in (("Ann", "180", "500"), ("Bob", "150", "300")):
        student = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        student.goto(f"{server}?join={code}")
        sync_api.expect(student.locator("#join_round")).to_contain_text(f"Round {code}",
                                                                        timeout=30_000)
        student.fill("#join_name", name)
        student.fill("#param_s", s)
        student.fill("#param_S", big_s)
        student.fill("#param_review_every_days", "1")
        student.click("#join_submit")
        sync_api.expect(student.locator("#join_message")).to_contain_text(f"Submitted as {name}")
        student.close()
    # a silly submission gets a message in the page, not a crash
    silly = browser.new_context().new_page()
    silly.goto(f"{server}?join={code}")
    sync_api.expect(silly.locator("#join_round")).to_contain_text(f"Round {code}")
    silly.fill("#join_name", "Cy")
    silly.fill("#param_s", "900")
    silly.fill("#param_S", "100")
    silly.fill("#param_review_every_days", "1")
    silly.click("#join_submit")
    sync_api.expect(silly.locator("#join_message")).to_contain_text("s: must be below S")
    silly.close()

    board = teacher.locator("#leaderboard")
    for name in ("Ann", "Bob"):
        sync_api.expect(board).to_contain_text(name, timeout=60_000)
    rows = board.locator("tbody tr")
    assert rows.count() == 5  # three built-in policies and two students
    text = board.inner_text()
    assert "leader" in text and "meets" in text
    _shot(teacher, "leaderboard")
    teacher.click("a[data-value='Debrief']")
    teacher.wait_for_selector("#frontier img", timeout=30_000)
    _shot(teacher, "debrief")
