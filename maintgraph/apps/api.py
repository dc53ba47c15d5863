"""The HTTP service (``maintgraph serve``): a thin FastAPI face over :class:`AgentService`.

- ``POST /v1/chat/completions``: OpenAI-compatible (``stream: true`` for SSE). ``model`` picks
  the profile (``GET /v1/models``); ``thread_id`` in the body or an ``X-Thread-Id`` header
  carries the conversation (the agent remembers it; only the last user message is asked). The
  stream sends the *checked* answer: the model's raw draft may still be changed by the guards
  (personal data, unsafe advice, ungrounded sentences), and an OpenAI client keeps every delta.
- ``POST /v1/agent/runs`` and ``/v1/agent/runs/stream``: the agent's own result (answer,
  citations, evidence, route, trace id); the stream adds progress and the unchecked draft.
- ``POST /v1/agent/threads/{id}/resume``: approve or reject a drafted work order.
- ``GET /v1/traces/{id}``, ``GET /healthz``, ``GET /readyz``, ``GET /metrics`` (Prometheus).

Every ``/v1`` route and ``/metrics`` need an API key (``Authorization: Bearer mg_...``) with the
route's scope; each key has a rate limit (429 with Retry-After beyond it), and turns beyond
the agent's capacity get 503 with Retry-After. Conversations are per key: one key cannot read
or resume another's threads. Bodies over ``api_max_body_bytes`` get 413; CORS is off unless
``api_cors_origins`` names origins. Swagger's pages are off (they load scripts from a CDN);
the schema is at ``/openapi.json``.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time,
# and the key dependencies (Asker, Approver, ...) are local to create_app.
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
from fastapi import Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

import maintgraph
from maintgraph.agent.graph import MAX_QUESTION_CHARS, checked_question
from maintgraph.agent.service import DEFAULT_PROFILE, AgentService
from maintgraph.agent.session import Event, TurnResult
from maintgraph.apps.keys import ApiKey, KeyStore
from maintgraph.config import Settings
from maintgraph.errors import (
    Busy,
    ConfigError,
    ConversationBusy,
    GraphQueryError,
    MaintgraphError,
    MigrationError,
    ModelError,
    NotFound,
    ServiceError,
    StructuredOutputError,
    validation_problems,
)

log = logging.getLogger(__name__)

THREAD_ID = r"^[A-Za-z0-9._:-]{1,100}$"
ThreadId = Annotated[str, Path(pattern=THREAD_ID, description="The conversation's id, as the client named it.")]


# -- the wire format ---------------------------------------------------------------------------------


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # OpenAI content parts: the text ones
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model: str = Field(DEFAULT_PROFILE, max_length=200, description="A profile of GET /v1/models.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    thread_id: str | None = Field(None, pattern=THREAD_ID, description="maintgraph: the conversation to continue.")
    user: str | None = Field(None, max_length=200)


class RunRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    thread_id: str | None = Field(None, pattern=THREAD_ID, description="The conversation to continue; new if absent.")
    model: str = Field(DEFAULT_PROFILE, max_length=200)


class Decision(BaseModel):
    approved: bool
    by: str = Field(min_length=1, max_length=100, description="Who decides: recorded with the work order.")
    model: str = Field(DEFAULT_PROFILE, max_length=200)


class Source(BaseModel):
    id: str
    title: str
    text: str


class RunResult(BaseModel):
    thread_id: str
    trace_id: str | None
    answer: str
    citations: list[Source]
    evidence: list[Source]
    route: dict[str, Any]
    awaiting: dict[str, Any] | None = Field(None, description="A drafted work order waiting for approval.")
    submitted: dict[str, Any] | None = None
    tokens: dict[str, int]
    timings: dict[str, float]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ChoiceMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    maintgraph: RunResult


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    owned_by: str = "maintgraph"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorBody(BaseModel):
    message: str
    type: str
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in [(400, "Bad input, named"), (401, "No valid API key"), (403, "The key lacks the scope"),
                       (404, "No such record"),
                       (409, "The conversation waits for a decision, has none to decide, or is still answering"),
                       (413, "Body too large"), (422, "A field is missing or invalid, named"),
                       (429, "The key's rate limit; see Retry-After"),
                       (502, "The model's answer was unusable"),
                       (503, "At capacity or a dependency is down; see Retry-After")]
}  # fmt: skip


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.retry_after_s = status, kind, retry_after_s


# What an agent error means to a client, first match wins; other MaintgraphErrors name bad input (400).
# A bug-like one (a graph query the engine refused, a failed migration) is a 500, logged.
STATUS_OF: list[tuple[type[MaintgraphError], int, str]] = [
    (Busy, 503, "busy"), (ServiceError, 503, "service_unavailable"), (ConversationBusy, 409, "conversation_busy"),
    (NotFound, 404, "not_found"), (ModelError, 502, "model_error"), (StructuredOutputError, 502, "model_error"),
    (ConfigError, 400, "invalid_request"),
]  # fmt: skip
RETRY_AFTER_S = 5  # when a dependency is down: about a restart's first check


def status_of(exc: MaintgraphError) -> tuple[int, str]:
    for kind, status, name in STATUS_OF:
        if isinstance(exc, kind):
            return status, name
    return (500, "internal_error") if isinstance(exc, (GraphQueryError, MigrationError)) else (400, "invalid_request")


def _error(status: int, kind: str, message: str, retry_after_s: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": {"message": message, "type": kind, "code": str(status)}}, status, headers=headers)


def _result(result: TurnResult, thread_id: str) -> RunResult:
    return RunResult(
        thread_id=thread_id, trace_id=result.trace_id, answer=result.answer,
        citations=[Source(**c) for c in result.cited], evidence=[Source(**e) for e in result.evidence],
        route=result.route, awaiting=result.awaiting, submitted=result.submitted, tokens=result.tokens,
        timings=result.timings,
    )  # fmt: skip


# -- metrics -----------------------------------------------------------------------------------------


class Metrics:
    """What Prometheus scrapes: requests, latency, tokens, guard actions, refusals at capacity."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("maintgraph_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)  # fmt: skip
        self.latency = Histogram("maintgraph_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
                                 registry=self.registry)  # fmt: skip
        self.tokens = Counter("maintgraph_model_tokens", "Model tokens of agent turns", ["kind"],
                              registry=self.registry)  # fmt: skip
        self.guards = Counter("maintgraph_guard_actions", "Guard decisions that changed or stopped a text",
                              ["guard", "direction", "action"], registry=self.registry)  # fmt: skip
        self.busy = Counter("maintgraph_agent_busy", "Turns refused at capacity (503)", registry=self.registry)
        self.limited = Counter("maintgraph_rate_limited", "Requests over a key's rate limit (429)", ["key"],
                               registry=self.registry)  # fmt: skip
        self.in_flight = Gauge("maintgraph_agent_turns_in_flight", "Agent turns running", registry=self.registry)

    def turn(self, result: TurnResult) -> None:
        for kind, count in result.tokens.items():
            self.tokens.labels(kind).inc(count)
        for decision in result.guards:
            if decision.get("action") not in (None, "passed"):
                self.guards.labels(decision["guard"], decision["direction"], decision["action"]).inc()


# -- the app -----------------------------------------------------------------------------------------


def create_app(settings: Settings, service: AgentService | None = None, keys: KeyStore | None = None) -> FastAPI:
    """The service's app. ``service`` and ``keys`` are opened here (and closed at shutdown)
    unless given: tests and the bots share theirs."""
    from limits import RateLimitItemPerMinute
    from limits.storage import MemoryStorage
    from limits.strategies import MovingWindowRateLimiter

    from maintgraph.services import Services

    owned = service is None
    metrics = Metrics()
    limiter = MovingWindowRateLimiter(MemoryStorage())
    state: dict[str, Any] = {"service": service, "keys": keys}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state["keys"] is None:
            state["keys"] = KeyStore(Services(settings).pg_conninfo(), settings.connect_timeout_s)
        if state["service"] is None:
            state["service"] = AgentService(settings).open()
        try:
            yield
        finally:
            if owned:
                state["service"].close()
            if keys is None:
                state["keys"].close()

    app = FastAPI(title="maintgraph", version=maintgraph.__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, max_body_size=settings.api_max_body_bytes,
                  description="The maintenance assistant as a service. Keys: `maintgraph keys create`.")  # fmt: skip
    if settings.api_cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.api_cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Thread-Id"])  # fmt: skip

    def agent() -> AgentService:
        return state["service"]

    # -- errors, measured requests ----------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.kind, str(exc), exc.retry_after_s)

    @app.exception_handler(MaintgraphError)
    async def refused(request: Request, exc: MaintgraphError) -> JSONResponse:
        status, kind = status_of(exc)
        if isinstance(exc, Busy):
            metrics.busy.inc()
        if status == 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
            return _error(500, kind, "an unexpected error; it is logged on the server")
        retry = exc.retry_after_s if isinstance(exc, Busy) else RETRY_AFTER_S if status == 503 else None
        return _error(status, kind, str(exc), retry)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's and Starlette's own (404, 405, 413)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(RequestValidationError)  # the same error body as every other refusal
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", validation_problems(exc, "body", limit=10))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", "an unexpected error; it is logged on the server")

    @app.middleware("http")
    async def measured(request: Request, call_next: Callable[[Request], Any]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    # -- authentication --------------------------------------------------------------------------
    bearer = HTTPBearer(auto_error=False, description="An API key from `maintgraph keys create`.")

    def authorised(scope: str) -> Callable[..., ApiKey]:
        def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ApiKey:
            key = state["keys"].verify(credentials.credentials) if credentials else None
            if key is None:
                raise ApiError(401, "invalid_api_key", "a valid API key is required: Authorization: Bearer mg_...")
            if scope not in key.scopes:
                raise ApiError(403, "insufficient_scope", f"this key ({key.name}) lacks the {scope!r} scope")
            limit = RateLimitItemPerMinute(key.rate_per_minute or settings.api_rate_per_minute)
            if not limiter.hit(limit, "key", key.id):
                reset = limiter.get_window_stats(limit, "key", key.id).reset_time
                metrics.limited.labels(key.id).inc()
                raise ApiError(429, "rate_limited", f"key {key.name} is over {limit.amount} requests per minute",
                               max(1, math.ceil(reset - time.time())))  # fmt: skip
            return key

        return check

    Asker = Annotated[ApiKey, Depends(authorised("ask"))]
    Approver = Annotated[ApiKey, Depends(authorised("approve"))]
    Auditor = Annotated[ApiKey, Depends(authorised("traces"))]
    Scraper = Annotated[ApiKey, Depends(authorised("metrics"))]

    def conversation(key: ApiKey, thread_id: str | None) -> tuple[str, str]:
        """(the client's thread id, the agent's): a key's threads are its own."""
        client = thread_id or uuid.uuid4().hex
        return client, f"api/{key.id}/{client}"

    def ready_to_ask(question: str, agent_thread: str, profile: str) -> str:
        service = agent()
        service.adapter_of(profile)  # an unknown model is a 400 before anything runs
        try:
            question = checked_question(question)
        except MaintgraphError as exc:  # as the schema's own limits on /v1/agent/runs: 422
            raise ApiError(422, "invalid_request", f"messages: {exc}") from None
        if service.pending(agent_thread):
            raise ApiError(409, "awaiting_decision", "this conversation waits for a decision on a work-order "
                           "draft: POST /v1/agent/threads/{id}/resume first")  # fmt: skip
        return question

    def answered(result: TurnResult) -> TurnResult:
        metrics.turn(result)
        return result

    # -- OpenAI-compatible ---------------------------------------------------------------------------
    @app.get("/v1/models", response_model=ModelList, responses=ERRORS, tags=["openai"])
    def models(key: Asker) -> ModelList:
        return ModelList(data=[ModelCard(id=p) for p in agent().profiles()])

    @app.post("/v1/chat/completions", response_model=ChatCompletion, responses={
        **ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "The completion, or its SSE stream"}},
        tags=["openai"])  # fmt: skip
    def chat_completions(request: ChatRequest, key: Asker,
                         x_thread_id: Annotated[str | None, Header(pattern=THREAD_ID)] = None) -> Any:  # fmt: skip
        if request.messages[-1].role != "user":
            raise ApiError(400, "invalid_request", "the last message must be the user's question")
        client, thread = conversation(key, request.thread_id or x_thread_id)
        question = ready_to_ask(request.messages[-1].text(), thread, request.model)
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        headers = {"X-Thread-Id": client}
        if not request.stream:
            with metrics.in_flight.track_inprogress():
                result = answered(agent().ask(question, thread, request.model))
            return JSONResponse(_completion(completion_id, created, request.model, result, client), headers=headers)
        events = agent().stream(question, thread, request.model)
        chunks = _completion_chunks(events, completion_id, created, request.model, client, answered)
        return TurnStream(chunks, events, metrics, headers)

    # -- the agent's own API -----------------------------------------------------------------------------
    @app.post("/v1/agent/runs", response_model=RunResult, responses=ERRORS, tags=["agent"])
    def run(request: RunRequest, key: Asker) -> RunResult:
        client, thread = conversation(key, request.thread_id)
        question = ready_to_ask(request.question, thread, request.model)
        with metrics.in_flight.track_inprogress():
            return _result(answered(agent().ask(question, thread, request.model)), client)

    @app.post("/v1/agent/runs/stream", responses={
        **ERRORS, 200: {"content": {"text/event-stream": {}},
                        "description": "SSE: `node` (a step finished), `draft` (the model's unchecked text), "
                                       "`result` (the checked RunResult), or `error`"}}, tags=["agent"])  # fmt: skip
    def run_stream(request: RunRequest, key: Asker) -> StreamingResponse:
        client, thread = conversation(key, request.thread_id)
        question = ready_to_ask(request.question, thread, request.model)
        events = agent().stream(question, thread, request.model)
        return TurnStream(_run_events(events, client, answered), events, metrics, {"X-Thread-Id": client})

    @app.post("/v1/agent/threads/{thread_id}/resume", response_model=RunResult, responses=ERRORS, tags=["agent"])
    def resume(thread_id: ThreadId, decision: Decision, key: Approver) -> RunResult:
        client, thread = conversation(key, thread_id)
        agent().adapter_of(decision.model)
        if not agent().pending(thread):
            raise ApiError(409, "nothing_to_decide", f"conversation {client} has no work-order draft waiting")
        by = f"{decision.by.strip()} (API key {key.name})"
        with metrics.in_flight.track_inprogress():
            return _result(answered(agent().decide(thread, decision.approved, by, decision.model)), client)

    @app.get("/v1/traces/{trace_id}", responses={**ERRORS, 404: {"model": ErrorResponse}}, tags=["agent"])
    def trace(trace_id: Annotated[str, Path(max_length=64)], key: Auditor) -> dict[str, Any]:
        try:
            return agent().trace(trace_id).model_dump(mode="json")
        except ServiceError:
            raise
        except MaintgraphError as exc:
            raise ApiError(404, "not_found", str(exc)) from None

    # -- operations --------------------------------------------------------------------------------
    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process answers (liveness)."""
        return {"status": "ok", "version": maintgraph.__version__}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "A dependency is not running"}})
    def readyz() -> JSONResponse:
        """Each dependency's state (readiness): 503 while one the answers need is not running."""
        rows = agent().readiness()
        body = {"ready": all(r.ok for r in rows), "services": {r.name: r.state for r in rows}}
        return JSONResponse(body, 200 if body["ready"] else 503)

    # -- the chat bots, when configured: same agent, their own authentication ------------------------
    if settings.slack_signing_secret and settings.slack_bot_token:
        from maintgraph.apps.slack import mount_slack

        mount_slack(app, settings, agent)
    if settings.teams_app_id:
        from maintgraph.apps.teams import mount_teams

        mount_teams(app, settings, agent)

    @app.get("/metrics", tags=["operations"], responses=ERRORS,
             response_class=Response)  # fmt: skip
    def prometheus(key: Scraper) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


# -- streams -------------------------------------------------------------------------------------------


def _sse(data: Any, event: str | None = None) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _error_event(exc: Exception) -> dict[str, Any]:
    status, kind = status_of(exc) if isinstance(exc, MaintgraphError) else (500, "internal_error")
    if status == 500:
        log.error("a streamed turn failed", exc_info=exc)
        return {"error": {"message": "an unexpected error; it is logged on the server", "type": kind,
                          "code": "500"}}  # fmt: skip
    return {"error": {"message": str(exc), "type": kind, "code": str(status)}}


class TurnStream(StreamingResponse):
    """An SSE response over a turn's events that ends the turn, and frees its slot, when the
    response ends for any reason: sent, failed, or its client gone. (Starlette then cancels the
    sending task; a dropped generator would be closed only by the garbage collector, and the
    cycles in a cancelled task's frames can keep it alive, with its slot, for minutes.)"""

    def __init__(self, content: Iterator[str], events: Iterator[Event], metrics: Metrics,
                 headers: dict[str, str]) -> None:  # fmt: skip
        super().__init__(content, media_type="text/event-stream", headers={**headers, "Cache-Control": "no-cache"})
        self.events, self.metrics = events, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.metrics.in_flight.inc()
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.metrics.in_flight.dec()
            with anyio.CancelScope(shield=True):  # runs even as the task is cancelled
                await anyio.to_thread.run_sync(getattr(self.events, "close", lambda: None))


def _run_events(events: Iterator[Event], thread_id: str,
                answered: Callable[[TurnResult], TurnResult]) -> Iterator[str]:  # fmt: skip
    try:
        for event in events:
            if event.kind == "node":
                yield _sse({"node": event.name}, "node")
            elif event.kind == "token":
                yield _sse({"text": event.text}, "draft")
            elif event.result is not None:
                yield _sse(_result(answered(event.result), thread_id).model_dump(mode="json"), "result")
    except Exception as exc:  # noqa: BLE001 - the status line is sent: the error travels as an event
        yield _sse(_error_event(exc), "error")


def _completion(completion_id: str, created: int, model: str, result: TurnResult, thread_id: str) -> dict[str, Any]:
    prompt, completion = result.tokens.get("prompt", 0), result.tokens.get("completion", 0)
    return ChatCompletion(
        id=completion_id, created=created, model=model, choices=[Choice(message=ChoiceMessage(content=result.answer))],
        usage=Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion),
        maintgraph=_result(result, thread_id),
    ).model_dump(mode="json")  # fmt: skip


def _completion_chunks(events: Iterator[Event], completion_id: str, created: int, model: str, thread_id: str,
                       answered: Callable[[TurnResult], TurnResult]) -> Iterator[str]:  # fmt: skip
    """chat.completion.chunk events: the role, then the checked answer a few words at a time, then
    the finish with usage and maintgraph's result; progress travels as SSE comments (keep-alive)."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return _sse({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})  # fmt: skip

    yield chunk({"role": "assistant", "content": ""})
    try:
        for event in events:
            if event.kind == "node":
                yield f": {event.name}\n\n"
            elif event.kind == "result" and event.result is not None:
                full = _completion(completion_id, created, model, answered(event.result), thread_id)
                words = event.result.answer.split(" ")
                for start in range(0, len(words), 8):
                    piece = " ".join(words[start : start + 8])
                    yield chunk({"content": piece if start == 0 else " " + piece})
                yield chunk({}, "stop", usage=full["usage"], maintgraph=full["maintgraph"])
    except Exception as exc:  # noqa: BLE001 - the status line is sent: the error travels in the stream
        yield _sse(_error_event(exc))
    yield "data: [DONE]\n\n"
