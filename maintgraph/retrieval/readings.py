"""A reading in the question compared with the sensor's alarm and trip values.

"P-101 drive-end vibration reads 8 mm/s. Is that a problem?" is answered by where 8 mm/s stands
against the sensor that measures it: above its 7.1 mm/s alarm, below its 11 mm/s trip. This
module reads the readings in a question (a number with a unit: 8 mm/s, 0.3 in/s, 92 C, 180 °F,
4.5 bar, 65 psi, 180 A, 1450 rpm, 93 %...), finds the asset's sensors in the graph (on the
equipment, on its components, and on the equipment it drives or is driven by), picks the one
that measures that quantity where the question says (drive end, non-drive end, winding,
gearbox, differential...), converts the reading to the sensor's unit (°F -> °C, psi -> bar,
in/s -> mm/s) and says, in one sentence cited by the sensor, where the reading stands.

A number the question sets rather than reads ("can I wind it up to 12 bar", "the alarm is set
at 7.1 mm/s") is no reading. When the asset has no sensor of that quantity the evidence says so,
but only when the question asks about the reading ("is that a problem?"), so a figure mentioned
in passing adds nothing.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from pydantic import BaseModel

from maintgraph.citations import graph_id
from maintgraph.graph import queries
from maintgraph.retrieval.base import MAX_ASSETS, Evidence, Question, Retriever, linked

TITLE = "reading_check"  # the evidence title: what synthesis orders first

# -- units -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    quantity: str  # what it measures: velocity, temperature, pressure...
    symbol: str  # how the answer writes it
    scale: float = 1.0  # to the quantity's base unit: base = value * scale + offset
    offset: float = 0.0
    case_sensitive: bool = False  # one-letter symbols (A, V, C, F, K, W, s) only as written


# Base units: mm/s, °C, bar, A, V, kW, rpm, %, mg/L, m3/h, s.
UNITS: dict[str, Unit] = {}


def _units(names: str, unit: Unit) -> None:
    for name in names.split("|"):
        UNITS[name] = unit


_units("mm/s|mm/sec|mm s-1", Unit("velocity", "mm/s"))
_units("in/s|in/sec|ips|inch/s|inches/s|inches per second", Unit("velocity", "in/s", 25.4))
_units("°C|ºC|° C|º C|℃|degC|deg C|degrees C|degree C|degrees celsius|celsius|C", Unit("temperature", "°C"))
_units(
    "°F|ºF|° F|º F|℉|degF|deg F|degrees F|degree F|degrees fahrenheit|fahrenheit|F",
    Unit("temperature", "°F", 5 / 9, -32 * 5 / 9),
)
_units("K|kelvin", Unit("temperature", "K", 1.0, -273.15))
DEGREES = Unit("temperature", "°")  # "92°": a temperature in the sensor's own scale
_units("°|º", DEGREES)
_units("bar|barg|bar g|bar(g)", Unit("pressure", "bar"))
_units("mbar|mbarg|millibar", Unit("pressure", "mbar", 0.001))
_units("psi|psig|psi g|psi(g)|lb/in2", Unit("pressure", "psi", 0.0689476))
_units("kPa|kpag", Unit("pressure", "kPa", 0.01))
_units("MPa", Unit("pressure", "MPa", 10.0))
_units("Pa", Unit("pressure", "Pa", 0.00001))
_units("A|amps|amp|amperes", Unit("current", "A"))
_units("mA", Unit("current", "mA", 0.001))
_units("V|volts|volt", Unit("voltage", "V"))
_units("kV", Unit("voltage", "kV", 1000.0))
_units("kW", Unit("power", "kW"))
_units("W|watts", Unit("power", "W", 0.001))
_units("MW", Unit("power", "MW", 1000.0))
_units("hp|bhp", Unit("power", "hp", 0.7457))
_units("rpm|r/min|rev/min", Unit("speed", "rpm"))
_units("%|percent|per cent", Unit("percent", "%"))
_units("mg/L|mg/l|ppm", Unit("concentration", "mg/L"))
_units("m3/h|m³/h|m3/hr|m^3/h|cu m/h", Unit("flow", "m3/h"))
_units("l/min|L/min|lpm|litres per minute|liters per minute", Unit("flow", "l/min", 0.06))
_units("l/s|L/s|litres per second|liters per second", Unit("flow", "l/s", 3.6))
_units("gpm|USgpm", Unit("flow", "gpm", 0.227125))
_units("s|sec|secs|seconds", Unit("time", "s"))
for _name in ("A", "V", "C", "F", "K", "W", "s", "Pa", "MPa", "MW", "mA"):
    UNITS[_name] = Unit(**{**UNITS[_name].__dict__, "case_sensitive": True})

# The quantity a sensor sheet's unit column names; a unit the table does not know measures itself.
_LOOKUP = {name.lower(): unit for name, unit in UNITS.items() if not unit.case_sensitive}
_LOOKUP.update({name: unit for name, unit in UNITS.items() if unit.case_sensitive})


def unit_of(text: str | None) -> Unit | None:
    """The unit a sensor's unit cell names ("mm/s", "°C", "degF", "psi"), or None."""
    if not text:
        return None
    text = " ".join(str(text).split())
    return _LOOKUP.get(text) or _LOOKUP.get(text.lower())


def convert(value: float, source: Unit, target: Unit) -> float | None:
    """``value`` in ``source`` units written in ``target`` units; None across quantities."""
    if source.quantity != target.quantity:
        return None
    if source is DEGREES or target is DEGREES:
        return value
    base = value * source.scale + source.offset
    return (base - target.offset) / target.scale


# -- readings in a question -----------------------------------------------------------------------------


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(n).replace(r"\ ", r"\s?") for n in sorted(names, key=len, reverse=True))


_SENSITIVE = [n for n, u in UNITS.items() if u.case_sensitive]
_INSENSITIVE = [n for n, u in UNITS.items() if not u.case_sensitive]
READING = re.compile(
    rf"(?<![\w.,/-])(?P<value>-?\d+(?:[.,]\d+)?)\s?"
    rf"(?P<unit>(?i:{_alternation(_INSENSITIVE)})|{_alternation(_SENSITIVE)})(?![\w/²³])"
)
# Words that make a number a setting, a rating or a change rather than a reading.
SETTING = re.compile(
    r"\b(set|sets|setting|settings|set ?points?|wind|winding it|adjust\w*|increase\w*|decrease\w*|raise|lower"
    r"|reduce|change\w*|turn(ed)? (it |them )?(up|down)|configur\w*|calibrat\w*|range|rated|rating|design"
    r"|spec\w*|nameplate|should (it|they) be|supposed to|limit|max(imum)?|min(imum)?|alarm(s|ed)? (is|at)"
    r"|trip(s)? (is|at)|bump)\b",
    re.I,
)
# Words that say a number was read: "reads 8 mm/s", "is at 92 C", "DE vibration 8 mm/s".
READ = re.compile(
    r"\b(reads?|reading|readings|read|show(s|ing|n)?|at|is|are|was|were|of|on|hit(s|ting)?|reach(ed|ing|es)?"
    r"|measur\w*|logged|recorded|gives?|giving|draw(s|ing)?|pull(s|ing)?|running|runs|sitting|sits|climb\w*"
    r"|ris(en|ing|es)|rose|gone|went|up|to|around|about|approx\w*|nearly|over|above|now|peak\w*|touch\w*"
    r"|register\w*|getting|got|took|takes|taking|lasted|jumped|spik\w*|vibrat\w*|vibration|temp\w*|pressure|current|amps|level|flow|speed"
    r"|dp|d/p|head|drop|load|power|de|nde|bearing|winding|oil|gearbox|discharge|suction|supply|return)\b|[=:~]",
    re.I,
)
# The question asks about the reading: only then is "no sensor measures that" worth saying.
ASKS = re.compile(
    r"\b(ok(ay)?|normal|problem\w*|high|low|too|bad|worr\w*|concern\w*|alarm\w*|trip\w*|limits?|safe"
    r"|acceptable|within|fine|good|serious|dangerous|where does|how does (that|it) compare|should i"
    r"|is (that|this|it))\b",
    re.I,
)
MAX_READINGS = 8  # a question with more is a pasted log, not a reading to check
_CLAUSE_END = re.compile(r"[.!?;]\s|[.!?;]$|,\s|\n")


@dataclass(frozen=True)
class Reading:
    value: float
    unit: Unit
    text: str  # as the question wrote it: "8 mm/s"
    # The words that say which sensor: those since the previous reading ("DE bearing 0.3 in/s"),
    # else the question's.
    words: tuple[str, ...] = field(default=(), compare=False)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def find_readings(question: str) -> list[Reading]:
    """The readings a question reports: a number with a unit that is read ("reads 8 mm/s", "at
    92 C", "DE vibration 8 mm/s"), not set ("wind it up to 12 bar", "alarm is set at 7.1 mm/s")."""
    found: list[Reading] = []
    everywhere, since = hint_words(question), 0
    if set(ENDS) <= set(everywhere):  # both ends named: neither, unless next to the reading
        everywhere = tuple(w for w in everywhere if w not in ENDS)
    starts = [0] + [m.end() for m in _CLAUSE_END.finditer(question)]  # where each clause starts
    for seen, match in enumerate(READING.finditer(question)):
        if len(found) >= MAX_READINGS or seen >= 5 * MAX_READINGS:
            break
        unit = unit_of(match.group("unit"))
        segment, since = question[since : match.end()], match.end()
        if unit is None:
            continue
        begins = max(starts[bisect_right(starts, match.start()) - 1], match.start() - 120)  # the words just before
        clause = question[begins : match.start()]
        if SETTING.search(" ".join(clause.split()[-6:])) or clause.split()[-1:] == ["by"]:
            continue  # "wind the relief valve up to 12 bar", "up by 2 mm/s"
        near = clause.split()[-3:]
        listed = bool(found) and bool(near) and near[-1].lower() in ("and", "&")  # "0.3 in/s and 180 F"
        if near and not listed and (near[-1].lower() in ("a", "an", "the") or not READ.search(" ".join(near))):
            continue  # "a 96 kW pump" is a rating; a number read has a word that reads it
        local = hint_words(segment)
        if not set(local) & (PLACES | {"drive-end", "non-drive-end", "differential"}):
            local = found[-1].words if found else everywhere  # "DE bearing: 8 mm/s and 92 C"
        words = tuple(dict.fromkeys([*local, *(w for w in everywhere if "-" in w and w not in ENDS)]))
        text = f"{match.group('value')}°" if unit is DEGREES else f"{match.group('value')} {unit.symbol}"
        reading = Reading(_number(match.group("value")), unit, text, words)
        if reading not in found:
            found.append(reading)
    return found


# -- where a reading stands ------------------------------------------------------------------------------

WORD = re.compile(r"[a-z0-9][a-z0-9/-]*")
ENDS = ("drive-end", "non-drive-end")
# What a technician calls a place or a kind of measurement, by the word the sensor sheet uses.
SYNONYMS = {
    "de": "drive-end", "drive-end": "drive-end", "driving-end": "drive-end",
    "nde": "non-drive-end", "non-drive-end": "non-drive-end", "non-driving-end": "non-drive-end",
    "stator": "winding", "windings": "winding", "winding": "winding", "wdg": "winding",
    "gearbox": "gearbox", "gbx": "gearbox", "gear": "gearbox", "oil": "oil", "bearing": "bearing",
    "bearings": "bearing", "brg": "bearing", "discharge": "discharge", "suction": "suction", "supply": "supply",
    "return": "return", "inlet": "inlet", "outlet": "outlet", "motor": "motor", "pump": "pump",
    "casing": "casing", "seal": "seal", "current": "current", "amps": "current", "level": "level",
    "chlorine": "chlorine", "interspace": "interspace", "diaphragm": "diaphragm", "receiver": "receiver",
    "stroke": "stroke", "cooling": "cooling", "air": "air", "thrust": "thrust", "axial": "axial",
    "radial": "radial", "horizontal": "horizontal", "vertical": "vertical",
}  # fmt: skip
DIFFERENTIAL = re.compile(r"\b(differential|dp|d/p|delta[ -]?p|pressure drop|drop across|head ?loss|across)\b", re.I)
DRIVE_END = re.compile(r"\b(de|drive[ -]end|driving[ -]end)\b", re.I)
NON_DRIVE_END = re.compile(r"\b(nde|non[ -]drive[ -]end|non[ -]driving[ -]end)\b", re.I)


INSTRUMENT_ID = re.compile(r"[a-z]{1,4}-[a-z]{0,3}\d{2,4}(-[a-z0-9]+)*")  # vt-101-de, pt-201, tt-ag901-gbx


def hint_words(question: str) -> tuple[str, ...]:
    """The question's words that say which sensor: places, kinds of measurement, sensor ids."""
    text = re.sub(r"non[ -]drive[ -]end", "non-drive-end", question.lower())
    text = re.sub(r"(?<!non-)drive[ -]end", "drive-end", text)
    words = [SYNONYMS.get(w, w) for w in WORD.findall(text)]
    kept = [w for w in words if w in SYNONYMS.values() or w in CLASS_WORDS or INSTRUMENT_ID.fullmatch(w)]
    if DIFFERENTIAL.search(question):
        kept.append("differential")
    return tuple(dict.fromkeys(kept))


def _end(text: str) -> str | None:
    if NON_DRIVE_END.search(text):
        return "non-drive-end"
    return "drive-end" if DRIVE_END.search(text) else None


def _fmt(value: float, places: int = 2) -> str:
    return f"{round(value, places):g}"


@dataclass
class Candidate:
    row: dict[str, Any]
    unit: Unit
    score: float
    end_conflict: bool


def _text(row: dict[str, Any]) -> str:
    return " ".join(str(row.get(k) or "") for k in ("id", "name", "measures", "component", "component_id"))


# Where on the machine a sensor sits or what it measures in: a question naming one of these wants
# a sensor there ("bearing" is not "winding"); drive end and non-drive end are told apart.
PLACES = frozenset({"bearing", "winding", "gearbox", "oil", "casing", "seal", "discharge", "suction", "supply",
                    "return", "inlet", "outlet", "diaphragm", "interspace", "receiver", "cooling", "chlorine",
                    "level", "stroke"})  # fmt: skip


# Quantities a number may have for many reasons: the sensor's own word must be in the question.
VAGUE = frozenset({"percent", "time"})
# A place that belongs to one class in a drive train: "P-101 winding" is its motor's winding.
PLACE_CLASS = {"winding": "EM", "discharge": "PU", "suction": "PU", "seal": "PU", "casing": "PU", "gearbox": "GB"}


def _words(text: str) -> set[str]:
    text = re.sub(r"non[ -]drive[ -]end", "non-drive-end", text.lower())
    return {SYNONYMS.get(w, w) for w in WORD.findall(re.sub(r"(?<!non-)drive[ -]end", "drive-end", text))}


def choose(rows: list[dict[str, Any]], reading: Reading, words: tuple[str, ...]) -> list[Candidate]:
    """The sensors that measure the reading's quantity where the question says, best first (ties
    kept): the sensor the question names, then its place (drive end, winding...), then the asset's
    own before its driver's or driven equipment's. A sensor elsewhere (a winding for a bearing) is
    no match; the other end of the same machine is, said as such, when its own end has none."""
    wanted_end = "non-drive-end" if "non-drive-end" in words else "drive-end" if "drive-end" in words else None
    differential = "differential" in words
    places = PLACES & set(words)
    out = []
    for row in rows:
        unit = unit_of(row.get("unit"))
        if unit is None or unit.quantity != reading.unit.quantity:
            continue
        text = _text(row)
        if bool(DIFFERENTIAL.search(text) or str(row["id"]).upper().startswith("PD")) != differential:
            continue  # a pressure drop is no pressure, and no pressure a pressure drop
        own = _words(text)
        named = str(row["id"]).lower() in words
        if row.get("hop") and not named and not any(PLACE_CLASS.get(p) == row.get("class_code") for p in places):
            continue  # the motor's sensor for a pump only when the question names the motor's part
        if places and (PLACES & own) and not (places & own) and not named:
            continue
        if unit.quantity in VAGUE and not named and not (own & set(words)):
            continue  # "80 %" or "20 s" alone says nothing of a tank level or a valve's stroke time
        end = _end(text)
        score = 10.0 * named + len(places & own) + 3.0 * (wanted_end is not None and end == wanted_end)
        score -= 2.0 * float(row.get("hop") or 0)
        conflict = wanted_end is not None and end is not None and end != wanted_end and not named
        out.append(Candidate(row, unit, score, conflict))
    out.sort(key=lambda c: (c.end_conflict, -c.score, str(c.row["id"])))
    if not out:
        return []
    best = out[0]
    return [c for c in out if (c.end_conflict, c.score) == (best.end_conflict, best.score)]


def standing(value: float, alarm: float | None, trip: float | None, unit: str, whose: str = "its") -> tuple[str, str]:
    """Where a value stands against an alarm and a trip, and what that asks of the technician."""
    a = f"{_fmt(alarm)} {unit}" if alarm is not None else ""
    t = f"{_fmt(trip)} {unit}" if trip is not None else ""
    if alarm is None and trip is None:
        return "not comparable", "the graph holds no alarm or trip value for it"
    if trip is not None and value >= trip:
        where = f"at {whose} trip ({t})" if value == trip else f"above {whose} trip ({t})"
        return where, "the protection should stop the equipment; find the cause before any restart"
    if alarm is not None and value >= alarm:
        where = f"at {whose} alarm ({a})" if value == alarm else f"above {whose} alarm ({a})"
        return (f"{where} and below {whose} trip ({t})" if t else where), "plan a check soon, not a stop"
    limits = f"{whose} alarm ({a}) and trip ({t})" if a and t else f"{whose} {'alarm' if a else 'trip'} ({a or t})"
    first = alarm if alarm is not None else trip
    if first and value >= 0.9 * first:
        return f"just below {limits}", "within limits, but watch the trend"
    return f"below {limits}", "within limits"


def _limit(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def _limits(candidate: Candidate) -> tuple[float | None, float | None]:
    return _limit(candidate.row.get("alarm")), _limit(candidate.row.get("trip"))


def compare(reading: Reading, chosen: list[Candidate], tag: str, earlier: list[Reading] | None = None) -> str:
    """One sentence a technician reads: the reading, the sensor, where it stands."""
    first = chosen[0]
    row, unit = first.row, first.unit
    value = convert(reading.value, reading.unit, unit)
    assert value is not None  # chosen for its quantity
    shown = reading.text if reading.unit == unit else f"{reading.text} ({_fmt(value)} {unit.symbol})"
    alarm, trip = _limits(first)
    symbol = str(row.get("unit") or unit.symbol)
    same = [c for c in chosen if _limits(c) == (alarm, trip)]
    if len(same) > 1:
        where, advice = standing(value, alarm, trip, symbol, "the")
        ids = ", ".join(str(c.row["id"]) for c in same[:-1]) + f" and {same[-1].row['id']}"
        sentence = f"{shown} on {tag} is {where} of {ids}, which share these limits: {advice}"
    else:
        where, advice = standing(value, alarm, trip, symbol)
        sentence = f"{shown} on {row['id']} ({row.get('name') or row.get('measures')}) is {where}: {advice}"
    if earlier:
        before = ", ".join(r.text for r in earlier)
        sentence = sentence.replace(f"{shown} on ", f"{shown} (after {before}) on ", 1)
    if first.end_conflict:
        asked = "drive-end" if _end(_text(row)) == "non-drive-end" else "non-drive-end"
        sentence = f"{tag} has no {asked} sensor of this kind in the graph, so the other end's is used: {sentence}"
    return sentence + "."


# -- the retriever ---------------------------------------------------------------------------------------

_COLUMNS = (
    "s.id AS id, s.name AS name, s.measures AS measures, s.unit AS unit, s.alarm_high AS alarm, "
    "s.trip_high AS trip, e.tag AS on_tag, e.class_code AS class_code"
)
# The sensors on an equipment and its components (hop 0), and on what drives it or what it drives (hop 1).
SENSORS = f"""
MATCH (s:Sensor)-[:MONITORS]->(e:Equipment {{tag: $tag}})
RETURN {_COLUMNS}, '' AS component, '' AS component_id, 0 AS hop
UNION ALL
MATCH (s:Sensor)-[:MONITORS]->(c:Component)<-[:HAS_COMPONENT]-(:Subunit)<-[:HAS_SUBUNIT]-(e:Equipment {{tag: $tag}})
RETURN {_COLUMNS}, c.name AS component, c.id AS component_id, 0 AS hop
UNION ALL
MATCH (:Equipment {{tag: $tag}})-[:DRIVES]-(e:Equipment)<-[:MONITORS]-(s:Sensor)
RETURN {_COLUMNS}, '' AS component, '' AS component_id, 1 AS hop
UNION ALL
MATCH (:Equipment {{tag: $tag}})-[:DRIVES]-(e:Equipment)-[:HAS_SUBUNIT]->(:Subunit)-[:HAS_COMPONENT]->(c:Component)
      <-[:MONITORS]-(s:Sensor)
RETURN {_COLUMNS}, c.name AS component, c.id AS component_id, 1 AS hop
"""
# The equipment a named sensor is on (the loader keeps it on the sensor).
SENSOR_EQUIPMENT = "MATCH (s:Sensor) WHERE s.id IN $ids RETURN s.id AS id, s.equipment AS tag"
# Class words: "the motor winding" on pump P-101 is about the motor that drives it.
CLASS_WORDS = {"motor": "EM", "pump": "PU", "fan": "FA", "compressor": "CO", "agitator": "AG", "mixer": "AG",
               "exchanger": "HE", "vessel": "VE", "receiver": "VE", "tank": "TA"}  # fmt: skip


class ReadingArgs(BaseModel):
    tag: str = linked("tags")  # "" when the question names a sensor but no asset
    readings: tuple[str, ...]  # "8 mm/s", as the question wrote each
    words: tuple[tuple[str, ...], ...] = ()  # for each reading, the words that say which sensor (hint_words)
    asked: bool = False  # the question asks about the reading: "no such sensor" is worth saying


class ReadingCheck(Retriever[ReadingArgs]):
    """Each reading in the question against the alarm and trip of the sensor that measures it."""

    name = "reading_check"
    source = "graph"
    description = "A reading in the question compared with its sensor's alarm and trip values."
    Args: ClassVar[type[BaseModel]] = ReadingArgs
    needs = ("graph",)

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        if question.intent in ("work_order", "analytics"):
            return []
        readings = find_readings(question.question)
        if not readings:
            return []
        if not question.tags and not any("-" in w for w in hint_words(question.question)):
            return []
        args = {"readings": tuple(r.text for r in readings), "words": tuple(r.words for r in readings),
                "asked": bool(ASKS.search(question.question))}  # fmt: skip
        return [{"tag": t, **args} for t in question.tags[:MAX_ASSETS] or [""]]  # no asset: a sensor named

    def run(self, args: ReadingArgs) -> list[Evidence]:
        graph = self.backends.graph
        words = [*args.words, *[()] * (len(args.readings) - len(args.words))]
        readings = [replace(found[0], words=w) for text, w in zip(args.readings, words, strict=True)
                    if (found := find_readings(text))]  # fmt: skip
        everything = tuple(dict.fromkeys(w for r in readings for w in r.words))
        tag = args.tag.upper()
        if not tag:  # a sensor named without its asset: the asset it is on
            named = [w.upper() for w in everything if "-" in w]
            tag = next((str(r["tag"]) for r in graph.read(SENSOR_EQUIPMENT, {"ids": named}) if r.get("tag")), "")
        if not readings or not tag or not graph.existing_keys("Equipment", [tag]):
            return []
        tag = self._redirect(tag, everything)
        rows = [dict(r) for r in graph.read(SENSORS, {"tag": tag})]
        rows = list({str(r["id"]): r for r in sorted(rows, key=lambda r: -int(r.get("hop") or 0))}.values())
        # Readings of one sensor ("6 mm/s yesterday, 8 mm/s now") make one sentence: the last read.
        by_sensor: dict[str, tuple[list[Reading], list[Candidate]]] = {}
        unmatched: list[Reading] = []
        for reading in readings:
            chosen = choose(rows, reading, reading.words)
            if chosen:
                by_sensor.setdefault(str(chosen[0].row["id"]), ([], chosen))[0].append(reading)
            else:
                unmatched.append(reading)
        evidence = [Evidence(graph_id(f"Sensor:{sensor}"), "graph", compare(read[-1], chosen, tag, read[:-1]), TITLE)
                    for sensor, (read, chosen) in by_sensor.items()]  # fmt: skip
        if unmatched and args.asked:
            evidence.append(Evidence(graph_id(f"Equipment:{tag}"), "graph", no_sensor(tag, unmatched, rows), TITLE))
        return evidence

    def _redirect(self, tag: str, words: tuple[str, ...]) -> str:
        """The equipment of the class the question names in ``tag``'s drive train ("the motor" of
        a pump), else ``tag``."""
        wanted = {CLASS_WORDS[w] for w in words if w in CLASS_WORDS}
        if not wanted:
            return tag
        train = queries.drive_train(self.backends.graph, tag)
        if not train or train[0].get("class_code") in wanted:
            return tag
        return next((str(r["tag"]) for r in train[1:] if r.get("class_code") in wanted), tag)


def no_sensor(tag: str, readings: list[Reading], rows: list[dict[str, Any]]) -> str:
    """What to say when no sensor on the asset measures the readings' quantities where asked."""
    asked = []
    for reading in readings:
        quantity = "vibration velocity" if reading.unit.quantity == "velocity" else reading.unit.quantity
        where = " ".join(w for w in reading.words if w in PLACES | set(ENDS))
        asked.append(f"{where} {quantity}" if where else quantity)
    quantities = " or ".join(dict.fromkeys(asked))
    values = " and ".join(r.text for r in readings)
    own = sorted({str(r.get("measures") or r.get("name")) for r in rows if not r.get("hop")})
    has = f" (its sensors measure {', '.join(own)})" if own else " (it has no sensors in the graph)"
    return (f"{tag} has no sensor measuring {quantities} in the graph{has}, so {values} cannot be compared "
            "with an alarm or trip value.")  # fmt: skip
