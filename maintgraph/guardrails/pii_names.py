"""People's names as maintenance text writes them, found with a lexicon of names and a vocabulary
of words that are not names.

spaCy's small model finds "Maria Lindqvist" in a sentence; it does not find ``PJONES RPLCD SEAL``,
``TWALSH/RPATEL - CHGD BELT``, ``maria lopez`` in a chat or ``k.osei`` in a mention. Here a token
is a name when the lexicon says so and nothing says it is a word:

- the lexicon: first names and surnames of Faker's locales (some 21,000 each, Latin script and
  romanised; read from the installed package, nothing downloaded), also without accents, as a
  CMMS keyboard writes them (``Jørgensen`` -> ``JORGENSEN``);
- the words: English (WordNet's lemmas, from the spaCy model's lemmatizer tables), the plant's
  technical vocabulary (:mod:`technical_terms`), work-order abbreviations (RPLCD, CHGD, BRG,
  MTR, CPLG, ...) and the makers of equipment (:mod:`pii_makers`);
- the shape and the context: an initial run into an upper-case surname (``PJONES``), crews
  joined by ``/``, a cue before (by, tech, crew, fitter, called, ask, ring, cc, ...), ``@``.

A lexicon name that is also a word (``SMITH``, ``will``, ``mark``) needs a cue or a second name.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import pkgutil
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from maintgraph.guardrails.pii_makers import is_maker_word, maker_words_alone
from maintgraph.guardrails.technical_terms import (
    EPONYM_PHRASES,
    EPONYMS,
    FOREIGN_TECHNICAL_WORDS,
    TECHNICAL_WORDS,
    technical,
)

Span = tuple[int, int, float]  # start, end, score

_LATIN = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ'’ -]+$")
_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "Ł": "L", "đ": "d",
                       "Đ": "D", "ı": "i", "œ": "oe", "Œ": "OE", "þ": "th", "ð": "d"})  # fmt: skip


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """``text`` without accents, lower case (Jørgensen, Fuławka -> jorgensen, fulawka)."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


# Work-order shorthand: abbreviations and words that are never a person (an initial plus a surname
# would otherwise read RPLCD, CSTONE or ALOCK as people).
ABBREVIATIONS = frozenset("""
rplcd replcd repl rpl chgd chg chgd chkd chk insp adj clnd cln rtn rts oos ooo u/s wip wo pm cm pdm rcfa rca loto
ptw jsa swms moc brg brgs mtr mtrs cplg cplgs vlv vlvs psv prv nrv tx txs xmtr sw pb ls lsh lsl pdi pdt dp vfd vsd
mcc plc dcs hmi scada ups atex ex hv lv mv de nde ob ib lh rh l/h r/h fwd aft assy asm qty pcs ea hrs hr min mins
sec secs sys oring ok nok na tbc tba tbd asap fyi eta etc pls thx cheers regards mob tel cell ph fax ext attn cc bcc fao
reseat repacked retorqued realigned regreased greased tightened swapped fitted removed tested calibrated attended
isolated deisolated drained flushed vented purged cleaned inspected replaced changed checked adjusted repaired
""".split())  # fmt: skip
# Words in upper-case text after which the next upper-case word is a person.
UPPER_CUES = frozenset("BY TECH TECHS CREW FITTER FITTERS ELEC ELECTRICIAN CALLED CALL RANG RING ATTN FAO CC PER "
                       "PLANNER SUPERVISOR SUPV OPERATOR OPR CONTACT INFORMED ADVISED TOLD WITH AND + & - / ( "
                       "MECH INST E&I ENG ENGR".split()) - {"-"}  # fmt: skip
# Words in lower-case chat after which the next words are a person.
LOWER_CUES = frozenset(
    "by ask asked ring rang call called phone text texted tell told cc to from with was is thanks thx ta cheers "
    "hi hey hello dear till until for tech fitter crew spoke spoken talk talked message msg ping pinged page "
    "paged and & @ per contact attn fao".split()
)


@functools.cache
def lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames) of Faker's locales, folded (no accents, lower case)."""
    import faker.providers.person as people

    first: set[str] = set()
    last: set[str] = set()

    def values(v: object) -> Iterable[str]:
        return v.keys() if isinstance(v, dict) else v if isinstance(v, (list, tuple, set, frozenset)) else ()

    for module in pkgutil.iter_modules(people.__path__):
        provider = importlib.import_module(f"{people.__name__}.{module.name}").Provider
        for attr in dir(provider):  # first_names, first_names_female, last_names, unisex_last_names, ...
            into = first if attr.startswith("first_") else last if re.search(r"(?:^|_)last_", attr) else None
            if "name" not in attr:
                continue
            if into is None or attr.startswith("_") or callable(getattr(provider, attr)):
                continue
            for name in values(getattr(provider, attr, ())):
                if isinstance(name, str) and _LATIN.match(name):
                    into.update(_forms(name))
    return frozenset(first), frozenset(last)


def _forms(name: str) -> set[str]:
    """A name as written: whole, without spaces or hyphens (da Conceição -> daconceicao), each part."""
    folded = fold(name).replace("’", "'")
    parts = [p for p in re.split(r"[\s'-]+", folded) if len(p) >= 2]
    return {folded, re.sub(r"[\s'-]+", "", folded), *parts}


_WORDS: list[frozenset[str]] = []  # WordNet's lemmas, once


def use_model(nlp: Any) -> None:
    """Read the English words from an already loaded spaCy model (the analyzer's), not a second copy."""
    if not _WORDS:
        _WORDS.append(_lemmas(nlp))


def english_words() -> frozenset[str]:
    """WordNet's lemmas (nouns, verbs, adjectives, adverbs) from the spaCy model's lemmatizer tables,
    and spaCy's stop words."""
    if not _WORDS:
        try:
            import spacy

            from maintgraph.guardrails.pii_patterns import SPACY_MODEL

            nlp = spacy.load(SPACY_MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "ner"])
        except (OSError, ImportError):  # no model: stop words and the plant's vocabulary alone
            nlp = None
        _WORDS.append(_lemmas(nlp))
    return _WORDS[0]


def _lemmas(nlp: Any) -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    words: set[str] = set(STOP_WORDS)
    if nlp is not None and "lemmatizer" in nlp.pipe_names:
        try:
            index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
        except KeyError:
            return frozenset(words)
        words |= {w for pos in ("noun", "verb", "adj", "adv") for w in index.get(pos, ()) if "_" not in w}
    return frozenset(words)


def is_word(token: str) -> bool:
    """True when ``token`` (any case, simply inflected) is an English or plant word, an abbreviation or
    a maker's name, not only a name."""
    w = fold(token).strip(".,:;'’()[]")
    if not w or w in ABBREVIATIONS or technical(w):
        return True
    words = english_words()
    if w in words:
        return True
    stems = [w[:-1]] if w.endswith("s") else []
    stems += [w[:-2], w[:-1]] if w.endswith("ed") else []
    stems += [w[:-3], w[:-3] + "e"] if w.endswith("ing") else []
    stems += [w[:-2]] if w.endswith("es") else []
    return any(s in words for s in stems if len(s) >= 3)


@functools.cache
def common_words() -> frozenset[str]:
    """Words of everyday English a chat is made of (stop words, Faker's 971 common words, chat and plant
    words): a first name that is one of them ("will", "bill", "may") needs more than a cue."""
    from faker.providers.lorem.en_US import Provider as Lorem
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset({*STOP_WORDS, *Lorem.word_list, *_CHAT_WORDS, *ABBREVIATIONS})


def is_common(token: str) -> bool:
    """An everyday, plant or maker's word. A name of the lexicon counts only as written in the vocabulary, not
    by a stem ("James" is not "jam" + "es") nor as a word of a maker's name (Hughes of Baker Hughes)."""
    w = fold(token)
    if w in common_words() or w in TECHNICAL_WORDS or w in FOREIGN_TECHNICAL_WORDS:
        return True
    first, last = lexicon()
    if w in first or w in last:
        return w in maker_words_alone()
    return technical(w) or is_maker_word(w)


def is_first(token: str) -> bool:
    return fold(token) in lexicon()[0]


def is_surname(token: str) -> bool:
    return fold(token) in lexicon()[1]


# -- finders: each yields (start, end, score) of a person ------------------------------------------------------

_UPPER_TOKEN = re.compile(r"(?<![\w.@-])[A-Z][A-Z'’]{3,}(?![\w@]|[.-]\w)")
_UPPER_DOTTED = re.compile(r"(?<![\w.@-])[A-Z]\.[A-Z]{2,}(?![\w@]|[.-]\w)")
_CREW = re.compile(r"(?<![\w.])[A-Z][A-Z.]{2,20}(?:\s?[/&+,]\s?[A-Z][A-Z.]{2,20}){1,8}\b")
_MEMBER = re.compile(r"[A-Z][A-Z.]{2,20}")
_SIGN_OFF = re.compile(r"\s[-–]\s+([A-Z][A-Z.]{3,})(?=[.,;]?\s*$|[.;]\s)", re.MULTILINE)
_NEXT_UPPER = re.compile(r"\s{1,4}([A-Z][A-Z/]{0,20})")
_UPPER_PAIR = re.compile(r"(?<![\w.@-])([A-Z]{2,})\s([A-Z]{2,})(?![\w@]|[.-]\w)")


def _before(text: str, start: int) -> str:
    """The token just before ``start`` (a word, or the separator: /, -, (, &, +); a colon after a word is
    skipped ("CREW: DSMITH", "Reviewer: mgarcia")."""
    prefix = text[max(0, start - 24) : start].rstrip()
    match = re.search(r"(?:[\w&]+:?|[/+(@-])$", prefix)
    return match.group().rstrip(":") if match else ""


def _shorthand(token: str, listed: bool = False) -> str | None:
    """The surname of an initial run into a surname (PJONES -> jones), when the token is no word (in a
    crew list, no common word: KLEE beside DSMITH is K. Lee, not the painter)."""
    rest = token[1:]
    if not is_surname(rest) or (is_common(token) if listed else is_word(token)):
        return None
    return fold(rest)


def upper_shorthand(text: str) -> Iterator[Span]:
    """``PJONES RPLCD SEAL``, ``TWALSH/RPATEL - CHGD BELT``, ``BY T.NOWAK``, ``TECH SAI DESHMUKH``."""
    signed = {m.start(1) for m in _SIGN_OFF.finditer(text)}  # a sign-off: " - AHALL." ending a line
    found: dict[int, int] = {}
    for match in _UPPER_TOKEN.finditer(text):
        token = match.group().rstrip("'’")
        surname = _shorthand(token)
        if surname is None:
            continue
        after = _NEXT_UPPER.match(text, match.start() + len(token))
        cued = (_before(text, match.start()).upper() in UPPER_CUES or match.start() in signed
                or (after is not None and _is_action(after.group(1))))  # fmt: skip
        strong = len(surname) >= 4 and not is_word(surname) and not is_first(token) and not near_word(token)
        if strong or (cued and (len(surname) >= 4 or not near_word(token))):
            found[match.start()] = match.start() + len(token)
    # a crew: names joined by "/", "&", "+" or commas (TWALSH/RPATEL, DSMITH, KLEE, BNGUYEN): beside a name
    # found on its own, an initial and a surname that is no common word is a name too (KLEE is K. Lee)
    for crew in _CREW.finditer(text):
        members = [(m.start() + crew.start(), m.end() + crew.start()) for m in _MEMBER.finditer(crew.group())]
        if not any(start in found for start, _ in members):
            continue
        for start, end in members:
            if start not in found and _shorthand(text[start:end], listed=True) and not technical(text[start:end]):
                found[start] = end
    for start, end in found.items():
        yield start, end, 0.7
    for match in _UPPER_DOTTED.finditer(text):  # T.NOWAK, also in a crew
        if is_surname(match.group()[2:]) or not is_word(match.group()[2:]):
            yield match.start(), match.end(), 0.7
    for match in _UPPER_PAIR.finditer(text):  # SAI DESHMUKH
        first, last = match.group(1), match.group(2)
        if is_first(first) and is_surname(last) and not (is_word(first) and is_word(last)):
            if not (is_word(first) or is_word(last)) or _before(text, match.start()).upper() in UPPER_CUES:
                yield match.start(), match.end(), 0.65


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@functools.lru_cache(maxsize=4096)
def near_word(token: str) -> bool:
    """True when one typing slip away from a word (CHANDE for CHANGE, REPALCED): a typo, not a name.
    A slip in the first letter does not count: the initial is anyone's (PJONES is not "jones")."""
    w = fold(token)
    splits = [(w[:i], w[i:]) for i in range(1, len(w))]
    edits = {a + b[1:] for a, b in splits}  # a letter dropped
    edits |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}  # two swapped
    edits |= {a + c + b[1:] for a, b in splits for c in _LETTERS}  # one changed
    edits.discard(w)
    words = english_words()
    return any(e in words or e in ABBREVIATIONS or e in TECHNICAL_WORDS for e in edits if len(e) >= 3)


def _is_action(word: str) -> bool:
    """An upper-case work-order verb after a name: PJONES RPLCD, CFOX CHKD, ONIELSEN REPLACED."""
    w = word.casefold()
    return w in ABBREVIATIONS or (len(w) > 4 and w.endswith("ed") and is_word(w))


_LOWER_WORD = re.compile(r"(?<![\w.@/-])[a-zß-öø-ÿā-ž][a-zß-öø-ÿā-ž'’]+(?![\w@]|[.-]\w)")
LOWER_SINGLE_CUES = frozenset(
    "ask asked ring rang call called tell told cc hi hey thanks cheers ping pinged text texted".split()
)


def lower_names(text: str) -> Iterator[Span]:
    """``maria lopez`` (two lexicon names, not both words), ``ask christopher`` (a cue, a first name)."""
    words = list(_LOWER_WORD.finditer(text))
    for one, two in itertools.pairwise(words):
        if text[one.end() : two.start()] == " ":
            yield from _lower_pair(text, one.start(), one.group(), two.group())
    for match in words:
        word = match.group()
        cue = _before(text, match.start()).lower()
        if cue in LOWER_SINGLE_CUES and is_first(word) and not is_common(word):
            yield match.start(), match.end(), 0.6
        elif (cue in LOWER_SINGLE_CUES or cue in ROLE_CUES) and _lower_shorthand(word):
            yield match.start(), match.end(), 0.6  # "Reviewer: mgarcia", "cc tdietz"
    for one, two in _joined_first_names(text):
        yield one
        yield two


ROLE_CUES = frozenset(
    "by tech technician fitter electrician engineer planner supervisor operator reviewer approver assigned assignee "
    "owner requester requestor raised reported checked approved verified completed signed contact attn fao".split()
)
_JOINED = re.compile(r"(?<![\w.@/-])([a-z]{3,})\s(?:and|&|\+)\s([a-z]{3,})(?![\w@]|[.-]\w)")


def _joined_first_names(text: str) -> Iterator[tuple[Span, Span]]:
    """``dave and steve did the alignment``: two first names, neither a common word."""
    for match in _JOINED.finditer(text):
        one, two = match.group(1), match.group(2)
        if all(is_first(w) and not is_common(w) for w in (one, two)) and not (is_word(one) and is_word(two)):
            yield (match.start(1), match.end(1), 0.6), (match.start(2), match.end(2), 0.6)


def _lower_shorthand(token: str) -> bool:
    """``mgarcia``, ``tdietz``: an initial run into a surname, no word nor one slip from a word."""
    return len(token) >= 5 and is_surname(token[1:]) and not is_word(token) and not near_word(token)


def _lower_pair(text: str, start: int, first: str, last: str) -> Iterator[Span]:
    if not (is_first(first) and is_surname(last)) or len(first) + len(last) < 6:
        return
    if is_common(first) or is_common(last):
        return
    if is_word(first) and is_word(last) and _before(text, start).lower() not in LOWER_CUES:
        return
    yield start, start + len(first) + 1 + len(last), 0.6


_CHAT_WORDS = frozenset("""
the a an and or but so if then than that this these those it its is was are were be been am do did does done
has had have will would can could should must may might shall not no yes ok okay pls please thanks thx ta
on in at to of for from by with about as up down out off over under again back now today tonight tomorrow
yesterday later soon still just also only very too all any some each every both either neither one two three
he she they we you i me him her them us my your his our their who what when where why how which there here
pump seal motor valve fan belt oil shift nights days stores control room site plant unit line area crew team
ops maint mech elec tech fitter guy guys lad lads boss mate someone anyone everyone nobody
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
""".split())  # fmt: skip

_HANDLE = re.compile(r"(?<![\w.@/-])([a-z])\.([a-zß-ÿ]{2,})(?![\w@]|\.\w)")
_DOTTED_NAME = re.compile(r"(?<![\w.@/-])([a-zß-ÿ]{2,})\.([a-zß-ÿ]{2,})(?![\w@]|\.\w)")
_MENTION = re.compile(r"(?<=@)(?=[A-Za-z.]*[a-z])[A-Za-z][A-Za-z.-]{1,40}(?![\w.-])")  # no digits, not ALL CAPS
_RUN_HANDLE = re.compile(r"^[a-z]{4,}(?=:\s)|(?<=\bcc )[a-z]{4,}\b", re.MULTILINE)  # "rinoue: ...", "cc tdietz"
NOT_HANDLES = frozenset("e.g i.e a.m p.m n.b p.s a.k.a v.s".split())


def handles(text: str) -> Iterator[Span]:
    """``k.osei``, ``maria.lopez``, ``@a.kowalski``, ``rinoue:`` at a line's start."""
    for match in _HANDLE.finditer(text):
        if match.group() in NOT_HANDLES:
            continue
        rest = match.group(2)
        if is_surname(rest) or (not is_word(rest) and len(rest) >= 4):
            yield match.start(), match.end(), 0.7
    for match in _DOTTED_NAME.finditer(text):
        if is_first(match.group(1)) and (is_surname(match.group(2)) or not is_word(match.group(2))):
            yield match.start(), match.end(), 0.7
    for match in _MENTION.finditer(text):
        handle = match.group()
        if text[match.start() - 2 : match.start() - 1].isalnum():
            continue  # an e-mail address, not a mention
        if "." in handle or "_" in handle or not is_word(handle) or is_first(handle) or is_surname(handle):
            yield match.start(), match.end(), 0.7  # "@BOOM", "@base": where, not who
    for match in _RUN_HANDLE.finditer(text):
        token = match.group()
        if not is_word(token) and (is_surname(token[1:]) or is_surname(token)):
            yield match.start(), match.end(), 0.6


_UPPER_CHARS = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽȘȚ"
_TITLE = re.compile(rf"(?<![\w.@/-])[{_UPPER_CHARS}][^\W\d_A-Z]+(?:-[{_UPPER_CHARS}][^\W\d_A-Z]+)?(?![\w@]|[.-]\w)")
# After a single first name: another name ("Ana and Robert"), or what the person did.
_NAME_AFTER = re.compile(r"\s+[-–]\s|:\s|\s+(?:and|&|or)\s+[A-Z]")
# Between a first name and a surname: a space, or a particle (Jan de Vries, Ludwig van der Berg, Ana dos Santos).
_PARTICLES = re.compile(r" (?:(?:de|van|von|der|den|da|di|del|della|du|dos|das|le|la|al|el|bin|ibn|ter|ten|zu) ){0,3}")
_NAME_BEFORE = re.compile(r"\b[A-Z][a-z]+\s+(?:and|&|or)\s*$")
# A capitalised word after one that is not a surname: a company's or a thing's name (Delta Rotating Equipment).
_THING_AFTER = re.compile(r" [A-Z][a-z]")


def title_names(text: str) -> Iterator[Span]:
    """``Maria Lindqvist`` (a first name, then a surname or two), ``Imelda`` (a first name that is no
    word), ``Robert and Ana`` (first names that are words, beside another name or before a deed)."""
    tokens = list(_TITLE.finditer(text))
    used = -1
    for i, match in enumerate(tokens):
        if match.start() < used:
            continue
        word = match.group()
        if not is_first(word) or is_common(word):
            continue
        end, n = match.end(), i + 1
        while (n < len(tokens) and n - i <= 3 and _PARTICLES.fullmatch(text[end : tokens[n].start()])
               and is_surname(tokens[n].group()) and not is_common(tokens[n].group())):  # fmt: skip
            end, n = tokens[n].end(), n + 1
        if n > i + 1:
            used = end
            if not _eponym(text, match.start(), end):
                yield match.start(), end, 0.6
        elif (
            len(word) >= 3
            and not _THING_AFTER.match(text, match.end())
            and (
                (not is_word(word) and len(word) >= 4)
                or _before(text, match.start()).lower() in (LOWER_SINGLE_CUES if is_word(word) else LOWER_CUES)
                or _NAME_AFTER.match(text, match.end())
                or _NAME_BEFORE.search(text[max(0, match.start() - 30) : match.start()])
            )
        ):
            yield match.start(), match.end(), 0.5


_INITIAL_SURNAME = re.compile(
    rf"(?<![\w.&/-])([A-Z]) ([{_UPPER_CHARS}][^\W\d_A-Z]+(?:-[{_UPPER_CHARS}][^\W\d_A-Z]+)?)\b"
)
DESIGNATORS = frozenset(
    "bay unit zone phase line train stage level class grade type part section appendix annex figure fig table "
    "option cell pump motor tank vessel area room block row column side item note plan schedule revision rev".split()
)


def initial_names(text: str) -> Iterator[Span]:
    """``J Smith``, ``K Osei``: an initial without its full stop, then a surname; not "Bay B Osmosis"."""
    for match in _INITIAL_SURNAME.finditer(text):
        surname = match.group(2)
        before = text[max(0, match.start() - 20) : match.start()].split()
        if before and before[-1].casefold().strip(":,") in DESIGNATORS:
            continue
        if is_surname(surname) and not is_common(surname) and not _eponym(text, match.start(), match.end()):
            yield match.start(), match.end(), 0.55


def _eponym(text: str, start: int, end: int) -> bool:
    """A name that names a method or a part: "Karl Fischer" (titration), "Tom Murphy switch"."""
    if fold(text[start:end]) in EPONYM_PHRASES:
        return True
    after = re.match(r"\s+([A-Za-z]+)", text[end : end + 30])
    return fold(text[start:end].split()[-1]) in EPONYMS and after is not None and technical(after.group(1))


def find_names(text: str) -> list[Span]:
    """Every name the finders above see in ``text``, scored above spaCy's guesses (0.85) so that
    Presidio keeps these spans where spaCy saw a longer or shorter one."""
    spans = [*upper_shorthand(text), *lower_names(text), *handles(text), *title_names(text), *initial_names(text)]
    return [(start, end, 0.86 + score / 10) for start, end, score in dict.fromkeys(spans)]
