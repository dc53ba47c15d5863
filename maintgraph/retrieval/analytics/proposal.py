"""The served model's proposal of an FMEA query, judged by the deterministic parser.

The model is given a strict JSON schema whose names are the FMEA's own (its hierarchy names as
enums, the rating fields, the operations), so a schema-valid proposal can only name real things.
The parse always stands; the proposal is judged against it and against the question's own words,
as the router judges a tool call:

- ``agrees``: the proposal is the parse (same operation, field, scope and rating thresholds);
- ``added``: the parse left a gap the proposal fills with something the question itself says (a
  scope name whose words are all in the question, a threshold whose number is in the question);
  the gap is filled, and where the parse said it could not read part of the question
  (``unmatched``), the proposal's operation goes with it; nothing else of the parse changes;
- ``rejected``: a name or a number the question does not hold, or a disagreement with what the
  parse found (the parse is kept, the reason is traced).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, create_model

from maintgraph.retrieval.analytics.parser import NUMBER_WORDS
from maintgraph.retrieval.analytics.query import NUMERIC, Filter, FMEAQuery
from maintgraph.retrieval.analytics.vocabulary import Vocabulary, tokens

WHOLE = "whole FMEA"
MAX_NAMES = 400  # a schema's enum beyond this costs the CPU model more than the proposal is worth
OPERATIONS = ("list", "lookup", "count", "average", "percentage", "top", "bottom", "group", "children")
SYSTEM = (
    "You turn a reliability engineer's question about an FMEA into a query. scope: the part of the "
    "breakdown the question names (or 'whole FMEA'); operation: list, lookup, count, average, percentage, "
    "top (highest), bottom (lowest), group, children; field: the rating the operation works on; filters: "
    "rating thresholds the question states. Answer with JSON only."
)


class ProposedFilter(BaseModel):
    field: Literal["severity", "occurrence", "detection", "rpn"]
    op: Literal[">", ">=", "<", "<=", "="]
    value: float


def schema(vocabulary: Vocabulary) -> type[BaseModel]:
    """The proposal's strict schema, its scope an enum of the FMEA's hierarchy names."""
    names = sorted({n.name for n in vocabulary.nodes})[:MAX_NAMES]
    return create_model(
        "FMEAQueryProposal",
        scope=(Literal[(WHOLE, *names)], ...),  # type: ignore[valid-type]
        operation=(Literal[OPERATIONS], ...),  # type: ignore[valid-type]
        field=(Literal["severity", "occurrence", "detection", "rpn"], ...),
        filters=(list[ProposedFilter], ...),
        limit=(Literal[1, 2, 3, 4, 5, 10] | None, ...),  # an enum: a free integer lets a small model run on
    )


def messages(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Question: {question}"}]


class Verdict(BaseModel):
    verdict: Literal["agrees", "added", "rejected"]
    reason: str = ""
    proposal: dict[str, Any] = {}


def _numbers(question: str) -> set[float]:
    found = {float(n) for n in re.findall(r"\d+(?:\.\d+)?", question)}
    return found | {float(v) for w, v in NUMBER_WORDS.items() if re.search(rf"\b{w}\b", question, re.I)}


def _in_question(name: str, question: str) -> bool:
    words = set(tokens(question))
    return all(t in words for t in tokens(name))


def _thresholds(query: FMEAQuery) -> set[tuple[str, str, float]]:
    return {(f.field, f.op, float(f.value)) for f in query.filters if f.field in NUMERIC and f.value is not None}  # type: ignore[arg-type]


def judge(
    query: FMEAQuery, proposal: dict[str, Any], vocabulary: Vocabulary, question: str
) -> tuple[FMEAQuery, Verdict]:
    """The query to run (the parse, with a gap filled when the proposal is grounded) and the verdict."""
    scope_name = proposal.get("scope") or WHOLE
    proposed = {(f["field"], f["op"], float(f["value"])) for f in proposal.get("filters") or []}
    parsed_names = {n.name for group in query.scope for n in group}
    same_scope = (scope_name == WHOLE and not parsed_names) or parsed_names == {scope_name}
    field_matters = query.operation not in ("list", "count", "children")
    if (same_scope and proposal.get("operation") == query.operation and proposed == _thresholds(query)
            and (not field_matters or proposal.get("field") == query.field)):  # fmt: skip
        return query, Verdict(verdict="agrees", proposal=proposal)
    ungrounded = [f"scope {scope_name!r} is not named in the question"] if (
        scope_name != WHOLE and not _in_question(scope_name, question)) else []  # fmt: skip
    numbers = _numbers(question)
    ungrounded += [f"{f} {op} {v:g}: the question holds no {v:g}" for f, op, v in proposed if v not in numbers]
    if ungrounded:
        return query, Verdict(verdict="rejected", reason="; ".join(ungrounded), proposal=proposal)
    filled, amended = [], query.model_copy(deep=True)
    if scope_name != WHOLE and not parsed_names:
        amended.scope = [[n] for n in vocabulary.nodes if n.name == scope_name]
        amended.ambiguous = [scope_name] if len(amended.scope) > 1 else []
        amended.unmatched = ""
        filled.append(f"scope {scope_name}")
    missing = proposed - _thresholds(query)
    if missing and not _thresholds(query):
        amended.filters += [Filter(field=f, op=op, value=v) for f, op, v in sorted(missing)]  # type: ignore[arg-type]
        filled.append("thresholds " + ", ".join(f"{f} {op} {v:g}" for f, op, v in sorted(missing)))
    if filled and query.unmatched:
        # The parse said it could not read part of the question; the proposal read it: its
        # operation goes with the scope or thresholds it grounded.
        amended.unmatched = ""
        amended.operation = proposal.get("operation") or amended.operation  # type: ignore[assignment]
        amended.field = proposal.get("field") or amended.field
        amended.limit = proposal.get("limit") or amended.limit
        amended.fields = [] if amended.operation != "lookup" else amended.fields
        filled.append(f"operation {amended.operation}")
    if filled:
        return amended, Verdict(verdict="added", reason="filled what the parse left open: " + "; ".join(filled),
                                proposal=proposal)  # fmt: skip
    differences = []
    if not same_scope:
        differences.append(f"scope {scope_name!r} (parse: {', '.join(sorted(parsed_names)) or WHOLE})")
    if proposal.get("operation") != query.operation:
        differences.append(f"operation {proposal.get('operation')} (parse: {query.operation})")
    if proposed != _thresholds(query):
        differences.append("thresholds")
    if not differences:
        differences.append(f"field {proposal.get('field')} (parse: {query.field})")
    return query, Verdict(verdict="rejected", reason="disagrees with the parse on " + "; ".join(differences),
                          proposal=proposal)  # fmt: skip
