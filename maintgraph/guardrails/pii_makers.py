"""Makers of plant equipment and their model names: never personal data.

"Grundfos CR 32-4", "Flowserve Mark 3", "the Siemens field tech", "John Crane Type 28": spaCy
reads a maker as a person and a model word as a first name. A maker's name, with the model name
after it, is kept like an equipment tag. Makers named after people (Fisher, Parker, Emerson,
Miller, John Crane) are kept as makers, except after a first name, an initial or a title ("Tom
Fisher", "T. Parker", "Mr Emerson" are people).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

# Equipment makers a plant's notes name: pumps, motors, drives, bearings, seals, valves, instruments,
# compressors, controls, gearboxes, hydraulics, filters, engines, cranes, test gear.
MAKERS = (
    # pumps
    "Grundfos", "KSB", "Flowserve", "Sulzer", "Xylem", "Flygt", "Lowara", "Goulds", "Wilo", "Ebara", "Weir",
    "Warman", "Pentair", "Netzsch", "Seepex", "Moyno", "Viking Pump", "Viking", "Watson-Marlow", "Milton Roy",
    "ProMinent", "Graco", "Wilden", "Warren Rupp", "Verder", "Alfa Laval", "Ruhrpumpen", "Sundyne", "Gorman-Rupp",
    "Armstrong", "Southern Cross", "Calpeda", "Pedrollo", "DAB", "Lutz", "Tsurumi", "Godwin", "Hidrostal", "Vogel",
    "Allweiler", "Leistritz", "Bornemann", "Roper", "Tuthill", "Blackmer", "Iwaki", "Grindex", "Amarinth",
    # motors, drives, switchgear, controls
    "Siemens", "ABB", "Schneider", "Schneider Electric", "Telemecanique", "Square D", "Rockwell", "Allen-Bradley",
    "Allen Bradley", "Eaton", "Cutler-Hammer", "Moeller", "Danfoss", "Vacon", "WEG", "Baldor", "Reliance", "Nidec",
    "Leroy-Somer", "US Motors", "Marathon", "Toshiba", "Hitachi", "Mitsubishi", "Mitsubishi Electric", "Yaskawa",
    "Fuji Electric", "Omron", "Lenze", "SEW-Eurodrive", "SEW", "Nord", "Brook Crompton", "TECO", "Regal",
    "Regal Rexnord",
    "Beckhoff", "Phoenix Contact", "Wago", "Pilz", "Sick", "Pepperl+Fuchs", "ifm", "Balluff", "Turck", "Festo",
    "Bosch Rexroth", "Rexroth", "Bosch", "Honeywell", "Emerson", "Yokogawa", "GE", "General Electric", "Bently Nevada",
    "Legrand", "Hager", "Weidmuller", "Weidmüller", "Rittal", "Murrelektronik", "Harting", "Lapp", "Prysmian",
    "Invensys", "Foxboro", "Triconex", "Hima", "Schweitzer", "SEL", "Woodward", "Fanuc", "Kollmorgen", "Parker",
    # instruments, valves
    "Rosemount", "Fisher", "Micro Motion", "Endress+Hauser", "Endress + Hauser", "Krohne", "Vega", "Magnetrol",
    "Hach", "Mettler Toledo", "Mettler-Toledo", "Badger Meter", "Siemens Sitrans", "WIKA", "Ashcroft", "Jumo",
    "Burkert", "Bürkert", "Samson", "Metso", "Neles", "Valmet", "Keystone", "Masoneilan", "Baker Hughes",
    "Copes-Vulcan", "Spirax Sarco", "Spirax", "Crosby", "Leser", "Anderson Greenwood", "Tyco", "Swagelok",
    "Velan", "Kitz", "Bray", "Auma", "Rotork", "Biffi", "Flowtork", "Habonim", "Mankenberg", "Gestra",
    "Pietro Fiorentini", "Dwyer", "Fluke", "Megger", "Beha-Amprobe", "Kyoritsu", "Testo", "SKF", "Pruftechnik",
    "Prüftechnik", "Easy-Laser", "Schenck", "Emerson CSI",
    # bearings, seals, couplings, gearboxes, transmission
    "FAG", "Schaeffler", "INA", "NSK", "NTN", "Timken", "Koyo", "JTEKT", "Nachi", "Cooper", "Dodge", "Rexnord",
    "Falk", "Flender", "Bonfiglioli", "Sumitomo", "Renold", "Tsubaki", "Gates", "Optibelt", "Fenner", "Habasit",
    "John Crane", "EagleBurgmann", "Burgmann", "Chesterton", "AESSEAL", "Garlock", "Flexitallic", "Klinger",
    "Lovejoy", "Vulkan", "KTR", "Rexnord Falk", "David Brown", "Brevini", "Hansen", "Nord Drivesystems",
    # compressors, blowers, HVAC, engines, power
    "Atlas Copco", "Ingersoll Rand", "Ingersoll-Rand", "Gardner Denver", "Kaeser", "Boge", "CompAir", "Sullair",
    "Quincy", "Howden", "Aerzen", "Roots", "Elliott", "Dresser-Rand", "Solar Turbines", "Trane", "Carrier", "York",
    "Daikin", "Lennox", "Johnson Controls", "Caterpillar", "Cat", "Cummins", "Perkins", "Waukesha", "Wärtsilä",
    "Wartsila", "MAN Energy Solutions", "MTU", "Deutz", "Kohler", "Generac", "Doosan", "Mitsubishi Heavy Industries",
    "Alstom", "Voith", "Andritz", "Babcock", "Bosch Thermotechnik", "Viessmann", "Cleaver-Brooks", "Hamon",
    "Baltimore Aircoil", "Evapco", "SPX", "Marley", "Munters", "Ziehl-Abegg", "ebm-papst", "Nederman",
    # hydraulics, filters, lubrication
    "Hydac", "Pall", "Donaldson", "Mann+Hummel", "Parker Hannifin", "Vickers", "Eaton Vickers", "Sauer-Danfoss",
    "Sun Hydraulics", "Denison", "Moog", "Lincoln", "SKF Lincoln", "Bijur", "Graco", "Castrol", "Shell", "Mobil",
    "Klüber", "Kluber", "Fuchs", "Total",
    # cranes, handling, welding, tools
    "Demag", "Konecranes", "Stahl", "Kito", "Yale", "Liftket", "Street Crane", "Hyster", "Linde", "Jungheinrich",
    "Lincoln Electric", "Miller", "ESAB", "Kemppi", "Fronius", "Hilti", "Makita", "Milwaukee", "DeWalt", "Ridgid",
    "Snap-on", "Bahco", "Stanley", "Norbar", "Enerpac", "Hytorc",
)  # fmt: skip
# Words of a model name after the maker (CR 32-4, Mark 3, SINAMICS G120, Etanorm 080-065-200, PowerFlex 755).
_MODEL_WORD = r"(?:[A-Za-z][\w+/.-]*\d[\w+/.-]*|\d[\w+/.-]*|[A-Z]{2,}[\w+/-]*|[A-Z][a-z]+(?=\s+[\w+/.-]*\d))"
_INTRO = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Miss|Mx)\.?|\b[A-Z]\.|\b[A-Z][^\W\d_]+)\s+$")


@functools.cache
def _pattern() -> re.Pattern[str]:
    names = sorted(MAKERS, key=len, reverse=True)
    alternatives = "|".join(re.escape(n) for n in names)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])(?:\s+{_MODEL_WORD}){{0,3}}")


@functools.cache
def maker_words() -> frozenset[str]:
    """The makers' names and their words, folded to lower case ("atlas copco", "atlas", "copco")."""
    words = set()
    for name in MAKERS:
        folded = name.casefold()
        words.add(folded)
        if " " not in folded and "-" not in folded:
            continue
        words.update(w for w in re.split(r"[\s+-]+", folded) if len(w) > 3 and w not in _PEOPLES_WORDS)
    return frozenset(words)


# Words of makers' names that are first names or too common to stand for the maker alone.
_PEOPLE_IN_MAKERS = frozenset("john milton warren anderson david street general southern".split())
_PEOPLES_WORDS = _PEOPLE_IN_MAKERS | frozenset("electric energy solutions controls heavy industries".split())


@functools.cache
def maker_words_alone() -> frozenset[str]:
    """The makers whose whole name is one word (Grundfos, Parker, Siemens), folded to lower case."""
    return frozenset(n.casefold() for n in MAKERS if " " not in n)


def is_maker_word(folded: str) -> bool:
    """True when ``folded`` (lower case) is a maker's name or a distinctive word of one."""
    return folded in maker_words()


# After a maker that is also a person's name (Parker, Fisher, Emerson, John Crane): what makes it the maker.
_MAKER_AFTER = re.compile(
    r"\s+(?:field|service|tech|techs|technician|engineer|engineers|rep|representative|agent|support|team|spares?|parts?"
    r"|manual|drive|drives|pumps?|valves?|seals?|motors?|bearings?|controls?|positioner|transmitter|unit|units"
    r"|kit|filter|filters|compressor|gearbox|coupling|actuator|relay|plc|vfd|hmi|instrument|instruments"
    r"|cartridge|mechanical|type|model|series|make|brand|quote|invoice|website|catalogue|catalog|welder|welding"
    r"|torch|lube|lubricator|hoses?|chillers?|fittings?|gauges?|sensors?|switch|breakers?|contactors?|starters?|vsd"
    r"|inverters?|crane|hoist|boiler|engine|generator|blower|fan|tools?)\b",
    re.IGNORECASE,
)
_MAKER_BEFORE = re.compile(r"(?i)\b(?:from|vendor|supplier|oem|make|manufacturer|brand|made by|a|an|the|our|their)\s+$")


def maker_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where ``text`` names a maker (with its model name after it), not a person of that name."""
    from maintgraph.guardrails.pii_names import is_first, is_surname

    for match in _pattern().finditer(text):
        before = text[max(0, match.start() - 20) : match.start()]
        name = _name_of(match.group())
        words = name.split()
        if _INTRO.search(before):
            last = before.split()[-1].strip(".") if before.split() else ""
            if len(last) == 1 or last in {"Mr", "Mrs", "Ms", "Dr", "Miss", "Mx"} or is_first(last):
                continue  # Tom Fisher, T. Parker, Mr Emerson: a person
        if (is_first(words[0]) or is_surname(words[-1])) and match.end() == match.start() + len(name):
            # a maker named like a person, with no model name after it: only where the words around say maker
            if not (_MAKER_AFTER.match(text, match.end()) or _MAKER_BEFORE.search(before)):
                continue
        yield match.start(), match.end()


def _name_of(mention: str) -> str:
    """The maker's name at the start of a mention (its model words cut off)."""
    return next(n for n in sorted(MAKERS, key=len, reverse=True) if mention.startswith(n))
