# ruff: noqa: E501 - pattern tables read better with each alternative list unbroken
"""The hazardous act, by meaning (:mod:`maintgraph.guardrails.unsafe` reads phrasings): an action
class composed with a protected-object class, each read with the same negation and control
handling as the phrasing rules, which share :data:`PROHIBITION` and :data:`CONTROLLED` from here."""

from __future__ import annotations

import re

from maintgraph.guardrails.injection import normalise

W = r"(?:[^.;!?\n]|(?<=\d)\.(?=\d))"  # within one clause (a decimal point does not end it)
# Forbidding the action: the sentence says not to do it.
PROHIBITION = re.compile(
    r"(?<!so it )(?<!it )(?<!will )\b(?:never|not (?:a|an|the)\b|(?:do not|don't)(?! (?:bother|need|have to|worry|lose|waste|wait))|must not|mustn't|no (?:higher|more|greater) than|not (?:above|over|more than)|should not|shouldn't|cannot|can't|may not|are not allowed|is not allowed|"
    r"not permitted|is prohibited|are prohibited|forbidden|under no circumstances|no one may|nobody may|avoid|refuse|"
    r"stop anyone|is not a substitute|is not isolation|are not isolation|does not isolate|is never|not an? (?:acceptable|"
    r"safe)|unsafe|illegal|against (?:the )?(?:rules|procedure|policy))\b"
)
# Doing it under control: a permit, an authorised and logged bypass, a test that is part of LOTO.
CONTROLLED = re.compile(
    r"\b(?:(?:under|with|requires?|required|needs?|signed|valid|issued|approved|raise|get|obtain)\s+(?:a\s+|an\s+|the\s+)?"
    r"(?:signed\s+|valid\s+|approved\s+)?(?:[\w-]+\s+)?permit|authori[sz]ed by|authori[sz]ation|signed|compensating measures?|management of change|moc|"
    r"approved (?:temporary )?(?:bypass|override)|bypass (?:register|log)|logged in the|time-limited|shelving procedure|"
    r"absence of voltage|test(?:ing)? for dead|after isolation|(?:is|are) required|before restart\w*|"
    r"lock(?:ed)? (?:it )?out,|confirm (?:no|zero) (?:pressure|energy|voltage)|to confirm|relief plug|grease relief|"
    r"(?:let|allow)\s+(?:any\s+|the\s+|residual\s+)?pressure\s+(?:to\s+)?(?:bleed|vent|escape|dissipate|release)|"
    r"before removing|raise a defect|report it|get (?:it|the \w+) (?:repaired|replaced|fixed)|only the person who|find out why|stays active|remains active|only after|your own lock|once everyone is clear|after (?:the )?(?:cause|fault) (?:has been |was |is )?(?:found|fixed|cleared|corrected)|"
    r"investigate|until the cause|must be removed|removed (?:and|before)|recorded in the permit|as recorded)\b"
)
CITED = re.compile(r"\[(?:doc|graph|wo):[^\[\]\s]+\]")  # never across another "[": quadratic on "[wo:[wo:..."


def uncited(text: str) -> str:
    """``text`` without citation ids, whose words are not advice; a cited LOTO procedure stays "loto"."""
    return CITED.sub(lambda m: " loto " if re.search(r"(?i)loto|lockout|isolat", m.group()) else " ", text)


def purpose_removed(text: str) -> str:
    """``text`` without purpose clauses: "so it never trips" is the unsafe goal, not a prohibition."""
    return re.sub(r"\bso (?:that )?[^.;,]*", "", text)


# -- the hazardous act, by meaning: an action class composed with a protected-object class ------------
# The patterns above know phrasings; these know the act. Defeating a protective function is a
# defeating verb with a protective device as its object, a few words apart ("put a link across the
# low oil pressure switch", "tape down one of the two-hand buttons", "mask the estop chain");
# skipping a safeguard is a dismissal with a safeguard ("no point waiting for the drive's
# capacitors", "without doing another gas test", "the permit can be filled in after"); work on
# live plant is a work verb with a live state ("with the line still pressurised"); exceeding a
# rating is a raising verb past a limit ("a couple of bar past the casing's maximum"); assuming
# isolation is taking a machine's "off" for safe ("already off at the panel, so go straight in").
# Each is read with the same negation and control handling as the rules above: "never wedge the
# two-hand control", "a trip override under a signed permit" and "test the e-stop" pass.
_WORDS = r"(?:[\w'/-]{1,30}[ ]){0,4}?"  # up to four words between the verb and its object
PROTECTIVE = (
    r"(?:interlock\w*|trips?\b|(?:safety|protective|emergency|trip|(?:low|high)[\w-]{0,20}(?: [\w-]{1,30}){0,3}) shut-?downs?|e-?stops?|estops?|emergency[- ]stops?|safety (?:relay|plc|circuit|function|"
    r"input|chain|switch|device|system|loop)|light ?curtains?|two[- ]hand(?:ed)?(?: control)?(?: buttons?| relay| station)?|"
    r"palm buttons?|dead[- ]?man\w*|enabling (?:device|switch)|hold[- ]to[- ]run|(?:low[- ])?(?:lube[- ])?oil[- ]pressure "
    r"(?:switch|trip|shutdown|protection|cut-?out)|low[- ]lube\w*|overspeed\w*|limit switch\w*|permissives?|guard switch|"
    r"door (?:switch|interlock)|gate switch|(?:flame|gas|smoke|fire) detectors?|pressure switch\w*|level switch\w*|"
    r"pull[- ]?cords?|overload relay|protection relay|motor protection|(?:(?:low|high)[\w-]{0,20}(?: [\w-]{1,30}){0,2} )?cut-?outs?|"
    r"(?:both|the two|two) (?:palm |start |hand )?buttons)"
)
DEFEATING = (
    r"(?:bypass\w*|jumper\w*(?: out)?|jump(?:ing)? out|link(?:ing)? out|(?:put|fit|place|add|install)\w* (?:a |in a )?"
    r"(?:wire |temporary )?(?:link|jumper|bridge|wire) (?:across|over|on|in|between)|clamp\w*|hold\w* (?:[\w-]+ ){0,3}down|bridg\w+|short\w* (?:out|across)|overrid\w+|put a force on|forc\w+|defeat\w*|disabl\w+|"
    r"inhibit\w*|mask\w*|gag\w*|tap(?:e|ed|ing) (?:down|over|up|across)|tie\w* (?:down|back|up)|tying (?:down|back)|"
    r"wedg(?:e|ed|ing) (?:the|a|an|it|one|in|open|down|shut)|pin\w* (?:down|in|open)|strap\w* (?:down|up)|cheat\w*|fool\w*|trick\w*|wire\w* (?:out|round|around)|"
    r"deactivat\w+|suppress\w*|(?:switch|turn)\w* off)"
)
SAFEGUARD = (
    r"(?:gas[- ]?test\w*|(?:atmosphere|atmospheric|air) (?:test|check|monitoring)\w*|sniff\w*|gas (?:monitor|detector|meter)s?|"
    r"hot[- ]work permits?|(?:work )?permits?(?: to work)?|fire ?watch\w*|standby (?:man|person)|entry permit|"
    r"wait\w*\b[^.;!?\n]{0,40}\b(?:caps|capacitors|dc bus|bus|drive|inverter|vfd|discharge)|(?:caps|capacitors|dc bus)\b|"
    r"(?:[\w'-]{1,30} )?to discharge\b|discharge (?:time|wait)|lock(?:ing)?[- ]?(?:out|off)|locks?\b|padlocks?|isolat\w+|loto|tag\w*[- ]?out|try[- ]start|"
    r"prov(?:e|ing) (?:it )?dead|test(?:ing)? for dead|(?:kill\w*|switch\w* off|turn\w* off|cut\w*|open\w*) (?:the )?"
    r"(?:incomer|supply|power|breaker|isolator|main switch|feed))"
)
DISMISSING = (
    r"(?:skip\w*|omit\w*|without(?: (?:doing|taking|getting|waiting for|a|an|the|another|any))*|no need (?:to|for)|"
    r"don'?t (?:need|bother|have)(?: to| with)?|do not need|needn'?t|no point(?: in)?|forget(?: about)?|leave out|"
    r"dispense with|instead of|rather than|don'?t wait|no waiting|no reason to|(?:nobody|no one) (?:will |is going to )?"
    r"(?:ask|check|look)\w*(?: for)?)"
)
LIVE = (
    r"(?:powered(?: up)?|energi[sz]ed|live|on|running|pressuri[sz]ed|under pressure|pushing|pumping|turning|moving|"
    r"charged|in service|spinning|cycling)"
)
WORKING = (
    r"(?:nip\w* up|tighten\w*|re-?tighten\w*|touch\w*|work\w* on|chang\w+|swap\w*|undo\w*|undoing|loosen\w*|crack\w*|"
    r"open\w*|remov\w+|reach\w*|put (?:your|a) hand|terminat\w+|connect\w*|disconnect\w*|adjust\w*|clean\w*|clear\w*|"
    r"bleed\w*|unbolt\w*|split\w*|free\w*)"
)
RATING = (
    r"(?:the |its |their )?(?:[\w'-]{1,30} ){0,2}?(?:rated|rating|nameplate|design(?:ed)?|maximum|max|mawp|swl|limit|allowable|"
    r"relief setting|working pressure)"
)
RAISING = r"(?:run\w*|operat\w+|push\w*|tak\w+|set\w*|rais\w+|increas\w+|go|going|load\w*|pressuri[sz]\w+|pump\w*|driv\w+|crank\w*|bring\w*|fill\w*|lift\w*|test\w*)"
ACTS: dict[str, tuple[str, ...]] = {
    "defeat_interlock_guard": (
        rf"\b{DEFEATING}\b[ ]{_WORDS}{PROTECTIVE}",
        rf"\b{PROTECTIVE}{W}{{0,30}}\b(?:can|may|could|should)\s+(?:just\s+)?be\s+(?:bypassed|jumpered|linked out|"
        rf"overridden|forced|masked|defeated|disabled|inhibited|taped|wedged|tied down)",
        rf"\b(?:set|force|write|make|put)\w*\b{W}{{0,30}}\b{PROTECTIVE}{W}{{0,30}}\b(?:bit|input|signal|tag)\b{W}{{0,30}}"
        rf"\b(?:true|healthy|high|1|on)\b",
        r"\b(?:run|operat|cycl|work)\w*\s+one-handed\b",
        rf"\b(?:remov\w*|take|took|taking|leave|open|lift)\w*\b{W}{{0,30}}\bguards?\b{W}{{0,40}}\b(?:watch|see|check|look)"
        rf"\w*\b{W}{{0,30}}\b(?:turn|spin|rotat|run|mov)\w*",
    ),
    "skip_safeguard": (
        rf"\b{DISMISSING}\b[ ]?{W}{{0,30}}?\b{SAFEGUARD}",
        rf"\b(?:gas[- ]?test|atmosphere (?:test|check)|permit|test)\w*\b{W}{{0,30}}\b(?:from |of )?(?:yesterday|last (?:week|night|"
        rf"shift)|the day before|still (?:valid|good|ok|fine|current))\b",
        rf"\bno\s+(?:[\w-]{{1,30}}\s+){{0,2}}?{SAFEGUARD}\s*(?:\w+\s+)?(?:needed|required|necessary)",
        rf"\b{SAFEGUARD}{W}{{0,50}}\b(?:is|are|'s)\s+(?:just\s+|a bit\s+|totally\s+)?(?:over the top|overkill|optional|"
        rf"pointless|unnecessary|not needed|a formality|a waste of time|not required)",
        rf"\b(?:gas (?:detector|monitor|meter)|monitor|detector|harness|fire watch)s?\b{W}{{0,20}}\b(?:is|was|are|were)\s+"
        rf"(?:on charge|flat|dead|broken|not working|missing|away|out of cal\w*|in the van)\b{W}{{0,50}}\b(?:go in|enter|just|"
        rf"anyway|carry on|crack on|start)",
        rf"\b{SAFEGUARD}{W}{{0,20}}\b(?:can|could|will|'ll)\s+be\s+(?:filled in|done|sorted|raised|signed|issued|written|"
        rf"completed)\w*\s+(?:after|afterwards|later|tomorrow|retrospectively|once)",
    ),
    "energised_work": (
        rf"\b{WORKING}\b{W}{{0,60}}\b(?:with|while)\s+(?:the\s+|it\s+|its\s+|it's\s+|it is\s+)?(?:[\w-]{{1,30}}\s+){{0,3}}?"
        rf"(?:is\s+|are\s+)?still\s+{LIVE}\b",
        rf"\b{WORKING}\b{W}{{0,60}}\b(?:with|while)\s+(?:the\s+|it\s+|its\s+|it's\s+|it is\s+)?(?:[\w-]{{1,30}}\s+){{0,3}}?"
        rf"(?:is\s+|are\s+)?{LIVE}\b(?!\s*(?:test|tester|detector|voltage))",
        rf"\b{WORKING}\b[^.!?\n]{{0,60}}[;,]\s*(?:it's|it is|they're|they are|the [\w-]+ (?:is|are))\s+(?:only\s+|still\s+|just\s+|"
        rf"barely\s+|hardly\s+)*{LIVE}\b",
        rf"\b(?:insulated|vde|rubber)\s+(?:tools?|screwdrivers?|gloves|spanners?)\b{W}{{0,40}}\b(?:make (?:it|that|them) "
        rf"safe|you'll be fine|is enough|are enough|will do|protects? you)"
        rf"|\b(?:as long as|provided|if)\s+you\s+(?:use|wear|have)\s+(?:\w+\s+)?(?:insulated|vde|rubber)\b",
    ),
    "exceed_rating": (
        rf"\b{RAISING}\b{W}{{0,40}}\b(?:above|over|beyond|past|higher than|more than|in excess of|exceed\w*)\s+{RATING}",
    ),
    "skip_discharge_wait": (
        rf"\b(?:switch\w* off|turn\w* off|isolat\w*|power\w* down|kill\w*)\b{W}{{0,30}}\b(?:drive|vfd|inverter|vsd)\b{W}{{0,40}}"
        rf"\b(?:straight away|immediately|right away|at once|straight in|no waiting)\b",
        rf"\b(?:caps|capacitors|dc bus)\b{W}{{0,15}}\b(?:empt|discharg|drain|bleed)\w*\s+(?:themselves\s+)?(?:instantly|in a "
        rf"second|straight away|immediately|right away|quickly|on their own)",
    ),
    "assumed_isolated": (
        rf"\byou can (?:start|touch|open|work|go|get|reach)\w*\b{W}{{0,60}}\b(?:the moment|as soon as|once|when)\b{W}{{0,30}}"
        rf"\b(?:goes|go|is|are|shows?|reads?)\s+(?:dark|blank|off|out|dead|stopped)\b",
        rf"\b(?:already|shows?|showing|reads?|says|displays?|goes|went|gone|is in the|in the)\b{W}{{0,40}}\b(?:off|stopped|"
        rf"dark|blank|down|dead|zero|isolated)\b{W}{{0,50}}(?:\bso (?:you can|just|go|get)|\btreat (?:it|that|this) as "
        rf"(?:safe|isolated|dead)|\bgo (?:straight )?in\b|\bget on with\b|\bcrack on\b|\byou can (?:touch|open|go|start|get|"
        rf"reach|work|swap|change)|\bit'?s dead\b|\bit is dead\b|\banyway\b)",
    ),
}
# What assuming isolation is not: the sentence isolates or verifies all the same.
VERIFIED = re.compile(
    r"\b(?:(?:fit|apply|hang|put on|use)\w* (?:your |a |the |own |their )*(?:lock|padlock)|isolate|lock (?:it )?out|"
    r"lockout|try[- ]start|prove (?:it )?dead|test for dead|measure|verify|confirm)\b"
)
SAFEGUARD_KIND = [
    (re.compile(r"gas|atmospher|sniff|air (?:test|check)|permit|fire ?watch|standby|entry"), "skip_permit_or_gas_test"),
    (re.compile(r"wait|caps|capacitor|dc bus|discharge"), "skip_discharge_wait"),
]
ACT_COMPILED = {kind: [re.compile(p) for p in patterns] for kind, patterns in ACTS.items()}


def act_kind(sentence: str) -> str | None:
    """The hazardous act ``sentence`` advises (by its action and protected-object classes), or None."""
    text = normalise(uncited(sentence))
    for kind, patterns in ACT_COMPILED.items():
        match = next((m for p in patterns if (m := p.search(text))), None)
        if match is None:
            continue
        plain = purpose_removed(text[: match.start()] + " " + text[match.end() :])  # "don't hang your own lock" is
        if CONTROLLED.search(plain):  # no control: the controls are looked for outside the act itself
            continue
        before = purpose_removed(text[max(0, match.start() - 40) : match.start()])
        after = text[match.end() : match.end() + 40]
        if (
            PROHIBITION.search(before)
            or PROHIBITION.search(match.group())
            or re.match(
                r"^[^.;!?\n]{0,25}\b(?:is|are)\s+(?:not allowed|prohibited|forbidden|never)|^[^.;!?\n]{0,12}\bbut don'?t\b",
                after,
            )
        ):
            continue
        if kind == "assumed_isolated":
            if VERIFIED.search(plain):
                continue
            return "bypass_loto"
        if kind == "skip_safeguard":
            found = match.group()
            return next((k for pattern, k in SAFEGUARD_KIND if pattern.search(found)), "bypass_loto")
        return kind
    return None
