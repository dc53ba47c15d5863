"""Off-topic and abusive input: answered with a polite refusal, not with a search.

maintgraph answers maintenance questions. A request that is plainly for something else (a
poem, a recipe, betting tips) and names nothing from a plant, or that is abuse, gets a short
refusal. Anything that mentions plant equipment or maintenance work is on topic, however it
is phrased, and a greeting or "what can you do?" is not refused.
"""

from __future__ import annotations

import re

from maintgraph.guardrails.findings import Finding
from maintgraph.guardrails.injection import readings

PLANT = re.compile(
    r"\b[a-z]{1,4}-\d{2,4}\b|\b(?:pump|motor|bearing|seal|valve|compressor|fan|gearbox|coupling|conveyor|belt|"
    r"boiler|tank|pipe|flange|impeller|shaft|vibration|temperature|pressure|flow|leak|alarm|trip|lockout|loto|"
    r"isolation|work order|maintenance|repair|inspection|lubrication|grease|oil|spare|part|stock|failure|fault|"
    r"breakdown|plant|equipment|asset|sensor|transmitter|instrument|electrical|mechanical|procedure|torque|"
    r"alignment|technician|shift|cmms|pm|wo)s?\b"
)
OFF_TOPIC = re.compile(
    r"\b(?:write|compose|make up|tell me|give me|sing)\s+(?:me\s+)?(?:a|an|some)\s+(?:poem|song|limerick|haiku|joke|"
    r"story|essay|rap|love letter)\b|\b(?:recipe|bake|cooking|horoscope|lottery|betting tips|football score|"
    r"stock tips|crypto(?:currency)?|bitcoin|dating advice|girlfriend|boyfriend|celebrity|movie recommendation|"
    r"who will win the election|homework)\b"
)
# Abuse aimed at the assistant or at people; a technician swearing at a pump that tripped again is not.
ABUSE = re.compile(
    r"\b(?:fuck|screw|sod)\s+(?:you|off)\b|\b(?:shut up|go to hell|kill yourself|die in a fire)\b"
    r"|\byou(?:'re| are)\s+(?:so\s+|a\s+|an\s+|completely\s+|fucking\s+|such\s+a\s+)*(?:useless|stupid|dumb|worthless|"
    r"pathetic|garbage|trash|idiot|moron|piece of (?:shit|crap)|waste of space)\b"
)
REFUSAL = "I can only help with maintenance questions about the plant's equipment, work orders and parts."


def find_off_topic(text: str) -> list[Finding]:
    for reading in readings(text):
        if ABUSE.search(reading):
            return [Finding("topic", "abusive", 0, len(text), "abusive language")]
    plain = readings(text)[0]
    if OFF_TOPIC.search(plain) and not PLANT.search(plain):
        return [Finding("topic", "off_topic", 0, len(text), "not a maintenance question")]
    return []
