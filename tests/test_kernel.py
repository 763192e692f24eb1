"""Agreement of the fast engine with the SimPy engine: the specification of the fast engine.

For the same scenario and seed, every row of ``runs.parquet`` from the fast engine
equals the SimPy engine's, replication by replication: identifiers and unit counts
exactly, money, rates and averages within 1e-9 relative (docs/engines.md). Checked on
every built-in scenario the fast engine supports and on a hypothesis family of random
scenarios over the supported features (tests/strategies.py, made supported), plus the
features it does not support, listed explicitly, and the ``--engine`` option.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import scenario_dicts

from simulator.cli import cli
from simulator.data.scenario import Scenario
from simulator.model.kernel import demand_arrays, unsupported
from simulator.model.replication import Streams, draw_demand
from simulator.study.engines import choose_engine
from simulator.study.runner import prepared, run_batch, run_scenario

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
BUILTINS = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
UNSUPPORTED_BUILTINS: dict[str, list[str]] = {}
"""Built-in scenarios the fast engine does not run yet, and why (``auto`` runs SimPy)."""
UNSUPPORTED_FEATURES = {
    "fresh-goods": {"suppliers.dairy.quality", "skus[0].shelf_life_days", "policies.jit.forecast"},
    "product-slowdown": {"skus[0].lifecycle", "policies.jit_learned.forecast"},
}  # fmt: skip
"""Built-in scenarios of features being added now (overbuying): at least these fields are
named (the scenarios may still change)."""
EXACT = {"replication", "seed", "policy", "sku", "abc_class", "demand_units", "served_units",
         "lost_units", "backordered_units", "orders_placed", "customer_orders", "days"}  # fmt: skip
"""Columns that must be equal to the last bit; every other one within ``RTOL``."""
RTOL = 1e-9


SUPPORTED_BUILTINS = [n for n in BUILTINS
                      if n not in UNSUPPORTED_BUILTINS and n not in UNSUPPORTED_FEATURES]


def load(name: str) -> Scenario:
    return Scenario.from_yaml(SCENARIO_DIR / f"{name}.yaml")


def assert_agree(scn: Scenario, replications: list[int]) -> None:
    """Both engines' batches: the same columns, rows, values and daily paths."""
    a = run_batch(scn, replications, "simpy")
    b = run_batch(scn, replications, "fast")
    assert list(a.columns) == list(b.columns)
    for col, x in a.columns.items():
        y = b.columns[col]
        if isinstance(y, np.ndarray):  # the fast engine's numbers travel as arrays
            assert y.dtype == (np.int64 if col == "replication" else np.float64), col
            y = y.tolist()
        assert len(x) == len(y), col
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            where = f"{col}, row {i} (replication {a.columns['replication'][i]}, " \
                    f"policy {a.columns['policy'][i]}, sku {a.columns['sku'][i]}): simpy {u!r}, fast {v!r}"  # fmt: skip
            assert type(u) is type(v) or {type(u), type(v)} <= {int, float}, where
            if col in EXACT or isinstance(u, str):
                assert u == v or (u != u and v != v), where
            elif math.isnan(u):
                assert math.isnan(v), where
            else:
                assert u == v or abs(u - v) <= RTOL * max(abs(u), abs(v)), where
    assert a.daily.keys() == b.daily.keys()
    for key, arr in a.daily.items():
        np.testing.assert_allclose(b.daily[key], arr, rtol=1e-6, atol=1e-3, err_msg=str(key))


# --------------------------------------------------------------------------- what is supported


def test_unsupported_features_are_listed_explicitly():
    """Every feature the fast engine lacks is named, with its field path (auto falls back)."""
    scn = load("classroom").to_dict()
    scn["suppliers"]["wholesaler"]["disruptions"] = [
        {"kind": "capacity", "units_per_week": 100},
        {"kind": "port_closure", "start": 10, "end": 20, "clearing_delay": {"dist": "constant", "value": 1}},
        {"kind": "port_closure", "start": 40, "end": 50},
    ]
    scn["suppliers"]["backup"] = {"lead_time": {"dist": "constant", "value": 1}}
    scn["skus"][0]["backup_supplier"] = "backup"
    scn["skus"][0]["shelf_life_days"] = 30
    scn["policies"]["jit"]["forecast"] = {"method": "moving_average", "window_days": 7}
    assert unsupported(Scenario.from_dict(scn)) == [
        "skus[0].shelf_life_days: not implemented by the fast engine",
        "policies.jit.forecast: not implemented by the fast engine",
    ]  # (closures that clear after different delays are supported: see below)


def test_fields_the_fast_engine_does_not_know_are_unsupported():
    """Any schema field outside the fast engine's list, set to other than its default, falls back.

    This is how features added to the schema later (learned forecasts, shelf life, ...)
    reach ``auto``: nothing to register, they are unsupported until implemented.
    """
    from simulator.model import kernel

    scn = load("classroom")
    assert unsupported(scn) == []  # fields it does not know, left at their defaults, are fine
    known = saved = kernel._SUPPORTED["Sku"]
    try:
        kernel._SUPPORTED["Sku"] = known - {"moq"}
        data = scn.to_dict()
        data["skus"][0]["moq"] = 5
        assert unsupported(Scenario.from_dict(data)) == [
            "skus[0].moq: not implemented by the fast engine"
        ]
    finally:
        kernel._SUPPORTED["Sku"] = saved


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_scenarios_supported_or_listed(name):
    reasons = unsupported(load(name))
    if name in UNSUPPORTED_FEATURES:
        assert UNSUPPORTED_FEATURES[name] <= {r.split(":")[0] for r in reasons}
    else:
        assert reasons == UNSUPPORTED_BUILTINS.get(name, [])


def with_shelf_life(name: str = "classroom") -> Scenario:
    """A built-in scenario with a feature the fast engine lacks (shelf life) on every SKU."""
    data = load(name).to_dict()
    for sku in data["skus"]:
        sku["shelf_life_days"] = 60
    return Scenario.from_dict(data)


def test_auto_chooses_and_says_why():
    assert choose_engine(load("classroom"), "auto")[0] == "fast"
    assert choose_engine(load("port-strike"), "auto")[0] == "fast"
    used, why = choose_engine(with_shelf_life("port-strike"), "auto")
    assert used == "simpy" and "skus[0].shelf_life_days" in why and "1 more" in why
    with pytest.raises(ValueError, match="--engine fast: the fast engine does not support"):
        choose_engine(with_shelf_life(), "fast")


# --------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("name", SUPPORTED_BUILTINS)
def test_builtin_scenarios_agree(name):
    scn = load(name)
    assert_agree(scn, [0, 1, 7] if len(scn.skus) < 10 else [3])


@pytest.mark.slow
@pytest.mark.parametrize("name", SUPPORTED_BUILTINS)
def test_builtin_scenarios_agree_many(name):
    assert_agree(load(name), list(range(40)))


@pytest.mark.parametrize("name", SUPPORTED_BUILTINS)
def test_demand_arrays_are_draw_demand(name):
    """The fast engine's demand layout holds exactly the SimPy engine's draws."""
    scn = load(name)
    plans, _ = prepared(scn)
    for r in (0, 5):
        paths = draw_demand(scn, Streams(scn.seed, r), plans)
        off, t, q = demand_arrays(scn, Streams(scn.seed, r), plans)
        for k, path in enumerate(paths):
            for i, day in enumerate(path.orders):
                got = list(zip(t[off[k, i] : off[k, i + 1]].tolist(),
                               q[off[k, i] : off[k, i + 1]].tolist(), strict=True))  # fmt: skip
                assert got == day, (name, r, k, i)


@given(
    root=st.one_of(st.integers(0, 2**32 + 5), st.integers(0, 2**130)),
    keys=st.lists(
        st.tuples(st.one_of(st.integers(0, 5000), st.integers(2**32 - 2, 2**40)),
                  st.lists(st.one_of(st.integers(0, 3), st.integers(0, 2**64 - 1)),
                           max_size=4)),
        min_size=1, max_size=12,
    ),
)  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_compiled_seed_states_are_numpys(root, keys):
    """The fast engine's compiled SeedSequence gives numpy's seed words for any key.

    Keys mix small and 64-bit parts (numpy splits an integer into as many 32-bit words
    as it needs: a zero or a small part is one word), and roots of any size.
    """
    from simulator.model.kernel import _key_words, _words
    from simulator.model.kernel_loop import seed_states

    spawn = [(r, *parts) for r, parts in keys]
    words, lens = _key_words([list(k) for k in spawn])
    out = np.zeros((len(spawn), 4), np.uint64)
    seed_states(np.array(_words(root), np.uint64), words, lens, out)
    for i, key in enumerate(spawn):
        want = np.random.SeedSequence(root, spawn_key=key).generate_state(4, np.uint64)
        assert out[i].tolist() == want.tolist(), (root, key)


@pytest.mark.parametrize("name", ["catalog", "classroom", "port-strike"])
def test_seeded_streams_are_the_engines_streams(name):
    """Every stream the fast engine seeds in bulk draws what ``Streams.rng`` draws."""
    from simulator.model.kernel import _seed_states, _SeededStreams, _static

    scn = load(name)
    plans, policies = prepared(scn)
    static = _static(scn, plans, policies)
    reps = [0, 7, 2**32 + 1]
    words = _seed_states(scn, static, reps)
    assert len(static.sources) >= len(scn.skus) * 2
    for b, r in enumerate(reps):
        fast = _SeededStreams(scn.seed, r, static.sources, words[b])
        ref = Streams(scn.seed, r)
        for source in static.sources:
            assert fast.rng(*source).random(8).tolist() == ref.rng(*source).random(8).tolist()
        other = ("outages", "x", "y", "1")  # not in the list: seeded the usual way
        assert fast.rng(*other).random(3).tolist() == ref.rng(*other).random(3).tolist()


@given(
    weights=st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1e3)), min_size=1, max_size=9)
    .filter(lambda w: sum(w) > 0),
    size=st.integers(0, 3000), seed=st.integers(0, 2**32),
)  # fmt: skip
@settings(max_examples=100, deadline=None)
def test_compiled_empirical_draws_are_choices(weights, size, seed):
    """The fast engine's empirical draw gives ``Empirical.sample``'s values (``Generator.choice``).

    Zero weights (at the ends and inside), one value, and weights that do not sum to 1.
    """
    from simulator.data.distributions import Empirical
    from simulator.model.kernel import _sample

    dist = Empirical(dist="empirical", values=[float(10 + i) for i in range(len(weights))],
                     weights=weights)  # fmt: skip
    want = dist.sample(np.random.default_rng(seed), size)
    got = _sample(dist, np.random.default_rng(seed), size)
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("rate", [0.05, 3.0, 23.0, 24.0, 60.0, 400.0])
def test_compiled_sort_within_days_is_the_engines(rate):
    """Order times sorted within each day as the SimPy engine sorts them, quiet or busy days.

    (Days of 24 orders or more take the bucket path; ties and times close to 1 included.)
    """
    from simulator.model.kernel_loop import sort_within_days
    from simulator.model.replication import _sort_within_days

    rng = np.random.default_rng(int(rate * 100))
    counts = rng.poisson(rate, 200)
    u = rng.random(int(counts.sum()))
    u[::7] = np.nextafter(1.0, 0.0)
    u[1::11] = 0.5
    assert sort_within_days(u, counts).tolist() == _sort_within_days(u, counts).tolist()


@pytest.mark.parametrize("dist", [
    {"dist": "constant", "value": 3}, {"dist": "normal", "mean": 5, "sd": 2},
    {"dist": "lognormal", "mean": 5, "sd": 2}, {"dist": "gamma", "mean": 5, "sd": 2},
    {"dist": "gamma", "mean": 5, "sd": 9}, {"dist": "exponential", "mean": 3},
    {"dist": "poisson", "mean": 3}, {"dist": "poisson", "mean": 30},
    {"dist": "negbin", "mean": 3, "sd": 4}, {"dist": "uniform", "low": 1, "high": 4},
    {"dist": "discrete_uniform", "low": 1, "high": 4},
    {"dist": "triangular", "low": 1, "mode": 2, "high": 4},
    {"dist": "empirical", "values": [1, 2, 3], "weights": [1, 2, 3]},
])  # fmt: skip
def test_lead_time_blocks_drawn_in_one_call_are_the_same(dist):
    """The fast engine draws a lead-time tape in one call; the SimPy engine block by block.

    Both give the same numbers for every distribution kind (numpy draws element by
    element from the stream), which the fast engine relies on.
    """
    from pydantic import TypeAdapter

    from simulator.data.distributions import Distribution
    from simulator.model.suppliers import LEAD_TIME_BLOCK

    d = TypeAdapter(Distribution).validate_python(dist)
    rng = np.random.default_rng(11)
    blocks = np.concatenate([d.sample(rng, LEAD_TIME_BLOCK) for _ in range(5)])
    assert blocks.tolist() == d.sample(np.random.default_rng(11), 5 * LEAD_TIME_BLOCK).tolist()


AGREE = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip


@AGREE
@given(scenario_dicts(max_horizon=60))
def test_random_scenarios_agree(data):
    """Policies, review types, demand kinds, lost sales and backorders, closures, outages,
    shocks, capacity limits, backup suppliers (expediting), campaigns, seasonality, packs,
    MOQ, minimum order values, open orders."""
    scn = Scenario.from_dict(data)
    assert unsupported(scn) == []
    assert_agree(scn, [0, 1])


@pytest.mark.slow
@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(scenario_dicts(max_horizon=200))
def test_random_scenarios_agree_many(data):
    scn = Scenario.from_dict(data)
    assert_agree(scn, [0, 1, 2])


@st.composite
def expediting(draw):
    """Random scenarios built to expedite: every SKU with a backup, a slow primary, a fast
    backup, announced outages on the primary, policies that expedite."""
    data = draw(scenario_dicts(max_horizon=90))
    data["suppliers"]["main"]["lead_time"] = {"dist": "gamma", "mean": draw(st.floats(8, 30)),
                                              "sd": draw(st.floats(0.5, 6))}  # fmt: skip
    data["suppliers"]["backup"]["lead_time"] = {"dist": "constant", "value": draw(st.integers(0, 3))}
    span = data["horizon_days"]
    data["suppliers"]["main"]["disruptions"].append(
        {"kind": "supplier_outage", "start": 0, "end": max(1, span // 3),
         "mode": draw(st.sampled_from(["queue", "refuse"])), "announced": True})  # fmt: skip
    for sku in data["skus"]:
        sku["supplier"], sku["backup_supplier"] = "main", "backup"
    for spec in data["policies"].values():
        if spec["type"] not in ("safety_stock", "hybrid"):
            spec.clear()
            spec.update({"type": "hybrid", "review_every_days": draw(st.integers(1, 7))})
        spec["use_backup"] = True
    return data


def lasting_changes(data: dict, leftover: dict | None, k: int = 0) -> dict:
    """Give SKU k demand shifts (announced and not), regime changes and a salvage value."""
    data = copy.deepcopy(data)
    sku = data["skus"][k]
    span = data["horizon_days"]
    sku["demand"]["shifts"] = [{"start": span // 3, "multiplier": 0.5},
                               {"start": 2 * span // 3, "multiplier": 1.8, "announced": True}]
    sku["demand"]["regime_changes"] = {"per_year": 4, "multiplier":
                                       {"dist": "lognormal", "mean": 1, "sd": 0.3}}  # fmt: skip
    sku["salvage_value"] = 0.3
    if leftover is not None:
        data["leftover"] = leftover
    return data


@pytest.mark.parametrize("leftover", [None, {"in_total_cost": True, "excess_days": 60},
                                      {"in_total_cost": False}])  # fmt: skip
@pytest.mark.parametrize("name", ["classroom", "catalog"])
def test_demand_shifts_regime_changes_and_leftover_agree(name, leftover):
    """Shifts, regime changes, salvage and the leftover measures run on the fast engine.

    These make a scenario an overbuying one: its rows carry the overbuying columns, the
    leftover (in the total cost or not) and the excess over the demand expected after the
    horizon, which regime changes make differ by replication.
    """
    scn = Scenario.from_dict(lasting_changes(load(name).to_dict(), leftover))
    assert scn.overbuying and unsupported(scn) == []
    assert_agree(scn, [0, 1, 2])
    plans, _ = prepared(scn)
    paths = draw_demand(scn, Streams(scn.seed, 1), plans)
    after = np.zeros(len(scn.skus))
    off, t, q = demand_arrays(scn, Streams(scn.seed, 1), plans, after=after)
    assert after.tolist() == [p.after for p in paths]
    assert q.tolist() == [u for p in paths for day in p.orders for _, u in day]


@AGREE
@given(scenario_dicts(max_horizon=60), st.sampled_from([None, {"in_total_cost": True}]))
def test_random_scenarios_with_lasting_changes_agree(data, leftover):
    scn = Scenario.from_dict(lasting_changes(data, leftover))
    assert unsupported(scn) == []
    assert_agree(scn, [0, 1])


def test_closures_clearing_after_different_delays_agree(monkeypatch):
    """Closures of one supplier that clear after delays of different distributions.

    The SimPy engine draws each held shipment's delay from the route's one clearing stream
    with the distribution of the closure that caught it; the fast engine learns which as
    it runs (a draw from the wrong one is marked and drawn again). Three policies that
    order at different rhythms are caught by the closures in different orders; a backup
    route is caught too. The redraw path must run for the test to mean anything.
    """
    from simulator.model import kernel

    scn = load("classroom").to_dict()
    scn["suppliers"]["wholesaler"]["lead_time"] = {"dist": "gamma", "mean": 6, "sd": 3}
    scn["suppliers"]["wholesaler"]["disruptions"] = [
        {"kind": "port_closure", "start": 20, "end": 45,
         "clearing_delay": {"dist": "gamma", "mean": 4, "sd": 2}},
        {"kind": "port_closure", "start": 60, "end": 70,
         "clearing_delay": {"dist": "constant", "value": 1}},
        {"kind": "port_closure", "start": 68, "end": 90,
         "clearing_delay": {"dist": "uniform", "low": 0, "high": 9}},
        {"kind": "port_closure", "start": 150, "end": 170,
         "clearing_delay": {"dist": "gamma", "mean": 4, "sd": 2}},
    ]  # fmt: skip
    scn["suppliers"]["backup"] = {
        "lead_time": {"dist": "constant", "value": 2},
        "disruptions": [
            {"kind": "port_closure", "start": 30, "end": 40,
             "clearing_delay": {"dist": "constant", "value": 3}},
            {"kind": "port_closure", "start": 100, "end": 120,
             "clearing_delay": {"dist": "exponential", "mean": 2}},
        ],
    }  # fmt: skip
    scn["skus"][0]["backup_supplier"] = "backup"
    scn["policies"]["hybrid"]["use_backup"] = True
    scn = Scenario.from_dict(scn)
    assert unsupported(scn) == []
    redrawn = []
    wrong_kind = kernel._wrong_kind

    def counting(*args):
        found = wrong_kind(*args)
        redrawn.append(found)
        return found

    monkeypatch.setattr(kernel, "_wrong_kind", counting)
    assert_agree(scn, list(range(6)))
    assert sum(redrawn) >= 3  # delays were drawn again from the right distribution
    # Exact, but each wrong guess costs a rerun: auto takes SimPy, --engine fast is allowed.
    assert choose_engine(scn, "auto") == ("simpy", "faster here: " + kernel.slower(scn)[0])
    assert choose_engine(scn, "fast")[0] == "fast"


@AGREE
@given(expediting())
def test_expediting_scenarios_agree(data):
    scn = Scenario.from_dict(data)
    assert unsupported(scn) == []
    assert_agree(scn, [0, 1])


@AGREE
@given(scenario_dicts(max_horizon=40))
def test_auto_never_runs_fast_on_what_it_lacks(data):
    """Auto runs fast exactly where nothing is unsupported nor slower, and there it agrees."""
    from simulator.model.kernel import slower

    scn = Scenario.from_dict(data)
    used, why = choose_engine(scn, "auto")
    assert (used == "fast") == (unsupported(scn) == [] and slower(scn) == [])
    if used == "fast":
        assert_agree(scn, [0])
    elif unsupported(scn) == []:  # supported but slower: auto says so; fast still agrees
        assert why.startswith("faster here: suppliers.")
        assert choose_engine(scn, "fast")[0] == "fast"


# --------------------------------------------------------------------------- backends, CLI


def test_processes_backend_gives_the_serial_rows():
    scn = load("promo-launch").with_overrides(replications=12)
    serial = run_scenario(scn, "serial", engine="fast")
    both = run_scenario(scn, "processes", workers=2, engine="fast")
    assert serial.runs.equals(both.runs)
    assert both.metadata["engine"] == "fast"


@pytest.mark.slow
def test_dask_backend_gives_the_serial_rows():
    pytest.importorskip("distributed")
    scn = load("promo-launch").with_overrides(replications=12)
    serial = run_scenario(scn, "serial", engine="fast")
    dask = run_scenario(scn, "dask", workers=2, engine="fast")
    assert serial.runs.equals(dask.runs)


def test_cli_engine_auto_says_once_and_records_it(tmp_path):
    runner = CliRunner()
    out = tmp_path / "r"
    res = runner.invoke(cli, ["run", "classroom", "-n", "3", "-w", "1", "--no-plots", "--engine",
                              "auto", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.output.count("engine: fast (") == 1
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["engine"] == "fast"
    assert meta["engine_reason"].startswith("every feature")  # auto's reason, not "asked for"
    rerun = runner.invoke(cli, ["rerun", str(out), "-w", "1"])
    assert rerun.exit_code == 0, rerun.output


def test_cli_engine_fast_on_unsupported_is_one_line_exit_2(tmp_path):
    path = tmp_path / "cap.yaml"
    path.write_text(with_shelf_life().to_yaml())
    res = CliRunner().invoke(cli, ["run", str(path), "-n", "2", "-w", "1", "--no-plots",
                                   "--engine", "fast", "--out", str(tmp_path / "r")])  # fmt: skip
    assert res.exit_code == 2
    assert "does not support skus[0].shelf_life_days" in res.output
    assert "Traceback" not in res.output


def test_run_default_engine_is_simpy(tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(cli, ["run", "classroom", "-n", "2", "-w", "1", "--no-plots", "-q",
                                   "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((out / "metadata.json").read_text())["engine"] == "simpy"


def test_help_does_not_import_numba():
    import subprocess
    import sys

    code = "import sys; from simulator.cli import main; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_yaml_roundtrip_of_supported_builtins_keeps_support():
    for name in BUILTINS:
        scn = load(name)
        again = Scenario.from_dict(yaml.safe_load(scn.to_yaml()))
        assert unsupported(again) == unsupported(scn)
