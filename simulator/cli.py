"""The ``supplysim`` command line: thin glue over scenario, runner, results, plots, report.

Exit codes: 0 ok, 2 bad input (one clear message, no traceback), 1 internal
error. Heavy libraries (pandas, matplotlib, dask) are imported inside the
commands so that ``supplysim --help`` starts fast.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import click

__all__ = ["cli", "main"]

CHECKED = 10
"""Replications that ``run --check`` replays with the event log."""

KEY_METRICS = (
    ("fill_rate", "Fill rate", "pct"),
    ("stockout_rate", "Stockout\ndays", "pct"),
    ("total_cost", "Total\ncost", "money"),
    ("cash_tied_up", "Cash in\nstock", "money"),
    ("cash_in_pipeline", "Stock in\ntransit", "money"),
    ("working_capital_peak", "Peak working\ncapital", "money"),
    ("purchase_orders", "Purchase\norders", "num"),
)


class BadInput(click.ClickException):
    """Bad input from the user: one line, exit code 2."""

    exit_code = 2


def _backend(backend: str | None, workers: int | None,
             scheduler: str | None = None) -> tuple[str, int | None]:
    """Return the backend and workers to use: defaults filled in, Dask checked."""
    if backend is None:
        backend = "dask" if scheduler else ("serial" if workers == 1 else "processes")
    if backend == "dask":
        from simulator.study.dask_backend import BackendError, require_dask

        try:
            require_dask()
        except BackendError as exc:
            raise BadInput(str(exc)) from None
    if backend != "serial" and workers is None:
        workers = os.cpu_count() or 1
    return backend, workers


def _run_and_commit(ws, run, write):
    """Run, then write the claimed folder whole; return (result, folder).

    On any failure the work folder is discarded, so nothing half-written is left;
    a folder error or a lost worker is one line, exit 1.
    """
    from simulator.study.results import ResultsError
    from simulator.study.runner import WorkerLost

    try:
        result = run()
        return result, ws.commit(lambda tmp: write(result, tmp))
    except ResultsError as exc:
        ws.discard()
        raise Stopped(f"error: {exc}", 1) from None
    except WorkerLost as exc:
        ws.discard()
        raise Stopped(f"error: {exc}; nothing was written", 1) from None
    except BaseException:
        ws.discard()
        raise


def _command() -> str:
    """Return the command line as typed, for provenance."""
    return "supplysim " + " ".join(shlex.quote(x) for x in sys.argv[1:])


def _load(name_or_path: str):
    from simulator.data.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(name_or_path)
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None


_workers_option = click.option(
    "-w", "--workers", type=click.IntRange(min=1), help="Parallel workers [all cores]."
)
_backend_option = click.option(
    "--backend",
    type=click.Choice(["serial", "processes", "dask"]),
    default=None,
    help="Where replications run [processes when workers > 1, else serial].",
)


def _engine_option(default: str):
    """Return the --engine option (docs/engines.md) with the command's default."""
    return click.option(
        "--engine",
        type=click.Choice(["simpy", "fast", "auto"]),
        default=default,
        show_default=True,
        help="simpy (the reference model), fast (compiled, same results) or auto "
        "(fast where it supports the scenario).",
    )


def _engine(scn, engine: str, quiet: bool = False, announce: bool = True) -> str:
    """Check --engine against the scenario; with auto, say once which engine runs and why.

    ``announce=False`` leaves the "engine:" line for the end of the command's output
    (:func:`_engine_note`); a cold compile of the fast engine is said at once anyway.
    """
    from simulator.study.runner import resolve_engine

    try:
        used, why = resolve_engine(scn, engine)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if engine == "auto" and not quiet and announce:
        click.echo(f"engine: {used} ({why})", err=True)
    if used == "fast" and not quiet and not _fast_engine_cached():
        click.echo("engine: compiling the fast engine once (about a minute); later runs load "
                   "it from the cache", err=True)
    return used


def _engine_note(scn, engine: str) -> str:
    """Say which engine ran and why, for the end of a command's output."""
    from simulator.study.runner import resolve_engine

    used, why = resolve_engine(scn, engine)
    return f"Engine:    {used} ({why})"


def _fast_engine_cached() -> bool:
    """Whether numba's on-disk cache of the fast engine's loop exists (no compile needed)."""
    import importlib.util

    spec = importlib.util.find_spec("simulator.model.kernel_loop")
    if spec is None or spec.origin is None:
        return False
    cache = Path(spec.origin).parent / "__pycache__"
    return any(cache.glob("kernel_loop.*.nbi"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="supplysim", prog_name="supplysim")
def cli() -> None:
    """Monte Carlo supply-chain simulator: just-in-time vs safety stock vs hybrid.

    Start with `supplysim run` (the built-in classroom scenario), or
    `supplysim scenarios` to see the built-in scenarios.
    """


@cli.command()
@click.argument("scenario", required=False, default="classroom")
@click.option("-n", "--replications", type=click.IntRange(min=1), help="Replications per policy.")
@click.option("--seed", type=click.IntRange(min=0), help="Root random seed.")
@click.option("-p", "--policy", "policies", multiple=True, help="Run only this policy (repeat).")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Results folder to write.")
@click.option(
    "--force", is_flag=True, help="Replace the folder if supplysim wrote it (or it is empty)."
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its checkpoints.")
@_workers_option
@_backend_option
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786.")
@click.option("--no-plots", is_flag=True, help="Skip charts and the HTML report.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the results folder.")
@_engine_option("simpy")
@click.option(
    "--check",
    is_flag=True,
    help=f"Check every invariant on all rows and on the first {CHECKED} replications replayed "
    "with their event log; exit 1 on a violation (the results are kept).",
)
def run(
    scenario: str,
    replications: int | None,
    seed: int | None,
    policies: tuple[str, ...],
    out: Path | None,
    force: bool,
    resume: bool,
    workers: int | None,
    backend: str | None,
    scheduler: str | None,
    no_plots: bool,
    quiet: bool,
    engine: str,
    check: bool,
) -> None:
    """Simulate SCENARIO (a YAML file or a built-in name; default: classroom).

    Every policy runs on the same random demand and lead times (common random
    numbers); the results folder gets the tables, charts and an HTML report.
    The folder is claimed before the run starts and appears whole at the end;
    finished batches are checkpointed beside it, so an interrupted run (Ctrl-C,
    SIGTERM, a lost worker) continues with --resume.
    """
    from simulator.data.scenario import ScenarioError
    from simulator.study.results import ResultsError
    from simulator.study.workspace import check_out_path

    again = ["run", scenario]  # the command that resumes this run, should it stop
    for flag, value in (("-n", replications), ("--seed", seed)):
        again += [flag, str(value)] if value is not None else []
    for p in policies:
        again += ["-p", p]
    for flag, value in (("-w", workers), ("--backend", backend), ("--scheduler", scheduler)):
        again += [flag, str(value)] if value is not None else []
    again += ["--no-plots"] * no_plots + ["-q"] * quiet + ["--force"] * force + ["--check"] * check
    again += ["--engine", engine] if engine != "simpy" else []  # simpy: the default
    scn = _load(scenario)
    try:
        scn = scn.with_overrides(replications, seed, list(policies) or None)
        if out is not None:
            check_out_path(out)
    except (ScenarioError, ResultsError) as exc:
        raise BadInput(str(exc)) from None
    for line in scn.window_warnings():
        click.echo(f"warning: {line}", err=True)
    if scheduler and backend not in (None, "dask"):
        raise BadInput(f"--scheduler: only used with --backend dask, got --backend {backend}")
    backend, workers = _backend(backend, workers, scheduler)
    _engine(scn, engine, quiet)  # checked and said now; the run records auto's reason itself
    command = _command()
    _run_claimed(
        scn, out, force, resume, backend, workers, scheduler, no_plots, quiet, command, again,
        check, engine,
    )


class Stopped(click.ClickException):
    """The run was stopped (signal, lost worker): one line saying what is kept, then exit."""

    def __init__(self, message: str, exit_code: int, hard: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.hard = hard
        """Exit at once after the message (see :func:`main`)."""

    def show(self, file=None) -> None:  # noqa: D102 - no "Error:" prefix: not the user's mistake
        click.echo(self.message, err=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP: the terminal closed) arrived: stop as on Ctrl-C, exit 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process killed by it."""
        return 128 + self.signum


def _on_stop_signal(signum, frame) -> None:
    raise Terminated(signum)


def _run_claimed(
    scn, out, force, resume, backend, workers, scheduler, no_plots, quiet, command, again,
    check=False, engine="simpy",
):
    """Claim the folder, run (resuming from checkpoints), write; on a stop, keep the checkpoints."""
    from simulator.study.results import ResultsError, write_tables
    from simulator.study.runner import Batch, WorkerLost, run_scenario
    from simulator.study.workspace import Workspace

    identity = {
        "scenario": scn.name,
        "scenario_hash": scn.content_hash(),
        "seed": scn.seed,
        "replications": scn.replications,
        "command": command,
    }
    try:
        ws = Workspace.claim(out, identity, force=force, resume=resume)
    except ResultsError as exc:
        raise BadInput(str(exc)) from None
    for note in ws.notes:
        click.echo(note, err=True)
    n = scn.replications
    again = "supplysim " + " ".join(
        shlex.quote(a) for a in [*again, "--out", str(ws.target), "--resume"]
    )

    def kept(what: str) -> str:
        k = ws.checkpointed()
        if k == 0:
            return f"{what} before any batch finished; nothing was written"
        return (
            f"{what} with {k:,} of {n:,} replications done, checkpointed in {ws.work}; "
            f"resume with: {again}"
        )

    try:
        done = [Batch(reps, cols, daily) for reps, cols, daily in ws.load_batches()]
        if done and not quiet:
            k = sum(len(b.replications) for b in done)
            click.echo(f"Resuming: {k:,} of {n:,} replications already done in {ws.work}", err=True)

        def checkpoint(batch) -> None:
            ws.save_batch(batch.replications, batch.columns, batch.daily)

        try:
            result = _run_with_progress(
                functools.partial(run_scenario, engine=engine), scn, backend, workers, scheduler,
                command, quiet, done, checkpoint,
            )
        except ValueError as exc:
            from simulator.study.dask_backend import BackendError

            if isinstance(exc, BackendError):
                raise BadInput(str(exc)) from None
            raise
        if done:
            result.metadata["resumed_replications"] = sum(len(b.replications) for b in done)
        problems = _check(scn, result) if check else []

        def write(tmp: Path) -> None:
            write_tables(result, tmp)
            if not no_plots:
                from simulator.present.plots import make_figures
                from simulator.present.report import build_report

                make_figures(tmp)
                build_report(tmp)

        written = ws.commit(write)
    except KeyboardInterrupt as exc:
        ws.suspend()
        sig = (
            (signal.Signals(exc.signum).name, exc.exit_code)
            if isinstance(exc, Terminated)
            else ("Ctrl-C", 130)
        )
        raise Stopped(kept(f"stopped by {sig[0]}"), sig[1], hard=True) from None
    except WorkerLost as exc:
        ws.suspend()
        raise Stopped("error: " + kept(str(exc)), 1, hard=True) from None
    except ResultsError as exc:
        ws.suspend()
        raise Stopped(f"error: {exc}", 1) from None
    except BadInput:
        ws.discard()
        raise
    except BaseException:
        if ws.checkpointed():
            ws.suspend()
            click.echo(kept("the run failed"), err=True)
        else:
            ws.discard()
        raise
    if quiet:
        click.echo(str(written))
    else:
        _print_summary(result.summary, result.metadata, scn)
        click.echo(f"\nResults: {written}/")
        if not no_plots:
            click.echo(f"Report:  {written / 'report.html'}")
    if check:
        _report_check(problems, result.metadata["invariant_check"], written, quiet)


def _check(scn, result) -> list[str]:
    """Check the invariants of a finished run; note what was checked in its metadata."""
    from simulator.study.invariants import check_runs
    from simulator.study.runner import check_replications

    replayed = min(scn.replications, CHECKED)
    problems = check_runs(result.runs, scn) + check_replications(scn, range(replayed))
    result.metadata["invariant_check"] = {
        "rows_checked": len(result.runs),
        "replications_replayed": replayed,
        "violations": len(problems),
    }
    return problems


def _report_check(problems: list[str], what: dict, written: Path, quiet: bool) -> None:
    """Say what --check found: nothing (one line), or the violations and exit 1."""
    if not problems:
        if not quiet:
            click.echo(
                f"Checked: every invariant holds on {what['rows_checked']:,} rows and "
                f"{what['replications_replayed']} replications replayed with their event log."
            )
        return
    for line in problems[:20]:
        click.echo(f"invariant violated: {line}", err=True)
    more = " (first 20 shown)" if len(problems) > 20 else ""
    raise Stopped(
        f"error: {len(problems)} invariant violations{more}: a fault of the simulator, please "
        f"report it; the results are kept in {written}",
        1,
    )

def _run_with_progress(
    run_scenario, scn, backend, workers, scheduler, command, quiet, done=(), on_batch=None
):
    """Run, showing a progress bar once the run has taken more than a second."""
    state: dict = {"bar": None, "task": None, "t0": time.perf_counter()}

    def progress(done: int, total: int) -> None:
        if quiet:
            return
        if state["bar"] is None:
            if time.perf_counter() - state["t0"] < 1.0 or done >= total:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task("replications", total=total)
        state["bar"].update(state["task"], completed=done)

    try:
        return run_scenario(
            scn,
            backend=backend,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            command=command,
            done=done,
            on_batch=on_batch,
        )
    finally:
        if state["bar"] is not None:
            state["bar"].stop()


def _fmt(
    kind: str, value: float, currency: str, unit: bool = True, digits: int | None = None
) -> str:
    if value != value:  # NaN
        return "–"
    if kind == "pct":
        return f"{100 * value:.{1 if digits is None else digits}f}" + (" %" if unit else "")
    if kind == "money":
        return f"{currency if unit else ''}{value:,.{0 if digits is None else digits}f}"
    return f"{value:,.{1 if digits is None else digits}f}"


def _half_width(kind: str, half: float, currency: str) -> str:
    """Write a CI half-width with the digits it needs: never "± 0.0" unless it is 0."""
    if half != half:
        return "–"
    scale = 100 * half if kind == "pct" else half
    base = 0 if kind == "money" else 1
    digits = base
    while 0 < scale < 0.5 * 10.0**-digits and digits < base + 4:
        digits += 1
    return _fmt(kind, half, currency, unit=False, digits=digits)


def _policy_line(name: str, spec, scenario) -> str:
    """One line naming a policy: its description, or one made from its parameters."""
    from simulator.present.describe import describe_policy, scenario_context

    text = spec.description.strip().splitlines()[0] if spec.description.strip() else ""
    return f"  {name}: {text or describe_policy(spec, scenario_context(scenario))}"


def _can_write_off(summary, scenario) -> bool:
    """Whether stock can be written off: shelf life or an end of life, or any write-off seen.

    (Other overbuying features, e.g. a demand shift with leftover measures, carry the
    column at zero: it is left out.)
    """
    if "write_off_cost" not in set(summary["metric"]):
        return False
    if scenario is not None and any(
        s.shelf_life_days is not None or s.lifecycle is not None for s in scenario.skus
    ):
        return True
    seen = summary[summary["metric"] == "write_off_cost"]["mean"]
    return bool((seen.abs() > 0).any())


def _print_summary(summary, metadata: dict, scenario=None) -> None:
    """Print a table per policy: key portfolio metrics, mean ± 95 % CI and p5–p95."""
    from rich.console import Console
    from rich.table import Table

    cur = metadata.get("currency", "")
    days = metadata["horizon_days"]
    table = Table(
        title=(
            f"{metadata['scenario']}: {metadata['replications']} simulated seasons of "
            f"{days} days, seed {metadata['seed']}. All SKUs; each cell: mean ± 95 % CI "
            "half-width, then the range of 90 % of seasons (p5–p95)"
        ),
        title_justify="left",
    )
    table.add_column("policy", style="bold", no_wrap=True)
    rows = summary[summary["sku"] == "ALL"].set_index(["policy", "metric"])
    metrics = list(KEY_METRICS)
    if _can_write_off(summary, scenario):
        metrics.insert(3, ("write_off_cost", "Written\noff", "money"))
    for _, label, _ in metrics:
        table.add_column(label, justify="right", no_wrap=True)
    specs = scenario.policies if scenario is not None else {}
    for policy in metadata["policies"]:
        cells = []
        for metric, _, kind in metrics:
            if (policy, metric) not in rows.index:
                cells.append("–")
                continue
            r = rows.loc[(policy, metric)]
            half = (r["ci_high"] - r["ci_low"]) / 2
            if abs(half) <= 1e-9 * max(1.0, abs(r["mean"])):
                half = 0.0  # every season alike up to float noise: "± 0", not "± 0.0000"
            mean, pm = _fmt(kind, r["mean"], cur), _half_width(kind, half, cur)
            pm = "0" if half == 0 else pm
            lo, hi = _fmt(kind, r["p5"], cur, unit=False), _fmt(kind, r["p95"], cur, unit=False)
            spread = f"{lo} – {hi}"
            if kind == "pct":  # 99.98 % is not "100.0 %", nor p5 99.96 % "100.0 – 100.0"
                from simulator.present.report import _base_decimals, _interval, _plain

                d = _base_decimals(r["mean"], "ratio")
                mean = _plain(r["mean"], "ratio", cur, d)
                spread = _interval(r["p5"], r["p95"], "ratio", cur, d, "p5 = p95 = {}")
            cells.append(f"{mean} [dim]± {pm}[/dim]\n[dim]{spread}[/dim]")
        table.add_row(policy, *cells)
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # pipes and logs: no need to squeeze into 80 columns
    console.print(table)
    for policy in metadata["policies"]:
        if policy in specs:
            click.echo(_policy_line(policy, specs[policy], scenario))
    _print_targets(summary, metadata)
    click.echo(
        "Fill rate: units served from stock at once ÷ units demanded. Stockout days: share "
        "of days with demand not served at once"
        + (" (SKUs weighted by units demanded)" if len(metadata.get("skus") or []) > 1 else "")
        + f".\nCosts per {days}-day season"
        + (" (total cost includes lost margin, an opportunity cost)"
           if metadata.get("unmet_demand") == "lost_sale" else "")
        + (". Written off: expired and obsolete stock at cost less salvage"
           if len(metrics) > len(KEY_METRICS) else "")
        + ". Cash in stock: mean inventory value; stock in transit: mean value on order; "
        "peak working capital: the most cash in stock and in transit on any day."
    )


def _print_targets(summary, metadata: dict) -> None:
    """Print each policy's service target beside the cycle service level it achieved."""
    targets = metadata.get("service_targets") or []
    if not targets:
        return
    csl = summary[summary["metric"] == "cycle_service_level"].set_index(["policy", "sku"])
    groups: dict[tuple[str, float], list[str]] = {}
    classes: dict[tuple[str, float], set[str]] = {}
    for t in targets:
        groups.setdefault((t["policy"], t["target"]), []).append(t["sku"])
        classes.setdefault((t["policy"], t["target"]), set()).add(t["abc_class"])
    several = {p for p, _ in groups if sum(q == p for q, _ in groups) > 1}
    parts = []
    for (policy, target), skus in groups.items():
        means = [csl.loc[(policy, s), "mean"] for s in skus if (policy, s) in csl.index]
        means = [m for m in means if m == m]
        if not means:
            continue
        achieved = sum(means) / len(means)
        who = f" class {'/'.join(sorted(classes[(policy, target)]))}" if policy in several else ""
        parts.append(f"{policy}{who} {100 * target:g} % → {100 * achieved:.1f} %")
    if parts:
        click.echo("Cycle service level, target → achieved (mean over SKUs): " + "; ".join(parts))


@cli.command()
@click.argument("scenarios", nargs=-1, required=True)
@click.option("-q", "--quiet", is_flag=True, help="Print only the 'ok' line of each scenario.")
def validate(scenarios: tuple[str, ...], quiet: bool) -> None:
    """Check scenario files (or built-in names) without running them.

    For each valid scenario, print what will be simulated: the horizon in dates, the
    calendar of announced and unannounced windows (dates and day numbers), the ABC
    classes and the policies. Warnings go to stderr; a bad file exits 2.
    """
    from simulator.data.scenario import ScenarioError, load_scenario

    bad = 0
    for name in scenarios:
        try:
            scn = load_scenario(name)
        except ScenarioError as exc:
            bad += 1
            for line in str(exc).splitlines():
                click.echo(line if line.startswith(f"{name}:") else f"{name}: {line}", err=True)
            continue
        for line in scn.window_warnings():
            click.echo(f"{name}: warning: {line}", err=True)
        click.echo(
            f"{name}: ok ({len(scn.skus)} SKU{'s' * (len(scn.skus) != 1)}, "
            f"{len(scn.policies)} policies, {scn.horizon_days} days)"
        )
        if not quiet:
            for line in _scenario_outline(scn):
                click.echo(f"  {line}")
    if bad:
        sys.exit(2)


def _days_text(scn, start: int, end: int) -> str:
    """Half-open days [start, end) as dates and day numbers, last day inclusive."""
    if end <= start:
        return f"{scn.date_of(start)} (day {start}, empty)"
    last = end - 1
    span = f"{end - start} day{'s' * (end - start != 1)}"
    if last == start:
        return f"{scn.date_of(start)} (day {start}, {span})"
    return f"{scn.date_of(start)} – {scn.date_of(last)} (days {start}–{last}, {span})"


def _scenario_outline(scn) -> list[str]:
    """Lines that say what a valid scenario will simulate (for ``validate``)."""
    from simulator.model.policies import abc_classes

    lines = [f"horizon: {_days_text(scn, 0, scn.horizon_days)}"
             + (f", after {scn.warmup_days} warm-up days" if scn.warmup_days else "")
             + f"; {scn.replications} replications, seed {scn.seed}, "
             f"unmet demand {scn.unmet_demand.replace('_', ' ')}"]  # fmt: skip
    calendar = sorted(scn.calendar(), key=lambda w: (w["start_day"], w["label"]))
    if calendar:
        lines.append("calendar (last day inclusive):")
        width = max(len(w["label"]) for w in calendar)
        for w in calendar:
            note = "" if w.get("announced", True) else "  [not announced: planners do not see it]"
            lines.append(f"  {w['label']:<{width}}  "
                         f"{_days_text(scn, w['start_day'], w['end_day'])}{note}")  # fmt: skip
    else:
        lines.append("calendar: no campaigns or disruption windows")
    random = [f"{d.label or 'random outage'} ({name}, {d.per_year:g}/year)"
              for name, sup in scn.suppliers.items() for d in sup.disruptions
              if not hasattr(d, "start")]  # fmt: skip
    if random:
        lines.append("random disruptions, drawn per replication: " + "; ".join(random))
    if len(scn.skus) > 1:
        classes = abc_classes(scn)
        by_class: dict[str, list[str]] = {}
        for sku_id, c in classes.items():
            by_class.setdefault(c, []).append(sku_id)
        lines.append("ABC classes (by expected revenue: A the top 80 %, B the next 15 %):")
        for c in sorted(by_class):
            ids = by_class[c]
            shown = ", ".join(ids[:6]) + (", …" if len(ids) > 6 else "")
            lines.append(f"  {c}: {len(ids)} SKU{'s' * (len(ids) != 1)} ({shown})")
    for name, spec in scn.policies.items():
        mark = " (baseline)" if name == scn.baseline_policy else ""
        text = spec.description.strip().splitlines()[0] if spec.description.strip() else ""
        lines.append(f"policy {name}{mark}: {spec.type}" + (f" — {text}" if text else ""))
    return lines


@cli.command("scenarios")
def list_scenarios() -> None:
    """List the built-in scenarios."""
    from simulator.data.scenario import builtin_scenarios

    for name, desc in builtin_scenarios().items():
        click.echo(f"{name:<20} {desc}")


_OTHER_FOLDERS = {"sweep.json": "sweep", "compare.csv": "compare", "plan.csv": "plan",
                  "search.csv": "optimize"}  # fmt: skip
"""A file that marks a folder written by another command than ``run``."""


def _run_folder(folder: Path, command: str) -> None:
    """Refuse a folder that another command than ``run`` wrote, saying which one."""
    for marker, other in _OTHER_FOLDERS.items():
        if (folder / marker).is_file():
            page = "plan.html" if other == "plan" else "report.html"
            raise BadInput(
                f"{folder}: a `supplysim {other}` folder; `supplysim {command}` works on the "
                f"folders of `supplysim run` (its {page} is already there; to reproduce it, "
                f"run the command in its metadata.json again)"
            )


def _results(folder: Path, command: str):
    from simulator.study.results import ResultsError, load

    _run_folder(folder, command)
    try:
        return load(folder)
    except ResultsError as exc:
        raise BadInput(str(exc)) from None


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--style", type=click.Choice(["default", "slides"]), default="default",
              show_default=True, help="slides: large type, 16:9, one message per chart, for "
              "projecting (into RESULTS/figures/slides/).")
def plot(results: Path, style: str) -> None:
    """(Re)draw the charts of a results folder into RESULTS/figures/."""
    _results(results, "plot")
    from simulator.present.plots import make_figures

    for path in make_figures(results, style=style):
        click.echo(str(path))


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--title", help="Title of the report (default: the scenario's report.title, "
              "else its name).")
@click.option("--author", help="Who prepared it (over the scenario's report.author).")
@click.option("--client", help="Who it is for (over the scenario's report.client).")
@click.option("--logo", type=click.Path(path_type=Path),
              help="PNG, JPEG or SVG shown in the title block, embedded in the page.")
@click.option("--style", type=click.Choice(["default", "slides"]), default="default",
              show_default=True, help="slides: embed the large-type slides charts.")
@click.option("--min-fill-rate", type=click.FloatRange(0, 1), default=0.95, show_default=True,
              help="Fill-rate floor of the rule picking the best policy per class and SKU "
              "(the cheapest policy reaching it).")
@click.option("--pdf", is_flag=True, help="Also print it to RESULTS/report.pdf with headless "
              "Chromium.")
def report(results: Path, title: str | None, author: str | None, client: str | None,
           logo: Path | None, style: str, min_fill_rate: float, pdf: bool) -> None:
    """(Re)build RESULTS/report.html, a self-contained page (and report.pdf with --pdf)."""
    _results(results, "report")
    from simulator.present.report import ReportError, build_report, find_chromium, write_pdf

    if pdf and find_chromium() is None:  # say so before spending time on the page
        raise BadInput("--pdf: needs Chromium on PATH (e.g. apt-get install chromium); or "
                       "open report.html in a browser and print it to PDF")
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            page = build_report(results, title=title, author=author, client=client,
                                logo=logo, style=style, min_fill_rate=min_fill_rate)
        for w in caught:
            click.echo(f"warning: {w.message}", err=True)
        click.echo(str(page))
        if pdf:
            click.echo(str(write_pdf(results, page)))
    except ReportError as exc:
        raise BadInput(str(exc)) from None


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "-o", "--out", type=click.Path(path_type=Path), help="Also write the reproduced folder here."
)
@_workers_option
@_backend_option
def rerun(results: Path, out: Path | None, workers: int | None, backend: str | None) -> None:
    """Run RESULTS again from its scenario.yaml and metadata.json; compare runs.parquet.

    Says whether runs.parquet came out byte for byte identical (exit 0) or
    shows the first row that differs (exit 1). With --out, the reproduced
    folder (tables only) is kept there.
    """
    import tempfile

    from simulator.data.scenario import Scenario, ScenarioError
    from simulator.study.results import ResultsError, write_tables
    from simulator.study.runner import run_scenario
    from simulator.study.workspace import Workspace

    if not results.is_dir():
        raise BadInput(f"{results}: no such results folder")
    _run_folder(results, "rerun")
    for name in ("scenario.yaml", "metadata.json", "runs.parquet"):
        if not (results / name).is_file():
            raise BadInput(f"{results}: not a results folder (missing {name})")
    try:
        scn = Scenario.from_yaml(results / "scenario.yaml")
        meta = json.loads((results / "metadata.json").read_text(encoding="utf-8"))
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{results / 'metadata.json'}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise BadInput(f"{results / 'metadata.json'}: must be a JSON object")
    for line in _provenance_warnings(scn, meta):
        click.echo(f"warning: {line}", err=True)
    if backend is None:
        backend = "serial" if workers == 1 else "processes"
    if backend == "dask":
        from simulator.study.dask_backend import BackendError, require_dask

        try:
            require_dask()
        except BackendError as exc:
            raise BadInput(str(exc)) from None
    ws = None
    if out is not None:
        identity = {
            "scenario": scn.name,
            "scenario_hash": scn.content_hash(),
            "seed": scn.seed,
            "replications": scn.replications,
        }
        try:
            ws = Workspace.claim(out, identity)
        except ResultsError as exc:
            raise BadInput(str(exc)) from None
    command = "supplysim " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        engine = meta.get("engine", "simpy")  # the engine that wrote the folder
        engine = engine if engine in ("simpy", "fast") else "simpy"
        result = _run_with_progress(
            functools.partial(run_scenario, engine=engine), scn, backend, workers, None, command,
            False,
        )
        if ws is not None:
            where = ws.commit(lambda tmp: write_tables(result, tmp))
            fresh = where / "runs.parquet"
            _report_rerun(results / "runs.parquet", fresh, meta)
            return
        with tempfile.TemporaryDirectory(prefix="supplysim-rerun-") as tmp:
            fresh = Path(tmp) / "runs.parquet"
            result.runs.to_parquet(fresh, index=False)
            _report_rerun(results / "runs.parquet", fresh, meta)
    except BaseException:
        if ws is not None:
            ws.discard()
        raise


def _provenance_warnings(scn, meta: dict) -> list[str]:
    """Say where the folder's metadata disagrees with its scenario.yaml or this installation."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for key, mine in (("seed", scn.seed), ("replications", scn.replications)):
        if key in meta and meta[key] != mine:
            out.append(f"metadata.json: {key} is {meta[key]}, scenario.yaml says {mine}")
    if meta.get("scenario_hash") not in (None, scn.content_hash()):
        out.append(
            f"scenario.yaml: hash {scn.content_hash()}, metadata.json recorded "
            f"{meta['scenario_hash']} (edited since the run?)"
        )
    for pkg, was in (meta.get("versions") or {}).items():
        if pkg == "python":
            continue
        try:
            now = version(pkg)
        except PackageNotFoundError:
            now = "not installed"
        if now != was:
            out.append(f"{pkg}: the run used {was}, this is {now}")
    return out


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _report_rerun(original: Path, fresh: Path, meta: dict) -> None:
    """Print whether two runs.parquet files are identical, else the first difference; exit 1."""
    import pandas as pd

    if original.read_bytes() == fresh.read_bytes():
        n = len(pd.read_parquet(fresh, columns=["replication"]))
        click.echo(
            f"identical: {original} reproduced byte for byte ({n:,} rows, seed "
            f"{meta.get('seed')}, {meta.get('replications')} replications)"
        )
        return
    a, b = pd.read_parquet(original), pd.read_parquet(fresh)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        what = (
            f"{len(a):,} rows × {len(a.columns)} columns recorded, "
            f"{len(b):,} × {len(b.columns)} reproduced"
        )
    else:
        differ = a.ne(b) & ~(a.isna() & b.isna())
        rows = differ.any(axis=1)
        if not rows.any():
            what = "same values, but the files differ (another pyarrow or pandas version?)"
        else:
            i = int(rows.to_numpy().nonzero()[0][0])
            cols = [c for c in a.columns if differ.iloc[i][c]]
            keys = ", ".join(f"{k} {a.iloc[i][k]}" for k in ("replication", "policy", "sku"))
            vals = "; ".join(
                f"{c} {_plain(a.iloc[i][c])!r} recorded vs {_plain(b.iloc[i][c])!r} now"
                for c in cols[:3]
            )
            more = f" (+{len(cols) - 3} more columns)" if len(cols) > 3 else ""
            what = f"first difference at row {i} ({keys}): {vals}{more}"
    raise Stopped(f"differs: {original} was not reproduced; {what}", 1)


@cli.command()
@click.argument("scenarios", nargs=-1, required=True, metavar="SCENARIO [SCENARIO_B]")
@click.option(
    "--without", "without", multiple=True, metavar="PATH",
    help="Remove this part of SCENARIO for the comparison, e.g. "
    "suppliers.overseas.disruptions.0 (repeat).",
)  # fmt: skip
@click.option("-n", "--replications", type=click.IntRange(min=1), help="Replications per policy.")
@click.option("--seed", type=click.IntRange(min=0), help="Root random seed.")
@click.option(
    "-p", "--policy", "policies", multiple=True, help="Compare only this policy (repeat)."
)
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Results folder to write.")
@click.option(
    "--force", is_flag=True, help="Replace the folder if supplysim wrote it (or it is empty)."
)
@_workers_option
@_backend_option
def compare(
    scenarios: tuple[str, ...],
    without: tuple[str, ...],
    replications: int | None,
    seed: int | None,
    policies: tuple[str, ...],
    out: Path | None,
    force: bool,
    workers: int | None,
    backend: str | None,
) -> None:
    """Show what a risk costs: SCENARIO with and --without a part, or against SCENARIO_B.

    Both variants run every policy with the same seed and replications, so each
    replication sees the same demand and lead times in both (common random
    numbers) and the difference, with − without, is paired. Prints the mean with,
    without, the difference with its 95 % CI and p5 – p95 per policy, and writes a
    folder (default results/<scenario>-compare-<timestamp>) with compare.csv,
    both runs and report.html. Paths: docs/compare.md.
    """
    from simulator.data.scenario import ScenarioError
    from simulator.present.comparison import print_comparison, write_report
    from simulator.study.compare import (
        CompareError,
        claim_folder,
        identity_of,
        run_compare,
        variants_from_scenarios,
        variants_without,
        write_compare,
    )
    from simulator.study.results import ResultsError

    if len(scenarios) > 2:
        raise BadInput(f"compare: give one scenario and --without PATH, or two scenarios; got "
                       f"{len(scenarios)}")
    if len(scenarios) == 2 and without:
        raise BadInput("compare: give --without PATH or a second scenario, not both")
    if len(scenarios) == 1 and not without:
        raise BadInput("compare: give --without PATH (e.g. --without "
                       "suppliers.overseas.disruptions.0) or a second scenario")
    loaded = [_load(name) for name in scenarios]
    try:
        a = loaded[0].with_overrides(replications, seed, list(policies) or None)
        if without:
            variants = variants_without(a, list(without))
        else:
            try:
                b = loaded[1].with_overrides(None, None, list(policies) or None)
            except ScenarioError as exc:
                raise BadInput(f"{scenarios[1]}: {exc}") from None
            variants = variants_from_scenarios(a, b, (scenarios[0], scenarios[1]))
    except (ScenarioError, CompareError) as exc:
        raise BadInput(str(exc)) from None
    for line in a.window_warnings():
        click.echo(f"warning: {line}", err=True)
    backend, workers = _backend(backend, workers)
    command = _command()
    try:
        ws = claim_folder(out, a.name, identity_of(variants), force)
    except ResultsError as exc:
        raise BadInput(str(exc)) from None

    def both(scn, *, progress, command, **_):  # called as _run_with_progress calls run_scenario
        return run_compare(variants, backend, workers, None, progress, command)

    result, written = _run_and_commit(
        ws, lambda: _run_with_progress(both, a, backend, workers, None, command, False),
        lambda result, tmp: (write_compare(result, tmp), write_report(result, tmp)),
    )
    print_comparison(result)
    click.echo(f"\nResults: {written}/")
    click.echo(f"Report:  {written / 'report.html'}")


@cli.command()
@click.argument("scenario")
@click.option(
    "--param", "params", multiple=True, required=True, metavar="PATH=SPEC",
    help="Sweep the value at PATH over SPEC: LOW:HIGH:N, LOW:HIGH:N:log or a,b,c, e.g. "
    "suppliers.overseas.disruptions.0.days=0:42:7 (repeat: a grid).",
)  # fmt: skip
@click.option("--zip", "zip_values", is_flag=True,
              help="Pair the values of the --param options in order instead of a grid.")
@click.option("-n", "--replications", type=click.IntRange(min=1),
              help="Replications per policy and point.")
@click.option("--seed", type=click.IntRange(min=0), help="Root random seed.")
@click.option("-p", "--policy", "policies", multiple=True, help="Run only this policy (repeat).")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Results folder to write.")
@click.option(
    "--force", is_flag=True, help="Replace the folder if supplysim wrote it (or it is empty)."
)
@_workers_option
@_backend_option
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786.")
@_engine_option("auto")
def sweep(
    scenario: str,
    params: tuple[str, ...],
    zip_values: bool,
    replications: int | None,
    seed: int | None,
    policies: tuple[str, ...],
    out: Path | None,
    force: bool,
    workers: int | None,
    backend: str | None,
    scheduler: str | None,
    engine: str,
) -> None:
    """Run SCENARIO over a range of values of its parameters, on common random numbers.

    Every point runs every policy with the same seed and replications, so the
    curves are paired. Sweeping a policy's parameter (policies.safety_stock.
    service_level) traces cost against service, the frontier; sweeping the
    scenario's (a closure's days, a lead time's sd, a SKU's demand) shows how each
    policy bears it. Prints a table per policy and writes a folder (default
    results/<scenario>-sweep-<timestamp>) with sweep.csv, runs.parquet, charts and
    report.html. Details: docs/sweep.md.
    """
    from simulator.data.scenario import ScenarioError
    from simulator.present.sweep_charts import print_sweep, write_figures, write_report
    from simulator.study.results import ResultsError
    from simulator.study.sweep import (
        SweepError,
        build_sweep,
        claim_folder,
        identity_of,
        run_sweep,
        write_sweep,
    )

    scn = _load(scenario)
    try:
        scn = scn.with_overrides(replications, seed, list(policies) or None)
        spec = build_sweep(scn, list(params), zip_values)
    except (ScenarioError, SweepError) as exc:
        raise BadInput(str(exc)) from None
    warnings = list(dict.fromkeys(line for s in spec.scenarios for line in s.window_warnings()))
    for line in warnings[:3]:
        click.echo(f"warning: {line}", err=True)
    if len(warnings) > 3:
        click.echo(f"warning: … and {len(warnings) - 3} more windows partly outside the "
                   "simulated days", err=True)
    if scheduler and backend not in (None, "dask"):
        raise BadInput(f"--scheduler: only used with --backend dask, got --backend {backend}")
    backend, workers = _backend(backend, workers, scheduler)
    _engine(scn, engine, announce=False)  # checked now, said with the results
    command = _command()
    try:
        ws = claim_folder(out, scn.name, identity_of(spec), force)
    except ResultsError as exc:
        raise BadInput(str(exc)) from None

    def points(scn, *, progress, command, **_):  # called as _run_with_progress calls run_scenario
        return run_sweep(spec, backend, workers, scheduler, progress, command, engine)

    def write(result, tmp: Path) -> None:
        write_sweep(result, tmp)
        write_figures(result, tmp)
        write_report(result, tmp)

    result, written = _run_and_commit(
        ws, lambda: _run_with_progress(points, scn, backend, workers, scheduler, command, False),
        write,
    )
    print_sweep(result)
    click.echo(f"\nResults: {written}/")
    click.echo(f"Report:  {written / 'report.html'}")
    click.echo(_engine_note(scn, engine).replace("Engine:    ", "Engine:  "))


@cli.command()
@click.argument("scenario")
@click.option("-p", "--policy", help="The policy to plan with (default: the baseline).")
@click.option("--from", "start", metavar="DATE", help="First day of the plan: a date or a "
              "day number (default: the scenario's start_date).")
@click.option("--weeks", type=click.IntRange(min=1), default=13, show_default=True,
              help="Weeks to plan.")
@click.option("--state", type=click.Path(path_type=Path, dir_okay=False),
              help="Today's stock: a CSV of sku,on_hand (and sku,on_order,arrives rows for "
              "open purchase orders); default the scenario's starting stock.")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Folder to write.")
@click.option(
    "--force", is_flag=True, help="Replace the folder if supplysim wrote it (or it is empty)."
)
def plan(scenario: str, policy: str | None, start: str | None, weeks: int,
         state: Path | None, out: Path | None, force: bool) -> None:
    """Print what a policy would order from today: dates, suppliers, quantities, arrivals.

    The policy's decisions on the forecast (mean demand, mean lead times, the
    announced calendar): its reorder points and order-up-to levels and how they
    change, the purchase orders it expects to place (one per supplier and review,
    in whole packs), and the stock it expects as each announced window starts.
    Writes plan.csv (the orders), levels.csv, windows.csv, projection.csv and
    plan.html to a folder (default results/<scenario>-plan-<policy>-<timestamp>).
    """
    from simulator.model.planning import PlanError, make_purchase_plan
    from simulator.present.report import plan_html
    from simulator.study.results import ResultsError
    from simulator.study.workspace import claim_named

    scn = _load(scenario)
    name = policy or scn.baseline_policy
    try:
        result = make_purchase_plan(scn, name, start, weeks, state)
    except PlanError as exc:
        raise BadInput(f"plan: {exc}") from None
    for line in result.summary_lines():
        click.echo(line)
    identity = {"command": "plan", "scenario": scn.content_hash(), "policy": name,
                "start": str(result.start), "weeks": weeks}
    try:
        ws = claim_named(out, f"{scn.name}-plan-{name}", identity, force)
    except ResultsError as exc:
        raise BadInput(str(exc)) from None

    def write(tmp: Path) -> None:
        result.orders.to_csv(tmp / "plan.csv", index=False)
        result.levels.to_csv(tmp / "levels.csv", index=False)
        result.level_changes.to_csv(tmp / "level_changes.csv", index=False)
        result.windows.to_csv(tmp / "windows.csv", index=False)
        result.projection.to_csv(tmp / "projection.csv", index=False)
        (tmp / "scenario.yaml").write_text(scn.to_yaml(), encoding="utf-8")
        (tmp / "plan.html").write_text(plan_html(result), encoding="utf-8")
        meta = {
            "command": "supplysim " + " ".join(shlex.quote(x) for x in sys.argv[1:]),
            "scenario": scn.name, "scenario_hash": scn.content_hash(), "seed": scn.seed,
            "replications": 0, "policy": name, "start": str(result.start),
            "end": str(result.end), "weeks": weeks, "notes": list(result.notes),
        }  # fmt: skip
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    try:
        written = ws.commit(write)
    except BaseException:
        ws.discard()
        raise
    click.echo(f"\nPlan:   {written / 'plan.csv'}")
    click.echo(f"Report: {written / 'plan.html'}")


@cli.command()
@click.argument("scenario")
@click.option("-p", "--policy", required=True,
              help="The policy to tune: a policy of the scenario, or a type such as base_stock.")
@click.option("--param", "params", multiple=True, required=True, metavar="KEY=LOW:HIGH[:STEP]",
              help="A parameter of the policy and its range, e.g. review_every_days=1:14 or "
              "service_level_a=0.90:0.995 (repeat: a grid).")
@click.option("--minimize", default="total_cost", show_default=True, metavar="METRIC",
              help="The metric to minimise (any column of runs.parquet).")
@click.option("--target", "targets", multiple=True, metavar='"METRIC>=X"',
              help='A target that must hold at the confidence level, e.g. "fill_rate>=0.98" '
              "(repeat).")
@click.option("--max-cash", type=float, help="A cap on cash tied up (its upper bound).")
@click.option("--per-sku", "per", flag_value="sku", help="Tune each SKU separately.")
@click.option("--per-class", "per", flag_value="class", help="Tune each ABC class separately.")
@click.option("--confidence", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True,
              help="Confidence of the one-sided bounds the targets are judged on.")
@click.option("-n", "--replications", type=click.IntRange(min=2),
              help="Fewest replications the choice gets (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), help="Root random seed.")
@click.option("--verify", "verify_seed", type=click.IntRange(min=0), metavar="SEED",
              help="Rerun the choice with this fresh seed and judge the targets again.")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Folder to write.")
@click.option(
    "--force", is_flag=True, help="Replace the folder if supplysim wrote it (or it is empty)."
)
@_workers_option
@_backend_option
@_engine_option("auto")
def optimize(scenario: str, policy: str, params: tuple[str, ...], minimize: str,
             targets: tuple[str, ...], max_cash: float | None, per: str | None,
             confidence: float, replications: int | None, seed: int | None,
             verify_seed: int | None, out: Path | None, force: bool, workers: int | None,
             backend: str | None, engine: str) -> None:
    """Find the policy parameters that minimise a metric while every target holds.

    Screens the whole grid with few replications, then confirms the contenders
    with more, on common random numbers throughout (screen-and-select, Nelson,
    Swann, Goldsman & Song 2001; docs/optimize.md). Writes optimized.yaml (the
    scenario with NAME_optimized added, ready to run), search.csv, runs.parquet,
    search.png and metadata.json. A target no point meets: one line, exit 3; so is a
    choice that --verify finds missing a target on fresh random numbers (after writing).
    """
    from simulator.data.scenario import ScenarioError
    from simulator.present.optimize_chart import write_search_chart
    from simulator.study import optimize as opt
    from simulator.study.results import ResultsError

    scn = _load(scenario)
    try:
        parsed = dict(opt.parse_param(p) for p in params)
        goals = [opt.parse_target(t) for t in targets]
        scn = scn.with_overrides(seed=seed)
    except (opt.OptimizeError, ScenarioError) as exc:
        raise BadInput(str(exc)) from None
    backend, workers = _backend(backend, workers)
    _engine(scn, engine, announce=False)  # checked now, said with the results
    command = _command()
    try:
        ws = opt.claim_folder(out, scn.name, opt.identity_of(scn, policy, parsed, replications),
                              force)
    except ResultsError as exc:
        raise BadInput(str(exc)) from None
    try:
        result = opt.optimize(
            scn, policy, parsed, minimize=minimize, targets=goals, max_cash=max_cash, per=per,
            confidence=confidence, backend=backend, workers=workers, replications=replications,
            command=command, engine=engine,
        )  # fmt: skip
        checked = opt.verify(result, verify_seed, backend=backend, workers=workers,
                             engine=engine) if verify_seed is not None else None
        written = ws.commit(
            lambda work: (opt.write_optimize(result, work), write_search_chart(result, work))
        )
    except opt.OptimizeError as exc:
        ws.discard()
        raise BadInput(str(exc)) from None
    except opt.Infeasible as exc:
        ws.discard()
        raise Stopped(str(exc), 3) from None
    except BaseException:
        ws.discard()
        raise
    for line in result.summary_lines():
        click.echo(line)
    if checked is not None:
        for line in checked.lines():
            click.echo(line)
    click.echo(f"\nResults:   {written}/")
    click.echo(f"Scenario:  {written / 'optimized.yaml'}  (supplysim run it)")
    click.echo(_engine_note(scn, engine))
    if checked is not None and not checked.holds:
        raise Stopped(
            f"--verify {verify_seed}: the choice misses a target on fresh random numbers (see "
            "above): its bounds were optimistic; search with more replications (-n)", 3
        )


@cli.command()
@click.argument("sales", type=click.Path(path_type=Path))
@click.option("--purchases", type=click.Path(path_type=Path),
              help="Purchase history (order date, receipt date, SKU, supplier): lead times.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Scenario YAML to write.")
@click.option("--plot", "plot_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for charts of the history against the fit.")
@click.option("--column", "columns", multiple=True, metavar="FIELD=NAME",
              help="Map a column: date, sku, quantity, order_id, price, unit_cost, line_total, "
              "status; purchase fields as po.FIELD (repeat).")
@click.option("--lead-time", type=click.FloatRange(min=0, max=36500),
              help="Mean lead time (days) of suppliers without a purchase history [14].")
@click.option("--lead-time-sd", type=click.FloatRange(min=0, max=36500),
              help="Its standard deviation [20 % of the mean].")
@click.option("--returns", type=click.Choice(["cancel", "net", "ignore"]), default="cancel",
              show_default=True, help="Negative quantities: cancel units of their own order "
              "(others left out), net against the day, or ignore.")
@click.option("--short-history", type=click.Choice(["pool", "exclude"]), default="pool",
              show_default=True, help="SKUs with too little history: a pooled model, or left out.")
@click.option("--timezone", metavar="TZ", help="Read offset timestamps in this zone, e.g. "
              "Europe/Berlin [the wall clock as written].")
@click.option("--date-format", metavar="FMT", help="Date format, e.g. %d/%m/%Y [recognised].")
@click.option("--horizon", type=click.IntRange(1, 36500), default=365, show_default=True,
              help="Days the scenario simulates.")
@click.option("--order-cost", type=click.FloatRange(min=0, max=1e12), default=0.0,
              show_default=True, help="Cost of one purchase order, for every supplier.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the file written.")
def fit(sales: Path, purchases: Path | None, out: Path, plot_dir: Path | None,
        columns: tuple[str, ...], lead_time: float | None, lead_time_sd: float | None,
        returns: str, short_history: str, timezone: str | None, date_format: str | None,
        horizon: int, order_cost: float, force: bool, quiet: bool) -> None:
    """Fit a scenario from a sales export (CSV, Parquet or Excel) and a purchase history.

    Then `supplysim run OUT`. Every estimate and why it was chosen is written in the
    scenario's comments; docs/fit.md explains them.
    """
    import re

    from simulator.data.fit import FitError, FitOptions, fit_history, write_scenario

    mapping = {}
    for item in columns:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise BadInput(f"--column: must be FIELD=NAME, got {item!r}")
        mapping[key.strip()] = value.strip()
    if out.exists() and not force:
        raise BadInput(f"{out}: already exists; use --force to overwrite it")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", out.stem).strip("-.") or "fitted"
    options = FitOptions(columns=mapping, lead_time=lead_time, lead_time_sd=lead_time_sd,
                         returns=returns, short_history=short_history, timezone=timezone,
                         date_format=date_format, horizon_days=horizon,
                         order_cost=order_cost, name=name)
    try:
        result = fit_history(sales, purchases, options)
        write_scenario(result.text, out, force=force)
    except FitError as exc:
        raise BadInput(str(exc)) from None
    if not quiet:
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
        if order_cost == 0:
            click.echo("note: no --order-cost given: purchase orders cost nothing, so EOQ lots "
                       "are small and the comparison ignores the cost of ordering often; set "
                       "your cost per purchase order in the scenario", err=True)
        _print_fit(result)
    if plot_dir is not None:
        from simulator.present.fit_charts import make_fit_figures

        written = make_fit_figures(result, plot_dir)
        if not quiet:
            click.echo(f"Charts:    {plot_dir}/ ({len(written)} files)")
    click.echo(f"Scenario:  {out}  (supplysim run {shlex.quote(str(out))})")


def _print_fit(result) -> None:
    """Print the fit's per-SKU and per-supplier summary tables."""
    from rich.console import Console
    from rich.table import Table

    p = result.provenance
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    table = Table(title=f"Fit of {p['sales']}: {p['first_day']} .. {p['last_day']}, "
                  f"{p['rows_used']:,} of {p['rows_read']:,} rows used "
                  f"({result.seconds:.1f} s)", title_justify="left")
    for col, just in [("SKU", "left"), ("class", "left"), ("days", "right"),
                      ("units/day", "right"), ("demand", "left"), ("why", "left"),
                      ("calendar", "left"), ("price", "right"), ("cost", "right"),
                      ("supplier", "left")]:
        table.add_column(col, justify=just, overflow="fold")
    for f in result.skus:
        cal = [k for k, v in (("weekly", f.weekly), ("monthly", f.monthly)) if v is not None]
        if f.trend:
            cal.append(f"trend {f.trend:+.0%}/y")
        dist = next(iter(f.demand.values()))
        kind = f"{f.model}: {dist.get('dist', f.dist)}" if f.model == "per_day" else (
            f"{dist['orders_per_day']:g} orders/day × {dist['order_size']['dist']} size")
        cost = f"{f.unit_cost:,.2f}" + ("*" if f.cost_source.startswith("assumed") else "")
        price = f"{f.price:,.2f}" + ("*" if f.price_source.startswith("assumed") else "")
        table.add_row(f.sku, f.abc, str(f.units.size), f"{f.mean_per_day:.3g}", kind, f.why,
                      ", ".join(cal) or "–", price, cost, f.supplier)
    console.print(table)
    sup = Table(title="Lead times", title_justify="left")
    for col in ("supplier", "source", "receipts", "lead time", "on time", "crossed", "why"):
        sup.add_column(col, overflow="fold")
    for _, r in result.supplier_summary().iterrows():
        on_time = "–" if r["on_time"] != r["on_time"] else f"{r['on_time']:.0%}"
        sup.add_row(r["supplier"], r["source"], str(r["shipments"]), r["lead_time"], on_time,
                    str(r["crossed"]), r["why"])
    console.print(sup)
    if result.excluded:
        click.echo(f"Left out: {', '.join(result.excluded)}")
    click.echo("* assumed (not in the files). Classes: ABC by expected revenue (80 % / 15 %).")


@cli.command("app")
@click.argument("scenario", required=False, default="classroom")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; 0.0.0.0 lets students' devices join.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
def app(scenario: str, port: int, host: str, no_browser: bool) -> None:
    """Serve the classroom app: a live trade-off explorer and a class challenge."""
    try:
        import shiny  # noqa: F401 - only to know the extra is installed
        import uvicorn  # noqa: F401

        from simulator.present.app.serve import serve
    except ImportError:
        raise BadInput("the app needs its extra: pip install 'supplysim[app]'") from None
    _load(scenario)  # a bad scenario is one line, exit 2, before the server starts
    serve(scenario, host=host, port=port, open_browser=not no_browser)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"warning: {message}", err=True)


def main() -> None:
    """Console-script entry point: exit 2 for bad input, 1 for internal errors.

    Ctrl-C exits 130, SIGTERM 143 and SIGHUP 129 (128 + the signal), after the run has
    stopped its workers and kept its checkpoints.
    """
    signal.signal(signal.SIGTERM, _on_stop_signal)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _on_stop_signal)
    # A script's background job starts with SIGINT ignored (POSIX shells do that
    # without job control); an hour-long run must still stop when interrupted.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import warnings

    # A warning is one line for the user ("warning: ..."), not a file path and line.
    warnings.showwarning = _show_warning
    try:
        cli.main(standalone_mode=False)
    except Stopped as exc:
        try:
            exc.show()
        except OSError:
            pass  # SIGHUP: the terminal is gone, and so is anyone to read this
        if exc.hard:
            # The workers are gone and the checkpoints are on disk. A process pool
            # that was torn down mid-run can leave its feeder and manager threads
            # for the interpreter to join at exit (sometimes forever, on 3.11):
            # leave without them.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exc.exit_code)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        click.echo("interrupted; nothing was written", err=True)
        sys.exit(exc.exit_code if isinstance(exc, Terminated) else 130)
    except Exception as exc:  # noqa: BLE001 - last line of defence, message without traceback
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        if os.environ.get("SUPPLYSIM_DEBUG"):
            raise
        click.echo("set SUPPLYSIM_DEBUG=1 to see the traceback", err=True)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
