"""What a check found: the shared vocabulary of every guard, its audit log and its reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Check = Literal["pii", "injection", "unsafe", "grounded", "topic"]
Action = Literal["block", "fix", "flag"]


@dataclass(frozen=True)
class Finding:
    """One thing a check found in a text.

    ``kind`` is the type of span (PERSON, instruction_override, bypass_loto, uncited_number...),
    ``start``/``end`` locate it. ``reason`` explains it in words that never repeat the span,
    so findings can be logged and audited without copying personal data.
    """

    check: Check
    kind: str
    start: int
    end: int
    reason: str
    score: float = 1.0

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


def without(text: str, findings: list[Finding]) -> str:
    """``text`` with the findings' spans cut out (the sentences a fix drops)."""
    kept, last = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        kept.append(text[last : max(last, f.start)])
        last = max(last, f.end)
    return "".join(kept) + text[last:]
