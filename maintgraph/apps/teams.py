"""The Microsoft Teams bot (Microsoft 365 Agents SDK): a face over :class:`AgentService`, no agent logic.

- A message (in a channel the bot is @mentioned in, a group chat or a personal chat) is asked in
  that Teams conversation (agent thread ``teams/<conversation id>``: follow-ups keep context). The
  reply is an Adaptive Card: the answer, its numbered citations (evidence id and title), the trace id.
- A turn that drafts a work order shows the draft with Approve / Reject buttons (``Action.Submit``);
  a click decides it, and the Teams user who clicked is recorded as the approver (name and Entra
  object id). Only the users ``teams_approvers`` names may decide: the bot refuses to start without
  one, as anyone in a team or chat (guests included) could otherwise approve work.
- Only activities of the bot's own tenant (``teams_tenant_id``, required) are served: one whose
  conversation or channel data names another tenant, or none, gets 403 and nothing runs.
- A failure is answered in short, with an error id; its details (a dependency's socket path or
  host) go to the log under that id.

Configuration (see :mod:`maintgraph.config`): ``maintgraph serve`` mounts ``POST /api/messages``
when ``MAINTGRAPH_TEAMS_APP_ID`` is set; register an Azure Bot with that Entra app id, set its
messaging endpoint to ``https://HOST/api/messages`` and enable its Microsoft Teams channel.

- ``teams_app_id``: the bot's Entra app (client) id; incoming tokens must name it as audience.
- ``teams_app_password``: the app's client secret; replies get a Bot Connector token with it
  (OAuth 2.0 client credentials, scope ``https://api.botframework.com/.default``).
- ``teams_tenant_id``: the tenant of a single-tenant app (the token comes from that tenant).
- ``teams_openid_metadata_urls``: whose tokens are accepted (default: the Bot Framework's); each
  document names an issuer and its signing keys (``jwks_uri``).
- ``teams_token_url``: the token endpoint, if not Entra's (a proxy, or a test's fake).

Every request needs ``Authorization: Bearer <JWT>`` signed by a key of a configured issuer, for
this app id, unexpired (5 minutes' clock skew, as the Bot Framework allows), whose ``serviceurl``
claim names the activity's ``serviceUrl`` and whose key endorses its channel; anything else gets
401 and nothing runs. The SDK's own validator is not used: its key URLs are fixed (Bot Framework
and login.microsoftonline.com), so neither a sovereign cloud's nor a test's keys could be configured.

A message is acknowledged (202) at once and answered in the background: the channel gives a bot
about 15 s to answer the HTTP request and an agent turn can take longer; replies are posted to the
Bot Connector REST API at the activity's ``serviceUrl``. A conversation's turns run one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from microsoft_agents.activity import Activity, ActivityTypes
from microsoft_agents.hosting.core import (
    AccessTokenProviderBase,
    ActivityHandler,
    AgentAuthConfiguration,
    AuthTypes,
    CardFactory,
    ClaimsIdentity,
    ConnectionManager,
    MessageFactory,
    TurnContext,
)
from microsoft_agents.hosting.fastapi import CloudAdapter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request  # at module level: FastAPI resolves the route's annotations here
from starlette.responses import JSONResponse, Response

from maintgraph.agent.service import AgentService
from maintgraph.agent.session import TurnResult
from maintgraph.agent.work_order import describe_draft, draft_fingerprint
from maintgraph.apps.api.errors import public_error
from maintgraph.config import Settings
from maintgraph.errors import Busy, ConfigError, ServiceUnavailable

log = logging.getLogger(__name__)

CLOCK_SKEW_S = 300  # the Bot Framework's own allowance for clock differences
METADATA_TTL_S = 24 * 3600  # issuers rotate keys rarely; an unknown key id refetches sooner
REFETCH_AFTER_S = 60  # at most one refetch a minute: a stream of made-up key ids is no lever on the issuer
TOKEN_MARGIN_S = 300  # an outbound token is renewed this long before it expires
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
CARD_VERSION = "1.4"  # what Teams renders on desktop, web and mobile
DECISION = "maintgraph.decision"  # the Action.Submit data's marker


# -- inbound: the channel's JWT ---------------------------------------------------------------------


class Unauthorized(Exception):
    """The request's token is missing or not valid here (the reason is logged, not returned)."""


@dataclass
class _Issuer:
    jwks_uri: str
    keys: dict[str, tuple[jwt.PyJWK, list[str]]] = field(default_factory=dict)  # kid -> key, endorsements
    fetched: float = float("-inf")  # monotonic clock: never


class TokenValidator:
    """Validates the channel's bearer tokens against the configured issuers' OpenID metadata.

    Sync (it fetches keys with blocking HTTP): call it off the event loop."""

    def __init__(self, app_id: str, metadata_urls: list[str], timeout: httpx.Timeout) -> None:
        self.app_id = app_id
        self.metadata_urls = metadata_urls
        self.timeout = timeout
        self._issuers: dict[str, _Issuer] = {}
        self._loaded = float("-inf")  # monotonic clock: never
        self._lock = threading.Lock()

    def validate(self, authorization: str | None) -> tuple[dict[str, Any], list[str]]:
        """The token's verified claims and its key's endorsements (channel ids; may be empty)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("no bearer token")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"malformed token ({type(exc).__name__})") from None
        key, endorsements = self._key(issuer, kid)
        try:
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=self.app_id, issuer=issuer,
                                leeway=CLOCK_SKEW_S, options={"require": ["exp", "iss", "aud"]})  # fmt: skip
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"token refused ({type(exc).__name__})") from None
        return claims, endorsements

    def _key(self, issuer: Any, kid: Any) -> tuple[jwt.PyJWK, list[str]]:
        with self._lock:
            if time.monotonic() - self._loaded > METADATA_TTL_S:
                self._load()
            known = self._issuers.get(issuer) if isinstance(issuer, str) else None
            if known is None:
                raise Unauthorized(f"issuer {issuer!r} is not trusted here")
            if kid not in known.keys and time.monotonic() - known.fetched > REFETCH_AFTER_S:
                self._fetch_keys(known)  # the issuer may have rotated its keys
            if kid not in known.keys:
                raise Unauthorized(f"no signing key {kid!r} at {known.jwks_uri}")
            return known.keys[kid]

    def _load(self) -> None:
        try:
            issuers = {}
            for url in self.metadata_urls:
                metadata = self._get(url)
                issuers[metadata["issuer"]] = _Issuer(metadata["jwks_uri"])
            for known in issuers.values():
                self._fetch_keys(known)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if not self._issuers:
                raise ServiceUnavailable(f"the Teams bot cannot read its issuers' signing keys: {exc}") from None
            log.warning("keeping the Teams issuers' signing keys for now; refreshing them failed: %s", exc)
            self._loaded = time.monotonic() - METADATA_TTL_S + REFETCH_AFTER_S
            return
        self._issuers, self._loaded = issuers, time.monotonic()

    def _fetch_keys(self, issuer: _Issuer) -> None:
        keys = {}
        for data in self._get(issuer.jwks_uri).get("keys", []):
            try:
                keys[data["kid"]] = (jwt.PyJWK(data, "RS256"), list(data.get("endorsements") or []))
            except (jwt.PyJWKError, KeyError, TypeError):
                continue  # a key of another kind (encryption, EC) is of no use here
        issuer.keys, issuer.fetched = keys, time.monotonic()

    def _get(self, url: str) -> dict[str, Any]:
        response = httpx.get(url, timeout=self.timeout, follow_redirects=True)
        response.raise_for_status()
        return response.json()


def activity_problem(claims: dict[str, Any], endorsements: list[str], activity: Activity) -> str | None:
    """Why a validly signed token does not cover this activity, or None. The reply carries the bot's
    own access token to the activity's serviceUrl: only the URL the channel signed may get it."""
    signed_url = claims.get("serviceurl")
    if not isinstance(signed_url, str) or not signed_url:
        return "the token names no serviceUrl (a channel's token always does)"
    if signed_url.rstrip("/") != (activity.service_url or "").rstrip("/"):
        return "the activity's serviceUrl is not the token's"
    channel = str(activity.channel_id or "")
    # The Bot Framework's keys list the channels they sign for; Entra's list none and, as in the
    # Bot Framework SDK, are not bound to a channel.
    if endorsements and channel not in endorsements:
        return f"the signing key does not endorse channel {channel!r}"
    return None


# -- outbound: the bot's own token for the Bot Connector ------------------------------------------------


class ClientCredentials(AccessTokenProviderBase):
    """OAuth 2.0 client credentials against Entra's token endpoint, for the SDK's connector client.

    The same request MSAL makes for a client secret; MSAL itself insists on an https authority it can
    discover, so it could not be pointed at a proxy's or a test's token endpoint."""

    def __init__(self, configuration: AgentAuthConfiguration, token_url: str, timeout: httpx.Timeout) -> None:
        self._configuration = configuration
        self.token_url = token_url
        self.timeout = timeout
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> token, expiry (epoch s)

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._configuration

    async def get_access_token(self, resource_url: str, scopes: list[str], force_refresh: bool = False) -> str:
        scope = " ".join(scopes or [f"{resource_url.rstrip('/')}/.default"])
        cached = self._tokens.get(scope)
        if cached and not force_refresh and cached[1] - TOKEN_MARGIN_S > time.time():
            return cached[0]
        form = {"grant_type": "client_credentials", "client_id": self._configuration.CLIENT_ID,
                "client_secret": self._configuration.CLIENT_SECRET, "scope": scope}  # fmt: skip
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.token_url, data=form)
        if response.status_code != 200:
            reason = _json(response).get("error_description") or response.reason_phrase
            raise ServiceUnavailable(f"{self.token_url} gave the Teams bot no token ({response.status_code}: {reason})")
        body = response.json()
        self._tokens[scope] = (body["access_token"], time.time() + int(body.get("expires_in", 3600)))
        return body["access_token"]

    def get_token_credential(self) -> Any:
        raise NotImplementedError("the Teams bot uses tokens for the Bot Connector only")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# -- the bot: activities -> AgentService calls -> cards ---------------------------------------------------


class TeamsBot(ActivityHandler):
    def __init__(self, agent: Callable[[], AgentService], approvers: list[str]) -> None:
        self.agent, self.approvers = agent, approvers

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        thread = f"teams/{activity.conversation.id}"
        try:
            if isinstance(activity.value, dict) and activity.value.get("maintgraph") == DECISION:
                reply = await self.decide(activity, thread)
            else:
                reply = await self.ask(turn_context, thread)
        except Busy as exc:
            reply = MessageFactory.text(f"The assistant is busy, try again in {exc.retry_after_s} s.")
        except Exception as exc:  # noqa: BLE001 - whatever broke, the user hears back; internals go to the log
            message, error_id = public_error(exc, f"the Teams turn in {thread}", log)
            reply = MessageFactory.text(f"Sorry, something went wrong on our side: {message}" if error_id else message)
        await turn_context.send_activity(reply)

    async def ask(self, turn_context: TurnContext, thread: str) -> Activity:
        question = turn_context.activity.remove_recipient_mention().strip()
        if not question:
            return MessageFactory.text('Ask me about an asset, e.g. "P-101 is vibrating, what should I check?"')
        waiting = await run_in_threadpool(self.agent().pending, thread)
        if waiting:  # a new question would be refused: show what waits instead
            note = "A work-order draft in this conversation waits for a decision first:"
            return _card_activity(_card([_text(note, weight="Bolder"), *_draft(waiting)], _decisions(waiting)))
        await turn_context.send_activity(Activity(type=ActivityTypes.typing))
        result = await run_in_threadpool(self.agent().ask, question, thread)
        return _card_activity(answer_card(result))

    async def decide(self, activity: Activity, thread: str) -> Activity:
        waiting = await run_in_threadpool(self.agent().pending, thread)
        if not waiting:
            return MessageFactory.text("Nothing in this conversation is waiting for a decision: "
                                       "the draft was already approved or rejected.")  # fmt: skip
        if activity.value.get("draft") != draft_fingerprint(waiting):  # an older card's button
            note = "That card is out of date. This is the draft that waits for a decision now:"
            return _card_activity(_card([_text(note, weight="Bolder"), *_draft(waiting)], _decisions(waiting)))
        person = activity.from_property
        person_id = (person.aad_object_id or person.id) if person else None
        if person_id not in self.approvers:
            return MessageFactory.text("Only the plant's approvers may approve or reject work orders; "
                                       "the draft still waits for one of them.")  # fmt: skip
        approved = activity.value.get("approved") is True
        by = f"{person.name or 'a Teams user'} (Teams {person_id})" if person_id else "a Teams user"
        result = await run_in_threadpool(self.agent().decide, thread, approved, by)
        return _card_activity(answer_card(result, heading=outcome(result, approved, by)))


def outcome(result: TurnResult, approved: bool, by: str) -> str:
    if result.submitted:
        return f"Approved by {by}: work order {result.submitted.get('number')} submitted."
    if approved:
        return f"Approved by {by}, but no work order was submitted."
    return f"Rejected by {by}: no work order was raised."


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """Replaces the SDK's default, which sends the exception's text (internals) to the user."""
    log.error("the Teams turn failed", exc_info=error)
    await turn_context.send_activity(
        MessageFactory.text("Sorry, something went wrong on our side; it is logged on the server.")
    )


# -- Adaptive Cards -------------------------------------------------------------------------------------


def answer_card(result: TurnResult, heading: str | None = None) -> dict[str, Any]:
    body = [_text(heading, weight="Bolder")] if heading else []
    answer = result.answer or "(no answer)"
    if not (result.awaiting and answer.strip() == describe_draft(result.awaiting).strip()):  # else: shown below
        # A TextBlock per paragraph: card markdown runs paragraphs together but keeps "- " lists.
        body += [_text(paragraph) for paragraph in answer.split("\n\n") if paragraph.strip()]
    if result.cited:
        body.append(_text("Sources", weight="Bolder", spacing="Medium"))
        for number, cited in enumerate(result.cited, 1):
            title = f" — {cited['title']}" if cited.get("title") else ""
            body.append(_text(f"{number}. {cited['id']}{title}", size="Small", spacing="None"))
    actions = []
    if result.awaiting:
        body += _draft(result.awaiting)
        actions = _decisions(result.awaiting)
    if result.trace_id:
        body.append(_text(f"trace {result.trace_id}", size="Small", isSubtle=True, spacing="Medium"))
    return _card(body, actions)


def _draft(order: dict[str, Any]) -> list[dict[str, Any]]:
    # One TextBlock per line: card markdown would run single newlines together.
    lines = [_text(line.strip(), spacing="None") for line in describe_draft(order).splitlines()]
    return [{"type": "Container", "style": "emphasis", "spacing": "Medium", "items": lines}]


def _decisions(order: dict[str, Any]) -> list[dict[str, Any]]:
    # Action.Submit, not Action.Execute: the click comes back as an ordinary message, answered in the
    # background like a question, with no invoke deadline on the agent's resumed turn (it may call the
    # model and the CMMS), and it works in every client, Teams mobile and Web Chat included.
    data = {"maintgraph": DECISION, "draft": draft_fingerprint(order)}
    buttons = (("Approve", "positive", True), ("Reject", "destructive", False))
    return [{"type": "Action.Submit", "title": title, "style": style, "data": {**data, "approved": approved}}
            for title, style, approved in buttons]  # fmt: skip


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body}  # fmt: skip
    return {**card, "actions": actions} if actions else card


def _card_activity(card: dict[str, Any]) -> Activity:
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


# -- the route ------------------------------------------------------------------------------------------


def mount_teams(app: Any, settings: Settings, agent: Callable[[], AgentService]) -> None:
    """Add ``POST /api/messages`` (the Azure Bot's messaging endpoint) to ``app``."""
    if not settings.teams_app_id:
        raise ConfigError("the Teams bot needs its Entra app id", setting="teams_app_id")
    if settings.teams_app_password is None:
        raise ConfigError("the Teams bot needs its app's client secret to reply", setting="teams_app_password")
    if not settings.teams_tenant_id:
        raise ConfigError("the Teams bot needs its Entra tenant id: activities of any other tenant are refused",
                          setting="teams_tenant_id")  # fmt: skip
    if not settings.teams_approvers:
        raise ConfigError("the Teams bot needs a JSON list of the Entra object ids who may approve or reject drafted "
                          "work orders; without it anyone in a team or chat could, guests included",
                          setting="teams_approvers")  # fmt: skip
    token_url = settings.teams_token_url or (
        f"https://login.microsoftonline.com/{settings.teams_tenant_id or 'botframework.com'}/oauth2/v2.0/token"
    )
    for name, url in [("teams_token_url", token_url), *(("teams_openid_metadata_urls", u)
                                                         for u in settings.teams_openid_metadata_urls)]:  # fmt: skip
        _require_https(name, url)
    timeout = httpx.Timeout(30.0, connect=settings.connect_timeout_s)
    validator = TokenValidator(settings.teams_app_id, settings.teams_openid_metadata_urls, timeout)
    connection = AgentAuthConfiguration(auth_type=AuthTypes.client_secret, client_id=settings.teams_app_id,
                                        client_secret=settings.teams_app_password.get_secret_value(),
                                        tenant_id=settings.teams_tenant_id)  # fmt: skip
    connections = ConnectionManager(lambda config: ClientCredentials(config, token_url, timeout),
                                    connections_configurations={"SERVICE_CONNECTION": connection})  # fmt: skip
    adapter = CloudAdapter(connection_manager=connections)
    adapter.on_turn_error = on_turn_error
    bot = TeamsBot(agent, settings.teams_approvers)
    running: set[asyncio.Task[None]] = set()  # referenced until done: the loop keeps only weak ones
    conversations: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def turn(identity: ClaimsIdentity, activity: Activity) -> None:
        lock = conversations.setdefault(activity.conversation.id, asyncio.Lock())
        async with lock:  # one conversation's turns in order: a decision waits for the turn that drafted
            try:
                await adapter.process_activity(identity, activity, bot.on_turn)
            except Exception:  # not even the error reply could be sent (token, connector)
                log.exception("no reply could be sent to Teams conversation %s", activity.conversation.id)

    @app.post("/api/messages", include_in_schema=False)
    async def messages(request: Request) -> Response:
        try:
            claims, endorsements = await run_in_threadpool(validator.validate, request.headers.get("Authorization"))
        except Unauthorized as exc:
            log.warning("a request to /api/messages was refused: %s", exc)
            return _refused(401, "a valid Bot Framework bearer token is required")
        except ServiceUnavailable as exc:
            log.error("%s", exc)
            return _refused(503, "the bot cannot check tokens right now")
        try:
            activity = Activity.model_validate(await request.json())
        except ValueError:
            return _refused(400, "the body is not a Bot Framework activity")
        if not (activity.type and activity.conversation and activity.conversation.id and activity.service_url):
            return _refused(400, "the activity needs a type, conversation.id and serviceUrl")
        problem = activity_problem(claims, endorsements, activity)
        if problem:
            log.warning("a request to /api/messages was refused: %s", problem)
            return _refused(401, "the token does not cover this activity")
        tenants = tenants_of(activity)
        if tenants != {settings.teams_tenant_id}:
            log.warning("a request to /api/messages was refused: tenant(s) %s, not %s",
                        ", ".join(sorted(tenants)) or "none named", settings.teams_tenant_id)  # fmt: skip
            return _refused(403, "this bot serves its own Microsoft Entra tenant only")
        identity = ClaimsIdentity(claims, authentication_type="Bearer")
        if activity.type == ActivityTypes.message:
            task = asyncio.create_task(turn(identity, activity))
            running.add(task)
            task.add_done_callback(running.discard)
            return Response(status_code=202)
        invoke = await adapter.process_activity(identity, activity, bot.on_turn)  # others are quick, or no-ops
        if invoke is not None:
            return JSONResponse(invoke.body, status_code=invoke.status or 200)
        return Response(status_code=202)


def tenants_of(activity: Activity) -> set[str]:
    """The Entra tenants an activity names: its conversation's and its Teams channel data's."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = channel_data.get("tenant")
    found = [activity.conversation.tenant_id if activity.conversation else None,
             tenant.get("id") if isinstance(tenant, dict) else None]  # fmt: skip
    return {t for t in found if isinstance(t, str) and t}


def _require_https(name: str, url: str) -> None:
    """The client secret and the trust in keys travel over these: plain http only to this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    try:
        local = parts.scheme == "http" and (
            parts.hostname == "localhost" or ip_address(parts.hostname or "").is_loopback
        )
    except ValueError:
        local = False
    if not local:
        raise ConfigError(f"{url!r} must be an https URL (plain http only to localhost)", setting=name)


def _refused(status: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"message": message}}, status_code=status, headers=headers)
