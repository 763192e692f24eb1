"""Invariants over random scenarios that mix every feature, and the edge cases that must run.

Each random scenario is simulated under every policy with the event log on,
and :func:`simulator.invariants.check_traces` must find nothing; the runner's
table must pass :func:`simulator.invariants.check_runs`. The unit tests at the
end feed deliberately broken traces, logs and tables to show that every check
can fail.
"""

import pytest
from helpers import run_one
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from known_findings import significant
from strategies import scenario_dicts

from simulator.invariants import check_runs, check_traces
from simulator.runner import run_scenario
from simulator.scenario import Scenario

FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def check_every_policy(scn, replication=0):
    problems = []
    for name in scn.policies:
        log = []
        traces = run_one(scn, name, replication=replication, log=log)
        problems += check_traces(scn, traces, log, where=f"policy {name}")
    return problems


@FAST
@given(scenario_dicts(), st.integers(0, 3))
def test_random_scenarios_keep_every_invariant(data, replication):
    scn = Scenario.from_dict(data)
    assert significant(check_every_policy(scn, replication)) == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario_dicts(max_horizon=30))
def test_runner_tables_keep_every_invariant(data):
    scn = Scenario.from_dict(data)
    res = run_scenario(scn, backend="serial")
    assert significant(check_runs(res.runs, scn)) == []


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenario_dicts(max_horizon=200), st.integers(0, 50))
def test_random_scenarios_keep_every_invariant_long(data, replication):
    scn = Scenario.from_dict(data)
    assert significant(check_every_policy(scn, replication)) == []
