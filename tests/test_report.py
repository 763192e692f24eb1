"""The HTML report: sections, self-containment, escaping, findings, and a real browser."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest
from conftest_results import METRICS, build_results

from simulator.present import plots, report

SECTIONS = ("scenario", "findings", "summary", "charts", "definitions", "reproducibility")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = build_results(tmp_path_factory.mktemp("rep") / "run", replications=40)
    path = report.build_report(folder)
    return folder, path, path.read_text(encoding="utf-8")


def _section(page: str, sid: str) -> str:
    match = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert match, f"section {sid} missing"
    return match.group(1)


def test_report_has_every_section_in_order(built):
    _, path, page = built
    assert path.name == "report.html"
    positions = [page.index(f'<section id="{sid}">') for sid in SECTIONS]
    assert positions == sorted(positions)
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>synthetic-catalogue</h1>" in page


def test_every_chart_embedded_as_png_data_uri(built):
    folder, _, page = built
    srcs = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert len(srcs) == len(plots.charts_for(json.loads((folder / "metadata.json").read_text())))
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    captions = re.findall(r"<figure id=\"fig-(\w+)\">.*?<figcaption>(.*?)</figcaption>", page,
                          re.S)
    assert [c[0] for c in captions] == plots.charts_for(
        json.loads((folder / "metadata.json").read_text()))
    assert all(len(c[1]) > 80 for c in captions)


def test_report_references_nothing_outside_itself(built):
    _, _, page = built
    without_data = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    for needle in ("http://", "https://", "file:", "<link", "<script", "@import", "url(",
                   "<iframe", "<object"):
        assert needle not in without_data.lower(), needle
    assert "default-src 'none'" in page  # the CSP forbids any fetch
    assert "@media print" in page and "break-inside: avoid" in page


def test_scenario_in_plain_words(built):
    _, _, page = built
    text = _section(page, "scenario")
    assert "60 days, from 2 Mar 2026 to 30 Apr 2026" in text
    assert "gamma(mean 6, sd 1.5) days" in text and "$30 per order" in text
    assert "Spring promotion" in text and "1 Apr 2026 – 8 Apr 2026 (days 30–37)" in text
    assert "Supplier outage" in text
    assert "backordered" in text
    assert "40" in text and "20261127" in text and "(baseline)" in text
    # policy descriptions come from the resolved scenario, escaped
    assert "buffers built ahead of known campaigns &amp; outages." in text


def test_findings_one_sentence_per_policy_from_differences(built):
    folder, _, page = built
    text = _section(page, "findings")
    items = re.findall(r'<li class="finding">(.*?)</li>', text, re.S)
    assert len(items) == 2
    d = pd.read_csv(folder / "differences.csv")
    row = d[(d.policy == "hybrid") & (d.sku == "ALL") & (d.metric == "cash_tied_up")].iloc[0]
    assert row.rel_ci_low > 0  # the synthetic hybrid holds more cash than jit
    expected = (f"ties up {row.rel_mean * 100:.0f} % more cash than")
    hybrid = next(i for i in items if ">hybrid<" in i.split("ties up")[0])
    assert expected in hybrid
    assert (f"[95 % CI {row.rel_ci_low * 100:.0f}–{row.rel_ci_high * 100:.0f} %]"
            in hybrid)
    assert "points higher" in hybrid and "in total" in hybrid
    s = pd.read_csv(folder / "summary.csv")
    cost = s[(s.sku == "ALL") & (s.metric == "total_cost")].set_index("policy")["mean"]
    assert f">{cost.idxmin()}</span> has the lowest mean total cost" in text


def test_phrase_handles_signs_and_zero_crossing():
    num = lambda v: f"{v:.0f}"  # noqa: E731
    assert report._phrase(38, 35, 41, num, " %", "more", "less") == (
        "38 % more", "[95 % CI 35–41 %]")
    assert report._phrase(-38, -41, -35, num, " %", "more", "less") == (
        "38 % less", "[95 % CI 35–41 %]")
    head, ci = report._phrase(-2, -5, 3, num, " %", "more", "less")
    assert head == "2 % less"
    assert ci.startswith("[95 % CI 5 % less to 3 % more") and "not distinguishable" in ci


def test_percentages_never_round_to_a_perfect_score():
    assert report._pct(0.95) == "95.0 %"
    assert report._pct(0.9995) == "99.95 %"
    assert report._pct(0.99996) == "> 99.99 %"
    assert report._pct(1.0) == "100.0 %"
    assert report._pct(0.00004) == "< 0.01 %"
    assert report._format(0.0, "money", "$", 0) == "$0"
    assert report._money(-1234.5, "EUR") == "−1,234 EUR"


def test_relative_phrase_falls_back_to_money_when_baseline_is_zero():
    row = pd.Series({"mean": 1234.0, "ci_low": 1000.0, "ci_high": 1500.0,
                     "rel_mean": float("nan"), "rel_ci_low": float("nan"),
                     "rel_ci_high": float("nan")})
    assert report._relative_phrase(row, "$") == ("$1,234 more", "[95 % CI $1,000–$1,500]")


def test_summary_table_rows_and_units(built):
    _, _, page = built
    text = _section(page, "summary")
    assert text.count('<tr><th scope="row">') >= 10
    assert "Fill rate (type 2)" in text and "Expediting" not in text  # all zero: hidden
    assert re.search(r"\d+\.\d %<small>\[\d+\.\d % – \d+\.\d %\]</small>", text)
    assert re.search(r"\$\d{1,3}(,\d{3})*<small>\[\$", text)
    assert "(baseline)" in text


def test_every_metric_has_a_definition(built):
    _, _, page = built
    assert set(METRICS) <= set(report.METRIC_DEFINITIONS)
    text = _section(page, "definitions")
    for metric in METRICS:
        assert f"<code>{metric}</code></th>" in text
    assert "type 2" in report.METRIC_DEFINITIONS["fill_rate"]


def test_reproducibility_block(built):
    folder, _, page = built
    text = _section(page, "reproducibility")
    meta = json.loads((folder / "metadata.json").read_text())
    assert f"<code>{meta['command']}</code>" in text
    assert meta["scenario_hash"] in text and "1.2 s" in text
    for name, version in meta["versions"].items():
        assert f"<td>{name}</td><td><code>{version}</code></td>" in text
    assert "horizon_days: 60" in text  # the resolved scenario


def test_scenario_text_is_escaped(tmp_path):
    evil = '<script>alert("x")</script> & <b>bold</b>'
    folder = build_results(tmp_path / "run", replications=8, description=evil, calendar=[
        {"kind": "campaign", "start_day": 5, "end_day": 9, "label": "<img src=x onerror=1>"}])
    meta = json.loads((folder / "metadata.json").read_text())
    meta["command"] = "supplysim run 'a<b>.yaml' && echo <script>"
    meta["suppliers"]["overseas"]["lead_time"] = "<i>gamma</i>"
    (folder / "metadata.json").write_text(json.dumps(meta))
    page = report.build_report(folder).read_text(encoding="utf-8")
    assert "<script" not in page and "<b>" not in page and "<i>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in page
    assert "&lt;img src=x onerror=1&gt;" in page
    assert "&amp;&amp; echo &lt;script&gt;" in page


def test_single_sku_lost_sale_report(tmp_path):
    folder = build_results(tmp_path / "run", n_skus=1, replications=8, unmet_demand="lost_sale")
    page = report.build_report(folder).read_text(encoding="utf-8")
    assert "fig-sku_heatmap" not in page and "fig-abc_classes" not in page
    assert "The SKU shown is VITC-60, in units." in page
    assert "is lost (lost sale)" in page
    assert "The catalogue has 1 SKU:" in page


def test_existing_figures_are_reused_and_missing_ones_drawn(tmp_path):
    folder = build_results(tmp_path / "run", replications=8)
    report.build_report(folder)
    figure = folder / "figures" / "tradeoff.png"
    stamp = figure.stat().st_mtime_ns
    os.utime(figure, ns=(stamp - 10**9, stamp - 10**9))
    report.build_report(folder)
    assert figure.stat().st_mtime_ns == stamp - 10**9  # not redrawn
    (folder / "figures" / "differences.png").unlink()
    report.build_report(folder)
    assert (folder / "figures" / "differences.png").exists()


# ----------------------------------------------------------------------------- browser

_CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                   "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

# Injected into a *test copy* of the page: after load, record which sections exist,
# each image's decoded size, and any resource error or CSP violation, into the DOM.
_PROBE = """<script>
window.__problems = [];
document.addEventListener('securitypolicyviolation',
  e => window.__problems.push('csp: ' + e.blockedURI), true);
window.addEventListener('error', e => window.__problems.push('error: ' +
  (e.message || (e.target && (e.target.src || e.target.href)))), true);
window.addEventListener('load', () => {
  const out = {
    sections: [...document.querySelectorAll('section[id]')].map(s => s.id),
    images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
    problems: window.__problems,
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _chromium(args, tmp_path, name):
    profile = tmp_path / f"profile-{name}"
    cmd = [CHROMIUM, *_CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                    "chromium); .ci/run installs it")
def test_report_renders_in_headless_chromium(built, tmp_path):
    _, path, page = built
    # 1. The page as shipped: screenshot, and no console message of any kind (the page
    #    has no script, so any console line is a blocked resource or a parse problem).
    shot = tmp_path / "report.png"
    done = _chromium(["--enable-logging=stderr", "--v=0", "--window-size=1200,3000",
                      f"--screenshot={shot}", path.as_uri()], tmp_path, "shot")
    console = [ln for ln in done.stderr.splitlines() if ":CONSOLE" in ln]
    assert console == [], console
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few kB

    # 2. A copy with a probe script (the CSP is widened only to let the probe run).
    probe_page = page.replace("style-src 'unsafe-inline'",
                              "style-src 'unsafe-inline'; script-src 'unsafe-inline'", 1)
    probe_page = probe_page.replace("<head>", "<head>" + _PROBE, 1)
    copy = tmp_path / "probe.html"
    copy.write_text(probe_page, encoding="utf-8")
    done = _chromium(["--virtual-time-budget=10000", "--dump-dom", copy.as_uri()],
                     tmp_path, "dom")
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, done.stderr[-2000:]
    result = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert result["sections"] == list(SECTIONS)
    assert len(result["images"]) == page.count("<img ")
    for complete, width, height in result["images"]:
        assert complete and width > 500 and height > 200
    assert result["problems"] == []
