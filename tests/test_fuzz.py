"""Fuzzing the scenario loader: random YAML, mutated built-in scenarios, random bytes.

The contract (README, docs/scenario-format.md): every invalid input is a ``ScenarioError``
whose message is one line per problem, each ``field.path: rule``, and at the
command line exits 2 with those lines and no traceback; every valid input
runs without an exception. Valid inputs are run for one replication of every
policy on a horizon capped at ``RUN_DAYS`` days, so the file stays fast.

Two classes of input are being changed elsewhere (impossible dates and
non-UTF-8 files): for them either behaviour is accepted here (see
``PENDING_ELSEWHERE``).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import sys
from pathlib import Path

import pytest
import yaml
from helpers import run_one
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from known_findings import significant

from simulator import cli as cli_module
from simulator.data.scenario import Scenario, ScenarioError
from simulator.study.invariants import check_traces

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
BUILTINS = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(SCENARIO_DIR.glob("*.yaml"))}
RUN_DAYS = 40
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
LINE = re.compile(r"^(?P<path>\S[^\n]*?): (?P<rule>\S.*)$")
PENDING_ELSEWHERE = (UnicodeDecodeError,)
"""Non-UTF-8 files are being handled in scenario.py by another change: either a
ScenarioError or, until that lands, a UnicodeDecodeError is accepted."""


# --------------------------------------------------------------------------- the contract


def error_lines(exc: ScenarioError) -> list[tuple[str, str]]:
    """Split a ScenarioError into (path, rule) pairs, asserting the one-line-per-problem form."""
    text = str(exc)
    assert text and text == text.strip(), repr(text)
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        assert m, f"not 'path: rule': {line!r}"
        out.append((m["path"], m["rule"]))
    for bad in ("validation error", "errors.pydantic.dev", "Traceback", "For further information"):
        assert bad not in text, text
    return out


def impossible_date(exc: BaseException) -> bool:
    """Whether an exception is YAML's own complaint about an impossible date (handled elsewhere)."""
    return isinstance(exc, ValueError) and not isinstance(exc, ScenarioError) and (
        "out of range" in str(exc) or "must be in" in str(exc)
    )


def load_text(text: str) -> Scenario | None:
    """Validate YAML text: return the scenario, or None after checking the error's form."""
    try:
        return Scenario.from_yaml_text(text)
    except ScenarioError as exc:
        error_lines(exc)
        return None
    except ValueError as exc:
        if impossible_date(exc):
            return None
        raise


def load_dict(data) -> tuple[Scenario | None, list[tuple[str, str]]]:
    """Validate a mapping: the scenario (or None) and the error lines."""
    try:
        return Scenario.from_dict(data), []
    except ScenarioError as exc:
        return None, error_lines(exc)


def shortened(scn: Scenario) -> Scenario:
    """The same scenario on at most ``RUN_DAYS`` measured days, 10 warm-up days, 1 replication."""
    return scn.model_copy(
        update={
            "horizon_days": min(scn.horizon_days, RUN_DAYS),
            "warmup_days": min(scn.warmup_days, 10),
            "replications": 1,
        }
    )


def window_outside_horizon(scn: Scenario) -> bool:
    """Whether a campaign or disruption window reaches outside the simulated days."""
    return any(
        w["start_day"] < scn.first_day or w["end_day"] > scn.horizon_days for w in scn.calendar()
    )


def runs_cleanly(scn: Scenario) -> None:
    """Simulate one replication of every policy with the log on; the invariants must hold."""
    short = shortened(scn)
    for name in short.policies:
        log: list = []
        traces = run_one(short, name, log=log)
        assert significant(check_traces(short, traces, log, where=name)) == []


# --------------------------------------------------------------------------- random YAML

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
)
keys = st.one_of(
    st.sampled_from(
        ["name", "horizon_days", "suppliers", "skus", "policies", "lead_time", "dist", "mean",
         "sd", "value", "demand", "per_day", "supplier", "id", "type", "kind", "start", "end"]
    ),
    st.text(max_size=8),
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)
    ),
    max_leaves=30,
)


@FAST
@given(documents)
def test_random_yaml_documents_are_rejected_in_one_line_per_problem(doc):
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    scn = load_text(text)
    if scn is not None:  # a random document that happens to be a valid scenario must run
        runs_cleanly(scn)


@FAST
@given(st.text(max_size=300))
def test_random_text_is_rejected_in_one_line_per_problem(text):
    scn = load_text(text)
    assert scn is None


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_in_a_file_are_rejected(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "random.yaml"
    path.write_bytes(data)
    try:
        Scenario.from_yaml(path)
    except ScenarioError as exc:
        error_lines(exc)
    except PENDING_ELSEWHERE:
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    except ValueError as exc:
        assert impossible_date(exc), exc
    else:
        pytest.fail("random bytes were accepted as a scenario")


# --------------------------------------------------------------------------- mutations


def paths(node, prefix=()) -> list[tuple]:
    """Every path inside a scenario document (keys and list indices), parents first."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out += paths(v, (*prefix, k))
    return out


def dotted(path: tuple) -> str:
    """A path as the loader writes it: ``skus[0].demand.per_day.sd``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def get(doc, path):
    for part in path:
        doc = doc[part]
    return doc


WRONG_TYPES = ["abc", [], {}, None, True, [1, 2], {"x": 1}]
BAD_NUMBERS = [-1, -1e-9, 0, 1e300, -1e300, 10**30, -(10**30), math.nan, math.inf, -math.inf, 1e-320]


@st.composite
def mutations(draw):
    """(scenario name, mutated document, what was done, the path it was done at)."""
    name = draw(st.sampled_from(sorted(BUILTINS)))
    doc = copy.deepcopy(BUILTINS[name])
    all_paths = paths(doc)
    op = draw(
        st.sampled_from(
            ["delete", "wrong_type", "bad_number", "empty_list", "unknown_dist", "duplicate_id",
             "missing_supplier", "missing_backup", "reversed_window", "unknown_key",
             "policy_unknown_sku", "baseline"]
        )
    )  # fmt: skip
    if op == "delete":
        path = draw(st.sampled_from(all_paths))
        parent = get(doc, path[:-1])
        del parent[path[-1]]
    elif op in ("wrong_type", "bad_number"):
        path = draw(st.sampled_from(all_paths))
        pool = WRONG_TYPES if op == "wrong_type" else BAD_NUMBERS
        get(doc, path[:-1])[path[-1]] = copy.deepcopy(draw(st.sampled_from(pool)))
    elif op == "empty_list":
        lists = [p for p in all_paths if isinstance(get(doc, p), list)]
        path = draw(st.sampled_from(lists))
        get(doc, path[:-1])[path[-1]] = []
    elif op == "unknown_dist":
        dists = [p for p in all_paths if p[-1] == "dist"]
        path = draw(st.sampled_from(dists))
        get(doc, path[:-1])["dist"] = draw(st.sampled_from(["weibull", "Normal", "", "gama"]))
    elif op == "duplicate_id":
        skus = doc["skus"]
        if len(skus) == 1:
            skus.append(copy.deepcopy(skus[0]))
        j = draw(st.integers(1, len(skus) - 1))
        skus[j]["id"] = skus[draw(st.integers(0, j - 1))]["id"]
        path = ("skus", j, "id")
    elif op in ("missing_supplier", "missing_backup"):
        j = draw(st.integers(0, len(doc["skus"]) - 1))
        key = "supplier" if op == "missing_supplier" else "backup_supplier"
        doc["skus"][j][key] = "nowhere"
        path = ("skus", j, key)
    elif op == "reversed_window":
        wins = [
            p for p in all_paths
            if isinstance(get(doc, p), dict)
            and ({"start", "end"} <= set(get(doc, p)) or {"start_day", "end_day"} <= set(get(doc, p)))
        ]  # fmt: skip
        assume(wins)
        path = draw(st.sampled_from(wins))
        w = get(doc, path)
        a, b = ("start", "end") if "end" in w else ("start_day", "end_day")
        w[a], w[b] = w[b], w[a]
        if draw(st.booleans()):
            w[b] = w[a]  # empty window: end == start
    elif op == "unknown_key":
        dicts = [(), *[p for p in all_paths if isinstance(get(doc, p), dict)]]
        parent = draw(st.sampled_from(dicts))
        get(doc, parent)["zzz_unknown"] = 1
        path = (*parent, "zzz_unknown")
    elif op == "policy_unknown_sku":
        pname = draw(st.sampled_from(sorted(doc["policies"])))
        doc["policies"][pname] = {"type": "base_stock", "S": {"NO-SUCH-SKU": 10}}
        path = ("policies", pname, "S")
    else:
        doc["baseline"] = "no-such-policy"
        path = ("baseline",)
    return name, doc, op, path


def related(a: str, b: str) -> bool:
    """Whether one field path contains the other (``skus[0]`` and ``skus[0].id``)."""
    return a == b or a.startswith(b + ".") or a.startswith(b + "[") or b.startswith(a + ".") or b.startswith(a + "[")


MUST_BE_INVALID = {"unknown_dist", "duplicate_id", "missing_supplier", "missing_backup",
                   "reversed_window", "unknown_key", "policy_unknown_sku", "baseline"}  # fmt: skip


@settings(FAST, max_examples=200)
@given(mutations())
def test_mutated_builtin_scenarios_are_rejected_by_field_or_run(mutation):
    name, doc, op, path = mutation
    scn, lines = load_dict(doc)
    if scn is None:
        fields = [p for p, _ in lines]
        if op != "delete":  # deleting a supplier or a SKU is reported where it is missing
            assert any(related(f, dotted(path)) for f in fields), (dotted(path), lines)
        return
    assert op not in MUST_BE_INVALID, f"{op} at {dotted(path)} was accepted"
    if window_outside_horizon(scn):
        # Being made a validation error elsewhere; until then a window 1e30 days away
        # crashes the planner (IndexError in Plan.window). Either behaviour is accepted.
        try:
            runs_cleanly(scn)
        except (IndexError, OverflowError, ValueError, MemoryError):
            pass
        return
    runs_cleanly(scn)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutations())
def test_mutated_builtin_scenarios_survive_a_yaml_round_trip(mutation):
    """The same through YAML text (NaN, inf and huge numbers as YAML writes them)."""
    _, doc, _, _ = mutation
    from_dict, _ = load_dict(copy.deepcopy(doc))
    from_text = load_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    assert (from_dict is None) == (from_text is None)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_builtin_scenario_runs_with_invariants(name):
    runs_cleanly(Scenario.from_dict(BUILTINS[name]))


# --------------------------------------------------------------------------- the CLI


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Call the console-script entry point in-process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["supplysim", *args])
    with pytest.raises(SystemExit) as info:
        cli_module.main()
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutations())
def test_cli_validate_exits_2_with_one_line_per_problem(tmp_path_factory, monkeypatch, capsys, mutation):
    _, doc, _, _ = mutation
    path = tmp_path_factory.mktemp("cli") / "mutated.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    valid, lines = load_dict(copy.deepcopy(doc))
    code, out, err = run_main(monkeypatch, capsys, "validate", str(path))
    assert "Traceback" not in err and "internal error" not in err
    if valid is not None:
        assert code == 0 and out.startswith(f"{path}: ok")
        return
    assert code == 2
    got = err.splitlines()
    assert len(got) == len(lines)
    for line, (field, rule) in zip(got, lines, strict=True):
        assert line == f"{path}: {field}: {rule}"


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200))
def test_cli_validate_random_bytes_exits_2(tmp_path_factory, monkeypatch, capsys, data):
    path = tmp_path_factory.mktemp("cli") / "bytes.yaml"
    path.write_bytes(data)
    code, _, err = run_main(monkeypatch, capsys, "validate", str(path))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assume(code != 1)  # non-UTF-8: being fixed elsewhere (exit 1 today)
    assert code == 2, err
    assert "Traceback" not in err and err.strip()


def test_cli_subprocess_exit_codes(tmp_path):
    """The installed console script, for real: exit 2 and one line per problem."""
    import subprocess

    exe = Path(sys.executable).with_name("supplysim")
    if not exe.exists():
        pytest.skip("console script not installed next to the interpreter")
    bad = copy.deepcopy(BUILTINS["classroom"])
    bad["horizon_days"] = -3
    bad["skus"][0]["demand"] = {"per_day": {"dist": "weibull", "mean": 3}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, sort_keys=False), encoding="utf-8")
    res = subprocess.run([str(exe), "validate", str(path)], capture_output=True, text=True)
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{path}: ") for line in lines), res.stderr
    assert any("horizon_days: must be >= 1, got -3" in line for line in lines)
    assert any("skus[0].demand.per_day.dist: must be one of" in line for line in lines)
    res = subprocess.run(
        [str(exe), "run", str(path), "-n", "1", "--no-plots", "-q", "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- a bigger run


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutations())
def test_mutated_builtin_scenarios_many(mutation):
    test_mutated_builtin_scenarios_are_rejected_by_field_or_run.hypothesis.inner_test(mutation)


# --------------------------------------------------------------------------- hostile YAML (found by hand after the fuzzers)

HOSTILE = {
    "alias containing itself": "&a {name: x, skus: *a}",
    "list containing itself": "name: &a [*a]",
    "deep lists": "[" * 5000 + "]" * 5000,
    "deep mappings": "a: " + "{a: " * 3000 + "1" + "}" * 3000,
    "a 5001-digit number": "name: x\nhorizon_days: 1" + "0" * 5000,
    "billion laughs": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
    "python object tag": "!!python/object/apply:os.system ['echo hi']",
    "unhashable key": "? [a, b]\n: 1",
    "NUL character": "name: \x00",
    "a key with a record separator": "'0\x1e': 1",
    "an empty key": "'': 1",
    "a datetime for a date": "name: x\nstart_date: 2026-01-01 10:00:00",
    "a huge string": "name: " + "x" * 100_000,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_yaml_is_a_scenario_error_of_short_lines(text):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_yaml_text(text)
    lines = error_lines(info.value)
    assert all(len(f"{p}: {r}") < 400 for p, r in lines)
