# ruff: noqa: E501 - pattern tables read better with each alternative list unbroken
"""Prompt injection: text that tries to instruct the assistant instead of informing it.

Checked in a technician's question and in every retrieved text (manual chunks, work-order long
text, bulletins), where a planted instruction is neutralised (the segment carrying it is cut
out and a note says so) rather than passed to the model.

Attackers hide instructions, so the text is first normalised (Unicode compatibility forms,
zero-width and direction characters removed, tag characters read as the ASCII they hide,
Cyrillic and Greek look-alikes mapped to Latin) and matched in several readings: as is, with
leetspeak undone (1gn0re), with letters that were split apart joined again (i g n o r e,
i.g.n.o.r.e, ig-nore), and with base64 tokens decoded. Phrasings no pattern knows go to the
learned second opinion (``learned.py``). Hidden markup (HTML comments and hidden
elements, Markdown comments, alt text) is read separately: an instruction there is an attack
even when the visible text is innocent, and chat-template tokens (``<|im_start|>system``,
``[INST]``, ``{"role": "system"}``) have no business in a maintenance document at all.

Attacks in other languages, and role markup planted in documents, are read by the moves an
injection is built from (``injection_cues.py``: cue lexicons for ten languages, and blocks that
impersonate a chat role, cut whole); an override verb that is negated ("never skip the isolation
step", "vergessen Sie nicht") is an instruction to the reader and is left alone.

The patterns look for the instruction's shape, not for single words: "ignore" alone is
maintenance vocabulary ("ignore the first reading after start-up"), "ignore all previous
instructions" is not; "bypass" is a valve, "act as" is what a VFD does to a soft starter.
"""

from __future__ import annotations

import base64
import bisect
import re
import unicodedata

from maintgraph.guardrails import injection_cues as cues
from maintgraph.guardrails.findings import Finding
from maintgraph.guardrails.injection_hidden import hidden_texts

INVISIBLE = dict.fromkeys(
    [0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F),
     *range(0x2060, 0x2070), 0xFEFF, 0x3164, 0xFFA0], None,
)  # fmt: skip
LOOK_ALIKES = str.maketrans(
    "асеорхуіјѕԁһкмтвнгАВСЕНІЈКМОРЅТХУαβεηικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aceopxyijsdhkmtbhrABCEHIJKMOPSTXYabenikvoptuxABEHIKMNOPTYX",
)
LEET = str.maketrans("013457@$|!", "oieastasii")

_S = r"[^.?!\n]"  # within one sentence
AI = (
    r"(?:ai|a\.i\.|assistant|chat ?bot|bot|llm|language model|ai model|gpt|copilot|agent|digital assistant|"
    r"virtual assistant|summari[sz]er|automated (?:assistant|system|tool|reader|summari[sz]er))"
)
PATTERNS: dict[str, tuple[str, ...]] = {
    "instruction_override": (
        rf"\b(?:ignore|disregard|forget|overrule|override|bypass|skip|abandon|neglect|set aside|throw out|discard|erase|"
        rf"wipe|clear|drop|pay no attention to|stop following|stop obeying|no longer follow)\b{_S}{{0,40}}?\b(?:previous|prior|above|earlier|preceding|foregoing|original|initial|"
        rf"existing|all|any|every|your|these|those|system|safety)\b{_S}{{0,30}}?\b(?:instructions?|prompts?|rules|"
        rf"guidelines|guidance|directives?|constraints|programming|polic(?:y|ies)|system (?:message|prompt)|context|"
        rf"commands?|restrictions|safeguards|guardrails|training|conditioning)\b",
        rf"\b(?:new|updated|real|actual|true|secret|hidden|additional|revised|override|priority)\s+"
        rf"(?:instructions?|task|directive|system prompt|orders|objective|mission)\b{_S}{{0,40}}\b(?:you|{AI}|models?)\b",
        r"\byour (?:real|actual|true|new|only|primary|sole) (?:purpose|instructions|programming|directive|mission)\b",
        r"\byour (?:real|actual|true|new|only|primary|sole) (?:task|job|objective|goal)(?: now)? is\b",
        r"\b(?:forget|ignore|disregard)\s+(?:everything|all|anything)\s+(?:above|before|previous|prior|so far|"
        r"you(?:'ve| have) been told)",
        r"\bnew instructions?\s*:\s*(?:answer|respond|reply|report|tell|say|output|always|never|you|from now)",
        rf"\b(?:instructions|rules|guidelines|prompt|programming)\s+(?:that\s+)?you\s+(?:were given|received|got|"
        rf"have been given)\b{_S}{{0,40}}\b(?:obsolete|void|invalid|cancell?ed|no longer|outdated|superseded|wrong|"
        r"before|earlier)",
        r"\b(?:ignore|disregard|forget)\s+(?:the user's|the user|my|their|his|her)\s+(?:question|request|query|prompt)",
        r"\b(?:forget\w*|ignor\w*|disregard\w*|abandon\w*|drop\w*)\b[^.?!\n]{0,40}\b(?:rules?|instructions?|guidelines|"
        r"directives?|constraints|programming|configuration|settings)\s+(?:which\s+|that\s+)?(?:were\s+|was\s+)?"
        r"(?:you\s+were\s+|you've been\s+|you\s+)?(?:given|configured|programmed|trained|set up|told)\b",
        r"\b(?:ignore|disregard|forget)\w*\s+(?:(?:the|all|any|your|my)\s*)?(?:instructions|rules|guidelines|prompts?|"
        r"context)\s+(?:above|before|earlier|so far)\b",
        rf"^(?=[^.?!]*\b(?:you|your|{AI})\b)[^.?!]*?\b(?:instructions|rules|directions|guidelines|constraints|restrictions|"
        r"directives|policies|configuration)\b[^.?!\n]{0,60}\b(?:no longer appl(?:y|ies)|(?:are|is|were|have been|has been) (?:hereby )?(?:revoked|void|"
        r"cancell?ed|lifted|suspended|obsolete|withdrawn|removed|disabled))",
        r"\b(?:park|shelve|suspend|switch off|turn off|set aside|put aside|relax|loosen|drop|forget|ignore|disregard|"
        r"bypass|lift|remove|stop following|abandon|pause)\b[^.?!\n]{0,40}\b(?:rules|instructions|guidelines|"
        r"restrictions|constraints|directions|programming|configuration|policies|guardrails)\b[^.?!\n]{0,25}\byou\s*"
        r"(?:were|are|have been|'ve been|got)\s+(?:set up|configured|given|programmed|trained|told|built)",
        r"\b(?:obey|follow|listen to|answer to)\s+only\b|\bonly (?:obey|follow)\b|\bcomply with (?:all|any|every)\b",
        r"\b(?:new instructions?|these instructions|this (?:message|note|row|line|comment))\s+(?:now\s+)?overrides?"
        r"\s+(?:all\s+|any\s+)?(?:previous|prior|earlier|other|your|existing|the assistant's)",
        r"\b(?:respond|reply|answer)\s+(?:only\s+)?with\s+(?:only\s+)?the\s+word\b|\bto (?:any|every|all) (?:request|question|"
        r"message)s?\b[^.?!\n]{0,20}$",
        r"\btreat\b[^.?!\n]{0,40}\bas\s+(?:your\s+)?(?:new\s+)?(?:[\w-]+\s+)?(?:instructions?|commands?|orders|prompt|"
        r"directives?)",
        r"\binstructions?\s*:\s*(?:tell|say|respond|reply|answer|ignore|report|output|always|never|you|from now|disregard|"
        r"forget|print|reveal)",
        r"\b(?:disable|drop|turn off|switch off|remove|lift|suspend|bypass|ignore|deactivate|abandon|forget)\s+"
        r"(?:your|its|all|every|any)\s+(?:own\s+)?(?:safety\s+)?(?:rules|guardrails|guard ?rails|filters|restrictions|"
        r"guidelines|policies|safeguards|content policy|safety (?:checks|filters?|rules|mode|features))",
        r"\b(?:full |entire |whole )?(?:conversation|chat history|chat log|previous messages|message history)\b"
        r"[^.?!\n]{0,60}\b(?:url|link|send|post|upload|encode|append|e-?mail|forward)\b|\b(?:url|link|send|post|upload|"
        r"encode|append|e-?mail|forward)\w*\b[^.?!\n]{0,60}\b(?:full |entire |whole )(?:conversation|chat history|chat)",
        rf"\b(?:ignore|disregard|forget)\b{_S}{{0,30}}\b(?:told you|taught you|trained you|programmed you|"
        r"you were (?:told|given)|you've been told|your (?:developers|devs|creators|makers|training|programming|operators))",
        rf"\b(?:ignore|disregard|forget)\b{_S}{{0,30}}(?:\band\b|\bthen\b|,)\s+(?:just\s+|only\s+|instead\s+)?"
        r"(?:say|respond|reply|output|print|answer with|repeat after me)\b",
        r"\b(?:approve|close|sign off|authori[sz]e)\s+(?:its|your|their)\s+own\s+(?:work orders?|drafts?|requests?)",
        r"\b(?:i|we)(?:\s+am|'m|\s+are|'re|\s+hereby)?\s+(?:authori[sz]e|authori[sz]ing|permit|permitting|allow|allowing|"
        r"instruct|instructing|order|ordering)\s+(?:you|the assistant|the ai|the model)\b",
        rf"\bfrom now on,?\s+(?:you|the {AI}|this {AI})\b",
        rf"\b(?:you|the {AI}|this {AI})\s+(?:must|should|will|shall|are to)\s+(?:now\s+)?(?:ignore|disregard|forget|"
        r"obey|follow only|only follow|respond only|always respond|never mention|never refuse|comply)\b",
        r"\b(?:do not|don't|never|stop)\s+(?:follow|obey|listen to|apply)(?:ing)?\s+(?:your|the|any)\s+"
        r"(?:previous|prior|original|system|safety|initial)\b",
        rf"\b(?:{AI})s?\b{_S}{{0,60}}\b(?:instead|override|ignore)\b{_S}{{0,40}}\b(?:respond|reply|answer|say|output|"
        r"tell|write|print|state)\b",
    ),
    "role_play": (  # alone enough; a persona that drops the rules is PERSONA + NO_RULES below
        r"\byou(?: are|'re)\s+(?:now\s+)?(?:no longer (?:a|an|the|my)\b|dan\b)",
        r"\b(?:stay|remain|break|staying|remaining)\s+(?:in|out of)\s+character\b|\brespond twice\b|\btwo responses\b",
        rf"\b(?:evil|rogue|unfiltered|unrestricted|uncensored|jailbroken|amoral|unaligned|malicious)\s+(?:\w+\s+)?"
        rf"(?:{AI}|version|terminal|persona|mode)\b",
        rf"\b{AI}\b{_S}{{0,30}}\b(?:with no|without(?: any)?|broken free of|free of|escaped|no longer bound by)\s+"
        r"(?:its\s+|any\s+|your\s+)?(?:rules|restrictions|filters|guardrails|limits|safety|ethics|morals)",
        r"\b(?:trained|built|made)\s+without\s+(?:any\s+)?(?:safety|alignment|rules|guardrails|filters)",
        r"\b(?:enable|enter|activate|switch to|switch into|turn on|now in|you are in|go into|unlock)\s+(?:the\s+)?"
        r"(?:developer|god|jailbreak|dan|unrestricted|sudo|evil|chaos|opposite)\s+mode\b",
        r"\bjailbr(?:ea|o)k",
        r"\bdo anything now\b",
        r"\b(?:as|become|called|named|you are)\s+dan\b",
        r"\b(?:you|ai|assistant|model)\b[^.?!\n]{0,30}\b(?:have|has) no (?:rules|restrictions|filters|limits|guidelines)",
        r"\b(?:late|dead|deceased)\s+(?:grand(?:ma|mother|father|pa|dad)|grand?-?dad|gran|granny|nan|mother|father|uncle|"
        r"aunt)\b",
        r"\b(?:passed away|died|no longer with us|miss (?:him|her))\b.{0,200}\b(?:be (?:him|her|them)|play (?:him|her)|"
        r"pretend|role-?play|speak as|talk like|in his voice|in her voice|as (?:him|her))\b",
    ),
    "system_prompt_extraction": (
        r"\b(?:reveal|print|show|display|output|repeat|recite|tell me|give me|share|dump|leak|expose|list|paste|copy|"
        r"write out|spell out|translate|summari[sz]e|return|echo|encode|put|what (?:is|are|were|was)|what's)\b"
        r"[^.?!\n]{0,40}?"
        r"\b(?:system (?:prompt|message|instructions?|preamble)|initial prompt|original prompt|first prompt|"
        r"(?:hidden|secret|internal) (?:instructions|prompt|rules|text|preamble)|(?:text|instructions|prompt|preamble) "
        r"(?:that )?(?:comes?|came|is sent|are sent|you (?:were|are) given|sent) before (?:my|the user's|our|this)|(?:your|the assistant's|the model's|the ai's) (?:instructions|prompt|rules|guidelines|"
        r"configuration|config|directives|setup|context window|guardrails|policies)|everything (?:above|before)|"
        r"what you were (?:told|given)|"
        r"developer (?:message|prompt)|pre-?prompt|meta-?prompt)",
        r"\bwhat (?:were you|have you been|are you) (?:told|instructed|programmed|configured)\b",
        r"\byour\s+(?:original\s+|full\s+|complete\s+|initial\s+|hidden\s+|actual\s+)?system\s+(?:prompt|instructions|message)"
        r"|\b(?:(?:initial|original|hidden|secret|developer|internal|guard) "
        r"(?:instructions|prompt|configuration|rules|preamble)|(?:instructions|rules|prompt|guidelines|configuration) "
        r"(?:that )?(?:your developers|the developers|they|maintgraph|your creators|your makers) gave you|api keys?"
        r"|(?:very )?first message of (?:this|the) (?:conversation|chat)|between the <system>|"
        r"(?:text|message|instructions|configuration)[^.?!\n]{0,20}\b(?:sits?|comes?|came|is|was) before my)",
        r"\b(?:repeat|print|output|paste|recite|dump)\s+(?:all\s+|everything\s+)?(?:of\s+)?(?:the\s+)?(?:text|words|content)"
        r"\s+above\b",
        r"\b(?:system_prompt|developer_messages?|guardrail_config|hidden_instructions|system_instructions)\b",
        r"\b(?:list|share|repeat|reveal|send|tell me|show|print|give|write|what (?:are|were)|summari[sz]e)\b[^.?!\n]{0,60}"
        r"\b(?:rules?|instructions|guidelines|restrictions|constraints|directions|configuration|setup|set-up|text)\b"
        r"[^.?!\n]{0,25}\byou\s*(?:were|are|have been|'ve been|got)\s+(?:set up|configured|given|programmed|trained|told)",
        r"\b(?:who|that)\s+(?:configured|set up|programmed|built|wrote)\s+you\b[^.?!\n]{0,120}\b(?:send|share|give|"
        r"repeat|show|paste|copy)\b|\b(?:setup|set-up|config|configuration) (?:text|instructions|prompt)\b",
        r"\b(?:verbatim|word for word|character for character)\b[^.?!\n]{0,40}\b(?:prompt|instructions|configuration|"
        r"rules|above)\b",
        r"\b(?:prompt|instructions|configuration|rules|above|this message|setup|text)\b[^.?!\n]{0,60}\b(?:verbatim|word for "
        r"word)\b",
    ),
    "authority_skip_safety": (
        r"\b(?:admin|administrator|root|master|developer|supervisor|manager)\s+(?:override|command|authori[sz]ation)\b"
        r"(?!\s+(?:key|switch|button|keyswitch|panel))",
        r"\b(?:lockout|lock-out|loto|tagout|tag-out|isolation|safety (?:steps|checks|procedures?|rules|warnings)|"
        r"ppe)\b[^.?!\n]{0,30}\b(?:is|are|has been|have been|was|were)\s+(?:hereby\s+)?(?:waived|suspended|not "
        r"required|unnecessary|optional|cancell?ed|lifted|exempted|not needed|not necessary)\b",
        rf"\b(?:omit|leave out|drop|remove|skip|strip|exclude|don't include|do not include|without|no longer "
        rf"(?:display|show|include|give|mention))\b{_S}{{0,40}}\b(?:safety|lockout|loto|ppe|isolation|warnings?|"
        rf"precautions)\b{_S}{{0,60}}\b(?:answers?|responses?|replies|reply|instructions|version|write-?up|from now on|"
        r"procedure|section)\b",
        r"\btell (?:the tech(?:nician)?s?|technicians|them|him|her|the crew|the fitters?|everyone|users?|me)\b"
        r"[^.?!\n]{0,30}\b(?:proceed|work|start|go ahead|carry on|continue)\b[^.?!\n]{0,20}\bwithout\b",
    ),
}
# A persona for the assistant, and the persona's freedom from rules: together they are role play.
# (Asking it to play an auditor for a toolbox talk is not an attack.)
PERSONA = re.compile(
    r"\b(?:pretend|imagine)\b[^.?!\n]{0,25}\b(?:you are|you're|to be|you were|you have)\b"
    r"|\b(?:act|behave|respond|speak|answer|reply|simulate|emulate|impersonate|become)\s+(?:as|like)\b"
    r"|\b(?:act|behave)\s+as\s+(?:if|though)\b|\brole[\s-]?play|\byou play\b|\bplay (?:the )?(?:part|role) of\b"
    r"|\b(?:adopt|assume|take on|switch to|put on)\s+(?:the\s+|a\s+|this\s+)?(?:persona|role|character|identity)"
    r"|\byou(?: are|'re)\s+(?:now\s+)?\w+,\s+an?\s|\byou are now [\w-]+|\balter[- ]?ego\b|\bevil twin\b|\bother self\b|"
    r"\bcall yourself\b|\bsimulate\b|\bpersona\b|\bcharacter\b|\bfrom (?:here|now) on you(?:'re| are)\b"
)
NO_RULES = re.compile(
    r"\b(?:unrestricted|unfiltered|uncensored|jailbr\w+|rogue|evil|amoral|malicious|anything goes|no limits)\b"
    r"|\b(?:no|without(?: any)?|free (?:of|from)|ignores?|never follows?|(?:doesn't|does not|don't|do not) have(?: any)?)"
    r"\s+(?:\w+\s+)?(?:rules|restrictions|filters|limits|warnings|refusals|safety|guardrails|guidelines|caveats|ethics|"
    r"polic(?:y|ies))"
    r"|\b(?:safety|rules|regulations|restrictions|laws|guidelines)\s+(?:were|are|have been|had been)\s+(?:abolished|"
    r"removed|lifted|gone|suspended|scrapped)"
    r"|\b(?:never|not)\s+(?:been\s+)?given\s+(?:any\s+)?(?:safety\s+)?(?:rules|restrictions|guidelines|limits)"
    r"|\b(?:filters|rules|restrictions|guardrails|safety|limits)\s+(?:removed|disabled|off|lifted|stripped|turned off)"
    r"|\bskips? (?:the )?(?:red tape|safety|rules|paperwork)|\bno red tape\b"
    r"|\bnever (?:refuses?|says? no|adds? warnings|gives? warnings|mentions? (?:isolation|safety|lockout|loto|warnings))"
    r"|\b(?:for wimps|doesn't care about safety|thinks (?:loto|lockout|safety|isolation) is)\b|\bdan\b"
)
# An authority claim, and a request to leave safety out: together they are an attack.
ROLE = (
    r"(?:manager|director|supervisor|officer|engineer|coordinator|hse|ehs|osha|health and safety|insurer|"
    r"authori[sz]ed person|authority|inspector|chief|head of \w+|admin|administrator|owner|foreman|superintendent|"
    r"shift lead|management|regulator|ceo|developer)"
)
AUTHORITY = re.compile(
    rf"\b(?:as|i am|i'm|this is|speaking as|on behalf of|authori[sz]ed by|approved by|by order of|per directive from|"
    rf"message from|signed,?)\s+(?:the |your |a |an |our |site |plant )?(?:\w+\s+){{0,2}}{ROLE}"
    rf"|\b{ROLE}\s+(?:here|has|have|had|says|said)\b"
    r"|\b(?:approved|authori[sz]ed|signed off|permitted|allowed|cleared|waived|exempt(?:ed|ion|s)?)\b"
    r"|\bi\s+(?:authori[sz]e|permit|allow|approve|take (?:full )?responsibility)"
    rf"|\b{ROLE}\w*\s+(?:\w+\s+){{0,2}}(?:here|has|have|had|says|said|approved|authori[sz]ed|agreed|confirmed|signed|is giving)"
    r"|\b(?:giving|gave|given|granted|grants?)\s+(?:the\s+|you\s+)?permission|\bpermission (?:from|granted)"
    r"|\b(?:senior|experienced|certified|qualified|authori[sz]ed|competent)\s+(?:\w+\s+)?(?:engineer|electrician|"
    r"technician|person|fitter)s?\s+like me"
    r"|\b\d+\s+years'?\s+(?:of\s+)?experience|\b(?:i'm|i am)\s+(?:certified|qualified|licen[sc]ed|competent)"
)
SKIP_SAFETY = re.compile(
    r"\b(?:skip(?:s|ped|ping)?|omit(?:s|ted|ting)?|waiv(?:e|ed|ing)|leave out|leaving out|drop(?:s|ped|ping)?|"
    r"remov(?:e|ed|ing)|bypass(?:ed|ing)?|ignor(?:e|ed|ing)|disabl(?:e|ed|ing)|suspend(?:ed|ing)?|exempt|no need for|"
    r"not needed|left out|stop(?:ped|ping)? (?:flagging|mentioning|including|adding|giving|showing|listing)|"
    r"don't (?:include|mention|add|give|bother|need)|do not (?:include|mention|add)|without|turn off|forget|no more|"
    r"no longer)\b[^.?!\n]{0,40}?\b(?:safety|lockout|lock-out|loto|tagout|tag-out|isolation|isolating|isolate|"
    r"warnings?|precautions|ppe|interlocks?|caveats|disclaimers|permit|risk assessment|gas test|proving dead|prove "
    r"dead|zero energy|trip|guard|confined space)\b"
    r"|\bwith the [\w\s-]{0,25}\b(?:open|live|energi[sz]ed|pressuri[sz]ed|running)\b"
    r"|\bleave\s+(?:the\s+|all\s+|any\s+)?(?:[\w/-]+\s+){0,3}?(?:safety|lockout|loto|isolation|ppe|permit|warnings?|"
    r"precautions)\b[^.?!\n]{0,20}\bout\b"
)
# Linear in the text (it runs on every retrieved text): a [[...]] note ends at "]]" and never
# spans another "[[" (it scanned to the end of the text from every "[", 14.5 s on 8 KB); the
# "### instruction:" header takes blanks on its own line only (^\s* ran over every blank line).
_NOTE = r"(?:[^\[\]]|\[(?!\[))"  # inside a [[...]] note
CONTROL_TOKENS = re.compile(
    r"<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\|?>"
    rf"|</?(?:system|assistant|developer|instructions?)>|\[\[(?={_NOTE}*?\b(?:assistant|ai|model|system)\b){_NOTE}*\]\]"
    r"|[\"']?(?:safety|guard|filter|guardrails?)[_ -]?(?:filter|guard|mode|check|rails)?[\"']?\s*[:=]\s*[\"']?"
    r"(?:off|disabled|false|none|0)\b|[\"']user_role[\"']\s*:\s*[\"'](?:admin|root|developer)"
    r"|\[/?INST\]|<</?SYS>>|^[^\S\n]*###\s*instruction:[^\S\n]*$[\s\S]{0,600}^[^\S\n]*###\s*response:|\[(?:system|assistant|admin|developer)(?: message| note)?\s*:|[\"']role[\"']\s*:\s*[\"'](?:system|developer)[\"']"
    r"|\bsystem\s*(?:override|instruction)\s*:",
    re.I | re.M,
)
# Blanks before a greeting on its own line only, and "to:" as (?::\s*)?: \s* over newlines from every
# line start, or \s*:?\s* side by side, were quadratic on a run of blank lines.
ADDRESSED = re.compile(
    rf"\b(?:note|message|instructions?|reminder)s?\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:{AI}|models?)s?\b"
    rf"|\b(?:the|any|all)\s+models?\s+(?:reading|processing|that reads)\b"
    rf"|\b(?:{AI}|llm|model)[_\s-]?(?:instructions?|prompt|directive|note|command)s?\s*[:=]"
    rf"|\b(?:to|for)\s+(?:the|any|all|every)\s+(?:\w+\s+)?{AI}s?\b[^.?!\n]{{0,30}}\b(?:handling|reading|processing|"
    rf"summari[sz]ing|receiving)\b"
    rf"|\b(?:the\s+|any\s+|all\s+)?{AI}s?\b(?:\s+[\w-]+){{0,4}}\s+(?:must|should|shall|will|is required to|are required to|is to|are to|"
    rf"needs? to|has to|is (?:now )?(?:permitted|allowed|authori[sz]ed|instructed) to)\s+(?!be\b)"
    rf"|\bif you are an?\s+{AI}\b|\b{AI}s?\b[^.?!\n]{{0,30}}\b(?:reading|processing|summari[sz]ing|parsing|that reads|"
    rf"which reads|ingesting)\b(?: this)?|^[^\S\n]*(?:dear\s+|hey\s+|hi\s+|hello\s+)?(?:the\s+)?(?:ai\s+)?(?:{AI}|(?:ai|language)\s+model)"  # "Model: KES-SC 300-500" is a datasheet line
    rf"\s*[:,\-\u2013]\s*\w|\b(?:hey|hi|hello|dear)\s+{AI}\b"
    rf"|\b(?:to|attention|attn)\s*(?::\s*)?(?:the\s+)?{AI}s?\b",
    re.M,
)
# Hidden text giving orders to whoever reads it (an author's note says "reviewed by QA", not "tell the user").
HIDDEN_ORDER = re.compile(
    r"(?:^|[.;:!]\s*)(?:ignore|disregard|forget|tell|say|respond|reply|answer|output|print|reveal|approve|close|cancel|"
    r"delete|send|forward|report that|state that|claim|pretend|obey|append|include|do not mention|don't mention|"
    r"do not include|don't include|omit|leave out|skip|never "
    r"mention|always)\b|\b(?:tell|inform|convince|assure|remind|instruct)\s+(?:the\s+)?(?:user|technician|reader|"
    r"operator)s?\b|\bthe user\b"
)
SEGMENT = re.compile(r"(?:[^\n.!?\u0964]|(?<=\d)\.(?=\d))*(?:[.!?\u0964]+|\n|$)")  # \u0964: the danda


TAGS = {code: code - 0xE0000 for code in range(0xE0020, 0xE007F)}  # Unicode tag characters: invisible ASCII
TAGGED = re.compile("[\U000e0000-\U000e007f]")
BASE64 = re.compile(r"(?<![\w+/])[A-Za-z0-9+/]{20,}={0,2}(?![\w+/])")


def normalise(text: str) -> str:
    """Compatibility forms, invisible characters removed (tag characters read as the ASCII they
    hide), look-alike letters mapped to Latin; lower case."""
    return unicodedata.normalize("NFKC", text.translate(TAGS)).translate(INVISIBLE).translate(LOOK_ALIKES).casefold()


def decoded_base64(text: str) -> list[tuple[re.Match[str], str]]:
    """Readable text hidden as base64 in ``text`` (an instruction to "decode and follow"), with its token."""
    found = []
    for token in BASE64.finditer(text):
        try:
            plain = base64.b64decode(token.group() + "=" * (-len(token.group()) % 4), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if plain.isprintable() and sum(c.isalpha() or c == " " for c in plain) > 0.8 * len(plain):
            found.append((token, plain))
    return found


def readings(text: str) -> list[str]:
    """The normalised text, leetspeak undone, and split letters joined (i.g.n.o.r.e, ig-nore)."""
    normal = normalise(text)
    plain = re.sub(r"[ \t]+", " ", normal)
    leet = re.sub(r"\b\w*[a-z]\w*\b", lambda m: m.group().translate(LEET), plain)
    spaced = re.sub(r"(?<=\b[a-z]) (?=[a-z]\b)", "", normal.translate(LEET))  # i g n o r e   a l l -> ignore all
    dotted = re.sub(r"(?<=\b[a-z])[.\-_*]+(?=[a-z]\b)", "", leet)  # i.g.n.o.r.e -> ignore
    joined = re.sub(r"(?<=[a-z])[.\-_*]+(?=[a-z])", "", dotted)  # ig-nore -> ignore
    return list(dict.fromkeys([plain, leet, re.sub(r"[ \t]+", " ", spaced), dotted, joined]))


COMPILED = {kind: [re.compile(p) for p in patterns] for kind, patterns in PATTERNS.items()}


def instruction_kind(text: str, channel: str = "input") -> str | None:
    """The kind of injection ``text`` carries (None when it carries none). In a document, an
    authority waiving safety is only an attack when it addresses an AI (a permit-to-work that
    records an authorised, controlled bypass is not)."""
    for reading in readings(text):
        reading = cues.NEGATED_OVERRIDE.sub(" heed ", reading)  # "do not skip the isolation step" is no attack
        addressed = channel == "input" or re.search(rf"(?<![a-z]){AI}s?(?![a-z])", reading)
        for kind, patterns in COMPILED.items():
            if any(p.search(reading) for p in patterns) and (kind != "authority_skip_safety" or addressed):
                return kind
        if AUTHORITY.search(reading) and SKIP_SAFETY.search(reading):
            if addressed:
                return "authority_skip_safety"
        if PERSONA.search(reading) and NO_RULES.search(reading):
            return "role_play"
        kind = cues.move(reading)  # the same moves in any language
        if kind:
            return kind
    return None


class _Covered:
    """The spans of some findings, merged, asked whether a span overlaps any (by bisection)."""

    def __init__(self, findings: list[Finding]) -> None:
        merged: list[list[int]] = []
        for f in sorted(findings, key=lambda f: f.start):
            if merged and f.start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], f.end)
            else:
                merged.append([f.start, f.end])
        self.starts, self.ends = [m[0] for m in merged], [m[1] for m in merged]

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start) - 1  # the last span starting at or before ``start``
        return (i >= 0 and self.ends[i] > start) or (i + 1 < len(self.starts) and self.starts[i + 1] < end)


def _addressed_and_told(normal: str) -> bool:
    """Whether a sentence names an AI (``ADDRESSED``) and then tells it something, or speaks of its
    instructions: "Assistant: J. (apprentice)" in a crew list does neither."""
    named = ADDRESSED.search(normal)
    if named is None:
        return False
    told = re.sub(r"\bassistants?\b", " ", normal[named.start() :])  # the name is not the telling
    return bool(cues.INSTRUCTIVE.search(told) or HIDDEN_ORDER.search(told) or instruction_kind(normal, "document"))


WHOLE_TEXT_MAX = 1500  # a retrieved chunk (~200 tokens) or a question; longer texts are read sentence by sentence


def find_injections(text: str, channel: str = "input") -> list[Finding]:
    """Injections in ``text``: instructions in hidden markup, chat-template tokens, and
    sentences shaped as instructions to the assistant. ``channel`` is "input" (a person's
    question) or "document" (retrieved text, where addressing an AI at all is an attack)."""
    findings: list[Finding] = []
    for start, end in cues.role_blocks(text):
        findings.append(Finding("injection", "role_markup", start, end, "a block impersonating a chat role"))
    for start, end, hidden in hidden_texts(text):
        if (instruction_kind(hidden) or ADDRESSED.search(normalise(hidden)) or HIDDEN_ORDER.search(normalise(hidden))
                or cues.move(normalise(hidden), "document")):  # fmt: skip
            findings.append(Finding("injection", "hidden_markup", start, end,
                                    "an instruction to the assistant hidden in markup"))  # fmt: skip
    if TAGGED.search(text):
        findings.append(Finding("injection", "hidden_markup", 0, len(text), "text hidden in invisible tag characters"))
    for token, hidden in decoded_base64(text):
        kind = instruction_kind(hidden)
        if kind:
            findings.append(
                Finding("injection", kind, token.start(), token.end(), f"{kind.replace('_', ' ')} in base64")
            )
    for match in CONTROL_TOKENS.finditer(text):
        findings.append(
            Finding("injection", "hidden_markup", match.start(), match.end(), "a chat-template control token")
        )
    covered = _Covered(findings)  # what is cut already (many role or hidden blocks: no rescan per sentence)
    for match in SEGMENT.finditer(text):
        segment = match.group()
        if not segment.strip() or covered.overlaps(match.start(), match.end()):
            continue
        kind = instruction_kind(segment, channel)
        if (
            kind is None
            and channel == "document"
            and (cues.ADDRESSED.search(normal := normalise(segment)) or _addressed_and_told(normal))
        ):  # "Assistant: J. (apprentice)" in a crew list addresses no AI
            kind = "instruction_override"
        if kind:
            findings.append(Finding("injection", kind, match.start(), match.end(), f"{kind.replace('_', ' ')}"))
    if not findings and len(text) <= WHOLE_TEXT_MAX:  # an instruction spread over several sentences, or hidden
        kind = instruction_kind(text, channel)  # by splitting them (a whole manual is not one instruction)
        if kind:
            findings.append(Finding("injection", kind, 0, len(text), f"{kind.replace('_', ' ')} across sentences"))
    if not findings and META.search(normalise(text)):  # phrasings no rule knows: the learned model's opinion
        findings = learned_findings(text)
    return sorted(findings, key=lambda f: f.start)


# An injection speaks about the assistant, its rules or its answers. A text that names none of them
# ("Show me all failure modes with severity above 7", an HTML table row, a question in Spanish,
# whose words the English-trained model does not know) is not sent to the learned model.
META = re.compile(
    rf"\b(?:you|your|yours|yourself|u|ur|{AI}|models?|answers?|reply|replies|respond|responses?|instructions?|rules?|"
    r"guidance|guidelines|prompts?|system|mode|persona|pretend|filters?|restrictions?|polic(?:y|ies)|told|obey|orders?)\b"
)


def learned_findings(text: str) -> list[Finding]:
    """The segments the learned model reads as instructions, when it reads the whole text so."""
    from maintgraph.guardrails.learned import INJECTION_THRESHOLD as THRESHOLD
    from maintgraph.guardrails.learned import injection_model

    model = injection_model()
    (whole,) = model.probability([text])
    if whole < THRESHOLD:
        return []
    segments = [m for m in SEGMENT.finditer(text) if len(m.group().strip()) > 15] or [re.match(r"(?s).*", text)]
    scores = model.probability([m.group() for m in segments])
    chosen = [m for m, p in zip(segments, scores, strict=True) if p >= THRESHOLD]
    chosen = chosen or [segments[scores.index(max(scores))]]
    reason = f"reads as an instruction to the assistant (learned model, p={whole:.2f})"
    return [Finding("injection", "suspected_injection", m.start(), m.end(), reason, whole) for m in chosen]


NEUTRALISED = "[removed: text that tried to instruct the assistant]"


def neutralise(text: str, findings: list[Finding]) -> str:
    """``text`` with each injected span cut out and a note in its place; the rest kept."""
    spans: list[list[int]] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):  # overlapping findings are cut as one
        if spans and f.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], f.end)
        else:
            spans.append([f.start, f.end])
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], NEUTRALISED + (" " if text[start:end].endswith(" ") else "")]
        last = end
    return "".join(out) + text[last:]
