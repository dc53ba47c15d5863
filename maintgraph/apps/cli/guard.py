"""``maintgraph guard``: check a text with the guardrails; read the audit log of their decisions."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from maintgraph.apps.cli.common import JsonOption, audit, friendly_errors, get_settings, opened, out, sub_app

app = sub_app("The guardrails: check a text, read the audit log of guard decisions.")


@app.command("check")
@friendly_errors
def guard_check(
    text: Annotated[str, typer.Argument(help='The text to check ("-" reads standard input).')],
    direction: Annotated[
        str, typer.Option("--direction", help="input (a question), retrieved (a document text) or output (an answer).")
    ] = "input",
    evidence: Annotated[
        list[str] | None,
        typer.Option("--evidence", help="ID=TEXT the answer may cite, for --direction output (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the guards on TEXT: print what each found and the text as it would go on."""
    from maintgraph.guardrails.guard import GuardConfig, PlantGuards

    if direction not in ("input", "retrieved", "output"):
        raise typer.BadParameter(f"{direction!r} is not input, retrieved or output", param_hint="--direction")
    cited: dict[str, str] = {}
    for item in evidence or []:
        ref, sep, body = item.partition("=")
        if not sep or not ref.startswith(("doc:", "graph:", "wo:")):
            raise typer.BadParameter(f"{item!r} is not ID=TEXT with ID doc:..., graph:... or wo:...",
                                     param_hint="--evidence")  # fmt: skip
        cited[ref] = body
    if text == "-":
        text = sys.stdin.read()
    settings = get_settings()
    guards = PlantGuards(GuardConfig.from_settings(settings))
    verdict = {"input": guards.check_input, "retrieved": guards.check_retrieved,
               "output": lambda t: guards.check_output(t, cited)}[direction](text)  # fmt: skip
    audited = audit(settings, {None: verdict.decisions})
    if as_json:
        out.print_json(json.dumps({"blocked": verdict.blocked, "text": verdict.text, "decisions": verdict.decisions,
                                   "audited": audited}))  # fmt: skip
        return
    table = Table("guard", "action", "found", Column("why", ratio=1))
    for d in verdict.decisions:
        found = ", ".join(f"{f['kind']} @{f['start']}-{f['end']}" for f in d["findings"]) or "-"
        table.add_row(d["guard"], d["action"], found, "; ".join(dict.fromkeys(f["reason"] for f in d["findings"])))
    out.print(table)
    if verdict.blocked:
        out.print(f"[red]blocked:[/red] {escape(verdict.blocked)}")
    else:
        out.print(f"[bold]goes on as:[/bold] {escape(verdict.text)}")


@app.command("audit")
@friendly_errors
def guard_audit(
    since: Annotated[datetime | None, typer.Option("--since", help="Only decisions at or after this time.")] = None,
    guard: Annotated[
        str | None, typer.Option("--guard", help="Only this guard: pii, injection, unsafe, grounded, topic.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action: blocked, fixed, flagged or passed.")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Include the checks that passed.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Guard decisions, newest first (span types and actions, never the text), and counts per guard."""
    from maintgraph.guardrails.audit import AuditLog

    if guard and guard not in ("pii", "injection", "unsafe", "grounded", "topic"):
        raise typer.BadParameter(f"{guard!r} is not pii, injection, unsafe, grounded or topic", param_hint="--guard")
    if action and action not in ("passed", "blocked", "fixed", "flagged"):
        raise typer.BadParameter(f"{action!r} is not passed, blocked, fixed or flagged", param_hint="--action")
    with opened(AuditLog) as log:
        when = since.astimezone() if since else None
        rows = log.query(when, guard, action, fired_only=not everything and action != "passed", limit=limit)
        counts = log.summary(when)
    if as_json:
        out.print_json(json.dumps({"decisions": rows, "counts": counts}, default=str))
        return
    table = Table("when", "origin", "direction", "guard", "policy", "action", Column("span types", ratio=1), "ms")
    for r in rows:
        table.add_row(f"{r['at']:%Y-%m-%d %H:%M:%S}", r["origin"], r["direction"], r["guard"], r["policy"],
                      r["action"], ", ".join(r["span_types"]), f"{r['ms'] or 0:.1f}")  # fmt: skip
    out.print(table)
    summary = ", ".join(f"{c['guard']}/{c['direction']} {c['action']} {c['n']}" for c in counts)
    out.print(f"counts: {summary or 'no decisions recorded'}")
