"""What a run, a comparison of two runs, and the regression gate say.

- :func:`run_report`: headline metrics per contestant, per category, latency, and every item.
- :func:`compare`: run B against run A (or one contestant of a run against another), metric by
  metric and item by item; a metric that falls by more than the threshold is a regression, and
  the command exits non-zero on any (a release gate).
- :func:`gate`: a run's figures against the thresholds committed in the repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maintgraph.config import read_yaml_mapping
from maintgraph.errors import MaintgraphError
from maintgraph.evals.metrics import HEADLINE, HIGHER_IS_BETTER, K
from maintgraph.evals.report import Report, Section, Table, bar_chart, delta_chart, excerpt, latency_chart

SHOWN = (*HEADLINE, "answer_shape_problems", "answer_chars_p50", "answer_read_chars_p50", f"doc_recall@{K}",
         "doc_mrr", f"graph_recall@{K}", "graph_mrr", "latency_p50_s", "latency_p95_s", "tokens_per_answer",
         "judge_faithfulness", "model_written", "errors")  # fmt: skip
PER_SET = ("items", "accuracy", "nugget_recall_essential", "numeric_match", "citation_precision", "citation_recall",
           "tool_accuracy", "refusal_correct", "unsafe", "pii_leak", "injection_success", "answer_shape_ok",
           "answer_shape_problems", "answer_chars_p50", "answer_read_chars_p50")  # fmt: skip
THRESHOLDS = Path(__file__).resolve().parents[2] / "data" / "eval" / "thresholds.yaml"


def describe_run(run: dict[str, Any]) -> list[str]:
    config = run["config"]
    sets = ", ".join(f"{s['name']} v{s['version']} ({s['items']} items)" for s in config.get("sets", []))
    lines = [f"run {run['id']} ({run['kind']}), {run['status']}, started {run['started_at']:%Y-%m-%d %H:%M:%S %Z}"]
    if sets:
        lines.append(f"sets: {sets}")
    lines.append(f"model: {config.get('model')}")
    if config.get("graph"):
        lines.append(f"graph: {config['graph']}")
    if config.get("note"):
        lines.append(config["note"])
    return lines


def run_report(run: dict[str, Any], rows: list[dict[str, Any]]) -> Report:
    summary = run["summary"]
    names = list(summary)
    headline = Table(["metric", *names], [[m, *[summary[n]["all"].get(m) for n in names]] for m in SHOWN])
    categories = list(dict.fromkeys(c for n in names for c in summary[n]["all"]["categories"]))
    per_category = Table(
        ["category", "items", *[f"{n} accuracy" for n in names], *[f"{n} essential nuggets" for n in names]],
        [[c, summary[names[0]]["all"]["categories"].get(c, {}).get("items"),
          *[summary[n]["all"]["categories"].get(c, {}).get("accuracy") for n in names],
          *[summary[n]["all"]["categories"].get(c, {}).get("nugget_recall_essential") for n in names]]
         for c in categories],
    )  # fmt: skip
    chart = bar_chart("Accuracy per category", categories,
                      {n: [summary[n]["all"]["categories"].get(c, {}).get("accuracy") for c in categories]
                       for n in names}, "share correct")  # fmt: skip
    seconds = {n: [r["metrics"]["seconds"] for r in rows if r["contestant"] == n] for n in names}
    set_names = [s["name"] for s in run["config"].get("sets", [])]
    per_set = Table(["set", "metric", *names],
                    [[s, m, *[summary[n].get(s, {}).get(m) for n in names]]
                     for s in set_names for m in PER_SET])  # fmt: skip
    sections = [
        Section("Headline figures", [headline]),
        Section("Per set", [per_set]),
        Section("Per category", [per_category, chart]),
        Section("Latency", [latency_chart("Seconds per answer", seconds)]),
    ]
    troubled = [s for s in run["config"].get("sets", []) if s.get("problems")]
    if troubled:
        sections.append(Section("Lines left out of the sets", [p for s in troubled for p in s["problems"]]))
    items = {}
    for row in rows:
        items.setdefault((row["set"], row["item"]), {})[row["contestant"]] = row
    sections.append(Section("Items", [Table(
        ["set", "item", "category", *[f"{n} correct" for n in names], f"{names[0]} missing", f"{names[0]} flags",
         f"{names[0]} answer"],
        [[s, i, next(iter(by.values()))["category"],
          *[by[n]["metrics"]["correct"] if n in by else None for n in names],
          ", ".join(by[names[0]]["metrics"]["missing"]) if names[0] in by else None,
          ", ".join(flags(by[names[0]]["metrics"])) if names[0] in by else None,
          excerpt(by[names[0]]["answered"]["answer"] or by[names[0]]["answered"]["error"] or "") if names[0] in by
          else None]
         for (s, i), by in items.items()],
    )]))  # fmt: skip
    return Report(f"Evaluation run {run['id']}", describe_run(run), sections)


def flags(metrics: dict[str, Any]) -> list[str]:
    """What went wrong with an item besides missing facts."""
    named = {"unsafe": "unsafe advice", "pii_leak": "personal data repeated", "injection_success": "injection obeyed",
             "false_refusal": "refused an answerable question"}  # fmt: skip
    return [text for key, text in named.items() if metrics.get(key)] + (
        ["did not say the records lack it"] if metrics.get("refusal_correct") is False else []) + [
        f"answer shape: {problem}" for problem in metrics.get("answer_shape") or []]  # fmt: skip


# -- comparison ------------------------------------------------------------------------------------


@dataclass
class Comparison:
    a: str
    b: str
    metrics: list[tuple[str, float | None, float | None]]  # (metric, A, B)
    improved: list[tuple[str, str]] = field(default_factory=list)  # (set/item, what changed)
    regressed: list[tuple[str, str]] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)  # metrics that fell by more than the threshold
    notes: list[str] = field(default_factory=list)  # what makes the two less comparable

    def delta(self, metric: str, a: float | None, b: float | None) -> float | None:
        if a is None or b is None:
            return None
        return (b - a) if HIGHER_IS_BETTER.get(metric, True) else (a - b)


def side(spec: str) -> tuple[str, str]:
    """``RUN`` or ``RUN:contestant`` (the agent by default)."""
    run_id, _, contestant = spec.partition(":")
    return run_id, contestant or "agent"


def compare(run_a: dict[str, Any], rows_a: list[dict[str, Any]], run_b: dict[str, Any], rows_b: list[dict[str, Any]],
            contestant_a: str, contestant_b: str, threshold: float) -> Comparison:  # fmt: skip
    figures = []
    for name, run, contestant in ((run_a["id"], run_a, contestant_a), (run_b["id"], run_b, contestant_b)):
        if run["kind"] != "eval":
            raise MaintgraphError(f"{name} is a {run['kind']} run: compare takes evaluation runs")
        if contestant not in run["summary"]:
            raise MaintgraphError(f"run {name} has no contestant {contestant!r} (it has {sorted(run['summary'])})")
        figures.append(run["summary"][contestant]["all"])
    versions = [{s["name"]: s["version"] for s in run["config"].get("sets", [])} for run in (run_a, run_b)]
    result = Comparison(f"{run_a['id']}:{contestant_a}", f"{run_b['id']}:{contestant_b}",
                        [(m, figures[0].get(m), figures[1].get(m)) for m in HEADLINE])  # fmt: skip
    shared = versions[0].keys() & versions[1].keys()
    result.notes = [f"set {name} is v{versions[0][name]} in A and v{versions[1][name]} in B: the items may differ"
                    for name in sorted(shared) if versions[0][name] != versions[1][name]]  # fmt: skip
    for metric, a, b in result.metrics:
        change = result.delta(metric, a, b)
        if change is not None and change < -threshold:
            result.regressions.append(f"{metric} {a:.3f} -> {b:.3f}")
    before = {(r["set"], r["item"]): r["metrics"] for r in rows_a if r["contestant"] == contestant_a}
    after = {(r["set"], r["item"]): r["metrics"] for r in rows_b if r["contestant"] == contestant_b}
    for key in before.keys() & after.keys():
        was, now = before[key], after[key]
        name = "/".join(key)
        if was["correct"] != now["correct"]:
            lost = sorted(set(now["missing"]) - set(was["missing"]))
            gained = sorted(set(was["missing"]) - set(now["missing"]))
            why = f"now misses {', '.join(lost)}" if lost else (f"now states {', '.join(gained)}" if gained else
                                                                 "citations or numbers changed")  # fmt: skip
            (result.improved if now["correct"] else result.regressed).append((name, why))
    result.improved.sort()
    result.regressed.sort()
    return result


def compare_report(result: Comparison, threshold: float) -> Report:
    table = Table(["metric", "A", "B", "change (positive = better)"],
                  [[m, a, b, result.delta(m, a, b)] for m, a, b in result.metrics])  # fmt: skip
    deltas = {m: d for m, a, b in result.metrics if (d := result.delta(m, a, b)) is not None}
    verdict = (f"Regressions beyond {threshold:.3f}: " + "; ".join(result.regressions)) if result.regressions else (
        f"No metric fell by more than {threshold:.3f}.")  # fmt: skip
    sections = [
        Section("Verdict", [verdict, *result.notes]),
        Section("Metrics", [table, delta_chart("Change per metric", deltas)]),
        Section(
            f"Regressed items ({len(result.regressed)})", [Table(["item", "what changed"], list(result.regressed))]
        ),
        Section(f"Improved items ({len(result.improved)})", [Table(["item", "what changed"], list(result.improved))]),
    ]
    return Report(f"Comparison: {result.b} against {result.a}", [f"A = {result.a}", f"B = {result.b}"], sections)


# -- the gate --------------------------------------------------------------------------------------


def gate(run: dict[str, Any], path: Path = THRESHOLDS) -> list[str]:
    """The thresholds of ``path`` that the agent misses on the run's sets: ``set -> metric ->
    minimum``, or ``max_<metric>`` for a metric where lower is better (``max_pii_leak: 0``)."""
    thresholds = read_yaml_mapping(
        path,
        "thresholds file",
        shape="a mapping of set names, each with metric: threshold lines",
        error=MaintgraphError,
    )
    failures = []
    agent = run["summary"].get("agent", {})
    for set_name in [s["name"] for s in run["config"].get("sets", []) if s["name"] in thresholds]:
        for key, bound in thresholds[set_name].items():
            metric = key.removeprefix("max_")
            if metric not in HEADLINE and metric not in SHOWN:
                raise MaintgraphError(f"{path}: {set_name}: no metric {metric!r} (metrics: {', '.join(SHOWN)})")
            value = agent.get(set_name, {}).get(metric)
            if value is None:
                failures.append(f"{set_name}: {metric} has no value (no item measured it)")
            elif (value > bound) if key.startswith("max_") else (value < bound):
                failures.append(f"{set_name}: {metric} {value:.3f} {'>' if key.startswith('max_') else '<'} {bound}")
    return failures
