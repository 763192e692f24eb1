"""Charts as a browser draws them: no two texts of an SVG chart overlap in Chromium.

Matplotlib's own bounding boxes (tests/test_plots.py) use matplotlib's font metrics;
here the SVG is written with real ``<text>`` elements, laid out by Chromium with the
browser's fonts, and every pair of text boxes is compared in the page itself.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from conftest_results import build_results  # noqa: E402
from matplotlib import rc_context  # noqa: E402

from simulator.present import plots  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars"]

# After load: the box of every <text> element, and every overlapping pair, into the DOM.
_PROBE = """<script>
window.addEventListener('load', () => {
  const boxes = [...document.querySelectorAll('svg text')]
    .map(t => [t.textContent.trim(), t.getBoundingClientRect()])
    .filter(([s, r]) => s && r.width > 0 && r.height > 0);
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, p] = boxes[i], [b, q] = boxes[j];
      // 0.5 px of slack: touching glyph boxes are not an overlap a reader sees
      if (p.left < q.right - 0.5 && q.left < p.right - 0.5 &&
          p.top < q.bottom - 0.5 && q.top < p.bottom - 0.5) overlaps.push([a, b]);
    }
  }
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({texts: boxes.map(b => b[0]), overlaps});
  document.body.appendChild(pre);
});
</script>"""

# Campaigns on two SKUs with the same dates, a nested one, adjacent disruptions.
CALENDAR = [
    {"kind": "campaign", "start_day": 20, "end_day": 27, "label": "black friday ×3 (GREEN-100G)"},
    {"kind": "campaign", "start_day": 20, "end_day": 27,
     "label": "black friday ×3 (OOLONG-100G)"},
    {"kind": "campaign", "start_day": 22, "end_day": 24, "label": "flash sale ×2 (GREEN-100G)"},
    {"kind": "port_closure", "start_day": 8, "end_day": 12, "label": "typhoon"},
    {"kind": "port_closure", "start_day": 12, "end_day": 15, "label": "customs backlog"},
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return build_results(tmp_path_factory.mktemp("browser") / "run", replications=20,
                         calendar=CALENDAR)


def _browser_texts(svg: str, tmp_path, name: str) -> dict:
    page = tmp_path / f"{name}.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>{_PROBE}</head>"
                    f"<body style='margin:0'>{svg}</body></html>", encoding="utf-8")
    done = subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={tmp_path / f'p-{name}'}",
                           "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=90, check=False)
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, done.stderr[-2000:]
    raw = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return json.loads(raw.replace("&amp;", "&"))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                    "chromium)")
@pytest.mark.parametrize(("style", "chart"), [("default", "cash_over_time"),
                                              ("default", "inventory"),
                                              ("default", "tradeoff"),
                                              ("slides", "inventory"),
                                              ("slides", "cash_over_time"),
                                              ("slides", "tradeoff")])
def test_no_two_chart_texts_overlap_in_chromium(folder, tmp_path, style, chart):
    figures = dict(plots.draw_figures(folder, style))
    svg_path = tmp_path / f"{chart}.svg"
    # Real <text> elements (the shipped SVGs draw glyphs as paths) so the browser lays
    # out the words itself.
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "test"}):
        figures[chart].savefig(svg_path, format="svg")
    svg = svg_path.read_text(encoding="utf-8")
    svg = svg[svg.index("<svg"):]
    result = _browser_texts(svg, tmp_path, f"{style}-{chart}")
    assert len(result["texts"]) >= 10, result["texts"]
    assert result["overlaps"] == [], result["overlaps"]
    if chart in ("cash_over_time", "inventory") and style == "default":
        assert "black friday ×3 (GREEN-100G, OOLONG-100G)" in result["texts"]
