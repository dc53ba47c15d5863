"""Trace replay: recorded conversations asked again, and the new turn diffed against the recording.

Each recorded conversation is asked again, turn by turn and in order, in a conversation of its
own, against the current (or a chosen) model, adapter and graph. The tools are either
``recorded`` (each tool call is answered with the results the recording holds, so the replay is
deterministic wherever the recording was: the model runs at temperature 0; entity linking still
reads the current graph, so a renamed tag changes the route) or ``live`` (the stores as they are
now). A call the recording does not hold is answered "not in the recording"
and counted.

What is compared per turn: the route (intent and planned calls), the evidence ids, the cited
ids, and the answer (identical, and a similarity ratio). A trace recorded with a model or
adapter that is no longer registered is reported and left out, unless a substitute is named.
"""

from __future__ import annotations

import ast
import difflib
import logging
import statistics
from dataclasses import asdict, replace
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from maintgraph.agent.traces import Trace, TraceStore
from maintgraph.errors import MaintgraphError
from maintgraph.evals.metrics import answered_turn, percentile
from maintgraph.evals.report import Report, Section, Table, excerpt, latency_chart
from maintgraph.evals.runner import progress_over
from maintgraph.evals.store import EvalStore
from maintgraph.retrieval.base import Evidence, Retriever
from maintgraph.retrieval.registry import Retrievers

log = logging.getLogger(__name__)

Tools = Literal["recorded", "live"]
KINDS = {"doc": "doc", "graph": "graph", "wo": "wo"}


def replayable(trace: Trace) -> bool:
    """A question turn of a conversation: a resumed turn records a person's decision, and a turn of
    an earlier replay is a copy; neither is replayed."""
    return trace.status != "failed" and "decision" not in trace.route and not trace.thread_id.startswith("replay-")


def call_key(kind: type[Retriever[Any]], args: BaseModel) -> str:
    """A call as its retriever runs it: every argument, those left at their default included."""
    return str(kind.call(**args.model_dump()))


def recorded_key(kind: type[Retriever[Any]], recorded: str) -> str | None:
    """The call a trace recorded (``source.name(arg=value, ...)``, the arguments as the plan passed
    them: a default left out, ``query=None``) as :func:`call_key` writes it, so a replay finds it
    whichever arguments were spelt out; None if it is not a call of ``kind`` or cannot be read."""
    if not recorded.startswith(f"{kind.source}.{kind.name}("):
        return None
    try:
        node = ast.parse(recorded, mode="eval").body
        if not isinstance(node, ast.Call) or node.args:
            return None
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        return call_key(kind, kind.Args.model_validate(kwargs))
    except (SyntaxError, ValueError, TypeError, ValidationError):
        return None


def recorded_retrievers(trace: Trace, live: Retrievers) -> Retrievers:
    """Every retriever the agent knows, each answering from what ``trace`` recorded for the same call."""

    def recorded(kind: type[Retriever[Any]]) -> Retriever[Any]:
        answers = {call["call"]: call for call in trace.tool_calls}
        answers |= {key: call for call in trace.tool_calls if (key := recorded_key(kind, call["call"]))}

        class Recorded(kind):  # type: ignore[valid-type,misc]
            def run(self, args: Any) -> list[Evidence]:
                key = call_key(kind, args)
                found = answers.get(key)
                if found is None:
                    raise MaintgraphError(f"{key} is not in the recording")
                if found.get("error"):
                    raise MaintgraphError(found["error"])
                return [Evidence(r["id"], KINDS[r["id"].split(":", 1)[0]], r["text"], r.get("title", ""),  # type: ignore[arg-type]
                                 r.get("fields") or {})
                        for r in found["results"]]  # fmt: skip

        return Recorded(live.backends)

    return Retrievers({kind.name: recorded(kind) for kind in live.kinds}, live.kinds, live.backends)


def unregistered(trace: Trace, known: set[str]) -> str | None:
    """Why ``trace`` cannot be replayed as recorded: its model or adapter is not registered now."""
    if trace.model.get("registered") is False:  # an external endpoint's model: never in the registry
        return None
    for role in ("adapter", "model"):
        name = trace.model.get(role)
        if name and name not in known:
            return f"recorded with {role} {name!r}, which is no longer registered"
    return None


def diff(recorded: Trace, replayed: Trace) -> dict[str, Any]:
    old_planned, new_planned = recorded.route.get("planned"), replayed.route.get("planned")
    old_ev, new_ev = set(recorded.evidence_ids), set(replayed.evidence_ids)
    union = old_ev | new_ev
    return {
        "same_route": recorded.intent == replayed.intent and old_planned == new_planned,
        "route": None if recorded.intent == replayed.intent and old_planned == new_planned else
        {"recorded": [recorded.intent, old_planned], "replayed": [replayed.intent, new_planned]},
        "evidence_jaccard": len(old_ev & new_ev) / len(union) if union else 1.0,
        "evidence_added": sorted(new_ev - old_ev), "evidence_lost": sorted(old_ev - new_ev),
        "same_citations": set(recorded.cited) == set(replayed.cited),
        "same_answer": (recorded.answer or "") == (replayed.answer or ""),
        "answer_similarity": difflib.SequenceMatcher(None, recorded.answer or "", replayed.answer or "").ratio(),
        "not_in_recording": sum("is not in the recording" in (c.get("error") or "") for c in replayed.tool_calls),
        "recorded_seconds": recorded.seconds, "seconds": replayed.seconds,
    }  # fmt: skip


def replay(store: EvalStore, traces: TraceStore, assistant: Any, selected: list[Trace], tools: Tools,
           known_models: set[str], config: dict[str, Any], substitute: str | None = None,
           resume: str | None = None, progress: bool = False) -> str:  # fmt: skip
    """Replay ``selected`` (oldest first); returns the run id. Turns whose model is no longer
    registered are skipped and listed in the run unless ``substitute`` names what to use."""
    if resume:
        run = store.run(resume)
        if run["kind"] != "replay" or run["status"] == "complete":
            raise MaintgraphError(f"run {resume} is not an unfinished replay")
        run_id, done = resume, {item for _, _, item in store.done(resume)}
        skipped = run["config"]["skipped"]
        store.mark(run_id, "running")
    else:
        skipped = {t.id: why for t in selected if (why := unregistered(t, known_models)) and not substitute}
        config = {**config, "tools": tools, "substitute": substitute, "traces": [t.id for t in selected],
                  "skipped": skipped}  # fmt: skip
        run_id, done = store.start("replay", config), set()
    todo = [t for t in selected if replayable(t) and t.id not in skipped and t.id not in done]
    live = assistant.context
    try:
        for trace in progress_over(todo, progress, f"{run_id}: replaying"):
            if tools == "recorded":
                assistant.context = replace(live, retrievers=recorded_retrievers(trace, live.retrievers))
            result = assistant.ask(trace.question, f"replay-{run_id}-{trace.thread_id}")
            replayed = traces.get(result.trace_id) if result.trace_id else None
            if replayed is None:
                raise MaintgraphError(f"the replay of trace {trace.id} recorded no trace")
            answered = answered_turn(result, replayed.seconds)
            store.add(run_id, "replay", {"item": trace.id, "set": "traces", "category": trace.intent or "refused",
                                         "question": trace.question, "recorded": trace.model_dump(mode="json"),
                                         "answered": asdict(answered), "metrics": diff(trace, replayed)})  # fmt: skip
    except BaseException:
        store.mark(run_id, "interrupted")
        raise
    finally:
        assistant.context = live
    store.finish(run_id, {"replay": summarise_replay(store.results(run_id), skipped)})
    return run_id


def summarise_replay(rows: list[dict[str, Any]], skipped: dict[str, str]) -> dict[str, Any]:
    metrics = [r["metrics"] for r in rows]

    def share(key: str) -> float | None:
        return sum(bool(m[key]) for m in metrics) / len(metrics) if metrics else None

    seconds = [m["seconds"] for m in metrics]
    recorded = [m["recorded_seconds"] for m in metrics]
    return {
        "turns": len(rows), "skipped": len(skipped), "same_route": share("same_route"),
        "same_citations": share("same_citations"), "same_answer": share("same_answer"),
        "evidence_jaccard": statistics.fmean([m["evidence_jaccard"] for m in metrics]) if metrics else None,
        "answer_similarity": statistics.fmean([m["answer_similarity"] for m in metrics]) if metrics else None,
        "calls_not_in_recording": sum(m["not_in_recording"] for m in metrics),
        "latency_p50_s": statistics.median(seconds) if seconds else None,
        "latency_p95_s": percentile(seconds, 0.95) if seconds else None,
        "recorded_latency_p50_s": statistics.median(recorded) if recorded else None,
    }  # fmt: skip


def unchanged(metrics: dict[str, Any]) -> bool:
    return (metrics["same_answer"] and metrics["same_route"] and metrics["same_citations"]
            and metrics["evidence_jaccard"] == 1)  # fmt: skip


def replay_report(run: dict[str, Any], rows: list[dict[str, Any]]) -> Report:
    from maintgraph.evals.views import describe_run

    summary = run["summary"]["replay"]
    config = run["config"]
    sections = [
        Section("Agreement with the recording", [
            f"{summary['turns']} turns replayed with {config['tools']} tool results"
            + (f", model substituted by {config['substitute']}" if config.get("substitute") else "") + ".",
            Table(["figure", "value"], [[k, v] for k, v in summary.items()]),
        ]),
        Section("Latency", [latency_chart("Seconds per turn", {
            "recorded": [r["metrics"]["recorded_seconds"] for r in rows],
            "replayed": [r["metrics"]["seconds"] for r in rows],
        })]),
    ]  # fmt: skip
    if config.get("skipped"):
        sections.append(Section("Left out", [Table(["trace", "why"], [[t, w] for t, w in config["skipped"].items()])]))
    changed = [r for r in rows if not unchanged(r["metrics"])]
    sections.append(Section(f"Turns that changed ({len(changed)} of {len(rows)})", [Table(
        ["trace", "question", "route", "evidence lost", "evidence added", "same citations", "similarity",
         "recorded answer", "replayed answer"],
        [[r["item"], excerpt(r["question"], 80), "same" if r["metrics"]["same_route"] else r["metrics"]["route"],
          ", ".join(r["metrics"]["evidence_lost"]), ", ".join(r["metrics"]["evidence_added"]),
          r["metrics"]["same_citations"], r["metrics"]["answer_similarity"],
          excerpt(r["recorded"]["answer"] or ""), excerpt(r["answered"]["answer"] or "")] for r in changed],
    )]))  # fmt: skip
    return Report(f"Trace replay {run['id']}", describe_run(run), sections)
