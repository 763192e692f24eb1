"""supplysim fit: parameters recovered from histories drawn with known parameters, cleaning.

Statistical checks use tolerances of several standard errors of the estimate, and a
check of a chosen family or a detected calendar counts successes over several seeds
against a bound that the test's error rate makes all but certain.
"""

import math

import numpy as np
import pandas as pd
import pytest

from simulator.data.fit import FitError, FitOptions, daily_check, fit_history
from simulator.data.scenario import load_scenario

DAYS = pd.date_range("2024-01-01", periods=365, freq="D")


def write_daily(path, series: dict[str, np.ndarray], days=DAYS, **extra):
    """Write date, sku, qty rows for the days with a sale (absent days are zeros)."""
    rows = []
    for sku, x in series.items():
        for d, q in zip(days, x, strict=True):
            if q:
                rows.append({"date": f"{d:%Y-%m-%d}", "sku": sku, "qty": q, **extra})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def fit_one(tmp_path, x, days=DAYS, **opts):
    path = write_daily(tmp_path / "s.csv", {"X": x}, days)
    return fit_history(path, options=FitOptions(**opts)).skus[0]


def test_poisson_daily_recovered_for_any_seed(tmp_path):
    chosen = 0
    for seed in range(10):
        x = np.random.default_rng(seed).poisson(20, DAYS.size)
        f = fit_one(tmp_path, x)
        se = math.sqrt(20 / DAYS.size)
        assert abs(f.base_mean - 20) < 4 * se, (seed, f.base_mean)
        chosen += f.dist == "poisson"
    # The dispersion test keeps Poisson with probability 0.99 on each seed.
    assert chosen >= 8


def test_negbin_daily_recovered(tmp_path):
    mean, sd = 30.0, 12.0
    n = mean**2 / (sd**2 - mean)
    chosen = 0
    for seed in range(6):
        x = np.random.default_rng(seed).negative_binomial(n, mean / sd**2, DAYS.size)
        f = fit_one(tmp_path, x)
        d = f.demand["per_day"]
        assert f.model == "per_day"
        assert abs(d["mean"] - mean) < 4 * sd / math.sqrt(DAYS.size)
        # sd of a sample sd: sd/sqrt(2n) × sqrt(1 + excess kurtosis / 2)
        kurt = 6 / n + (mean / sd**2) ** 2 / (n * (1 - mean / sd**2))
        assert abs(d["sd"] - sd) < 4 * sd / math.sqrt(2 * DAYS.size) * math.sqrt(1 + kurt / 2)
        assert "over-dispersed" in f.why
        chosen += d["dist"] == "negbin"
    assert chosen >= 4  # gamma is close in shape at this mean; negbin wins on counts


def test_weekly_profile_recovered_and_flat_data_gets_none(tmp_path):
    profile = np.array([0.8, 0.8, 0.9, 1.0, 1.1, 1.2, 1.2])
    profile = profile / profile.mean()
    found = 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        x = rng.poisson(20 * profile[DAYS.day_of_week])
        f = fit_one(tmp_path, x)
        assert f.weekly is not None
        found += 1
        se = np.sqrt(20 * profile / 52) / 20  # one weekday's mean over 52 weeks, relative
        assert np.all(np.abs(np.array(f.weekly) - profile) < 4 * se + 0.02), f.weekly
    flat = sum(fit_one(tmp_path, np.random.default_rng(100 + s).poisson(20, 365)).weekly is None
               for s in range(5))
    assert found == 5 and flat >= 4  # a false weekly profile has probability 0.01


def test_monthly_needs_a_year_and_trend_is_recovered(tmp_path):
    days = pd.date_range("2023-01-01", periods=730, freq="D")
    rng = np.random.default_rng(3)
    g = 0.4
    t = np.arange(days.size)
    level = 30 * (1 + g * (t - t[-1]) / 365)  # the level at the end is 30
    x = rng.poisson(level)
    f = fit_one(tmp_path, x, days)
    assert f.monthly is None
    assert f.trend == pytest.approx(g, abs=0.1)
    short = fit_one(tmp_path, x[:300], days[:300])
    assert short.monthly is None and math.isnan(short.monthly_p)  # under a year: not tested


def test_monthly_profile_recovered(tmp_path):
    days = pd.date_range("2023-01-01", periods=730, freq="D")
    season = np.array([1.5, 1.3, 1.0, 0.8, 0.7, 0.6, 0.6, 0.7, 0.9, 1.1, 1.3, 1.5])
    season = season / season.mean()
    x = np.random.default_rng(5).poisson(20 * season[days.month - 1])
    f = fit_one(tmp_path, x, days)
    assert f.monthly is not None and f.trend == 0
    assert np.all(np.abs(np.array(f.monthly) - season) < 4 * np.sqrt(20 * season / 61) / 20 + 0.02)


def test_customer_orders_recovered(tmp_path):
    rng = np.random.default_rng(11)
    lam, values, probs = 5.0, [1, 2, 5], [0.5, 0.3, 0.2]
    counts = rng.poisson(lam, DAYS.size)
    rows = []
    for d, c in zip(DAYS, counts, strict=True):
        for _ in range(c):
            rows.append({"Order ID": f"o{len(rows)}", "Order Date": f"{d:%Y-%m-%d}",
                         "SKU": "A", "Quantity": int(rng.choice(values, p=probs))})
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    f = fit_history(tmp_path / "s.csv").skus[0]
    c = f.demand["customers"]
    assert abs(c["orders_per_day"] - lam) < 4 * math.sqrt(lam / DAYS.size)
    size = c["order_size"]
    assert size["dist"] == "empirical" and size["values"] == values
    share = np.array(size["weights"]) / sum(size["weights"])
    n = counts.sum()
    assert np.all(np.abs(share - probs) < 4 * np.sqrt(np.array(probs) * (1 - np.array(probs)) / n))


def test_intermittent_daily_demand_is_customer_orders(tmp_path):
    rng = np.random.default_rng(2)
    occurs = rng.random(DAYS.size) < 0.1
    x = np.where(occurs, rng.integers(1, 7, DAYS.size), 0)
    f = fit_one(tmp_path, x)
    c = f.demand["customers"]
    assert f.model == "customers" and "intermittent" in f.why
    assert abs(c["orders_per_day"] - 0.1) < 4 * math.sqrt(0.1 * 0.9 / DAYS.size)
    from simulator.data.distributions import Empirical

    mean = c["orders_per_day"] * Empirical(**c["order_size"]).mean
    assert mean == pytest.approx(f.mean_per_day, rel=1e-3)  # the mean is kept exactly


def test_lead_times_on_time_and_crossing(tmp_path):
    write_daily(tmp_path / "s.csv", {"A": np.random.default_rng(0).poisson(5, 365),
                                     "B": np.random.default_rng(1).poisson(5, 365)})
    rng = np.random.default_rng(7)
    rows = []
    mean, sd = 10.0, 2.0
    for i, d in enumerate(pd.date_range("2024-01-01", periods=200, freq="2D")):
        lead = round(rng.gamma((mean / sd) ** 2, sd**2 / mean))
        rows.append({"PO Number": f"P{i}", "Vendor": "far", "SKU": "A", "Order Date": f"{d:%Y-%m-%d}",
                     "Received": f"{d + pd.Timedelta(days=lead):%Y-%m-%d}",
                     "Due Date": f"{d + pd.Timedelta(days=12):%Y-%m-%d}", "Qty": 10})
    for i, d in enumerate(pd.date_range("2024-01-01", periods=20, freq="14D")):
        rows.append({"PO Number": f"Q{i}", "Vendor": "near", "SKU": "B", "Order Date": f"{d:%Y-%m-%d}",
                     "Received": f"{d + pd.Timedelta(days=3):%Y-%m-%d}", "Due Date": "", "Qty": 10})
    pd.DataFrame(rows).to_csv(tmp_path / "po.csv", index=False)
    r = fit_history(tmp_path / "s.csv", tmp_path / "po.csv")
    far, near = r.suppliers["far"], r.suppliers["near"]
    leads = far.leads
    assert leads.size == 200
    assert abs(far.lead_time["mean"] - mean) < 4 * sd / math.sqrt(200)
    assert abs(far.lead_time["sd"] - sd) < 4 * sd / math.sqrt(2 * 200) + 0.3  # + rounding to days
    assert far.crossed > 0 and not far.deliver_in_order  # orders 2 days apart, sd 2 days
    assert far.on_time == pytest.approx(np.mean(leads <= 12))
    assert near.lead_time == {"dist": "constant", "value": 3} and near.crossed == 0
    assert {f.sku: f.supplier for f in r.skus} == {"A": "far", "B": "near"}
    scn = load_scenario_text(r.text)
    assert scn.suppliers["far"].deliver_in_order is False


def load_scenario_text(text):
    from simulator.data.scenario import Scenario

    return Scenario.from_yaml_text(text)


def test_abc_classes_by_revenue_and_the_scenario_loads(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for sku, price, mean in [("big", 100.0, 20), ("mid", 10.0, 20), ("small", 5.0, 10)]:
        for d, q in zip(DAYS, rng.poisson(mean, 365), strict=True):
            if q:
                rows.append({"date": f"{d:%Y-%m-%d}", "sku": sku, "qty": q, "price": price})
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    r = fit_history(tmp_path / "s.csv")
    assert {f.sku: f.abc for f in r.skus} == {"big": "A", "mid": "B", "small": "C"}
    (tmp_path / "x.yaml").write_text(r.text)
    scn = load_scenario(tmp_path / "x.yaml")
    assert set(scn.policies) == {"jit", "safety_stock", "hybrid"}
    assert "s.csv" in scn.description and "2024-01-01" in scn.description
    assert scn.start_date.isoformat() == "2024-12-31"
    from simulator.model.policies import abc_classes

    assert abc_classes(scn) == {f.sku: f.abc for f in r.skus}
    assert {f.sku: f.unit_cost for f in r.skus}["big"] == pytest.approx(60)  # assumed share


# --------------------------------------------------------------------------- cleaning


def test_absent_days_are_zeros_and_extra_columns_ignored(tmp_path):
    x = np.zeros(365, int)
    x[::5] = 10  # a sale every fifth day
    path = write_daily(tmp_path / "s.csv", {"A": x}, note="whatever", warehouse="W1")
    f = fit_history(path).skus[0]
    assert f.units.size == 365 - 4 and f.mean_per_day == pytest.approx(2.0, rel=0.02)


def test_returns_settings(tmp_path):
    rows = [
        {"order": "1", "date": "2024-01-01", "sku": "A", "qty": "5"},
        {"order": "1", "date": "2024-01-04", "sku": "A", "qty": "-2"},  # cancels 2 of order 1
        {"order": "R9", "date": "2024-01-05", "sku": "A", "qty": "-1"},  # a later return
    ] + [{"order": str(10 + i), "date": f"{d:%Y-%m-%d}", "sku": "A", "qty": "3"}
         for i, d in enumerate(pd.date_range("2024-01-04", periods=40, freq="D"))]
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    total = {}
    for how in ("cancel", "net", "ignore"):
        r = fit_history(tmp_path / "s.csv", options=FitOptions(returns=how))
        total[how] = r.skus[0].units.sum()
    # cancel: order 1 is 3 units; net: days 4 and 5 lose 2 and 1; ignore: all sales count
    assert total == {"cancel": 123, "net": 122, "ignore": 125}


def test_duplicates_dropped_with_order_ids_kept_without(tmp_path):
    base = [{"order": str(i), "date": f"{d:%Y-%m-%d}", "sku": "A", "qty": 2}
            for i, d in enumerate(pd.date_range("2024-01-01", periods=60, freq="D"))]
    pd.DataFrame(base + base[:5]).to_csv(tmp_path / "s.csv", index=False)
    r = fit_history(tmp_path / "s.csv")
    assert r.skus[0].units.sum() == 120 and any("duplicate" in n for n in r.notes)
    pd.DataFrame(base + base[:5]).drop(columns="order").to_csv(tmp_path / "t.csv", index=False)
    r = fit_history(tmp_path / "t.csv")
    assert r.skus[0].units.sum() == 130 and any("identical" in n for n in r.notes)


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S",
                                 "%d %b %Y", "%Y-%m-%d %H:%M:%S +0200"])
def test_date_formats(tmp_path, fmt):
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    times = days + pd.Timedelta(hours=23, minutes=30)  # late evening: must stay on its day
    pd.DataFrame({"date": times.strftime(fmt), "sku": "A", "qty": 1}).to_csv(
        tmp_path / "s.csv", index=False)
    r = fit_history(tmp_path / "s.csv")
    assert r.provenance["first_day"] == "2024-01-01" and r.provenance["last_day"] == "2024-02-29"
    assert r.skus[0].units.min() == 1  # every day exactly one unit


def test_timezone_converts_offset_timestamps(tmp_path):
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    stamps = (days + pd.Timedelta(hours=23)).strftime("%Y-%m-%d %H:%M:%S") + "Z"
    pd.DataFrame({"date": stamps, "sku": "A", "qty": 1}).to_csv(tmp_path / "s.csv", index=False)
    r = fit_history(tmp_path / "s.csv", options=FitOptions(timezone="Europe/Berlin"))
    assert r.provenance["first_day"] == "2024-01-02"  # 23:00 UTC is midnight in Berlin


def test_excel_serial_dates_and_thousands_separators(tmp_path):
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    serial = (days - pd.Timestamp("1899-12-30")).days
    pd.DataFrame({"date": serial, "sku": "A", "qty": ["1,234"] * 40,
                  "price": ["$1,299.50"] * 40}).to_csv(tmp_path / "s.csv", index=False)
    r = fit_history(tmp_path / "s.csv")
    assert r.provenance["first_day"] == "2024-01-01"
    assert r.skus[0].mean_per_day == 1234 and r.skus[0].price == 1299.5
    pd.DataFrame({"Datum": days.strftime("%d.%m.%Y"), "Artikel": "A", "Menge": ["1.234,5"] * 40,
                  "Preis": ["12,50 €"] * 40}).to_csv(tmp_path / "de.csv", index=False, sep=";")
    r = fit_history(tmp_path / "de.csv", options=FitOptions(
        columns={"date": "Datum", "sku": "Artikel", "quantity": "Menge", "price": "Preis"}))
    assert r.skus[0].mean_per_day == 1234.5 and r.skus[0].price == 12.5


def test_sku_leading_zeros_kept(tmp_path):
    x = np.random.default_rng(0).poisson(5, 365)
    path = write_daily(tmp_path / "s.csv", {"00123": x, "123": x})
    r = fit_history(path)
    assert sorted(f.sku for f in r.skus) == ["00123", "123"]
    scn = load_scenario_text(r.text)
    assert sorted(s.id for s in scn.skus) == ["00123", "123"]


def test_short_history_pool_or_exclude(tmp_path):
    x = np.random.default_rng(0).poisson(5, 365)
    y = np.zeros(365, int)
    y[-10:] = 2
    path = write_daily(tmp_path / "s.csv", {"OLD": x, "NEW": y})
    pooled = fit_history(path)
    new = next(f for f in pooled.skus if f.sku == "NEW")
    assert new.pooled and new.base_mean == pytest.approx(2.0)
    assert any("too little history" in n for n in pooled.notes)
    out = fit_history(path, options=FitOptions(short_history="exclude"))
    assert [f.sku for f in out.skus] == ["OLD"] and out.excluded == ["NEW"]


def test_shopify_and_woocommerce_names_recognised(tmp_path):
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    shop = pd.DataFrame({"Name": [f"#{1000 + i}" for i in range(60)],
                         "Created at": days.strftime("%Y-%m-%d 10:00:00 -0500"),
                         "Lineitem quantity": 2, "Lineitem price": "9.90", "Lineitem sku": "S1",
                         "Lineitem name": "Shirt", "Financial Status": "paid", "Total": "19.80"})
    shop.loc[3, "Financial Status"] = "refunded"
    shop.to_csv(tmp_path / "shopify.csv", index=False)
    r = fit_history(tmp_path / "shopify.csv")
    assert r.provenance["orders"] == "order id" and r.skus[0].price == pytest.approx(9.9)
    assert r.skus[0].units.sum() == 118  # the refunded order is left out
    woo = pd.DataFrame({"Order Number": range(60), "Order Date": days.strftime("%Y-%m-%d %H:%M"),
                        "Order Status": "wc-completed", "SKU": "W1", "Quantity": 1,
                        "Item Cost": "4.00"})
    woo.to_csv(tmp_path / "woo.csv", index=False)
    r = fit_history(tmp_path / "woo.csv")
    assert r.skus[0].price == 4.0 and r.skus[0].units.sum() == 60


def test_parquet_and_excel(tmp_path):
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    df = pd.DataFrame({"date": days, "sku": "A", "qty": 3})
    df.to_parquet(tmp_path / "s.parquet")
    assert fit_history(tmp_path / "s.parquet").skus[0].mean_per_day == 3
    pytest.importorskip("openpyxl")
    df.to_excel(tmp_path / "s.xlsx", index=False)
    assert fit_history(tmp_path / "s.xlsx").skus[0].mean_per_day == 3


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("cell, column, expect", [
    ("2024-13-45", "date", "row 5, column 'date': cannot read it as a date"),
    ("three", "qty", "row 5, column 'qty': cannot read it as a number"),
    ("", "qty", "row 5, column 'qty': must not be empty"),
])
def test_bad_cells_name_row_and_column(tmp_path, cell, column, expect):
    df = pd.DataFrame({"date": [f"2024-01-{d:02d}" for d in range(1, 11)], "sku": "A",
                       "qty": ["1"] * 10})
    df.loc[3, column] = cell
    df.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(FitError, match=expect):
        fit_history(tmp_path / "s.csv")


def test_missing_column_and_receipt_before_order(tmp_path):
    pd.DataFrame({"when": ["2024-01-01"], "sku": ["A"], "qty": [1]}).to_csv(tmp_path / "s.csv")
    with pytest.raises(FitError, match="no date column.*--column date=NAME"):
        fit_history(tmp_path / "s.csv")
    write_daily(tmp_path / "ok.csv", {"A": np.ones(60, int)}, days=DAYS[:60])
    pd.DataFrame({"order_date": ["2024-01-10", "2024-01-10"], "received": ["2024-01-20", "2024-01-05"],
                  "sku": "A"}).to_csv(tmp_path / "po.csv", index=False)
    with pytest.raises(FitError, match="row 3, column 'received': received before it was ordered"):
        fit_history(tmp_path / "ok.csv", tmp_path / "po.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(FitError, match="empty"):
        fit_history(tmp_path / "empty.csv")


def test_daily_check_band_and_pit(tmp_path):
    x = np.random.default_rng(1).poisson(20, 365)
    f = fit_one(tmp_path, x)
    check = daily_check(f)
    assert len(check) == 365
    assert ((check["units"] >= check["p05"]) & (check["units"] <= check["p95"])).mean() > 0.85
    assert 0.4 < check["pit"].mean() < 0.6


# --------------------------------------------------------------------------- round trip


def test_round_trip_through_the_simulator(tmp_path):
    """Fit a history simulated by supplysim; the refit's daily mean lies within the CI."""
    from simulator.data.scenario import Scenario
    from simulator.model.replication import Streams, draw_demand, make_plans

    text = """
name: truth
start_date: 2024-01-01
horizon_days: 730
suppliers: {s: {lead_time: {dist: constant, value: 5}}}
skus:
  - {id: ORD, unit_cost: 1, price: 2, supplier: s,
     demand: {customers: {orders_per_day: 6, order_size: {dist: poisson, mean: 3}},
              seasonality: {weekly: [1, 1, 1, 1, 1, 1.3, 0.7]}}}
  - {id: DAY, unit_cost: 1, price: 2, supplier: s,
     demand: {per_day: {dist: negbin, mean: 25, sd: 9}}}
policies: {jit: {type: jit}}
"""
    truth = Scenario.from_yaml_text(text)
    path = draw_demand(truth, Streams(1, 0), make_plans(truth))
    rows = []
    for sku, p in zip(truth.skus, path, strict=True):
        for orders in p.orders:
            for t, q in orders:
                if q > 0:
                    stamp = pd.Timestamp("2024-01-01") + pd.Timedelta(days=t)
                    rows.append({"time": f"{stamp:%Y-%m-%d %H:%M:%S}" if sku.id == "ORD"
                                 else f"{stamp:%Y-%m-%d}", "sku": sku.id, "qty": q})
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    r = fit_history(tmp_path / "s.csv", options=FitOptions(columns={"date": "time"}))
    refit = Scenario.from_yaml_text(r.text)
    from simulator.model.policies import demand_moments

    by_id = {s.id: s for s in refit.skus}
    for orig in truth.skus:
        new = by_id[orig.id]
        m0, v0 = demand_moments(orig)
        m1, v1 = demand_moments(new)
        se = math.sqrt(v0 / 730)
        assert abs(m1 - m0) < 4 * se, (orig.id, m0, m1)
        assert abs(math.sqrt(v1) - math.sqrt(v0)) < 0.15 * math.sqrt(v0), (orig.id, v0, v1)
    ords = next(f for f in r.skus if f.sku == "ORD")
    assert ords.model == "customers" and ords.weekly is not None
    assert ords.weekly[5] == pytest.approx(1.3, abs=0.12) and ords.weekly[6] == pytest.approx(0.7, abs=0.1)
    assert next(f for f in r.skus if f.sku == "DAY").model == "per_day"


def test_a_weekday_without_sales_is_a_closed_day(tmp_path):
    x = np.random.default_rng(4).poisson(12, 365)
    x[DAYS.day_of_week == 6] = 0  # closed on Sundays
    f = fit_one(tmp_path, x)
    assert f.weekly is not None and f.weekly[6] == 0
    assert f.demand["per_day"]["dist"] == "poisson"
    assert abs(f.base_mean * np.mean(f.weekly) - x.mean()) < 0.05
    load_scenario_text(fit_history(tmp_path / "s.csv").text)
