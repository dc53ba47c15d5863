"""The Teams bot (POST /api/messages) on the real agent over the sample plant: the channel's JWT is
checked against keys from a local fake of the Bot Framework's OpenID metadata, and replies reach a
local fake Bot Connector with a token from a local fake Entra token endpoint. Nothing leaves the machine."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr

from .conftest import reply_json, served

APP_ID = "00000000-0000-0000-0000-00000000b07a"
ISSUER = "https://api.botframework.com"
DIAGNOSIS = "P-101 drive-end bearing is running hot after greasing, what should I check?"
WORK_ORDER = "Raise a work order for the seal leak on P-101"
TENANT = "11111111-2222-3333-4444-555555555555"


class FakeMicrosoft:
    """OpenID metadata + JWKS, the token endpoint and the Bot Connector, on one local port."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.posted: list[dict] = []  # what the bot sent to the connector
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/openid":
                    self.reply({"issuer": ISSUER, "jwks_uri": f"{fake.url}/keys"})
                elif self.path == "/keys":
                    jwk = {**RSAAlgorithm.to_jwk(fake.key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
                    self.reply({"keys": [{**jwk, "endorsements": ["msteams"]}]})
                else:
                    self.reply({}, 404)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if self.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(body).items()}
                    good = form == {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": "s3cret",
                                    "scope": "https://api.botframework.com/.default"}  # fmt: skip
                    self.reply({"access_token": "outbound", "expires_in": 3600} if good else {}, 200 if good else 401)
                else:
                    fake.posted.append({"path": self.path, "auth": self.headers["Authorization"], **json.loads(body)})
                    self.reply({"id": uuid.uuid4().hex})

            def reply(self, body: dict, status: int = 200) -> None:
                reply_json(self, body, status)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key=None, **claims: object) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": APP_ID,
            "serviceurl": f"{self.url}/",
            "nbf": now - 5,
            "exp": now + 600,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}  # None: leave it out
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": "k1"})

    def messages(self, conversation: str, count: int = 1, timeout: float = 90) -> list[dict]:
        """The message activities the bot posted to ``conversation``, once there are ``count``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [p for p in self.posted if p["conversation"]["id"] == conversation and p["type"] == "message"]
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"the bot posted {len(found)} of {count} messages to {conversation}")


@pytest.fixture(scope="module")
def fake():
    opened = FakeMicrosoft()
    yield opened
    opened.server.shutdown()


@pytest.fixture(scope="module")
def teams_settings(plant_settings, fake):
    return plant_settings.model_copy(update={
        "teams_app_id": APP_ID, "teams_app_password": SecretStr("s3cret"), "teams_token_url": f"{fake.url}/token",
        "teams_openid_metadata_urls": [f"{fake.url}/openid"], "teams_tenant_id": TENANT,
        "teams_approvers": ["aad-dana"], "api_max_concurrent": 1, "api_max_waiting": 0,
        "api_queue_wait_s": 1.0})  # fmt: skip


@pytest.fixture(scope="module")
def teams(teams_settings):
    with served(teams_settings) as opened:
        yield opened


@pytest.fixture(scope="module")
def client(teams):
    return teams[0]


@pytest.fixture(scope="module")
def service(teams):
    return teams[1]


DANA = {"id": "29:dana", "name": "Dana Lee", "aadObjectId": "aad-dana"}  # an approver


def activity(fake: FakeMicrosoft, conversation: str, text: str | None = None, value: dict | None = None,
             sender: dict = DANA, tenant: str | None = TENANT) -> dict:  # fmt: skip
    mention = {"type": "mention", "text": "<at>maintgraph</at>", "mentioned": {"id": "28:bot", "name": "maintgraph"}}
    return {"type": "message", "id": f"m{uuid.uuid4().hex[:8]}", "channelId": "msteams", "serviceUrl": f"{fake.url}/",
            "conversation": {"id": conversation, **({"tenantId": tenant} if tenant else {})}, "from": sender,
            **({"channelData": {"tenant": {"id": tenant}}} if tenant else {}),
            "recipient": {"id": "28:bot", "name": "maintgraph"}, "value": value,
            "text": f"<at>maintgraph</at> {text}" if text else None, "entities": [mention] if text else []}  # fmt: skip


def send(client, fake: FakeMicrosoft, body: dict, token: str | None = None):
    return client.post("/api/messages", json=body, headers={"Authorization": f"Bearer {token or fake.token()}"})


def card_of(message: dict) -> dict:
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


def texts(card: dict) -> list[str]:
    found = []
    for item in card["body"]:
        found += [i["text"] for i in item.get("items", [])] if item["type"] == "Container" else [item["text"]]
    return found


def test_a_question_gets_a_card_with_the_answer_its_citations_and_trace(client, fake, service):
    sent = send(client, fake, body := activity(fake, "c-diagnosis", DIAGNOSIS))
    assert sent.status_code == 202, sent.text
    (reply,) = fake.messages("c-diagnosis")
    assert reply["path"] == f"/v3/conversations/c-diagnosis/activities/{body['id']}"  # a reply to the question
    assert reply["auth"] == "Bearer outbound"  # the token the bot got with its own credentials
    lines = texts(card_of(reply))
    answer, sources = "\n".join(lines[: lines.index("Sources")]), lines[lines.index("Sources") + 1 : -1]
    cited = [line.split(". ", 1)[1].split(" — ")[0] for line in sources]
    assert [line.split(".")[0] for line in sources] == [str(n) for n in range(1, len(sources) + 1)]
    assert cited and all(f"[{c}]" in answer for c in cited), lines
    trace_id = lines[-1].removeprefix("trace ")
    assert service.trace(trace_id).question == DIAGNOSIS  # asked without the @mention
    assert not card_of(reply).get("actions")


@pytest.mark.parametrize("case", ["no token", "another key", "expired", "wrong audience", "wrong issuer",
                                  "other serviceUrl", "no serviceUrl", "not endorsed"])  # fmt: skip
def test_a_request_without_a_valid_token_is_refused_and_nothing_is_posted(client, fake, case):
    body = activity(fake, f"c-{case}", "What is P-101?")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = {"another key": fake.token(key=other), "expired": fake.token(exp=int(time.time()) - 3600),
              "wrong audience": fake.token(aud="someone-else"), "wrong issuer": fake.token(iss="https://evil.example"),
              "other serviceUrl": fake.token(serviceurl="https://evil.example/"),
              "no serviceUrl": fake.token(serviceurl=None)}  # fmt: skip
    if case == "not endorsed":
        body["channelId"] = "webchat"
    headers = {"Authorization": f"Bearer {tokens.get(case) or fake.token()}"} if case != "no token" else {}
    refused = client.post("/api/messages", json=body, headers=headers)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer", refused.text
    time.sleep(0.3)
    assert not [p for p in fake.posted if p["conversation"]["id"] == f"c-{case}"]


def test_a_drafted_work_order_is_decided_by_the_card_buttons(client, fake):
    assert send(client, fake, activity(fake, "c-wo", WORK_ORDER)).status_code == 202
    card = card_of(fake.messages("c-wo")[0])
    assert texts(card)[0].startswith("Draft work order for P-101"), texts(card)
    approve, reject = card["actions"]
    assert (approve["title"], reject["title"]) == ("Approve", "Reject") and approve["type"] == "Action.Submit"

    assert send(client, fake, activity(fake, "c-wo", "and the pump's bearing?")).status_code == 202
    assert "waits for a decision" in texts(card_of(fake.messages("c-wo", 2)[1]))[0]  # not asked: the draft waits

    someone = {"id": "29:lee", "name": "Lee Park", "aadObjectId": "aad-lee"}  # not on teams_approvers
    assert send(client, fake, activity(fake, "c-wo", value=approve["data"], sender=someone)).status_code == 202
    assert "Only the plant's approvers" in fake.messages("c-wo", 3)[2]["text"]

    assert send(client, fake, activity(fake, "c-wo", value=approve["data"])).status_code == 202
    heading = texts(card_of(fake.messages("c-wo", 4)[3]))[0]
    assert heading.startswith("Approved by Dana Lee (Teams aad-dana): work order WO-"), heading
    assert heading.endswith("submitted."), heading

    assert send(client, fake, activity(fake, "c-wo", value=reject["data"])).status_code == 202
    assert "Nothing in this conversation is waiting for a decision" in fake.messages("c-wo", 5)[4]["text"]


def test_a_decision_where_nothing_waits_gets_a_clear_message(client, fake):
    decision = {"maintgraph": "maintgraph.decision", "approved": True, "draft": "0" * 16}
    assert send(client, fake, activity(fake, "c-nothing", value=decision)).status_code == 202
    assert "Nothing in this conversation is waiting" in fake.messages("c-nothing")[0]["text"]


def test_busy_refused_and_broken_turns_each_get_a_reply(client, fake, service, monkeypatch, caplog):
    with service.slot():  # the only slot is taken and nobody may queue
        send(client, fake, activity(fake, "c-busy", DIAGNOSIS))
        assert fake.messages("c-busy")[0]["text"] == "The assistant is busy, try again in 1 s."

    send(client, fake, activity(fake, "c-long", "why? " * 500))
    assert "characters long; the limit is" in fake.messages("c-long")[0]["text"]

    def broken(*args: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(service, "ask", broken)
    with caplog.at_level(logging.ERROR, logger="maintgraph.apps.teams"):
        send(client, fake, activity(fake, "c-broken", DIAGNOSIS))
        reply = fake.messages("c-broken")[0]["text"]
    assert reply.startswith("Sorry, something went wrong") and "fire" not in reply
    assert any(r.exc_info and "the disk is on fire" in str(r.exc_info[1]) for r in caplog.records)


@pytest.mark.parametrize("tenant", ["another tenant", None])
def test_an_activity_from_another_tenant_or_none_is_refused_and_nothing_is_posted(client, fake, tenant):
    conversation = f"c-tenant-{tenant}"
    body = activity(fake, conversation, "What is P-101?", tenant=tenant and "99999999-0000-0000-0000-000000000000")
    refused = send(client, fake, body)  # a valid token: the channel signed it, for another tenant's user
    assert refused.status_code == 403 and "tenant" in refused.json()["error"]["message"], refused.text
    time.sleep(0.5)
    assert not [p for p in fake.posted if p["conversation"]["id"] == conversation]


def test_the_bot_refuses_to_start_without_approvers_or_its_tenant(teams_settings):
    from fastapi import FastAPI

    from maintgraph.apps.teams import mount_teams
    from maintgraph.errors import ConfigError

    with pytest.raises(ConfigError, match="teams_approvers"):
        mount_teams(FastAPI(), teams_settings.model_copy(update={"teams_approvers": []}), lambda: None)
    with pytest.raises(ConfigError, match="teams_tenant_id"):
        mount_teams(FastAPI(), teams_settings.model_copy(update={"teams_tenant_id": None}), lambda: None)


def test_a_failure_is_told_with_an_error_id_and_without_the_internals(client, fake, service, monkeypatch, caplog):
    from maintgraph.errors import ServiceUnavailable

    socket_path = "/tmp/mg-secret/run/pg/.s.PGSQL.5432"

    def down(*args: object) -> None:
        raise ServiceUnavailable(f'document store (Postgres) unreachable: connection to server on socket '
                                 f'"{socket_path}" failed (host=db.plant.internal)')  # fmt: skip

    monkeypatch.setattr(service, "ask", down)
    with caplog.at_level(logging.ERROR):
        send(client, fake, activity(fake, "c-down", DIAGNOSIS))
        reply = fake.messages("c-down")[0]["text"]
    assert ".s.PGSQL" not in reply and "db.plant.internal" not in reply, reply
    error_id = re.search(r"error id ([0-9a-f]{12})", reply)[1]
    assert any(error_id in r.getMessage() and socket_path in r.getMessage() for r in caplog.records)
