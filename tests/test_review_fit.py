"""An adversarial review of ``supplysim fit``: cases its own tests did not cover.

Each test is one finding. Statistical tolerances are a few standard errors of the
estimate, so they hold for any seed; the cleaning checks are exact.
"""

import math

import numpy as np
import pandas as pd
import pytest

from simulator.data.fit import fit_history

DAYS = pd.date_range("2024-01-01", periods=365, freq="D")


def _csv(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _daily_rows(series):
    return [{"date": f"{d:%Y-%m-%d}", "sku": sku, "qty": int(q)}
            for sku, x in series.items() for d, q in zip(DAYS[:len(x)], x, strict=True) if q]


# --------------------------------------------------------------------------- order ids


def test_order_ids_reused_on_other_days_are_other_orders(tmp_path):
    """A till's receipt numbers restart every day: receipt 1 of Monday is not receipt 1 of
    Tuesday. Merging them put every day's orders on the first day (mean 10.3 units/day
    over 56 days for a truth of 4.8 over 120)."""
    rng = np.random.default_rng(3)
    rows, orders = [], 0
    for d in DAYS[:120]:
        k = rng.poisson(5)
        orders += k
        rows += [{"Receipt No": str(i + 1), "date": f"{d:%Y-%m-%d}", "sku": "A", "qty": 1}
                 for i in range(k)]
    f = fit_history(_csv(tmp_path / "s.csv", rows)).skus[0]
    assert f.units.size == 120 and f.units.sum() == orders
    assert f.counts.sum() == orders
    c = f.demand["customers"]
    assert abs(c["orders_per_day"] - 5) < 4 * math.sqrt(5 / 120)


def test_a_cancellation_on_a_later_day_still_reduces_its_order(tmp_path):
    rows = [{"order": "1", "date": "2024-01-01", "sku": "A", "qty": 5},
            {"order": "1", "date": "2024-01-04", "sku": "A", "qty": -2}]
    rows += [{"order": str(10 + i), "date": f"{d:%Y-%m-%d}", "sku": "A", "qty": 3}
             for i, d in enumerate(pd.date_range("2024-01-02", periods=40, freq="D"))]
    f = fit_history(_csv(tmp_path / "s.csv", rows)).skus[0]
    assert f.units[0] == 3 and f.units.sum() == 123


# --------------------------------------------------------------------------- duplicates


def test_identical_lines_within_one_order_are_kept(tmp_path):
    """Two identical lines of one order are two units sold; the order exported twice is
    still one order."""
    rows = []
    for k, d in enumerate(DAYS[:60]):
        rows += [{"order": f"o{k}", "date": f"{d:%Y-%m-%d}", "sku": "A", "qty": 1}] * 2
        rows += [{"order": f"o{k}", "date": f"{d:%Y-%m-%d}", "sku": "B", "qty": 1}]
    twice = [r for r in rows if r["order"] in ("o3", "o7")]  # two orders exported twice
    r = fit_history(_csv(tmp_path / "s.csv", rows + twice))
    assert {f.sku: f.units.sum() for f in r.skus} == {"A": 120, "B": 60}
    assert any("duplicate" in n for n in r.notes)


# --------------------------------------------------------------------------- launch / end


def test_days_after_the_last_sale_do_not_dilute_the_rate(tmp_path):
    """A SKU that stopped selling half-way (discontinued, or out of stock to the end):
    its 185 silent days were counted as zero demand, halving the rate (5.2 for 10)."""
    rng = np.random.default_rng(0)
    x = rng.poisson(10, 365)
    x[180:] = 0
    r = fit_history(_csv(tmp_path / "s.csv", _daily_rows({"A": x, "B": rng.poisson(3, 365)})))
    a = next(f for f in r.skus if f.sku == "A")
    assert abs(a.base_mean - 10) < 4 * math.sqrt(10 / 180), a.base_mean
    assert a.model == "per_day"  # not "intermittent" because of the silent half
    assert any("A:" in n and "last" in n for n in r.notes)


def test_a_normal_quiet_end_is_not_cut(tmp_path):
    """A slow seller's last few silent days are ordinary zeros, not the end of its life."""
    x = np.zeros(365, int)
    x[::5] = 4
    x[-4:] = 0
    r = fit_history(_csv(tmp_path / "s.csv", _daily_rows({"A": x, "B": np.ones(365, int)})))
    assert next(f for f in r.skus if f.sku == "A").units.size == 365


def test_steady_slow_sellers_are_rarely_cut(tmp_path):
    """1000 SKUs that sell on 0.5 % of days, steadily, for two years: a launch or an end
    should be found on at most 0.1 % of sides (2 expected). Testing the gap before the
    first sale at the rate after it (an estimate made high by that very gap) cut about 4 %
    of them (8 % of 17,000 SKUs of a 300,000-line file)."""
    days = pd.date_range("2023-01-01", periods=730, freq="D")
    rng = np.random.default_rng(8)
    sale = rng.random((1000, days.size)) < 0.005
    sale[:, 0] = sale[:, -1] = False
    sale[0, 0] = sale[0, -1] = True  # one SKU spans the whole file
    sku, day = np.nonzero(sale)
    pd.DataFrame({"date": days[day].strftime("%Y-%m-%d"), "sku": [f"S{k:03d}" for k in sku],
                  "qty": 1}).to_csv(tmp_path / "s.csv", index=False)
    r = fit_history(tmp_path / "s.csv")
    cut = sum(("launched" in n) or ("no sale in the last" in n) for n in r.notes)
    assert cut <= 12, cut  # expected at most 2: P(more than 12) < 1e-6


@pytest.mark.xfail(strict=True, reason="a stock-out inside the history is read as low "
                   "demand: sales are censored demand and fit does not detect it")
def test_a_stockout_inside_the_history_is_not_low_demand(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.poisson(10, 365)
    x[100:160] = 0  # two months out of stock
    f = fit_history(_csv(tmp_path / "s.csv", _daily_rows({"A": x}))).skus[0]
    assert abs(f.base_mean - 10) < 4 * math.sqrt(10 / 305)


# --------------------------------------------------------------------------- lead times


def _po_rows(n=40):
    rows = []
    for i, d in enumerate(pd.date_range("2024-01-01", periods=n, freq="7D")):
        # 95 units arrive after 10 days, the 5 back-ordered units after 40
        rows.append({"PO": f"P{i}", "Vendor": "v", "SKU": "A", "Order Date": f"{d:%Y-%m-%d}",
                     "Received": f"{d + pd.Timedelta(days=10):%Y-%m-%d}", "Qty": 95,
                     "Due Date": f"{d + pd.Timedelta(days=12):%Y-%m-%d}"})
        rows.append({"PO": f"P{i}", "Vendor": "v", "SKU": "A", "Order Date": f"{d:%Y-%m-%d}",
                     "Received": f"{d + pd.Timedelta(days=40):%Y-%m-%d}", "Qty": 5,
                     "Due Date": f"{d + pd.Timedelta(days=12):%Y-%m-%d}"})
    return rows


def test_partial_receipts_are_one_lead_time_per_purchase_order(tmp_path):
    """A PO received in two parts was two lead times (10 and 40 days: mean 25, sd 15), and
    each late remainder counted as an order overtaken (39 'crossed'). One lead time per
    PO, the units' mean wait: 0.95·10 + 0.05·40 = 11.5 days; nothing crossed."""
    rng = np.random.default_rng(0)
    sales = _csv(tmp_path / "s.csv", _daily_rows({"A": rng.poisson(5, 365)}))
    r = fit_history(sales, _csv(tmp_path / "po.csv", _po_rows()))
    v = r.suppliers["v"]
    assert v.leads.size == 40
    assert v.lead_time == {"dist": "constant", "value": 11.5}
    assert v.crossed == 0 and v.deliver_in_order
    assert v.on_time == 0  # never complete by the promised date


# --------------------------------------------------------------------------- order


def test_shuffled_rows_give_the_same_scenario(tmp_path):
    rng = np.random.default_rng(5)
    rows = []
    for d in DAYS[:200]:
        for i in range(rng.poisson(4)):
            sku = rng.choice(["A", "B", "C"])
            rows.append({"Receipt No": str(i + 1), "date": f"{d:%Y-%m-%d}", "sku": sku,
                         "qty": int(rng.integers(1, 4)), "price": "2.50"})
    rows += rows[5:7] + [dict(rows[10], qty=-1)]
    df = pd.DataFrame(rows)
    df.to_csv(tmp_path / "a.csv", index=False)
    df.sample(frac=1, random_state=1).to_csv(tmp_path / "b.csv", index=False)
    po = pd.DataFrame(_po_rows(12))
    po.to_csv(tmp_path / "pa.csv", index=False)
    po.sample(frac=1, random_state=2).to_csv(tmp_path / "pb.csv", index=False)

    def body(name, po_name):
        text = fit_history(tmp_path / name, tmp_path / po_name).text
        return [ln for ln in text.splitlines() if not ln.startswith("description:")]

    assert body("a.csv", "pa.csv") == body("b.csv", "pb.csv")


# --------------------------------------------------------------------------- variance


@pytest.mark.xfail(strict=True, reason="intermittent daily quantities (no order ids) are "
                   "written as Poisson orders: their variance λ·E[size²] overstates the "
                   "history's p·E[size²] − p²·E[size]² when p is not small")
def test_intermittent_daily_variance_is_reproduced(tmp_path):
    """Sales on half the days, 1..6 units: the history's daily variance is 4.5, the fitted
    model's 7.6 (+68 %), which inflates every safety stock built on it."""
    from simulator.data.scenario import Scenario
    from simulator.model.policies import demand_moments

    rng = np.random.default_rng(2)
    x = np.where(rng.random(365) < 0.5, rng.integers(1, 7, 365), 0)
    r = fit_history(_csv(tmp_path / "s.csv", _daily_rows({"A": x})))
    m, v = demand_moments(Scenario.from_yaml_text(r.text).skus[0])
    n = x.size
    assert abs(m - x.mean()) < 4 * x.std() / math.sqrt(n)
    # sd of a sample variance: sqrt((μ4 − σ⁴) / n)
    mu4 = np.mean((x - x.mean()) ** 4)
    assert abs(v - x.var()) < 4 * math.sqrt((mu4 - x.var() ** 2) / n), (v, x.var())


# --------------------------------------------------------------------------- output


def test_awkward_sku_names_survive_the_yaml(tmp_path):
    """The scenario is written with libyaml where available (a 300,000-line file of 17,000
    SKUs took 55 s, most of it pure-Python YAML); names YAML would misread stay text."""
    from simulator.data.scenario import load_scenario

    names = ["00417", "yes", "1e3", "a: b", "Äpfel #1", "- x", "on"]
    rng = np.random.default_rng(4)
    r = fit_history(_csv(tmp_path / "s.csv", _daily_rows({n: rng.poisson(3, 90) for n in names})))
    (tmp_path / "o.yaml").write_text(r.text, encoding="utf-8")
    assert sorted(s.id for s in load_scenario(tmp_path / "o.yaml").skus) == sorted(names)
