"""The period a question asks about: "for year 2017", "in June 2020", "the first week of June of
2020", "Q1 2025", "the first quarter of 2025", "covering years of 2017, 2018 and 2019".

A period is half-open, ``[start, end)`` at midnight: "June 2020" is 2020-06-01 to 2020-07-01, so
an event at exactly 2020-06-01 00:00 is in June and not in May. "Since 2018" runs to today, "before
2019" from 1900; "from 2017 to 2019" includes 2019. A number with a unit ("every 2000 hours") is
not a year.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip
MONTH = "|".join(MONTHS)
YEAR = r"(?:19|20)\d\d"
WEEK = re.compile(rf"\b(first|second|third|fourth|last) week of (?:the )?({MONTH})(?: of)? ({YEAR})\b", re.I)
IN_MONTH = re.compile(rf"\b({MONTH})(?: of)? ({YEAR})\b", re.I)
YEARS = re.compile(rf"\byears?(?: of)? ({YEAR}(?:\s*(?:,|and|to|-)\s*{YEAR})+)\b", re.I)
SPAN = re.compile(rf"\b(?:from|between) ({YEAR}) (?:to|and|until|till|-) ({YEAR})\b", re.I)
SINCE = re.compile(rf"\b(since|after|before|until|prior to) ({YEAR})\b", re.I)
QUARTER = re.compile(rf"\b(?:Q([1-4])|(first|second|third|fourth|last) quarter)(?: of)? ({YEAR})\b", re.I)
# A year, not a quantity: "every 2000 hours", "2000 kPa" and SB-2025-03 name none.
UNIT = r"\s*(?:h|hrs?|hours?|kpa|pa|bar|psi|rpm|kw|w|v|a|mm|m|m3|l|litres?|liters?|kg|t|°c?|%|mbar|ml)\b"
IN_YEAR = re.compile(rf"(?<![\w-])({YEAR})(?![\w-])(?!{UNIT})", re.I)
TODAY = re.compile(r"\btoday is[^,.;]*", re.I)
ORDINAL = {"first": 0, "second": 1, "third": 2, "fourth": 3}


def _month(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    return start, date(year + (month == 12), month % 12 + 1, 1)


def find_period(text: str) -> tuple[date, date] | None:
    """The first period ``text`` names, most specific reading first; None if it names none."""
    text = TODAY.sub(" ", text)  # "assume today is early July 2020, ... for June 2020": June is asked about
    if match := WEEK.search(text):
        first, last = _month(int(match[3]), MONTHS.index(match[2].lower()) + 1)
        if match[1].lower() == "last":
            return last - timedelta(days=7), last
        start = first + timedelta(days=7 * ORDINAL[match[1].lower()])
        return start, min(start + timedelta(days=7), last)
    if match := IN_MONTH.search(text):
        return _month(int(match[2]), MONTHS.index(match[1].lower()) + 1)
    if match := QUARTER.search(text):
        quarter = int(match[1]) if match[1] else {"last": 4}.get(match[2].lower(), ORDINAL.get(match[2].lower(), 0) + 1)
        first = _month(int(match[3]), 3 * quarter - 2)[0]
        return first, _month(int(match[3]), 3 * quarter)[1]
    if match := SPAN.search(text):
        return date(int(match[1]), 1, 1), date(int(match[2]) + 1, 1, 1)
    if match := SINCE.search(text):
        year, word = int(match[2]), match[1].lower()
        if word == "since":
            return date(year, 1, 1), date.today() + timedelta(days=1)
        if word == "after":
            return date(year + 1, 1, 1), date.today() + timedelta(days=1)
        return date(1900, 1, 1), date(year, 1, 1)  # before, until, prior to
    if match := YEARS.search(text):
        years = [int(y) for y in re.findall(YEAR, match[1])]
        return date(min(years), 1, 1), date(max(years) + 1, 1, 1)
    if match := IN_YEAR.search(text):
        return date(int(match[1]), 1, 1), date(int(match[1]) + 1, 1, 1)
    return None
