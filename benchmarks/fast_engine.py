"""The fast engine's numbers for ``make bench``: speed against SimPy and numpy, compile, memory.

* **fast ÷ SimPy**: CPU time per replication of ``run_batch`` (draws, model, result rows
  and daily paths) with each engine, on the same replications of ``classroom`` and
  ``catalog``, one core; the fast engine after compiling (best of 3). The rows of both
  are checked to agree.
* **fast vs a minimal numpy loop** (``benchmarks/minimal_numpy.py``): the classroom
  model with periodic (s, S) policies, SKU-days per second of the fast engine's whole
  ``run_batch`` against the numpy loop vectorised over replications, both on the
  engine's per-replication streams (the same numbers: checked), and the numpy loop on
  one bulk generator too.
* **compile**: a fresh process with an empty numba cache, then a second process using
  the cache the first wrote.
* **memory**: peak RSS of ``supplysim run classroom`` with each engine at two replication
  counts: the fast engine's growth against the SimPy engine's (numba's fixed import cost
  reported apart).

Run ``python benchmarks/fast_engine.py [--quick]`` for this section alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import minimal_numpy  # noqa: E402

from simulator.data.scenario import Scenario  # noqa: E402
from simulator.study.runner import run_batch  # noqa: E402

__all__ = ["measure", "render", "targets"]

TARGETS = {"ratio": 15.0, "numpy": 1.0, "memory_growth": 1.1}


def _load(name: str) -> Scenario:
    return Scenario.from_yaml(ROOT / "scenarios" / f"{name}.yaml")


def _sku_days(scn: Scenario, reps: int) -> int:
    return reps * len(scn.policies) * len(scn.skus) * scn.n_days


def _agree(a, b) -> bool:
    """Both batches' rows equal: identifiers exactly, numbers within 1e-9 relative."""
    if list(a.columns) != list(b.columns):
        return False
    for col, x in a.columns.items():
        for u, v in zip(x, b.columns[col], strict=True):
            if isinstance(u, str) or u == v or (u != u and v != v):
                if u != v and not (u != u and v != v):
                    return False
                continue
            if abs(u - v) > 1e-9 * max(abs(u), abs(v)):
                return False
    return True


def speed_ratio(name: str, reps: int, repeats: int = 3) -> dict[str, Any]:
    """CPU ms per replication of each engine on the same replications, and their ratio."""
    scn = _load(name).with_overrides(replications=reps)
    todo = list(range(reps))
    run_batch(scn, [0], "simpy")
    run_batch(scn, [0], "fast")  # compiled (or loaded from the cache) here
    started = time.process_time()
    ref = run_batch(scn, todo, "simpy")
    simpy_s = time.process_time() - started
    fast_s = math.inf
    for _ in range(repeats):
        started = time.process_time()
        got = run_batch(scn, todo, "fast")
        fast_s = min(fast_s, time.process_time() - started)
    days = _sku_days(scn, reps)
    return {
        "scenario": name, "replications": reps, "sku_days": days,
        "simpy_ms": 1e3 * simpy_s / reps, "fast_ms": 1e3 * fast_s / reps,
        "simpy_rate": days / simpy_s, "fast_rate": days / fast_s,
        "ratio": simpy_s / fast_s, "agree": _agree(ref, got),
    }  # fmt: skip


def _classroom_s_S() -> Scenario:
    """Classroom with the numpy loop's three (s, S) policies, in continuous units."""
    data = _load("classroom").to_dict()
    data["units"] = "continuous"
    data["policies"] = {
        name: {"type": "s_S", "review_every_days": r, "s": s, "S": big_s}
        for name, (r, s, big_s) in minimal_numpy.POLICIES.items()
    }
    return Scenario.from_dict(data)


def versus_numpy(reps: int, repeats: int = 3) -> dict[str, Any]:
    """SKU-days/s of the fast engine and of the minimal numpy loop on the same (s, S) model.

    The fast engine runs replications 1,000 onwards (past those kept for the daily bands,
    as in any long run); so does the numpy loop on the engine's streams.
    """
    scn = _classroom_s_S().with_overrides(replications=1000 + reps)
    first = 1000
    todo = list(range(first, first + reps))
    run_batch(scn, [first], "fast")
    fast_s = math.inf
    for _ in range(repeats):
        started = time.process_time()
        run_batch(scn, todo, "fast")
        fast_s = min(fast_s, time.process_time() - started)
    # Each timed the same way: the best of ``repeats`` runs.
    numpy_s, days = min(minimal_numpy.run(reps, "engine", first=first) for _ in range(repeats))
    bulk_reps = max(reps, 20_000)
    bulk_s, bulk_days = min(minimal_numpy.run(bulk_reps, "bulk") for _ in range(repeats))
    # The same model: equal rows on a few replications.
    rows = [r for r in run_batch(scn, [0, 1, 2], "fast").rows if r["sku"] != "ALL"]
    ref = minimal_numpy.simulate(3)
    same = True
    for name in minimal_numpy.POLICIES:
        mine = [r for r in rows if r["policy"] == name]
        for j, r in enumerate(mine):
            horizon = scn.horizon_days
            for key, value in (("served_units", ref[name]["served"][j]),
                               ("orders_placed", ref[name]["orders"][j]),
                               ("avg_on_hand", ref[name]["on_hand_sum"][j] / horizon)):  # fmt: skip
                same &= abs(r[key] - value) <= 1e-9 * max(abs(value), 1.0)
    return {
        "replications": reps, "fast_rate": days / fast_s, "numpy_rate": days / numpy_s,
        "bulk_rate": bulk_days / bulk_s, "bulk_replications": bulk_reps,
        "ratio": numpy_s / fast_s, "bulk_ratio": (bulk_s / bulk_days) / (fast_s / days),
        "same_model": same,
    }  # fmt: skip


_COMPILE_CHILD = """\
import json, time
t0 = time.perf_counter()
from simulator.data.scenario import Scenario
from simulator.study.runner import run_batch
scn = Scenario.from_yaml({path!r})
run_batch(scn, [0], "simpy")
t1 = time.perf_counter()
run_batch(scn, [0], "fast")
t2 = time.perf_counter()
run_batch(scn, [1], "fast")
t3 = time.perf_counter()
print(json.dumps({{"first": t2 - t1, "again": t3 - t2}}))
"""


def compile_time() -> dict[str, float]:
    """First fast batch in a process with an empty numba cache, then with the cache filled."""
    code = _COMPILE_CHILD.format(path=str(ROOT / "scenarios" / "classroom.yaml"))
    out = {}
    with tempfile.TemporaryDirectory(prefix="supplysim-numba-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold", "cached"):
            res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, check=True, cwd=ROOT)  # fmt: skip
            t = json.loads(res.stdout.strip().splitlines()[-1])
            out[label] = t["first"] - t["again"]
    return out


_MEMORY_CHILD = """\
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def memory(counts: tuple[int, ...], engine: str = "fast") -> dict[int, float]:
    """Peak RSS (MB) of ``supplysim run classroom -n N --engine ENGINE`` on one worker."""
    exe = Path(sys.executable).with_name("supplysim")
    out = {}
    for n in counts:
        with tempfile.TemporaryDirectory(prefix="supplysim-mem-") as tmp:
            cmd = [str(exe), "run", "classroom", "-n", str(n), "-w", "1", "--engine", engine,
                   "--no-plots", "-q", "--out", str(Path(tmp) / "r")]  # fmt: skip
            res = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, *cmd],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            out[n] = int(res.stdout.strip()) / 1024
    return out


def measure(quick: bool = False, say=print) -> dict[str, Any]:
    """Every number of the section."""
    res: dict[str, Any] = {}
    say("fast engine: compile time (fresh numba cache, then cached) ...")
    res["compile"] = compile_time()
    say("fast engine vs SimPy: classroom ...")
    res["classroom"] = speed_ratio("classroom", 100 if quick else 400)
    say("fast engine vs SimPy: catalog ...")
    res["catalog"] = speed_ratio("catalog", 6 if quick else 24)
    say("fast engine vs minimal numpy loop ...")
    res["numpy"] = versus_numpy(1000 if quick else 5000)
    counts = (500, 2000) if quick else (1000, 5000)
    say(f"memory: supplysim run classroom -n {counts}, each engine ...")
    res["memory"] = memory(counts)
    res["memory_simpy"] = memory(counts, "simpy")
    res["numba_mb"] = numba_import_mb()
    return res


_IMPORT_CHILD = """import resource
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import simulator.study.runner
before = rss()
import simulator.model.kernel_loop
print(rss() - before)
"""


def numba_import_mb() -> float:
    """Peak RSS added by importing numba and loading the compiled loop (MB)."""
    res = subprocess.run([sys.executable, "-c", _IMPORT_CHILD], capture_output=True, text=True,
                         check=True, cwd=ROOT)  # fmt: skip
    return float(res.stdout.strip().splitlines()[-1])


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The section's targets, in ``bench.py``'s form."""
    mem, ref = res["memory"], res["memory_simpy"]
    lo, hi = min(ref), max(ref)
    growth = (mem[hi] - mem[lo]) / max(ref[hi] - ref[lo], 1.0)
    out = []
    for name in ("classroom", "catalog"):
        r = res[name]
        out.append({
            "name": f"fast engine ÷ SimPy engine, {name}, one core",
            "goal": f"≥ {TARGETS['ratio']:.0f}×",
            "measured": f"{r['ratio']:.1f}×" + ("" if r["agree"] else " (rows DISAGREE)"),
            "ok": r["ratio"] >= TARGETS["ratio"] and r["agree"],
        })  # fmt: skip
    v = res["numpy"]
    out.append({
        "name": "fast engine ÷ minimal numpy loop (same streams), SKU-days/s",
        "goal": "≥ 1×",
        "measured": f"{v['ratio']:.2f}×",
        "ok": v["ratio"] >= TARGETS["numpy"] and v["same_model"],
    })  # fmt: skip
    out.append({
        "name": f"fast engine's memory growth ÷ SimPy engine's, classroom {lo:,} → {hi:,} "
                "replications",
        "goal": f"≤ {TARGETS['memory_growth']}×",
        "measured": f"{growth:.2f}× (+{mem[hi] - mem[lo]:.0f} vs +{ref[hi] - ref[lo]:.0f} MB)",
        "ok": growth <= TARGETS["memory_growth"],
    })  # fmt: skip
    return out


def render(res: dict[str, Any]) -> str:
    """The section of docs/performance.md."""
    c, v, mem, ref = res["compile"], res["numpy"], res["memory"], res["memory_simpy"]
    lines = [
        "## Fast engine",
        "",
        "`--engine fast` ([engines.md](engines.md)): CPU time of `run_batch` (draws, model, "
        "result rows, daily paths) per replication, the same replications with each engine, "
        "one core; the fast engine compiled (best of 3). The rows of both engines agree.",
        "",
        "| scenario | replications | SimPy ms/replication | fast ms/replication | "
        "fast SKU-days/s | fast ÷ SimPy | rows agree |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name in ("classroom", "catalog"):
        r = res[name]
        lines.append(
            f"| {name} | {r['replications']:,} | {r['simpy_ms']:.2f} | {r['fast_ms']:.3f} | "
            f"{r['fast_rate']:,.0f} | **{r['ratio']:.1f}×** | {'yes' if r['agree'] else 'NO'} |"
        )
    lines += [
        "",
        "Against a minimal numpy loop vectorised over replications "
        "(`benchmarks/minimal_numpy.py`: the classroom SKU under three periodic (s, S) "
        f"policies, {v['replications']:,} replications past the first 1,000):",
        "",
        "| | SKU-days/s | fast ÷ it |",
        "|---|---:|---:|",
        f"| fast engine (`run_batch`: streams, draws, model, rows) | {v['fast_rate']:,.0f} | 1 |",
        f"| numpy loop, the engine's per-replication streams | {v['numpy_rate']:,.0f} | "
        f"**{v['ratio']:.2f}×** |",
        f"| numpy loop, one bulk generator ({v['bulk_replications']:,} replications) | "
        f"{v['bulk_rate']:,.0f} | {v['bulk_ratio']:.2f}× |",
        "",
        f"Same model: {'yes' if v['same_model'] else 'NO'} (replications 0–2: the numpy loop "
        "on the engine's streams gives the fast engine's units served, orders and on-hand).",
        "",
        f"Compile: **{c['cold']:.1f} s** in a process with an empty numba cache (the first "
        f"fast batch, less a second one); {c['cached']:.2f} s in the next process, which loads "
        "the cache the first wrote (`__pycache__`, or `NUMBA_CACHE_DIR`).",
        "",
        "Memory: peak RSS of `supplysim run classroom -n N -w 1 --engine fast --no-plots`: "
        + ", ".join(f"{mb:.0f} MB at {n:,}" for n, mb in mem.items())
        + " replications; with `--engine simpy`: "
        + ", ".join(f"{mb:.0f} MB at {n:,}" for n, mb in ref.items())
        + ". The fast engine works one replication at a time in arrays sized by the "
        "scenario; what grows with N is the result table, as with either engine. Its "
        f"fixed extra is numba itself: importing it and loading the loop adds "
        f"{res['numba_mb']:.0f} MB.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short runs (indicative numbers)")
    args = ap.parse_args(argv)
    res = measure(args.quick, say=lambda m: print(m, file=sys.stderr))
    print(render(res))
    for t in targets(res):
        print(f"target: {t['name']}: {t['measured']} (goal {t['goal']}) -> "
              f"{'met' if t['ok'] else 'NOT MET'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
