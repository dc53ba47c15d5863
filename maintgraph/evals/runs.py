"""Evaluation and replay runs end to end, for every face (the CLI, the HTTP service, a bot).

Each function takes the stores it works on (opened by the caller, who knows how to reach the
product's Postgres), answers with data, and prints nothing: the faces decide how to show it.
What a run needs beyond its sets is decided here once: which adapter it is pinned to, which
contestants run beside the agent, what its configuration records, where its report goes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maintgraph.errors import MaintgraphError

if TYPE_CHECKING:
    from maintgraph.agent.traces import TraceStore
    from maintgraph.config import Settings
    from maintgraph.evals.store import EvalStore
    from maintgraph.evals.views import Comparison

BASELINES = ("vector-only", "no-global", "none")
TOOLS = ("recorded", "live")


class BadRequest(ValueError):
    """A request the caller has to correct (a face shows it as a usage error)."""


class Interrupted(MaintgraphError):
    """The run was interrupted (Ctrl-C); what it answered so far is kept and it can be resumed."""

    exit_code = 130

    def __init__(self, run_kind: str) -> None:
        self.run_kind = run_kind
        super().__init__(f"the {run_kind} run was interrupted")


@dataclass
class RunOutcome:
    """A finished run as stored, and its report (Markdown, HTML); ``failures`` lists the
    thresholds it missed when it was gated (None: not gated)."""

    run: dict[str, Any]
    report: tuple[Path, Path]
    failures: list[str] | None = None

    @property
    def id(self) -> str:
        return self.run["id"]


def report_dir(settings: Settings, out_dir: Path | None = None) -> Path:
    return out_dir or settings.data_dir / "reports"


def pinned(settings: Settings, use_model: bool, adapter: str | None) -> str | None:
    """For a run (evaluation, replay): no adapter named means the default now, pinned and
    recorded for the whole run ("" is the base model), so that neither a promotion halfway
    through nor a resume after one mixes two models in one run."""
    from maintgraph.llm.registry import ActiveAdapter

    if use_model and adapter is None:
        return ActiveAdapter(settings).name() or ""
    return adapter


def graph_version(settings: Settings) -> dict[str, int]:
    """What a run records of the graph it ran against: its size."""
    from maintgraph.graph.store import open_graph_store

    graph = open_graph_store(settings)
    try:
        stats = graph.stats()
    finally:
        graph.close()
    return {"nodes": sum(stats["nodes"].values()), "relationships": sum(stats["relationships"].values())}


def set_graphs(settings: Settings, names: list[str]) -> dict[str, Settings]:
    """The sets asked over data of their own (``data/eval/NAME/``, beside ``NAME.jsonl``: the FMEA
    the analytic questions are about) -> the settings their agent runs on: a graph of its own
    holding that data, so that neither the plant's graph nor the set's answers mix two FMEAs.
    Loading an unchanged sheet again changes nothing, so every run loads it, from a clean data dir
    or not. (A Neo4j server holds one graph: there the data joins the configured graph.)"""
    from maintgraph.evals.sets import EVAL_DIR
    from maintgraph.graph.loaders import load_paths
    from maintgraph.graph.store import open_graph_store

    graphs = {}
    for name in dict.fromkeys(names):
        folder = EVAL_DIR / name
        if not folder.is_dir():
            continue
        own = settings
        if settings.graph_engine != "neo4j":
            own = settings.model_copy(update={"graph_name": f"{settings.graph_name}_eval_{name}"})
        graph = open_graph_store(own)
        try:
            graph.ensure_schema()
            load_paths(graph, [folder])
        finally:
            graph.close()
        graphs[name] = own
    return graphs


def _by_set(default: Any, own: dict[str, Any]) -> Any:
    """One contestant that answers each set's items with the agent on that set's graph."""
    from maintgraph.evals.runner import Contestant

    return Contestant(default.name, lambda item, set_name: own.get(set_name, default).answer(item, set_name))


def _open_assistant(settings: Settings, use_model: bool, adapter: str | None) -> Any:
    from maintgraph.agent.session import open_assistant

    return open_assistant(settings, use_model=use_model, adapter=adapter)


def run_evaluation(settings: Settings, store: EvalStore, sets: list[str] | None, *, adapter: str | None = None,
                   baseline: str = "vector-only", use_model: bool = True, judge: bool = False,
                   resume: str | None = None, gate: bool = False, out_dir: Path | None = None,
                   progress: bool = False, warn: Callable[[str], None] = lambda _: None) -> RunOutcome:  # fmt: skip
    """Evaluate the agent (and ``baseline``, in the same run) on ``sets``, store the run and write
    its report. ``resume`` finishes an interrupted run with what it recorded; ``warn`` hears of
    every item a set leaves out, before anything is asked."""
    from maintgraph.evals import runner, views
    from maintgraph.evals.report import write
    from maintgraph.evals.sets import resolve_set

    if resume:
        run = store.run(resume)
        if run["kind"] != "eval":
            raise MaintgraphError(f"run {resume} is a {run['kind']} run: resume it with `maintgraph trace replay`")
        recorded = run["config"]
        sets = sets or [s.get("source") or s["name"] for s in recorded["sets"]]
        adapter, baseline, use_model, judge = (recorded["adapter"], recorded["baseline"], recorded["use_model"],
                                               recorded["judge"])  # fmt: skip
    if not sets:
        raise BadRequest("name at least one set (see `maintgraph eval sets`)")
    if baseline not in BASELINES:
        raise BadRequest(f"--baseline must be one of {', '.join(BASELINES)}, not {baseline!r}")
    loaded = [resolve_set(name) for name in sets]
    for eval_set in loaded:
        for problem in eval_set.problems:
            warn(problem)
    adapter = pinned(settings, use_model, adapter)
    graphs = set_graphs(settings, [s.name for s in loaded])
    assistant = _open_assistant(settings, use_model, adapter)
    own = {name: _open_assistant(set_settings, use_model, adapter) for name, set_settings in graphs.items()}
    try:
        context = assistant.context
        agents = {name: runner.agent_contestant(other) for name, other in own.items()}
        contestants = [_by_set(runner.agent_contestant(assistant), agents)]
        if baseline == "vector-only":
            contestants.append(runner.vector_only_contestant(context))
        elif baseline == "no-global":
            contestants.append(runner.no_global_contestant(assistant))
        config = {"model": context.current_versions, "adapter": adapter, "baseline": baseline, "use_model": use_model,
                  "judge": judge, "graph": graph_version(settings),
                  "set_graphs": {name: graph_version(other) for name, other in graphs.items()},
                  "guards": settings.guard_enabled, "contestants": [c.name for c in contestants]}  # fmt: skip
        # The judge is the base model, not the adapter under test (one trained for a house style
        # writes past the judge's JSON).
        judged = runner.model_judge(context.llm, settings.llm_model) if judge and context.llm is not None else None
        try:
            run_id = runner.evaluate(store, loaded, contestants, config, resume, judged, progress=progress)
        except KeyboardInterrupt:
            raise Interrupted("eval") from None
        run = store.run(run_id)
        report = write(views.run_report(run, store.results(run_id)), report_dir(settings, out_dir), run_id)
    finally:
        for opened in [assistant, *own.values()]:
            opened.close()
    return RunOutcome(run, report, views.gate(run) if gate else None)


def replay_traces(settings: Settings, store: EvalStore, traces: TraceStore, *, since: datetime | None = None,
                  thread: str | None = None, limit: int = 200, tools: str = "recorded", adapter: str | None = None,
                  substitute: str | None = None, use_model: bool = True, resume: str | None = None,
                  out_dir: Path | None = None, progress: bool = False) -> RunOutcome:  # fmt: skip
    """Ask recorded turns again (those started at or after ``since``, of ``thread``, at most
    ``limit``, oldest first) and diff each against its recording; store the run, write its report.
    ``substitute`` (a registered adapter or base model) answers the turns whose model is gone."""
    from maintgraph.evals.replay import replay, replay_report
    from maintgraph.evals.report import write
    from maintgraph.llm.registry import ModelRegistry

    if tools not in TOOLS:
        raise BadRequest(f"--tools must be recorded or live, not {tools!r}")
    registry = ModelRegistry(settings)
    if resume:
        config = store.run(resume)["config"]
        selected = [traces.get(t) for t in config["traces"]]
        tools, substitute, adapter, use_model = (config["tools"], config["substitute"], config["adapter"],
                                                 config["use_model"])  # fmt: skip
    else:
        selected = traces.since(since.astimezone() if since else None, thread, limit)  # naive: local time
        if not selected:
            raise MaintgraphError("no traces match: nothing to replay (see `maintgraph trace list`)")
    if substitute in registry.adapters:
        adapter = adapter or substitute
    elif substitute:  # a base model: the agent answers with it, no adapter
        settings = settings.model_copy(update={"llm_model": registry.model(substitute).name})
        adapter = ""
    adapter = pinned(settings, use_model, adapter)
    assistant = _open_assistant(settings, use_model, adapter)
    try:
        config = {"model": assistant.context.current_versions, "graph": graph_version(settings), "adapter": adapter,
                  "use_model": use_model,
                  "selection": {"since": str(since) if since else None, "thread": thread, "limit": limit}}  # fmt: skip
        known = set(registry.models) | set(registry.adapters)
        try:
            run_id = replay(store, traces, assistant, selected, tools, known, config, substitute, resume,  # type: ignore[arg-type]
                            progress=progress)  # fmt: skip
        except KeyboardInterrupt:
            raise Interrupted("replay") from None
        run = store.run(run_id)
        report = write(replay_report(run, store.results(run_id)), report_dir(settings, out_dir), run_id)
    finally:
        assistant.close()
    return RunOutcome(run, report)


def rewrite_report(settings: Settings, store: EvalStore, run_id: str, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Write a complete run's report again (Markdown and HTML)."""
    from maintgraph.evals.replay import replay_report
    from maintgraph.evals.report import write
    from maintgraph.evals.views import run_report

    run = store.complete_run(run_id)
    rows = store.results(run_id)
    report = replay_report(run, rows) if run["kind"] == "replay" else run_report(run, rows)
    return write(report, report_dir(settings, out_dir), run_id)


def compare_runs(settings: Settings, store: EvalStore, run_a: str, run_b: str, threshold: float = 0.02,
                 out_dir: Path | None = None) -> tuple[Comparison, tuple[Path, Path]]:  # fmt: skip
    """What improved and what regressed from A to B (each ``RUN`` or ``RUN:contestant``), and the
    comparison's report; ``Comparison.regressions`` names the metrics worse by more than ``threshold``."""
    from maintgraph.evals import views
    from maintgraph.evals.report import write

    (id_a, who_a), (id_b, who_b) = views.side(run_a), views.side(run_b)
    for run_id in (id_a, id_b):
        if run_id.startswith("replay-"):
            raise MaintgraphError(f"{run_id} is a replay: compare takes evaluation runs (its report shows the diffs)")
    a, b = store.complete_run(id_a), store.complete_run(id_b)
    result = views.compare(a, store.results(id_a), b, store.results(id_b), who_a, who_b, threshold)
    stem = f"compare-{id_a}.{who_a}-{id_b}.{who_b}"
    return result, write(views.compare_report(result, threshold), report_dir(settings, out_dir), stem)
