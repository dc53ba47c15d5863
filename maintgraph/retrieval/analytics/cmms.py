"""Questions about the CMMS's records themselves, answered exactly: "how many corrective work orders
did P-401 get", "the average labour time of an emergency work order", "which system has the most
corrective work", "what share of the work orders is preventive".

:func:`parse_cmms` reads the question with the CMMS's own vocabulary (its tags, systems, failure
codes in use, components) into a typed :class:`~maintgraph.tools.cmms_analytics.CMMSQuery`; no model
is needed. :mod:`maintgraph.tools.cmms_analytics` runs it as parameterised SQL; :func:`render` says
the figures in a sentence citing the computation and the work orders it counted.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel

from maintgraph.citations import TAG_IN_TEXT, wo_id
from maintgraph.retrieval.base import Evidence, Question, Retriever
from maintgraph.tools.cmms import OPEN_STATUSES
from maintgraph.tools.cmms_analytics import LISTED, CMMSQuery, WorkOrderFilter, run, vocabulary
from maintgraph.tools.postgres_cmms import PostgresCMMS

TITLE = "cmms_query"  # a computed CMMS answer: synthesis leads with it, as with "fmea_query"
RECORDS = re.compile(
    r"\b(work ?orders?|wos?|pm plans?|maintenance plans?|meter readings?|run ?hours|labou?r (hours|time)"
    r"|failure codes?|spare parts? (has been |were |was )?used|parts? used)\b",
    re.I,
)
ANALYTIC = re.compile(
    r"\b(how many|how much|number of|count|average|mean|on average|total|altogether|in total|most|least|rank\w*"
    r"|top \d+|share|percent\w*|proportion|fraction|which|what|when was|last|latest|list|show)\b",
    re.I,
)
TYPE_WORDS = {"CM": r"correctives?|\bCM\b|breakdowns?|repairs?", "EM": r"emergenc\w*|\bEM\b",
              "PM": r"preventive|preventative|\bPM\b(?! plans?)", "CAL": r"calibrations?|\bCAL\b",
              "INSP": r"inspections?|\bINSP\b", "PdM": r"predictive|condition[- ]based|\bPdM\b"}  # fmt: skip
STATUS_CODES = ("WAPPR", "APPR", "WMATL", "WSCH", "INPRG", "COMP", "CLOSE", "CAN")
STATUS_WORDS = [(OPEN_STATUSES, r"\b(still )?open\b|\boutstanding\b|\bnot (yet )?(closed|complete)"),
                (("WAPPR",), r"waiting (for )?approval|awaiting approval|unapproved"),
                (("INPRG",), r"in progress|under way|being worked"),
                (("WMATL",), r"waiting (for |on )?(material|parts)"),
                (("CAN",), r"cancell?ed"), (("CLOSE", "COMP"), r"\b(closed|completed|finished|done)\b")]  # fmt: skip
NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
TYPE_NAMES = {"CM": "corrective", "EM": "emergency", "PM": "preventive", "CAL": "calibration", "INSP": "inspection",
              "PdM": "predictive"}  # fmt: skip
GROUP_WORDS = {"system": "plant system|system|area", "component": "components?",
               "problem_code": "failure codes?|codes?|failure modes?", "asset_tag": "equipment|assets?|tags?|pumps?|"
               "machines?|units?|items?"}  # fmt: skip


class Vocabulary(BaseModel):
    tags: list[str] = []
    systems: list[str] = []
    codes: dict[str, str] = {}  # code -> description
    components: list[str] = []


class Parsed(BaseModel):
    query: CMMSQuery
    unknown_tags: list[str] = []
    listing: bool = False  # "... and which are they?": name them as well as count them


def is_cmms_analytic(question: str) -> bool:
    """Does the question ask about the CMMS's records as data (a count, a total, a ranking)?"""
    return bool(RECORDS.search(question) and ANALYTIC.search(question))


def _types(text: str) -> list[str]:
    return [code for code, words in TYPE_WORDS.items() if re.search(words, text, re.I)]


def _statuses(question: str) -> list[str]:
    explicit = [s for s in STATUS_CODES if re.search(rf"\b{s}\b", question)]
    if explicit:
        return explicit
    for statuses, words in STATUS_WORDS:  # the first reading wins: "still open (not closed)" is open
        if re.search(words, question, re.I):
            return list(statuses)
    return []


def _systems(question: str, systems: list[str]) -> list[str]:
    text = question.lower()
    return [s for s in systems if re.search(rf"\b{re.escape(s.lower())}\b", text)]


def _codes(question: str, codes: dict[str, str]) -> list[str]:
    found = [c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", question)]
    found += [c for c, description in codes.items() if c not in found and len(description) > 6
              and description.lower() in question.lower()]  # fmt: skip
    return found


def _limit(question: str) -> int | None:
    if m := re.search(r"\b(?:top|the|rank(?: the)?|first)\s+(\d+|two|three|four|five|six|seven|eight|nine|ten)\b",
                      question, re.I):  # fmt: skip
        return int(NUMBER_WORDS.get(m.group(1).lower(), m.group(1)))
    return None


def _group(question: str, after: int = 0) -> str | None:
    """What a ranking counts by: the first group word after the ranking word."""
    hits = [(m.start(), key) for key, words in GROUP_WORDS.items()
            for m in re.finditer(rf"\b(?:{words})\b", question[after:], re.I)]  # fmt: skip
    return min(hits)[1] if hits else None


def parse_cmms(question: str, period: tuple[str, str] | None, words: Vocabulary) -> Parsed:
    known = set(words.tags)
    named = [t for t in words.tags if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", question)]
    tags = list(dict.fromkeys(named + TAG_IN_TEXT.findall(question)))
    unknown = [t for t in tags if t not in known]
    codes = _codes(question, words.codes)
    types = _types(re.sub(r"\((?:[^)]*)\)", " ", question) if not codes else question)
    types = [t for t in types if t not in codes]
    scope = WorkOrderFilter(
        tags=[t for t in tags if t in known],
        systems=_systems(question, words.systems),
        period=(date.fromisoformat(period[0]), date.fromisoformat(period[1])) if period else None,
        components=[c for c in words.components if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", question)],
    )
    rest = WorkOrderFilter(wo_types=types, statuses=_statuses(question), failure_codes=codes,
                           has_failure_code=True if re.search(r"\b(carr\w+|has|have|with) an? failure code",
                                                              question, re.I) else None)  # fmt: skip
    listing = bool(re.search(r"\bwhich (are they|ones|equipment|assets?|work orders)\b|\blist\b", question, re.I))
    text = question.lower()
    query = CMMSQuery(scope=scope)
    if re.search(r"\bpm plans?|maintenance plans?|\bintervals?\b", text) and scope.tags:
        query.operation = "pm_plans"
    elif re.search(r"\brun ?hours\b|\bmeters?\b", text) and scope.tags and not re.search(r"\bwork ?orders?\b", text):
        query.operation = "meter"
    elif re.search(r"\b(spare )?parts?\b.{0,40}\b(used|consumed)\b|\bmost used (spare )?parts?\b", text):
        query.operation, query.limit = "parts_used", _limit(question) or 1
    elif re.search(r"\b(percent\w*|share|proportion|fraction|what part of)\b", text):
        query.operation, query.part = "percentage", rest
        return Parsed(query=query, unknown_tags=unknown, listing=listing)
    elif m := re.search(r"\b(most|least|rank\w*|top \d+|highest number|largest number|most frequent|most common)\b",
                        text):  # fmt: skip
        group = _group(question) if re.match(r"rank|top", m.group(1)) else _group(question[: m.start()])
        group = group or _group(question, m.end()) or "asset_tag"
        query.operation, query.group_by, query.limit = "top", group, _limit(question) or 1
    elif re.search(r"\bhow many times each\b|\band how many times\b|\bby (failure )?code\b|\bper (failure )?code\b",
                   text):  # fmt: skip
        query.operation, query.group_by = "group", _group(question) or "problem_code"
    elif re.search(r"\b(average|mean|on average)\b", text):
        query.operation = "average"
        if re.search(r"\bhow long\b|report(ed)? to finish|from report|turnaround|duration|to complete", text):
            query.measure = "repair_hours"
    elif re.search(r"\b(labou?r|man)[- ]?(hours|time)\b|\bhours\b.{0,30}\b(booked|spent|went|total)", text):
        query.operation = "sum"
    elif re.search(r"\b(when was|when did|last|latest|most recent)\b", text) and not re.search(r"\bhow many\b", text):
        query.operation = "latest"
    elif re.search(r"\b(how many|number of|count)\b", text):
        query.operation = "count"
    else:
        query.operation = "list"
    query.scope = scope.model_copy(update=rest.model_dump(exclude_defaults=True))
    return Parsed(query=query, unknown_tags=unknown, listing=listing)


# -- the answer --------------------------------------------------------------------------------


def _fig(value: Any) -> str:
    number = Decimal(str(value))
    return str(number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _int(value: Any) -> str:
    number = Decimal(str(value))
    return str(int(number)) if number == number.to_integral() else _fig(number)


def _kind(f: WorkOrderFilter) -> str:
    """'corrective (CM) or emergency (EM) ' for the types asked about."""
    return " or ".join(f"{TYPE_NAMES[t]} ({t})" for t in f.wo_types) + (" " if f.wo_types else "")


def _where(f: WorkOrderFilter, said_tags: bool = True) -> str:
    parts = []
    if f.statuses:
        parts.append("with status " + " or ".join(f.statuses))
    if f.failure_codes:
        parts.append("coded " + " or ".join(f.failure_codes))
    if f.has_failure_code:
        parts.append("with a failure code")
    if f.components:
        parts.append("on component " + " or ".join(f.components))
    if said_tags and f.tags:
        parts.append("on " + " and ".join(f.tags))
    if f.systems:
        parts.append("on the " + " and ".join(f.systems) + " system's equipment")
    if f.period:
        last = date.fromordinal(f.period[1].toordinal() - 1)
        parts.append(f"reported between {f.period[0].isoformat()} and {last.isoformat()}")
    return (" " + " ".join(parts)) if parts else ""


def _work_orders(n: int) -> str:
    return f"{n} work order{'s' if n != 1 else ''}"


def _numbers(numbers: list[str]) -> str:
    if not numbers:
        return ""
    shown = ", ".join(numbers[:LISTED])
    return f" Counted: {shown}" + (f" and {len(numbers) - LISTED} more." if len(numbers) > LISTED else ".")


def render(parsed: Parsed, result: dict[str, Any], cite: str, codes: dict[str, str]) -> str:
    query, scope = parsed.query, parsed.query.scope
    op, tail = query.operation, f" [{cite}]"
    what = f"{_kind(scope)}work orders{_where(scope)}"
    if op == "count":
        rows = result["rows"]
        if not rows:
            return f"There are no {what} in the CMMS (0 work orders).{tail}"
        text = f"There {'is' if len(rows) == 1 else 'are'} {len(rows)} {what}."
        if len(rows) <= LISTED:
            listed = "; ".join(f"{r['number']} on {r['asset_tag']} ({r['wo_type']}, {r['status']})" for r in rows)
            equipment: dict[str, int] = {}
            for r in rows:
                equipment[r["asset_tag"]] = equipment.get(r["asset_tag"], 0) + 1
            on = ", ".join(f"{tag} ({n})" for tag, n in equipment.items())
            text += f" They are {listed}; by equipment: {on}."
        else:
            text += _numbers([r["number"] for r in rows])
        return text + tail
    if op == "list":
        rows = result["rows"]
        if not rows:
            return f"There are no {what} in the CMMS.{tail}"
        listed = "; ".join(f"{r['number']} on {r['asset_tag']} ({r['wo_type']}, {r['status']}): {r['description']}"
                           for r in rows[:LISTED])  # fmt: skip
        more = f" And {len(rows) - LISTED} more." if len(rows) > LISTED else ""
        return f"{len(rows)} {what}: {listed}.{more}{tail}"
    if op in ("sum", "average"):
        measured, n = result["measured"], result["n"]
        if not n:
            return f"There are no {what} in the CMMS.{tail}"
        if not measured:
            return f"None of the {_work_orders(n)} ({what}) has {query.measure.replace('_', ' ')} recorded.{tail}"
        if query.measure == "repair_hours":
            return (f"On average the {what} took {_fig(result['mean'])} hours from report to finish "
                    f"({measured} of {n} with both times recorded).{_numbers(result['numbers'])}{tail}")  # fmt: skip
        if op == "sum":
            return (f"The {what} booked {_fig(result['total'])} labour hours in total ({measured} of {n} "
                    f"with hours recorded).{_numbers(result['numbers'])}{tail}")  # fmt: skip
        return (f"The average labour time of the {what} is {_fig(result['mean'])} hours ({_fig(result['total'])} h "
                f"over the {measured} of {n} with hours recorded).{_numbers(result['numbers'])}{tail}")  # fmt: skip
    if op == "percentage":
        whole, part = result["whole"], result["part"]
        base = f"work orders{_where(scope)}"
        if not whole:
            return f"There are no {base} in the CMMS.{tail}"
        part_filter = query.part or WorkOrderFilter()
        said = f"are {_kind(part_filter).strip()}" if part_filter.wo_types else "are"
        said += _where(part_filter, said_tags=False)
        said = said.replace("are with a failure code", "carry a failure code")
        share = _fig(100.0 * part / whole)
        return f"{share}% of the {base} ({part} of {whole}) {said.strip()}.{tail}"
    if op in ("top", "group"):
        rows = result["rows"]
        by = {"asset_tag": "equipment", "system": "system", "problem_code": "failure code",
              "component": "component"}[query.group_by or "asset_tag"]  # fmt: skip
        if not rows:
            return f"There are no {what} with a {by} in the CMMS.{tail}"

        def name(row: dict[str, Any]) -> str:
            key = row["key"]
            return f"{key} ({codes[key]})" if query.group_by == "problem_code" and key in codes else str(key)

        counts = "; ".join(f"{name(r)}: {r['n']}" for r in rows[:LISTED])
        if op == "group":
            return f"The {what} by {by}: {counts}.{tail}"
        if len(rows) == 1:
            return f"{name(rows[0])} has the most {what}: {rows[0]['n']}.{tail}"
        plural = {"equipment": "pieces of equipment", "system": "systems", "failure code": "failure codes",
                  "component": "components"}[by]  # fmt: skip
        return f"The {len(rows)} {plural} with the most {what}: {counts}.{tail}"
    if op == "parts_used":
        rows = result["rows"]
        if not rows:
            return f"No spare part is recorded as used on the {what}.{tail}"
        listed = "; ".join(f"{r['key']}: {_int(r['n'])} used on {_work_orders(len(r['numbers']))}" for r in rows)
        return f"The most used spare part{'s' if len(rows) > 1 else ''} on the {what}: {listed}.{tail}"
    if op == "pm_plans":
        rows = result["rows"]
        if not rows:
            return f"{' and '.join(scope.tags)} has no PM plan in the CMMS.{tail}"
        listed = []
        for r in rows:
            meter = "run hours" if r["meter"] == "RUNHOURS" else r["meter"]
            every = (
                f"every {r['interval_days']} days"
                if r["interval_days"]
                else f"every {_int(r['interval_meter'])} {meter}"
            )
            listed.append(f"{r['id']} ({r['description']}; {r['wo_type']}, {every})")
        plans = f"{len(rows)} PM plan{'s' if len(rows) > 1 else ''}"
        return f"{' and '.join(scope.tags)} has {plans}: {'; '.join(listed)}.{tail}"
    if op == "meter":
        rows = result["rows"]
        if not rows:
            return f"{' and '.join(scope.tags)} has no meter readings in the CMMS.{tail}"
        lines = []
        for r in rows:
            unit = f" {r['unit']}" if r["unit"] else ""
            lines.append(f"{r['asset_tag']}'s {r['name']} meter read {_int(r['first_value'])}{unit} on "
                         f"{r['first_at'].date().isoformat()} and {_int(r['last_value'])}{unit} on "
                         f"{r['last_at'].date().isoformat()}: {_int(r['last_value'] - r['first_value'])}{unit} "
                         f"between its {r['readings']} readings")  # fmt: skip
        return "; ".join(lines) + "." + tail
    rows = result["rows"]  # latest
    if not rows:
        return f"There is no {what.replace('work orders', 'work order')} in the CMMS.{tail}"
    r = rows[0]
    when = (r["finished_at"] or r["reported_at"]).date().isoformat()
    return (f"The last {_kind(scope)}work order{_where(scope)} is {r['number']} ({r['status']}, "
            f"{'finished' if r['finished_at'] else 'reported'} {when}): {r['description']}.{tail}")  # fmt: skip


# -- the retriever -------------------------------------------------------------------------------


class CMMSAnalyticsArgs(BaseModel):
    question: str
    period: tuple[str, str] | None = None
    failure_terms: tuple[str, ...] = ()  # what entity linking found: a query must account for each


class CMMSAnalytics(Retriever[CMMSAnalyticsArgs]):
    """Exact answers over the CMMS records: the question parsed into a typed query, run as SQL."""

    name = "cmms_analytics"
    source = "cmms"
    description = "Counts, totals, averages, shares and rankings of work orders, PM plans, meters and parts used."
    Args = CMMSAnalyticsArgs
    needs = ("cmms",)
    vocabulary_seconds = 60.0

    def __init__(self, backends: Any) -> None:
        super().__init__(backends)
        self._vocabulary: tuple[float, Vocabulary] | None = None

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        if question.intent not in ("analytics", "history", "parts", "general") or not is_cmms_analytic(
            question.question
        ):
            return []
        terms = tuple(c.key for c in question.failure_terms)
        return [{"question": question.question, "period": question.period, "failure_terms": terms}]

    def _backend(self) -> PostgresCMMS | None:
        backend = getattr(self.backends.cmms, "backend", None)
        return backend if isinstance(backend, PostgresCMMS) else None  # a REST CMMS has no SQL to run

    def vocabulary(self, backend: PostgresCMMS) -> Vocabulary:
        now = time.monotonic()
        if self._vocabulary is None or now - self._vocabulary[0] > self.vocabulary_seconds:
            with backend.connect() as conn:
                read = vocabulary(conn)
            codes = dict(line.split("\t", 1) for line in read.pop("codes"))
            self._vocabulary = (now, Vocabulary(codes=codes, **read))
        return self._vocabulary[1]

    def run(self, args: CMMSAnalyticsArgs) -> list[Evidence]:
        backend = self._backend()
        if backend is None:
            return []
        words = self.vocabulary(backend)
        parsed = parse_cmms(args.question, args.period, words)
        if any(term not in parsed.query.scope.failure_codes for term in args.failure_terms):
            # "how many times has the DE bearing failed": a failure the query cannot express by a
            # code; an exact figure for a broader question would mislead, the history answers it
            return []
        digest = hashlib.sha256(parsed.model_dump_json().encode()).hexdigest()[:12]
        cite = wo_id("QUERY", digest)
        if parsed.unknown_tags and not parsed.query.scope.tags:
            near = ", ".join(_nearest(tag, words.tags) for tag in parsed.unknown_tags)
            text = (f"{' and '.join(parsed.unknown_tags)} is not in the CMMS: no work orders are recorded for it "
                    f"(nearest tags: {near}). [{cite}]")  # fmt: skip
            return [Evidence(cite, "wo", text, TITLE)]
        with backend.connect() as conn:
            result = run(conn, parsed.query)
        text = render(parsed, result, cite, words.codes)
        if parsed.unknown_tags:
            text += f"\n{' and '.join(parsed.unknown_tags)} is not in the CMMS. [{cite}]"
        return [Evidence(cite, "wo", text, TITLE)]


def _nearest(tag: str, tags: list[str]) -> str:
    prefix = re.match(r"[A-Z]+", tag)
    same = [t for t in tags if prefix and t.startswith(prefix.group(0) + "-")]
    return ", ".join(sorted(same, key=lambda t: abs(_digits(t) - _digits(tag)))[:3]) or "none alike"


def _digits(tag: str) -> int:
    found = re.findall(r"\d+", tag)
    return int(found[0]) if found else 0
