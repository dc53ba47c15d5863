"""Entity linking: free text -> graph nodes, ranked, ambiguity kept.

Technicians write "P101", "pump 101", "p-101 DE brg", "6310 bearing", "leaking", "VIB".
The linker builds aliases for every equipment tag (as written, compact, and "<class word>
<number>"), spare part number, ISO failure mode (code, name, synonyms), failure mechanism and
FMEA symptom, and for the asset hierarchy an FMEA sheet brought without tags (nodes with a
``path``: "Intercooler", "Gearbox" > "Shaft-driven oil pump") its names, alone and after
their parent's ("gearbox oil pump" needs no hyphen), then finds the longest alias matches in
the text; words that match nothing exactly are compared fuzzily (typos). A phrase that fits
several nodes equally well comes back
with all of them ranked and ``ambiguous`` set: the caller asks, it never silently picks.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from maintgraph.graph.base import GraphStore, NodeIdentity

MAX_NGRAM = 4
FUZZY_MIN = 88.0

# ISO 14224 class code -> the words people use for that kind of equipment.
CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "PU": ("pump",), "EM": ("motor", "electric motor"), "HE": ("heat exchanger", "exchanger", "hx", "cooler"),
    "VA": ("valve",), "AG": ("agitator", "mixer"), "VE": ("vessel", "pressure vessel"), "TA": ("tank",),
    "IC": ("transmitter", "instrument", "analyser", "analyzer"), "PI": ("pipe", "line"), "CR": ("crane",),
    "HB": ("heater", "boiler"), "IP": ("switch", "sensor"),
}  # fmt: skip


def normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@dataclass(frozen=True)
class Candidate(NodeIdentity):
    name: str
    score: float
    alias: str


@dataclass(frozen=True)
class Mention:
    text: str
    start: int  # token index in the normalised text
    end: int
    candidates: tuple[Candidate, ...]

    @property
    def ambiguous(self) -> bool:
        """Two nodes of the same kind fit about equally ("leaking": ELP or ELU). A failure mode
        and a failure mechanism both named "overheating" are two facts, not a doubt."""
        by_label: dict[str, list[float]] = defaultdict(list)
        for candidate in self.candidates:
            by_label[candidate.label].append(candidate.score)
        return any(len(scores) > 1 and scores[0] - scores[1] < 5 for scores in by_label.values())

    @property
    def best(self) -> Candidate | None:
        """The top candidate, or None when the mention is ambiguous (ask, do not pick)."""
        return None if self.ambiguous or not self.candidates else self.candidates[0]


@dataclass(frozen=True)
class _Entry:
    label: str
    key: str
    name: str


class EntityLinker:
    def __init__(self) -> None:
        self.aliases: dict[str, set[_Entry]] = defaultdict(set)

    def add(self, label: str, key: str, name: str, aliases: list[str]) -> None:
        entry = _Entry(label, key, name or key)
        for alias in aliases:
            normal = normalise(alias)
            if normal:
                self.aliases[normal].add(entry)
                self.aliases[normal.replace(" ", "")].add(entry)  # "p 101" and "p101"

    @classmethod
    def from_store(cls, store: GraphStore) -> EntityLinker:
        linker = cls()
        for row in store.read("MATCH (e:Equipment) RETURN e.tag AS key, e.name AS name, e.class_code AS cls"):
            tag, digits = row["key"], re.findall(r"\d+[a-z]?", row["key"].lower())
            words = [f"{word} {digits[-1]}" for word in CLASS_WORDS.get(row["cls"] or "", ())] if digits else []
            linker.add("Equipment", tag, row["name"], [tag, *words, *([row["name"]] if row["name"] else [])])
        for row in store.read("MATCH (p:SparePart) RETURN p.part_number AS key, p.name AS name"):
            linker.add("SparePart", row["key"], row["name"], [row["key"]])
        for row in store.read("MATCH (m:FailureMode) RETURN m.code AS key, m.name AS name, m.synonyms AS syn"):
            linker.add("FailureMode", row["key"], row["name"], [row["key"], row["name"], *(row["syn"] or [])])
        for row in store.read("MATCH (m:FailureMechanism) RETURN m.id AS key, m.name AS name, m.synonyms AS syn"):
            linker.add("FailureMechanism", row["key"], row["name"], [row["name"], *(row["syn"] or [])])
        for row in store.read("MATCH (s:Symptom) RETURN s.id AS key, s.name AS name"):
            linker.add("Symptom", row["key"], row["name"], [row["name"]])
        linker._add_hierarchy(store)
        linker._add_sensors(store)
        return linker

    def _add_sensors(self, store: GraphStore) -> None:
        """A sensor named by its id ("LDS-401 on the dosing pump") is about the equipment it monitors
        (directly or through one of its components): the id links to that equipment, whose graph
        facts hold the sensor's alarm and trip."""
        rows = store.read(
            "MATCH (s:Sensor)-[:MONITORS]->(e:Equipment) RETURN s.id AS sensor, e.tag AS tag, e.name AS name "
            "UNION MATCH (s:Sensor)-[:MONITORS]->(:Component)<-[:HAS_COMPONENT]-(:Subunit)<-[:HAS_SUBUNIT]-"
            "(e:Equipment) RETURN s.id AS sensor, e.tag AS tag, e.name AS name"
        )
        for row in rows:
            if row["sensor"] and row["tag"]:
                self.add("Equipment", row["tag"], row["name"] or "", [row["sensor"]])

    def _add_hierarchy(self, store: GraphStore) -> None:
        """Hierarchy nodes an FMEA sheet named (they have a ``path``; nodes standing for their parent
        "as a whole" are left out): by name, and by parent and name ("stage 1 compressor impeller")."""
        for label in ("System", "Equipment", "Subunit", "Component"):
            rows = store.read(
                f"MATCH (n:{label}) WHERE n.path IS NOT NULL AND n.as_a_whole IS NULL "
                "RETURN n.id AS id, n.tag AS tag, n.name AS name, n.path AS path"
            )
            for row in rows:
                key, name = row["tag"] if label == "Equipment" else row["id"], row["name"] or ""
                names = [p.strip() for p in str(row["path"]).split(" > ")]
                aliases = [name, re.sub(r"\s*\([^)]*\)", "", name)]
                if len(names) > 1:
                    aliases += [f"{names[-2]} {name}", f"{names[-2]} s {name}"]
                self.add(label, key, name, aliases)

    def _exact(self, phrase: str) -> list[Candidate]:
        entries = self.aliases.get(phrase, set()) | self.aliases.get(phrase.replace(" ", ""), set())
        return [Candidate(e.label, e.key, e.name, 100.0, phrase) for e in entries]

    def link(self, text: str, fuzzy: bool = True) -> list[Mention]:
        """Every entity mention in ``text``, longest match first, left to right. ``fuzzy=False``
        (for edited documents rather than technicians' shorthand) takes exact aliases only."""
        tokens = normalise(text).split()
        mentions: list[Mention] = []
        i = 0
        while i < len(tokens):
            for size in range(min(MAX_NGRAM, len(tokens) - i), 0, -1):
                phrase = " ".join(tokens[i : i + size])
                candidates = self._exact(phrase)
                if fuzzy and not candidates and size == 1 and len(phrase) >= 4 and not phrase.isdigit():
                    candidates = self._fuzzy(phrase)
                if candidates:
                    mentions.append(Mention(phrase, i, i + size, _rank(candidates)))
                    i += size
                    break
            else:
                i += 1
        return mentions

    def _fuzzy(self, phrase: str) -> list[Candidate]:
        hits = process.extract(phrase, list(self.aliases), scorer=fuzz.ratio, score_cutoff=FUZZY_MIN, limit=5)
        return [
            Candidate(e.label, e.key, e.name, round(score, 1), alias)
            for alias, score, _ in hits
            for e in self.aliases[alias]
        ]

    def resolve(self, text: str, label: str | None = None) -> list[Candidate]:
        """Candidates for one phrase (a tag, a part, a failure term), best first."""
        phrase = normalise(text)
        candidates = self._exact(phrase) or self._fuzzy(phrase)
        return _rank([c for c in candidates if label is None or c.label == label])

    def nearest(self, text: str, label: str = "Equipment", limit: int = 3) -> list[Candidate]:
        """The closest known entities of one kind, for "no such tag; did you mean ...?"."""
        keys = {e.key: e for entries in self.aliases.values() for e in entries if e.label == label}
        hits = process.extract(normalise(text), {k: normalise(k) for k in keys}, scorer=fuzz.ratio, limit=limit)
        return [Candidate(label, key, keys[key].name, round(score, 1), text) for _, score, key in hits]


# Among equally good matches, the more specific kind of entity ranks first.
_KIND_ORDER = ["Equipment", "Subunit", "Component", "System", "SparePart", "FailureMode", "Symptom", "FailureMechanism"]


def _rank(candidates: list[Candidate]) -> tuple[Candidate, ...]:
    best: dict[str, Candidate] = {}
    for candidate in candidates:
        if candidate.ref not in best or candidate.score > best[candidate.ref].score:
            best[candidate.ref] = candidate
    order = {label: i for i, label in enumerate(_KIND_ORDER)}
    return tuple(sorted(best.values(), key=lambda c: (-c.score, order.get(c.label, 99), c.key)))
