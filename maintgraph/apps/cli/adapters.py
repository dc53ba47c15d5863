"""``maintgraph adapters``: the adapter registry: list, show, promote, roll back, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from maintgraph.apps.cli.common import JsonOption, friendly_errors, get_settings, out, sub_app

app = sub_app("The adapter registry: list, show, promote, roll back, export.")


@app.command("list")
@friendly_errors
def adapters_list(as_json: JsonOption = False) -> None:
    """Registered adapters, with their dataset, training and evaluation figures; * marks the default."""
    from maintgraph.finetune.adapters import listing

    active, adapters = listing(get_settings())
    if as_json:
        out.print_json(json.dumps({"default": active, "adapters": [a.model_dump() for a in adapters]}))
        return
    table = Table("", "adapter", "base", "rank", "dataset", "val loss", "eval accuracy base -> adapter")
    for a in adapters:
        scores = a.evaluation
        accuracy = (f"{scores['base']['accuracy']:.3f} -> {scores['adapter']['accuracy']:.3f}"
                    if scores.get("base", {}).get("accuracy") is not None else "")  # fmt: skip
        loss = f"{a.metrics['eval_loss']:.3f}" if a.metrics.get("eval_loss") is not None else ""
        table.add_row("*" if a.name == active else "", a.name, a.base, str(a.rank),
                      (a.dataset or {}).get("version", ""), loss, accuracy)  # fmt: skip
    out.print(table)
    out.print(f"default: {active or 'the base model'}")


@app.command("show")
@friendly_errors
def adapters_show(name: Annotated[str, typer.Argument(help="A registered adapter.")]) -> None:
    """One adapter's registry entry (sha256 verified) and the promotion history."""
    from maintgraph.finetune.adapters import describe

    out.print_json(json.dumps(describe(get_settings(), name), default=str))


@app.command("promote")
@friendly_errors
def adapters_promote(name: Annotated[str, typer.Argument(help="A registered adapter.")]) -> None:
    """Load the adapter into the running vLLM (hash-checked, same base only) and make it the
    default the agent answers with, at once; `adapters rollback` undoes it."""
    from maintgraph.finetune.adapters import promote

    previous = promote(get_settings(), name)
    out.print(f"{name} is now the default adapter (was: {previous or 'the base model'})")


@app.command("rollback")
@friendly_errors
def adapters_rollback() -> None:
    """Restore the default from before the last promotion."""
    from maintgraph.finetune.adapters import rollback

    undone, now = rollback(get_settings())
    out.print(f"rolled back {undone}; the default is now {now or 'the base model'}")


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
