"""Evidence and citations: what an answer may say is decided by what was retrieved.

Every fact the agent retrieves becomes an :class:`Evidence` with an id the answer cites:
``doc:<chunk id>``, ``graph:<node or path ref>``, ``wo:<work-order number>``. After the model
has phrased the answer, :func:`check_citations` keeps each sentence whose citations are all in
the evidence, removes sentences that cite something never retrieved, and removes uncited
sentences that state a fact (a number or an equipment tag), then says what was removed, so
that a small model cannot slip an invented fact into an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from maintgraph.guardrails.grounded import CITATION, FACTUAL
from maintgraph.ingest.chunking import split_sentences


@dataclass(frozen=True)
class Evidence:
    id: str  # doc:<chunk>, graph:<ref>, wo:<number>
    kind: Literal["doc", "graph", "wo"]
    text: str
    title: str = ""


@dataclass
class CitationCheck:
    answer: str  # what may be shown: the kept sentences, plus a note on what was removed
    kept: list[str] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (sentence, why)
    cited: list[str] = field(default_factory=list)  # evidence ids the kept answer cites, in order

    @property
    def grounded(self) -> bool:
        return not self.removed


def check_citations(answer: str, evidence: list[Evidence]) -> CitationCheck:
    known = {e.id for e in evidence}
    check = CitationCheck(answer="")
    for paragraph in answer.split("\n"):
        kept_here = []
        for sentence in split_sentences(paragraph) if paragraph.strip() else []:
            ids = CITATION.findall(sentence)
            missing = [i for i in ids if i not in known]
            if missing:
                check.removed.append((sentence, f"cites {', '.join(missing)}, which was not retrieved"))
            elif not ids and FACTUAL.search(sentence):
                check.removed.append((sentence, "states a fact without a citation"))
            else:
                kept_here.append(sentence)
                check.cited += [i for i in ids if i not in check.cited]
        check.kept += kept_here
        check.answer += " ".join(kept_here) + "\n" if kept_here else ""
    check.answer = check.answer.strip()
    if check.removed:
        check.answer += (f"\n\n({len(check.removed)} statement(s) left out: the evidence retrieved does not "
                         "support them.)")  # fmt: skip
    return check


# -- evidence from what the retrieval nodes return ---------------------------------------------------


def render_fields(row: dict[str, Any]) -> str:
    """A record as ``key: value; ...`` text, empty values left out."""
    return "; ".join(f"{key}: {value}" for key, value in row.items() if value not in (None, "", [], {}))


def from_search_hits(hits: list[Any]) -> list[Evidence]:
    """Document-search hits (``SearchHit``) -> one evidence per chunk, cited by chunk id."""
    return [
        Evidence(f"doc:{hit.chunk_id}", "doc", hit.text, " > ".join([hit.title, *hit.heading_path])) for hit in hits
    ]


def from_graph_result(result: Any) -> list[Evidence]:
    """A graph query's facts (``QueryResult``) -> one evidence per fact, cited by the node the
    fact is about (an FMEA entry, a related node), rendered as ``key: value`` text."""
    evidence: dict[str, Evidence] = {}
    anchor = f"Equipment:{result.params.get('tag')}"
    for fact in result.facts:
        if isinstance(fact.get("from"), str) and isinstance(fact.get("to"), str):
            # A relation of the asset asked about is cited by the node at its other end.
            ref = fact["from"] if fact["to"] == anchor else fact["to"]
        else:
            ref = next((fact[key] for key in GRAPH_REF_KEYS if isinstance(fact.get(key), str)), None)
        if ref is None:
            continue
        text = render_isolation(fact) if "isolation_point" in fact and "energy_name" in fact else render_fact(fact)
        evidence.setdefault(f"graph:{ref}", Evidence(f"graph:{ref}", "graph", text, result.name))
    return list(evidence.values())


# What a technician reads first in a graph fact: the failure, its cause and the sensor to check.
LEADING_KEYS = (
    "equipment", "component_name", "mode", "mode_name", "symptoms", "causes", "check_sensor", "sensor_name",
    "sensor_unit", "sensor_alarm_high", "sensor_trip_high", "recommended_action",
)  # fmt: skip


def render_fact(fact: dict[str, Any]) -> str:
    """A graph fact as ``key: value`` text, leading with what matters (the FMEA entry's own id is
    left out: it is the citation)."""
    first = {key: fact[key] for key in LEADING_KEYS if key in fact}
    rest = {key: value for key, value in fact.items() if key not in first and key != "fmea"}
    return render_fields({**first, **rest})


def render_isolation(fact: dict[str, Any]) -> str:
    """An isolation point as a technician reads it: what energy, where, how."""
    point = fact["isolation_point"].split(":", 1)[-1]
    source = fact.get("energy_source", "").rsplit("/", 1)[-1]  # E1: the LOTO procedure's own energy-source id
    return (f"{fact.get('loto', '').split(':', 1)[-1]} {source} point {fact.get('step') or '-'}: isolate "
            f"{fact['energy_name']} "
            f"({fact.get('energy_magnitude') or fact.get('energy_kind') or '-'}) at {point} "
            f"{fact.get('isolation_name') or ''}: {fact.get('method') or '-'}")  # fmt: skip


def from_work_orders(rows: list[dict[str, Any]]) -> list[Evidence]:
    """CMMS tool results (``search_work_orders``, ``open_work_orders``) -> one evidence per work order."""
    return [
        Evidence(
            f"wo:{row['number']}",
            "wo",
            f"{row['number']} on {row['asset']}: {row['type']} {row['status']}, reported {row['reported'] or '-'}, "
            f"finished {row['finished'] or '-'}, code {row['failure_code'] or '-'}: {row['description']}",
            f"work order {row['number']}",
        )
        for row in rows
    ]


# The key of a graph fact that names the node it is about, most specific first: an isolation point
# rather than its LOTO procedure, the other equipment's component rather than the shared part.
GRAPH_REF_KEYS = ("fmea", "isolation_point", "other_component", "part", "procedure", "ref", "cause", "component")
