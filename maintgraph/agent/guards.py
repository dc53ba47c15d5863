"""Where the guards plug in: the agent's input, retrieval and output nodes call a :class:`Guards`.

``maintgraph.guardrails.PlantGuards`` is the real one (PII, prompt injection, unsafe advice,
groundedness, off-topic). :class:`NoGuards` is what runs when the guards are switched off
(``MAINTGRAPH_GUARD_ENABLED=false``); it passes everything and says so in the trace, so a
trace never suggests a check that did not happen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from maintgraph.guardrails.guard import GuardVerdict

__all__ = ["GuardVerdict", "Guards", "NoGuards"]


class Guards(Protocol):
    def check_input(self, text: str) -> GuardVerdict: ...

    def check_retrieved(self, text: str, source: str = "doc") -> GuardVerdict: ...

    def check_output(self, text: str, evidence: dict[str, str], notes: Sequence[str] = (),
                     composed: Sequence[str] = ()) -> GuardVerdict: ...  # fmt: skip


class NoGuards:
    def check_input(self, text: str) -> GuardVerdict:
        return GuardVerdict(text, decisions=[{"guard": "none", "direction": "input", "action": "not checked"}])

    def check_retrieved(self, text: str, source: str = "doc") -> GuardVerdict:
        return GuardVerdict(text)

    def check_output(self, text: str, evidence: dict[str, str], notes: Sequence[str] = (),
                     composed: Sequence[str] = ()) -> GuardVerdict:  # fmt: skip
        return GuardVerdict(text, decisions=[{"guard": "none", "direction": "output", "action": "not checked"}])
