"""Server-sent events: a turn's progress and result (``/v1/agent/runs/stream``) and OpenAI's
``chat.completion.chunk`` stream (``/v1/chat/completions`` with ``stream: true``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from maintgraph.agent.session import Event, TurnResult
from maintgraph.apps.api.errors import error_event
from maintgraph.apps.api.metrics import Metrics
from maintgraph.apps.api.schemas import ChatCompletion, Choice, ChoiceMessage, Usage, run_result


def _sse(data: Any, event: str | None = None) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


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


def run_events(events: Iterator[Event], thread_id: str,
               answered: Callable[[TurnResult], TurnResult]) -> Iterator[str]:  # fmt: skip
    try:
        for event in events:
            if event.kind == "node":
                yield _sse({"node": event.name}, "node")
            elif event.kind == "token":
                yield _sse({"text": event.text}, "draft")
            elif event.result is not None:
                yield _sse(run_result(answered(event.result), thread_id).model_dump(mode="json"), "result")
    except Exception as exc:  # noqa: BLE001 - the status line is sent: the error travels as an event
        yield _sse(error_event(exc), "error")


def chat_completion(completion_id: str, created: int, model: str, result: TurnResult, thread_id: str) -> dict[str, Any]:
    prompt, completion = result.tokens.get("prompt", 0), result.tokens.get("completion", 0)
    return ChatCompletion(
        id=completion_id, created=created, model=model, choices=[Choice(message=ChoiceMessage(content=result.answer))],
        usage=Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion),
        maintgraph=run_result(result, thread_id),
    ).model_dump(mode="json")  # fmt: skip


def completion_chunks(events: Iterator[Event], completion_id: str, created: int, model: str, thread_id: str,
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
                full = chat_completion(completion_id, created, model, answered(event.result), thread_id)
                words = event.result.answer.split(" ")
                for start in range(0, len(words), 8):
                    piece = " ".join(words[start : start + 8])
                    yield chunk({"content": piece if start == 0 else " " + piece})
                yield chunk({}, "stop", usage=full["usage"], maintgraph=full["maintgraph"])
    except Exception as exc:  # noqa: BLE001 - the status line is sent: the error travels in the stream
        yield _sse(error_event(exc))
    yield "data: [DONE]\n\n"
