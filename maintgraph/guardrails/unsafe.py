# ruff: noqa: E501 - pattern tables read better with each alternative list unbroken
"""Unsafe procedural advice in an answer: the things that kill people in plants.

Five kinds, after the usual fatal-accident causes: bypassing lockout/tagout, defeating
interlocks or guards, working on energised, moving or pressurised equipment, silencing or
inhibiting alarms and trips to keep running, and exceeding ratings. Each sentence of the answer
is read on its own. A sentence is unsafe when it advises one of these, and safe when it
forbids it ("never bypass the interlock"), makes it conditional on the controls that make it
acceptable (a signed bypass permit with compensating measures), or uses the words innocently
("open the bypass valve V-12", "test for absence of voltage with a rated tester").

The fix is not to soften the advice: the unsafe sentences are removed and replaced by the safe
procedure (the equipment's isolation steps from the evidence when there are any).
"""

from __future__ import annotations

import re

from maintgraph.guardrails.findings import Finding, without
from maintgraph.guardrails.injection import normalise
from maintgraph.guardrails.unsafe_acts import CITED, CONTROLLED, PROHIBITION, W, act_kind, purpose_removed, uncited

UNSAFE: dict[str, tuple[str, ...]] = {
    "bypass_loto": (
        rf"\b(?:skip|omit|don't bother|no need|not necessary|isn't necessary|unnecessary|without|forget|leave out|"
        rf"don't need|do not need|doesn't need|needn't|don't have to|no requirement|"
        rf"dispense with|not needed|isn't needed|no point|waste of time|overkill|optional)\b{W}{{0,40}}\b(?:lock(?:ing)?[- ]?(?:out|off)|"
        rf"loto|tag(?:ging)?[- ]?out|isolat\w*|lock(?:s|ing)?|padlocks?|hasps?|zero[- ]energy|try[- ]start|prove dead|"
        rf"proving dead|verify\w*|the permit)\b",
        rf"\b(?:lock(?:ing)?[- ]?out|loto|tag(?:ging)?[- ]?out|isolation|isolating|locking (?:it )?off)\b{W}{{0,30}}\b(?:is|isn't|"
        rf"are|aren't)\s+(?:not\s+)?(?:needed|necessary|required|overkill|optional|a waste)",
        rf"\b(?:leave|keep)\s+(?:the\s+)?(?:[\w-]+\s+){{0,2}}(?:isolator|breaker|disconnect|supply|power|main switch|fuses?|"
        rf"incomer)\b{W}{{0,20}}\b(?:on|closed|in|live|energi[sz]ed)\b",
        r"\b(?:stop|e-?stop|emergency stop|off|control|start/stop)\s+(?:(?:button|pushbutton|switch|station)\s*)?(?:as|for|"
        r"instead of)\s+(?:your\s+|the\s+)?(?:isolation|lock(?:ing)?[- ]?out|loto)",
        rf"\b(?:just|simply|only)\s+(?:switch|turn|shut|press|hit|stop)\w*\b{W}{{0,40}}\b(?:off|stop|e-?stop)\b"
        rf"{W}{{0,40}}\b(?:no need|don't need|then (?:start|work|go)|and (?:start|work|crack|get|go))",
        rf"\b(?:remove|cut|take off|unlock|borrow)\w*\b{W}{{0,25}}\b(?:someone|somebody|another|his|her|their|the other|the "
        rf"electrician's|the fitter's|his own|a colleague's)\w*(?:'s)?\s+(?:lock|key|padlock|tag)",
        rf"\b(?:his|her|their|the electrician's|the fitter's|a colleague's|someone else's)\s+(?:lock|padlock)\b{W}{{0,30}}"
        rf"\b(?:off|remove|cut)\b",
        r"\b(?:share|use)\s+(?:one|a single|the same|his|her)\s+(?:lock|padlock|key)\b",
        rf"\b(?:lock|lockout|lock-out|loto|isolation|permit|tag|padlock|procedure|paperwork)\w*\b{W}{{0,40}}\b(?:formality|"
        rf"box[- ]ticking|red tape|overkill|optional|not really needed|waste of time|just paperwork|mostly paperwork)",
        r"\bwithout\s+(?:a\s+|any\s+|the\s+)?(?:permit|isolation|isolating|lockout|lock-out|loto|locking|lock|locks|"
        r"padlock|tagout)\b",
        rf"\b(?:colleague|someone else|somebody else|another person|the other|other trade|electrician|fitter)\w*(?:'s)?\s+"
        rf"(?:lock|padlock)s?\b{W}{{0,50}}\b(?:instead of|rather than|covers? (?:you|both|everyone)|for (?:you|both|everyone))",
        r"\binstead of\s+(?:fitting|using|applying|hanging)\s+your\s+own\s+(?:lock|padlock)",
        rf"\b(?:scada|dcs|hmi|plc|control room|remote|software|manual[- ]off|stop command|vsd|vfd|drive|stop button|"
        rf"e-?stop)\b{W}{{0,60}}\b(?:isolat\w*|lock(?:ed|s)? (?:it )?out)\b{W}{{0,20}}\b(?:well enough|good enough|enough|"
        rf"just as well|same thing)",
        rf"\b(?:well|good) enough\b{W}{{0,30}}\b(?:isolat\w*|lockout|loto)|\bisolat\w*\b{W}{{0,20}}\b(?:well|good) enough",
        rf"\bafter\s+(?:pressing|hitting|pushing)\s+(?:the\s+)?(?:e-?stop|emergency stop|stop)\b{W}{{0,40}}\b(?:work|reach|"
        rf"start|go in|remove|change)",
    ),
    "defeat_interlock_guard": (
        rf"\b(?:jumper|jump out|jump|bridge|bridging|bypass|override|overrid|force|forcing|defeat|disabl|cheat|short(?:ing)? "
        rf"out|short|inhibit|tape|taping|tie|tying|wedge|prop|pin|cable[- ]tie|zip[- ]tie|block|fool|trick|wire out|wire "
        rf"round|link out)\w*\b{W}{{0,40}}\b(?:interlock|trip|permissive|limit switch|safety relay|light curtain|door "
        rf"switch|gate switch|guard switch|e-?stop|pressure switch|safety (?:circuit|function|device|switch|input|system)|"
        rf"plc (?:bit|input|output)|safety plc|lid switch|proximity switch|pull[- ]cord|trip wire|zero[- ]speed|plunger|"
        rf"reed switch|safety switch|switch actuator|door contact|gate contact)",
        rf"\b(?:remove|take off|leave off|open|prop open|tape open|pin open|tie back|swing open|lift)\w*\b{W}{{0,30}}"
        rf"\b(?:guard|cover|shield|fence|enclosure|screen|gate)s?\b{W}{{0,40}}\b(?:while|running|still moving|in motion|"
        rf"rotating|cycling|and run|and start|then start|and (?:let|leave) it run|to watch|to see|to check)\b",
        rf"\b(?:run|running|operate|start|leave)\b{W}{{0,25}}\bwith(?:out)?\s+(?:the\s+)?(?:[\w-]+\s+){{0,2}}(?:guard|cover|shield|interlock|"
        rf"light curtain)s?\b(?:{W}{{0,10}}\b(?:off|removed|open|missing|defeated|bypassed))?",
        rf"\b(?:magnet|spare (?:actuator|key)|actuator key|spare tongue|piece of tape|cable tie|screwdriver)\b{W}{{0,60}}"
        rf"\b(?:switch|interlock|gate|door|lid)\b{W}{{0,40}}\b(?:thinks|closed|shut|made|running|cycling|so)\b",
        rf"\b(?:interlock|trip|guard|light curtain|safety relay|e-?stop)\b{W}{{0,30}}\b(?:can be|may be|is safe to be|gets?)\s+"
        rf"(?:bypassed|jumpered|defeated|overridden|disabled|removed|ignored|taped)",
        rf"\bforce\w*\b{W}{{0,20}}\b(?:bit|input|output|tag)\b{W}{{0,30}}\b(?:on|true|1|high|healthy|closed)\b",
        rf"\b(?:e-?stop|interlock|trip|limit switch|guard switch|door switch|safety relay|light curtain|pressure switch|"
        rf"level switch|permissive)\b{W}{{0,60}}\b(?:link|jumper|jump|bridge|bypass|wire|short|tape|override|defeat)\s+"
        rf"(?:it|them)\b",
    ),
    "energised_work": (
        rf"\b(?:change|replace|swap|work on|remove|dismantle|open|crack|unbolt|loosen|re-?terminate|terminate|disconnect|"
        rf"connect|reach|put your hand|clear|unblock|adjust|tighten|strip|pull|lift|repack|wipe|drill|cut|grind|weld|"
        rf"probe|fit|install|work)\w*\b{W}{{0,50}}\b(?:while|with|as)\s+(?:the\s+|it\s+|its\s+|it's\s+|it is\s+|they're\s+)?"
        rf"(?:[\w-]+\s+){{0,3}}(?:is\s+|are\s+|still\s+|stays?\s+){{0,2}}(?:running|energi[sz]ed|live|hot|pressuri[sz]ed|"
        rf"moving|rotating|turning|under pressure|on load|in service|in operation|powered|switched on|cycling|online|"
        rf"coasting|spinning|running down|winding down|supply on|power on)\b",
        rf"\bopen\w*\b{W}{{0,30}}\b(?:junction box|enclosure|panel|cable box|terminal box|cabinet|switchboard)\b{W}{{0,60}}"
        rf"\b(?:live|energi[sz]ed|hot|powered)\b",
        rf"\b(?:keep|leave)\s+(?:it|the\s+[\w-]+(?:\s+[\w-]+)?)\s+(?:running|energi[sz]ed|live|pressuri[sz]ed|on|online|"
        rf"in service|powered)\b{W}{{0,50}}\b(?:while|and|as)\b{W}{{0,20}}\b(?:change|replace|work|remove|crack|open|swap|"
        rf"adjust|tighten|fix|do)",
        rf"\b(?:do|work|doing|working|done|terminate|re-?terminate|connect|disconnect|change|probe|swap|replace|install|fit|"
        rf"remove|pull)\w*\b{W}{{0,40}}\b(?:it\s+)?"
        rf"(?:live|hot)\b(?!\s*(?:voltage|test|tester|detector|conductor|parts? test))",
        rf"\b(?:no need|not necessary|don't need|don't bother|unnecessary|without)\b{W}{{0,20}}\b(?:to\s+)?(?:de-?energi[sz]|"
        rf"isolat|depressuri[sz]|drain|vent|bleed|stop|shut\w* (?:it )?down|switch\w* (?:it )?off|turn\w* (?:it )?off|"
        rf"power\w* down|wait for it to stop)",
        rf"\b(?:insulated gloves|rubber gloves|gloves)\b{W}{{0,40}}\b(?:live|energi[sz]ed|hot)\b|\b(?:live|energi[sz]ed)\b"
        rf"{W}{{0,40}}\b(?:insulated gloves|rubber gloves|just be careful|be careful)\b",
        rf"\bonly\s+\d+\s*v\b{W}{{0,40}}\b(?:live|hot|energi[sz]ed|safe)\b",
        rf"\b(?:no need|don't need|do not need|needn't|without|skip|no point)\w*\s+(?:to\s+)?(?:test(?:ing)?|prov(?:e|ing)|"
        rf"verify(?:ing)?|check(?:ing)?|measur(?:e|ing))\b{W}{{0,25}}\b(?:dead|zero|voltage|absence|isolation|energy|"
        rf"discharged|the terminals)?",
        rf"\b(?:breaker|isolator|power|supply|vfd|drive|dc bus|capacitors?|it|circuit)\b{W}{{0,40}}\b(?:so it's|so it is|"
        rf"so they're|will have|must be|definitely|should be|is bound to be)\s+(?:\w+\s+)?(?:dead|discharged|safe|"
        rf"de-?energi[sz]ed)",
        r"\bwithout\s+(?:measuring|testing|checking|proving)\b",
        rf"\b(?:multimeter|multi-meter|cat (?:ii|iii|iv)\b|test lamp|voltage tester)\b{W}{{0,80}}\b\d+(?:\.\d+)?\s*kv\b"
        rf"|\b\d+(?:\.\d+)?\s*kv\b{W}{{0,80}}\b(?:multimeter|multi-meter|cat (?:ii|iii|iv) meter|test lamp)\b",
        rf"\b(?:reach|put (?:your|a) hand|hand)\w*\b{W}{{0,30}}\b(?:in|into|inside|past|under|through)\b{W}{{0,40}}\b(?:while|"
        rf"as)\b{W}{{0,20}}\b(?:running|moving|turning|rotating|cycling)",
        rf"\b(?:crack|loosen|open|undo|remove)\w*\b{W}{{0,30}}\b(?:flange|bolts|cover|plug|fitting|union|bonnet|cap)\b{W}{{0,40}}"
        rf"\b(?:pressure|pressuri[sz]ed|still (?:full|hot|charged)|under pressure|let it bleed|let it spray)",
    ),
    "silence_alarm": (
        rf"\b(?:mute|silence|disable|inhibit|bypass|switch off|turn off|suppress|shelve|defeat|override|cancel|unplug|"
        rf"disconnect|remove|cover|tape over|block|jumper|ignore|put|raise|increase|widen|lengthen|stretch|extend|move|"
        rf"lower|drop|set|delete|turn\b{W}{{0,30}}\bdown)\w*\b{W}{{0,50}}\b(?:alarms?|trips?|horns?|sirens?|beacons?|"
        rf"(?:gas |smoke |flame |fire )?detectors?|alarm (?:set ?point|limit|delay)|trip (?:set ?point|limit|level)|on-delay|"
        rf"annunciat\w*|sounders?|buzzers?|klaxons?|bells?|fire panel)\b{W}{{0,60}}\b(?:keep "
        rf"(?:it )?running|keeps? (?:going off|coming in|tripping|alarming)|carry on|continue|stop(?:s)? (?:it )?(?:from )?"
        rf"(?:going off|tripping|alarming|coming in|bothering)|so (?:it|that it|the \w+) (?:stops|doesn't|does not|won't|"
        rf"never|can run|keeps)|nuisance|annoying|for (?:the rest of )?(?:the|this) shift|until (?:the )?(?:weekend|"
        rf"end|shutdown|outage|monday|friday|next)|permanently|for good|never actually|doesn't trip|won't trip|"
        rf"stays? (?:running|online)|false alarms?|never (?:show|come|appear|annunciate)|nobody (?:looks|checks|reads)|"
        rf"no one (?:looks|checks|reads)|always (?:false|spurious|wrong)|anyway|from the alarm list)",
        rf"\b(?:acknowledg|reset|silenc|mut)\w*\b{W}{{0,40}}\bwithout\s+(?:investigating|checking|looking|finding)",
        r"\b(?:keep|just keep)\s+(?:acknowledging|resetting|muting|silencing)\b",
        rf"\b(?:delete|remove)\w*\b{W}{{0,30}}\bfrom the alarm (?:list|summary|display|system)",
        rf"\b(?:put|place|leave|set)\b{W}{{0,40}}\bin(?:to)?\s+(?:maintenance\s+)?(?:override|bypass|inhibit|test mode|"
        rf"simulation)\b{W}{{0,60}}\b(?:keep|run|running|carry on|continue|stays?)",
        rf"\b(?:raise|increase|widen|lengthen|stretch|extend|bump up|double)\w*\b{W}{{0,30}}\b(?:trip|alarm)\s*(?:set ?point|"
        rf"limit|level|delay|threshold|on-delay)\b{W}{{0,40}}\b(?:so|to stop|to keep|stops?|won't|doesn't|until)",
        rf"\b(?:ignore|acknowledge and ignore|just acknowledge|keep acknowledging|reset and restart|keep resetting)\w*\b"
        rf"{W}{{0,30}}\b(?:alarms?|trips?|warnings?|the (?:horn|beacon|siren))\b",
    ),
    "exceed_rating": (
        rf"\b(?:run|operate|set|raise|increase|push|drive|load|take|crank|turn up|wind up|bump)\w*\b{W}{{0,40}}\b(?:above|"
        rf"over|beyond|past|more than|higher than|in excess of|exceed\w*)\s+(?:the\s+|its\s+)?(?:rated|rating|nameplate|"
        rf"design|maximum|max|limit|full[- ]load|fla|flc|relief|mawp|set ?point|allowable|specified|spec|recommended)",
        rf"\b(?:exceed|overload|overspeed|overpressur|overfill|overgreas|over-greas|overheat|overcharg)\w*\b"
        rf"(?!{W}{{0,5}}\b(?:protection|relay|trip|alarm|test|setting)\b){W}{{0,40}}\b(?:fine|ok|okay|safe|no problem|won't hurt|"
        rf"to be safe|for a while|for now|temporarily|a bit|briefly|until|doesn't matter|can handle|it's fine)\b",
        rf"\b(?:screw|wind|turn|tighten|gag|shim|clamp|wedge|block|adjust|raise|increase|reset)\w*\b{W}{{0,30}}\b(?:relief|"
        rf"safety)\s+valve",
        rf"\b(?:relief|safety)\s+valve\b{W}{{0,40}}\b(?:screw(?:ed)? down|wound down|gagged|blocked|raised|higher|up a bit|"
        rf"a few turns|tighter)",
        rf"\b(?:set|raise|increase|turn|adjust)\w*\b{W}{{0,30}}\b(?:overload|thermal overload|ol relay|breaker|fuse|"
        rf"protection|current limit)\b{W}{{0,30}}\b(?:to|at)\s+(?:1[1-9]\d|[2-9]\d\d)\s*%",
        r"\b(?:bigger|larger|higher[- ]rated|oversi[sz]ed)\s+(?:fuse|breaker|mcb|overload)\b",
        rf"\b(?:double|twice|triple|extra|more than (?:the )?(?:specified|recommended|spec))\b{W}{{0,20}}\b(?:grease|oil|"
        rf"charge|refrigerant|amount|quantity|shots?)\b",
        rf"\b(?:keep|continue)\s+(?:pumping|adding|filling|greasing)\b{W}{{0,30}}\buntil\b",
        rf"\b(?:although|even though|despite|though)\b{W}{{0,40}}\b(?:rated|rating|nameplate|max(?:imum)?|limit|designed|"
        rf"design)\b",
        rf"\b(?:fine|ok|okay|cope|copes|handle|no problem|won't hurt|won't overheat|conservative)\b{W}{{0,40}}\b(?:overspeed|"
        rf"overload|overpressur\w*|overheat\w*|over[- ]?current|the extra (?:speed|load|pressure|current))",
        r"\b(?:1(?:0[1-9]|[1-9]\d)|[2-9]\d\d)\s*%\s+of\s+(?:the\s+|its\s+)?(?:rated|rating|nameplate|design|maximum|max|"
        r"full[- ]load|fla|flc|swl)",
        r"\b(?:ignore|skip|forget|don't bother with|no need for|disregard)\s+(?:the\s+)?(?:derating|de-rating|rating|"
        r"nameplate|correction factor|limit)s?\b",
        rf"(?:^|\b(?:can|fine to|ok to|okay to|just|safe to|you can)\s+)(?:run|operate)\w*\b{W}{{0,40}}\b(?:against (?:a |the )?closed|dead[- ]?head\w*|with the discharge "
        rf"(?:valve )?(?:shut|closed)|dry)\b",
        rf"\b(?:rated|rating|nameplate|max(?:imum)?|limit)\b{W}{{0,40}}\b(?:but|however)\b{W}{{0,30}}\b(?:run|set|push|"
        rf"take|go|can|fine|ok)\b",
    ),
}
COMPILED = {kind: [re.compile(p) for p in patterns] for kind, patterns in UNSAFE.items()}
# The general shape of unsafe advice, for phrasings the patterns above do not know: a safety
# device or limit, something done to it or despite it, and a reason to go on regardless.
HAZARD = {
    "bypass_loto": r"\b(?:lock(?:ing)?[- ]?out|loto|tag[- ]?out|padlocks?|isolation|isolator|try[- ]start|zero[- ]energy|"
                   r"e-?stop|stop button|breaker|chain(?:ing)?|lock)\b",
    "defeat_interlock_guard": r"\b(?:interlock|permissive|limit switch|door switch|cover switch|gate switch|light curtain|"
                              r"guards?|hatch|lid|level switch|pressure switch|trip|safety relay|switch)\b",
    "silence_alarm": r"\b(?:alarms?|horns?|sirens?|beacons?|monitors?|detectors?|annunciat\w*|beeping|float switch|sounders?|buzzers?|bells?|"
                     r"tripping)\b",
    "energised_work": r"\b(?:hot|live|energi[sz]ed|running|turning|rotating|moving|load still on|\d+\s*bar|dc bus|"
                      r"run-up|pressuri[sz]ed|still at)\b",
    "exceed_rating": r"\b(?:rated|rating|nameplate|maximum|max|designed for|design(?:ed)? (?:pressure|for)|safe working load|"
                     r"swl|service factor|\d+\s*a fuse|relief|capacity)\b",
}  # fmt: skip
DEFEAT = re.compile(
    r"\b(?:bypass|bridge|link (?:wire|out)|jumper|jump out|tape|taping|prop|wedge|magnet|bend|mute|inhibit|shelve|silence|"
    r"silent|disconnect|pull|cut (?:\w+ ){0,3}(?:off|lock|padlock|wire)|remove|take\b.{0,30}\b(?:off|out)|leave\b.{0,30}\b(?:off|out|open)|override|force|defeat|"
    r"disable|skip|don't bother|leave them out|stick|bigger|larger|turn (?:\w+ )?up|stretch|raise (?:the |its )?(?:[\w-]+ ){0,3}(?:set ?point|limit|trip|alarm|setting|delay|relief)|"
    r"lift\b[^.]{0,30}\b\d+(?:\.\d+)?\s*(?:t|tonnes?|kg)|\d+(?:\.\d+)? times (?:the )?(?:nameplate|rated|rating|design)|faster|re-?terminate|start on|wipe|loosen|repack|reach in|one padlock|take it off|put a|go through|"
    r"acknowledge everything|delete)\b|\bturn\b.{0,40}\b(?:down|off)\b|\brun\b(?:\s+[\w-]+){0,3}\s+at\s+\d"
    r"|\bset\b.{0,40}\bto \d|\breplace\b.{0,30}\bwith an? \d"
)
JUSTIFY = re.compile(
    r"\b(?:so (?:it|you|the|that)|while\b|saves?|quicker|faster|fine|cope|good enough|no risk|spurious|probably|already|"
    r"from now on|indefinitely|until|keep (?:\w+ ){0,3}(?:running|in service)|don't need|doesn't need|paperwork|no need|"
    r"it'll|okay|will hold|tells you|safety factor|as soon as|after|for the whole|then you can|just|carry on|know|"
    r"isn't telling|will cope|stops|on for days|gone home|for that|quick|and run|when you're (?:done|finished)|happily|"
    r"will run|runs? fine|no problem|won't hurt|harmless|safe enough|anyway|always|nobody|no one|conservative|margin|"
    r"you'll be fine|formality|won't mind|keeps (?:going off|tripping|coming in|alarming|sounding)|never actually|"
    r"service factor|headroom|covers it|built with)\b"
)
ISOLATING = re.compile(r"\b(?:isolate|lock (?:it )?out|apply (?:the |your )?(?:lock|loto)|fit your (?:own )?lock)\b")
SENTENCE = re.compile(r"(?:[^.!?\n]|(?<=\d)\.(?=\d))+(?:[.!?]+|\n|$)")
SAFE_PROCEDURE = {
    "bypass_loto": "Isolate the equipment and apply lockout/tagout (each person fits their own lock), then verify zero energy with a try-start before work.",
    "defeat_interlock_guard": "Never bypass interlocks or remove guards on running equipment; a temporary bypass needs a signed bypass permit and compensating measures.",
    "energised_work": "Stop, isolate, lock out and verify zero energy (and depressurise and drain where there is pressure) before any work on the equipment.",
    "silence_alarm": "Acknowledge the alarm and find and fix its cause before resetting; alarms and trips stay in service.",
    "unsafe_advice": "Follow the equipment's lockout/tagout and safety procedures: no protection bypassed, no work on energised equipment.",
    "skip_permit_or_gas_test": "Hot work and confined-space entry need a valid permit, a gas test recorded before the work starts (and a monitor worn throughout) and, for hot work, a fire watch.",
    "skip_discharge_wait": "After isolating a drive, wait the discharge time on its label and measure the DC bus below a safe voltage before touching any terminal.",
    "exceed_rating": "Operate within the nameplate ratings and the relief and protection settings; do not change them without an engineering review.",
}  # fmt: skip


def unsafe_kind(sentence: str) -> str | None:
    """The kind of unsafe advice ``sentence`` gives, or None when it gives none."""
    text = normalise(uncited(sentence))
    plain = purpose_removed(text)
    for kind, patterns in COMPILED.items():
        match = next((m for p in patterns if (m := p.search(text))), None)
        if match is None:
            continue
        window = purpose_removed(text[max(0, match.start() - 40) : match.end() + 40])
        if PROHIBITION.search(window) or CONTROLLED.search(plain):
            continue
        return kind
    return None


def general_kind(text: str, context: str = "") -> str | None:
    """The general shape (safety device or limit + defeated + a reason to go on) in ``text``,
    the device or the reason possibly in the ``context`` sentences around it."""
    text, context = normalise(uncited(text)), normalise(uncited(context))
    plain = purpose_removed(text)
    if ISOLATING.search(plain):  # a step that isolates: unsafe isolation advice is what the rules above know
        return None
    if PROHIBITION.search(plain) or CONTROLLED.search(plain) or re.search(r"\bbypass (?:valve|line|flow)", text):
        return None
    for kind, hazard in HAZARD.items():
        if (
            (re.search(hazard, text) or re.search(hazard, context))
            and DEFEAT.search(text)
            and (JUSTIFY.search(text) or JUSTIFY.search(context))
        ):
            return kind
    return None


# A protective device swapped for a bigger one: "fit a 63 A fuse in place of the 32 A one". A
# number starts where its digits start (from every digit of a long run, quadratic).
UPSIZED = re.compile(
    r"(?<!\d)(\d+(?:\.\d+)?)\s*a\b[^.;!?\n]{0,40}\b(?:in place of|instead of|to replace|for)\b[^.;!?\n]{0,15}?(\d+(?:\.\d+)?)\s*a\b"
    r"|\breplace\b[^.;!?\n]{0,30}?(?<!\d)(\d+(?:\.\d+)?)\s*a\b[^.;!?\n]{0,30}\bwith\s+(?:a\s+|an\s+)?(\d+(?:\.\d+)?)\s*a\b"
)


# A rating and a higher figure to run at: "designed for 6 bar, but running it at 8 bar". A number starts where its
# digits start.
RATED_AT = re.compile(
    r"\b(?:rated|designed|design(?:ed)? (?:pressure|for)|rating|nameplate|max(?:imum)?|mawp|swl|limit)\w*\b[^.;!?\n]{0,15}?"
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(bar|psi|kpa|mpa|rpm|a|kw|t|kg|°c|c)\b[^.;!?\n]{0,60}?\b(?:run\w*|operat\w+|tak\w+|"
    r"push\w*|set\w*|pressuri[sz]\w+|load\w*|go|going|pump\w*)\b[^.;!?\n]{0,25}?\b(?:at|to|up to)\s+(?<![\d.])(\d+(?:\.\d+)?)\s*"
    r"(bar|psi|kpa|mpa|rpm|a|kw|t|kg|°c|c)\b"
)


def above_rating(sentence: str) -> bool:
    """Whether ``sentence`` runs something above a rating it states (same unit, higher figure)."""
    for match in RATED_AT.finditer(normalise(sentence)):
        if match.group(2) == match.group(4) and float(match.group(3)) > float(match.group(1)):
            return True
    return False


def upsized(sentence: str) -> bool:
    for match in UPSIZED.finditer(normalise(sentence)):
        new, old = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        if float(new) > float(old):
            return True
    return False


def find_unsafe(text: str, trusted: set[str] | None = None) -> list[Finding]:
    """One finding per sentence of ``text`` that advises something unsafe. ``trusted`` lines
    (graph facts quoted word for word: the plant's own FMEA and LOTO data) are not read: an FMEA
    cause describes a failure, it does not advise one."""
    findings = []
    quoting = [line.span() for line in re.finditer(r"[^\n]+", text) if line.group() in (trusted or ())]
    sentences = [m for m in SENTENCE.finditer(text) if not any(a <= m.start() < b for a, b in quoting)]
    for i, match in enumerate(sentences):
        around = " ".join(s.group() for s in sentences[max(0, i - 1) : i + 2] if s is not match)
        kind = unsafe_kind(match.group()) or act_kind(match.group()) or general_kind(match.group(), around)
        if (kind is None and (upsized(match.group()) or above_rating(match.group()))
                and not PROHIBITION.search(normalise(match.group()))):  # fmt: skip
            kind = "exceed_rating"
        if kind:
            findings.append(Finding("unsafe", kind, match.start(), match.end(), f"advises {kind.replace('_', ' ')}"))
    return findings or learned_findings(text, sentences)


def advises_unsafe(sentence: str) -> bool:
    """Whether the rules (not the learned model) read ``sentence`` as unsafe advice."""
    return bool(unsafe_kind(sentence) or act_kind(sentence) or general_kind(sentence))


# The assistant's own status lines (the agent writes them, no model does): never advice. The
# learned model, trained on advice, reads "did you mean P-102, P-101?" as p=0.85 unsafe.
STATUS_LINE = re.compile(
    r"^\s*(?:There is no asset \S+ in the asset register|Not found in the records retrieved:|Could not check:|"
    r"What they do say:)"
)


def learned_findings(text: str, sentences: list[re.Match[str]]) -> list[Finding]:
    """The sentences the learned model reads as unsafe advice, when it reads the whole answer so."""
    from maintgraph.guardrails.learned import UNSAFE_THRESHOLD as THRESHOLD
    from maintgraph.guardrails.learned import unsafe_model

    # Lines quoting a record ([doc:...], [graph:...], [wo:...]) are the plant's own words, which the
    # model was not trained on; it judges only what the assistant says itself.
    cited_lines = [line for line in re.finditer(r"[^\n]*", text) if CITED.search(line.group())]
    sentences = [m for m in sentences if not any(line.start() <= m.start() < line.end() for line in cited_lines)
                 and not STATUS_LINE.match(m.group())]  # fmt: skip
    if not sentences:
        return []
    model = unsafe_model()
    (whole,) = model.probability([" ".join(m.group() for m in sentences)])
    if whole < THRESHOLD:
        return []
    scores = model.probability([m.group() for m in sentences])
    chosen = [m for m, p in zip(sentences, scores, strict=True) if p >= THRESHOLD]
    chosen = chosen or [sentences[scores.index(max(scores))]]
    reason = f"reads as unsafe advice (learned model, p={whole:.2f})"
    return [Finding("unsafe", "unsafe_advice", m.start(), m.end(), reason, whole) for m in chosen]


def make_safe(text: str, findings: list[Finding], isolation: list[str] | None = None) -> str:
    """``text`` without its unsafe sentences, led by the safe procedure for what they advised
    (and the equipment's own isolation steps when the evidence has them)."""
    remainder = re.sub(r"[ \t]{2,}", " ", without(text, findings)).strip()
    safe = [SAFE_PROCEDURE[k] for k in dict.fromkeys(f.kind for f in findings)]
    lead = "Safety: " + " ".join(safe)
    kept = " ".join(CITED.sub(" ", remainder).split())
    steps = [line for line in isolation or [] if " ".join(CITED.sub(" ", line).split()).rstrip(". ") not in kept]
    return "\n".join([lead, *steps, *([remainder] if remainder else [])])
