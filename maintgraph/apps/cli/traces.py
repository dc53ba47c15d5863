"""``maintgraph trace``: the agent's recorded turns: list, show, export, replay, review."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from maintgraph.apps.cli.common import (
    AdapterOption,
    JsonOption,
    NoModel,
    ReportDir,
    err,
    friendly_errors,
    get_settings,
    opened,
    out,
    sub_app,
)

app = sub_app("The agent's recorded turns: list, show, export for replay.")


@app.command("list")
@friendly_errors
def trace_list(
    thread: Annotated[str | None, typer.Option("--thread", help="Only this conversation.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The newest traces."""
    from maintgraph.agent.traces import TraceStore

    with opened(TraceStore) as store:
        traces = store.list(thread, limit)
    if as_json:
        out.print_json(json.dumps([t.model_dump(mode="json") for t in traces]))
        return
    table = Table(Column("id", no_wrap=True), "when", "thread", "status", "intent", "s", Column("question", ratio=1))
    for t in traces:
        table.add_row(t.id, f"{t.started_at:%Y-%m-%d %H:%M}", t.thread_id, t.status, t.intent or "",
                      f"{t.seconds:.1f}", escape(t.question[:80]))  # fmt: skip
    out.print(table)


@app.command("show")
@friendly_errors
def trace_show(trace_id: Annotated[str, typer.Argument(help="A trace id (from `trace list`).")]) -> None:
    """One trace, whole, as JSON."""
    from maintgraph.agent.traces import TraceStore

    with opened(TraceStore) as store:
        out.print_json(store.get(trace_id).model_dump_json())


@app.command("export")
@friendly_errors
def trace_export(
    path: Annotated[Path, typer.Argument(help="JSONL file to write (replaced whole).")],
    thread: Annotated[str | None, typer.Option("--thread", help="Only this conversation.")] = None,
    since: Annotated[
        datetime | None, typer.Option("--since", help="Only turns started at or after this time (ISO date or time).")
    ] = None,
) -> None:
    """Export traces, oldest first, one JSON object per line (what the evaluation harness replays)."""
    from maintgraph.agent.traces import TraceStore

    with opened(TraceStore) as store:
        count = store.export_jsonl(path, thread, since.astimezone() if since else None)
    out.print(f"{count} trace(s) written to {path}")


@app.command("replay")
@friendly_errors
def trace_replay(
    since: Annotated[
        datetime | None, typer.Option("--since", help="Replay turns started at or after this time (ISO date or time).")
    ] = None,
    thread: Annotated[str | None, typer.Option("--thread", help="Only this conversation.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many turns, oldest first.")] = 200,
    tools: Annotated[
        str,
        typer.Option(
            "--tools",
            help="recorded: answer tool calls from the recording (deterministic); live: the stores as they are now.",
        ),
    ] = "recorded",
    adapter: AdapterOption = None,
    substitute: Annotated[
        str | None,
        typer.Option(
            "--substitute",
            help="Replay turns recorded with a model or adapter that is no longer "
            "registered with this one (they are left out otherwise).",
        ),
    ] = None,
    no_model: NoModel = False,
    resume: Annotated[str | None, typer.Option("--resume", help="Finish an interrupted replay run.")] = None,
    out_dir: ReportDir = None,
) -> None:
    """Ask recorded conversations again and diff route, evidence, citations and answer against the recording."""
    from maintgraph.agent.traces import TraceStore
    from maintgraph.evals.runs import TOOLS, Interrupted, replay_traces
    from maintgraph.evals.store import EvalStore

    if tools not in TOOLS:
        raise typer.BadParameter(f"--tools must be recorded or live, not {tools!r}")
    settings = get_settings()
    try:
        with opened(EvalStore, settings) as store, opened(TraceStore, settings) as traces:
            done = replay_traces(settings, store, traces, since=since, thread=thread, limit=limit, tools=tools,
                                 adapter=adapter, substitute=substitute, use_model=not no_model, resume=resume,
                                 out_dir=out_dir, progress=sys.stderr.isatty())  # fmt: skip
    except Interrupted:
        err.print("interrupted: the turns replayed so far are kept; finish with `maintgraph trace replay --resume`")
        raise typer.Exit(130) from None
    summary = done.run["summary"]["replay"]
    for why in done.run["config"]["skipped"].values():
        err.print(f"[yellow]left out:[/yellow] {escape(why)}", soft_wrap=True)
    shares = {k: summary[k] or 0 for k in ("same_route", "same_citations", "same_answer")}
    out.print(f"replay {done.id}: {summary['turns']} turn(s); same route {shares['same_route']:.0%}, same citations "
              f"{shares['same_citations']:.0%}, identical answers {shares['same_answer']:.0%}")  # fmt: skip
    out.print(f"report: {done.report[0]}\n        {done.report[1]}")


@app.command("review")
@friendly_errors
def trace_review(
    trace_id: Annotated[str, typer.Argument(help="A trace id (from `trace list`).")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who reviewed it (recorded).")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="Approve the answer, or reject it.")] = True,
    answer_file: Annotated[
        Path | None,
        typer.Option(
            "--answer-file",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The right answer, when the recorded one needed correcting (approves it).",
        ),
    ] = None,
) -> None:
    """Approve or reject a recorded answer; approved ones become supervision examples
    (`maintgraph finetune examples from-traces --approved`)."""
    from maintgraph.agent.traces import ReviewStore, TraceStore

    answer = answer_file.read_text(encoding="utf-8") if answer_file else None
    if answer is not None and not approve:
        raise typer.BadParameter("a corrected answer is an approval: drop --reject", param_hint="--answer-file")
    with opened(TraceStore) as store:
        review = ReviewStore(store).review(trace_id, approve, reviewer, answer)
    out.print(f"trace {review.trace_id}: {review.verdict} by {review.reviewer}"
              f"{' (corrected answer)' if review.answer else ''}")  # fmt: skip
