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
    assert len(set(colors.values())) == len(plots.PALETTE)  # every colour before any repeats
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
