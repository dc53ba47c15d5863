"""The Slack bot (slack-bolt): a face over :class:`AgentService`, with no agent logic of its own.

- An @mention in a channel, or a direct message, is asked in the message's Slack thread; the
  answer comes back in that thread, its citations as a context block under it.
- ``/wo <asset and problem>`` has the agent draft a work order; the draft is posted with
  Approve / Reject buttons, and a click decides it (the clicker is recorded as the approver). Only
  the users ``slack_approvers`` names may decide: the bot refuses to start without one, as a
  channel's guests and Slack Connect externals could otherwise approve work.
- Only the workspaces ``slack_team_ids`` names are served (default: the bot token's own): an
  event, command or click from any other, or from a Slack Connect external in a shared channel, is
  acknowledged and ignored.
- A failure is told in the thread in short, with an error id; its details (a dependency's socket
  path or host) go to the log under that id.
- One Slack thread is one agent conversation (``slack/<team>/<channel>/<thread ts>``): a
  follow-up in the thread is understood in its context.

HTTP mode (the default): ``maintgraph serve`` mounts ``POST /slack/events`` when
``MAINTGRAPH_SLACK_BOT_TOKEN`` and ``MAINTGRAPH_SLACK_SIGNING_SECRET`` are set; point the Slack
app's Event Subscriptions, Slash Commands and Interactivity request URLs there. Bolt verifies
each request's signature and refuses a timestamp older than five minutes (401). Socket Mode
(no public URL, the bot connects out to Slack): ``maintgraph slack socket`` with
``MAINTGRAPH_SLACK_APP_TOKEN`` (xapp-...).

Bolt acknowledges within Slack's 3 s and runs the listener in its worker threads: agent turns
take longer than that.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request  # at module level: FastAPI resolves the route's annotations here
from starlette.responses import Response

from maintgraph.agent.service import AgentService
from maintgraph.agent.session import TurnResult
from maintgraph.agent.work_order import describe_draft, draft_fingerprint
from maintgraph.apps.api.errors import public_error
from maintgraph.config import Settings
from maintgraph.errors import Busy, ConfigError, MaintgraphError

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@[A-Z0-9]+>")
APPROVE, REJECT = "wo_approve", "wo_reject"
SECTION_LIMIT = 2900  # a section block holds 3000 characters
TEXT_LIMIT = 39_000  # a message's text holds 40,000


def build_slack_app(settings: Settings, agent: Callable[[], AgentService], socket_mode: bool = False) -> Any:
    """The Bolt app: listeners for mentions, DMs, /wo and the approval buttons. Over HTTP each
    request's signature is verified; Socket Mode's come over the bot's own authenticated socket."""
    from slack_bolt import App, BoltResponse
    from slack_sdk import WebClient

    if settings.slack_bot_token is None:
        raise MaintgraphError("the Slack bot needs MAINTGRAPH_SLACK_BOT_TOKEN (a bot token, xoxb-...)")
    if settings.slack_signing_secret is None and not socket_mode:
        raise MaintgraphError("the Slack bot over HTTP needs MAINTGRAPH_SLACK_SIGNING_SECRET to verify requests")
    if not settings.slack_approvers:
        raise ConfigError("the Slack bot needs MAINTGRAPH_SLACK_APPROVERS, a JSON list of the Slack user ids who may "
                          'approve or reject drafted work orders (e.g. ["U012AB3CD"]); without it anyone in a '
                          "channel could, guests and Slack Connect externals included")  # fmt: skip
    token = settings.slack_bot_token.get_secret_value()
    client = WebClient(token=token, **({"base_url": settings.slack_api_url} if settings.slack_api_url else {}))
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    bolt = App(client=client, signing_secret=secret, request_verification_enabled=not socket_mode,
               process_before_response=False)  # fmt: skip

    @bolt.middleware  # Bolt passes a middleware's arguments by name: `next` is its
    def our_workspaces_only(body: dict[str, Any], context: Any, next: Callable[[], Any]) -> Any:
        allowed = set(settings.slack_team_ids) or {getattr(context.authorize_result, "team_id", None)} - {None}
        teams = teams_of(body)
        if teams and teams <= allowed:
            return next()
        log.warning("ignored a Slack %s from team(s) %s: this bot serves %s", body.get("type") or "request",
                    ", ".join(sorted(teams)) or "none named", ", ".join(sorted(allowed)))  # fmt: skip
        return BoltResponse(status=200, body="")  # acknowledged (Slack would retry), and nothing done

    def answer(question: str, thread: str, say: Callable[..., Any], thread_ts: str) -> None:
        result = _turn(lambda: agent().ask(question, thread), say, thread_ts)
        if result is not None:
            say(text=result.answer[:TEXT_LIMIT], blocks=answer_blocks(result, thread), thread_ts=thread_ts)

    @bolt.event("app_mention")
    def mentioned(event: dict[str, Any], body: dict[str, Any], say: Callable[..., Any]) -> None:
        thread_ts = event.get("thread_ts") or event["ts"]
        answer(MENTION.sub("", event.get("text", "")).strip(), _thread(body, event["channel"], thread_ts), say,
               thread_ts)  # fmt: skip

    @bolt.event("message")
    def direct_message(event: dict[str, Any], body: dict[str, Any], say: Callable[..., Any]) -> None:
        # Only people's DMs: channel messages come as app_mention, and edits, joins and the
        # bot's own replies come as subtypes or carry a bot_id.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        answer(event.get("text", "").strip(), _thread(body, event["channel"], thread_ts), say, thread_ts)

    @bolt.command("/wo")
    def work_order(ack: Callable[..., Any], command: dict[str, Any], say: Callable[..., Any]) -> None:
        request = command.get("text", "").strip()
        if not request:
            ack("Say what needs doing, e.g. `/wo P-101 mechanical seal leaking`")
            return
        ack()
        opened = say(text=f"<@{command['user_id']}> asked for a work order: {request}")
        thread_ts = opened["ts"]
        thread = f"slack/{command['team_id']}/{command['channel_id']}/{thread_ts}"
        result = _turn(lambda: agent().ask(f"Raise a work order for {request}", thread), say, thread_ts)
        if result is not None:
            say(text=result.answer[:TEXT_LIMIT], blocks=answer_blocks(result, thread), thread_ts=thread_ts)

    @bolt.action(APPROVE)
    @bolt.action(REJECT)
    def decide(ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        ack()
        user = body["user"]
        by = f"{user.get('name') or user.get('username') or user['id']} (Slack {user['id']})"
        channel, message = body["channel"]["id"], body["message"]
        thread_ts = message.get("thread_ts") or message["ts"]
        if user["id"] not in settings.slack_approvers:
            client.chat_postEphemeral(channel=channel, user=user["id"], thread_ts=thread_ts,
                                      text="Only the plant's approvers may approve or reject work orders; "
                                           "the draft still waits for one of them.")  # fmt: skip
            return

        def say(**kwargs: Any) -> Any:
            return client.chat_postMessage(channel=channel, **kwargs)

        button = json.loads(action["value"])
        waiting = agent().pending(button["thread"])
        if waiting is None or draft_fingerprint(waiting) != button["draft"]:  # decided, or another draft now
            client.chat_postEphemeral(channel=channel, user=user["id"], thread_ts=thread_ts,
                                      text="That draft is no longer waiting for a decision (it was decided, "
                                           "or a newer draft replaced it).")  # fmt: skip
            return
        result = _turn(lambda: agent().decide(button["thread"], action["action_id"] == APPROVE, by), say, thread_ts)
        if result is not None:  # the buttons go: the message now says what was decided, and by whom
            outcome = (f"Approved by {by}: {result.submitted['number']} submitted" if result.submitted
                       else f"Rejected by {by}" if action["action_id"] == REJECT else result.answer)  # fmt: skip
            blocks = [b for b in message.get("blocks", []) if b.get("type") != "actions"]
            client.chat_update(channel=channel, ts=message["ts"], text=outcome,
                               blocks=[*blocks, _context(outcome)])  # fmt: skip
            say(text=result.answer[:TEXT_LIMIT], thread_ts=thread_ts)

    return bolt


def _thread(body: dict[str, Any], channel: str, thread_ts: str) -> str:
    return f"slack/{body.get('team_id', '-')}/{channel}/{thread_ts}"


def _turn(call: Callable[[], TurnResult], say: Callable[..., Any], thread_ts: str) -> TurnResult | None:
    """Run the agent; a refusal or failure is said in the thread instead of lost in a log."""
    try:
        return call()
    except Busy as exc:
        say(text=f"The assistant is busy; try again in {exc.retry_after_s} s.", thread_ts=thread_ts)
    except Exception as exc:  # noqa: BLE001 - the user must hear something; the details go to the log
        message, _ = public_error(exc, "a Slack turn", log)
        say(text=f"Sorry, that did not work: {message}", thread_ts=thread_ts)
    return None


def teams_of(body: dict[str, Any]) -> set[str]:
    """Every workspace a request names: the one it came through, and the sender's (a Slack Connect
    external's differs) for events (``user_team``, ``source_team``), commands and clicks."""
    event, user, team = body.get("event") or {}, body.get("user"), body.get("team")
    found = [body.get("team_id"), body.get("user_team"), event.get("team"), event.get("user_team"),
             event.get("source_team"), team.get("id") if isinstance(team, dict) else None,
             user.get("team_id") if isinstance(user, dict) else None]  # fmt: skip
    return {t for t in found if isinstance(t, str) and t}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def _sections(text: str) -> list[dict[str, Any]]:
    """``text`` as section blocks, cut between lines: a long answer keeps its later citations."""
    pieces: list[str] = [""]
    for line in text.splitlines(keepends=True):
        if len(pieces[-1]) + len(line) > SECTION_LIMIT and pieces[-1]:
            pieces.append("")
        pieces[-1] += line[:SECTION_LIMIT]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": p}} for p in pieces[:40] if p.strip()]


def answer_blocks(result: TurnResult, thread: str) -> list[dict[str, Any]]:
    """The answer, its sources (numbered, as cited), and for a drafted work order the draft with
    Approve / Reject buttons that carry the agent's conversation id and the draft's fingerprint."""
    blocks = _sections(result.answer)
    if result.cited:
        sources = "\n".join(f"{n}. `{c['id']}` {c['title']}" for n, c in enumerate(result.cited, 1))
        blocks.append(_context(f"*Sources*\n{sources}"))
    if result.awaiting:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{describe_draft(result.awaiting)}```"}}
        )
        value = json.dumps({"thread": thread, "draft": draft_fingerprint(result.awaiting)})
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "action_id": APPROVE, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": REJECT, "style": "danger", "value": value,
             "text": {"type": "plain_text", "text": "Reject"}}]})  # fmt: skip
    if result.trace_id:
        blocks.append(_context(f"trace {result.trace_id}"))
    return blocks


def mount_slack(app: Any, settings: Settings, agent: Callable[[], AgentService]) -> None:
    """``POST /slack/events`` on the service's FastAPI app (events, slash commands, interactivity)."""
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from starlette.concurrency import run_in_threadpool

    bolt = build_slack_app(settings, agent)

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        # Bolt's dispatch is synchronous (verify, ack, hand the listener to its threads): off the loop.
        bolt_request = to_bolt_request(request, await request.body())
        return to_starlette_response(await run_in_threadpool(bolt.dispatch, bolt_request))


def run_socket_mode(settings: Settings, agent: AgentService) -> None:
    """Socket Mode: the bot connects out to Slack (no public URL); blocks until interrupted."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if settings.slack_app_token is None:
        raise MaintgraphError("Socket Mode needs MAINTGRAPH_SLACK_APP_TOKEN (an app-level token, xapp-...)")
    bolt = build_slack_app(settings, lambda: agent, socket_mode=True)
    SocketModeHandler(bolt, settings.slack_app_token.get_secret_value()).start()
