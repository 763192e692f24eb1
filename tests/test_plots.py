"""Chart functions and the figure driver, on a synthetic results folder."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest_results import POLICIES, build_results  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from simulator.present import plots  # noqa: E402

POLICY_LIST = list(POLICIES)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return build_results(tmp_path_factory.mktemp("res") / "run", replications=40)


@pytest.fixture(scope="module")
def data(folder):
    return {
        "runs": pd.read_parquet(folder / "runs.parquet"),
        "daily": pd.read_parquet(folder / "daily.parquet"),
        "summary": pd.read_csv(folder / "summary.csv"),
        "differences": pd.read_csv(folder / "differences.csv"),
        "meta": json.loads((folder / "metadata.json").read_text()),
    }


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return build_results(tmp_path_factory.mktemp("res1") / "run", n_skus=1, replications=20)


def _axes(nrows=1, ncols=1, **kwargs):
    """Axes on a pyplot-free figure, as the driver makes them."""
    fig = Figure(figsize=(10, 6), layout="constrained")
    return fig.subplots(nrows, ncols, **kwargs)


def _tick_texts(axis, values):
    """Labels an axis' major formatter gives for ``values``."""
    fmt = axis.get_major_formatter()
    fmt.set_locs(values)
    return [fmt(v) for v in values]


# ----------------------------------------------------------------------------- colours


def test_policy_colors_depend_on_the_name_not_the_order():
    """Issue: `-p safety_stock -p jit` coloured safety stock blue; it is orange elsewhere."""
    first = plots.policy_colors(POLICY_LIST)
    assert list(first) == POLICY_LIST
    assert len(set(first.values())) == 3
    assert first["jit"] == plots.PALETTE[0]
    assert plots.policy_colors(POLICY_LIST) == first
    reordered = plots.policy_colors(["hybrid", "jit"])
    assert reordered == {"hybrid": first["hybrid"], "jit": first["jit"]}
    # any name: the same colour whatever else runs beside it, unless two names collide
    alone = plots.policy_colors(["hybrid_lots"])["hybrid_lots"]
    assert plots.policy_colors(["jit", "hybrid_lots", "safety_stock"])["hybrid_lots"] == alone


def test_policy_colors_cycle_beyond_palette_and_ignore_duplicates():
    names = [f"p{i}" for i in range(10)]
    colors = plots.policy_colors(names + ["p0"])
    assert len(colors) == 10
    assert len(set(colors.values())) == 10  # every colour before any repeats
    # other names never take a usual policy's colour while another colour is free
    usual = {plots.PALETTE[i] for i in plots._FIXED_COLORS.values()}
    assert not usual & set(plots.policy_colors(names[:6]).values())
    assert all(c.startswith("#") and len(c) == 7 for c in colors.values())


# -------------------------------------------------------------------------- formatting


def test_money_axis_uses_one_scale_and_true_minus():
    ax = _axes()
    plots._money_axis(ax.yaxis, "$")
    assert _tick_texts(ax.yaxis, [0, 5000, 10000, 15000]) == ["$0", "$5k", "$10k", "$15k"]
    assert _tick_texts(ax.yaxis, [-1500, 0, 1500]) == ["−$1,500", "$0", "$1,500"]
    assert _tick_texts(ax.yaxis, [0, 2.5e6, 5e6]) == ["$0", "$2.5M", "$5.0M"]
    plots._money_axis(ax.xaxis, "EUR")
    assert _tick_texts(ax.xaxis, [200, 400]) == ["200 EUR", "400 EUR"]


def test_calendar_windows_groups_kinds():
    windows = plots.calendar_windows([
        {"kind": "campaign", "start_day": 3, "end_day": 5, "label": "promo"},
        {"kind": "port_closure", "start_day": 7, "end_day": 9, "label": "strike"},
        {"kind": "lead_time_shock", "start_day": 1, "end_day": 2, "label": ""},
    ])
    assert [w["group"] for w in windows] == ["campaign", "disruption", "disruption"]
    assert windows[2]["label"] == "lead_time_shock"
    assert plots.calendar_windows(None) == []


# ------------------------------------------------------------------------------ charts


def test_tradeoff_one_series_per_policy_with_summary_ci(data):
    axes = plots.plot_tradeoff(data["runs"], data["summary"], policies=POLICY_LIST,
                               axes=_axes(1, 2))
    assert len(axes) == 2
    s = data["summary"]
    for ax, metric in zip(axes, ("cash_tied_up", "total_cost"), strict=True):
        clouds = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(clouds) == 3
        assert all(len(c.get_offsets()) == 40 for c in clouds)
        assert len(ax.containers) == 3  # one errorbar per policy
        for container, policy in zip(ax.containers, POLICY_LIST, strict=True):
            x, y = (v[0] for v in container.lines[0].get_data())
            row = s[(s.policy == policy) & (s.sku == "ALL")].set_index("metric")
            assert x == pytest.approx(row.loc["stockout_rate", "mean"])
            assert y == pytest.approx(row.loc[metric, "mean"])
        assert "%" in ax.get_xlabel() and "($)" in ax.get_ylabel()
        assert _tick_texts(ax.xaxis, [0.1])[0].endswith("%")
    legend = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert legend == POLICY_LIST


def test_tradeoff_computes_ci_without_summary(data):
    axes = plots.plot_tradeoff(data["runs"], None, policies=POLICY_LIST, axes=_axes(1, 2))
    runs = data["runs"]
    ref = runs[(runs.sku == "ALL") & (runs.policy == "hybrid")]["cash_tied_up"]
    line = axes[0].containers[2].lines[0]
    assert line.get_ydata()[0] == pytest.approx(ref.mean())


def test_distributions_four_panels_box_per_policy(data):
    axes = plots.plot_distributions(data["runs"], policies=POLICY_LIST, axes=_axes(2, 2))
    assert len(axes) == 4
    assert "type 2" in axes[0].get_title()
    colors = plots.policy_colors(POLICY_LIST)
    for ax in axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == POLICY_LIST
        boxes = [p for p in ax.patches if p.get_label() in POLICY_LIST]
        assert [b.get_label() for b in boxes] == POLICY_LIST
        assert [matplotlib.colors.to_hex(b.get_facecolor(), keep_alpha=False)
                for b in boxes] == [colors[p].lower() for p in POLICY_LIST]
    assert "%" in axes[1].get_ylabel() and "$" in axes[2].get_ylabel()


def test_inventory_multi_sku_shows_portfolio_value(data):
    axes = plots.plot_inventory(data["daily"], sku="ALL", policies=POLICY_LIST,
                                calendar=data["meta"]["calendar"], axes=_axes(3, 1, sharex=True,
                                                                               sharey=True))
    assert [ax.get_title(loc="left") for ax in axes] == POLICY_LIST
    fig = axes[0].figure
    assert "value" in fig.get_suptitle() and "all SKUs" in fig.get_suptitle()
    for ax in axes:
        assert "($)" in ax.get_ylabel()
        labels = [ln.get_label() for ln in ax.get_lines()]
        assert "Median" in labels and "One sample path (replication 0)" in labels
        assert "Reorder point" not in labels  # NaN for the portfolio
        assert len(ax.patches) == 2  # campaign + outage shading
        assert len(ax.collections) == 2  # 90 % and 50 % bands
    assert len({ax.get_ylim() for ax in axes}) == 1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Campaign (demand uplift)" in legend and "Supply disruption" in legend


def test_inventory_single_sku_units_and_policy_levels(single):
    daily = pd.read_parquet(single / "daily.parquet")
    axes = plots.plot_inventory(daily, sku="VITC-60", policies=POLICY_LIST, calendar=[],
                                axes=_axes(3, 1, sharex=True, sharey=True))
    assert "SKU VITC-60" in axes[0].figure.get_suptitle()
    by_policy = {ax.get_title(loc="left"): [ln.get_label() for ln in ax.get_lines()]
                 for ax in axes}
    assert "Reorder point" not in by_policy["jit"]  # jit has no reorder point
    assert "Order-up-to level" in by_policy["jit"]
    assert {"Reorder point", "Order-up-to level"} <= set(by_policy["safety_stock"])
    assert "units" in axes[0].get_ylabel()
    assert all(len(ax.patches) == 0 for ax in axes)
    top = axes[0].get_ylim()[1]
    assert top >= daily["order_up_to"].max()
    legend = [t.get_text() for t in axes[0].figure.legends[0].get_texts()]
    assert "Reorder point" in legend


def test_base_stock_policy_draws_one_level_line(single):
    daily = pd.read_parquet(single / "daily.parquet")
    daily.loc[daily.policy == "hybrid", "reorder_point"] = daily.loc[
        daily.policy == "hybrid", "order_up_to"]
    axes = plots.plot_inventory(daily, sku="VITC-60", policies=POLICY_LIST,
                                axes=_axes(3, 1, sharex=True, sharey=True))
    labels = [ln.get_label() for ln in axes[2].get_lines()]
    assert "Base-stock level (reorder point = order-up-to)" in labels
    assert "Reorder point" not in labels and "Order-up-to level" not in labels


def test_cash_over_time_line_per_policy(data):
    ax = plots.plot_cash_over_time(data["daily"], policies=POLICY_LIST,
                                   calendar=data["meta"]["calendar"], ax=_axes())
    medians = [ln for ln in ax.get_lines() if ln.get_label() in POLICY_LIST]
    assert [ln.get_label() for ln in medians] == POLICY_LIST
    daily = data["daily"]
    expected = daily[(daily.sku == "ALL") & (daily.policy == "jit")]["cash_tied_up_p50"]
    np.testing.assert_allclose(medians[0].get_ydata(), expected.to_numpy())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == POLICY_LIST
    assert "($)" in ax.get_ylabel()


def test_cost_breakdown_stacks_to_total(data):
    ax = plots.plot_cost_breakdown(data["runs"], policies=POLICY_LIST, currency="€", ax=_axes())
    assert len(ax.patches) == 3 * 3  # holding, ordering, shortage; expediting all zero
    tops = {}
    for bar in ax.patches:
        x = round(bar.get_x() + bar.get_width() / 2)
        tops[x] = max(tops.get(x, 0.0), bar.get_y() + bar.get_height())
    runs = data["runs"]
    totals = runs[runs.sku == "ALL"].groupby("policy")["total_cost"].mean()
    for i, policy in enumerate(POLICY_LIST):
        assert tops[i] == pytest.approx(totals[policy])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Shortage", "Ordering", "Holding"]
    assert "(€)" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == POLICY_LIST
    assert all(t.get_text().startswith("€") for t in ax.texts)


def test_cost_breakdown_shows_expediting_when_used(data):
    runs = data["runs"].copy()
    runs.loc[runs.policy == "hybrid", "expedite_cost"] = 50.0
    ax = plots.plot_cost_breakdown(runs, policies=POLICY_LIST, ax=_axes())
    assert len(ax.patches) == 4 * 3
    assert "Expediting" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_differences_point_and_ci_per_policy(data):
    axes = plots.plot_differences(data["differences"], policies=POLICY_LIST,
                                  axes=_axes(2, 2))
    d = data["differences"]
    for ax, metric in zip(axes, ("fill_rate", "stockout_rate", "total_cost", "cash_tied_up"),
                          strict=True):
        assert len(ax.containers) == 2  # baseline has no row
        assert "policy − jit" in ax.get_xlabel() and "policy − jit" in ax.get_title()
        assert any(list(ln.get_xdata()) == [0, 0] for ln in ax.get_lines())  # zero line
        assert [t.get_text() for t in ax.get_yticklabels()] == ["safety_stock", "hybrid"]
        row = d[(d.policy == "hybrid") & (d.sku == "ALL") & (d.metric == metric)].iloc[0]
        scale = 100 if metric in ("fill_rate", "stockout_rate") else 1
        x = ax.containers[1].lines[0].get_xdata()[0]
        assert x == pytest.approx(row["mean"] * scale)
    assert "percentage points" in axes[0].get_xlabel()
    assert "($)" in axes[2].get_xlabel()
    assert "%" in axes[2].texts[0].get_text()  # relative change written beside the point


def test_abc_classes_ratio_of_sums(data):
    axes = plots.plot_abc_classes(data["runs"], policies=POLICY_LIST, axes=_axes(1, 2))
    for ax in axes:
        assert len(ax.patches) == 3 * 3  # classes x policies
        assert [t.get_text() for t in ax.get_xticklabels()] == ["Class A", "Class B", "Class C"]
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == POLICY_LIST
    runs = data["runs"]
    sel = runs[(runs.policy == "jit") & (runs.abc_class == "A")]
    expected = (sel.served_units / sel.demand_units).mean()  # one SKU per class here
    assert axes[0].patches[0].get_height() == pytest.approx(expected)
    assert "%" in axes[0].get_ylabel() and "($)" in axes[1].get_ylabel()


def test_sku_heatmap_sorted_and_annotated(data):
    ax = plots.plot_sku_heatmap(data["runs"], policies=POLICY_LIST,
                                skus=data["meta"]["skus"], ax=_axes())
    images = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert images[0].get_array().shape == (3, 3)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["VITC-60 (A)", "ZINC-30 (B)", "MAG-120 (C)"]
    assert len(ax.texts) == 9 and all(t.get_text().endswith("%") for t in ax.texts)
    runs = data["runs"]
    expected = runs[(runs.sku == "VITC-60") & (runs.policy == "hybrid")].fill_rate.mean()
    assert images[0].get_array()[0, 2] == pytest.approx(expected)


def test_sku_order_class_then_revenue():
    runs = pd.DataFrame({
        "sku": ["c1", "a_small", "a_big", "b1", "ALL"],
        "abc_class": ["C", "A", "A", "B", ""],
        "demand_units": [100.0, 10.0, 10.0, 50.0, 170.0],
        "policy": ["p"] * 5,
    })
    skus = [{"id": "a_small", "price": 1.0}, {"id": "a_big", "price": 9.0},
            {"id": "b1", "price": 1.0}, {"id": "c1", "price": 1.0}]
    assert plots._sku_order(runs, skus) == ["a_big", "a_small", "b1", "c1"]


def test_chart_functions_create_their_own_figure_when_no_axes(data):
    before = set(plt.get_fignums())
    try:
        ax = plots.plot_cost_breakdown(data["runs"])
        assert ax.figure.number not in before
        axes = plots.plot_inventory(data["daily"], sku="ALL")
        assert len(axes) == 3
    finally:
        plt.close("all")


# ------------------------------------------------------------------------------ driver


def test_make_figures_writes_every_chart(folder):
    paths = plots.make_figures(folder, formats=("png", "svg"), dpi=60)
    names = sorted({p.stem for p in paths})
    assert names == sorted(plots.CHARTS)
    assert len(paths) == 2 * len(plots.CHARTS)
    for p in paths:
        assert p.parent == folder / "figures" and p.stat().st_size > 1000
    png = (folder / "figures" / "tradeoff.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<dc:date>" not in (folder / "figures" / "tradeoff.svg").read_bytes()
    assert plt.get_fignums() == []  # nothing left open in pyplot


def test_make_figures_single_sku_skips_catalogue_and_is_reproducible(single):
    paths = plots.make_figures(single, formats=("svg",), dpi=50)
    assert [p.stem for p in paths] == [c for c in plots.CHARTS
                                       if c not in ("abc_classes", "sku_heatmap")]
    first = [p.read_bytes() for p in paths]
    again = plots.make_figures(single, formats=("svg",), dpi=50)
    assert [p.read_bytes() for p in again] == first  # no dates, no random ids


def test_charts_for_single_policy_skips_differences():
    meta = {"policies": ["jit"], "skus": [{"id": "a"}, {"id": "b"}]}
    assert "differences" not in plots.charts_for(meta)
    assert "sku_heatmap" in plots.charts_for(meta)


def test_the_abc_chart_needs_two_classes():
    """Issue: the ABC chart was drawn with one class (port-strike: both SKUs class A)."""
    one = {"skus": [{"id": "A1", "abc_class": "A"}, {"id": "A2", "abc_class": "A"}],
           "policies": ["jit", "hybrid"]}  # fmt: skip
    assert "abc_classes" not in plots.charts_for(one)
    assert "sku_heatmap" in plots.charts_for(one)
    two = {**one, "skus": [{"id": "A1", "abc_class": "A"}, {"id": "B1", "abc_class": "B"}]}
    assert "abc_classes" in plots.charts_for(two)


# --------------------------------------------------------------- labels (issue 14)

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.text import Text  # noqa: E402


def _camp(start, end, label):
    return {"kind": "campaign", "start_day": start, "end_day": end, "label": label}


def _outage(start, end, label):
    return {"kind": "port_closure", "start_day": start, "end_day": end, "label": label}


# Calendars built to provoke overlapping labels (the synthetic horizon is 60 days).
CALENDARS = {
    "same dates": [_camp(20, 27, "black friday ×3 (GREEN-100G)"),
                   _camp(20, 27, "black friday ×3 (OOLONG-100G)")],
    "nested": [_camp(10, 40, "spring season ×1.3 (GREEN-100G)"),
               _camp(15, 18, "flash sale ×2 (GREEN-100G)"),
               _outage(16, 17, "customs inspection")],
    "adjacent": [_camp(10, 14, "tasting week ×1.5 (GREEN-100G)"),
                 _camp(14, 18, "newsletter ×1.2 (GREEN-100G)"),
                 _outage(18, 22, "typhoon"), _outage(22, 26, "customs backlog")],
    "many": [_camp(d, d + 2, f"weekly promotion number {d} ×1.5 (SKU-{d})")
             for d in range(0, 60, 3)],
    "at the end": [_camp(57, 60, "year-end clearance sale ×2 (OOLONG-100G)")],
}


def _drawn(fig):
    """Draw a pyplot-free figure with Agg and return its renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _window_labels(fig, renderer):
    """Visible calendar labels of a drawn figure with their display boxes."""
    texts = [t for t in fig.findobj(Text) if t.get_gid() == "window-label" and t.get_visible()]
    return [(t, t.get_window_extent(renderer)) for t in texts]


def _assert_apart(boxes):
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            assert not box_a.overlaps(box_b), (a.get_text(), b.get_text())


def _draw_with_calendar(data, chart, calendar):
    if chart == "cash_over_time":
        fig = Figure(figsize=(11, 4.5), layout="constrained")
        plots.plot_cash_over_time(data["daily"], policies=POLICY_LIST, calendar=calendar,
                                  ax=fig.subplots())
    else:
        fig = Figure(figsize=(11, 8), layout="constrained")
        plots.plot_inventory(data["daily"], sku="ALL", policies=POLICY_LIST, calendar=calendar,
                             axes=fig.subplots(3, 1, sharex=True, sharey=True))
    return fig


@pytest.mark.parametrize("chart", ["cash_over_time", "inventory"])
@pytest.mark.parametrize("case", list(CALENDARS))
def test_window_labels_never_overlap_and_sit_above_the_data(data, chart, case):
    """Issue: 'black friday ×3 (GREEN-100G)' printed on top of '(OOLONG-100G)'."""
    fig = _draw_with_calendar(data, chart, CALENDARS[case])
    renderer = _drawn(fig)
    labels = _window_labels(fig, renderer)
    assert labels
    _assert_apart(labels)
    ax = fig.axes[0]
    frame = ax.get_window_extent(renderer)
    lowest_label = min(box.y0 for _, box in labels)
    top_of_data = max(ax.transData.transform(np.column_stack(
        [np.zeros(len(ln.get_ydata())), np.asarray(ln.get_ydata(), float)]))[:, 1].max()
        for ln in ax.get_lines() if len(ln.get_ydata()) > 2)
    for _, box in labels:
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1  # never cut at an edge
    assert top_of_data <= lowest_label + 1  # no label covers a line
    if case == "same dates":
        assert [t.get_text() for t, _ in labels] == [
            "black friday ×3 (GREEN-100G, OOLONG-100G)"]
    if case in ("nested", "adjacent", "at the end"):  # these all fit: nothing hidden
        assert len(labels) == len(plots.calendar_windows(CALENDARS[case]))
    # drawing again (a second savefig) keeps the same layout
    again = [box.bounds for _, box in _window_labels(fig, _drawn(fig))]
    first = [box.bounds for _, box in labels]
    assert np.allclose(again, first, atol=2.0)  # the layout may shift by a tick label


def test_window_labels_hide_the_shortest_windows_beyond_the_rows(data):
    calendar = [*CALENDARS["many"], _outage(20, 50, "port strike")]
    fig = _draw_with_calendar(data, "cash_over_time", calendar)
    renderer = _drawn(fig)
    texts = [t.get_text() for t, _ in _window_labels(fig, renderer)]
    assert "port strike" in texts  # the longest window keeps its label
    stacker = next(a for a in fig.axes[0].get_children() if isinstance(a, plots.WindowLabels))
    assert len(texts) == sum(r < stacker.max_rows for r in stacker.rows) < len(calendar)


def test_calendar_windows_merge_identical_dates():
    windows = plots.calendar_windows([
        _camp(5, 9, "black friday ×3 (GREEN-100G)"),
        _camp(5, 9, "black friday ×3 (OOLONG-100G)"),
        _camp(5, 9, "black friday ×3 (OOLONG-100G)"),  # an exact repeat counts once
        _camp(5, 10, "black friday ×3 (WHITE-50G)"),  # other dates: its own window
        _outage(5, 9, "port closure (overseas)"),  # other group: its own window
    ])
    assert [w["label"] for w in windows] == [
        "black friday ×3 (GREEN-100G, OOLONG-100G)", "black friday ×3 (WHITE-50G)",
        "port closure (overseas)"]
    many = plots.calendar_windows([_camp(1, 2, f"sale ×2 (SKU-{i})") for i in range(5)])
    assert [w["label"] for w in many] == ["sale ×2 (5 SKUs)"]
    mixed = plots.calendar_windows([_camp(1, 2, "sale ×2 (A)"), _camp(1, 2, "launch ×3 (B)"),
                                    _outage(1, 2, "strike (x)"), _outage(1, 2, "strike (y)")])
    assert [w["label"] for w in mixed] == ["sale ×2 (A) + launch ×3 (B)", "strike (x, y)"]


# ------------------------------------------------------ baseline, position, rhythm


def test_baseline_is_marked_by_shape_and_words_in_every_chart(data):
    axes = plots.plot_tradeoff(data["runs"], data["summary"], policies=POLICY_LIST,
                               baseline="jit", axes=_axes(1, 2))
    for ax in axes:
        markers = [c.lines[0].get_marker() for c in ax.containers]
        assert markers == ["s", "o", "o"]
    legend = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert legend == ["jit (baseline)", "safety_stock", "hybrid"]
    ax = plots.plot_cash_over_time(data["daily"], policies=POLICY_LIST, baseline="jit",
                                   ax=_axes())
    by_label = {ln.get_label(): ln for ln in ax.get_lines()}
    assert by_label["jit (baseline)"].get_marker() == "s"
    assert by_label["hybrid"].get_marker() in ("None", "", None)
    ax = plots.plot_cost_breakdown(data["runs"], policies=POLICY_LIST, baseline="jit",
                                   ax=_axes())
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "jit\n(baseline)"
    axes = plots.plot_distributions(data["runs"], policies=POLICY_LIST, baseline="jit",
                                    axes=_axes(2, 2))
    assert axes[0].get_xticklabels()[0].get_text() == "jit\n(baseline)"


def test_stockout_axis_says_what_the_portfolio_rate_averages(data, single):
    axes = plots.plot_tradeoff(data["runs"], policies=POLICY_LIST, axes=_axes(1, 2))
    assert axes[0].get_xlabel() == "Stockout days (% of SKU-days, demand-weighted)"
    runs1 = pd.read_parquet(single / "runs.parquet")
    axes = plots.plot_tradeoff(runs1, policies=POLICY_LIST, axes=_axes(1, 2))
    assert axes[0].get_xlabel() == "Stockout days (% of days)"


def _with_position(daily):
    """The synthetic daily bands plus an inventory position (as newer runs record)."""
    out = daily.copy()
    for q in ("p5", "p25", "p50", "p75", "p95", "mean", "sample"):
        out[f"inventory_position_{q}"] = (out[f"on_hand_{q}"] + out[f"on_order_{q}"]
                                          - out[f"backorders_{q}"])
    return out


def test_inventory_position_line_is_the_median_position(single):
    daily = _with_position(pd.read_parquet(single / "daily.parquet"))
    axes = plots.plot_inventory(daily, sku="VITC-60", policies=POLICY_LIST, calendar=[],
                                axes=_axes(3, 1, sharex=True, sharey=True))
    for ax, policy in zip(axes, POLICY_LIST, strict=True):
        lines = [ln for ln in ax.get_lines() if ln.get_gid() == "inventory-position"]
        assert len(lines) == 1
        expected = daily[(daily.policy == policy) & (daily.sku == "VITC-60")].sort_values(
            "day")["inventory_position_p50"]
        np.testing.assert_allclose(lines[0].get_ydata(), expected.to_numpy())
        assert lines[0].get_linewidth() < 2  # thinner than the on-hand median
    assert axes[0].get_ylim()[1] >= daily["inventory_position_p50"].max()
    legend = [t.get_text() for t in axes[0].figure.legends[0].get_texts()]
    assert any(t.startswith("Median inventory position") for t in legend)


def test_inventory_without_position_columns_skips_the_line(single):
    """A results folder written before the inventory position was recorded."""
    daily = pd.read_parquet(single / "daily.parquet")
    assert "inventory_position_p50" not in daily
    axes = plots.plot_inventory(daily, sku="VITC-60", policies=POLICY_LIST,
                                axes=_axes(3, 1, sharex=True, sharey=True))
    assert not any(ln.get_gid() == "inventory-position" for ax in axes
                   for ln in ax.get_lines())


def test_portfolio_inventory_has_no_position_line(data):
    """Units of different SKUs do not add up: no position line in the value view."""
    axes = plots.plot_inventory(_with_position(data["daily"]), sku="ALL", policies=POLICY_LIST,
                                axes=_axes(3, 1, sharex=True, sharey=True))
    assert not any(ln.get_gid() == "inventory-position" for ax in axes
                   for ln in ax.get_lines())


def test_review_rhythms_in_words_and_in_panel_titles(single):
    specs = {"jit": {"review": "periodic", "review_every_days": 2},
             "safety_stock": {"review": "periodic", "review_every_days": 1},
             "hybrid": {"review": "periodic", "review_every_days": 7},
             "textbook": {"review": "continuous"}, "odd": {"type": "x"}}
    notes = plots.review_rhythms(specs)
    assert notes == {"jit": "reviews every 2 days", "safety_stock": "reviews daily",
                     "hybrid": "reviews weekly", "textbook": "continuous review"}
    daily = pd.read_parquet(single / "daily.parquet")
    axes = plots.plot_inventory(daily, sku="VITC-60", policies=POLICY_LIST, baseline="jit",
                                notes=notes, axes=_axes(3, 1, sharex=True, sharey=True))
    assert [ax.get_title(loc="left") for ax in axes] == [
        "jit (baseline) — reviews every 2 days", "safety_stock — reviews daily",
        "hybrid — reviews weekly"]


def test_make_figures_states_the_rhythms_from_the_scenario(tmp_path):
    folder = build_results(tmp_path / "run", n_skus=1, replications=5)
    scenario = folder / "scenario.yaml"
    scenario.write_text(scenario.read_text() + "\npolicies:\n  jit: {review_every_days: 3}\n"
                        "  safety_stock: {review: continuous}\n")
    figs = dict(plots.draw_figures(folder))
    titles = [ax.get_title(loc="left") for ax in figs["inventory"].axes]
    assert titles[:2] == ["jit (baseline) — reviews every 3 days",
                          "safety_stock — continuous review"]
    assert titles[2] == "hybrid"


# ------------------------------------------------------------------------- slides


@pytest.fixture(scope="module")
def slides(folder):
    return dict(plots.draw_figures(folder, "slides"))


def _texts(fig):
    """Visible, non-empty texts that are drawn (tick labels outside the view are not)."""
    hidden = set()
    for ax in fig.axes:
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not min(lo, hi) - 1e-9 <= tick.get_loc() <= max(lo, hi) + 1e-9:
                    hidden.update((id(tick.label1), id(tick.label2)))
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and id(t) not in hidden and (t.axes is None or t.axes.get_visible())]


def test_slides_are_written_to_their_own_folder(folder):
    paths = plots.make_figures(folder, formats=("png",), dpi=40, style="slides")
    assert plots.figures_dir(folder, "slides") == folder / "figures" / "slides"
    assert plots.figures_dir(folder) == folder / "figures"
    assert [p.stem for p in paths] == list(plots.SLIDE_CHARTS)
    assert all(p.parent == folder / "figures" / "slides" and p.stat().st_size > 1000
               for p in paths)
    assert plots.charts_for({}, "slides") == list(plots.SLIDE_CHARTS)
    with pytest.raises(ValueError, match="style: must be one of 'default', 'slides', got 'x'"):
        plots.make_figures(folder, style="x")
    assert plt.get_fignums() == []


def test_slides_are_16_9_with_projector_fonts(slides):
    assert list(slides) == list(plots.SLIDE_CHARTS)
    for name, fig in slides.items():
        w, h = fig.get_size_inches()
        assert w / h == pytest.approx(16 / 9, rel=0.01), name
        renderer = _drawn(fig)
        for t in _texts(fig):
            if t.get_gid() == "window-label":
                continue  # calendar labels: 16 pt asked of them below
            assert t.get_fontsize() >= 16, (name, t.get_text(), t.get_fontsize())
        headline = fig.get_suptitle()
        assert headline and fig._suptitle.get_fontsize() >= 20
        assert any(p in headline for p in POLICY_LIST)
        for ax in fig.axes:
            for loc in ("left", "center"):
                title = ax.title if loc == "center" else ax._left_title
                if title.get_text():
                    assert title.get_fontsize() >= 20, (name, title.get_text())
            for tick in ax.get_xticklabels() + ax.get_yticklabels():
                if tick.get_text():
                    assert tick.get_fontsize() >= 16
        _assert_apart([(t, t.get_window_extent(renderer)) for t in _texts(fig)
                       if t.get_gid() != "window-label"])


def test_slides_draw_few_thick_lines_and_no_sample_paths(slides):
    for name in ("inventory", "cash_over_time"):
        fig = slides[name]
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            long = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
            assert not any(ln.get_color() == plots._SAMPLE_COLOR for ln in long)
            assert not any("sample" in ln.get_label().lower() for ln in long)
            bands = [c for c in ax.collections if len(c.get_paths())]
            if name == "inventory":
                assert len(long) <= 4  # median, position, two levels at most
                assert len(bands) == 1  # the 90 % band only
            else:
                assert len(long) == len(POLICY_LIST)  # one median per policy
                assert len(bands) == len(POLICY_LIST)
            medians = [ln for ln in long if ln.get_linewidth() >= 3]
            assert medians
    tradeoff = slides["tradeoff"].axes[0]
    means = [ln for ln in tradeoff.get_lines() if ln.get_gid() == "policy-mean"]
    assert [ln.get_marker() for ln in means] == ["s", "o", "o"]
    assert [ln.get_label() for ln in means] == ["jit (baseline)", "safety_stock", "hybrid"]


def test_slide_headlines_state_the_finding(data):
    runs, daily = data["runs"], data["daily"]
    cash = runs[runs.sku == "ALL"].groupby("policy")["cash_tied_up"].mean()
    short = runs[runs.sku == "ALL"].groupby("policy")["stockout_rate"].mean()
    text = plots.tradeoff_headline(runs, POLICY_LIST)
    lean, safe = cash.idxmin(), short.idxmin()
    assert text.startswith(f"{lean} frees $") and f"({safe}: " in text
    assert "SKU-days" in text
    assert plots._money_text(cash[safe] - cash[lean], "$") in text
    total = runs[runs.sku == "ALL"].groupby("policy")["total_cost"].mean()
    assert plots.cost_headline(runs, POLICY_LIST).startswith(f"{total.idxmin()} costs least")
    level = daily[daily.sku == "ALL"].groupby("policy")["cash_tied_up_p50"].mean()
    assert plots.cash_headline(daily, POLICY_LIST).startswith(f"{level.idxmax()} ties up")
    assert f"of {level.idxmin()} on hand" in plots.inventory_headline(daily, "ALL", POLICY_LIST)


def test_tradeoff_point_names_never_overlap_when_policies_coincide(data):
    """Two policies with nearly the same means: their names must not print on each other."""
    runs = data["runs"].copy()
    twin = runs[runs.policy == "safety_stock"].assign(policy="hybrid")
    runs = pd.concat([runs[runs.policy != "hybrid"], twin], ignore_index=True)
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    axes = plots.plot_tradeoff(runs, policies=POLICY_LIST, baseline="jit",
                               axes=fig.subplots(1, 2))
    renderer = _drawn(fig)
    for ax in axes:
        names = [t for t in ax.texts if t.get_text() in ("safety_stock", "hybrid",
                                                          "jit (baseline)")]
        assert len(names) == 3
        boxes = [(t, t.get_window_extent(renderer)) for t in names]
        _assert_apart(boxes)
        frame = ax.get_window_extent(renderer)
        assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for _, b in boxes)


def _perishable_runs():
    """A run where EOQ lots of a short-lived product expire: write-offs > 0."""
    import copy

    from helpers import TINY

    from simulator.data.scenario import Scenario
    from simulator.study.runner import run_scenario

    data = copy.deepcopy(TINY)
    data.update(horizon_days=60, replications=4)
    data["suppliers"]["s"]["order_cost"] = 200
    data["skus"][0]["shelf_life_days"] = 6
    data["policies"] = {"eoq": {"type": "safety_stock", "quantity": "eoq"},
                        "jit": {"type": "jit", "review_every_days": 1}}
    return run_scenario(Scenario.from_dict(data))


def test_cost_breakdown_and_tradeoff_show_write_offs_when_stock_expires():
    result = _perishable_runs()
    runs = result.runs
    port = runs[runs.sku == "ALL"]
    assert (port.write_off_cost > 0).any()
    ax = plots.plot_cost_breakdown(runs)
    labels = ax.get_legend_handles_labels()[1]
    assert "Written off (expired, obsolete)" in labels  # rejected stock is returned, no cost
    # Each bar's height is the policy's mean total cost (the parts add up).
    tops = {}
    for patch in ax.patches:
        x = round(patch.get_x(), 6)
        tops[x] = max(tops.get(x, 0.0), patch.get_y() + patch.get_height())
    means = port.groupby("policy", sort=False).total_cost.mean()
    assert sorted(tops.values()) == pytest.approx(sorted(means.to_numpy()), rel=1e-9)
    plt.close(ax.figure)
    assert plots.overbuying_metrics(runs) == ["write_off_cost"]
    axes = plots.plot_tradeoff(runs, metrics=("cash_tied_up", "total_cost", "write_off_cost"))
    assert [a.get_title() for a in axes][-1] == "Written off vs stockout days"
    plt.close(axes[0].figure)
    # Without write-offs the chart keeps its two panels and the legend its four parts.
    assert plots.overbuying_metrics(runs.assign(write_off_cost=0.0)) == []
    assert plots.overbuying_metrics(runs.drop(columns="write_off_cost")) == []


def test_the_built_in_scenarios_policy_names_keep_their_colour_in_any_company():
    from simulator.data.scenario import builtin_scenarios, load_scenario

    for scenario in builtin_scenarios():
        names = list(load_scenario(scenario).policies)
        alone = {p: plots.policy_colors([p])[p] for p in names}
        assert plots.policy_colors(names) == alone, scenario  # no two names meet
        assert len(set(alone.values())) == len(alone), scenario


def test_cost_headline_names_only_a_part_of_the_total():
    """A horizon leftover the scenario does not count must not be 'what the dearest pays'."""
    runs = _perishable_runs().runs
    assert plots.cost_headline(runs).endswith("(mostly write-offs)")
    inflated = runs.assign(leftover_cost=runs["total_cost"] * 10)  # not in total_cost
    assert "leftover" not in plots.cost_headline(inflated)
    counted = inflated.assign(total_cost=inflated["total_cost"] + inflated["leftover_cost"])
    assert plots.cost_headline(counted).endswith("(mostly leftover stock)")
