"""The service's wire format: requests, results and errors (OpenAI-compatible where the route is)."""

# No `from __future__ import annotations`: FastAPI and pydantic read these annotations at run time.
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, Field

from maintgraph.agent.service import DEFAULT_PROFILE
from maintgraph.agent.session import MAX_QUESTION_CHARS, TurnResult

THREAD_ID = r"^[A-Za-z0-9._:-]{1,100}$"
ThreadId = Annotated[str, Path(pattern=THREAD_ID, description="The conversation's id, as the client named it.")]


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
    id: str | None = Field(None, description="The id the failure's details are logged under on the server.")


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


def run_result(result: TurnResult, thread_id: str) -> RunResult:
    return RunResult(
        thread_id=thread_id, trace_id=result.trace_id, answer=result.answer,
        citations=[Source(**c) for c in result.cited], evidence=[Source(**e) for e in result.evidence],
        route=result.route, awaiting=result.awaiting, submitted=result.submitted, tokens=result.tokens,
        timings=result.timings,
    )  # fmt: skip
