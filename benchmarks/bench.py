"""Benchmarks of supplysim: throughput, engine overhead, parallel speed-up, memory, start-up.

Run ``make bench`` (or ``python benchmarks/bench.py``); ``--quick`` for a short
run (smaller runs; the targets that need the full-size runs are then only
indicative). The results are printed and written to ``docs/performance.md``.

What is measured (SKU-days = replications × policies × SKUs × simulated days,
warm-up included):

1. Throughput, SKU-days per second of a whole run (``run_scenario``: simulation,
   per-run metrics, summaries; no files) for the built-in single-SKU
   ``classroom`` scenario and a 50-SKU catalogue built here, each on one worker
   (backend ``serial``) and on all cores (backend ``processes``).
2. Engine overhead: the engine's cost per SKU-day (``run_batch`` on classroom:
   demand draws, the SimPy model, per-run metrics) divided by that of
   ``benchmarks/minimal_simpy.py``, the same model as a minimal plain SimPy loop.
3. Parallel speed-up on 2 cores of a run that takes at least 10 s serially.
4. Peak memory (RSS) of ``supplysim run classroom -n 10000 --no-plots``.
5. Start-up time of ``supplysim --help`` (median of several runs).
6. The fast engine (``benchmarks/fast_engine.py``): fast ÷ SimPy on ``classroom`` and
   ``catalog`` (one core), against a minimal numpy loop vectorised over replications
   (``benchmarks/minimal_numpy.py``), its compile time, its memory.

``--profile`` also prints a pyinstrument profile of the engine on both scenarios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fast_engine  # noqa: E402
import minimal_simpy  # noqa: E402

from simulator.data.scenario import Scenario, load_scenario  # noqa: E402
from simulator.study.runner import run_batch, run_scenario  # noqa: E402

__all__ = ["TARGETS", "catalogue", "catalogue_dict", "main"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "performance.md"

TARGETS = {
    "overhead": 1.5,  # engine cost per SKU-day ÷ minimal SimPy loop's, at most
    "speedup": 1.8,  # on 2 cores, at least
    "memory_mb": 2048.0,  # peak RSS of a 100,000-replication classroom run, below
    "startup_s": 0.3,  # `supplysim --help`, below
}
"""The performance targets of issue 6."""

# --------------------------------------------------------------------------- scenarios


def catalogue_dict(n_skus: int = 50, replications: int = 20) -> dict[str, Any]:
    """A consultant-style catalogue: ``n_skus`` SKUs with varied demand, 2 suppliers.

    Mean daily demand falls geometrically with the SKU's rank (a few fast
    movers, a long tail), so ABC classes come out A, B and C. Demand kinds
    rotate: normal per day, customer orders with Poisson sizes, gamma per day;
    every fourth SKU is seasonal, every tenth has a campaign. Three SKUs in five
    come from the overseas supplier (21 ± 4 days), the rest from the domestic
    one (4 ± 1 days). Policies: ``jit``, ``safety_stock``, ``hybrid``.
    """
    skus = []
    for i in range(n_skus):
        mean = round(200.0 * 0.88**i + 1.0, 2)
        unit_cost = round(2.0 + (i * 7.3) % 48, 2)
        overseas = i % 5 < 3
        if i % 3 == 0:
            demand: dict[str, Any] = {
                "per_day": {"dist": "normal", "mean": mean, "sd": round(0.35 * mean, 2)}
            }
        elif i % 3 == 1:
            size = 1.0 + i % 4
            demand = {
                "customers": {
                    "orders_per_day": round(mean / size, 3),
                    "order_size": {"dist": "poisson", "mean": size},
                }
            }
        else:
            demand = {"per_day": {"dist": "gamma", "mean": mean, "sd": round(0.5 * mean, 2)}}
        if i % 4 == 0:
            demand["seasonality"] = {"monthly": [0.8, 0.8, 0.9, 1, 1, 1, 1, 1, 1.1, 1.2, 1.4, 1.6]}
        if i % 10 == 3:
            demand["campaigns"] = [{"start_day": 150, "end_day": 164, "uplift": 2.0}]
        skus.append(
            {
                "id": f"SKU-{i:03d}",
                "unit_cost": unit_cost,
                "price": round(unit_cost * (1.6 + (i % 5) * 0.3), 2),
                "holding_rate": 0.25,
                "backorder_cost_per_day": round(0.05 * unit_cost, 3),
                "supplier": "overseas" if overseas else "domestic",
                "initial_on_hand": round(mean * (30 if overseas else 10)),
                "demand": demand,
            }
        )
    return {
        "name": f"catalogue-{n_skus}",
        "description": "Benchmark catalogue: varied demand, two suppliers.",
        "horizon_days": 365,
        "replications": replications,
        "seed": 42,
        "suppliers": {
            "overseas": {"lead_time": {"dist": "gamma", "mean": 21, "sd": 4}, "order_cost": 400},
            "domestic": {"lead_time": {"dist": "normal", "mean": 4, "sd": 1}, "order_cost": 80},
        },
        "skus": skus,
        "policies": {
            "jit": {"type": "jit", "review_every_days": 2},
            "safety_stock": {"type": "safety_stock", "service_level": 0.95},
            "hybrid": {"type": "hybrid", "review_every_days": 7},
        },
    }


def catalogue(n_skus: int = 50, replications: int = 20) -> Scenario:
    """The benchmark catalogue as a validated scenario (see :func:`catalogue_dict`)."""
    return Scenario.from_dict(catalogue_dict(n_skus, replications))


def sku_days(scenario: Scenario) -> int:
    """Replications × policies × SKUs × simulated days (warm-up included)."""
    return scenario.replications * len(scenario.policies) * len(scenario.skus) * scenario.n_days


# --------------------------------------------------------------------------- measurements


@dataclass
class Timing:
    """One timed run."""

    label: str
    scenario: str
    backend: str
    workers: int
    replications: int
    sku_days: int
    seconds: float
    cpu_main: float = 0.0
    cpu_workers: float = 0.0

    @property
    def rate(self) -> float:
        """SKU-days per second."""
        return self.sku_days / self.seconds


def machine() -> dict[str, str]:
    """CPU model, cores, Python and library versions, date."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": cpu,
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "simpy": simpy.__version__,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load average at start": (
            " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
        )
        + " (1 / 5 / 15 min)",
    }


def cores() -> int:
    """Cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _burn(n: int) -> float:
    """A pure-Python CPU loop; returns its own CPU seconds."""
    started = time.process_time()
    x = 0
    for i in range(n):
        x += i * i
    return time.process_time() - started


def machine_parallelism(n: int = 4_000_000) -> float:
    """Speed-up the machine itself gives two processes of pure CPU work (ideal: 2.0).

    Other load on a shared machine, or two vCPUs on one physical core, shows
    here first: it bounds any parallel speed-up measured in the same run.
    """
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(_burn, [1000, 1000]))  # start the workers
        started = time.perf_counter()
        _burn(n)
        _burn(n)
        serial = time.perf_counter() - started
        started = time.perf_counter()
        list(pool.map(_burn, [n, n]))
        parallel = time.perf_counter() - started
    return serial / parallel


def time_run(label: str, scenario: Scenario, backend: str, workers: int) -> Timing:
    """Time a whole run (simulation, metrics, summaries; no files), wall and CPU."""
    cpu0, children0 = time.process_time(), _children_cpu()
    started = time.perf_counter()
    run_scenario(scenario, backend=backend, workers=workers)
    seconds = time.perf_counter() - started
    return Timing(
        label,
        scenario.name,
        backend,
        workers,
        scenario.replications,
        sku_days(scenario),
        seconds,
        cpu_main=time.process_time() - cpu0,
        cpu_workers=_children_cpu() - children0,
    )


def _children_cpu() -> float:
    """CPU seconds of finished child processes (the process pool's workers)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def sized(scenario: Scenario, seconds: float, probe_reps: int) -> Scenario:
    """The scenario with enough replications for a serial run of about ``seconds``."""
    probe = scenario.with_overrides(replications=probe_reps)
    run_batch(probe, [0])  # warm caches and imports
    started = time.perf_counter()
    run_batch(probe, list(range(probe_reps)))
    per_rep = (time.perf_counter() - started) / probe_reps
    reps = max(probe_reps, math.ceil(seconds / per_rep))
    step = 10 ** max(0, len(str(reps)) - 2)  # two significant figures
    return scenario.with_overrides(replications=math.ceil(reps / step) * step)


def _model_only(scn: Scenario) -> float | None:
    """CPU seconds of the SimPy model alone (demand draws and ``simulate``, no metrics)."""
    try:
        from simulator.model.replication import (
            Streams,
            build_policies,
            draw_demand,
            make_plans,
            simulate,
        )

        plans = make_plans(scn)
        policies = build_policies(scn, plans)
        started = time.process_time()
        for r in range(scn.replications):
            streams = Streams(scn.seed, r)
            demand = draw_demand(scn, streams, plans)
            for built in policies.values():
                simulate(scn, built, demand, streams, plans=plans)
        return time.process_time() - started
    except Exception:  # noqa: BLE001 - the model's API moved: leave this line out
        return None


def overhead(replications: int, repeats: int = 3) -> dict[str, Any]:
    """Engine vs minimal SimPy loop on classroom: CPU µs per SKU-day (best of ``repeats``).

    The engine is timed as ``run_batch`` (what a run pays per replication: demand
    draws, the SimPy model, per-run metric rows, daily paths) and as the model
    alone; CPU time, so that other load on the machine counts less.
    """
    scn = load_scenario("classroom").with_overrides(replications=replications)
    reps = list(range(replications))
    run_batch(scn, [0])
    minimal_simpy.simulate(0, 2, 180.0)
    engine, model, floor = math.inf, math.inf, math.inf
    for _ in range(repeats):
        started = time.process_time()
        run_batch(scn, reps)
        engine = min(engine, time.process_time() - started)
        only = _model_only(scn)
        model = min(model, only if only is not None else math.inf)
        started = time.process_time()
        _, floor_days = minimal_simpy.run(replications)
        floor = min(floor, time.process_time() - started)
    engine_us = 1e6 * engine / sku_days(scn)
    floor_us = 1e6 * floor / floor_days
    model_us = 1e6 * model / sku_days(scn) if math.isfinite(model) else None
    return {
        "replications": replications,
        "engine_us": engine_us,
        "model_us": model_us,
        "minimal_us": floor_us,
        "ratio": engine_us / floor_us,
        "model_ratio": model_us / floor_us if model_us else None,
        "same_model": same_model(),
    }


def same_model(replications: int = 3) -> str:
    """Check that the minimal loop is the engine's model: equal ``jit`` results."""
    from simulator.model.replication import build_policies, make_plans

    try:
        scn = load_scenario("classroom").with_overrides(replications=replications)
        # the minimal loop keeps demand as drawn: compare in continuous units
        scn = Scenario.from_dict({**scn.to_dict(), "units": "continuous"})
        scn = scn.with_overrides(policies=["jit"])
        level = build_policies(scn, make_plans(scn))["jit"][0].levels()[1][0]
        rows = run_batch(scn, list(range(replications))).rows
        for r in range(replications):
            row = next(x for x in rows if x["replication"] == r and x["sku"] != "ALL")
            got = minimal_simpy.simulate(r, 2, float(level))
            for ours, theirs in (
                (row["fill_rate"], got["fill_rate"]),
                (row["avg_on_hand"], got["avg_on_hand"]),
                (row["orders_placed"], got["orders"]),
            ):
                if not math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9):
                    return f"no (replication {r}: engine {ours!r}, minimal loop {theirs!r})"
    except Exception as exc:  # noqa: BLE001 - a report line, never a crash
        return f"not checked ({type(exc).__name__}: {exc})"
    return f"yes (jit, replications 0–{replications - 1}: equal fill rate, on-hand, orders)"


def supplysim_exe() -> list[str]:
    """The ``supplysim`` console script of this interpreter's environment."""
    exe = Path(sys.executable).parent / "supplysim"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from simulator.cli import main; main()"]


_MEASURE_CHILD = """\
import json, resource, subprocess, sys, time
try:
    import psutil
except ImportError:
    psutil = None
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
tree_peak = 0
if psutil is not None:
    p = psutil.Process(proc.pid)
    while proc.poll() is None:
        total = 0
        try:
            for q in [p, *p.children(recursive=True)]:
                try:
                    total += q.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        tree_peak = max(tree_peak, total)
        time.sleep(0.05)
rc = proc.wait()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"rc": rc, "max_process": peak, "tree": tree_peak or None}))
"""


def memory(replications: int) -> dict[str, Any]:
    """Peak RSS of ``supplysim run classroom -n N --no-plots`` in a fresh process tree.

    ``max_process`` is the largest single process (``RUSAGE_CHILDREN`` of a small
    wrapper whose only descendants are the run); ``tree`` the peak of the sum
    over the run's processes (sampled every 50 ms; needs psutil).
    """
    import json

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            *supplysim_exe(),
            "run", "classroom", "-n", str(replications), "--no-plots", "--quiet",
            "--out", str(Path(tmp) / "run"),
        ]  # fmt: skip
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _MEASURE_CHILD, *cmd],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise RuntimeError(f"supplysim run failed ({res['rc']}): {out.stderr.strip()}")
    mb = 1024 * 1024
    return {
        "replications": replications,
        "seconds": seconds,
        "max_process_mb": res["max_process"] / mb,
        "tree_mb": res["tree"] / mb if res["tree"] else None,
        "command": " ".join(["supplysim", *cmd[1:-2], "--out", "DIR"]),
    }


def startup(runs: int = 9) -> dict[str, Any]:
    """Median wall time of ``supplysim --help`` in a fresh process."""
    cmd = [*supplysim_exe(), "--help"]
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": runs}


def profile(scenarios: list[Scenario]) -> str:
    """Pyinstrument profiles (text) of ``run_batch`` on each scenario."""
    from pyinstrument import Profiler

    parts = []
    for scn in scenarios:
        run_batch(scn, [0])
        prof = Profiler(interval=0.0005)
        prof.start()
        run_batch(scn, list(range(scn.replications)))
        prof.stop()
        parts.append(f"## {scn.name}, {scn.replications} replications\n")
        parts.append(prof.output_text(unicode=True, color=False, show_all=False))
    return "\n".join(parts)


# --------------------------------------------------------------------------- report


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def render(res: dict[str, Any], quick: bool) -> str:
    """The benchmark report as Markdown."""
    m = res["machine"]
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`python benchmarks/bench.py"
        + (" --quick" if quick else "")
        + "`); do not edit by hand."
        + (
            " **Quick run**: small runs; numbers are indicative and the targets that "
            "need full-size runs are marked as such."
            if quick
            else ""
        ),
        "",
        "SKU-days = replications × policies × SKUs × simulated days (warm-up included).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in m.items()],
        "",
        "## Targets",
        "",
        "| target | goal | measured | |",
        "|---|---|---|---|",
    ]
    for t in res["targets"]:
        note = f" ({t['note']})" if t.get("note") else ""
        lines.append(f"| {t['name']} | {t['goal']} | {t['measured']} | {_met(t['ok'])}{note} |")
    lines += [
        "",
        "## Throughput",
        "",
        "Whole runs in one process (`run_scenario`: simulation, per-run metrics, summaries "
        "and daily bands; no files written).",
        "",
        "| run | scenario | backend | workers | replications | SKU-days | wall (s) | SKU-days/s |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for t in res["timings"]:
        lines.append(
            f"| {t.label} | {t.scenario} | {t.backend} | {t.workers} | {t.replications:,} "
            f"| {t.sku_days:,} | {t.seconds:.2f} | {t.rate:,.0f} |"
        )
    o = res["overhead"]
    lines += [
        "",
        "## Engine vs a minimal SimPy loop",
        "",
        "The same single-SKU classroom model written as one plain SimPy process "
        "(`benchmarks/minimal_simpy.py`: review every R days up to a level, receipts "
        "from a list, demand drawn in one block, end-of-day record) is the floor for "
        "SimPy. Engine = `run_batch` on classroom (demand draws, SimPy model, per-run "
        f"metric rows and daily paths); CPU time, best of 3, {o['replications']} replications "
        "each.",
        "",
        "| | CPU µs per SKU-day | SKU-days/s | ÷ minimal loop |",
        "|---|---:|---:|---:|",
        f"| engine (`run_batch`, classroom) | {o['engine_us']:.2f} "
        f"| {1e6 / o['engine_us']:,.0f} | **{o['ratio']:.2f}×** |",
        *(
            [
                f"| engine, SimPy model only (`draw_demand` + `simulate`) | {o['model_us']:.2f} "
                f"| {1e6 / o['model_us']:,.0f} | {o['model_ratio']:.2f}× |"
            ]
            if o["model_us"]
            else []
        ),
        f"| minimal SimPy loop | {o['minimal_us']:.2f} | {1e6 / o['minimal_us']:,.0f} | 1× |",
        "",
        f"Same model: {o['same_model']}.",
    ]
    s = res["speedup"]
    lines += [
        "",
        "## Parallel speed-up",
        "",
        f"classroom, {s['replications']:,} replications: serial {s['serial_s']:.2f} s, "
        f"`processes` on 2 workers {s['parallel_s']:.2f} s: **{s['speedup']:.2f}×**. "
        f"CPU accounting of the parallel run: workers {s['cpu_workers']:.2f} s in all, main "
        f"process {s['cpu_main']:.2f} s (serial run: {s['serial_cpu']:.2f} s), so the "
        f"processes add {100 * s['cpu_overhead']:.0f} % CPU; with two free cores the wall time "
        f"would be about {s['estimate_s']:.2f} s, a speed-up of about {s['estimate']:.2f}× "
        "(an estimate, not the measurement above). "
        f"For scale, the machine itself gave {s['machine']:.2f}× to two processes of pure "
        "CPU work in the same run (2.00× on two free cores): other load on a shared "
        "machine, or two vCPUs on one physical core, caps any speed-up measured here.",
    ]
    mem = res["memory"]
    tree = f"{mem['tree_mb']:.0f} MB" if mem["tree_mb"] else "not measured (no psutil)"
    lines += [
        "",
        "## Memory",
        "",
        f"`{mem['command']}` ({mem['seconds']:.1f} s): peak RSS of the largest process "
        f"{mem['max_process_mb']:.0f} MB (`RUSAGE_CHILDREN`); peak of the whole process "
        f"tree (main + workers, sampled) {tree}.",
    ]
    st = res["startup"]
    lines += [
        "",
        "## Start-up",
        "",
        f"`supplysim --help`: median {1000 * st['median_s']:.0f} ms, "
        f"best {1000 * st['min_s']:.0f} ms over {st['runs']} runs.",
        "",
        res["fast_engine_text"],
        "## Profile",
        "",
        "What the profiles showed and what changed, with each change's measured gain: "
        "[profiling.md](profiling.md).",
        "",
        "## Reproduce",
        "",
        "```",
        "make bench                              # full run, rewrites this file",
        "python benchmarks/bench.py --quick      # a short run",
        "python benchmarks/bench.py --profile    # also print pyinstrument profiles",
        "python benchmarks/minimal_simpy.py      # the floor alone",
        "python benchmarks/fast_engine.py        # the fast engine's section alone",
        "python benchmarks/minimal_numpy.py      # the numpy floor alone",
        "```",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the report and write it to ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short runs (indicative numbers)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown report to write")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--profile", action="store_true", help="print pyinstrument profiles too")
    args = ap.parse_args(argv)
    quick = args.quick
    n_cores = cores()

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    res: dict[str, Any] = {"machine": machine()}
    say(f"machine: {res['machine']['CPU']}, {res['machine']['cores']} cores")

    if args.profile:
        say("profiling ...")
        print(profile([load_scenario("classroom").with_overrides(replications=200),
                       catalogue(replications=6)]))  # fmt: skip

    # 1. Throughput; the serial classroom run doubles as the ≥ 10 s speed-up run.
    say("sizing runs ...")
    room = sized(load_scenario("classroom"), 2.0 if quick else 12.0, 50)
    cat = sized(catalogue(), 1.5 if quick else 8.0, 2)
    timings: list[Timing] = []
    for label, scn in (("classroom", room), ("catalogue", cat)):
        for backend, workers in (("serial", 1), ("processes", n_cores)):
            say(f"{label}: {scn.replications} replications, {backend} × {workers} ...")
            timings.append(time_run(label, scn, backend, workers))
    res["timings"] = timings

    # 2. Engine vs minimal SimPy loop.
    say("engine vs minimal SimPy loop ...")
    res["overhead"] = overhead(100 if quick else 400)

    # 3. Speed-up on 2 cores (reuses the serial classroom run).
    serial = timings[0]
    if n_cores == 2:
        parallel = timings[1]
    else:
        say("classroom on 2 workers ...")
        parallel = time_run("classroom", room, "processes", 2)
        timings.append(parallel)
    say("machine parallelism (pure CPU, 2 processes) ...")
    res["speedup"] = {
        "machine": machine_parallelism(),
        "replications": room.replications,
        "serial_s": serial.seconds,
        "parallel_s": parallel.seconds,
        "speedup": serial.seconds / parallel.seconds,
        "serial_cpu": serial.cpu_main,
        "cpu_main": parallel.cpu_main,
        "cpu_workers": parallel.cpu_workers,
        "cpu_overhead": (parallel.cpu_main + parallel.cpu_workers) / serial.cpu_main - 1,
    }
    res["speedup"]["estimate_s"] = parallel.cpu_workers / 2 + parallel.cpu_main
    res["speedup"]["estimate"] = serial.seconds / res["speedup"]["estimate_s"]

    # 4. Memory of a 100,000-replication run (2,000 when quick).
    mem_reps = 2_000 if quick else 100_000
    say(f"memory: supplysim run classroom -n {mem_reps} --no-plots ...")
    res["memory"] = memory(mem_reps)

    # 5. Start-up.
    say("start-up: supplysim --help ...")
    res["startup"] = startup()

    # 6. The fast engine.
    res["fast_engine"] = fast_engine.measure(quick, say)
    res["fast_engine_text"] = fast_engine.render(res["fast_engine"])

    o, s, mem, st = res["overhead"], res["speedup"], res["memory"], res["startup"]
    full_speedup = serial.seconds >= 10.0 and n_cores >= 2
    res["targets"] = [
        {
            "name": "engine ÷ minimal SimPy loop, per SKU-day",
            "goal": f"≤ {TARGETS['overhead']}×",
            "measured": f"{o['ratio']:.2f}×",
            "ok": o["ratio"] <= TARGETS["overhead"],
        },
        {
            "name": "parallel speed-up, 2 cores, run ≥ 10 s"
            + ("" if full_speedup else f" (indicative: {serial.seconds:.1f} s run)"),
            "goal": f"≥ {TARGETS['speedup']}×",
            "measured": f"{s['speedup']:.2f}×",
            "ok": None if n_cores < 2 else s["speedup"] >= TARGETS["speedup"],
            "note": (
                f"the machine itself gave {s['machine']:.2f}× on pure CPU work; "
                f"CPU accounting estimates {s['estimate']:.2f}× on two free cores"
                if s["machine"] < TARGETS["speedup"]
                else ""
            ),
        },
        {
            "name": f"peak memory, classroom × {mem_reps:,} replications, --no-plots"
            + ("" if mem_reps >= 100_000 else " (indicative: target is 100,000)"),
            "goal": f"< {TARGETS['memory_mb']:.0f} MB",
            "measured": f"{mem['max_process_mb']:.0f} MB"
            + (f" (tree {mem['tree_mb']:.0f} MB)" if mem["tree_mb"] else ""),
            "ok": max(mem["max_process_mb"], mem["tree_mb"] or 0) < TARGETS["memory_mb"],
        },
        {
            "name": "`supplysim --help` start-up (median)",
            "goal": f"< {TARGETS['startup_s']} s",
            "measured": f"{st['median_s']:.3f} s",
            "ok": st["median_s"] < TARGETS["startup_s"],
        },
    ]
    res["targets"] += fast_engine.targets(res["fast_engine"])
    text = render(res, quick)
    print(text)
    for t in res["targets"]:
        note = f" ({t['note']})" if t.get("note") else ""
        verdict = _met(t["ok"]).strip("*")
        print(f"target: {t['name']}: {t['measured']} (goal {t['goal']}) -> {verdict}{note}")
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
