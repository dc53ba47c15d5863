"""A computed result as short sentences with its figures and the entries they came from."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from maintgraph.citations import graph_id
from maintgraph.retrieval.analytics.cypher import Group, execute, resolve_meaning
from maintgraph.retrieval.analytics.parser import parse
from maintgraph.retrieval.analytics.query import LABEL, NUMERIC, FMEAQuery, ScopeNode
from maintgraph.retrieval.analytics.vocabulary import Vocabulary


def round1(value: float) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def number_text(value: Any) -> str:
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
            said.append(f"{'an' if item.field == 'rpn' else 'a'} {LABEL[item.field]} {words} {number_text(item.value)}")
        elif item.field == "recommended_action":
            said.append("no recommended action" if item.op == "has_no" else "a recommended action")
        elif item.field == "action_priority":
            said.append(f"action priority {item.value}")
        else:
            said.append(item.said or f"{LABEL.get(item.field, 'text')} mentioning '{' '.join(item.value or [])}'")
    return " and ".join(said)


def hierarchy_path(row: dict[str, Any]) -> str:
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
                f"{LABEL.get(name, name)} {number_text(value)}"
                if name in NUMERIC
                else f"{LABEL.get(name, name)}: {value}"
            )
        elif name not in NUMERIC:
            shown.append(f"{LABEL.get(name, name)}: none given")
    detail = ("; " + "; ".join(shown)) if shown else ""
    return f"- {row['failure_mode']} ({hierarchy_path(row)}){detail} [{graph_id('FMEAEntry:' + row['id'])}] [{cite}]"


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
        fmt = round1 if kind == "average" else number_text
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
                f"(from {number_text(group.figures['low'])} to {number_text(group.figures['high'])}). "
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
                f"{LABEL[query.field]} ({number_text(rows[0][query.field])}):")  # fmt: skip
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
           embedded: dict[str, Any] | None = None,
           query: FMEAQuery | None = None) -> tuple[FMEAQuery, Result]:  # fmt: skip
    """The question's query (``query`` when the agent already judged one, else the parse), run and said."""
    query = query if query is not None else parse(question, vocabulary)
    if embedder is not None:
        resolve_meaning(graph, query, embedder, embedded)
    groups = execute(graph, query)
    digest = hashlib.sha256(query.model_dump_json().encode()).hexdigest()[:12]
    ref = f"FMEAQuery:{digest}"
    text = render(query, groups, ref)
    rows = [r for g in groups for r in g.rows]
    return query, Result(text, rows, ref)
