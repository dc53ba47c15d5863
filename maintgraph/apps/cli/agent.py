"""The agent's faces in a terminal: ``maintgraph ask | approve | chat``, the HTTP service
(``maintgraph serve``) and the Slack bot (``maintgraph slack``)."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from maintgraph.apps.cli.common import JsonOption, NoModel, err, friendly_errors, get_settings, out, sub_app
from maintgraph.errors import MaintgraphError

slack_app = sub_app("The Slack bot (HTTP mode is part of `maintgraph serve`).")

ThreadOption = Annotated[
    str | None, typer.Option("--thread", help="Conversation id: ask within it (follow-ups, approvals); new if unset.")
]
ShowEvidence = Annotated[bool, typer.Option("--show-evidence", help="Also print the route, evidence and timings.")]


def _assistant(use_model: bool = True) -> closing[Any]:
    """The assistant on the configured stores, closed after."""
    from maintgraph.agent.session import open_assistant

    return closing(open_assistant(get_settings(), use_model=use_model))


@friendly_errors
def ask_command(
    question: Annotated[str, typer.Argument(help="A troubleshooting question, e.g. 'P-101 DE bearing runs hot'.")],
    thread: ThreadOption = None,
    show_evidence: ShowEvidence = False,
    no_model: NoModel = False,
    as_json: JsonOption = False,
) -> None:
    """Ask the agent one question: documents, the equipment graph and the CMMS, answered with citations.

    A question that drafts a work order stops with the draft; decide with `maintgraph approve`."""
    import uuid

    from maintgraph.agent.session import checked_question
    from maintgraph.apps.chat import as_json as result_json
    from maintgraph.apps.chat import render_turn

    question = checked_question(question)  # before any service is touched
    with _assistant(not no_model) as assistant:
        thread = thread or f"ask-{uuid.uuid4().hex[:12]}"
        if as_json:
            out.print_json(json.dumps(result_json(assistant.ask(question, thread)), default=str))
            return
        result = render_turn(out, assistant.turn(question, thread), show_evidence)
        if result.awaiting:
            out.print(f"\nNothing is submitted yet. Decide with: maintgraph approve {thread} --by NAME [--reject]")


@friendly_errors
def approve_command(
    thread: Annotated[str, typer.Argument(help="The conversation whose work-order draft waits for a decision.")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded as the approver).")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject the draft instead of submitting it.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation after showing the draft.")] = False,
) -> None:
    """Approve (or reject) the work-order draft a conversation is waiting on; works after a restart.

    The draft is shown in full first; without --yes you confirm it."""
    from rich.prompt import Confirm

    from maintgraph.agent.work_order import describe_draft
    from maintgraph.apps.chat import render_turn

    with _assistant(use_model=False) as assistant:  # deciding needs no model
        order = assistant.pending(thread)
        if order is None:
            raise MaintgraphError(f"conversation {thread} has no work-order draft waiting for a decision")
        out.print(escape(describe_draft(order)), highlight=False)
        verb = "Reject" if reject else "Submit"
        if not yes and not Confirm.ask(f"{verb} this work order as {by}?", console=out, default=False):
            out.print("Nothing decided; the draft is still waiting.")
            return
        render_turn(out, assistant.decide(thread, approved=not reject, by=by))


@friendly_errors
def chat_command(
    show_evidence: ShowEvidence = False,
    approver: Annotated[
        str | None, typer.Option("--approver", help="Name recorded when you approve a work order (asked if unset).")
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option("--script", exists=True, dir_okay=False, help="Play a conversation from a file, a line per turn."),
    ] = None,
    no_model: NoModel = False,
) -> None:
    """A troubleshooting conversation: streamed, cited answers; /new, /history, /approve, /reject, /quit."""
    from maintgraph.apps.chat import chat_loop, scripted

    if script and not approver:
        raise typer.BadParameter("a scripted conversation needs --approver (nobody is there to be asked)")
    lines = [line for line in script.read_text(encoding="utf-8").splitlines() if line.strip()] if script else None
    with _assistant(not no_model) as assistant:
        chat_loop(out, assistant, show_evidence, approver, scripted(out, lines) if lines is not None else None)


@friendly_errors
def serve_command(
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default: MAINTGRAPH_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: MAINTGRAPH_API_PORT).")] = None,
    no_model: NoModel = False,
) -> None:
    """Serve the agent over HTTP: OpenAI-compatible chat completions, agent runs, approvals, traces,
    health and Prometheus metrics. Every /v1 route needs a key from `maintgraph keys create`.

    The services must be up (`maintgraph up`). Settings: MAINTGRAPH_API_* (concurrency, queue,
    rate limit, body size, CORS origins); the schema is served at /openapi.json."""
    import uvicorn

    from maintgraph.agent.service import AgentService
    from maintgraph.apps.api import create_app

    settings = get_settings()
    settings = settings.model_copy(update={k: v for k, v in (("api_host", host), ("api_port", port)) if v})
    # A bad setup fails on opening, in one line.
    with closing(AgentService(settings, use_model=not no_model).open()) as service:
        err.print(f"maintgraph serving on http://{settings.api_host}:{settings.api_port} (Ctrl-C stops)")
        uvicorn.run(create_app(settings, service), host=settings.api_host, port=settings.api_port,
                    log_config=None, timeout_graceful_shutdown=30)  # fmt: skip


@slack_app.command("socket")
@friendly_errors
def slack_socket(no_model: NoModel = False) -> None:
    """Run the Slack bot in Socket Mode: it connects out to Slack, so no public URL is needed.

    Needs MAINTGRAPH_SLACK_BOT_TOKEN, MAINTGRAPH_SLACK_SIGNING_SECRET and MAINTGRAPH_SLACK_APP_TOKEN."""
    from maintgraph.agent.service import AgentService
    from maintgraph.apps.slack import run_socket_mode

    settings = get_settings()
    with closing(AgentService(settings, use_model=not no_model).open()) as service:
        run_socket_mode(settings, service)
