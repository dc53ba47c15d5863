"""Understanding a technician's question: what it is about and what they want.

The deterministic half of routing: entity linking through the graph's ``EntityLinker`` (tags,
spare parts, failure modes, symptoms) and intent rules on the wording. It always runs: it is
the fallback when the model's tool choice is invalid, and the check on that choice. A token
that looks like an equipment tag but names no asset is reported with the nearest real tags,
so the agent can say so instead of inventing an answer about equipment that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from maintgraph.graph.linking import Candidate, EntityLinker, Mention

Intent = Literal["work_order", "parts", "history", "procedure", "diagnose", "general"]

# First match wins, most specific first: "raise a work order for the hot bearing" is a work
# order, not a diagnosis; "do we have a seal for P-102" is a parts question.
INTENT_RULES: list[tuple[Intent, re.Pattern[str]]] = [
    (
        "work_order",
        re.compile(
            r"\b(open|raise|create|draft|log|submit|write up)\b.{0,40}\b(work ?orders?|wo|job)\b"
            r"|\bwork ?order (for|on)\b",
            re.I,
        ),
    ),
    ("parts", re.compile(r"\b(spares?|parts?|stock|stores|in store|on hand|part number|do we have|reserve)\b", re.I)),
    (
        "history",
        re.compile(
            r"\b(last time|when was|history|how often|previous(ly)?|mtbf|mttr|last (pm|service|done)"
            r"|how many times|next (pm|due)|overdue|work orders?)\b",
            re.I,
        ),
    ),
    (
        "procedure",
        re.compile(
            r"\b(how (do|should|to) (i|we)?\s*(replace|change|fit|isolate|align|grease|remove)"
            r"|procedure|steps|isolat\w*|lock ?out|loto|tag ?out|torque|method statement)\b",
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
# What an equipment tag looks like on this kind of plant: P-101, XV-201, AIT-401, HX301.
TAG_LIKE = re.compile(r"(?<![\w-])[A-Z]{1,4}-?\d{2,4}[A-Z]?(?![\w-])")  # not inside BRG-6312-C3
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

    @property
    def tags(self) -> list[str]:
        return [c.key for c in self.equipment]


def classify(question: str, has_failure_terms: bool = False) -> Intent:
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
        for word in dict.fromkeys(TAG_LIKE.findall(question))
        if word.upper().replace("-", "") not in known and not linker.resolve(word, "Equipment")
    }
    return Understanding(
        question=question,
        intent=classify(question, bool(found["failure"])),
        equipment=found["Equipment"],
        parts=found["SparePart"],
        failure_terms=found["failure"],
        unknown_tags=unknown,
        ambiguous=ambiguous,
    )
