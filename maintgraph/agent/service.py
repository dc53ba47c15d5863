"""The agent as the service faces use it (HTTP, Slack, Teams): one API, no agent logic in them.

:class:`AgentService` holds one :class:`~maintgraph.agent.session.Assistant` per model profile
(opened on first use), bounds how many turns run at once (``api_max_concurrent``), how many
may queue (``api_max_waiting``) and for how long (``api_queue_wait_s``); a turn beyond that is
refused at once with :class:`~maintgraph.errors.Busy` and a retry hint, never left hanging.

Profiles, as the OpenAI-compatible ``model`` field names them: ``maintgraph`` answers through
the default adapter (the promoted one, looked up each turn), ``maintgraph/base`` through the
base model, ``maintgraph/<adapter>`` through that registered adapter.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from maintgraph.agent.session import Assistant, Event, TurnResult, open_assistant
from maintgraph.agent.traces import Trace
from maintgraph.config import Settings
from maintgraph.errors import Busy, ConfigError
from maintgraph.processes import ServiceStatus

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "maintgraph"
BASE_PROFILE = "maintgraph/base"


class AgentService:
    def __init__(self, settings: Settings, use_model: bool = True) -> None:
        self.settings = settings
        self.use_model = use_model
        self._assistants: dict[str, Assistant] = {}
        self._opening = threading.Lock()
        self._slots = threading.BoundedSemaphore(settings.api_max_concurrent)
        self._waiting = 0
        self._count = threading.Lock()

    def open(self) -> AgentService:
        """Open the default profile now: the first question should not pay for the warm-up."""
        self.assistant(DEFAULT_PROFILE)
        return self

    def close(self) -> None:
        with self._opening:
            for assistant in self._assistants.values():
                assistant.close()
            self._assistants.clear()

    # -- profiles -----------------------------------------------------------------------------------
    def profiles(self) -> list[str]:
        from maintgraph.llm.registry import ModelRegistry

        adapters = ModelRegistry(self.settings).adapters_for(self.settings.llm_model)
        return [DEFAULT_PROFILE, BASE_PROFILE, *(f"{DEFAULT_PROFILE}/{a.name}" for a in adapters)]

    def adapter_of(self, profile: str) -> str | None:
        """The ``adapter`` argument of open_assistant for ``profile``; ConfigError if unknown."""
        if profile not in self.profiles():
            raise ConfigError(f"model {profile!r} is not served here; choose one of {', '.join(self.profiles())}")
        if profile == DEFAULT_PROFILE:
            return None
        return "" if profile == BASE_PROFILE else profile.removeprefix(f"{DEFAULT_PROFILE}/")

    def assistant(self, profile: str) -> Assistant:
        adapter = self.adapter_of(profile)
        with self._opening:
            if profile not in self._assistants:
                log.info("opening the assistant for model profile %s", profile)
                self._assistants[profile] = open_assistant(self.settings, use_model=self.use_model, adapter=adapter)
            return self._assistants[profile]

    # -- capacity -----------------------------------------------------------------------------------
    @property
    def retry_after_s(self) -> int:
        """A fair guess at when a slot frees: the queue wait, at least a second."""
        return max(1, math.ceil(self.settings.api_queue_wait_s))

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the agent's slots for a turn, or raise Busy."""
        if not self._slots.acquire(blocking=False):
            with self._count:
                if self._waiting >= self.settings.api_max_waiting:
                    raise Busy(f"the assistant is busy ({self.settings.api_max_concurrent} turns running, "
                               f"{self._waiting} waiting); try again shortly", self.retry_after_s)  # fmt: skip
                self._waiting += 1
            try:
                acquired = self._slots.acquire(timeout=self.settings.api_queue_wait_s)
            finally:
                with self._count:
                    self._waiting -= 1
            if not acquired:
                raise Busy(f"no agent slot freed within {self.settings.api_queue_wait_s:g} s; try again shortly",
                           self.retry_after_s)  # fmt: skip
        try:
            yield
        finally:
            self._slots.release()

    # -- turns --------------------------------------------------------------------------------------
    def ask(self, question: str, thread_id: str, profile: str = DEFAULT_PROFILE) -> TurnResult:
        assistant = self.assistant(profile)
        with self.slot():
            return assistant.ask(question, thread_id)

    def stream(self, question: str, thread_id: str, profile: str = DEFAULT_PROFILE) -> Iterator[Event]:
        """The turn's events. The slot is taken before the first event (a Busy is raised by the
        call, before anything is sent) and released when the events end or are dropped."""
        assistant = self.assistant(profile)
        holding = self.slot()
        holding.__enter__()
        return _Holding(assistant.turn(question, thread_id), lambda: holding.__exit__(None, None, None))

    def decide(self, thread_id: str, approved: bool, by: str, profile: str = DEFAULT_PROFILE) -> TurnResult:
        assistant = self.assistant(profile)
        with self.slot():
            return assistant.decide_now(thread_id, approved, by)

    def pending(self, thread_id: str) -> dict[str, Any] | None:
        return self.assistant(DEFAULT_PROFILE).pending(thread_id)

    def trace(self, trace_id: str) -> Trace:
        traces = self.assistant(DEFAULT_PROFILE).traces
        assert traces is not None  # the service always records traces
        return traces.get(trace_id)

    # -- health -------------------------------------------------------------------------------------
    def readiness(self) -> list[ServiceStatus]:
        """Each dependency's state; the model server counts only when answers use it."""
        from maintgraph.services import Services

        return Services(self.settings).status(llm=self.use_model)


class _Holding:
    """A turn's events that hold its slot until they end, fail, are closed or are dropped, even
    before the first one is read (a client gone before its stream starts must not keep a slot)."""

    def __init__(self, events: Iterator[Event], release: Callable[[], Any]) -> None:
        self._events, self._release = events, release
        self._released = threading.Lock()

    def __iter__(self) -> _Holding:
        return self

    def __next__(self) -> Event:
        try:
            return next(self._events)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._released.acquire(blocking=False):  # once, whoever comes first
            try:
                getattr(self._events, "close", lambda: None)()
            finally:
                self._release()

    def __del__(self) -> None:
        self.close()
