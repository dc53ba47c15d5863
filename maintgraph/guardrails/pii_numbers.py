"""Phone numbers of many countries, badge and staff ids, national ids: personal numbers among the
plant's own (tags, work-order, part and serial numbers, dates, readings).

Phone numbers: a run of digits written as a phone number is (groups of digits, a ``+`` or a
trunk ``0``, 8 to 15 digits) is one when ``phonenumbers`` (Google's libphonenumber, Presidio's
own dependency) finds it valid in one of :data:`REGIONS` (national formats, without the country
code) or as an international number; a number only possible by its length needs a cue (call,
mobile, tel, ring, on, ...). A number labelled as something else (PO, order, serial, meter,
material, cost centre, drawing) or followed by a unit (h, rpm, bar, kW) is not one.

Badge, staff and employee ids: after a word that says what they are (badge, staff id,
employee number, clock no., pass, Personalnummer, matricule), in their common shapes
(``B-20417``, ``EMP00123456``, ``4471-2209``, ``C255719``), and ``EMP`` ids anywhere.

National ids, where a plant holds them (contractor inductions, permits, payroll): after their
name (SSN, NI number, Aadhaar, DNI/NIF/NIE, codice fiscale, PESEL, CPF, BSN, personnummer, TFN,
SIN), and the shapes no plant number has (an Italian fiscal code, a UK NI number, a
formatted CPF) anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[int, int, float]

# National formats recognised without the country code: the countries whose plants the set names,
# and their neighbours (30 regions). International (+NN, 00NN) numbers of every country always are.
REGIONS = ("GB", "US", "CA", "IE", "IN", "AU", "NZ", "ZA", "NG", "KE", "NL", "BE", "DE", "AT", "CH", "FR", "ES",
           "PT", "IT", "PL", "CZ", "SE", "NO", "DK", "FI", "BR", "MX", "JP", "SG", "AE")  # fmt: skip

# Digits as a phone number is written: an optional +/00 and country code, groups joined by space, dot,
# dash or slash, an area code in brackets. Bounded (at most 8 groups) so that it stays linear.
_PHONE = re.compile(
    r"(?<![\w+/.-])(?:\+|00)?(?:\(\+?\d{1,4}\)\s?)?\(?\d{1,12}\)?(?:[\s./-]{1,2}\(?\d{1,8}\)?|(?<=\))\d{1,8}){0,7}"
    r"(?![\w/-]|\.\d)"
)
_CUE = re.compile(
    r"(?i)(?:\b(?:call|called|ring|rang|phone|phoned|tel|telephone|mob|mobile|cell|cellphone|contact|number|no|nr"
    r"|whatsapp|text|sms|on|at|via|reach|handy|portable|gsm|t|m|p|ph)\b\.?|[:/|(])\s*:?\s*$"
)
# A number labelled as something else (before it), or a reading with its unit (after it).
_NOT_PHONE_BEFORE = re.compile(
    r"(?i)(?:\bpo|order|serial|s/n|sn|lot|batch|receipt|\bgr|account|invoice|register|registers|ref|reference|cost"
    r"|centre|center|meter|hours?|reading|code|material|mat|part|item|drawing|dwg|doc|document|iso|en|din|iec|api"
    r"|asme|bs|wo|work order|job|notification|tag|asset|equipment|badge|staff|employee|emp|payroll|clock|pass|id"
    r"|ssn|nino|insurance|aadhaar|dni|nif|nie|pesel|cpf|bsn|personnummer|fiscale|tfn|sin|matricule|personalnummer"
    r"|personeelsnummer|m/no|loop|sil|range|rack|slot|channel|node|port|address|version|firmware|rev|revision|model|type|size|qty|quantity|pn|p/n)\b[\s.:#-]*(?:no\.?|nr\.?"
    r"|number|#)?[\s.:#-]*$"
)
_UNIT_AFTER = re.compile(
    r"^\s?(?:h|hr|hrs|hours|rpm|bar|barg|bar\(g\)|psi|kpa|mpa|pa|kw|mw|w|kv|v|a|ma|hz|mm|cm|m|km|kg|g|t|l|m3|nm"
    r"|°c|°f|c|f|%|ppm|db|mm/s|m3/h|l/min|pcs|ea|off|x)\b",
    re.IGNORECASE,
)
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d)|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# Candidates checked against the numbering plans per text: a crafted wall of digit groups costs at most this many
# checks (beyond it the plain phone patterns of :mod:`pii` still apply).
MAX_CHECKED = 400


def phones(text: str, regions: tuple[str, ...] = REGIONS) -> Iterator[Span]:
    """Phone numbers in ``text``, national (of ``regions``) or international."""
    checked = 0
    for match in _PHONE.finditer(text):
        checked += 1
        if checked > MAX_CHECKED:
            return
        start = match.start() + (len(match.group()) - len(match.group().lstrip()))
        whole = match.group().strip().rstrip(".-/ ")
        enclosed = whole.startswith("(") and whole.endswith(")") and whole.count("(") == whole.count(")") == 1
        if enclosed or (whole.startswith("(") and whole.count("(") > whole.count(")")):  # "(07700 900123)": the
            whole, start = whole[1:], start + 1  # brackets around a number are not part of it
        while whole.endswith(")") and whole.count(")") > whole.count("("):
            whole = whole[:-1]
        # the groups' ends: a reading or another number may follow the phone number ("07700 900456 9.2 mm/s")
        ends = [m.end() for m in re.finditer(r"\d\)?(?=[\s./-]|$)", whole)]
        for end in reversed(ends[-4:]):
            if end < len(whole) and not whole[end].isspace() and whole[end] != ")":
                continue  # cut only between groups a space apart: "4.00/12.00/20.00 mA" is one reading
            found = _phone(text, start, whole[:end], regions)
            if found is not None:
                yield found
                break


def _phone(text: str, start: int, raw: str, regions: tuple[str, ...]) -> Span | None:
    import phonenumbers

    digits = _digits(raw)
    if (
        not 7 <= len(digits) <= 15
        or _DATE.match(raw)
        or re.search(r"\d{4}-\d{2}-\d{2}|^\d{1,2}\.\s", raw)
        or re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", raw)
    ):
        return None
    before, after = text[max(0, start - 30) : start], text[start + len(raw) : start + len(raw) + 8]
    if _NOT_PHONE_BEFORE.search(before) or _UNIT_AFTER.match(after) or re.match(r"[:.,]\d", after):
        return None  # labelled as something else, a reading, a time (06:30) or a decimal
    grouped = bool(re.search(r"[\s./()-]", raw))
    international = raw.startswith(("+", "00", "(+"))
    cued = bool(_CUE.search(before))
    if len(re.findall(r"\d+", raw)) == 2 and not (international or cued or raw.startswith("0")) and len(digits) < 10:
        return None  # two groups of digits, no trunk 0, no cue: a loop, a range, a reference (3021-4456)
    if raw.count("/") > 1 or (raw.count(".") == 1 and not re.search(r"[\s/()-]", raw)):
        return None  # a scale (25/50/75/100) or a decimal (19300.02)
    if not international and re.match(r"\d[\s./-]", raw):
        return None  # a first group of one digit: a range or a scale (0-25-50-75-100), not a number to ring
    if not (grouped or international or cued or raw.startswith("0") or re.fullmatch(r"[6-9]\d{9}", raw)):
        return None  # a bare run of digits: a material or order number unless something says phone
    valid = possible = False
    for region in [None] if international else regions:
        try:
            number = phonenumbers.parse("+" + raw[2:].lstrip() if raw.startswith("00") else raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            valid = True
            break
        possible = possible or phonenumbers.is_possible_number(number)
    if valid and (grouped or international or cued or len(digits) >= 10):
        return start, start + len(raw), 0.7
    if possible and (cued or international) and len(digits) >= 8:
        return start, start + len(raw), 0.6
    return None


# -- badge, staff and employee ids ----------------------------------------------------------------------
_BADGE_CUE = (
    r"badge|badge\s+id|id\s+badge|employee|emp|staff|personnel|clock|payroll|operator|pass|contractor\s+pass"
    r"|site\s+pass|access\s+card|card|personalnummer|personal-nr|personeelsnummer|matricule|matr[íi]cula|legajo"
    r"|n[º°]\s+de\s+empleado|worker|user\s+id|sap\s+id"
)
# After the cue, at most three labels (no., nr, id, number) and a few separators: every run bounded, so a cue
# followed by a long run of spaces is scanned once, not once per space.
_LABELS = r"(?:[\s:#.]{0,3}(?i:no|nr|number|num|id|n[º°])\b\.?){0,3}[\s:#.]{0,4}"
BADGE = re.compile(
    rf"(?i:\b(?:{_BADGE_CUE})\b){_LABELS}((?:[A-Z]{{1,3}}-?)?\d{{4,10}}(?:-\d{{2,6}})?|\d{{2,4}}-\d{{3,6}})(?![\w-])"
)
EMP_ID = re.compile(r"\b(?:EMP|E)-?\d{5,10}\b")


def badges(text: str) -> Iterator[Span]:
    for match in BADGE.finditer(text):
        yield match.start(1), match.end(1), 0.85
    for match in EMP_ID.finditer(text):
        if match.group().startswith("EMP"):
            yield match.start(), match.end(), 0.85


# -- national ids -----------------------------------------------------------------------------------------
_NATIONAL_CUED = (
    (r"ssn|social\s+security(?:\s+(?:no\.?|number|#))?", r"\d{3}[- ]?\d{2}[- ]?\d{4}"),
    (r"ni|nino|ni\s+no\.?|ni\s+number|national\s+insurance(?:\s+(?:no\.?|number))?",
     r"[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]"),
    (r"aadhaar|aadhar|uid", r"\d{4}\s?\d{4}\s?\d{4}"),
    (r"dni|nif|nie", r"[XYZ]?\d{7,8}-?[A-Z]"),
    (r"codice\s+fiscale|cf", r"[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]"),
    (r"pesel", r"\d{11}"),
    (r"cpf", r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}"),
    (r"bsn|burgerservicenummer", r"\d{9}|\d{4}\.\d{2}\.\d{3}"),
    (r"personnummer|personnr|fødselsnummer|henkilötunnus|cpr", r"\d{6,8}[-+]?\d{4}|\d{6}[-+A]\d{3}[0-9A-Z]"),
    (r"tfn|tax\s+file\s+number", r"\d{3}\s?\d{3}\s?\d{3}"),
    (r"sin|social\s+insurance(?:\s+number)?", r"\d{3}[- ]?\d{3}[- ]?\d{3}"),
    (r"pan", r"[A-Z]{5}\d{4}[A-Z]"),
    (r"insee|nir|num[ée]ro\s+de\s+s[ée]curit[ée]\s+sociale",
     r"[12]\s?\d{2}\s?\d{2}\s?\d{2}\s?\d{3}\s?\d{3}(?:\s?\d{2})?"),
    (r"steuer-?id|steueridentifikationsnummer|sozialversicherungsnummer", r"\d{2}\s?\d{3}\s?\d{3}\s?\d{3}|\d{11,12}"),
)  # fmt: skip
NATIONAL_CUED = re.compile("|".join(rf"(?i:\b(?:{cue}))\b{_LABELS}({shape})(?!\w)" for cue, shape in _NATIONAL_CUED))
NATIONAL_SHAPES = re.compile(
    r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b"  # Italian codice fiscale
    r"|\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] \d{2} \d{2} \d{2} [A-D]\b"  # UK NI number
    r"|(?<![\w.-])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\w-])"  # Brazilian CPF
    r"|(?<![\w.-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])"  # US SSN
)


def national_ids(text: str) -> Iterator[Span]:
    for match in NATIONAL_CUED.finditer(text):
        group = next(g for g in range(1, (match.lastindex or 0) + 1) if match.group(g))
        yield match.start(group), match.end(group), 0.85
    for match in NATIONAL_SHAPES.finditer(text):
        before = text[max(0, match.start() - 30) : match.start()]
        if not _NOT_PHONE_BEFORE.search(before) or re.search(r"(?i)\b(?:ssn|nino|insurance|cpf)\W*$", before):
            yield match.start(), match.end(), 0.75
