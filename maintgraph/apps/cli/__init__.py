"""The ``maintgraph`` command line: a thin Typer face over the library.

One module per sub-command group; each command parses its options, calls one library
function and prints what it returns. Every failure the user can act on is a
:class:`maintgraph.errors.MaintgraphError`; it is printed as one line on stderr and the
command exits non-zero. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

import maintgraph
from maintgraph.apps.cli import (
    adapters,
    agent,
    cmms,
    docs,
    evals,
    finetune,
    graph,
    guard,
    keys,
    models,
    services,
    traces,
)
from maintgraph.apps.cli.common import out

app = typer.Typer(
    name="maintgraph",
    help="maintgraph: an agentic GraphRAG assistant for industrial maintenance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"maintgraph {maintgraph.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """maintgraph: an agentic GraphRAG assistant for industrial maintenance."""


# The top-level commands, in the order `maintgraph --help` lists them.
app.command("up")(services.up)
app.command("down")(services.down)
app.command("status")(services.status)
app.command("config")(services.show_config)
app.command("ask")(agent.ask_command)
app.command("approve")(agent.approve_command)
app.command("chat")(agent.chat_command)
app.command("serve")(agent.serve_command)

# The sub-command groups, likewise.
app.add_typer(services.db_app, name="db")
app.add_typer(graph.app, name="graph")
app.add_typer(docs.app, name="docs")
app.add_typer(models.models_app, name="models")
app.add_typer(models.llm_app, name="llm")
app.add_typer(cmms.app, name="cmms")
app.add_typer(agent.slack_app, name="slack")
app.add_typer(keys.app, name="keys")
app.add_typer(traces.app, name="trace")
app.add_typer(evals.app, name="eval")
app.add_typer(guard.app, name="guard")
app.add_typer(finetune.app, name="finetune")
app.add_typer(adapters.app, name="adapters")


def run() -> None:
    """Console-script entry point."""
    sys.exit(app())


__all__ = ["app", "run"]
