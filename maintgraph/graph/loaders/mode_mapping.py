"""Free-text failure modes -> an ISO 14224 failure-mode code, only when the mapping is confident.

Plants write failure modes in their own words ("Cracked or leaking", "Bearing seized",
"Surge"). :class:`LexicalModeMapper` maps a text when the vocabulary names one code for it:
the code as written ("VIB", "vib - vibration"), an ISO name or a synonym of
``failure_mode_synonyms.yaml`` that is the whole text (confidence 1.0), or one that occurs in
it as a phrase while no other code's does (0.85). Two codes named ("cracked or leaking")
is a doubt, not a guess: no code. :class:`SimilarityModeMapper` adds a similarity function the
caller injects (an embedding model: ``maintgraph.ingest.builder.build_mode_mapper``; the
``graph`` layer imports no search code) for what the vocabulary does not decide, accepted
above a threshold and a margin over the second best. A text no mapper is sure of stays
unmapped: an FMEA entry with its text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from maintgraph.graph.loaders.vocab import _rows, failure_mode_synonyms

# similarity(texts, labels) -> one row of scores (0..1) per text, one score per label.
Similarity = Callable[[Sequence[str], Sequence[str]], Sequence[Sequence[float]]]


@dataclass(frozen=True)
class ModeMatch:
    code: str
    confidence: float
    method: str  # "code" | "vocabulary" | "similarity"


class ModeMapper(Protocol):
    def map(self, texts: Sequence[str]) -> dict[str, ModeMatch | None]: ...


def _words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("won't", "will not").replace("'", ""))
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def iso_modes() -> dict[str, str]:
    """ISO 14224 failure-mode code -> name (the first name a code is listed with)."""
    modes: dict[str, str] = {}
    for row in _rows("iso14224_failureModeCode.csv"):
        modes.setdefault(row["ISO14224_FailureModeCode"], row["ISO14224_FailureMode"])
    return modes


class LexicalModeMapper:
    """The vocabulary's own words, whole or as a phrase of the text; one code or none."""

    def __init__(self, codes: Iterable[str] | None = None) -> None:
        names = iso_modes()
        self.codes = set(codes) if codes is not None else set(names)
        self.phrases: dict[tuple[str, ...], set[str]] = {}
        for code, name in names.items():
            if code in self.codes and code not in {"OTH", "UNK"}:
                self._phrase(name, code)
        for code, words in failure_mode_synonyms().items():
            if code in self.codes:
                for word in words:
                    self._phrase(word, code)

    def _phrase(self, text: str, code: str) -> None:
        words = tuple(_words(text))
        if words:
            self.phrases.setdefault(words, set()).add(code)

    def match(self, text: str) -> ModeMatch | None:
        stripped = text.strip()
        written = re.match(r"([A-Za-z]{3})(\s*[-:–(]|\s+|$)", stripped)
        if written and written.group(1).upper() in self.codes:
            # "VIB", "vib - vibration", "OHE bearing": a code; "Air leak" is words, not AIR
            if written.group(1).isupper() or written.group(2).strip() or written.end() == len(stripped):
                return ModeMatch(written.group(1).upper(), 1.0, "code")
        words = tuple(_words(stripped))
        if not words:
            return None
        whole = self.phrases.get(words, set())
        if len(whole) == 1:
            return ModeMatch(next(iter(whole)), 1.0, "vocabulary")
        if whole:
            return None  # the vocabulary names two codes for it ("leaking")
        found: set[str] = set()
        for phrase, codes in self.phrases.items():
            n = len(phrase)
            if any(words[i : i + n] == phrase for i in range(len(words) - n + 1)):
                found |= codes
        return ModeMatch(found.pop(), 0.85, "vocabulary") if len(found) == 1 else None

    def map(self, texts: Sequence[str]) -> dict[str, ModeMatch | None]:
        return {text: self.match(text) for text in texts}


class SimilarityModeMapper:
    """The vocabulary first; then ``similarity`` between the text and each code's label
    ("Vibration: vibration, vibrating, shaking"), accepted at ``threshold`` or above and
    ``margin`` clear of the second-best code."""

    def __init__(
        self, similarity: Similarity, codes: Iterable[str] | None = None, threshold: float = 0.8, margin: float = 0.05
    ) -> None:
        self.lexical = LexicalModeMapper(codes)
        self.similarity, self.threshold, self.margin = similarity, threshold, margin
        synonyms = failure_mode_synonyms()
        self.labels = {
            code: ": ".join(filter(None, [name, ", ".join(synonyms.get(code, []))]))
            for code, name in iso_modes().items()
            if code in self.lexical.codes and code not in {"OTH", "UNK"}
        }

    def map(self, texts: Sequence[str]) -> dict[str, ModeMatch | None]:
        result = self.lexical.map(texts)
        open_texts = [t for t, m in result.items() if m is None and t.strip()]
        if not open_texts or not self.labels:
            return result
        codes = list(self.labels)
        scores = self.similarity(open_texts, [self.labels[c] for c in codes])
        for text, row in zip(open_texts, scores, strict=True):
            ranked = sorted(zip(row, codes, strict=True), reverse=True)
            best, code = ranked[0]
            second = ranked[1][0] if len(ranked) > 1 else 0.0
            if best >= self.threshold and best - second >= self.margin:
                result[text] = ModeMatch(code, round(float(best), 3), "similarity")
        return result
