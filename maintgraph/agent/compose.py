"""The answer written from the evidence, without a model: what a technician would write.

Each evidence item becomes a sentence in plain words (an FMEA fact: the likely cause, the sensor
and its alarm and trip values, the fix; a work order: when, what was found and done; a part: how
many, where; a procedure: its name and the step that matters; a document: its sentences closest
to the question), grouped in the order the work is done: isolate first, then the likely causes
with what to check, what the documents say, the fixes, the parts, the records. Every sentence
cites the evidence it was written from, states only what that evidence's text holds (so the
citation check passes it, and a value the guards cut out of the text is never written back),
and is never cut inside a word. How much is shown follows the question: a lookup gets a few
sentences, a diagnosis about a phone screen; the rest stays in the evidence (``--show-evidence``,
the service's ``evidence`` field).

:func:`compose` returns the sentences, each with its evidence ids (what a model rewriting the
answer sentence by sentence keeps); :func:`render` writes them as the answer's text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

from maintgraph.agent.compose_reading import DIAGNOSIS_CHARS as DIAGNOSIS_CHARS
from maintgraph.agent.compose_reading import LOOKUP_CHARS as LOOKUP_CHARS
from maintgraph.agent.compose_reading import NAMED, Asked, Sentence, relevance, said
from maintgraph.agent.compose_reading import OVERVIEW_CHARS as OVERVIEW_CHARS
from maintgraph.agent.compose_reading import asked as asked
from maintgraph.agent.wording import clean, join, key_of, lead_in, lower_first, pieces, sentence
from maintgraph.agent.wording import stem as stem
from maintgraph.citations import CITATION, doc_id
from maintgraph.graph.communities import REPORT_SOURCE
from maintgraph.retrieval.base import Evidence
from maintgraph.retrieval.readings import TITLE as READING_CHECK

# The order a technician works in, and the heading each part is shown under (None: no heading).
SECTIONS: dict[str, str | None] = {
    "isolate": None,  # its heading cites the LOTO procedure (see isolation_lines)
    "reading": None,  # a reading in the question against its sensor's alarm and trip: what was asked
    "answer": None,
    "cause": "Most likely causes, and what to check:",
    "doc": "The documents say:",
    "fix": "The fix:",
    "part": "Parts:",
    "history": "Records:",
    "context": "Also on record:",
}
DOC_CHARS = 220  # a document's sentence, at most: a long table row is cut at its clauses
REPORT_EVIDENCE = doc_id(REPORT_SOURCE)  # GraphRAG's community reports: the plant-wide answer
REPORT_PRIOR = 2.0  # above any single document: a plant-wide question is answered by the reports first
STATUS = {"CLOSE": "closed", "COMP": "completed", "INPRG": "in progress", "WAPPR": "waiting for approval",
          "APPR": "approved, not started", "WMATL": "waiting for material", "CAN": "cancelled"}  # fmt: skip
COVERED = ("reading", "cause", "doc", "fix")  # what a question asking several things gets one of each, first
TYPES = {"CM": "corrective", "PM": "preventive", "PdM": "predictive", "INSP": "inspection", "EM": "emergency"}


# -- one evidence item -> sentences ---------------------------------------------------------------------


def sensor_clause(item: Evidence) -> str:
    sensor = key_of(said(item, "check_sensor") or "")
    if not sensor:
        return ""
    unit = said(item, "sensor_unit") or ""
    limits = [f"{word} {value}{' ' + unit if unit else ''}" for word, value in
              (("alarm", said(item, "sensor_alarm_high")), ("trip", said(item, "sensor_trip_high")))
              if value is not None]  # fmt: skip
    return f"check {sensor}" + (f" ({', '.join(limits)})" if limits else "")


def fmea_sentences(item: Evidence, question: Asked) -> list[Sentence]:
    """An FMEA entry: the likely cause and how it shows, the sensor and its limits; its fix."""
    component = said(item, "component_name") or ""
    mode = said(item, "mode_name") or said(item, "mode") or ""
    causes = said(item, "causes") or []
    what = " ".join(p for p in (component, lower_first(mode) if component else mode) if p)
    equipment = said(item, "equipment")
    if equipment and equipment not in what and any(n != equipment for n in question.names if "-" in n):
        what = f"{equipment} {lower_first(what)}"  # a driver's fault showing on the driven machine
    cause = lower_first(sentence("; ".join(c.rstrip(".") for c in causes), 200).rstrip(".")) if causes else ""
    text = f"{what}: {cause}" if what and cause else what or cause
    check = sensor_clause(item)
    body = sentence(text, 220).rstrip(".") + (f"; {check}" if check else "")
    action = said(item, "recommended_action")  # the fix, on the same line: one citation for the whole entry
    body = sentence(body, 500)
    if action:
        fix = sentence(action, 160)
        body = f"{body} Fix: {lower_first(fix)}" if body else f"Fix: {lower_first(fix)}"
    score = relevance(item.text, question) + (1.0 if question.intent == "diagnose" else 0.0)
    if question.modes:  # the failure mode the question names first, the others after the documents
        score += 2.0 if item.fields.get("mode") in question.modes else -1.0
    return [Sentence(body, (item.id,), "cause", score)]


def said_ref(item: Evidence, key: str) -> str:
    """A node reference field (``IsolationPoint:MCC1-07``) as its key, if the text states the key."""
    value = item.fields.get(key)
    return key_of(value) if isinstance(value, str) and value and key_of(value) in item.text else ""


def isolation_point(item: Evidence, full: bool = True) -> Sentence:
    """One isolation point as a step: where and how (``full``: also what it isolates, and what
    the point is), e.g. "MCC1-07: switch the breaker OFF, rack it out and lock it in OFF"."""
    point = said_ref(item, "isolation_point") or key_of(item.id)
    name, method = said(item, "isolation_name"), said(item, "method")
    energy = said(item, "energy_name")
    magnitude = said(item, "energy_magnitude") or said(item, "energy_kind")
    where = f"{point} ({lower_first(name)})" if name and full else point
    how = lower_first(method) if method else "isolate"
    text = f"{where}: {how}"
    if full and energy:
        text += f", for {lower_first(energy)}" + (f" ({magnitude})" if magnitude else "")
    return Sentence(sentence(text, 400), (item.id,), "isolate", 100.0, numbered=True)


def procedure_sentences(item: Evidence, question: Asked) -> list[Sentence]:
    """A job plan or a LOTO procedure: its name and the step closest to the question."""
    ref = key_of(item.fields.get("procedure") or item.fields.get("ref") or item.id.removeprefix("graph:"))
    name = said(item, "name") or ""
    steps = said(item, "steps") or []
    revision = said(item, "revision")
    title = f"{ref} ({name}{f', revision {revision}' if revision else ''})" if name else ref
    best = max(steps, key=lambda s: relevance(s, question), default="")
    score = relevance(item.text, question)
    if best and relevance(best, question) > 0:
        text = f"{title}; the step that matters: {lower_first(sentence(best))}"
    else:
        text = f"{title}, {len(steps)} steps" if steps else title
    return [Sentence(sentence(text, 400), (item.id,), "fix", score)]


def loto_steps(item: Evidence, question: Asked, most: int = 3) -> list[Sentence]:
    """A LOTO procedure without isolation points in the evidence: its steps that isolate, in order."""
    steps = said(item, "steps") or said(item, "loto_steps") or []
    isolating = [s for s in steps if re.search(r"(?i)\b(isolat|lock|earth|prove|verify|zero|bleed|vent|drain)", s)]
    return [Sentence(sentence(s), (item.id,), "isolate", 90.0, numbered=True) for s in (isolating or steps)[:most]]


def work_order_sentence(item: Evidence, question: Asked) -> Sentence:
    f = item.fields
    number, description = said(item, "number") or key_of(item.id), said(item, "description")
    when = said(item, "finished") or said(item, "reported")
    kind = TYPES.get(str(f.get("type")), "")
    status = STATUS.get(str(f.get("status")), "")
    code = said(item, "failure_code")
    head = " ".join(p for p in (str(when) if when else "", number) if p)
    about = ", ".join(p for p in (kind, status, f"code {code}" if code else "") if p)
    text = f"{head} ({about})" if about else head
    text += f": {description}" if description else ""
    return Sentence(sentence(text, 300), (item.id,), "history", relevance(item.text, question) + 0.5)


def history_sentence(item: Evidence, question: Asked) -> Sentence:
    tag = item.id.rsplit(":", 1)[-1]
    total, failures = said(item, "work_orders"), said(item, "corrective_failures")
    mtbf, mttr = said(item, "mtbf_days"), said(item, "mttr_hours")
    codes = item.fields.get("top_failure_codes") or []
    parts = [f"{tag} has {total} work orders on record"]
    if failures is not None:
        parts.append(f"{failures} of them corrective failures")
    if mtbf is not None:
        parts.append(f"MTBF {mtbf} days")
    if mttr is not None:
        parts.append(f"MTTR {mttr} hours")
    text = ", ".join(parts)
    top = [f"{c['code']} {c['count']}" for c in codes[:3] if isinstance(c, dict) and "code" in c and "count" in c]
    if top:
        text += f"; most frequent failure codes {join(top)}"
    return Sentence(sentence(text, 300), (item.id,), "history", relevance(item.text, question))


def pm_sentence(item: Evidence, question: Asked) -> Sentence:
    plan, description = key_of(item.id.removeprefix("wo:PM-PLAN:")), said(item, "description")
    every = said(item, "interval_days")
    meter, interval_meter = said(item, "meter"), said(item, "interval_meter")
    last, due = said(item, "last_done_at"), said(item, "next_due_at")
    text = f"PM {plan}" + (f" ({lower_first(description)})" if description else "")
    if every is not None:
        text += f" is due every {every} days"
    elif interval_meter is not None:
        unit = str(meter or "meter units").lower().replace("runhours", "running hours")
        text += f" is due every {interval_meter} {unit}"
    if last:
        text += f", last done {str(last)[:10]}"
    if due:
        text += f", next due {str(due)[:10]}"
    if item.fields.get("overdue") is True and "overdue: True" in item.text:
        text += ", and it is overdue"
    return Sentence(sentence(text, 300), (item.id,), "history", relevance(item.text, question) + 1.0)


def stock_sentence(item: Evidence, question: Asked) -> Sentence:
    number, name, store = said(item, "part_number"), said(item, "name"), said(item, "storeroom")
    on_hand, available = said(item, "on_hand"), said(item, "available")
    part = f"{number} ({lower_first(name)})" if number and name else number or name or key_of(item.id)
    where = f" in {store}" if store else ""
    if on_hand == 0 or (on_hand is None and available == 0):
        text = f"{part}: none in stock{where} (0 on hand)"
    elif on_hand is not None:
        free = f", {available} of them available" if available is not None and available != on_hand else ""
        text = f"{part}: {on_hand} on hand{where}{free}"
    else:
        text = f"{part}: stock{where} not given"
    parts = question.intent == "parts"  # the stock is the answer
    score = relevance(item.text, question)
    return Sentence(sentence(text, 300), (item.id,), "answer" if parts else "part",
                    score + (3.0 if parts and score > 0 else 1.0))  # fmt: skip


RELATIONS = {
    "HAS_EQUIPMENT": "{from_} includes {to}{name}",
    "OF_CLASS": "{from_} is of class {to}{name}",
    "DRIVES": "{from_} drives {to}",
    "HAS_COMPONENT": "{from_} has component {to}{name}",
    "HAS_PART": "{from_} takes {to}{name}",
    "MONITORS": "{from_} monitors {to}{name}",
    "ISOLATES": "{from_} isolates {to}{name}",
}


def relation_sentence(item: Evidence, question: Asked) -> Sentence | None:
    """A fact of an equipment's surroundings: "M-101 drives P-101", "P-101/BRG-DE takes BRG-6312-C3"."""
    relation = str(item.fields.get("relation"))
    if relation not in RELATIONS:  # a site's systems, a subunit: where, not what
        return None
    start, end = key_of(item.fields.get("from")), key_of(item.fields.get("to"))
    name = said(item, "name")
    if relation == "DRIVES":  # the name is the node cited, at either end
        cited = key_of(item.id.removeprefix("graph:"))
        if name:
            start, end = (f"{start} ({name})", end) if cited == start else (start, f"{end} ({name})")
        text = RELATIONS[relation].format(from_=start, to=end)
    else:
        text = RELATIONS[relation].format(from_=start, to=end, name=f" ({name})" if name else "")
    section = "answer" if question.intent in ("parts", "general") else "context"
    if relation == "HAS_PART" and question.wants_parts and section == "context":
        section = "part"  # "which kit do I order": the part the component takes is part of the answer
    weight = {"HAS_PART": 2.0 if question.wants_parts else 0.5, "DRIVES": 0.0, "MONITORS": 0.0}.get(relation, -1.0)
    return Sentence(sentence(text), (item.id,), section, relevance(item.text, question) + weight)


def part_sentence(item: Evidence, question: Asked) -> Sentence:
    """A part a fix needs, or a part found by name, or the same part fitted elsewhere."""
    part = key_of(said(item, "part") or said(item, "part_number") or item.id.removeprefix("graph:"))
    name = said(item, "part_name") or said(item, "name")
    named = f"{part} ({lower_first(name)})" if name else part
    other = said(item, "other_equipment")
    if other:
        where = said(item, "other_name")
        text = f"{named} is also fitted to {other}" + (f" ({lower_first(where)})" if where else "")
        return Sentence(sentence(text), (item.id,), "answer", relevance(item.text, question) + 1.0)
    quantity = said(item, "quantity")
    text = f"{named}" + (f", quantity {quantity}" if quantity is not None else "")
    procedure = key_of(said(item, "procedure") or "")
    text += f", for {procedure}" if procedure else ""
    return Sentence(sentence(text), (item.id,), "part", relevance(item.text, question) + (2.0 if question.wants_parts
                                                                                          else 1.0))  # fmt: skip


def document_sentences(item: Evidence, question: Asked, most: int = 2, rank_prior: float = 0.0) -> list[Sentence]:
    """A document chunk's sentence (or a table's row) closest to the question, and the next best
    when it is as close (or, for a question asking several things, half as close), in the
    document's order; a sentence naming nothing gets the one before it that says what it is
    about, a short one the next. Kept for when the answer has room: the sentences at least half as
    close, then those skipped, after and before."""
    found = pieces(item.text, DOC_CHARS)
    scored = [(relevance(p, question), i, p) for i, p in enumerate(found)]
    ranked = sorted((x for x in scored if x[0] > 0), key=lambda x: (-x[0], x[1]))
    floor = ranked[0][0] / 2 if ranked and question.several else ranked[0][0] if ranked else 0.0
    best = [x for x in ranked[:most] if x[0] >= floor] if ranked else scored[:1]
    chosen = sorted({x[1] for x in best})
    near = [i for s, i, _ in ranked if ranked and s >= ranked[0][0] / 2 and i not in chosen]
    about = [i - 1 for i in chosen if i > 0 and not NAMED.search(found[i]) and NAMED.search(found[i - 1])
             and len(found[i - 1]) < DOC_CHARS // 2]  # fmt: skip
    heads = [lead_in(found, i, DOC_CHARS // 2) for i in chosen]  # a table's row: what the table is
    chosen = sorted({*chosen, *about, *(j for j in heads if j is not None)})
    chosen = sorted({*chosen, *(i + 1 for i, j in pairwise(chosen) if j == i + 2)})  # no sentence skipped alone
    if len(chosen) < 3 and len(found[chosen[-1]]) < DOC_CHARS // 2 and chosen[-1] + 1 < len(found):
        chosen.append(chosen[-1] + 1)  # a short sentence last: the next one says what it is about
    quoted = tuple((i, sentence(found[i], DOC_CHARS)) for i in chosen)
    gaps = [i for i in range(chosen[0], chosen[-1]) if i not in chosen] if chosen else []  # what was skipped
    after = list(range(chosen[-1] + 1, min(len(found), chosen[-1] + 3))) if chosen else []
    before = list(range(chosen[0] - 1, max(-1, chosen[0] - 3), -1)) if chosen else []  # closest first
    more = tuple((i, sentence(found[i], DOC_CHARS)) for i in dict.fromkeys((*near, *gaps, *after, *before))
                 if i not in chosen)  # fmt: skip
    text = " ".join(t for _, t in quoted)
    score = max((s for s, _, _ in best), default=0.0)
    return [Sentence(text, (item.id,), "doc", score - 0.25 + rank_prior, quoted=quoted, more=more)] if text else []


def plain_text(item: Evidence, question: Asked) -> Sentence:
    """An item without fields (a replayed trace) or of no known shape: its text, made readable."""
    text = re.sub(r"\b[a-z]+_[a-z_]+:\s*", "", clean(CITATION.sub(" ", item.text)))
    text = re.sub(r"\[|\]|'", "", text)
    section = {"wo": "history", "doc": "doc"}.get(item.kind, "context")
    return Sentence(sentence(text), (item.id,), section, relevance(item.text, question))


def sentences_of(item: Evidence, question: Asked, rank: int = 0) -> list[Sentence]:
    """Everything ``item`` can say, in its own section, each with its score (``rank``: where its
    source ranked it, 0 first: the search's first hits count for a little more)."""
    f = item.fields
    if item.title == READING_CHECK:  # where the question's reading stands: the answer, first after isolation
        text = clean(item.text)
        return [Sentence(text if text.endswith((".", "!", "?")) else text + ".", (item.id,), "reading", 1000.0)]
    if item.id.startswith(REPORT_EVIDENCE):  # a plant-wide question's answer: the community reports lead
        return document_sentences(item, question, most=3, rank_prior=REPORT_PRIOR)
    if item.kind == "doc":
        return document_sentences(item, question, rank_prior=max(0.0, 1.0 - 0.5 * rank))
    if not f:
        return [plain_text(item, question)] if item.text.strip() else []
    if item.kind == "wo":
        if item.id.startswith("wo:HISTORY:"):
            return [history_sentence(item, question)]
        if item.id.startswith("wo:PM-PLAN:"):
            return [pm_sentence(item, question)]
        if item.id.startswith("wo:STOCK:"):
            return [stock_sentence(item, question)]
        if "number" in f:
            return [work_order_sentence(item, question)]
        return [plain_text(item, question)]
    if "isolation_point" in f:
        return [isolation_point(item, question.intent == "procedure")]
    if "causes" in f or "mode_name" in f:
        return fmea_sentences(item, question)
    if f.get("kind") == "hazard" and said(item, "hazard"):
        return [Sentence(sentence(f"Hazard: {said(item, 'hazard')}"), (item.id,), "fix", 0.5)]
    if f.get("kind") == "part" or "other_equipment" in f or ("part_number" in f and "relation" not in f):
        return [part_sentence(item, question)]
    if "relation" in f:
        found = relation_sentence(item, question)
        return [found] if found else []
    if "steps" in f or f.get("kind") == "procedure":
        if "LOTOProcedure" in item.id:
            return []  # said in the isolation block
        return procedure_sentences(item, question)
    return [plain_text(item, question)]


# -- the whole answer -------------------------------------------------------------------------------------


def is_loto(item: Evidence) -> bool:
    return "LOTOProcedure" in item.id


def isolation_block(evidence: Sequence[Evidence], question: Asked) -> list[Sentence]:
    """Isolate first: the LOTO procedure as the heading, then each isolation point in order (or,
    where the evidence holds no points, the procedure's isolating steps)."""
    procedures = [e for e in evidence if is_loto(e)]
    points = [e for e in evidence if "isolation_point" in e.fields]
    out: list[Sentence] = []
    cited = tuple(e.id for e in procedures[:1])
    if procedures:
        name = said(procedures[0], "name")
        ref = key_of(procedures[0].id.removeprefix("graph:"))
        named = f" ({lower_first(name)})" if name else ""  # what it isolates: "P-501 and its 3.3 kV motor M-501"
        heading = f"Isolate first, following {ref}{named}"
        out.append(Sentence(heading, cited, "isolate", 100.0))
    elif points:
        out.append(Sentence("Isolate first:", (), "isolate", 100.0))
    if points:

        def step(item: Evidence) -> tuple[str, str, int]:
            f, number = item.fields, item.fields.get("step")
            return str(f.get("loto")), str(f.get("energy_source")), number if isinstance(number, int) else 0

        full = question.intent == "procedure"  # a job: what each point isolates; a diagnosis: where and how
        out += [isolation_point(p, full) for p in sorted(points, key=step)]
        steps = said(procedures[0], "steps") or [] if procedures and question.intent == "procedure" else []
        listed = [said_ref(p, "isolation_point") for p in points]
        asked_about = [s for s in steps if relevance(s, replace(question, names=())) >= 1
                       and not any(k and k in s for k in listed)]  # fmt: skip
        if asked_about:  # "who may isolate it": the procedure's step that says
            best = max(asked_about, key=lambda s: relevance(s, question))
            out.append(Sentence(sentence(best), cited, "isolate", 100.0))
    elif procedures:
        out += loto_steps(procedures[0], question)
    return out


def compose(evidence: Sequence[Evidence], question: Asked) -> list[Sentence]:
    """The answer's sentences, in the order a technician works, within the question's budget."""
    everywhere = [n for n in question.names if sum(n.lower() in e.text.lower() for e in evidence) * 2 > len(evidence)]
    question = replace(question, common=tuple(everywhere))
    isolation = [e for e in evidence if is_loto(e) or "isolation_point" in e.fields]
    block = isolation_block(evidence, question) if question.physical and isolation else []
    candidates: list[Sentence] = []
    seen_text: set[str] = set()
    ranks: dict[str, int] = {}
    for item in evidence:
        rank = ranks[item.kind] = ranks.get(item.kind, -1) + 1
        if item in isolation:
            continue
        for s in sentences_of(item, question, rank):
            key = re.sub(r"\W+", " ", s.text.lower()).strip()
            if s.text and key not in seen_text:
                seen_text.add(key)
                candidates.append(s)
    used = sum(s.size for s in block)
    unnamed = replace(question, names=())  # a part is asked for by what it is ("which bearings"), not its asset
    parts = [s for s in candidates if s.section == "part"]
    asked_part = question.wants_parts and any(relevance(s.text, unnamed) > 0 for s in parts)
    cover = (("part",) if asked_part else ()) + COVERED if question.several else ()
    chosen = choose(candidates, max(question.budget - used, question.budget // 3), cover)
    return block + fill(chosen, question.budget - used)


def fill(chosen: list[Sentence], budget: int) -> list[Sentence]:
    """Room left in ``budget``: the sentences go on with what follows them in their source (a
    document's next sentences), one more sentence each in turn, closest first; whole sentences only."""
    room = budget - sum(s.size for s in chosen)
    out = list(chosen)
    going = sorted((i for i, s in enumerate(out) if s.more), key=lambda i: -out[i].score)
    for turn in range(max((len(s.more) for s in out), default=0)):
        for i in list(going):
            piece = chosen[i].more[turn] if turn < len(chosen[i].more) else None
            if piece is None or len(piece[1]) + 1 > room:  # a sentence that does not fit ends its turns
                going.remove(i)
                continue
            quoted = tuple(sorted((*out[i].quoted, piece)))  # in the source's order
            out[i] = replace(out[i], text=" ".join(t for _, t in quoted), quoted=quoted)
            room -= len(piece[1]) + 1
    return out


def choose(candidates: list[Sentence], budget: int, cover: tuple[str, ...] = ()) -> list[Sentence]:
    """The best sentences that fit ``budget`` characters (at least one), the best of each section
    in ``cover`` first (a question asking several things: each thing's answer), then in section
    order, each section keeping the evidence's own ranking."""
    ranked = sorted(range(len(candidates)), key=lambda i: (-candidates[i].score, i))
    firsts: list[int] = []
    for section in cover:  # the best of the section; parts (short, often several asked for) all as good, up to 3
        own = [i for i in ranked if candidates[i].section == section and candidates[i].score > 0]
        tied = [i for i in own if candidates[i].score >= candidates[own[0]].score] if own else []
        firsts += tied[:3] if section == "part" else tied[:1]
    ranked = list(dict.fromkeys([*firsts, *ranked]))
    picked: list[int] = []
    used = 0
    for i in ranked:
        size = candidates[i].size
        if picked and (used + size > budget or candidates[i].score <= 0 < candidates[picked[0]].score):
            continue
        picked.append(i)
        used += size
    order = list(SECTIONS)
    return [candidates[i] for i in sorted(picked, key=lambda i: (order.index(candidates[i].section), i))]


def render(sentences: Sequence[Sentence]) -> str:
    """The sentences as the answer: each section under its heading, a numbered step a line,
    every sentence with its citations."""
    blocks: list[list[str]] = []
    section, number = None, 0
    for s in sentences:
        if s.section != section:
            section, number = s.section, 0
            heading = SECTIONS.get(s.section)
            blocks.append([heading] if heading and not (s.section == "isolate") else [])
        if s.numbered:
            number += 1
            blocks[-1].append(f"{number}. {s.cited_text()}")
        else:
            blocks[-1].append(s.cited_text())
    return "\n\n".join("\n".join(lines) for lines in blocks if lines)


def pairs(sentences: Sequence[Sentence]) -> list[tuple[str, list[str]]]:
    """(sentence, evidence ids) for each sentence: what a model rewriting the answer keeps."""
    return [(s.text, list(s.cited)) for s in sentences]
