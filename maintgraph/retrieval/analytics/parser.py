"""The deterministic semantic parser: a question -> :class:`FMEAQuery`, with no model."""

from __future__ import annotations

import re

from maintgraph.retrieval.analytics.query import LEVELS, Filter, FMEAQuery, Level, ScopeNode
from maintgraph.retrieval.analytics.vocabulary import STOP, Vocabulary, tokens

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
                           r"|actions? (?:is|are) recommended|recommend(?:s|ed)?(?: doing)?(?: for| about)?"
                           r"|(?:is|are) recommended"),
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
