"""Where the guards plug in: the agent's input and output nodes call a :class:`Guards`.

The guardrails package provides the real ones (PII, prompt injection, unsafe advice,
groundedness). :class:`NoGuards` is what runs when none are configured; it passes everything
and says so in the trace, so a trace never suggests a check that did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from maintgraph.agent.evidence import Evidence


@dataclass
class GuardVerdict:
    text: str  # what goes on: the text as given, or as a guard fixed it
    blocked: str = ""  # why it must not go on ("" when it may)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # what fired, on what, and the action


class Guards(Protocol):
    def check_input(self, text: str) -> GuardVerdict: ...

    def check_output(self, text: str, evidence: list[Evidence]) -> GuardVerdict: ...


class NoGuards:
    def check_input(self, text: str) -> GuardVerdict:
        return GuardVerdict(text, decisions=[{"guard": "none", "direction": "input", "action": "not checked"}])

    def check_output(self, text: str, evidence: list[Evidence]) -> GuardVerdict:
        return GuardVerdict(text, decisions=[{"guard": "none", "direction": "output", "action": "not checked"}])
