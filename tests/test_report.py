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

SECTIONS = ("scenario", "findings", "summary", "classes", "skus", "charts", "definitions",
            "reproducibility")
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


def test_findings_in_money_and_multiples_with_spread(built):
    folder, _, page = built
    text = _section(page, "findings")
    items = re.findall(r'<li class="finding">(.*?)</ul></li>', text, re.S)
    assert len(items) == 2
    d = pd.read_csv(folder / "differences.csv")
    row = d[(d.policy == "hybrid") & (d.sku == "ALL") & (d.metric == "cash_tied_up")].iloc[0]
    assert row.rel_ci_low > 0  # the synthetic hybrid holds more cash than jit
    s = pd.read_csv(folder / "summary.csv")
    cash = s[(s.sku == "ALL") & (s.metric == "cash_tied_up")].set_index("policy")["mean"]
    hybrid = next(i for i in items if i.split("against")[0].endswith(">hybrid</span> "))
    cash_line = re.search(r"Cash tied up</strong>:(.*?)</li>", hybrid).group(1)
    # money and a multiple, not "+150 %"
    assert f"+${row['mean'] / 1000:.1f}k" in cash_line
    assert f"({cash['hybrid'] / cash['jit']:.1f}×:" in cash_line
    assert " %" not in cash_line.split("[")[0]
    assert "[95 % CI $" in cash_line and "at its peak" in cash_line
    cost_line = re.search(r"Total cost</strong>:(.*?)</li>", hybrid).group(1)
    assert "per season" in cost_line and "[95 % CI" in cost_line
    assert "90 % of seasons (p5–p95)" in cost_line and "In a bad season (p95)" in cost_line
    fill_line = re.search(r"Fill rate</strong>:(.*?)</li>", hybrid).group(1)
    assert "points" in fill_line and "stockout days (demand-weighted)" in fill_line
    cost = s[(s.sku == "ALL") & (s.metric == "total_cost")].set_index("policy")["mean"]
    assert f">{cost.idxmin()}</span> has the lowest mean total cost" in text
    assert "p5–p95 across seasons" in text
    assert "opportunity cost" in text or "not cash spent" in text


def test_multiples_and_intervals_never_read_as_certainty():
    assert report._multiple(3.0, 1.0) == "3.0×"
    assert report._multiple(0.18, 1.0) == "−82 %"
    assert report._multiple(1.12, 1.0) == "+12 %"
    # an interval whose ends round alike gets more digits
    assert report._interval(0.8300, 0.8302, "ratio", "$", 1) == "83.00 % – 83.02 %"
    assert report._interval(83_100.2, 83_100.4, "money", "$", 0) == "$83,100.2 – $83,100.4"
    assert "same in every season" in report._interval(3900, 3900 + 1e-10, "money", "$", 0)
    assert "± <" in report._interval(0.5, 0.5 + 1e-8, "ratio", "$", 1)
    # a CI half-width never shows as ± 0.0
    assert report._pm(0.00004, "ratio", "$", 1) == "± 0.004"
    assert report._pm(1e-9, "ratio", "$", 1) == "± < 0.001"
    assert report._pm(0.0, "ratio", "$", 1) == "± 0"
    assert report._kmoney(22_640, "$") == "$22.6k" and report._kmoney(-1.25e7, "$") == "−$12.5M"
    assert report._kmoney(950, "EUR") == "950 EUR"


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
    # every cell: mean, the 95 % CI of the mean, and the spread across seasons
    assert re.search(r"\d+\.\d %<small>CI \d+\.\d+ % – \d+\.\d+ %</small>"
                     r'<small class="spread">p5–p95 \d+\.\d+ % – \d+\.\d+ %</small>', text)
    assert re.search(r"\$\d{1,3}(,\d{3})*<small>CI \$", text)
    assert text.count("p5–p95 ") >= 10 * 3
    assert "(baseline)" in text
    assert "Stockout days (demand-weighted over SKUs)" in text
    assert "Days on which any SKU was short" in text  # the old measure, named for what it is
    assert "Stockout rate (share of days)" not in text


def test_no_interval_reads_as_certainty(built):
    _, _, page = built
    assert "± 0.0" not in page and "± 0.00" not in page
    for lo, hi in re.findall(r"(?:CI|p5–p95) ([^<–]+?) – ([^<]+?)</small>", page):
        assert lo.strip() != hi.strip(), (lo, hi)


def test_every_metric_has_a_definition(built):
    folder, _, page = built
    from simulator.study.metrics import OVERBUYING_METRICS

    assert set(METRICS) | set(OVERBUYING_METRICS) <= set(report.METRIC_DEFINITIONS)
    text = _section(page, "definitions")
    runs = pd.read_parquet(folder / "runs.parquet")
    unused = {m for m in report._ONLY_WHEN_NONZERO if m in runs and not (runs[m] > 0).any()}
    for metric in METRICS:  # the synthetic run backorders: lost units cannot apply
        if metric == "lost_units" or metric in unused:  # nor a feature no policy used
            assert f"<code>{metric}</code></th>" not in text
        else:
            assert f"<code>{metric}</code></th>" in text
    assert "Not shown, since unmet demand is handled by backorders" in text
    assert "type 2" in report.METRIC_DEFINITIONS["fill_rate"]


def test_reproducibility_block(built):
    folder, _, page = built
    text = _section(page, "reproducibility")
    meta = json.loads((folder / "metadata.json").read_text())
    assert f"<code>{meta['command']}</code>" in text
    assert meta["scenario_hash"] in text and "1.2 s" in text
    for name, version in meta["versions"].items():
        assert f"{name} <code>{version}</code>" in text
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


def test_metrics_that_cannot_apply_are_hidden(tmp_path):
    lost = build_results(tmp_path / "lost", replications=8, unmet_demand="lost_sale")
    page = report.build_report(lost).read_text(encoding="utf-8")
    summary = _section(page, "summary")
    assert "Units lost (lost sales)" in summary
    for label in ("Days ending with backorders", "Units backordered", "Backordered units"):
        assert label not in summary
    defs = _section(page, "definitions")
    for metric in ("p_backorder_end", "avg_backorders", "backordered_units"):
        assert f"<code>{metric}</code></th>" not in defs
    assert "handled by lost sales" in defs
    assert "lost margin on lost sales" in page and "opportunity cost" in page

    back = build_results(tmp_path / "back", replications=8, unmet_demand="backorder")
    page = report.build_report(back).read_text(encoding="utf-8")
    summary = _section(page, "summary")
    assert "Units lost" not in summary and "Days ending with backorders" in summary
    assert "backorder penalty" in page


def _rows(table_html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", table_html, re.S).group(1)
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)


def test_class_table_rows_and_best_policy_by_the_stated_rule(built):
    folder, _, page = built
    text = _section(page, "classes")
    table = re.search(r'<table class="summary by-class">.*?</table>', text, re.S).group(0)
    rows = _rows(table)
    assert len(rows) == 3 * 3  # classes A, B, C × three policies
    assert [h for h in re.findall(r'rowspan="3">Class (\w)', table)] == ["A", "B", "C"]
    for row in rows:  # fill rate, stockout days, total cost, cash: each with CI and spread
        assert row.count('<td class="num') == 4
        assert row.count("<small>CI ") == 4 and row.count("p5–p95 ") == 4
    # the best policy per class, recomputed from runs.parquet by the stated rule
    runs = pd.read_parquet(folder / "runs.parquet")
    runs = runs[runs.sku != "ALL"]
    meta = json.loads((folder / "metadata.json").read_text())
    cls = {s["id"]: s["abc_class"] for s in meta["skus"]}
    runs = runs.assign(group=runs.sku.map(cls))
    per = runs.groupby(["group", "policy", "replication"])[
        ["served_units", "demand_units", "total_cost"]].sum()
    per["fill"] = per.served_units / per.demand_units
    means = per.groupby(["group", "policy"])[["fill", "total_cost"]].mean()
    assert "mean fill rate of at least 95 %" in text
    for group in ("A", "B", "C"):
        m = means.loc[group]
        ok = m[m.fill >= 0.95]
        best = ok.total_cost.idxmin() if len(ok) else m.fill.idxmax()
        assert re.search(rf"<li>Class {group}: <span [^>]*>{best}</span>", text), group
        row = next(r for r in rows if f">{best}</span><small> ✓ best" in r and (
            rows.index(r) // 3 == "ABC".index(group)))
        assert 'class="num best"' in row
    # findings name the pick per class in one line
    assert "Policy per ABC class" in _section(page, "findings")


def test_sku_tables_compact_and_collapsed_beyond_twelve(built, tmp_path, monkeypatch):
    folder, _, page = built
    text = _section(page, "skus")
    tables = re.findall(r'<table class="compact by-sku">.*?</table>', text, re.S)
    assert len(tables) == 2  # service; cost and cash
    for table in tables:
        rows = _rows(table)
        assert [re.search(r'<th scope="row">([\w-]+)', r).group(1) for r in rows] == [
            "VITC-60", "ZINC-30", "MAG-120"]  # by class, then revenue
        for row in rows:
            assert row.count('<td class="num') == 2 * 3  # two metrics × three policies
            assert row.count('class="spread"') == 6 and row.count('class="pm"') == 6
    assert "<details" not in text  # three SKUs: nothing to collapse
    assert "Service by SKU" in text and "Cost and cash by SKU" in text
    # beyond the row limit the rest goes into a <details> that prints expanded
    monkeypatch.setattr(report, "_SKU_ROWS_SHOWN", 2)
    page = report.build_report(folder).read_text(encoding="utf-8")
    text = _section(page, "skus")
    assert text.count('<details class="print-open"><summary>Show the other 1 SKUs') == 2
    assert "details.print-open::details-content" in page


def test_pick_rule():
    means = {"jit": {"fill_rate": 0.90, "total_cost": 10.0},
             "ss": {"fill_rate": 0.99, "total_cost": 30.0},
             "hy": {"fill_rate": 0.97, "total_cost": 20.0}}
    assert report._pick(means, 0.95) == ("hy", True)
    assert report._pick(means, 0.80) == ("jit", True)
    assert report._pick(means, 0.995) == ("ss", False)  # none reaches it: best service


def test_policies_described_from_their_parameters(tmp_path):
    folder = build_results(tmp_path / "run", replications=8)
    text = (folder / "scenario.yaml").read_text()
    text = text.split("policies:")[0] + (
        "policies:\n  jit:\n    type: jit\n    review_every_days: 7\n"
        "  safety_stock:\n    type: safety_stock\n    service_level: 0.95\n"
        "  hybrid:\n    type: hybrid\n    description: Our own words.\n")
    (folder / "scenario.yaml").write_text(text)
    page = report.build_report(folder).read_text(encoding="utf-8")
    scen = _section(page, "scenario")
    assert ("safety_stock</span>: Reorder point = lead-time forecast + safety stock for 95 % "
            "cycle service, EOQ lots, daily review") in scen
    assert "no safety stock, weekly review" in scen
    assert "hybrid</span>: Our own words.<br><small" in scen  # own words, then settings
    assert "Settings: A buffered for 98 % cycle service" in scen


@pytest.mark.parametrize(("spec", "expected"), [
    ({"type": "jit", "review_every_days": 7},
     "Just in time: order up to the forecast over the review period + mean lead time, no "
     "safety stock, weekly review"),
    ({"type": "jit", "quantity": "eoq", "plan_for_disruptions": True},
     "Just in time: reorder point = the forecast over the review period + mean lead time, "
     "no safety stock, EOQ lots, daily review, pre-builds stock ahead of announced "
     "disruptions"),
    ({"type": "safety_stock", "service_level": 0.975},
     "Reorder point = lead-time forecast + safety stock for 97.5 % cycle service, EOQ lots, "
     "daily review"),
    ({"type": "safety_stock", "weeks_of_cover": 4, "quantity": "cover_days", "cover_days": 21,
      "use_backup": True, "can_order": 0.5, "review_every_days": 3},
     "Reorder point = lead-time forecast + 4 weeks of cover as safety stock, lots of 21 "
     "days' forecast, review every 3 days, joins another SKU's purchase order within 50 % "
     "of a lot of its reorder point, uses the backup supplier when the primary is down or "
     "too slow"),
    ({"type": "hybrid", "review_every_days": 14, "plan_for_disruptions": False,
      "use_backup": False},
     "A buffered for 98 % cycle service, B for 90 %, C just in time (ABC classes by "
     "revenue: A top 80 %, B next 15 %), order up to the class level, fortnightly review"),
    ({"type": "hybrid", "a_share": 0.7, "b_share": 0.3, "quantity": "cover_days",
      "cover_days": 10, "plan_for_disruptions": False, "use_backup": False},
     "A buffered for 98 % cycle service, B for 90 % (ABC classes by revenue: A top 70 %, B "
     "next 30 %), lots of 10 days' forecast, daily review"),
    ({"type": "base_stock", "S": 1500},
     "Base stock: order up to S = 1,500 whenever the inventory position is below it, daily "
     "review"),
    ({"type": "base_stock", "S": {"A": 10, "B": 40.5}, "review": "continuous"},
     "Base stock: order up to S per SKU (10–40.5, 2 SKUs) whenever the inventory position "
     "is below it, continuous review (after every customer order)"),
    ({"type": "s_S", "s": 900, "S": 2400, "review_every_days": 7},
     "(s, S): when the inventory position falls to s = 900, order up to S = 2,400, weekly "
     "review"),
    ({"type": "r_Q", "r": 200, "Q": {"X": 50, "Y": 50}, "review": "continuous"},
     "(r, Q): when the inventory position falls to r = 200, order lots of Q per SKU (50, 2 "
     "SKUs), continuous review (after every customer order)"),
])
def test_describe_policy_every_type(spec, expected):
    from pydantic import TypeAdapter

    from simulator.data.scenario import PolicySpec
    from simulator.present.describe import describe_policies, describe_policy

    assert describe_policy(spec) == expected
    # the same from a validated spec object, as a scenario holds it
    assert describe_policy(TypeAdapter(PolicySpec).validate_python(spec)) == expected
    assert describe_policies({"p": spec}) == {"p": expected}
    assert describe_policies({"p": {**spec, "description": "Mine."}}) == {"p": "Mine."}


_PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def test_title_block_options_over_the_scenario_block(tmp_path):
    folder = build_results(tmp_path / "run", replications=8)
    logo = tmp_path / "logo.png"
    logo.write_bytes(_PNG_1PX)
    with (folder / "scenario.yaml").open("a") as f:
        f.write(f"report:\n  title: Stock policy review\n  client: Scenario Client\n"
                f"  author: Scenario Author\n  logo: {logo}\n")
    page = report.build_report(folder, client="Maison <Nord>").read_text(encoding="utf-8")
    head = page.split("<nav")[0]
    assert "<h1>Stock policy review</h1>" in head
    assert "<title>Stock policy review — supplysim report</title>" in head
    assert "Prepared for <strong>Maison &lt;Nord&gt;</strong>" in head  # the option wins
    assert "by <strong>Scenario Author</strong>" in head
    assert "Scenario <code>synthetic-catalogue</code>" in head
    assert f'class="logo" src="data:image/png;base64,{base64.b64encode(_PNG_1PX).decode()}"' in head
    # an SVG logo goes in as an <img> data URI: never inline markup that could script
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
                   '<rect width="4" height="4"/></svg>')
    page = report.build_report(folder, logo=svg, title="T").read_text(encoding="utf-8")
    assert 'src="data:image/svg+xml;base64,' in page
    assert "<svg" not in page and "<script" not in page
    with pytest.raises(report.ReportError, match="logo: no such file: .*nope.png"):
        report.build_report(folder, logo=tmp_path / "nope.png")
    text = tmp_path / "logo.txt"
    text.write_text("not an image")
    with pytest.raises(report.ReportError, match="must be a PNG, JPEG or SVG"):
        report.build_report(folder, logo=text)


def test_cli_report_options_and_one_line_errors(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from simulator.cli import cli

    folder = build_results(tmp_path / "run", replications=8)
    runner = CliRunner()
    done = runner.invoke(cli, ["report", str(folder), "--title", "Q4 review", "--author",
                               "A. Consultant", "--client", "Acme"])
    assert done.exit_code == 0, done.output
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "<h1>Q4 review</h1>" in page and "Acme" in page and "A. Consultant" in page
    done = runner.invoke(cli, ["report", str(folder), "--logo", str(tmp_path / "nope.png")])
    assert done.exit_code == 2
    assert "no such file" in done.output and "Traceback" not in done.output
    assert len(done.output.strip().splitlines()) == 1
    monkeypatch.setattr(report, "find_chromium", lambda: None)
    done = runner.invoke(cli, ["report", str(folder), "--pdf"])
    assert done.exit_code == 2 and "needs Chromium" in done.output
    assert not (folder / "report.pdf").exists()


def test_slides_style_embeds_the_slides_charts(tmp_path, monkeypatch):
    folder = build_results(tmp_path / "run", replications=8)
    report.build_report(folder)
    slides = folder / "figures" / "slides"
    calls = []

    def fake_make_figures(target, formats=("png", "svg"), dpi=150, style="default"):
        calls.append(style)
        slides.mkdir(parents=True, exist_ok=True)
        for name in ("tradeoff", "inventory", "extra_chart"):
            (slides / f"{name}.png").write_bytes(_PNG_1PX)
        return []

    monkeypatch.setattr(report, "make_figures", fake_make_figures)
    page = report.build_report(folder, style="slides").read_text(encoding="utf-8")
    assert calls == ["slides"]
    assert "<body class=slides>" in page
    charts = _section(page, "charts")
    ids = re.findall(r'<figure id="fig-(\w+)">', charts)
    assert ids == ["tradeoff", "inventory", "extra_chart"]  # report order, then the rest
    assert charts.count(base64.b64encode(_PNG_1PX).decode()) == 3
    report.build_report(folder, style="slides")
    assert calls == ["slides"]  # drawn once, then reused
    with pytest.raises(report.ReportError, match="style: must be 'default' or 'slides'"):
        report.build_report(folder, style="poster")


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


def test_slides_style_with_the_real_slides_charts(tmp_path):
    folder = build_results(tmp_path / "run", replications=8)
    page = report.build_report(folder, style="slides").read_text(encoding="utf-8")
    drawn = sorted(p.stem for p in (folder / "figures" / "slides").glob("*.png"))
    assert drawn and sorted(re.findall(r'<figure id="fig-(\w+)">', page)) == drawn
    for name in drawn:
        assert f"<strong>{report.SLIDE_CAPTIONS[name][0]}</strong>" in page


def test_intervals_cut_at_the_range_a_metric_can_take():
    row = {"mean": 0.0002, "ci_low": -0.0002, "ci_high": 0.0006, "p5": 0.0, "p95": 0.0}
    cell = report._cell(row, "ratio", "$")
    assert "−" not in cell and "CI 0.00 % – 0.06 %" in cell
    assert "p5 = p95 = 0.00 %" in cell  # not "same in every season": 10 % lie outside
    row = {"mean": 0.9998, "ci_low": 0.9990, "ci_high": 1.0006, "p5": 0.998, "p95": 1.0}
    cell = report._cell(row, "ratio", "$")
    assert "100.06" not in cell and "– 100.00 %" in cell
    row = {"mean": 6.88, "ci_low": -7.03, "ci_high": 20.78, "p5": 0.0, "p95": 0.0}
    assert "CI $0.00 – $20.78" in report._cell(row, "money", "$")


def test_a_missing_scenario_logo_is_left_out_with_a_warning(tmp_path):
    from click.testing import CliRunner

    from simulator.cli import cli

    folder = build_results(tmp_path / "run", replications=8)
    with (folder / "scenario.yaml").open("a") as f:
        f.write(f"report:\n  logo: {tmp_path / 'gone.png'}\n")
    with pytest.warns(UserWarning, match="report.logo: no such file: .*gone.png"):
        page = report.build_report(folder).read_text(encoding="utf-8")
    assert 'class="logo"' not in page  # the run keeps its report, without the logo
    done = CliRunner().invoke(cli, ["report", str(folder)])
    assert done.exit_code == 0 and "warning: report.logo: no such file" in done.output


def test_describe_policy_leaves_out_options_the_scenario_gives_nothing_to_act_on():
    from simulator.data.scenario import load_scenario
    from simulator.present.describe import describe_policy, scenario_context

    catalog, strike = load_scenario("catalog"), load_scenario("port-strike")
    hybrid = {"type": "hybrid", "review_every_days": 7}
    # catalog: no announced disruption, no backup supplier.
    assert scenario_context(catalog) == {"announced_windows": False, "backups": False}
    text = describe_policy(hybrid, scenario_context(catalog))
    assert "pre-builds" not in text and "backup" not in text
    # port-strike: an announced closure and a domestic backup.
    assert scenario_context(strike) == {"announced_windows": True, "backups": True}
    text = describe_policy(hybrid, scenario_context(strike))
    assert "pre-builds" in text and "backup" in text
    # The resolved mapping of the results folder gives the same context as the object.
    assert scenario_context(strike.to_dict()) == scenario_context(strike)
    assert scenario_context(catalog.to_dict()) == scenario_context(catalog)


def test_describe_policy_names_a_learned_forecast():
    from simulator.present.describe import describe_policy

    ma = describe_policy({"type": "jit", "forecast": {"method": "moving_average",
                                                      "window_days": 28, "bias": 0.2}})
    assert "28-day moving average, biased +20 %" in ma
    sba = describe_policy({"type": "safety_stock",
                           "forecast": {"method": "exp_smoothing", "alpha": 0.2,
                                        "intermittent": "sba"}})
    assert "SBA exponential smoothing (alpha 0.2)" in sba
    assert "learned" not in describe_policy({"type": "jit", "forecast": "oracle"})


def test_write_offs_appear_in_the_summary_table_only_when_stock_was_written_off(tmp_path):
    import copy

    from helpers import TINY

    from simulator.data.scenario import Scenario
    from simulator.study.results import write_tables
    from simulator.study.runner import run_scenario

    data = copy.deepcopy(TINY)
    data.update(horizon_days=60, replications=4)
    data["suppliers"]["s"]["order_cost"] = 200
    data["skus"][0]["shelf_life_days"] = 6
    data["policies"] = {"eoq": {"type": "safety_stock", "quantity": "eoq"},
                        "jit": {"type": "jit", "review_every_days": 1}}
    scn = Scenario.from_dict(data)
    (tmp_path / "p").mkdir()
    write_tables(run_scenario(scn), tmp_path / "p")
    (tmp_path / "p" / "scenario.yaml").write_text(scn.to_yaml(), encoding="utf-8")
    page = report.build_report(tmp_path / "p").read_text(encoding="utf-8")
    summary = _section(page, "summary")
    assert "Written off (expired, obsolete; at cost less salvage)" in summary
    assert "Units expired" in summary
    assert "Units rejected" not in summary  # no quality checks in this scenario: all zero
    plain = build_results(tmp_path / "plain", replications=8)
    assert "Written off" not in _section(report.build_report(plain).read_text("utf-8"),
                                         "summary")


def test_the_report_names_the_engine_that_ran(tmp_path):
    from click.testing import CliRunner

    from simulator.cli import cli

    out = tmp_path / "fast"
    done = CliRunner().invoke(cli, ["run", "classroom", "-n", "3", "-w", "1", "--engine", "fast",
                                    "--out", str(out), "-q"])
    assert done.exit_code == 0, done.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<th scope=\"row\">Engine</th><td>fast \(asked for\)</td>", page)
