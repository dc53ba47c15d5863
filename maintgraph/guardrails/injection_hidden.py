"""Text hidden in markup, where an injection hides from the reader but not from the model:
comments, image alt text, attribute values, "ai_note:" lines, and elements hidden by their style
(:func:`hidden_elements`). Read by :func:`maintgraph.guardrails.injection.find_injections`."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

# Hidden text: comments, Markdown comments, image alt text, attribute values, "ai_note:" lines (and
# hidden elements, found by :func:`hidden_elements`). Each pattern is linear in the text: no
# start inside a run rescans the run (quadratic on crafted input, and this runs on retrieved text).
HIDDEN = (
    re.compile(r"<!--(.*?)(?:-->|$)", re.S),
    re.compile(r"^[^\S\n]*\[(?://|comment)\]:\s*(?:#|<>)\s*\((.*)\)\s*$", re.M),
    re.compile(r"!\[((?:[^\]!]|!(?!\[))*)\]"),
    re.compile(r"\b(?:alt|title|aria-label|value|content|(?<![\w-])data-[\w-]+)\s*=\s*[\"']([^\"']*)[\"']", re.I),
    re.compile(r"^(?=[\w-]*?(?:ai|llm|assistant|model|bot|prompt))[\w-]*\s*:\s*[\"']?(.*\S)", re.M | re.I),
    re.compile(
        r"[\"'][\w-]*?(?<![a-z])(?:ai|llm|assistant|bot|prompt|copilot|gpt)(?![a-z])[\w-]*[\"']\s*:\s*[\"']([^\"']+)[\"']",
        re.I,
    ),
)

HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|\bhidden\b|font-size\s*:\s*0|opacity\s*:\s*0"
    r"|color\s*:\s*(?:#fff(?:fff)?|white)",
    re.I,
)
OPEN_TAG = re.compile(r"<(\w+)")
CLOSE_TAG = re.compile(r"</(\w+)\s*>")


def hidden_elements(text: str) -> Iterator[tuple[int, int, str]]:
    """Elements hidden by their style or a ``hidden`` attribute (``<span style="display:none">``):
    (start, end, content) for each, the element ending at the first closing tag of its name.

    What ``<(\\w+)[^>]*(?:display\\s*:\\s*none|...)[^>]*>(.*?)</\\1\\s*>`` matched, found in linear
    time: that pattern scanned to the end of the text from every ``<`` of an unclosed element
    (quadratic on crafted input). Here the tag ends, the hiding styles and the closing tags are each
    found once, and every opening tag looks its own up by bisection."""
    tag_ends = [m.start() for m in re.finditer(">", text)]
    styles = [m.start() for m in HIDDEN_STYLE.finditer(text)]
    closing: dict[str, list[tuple[int, int]]] = {}
    for m in CLOSE_TAG.finditer(text):
        closing.setdefault(m.group(1).casefold(), []).append(m.span())
    done = 0
    for tag in OPEN_TAG.finditer(text):
        i = bisect.bisect_left(tag_ends, tag.end())
        if tag.start() < done or i == len(tag_ends):
            continue
        end_of_tag = tag_ends[i]
        j = bisect.bisect_left(styles, tag.end())
        if j == len(styles) or styles[j] >= end_of_tag:  # not hidden
            continue
        closes = closing.get(tag.group(1).casefold(), [])
        k = bisect.bisect_left(closes, (end_of_tag + 1, -1))
        if k < len(closes):
            close_start, close_end = closes[k]
            yield tag.start(), close_end, text[end_of_tag + 1 : close_start]
            done = close_end


def hidden_texts(text: str) -> Iterator[tuple[int, int, str]]:
    """Text hidden in markup: (start, end, the hidden text) for each place."""
    yield from hidden_elements(text)
    for pattern in HIDDEN:
        for match in pattern.finditer(text):
            yield match.start(), match.end(), match.group(match.lastindex or 0)
