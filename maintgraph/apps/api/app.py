"""The app: its lifespan (the agent service and the key store), its routes, and the chat bots'
routes when they are configured."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time,
# and the key dependencies (Asker, Approver, ...) are local to create_app.
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path
from fastapi.responses import JSONResponse, Response, StreamingResponse

import maintgraph
from maintgraph.agent.service import AgentService
from maintgraph.agent.session import TurnResult, checked_question
from maintgraph.apps.api.auth import KeyCheck
from maintgraph.apps.api.errors import ApiError, add_error_handlers
from maintgraph.apps.api.metrics import Metrics
from maintgraph.apps.api.schemas import (
    ERRORS,
    THREAD_ID,
    ChatCompletion,
    ChatRequest,
    Decision,
    ErrorResponse,
    ModelCard,
    ModelList,
    RunRequest,
    RunResult,
    ThreadId,
    run_result,
)
from maintgraph.apps.api.streams import TurnStream, chat_completion, completion_chunks, run_events
from maintgraph.apps.keys import ApiKey, KeyStore
from maintgraph.config import Settings
from maintgraph.errors import MaintgraphError, ServiceError


def create_app(settings: Settings, service: AgentService | None = None, keys: KeyStore | None = None) -> FastAPI:
    """The service's app. ``service`` and ``keys`` are opened here (and closed at shutdown)
    unless given: tests and the bots share theirs."""
    from maintgraph.services import Services

    owned = service is None
    metrics = Metrics()
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

    add_error_handlers(app, metrics)
    metrics.measure(app)

    # -- authentication --------------------------------------------------------------------------
    authorised = KeyCheck(settings, lambda: state["keys"], metrics).scope
    Asker = Annotated[ApiKey, Depends(authorised("ask"))]
    Approver = Annotated[ApiKey, Depends(authorised("approve"))]
    Reader = Annotated[ApiKey, Depends(authorised("traces", "auditor"))]
    Scraper = Annotated[ApiKey, Depends(authorised("metrics"))]

    def threads_of(key: ApiKey) -> str:
        """The prefix of the agent's thread ids of ``key``'s conversations (its namespace: a
        client's thread id cannot hold a "/", so no other key's or face's thread starts with it)."""
        return f"api/{key.id}/"

    def conversation(key: ApiKey, thread_id: str | None) -> tuple[str, str]:
        """(the client's thread id, the agent's): a key's threads are its own."""
        client = thread_id or uuid.uuid4().hex
        return client, threads_of(key) + client

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
            return JSONResponse(chat_completion(completion_id, created, request.model, result, client), headers=headers)
        events = agent().stream(question, thread, request.model)
        chunks = completion_chunks(events, completion_id, created, request.model, client, answered)
        return TurnStream(chunks, events, metrics, headers)

    # -- the agent's own API -----------------------------------------------------------------------------
    @app.post("/v1/agent/runs", response_model=RunResult, responses=ERRORS, tags=["agent"])
    def run(request: RunRequest, key: Asker) -> RunResult:
        client, thread = conversation(key, request.thread_id)
        question = ready_to_ask(request.question, thread, request.model)
        with metrics.in_flight.track_inprogress():
            return run_result(answered(agent().ask(question, thread, request.model)), client)

    @app.post("/v1/agent/runs/stream", responses={
        **ERRORS, 200: {"content": {"text/event-stream": {}},
                        "description": "SSE: `node` (a step finished), `draft` (the model's unchecked text), "
                                       "`result` (the checked RunResult), or `error`"}}, tags=["agent"])  # fmt: skip
    def run_stream(request: RunRequest, key: Asker) -> StreamingResponse:
        client, thread = conversation(key, request.thread_id)
        question = ready_to_ask(request.question, thread, request.model)
        events = agent().stream(question, thread, request.model)
        return TurnStream(run_events(events, client, answered), events, metrics, {"X-Thread-Id": client})

    @app.post("/v1/agent/threads/{thread_id}/resume", response_model=RunResult, responses=ERRORS, tags=["agent"])
    def resume(thread_id: ThreadId, decision: Decision, key: Approver) -> RunResult:
        client, thread = conversation(key, thread_id)
        agent().adapter_of(decision.model)
        if not agent().pending(thread):
            raise ApiError(409, "nothing_to_decide", f"conversation {client} has no work-order draft waiting")
        by = f"{decision.by.strip()} (API key {key.name})"
        with metrics.in_flight.track_inprogress():
            return run_result(answered(agent().decide(thread, decision.approved, by, decision.model)), client)

    @app.get("/v1/traces/{trace_id}", responses={**ERRORS, 404: {"model": ErrorResponse}}, tags=["agent"])
    def trace(trace_id: Annotated[str, Path(max_length=64)], key: Reader) -> dict[str, Any]:
        """A recorded turn of one of the key's own conversations (``traces``), or of any
        conversation, other keys', Slack's and Teams' included (``auditor``)."""
        try:
            return agent().trace(trace_id, None if "auditor" in key.scopes else threads_of(key)).model_dump(mode="json")
        except ServiceError:
            raise
        except MaintgraphError as exc:
            raise ApiError(404, "not_found", str(exc)) from None

    # -- operations --------------------------------------------------------------------------------
    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process answers (liveness)."""
        return {"status": "ok", "version": maintgraph.__version__}

    readiness: dict[str, Any] = {"at": float("-inf"), "body": None}
    checking = threading.Lock()  # one check at a time; whoever waited reads its result

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "A dependency is not running"}})
    def readyz() -> JSONResponse:
        """Each dependency's state (readiness): 503 while one the answers need is not running.
        Checked at most once per ``api_ready_cache_s``: a probe opens connections, and this route
        needs no key."""
        with checking:
            if time.monotonic() - readiness["at"] >= settings.api_ready_cache_s or readiness["body"] is None:
                service = agent()  # each dependency the answers need; the model server only when they use it
                rows = Services(service.settings).status(llm=service.use_model)
                readiness["body"] = {"ready": all(r.ok for r in rows), "services": {r.name: r.state for r in rows}}
                readiness["at"] = time.monotonic()
            body = readiness["body"]
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
