"""``maintgraph adapters``: the adapter registry: list, show, promote, roll back, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.table import Table

from maintgraph.apps.cli.common import JsonOption, friendly_errors, get_settings, out, sub_app
from maintgraph.llm.registry import TASKS

TaskOption = Annotated[str, typer.Option("--task", help="answer (every model call) or phrasing (the composed "
                                          "answer's rewrite).", click_type=click.Choice(TASKS))]  # fmt: skip
app = sub_app("The adapter registry: list, show, promote, roll back, export.")


@app.command("list")
@friendly_errors
def adapters_list(as_json: JsonOption = False) -> None:
    """Registered adapters, with their dataset, training and evaluation figures (base -> adapter,
    measured in one run) and the tasks each one does by default."""
    from maintgraph.finetune.adapters import listing

    active, adapters = listing(get_settings())
    if as_json:
        out.print_json(json.dumps({"default": active["answer"], "default_for": active,
                                   "adapters": [a.model_dump() for a in adapters]}))  # fmt: skip
        return
    table = Table("default for", "adapter", "base", "rank", "dataset", "val loss", "evaluation: base -> adapter")
    for a in adapters:
        loss = f"{a.metrics['eval_loss']:.3f}" if a.metrics.get("eval_loss") is not None else ""
        tasks = ", ".join(task for task, name in active.items() if name == a.name)
        table.add_row(tasks, a.name, a.base, str(a.rank), (a.dataset or {}).get("version", ""), loss,
                      evaluation_figures(a.evaluation))  # fmt: skip
    out.print(table)
    out.print(
        f"answers: {active['answer'] or 'the base model'}; phrasing: {active['phrasing'] or 'the answering model'}"
    )


def evaluation_figures(scores: dict) -> str:
    """The headline figures of an adapter's evaluation, base -> adapter."""
    base, tuned = scores.get("base") or {}, scores.get("adapter") or {}
    shown = [(label, key) for label, key in (("accuracy", "accuracy"), ("survival", "survival"),
                                            ("nugget recall", "nugget_recall_essential"),
                                            ("judged faithfulness", "judged_faithfulness"))
             if base.get(key) is not None and tuned.get(key) is not None]  # fmt: skip
    return "; ".join(f"{label} {base[key]:.3f} -> {tuned[key]:.3f}" for label, key in shown)


@app.command("show")
@friendly_errors
def adapters_show(name: Annotated[str, typer.Argument(help="A registered adapter.")]) -> None:
    """One adapter's registry entry (sha256 verified) and the promotion history."""
    from maintgraph.finetune.adapters import describe

    out.print_json(json.dumps(describe(get_settings(), name), default=str))


@app.command("promote")
@friendly_errors
def adapters_promote(
    name: Annotated[str, typer.Argument(help="A registered adapter.")], task: TaskOption = "answer"
) -> None:
    """Load the adapter into the running vLLM (hash-checked, same base only) and make it the
    one that does TASK, at once: `answer` (every model call of a turn) or `phrasing` (the
    rewrite of the composed answer); `adapters rollback` undoes it."""
    from maintgraph.finetune.adapters import promote

    previous = promote(get_settings(), name, task)
    out.print(f"{name} now does {task} (was: {previous or 'the base model'})")


@app.command("rollback")
@friendly_errors
def adapters_rollback(task: TaskOption = "answer") -> None:
    """Restore the adapter TASK had before its last promotion."""
    from maintgraph.finetune.adapters import rollback

    undone, now = rollback(get_settings(), task)
    out.print(f"rolled back {undone}; {task} is now done by {now or 'the base model'}")


@app.command("export")
@friendly_errors
def adapters_export(
    name: Annotated[str, typer.Argument(help="A registered adapter.")],
    to: Annotated[Path, typer.Option("--to", help="Folder to write: the PEFT files vLLM loads and a model card.")],
) -> None:
    """Copy an adapter's PEFT folder (adapter_config.json + adapter_model.safetensors) with its
    model card (README.md), for another vLLM or for shipping it."""
    from maintgraph.finetune.adapters import export
    from maintgraph.llm.registry import ADAPTER_WEIGHTS, sha256_of

    folder = export(get_settings(), name, to)
    out.print(f"{name} exported to {folder} (sha256 {sha256_of(folder / ADAPTER_WEIGHTS)})")
