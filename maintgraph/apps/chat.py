"""The terminal face of the assistant: one turn rendered, and the interactive chat loop.

Progress shows node by node while the agent works and the model's draft streams below it; the
answer printed at the end is the checked one (only what the evidence supports, isolation
first), with its sources as a numbered list. A work-order draft is shown with an
approve/reject prompt; only an explicit "yes" from a named person submits it.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.prompt import Confirm, Prompt
from rich.text import Text

from maintgraph.agent.session import Assistant, Event, TurnResult
from maintgraph.citations import numbered
from maintgraph.errors import MaintgraphError

NODE_LABELS = {
    "input_guard": "screening the question", "understand": "linking equipment and intent",
    "route": "choosing sources", "retrieve": "searching", "grade": "grading evidence",
    "reformulate": "rephrasing the search", "synthesise": "writing", "check": "checking citations",
    "output_guard": "screening the answer", "draft_work_order": "drafting the work order",
}  # fmt: skip
HELP = ("Commands: /new starts a new conversation, /history shows this one, /approve or /reject decides a "
        "waiting work-order draft, /quit ends.")  # fmt: skip


def render_turn(console: Console, events: Iterator[Event], show_evidence: bool = False) -> TurnResult:
    """Show progress and the streamed draft, then the checked answer and its sources."""
    draft = Text(style="dim")
    status = Text("…", style="cyan")
    result: TurnResult | None = None
    with Live(Text.assemble(status, "\n", draft), console=console, transient=True, refresh_per_second=8) as live:
        for event in events:
            if event.kind == "node" and event.name in NODE_LABELS:
                status = Text(f"… {NODE_LABELS[event.name]}", style="cyan")
            elif event.kind == "token":
                draft.append(event.text)
            elif event.kind == "result":
                result = event.result
            live.update(Text.assemble(status, "\n", draft))
    if result is None:
        raise MaintgraphError("the agent ended the turn without a result")
    print_result(console, result, show_evidence)
    return result


def print_result(console: Console, result: TurnResult, show_evidence: bool = False) -> None:
    # Citations as the numbers of the sources listed below: "[2]", not a ~80-character evidence id.
    console.print(escape(numbered(result.answer, [c["id"] for c in result.cited])), highlight=False)
    if result.cited:
        console.print("\n[bold]Sources[/bold]")
        for n, item in enumerate(result.cited, 1):
            console.print(f"  {n}. {escape(item['id'])}  {escape(item['title'])}", highlight=False)
    if show_evidence:
        route = result.route
        console.print(f"\n[bold]Route[/bold] intent {route.get('intent')}, equipment {route.get('tags')}"
                      + (f" ({route['from_context']})" if route.get("from_context") else ""))  # fmt: skip
        for call in route.get("planned", []):
            console.print(f"  planned {escape(call)}", highlight=False)
        if route.get("model_choice"):
            choice = route["model_choice"]
            verdict = f"{choice['verdict']} {choice['reason']}".strip()
            console.print(f"  model chose {escape(str(choice['call']))}: {escape(verdict)}", highlight=False)
        for skipped in route.get("skipped", []):
            console.print(f"  skipped {escape(skipped)}", highlight=False)
        if route.get("reformulated"):
            console.print(f"  reformulated the document search: {escape(route['reformulated'])}")
        console.print(f"[bold]Evidence[/bold] {len(result.evidence)} items, {len(route.get('dropped', []))} dropped")
        for item in result.evidence:
            console.print(f"  [{escape(item['id'])}] {escape(' '.join(item['text'].split())[:160])}", highlight=False)
        timings = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.timings.items())
        console.print(f"[bold]Timings[/bold] {timings}")
        if result.trace_id:
            console.print(f"[bold]Trace[/bold] {result.trace_id}")


def ask_for_decision(console: Console, approver: str | None,
                     confirm: Callable[[str], bool] | None = None) -> tuple[bool, str]:  # fmt: skip
    """Ask whether to submit the draft just shown; (approved, by whom: never empty)."""
    approved = (confirm or (lambda q: Confirm.ask(q, console=console, default=False)))(
        "Submit this work order to the CMMS?"
    )
    by = (approver or "").strip()
    while not by:
        by = Prompt.ask("Your name (recorded as the approver)", console=console, default=_user_name()).strip()
    return approved, by


def settle(console: Console, assistant: Assistant, thread: str, show_evidence: bool, approver: str | None,
           confirm: Callable[[str], bool] | None) -> None:  # fmt: skip
    """Get a decision on the draft the conversation waits on; if none comes (end of input),
    the draft stays waiting and /approve or /reject decides later."""
    while assistant.pending(thread):
        try:
            approved, by = ask_for_decision(console, approver, confirm)
        except (EOFError, KeyboardInterrupt):
            console.print("\n[yellow]The draft is still waiting: /approve or /reject decides it.[/yellow]")
            return
        render_turn(console, assistant.decide(thread, approved, by), show_evidence)


def scripted(console: Console, lines: list[str]) -> Callable[[], str]:
    """Read a conversation from a script, one line per question or answer, echoing each as if typed."""
    remaining = iter(lines)

    def read() -> str:
        line = next(remaining, None)
        if line is None:
            raise EOFError
        console.print(f"[bold green]you:[/bold green] {escape(line)}")
        return line

    return read


def chat_loop(console: Console, assistant: Assistant, show_evidence: bool, approver: str | None,
              read: Callable[[], str] | None = None) -> None:  # fmt: skip
    """The conversation: questions until /quit (or end of input). With ``read`` (a script),
    approval prompts take their answer ("yes" approves) from it too."""
    confirm = None
    if read is not None:
        script = read

        def confirm(question: str) -> bool:
            console.print(question)
            return script().strip().lower() in ("y", "yes")

    read = read or (lambda: Prompt.ask("[bold green]you[/bold green]", console=console))
    thread = _new_thread()
    console.print(f"[dim]conversation {thread}. {HELP}[/dim]")
    while True:
        try:
            line = read().strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return
        if line == "/new":
            thread = _new_thread()
            console.print(f"[dim]new conversation {thread}[/dim]")
            continue
        if line == "/history":
            for n, turn in enumerate(assistant.history(thread), 1):
                console.print(f"[bold]{n}.[/bold] {escape(turn['question'])}")
                console.print(f"   [dim]{escape(turn['answer'][:200])}[/dim]")
            continue
        try:
            if line in ("/approve", "/reject"):
                if not assistant.pending(thread):
                    console.print("[yellow]No work-order draft is waiting in this conversation.[/yellow]")
                    continue
                by = (approver or "").strip() or Prompt.ask("Your name", console=console, default=_user_name())
                render_turn(console, assistant.decide(thread, line == "/approve", by), show_evidence)
                continue
            if line.startswith("/"):
                console.print(f"[yellow]unknown command {escape(line)}.[/yellow] {HELP}")
                continue
            render_turn(console, assistant.turn(line, thread), show_evidence)
            settle(console, assistant, thread, show_evidence, approver, confirm)
        except MaintgraphError as exc:  # say it and keep the conversation going
            console.print(f"[red]error:[/red] {escape(str(exc))}")


def _new_thread() -> str:
    return f"chat-{uuid.uuid4().hex[:12]}"


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def as_json(result: TurnResult) -> dict[str, Any]:
    return {"thread": result.thread_id, "question": result.question, "answer": result.answer,
            "cited": result.cited, "route": result.route, "timings_s": result.timings,
            "awaiting_approval": result.awaiting, "submitted": result.submitted, "trace": result.trace_id,
            "evidence": result.evidence}  # fmt: skip
