"""One client for chat against any OpenAI-compatible server (the embedded vLLM, or another).

- Models are chosen by name: a base model or a LoRA adapter the server lists; an unknown name
  is an error naming what is served, never a silent fallback.
- Calls time out, retry with exponential backoff and jitter on 429, 5xx and connection errors,
  and go through a circuit breaker, so a dead server fails fast instead of once per retry.
- Structured output uses a strict ``json_schema`` response format and is validated with
  pydantic; an answer that does not validate is sent back with the error, a bounded number
  of times.
- Tool calls are always forced (a named tool, or ``required``): small models do not handle
  ``tool_choice="auto"``. What the served model supports is probed once and remembered.
- Every call's token usage and latency is recorded in ``calls`` and logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx
import openai
import pybreaker
from pydantic import BaseModel, ValidationError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from maintgraph.config import Settings
from maintgraph.connections import llm_api_key
from maintgraph.errors import CircuitOpen, ModelError, ServiceUnavailable, StructuredOutputError, validation_problems
from maintgraph.llm.prompts import PROBE_QUESTION, PROBE_TOOL, REPAIR
from maintgraph.llm.registry import ActiveAdapter

log = logging.getLogger(__name__)

Schema = TypeVar("Schema", bound=BaseModel)
Message = dict[str, Any]


@dataclass
class CallRecord:
    model: str
    kind: Literal["chat", "stream", "structured", "tool", "probe"]
    latency_s: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_s: float | None = None
    error: str | None = None


@dataclass
class ChatResult:
    text: str
    model: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass
class Tool:
    """A function the model may call; ``parameters`` is a pydantic model of its arguments."""

    name: str
    description: str
    parameters: type[BaseModel]

    def spec(self) -> dict[str, Any]:
        function = {"name": self.name, "description": self.description,
                    "parameters": strict_schema(self.parameters), "strict": True}  # fmt: skip
        return {"type": "function", "function": function}


@dataclass
class Capabilities:
    json_schema: bool
    named_tool: bool
    required_tool: bool


@dataclass
class _Cache:
    served: dict[str, str | None] | None = None  # model id -> parent base model (adapters)
    capabilities: dict[str, Capabilities] = field(default_factory=dict)


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema OpenAI's strict mode accepts (no extra keys, every property required)."""
    return openai.pydantic_function_tool(model)["function"]["parameters"]


def _transient(error: BaseException) -> bool:
    if isinstance(error, openai.APIConnectionError | openai.APITimeoutError | openai.RateLimitError):
        return True
    return isinstance(error, openai.APIStatusError) and error.status_code >= 500


class LLMClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_url = settings.llm_base_url or f"http://127.0.0.1:{settings.llm_port}/v1"
        # The embedded vLLM's own key (from the data dir), or MAINTGRAPH_LLM_API_KEY for another server.
        key = llm_api_key(settings) or "not-needed"
        self.openai = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=settings.llm_timeout_s, max_retries=0)
        self.active = ActiveAdapter(settings)
        self.phrasing = ActiveAdapter(settings, "phrasing")
        self.calls: deque[CallRecord] = deque(maxlen=10_000)
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=settings.llm_breaker_failures,
            reset_timeout=settings.llm_breaker_reset_s,
            exclude=[lambda error: not _transient(error)],  # a bad request says nothing about the server
            name=self.base_url,
            throw_new_error_on_trip=False,  # the call that trips it reports its own failure
        )
        self._cache = _Cache()
        self._send = retry(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(settings.llm_max_retries + 1),
            wait=wait_exponential_jitter(multiplier=0.5, max=8),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "model server call failed (%s); retry %d", state.outcome.exception(), state.attempt_number
            ),
        )(self._send_once)

    # -- transport ----------------------------------------------------------------------------------
    def _send_once(self, **request: Any) -> Any:
        return self.openai.chat.completions.create(**request)

    def _call(self, **request: Any) -> Any:
        try:
            return self.breaker.call(self._send, **request)
        except pybreaker.CircuitBreakerError:
            raise CircuitOpen(
                f"model server {self.base_url} failed {self.breaker.fail_max} times in a row; not calling it for "
                f"{self.settings.llm_breaker_reset_s:g} s"
            ) from None
        except openai.NotFoundError as exc:
            self._cache.served = None  # an adapter may have been unloaded: list the models again next time
            raise ModelError(f"{self.base_url} does not serve {request.get('model')!r}: {_message(exc)}") from None
        except openai.BadRequestError as exc:
            raise ModelError(
                f"{self.base_url} refused the request for {request.get('model')!r}: {_message(exc)}"
            ) from None
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise ServiceUnavailable(f"model server {self.base_url} unreachable ({exc})") from None
        except openai.APIStatusError as exc:
            raise ServiceUnavailable(
                f"model server {self.base_url} answered {exc.status_code}: {_message(exc)}"
            ) from None

    def _record(self, record: CallRecord) -> None:
        self.calls.append(record)
        log.info("llm %s %s: %.2f s, %s prompt + %s completion tokens%s", record.kind, record.model,
                 record.latency_s, record.prompt_tokens, record.completion_tokens,
                 f", error: {record.error}" if record.error else "")  # fmt: skip

    @property
    def default_model(self) -> str:
        """The promoted adapter (read on each call: a promotion or rollback applies at once), the
        configured adapter, or the base model."""
        return self.active.name() or self.settings.llm_model

    @property
    def phrasing_model(self) -> str:
        """The adapter promoted for rephrasing composed answers (read on each call), else the
        default model."""
        return self.phrasing.name() or self.default_model

    # -- models -------------------------------------------------------------------------------------
    def served_models(self, refresh: bool = False) -> dict[str, str | None]:
        """Model ids the server lists, each with its base model when it is an adapter."""
        if self._cache.served is None or refresh:
            try:
                listed = self.breaker.call(self.openai.models.list)
            except pybreaker.CircuitBreakerError:
                raise CircuitOpen(f"model server {self.base_url} is failing; not calling it for now") from None
            except openai.APIError as exc:
                raise ServiceUnavailable(f"model server {self.base_url} unreachable ({exc})") from None
            self._cache.served = {m.id: getattr(m, "parent", None) for m in listed.data}
        return self._cache.served

    def resolve(self, model: str | None) -> str:
        name = model or self.default_model
        served = self.served_models()
        if name not in served:
            served = self.served_models(refresh=True)  # an adapter may have been loaded since
        if name not in served:
            raise ModelError(f"model or adapter {name!r} is not served by {self.base_url} "
                             f"(served: {', '.join(sorted(served))})")  # fmt: skip
        return name

    def capabilities(self, model: str | None = None) -> Capabilities:
        """Probe once per model what it accepts: strict json_schema output, named and required tool choice."""
        name = self.resolve(model)
        if name not in self._cache.capabilities:
            probe = [{"role": "user", "content": PROBE_QUESTION}]
            tool = Tool("ping", PROBE_TOOL, _Ping).spec()
            self._cache.capabilities[name] = Capabilities(
                json_schema=self._accepts(name, probe, response_format=_response_format(_Ping)),
                named_tool=self._accepts(name, probe, tools=[tool],
                                         tool_choice={"type": "function", "function": {"name": "ping"}}),
                required_tool=self._accepts(name, probe, tools=[tool], tool_choice="required"),
            )  # fmt: skip
        return self._cache.capabilities[name]

    def _accepts(self, model: str, messages: list[Message], **options: Any) -> bool:
        started = time.perf_counter()
        try:
            self._call(model=model, messages=messages, max_tokens=1, **options)
            return True
        except ModelError:
            return False
        finally:
            self._record(CallRecord(model, "probe", time.perf_counter() - started))

    # -- calls ----------------------------------------------------------------------------------------
    def chat(self, messages: list[Message], model: str | None = None, max_tokens: int = 256,
             temperature: float = 0.0, **options: Any) -> ChatResult:  # fmt: skip
        return self._complete(messages, self.resolve(model), "chat", max_tokens, temperature, **options)[0]

    def _complete(self, messages: list[Message], name: str, kind: Literal["chat", "structured", "tool"],
                  max_tokens: int, temperature: float = 0.0, **options: Any) -> tuple[ChatResult, Any]:  # fmt: skip
        """One recorded completion: the result and the raw message (which carries tool calls)."""
        started = time.perf_counter()
        record = CallRecord(name, kind, 0.0)
        try:
            response = self._call(model=name, messages=messages, max_tokens=max_tokens, temperature=temperature,
                                  **options)  # fmt: skip
        except Exception as exc:
            record.latency_s, record.error = time.perf_counter() - started, str(exc)
            self._record(record)
            raise
        record.latency_s = time.perf_counter() - started
        usage = response.usage
        record.prompt_tokens = usage.prompt_tokens if usage else None
        record.completion_tokens = usage.completion_tokens if usage else None
        self._record(record)
        choice = response.choices[0]
        result = ChatResult(choice.message.content or "", name, choice.finish_reason, record.prompt_tokens,
                            record.completion_tokens, record.latency_s)  # fmt: skip
        return result, choice.message

    def stream(self, messages: list[Message], model: str | None = None, max_tokens: int = 256,
               temperature: float = 0.0, usage: list[CallRecord] | None = None,
               **options: Any) -> Iterator[str]:  # fmt: skip
        """Yield the answer's text as it is generated; its call record (tokens, time to first
        token) is also appended to ``usage`` when given, for the caller's own accounting."""
        name = self.resolve(model)
        started = time.perf_counter()
        record = CallRecord(name, "stream", 0.0)
        chunks = self._call(model=name, messages=messages, max_tokens=max_tokens, temperature=temperature,
                            stream=True, stream_options={"include_usage": True}, **options)  # fmt: skip
        try:
            for chunk in chunks:
                if chunk.usage is not None:
                    record.prompt_tokens = chunk.usage.prompt_tokens
                    record.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    if choice.delta.content:
                        if record.first_token_s is None:
                            record.first_token_s = time.perf_counter() - started
                        yield choice.delta.content
        except (openai.APIError, httpx.HTTPError) as exc:  # mid-stream failures come from httpx itself
            record.error = str(exc)
            raise ServiceUnavailable(f"model server {self.base_url} broke off the stream ({exc})") from None
        finally:
            record.latency_s = time.perf_counter() - started
            self._record(record)
            if usage is not None:
                usage.append(record)

    def structured(self, messages: list[Message], schema: type[Schema], model: str | None = None,
                   max_tokens: int = 256, repairs: int = 2) -> Schema:  # fmt: skip
        """An answer that validates against ``schema``; invalid answers are sent back for repair."""
        name = self.resolve(model)
        if not self.capabilities(name).json_schema:
            raise ModelError(f"{name!r} at {self.base_url} does not accept json_schema response formats")
        conversation = list(messages)
        problem = ""
        for _ in range(repairs + 1):
            result, _ = self._complete(conversation, name, "structured", max_tokens,
                                       response_format=_response_format(schema))  # fmt: skip
            try:
                return schema.model_validate_json(result.text)
            except ValidationError as exc:
                problem = _first_errors(exc)
                if result.finish_reason == "length":
                    problem = f"cut off at max_tokens={max_tokens} ({problem})"
                log.warning("%s answer does not validate against %s: %s", name, schema.__name__, problem)
            conversation = [*messages, {"role": "assistant", "content": result.text},
                            {"role": "user", "content": REPAIR.format(problem=problem)}]  # fmt: skip
        raise StructuredOutputError(
            f"{name!r} gave no answer valid against {schema.__name__} in {repairs + 1} attempts; "
            f"last problem: {problem}"
        )

    def call_tool(self, messages: list[Message], tools: list[Tool], tool: str | None = None,
                  model: str | None = None, max_tokens: int = 256) -> ToolCall:  # fmt: skip
        """Force one tool call: the named ``tool``, or any of ``tools`` (``required``).

        Arguments are validated against the tool's parameter model before they are returned.
        """
        name = self.resolve(model)
        by_name = {t.name: t for t in tools}
        if tool is not None and tool not in by_name:
            raise ModelError(f"tool {tool!r} is not among the offered tools ({', '.join(by_name)})")
        can = self.capabilities(name)
        if tool is not None and can.named_tool:
            choice: Any = {"type": "function", "function": {"name": tool}}
        elif can.required_tool:
            choice, tools = "required", [by_name[tool]] if tool else tools
        else:
            raise ModelError(f"{name!r} at {self.base_url} supports neither named nor required tool choice")
        result, message = self._complete(messages, name, "tool", max_tokens, tools=[t.spec() for t in tools],
                                         tool_choice=choice)  # fmt: skip
        calls = message.tool_calls or []
        if not calls:
            cut = f": cut off at max_tokens={max_tokens}" if result.finish_reason == "length" else ""
            raise StructuredOutputError(f"{name!r} returned no complete tool call although one was required{cut}")
        call = calls[0].function
        if call.name not in by_name:
            raise StructuredOutputError(f"{name!r} called {call.name!r}, which was not offered")
        try:
            arguments = by_name[call.name].parameters.model_validate_json(call.arguments)
        except ValidationError as exc:
            raise StructuredOutputError(
                f"{name!r} called {call.name!r} with arguments that do not validate: {_first_errors(exc)}"
            ) from None
        return ToolCall(call.name, arguments.model_dump())


class _Ping(BaseModel):
    ok: bool


def _response_format(schema: type[BaseModel]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": strict_schema(schema),
                                                   "strict": True}}  # fmt: skip


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    return validation_problems(exc, "answer", limit)


def _message(exc: openai.APIStatusError) -> str:
    try:
        body = exc.response.json()
        return str(body.get("error", {}).get("message") or body.get("message") or body)[:300]
    except (ValueError, AttributeError):
        return json.dumps(exc.message)[:300]
