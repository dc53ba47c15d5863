"""The Slack bot in Socket Mode, offline: the real Bolt app behind slack_bolt's SocketModeHandler (the
built-in slack_sdk client that ``maintgraph slack socket`` runs) connects to a local WebSocket server
that plays Slack's side (hello, then an Events API envelope carrying an @mention), and answers through
the local fake of the Slack Web API, on the real agent service over the sample plant. Also: the bot
refuses to start without the secret or token its mode needs."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode import SocketModeHandler
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from maintgraph.agent.service import AgentService
from maintgraph.apps.slack import build_slack_app, run_socket_mode
from maintgraph.config import Settings
from maintgraph.errors import MaintgraphError

from .conftest import reply_json
from .test_slack import BOT, CHANNEL, TEAM, FakeSlack, _SlackHandler, event

# What Slack sends first on every new connection, before any envelope.
HELLO = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"},
         "debug_info": {"host": "applink-test", "approximate_connection_time": 18060}}  # fmt: skip
QUESTION = "P-101 drive-end bearing is running hot after greasing, what should I check?"


class _SocketSlackHandler(_SlackHandler):
    """The fake Web API, plus apps.connections.open: the bot asks it (with its app token) for the
    WebSocket URL to connect to, as it does Slack."""

    def do_POST(self) -> None:  # http.server's name
        if self.path.rsplit("/", 1)[-1] != "apps.connections.open":
            return super().do_POST()
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        # slack_sdk sends the token as the Authorization header, not in the body: keep it to check which one.
        call = {**dict(parse_qsl(raw)), "authorization": self.headers.get("Authorization")}
        with self.server.lock:
            self.server.calls.append(("apps.connections.open", call))
        reply_json(self, {"ok": True, "url": self.server.socket_url})


class SocketSlack:
    """Slack's side of Socket Mode on loopback: greets each connection with ``hello``, delivers each
    queued envelope once (as Slack does, to one connection), and keeps what the bot sends back."""

    def __init__(self, envelopes: list[dict]) -> None:
        self.pending = list(envelopes)
        self.received: list[dict] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.server = serve(self._session, "127.0.0.1", 0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/"

    def _session(self, ws: ServerConnection) -> None:
        with self.lock:
            self.connections += 1
            envelopes, self.pending = self.pending, []
        try:
            ws.send(json.dumps(HELLO))
            for envelope in envelopes:
                ws.send(json.dumps(envelope))
            for message in ws:
                with self.lock:
                    self.received.append(json.loads(message))
        except ConnectionClosed:  # the client drops its socket on close, without a close frame
            pass

    def ack(self, envelope_id: str, timeout: float = 30) -> dict:
        """The bot's acknowledgement of ``envelope_id`` (Slack redelivers an envelope not acked in 3 s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                acks = [m for m in self.received if m.get("envelope_id") == envelope_id]
            if acks:
                return acks[0]
            time.sleep(0.1)
        raise AssertionError(f"envelope {envelope_id} not acknowledged in {timeout} s; received {self.received}")

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def web_api():
    fake = FakeSlack()
    fake.RequestHandlerClass = _SocketSlackHandler  # socketserver's hook: the handler class per request
    fake.socket_url = ""
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    yield fake
    fake.shutdown()
    fake.server_close()


def test_a_mention_over_socket_mode_is_acknowledged_and_answered_in_its_thread_with_the_sources(
    plant_settings, web_api
):
    ts = "1764590000.000100"
    envelope = {"envelope_id": "1d2b3c4e-socket-mention", "type": "events_api", "accepts_response_payload": False,
                "payload": json.loads(event("app_mention", f"<@{BOT}> {QUESTION}", ts))}  # fmt: skip
    slack_side = SocketSlack([envelope])
    web_api.socket_url = slack_side.url
    settings = plant_settings.model_copy(update={
        "slack_bot_token": SecretStr("xoxb-test"), "slack_app_token": SecretStr("xapp-test"),
        "slack_api_url": web_api.url, "slack_signing_secret": None, "slack_approvers": ["U0SUP"]})  # fmt: skip
    service = AgentService(settings, use_model=False).open()
    handler = None
    try:
        # As run_socket_mode builds it, but connect() returns once the socket is open where start() blocks.
        handler = SocketModeHandler(build_slack_app(settings, lambda: service, socket_mode=True),
                                    settings.slack_app_token.get_secret_value())  # fmt: skip
        handler.connect()
        # The URL came from the configured Web API, asked with the app token (not the bot token).
        assert web_api.posted("apps.connections.open")[0]["authorization"] == "Bearer xapp-test"

        assert slack_side.ack(envelope["envelope_id"]) == {"envelope_id": envelope["envelope_id"]}
        reply = web_api.posted("chat.postMessage")[0]
        assert reply["channel"] == CHANNEL and reply["thread_ts"] == ts
        sources = next((b for b in reply["blocks"] if b["type"] == "context" and "Sources" in b["elements"][0]["text"]),
                       None)  # fmt: skip
        assert sources is not None, f"no sources block in the answer: {reply['blocks']}"
        cited = [line.split("`")[1] for line in sources["elements"][0]["text"].splitlines()[1:]]
        assert cited and all(f"[{c}]" in reply["text"] for c in cited)
        # The thread is one agent conversation, keyed as over HTTP.
        history = service.assistant("maintgraph").history(f"slack/{TEAM}/{CHANNEL}/{ts}")
        assert len(history) == 1 and history[0]["tags"] == ["P-101"]
        assert slack_side.connections == 1  # one session held: no reconnect churn
    finally:
        if handler is not None:
            handler.close()
        slack_side.close()
        service.close()


def test_the_bot_refuses_to_start_without_the_secret_or_token_its_mode_needs(tmp_path):
    settings = Settings(data_dir=tmp_path, slack_bot_token=SecretStr("xoxb-test"))
    # Over HTTP, requests could not be verified: refused before any listener exists.
    with pytest.raises(MaintgraphError, match="MAINTGRAPH_SLACK_SIGNING_SECRET"):
        build_slack_app(settings, lambda: None, socket_mode=False)
    # Socket Mode has nothing to connect with.
    with pytest.raises(MaintgraphError, match="MAINTGRAPH_SLACK_APP_TOKEN"):
        run_socket_mode(settings, None)
    # Nobody named who may approve work orders: anyone in a channel (guests, Slack Connect externals) could.
    signed = settings.model_copy(update={"slack_signing_secret": SecretStr("s"), "slack_app_token": SecretStr("xapp")})
    for socket_mode in (False, True):
        with pytest.raises(MaintgraphError, match="MAINTGRAPH_SLACK_APPROVERS"):
            build_slack_app(signed, lambda: None, socket_mode=socket_mode)
