"""The Slack bot, offline: signed payloads as Slack sends them (event callbacks, a slash command,
block actions) go to /slack/events of the real service on the sample plant, and the bot's Web
API calls go to a local fake of the Slack API that records them."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode

import pytest
from pydantic import SecretStr

from .conftest import reply_json, served

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM, CHANNEL, BOT = "T0PLANT", "C0MAINT", "U0BOT"


class FakeSlack(ThreadingHTTPServer):
    """Answers the Web API methods the bot calls, as Slack does, and keeps every call."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlackHandler)
        self.calls: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/"

    def posted(self, method: str, count: int = 1, timeout: float = 60) -> list[dict]:
        """The calls of ``method`` once there are ``count`` of them (the bot answers after its ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [body for name, body in self.calls if name == method]
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise AssertionError(f"{method} called {len(found)} times, expected {count}: {self.calls}")


class _SlackHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # http.server's name
        method = self.path.rsplit("/", 1)[-1]
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        body = json.loads(raw) if "json" in self.headers.get("Content-Type", "") else dict(parse_qsl(raw))
        with self.server.lock:
            self.server.calls.append((method, body))
        reply = {"ok": True}
        if method == "auth.test":
            reply.update(url="https://plant.slack.com/", team="Plant", user="maintgraph", team_id=TEAM, user_id=BOT,
                         bot_id="B0BOT")  # fmt: skip
        elif method in ("chat.postMessage", "chat.update"):
            reply.update(channel=body.get("channel"), ts=body.get("ts") or f"{time.time():.6f}", message=body)
        reply_json(self, reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def slack():
    server = FakeSlack()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def bot(plant_settings, slack):
    settings = plant_settings.model_copy(update={
        "slack_bot_token": SecretStr("xoxb-test"), "slack_signing_secret": SecretStr(SECRET),
        "slack_api_url": slack.url, "slack_approvers": ["U0SUP"]})  # fmt: skip
    with served(settings) as (client, service, _):
        yield client, service


def send(client, body: str, content_type: str, timestamp: int | None = None, secret: str = SECRET):
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": signature}  # fmt: skip
    return client.post("/slack/events", content=body, headers=headers)


def event(kind: str, text: str, ts: str, thread_ts: str | None = None, **extra) -> str:
    inner = {"type": kind, "user": "U0TECH", "text": text, "ts": ts, "channel": CHANNEL, "event_ts": ts,
             **({"thread_ts": thread_ts} if thread_ts else {}), **extra}  # fmt: skip
    return json.dumps({"token": "legacy", "team_id": TEAM, "api_app_id": "A0APP", "event": inner,
                       "type": "event_callback", "event_id": f"Ev{ts.replace('.', '')}", "event_time": int(time.time()),
                       "authorizations": [{"team_id": TEAM, "user_id": BOT, "is_bot": True}]})  # fmt: skip


def test_a_mention_is_answered_in_its_thread_with_the_sources_and_a_follow_up_keeps_the_context(bot, slack):
    client, service = bot
    ts = "1764580000.000100"
    asked = send(client, event("app_mention", f"<@{BOT}> P-101 drive-end bearing is running hot after greasing, "
                                              "what should I check?", ts), "application/json")  # fmt: skip
    assert asked.status_code == 200  # acknowledged at once; the answer follows
    reply = slack.posted("chat.postMessage")[0]
    assert reply["channel"] == CHANNEL and reply["thread_ts"] == ts
    sources = next(b for b in reply["blocks"] if b["type"] == "context" and "Sources" in b["elements"][0]["text"])
    cited = [line.split("`")[1] for line in sources["elements"][0]["text"].splitlines()[1:]]
    assert cited and all(f"[{c}]" in reply["text"] for c in cited)

    follow_up = event("app_mention", f"<@{BOT}> which parts does it need?", "1764580060.000200", thread_ts=ts)
    assert send(client, follow_up, "application/json").status_code == 200
    slack.posted("chat.postMessage", 2)
    history = service.assistant("maintgraph").history(f"slack/{TEAM}/{CHANNEL}/{ts}")
    assert len(history) == 2 and history[1]["tags"] == ["P-101"]  # "it" is the pump of the thread's question


def test_a_request_with_a_wrong_signature_or_a_stale_timestamp_is_refused(bot, slack):
    client, _ = bot
    before = len(slack.calls)
    body = event("app_mention", f"<@{BOT}> P-101 seal leaking", "1764580100.000300")
    assert send(client, body, "application/json", secret="not-the-secret").status_code == 401
    assert send(client, body, "application/json", timestamp=int(time.time()) - 600).status_code == 401
    time.sleep(1)
    assert len(slack.calls) == before  # nothing was asked, nothing posted


def test_a_direct_message_is_answered_and_the_bot_ignores_its_own_messages(bot, slack):
    client, _ = bot
    before = len(slack.posted("chat.postMessage", 0))
    own = event("message", "an answer the bot posted", "1764580200.000400", channel_type="im", bot_id="B0BOT")
    dm = event("message", "What drives P-501?", "1764580201.000500", channel_type="im")
    assert send(client, own, "application/json").status_code == 200
    assert send(client, dm, "application/json").status_code == 200
    replies = slack.posted("chat.postMessage", before + 1)
    time.sleep(1)
    assert len(slack.posted("chat.postMessage", 0)) == before + 1 and replies[-1]["thread_ts"] == "1764580201.000500"


def test_wo_drafts_a_work_order_with_buttons_and_approve_submits_it_naming_the_approver(bot, slack):
    client, _ = bot
    command = {"token": "legacy", "team_id": TEAM, "team_domain": "plant", "channel_id": CHANNEL,
               "channel_name": "maintenance", "user_id": "U0TECH", "user_name": "a.tech", "command": "/wo",
               "response_url": "https://hooks.slack.com/commands/T0PLANT/1/x", "trigger_id": "1.2.3",
               "api_app_id": "A0APP"}  # fmt: skip
    empty = send(client, urlencode({**command, "text": ""}), "application/x-www-form-urlencoded")
    assert empty.status_code == 200 and "/wo P-101 mechanical seal leaking" in empty.text

    before = len(slack.posted("chat.postMessage", 0))
    acked = send(client, urlencode({**command, "text": "the seal leak on P-101"}), "application/x-www-form-urlencoded")
    assert acked.status_code == 200
    opened, draft = slack.posted("chat.postMessage", before + 2)[before:]
    assert "asked for a work order: the seal leak on P-101" in opened["text"]
    buttons = next(b for b in draft["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Approve", "Reject"] and "P-101" in json.dumps(draft["blocks"])

    message = {"type": "message", "ts": f"{time.time():.6f}", "thread_ts": draft["thread_ts"], "text": draft["text"],
               "blocks": draft["blocks"]}  # fmt: skip
    click = {"type": "block_actions", "user": {"id": "U0SUP", "username": "j.smith", "name": "j.smith",
                                               "team_id": TEAM},
             "api_app_id": "A0APP", "token": "legacy", "trigger_id": "4.5.6", "team": {"id": TEAM, "domain": "plant"},
             "channel": {"id": CHANNEL, "name": "maintenance"}, "message": message,
             "container": {"type": "message", "message_ts": message["ts"], "channel_id": CHANNEL},
             "response_url": "https://hooks.slack.com/actions/T0PLANT/1/y",
             "actions": [{**buttons[0], "block_id": "b1", "action_ts": f"{time.time():.6f}"}]}  # fmt: skip
    by_requester = {**click, "user": {"id": "U0TECH", "username": "a.tech", "name": "a.tech", "team_id": TEAM}}
    refusal = send(client, urlencode({"payload": json.dumps(by_requester)}), "application/x-www-form-urlencoded")
    assert refusal.status_code == 200
    refused = slack.posted("chat.postEphemeral")[-1]  # U0TECH is not on slack_approvers: only told so
    assert refused["user"] == "U0TECH" and "Only the plant's approvers" in refused["text"]
    assert not slack.posted("chat.update", 0)
    assert (
        send(client, urlencode({"payload": json.dumps(click)}), "application/x-www-form-urlencoded").status_code == 200
    )
    updated = slack.posted("chat.update")[-1]
    assert updated["ts"] == message["ts"] and updated["text"].startswith("Approved by j.smith (Slack U0SUP): WO-")
    assert not [b for b in updated["blocks"] if b["type"] == "actions"]  # the buttons are gone

    # A second click (an old copy of the message) finds the draft decided: the clicker is told so.
    assert (
        send(client, urlencode({"payload": json.dumps(click)}), "application/x-www-form-urlencoded").status_code == 200
    )
    again = slack.posted("chat.postEphemeral", 2)[-1]
    assert again["user"] == "U0SUP" and "no longer waiting for a decision" in again["text"]
    assert len(slack.posted("chat.update", 0)) == 1


def test_events_commands_and_clicks_from_another_workspace_are_ignored(bot, slack):
    client, _ = bot
    time.sleep(1)  # earlier tests' replies are all in
    before = len(slack.calls)
    elsewhere = json.loads(event("app_mention", f"<@{BOT}> What drives P-501?", "1764580300.000100"))
    elsewhere["team_id"] = "T0OTHER"
    external = event("app_mention", f"<@{BOT}> What drives P-501?", "1764580301.000200", user_team="T0EXT")
    for body in (json.dumps(elsewhere), external):  # another workspace; a Slack Connect external in ours
        assert send(client, body, "application/json").status_code == 200
    command = {"token": "legacy", "team_id": "T0OTHER", "channel_id": CHANNEL, "user_id": "U0TECH",
               "command": "/wo", "text": "P-101 seal leaking", "api_app_id": "A0APP"}  # fmt: skip
    assert send(client, urlencode(command), "application/x-www-form-urlencoded").status_code == 200
    value = json.dumps({"thread": f"slack/{TEAM}/{CHANNEL}/1.2", "draft": "0" * 16})
    click = {"type": "block_actions", "user": {"id": "U0SUP", "name": "j.smith", "team_id": "T0EXT"},
             "api_app_id": "A0APP", "team": {"id": TEAM}, "channel": {"id": CHANNEL},
             "message": {"type": "message", "ts": "1.2", "text": "draft", "blocks": []},
             "actions": [{"action_id": "wo_approve", "value": value, "type": "button", "block_id": "b1"}]}  # fmt: skip
    clicked = send(client, urlencode({"payload": json.dumps(click)}), "application/x-www-form-urlencoded")
    assert clicked.status_code == 200
    time.sleep(1.5)
    assert slack.calls[before:] == []  # nothing asked, nothing posted, not even a refusal


def test_a_failure_is_told_in_the_thread_with_an_error_id_and_without_the_internals(bot, slack, monkeypatch, caplog):
    from maintgraph.errors import ServiceUnavailable

    client, service = bot
    socket_path = "/tmp/mg-secret/run/pg/.s.PGSQL.5432"

    def down(*args: object) -> None:
        raise ServiceUnavailable(f'document store (Postgres) unreachable: connection to server on socket '
                                 f'"{socket_path}" failed (host=db.plant.internal)')  # fmt: skip

    monkeypatch.setattr(service, "ask", down)
    before = len(slack.posted("chat.postMessage", 0))
    with caplog.at_level(logging.ERROR):
        send(client, event("app_mention", f"<@{BOT}> What drives P-501?", "1764580400.000100"), "application/json")
        reply = slack.posted("chat.postMessage", before + 1)[-1]["text"]
    assert ".s.PGSQL" not in reply and "db.plant.internal" not in reply, reply
    error_id = re.search(r"error id ([0-9a-f]{12})", reply)[1]
    assert any(error_id in r.getMessage() and socket_path in r.getMessage() for r in caplog.records)
