"""Groundedness of an answer, as a guard: the claims :func:`maintgraph.citations.ground` judges
ungrounded, as findings (the rules live in :mod:`maintgraph.citations`, shared with the agent's
own citation check)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from maintgraph.citations import Claim, ground
from maintgraph.guardrails.findings import Finding, without

REASONS = {
    "unknown_citation": lambda c: f"cites {len(c.missing)} source(s) that were not retrieved",
    "uncited_fact": lambda c: "states a fact without a citation",
    "number_not_in_evidence": lambda c: f"{len(c.unsupported)} number(s) not in the cited evidence",
}


def finding(claim: Claim) -> Finding:
    """An ungrounded claim as a finding; its reason never repeats the claim's text."""
    assert claim.problem is not None
    return Finding("grounded", claim.problem, claim.start, claim.end, REASONS[claim.problem](claim))


def find_ungrounded(text: str, evidence: Mapping[str, str], notes: Sequence[str] = ()) -> list[Finding]:
    return [finding(claim) for claim in ground(text, evidence, notes) if not claim.grounded]


def drop_ungrounded(text: str, findings: list[Finding]) -> str:
    """``text`` without the ungrounded sentences, and a note saying how many were removed."""
    remainder = re.sub(r"\n{2,}", "\n", without(text, findings)).strip()
    note = f"({len(findings)} statement(s) removed: not supported by the retrieved records.)"
    return f"{remainder}\n{note}" if remainder else note
