"""The report in headless Chromium: tables render, colours agree across runs, print and PDF.

Each test loads a *copy* of a report with a small probe script (the shipped page has a
CSP that forbids scripts; the copy widens it only to let the probe run) and reads what
the browser computed: which rows have a box, the colour of each policy's name. Skipped
when Chromium is not installed (.ci/run installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from conftest_results import build_results

from simulator.present import report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(apt-get install chromium); .ci/run installs it")

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars"]

# After load: for each class/SKU table, its rows and whether each has a rendered box;
# the computed colour of every policy name; written into the DOM for --dump-dom.
_PROBE = """<script>
window.addEventListener('load', () => {
  const rows = sel => [...document.querySelectorAll(sel)].map(t =>
    [...t.tBodies[0].rows].map(r => [r.querySelector('th[scope=row]') ?
      r.querySelector('th[scope=row]').textContent.trim() : '', r.getBoundingClientRect().height]));
  const colors = {};
  document.querySelectorAll('span.policy').forEach(s => {
    (colors[s.dataset.policy] = colors[s.dataset.policy] || []).push(getComputedStyle(s).color);
  });
  const out = {byClass: rows('table.by-class'), bySku: rows('table.by-sku'), colors,
               width: document.documentElement.scrollWidth};
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _probe(page: str, tmp_path, name: str, print_media: bool = False) -> dict:
    """Load a probed copy of ``page`` in Chromium and return what the probe saw."""
    page = page.replace("style-src 'unsafe-inline'",
                        "style-src 'unsafe-inline'; script-src 'unsafe-inline'", 1)
    page = page.replace("<head>", "<head>" + _PROBE, 1)
    if print_media:  # apply the print stylesheet on screen, as printing would
        page = page.replace("@media print {", "@media all {", 1)
    copy = tmp_path / f"{name}.html"
    copy.write_text(page, encoding="utf-8")
    cmd = [CHROMIUM, *_FLAGS, f"--user-data-dir={tmp_path / f'profile-{name}'}",
           "--window-size=1280,2000", "--virtual-time-budget=10000", "--dump-dom",
           copy.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, done.stderr[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">"))


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    folder = build_results(tmp_path_factory.mktemp("browser") / "run", n_skus=4,
                           replications=12)
    return folder, report.build_report(folder).read_text(encoding="utf-8")


def test_class_and_sku_tables_render(catalogue, tmp_path):
    _, page = catalogue
    seen = _probe(page, tmp_path, "tables")
    (by_class,) = seen["byClass"]
    assert len(by_class) == 3 * 3  # classes A, B, C × policies
    assert all(height > 20 for _, height in by_class)  # mean, CI and spread lines
    service, money = seen["bySku"]
    for table in (service, money):
        assert [sku for sku, _ in table] == ["VITC-60", "OMEGA-90", "ZINC-30", "MAG-120"]
        assert all(height > 15 for _, height in table)


def test_collapsed_sku_rows_hidden_on_screen_and_printed(catalogue, tmp_path, monkeypatch):
    folder, _ = catalogue
    monkeypatch.setattr(report, "_SKU_ROWS_SHOWN", 3)
    page = report.build_report(folder).read_text(encoding="utf-8")
    screen = _probe(page, tmp_path, "screen")
    # two tables per kind: 3 rows shown, the 4th inside a closed <details>
    assert [len(t) for t in screen["bySku"]] == [3, 1, 3, 1]
    assert screen["bySku"][1][0][1] == 0 and screen["bySku"][3][0][1] == 0
    printed = _probe(page, tmp_path, "print", print_media=True)
    assert printed["bySku"][1][0][1] > 15 and printed["bySku"][3][0][1] > 15


def test_policy_colours_agree_across_runs_with_other_policy_orders(tmp_path):
    default = build_results(tmp_path / "a", replications=8)
    swapped = build_results(tmp_path / "b", replications=8, policies=("safety_stock", "jit"))
    a = _probe(report.build_report(default).read_text(encoding="utf-8"), tmp_path, "a")
    b = _probe(report.build_report(swapped).read_text(encoding="utf-8"), tmp_path, "b")
    for name in ("jit", "safety_stock"):
        assert len(set(a["colors"][name])) == 1 and len(set(b["colors"][name])) == 1
        assert a["colors"][name][0] == b["colors"][name][0], name
    assert a["colors"]["jit"][0] != a["colors"]["safety_stock"][0]
    assert a["colors"]["hybrid"][0] not in (a["colors"]["jit"][0],
                                            a["colors"]["safety_stock"][0])


def test_pdf_is_written_whole(catalogue, tmp_path):
    folder, _ = catalogue
    pdf = report.write_pdf(folder)
    data = pdf.read_bytes()
    assert pdf == folder / "report.pdf" and data[:5] == b"%PDF-"
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 3  # several A4 pages
    assert not (folder / ".report.pdf.tmp").exists()
