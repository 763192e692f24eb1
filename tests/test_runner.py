"""Runner: determinism, common random numbers, worker-count independence, summaries."""

import io

import numpy as np
import pandas as pd
import pytest
from helpers import TINY

from simulator.data.scenario import Scenario, load_scenario
from simulator.model.replication import Streams
from simulator.study.runner import run_batch, run_scenario

SMALL = load_scenario("classroom").with_overrides(replications=12)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def test_same_seed_twice_is_identical():
    a = run_scenario(SMALL)
    b = run_scenario(SMALL)
    assert parquet_bytes(a.runs) == parquet_bytes(b.runs)
    assert parquet_bytes(a.daily) == parquet_bytes(b.daily)


def test_one_and_two_workers_give_byte_identical_runs():
    serial = run_scenario(SMALL, backend="serial")
    procs = run_scenario(SMALL, backend="processes", workers=2)
    assert parquet_bytes(serial.runs) == parquet_bytes(procs.runs)
    pd.testing.assert_frame_equal(serial.summary, procs.summary)


def test_a_replication_depends_only_on_seed_and_index():
    whole = run_batch(SMALL, [0, 1, 2, 3]).rows
    alone = run_batch(SMALL, [2]).rows
    assert [r for r in whole if r["replication"] == 2] == alone


def test_different_seeds_differ():
    a = run_scenario(SMALL).runs
    b = run_scenario(SMALL.with_overrides(seed=SMALL.seed + 1)).runs
    assert not np.allclose(a["fill_rate"], b["fill_rate"])


def test_streams_are_independent_per_source_and_replication():
    s0, s1 = Streams(5, 0), Streams(5, 1)
    x = s0.rng("demand:A").random(4)
    assert np.array_equal(x, Streams(5, 0).rng("demand:A").random(4))
    assert not np.array_equal(x, s1.rng("demand:A").random(4))
    assert not np.array_equal(x, s0.rng("demand:B").random(4))


def test_stream_names_are_tuples_that_never_collide_when_joined():
    """SKU 'A:B' with supplier 'C' and SKU 'A' with supplier 'B:C' read different streams."""
    s = Streams(5, 0)
    x = s.rng("lead_time", "A:B", "C").random(4)
    assert not np.array_equal(x, s.rng("lead_time", "A", "B:C").random(4))
    assert not np.array_equal(x, s.rng("lead_time:A:B:C").random(4))
    assert np.array_equal(x, Streams(5, 0).rng("lead_time", "A:B", "C").random(4))


def test_lead_time_tape_reads_the_stream_from_its_start_for_every_reader():
    dist = load_scenario("classroom").suppliers["wholesaler"].lead_time
    streams = Streams(5, 3)
    key = ("lead_time", "A", "s")
    first, second = streams.draws(key, dist), streams.draws(key, dist)
    a = [next(first) for _ in range(150)]  # past two blocks: the tape grows
    b = [next(second) for _ in range(150)]
    rng = Streams(5, 3).rng(*key)
    fresh = np.concatenate([dist.sample(rng, 64) for _ in range(3)])[:150]
    assert a == b == fresh.tolist()
    other = Streams(5, 3).draws(("lead_time", "B", "s"), dist)
    assert next(other) != a[0]


@pytest.mark.parametrize("enabled", [True, False])
def test_run_batch_restores_the_garbage_collector(enabled):
    import gc

    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        run_batch(SMALL, [0])
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_common_random_numbers_same_demand_for_every_policy():
    runs = run_scenario(SMALL).runs
    per_rep = runs[runs.sku == "ALL"].pivot(index="replication", columns="policy",
                                            values="demand_units")  # fmt: skip
    assert (per_rep.nunique(axis=1) == 1).all()


def test_rows_carry_provenance_and_portfolio_rows():
    res = run_scenario(SMALL)
    runs = res.runs
    assert list(runs.columns[:5]) == ["replication", "seed", "policy", "sku", "abc_class"]
    assert set(runs.sku) == {"MUG-01", "ALL"}
    assert len(runs) == 12 * 3 * 2
    assert (runs.seed == SMALL.seed).all()


def test_portfolio_rows_sum_units_and_recompute_ratios():
    data = {
        **TINY,
        "horizon_days": 60,
        "suppliers": {"s": {"lead_time": {"dist": "gamma", "mean": 3, "sd": 1}}},
        "skus": [
            {**TINY["skus"][0], "demand": {"per_day": {"dist": "poisson", "mean": 10}}},
            {**TINY["skus"][0], "id": "Y", "unit_cost": 5,
             "demand": {"per_day": {"dist": "poisson", "mean": 4}}},
        ],
        "replications": 3,
    }  # fmt: skip
    runs = run_scenario(Scenario.from_dict(data)).runs
    for _, g in runs.groupby("replication"):
        skus, port = g[g.sku != "ALL"], g[g.sku == "ALL"].iloc[0]
        for col in ("demand_units", "served_units", "holding_cost", "total_cost", "cash_tied_up"):
            assert port[col] == pytest.approx(skus[col].sum())
        assert port.fill_rate == pytest.approx(skus.served_units.sum() / skus.demand_units.sum())
        assert port.any_stockout_rate >= skus.stockout_rate.max()
        # The headline rate is the demand-weighted mean: it does not grow with SKU count.
        weighted = (skus.stockout_rate * skus.demand_units).sum() / skus.demand_units.sum()
        assert port.stockout_rate == pytest.approx(weighted)
        assert skus.stockout_rate.min() <= port.stockout_rate <= skus.stockout_rate.max()


def test_summary_ci_and_paired_differences():
    res = run_scenario(SMALL.with_overrides(replications=30))
    s = res.summary.set_index(["policy", "sku", "metric"])
    row = s.loc[("jit", "ALL", "fill_rate")]
    x = res.runs.query("policy == 'jit' and sku == 'ALL'").fill_rate
    assert row["mean"] == pytest.approx(x.mean())
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    assert row["p5"] <= row["p50"] <= row["p95"]
    d = res.differences.set_index(["policy", "sku", "metric"]).loc[("hybrid", "ALL", "cash_tied_up")]
    assert d["baseline"] == "jit"
    pair = res.runs.query("sku == 'ALL'").pivot(index="replication", columns="policy",
                                                 values="cash_tied_up")  # fmt: skip
    assert d["mean"] == pytest.approx((pair.hybrid - pair.jit).mean())
    assert d["rel_mean"] == pytest.approx(pair.hybrid.mean() / pair.jit.mean() - 1)
    assert d["ci_low"] < d["mean"] < d["ci_high"]


def test_daily_bands_are_ordered_percentiles():
    daily = run_scenario(SMALL).daily
    assert set(daily.policy) == {"jit", "safety_stock", "hybrid"}
    assert (daily.day.groupby([daily.policy, daily.sku]).count() == 365).all()
    for f in ("on_hand", "backorders", "cash_tied_up"):
        assert (daily[f"{f}_p5"] <= daily[f"{f}_p50"]).all()
        assert (daily[f"{f}_p50"] <= daily[f"{f}_p95"]).all()
    sku_rows = daily[daily.sku == "MUG-01"]
    assert sku_rows.order_up_to.notna().all()


@pytest.mark.parametrize("unmet", ["backorder", "lost_sale"])
def test_one_sku_portfolio_row_equals_the_general_sum(unmet):
    """A one-SKU portfolio row is copied from the SKU's; summing with an idle SKU agrees."""
    data = {
        **TINY,
        "horizon_days": 60,
        "warmup_days": 7,
        "unmet_demand": unmet,
        "suppliers": {"s": {"lead_time": {"dist": "gamma", "mean": 3, "sd": 1}, "order_cost": 4}},
    }
    data["skus"] = [
        {**TINY["skus"][0], "backorder_cost_per_day": 0.3,
         "demand": {"customers": {"orders_per_day": 4,
                                  "order_size": {"dist": "poisson", "mean": 3}}}},
    ]  # fmt: skip
    idle = {**TINY["skus"][0], "id": "IDLE", "initial_on_hand": 0,
            "demand": {"customers": {"orders_per_day": 0,
                                     "order_size": {"dist": "constant", "value": 1}}}}  # fmt: skip
    data["policies"] = {"jit": {"type": "jit", "review_every_days": 3}}
    one = Scenario.from_dict(data)
    two = Scenario.from_dict({**data, "skus": [*data["skus"], idle]})
    for r in range(3):
        (solo,) = [x for x in run_batch(one, [r]).rows if x["sku"] == "ALL"]
        (summed,) = [x for x in run_batch(two, [r]).rows if x["sku"] == "ALL"]
        assert solo == summed


def test_collector_pause_is_shared_by_batches_running_at_once():
    import gc
    import threading

    from simulator.study.runner import _collector_paused

    was = gc.isenabled()
    gc.enable()
    try:
        inside, release = threading.Event(), threading.Event()

        def long_batch():
            with _collector_paused():
                inside.set()
                release.wait(10)

        worker = threading.Thread(target=long_batch)
        worker.start()
        inside.wait(10)
        run_batch(SMALL, [0])  # starts and ends while the other batch runs
        assert not gc.isenabled()  # still paused for the batch in the thread
        release.set()
        worker.join(10)
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_streams_refuse_a_second_distribution_for_one_source():
    scn = load_scenario("classroom")
    streams = Streams(1, 0)
    streams.draws("lead_time:X:s", scn.suppliers["wholesaler"].lead_time)
    other = Scenario.from_dict(TINY).suppliers["s"].lead_time
    with pytest.raises(ValueError, match="another distribution"):
        streams.draws("lead_time:X:s", other)


def test_daily_bands_stay_bounded_whatever_the_replications_and_skus(monkeypatch):
    """daily.parquet has one row per policy × kept SKU × day: more replications add none.

    Bands use the first DAILY_BAND_REPLICATIONS replications (made 2 here) and
    a catalogue past PER_SKU_DAILY_LIMIT SKUs keeps only the portfolio's paths.
    """
    import simulator.study.runner as runner

    monkeypatch.setattr(runner, "DAILY_BAND_REPLICATIONS", 2)
    data = {**TINY, "horizon_days": 20}
    data["skus"] = [{**TINY["skus"][0], "id": f"S{i:02d}"} for i in range(12)]
    sizes = {}
    for n in (2, 5):
        res = run_scenario(Scenario.from_dict({**data, "replications": n}))
        sizes[n] = (len(res.daily), sorted(res.daily["sku"].unique()))
        assert len(res.runs) == n * 13  # every replication still has its rows
    assert sizes[2] == sizes[5] == (20, ["ALL"])
