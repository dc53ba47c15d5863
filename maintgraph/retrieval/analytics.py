"""Questions about the FMEA itself, answered exactly: lookups, hierarchy listings, threshold
filters, counts, averages, percentages, rankings and groupings over the graph's ``FMEAEntry`` rows.

Three parts, kept apart so each can be checked on its own:

- :class:`FMEAQuery`, the typed query: a scope (hierarchy nodes, by id, in groups: one group per
  node when a name was ambiguous), filters (a whitelisted field, a comparator, a value), an
  operation and the field it works on.
- :func:`parse`, the deterministic semantic parser: question -> query, with the graph's own
  vocabulary (its hierarchy names and failure-mode texts, read by :class:`Vocabulary`) and the
  field words reliability engineers use ("most likely" = highest occurrence, "hardest to detect" =
  highest detection). No model is needed.
- :func:`execute`: the query as parameterised Cypher from fixed templates; labels and property
  names come only from whitelists (:data:`NUMERIC`, :data:`TEXT`, :data:`LEVELS`), never from the
  question, which reaches the database only as parameters. The same text runs on FalkorDB and Neo4j.

The result is rendered as short sentences with the computed figures (:class:`Result`), cited by
one evidence item holding the whole computation (``graph:FMEAQuery:<hash>``) and by the FMEA
entries it was computed from.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel

from maintgraph.citations import graph_id
from maintgraph.retrieval.base import Evidence, Question, Retriever

# -- the typed query -------------------------------------------------------------------------------

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


# -- the vocabulary, read from the graph -----------------------------------------------------------

HIERARCHY_NODES = """
MATCH (n) WHERE (n:System OR n:Equipment OR n:Subunit OR n:Component) AND n.as_a_whole IS NULL
  AND (n)-[:HAS_EQUIPMENT|HAS_SUBUNIT|HAS_COMPONENT|HAS_FMEA*1..4]->(:FMEAEntry)
RETURN DISTINCT labels(n)[0] AS label, coalesce(n.id, n.tag) AS id, n.name AS name, n.path AS path
"""
ENTRY_MODES = (
    "MATCH (f:FMEAEntry) RETURN f.id AS id, coalesce(f.failure_mode, f.mode, '') AS mode, f.action_status AS status"
)

STOP = frozenset(
    "a an the of on in at to for and or is are was were be by with which what whats how many much does do did has "
    "have its it this that these those there their all any every each our fmea s mode modes failure failures "
    "rated rating ratings give given gives value list show tell me whole entire".split()
)  # fmt: skip


def stem(word: str) -> str:
    """A crude suffix strip, enough to meet "fails"/"failing", "bearings"/"bearing"."""
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def tokens(text: str) -> list[str]:
    return [stem(t) for t in re.findall(r"[a-z0-9]+", text.lower().replace("'s", "")) if t != "s"]


@dataclass
class Vocabulary:
    nodes: list[ScopeNode]
    modes: dict[str, str]  # entry id -> failure mode text
    statuses: list[str] = field(default_factory=list)  # the action statuses the sheet uses ("open", "closed")

    @classmethod
    def read(cls, graph: Any) -> Vocabulary:
        nodes = [ScopeNode(label=r["label"], id=r["id"], name=r["name"] or r["id"], path=r["path"] or "")
                 for r in graph.read(HIERARCHY_NODES) if r["label"] in LEVELS]  # fmt: skip
        rows = graph.read(ENTRY_MODES)
        statuses = sorted({r["status"].strip().lower() for r in rows if r.get("status")}, key=len, reverse=True)
        return cls(nodes, {r["id"]: r["mode"] for r in rows}, statuses)


# -- the parser ------------------------------------------------------------------------------------

FIELD_WORDS: list[tuple[str, str]] = [
    ("rpn", r"rpns?|risk priority(?: numbers?)?|risk priority number"),
    ("severity", r"severity|severities|sev|serious(?:ness)?|severe"),
    ("occurrence", r"occurrences?|occ|likelihood|likely|frequent|frequency|probability|probable"),
    ("detection", r"detection|detectability|detect(?:ed|able)?|det"),
]
LETTER_FIELDS = {"S": "severity", "O": "occurrence", "D": "detection"}
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10}  # fmt: skip
NUM = r"(\d+(?:\.\d+)?|" + "|".join(NUMBER_WORDS) + r")"
COMPARE: list[tuple[str, str]] = [
    (">=", r"at least|no less than|not less than|minimum of|≥|>="),
    ("<=", r"at most|no more than|not more than|maximum of|up to|≤|<="),
    (">", r"above|over|more than|greater than|higher than|exceed(?:s|ing)?|in excess of|>"),
    ("<", r"below|under|less than|lower than|fewer than|<"),
]
AFTER = [(">=", r"or (?:more|higher|above|greater)|and (?:above|over|up)|\+"),
         ("<=", r"or (?:less|lower|below|fewer)|and (?:below|under)")]  # fmt: skip
TEXT_CLAUSES: list[tuple[str, str]] = [
    (
        "cause",
        r"(?:caused|driven|triggered) by|due to|because of|come from|comes from|coming from|result(?:s|ing)? "
        r"from|arising from|stem(?:s|ming)? from|whose cause(?:s)? (?:is|are|mention|involve)\w*|caused",
    ),
    (
        "effect",
        r"lead(?:s|ing)? to|result(?:s|ing)? in|show(?:s|ing)? up as|make(?:s)?(?! up)|with an? effect of|end(?:s)? in"
        r"|whose effect(?:s)? (?:is|are|mention|involve)\w*|carry|carries|risk of",
    ),
    ("any", r"related to|relating to|involv(?:e|es|ing)|about|linked to|associated with|concerning|due"),
]
CLAUSE_END = re.compile(r"[?.,;]| and (?:what|which|how|its|their)| with (?:an? )?(?:rpn|severity|occurrence|detection)"
                        r"| (?:in|on|of) the (?:whole )?fmea| have | has ", re.I)  # fmt: skip
LEVEL_WORDS: list[tuple[Level, str]] = [
    ("Component", r"sub-?components?|parts?|items?|pieces?"),
    ("Subunit", r"sub-?assembl(?:y|ies)|subunits?|components?|modules?"),
    # A classic AIAG sheet's Subsystem is its top level (Subsystem > Component > Sub-Component).
    ("Equipment", r"sub-?systems?|assembl(?:y|ies)|systems?|equipment|units?|machines?"),
]
SUPERLATIVE = re.compile(
    r"(?<!at )(?<!top-)\b(highest|lowest|largest|smallest|greatest|biggest|maximum|minimum|max|min|most|least|fewest"
    r"|hardest|easiest"
    r"|worst|best|riskiest|top|bottom)\b", re.I)  # fmt: skip
ANALYTIC_OPS = re.compile(
    r"\b(how many|number of|count|average|mean|percent(?:age)?|share|proportion|fraction|top \w+|highest|lowest"
    r"|largest|smallest|maximum|minimum|most|least|fewest|hardest|easiest|riskiest|rank\w*|above|over|below|under"
    r"|at least|at most|more than|less than|greater than|exceed\w*|or more|or less|list|which|what are|rated|rating"
    r"|what is the|what's the|what|make up|made up|belong\w*|lack\w*|without|no recommended|give|how is|how are)\b",
    re.I,
)  # fmt: skip
FMEA_NOUNS = re.compile(
    r"\b(failure modes?|fmea|fmeca|rpns?|risk priority|severity|occurrence|detection|action priority"
    r"|recommended actions?|action status|current controls|[SOD] ratings?|(?:local|system|end) effects?)\b",
    re.I)  # fmt: skip
HIERARCHY_NOUNS = re.compile(
    r"\b(parts?|components?|sub-?components?|sub-?assembl(?:y|ies)|assembl(?:y|ies)|sub-?systems?)\b.{0,60}"
    r"\b(make up|made up|consist|covered|analy[sz]ed|listed|in the fmea|does .{1,40} have|belong)"
    r"|\bwhat are the (?:sub-?assembl(?:y|ies)|assembl(?:y|ies)|sub-?systems?|sub-?components?) of\b"
    r"|\bwhere in the .{0,30}(?:breakdown|hierarchy|fmea)\b"
    r"|\bwhich (?:sub-?components?|components?|parts?|sub-?assembl\w+|assembl\w+|sub-?systems?)\b.{0,50}"
    r"\b(?:most|least|highest|lowest|fewest)\b", re.I)  # fmt: skip
# Troubleshooting and plant-wide questions keep their routes: a symptom on a running machine, what
# the FMEA says to do about it, recurring themes across the plant (the community reports).
TROUBLESHOOTING = re.compile(
    r"\b(running hot|tripped|tripping|stopped|is behind it|what's behind|what should i check|won'?t start"
    r"|troubleshoot|what do i|how do i|which (?:sensor|transmitter|job plan)|in stores?|what does the fmea say"
    r"|across (?:the|our|all) (?!whole|entire|fmea|fmeca|sheet)|plant-?wide|dominate|typical|themes?|recurring)\b",
    re.I)  # fmt: skip


def is_analytic(question: str) -> bool:
    """Does the question ask about the FMEA's records themselves (a lookup, a count, a ranking...)?"""
    if TROUBLESHOOTING.search(question):
        return False
    return bool(HIERARCHY_NOUNS.search(question) or (FMEA_NOUNS.search(question) and ANALYTIC_OPS.search(question)))


def _number(text: str) -> float:
    return float(NUMBER_WORDS.get(text.lower(), text))


def _field_spans(question: str) -> list[tuple[str, int, int]]:
    spans = [(name, m.start(), m.end()) for name, words in FIELD_WORDS
             for m in re.finditer(rf"\b(?:{words})\b", question, re.I)]  # fmt: skip
    spans += [(LETTER_FIELDS[m.group(1)], m.start(), m.end()) for m in re.finditer(r"\b([SOD])\b(?!-)", question)]
    return sorted(spans, key=lambda s: s[1])


def _numeric_filters(question: str) -> list[Filter]:
    """ "RPN above 150", "an RPN of 200 or more", "exceed an RPN of 100", "rated severity 10",
    "severity of 9 or 10", "detection rating of 2 or less", "RPN between 100 and 200"."""
    found: list[Filter] = []
    compare = "|".join(f"(?P<c{i}>{words})" for i, (_, words) in enumerate(COMPARE))
    for name, start, end in _field_spans(question):
        after = question[end : end + 45]
        before = question[max(0, start - 30) : start]
        m = re.search(rf"(?:{compare})\s*(?:an?|the)?\s*$", before, re.I)
        n = re.match(rf"\s*(?:rating|value|score)?\s*(?:of\s+)?{NUM}\b", after, re.I)
        if m and n:
            op = next(COMPARE[i][0] for i in range(len(COMPARE)) if m.group(f"c{i}"))
            found.append(
                Filter(
                    field=name,
                    op=op,
                    value=_number(n.group(1)),
                    said=(m.group(0) + question[start : end + n.end()]).strip(),
                )
            )  # type: ignore[arg-type]
            continue
        m = re.match(rf"\s*(?:rating|ratings|number|score|value|class)?\s*(?:is|are|of|at|=)?\s*(?:an?\s+)?"
                     rf"(?:{compare})\s*(?:an?\s+|of\s+)?{NUM}\b", after, re.I)  # fmt: skip
        if m:
            op = next(COMPARE[i][0] for i in range(len(COMPARE)) if m.group(f"c{i}"))
            found.append(
                Filter(
                    field=name,
                    op=op,
                    value=_number(m.group(m.lastindex or 0)),
                    said=question[start : end + m.end()].strip(),
                )
            )  # type: ignore[arg-type]
            continue
        m = re.match(rf"\s*(?:rating|ratings|number|score|value)?\s*(?:is|are|of|=)?\s*(?:an?\s+)?"
                     rf"between\s+{NUM}\s+and\s+"
                     rf"{NUM}", after, re.I)  # fmt: skip
        if m:
            low, high = _number(m.group(1)), _number(m.group(2))
            found += [Filter(field=name, op=">=", value=low), Filter(field=name, op="<=", value=high)]  # type: ignore[arg-type]
            continue
        m = re.match(rf"\s*(?:rating|ratings|number|score|value|class)?\s*(?:is|are|of|at|=)?\s*(?:an?\s+)?{NUM}"
                     rf"(?:\s+(?P<tail>or \d+|{'|'.join(w for _, w in AFTER)}))?(?!\s*(?:%|percent))",
                     after, re.I)  # fmt: skip
        if m and not re.search(r"\b(top|the|first)\s*$", before, re.I):
            value, tail = _number(m.group(1)), (m.group("tail") or "").lower()
            op = "="
            if tail.startswith("or ") and tail[3:].strip().isdigit():
                other = float(tail[3:])
                op = ">=" if other > value else "<="
            elif tail:
                op = next(o for o, words in AFTER if re.fullmatch(words, tail, re.I))
            found.append(Filter(field=name, op=op, value=value, said=question[start : end + m.end()].strip()))  # type: ignore[arg-type]
    return found


# Words that qualify what is matched rather than name it ("lubrication problems", "increased vibration").
VAGUE = frozenset("problem issue poor bad increas decreas high low excessive related kind type sort some general "
                  "possible potential can could may might end result highest lowest rpn severity occurrence "
                  "detection risk priority most least top".split())  # fmt: skip


def _clause_words(text: str, consumed: set[str]) -> list[str]:
    end = CLAUSE_END.search(text)
    clause = text[: end.start()] if end else text
    words = [w for w in dict.fromkeys(tokens(clause))
             if w not in STOP and w not in consumed and len(w) >= 3 and not w.isdigit()]  # fmt: skip
    # A stem of six letters meets the word's other forms: lubrication, lubricant, lubricated.
    return [w[:6] for w in words if w not in VAGUE]


def _text_filters(question: str, consumed: set[str]) -> list[Filter]:
    for name, words in TEXT_CLAUSES:
        m = re.search(rf"\b(?:{words})\s+(?:an?\s+|the\s+|by\s+)?", question, re.I)
        if not m:
            continue
        said = _clause_words(question[m.end() :], consumed)
        if said:
            clause = question[m.start() :]
            end = CLAUSE_END.search(clause)
            clause = (clause[: end.start()] if end else clause).strip()
            either = "any" if re.search(r"\bor\b", clause, re.I) else "all"  # "moisture or condensation"
            rest = question[m.end() :]
            stop = CLAUSE_END.search(rest)
            phrase = (rest[: stop.start()] if stop else rest).strip()
            return [Filter(field=name, op="contains", value=said, said=clause, match=either, phrase=phrase)]  # type: ignore[arg-type]
    return []


def _match_names(question: str, vocabulary: Vocabulary) -> tuple[list[list[ScopeNode]], list[str], set[str],
                                                                  list[ScopeNode]]:  # fmt: skip
    """The hierarchy nodes the question names: (groups, ambiguous names, the words used, the
    outer nodes that only gave context: "the drivetrain" in "the drivetrain's gearbox")."""
    words = tokens(question)
    by_name: dict[str, list[ScopeNode]] = {}
    for node in vocabulary.nodes:
        by_name.setdefault(" ".join(tokens(node.name)), []).append(node)
    spans: list[tuple[int, int, str]] = []
    for name in by_name:
        seq = name.split()
        if not seq or all(w in STOP for w in seq):
            continue
        for i in range(len(words) - len(seq) + 1):
            if words[i : i + len(seq)] == seq:
                spans.append((i, i + len(seq), name))
    spans = [
        s for s in spans if not any(o[0] <= s[0] and s[1] <= o[1] and (o[1] - o[0]) > (s[1] - s[0]) for o in spans)
    ]
    names = list(dict.fromkeys(s[2] for s in spans))
    used = {w for s in spans for w in words[s[0] : s[1]]}
    candidates = {name: by_name[name] for name in names}
    # A name under another name the question also gives ("the generator bearing") is narrowed to
    # the nodes under it, and the outer name is then only context.
    outer: set[str] = set()
    for inner in names:
        for other in names:
            if other == inner:
                continue
            under = [n for n in candidates[inner] if any(n.id.startswith(o.id + "/") for o in candidates[other])]
            if under:
                candidates[inner] = under
                outer.add(other)
    kept = [n for n in names if n not in outer]
    groups: list[list[ScopeNode]] = []
    ambiguous: list[str] = []
    single: list[ScopeNode] = []
    for name in kept:
        nodes = list({n.id: n for n in candidates[name]}.values())
        # "Main Shaft" the sub-assembly and "Main Shaft" its part: the outer one covers both.
        nodes = [n for n in nodes if not any(n.id.startswith(o.id + "/") for o in nodes)]
        if len(nodes) > 1:
            ambiguous.append(nodes[0].name)
            groups += [[n] for n in nodes]
        else:
            single += nodes
    if groups:
        groups = [g + single for g in groups] if single else groups
    elif single:
        groups = [single]
    context = [n for name in outer for n in candidates[name]]
    return groups or [[]], ambiguous, used, context


def _match_modes(question: str, vocabulary: Vocabulary, used: set[str]) -> tuple[list[str], set[str]]:
    """FMEA entries whose failure-mode text the question names (most of its words, at least two)."""
    asked = set(tokens(question))
    best: list[str] = []
    best_score = 0.0
    words: set[str] = set()
    for entry, text in vocabulary.modes.items():
        mode = {w for w in tokens(text) if w not in STOP}
        if not mode:
            continue
        hit = mode & asked
        score = len(hit) / len(mode)
        if len(hit) < min(2, len(mode)) or score < 0.75 or (len(mode) == 1 and hit <= used):
            continue
        if score > best_score + 1e-9:
            best, best_score, words = [entry], score, hit
        elif abs(score - best_score) < 1e-9:
            best.append(entry)
            words |= hit
    return best, words


def _level(text: str) -> Level | None:
    return _level_word(text)[0]


def _level_word(text: str) -> tuple[Level | None, str]:
    """The hierarchy level a word names, and the word ("sub-components")."""
    for level, words in LEVEL_WORDS:
        m = re.search(rf"\b(?:{words})\b", text, re.I)
        if m:
            return level, m.group(0).lower()
    return None, ""


def _ranked_field(question: str) -> tuple[str, bool] | None:
    """(field, descending) of a ranking: "most likely" = highest occurrence, "hardest to detect"
    = highest detection, "most severe" = highest severity."""
    q = question.lower()
    rules = [
        (
            r"\b(hardest|most difficult|difficult|least likely to be) (to )?(be )?detect|least detectable"
            r"|hardest to spot",
            ("detection", True),
        ),
        (r"\b(easiest|simplest) to (be )?detect|most detectable", ("detection", False)),
        (
            r"\b(most|more) (likely|frequent|common|probable)|likeliest|occurs? most|highest (occurrence|likelihood)",
            ("occurrence", True),
        ),
        (r"\b(least|less) (likely|frequent|common|probable)|lowest (occurrence|likelihood)", ("occurrence", False)),
        (r"\b(most|more) (severe|serious|critical)|highest severity|worst consequences", ("severity", True)),
        (r"\b(least|less) (severe|serious|critical)|lowest severity", ("severity", False)),
        (r"\briskiest|most risky|highest risk|(most|more) (risk|critical)", ("rpn", True)),
    ]
    for pattern, result in rules:
        if re.search(pattern, q):
            return result
    m = SUPERLATIVE.search(question)
    if not m:
        return None
    descending = m.group(1).lower() not in ("lowest", "smallest", "minimum", "min", "least", "fewest", "easiest",
                                            "best", "bottom")  # fmt: skip
    after = [name for name, start, _ in _field_spans(question) if start >= m.start()]
    before = [name for name, start, _ in _field_spans(question) if start < m.start()]
    return (after or before or ["rpn"])[0], descending


def _top_n(question: str) -> int | None:
    m = re.search(rf"\b(?:top|first|highest|lowest|worst|best)\s+{NUM}\b|\b{NUM}\s+(?:\w+\s+){{0,3}}?(?:failure modes?|"
                  rf"modes?|entries|items|highest|lowest|riskiest|most|least|parts?|components?)",
                  question, re.I)  # fmt: skip
    if not m:
        return None
    value = next(g for g in m.groups() if g)
    n = int(_number(value))
    return n if 0 < n <= 50 else None


LOOKUP_FIELDS: list[tuple[str, str]] = [
    ("recommended_action", r"recommended actions?|recommendations?|what (?:should|to) (?:we|be) do|mitigation"
                           r"|actions? (?:is|are) recommended"),
    ("action_status", r"action status|status of the action|status"),
    ("cause", r"causes?|why"),
    ("effect", r"effects?|consequences?|what happens"),
    ("controls", r"controls?|how (?:is it|are they|it is) detected|detection method|current controls"
                 r"|how .{0,20}detected"),
    ("function", r"functions?|purpose"),
    ("path", r"which (?:part|component|sub-?assembly|assembly|system|subsystem)|belong|where in the|located"),
]  # fmt: skip


# Words that say what is asked, not what about: what is left of a question without them (and
# without the names the FMEA holds) names something the FMEA may not have.
ASKING = tuple(
    "rpn risk priority severity severe serious occurrence likely likelihood frequent detection detect rating rated "
    "value number what which how many average mean percentage percent share proportion fraction highest lowest "
    "largest smallest maximum minimum most least top level list give show tell recommend action status open cause "
    "effect control function assembl sub part component system subsystem item unit equipment have has does belong "
    "above over below under more less than greater exceed according say listed analys covered hardest easiest "
    "whole entire fmea fmeca make made consist different distinct contain include given assigned ranked rank carr "
    "where located find name entries entry each every per sheet analysis worst best".split()
)  # fmt: skip


def _leftover(question: str, used: set[str], mode_words: set[str]) -> list[str]:
    # "the whole wind turbine FMEA": the words before "FMEA" name the sheet itself.
    question = re.sub(r"(?:[\w&-]+\s+){0,3}(?:fmea|fmeca)\b", " ", question, flags=re.I)
    words = [w for w in tokens(question) if w not in STOP and w not in used and w not in mode_words and len(w) > 2
             and not w.isdigit() and not any(w.startswith(a[:5]) or a.startswith(w) for a in ASKING)]  # fmt: skip
    return list(dict.fromkeys(words))


def parse(question: str, vocabulary: Vocabulary) -> FMEAQuery:
    """The typed query a question asks, read with the graph's vocabulary."""
    query = _parse(question, vocabulary)
    if query.level is not None:
        words = dict(LEVEL_WORDS).get(query.level)
        m = re.search(rf"\b(?:{words})\b", question, re.I) if words else None
        query.level_word = m.group(0).lower() if m else ""
    return query


def _parse(question: str, vocabulary: Vocabulary) -> FMEAQuery:
    groups, ambiguous, used, context = _match_names(question, vocabulary)
    entries, mode_words = _match_modes(question, vocabulary, used)
    numeric = _numeric_filters(question)
    filters: list[Filter] = list(numeric)
    q = question.lower()
    if re.search(
        r"\b(no|without|lacks?|lacking|missing|not have an?|no recommended)\b.{0,25}recommended actions?"
        r"|recommended actions? (?:is |are )?(?:missing|empty|blank)|lacks? a recommended|no action",
        q,
    ):
        filters.append(Filter(field="recommended_action", op="has_no", said="no recommended action"))
    elif re.search(
        r"\b(with|have|has|having) an? recommended action|recommended actions? (?:assigned|given|defined)", q
    ):
        filters.append(Filter(field="recommended_action", op="has", said="a recommended action"))
    m = re.search(r"\b(?:action priority|ap)\s*(?:of|is|=)?\s*(high|medium|low|h|m|l)\b", question, re.I)
    if m:
        filters.append(Filter(field="action_priority", op="=", value=m.group(1)[0].upper(), said=m.group(0)))
    if re.search(r"\b(status|actions?)\b", q):
        status = next((v for v in vocabulary.statuses if re.search(rf"\b{re.escape(v)}\b", q)), None)
        if status:
            filters.append(Filter(field="action_status", op="=", value=status, said=f"action status {status}"))
    if not entries:
        filters += _text_filters(question, used)
    if entries and len(groups) > 1:
        # "a blown head gasket": of the three Gaskets, the one whose failure mode is named.
        holding = [g for g in groups if any(e.startswith(n.id + "/") for n in g for e in entries)]
        groups = holding or [[]]
        ambiguous = ambiguous if len(groups) > 1 else []
    query = FMEAQuery(scope=groups, entries=entries, filters=filters, ambiguous=ambiguous)
    leftover = _leftover(
        question, used, mode_words | {w for f in filters for w in (f.value if isinstance(f.value, list) else [])}
    )
    named = not any(groups) and not entries and leftover and not filters

    count = re.search(r"\b(how many|number of|count)\b", q)
    level = _level(q[count.end() :] if count else q)
    about_modes = bool(re.search(r"\bfailure modes?\b|\bmodes?\b", q))
    if re.search(r"\btop[- ]level|\bmain (?:assembl|system|unit)", q) and not any(groups):
        labels = {n.label for n in vocabulary.nodes}
        level = next((lv for lv in LEVELS if lv in labels), "Equipment")
        query.operation, query.level = ("count_children" if count else "children"), level
        return query
    if any(groups) and not entries and not count and not re.search(r"\b(percent|percentage|share|proportion|fraction"
                                                                     r"|average|mean)\b", q) and re.search(
            r"\bwhere\b|\bpart of\b|\bbelong|\bwhich (?:sub-?assembly|assembly|system|subsystem|component|unit)\b"
            r".{0,30}\b(?:is|are|does)\b.{0,30}\b(?:in|under|part)\b", q):  # fmt: skip
        query.operation = "locate"
        return query
    if re.search(r"\b(average|mean)\b", q):
        field_after = [name for name, start, _ in _field_spans(question)
                       if start > re.search(r"\b(average|mean)\b", q).start()]  # type: ignore[union-attr]  # fmt: skip
        query.field = (field_after or [n for n, _, _ in _field_spans(question)] or ["rpn"])[0]
        group = re.search(r"\bwhich (\w+(?:-\w+)?)\b", q)
        if group and _level(group.group(1)) and SUPERLATIVE.search(question):
            query.operation, query.level = "group", _level(group.group(1))
            ranked = _ranked_field(question)
            query.fields = ["average", "desc" if not ranked or ranked[1] else "asc"]
        elif named:
            query.operation, query.unmatched = "count", " ".join(leftover)
        else:
            query.operation = "average"
        return query
    if re.search(r"\b(percent|percentage|share|proportion|fraction|what part of|how much of)\b", q):
        query.operation = "percentage"
        if any(f.field == "action_status" for f in filters) and re.search(r"\bactions?\b", q):
            # "what share of the actions are closed": of the failure modes that have an action.
            query.base_filters = [Filter(field="recommended_action", op="has")]
        elif not filters and any(groups) and len(groups) == 1:
            # "what share of the drivetrain's failure modes are gearbox ones": the part over its whole.
            query.base_scope = context
        return query
    group = re.search(r"\bwhich (\w+(?:-\w+)?)\b.{0,40}\b(most|fewest|highest|lowest|largest|greatest)\b", q)
    if group and _level(group.group(1)) and not about_modes_first(q):
        query.operation, query.level = "group", _level(group.group(1))
        ranked = _ranked_field(question)
        mentions = [n for n, _, _ in _field_spans(question)]
        desc = ranked[1] if ranked else True
        if re.search(r"\b(most|fewest) failure modes\b|\bmost modes\b", q) or not mentions:
            query.fields = ["count", "desc" if desc else "asc"]
        else:
            query.field, query.fields = mentions[0], ["max", "desc" if desc else "asc"]
        return query
    if count:
        if level and not re.search(r"\bfailure modes?\b", q[count.end() : count.end() + 40]):
            query.operation, query.level = "count_children", level
        else:
            query.operation = "count"
            if named:
                query.unmatched = " ".join(leftover)
        return query
    ranked = _ranked_field(question)
    if ranked and (SUPERLATIVE.search(question) or re.search(r"likel|detect|sever|risk", q)):
        query.field = ranked[0]
        query.operation = "top" if ranked[1] else "bottom"
        query.limit = _top_n(question) or 1
        return query
    lookups = [name for name, words in LOOKUP_FIELDS if re.search(rf"\b(?:{words})\b", q)]
    fields_asked = [n for n, _, _ in _field_spans(question) if n not in {f.field for f in numeric}]
    if entries and (lookups or fields_asked):
        query.operation = "lookup"
        query.fields = list(dict.fromkeys([*fields_asked, *[f for f in lookups if f != "cause" or not fields_asked]]))
        return query
    children = bool(re.search(r"\b(make up|made up|consists? of|covered|analy[sz]ed|listed|in the fmea|does .{0,40} "
                              r"(?:have|contain|include)|which .{0,30}(?:parts?|components?|sub-?assembl\w+|"
                              r"sub-?systems?)|(?:list|what are) .{0,30}(?:parts?|components?|sub-?assembl\w+|"
                              r"sub-?systems?|assembl\w+))\b", q))  # fmt: skip
    if children and level and not about_modes and not filters:
        query.operation, query.level = "children", level
        return query
    if (lookups or fields_asked) and not entries and not filters and (leftover or not about_modes):
        # A field of something the FMEA does not name: say so, with what was asked about.
        query.operation, query.fields = "lookup", list(dict.fromkeys([*fields_asked, *lookups]))
        query.unmatched = " ".join(leftover)
        return query
    query.operation = "lookup" if entries else "list"
    if named and not entries:
        query.unmatched = " ".join(leftover)
    if entries:
        query.fields = ["rpn", "severity", "occurrence", "detection"]
    return query


def about_modes_first(q: str) -> bool:
    """ "Which failure mode has the highest RPN" ranks modes, not a level's groups."""
    return bool(re.match(r"\s*which (failure )?modes?\b", q))


def numeric_only(numeric: list[Filter], ranked: tuple[str, bool]) -> bool:
    """ "with an RPN above 150" is a filter, not a ranking, when no superlative is asked."""
    return False


# -- execution -------------------------------------------------------------------------------------

ROWS = """
MATCH (e:Equipment)-[:HAS_SUBUNIT]->(s:Subunit)-[:HAS_COMPONENT]->(c:Component)-[:HAS_FMEA]->(f:FMEAEntry)
OPTIONAL MATCH (y:System)-[:HAS_EQUIPMENT]->(e)
WITH y, e, s, c, f
WHERE ($all OR y.id IN $scope OR e.tag IN $scope OR s.id IN $scope OR c.id IN $scope) {filters}
RETURN f.id AS id, coalesce(f.failure_mode, f.mode, '') AS failure_mode, f.severity AS severity,
       f.occurrence AS occurrence, f.detection AS detection, f.rpn AS rpn, f.action_priority AS action_priority,
       f.cause AS cause, {effect} AS effect, f.recommended_action AS recommended_action,
       {controls} AS controls, f.function AS function, f.action_status AS action_status,
       c.name AS component, s.name AS subunit, e.name AS equipment, y.name AS system,
       c.as_a_whole AS c_whole, s.as_a_whole AS s_whole, c.id AS component_id, s.id AS subunit_id, e.tag AS equipment_id
ORDER BY {order} f.id
"""
AGGREGATE = """
MATCH (e:Equipment)-[:HAS_SUBUNIT]->(s:Subunit)-[:HAS_COMPONENT]->(c:Component)-[:HAS_FMEA]->(f:FMEAEntry)
OPTIONAL MATCH (y:System)-[:HAS_EQUIPMENT]->(e)
WITH y, e, s, c, f
WHERE ($all OR y.id IN $scope OR e.tag IN $scope OR s.id IN $scope OR c.id IN $scope) {filters}
RETURN count(f) AS n, avg({value}) AS mean, min({value}) AS low, max({value}) AS high
"""
GROUPED = """
MATCH (e:Equipment)-[:HAS_SUBUNIT]->(s:Subunit)-[:HAS_COMPONENT]->(c:Component)-[:HAS_FMEA]->(f:FMEAEntry)
OPTIONAL MATCH (y:System)-[:HAS_EQUIPMENT]->(e)
WITH y, e, s, c, f
WHERE ($all OR y.id IN $scope OR e.tag IN $scope OR s.id IN $scope OR c.id IN $scope) {filters}
WITH {node} AS g, f
WHERE g IS NOT NULL AND g.as_a_whole IS NULL
RETURN coalesce(g.id, g.tag) AS id, g.name AS name, g.path AS path, count(f) AS n, avg({value}) AS mean,
       max({value}) AS high,
       collect(f.id) AS entries
"""
CHILDREN = """
MATCH (n)-[:HAS_EQUIPMENT|HAS_SUBUNIT|HAS_COMPONENT*1..3]->(m:{label})
WHERE coalesce(n.id, n.tag) IN $scope AND m.as_a_whole IS NULL
RETURN DISTINCT coalesce(m.id, m.tag) AS id, m.name AS name, m.path AS path
ORDER BY m.path
"""
GROUP_NODE = {"System": "y", "Equipment": "e", "Subunit": "s", "Component": "c"}


def _where(query: FMEAQuery, params: dict[str, Any], entries: list[str] | None = None) -> str:
    """The filters as Cypher conditions on whitelisted properties; every value is a parameter."""
    parts: list[str] = []
    for i, item in enumerate(query.filters):
        key = f"p{i}"
        if item.field in NUMERIC and item.op in COMPARATORS:
            parts.append(f"{NUMERIC[item.field]} {COMPARATORS[item.op]} ${key}")
            params[key] = item.value
        elif item.field == "action_priority":
            parts.append(f"toUpper(left(coalesce(f.action_priority, ''), 1)) = ${key}")
            params[key] = str(item.value)[:1].upper()
        elif item.field == "action_status":
            parts.append(f"toLower(trim(coalesce(f.action_status, ''))) = ${key}")
            params[key] = str(item.value).lower()
        elif item.field == "recommended_action" and item.op in ("has", "has_no"):
            expr = "trim(coalesce(f.recommended_action, ''))"
            parts.append(f"{expr} <> ''" if item.op == "has" else f"{expr} = ''")
        elif item.op == "contains" and item.field in TEXT and isinstance(item.value, list):
            words = [f"toLower({TEXT[item.field]}) CONTAINS ${key}_{j}" for j in range(len(item.value))]
            condition = "(" + (" OR " if item.match == "any" else " AND ").join(words) + ")"
            if item.meaning:
                condition = f"({condition} OR f.id IN ${key}_meaning)"
                params[f"{key}_meaning"] = item.meaning
            parts.append(condition)
            params |= {f"{key}_{j}": w for j, w in enumerate(item.value)}
        elif item.op == "in" and isinstance(item.value, list):  # pragma: no cover - guarded by the model
            pass
    if entries is not None:
        parts.append("f.id IN $entries")
        params["entries"] = entries
    return "".join(f" AND {p}" for p in parts)


ENTRY_TEXT = "MATCH (f:FMEAEntry) RETURN f.id AS id, {text} AS text ORDER BY f.id"
# Cosine similarity (the packaged all-MiniLM-L6-v2) from which an entry's text is taken to mean the
# phrase asked about, read on the generator sheet of the tests: "lightning" meets no cause above 0.30,
# "lubrication problems" meets "Grease degraded" at 0.54 but "Oil starvation" only at 0.36, "dirty
# fuel" meets "Wear from dirty fuel" at 0.79. Precision first: a wrong "none" is said plainly, a
# wrong match would be a wrong figure.
MEANING_MIN = 0.5


def resolve_meaning(graph: Any, query: FMEAQuery, embedder: Any, cache: dict[str, Any] | None = None) -> None:
    """Add to each word filter the entries whose text means its phrase, by the embedding model.
    The entries' texts are read each time (one query) and embedded only when they changed."""
    import numpy as np

    for item in query.filters:
        if item.op != "contains" or not item.phrase or item.field not in TEXT:
            continue
        rows = [r for r in graph.read(ENTRY_TEXT.format(text=TEXT[item.field])) if (r["text"] or "").strip()]
        if not rows:
            continue
        texts = [" ".join(r["text"].split()) for r in rows]
        key = f"{item.field}:{hashlib.sha256(chr(0).join(texts).encode()).hexdigest()}"
        vectors = cache.get(key) if cache is not None else None
        if vectors is None:
            vectors = np.asarray(embedder.embed(texts))
            if cache is not None:
                if len(cache) > 16:  # texts that changed: the old vectors go
                    cache.clear()
                cache[key] = vectors
        asked = np.asarray(embedder.embed([item.phrase]))[0]
        scores = vectors @ asked
        item.meaning = [r["id"] for r, score in zip(rows, scores, strict=True) if score >= MEANING_MIN]


@dataclass
class Group:
    scope: list[ScopeNode]
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int | None = None  # the scope's entries before filtering (a percentage's denominator)
    figures: dict[str, Any] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)


def _params(scope: list[ScopeNode]) -> dict[str, Any]:
    return {"all": not scope, "scope": [n.id for n in scope]}


def _scoped_entries(query: FMEAQuery, scope: list[ScopeNode]) -> list[str] | None:
    if not query.entries:
        return None
    if not scope:
        return query.entries
    inside = [e for e in query.entries if any(e.startswith(n.id + "/") for n in scope)]
    return inside or query.entries


def execute(graph: Any, query: FMEAQuery) -> list[Group]:
    """Run the query: one :class:`Group` of results per scope group."""
    results = []
    for scope in query.scope:
        group = Group(scope)
        params = _params(scope)
        entries = _scoped_entries(query, scope)
        if entries is not None and scope and entries == query.entries and len(query.scope) == 1:
            params = _params([])  # the named failure mode lies outside the names around it: the mode decides
        filters = _where(query, params, entries)
        if query.unmatched and not entries:  # the question names something the FMEA does not hold
            results.append(group)
            continue
        if query.operation == "locate":
            for node in scope:
                parent = node.id.rsplit("/", 1)[0] if "/" in node.id else None
                siblings = graph.read(CHILDREN.format(label=node.label), {"scope": [parent]}) if parent else []
                group.children.append({"node": node, "parent": parent, "siblings": siblings})
            results.append(group)
            continue
        if query.operation == "children" or query.operation == "count_children":
            label = query.level if query.level in LEVELS else "Component"
            ids = [n.id for n in scope]
            group.children = graph.read(CHILDREN.format(label=label), {"scope": ids}) if ids else []
            if not ids:
                group.children = [r for r in graph.read(HIERARCHY_NODES) if r["label"] == label]
            results.append(group)
            continue
        value = NUMERIC.get(query.field, "f.rpn")
        if query.operation == "group":
            node = GROUP_NODE.get(query.level or "Component", "c")
            group.groups = graph.read(GROUPED.format(filters=filters, value=value, node=node), params)
            results.append(group)
            continue
        order = ""
        if query.operation in ("top", "bottom"):
            order = f"{value} {'DESC' if query.operation == 'top' else 'ASC'},"
        group.rows = graph.read(ROWS.format(filters=filters, effect=TEXT["effect"], controls=TEXT["controls"],
                                            order=order), params)  # fmt: skip
        if query.operation in ("top", "bottom"):
            group.rows = [r for r in group.rows if r.get(query.field) is not None]
            n = query.limit or 1
            if len(group.rows) > n:  # ties at the n-th value are part of the answer
                cut = group.rows[n - 1].get(query.field)
                group.rows = group.rows[:n] + [r for r in group.rows[n:] if r.get(query.field) == cut]
        if query.operation in ("count", "average", "percentage"):
            [agg] = graph.read(AGGREGATE.format(filters=filters, value=value), params)
            group.figures = agg
        if query.operation == "percentage":
            base = dict(_params(scope if query.base_scope is None else query.base_scope))
            whole_filters = _where(FMEAQuery(filters=query.base_filters), base, entries)
            [whole] = graph.read(AGGREGATE.format(filters=whole_filters, value=value), base)
            group.total = whole["n"]
        results.append(group)
    return results


# -- rendering -------------------------------------------------------------------------------------


def round1(value: float) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _singular(word: str) -> str:
    return re.sub(r"ies$", "y", word) if word.endswith("ies") else word.removesuffix("s")


def _plural(word: str) -> str:
    if not word or word.endswith("s"):
        return word
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _scope_name(scope: list[ScopeNode]) -> str:
    if not scope:
        return "the whole FMEA"
    return " and ".join(f"the {n.name}" for n in scope)


def _where_said(query: FMEAQuery) -> str:
    said = []
    for item in query.filters:
        if item.field in NUMERIC:
            words = {">": "above", ">=": "of at least", "<": "below", "<=": "of at most", "=": "of"}[item.op]
            said.append(f"{'an' if item.field == 'rpn' else 'a'} {LABEL[item.field]} {words} {_num(item.value)}")
        elif item.field == "recommended_action":
            said.append("no recommended action" if item.op == "has_no" else "a recommended action")
        elif item.field == "action_priority":
            said.append(f"action priority {item.value}")
        else:
            said.append(item.said or f"{LABEL.get(item.field, 'text')} mentioning '{' '.join(item.value or [])}'")
    return " and ".join(said)


def _path(row: dict[str, Any]) -> str:
    parts = [row.get("system"), row.get("equipment"), None if row.get("s_whole") else row.get("subunit"),
             None if row.get("c_whole") else row.get("component")]  # fmt: skip
    return " > ".join(p for p in parts if p)


def _row_line(row: dict[str, Any], fields: list[str], cite: str) -> str:
    shown = []
    for name in fields:
        value = row.get(name)
        if name == "path":
            continue
        if value not in (None, ""):
            shown.append(
                f"{LABEL.get(name, name)} {_num(value)}" if name in NUMERIC else f"{LABEL.get(name, name)}: {value}"
            )
        elif name not in NUMERIC:
            shown.append(f"{LABEL.get(name, name)}: none given")
    detail = ("; " + "; ".join(shown)) if shown else ""
    return f"- {row['failure_mode']} ({_path(row)}){detail} [{graph_id('FMEAEntry:' + row['id'])}] [{cite}]"


@dataclass
class Result:
    """The answer the query computed: cited text, and the FMEA entries it was computed from."""

    text: str
    entries: list[dict[str, Any]]
    ref: str


MAX_LISTED = 25
MAX_CITED = 6


def render(query: FMEAQuery, groups: list[Group], ref: str) -> str:
    cite = graph_id(ref)
    lines: list[str] = []
    if query.ambiguous:
        where = "; ".join(g.scope[0].path or g.scope[0].name for g in groups if g.scope)
        names = ", ".join(f"'{n}'" for n in query.ambiguous)
        lines.append(f"There are {len(groups)} {names}s in the FMEA ({where}); I answered for each. [{cite}]")
    for group in groups:
        if len(groups) > 1:
            lines.append(f"\n{group.scope[0].path or group.scope[0].name if group.scope else 'All'}:")
        lines += _render_group(query, group, cite)
    return "\n".join(lines).strip()


def _cites(rows: list[dict[str, Any]], cite: str) -> str:
    ids = [f"[{graph_id('FMEAEntry:' + r['id'])}]" for r in rows[:MAX_CITED]]
    return " ".join([f"[{cite}]", *ids])


def _render_group(query: FMEAQuery, group: Group, cite: str) -> list[str]:
    scope, rows = _scope_name(group.scope), group.rows
    where = _where_said(query)
    textual = any(f.op == "contains" for f in query.filters)
    with_where = (f" {where}" if textual else f" with {where}") if where else ""
    op = query.operation
    if op in ("children", "count_children"):
        label = (
            _plural(query.level_word)
            or {"Component": "parts", "Subunit": "sub-assemblies", "Equipment": "assemblies", "System": "systems"}[
                query.level or "Component"
            ]
        )
        names = list(dict.fromkeys(c["name"] for c in group.children))
        if not names:
            return [f"The FMEA lists no {label} under {scope}. [{cite}]"]
        return [f"{scope[0].upper() + scope[1:]} has {len(names)} {label} in the FMEA: {', '.join(names)}. [{cite}]"]
    if op == "group":
        kind, order = [*query.fields, "count", "desc"][:2]
        label = (
            _singular(query.level_word)
            or {"Component": "part", "Subunit": "sub-assembly", "Equipment": "assembly", "System": "system"}[
                query.level or "Component"
            ]
        )
        key = {"count": "n", "average": "mean", "max": "high"}[kind]
        ranked = sorted((g for g in group.groups if g.get(key) is not None),
                        key=lambda g: (-(g[key]) if order == "desc" else g[key], g["name"]))  # fmt: skip
        if not ranked:
            return [f"No failure modes{with_where} in {scope}. [{cite}]"]
        fmt = round1 if kind == "average" else _num
        top = ranked[0]
        best = [g for g in ranked if g[key] == top[key]]
        if kind == "count":
            head = f"The {label} with the {'most' if order == 'desc' else 'fewest'} failure modes: "
            found = [f"{g['name']} ({g['n']})" for g in best]
        else:
            measure = f"{'average ' if kind == 'average' else ''}{LABEL[query.field]}"
            head = f"The {label} with the {'highest' if order == 'desc' else 'lowest'} {measure}: "
            found = [f"{g['name']} ({measure} {fmt(g[key])}, over {g['n']} failure modes)" for g in best]
        lines = [head + ", ".join(found) + f". [{cite}]"]
        lines += [f"- {g['name']}: {fmt(g[key])} ({g['n']} failure modes) [{cite}]" for g in ranked[:MAX_LISTED]]
        return lines
    if query.unmatched and not rows:
        # Worded as a finding, not as a command: retrieved text is screened for injections.
        if group.scope:
            return [f"{_capital(scope)} has no failure mode named '{query.unmatched}': not found in the FMEA. [{cite}]"]
        return [f"The FMEA has no failure mode or part named '{query.unmatched}': not found. [{cite}]"]
    if op == "locate":
        lines = []
        for found in group.children:
            node = found["node"]
            lines.append(f"The {node.name} is at {node.path or node.name} in the FMEA's breakdown. [{cite}]")
            others = [c["name"] for c in found["siblings"] if c["id"] != node.id]
            parent_name = node.path.split(" > ")[-2] if " > " in (node.path or "") else ""
            if others and parent_name:
                lines.append(f"{parent_name} also has: {', '.join(others)}. [{cite}]")
        return lines
    if op == "count":
        n = group.figures.get("n", 0)
        lines = [f"{_capital(scope)} has {n} failure mode{'s' if n != 1 else ''}{with_where}. {_cites(rows, cite)}"]
        return lines + [_row_line(r, [], cite) for r in rows[:MAX_LISTED]]
    if op == "average":
        n, mean = group.figures.get("n", 0), group.figures.get("mean")
        if not n or mean is None:
            return [
                f"{scope[0].upper() + scope[1:]} has no failure mode{with_where} with a {LABEL[query.field]}. [{cite}]"
            ]
        return [f"The average {LABEL[query.field]} of the {n} failure modes of {scope}{with_where} is {round1(mean)} "
                f"(from {_num(group.figures['low'])} to {_num(group.figures['high'])}). "
                f"{_cites(rows, cite)}"]  # fmt: skip
    if op == "percentage":
        n, total = group.figures.get("n", 0), group.total or 0
        whole = _scope_name(query.base_scope) if query.base_scope is not None else scope
        if not total:
            return [f"{whole[0].upper() + whole[1:]} has no failure modes. [{cite}]"]
        share = round1(100.0 * n / total)
        of = " that have a recommended action" if query.base_filters else ""
        what = f"have {where}" if where else f"belong to {scope}"
        lines = [f"{share}% of the failure modes of {whole}{of} ({n} of {total}) {what}. {_cites(rows, cite)}"]
        return lines + [
            _row_line(r, [f.field for f in query.filters if f.field in NUMERIC], cite) for r in rows[:MAX_LISTED]
        ]
    if not rows:
        if query.entries and not group.scope:
            return [f"The FMEA has no such failure mode{with_where}. [{cite}]"]
        # "Failure modes of X with Y: none": the learned injection screen of retrieved text reads
        # "X has no failure mode with an RPN above 300" as an instruction and cuts it out.
        return [f"Failure modes of {scope}{with_where}: none (not found in the FMEA). [{cite}]"]
    if op in ("top", "bottom"):
        word = "highest" if op == "top" else "lowest"
        head = (f"The failure mode{'s' if len(rows) > 1 else ''} of {scope}{with_where} with the {word} "
                f"{LABEL[query.field]} ({_num(rows[0][query.field])}):")  # fmt: skip
        extra = [f for f in ("rpn", "severity", "occurrence", "detection") if f != query.field]
        return [f"{head} [{cite}]"] + [_row_line(r, [query.field, *extra], cite) for r in rows[:MAX_LISTED]]
    if op == "lookup":
        fields = [f for f in query.fields if f != "path"] or ["rpn", "severity", "occurrence", "detection"]
        return [_row_line(r, fields, cite) for r in rows[:MAX_LISTED]]
    shown = [f.field for f in query.filters if f.field in NUMERIC] or ["rpn"]
    head = f"{scope[0].upper() + scope[1:]} has {len(rows)} failure mode{'s' if len(rows) != 1 else ''}{with_where}:"
    more = f"\n(and {len(rows) - MAX_LISTED} more) [{cite}]" if len(rows) > MAX_LISTED else ""
    return [f"{head} [{cite}]"] + [_row_line(r, shown, cite) for r in rows[:MAX_LISTED]] + ([more] if more else [])


def answer(graph: Any, question: str, vocabulary: Vocabulary, embedder: Any = None,
           embedded: dict[str, Any] | None = None) -> tuple[FMEAQuery, Result]:  # fmt: skip
    query = parse(question, vocabulary)
    if embedder is not None:
        resolve_meaning(graph, query, embedder, embedded)
    groups = execute(graph, query)
    digest = hashlib.sha256(query.model_dump_json().encode()).hexdigest()[:12]
    ref = f"FMEAQuery:{digest}"
    text = render(query, groups, ref)
    rows = [r for g in groups for r in g.rows]
    return query, Result(text, rows, ref)


# -- the retriever ---------------------------------------------------------------------------------


class AnalyticsArgs(BaseModel):
    question: str


class FMEAAnalytics(Retriever[AnalyticsArgs]):
    """Exact answers over the FMEA records: the question parsed into a typed query and run."""

    name = "fmea_analytics"
    source = "graph"
    description = "Lookups, counts, averages, percentages, thresholds and rankings over the FMEA's failure modes."
    Args = AnalyticsArgs
    needs = ("graph",)
    vocabulary_seconds = 60.0  # a reloaded graph is seen within a minute

    def __init__(self, backends: Any) -> None:
        super().__init__(backends)
        self._vocabulary: tuple[float, Vocabulary] | None = None
        self._embedded: dict[str, Any] = {}  # entry texts' vectors, kept while the texts are unchanged

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"question": question.question}] if question.intent == "analytics" else []

    def vocabulary(self) -> Vocabulary:
        now = time.monotonic()
        if self._vocabulary is None or now - self._vocabulary[0] > self.vocabulary_seconds:
            self._vocabulary = (now, Vocabulary.read(self.backends.graph))
        return self._vocabulary[1]

    def run(self, args: AnalyticsArgs) -> list[Evidence]:
        vocabulary = self.vocabulary()
        if not vocabulary.modes:
            return []
        documents = self.backends.documents
        embedder = documents.embedder if documents is not None else None
        _, result = answer(self.backends.graph, args.question, vocabulary, embedder, self._embedded)
        evidence = [Evidence(graph_id(result.ref), "graph", result.text, "fmea_query")]
        for row in result.entries[:MAX_LISTED]:
            text = "; ".join(f"{LABEL.get(k, k)}: {_num(v)}" for k, v in row.items()
                             if v not in (None, "") and k in (*LABEL, ) and k != "failure_mode")  # fmt: skip
            evidence.append(Evidence(graph_id("FMEAEntry:" + row["id"]), "graph",
                                     f"{row['failure_mode']} ({_path(row)}): {text}", "fmea_row"))  # fmt: skip
        return evidence
