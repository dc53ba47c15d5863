"""``maintgraph finetune``: supervision sets and LoRA/QLoRA training runs."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from maintgraph.apps.cli.common import JsonOption, err, friendly_errors, get_settings, opened, out, sub_app

app = sub_app("Supervision sets and LoRA/QLoRA training runs.")
examples_app = sub_app("Supervision examples from the product's own records.")
app.add_typer(examples_app, name="examples")
ConfigOption = Annotated[
    Path, typer.Option("--config", help="A training config (e.g. data/finetune/house-style.train.yaml).")
]


@examples_app.command("from-traces")
@friendly_errors
def finetune_examples_from_traces(
    out_file: Annotated[Path, typer.Option("--out", help="JSONL file to write; its data card is written beside it.")],
    approved: Annotated[
        bool, typer.Option("--approved", help="Only answers a person approved (required: nothing else is exported).")
    ] = False,
    since: Annotated[datetime | None, typer.Option("--since", help="Only reviews from this time on.")] = None,
    prompt_chars: Annotated[int, typer.Option("--prompt-chars", min=500, help="Evidence text per prompt.")] = 2400,
) -> None:
    """Export reviewed answers from the traces as chat examples (the prompt rebuilt from the
    turn's evidence, the answer as approved), for a config's `kind: examples` source."""
    from maintgraph.agent.traces import TraceStore
    from maintgraph.finetune.examples import export_approved

    if not approved:
        raise typer.BadParameter("only reviewed, approved answers may become training data: pass --approved "
                                 "(review with `maintgraph trace review`)", param_hint="--approved")  # fmt: skip
    with opened(TraceStore) as traces:
        count = export_approved(traces, out_file, since, prompt_chars)
    out.print(f"{count} approved answer(s) written to {out_file} (data card beside it)")


@app.command("build")
@friendly_errors
def finetune_build(config_file: ConfigOption) -> None:
    """Build and verify the supervision set a config describes (sources, PII scrub, duplicates,
    evaluation leakage, lengths, split), and write it with its data card."""
    from maintgraph.finetune.pipeline import build_set, progress_over
    from maintgraph.finetune.spec import TrainConfig

    config = TrainConfig.load(config_file)
    built = build_set(get_settings(), config,
                      progress_over(sys.stderr.isatty(), "asking the agent for template examples"))  # fmt: skip
    counts = built.card["counts"]
    out.print(f"set {built.name} version {built.version}: {counts['train']} train, {counts['validation']} validation "
              f"(from {counts['sources']}; {counts['exact_duplicates']} exact and {counts['near_duplicates']} near "
              f"duplicates dropped; {counts['pii_replaced']} message(s) with personal data replaced)")  # fmt: skip
    out.print(str(built.folder))


@app.command("train")
@friendly_errors
def finetune_train(
    config_file: ConfigOption,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")
    ] = None,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Train and register only; no evaluation.")] = False,
) -> None:
    """The whole path: build the set, train, register the adapter, evaluate base vs adapter
    through the running vLLM, and write the run's report. Promoting is a separate step."""
    from maintgraph.finetune import pipeline
    from maintgraph.finetune.spec import TrainConfig

    config = TrainConfig.load(config_file)
    try:
        result = pipeline.run(get_settings(), config, resume, evaluate=not no_eval, progress=sys.stderr.isatty())
    except KeyboardInterrupt:
        err.print("interrupted: the checkpoints are kept; continue with `maintgraph finetune train --config "
                  f"{config_file} --resume RUN` (see `maintgraph finetune runs`)")  # fmt: skip
        raise typer.Exit(130) from None
    trained = result.trained
    out.print(f"run {result.run_id}: {trained.steps} steps in {trained.seconds:.0f} s; validation loss "
              f"{trained.base_eval_loss if trained.base_eval_loss is None else round(trained.base_eval_loss, 3)} "
              f"(base) -> {trained.eval_loss:.3f}; adapter {result.adapter} registered")  # fmt: skip
    if result.evaluation:
        _print_evaluation(result.evaluation)
    out.print(f"report: {result.report[0]}\n        {result.report[1]}\npromote it with `maintgraph adapters "
              f"promote {result.adapter}`")  # fmt: skip


@app.command("evaluate")
@friendly_errors
def finetune_evaluate(
    name: Annotated[str, typer.Argument(help="An adapter a training run registered.")],
    config_file: ConfigOption,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Items per evaluation set.")] = None,
    generations: Annotated[
        int | None, typer.Option("--generations", min=0, help="Validation prompts generated.")
    ] = None,
) -> None:
    """Evaluate a registered adapter against the base model again (the config's evaluation
    section, with --limit / --generations overriding it); the registry keeps the new results."""
    from maintgraph.finetune import pipeline
    from maintgraph.finetune.spec import TrainConfig

    config = TrainConfig.load(config_file)
    evaluation = pipeline.evaluate_registered(get_settings(), config, name, progress=sys.stderr.isatty(),
                                              limit=limit, generations=generations)  # fmt: skip
    _print_evaluation(evaluation)


def _print_evaluation(evaluation: dict[str, Any]) -> None:
    from maintgraph.finetune.pipeline import SCORES

    base, adapter = evaluation["base"], evaluation["adapter"]
    table = Table("metric", "base", "adapter", title=f"evaluation run {evaluation['eval_run']}")
    for metric in SCORES:
        table.add_row(metric, *["–" if v is None else f"{v:.3f}" for v in (base.get(metric), adapter.get(metric))])
    out.print(table)
    generated = evaluation["validation_generations"]
    out.print(f"validation prompts: {generated['examples']}, answers changed by the adapter "
              f"{generated['changed']:.0%}, similarity to the reference: base "
              f"{generated['base_similarity']:.3f}, adapter {generated['adapter_similarity']:.3f}")  # fmt: skip


@app.command("runs")
@friendly_errors
def finetune_runs(as_json: JsonOption = False) -> None:
    """Training runs, newest first (the local experiment store)."""
    from maintgraph.finetune.runs import RunStore

    runs = RunStore(get_settings().data_dir).list()
    if as_json:
        out.print_json(json.dumps(runs, default=str))
        return
    table = Table(Column("run", no_wrap=True), "status", "started", "set", "steps", "val loss base -> adapter")
    for r in runs:
        trained = r.get("trained") or {}
        loss = (f"{trained['base_eval_loss']:.3f} -> {trained['eval_loss']:.3f}"
                if trained.get("base_eval_loss") is not None else "")  # fmt: skip
        table.add_row(r["id"], r["status"], r["started"], (r.get("dataset") or {}).get("version", ""),
                      str(trained.get("steps", "")), loss)  # fmt: skip
    out.print(table)
