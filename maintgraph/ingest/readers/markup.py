"""Markdown (markdown-it-py) and HTML (BeautifulSoup + lxml) to blocks.

Both map the same structure: headings, paragraphs, ordered-list items as numbered steps,
bullet items, table rows with their header, and warnings: a block quote or element whose text
starts with WARNING / CAUTION / DANGER, or an HTML element with class "warning"/"caution".
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, Tag
from markdown_it import MarkdownIt

from maintgraph.errors import ReadError
from maintgraph.ingest.readers.text import decode
from maintgraph.search.records import Block

_WARNING_TEXT = re.compile(r"^\W*(WARNING|CAUTION|DANGER)\b", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.replace("**", "").replace("__", "")).strip()


def _paragraph_kind(text: str, in_quote: bool) -> str:
    return "warning" if _WARNING_TEXT.match(text) or (in_quote and _WARNING_TEXT.search(text[:40])) else "paragraph"


def _table_rows(header: list[str], rows: list[list[str]]) -> list[Block]:
    return [Block("table_row", "; ".join(f"{h}: {c}" for h, c in zip(header, row, strict=False) if c),
                  header=tuple(header), cells=tuple(row)) for row in rows if any(row)]  # fmt: skip


def parse_markdown(text: str) -> list[Block]:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks: list[Block] = []
    lists: list[list] = []  # open lists, innermost last: [ordered?, next step number]
    quote_depth = 0
    header: list[str] = []
    rows: list[list[str]] = []
    row: list[str] | None = None
    in_head = False
    for i, token in enumerate(tokens):
        kind = token.type
        if kind == "heading_open":
            blocks.append(Block("heading", _clean(tokens[i + 1].content), level=int(token.tag[1])))
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind in ("ordered_list_open", "bullet_list_open"):
            lists.append([kind == "ordered_list_open", int(token.attrs.get("start", 1) or 1)])
        elif kind in ("ordered_list_close", "bullet_list_close"):
            lists.pop()
        elif kind == "paragraph_open" and tokens[i - 1].type != "list_item_open":  # not an item's first line
            content = _clean(tokens[i + 1].content)
            if content:
                blocks.append(Block(_paragraph_kind(content, quote_depth > 0), content))  # type: ignore[arg-type]
        elif kind == "paragraph_open" and lists:
            content = _clean(tokens[i + 1].content)
            ordered, number = lists[-1][0], lists[-1][1]
            if ordered:
                blocks.append(Block("step", content, number=str(number)))
                lists[-1][1] += 1
            else:
                blocks.append(Block("list_item", content))
        elif kind in ("fence", "code_block") and token.content.strip():
            blocks.append(Block("paragraph", token.content.strip()))
        elif kind == "thead_open":
            in_head, header, rows = True, [], []
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row = []
        elif kind == "inline" and row is not None and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(_clean(token.content))
        elif kind == "tr_close" and row is not None:
            if in_head:
                header = row
            else:
                rows.append(row)
            row = None
        elif kind == "table_close":
            blocks.extend(_table_rows(header, rows))
    return blocks


def read_markdown(path: Path) -> tuple[str, list[Block]]:
    blocks = parse_markdown(decode(path.read_bytes(), path))
    if not any(b.text for b in blocks):
        raise ReadError(path, "no text")
    title = next((b.text for b in blocks if b.kind == "heading"), path.stem)
    return title, blocks


_HTML_BLOCKS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "pre", "blockquote", "div", "dd", "dt"}


def _is_warning_element(element: Tag) -> bool:
    classes = " ".join(element.get("class") or []).lower()
    return any(word in classes for word in ("warning", "caution", "danger"))


def parse_html(html: str) -> tuple[str | None, list[Block]]:
    soup = BeautifulSoup(html, "lxml")
    for junk in soup(["script", "style", "noscript", "template", "nav"]):
        junk.decompose()
    title = _clean(soup.title.get_text()) if soup.title else None
    body = soup.body or soup
    blocks: list[Block] = []

    def walk(element: Tag, warning: bool) -> None:
        for child in element.children:
            if not isinstance(child, Tag):
                continue
            name = child.name
            in_warning = warning or _is_warning_element(child)
            if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
                blocks.append(Block("heading", _clean(child.get_text(" ")), level=int(name[1])))
            elif name == "table":
                header = [_clean(th.get_text(" ")) for th in child.find_all("th")]
                body_rows = [
                    [_clean(td.get_text(" ")) for td in tr.find_all("td")]
                    for tr in child.find_all("tr")
                    if tr.find("td")
                ]
                if body_rows:
                    blocks.extend(
                        _table_rows(header or [f"column {i + 1}" for i in range(len(body_rows[0]))], body_rows)
                    )
            elif name in ("ol", "ul"):
                number = int(child.get("start", 1) or 1)
                for item in child.find_all("li", recursive=False):
                    text = _clean(item.get_text(" "))
                    if not text:
                        continue
                    if name == "ol":
                        blocks.append(Block("warning" if in_warning else "step", text, number=str(number)))
                        number += 1
                    else:
                        blocks.append(Block("warning" if in_warning else "list_item", text))
            elif name in ("p", "pre", "dd", "dt") or (name in ("div", "blockquote") and not child.find(_HTML_BLOCKS)):
                text = _clean(child.get_text(" "))
                if text:
                    kind = "warning" if in_warning or _WARNING_TEXT.match(text) else "paragraph"
                    blocks.append(Block(kind, text))  # type: ignore[arg-type]
            else:
                walk(child, in_warning)

    walk(body, False)
    return title, blocks


def read_html(path: Path) -> tuple[str, list[Block]]:
    title, blocks = parse_html(decode(path.read_bytes(), path))
    if not any(b.text for b in blocks):
        raise ReadError(path, "no text")
    return title or next((b.text for b in blocks if b.kind == "heading"), path.stem), blocks
