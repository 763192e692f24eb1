"""The classroom app's plain logic, without a browser or Shiny.

Settings -> scenario mapping, the run cache and superseding, the plain-language
reading, the challenge's guards and its leaderboard on common random numbers.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import Future

import numpy as np
import pandas as pd
import pytest

from simulator.data.scenario import Scenario, ScenarioError, load_scenario
from simulator.present.app.challenge import (
    ChallengeError,
    Classroom,
    Entry,
    Limits,
    Objective,
    RoundSpec,
    Target,
    leaderboard,
    replay_scenario,
    round_csv,
)
from simulator.present.app.params import (
    ExplorerParams,
    params_from_scenario,
    to_scenario,
)
from simulator.present.app.reading import describe_change, reading
from simulator.present.app.simulations import Outcome, ResultCache, Simulations, Superseded
from simulator.present.app.tables import leaderboard_table, summary_table
from simulator.study.runner import run_scenario


@pytest.fixture(scope="module")
def classroom() -> Scenario:
    return load_scenario("classroom")


# ----------------------------------------------------------------------------- settings


def test_classroom_settings_round_trip_to_the_same_scenario(classroom):
    p = params_from_scenario(classroom)
    assert (p.demand_mean, p.demand_cv, p.lead_mean, p.order_cost) == (20, 0.3, 7, 25)
    made, notes = to_scenario(classroom, p)
    assert made.to_dict() == classroom.to_dict() and notes == []


def test_each_slider_reaches_its_field(classroom):
    p = dataclasses.replace(params_from_scenario(classroom), replications=50)
    made, _ = to_scenario(classroom, dataclasses.replace(
        p, demand_mean=30, demand_cv=0.6, lead_mean=10, lead_cv=0.5, order_cost=80,
        holding_rate=0.4, service_level=0.99, jit_review=5, closure=True,
        closure_start=100, closure_days=28, campaign_uplift=2.0, campaign_start=150))
    d = made.to_dict()
    sku, sup = d["skus"][0], d["suppliers"]["wholesaler"]
    assert sku["demand"]["per_day"] == {"dist": "gamma", "mean": 30.0, "sd": 18.0}
    assert sup["lead_time"] == {"mean": 10.0, "sd": 5.0, "dist": "gamma"}
    assert sup["order_cost"] == 80 and sku["holding_rate"] == 0.4
    assert d["policies"]["safety_stock"]["service_level"] == 0.99
    assert d["policies"]["jit"]["review_every_days"] == 5
    closure = sup["disruptions"][0]
    assert (closure["kind"], closure["start"], closure["end"]) == ("port_closure", 100, 128)
    camp = sku["demand"]["campaigns"][0]
    assert (camp["start_day"], camp["end_day"], camp["uplift"]) == (150, 164, 2.0)
    assert made.replications == 50
    # changed numbers would make the written descriptions wrong: they are dropped
    assert not any(spec.get("description") for spec in d["policies"].values())
    # and the settings read back off the scenario are the ones written
    back = params_from_scenario(made)
    assert (back.closure, back.closure_start, back.closure_days) == (True, 100, 28)
    assert back.campaign_uplift == 2.0 and back.service_level == 0.99


def test_order_size_makes_customer_orders_with_the_daily_cv(classroom):
    p = dataclasses.replace(params_from_scenario(classroom), order_size=4, demand_cv=0.6)
    made, notes = to_scenario(classroom, p)
    c = made.skus[0].demand.customers
    lam, m, v = c.orders_per_day, c.order_size.mean, c.order_size.var
    assert lam * m == pytest.approx(20)
    assert np.sqrt(lam * (v + m * m)) / 20 == pytest.approx(0.6)
    assert notes == []
    # a CV below what random arrivals allow is raised, and the page is told
    made, notes = to_scenario(classroom, dataclasses.replace(p, order_size=10, demand_cv=0.2))
    assert made.skus[0].demand.customers.order_size.dist == "constant"
    assert "raised" in notes[0]


def test_out_of_bounds_settings_name_the_field():
    with pytest.raises(ValueError, match=r"lead_cv: must be between 0 and 1, got 3"):
        ExplorerParams(lead_cv=3).validated()
    with pytest.raises(ValueError, match="bogus: unknown setting"):
        ExplorerParams.from_mapping({"bogus": 1})


def test_several_skus_are_refused_by_the_sliders():
    with pytest.raises(ValueError, match="one SKU"):
        params_from_scenario(load_scenario("catalog"))


# ----------------------------------------------------------------------------- runs


def test_cache_returns_the_same_run_and_is_bounded(classroom):
    sims = Simulations(ResultCache(max_entries=2))
    scn = classroom.with_overrides(replications=8)
    first = sims.run(scn)
    again = sims.run(scn)
    assert again.cached and not first.cached
    pd.testing.assert_frame_equal(first.runs, again.runs)
    for seed in (1, 2):
        sims.run(scn.with_overrides(seed=seed))
    assert len(sims.cache) == 2 and sims.cache.get(scn) is None
    sims.shutdown()


def test_results_equal_supplysim_run(classroom):
    scn = classroom.with_overrides(replications=6)
    got = Simulations().run(scn)
    ref = run_scenario(scn, engine="auto")
    pd.testing.assert_frame_equal(got.runs, ref.runs)


def test_a_newer_request_supersedes_a_queued_and_a_running_one(classroom, monkeypatch):
    started, release = threading.Event(), threading.Event()
    import simulator.study.runner as runner

    def slow(scenario, progress=None, **_):
        started.set()
        release.wait(5)
        progress(1, scenario.replications)  # the runner calls back after each batch
        raise AssertionError("not superseded")

    monkeypatch.setattr(runner, "run_scenario", slow)
    sims = Simulations()
    a = sims.submit(classroom.with_overrides(seed=11), lane="s1")
    assert started.wait(5)
    b = sims.submit(classroom.with_overrides(seed=12), lane="s1")  # queued behind a
    c = sims.submit(classroom.with_overrides(seed=13), lane="s1")
    other = sims.submit(classroom.with_overrides(seed=14), lane="s2")  # another lane
    release.set()
    for f in (a, b):
        with pytest.raises(Superseded):
            f.result(5)
    for f in (c, other):  # still wanted: run (here: the fake run fails loudly)
        with pytest.raises(AssertionError):
            f.result(5)
    assert sims.superseded >= 1


def test_the_same_scenario_asked_twice_shares_one_run(classroom, monkeypatch):
    import simulator.study.runner as runner

    calls = []
    real = runner.run_scenario

    def counted(scenario, **kw):
        calls.append(scenario.seed)
        time.sleep(0.2)
        return real(scenario, **kw)

    monkeypatch.setattr(runner, "run_scenario", counted)
    sims = Simulations()
    scn = classroom.with_overrides(replications=4, seed=99)
    f1, f2 = sims.submit(scn, "s"), sims.submit(scn, "s")
    assert f1 is f2 and f1.result(10).runs is not None and calls == [99]


# ----------------------------------------------------------------------------- reading


def _outcome_runs(values: dict[str, list[float]], metric: str) -> pd.DataFrame:
    rows = []
    for policy, xs in values.items():
        for r, x in enumerate(xs):
            rows.append({"replication": r, "policy": policy, "sku": "ALL",
                         "stockout_rate": x if metric == "stockout_rate" else 0.1,
                         "cash_tied_up": x if metric == "cash_tied_up" else 100.0})
    return pd.DataFrame(rows)


def test_reading_names_the_largest_move_and_the_change():
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.01, 50)
    before = _outcome_runs({"jit": list(0.12 + noise), "safety_stock": list(0.01 + noise / 10)},
                           "stockout_rate")
    after = _outcome_runs({"jit": list(0.31 + noise), "safety_stock": list(0.012 + noise / 10)},
                          "stockout_rate")
    p0 = ExplorerParams(lead_cv=0.35)
    p1 = dataclasses.replace(p0, lead_cv=0.7)
    line = reading(p0, p1, before, after)
    assert line == ("JIT's stockout days rose from 12 % to 31 % when lead-time variability "
                    "doubled (0.35 → 0.70).")


def test_reading_says_when_nothing_moved_beyond_noise():
    rng = np.random.default_rng(6)
    a = _outcome_runs({"jit": list(rng.normal(0.2, 0.05, 30))}, "stockout_rate")
    b = _outcome_runs({"jit": list(rng.normal(0.2, 0.05, 30))}, "stockout_rate")
    line = reading(ExplorerParams(), ExplorerParams(order_cost=30), a, b)
    assert "no policy's stockout days or cash tied up moved beyond the noise" in line
    assert "order cost rose from $25 to $30" in line


@pytest.mark.parametrize(("change", "words"), [
    ({"closure": True}, "a port closure was added (days 120–140)"),
    ({"campaign_uplift": 2.5}, "a campaign (×2.5 from day 200) was added"),
    ({"demand_mean": 10}, "mean demand halved (20 units a day → 10 units a day)"),
    ({"closure_days": 40}, ""),  # the closure is off: its length changes nothing
    ({"replications": 400}, "the replications went from 200 to 400"),
    ({"lead_mean": 9, "order_cost": 40, "jit_review": 4},
     "lead-time mean, order cost and JIT's review period changed"),
])
def test_describe_change(change, words):
    assert describe_change(ExplorerParams(), dataclasses.replace(ExplorerParams(), **change)) \
        == words


def test_reading_on_real_runs_is_one_sentence(classroom):
    sims = Simulations()
    p0 = dataclasses.replace(params_from_scenario(classroom), replications=40)
    p1 = dataclasses.replace(p0, lead_mean=14)
    o0, o1 = (sims.run(to_scenario(classroom, p)[0]) for p in (p0, p1))
    line = reading(p0, p1, o0.runs, o1.runs)
    assert line.endswith("when lead-time mean doubled (7 days → 14 days); hybrid's cash tied "
                         "up rose from $844 to $1,258.") or "lead-time mean doubled" in line
    table = summary_table(o1.summary, list(o1.scenario.policies), "$", "jit")
    assert list(table["Policy"]) == ["JIT (baseline)", "Safety stock", "Hybrid"]
    assert table["Fill rate"].str.match(r"^\d+\.\d % \[\d+\.\d–\d+\.\d\]$").all()


# ----------------------------------------------------------------------------- challenge


def _entry(name, objective, target, reference=False):
    return Entry(name, {"s": 1}, reference=reference, status="done",
                 objective=np.asarray(objective, float), target=np.asarray(target, float))


def test_leaderboard_ranks_feasible_first_and_pairs_on_replications():
    rng = np.random.default_rng(0)
    common = rng.normal(0, 50, 100)  # the shared random futures move every entry alike
    t_ok = 0.97 + rng.normal(0, 0.002, 100)
    entries = [
        _entry("cheap_but_short", 500 + common, 0.90 + rng.normal(0, 0.002, 100)),
        _entry("ann", 800 + common + rng.normal(0, 1, 100), t_ok),
        _entry("bob", 802 + common + rng.normal(0, 1, 100), t_ok),  # +2: tiny but paired
        _entry("cy", 805 + common + rng.normal(0, 1, 100), t_ok + 0.0),
        _entry("safety_stock", 1600 + common, t_ok + 0.02, reference=True),
        _entry("edge", 700 + common, 0.951 + rng.normal(0, 0.01, 100)),
    ]
    board = leaderboard(entries, Target("fill_rate", 0.95), Objective("cash_tied_up"))
    assert list(board["name"]) == ["ann", "bob", "cy", "safety_stock", "edge",
                                   "cheap_but_short"]
    assert list(board["standing"]) == ["meets"] * 4 + ["borderline", "misses"]
    row = board.set_index("name")
    assert row.loc["ann", "verdict"] == "leader"
    # A difference of 2 against noise of 50: invisible unpaired, clear when paired.
    assert row.loc["bob", "verdict"] == "worse"
    assert row.loc["bob", "diff_lo"] > 0 and row.loc["bob", "diff"] == pytest.approx(2, abs=0.5)
    assert row.loc["cheap_but_short", "verdict"] == "better"  # cheaper, but misses
    text = leaderboard_table(board, "fill_rate", "cash_tied_up")
    assert text.loc[0, "Target"] == "✓ meets" and text.loc[3, "Entry"] == "safety_stock (built-in)"


def test_leaderboard_without_a_feasible_entry_has_no_leader():
    board = leaderboard([_entry("a", [1, 2, 3], [0.5, 0.5, 0.6])], Target("fill_rate", 0.95),
                        Objective())
    assert board.loc[0, "verdict"] == "" and board.loc[0, "standing"] == "misses"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _instant(runs_of):
    """A submit function that runs synchronously (the challenge's contract: a future)."""
    def submit(scenario, lane):
        f: Future = Future()
        f.set_result(runs_of(scenario))
        return f
    return submit


@pytest.fixture(scope="module")
def small(classroom) -> Scenario:
    return classroom.with_overrides(replications=30)


def test_round_on_common_random_futures_replays_exactly(small):
    sims = Simulations()
    clock = _Clock()
    room = Classroom(_instant(lambda s: sims.run(s)), Limits(min_interval_s=5), clock=clock)
    rnd = room.create(RoundSpec(small, "s_S", target=Target("fill_rate", 0.95)))
    assert len(rnd.code) == 4
    room.submit(rnd.code.lower(), "Ann Lee", {"s": 180, "S": 500, "review_every_days": 1})
    room.submit(rnd.code, "Bob", {"s": 150, "S": 300, "review_every_days": 1})
    board = rnd.board()
    assert {"Ann Lee", "Bob", "jit", "safety_stock", "hybrid"} == set(board["name"])
    # Replaying the round as one scenario gives every entry's numbers again, exactly.
    replay = replay_scenario(rnd)
    assert list(replay.policies)[-2:] == ["student_ann_lee", "student_bob"]
    again = run_scenario(replay, engine="auto").runs
    ann = next(e for e in rnd.entries if e.name == "Ann Lee")
    got = again[(again["sku"] == "ALL") & (again["policy"] == "student_ann_lee")]
    np.testing.assert_array_equal(got.sort_values("replication")["cash_tied_up"], ann.objective)
    csv = round_csv(rnd)
    assert csv.splitlines()[0].startswith("round,rank,name,reference,params,standing")
    assert f",{small.seed},30,s_S" in csv


def test_submissions_are_guarded(small):
    clock = _Clock()
    limits = Limits(min_interval_s=5, max_per_name=2, max_waiting=1)
    pending: list[Future] = []

    def never(scenario, lane):
        f: Future = Future()
        pending.append(f)
        return f

    room = Classroom(never, limits, clock=clock)
    rnd = room.create(RoundSpec(small, "s_S"))
    ok = {"s": 100, "S": 300, "review_every_days": 1}
    for bad, msg in [
        ({**ok, "s": 400}, "s: must be below S"),
        ({**ok, "S": 1e12}, "S: must be between 0 and"),
        ({**ok, "S": "lots"}, "S: must be a number"),
        ({**ok, "review_every_days": 1.5}, "review_every_days: must be a whole number"),
        ({**ok, "hack": 1}, "hack: not a parameter"),
    ]:
        with pytest.raises(ChallengeError, match=msg):
            room.submit(rnd.code, "Ann", bad)
    with pytest.raises(ChallengeError, match="name: must be 1-24"):
        room.submit(rnd.code, "<img src=x>", ok)
    with pytest.raises(ChallengeError, match="no round"):
        room.submit("ZZZZ", "Ann", ok)
    room.submit(rnd.code, "Ann", ok)
    with pytest.raises(ChallengeError, match="wait 5 s"):
        room.submit(rnd.code, "ann", ok)  # names are compared without case
    clock.now += 6
    with pytest.raises(ChallengeError, match="server: busy"):
        room.submit(rnd.code, "Bob", ok)  # one waiting run is the bound here
    with pytest.raises(ChallengeError, match="only the teacher"):
        room.close(rnd.code, "not-the-secret")
    room.close(rnd.code, rnd.teacher)
    with pytest.raises(ChallengeError, match="closed"):
        room.submit(rnd.code, "Ann", ok)


def test_round_spec_is_checked(small):
    room = Classroom(_instant(lambda s: None))
    with pytest.raises(ChallengeError, match="replications: must be between 2 and 500"):
        room.create(RoundSpec(small.with_overrides(replications=5000)))
    with pytest.raises(ChallengeError, match="levels are per SKU"):
        room.create(RoundSpec(load_scenario("catalog").with_overrides(replications=10), "s_S"))
    with pytest.raises((ChallengeError, ScenarioError)):
        room.create(RoundSpec(small, "nonsense"))


def test_outcome_is_a_plain_record():
    assert {f.name for f in dataclasses.fields(Outcome)} >= {"scenario", "runs", "summary",
                                                            "daily", "seconds", "cached"}
