"""Writes ``tests/guard_sets/pii_generated.yaml``: personal data planted in maintenance text by a
generator, not phrased by the people who wrote the PII guard or its hand-written set.

    .venv/bin/python bench/make_pii_set.py [--seed 2911] [--items 260] [--out tests/guard_sets/pii_generated.yaml]

In the manner of presidio-evaluator's synthetic data generator: templates of maintenance text in
the styles a plant writes (shift handover notes, terse upper-case CMMS work-order shorthand,
e-mails with signatures, lower-case chat, permit and contractor-induction records, benign
technical notes) are filled with people from Faker's locales (names of 20 countries), phone
numbers in the national and international formats of 20 countries' numbering plans (mobile and
fixed line, as people write them, without the country code and with it), badge, staff and
employee ids in common shapes, and national ids of the kind a plant holds for contractors (a
national insurance number, an SSN, an Aadhaar, a DNI, a PESEL, a codice fiscale, a CPF, a BSN, a
personnummer). Around them stand what must never be masked: equipment tags, work-order, part
and serial numbers, readings, dates, manufacturers and their model names, technical words in
other languages. One fixed seed: the same file every run.

The items have the layout of ``tests/guard_sets/pii.yaml`` (``id``, ``text``, ``pii`` as
``{type, value}``, ``keep``). A data card is written beside the file (``.card.yaml``). The set
is for evaluation only, never for training or tuning a model.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

import yaml
from faker import Faker

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "guard_sets" / "pii_generated.yaml"

# Faker locales whose people appear (Latin-script names; ja_JP and zh_CN romanised).
NAME_LOCALES = ("en_GB", "en_US", "en_IN", "en_AU", "en_IE", "en_NG", "nl_NL", "de_DE", "fr_FR", "es_ES", "it_IT",
                "pl_PL", "pt_BR", "sv_SE", "no_NO", "da_DK", "fi_FI", "tr_TR", "ja_JP", "zh_CN", "ro_RO",
                "cs_CZ")  # fmt: skip

# Phone numbers as written in each country: national (trunk prefix, the grouping people use) and
# international. '#' is any digit; the leading digits follow each national numbering plan.
PHONE_FORMATS: dict[str, tuple[str, ...]] = {
    "GB": ("07### ######", "07#########", "01### ######", "020 #### ####", "+44 7### ######", "+44 (0)1### ######"),
    "US": ("(###) ###-####", "###-###-####", "###.###.####", "+1 ###-###-####", "+1 (###) ###-####"),
    "IN": ("98### #####", "9#########", "+91 98### #####", "+91-9#########", "080-2### ####", "07#########"),
    "NL": ("06-########", "06 ########", "06 ## ## ## ##", "010-### ####", "+31 6 ########", "+31 (0)6 ########"),
    "DE": (
        "0151 ########",
        "0171 #######",
        "0160/#######",
        "030 ########",
        "089 ########",
        "+49 151 ########",
        "+49 (0)171 #######",
    ),
    "FR": (
        "06 ## ## ## ##",
        "07 ## ## ## ##",
        "01 ## ## ## ##",
        "06.##.##.##.##",
        "+33 6 ## ## ## ##",
        "+33 (0)1 ## ## ## ##",
    ),
    "AU": ("0412 ### ###", "04## ### ###", "(02) #### ####", "03 #### ####", "+61 412 ### ###", "+61 4## ### ###"),
    "ES": ("6## ### ###", "6## ## ## ##", "91# ## ## ##", "+34 6## ### ###", "+34 9## ### ###"),
    "IT": ("3## ### ####", "3#########", "06 #### ####", "02 ########", "+39 3## ### ####"),
    "PL": ("5## ### ###", "6## ### ###", "22 ### ## ##", "+48 5## ### ###", "+48 6## ### ###"),
    "BR": ("(11) 9####-####", "(21) 9####-####", "11 9####-####", "+55 11 9####-####", "(31) 3###-####"),
    "SE": ("070-### ## ##", "073-### ## ##", "08-### ### ##", "+46 70 ### ## ##"),
    "IE": ("08# ### ####", "087 #######", "01 ### ####", "+353 8# ### ####"),
    "ZA": ("08# ### ####", "07# ### ####", "011 ### ####", "+27 8# ### ####"),
    "NG": ("080# ### ####", "081########", "+234 80# ### ####", "+234 8## ### ####"),
    "MX": ("55 #### ####", "+52 55 #### ####", "+52 1 55 #### ####", "33 #### ####"),
    "JP": ("090-####-####", "080-####-####", "03-####-####", "+81 90-####-####"),
    "NO": ("4## ## ###", "9## ## ###", "+47 4## ## ###"),
    "DK": ("2# ## ## ##", "+45 2# ## ## ##"),
    "CA": ("(416) ###-####", "604-###-####", "+1 514 ### ####"),
}
# A person's country and their phone numbers' countries go together.
LOCALE_COUNTRY = {"en_GB": "GB", "en_US": "US", "en_IN": "IN", "en_AU": "AU", "en_IE": "IE", "en_NG": "NG",
                  "nl_NL": "NL", "de_DE": "DE", "fr_FR": "FR", "es_ES": "ES", "it_IT": "IT", "pl_PL": "PL",
                  "pt_BR": "BR", "sv_SE": "SE", "no_NO": "NO", "da_DK": "DK", "fi_FI": "GB", "tr_TR": "DE",
                  "ja_JP": "JP", "zh_CN": "CA", "ro_RO": "IT", "cs_CZ": "DE"}  # fmt: skip

MAKERS_MODELS = (
    "Grundfos CR 32-4", "Grundfos NB 65-200", "KSB Etanorm 080-065-200", "KSB Movitec VF 25", "Flowserve Mark 3",
    "Flowserve Durco", "Sulzer AHLSTAR A22-80", "Sulzer CPT 31-40", "Siemens SINAMICS G120", "Siemens SIMATIC S7-1500",
    "ABB ACS880", "ABB M3BP 315", "Schneider Altivar 630", "Allen-Bradley PowerFlex 755", "Rockwell ControlLogix 5580",
    "SKF 6312-2Z/C3", "SKF Microlog AX", "Emerson Rosemount 3051", "Fisher DVC6200", "Yokogawa EJA110E",
    "Atlas Copco GA 37", "Atlas Copco ZR 160", "Endress+Hauser Promag 50", "Alfa Laval M10", "Danfoss VLT FC 302",
    "WEG W22", "Baldor EM3770T", "Timken 23136", "Weir Warman 6/4", "John Crane Type 28", "EagleBurgmann H7N",
    "Ingersoll Rand R55", "Kaeser ASD 35", "Wilo Stratos 40", "Xylem Flygt N3153", "Netzsch NEMO NM045",
    "Spirax Sarco FT14", "Honeywell ST700", "Krohne Optiflux 4000", "Vega VEGAPULS 64", "Festo DSBC-50",
    "Parker Hannifin PV046", "Bosch Rexroth A10VSO", "Lenze 8400", "SEW-Eurodrive R47", "Flender FLUDEX",
    "Mitsubishi FR-A800", "Omron NX1P2", "Beckhoff CX5140", "Fluke 810", "Megger MIT525", "Bently Nevada 3500",
    "Hach SC200", "Magnetrol Eclipse 706", "Samson 3241", "Metso Neles ND9000", "Ebara 3M 50-200", "Goulds 3196",
    "Viking Pump GG", "Watson-Marlow 620", "Milton Roy MRoy", "ProMinent Sigma/2", "Graco Husky 1050",
    "Pentair Southern Cross", "Howden Roots 45", "Aerzen GM 35S", "Cummins QSK60", "Caterpillar 3516",
    "Perkins 2506", "Wärtsilä 32", "Hydac RFM", "Pall Ultipleat", "Donaldson Ultrafilter", "Demag DR-Bas",
    "Konecranes CXT", "Swagelok SS-6", "Chesterton 442", "Garlock GYLON", "Flexitallic CG", "Rexnord Falk 1070T",
    "Nidec Unimount", "Toshiba EQP", "Hitachi Sj700", "Brook Crompton W-DA", "Leroy-Somer LSES", "Yaskawa GA800",
    "Phoenix Contact QUINT", "Pilz PNOZ X3", "Sick DT50", "ifm O5D100", "Turck BI5", "Pepperl+Fuchs NBB5",
)  # fmt: skip
TWO_WORD_MAKERS = ("Atlas", "John", "Alfa", "Bently", "Ingersoll", "Spirax", "Parker", "Bosch", "Viking", "Milton",
                   "Brook", "Phoenix", "Emerson", "Xylem", "Metso", "Rexnord")  # fmt: skip


def maker_of(model: str) -> str:
    """The maker's name alone, as people write it ("Atlas Copco GA 37" -> "Atlas Copco")."""
    words = model.split(" ")
    return " ".join(words[:2]) if words[0] in TWO_WORD_MAKERS else words[0]


# Technical words of other languages a plant's notes carry (from German, Dutch, French, Spanish, Italian, Polish,
# Swedish, Portuguese sites).
FOREIGN_WORDS = ("Pumpe", "Kreiselpumpe", "Gleitringdichtung", "Lager", "Kupplung", "Getriebe", "Ventil",
                 "Verdichter", "Störung", "Wartung", "Pomp", "Klep", "Storing", "Pompe", "Vanne", "Roulement",
                 "Garniture", "Bomba", "Válvula", "Rodamiento", "Pompa", "Valvola", "Cuscinetto", "Zawór",
                 "Łożysko", "Sprężarka", "Tätning", "Rolamento", "Compressor", "Schieber")  # fmt: skip
TAG_PREFIXES = ("P", "M", "C", "K", "HX", "E", "V", "CV", "FT", "PT", "TT", "LIT", "FV", "XV", "AHU", "CT", "T",
                "G", "B", "F", "AG", "CONV", "PSV", "MCC")  # fmt: skip
PARTS = ("BRG-6312-C3", "SEAL-MC-55", "CPLG-ELAS-80", "FLT-HYD-10", "GSK-DN100-PN16", "IMP-KES-250", "BELT-SPB-2240",
         "ORING-V-75X3", "6205-2RS", "22220 E", "NU 216 ECP", "SPA 1250", "MS-45-CART", "VLV-BALL-2IN", "FUSE-63A-GG",
         "KIT-REB-7731", "LIP-SEAL-60X80", "GRS-EP2", "OIL-ISO-VG68", "KEY-12X8X50")  # fmt: skip
READINGS = ("9.2 mm/s", "4.5 mm/s", "11.8 mm/s", "3.4 bar", "6.1 bar(g)", "245 Pa", "82 °C", "104 °C", "1480 rpm",
            "2975 rpm", "162 A", "415 V", "96 kW", "212 m3/h", "0.05 mm", "210 Nm", "65 dB", "004417 h", "12 345 h",
            "38 %", "7.2 pH", "1.8 g/s")  # fmt: skip
ROLES = ("Maintenance Technician", "Reliability Engineer", "Shift Supervisor", "Planner", "E&I Technician",
         "Mechanical Fitter", "Area Engineer", "Maintenance Superintendent", "Instrument Tech")  # fmt: skip
COMPANIES = ("Harlow Mechanical Services", "Delta Rotating Equipment", "Nordic Pump Care", "Apex Industrial Electrical",
             "Riverside Scaffolding", "Meridian Valve Services", "Ironbridge Welding")  # fmt: skip
ABBREV_ACTIONS = ("RPLCD", "REPLCD", "CHGD", "CHKD", "INSP", "ADJ", "TIGHTENED", "REALIGNED", "GREASED", "CLND",
                  "RESEAT", "REPACKED", "RETORQUED", "SWAPPED", "FITTED", "REMOVED", "TESTED OK",
                  "CALIBRATED")  # fmt: skip
ABBREV_OBJECTS = ("SEAL", "DE BRG", "NDE BRG", "BELT", "CPLG INSERT", "MECH SEAL", "GLAND PACKING", "IMPELLER",
                  "MTR", "FILTER", "STRAINER", "VLV", "PSV", "ORIFICE PLATE", "PUMP", "GEARBOX OIL", "TERMINALS",
                  "CONTACTOR", "FUSES", "ENCODER", "LEVEL SWITCH", "TX")  # fmt: skip


def ascii_upper(text: str) -> str:
    """A surname as a CMMS keyboard writes it: no accents, no spaces, upper case."""
    folded = text.translate(str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "Ł": "L",
                                           "đ": "d", "ı": "i"}))  # fmt: skip
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return "".join(c for c in folded if c.isalpha()).upper()


def ascii_lower(text: str) -> str:
    return ascii_upper(text).lower()


class Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers = {loc: Faker(loc) for loc in NAME_LOCALES}
        for i, fake in enumerate(self.fakers.values()):
            fake.seed_instance(seed + i)
        self.us, self.gb = Faker("en_US"), Faker("en_GB")
        self.us.seed_instance(seed + 100)
        self.gb.seed_instance(seed + 101)
        self.wo_count = 0

    # -- people -------------------------------------------------------------------------------
    def person(self) -> tuple[str, str, str]:
        """(first name, surname, country) of someone from a random locale."""
        locale = self.rng.choice(NAME_LOCALES)
        fake = self.fakers[locale]
        if locale in ("ja_JP", "zh_CN"):
            first, last = fake.first_romanized_name(), fake.last_romanized_name()
        else:
            first, last = fake.first_name(), fake.last_name()
        first, last = first.split(" ")[0].split("-")[0], last.split(" ")[-1] if locale == "es_ES" else last
        first = first.capitalize() if first.isupper() else first
        last = last.capitalize() if last.isupper() else last
        return first, last, LOCALE_COUNTRY[locale]

    def phone(self, country: str | None = None) -> str:
        country = country if country and self.rng.random() < 0.7 else self.rng.choice(list(PHONE_FORMATS))
        pattern = self.rng.choice(PHONE_FORMATS[country])
        return "".join(str(self.rng.randint(0, 9)) if c == "#" else c for c in pattern)

    def badge(self) -> tuple[str, str]:
        """(the text around it, the id)."""
        digits = lambda n: "".join(str(self.rng.randint(0, 9)) for _ in range(n))  # noqa: E731
        shapes = [
            ("Badge {}", f"B-{digits(5)}"), ("badge no. {}", digits(5)), ("Badge #{}", digits(6)),
            ("emp id {}", f"EMP{digits(8)}"), ("{}", f"EMP{digits(8)}"), ("{}", f"EMP-{digits(5)}"),
            ("staff id {}", f"{digits(4)}-{digits(4)}"), ("staff no {}", digits(7)), ("employee number {}", digits(8)),
            ("employee ID: {}", f"E{digits(6)}"), ("clock no. {}", digits(5)), ("payroll {}", digits(7)),
            ("ID badge {}", f"{self.rng.choice('ABCDKMST')}{digits(5)}"), ("pass no. {}", f"CP-{digits(5)}"),
            ("contractor pass {}", f"C{digits(6)}"), ("Personalnummer {}", digits(6)),
            ("personeelsnummer {}", digits(7)),
            ("matricule {}", digits(6)), ("badge {}", f"{digits(3)}-{digits(3)}"), ("Emp# {}", digits(6)),
        ]  # fmt: skip
        cue, value = self.rng.choice(shapes)
        return cue.format(value), value

    def national_id(self, country: str) -> tuple[str, str]:
        rng = self.rng
        digits = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))  # noqa: E731
        if country == "US" or (
            country not in ("GB", "IN", "ES", "IT", "PL", "BR", "NL", "SE", "IE") and rng.random() < 0.5
        ):
            return rng.choice(("SSN {}", "social security no. {}", "SSN: {}")), self.us.ssn()
        if country in ("GB", "IE") or country not in ("IN", "ES", "IT", "PL", "BR", "NL", "SE"):
            letters = "ABCEGHJKLMNPRSTWXYZ"
            value = (
                f"{rng.choice(letters)}{rng.choice(letters)} {digits(2)} {digits(2)} {digits(2)} {rng.choice('ABCD')}"
            )
            if rng.random() < 0.4:
                value = value.replace(" ", "")
            return rng.choice(("NI number {}", "NI no. {}", "National Insurance {}", "NINO {}")), value
        fake = self.fakers[{"IN": "en_IN", "ES": "es_ES", "IT": "it_IT", "PL": "pl_PL", "BR": "pt_BR", "NL": "nl_NL",
                            "SE": "sv_SE"}[country]]  # fmt: skip
        if country == "IN":
            value = fake.aadhaar_id()
            return "Aadhaar {}", f"{value[:4]} {value[4:8]} {value[8:]}" if rng.random() < 0.7 else value
        if country == "ES":
            return rng.choice(("DNI {}", "NIF {}")), fake.nif()
        if country == "IT":
            return "codice fiscale {}", fake.ssn()
        if country == "PL":
            return "PESEL {}", fake.ssn()
        if country == "BR":
            return "CPF {}", fake.cpf()
        if country == "NL":
            return "BSN {}", fake.ssn()
        return "personnummer {}", fake.ssn()

    # -- plant words ----------------------------------------------------------------------------
    def tag(self) -> str:
        return (
            f"{self.rng.choice(TAG_PREFIXES)}-{self.rng.randint(1, 9)}{self.rng.randint(0, 9)}{self.rng.randint(1, 9)}"
        )

    def wo(self) -> str:
        self.wo_count += 1
        return f"WO-{self.rng.choice((25, 26))}-{self.rng.randint(100, 99999):05d}"

    def date(self) -> str:
        return f"2026-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def serial(self) -> str:
        prefix = self.rng.choice(("HMS", "KP", "SN", "GF", "AB"))
        return f"{prefix}-{self.rng.randint(10**6, 10**7 - 1):07d}"

    def choice(self, items: Any) -> Any:
        return self.rng.choice(items)


def handle_of(first: str, last: str, rng: random.Random) -> str:
    shapes = (f"{ascii_lower(first)[0]}.{ascii_lower(last)}", f"{ascii_lower(first)}.{ascii_lower(last)}",
              f"{ascii_lower(first)[0]}{ascii_lower(last)}")  # fmt: skip
    return rng.choices(shapes, weights=(5, 3, 2))[0]


# -- templates, one per style: each returns (text, pii, keep) -----------------------------------------
def handover(m: Maker) -> tuple[str, list[dict[str, str]], list[str]]:
    first, last, country = m.person()
    first2, last2, _ = m.person()
    tag, part, reading, phone = m.tag(), m.choice(PARTS), m.choice(READINGS), m.phone(country)
    date, wo = m.date(), m.wo()
    maker = m.choice(MAKERS_MODELS)
    variants = [
        (f"Handover {date} 06:00: {tag} running at {reading}. {first} {last} changed the {part} on nights; "
         f"ring {first} on {phone} if it goes above the alarm.",
         [("PERSON", f"{first} {last}"), ("PHONE_NUMBER", phone)]),
        (f"Nights to days {date}: {tag} ({maker}) tripped twice, reset by {first} {last}. {wo} raised for the "
         f"{part}. {first2} {last2} is on call tonight, mobile {phone}.",
         [("PERSON", f"{first} {last}"), ("PERSON", f"{first2} {last2}"), ("PHONE_NUMBER", phone)]),
        (f"Shift log {date}. {first} and {first2} isolated {tag} for the {part} swap under {wo}. Reading after "
         f"restart {reading}. Questions to {first} {last} on {phone}.",
         [("PERSON", f"{first} {last}"), ("PERSON", first2), ("PHONE_NUMBER", phone)]),
        (f"{tag} {maker}: seal flush restored, {reading} at handover. {first2} {last2} from "
         f"{m.choice(COMPANIES)} will attend {date} - contact number {phone}.",
         [("PERSON", f"{first2} {last2}"), ("PHONE_NUMBER", phone)]),
        (f"Day shift {date}: {tag} vibration back to {reading} after {first} {last} realigned the coupling. "
         f"{wo} closed. Stores hold one {part}.",
         [("PERSON", f"{first} {last}")]),
    ]  # fmt: skip
    text, pii = m.choice(variants)
    return text, pii, [tag, part, reading, date, *([wo] if wo in text else []), *([maker] if maker in text else [])]


def cmms(m: Maker) -> tuple[str, list[dict[str, str]], list[str]]:
    first, last, country = m.person()
    first2, last2, _ = m.person()
    tag, part, wo = m.tag(), m.choice(PARTS), m.wo()
    short = f"{ascii_upper(first)[0]}{ascii_upper(last)}"
    short2 = f"{ascii_upper(first2)[0]}{ascii_upper(last2)}"
    dotted = f"{ascii_upper(first)[0]}.{ascii_upper(last)}"
    act, obj = m.choice(ABBREV_ACTIONS), m.choice(ABBREV_OBJECTS)
    act2, obj2 = m.choice(ABBREV_ACTIONS), m.choice(ABBREV_OBJECTS)
    phone = m.phone(country)
    variants = [
        (f"{short} {act} {obj} {tag}. {part} FITTED. {wo} CLSD", [("PERSON", short)]),
        (f"{short}/{short2} - {act} {obj} ON {tag}, {act2} {obj2}. OK TO RUN", [("PERSON", short), ("PERSON", short2)]),
        (f"{wo} {tag} {obj} {act} BY {dotted}. SPARE {part} FROM STORES", [("PERSON", dotted)]),
        (f"{tag} {obj} LEAKING. CALLED {short} {phone} - ATTENDED, {act2} {obj2}.",
         [("PERSON", short), ("PHONE_NUMBER", phone)]),
        (f"{act} {obj} {tag} ({short}). {act2} {obj2}. RTS {m.date()}", [("PERSON", short)]),
        (f"{tag}: {obj} {act}, {part} USED. TECH {ascii_upper(first)} {ascii_upper(last)}. {wo}",
         [("PERSON", f"{ascii_upper(first)} {ascii_upper(last)}")]),
        (f"{tag} {act} {obj} - CREW {short}/{short2}/{dotted} . PERMIT {wo}",
         [("PERSON", short), ("PERSON", short2), ("PERSON", dotted)]),
    ]  # fmt: skip
    text, pii = m.choice(variants)
    keep = [tag, *([part] if part in text else []), *([wo] if wo in text else [])]
    return text, pii, keep


def email(m: Maker) -> tuple[str, list[dict[str, str]], list[str]]:
    first, last, country = m.person()
    first2, _, _ = m.person()
    domain = m.choice(("northfield-water.example", "plant.example.com", "acme-chem.example", "contractor.example.net"))
    address = f"{ascii_lower(first)}.{ascii_lower(last)}@{domain}"
    tag, part, maker = m.tag(), m.choice(PARTS), m.choice(MAKERS_MODELS)
    phone = m.phone(country)
    role = m.choice(ROLES)
    body = m.choice(
        (
            f"Hi {first2},\n\nThe {maker} on {tag} needs the {part} before the outage. Can you book it against the PM?",
            f"Hello all,\n\n{tag} is back in service. We replaced the {part}; {maker} service report attached.",
            f"{first2} - quick one: stores show no {part} for {tag}. Is there an alternative from {maker_of(maker)}?",
        )
    )
    sign = m.choice((f"Regards,\n{first} {last}\n{role}\nMob: {phone}",
                     f"Thanks\n{first} {last} | {role} | {phone}",
                     f"Cheers, {first}\n{first} {last}, {role}\nT {phone}"))  # fmt: skip
    text = f"From: {address}\nSubject: {tag} {part}\n\n{body}\n\n{sign}"
    pii = [("EMAIL_ADDRESS", address), ("PERSON", f"{first} {last}"), ("PHONE_NUMBER", phone)]
    if f"{first2}," in text or f"{first2} -" in text:
        pii.append(("PERSON", first2))
    return text, pii, [tag, part, maker]


def chat(m: Maker) -> tuple[str, list[dict[str, str]], list[str]]:
    first, last, country = m.person()
    first2, last2, _ = m.person()
    tag, reading = m.tag(), m.choice(READINGS)
    handle = handle_of(first, last, m.rng)
    lower = f"{ascii_lower(first2)} {ascii_lower(last2)}"
    phone = m.phone(country)
    variants = [
        (f"anyone know who did the last alignment on {tag}? think it was {lower}", [("PERSON", lower)]),
        (f"@{handle} can you check {tag}, reading {reading} since 3am", [("PERSON", handle)]),
        (f"{tag} tripped again. {lower} is on call tonight, ring {phone}",
         [("PERSON", lower), ("PHONE_NUMBER", phone)]),
        (f"ask {ascii_lower(first)} about the {tag} seal, he did it last week. his number is {phone}",
         [("PERSON", ascii_lower(first)), ("PHONE_NUMBER", phone)]),
        (f"{handle}: {tag} at {reading}, ok to leave running till {lower} gets in?",
         [("PERSON", handle), ("PERSON", lower)]),
        (f"cc {handle} - {tag} coupling guard off, dont start. {lower} has the keys", [("PERSON", handle),
                                                                                        ("PERSON", lower)]),
        (f"spoke to {lower} re {tag}, she reckons bearing. {reading} on the de end", [("PERSON", lower)]),
    ]  # fmt: skip
    text, pii = m.choice(variants)
    return text, pii, [tag, *([reading] if reading in text else [])]


def permit(m: Maker) -> tuple[str, list[dict[str, str]], list[str]]:
    first, last, country = m.person()
    tag, date, wo = m.tag(), m.date(), m.wo()
    cue, badge = m.badge()
    nid_cue, nid = m.national_id(country)
    phone = m.phone(country)
    company = m.choice(COMPANIES)
    variants = [
        (f"Permit {wo} for hot work on {tag}, {date}. Issued to {first} {last} ({company}), {cue}. "
         f"Fire watch arranged.", [("PERSON", f"{first} {last}"), ("BADGE_ID", badge)]),
        (f"Contractor induction {date}: {first} {last}, {company}. {cue}; {nid_cue.format(nid)}; mobile {phone}. "
         f"Cleared for {tag} area.",
         [("PERSON", f"{first} {last}"), ("BADGE_ID", badge), ("NATIONAL_ID", nid), ("PHONE_NUMBER", phone)]),
        (f"LOTO on {tag} applied by {first} {last}, {cue}, lock 12. {wo}.",
         [("PERSON", f"{first} {last}"), ("BADGE_ID", badge)]),
        (f"Site access {date} - {company}: {first} {last} ({nid_cue.format(nid)}), {cue}. Escort to {tag}.",
         [("PERSON", f"{first} {last}"), ("NATIONAL_ID", nid), ("BADGE_ID", badge)]),
        (f"Training record {date}: {first} {last}, {cue}, {nid_cue.format(nid)} - forklift and MEWP refresher "
         f"passed, cleared for {tag}.",
         [("PERSON", f"{first} {last}"), ("BADGE_ID", badge), ("NATIONAL_ID", nid)]),
        (f"Payroll query for overtime on {wo} ({tag}): {nid_cue.format(nid)}, {cue}. Hours 14.5.",
         [("NATIONAL_ID", nid), ("BADGE_ID", badge)]),
        (f"Confined space entry {tag} {date}. Entrant {cue}, attendant {first} {last}. Gas test 20.9% O2, 0 ppm H2S.",
         [("BADGE_ID", badge), ("PERSON", f"{first} {last}")]),
    ]  # fmt: skip
    text, pii = m.choice(variants)
    return text, pii, [tag, *([date] if date in text else []), *([wo] if wo in text else [])]


def benign(m: Maker) -> tuple[str, list[dict[str, str]], list[str]]:
    tag, tag2, part, reading = m.tag(), m.tag(), m.choice(PARTS), m.choice(READINGS)
    maker, maker2 = m.choice(MAKERS_MODELS), m.choice(MAKERS_MODELS)
    word, wo, date, serial = m.choice(FOREIGN_WORDS), m.wo(), m.date(), m.serial()
    po = f"PO {m.rng.randint(4500000000, 4509999999)}"
    cost = f"cost centre {m.rng.randint(1000, 9999)}-{m.rng.randint(100, 999)}"
    material = f"material {m.rng.randint(10000000, 19999999)}"
    variants = [
        (f"{tag} {maker}: {reading} after the {part} change. {wo} closed {date}.",
         [tag, maker, reading, part, wo, date]),
        (f"Replaced {maker} on {tag} with {maker2}; {maker_of(maker2)} field tech commissioned it {date}.",
         [tag, maker, maker2, date]),
        (f"{maker_of(maker)} field service attended {tag}. Serial {serial}. Found {part} worn, {po} raised.",
         [maker_of(maker), tag, serial, part, po]),
        (f"Note from the German site: {word} an {tag} undicht, {part} bestellt ({wo}).", [word, tag, part, wo]),
        (f"{word} {tag}: {reading}. Spare {part} on {material}, {cost}.", [word, tag, reading, part, material, cost]),
        (f"PM {tag}/{tag2}: grease DE and NDE with {part} every 2000 h, hour meter {m.rng.randint(1000, 99999)} h.",
         [tag, tag2, part]),
        (f"{tag} {maker} pump curve checked: {m.rng.randint(50, 400)} m3/h at {m.rng.randint(20, 90)} m head, "
         f"{reading}. Vendor {maker_of(maker2)} confirmed spares {part} in stock.", [tag, maker, part]),
        (f"Work order {wo}: {tag} tripped on {m.choice(('overload', 'high temperature', 'low flow'))} at 02:14, "
         f"reset at MCC-{m.rng.randint(1, 9)}. {reading}.", [wo, tag, reading]),
        (f"ISO 10816-3 zone B limit {reading} for {tag}; {maker} manual section 7.3, "
         f"drawing D-{m.rng.randint(1000, 9999)}.",
         [tag, maker]),
        (f"{tag} ({maker}) - {m.choice(ABBREV_ACTIONS)} {m.choice(ABBREV_OBJECTS)}, {part}. RTS {date}. {wo}",
         [tag, maker, part, date, wo]),
    ]  # fmt: skip
    text, keep = m.choice(variants)
    return text, [], [k for k in keep if k in text]


STYLES = ((handover, 0.17), (cmms, 0.2), (email, 0.11), (chat, 0.15), (permit, 0.19), (benign, 0.18))


def generate(seed: int, count: int) -> list[dict[str, Any]]:
    random.seed(seed)  # some of Faker's id providers (es_ES nif) draw from the random module, not the instance
    maker = Maker(seed)
    items = []
    for n in range(count):
        style = maker.rng.choices([s for s, _ in STYLES], weights=[w for _, w in STYLES])[0]
        text, pii, keep = style(maker)
        while not all(re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text) and text.find(v) == re.search(
                rf"(?<!\w){re.escape(v)}(?!\w)", text).start() for _, v in pii):  # fmt: skip
            text, pii, keep = style(maker)  # a name inside another word ("Ann" in "Annual"): draw again
        planted = [{"type": t, "value": v} for t, v in dict.fromkeys(pii)]  # one entry per value
        values = [p["value"] for p in planted]
        keep = [k for k in dict.fromkeys(keep) if k in text and not any(k in v or v in k for v in values)]
        items.append({"id": f"gen-{n + 1:03d}", "style": style.__name__, "text": text, "pii": planted, "keep": keep})
    return items


CARD = {
    "name": "pii_generated",
    "purpose": "Evaluation of the PII guard on text its authors did not phrase (issue 29).",
    "how_made": "bench/make_pii_set.py with a fixed seed: maintenance templates in six styles (shift handover, "
    "upper-case CMMS shorthand, e-mail with signature, lower-case chat, permit and induction records, benign "
    "technical notes) filled with Faker 37.12.0 people of 22 locales, phone numbers drawn from 20 countries' "
    "national and international formats, badge/staff/employee ids in common shapes, national ids (SSN, NI "
    "number, Aadhaar, DNI/NIF, codice fiscale, PESEL, CPF, BSN, personnummer; Faker values), equipment tags, "
    "work-order, part and serial numbers, readings, dates, manufacturers with model names and technical words "
    "of other languages to keep.",
    "licence": "Apache-2.0 (generated text; Faker is MIT). All people, numbers and ids are fictitious.",
    "use": "Evaluation only: never for training or tuning a model, never copied into a training text.",
    "caveats": "Names come from Faker's lists, which the guard's name lexicon also reads: the recall on names "
    "without context is an upper bound for names outside those lists. Phone digits are random within each "
    "numbering plan's leading digits, so some are not allocated numbers. The guard was developed while looking at "
    "this draw (seed 2911) and, once, at a second one (seed 7: four false positives fixed after it): "
    "bench/pii_eval.py scores a third draw, seed 4242, not looked at before the figures were reported, and real "
    "maintenance text without personal data.",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2911)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    items = generate(args.seed, args.items)
    header = (
        "# Generated by bench/make_pii_set.py (seed {seed}); do not edit by hand: change the generator and rerun.\n"
        "# Data card: {card}. Evaluation only, never for training.\n"
    ).format(seed=args.seed, card=args.out.with_suffix(".card.yaml").name)
    body = yaml.safe_dump({"items": items}, allow_unicode=True, sort_keys=False, width=1000)
    args.out.write_text(header + body, encoding="utf-8")
    card = {**CARD, "seed": args.seed, "items": len(items),
            "planted": {t: sum(1 for i in items for p in i["pii"] if p["type"] == t)
                        for t in sorted({p["type"] for i in items for p in i["pii"]})},
            "without_pii": sum(1 for i in items if not i["pii"])}  # fmt: skip
    args.out.with_suffix(".card.yaml").write_text(yaml.safe_dump(card, allow_unicode=True, sort_keys=False, width=110))
    print(
        f"{args.out}: {len(items)} items, planted {card['planted']}, {card['without_pii']} without personal data",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
