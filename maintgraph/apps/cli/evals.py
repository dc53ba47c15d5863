"""``maintgraph eval``: evaluation sets, runs, reports and comparisons (the release gates)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

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

app = sub_app("Evaluation sets, runs, reports and comparisons (release gates).")


@app.command("sets")
@friendly_errors
def eval_sets() -> None:
    """The evaluation sets shipped in data/eval, and AssetOpsBench (from ../shared/data)."""
    from maintgraph.evals.sets import available_sets

    table = Table("set", "version", "items", "categories", "problems")
    for name, loaded in available_sets():
        if isinstance(loaded, Exception):
            table.add_row(name, "", "", "", escape(str(loaded)))
            continue
        categories = ", ".join(f"{c} {n}" for c, n in loaded.by_category().items())
        table.add_row(name, loaded.version, str(len(loaded.items)), categories, str(len(loaded.problems)))
    out.print(table)


@app.command("run")
@friendly_errors
def eval_run(
    sets: Annotated[
        list[str] | None, typer.Argument(help="Sets: names in data/eval, .jsonl paths, or assetopsbench.")
    ] = None,
    adapter: AdapterOption = None,
    baseline: Annotated[
        str,
        typer.Option(
            "--baseline",
            help="In the same run: vector-only (document search alone), no-global (the agent "
            "without GraphRAG's community reports) or none.",
        ),
    ] = "vector-only",
    no_model: NoModel = False,
    judge: Annotated[
        bool, typer.Option("--judge", help="Also score faithfulness with the model as judge (reported apart).")
    ] = False,
    resume: Annotated[str | None, typer.Option("--resume", help="Finish an interrupted run.")] = None,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit 4 if the agent misses a threshold of data/eval/thresholds.yaml.")
    ] = False,
    out_dir: ReportDir = None,
) -> None:
    """Evaluate the agent (and the baseline, in the same run) on sets; store the run; write its report."""
    from maintgraph.evals.runs import BadRequest, Interrupted, run_evaluation
    from maintgraph.evals.store import EvalStore

    def left_out(problem: str) -> None:
        err.print(f"[yellow]left out:[/yellow] {escape(problem)}", soft_wrap=True)

    settings = get_settings()
    try:
        with opened(EvalStore, settings) as store:
            done = run_evaluation(settings, store, sets, adapter=adapter, baseline=baseline, use_model=not no_model,
                                  judge=judge, resume=resume, gate=gate, out_dir=out_dir,
                                  progress=sys.stderr.isatty(), warn=left_out)  # fmt: skip
    except BadRequest as exc:
        raise typer.BadParameter(str(exc)) from None
    except Interrupted:
        err.print("interrupted: the answers so far are kept; finish with `maintgraph eval run --resume RUN` "
                  "(see `maintgraph eval list`)")  # fmt: skip
        raise typer.Exit(130) from None
    _print_summary(done.run)
    out.print(f"report: {done.report[0]}\n        {done.report[1]}")
    if done.failures is not None:
        for failure in done.failures:
            err.print(f"[red]below threshold:[/red] {escape(failure)}", soft_wrap=True)
        if done.failures:
            raise typer.Exit(4)
        out.print("gate: every threshold of data/eval/thresholds.yaml met")


def _print_summary(run: dict[str, Any]) -> None:
    from maintgraph.evals.views import SHOWN

    names = list(run["summary"])
    table = Table("metric", *names, title=f"run {run['id']}")
    for metric in SHOWN:
        values = [run["summary"][n]["all"].get(metric) for n in names]
        if any(v is not None for v in values):
            table.add_row(metric, *["–" if v is None else f"{v:.3f}" for v in values])
    out.print(table)
    for name in names:  # each set's answers: how many read as a dump, and how long they are
        for set_name, figures in run["summary"][name].items():
            if set_name != "all" and figures.get("answer_chars_p50") is not None:
                out.print(f"{name} / {set_name}: median answer {figures['answer_chars_p50']:.0f} characters "
                          f"({figures['answer_read_chars_p50']:.0f} as read), {figures['answer_shape_problems']} "
                          f"of {figures['items']} with raw fields, lists or cut lines")  # fmt: skip


@app.command("list")
@friendly_errors
def eval_list(limit: Annotated[int, typer.Option("--limit", min=1)] = 20, as_json: JsonOption = False) -> None:
    """Evaluation and replay runs, newest first."""
    from maintgraph.evals.store import EvalStore

    with opened(EvalStore) as store:
        runs = store.list(limit)
    if as_json:
        out.print_json(json.dumps(runs, default=str))
        return
    table = Table(Column("run", no_wrap=True), "kind", "status", "started", "results", "sets / traces")
    for r in runs:
        what = (
            ", ".join(s["name"] for s in r["config"].get("sets", [])) or f"{len(r['config'].get('traces', []))} traces"
        )
        table.add_row(r["id"], r["kind"], r["status"], f"{r['started_at']:%Y-%m-%d %H:%M}", str(r["results"]), what)
    out.print(table)


@app.command("report")
@friendly_errors
def eval_report(run_id: Annotated[str, typer.Argument(help="A complete run.")], out_dir: ReportDir = None) -> None:
    """Write a complete run's report again (Markdown and HTML)."""
    from maintgraph.evals.runs import rewrite_report
    from maintgraph.evals.store import EvalStore

    settings = get_settings()
    with opened(EvalStore, settings) as store:
        md, html = rewrite_report(settings, store, run_id, out_dir)
    out.print(f"report: {md}\n        {html}")


@app.command("compare")
@friendly_errors
def eval_compare(
    run_a: Annotated[str, typer.Argument(help="The reference: RUN or RUN:contestant (agent by default).")],
    run_b: Annotated[str, typer.Argument(help="The candidate: RUN or RUN:contestant.")],
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, help="Exit 5 if any metric is worse in B by more than this.")
    ] = 0.02,
    out_dir: ReportDir = None,
) -> None:
    """What improved and what regressed from A to B, metric by metric and item by item."""
    from maintgraph.evals.runs import compare_runs
    from maintgraph.evals.store import EvalStore

    settings = get_settings()
    with opened(EvalStore, settings) as store:
        result, (md, html) = compare_runs(settings, store, run_a, run_b, threshold, out_dir)
    table = Table("metric", "A", "B", "change")
    for metric, va, vb in result.metrics:
        change = result.delta(metric, va, vb)
        table.add_row(metric, *["–" if v is None else f"{v:.3f}" for v in (va, vb)],
                      "–" if change is None else f"{change:+.3f}")  # fmt: skip
    out.print(table)
    out.print(f"{len(result.improved)} item(s) improved, {len(result.regressed)} regressed")
    for name, why in result.regressed[:20]:
        out.print(f"  regressed {name}: {escape(why)}")
    out.print(f"report: {md}\n        {html}")
    if result.regressions:
        err.print(f"[red]regression:[/red] {escape('; '.join(result.regressions))}", soft_wrap=True)
        raise typer.Exit(5)
