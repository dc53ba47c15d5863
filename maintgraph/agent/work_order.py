"""Drafting a work order from the conversation, for a person to approve.

The draft is built deterministically from what entity linking understood: the asset, the
symptom or failure mode, and the conversation's last questions (up to three before this one,
none the input guard refused) as the long text. A
failure code goes in only when the CMMS knows it. The agent never approves its own draft:
the face that shows the draft (terminal, bot, HTTP) mints the approval token from a person's
explicit decision and resumes the paused run with it (see :class:`Decision`).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pydantic import BaseModel, Field

from maintgraph.agent.state import Turn
from maintgraph.agent.understand import Understanding
from maintgraph.errors import MaintgraphError
from maintgraph.tools.cmms import WorkOrderDraft

# What a request asks to be done: the words after "work order for/to/on" up to the end of its clause
# ("please open a WO to replace the seal on P-102" -> "replace the seal on P-102").
ASKED_FOR = re.compile(
    r"\b(?:work ?orders?|w/?os?|jobs?(?: cards?)?|tickets?|requests?|notifications?)\s+(?:raised\s+|in\s+)?"
    r"(?:for|to|on|against)\s+(?:the\s+)?(?P<job>[^.!?;]+)",
    re.I,
)
URGENT = re.compile(r"\b(trip(ped|s)?|smoke|fire|leak(s|ing)?|spray(s|ing)?|seized|emergency)\b", re.I)


class Decision(BaseModel):
    """A person's answer to a draft, the value a paused run resumes with."""

    approved: bool
    by: str = Field(min_length=1, description="Who decided (recorded with the work order).")
    token: str | None = Field(None, description="The approval token for exactly the draft shown, when approved.")


def draft_from(seen: Understanding, history: list[Turn]) -> WorkOrderDraft:
    tag = seen.tags[0]
    term = next((c.name for c in seen.failure_terms), None)
    mode = next((c.key for c in seen.failure_terms if c.label == "FailureMode"), None)
    job = re.sub(rf"^{re.escape(tag)}\b[\s,:-]*", "", asked_for(seen.question), flags=re.I) or seen.question
    description = f"{tag}: {term}" if term else f"{tag}: {_clip(job, 180)}"
    # What the technician reported about this asset earlier in the conversation (a symptom, a
    # reading), not every question asked on the way ("do we have a spare in stores?").
    reported = [turn["question"] for turn in history
                if turn["intent"] == "diagnose" and tag in (turn.get("tags") or [])][-2:]  # fmt: skip
    return WorkOrderDraft(
        asset_tag=tag,
        wo_type="CM",
        priority=2 if URGENT.search(seen.question) else 3,
        description=_clip(description, 200),
        long_text="Raised from the maintenance assistant. Requested: "
        + seen.question
        + ("" if not reported else ". Technician reported: " + " / ".join(reported)),
        problem_code=mode,
    )


def asked_for(question: str) -> str:
    """The job a request names ("replace the seal on P-102"), else the whole question."""
    found = ASKED_FOR.search(question)
    job = found.group("job").strip(" ,:-") if found else ""
    job = re.sub(r"\s*,?\s*(?:please|pls|thanks?(?: you)?|cheers)\s*$", "", job, flags=re.I)
    return job if len(job) >= 3 else question


def checked_draft(cmms: Any, draft: WorkOrderDraft) -> tuple[WorkOrderDraft, dict[str, Any], str]:
    """The draft as the CMMS checks it: (draft, what the CMMS says, a note). A failure code the
    CMMS does not know is dropped (and said), rather than refusing the whole draft."""
    try:
        return draft, cmms.draft_work_order(draft), ""
    except MaintgraphError as exc:
        if not draft.problem_code:
            raise
        plain = draft.model_copy(update={"problem_code": None})
        return plain, cmms.draft_work_order(plain), f"failure code {draft.problem_code} left out: {exc}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def draft_fingerprint(order: dict[str, Any]) -> str:
    """Names a draft, so a chat button shown for an older draft cannot decide a newer one."""
    return hashlib.sha256(json.dumps(order, sort_keys=True, default=str).encode()).hexdigest()[:16]


def describe_draft(order: dict[str, Any]) -> str:
    draft = order["draft"]
    lines = [f"Draft work order for {draft['asset_tag']} ({order['asset']}), waiting for approval:",
             f"  type {draft['wo_type']}, priority {draft['priority']}: {draft['description']}"]  # fmt: skip
    if draft.get("problem_code"):
        lines.append(f"  failure code {draft['problem_code']}")
    if draft.get("long_text"):
        lines.append(f"  details: {draft['long_text']}")
    if order.get("note"):
        lines.append(f"  note: {order['note']}")
    open_now = order.get("open_work_orders_on_asset") or []
    if open_now:
        listed = ", ".join(f"{w['number']} {w['description']}" for w in open_now)
        lines.append(f"  already open on this asset: {listed}")
    return "\n".join(lines)
