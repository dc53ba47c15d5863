"""The agent as the service faces use it (HTTP, Slack, Teams): one API, no agent logic in them.

:class:`AgentService` holds one :class:`~maintgraph.agent.session.Assistant` per model profile
(opened on first use), bounds how many turns run at once (``api_max_concurrent``), how many
may queue (``api_max_waiting``) and for how long (``api_queue_wait_s``); a turn beyond that is
refused at once with :class:`~maintgraph.errors.Busy` and a retry hint, never left hanging. One
conversation runs one turn at a time: a second while the first runs is refused with
:class:`~maintgraph.errors.ConversationBusy` (both would read and write the same checkpoint).

Profiles, as the OpenAI-compatible ``model`` field names them: ``maintgraph`` answers through
the default adapter (the promoted one, looked up each turn), ``maintgraph/base`` through the
base model, ``maintgraph/<adapter>`` through that registered adapter.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from maintgraph.agent.session import Assistant, Event, TurnResult, open_assistant
from maintgraph.agent.traces import Trace
from maintgraph.config import Settings
from maintgraph.errors import Busy, ConfigError, ConversationBusy

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "maintgraph"
BASE_PROFILE = "maintgraph/base"


class AgentService:
    def __init__(self, settings: Settings, use_model: bool = True) -> None:
        self.settings = settings
        self.use_model = use_model
        self._assistants: dict[str, Assistant] = {}
        self._opening = threading.Lock()  # guards the two dicts below
        self._profile_locks: dict[str, threading.Lock] = {}  # opening one profile does not stall the others
        self._slots = threading.BoundedSemaphore(settings.api_max_concurrent)
        self._waiting = 0
        self._running: set[str] = set()  # conversations with a turn running
        self._count = threading.Lock()  # guards _waiting and _running

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
            if profile in self._assistants:
                return self._assistants[profile]
            opening = self._profile_locks.setdefault(profile, threading.Lock())
        with opening:  # the first caller opens it (seconds); later ones for this profile wait for it
            with self._opening:
                if profile in self._assistants:
                    return self._assistants[profile]
            log.info("opening the assistant for model profile %s", profile)
            opened = open_assistant(self.settings, use_model=self.use_model, adapter=adapter)
            with self._opening:
                self._assistants[profile] = opened
            return opened

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

    @contextmanager
    def _conversation(self, thread_id: str) -> Iterator[None]:
        with self._count:
            if thread_id in self._running:
                raise ConversationBusy(f"conversation {thread_id.rsplit('/', 1)[-1]} is still answering its previous "
                                       "question; ask again when that answer has come")  # fmt: skip
            self._running.add(thread_id)
        try:
            yield
        finally:
            with self._count:
                self._running.discard(thread_id)

    @contextmanager
    def _turn(self, thread_id: str) -> Iterator[None]:
        """The conversation's only running turn, in one of the agent's slots."""
        with self._conversation(thread_id), self.slot():
            yield

    # -- turns --------------------------------------------------------------------------------------
    def ask(self, question: str, thread_id: str, profile: str = DEFAULT_PROFILE) -> TurnResult:
        assistant = self.assistant(profile)
        with self._turn(thread_id):
            return assistant.ask(question, thread_id)

    def stream(self, question: str, thread_id: str, profile: str = DEFAULT_PROFILE) -> Iterator[Event]:
        """The turn's events. The slot is taken before the first event (a Busy is raised by the
        call, before anything is sent) and released when the events end or are dropped."""
        assistant = self.assistant(profile)
        with ExitStack() as holding:
            holding.enter_context(self._turn(thread_id))
            return _Holding(assistant.turn(question, thread_id), holding.pop_all().close)

    def decide(self, thread_id: str, approved: bool, by: str, profile: str = DEFAULT_PROFILE) -> TurnResult:
        assistant = self.assistant(profile)
        with self._turn(thread_id):
            return assistant.decide_now(thread_id, approved, by)

    def pending(self, thread_id: str) -> dict[str, Any] | None:
        return self.assistant(DEFAULT_PROFILE).pending(thread_id)

    def trace(self, trace_id: str, threads: str | None = None) -> Trace:
        """A recorded turn; with ``threads``, only one of the conversations whose ids start with it
        (a client's own), and "no trace" for any other."""
        traces = self.assistant(DEFAULT_PROFILE).traces
        assert traces is not None  # the service always records traces
        return traces.get(trace_id, threads)


class _Holding:
    """A turn's events that hold its slot until they end, fail, are closed or are dropped, even
    before the first one is read (a client gone before its stream starts must not keep a slot).

    ``close`` may come from another thread than the one reading (a server noticing that its
    client went away): it waits for the step being read to finish, as a generator cannot be
    closed while it runs, and the slot is busy until then anyway."""

    def __init__(self, events: Iterator[Event], release: Callable[[], Any]) -> None:
        self._events, self._release = events, release
        self._stepping = threading.Lock()
        self._done = False

    def __iter__(self) -> _Holding:
        return self

    def __next__(self) -> Event:
        with self._stepping:
            if self._done:
                raise StopIteration
            try:
                return next(self._events)
            except BaseException:
                self._finish()
                raise

    def close(self) -> None:
        with self._stepping:
            self._finish()

    def _finish(self) -> None:
        if not self._done:  # once, whoever comes first
            self._done = True
            try:
                getattr(self._events, "close", lambda: None)()
            finally:
                self._release()

    def __del__(self) -> None:
        if self._stepping.acquire(blocking=False):  # nobody reads a dropped stream: never blocks
            try:
                self._finish()
            finally:
                self._stepping.release()
