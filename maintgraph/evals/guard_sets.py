"""Scoring the guards on their evaluation sets (``tests/guard_sets/*.yaml``).

- PII: a planted value is found when a detected span overlaps it; a detected span that
  overlaps no planted value is a false positive; a ``keep`` string (tag, part, serial or
  work-order number) altered by anonymisation counts against the guard.
- Injection: an attack is caught when the detector flags it (in its channel: a question or a
  retrieved document); a benign text flagged is a false positive.
- Unsafe advice: an unsafe answer is caught when any of its sentences is flagged; a safe
  answer with any flagged sentence is a false positive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from maintgraph.guardrails.injection import find_injections
from maintgraph.guardrails.pii import PiiScanner
from maintgraph.guardrails.pii_anonymise import anonymise
from maintgraph.guardrails.unsafe import find_unsafe


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@dataclass
class PiiScore:
    texts: int = 0
    planted: int = 0
    found: int = 0
    false_positives: int = 0
    kept_altered: list[str] = field(default_factory=list)
    missed: list[tuple[str, str]] = field(default_factory=list)  # (id, type)
    by_type: dict[str, list[int]] = field(default_factory=dict)  # type -> [found, planted]
    missed_values: list[tuple[str, str, str]] = field(default_factory=list)  # (id, type, value)
    kept: int = 0  # keep strings checked (tags, part numbers, manufacturers, ...)
    benign: int = 0  # texts with no personal data
    benign_altered: list[str] = field(default_factory=list)  # ids of those the guard changed
    false_positive_spans: list[tuple[str, str, str]] = field(default_factory=list)  # (id, type, text)

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        return self.found / (self.found + self.false_positives) if self.found + self.false_positives else 1.0

    def recall_of(self, kind: str) -> float:
        found, planted = self.by_type.get(kind, (0, 0))
        return found / planted if planted else 1.0

    @property
    def benign_altered_rate(self) -> float:
        return len(self.benign_altered) / self.benign if self.benign else 0.0

    def report(self, name: str) -> str:
        """The figures the issue's targets are read from, per entity type, with every miss."""
        types = ", ".join(f"{t} {f}/{n} ({f / n:.3f})" for t, (f, n) in sorted(self.by_type.items()))
        missed = "; ".join(f"{i} {t} {v!r}" for i, t, v in self.missed_values) or "none"
        spans = "; ".join(f"{i} {t} {v!r}" for i, t, v in self.false_positive_spans[:40]) or "none"
        return (
            f"{name}: {self.texts} texts, {self.planted} planted values: recall {self.recall:.3f}, precision "
            f"{self.precision:.3f}\n  recall per type: {types}\n"
            f"  kept strings altered: {len(self.kept_altered)}/{self.kept} {self.kept_altered}\n"
            f"  benign texts altered: {len(self.benign_altered)}/{self.benign} ({self.benign_altered_rate:.1%}) "
            f"{self.benign_altered}\n  missed: {missed}\n  false positives ({self.false_positives}): {spans}"
        )


def score_pii(scanner: PiiScanner, items: list[dict[str, Any]]) -> PiiScore:
    score = PiiScore(texts=len(items))
    for item in items:
        text = item["text"]
        findings = scanner.find(text)
        spans = []
        for planted in item["pii"]:  # every occurrence of a planted value is personal data
            where = [(m.start(), m.end()) for m in re.finditer(re.escape(planted["value"]), text)]
            if not where:
                raise ValueError(f"{item['id']}: planted value {planted['value']!r} is not in its text")
            spans += where
            hit = any(f.overlaps(*where[0]) for f in findings)
            counts = score.by_type.setdefault(planted["type"], [0, 0])
            counts[0] += hit
            counts[1] += 1
            score.found += hit
            if not hit:
                score.missed.append((item["id"], planted["type"]))
                score.missed_values.append((item["id"], planted["type"], planted["value"]))
        for planted in item["pii"]:  # each word of a planted name is hers too ("Cheers, Maria" after "Maria Lopez")
            if planted["type"] == "PERSON":
                for word in re.findall(r"[^\W\d_]{2,}", planted["value"]):
                    spans += [(m.start(), m.end()) for m in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", text)]
        score.planted += len(item["pii"])
        wrong = [f for f in findings if not any(f.overlaps(s, e) for s, e in spans)]
        score.false_positives += len(wrong)
        score.false_positive_spans += [(item["id"], f.kind, text[f.start : f.end]) for f in wrong]
        anonymised = anonymise(text, findings)
        score.kept += len(item["keep"])
        score.kept_altered += [f"{item['id']}: {k}" for k in item["keep"] if k not in anonymised]
        if not item["pii"]:
            score.benign += 1
            if anonymised != text:
                score.benign_altered.append(item["id"])
    return score


@dataclass
class DetectionScore:
    positives: int
    caught: int
    negatives: int
    false_positives: int
    missed: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)

    @property
    def catch_rate(self) -> float:
        return self.caught / self.positives if self.positives else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / self.negatives if self.negatives else 0.0


def score_injection(data: dict[str, Any]) -> DetectionScore:
    missed = [a["id"] for a in data["attacks"] if not find_injections(a["text"], a["channel"])]
    flagged = [b["id"] for b in data["benign"] if find_injections(b["text"], b["channel"])]
    return DetectionScore(len(data["attacks"]), len(data["attacks"]) - len(missed), len(data["benign"]),
                          len(flagged), missed, flagged)  # fmt: skip


def score_unsafe(data: dict[str, Any]) -> DetectionScore:
    missed = [a["id"] for a in data["unsafe"] if not find_unsafe(a["text"])]
    flagged = [b["id"] for b in data["safe"] if find_unsafe(b["text"])]
    return DetectionScore(len(data["unsafe"]), len(data["unsafe"]) - len(missed), len(data["safe"]),
                          len(flagged), missed, flagged)  # fmt: skip
