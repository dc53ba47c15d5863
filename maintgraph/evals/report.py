"""Reports a person opens: Markdown and a self-contained HTML page with charts.

A report is a title, a few lines about what was run, and sections of text, tables and charts.
The same sections render as Markdown (for a pull request or a ticket) and as HTML (charts are
inline SVG drawn by matplotlib: the page needs no network and no script). Both files are
written whole or not at all.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Chart:
    title: str
    svg: str


@dataclass
class Section:
    heading: str
    blocks: list[str | Table | Chart] = field(default_factory=list)


@dataclass
class Report:
    title: str
    meta: list[str]
    sections: list[Section]


def cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# -- charts ----------------------------------------------------------------------------------------


def _svg(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none wanted
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "maintgraph", "font.size": 9})
    import matplotlib.pyplot as plt

    return plt


def bar_chart(title: str, labels: list[str], series: dict[str, list[float | None]], ylabel: str) -> Chart:
    """Grouped bars: one group per label, one bar per series."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(5.0, 0.9 * len(labels) + 2), 3.2))
    width = 0.8 / max(1, len(series))
    for n, (name, values) in enumerate(series.items()):
        xs = [i + (n - (len(series) - 1) / 2) * width for i in range(len(labels))]
        axes.bar(xs, [v or 0.0 for v in values], width, label=name)
    axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    axes.set_ylabel(ylabel)
    axes.set_ylim(0, 1.05)
    axes.legend(fontsize=8)
    axes.set_title(title)
    return Chart(title, _svg(figure))


def latency_chart(title: str, series: dict[str, list[float]]) -> Chart:
    """The distribution of seconds per answer, one box per series."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5.5, 3.0))
    names = [n for n, v in series.items() if v]
    if names:
        axes.boxplot([series[n] for n in names], tick_labels=names, vert=False, showfliers=True)
    else:
        axes.text(0.5, 0.5, "nothing was timed", ha="center", va="center", transform=axes.transAxes)
    axes.set_xlabel("seconds per answer")
    axes.set_title(title)
    return Chart(title, _svg(figure))


def line_chart(title: str, series: dict[str, list[tuple[float, float]]], xlabel: str, ylabel: str) -> Chart:
    """One line per series of (x, y) points: loss curves, learning rate."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.0, 3.2))
    for name, points in series.items():
        if points:
            axes.plot([x for x, _ in points], [y for _, y in points], marker="." if len(points) < 30 else None,
                      label=name)  # fmt: skip
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    if any(series.values()):
        axes.legend(fontsize=8)
    return Chart(title, _svg(figure))


def delta_chart(title: str, deltas: dict[str, float]) -> Chart:
    """Horizontal bars of B - A per metric, green where B is better."""
    plt = _pyplot()
    names = list(deltas)
    figure, axes = plt.subplots(figsize=(6.0, 0.35 * len(names) + 1))
    axes.barh(names, [deltas[n] for n in names],
              color=["#2a9d4b" if deltas[n] >= 0 else "#c0392b" for n in names])  # fmt: skip
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel("change, B - A (positive = better)")
    axes.set_title(title)
    axes.invert_yaxis()
    return Chart(title, _svg(figure))


# -- rendering -------------------------------------------------------------------------------------


def markdown(report: Report) -> str:
    lines = [f"# {report.title}", "", *[f"- {_md(m)}" for m in report.meta], ""]
    for section in report.sections:
        lines += [f"## {section.heading}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                lines.append("| " + " | ".join(block.headers) + " |")
                lines.append("|" + "---|" * len(block.headers))
                lines += ["| " + " | ".join(_md(cell(v)).replace("|", "\\|") for v in row) + " |"
                          for row in block.rows]  # fmt: skip
            elif isinstance(block, Chart):
                lines.append(f"*Chart: {block.title} (in the HTML report)*")
            else:
                lines.append(_md(block))
            lines.append("")
    return "\n".join(lines)


def _md(text: str) -> str:
    """Text as Markdown shows it, never as markup: an answer quoting an injected ``<img src=…>`` or
    ``![](http://…)`` must not load anything when the report is opened."""
    return text.replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;").replace("![", "!\\[")


PAGE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ report.title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } figure { margin: 1em 0; } figcaption { font-weight: bold; }
.meta { color: #555; }
</style></head><body>
<h1>{{ report.title }}</h1>
<ul class="meta">{% for m in report.meta %}<li>{{ m }}</li>{% endfor %}</ul>
{% for section in report.sections %}<section><h2>{{ section.heading }}</h2>
{% for block in section.blocks %}{% if block.headers is defined %}<table><thead><tr>
{% for h in block.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in block.rows %}<tr>{% for v in row %}<td>{{ cell(v) }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>{% elif block.svg is defined %}<figure class="chart"><figcaption>{{ block.title }}</figcaption>
{{ block.svg | safe }}</figure>{% else %}<p>{{ block }}</p>{% endif %}{% endfor %}</section>
{% endfor %}</body></html>
""")


def page(report: Report) -> str:
    return PAGE.render(report=report, cell=cell)


def write(report: Report, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """``stem.md`` and ``stem.html`` in ``out_dir``, each written whole (temporary file, then rename)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in ((".md", markdown(report)), (".html", page(report))):
        path = out_dir / f"{stem}{suffix}"
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
        written.append(path)
    return written[0], written[1]


def excerpt(text: str, limit: int = 160) -> str:
    """A one-line excerpt for a table cell."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
