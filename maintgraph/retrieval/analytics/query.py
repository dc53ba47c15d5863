"""The typed FMEA query: scope, filters, operation, and the whitelists Cypher is built from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

NumericField = Literal["severity", "occurrence", "detection", "rpn"]
TextField = Literal["failure_mode", "cause", "effect", "recommended_action", "controls", "function", "action_status",
                    "any"]  # fmt: skip
Level = Literal["System", "Equipment", "Subunit", "Component"]
NUMERIC: dict[str, str] = {"severity": "f.severity", "occurrence": "f.occurrence", "detection": "f.detection",
                           "rpn": "f.rpn"}  # fmt: skip
TEXT: dict[str, str] = {
    "failure_mode": "coalesce(f.failure_mode, f.mode, '')",
    "cause": "coalesce(f.cause, '')",
    "effect": "coalesce(f.effect, '') + ' ' + coalesce(f.local_effect, '') + ' ' + coalesce(f.next_higher_effect, '')"
    " + ' ' + coalesce(f.end_effect, '')",
    "recommended_action": "coalesce(f.recommended_action, '')",
    "controls": "coalesce(f.current_controls, '') + ' ' + coalesce(f.detection_controls, '') + ' ' + "
    "coalesce(f.prevention_controls, '') + ' ' + coalesce(f.detection_method, '')",
    "function": "coalesce(f.function, '')",
    "action_status": "coalesce(f.action_status, '')",
}
TEXT["any"] = " + ' ' + ".join(TEXT[k] for k in ("failure_mode", "cause", "effect"))
LEVELS: tuple[Level, ...] = ("System", "Equipment", "Subunit", "Component")
COMPARATORS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "="}
LABEL = {"severity": "severity", "occurrence": "occurrence", "detection": "detection", "rpn": "RPN",
         "failure_mode": "failure mode", "cause": "cause", "effect": "effect",
         "recommended_action": "recommended action",
         "controls": "current controls", "function": "function", "action_status": "action status",
         "action_priority": "action priority"}  # fmt: skip


class ScopeNode(BaseModel):
    label: Level
    id: str
    name: str
    path: str = ""


class Filter(BaseModel):
    field: Literal["severity", "occurrence", "detection", "rpn", "action_priority", "recommended_action",
                   "action_status", "failure_mode", "cause", "effect", "any"]  # fmt: skip
    op: Literal[">", ">=", "<", "<=", "=", "has", "has_no", "contains"]
    value: float | str | list[str] | None = None
    said: str = ""  # how the question put it, for the answer ("caused by lightning")
    match: Literal["all", "any"] = "all"  # words: every one of them, or any
    phrase: str = ""  # the words as the question wrote them ("lubrication problems"), for matching by meaning
    meaning: list[str] = []  # entries whose text means it (the embedding model), beside those with the words


class FMEAQuery(BaseModel):
    # Each group is answered on its own: one group per node of an ambiguous name.
    scope: list[list[ScopeNode]] = [[]]
    entries: list[str] = []  # FMEA entries the question names (a failure mode by its text)
    filters: list[Filter] = []
    operation: Literal["list", "lookup", "count", "average", "percentage", "top", "bottom", "group", "children",
                       "count_children", "locate"] = "list"  # fmt: skip
    # A percentage's whole: these filters, over this scope (None: the question's own scope).
    base_filters: list[Filter] = []
    base_scope: list[ScopeNode] | None = None
    field: str = "rpn"  # what the operation works on (a numeric field; a text field for a lookup)
    fields: list[str] = []  # what a lookup returns
    limit: int | None = None  # top-n (ties at the n-th value included)
    level: Level | None = None  # group by / children at this level
    level_word: str = ""  # the question's word for that level ("components"), which the answer uses
    ambiguous: list[str] = []  # names that matched several nodes
    unmatched: str = ""  # what the question names that the FMEA does not hold
