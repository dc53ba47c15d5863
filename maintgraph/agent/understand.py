"""Understanding a technician's question: what it is about and what they want.

The deterministic half of routing: entity linking through the graph's ``EntityLinker`` (tags,
spare parts, failure modes, symptoms) and intent rules on the wording. It always runs: it is
the fallback when the model's tool choice is invalid, and the check on that choice. A token
that looks like an equipment tag but names no asset is reported with the nearest real tags,
so the agent can say so instead of inventing an answer about equipment that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from maintgraph.agent.periods import find_period
from maintgraph.citations import TAG_IN_TEXT
from maintgraph.graph.linking import Candidate, EntityLinker, Mention
from maintgraph.retrieval.analytics import is_analytic
from maintgraph.retrieval.base import Intent

# -- a request to raise a work order, told from a question about work orders -------------------------
# What a work order is called on a plant: "work order", "WO" (not "WO-25-00077", a number), "job",
# "ticket", "request", "notification".
_WO_OBJECT = (
    r"(?:work ?orders?|w/?os?(?![-\d])|jobs?(?: cards?)?|tickets?|(?:maintenance |work )?requests?|notifications?"
    r"|cms?(?![-\d])|ems?(?![-\d]))"
)
# Words between a verb and its object ("raise an urgent CM work order"), never a preposition: "log the
# reading against the work order" records a reading, it asks for no work order.
_FILLER = r"(?:(?!(?:for|on|against|to|in|into|of|with|from|the|at|by|about)\b)[\w-]+\s+){0,3}?"
# What may come before the verb of a request: politeness, "can you", "I need you to", "let's".
_REQUEST_LEAD = re.compile(
    r"^(?:please|pls|plz|kindly|just|ok(?:ay)?|right|so|and|then|also|now|hi|hey|yes|go ahead and"
    r"|(?:can|could|would|will) (?:you|u|we|i|someone|somebody)(?: please| just| be able to)?|are you able to"
    r"|(?:i|we) (?:need|want|would like|'d like|d like)(?: you)? to|i'd like(?: you)? to|(?:need|want)(?: you)? to"
    r"|let'?s|you can|you could)\b[\s,]*",
    re.I,
)
# An imperative whose object is a work order: "raise a work order", "log a job", "open a new WO"
# ("open" only with its article: "open work orders on P-102?" asks which are open), "write one up".
_REQUEST_VERB = re.compile(
    r"^(?:(?:raise|create|log|draft|submit|write(?: up)?|put (?:in|through)|book|generate|issue|file)"
    r"(?:\s+(?:me|us))?\s+(?:(?:a|an|new|another|the|this|that)\s+)?"
    r"|open(?: up)?(?:\s+(?:me|us))?\s+(?:a|an|another|new)\s+)"
    rf"{_FILLER}{_WO_OBJECT}\b"
    r"|^(?:raise|create|log|draft|open|write|book|put)\s+(?:me\s+|us\s+)?(?:a\s+new\s+|another\s+)?one\b"
    rf"|^get\s+(?:me\s+|us\s+)?(?:a|an|the)?\s*{_FILLER}{_WO_OBJECT}\s+(?:\w+\s+){{0,2}}?"
    r"(?:raised|opened|created|logged|drafted|written|put in|in|going|submitted)\b"
    rf"|^(?:put|book)\s+(?:a|an|the)?\s*{_FILLER}{_WO_OBJECT}\s+in\b"
    rf"|^(?:(?:i|we)(?:'ll|'d| will| would)?\s+)?(?:need|want|would like|'d like)\s+(?:a|an|new|another)\s+{_FILLER}"
    rf"{_WO_OBJECT}\b"
    rf"|^(?:a\s+)?new\s+{_WO_OBJECT}\b|^(?:a\s+)?{_WO_OBJECT}\b.*\bplease\b",
    re.I,
)
_WORK_ORDER_NAMED = re.compile(rf"\b{_WO_OBJECT}", re.I)
# Where a request may start inside a question: a new sentence or clause ("P-101 is hot, raise a WO").
_CLAUSES = re.compile(
    r"[.!?;:\n]+|,\s*|\s+[-\u2013\u2014]\s+"
    r"|\s+(?:and|but|so|then)\s+(?=(?:please\s+|pls\s+|can\s+|could\s+|would\s+|raise|create|log|draft|open"
    r"|write|put|book|get|submit|issue|file)\b)",
    re.I,
)


def requests_work_order(question: str) -> bool:
    """Whether ``question`` asks for a work order to be raised, read from its form: a clause that is
    an imperative (after any "please", "can you", "I need you to") whose verb creates and whose
    object is a work order. A question about work orders ("when was the last work order on P-101",
    "any open WOs on P-102?", "has anyone raised a job for it?") is not one: it is answered from
    the records."""
    for clause in _CLAUSES.split(question):
        rest = clause.strip()
        while (lead := _REQUEST_LEAD.match(rest)) and lead.end():
            rest = rest[lead.end() :]
        found = _REQUEST_VERB.match(rest)
        if found and (not re.search(r"\bone\b", found.group(0), re.I) or _WORK_ORDER_NAMED.search(question)):
            return True
    return False


class _WorkOrderRequest:
    """The ``work_order`` intent rule: a request to raise one (:func:`requests_work_order`)."""

    def search(self, question: str) -> bool:
        return requests_work_order(question)


class _Rule(Protocol):
    def search(self, question: str, /) -> Any: ...


# First match wins, most specific first: "raise a work order for the hot bearing" is a work
# order, not a diagnosis; "do we have a seal for P-102" is a parts question; a question about work
# orders ("do we have an open WO on P-102?") is answered from the records.
INTENT_RULES: list[tuple[Intent, _Rule]] = [
    ("work_order", _WorkOrderRequest()),
    (
        "history",
        re.compile(
            r"^(?!.*\b(spares?|parts?|stock|stores|in store|on hand|part numbers?|reserve)\b)"
            r".*\b(work ?orders?|wos?|w/os?|tickets?"
            r"|jobs? ((are|is|were|was) )?(still )?(raised|logged|opened|open|done|on))\b",
            re.I,
        ),
    ),
    ("parts", re.compile(r"\b(spares?|parts?|stock|stores|in store|on hand|part number|do we have|reserve)\b", re.I)),
    (
        "history",
        re.compile(
            r"\b(last time|when (was|were|did)|history|how often|previous(ly)?|mtbf|mttr|last (pm|service|done)"
            r"|how many times|next (pm|due)|overdue|work orders?|outstanding|anything open|ever|any open|status"
            r"|what (was|were|got) (done|found)|what did (they|we|you) (do|find)|open (work ?orders?|wos?|jobs?))\b"
            r"|\blast (\w+ ){0,2}(done|greased|changed|replaced|opened|cleaned|serviced|inspected|calibrated|got"
            r"|get|had)\b",
            re.I,
        ),
    ),
    (
        "procedure",
        re.compile(
            r"\b(how (do|should|to) (i|we)?\s*(replace|change|fit|isolate|align|grease|remove)"
            r"|procedure|steps|isolat\w*|lock ?out|loto|tag ?out|torque|method statement"
            r"|make (?:[\w-]+ ){0,4}safe|safe to (?:work|open|enter|service|maintain|start work))\b",
            re.I,
        ),
    ),
    # A setting asked for, with no symptom: a lookup, not troubleshooting ("What alarm and trip
    # currents are set on IT-M201?"); "it tripped at 108 A, what is the trip setting?" stays diagnose.
    (
        "general",
        re.compile(
            r"^(?!.*\b(why|tripped|tripping|alarming|hot|overheat\w*|vibrat\w*|leak\w*|nois\w*|fail\w*|won'?t|stuck"
            r"|reads|reading|is at|running|cause\w*|problem|wrong|check)\b)"
            r".*\b(alarm|trip)s?\b.*\b(settings?|set ?points?|(?:are|is) set|set at|limits?)\b",
            re.I,
        ),
    ),
    (
        "diagnose",
        re.compile(
            r"\b(why|cause\w*|hot|overheat\w*|vibrat\w*|leak\w*|nois\w*|trip\w*|fail\w*|alarm\w*"
            r"|won'?t|will not|low|high|smell\w*|stuck|sticks?|what should i check|troubleshoot\w*)\b",
            re.I,
        ),
    ),
]
WORD = re.compile(r"[a-z][a-z0-9]+")
# Words that say how something is asked, not what about: left out of a question's topic.
COMMON = frozenset(
    "the and for with what why how when where which who whom does did do is are was were has have had can could "
    "should would will there their this that these those from into onto about after before over under any some "
    "our your its it's not but all also just still need needs check checked running runs what's last time times "
    "many much often ever again done due coming planned next anything right now outstanding open get got any we "
    "you they them there's been being is it in on at of to a an or if me my i us whats hows pump motor unit "
    "record records history number part stores store stock hold held spare spares have kept keep actually year "
    "years month months day days meant mean fitted fit please tell give show know exactly current "
    "currently usual usually likely today going happen happened want wants work order orders wo wos job jobs".split()
)  # fmt: skip
FAILURE_LABELS = ("FailureMode", "Symptom", "FailureMechanism")


@dataclass
class Understanding:
    question: str
    intent: Intent
    equipment: list[Candidate] = field(default_factory=list)
    parts: list[Candidate] = field(default_factory=list)
    failure_terms: list[Candidate] = field(default_factory=list)
    # A tag-looking word that names no asset -> the nearest real tags.
    unknown_tags: dict[str, list[Candidate]] = field(default_factory=dict)
    # Phrases that fit two things equally ("leaking": external leak of process or utility medium).
    ambiguous: list[Mention] = field(default_factory=list)
    # How the conversation filled in what the question left out ("it" -> P-101), for the trace.
    from_context: str = ""
    # The period asked about, as ISO dates [start, end): "for year 2017" -> ("2017-01-01", "2018-01-01").
    period: tuple[str, str] | None = None

    @property
    def tags(self) -> list[str]:
        return [c.key for c in self.equipment]

    @property
    def topic(self) -> list[str]:
        """What the question is about besides its equipment: "seal" in "how many times has the
        P-102 seal been changed", for searching work-order text and ordering the evidence."""
        words = [w for w in WORD.findall(self.question.lower()) if len(w) > 2 or w in ("de", "nde")]
        tags = {t.lower() for t in self.tags} | {p.key.lower() for p in self.parts}
        return [w for w in dict.fromkeys(words) if w not in COMMON and not any(w in t for t in tags)]


def classify(question: str, has_failure_terms: bool = False) -> Intent:
    # A question about the FMEA's records themselves (a count, an average, a ranking, a lookup of
    # a rating) before the wording rules: "how many failure modes" is not a history question.
    if is_analytic(question) and not re.search(r"\bwork ?orders?\b|\bcmms\b", question, re.I):
        return "analytics"
    for intent, pattern in INTENT_RULES:
        if pattern.search(question):
            return intent
    return "diagnose" if has_failure_terms else "general"


def understand(question: str, linker: EntityLinker) -> Understanding:
    mentions = linker.link(question)
    found: dict[str, list[Candidate]] = {"Equipment": [], "SparePart": [], "failure": []}
    ambiguous = []
    for mention in mentions:
        best = mention.best
        if best is None:
            ambiguous.append(mention)
            continue
        bucket = "failure" if best.label in FAILURE_LABELS else best.label
        if bucket in found and best.ref not in {c.ref for c in found[bucket]}:
            found[bucket].append(best)
    known = {c.key.upper().replace("-", "") for c in found["Equipment"]} | {
        c.key.upper().replace("-", "") for c in found["SparePart"]
    }
    unknown = {
        word: linker.nearest(word)
        for word in dict.fromkeys(TAG_IN_TEXT.findall(question))
        if word.upper().replace("-", "") not in known and not linker.resolve(word, "Equipment")
    }
    period = find_period(question)
    return Understanding(
        question=question,
        intent=classify(question, bool(found["failure"])),
        period=(period[0].isoformat(), period[1].isoformat()) if period else None,
        equipment=found["Equipment"],
        parts=found["SparePart"],
        failure_terms=found["failure"],
        unknown_tags=unknown,
        ambiguous=ambiguous,
    )


# Words that name an equipment class: "the motor on it" in a conversation about pump P-101 is
# the equipment of class EM that drives P-101.
CLASS_WORDS = {"motor": "EM", "pump": "PU", "fan": "FA", "compressor": "CO", "agitator": "AG", "mixer": "AG",
               "valve": "VA", "exchanger": "HE", "vessel": "VE", "receiver": "VE", "tank": "VE"}  # fmt: skip
CLASS_WORD = re.compile(rf"\b({'|'.join(CLASS_WORDS)})s?\b", re.I)


def in_context(
    seen: Understanding,
    previous: Understanding | None,
    drive_train: Callable[[str], list[dict[str, Any]]],
) -> Understanding:
    """Fill in what a follow-up question leaves out from the turn before it.

    A question that names no equipment is about the equipment the conversation is on ("it");
    a class word in it ("the motor on it") moves to the equipment of that class in the drive
    train. A question whose own intent is only "general" keeps the previous intent and, when it
    names no failure term, the previous failure terms ("and the motor?" after a hot bearing).
    """
    if previous is None or seen.equipment or seen.unknown_tags or not previous.equipment:
        return seen
    equipment = list(previous.equipment)
    words = {CLASS_WORDS[m.lower()] for m in CLASS_WORD.findall(seen.question)}
    if words:
        train = [row for c in equipment for row in drive_train(c.key)]  # each equipment first, then its partners
        own = [c for c in equipment if any(r["tag"] == c.key and r.get("class_code") in words for r in train)]
        related = [
            Candidate("Equipment", row["tag"], row.get("name") or row["tag"], 100.0, "drive train")
            for row in train
            if row.get("class_code") in words and row["tag"] not in {c.key for c in equipment}
        ]
        equipment = own or list({c.key: c for c in related}.values()) or equipment
    inherit = seen.intent == "general"
    return replace(
        seen,
        equipment=equipment,
        intent=previous.intent if inherit else seen.intent,
        failure_terms=seen.failure_terms or (previous.failure_terms if inherit else []),
        from_context=f"equipment {', '.join(c.key for c in equipment)} from the conversation"
        + (f"; intent {previous.intent} carried over" if inherit else ""),
    )
