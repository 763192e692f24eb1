"""The Shiny app: the explorer page, the class challenge (teacher) and joining a round (students).

:func:`create_app` builds one :class:`shiny.App` with its own
:class:`~simulator.present.app.simulations.Simulations` (runs and their cache) and
:class:`~simulator.present.app.challenge.Classroom` (rounds), held by the app, never
at module level. Everything the pages compute comes from the plain modules beside
this one; this module only wires inputs to them and their results to outputs.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any

from shiny import App, reactive, render, ui

from simulator.data.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario
from simulator.present.app.challenge import (
    METRIC_WORDS,
    OBJECTIVES,
    TARGETS,
    ChallengeError,
    Classroom,
    Limits,
    Objective,
    RoundSpec,
    Target,
    replay_scenario,
)
from simulator.present.app.challenge import (
    round_csv as round_csv_text,
)
from simulator.present.app.charts import frontier_figure, inventory_figure, tradeoff_figure
from simulator.present.app.params import (
    BOUNDS,
    ExplorerParams,
    params_from_scenario,
    single_product,
    to_scenario,
)
from simulator.present.app.reading import reading as reading_line
from simulator.present.app.serve import join_address
from simulator.present.app.simulations import Simulations, Superseded
from simulator.present.app.tables import leaderboard_table, summary_table

__all__ = ["create_app"]

MAX_UPLOAD_BYTES = 1_000_000

_CSS = """
.sidebar h6 { margin: .9rem 0 .2rem; font-weight: 600; color: #555; }
.irs--shiny .irs-single { font-size: 11px; }
#status { color: #555; font-size: .9rem; }
#reading { font-size: 1.05rem; font-weight: 600; color: #1f3b57; min-height: 1.4rem; }
.join-code { font-size: 3.2rem; font-weight: 700; letter-spacing: .4rem; color: #1f3b57; }
table.table td, table.table th { font-size: .85rem; }
.card-body { overflow-x: auto; }
.note { color: #8a5a00; font-size: .9rem; }
"""


def _encode(fig: Any) -> str:
    """Draw a figure as PNG, base64 text for an inline image.

    Drawn here rather than by ``render.plot``, which would switch the figures'
    constrained layout (the charts' legends below their panels need it) to tight.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, pil_kwargs={"compress_level": 1})
    fig.clear()
    return base64.b64encode(buf.getvalue()).decode()


def _png(fig: Any, alt: str, ident: str) -> Any:
    """Return a figure as an inline PNG that fills its card's width."""
    return _img(_encode(fig), alt, ident)


def _img(data: str, alt: str, ident: str) -> Any:
    """Return an inline PNG image element from base64 text."""
    return ui.img(src=f"data:image/png;base64,{data}", alt=alt, id=ident,
                  style="width:100%;height:auto")


class Pictures:
    """The explorer's two charts as PNG text, kept for the last few (outcome, ghost) pairs.

    Drawing them costs more than a cached run, so going back to a setting shows it at
    once; the app draws them on a worker thread right after the run.
    """

    def __init__(self, size: int = 32) -> None:
        """Keep at most ``size`` pairs of pictures."""
        self.size = size
        self._items: dict[tuple[str, str], tuple[str, str]] = {}
        self._lock = threading.Lock()

    def get(self, outcome: Any, ghost: Any) -> tuple[str, str]:
        """Return (trade-off, inventory) PNGs of ``outcome`` with ``ghost`` (or None)."""
        key = (outcome.scenario.content_hash(),
               "" if ghost is None else ghost.scenario.content_hash())
        with self._lock:
            hit = self._items.get(key)
        if hit is not None:
            return hit
        pics = (_encode(tradeoff_figure(outcome, ghost)), _encode(inventory_figure(outcome, ghost)))
        with self._lock:
            self._items[key] = pics
            while len(self._items) > self.size:
                del self._items[next(iter(self._items))]
        return pics


def _slider(name: str, label: str, value: float, fmt: str | None = None) -> Any:
    """Return a slider over the setting's bounds (:data:`~.params.BOUNDS`)."""
    b = BOUNDS[name]
    kwargs = {"ticks": False}
    if fmt == "pct":
        kwargs["post"] = " %"
        return ui.input_slider(name, label, b.low * 100, b.high * 100, value * 100,
                               step=b.step * 100, **kwargs)  # fmt: skip
    return ui.input_slider(name, label, b.low, b.high, value, step=b.step, **kwargs)


def _explorer_sidebar(p: ExplorerParams, choices: dict[str, str], start: str) -> Any:
    """Lay out the explorer's controls, seeded with ``p``."""
    return ui.sidebar(
        ui.input_select("scenario", "Scenario", choices, selected=start),
        ui.input_file("upload", None, accept=[".yaml", ".yml"], button_label="Upload YAML…",
                      placeholder="or your own scenario file"),
        ui.output_ui("scenario_note"),
        ui.h6("Demand"),
        _slider("demand_mean", "Mean demand (units a day)", p.demand_mean),
        _slider("demand_cv", "Demand variability (CV)", p.demand_cv),
        _slider("order_size", "Customer order size (0 = one order a day)", p.order_size),
        ui.h6("Supplier"),
        _slider("lead_mean", "Lead time, mean (days)", p.lead_mean),
        _slider("lead_cv", "Lead-time variability (CV)", p.lead_cv),
        _slider("order_cost", "Cost per purchase order", p.order_cost),
        _slider("holding_rate", "Holding rate (per year)", p.holding_rate, "pct"),
        ui.h6("Policies"),
        _slider("service_level", "Safety stock: service level", p.service_level, "pct"),
        _slider("jit_review", "JIT: review every (days)", p.jit_review),
        ui.h6("Risks"),
        ui.input_switch("closure", "Port closure", p.closure),
        _slider("closure_start", "Closure starts on day", p.closure_start),
        _slider("closure_days", "Closure length (days)", p.closure_days),
        _slider("campaign_uplift", "Campaign uplift (× demand, 14 days; 1 = none)",
                p.campaign_uplift),
        _slider("campaign_start", "Campaign starts on day", p.campaign_start),
        ui.h6("Run"),
        _slider("replications", "Replications", p.replications),
        ui.input_switch("compare", "Compare with previous", True),
        ui.download_button("download_yaml", "Scenario YAML", class_="btn-sm"),
        ui.download_button("download_runs", "Results CSV", class_="btn-sm"),
        width=330,
        open="always",
    )


def _explorer_page(p: ExplorerParams, choices: dict[str, str], start: str) -> Any:
    """Lay out the explorer: controls on the left, the reading, two charts and the table."""
    return ui.layout_sidebar(
        _explorer_sidebar(p, choices, start),
        ui.output_text("reading"),
        ui.output_text("status"),
        ui.output_ui("notes"),
        ui.layout_columns(
            ui.card(ui.card_header("The trade-off: cash tied up against stockout days"),
                    ui.output_ui("tradeoff"), fill=False),
            ui.card(ui.card_header("Stock on hand over the year, per policy"),
                    ui.output_ui("inventory"), fill=False),
            col_widths=[5, 7],
            fill=False,
        ),
        ui.card(ui.card_header("Summary: mean [95 % CI] across replications"),
                ui.output_table("summary"), fill=False),
        fillable=False,
    )


def _teacher_page(choices: dict[str, str]) -> Any:
    """Lay out the class challenge for the teacher: a round's settings, code, leaderboard."""
    sources = {"explorer": "the explorer's current setup", **choices}
    return ui.layout_sidebar(
        ui.sidebar(
            ui.h6("New round"),
            ui.input_select("round_source", "Scenario (locked for the round)", sources),
            ui.input_select("round_family", "Students choose a policy",
                            {"s_S": "(s, S): reorder point and order-up-to level",
                             "r_Q": "(r, Q): reorder point and lot size",
                             "base_stock": "base stock S",
                             "safety_stock": "safety stock: service level"}),
            ui.input_select("round_target", "Target",
                            {k: METRIC_WORDS[k] + (" at least" if v == ">=" else " at most")
                             for k, v in TARGETS.items()}),
            ui.input_slider("round_target_value", "Target value", 50, 100, 95, step=0.5,
                            post=" %"),
            ui.input_select("round_objective", "Objective", OBJECTIVES),
            ui.input_numeric("round_replications", "Replications (same for everyone)", 200,
                             min=20, max=500, step=10),
            ui.input_numeric("round_seed", "Seed (blank: the scenario's)", None, min=0),
            ui.input_action_button("round_open", "Open round", class_="btn-primary"),
            ui.output_ui("round_error"),
            width=330,
            open="always",
        ),
        ui.output_ui("round_header"),
        ui.navset_card_tab(
            ui.nav_panel("Leaderboard", ui.output_table("leaderboard")),
            ui.nav_panel("Debrief", ui.output_ui("frontier")),
            id="round_view",
        ),
        fillable=False,
    )


def _student_page() -> Any:
    """Lay out joining a round: code, name, the round's parameters, submit, the board."""
    return ui.layout_columns(
        ui.card(
            ui.card_header("Join a round"),
            ui.input_text("join_code", "Round code"),
            ui.input_text("join_name", "Your name"),
            ui.output_ui("join_round"),
            ui.output_ui("join_params"),
            ui.input_action_button("join_submit", "Submit", class_="btn-primary"),
            ui.output_ui("join_message"),
        ),
        ui.card(ui.card_header("Leaderboard"), ui.output_table("join_board")),
        col_widths=[4, 8],
    )


@dataclass(frozen=True)
class Shown:
    """What the explorer shows: an outcome, the settings behind it, the base scenario's key."""

    outcome: Any
    params: ExplorerParams | None
    base_key: str


def create_app(scenario: str = "classroom", host: str = "127.0.0.1", port: int = 8000,
               limits: Limits | None = None) -> App:  # fmt: skip
    """Build the app, its run cache and its rounds; ``scenario`` seeds the explorer.

    Raises:
        ScenarioError: ``scenario`` is neither a built-in name nor a valid file.

    """
    start = load_scenario(scenario)
    choices = {name: name for name in builtin_scenarios()}
    start_key = scenario if scenario in choices else "__start__"
    if start_key == "__start__":
        choices = {"__start__": f"{start.name} (from {scenario})", **choices}
    seed_params = params_from_scenario(start) if single_product(start) else ExplorerParams()
    seed_params = dataclasses.replace(seed_params, replications=200)
    sims = Simulations()
    pictures = Pictures()
    challenge_sims = Simulations(workers=1)  # the challenge's own queue
    classroom = Classroom(challenge_sims.submit, limits)
    # Load the fast engine's compiled code now, not on the first slider move.
    sims.submit(start.with_overrides(replications=2), lane="warm-up")
    address, address_note = join_address(host, port)

    app_ui = ui.page_navbar(
        ui.nav_panel("Explorer", _explorer_page(seed_params, choices, start_key),
                     value="explorer"),
        ui.nav_panel("Class challenge", _teacher_page(choices), value="challenge"),
        ui.nav_panel("Join a round", _student_page(), value="join"),
        id="page",
        title="supplysim classroom",
        header=ui.tags.style(_CSS),
        fillable=False,
    )

    def server(input: Any, output: Any, session: Any) -> None:
        base = reactive.value(start)
        base_key = reactive.value(start_key)
        uploaded = reactive.value(None)
        current: reactive.Value[Shown | None] = reactive.value(None)
        previous: reactive.Value[Shown | None] = reactive.value(None)
        problem = reactive.value("")
        lane = f"explorer:{session.id}"

        # ------------------------------------------------------------- scenario
        @reactive.effect
        @reactive.event(input.scenario, ignore_init=True)
        def _pick() -> None:
            key = input.scenario()
            scn = start if key == "__start__" else (
                uploaded() if key == "__upload__" else load_scenario(key))
            if scn is None:
                return
            _set_base(scn, key)

        @reactive.effect
        @reactive.event(input.upload)
        def _upload() -> None:
            files = input.upload()
            if not files:
                return
            f = files[0]
            if f["size"] > MAX_UPLOAD_BYTES:
                problem.set(f"{f['name']}: larger than {MAX_UPLOAD_BYTES // 1000} kB")
                return
            try:
                scn = Scenario.from_yaml_text(open(f["datapath"], encoding="utf-8").read(),
                                              origin=f["name"])
            except (ScenarioError, UnicodeDecodeError) as exc:
                problem.set(str(exc))
                return
            uploaded.set(scn)
            ui.update_select("scenario", choices={"__upload__": f"{scn.name} (uploaded)",
                                                  **choices}, selected="__upload__")
            _set_base(scn, "__upload__")

        def _set_base(scn: Scenario, key: str) -> None:
            problem.set("")
            base.set(scn)
            base_key.set(f"{key}:{scn.content_hash()}")
            previous.set(None)
            if single_product(scn):
                p = params_from_scenario(scn)
                for name in BOUNDS:
                    if name == "replications":
                        continue
                    value = getattr(p, name)
                    if name in ("holding_rate", "service_level"):
                        value = value * 100
                    ui.update_slider(name, value=value)
                ui.update_switch("closure", value=p.closure)

        @render.ui
        def scenario_note() -> Any:
            scn = base()
            text = scn.description.strip().splitlines()[0] if scn.description.strip() else ""
            extra = "" if single_product(scn) else (
                f" This scenario has {len(scn.skus)} products: the sliders apply to "
                "single-product scenarios, so it runs as written (replications apply).")
            return ui.p(text + extra, class_="small text-muted")

        # ------------------------------------------------------------- settings -> run
        @reactive.calc
        def params() -> ExplorerParams:
            values = {name: input[name]() for name in BOUNDS}
            values["holding_rate"] = values["holding_rate"] / 100
            values["service_level"] = values["service_level"] / 100
            values["closure"] = bool(input.closure())
            return ExplorerParams.from_mapping(values)

        @reactive.calc
        def wanted() -> tuple[Scenario, ExplorerParams | None, list[str]]:
            scn, p = base(), params()
            if not single_product(scn):
                return scn.with_overrides(replications=p.replications), None, []
            made, notes = to_scenario(scn, p)
            return made, p, notes

        @reactive.extended_task
        async def simulate(scn: Scenario, p: ExplorerParams | None, key: str,
                           before: Shown | None) -> Shown | None:  # fmt: skip
            try:
                outcome = await asyncio.wrap_future(sims.submit(scn, lane))
            except Superseded:
                return None
            ghost = before.outcome if before is not None and before.base_key == key else None
            # Draw the charts off the event loop, so other browsers stay served.
            await asyncio.to_thread(pictures.get, outcome, ghost)
            return Shown(outcome, p, key)

        @reactive.effect
        def _ask() -> None:
            try:
                scn, p, _ = wanted()
            except (ValueError, ScenarioError) as exc:
                problem.set(str(exc))
                return
            problem.set("")
            simulate.cancel()
            with reactive.isolate():
                before = current() if input.compare() else None
            simulate.invoke(scn, p, base_key(), before)

        @reactive.effect
        def _arrived() -> None:
            if simulate.status() != "success":
                return
            shown = simulate.result()
            if shown is None:
                return
            with reactive.isolate():
                now = current()
            if now is not None and now.outcome.scenario == shown.outcome.scenario:
                return
            previous.set(now if now is not None and now.base_key == shown.base_key else None)
            current.set(shown)

        @render.text
        def status() -> str:
            state = simulate.status()
            shown = current()
            if state == "running":
                return "Simulating…"
            if state == "error":
                try:
                    simulate.result()
                except Exception as exc:  # noqa: BLE001 - shown in the page
                    return f"The run failed: {exc}"
            if shown is None:
                return "Simulating…"
            o = shown.outcome
            how = ("from the cache" if o.cached
                   else f"in {o.seconds:.2f} s ({o.metadata.get('engine', '')} engine)")
            return (f"{o.scenario.replications} replications of {o.scenario.name}, "
                    f"{o.scenario.horizon_days} days, seed {o.scenario.seed}: {how}.")

        @render.text
        def reading() -> str:
            shown, before = current(), previous()
            if not input.compare() or shown is None or before is None:
                return ""
            if shown.params is None or before.params is None:
                return ""
            o = shown.outcome
            return reading_line(before.params, shown.params, before.outcome.runs, o.runs,
                           currency=o.scenario.currency, policies=list(o.scenario.policies))

        @render.ui
        def notes() -> Any:
            msgs = []
            if problem():
                msgs.append(problem())
            try:
                _, _, extra = wanted()
                msgs += extra
            except (ValueError, ScenarioError):
                pass
            shown = current()
            if shown is not None:
                msgs += shown.outcome.scenario.window_warnings()
            return ui.div(*[ui.p(m, class_="note") for m in msgs])

        def _ghost() -> Any:
            before = previous()
            return before.outcome if (before is not None and input.compare()) else None

        @render.ui
        def tradeoff() -> Any:
            shown = current()
            if shown is None:
                return None
            return _img(pictures.get(shown.outcome, _ghost())[0],
                        "Cash tied up against stockout days, per policy", "tradeoff-img")

        @render.ui
        def inventory() -> Any:
            shown = current()
            if shown is None:
                return None
            return _img(pictures.get(shown.outcome, _ghost())[1],
                        "Stock on hand over the year, per policy", "inventory-img")

        @render.table
        def summary() -> Any:
            shown = current()
            if shown is None:
                return None
            s = shown.outcome.scenario
            return summary_table(shown.outcome.summary, list(s.policies), s.currency,
                                 s.baseline_policy)

        @render.download_button(filename=lambda: f"{wanted()[0].name}-explorer.yaml")
        def download_yaml() -> Any:
            yield wanted()[0].to_yaml()

        @render.download_button(filename=lambda: f"{wanted()[0].name}-runs.csv")
        def download_runs() -> Any:
            shown = current()
            if shown is not None:
                buf = io.StringIO()
                shown.outcome.runs.to_csv(buf, index=False)
                yield buf.getvalue()

        # ------------------------------------------------------------- challenge: teacher
        mine = reactive.value(None)  # (code, teacher secret) of the round this session opened
        round_problem = reactive.value("")

        @reactive.poll(lambda: classroom.version, 0.5)
        def version() -> int:
            return classroom.version

        @reactive.effect
        @reactive.event(input.round_open)
        def _open_round() -> None:
            try:
                source = input.round_source()
                if source == "explorer":
                    with reactive.isolate():
                        scn = wanted()[0]
                else:
                    scn = load_scenario(source)
                seed = input.round_seed()
                scn = scn.with_overrides(replications=int(input.round_replications() or 200),
                                         seed=int(seed) if seed not in (None, "") else None)
                spec = RoundSpec(scn, input.round_family(),
                                 target=Target(input.round_target(),
                                               float(input.round_target_value()) / 100),
                                 objective=Objective(input.round_objective()))
                rnd = classroom.create(spec)
            except (ChallengeError, ScenarioError, ValueError) as exc:
                round_problem.set(str(exc))
                return
            round_problem.set("")
            mine.set((rnd.code, rnd.teacher))

        @render.ui
        def round_error() -> Any:
            return ui.p(round_problem(), class_="note") if round_problem() else None

        def _my_round() -> Any:
            got = mine()
            if got is None:
                return None
            try:
                return classroom.get(got[0])
            except ChallengeError:
                return None

        @render.ui
        def round_header() -> Any:
            version()
            rnd = _my_round()
            if rnd is None:
                return ui.p("Open a round on the left: students then join it from the "
                            "'Join a round' page with its code.", class_="text-muted")
            s = rnd.spec
            link = f"{address}?join={rnd.code}"
            waiting = sum(e.status in ("waiting", "running") for e in rnd.entries)
            n = len({e.name.lower() for e in rnd.entries if not e.reference})
            return ui.div(
                ui.layout_columns(
                    ui.div(ui.div("Join code", class_="text-muted"),
                           ui.div(rnd.code, class_="join-code", id="join-code")),
                    ui.div(
                        ui.p(ui.strong("Students open "), ui.code(link)),
                        ui.p(address_note, class_="note") if address_note else None,
                        ui.p(f"{s.scenario.name}: {s.family} policy, {s.target.text()}, "
                             f"{s.objective.text()}; {s.scenario.replications} replications, "
                             f"seed {s.scenario.seed}. {n} students, {waiting} runs waiting."
                             + ("" if rnd.open else " Closed."), class_="small"),
                        ui.download_button("round_csv", "Export round (CSV)", class_="btn-sm"),
                        ui.download_button("round_yaml", "Replay scenario (YAML)",
                                           class_="btn-sm"),
                        ui.input_action_button("round_close", "Close round", class_="btn-sm"),
                    ),
                    col_widths=[3, 9],
                ),
            )

        @reactive.effect
        @reactive.event(input.round_close)
        def _close() -> None:
            got = mine()
            if got is not None:
                classroom.close(*got)

        def _board_frame(rnd: Any) -> Any:
            s = rnd.spec
            return leaderboard_table(rnd.board(), s.target.metric, s.objective.metric,
                                     s.scenario.currency)

        @render.table
        def leaderboard() -> Any:
            version()
            rnd = _my_round()
            return None if rnd is None else _board_frame(rnd)

        @render.ui
        def frontier() -> Any:
            version()
            rnd = _my_round()
            if rnd is None:
                return None
            s = rnd.spec
            fig = frontier_figure(rnd.board(), s.target.metric, s.target.value,
                                  s.objective.metric, s.scenario.currency,
                                  list(s.scenario.policies), METRIC_WORDS)
            return _png(fig, "Every entry's objective against its target metric",
                        "frontier-img")

        @render.download_button(filename=lambda: f"round-{(mine() or ('x',))[0]}.csv")
        def round_csv() -> Any:
            rnd = _my_round()
            if rnd is not None:
                yield round_csv_text(rnd)

        @render.download_button(filename=lambda: f"round-{(mine() or ('x',))[0]}.yaml")
        def round_yaml() -> Any:
            rnd = _my_round()
            if rnd is not None:
                yield replay_scenario(rnd).to_yaml()

        # ------------------------------------------------------------- challenge: student
        join_problem = reactive.value("")
        join_done = reactive.value("")

        @reactive.effect
        def _from_link() -> None:
            query = urllib.parse.parse_qs(session.clientdata.url_search().lstrip("?"))
            code = (query.get("join") or [""])[0]
            if code:
                ui.update_text("join_code", value=code.upper())
                ui.update_navset("page", selected="join")

        def _joined() -> Any:
            version()
            try:
                return classroom.get(input.join_code())
            except ChallengeError:
                return None

        @render.ui
        def join_round() -> Any:
            rnd = _joined()
            if rnd is None:
                code = (input.join_code() or "").strip()
                return ui.p(f"No round '{code}'." if code else "Type the code your teacher "
                            "shows.", class_="small text-muted")
            s = rnd.spec
            return ui.p(f"Round {rnd.code}: {s.target.text()}, {s.objective.text()}. "
                        f"Everyone runs on the same {s.scenario.replications} random futures.",
                        class_="small")

        @render.ui
        def join_params() -> Any:
            rnd = _joined()
            if rnd is None:
                return None
            return ui.div(*[
                ui.input_numeric(f"param_{p.name}", f"{p.label or p.name} "
                                 f"({p.low:g}–{p.high:g})", None, min=p.low, max=p.high,
                                 step=p.step)
                for p in rnd.spec.params])  # fmt: skip

        @reactive.effect
        @reactive.event(input.join_submit)
        def _submit() -> None:
            rnd = _joined()
            if rnd is None:
                join_problem.set("code: type the round's code first")
                return
            values = {p.name: input[f"param_{p.name}"]() for p in rnd.spec.params}
            try:
                entry = classroom.submit(rnd.code, input.join_name(), values)
            except ChallengeError as exc:
                join_problem.set(str(exc))
                join_done.set("")
                return
            join_problem.set("")
            join_done.set(f"Submitted as {entry.name}: {entry.params_text()}. "
                          "Your entry appears on the leaderboard when it has run.")

        @render.ui
        def join_message() -> Any:
            if join_problem():
                return ui.p(join_problem(), class_="note", id="join-error")
            return ui.p(join_done(), class_="small") if join_done() else None

        @render.table
        def join_board() -> Any:
            rnd = _joined()
            return None if rnd is None else _board_frame(rnd)

    app = App(app_ui, server)
    app.supplysim = {"simulations": sims, "challenge_simulations": challenge_sims,
                     "classroom": classroom}  # fmt: skip
    return app
