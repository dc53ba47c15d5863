"""Per-call latency of each guard, against its bare detector measured in the same run.

    .venv/bin/python bench/guard_bench.py [--rounds 3]

Texts are the project's evaluation sets (tests/guard_sets): maintenance texts with personal
data, questions and documents with and without injections, procedural answers. For each check
it times the bare detector (the baseline) and the check as the product runs it (a guardrails-ai
Guard around the maintgraph/ validator, with its policy's fix), and prints p50/p95 per call and
the ratio guard/detector (what guardrails-ai costs on top). Then the whole chains per direction:
a question (injection -> topic -> PII), a retrieved text (injection -> PII), an answer
(grounded -> unsafe -> PII). No service is needed. Results go to bench/results/guards.json.

Then crafted input (``--adversarial`` runs only this part): each pattern that was super-linear on
crafted text (nested or side-by-side quantifiers; see tests/test_bounded_inputs.py) timed on its
crafted input at 8, 16, 32 and 64 KB against benign text of the same size (the sample plant's
manuals), with the ratio crafted/benign per size and the growth from 8 to 64 KB (linear: ~8x;
quadratic: ~64x). Results go to bench/results/guards_adversarial.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from maintgraph.evals.guard_sets import load  # noqa: E402
from maintgraph.guardrails import grounded, injection, topic, unsafe  # noqa: E402
from maintgraph.guardrails import pii as pii_patterns  # noqa: E402
from maintgraph.guardrails.guard import GuardConfig, PlantGuards  # noqa: E402
from maintgraph.guardrails.pii import PiiConfig  # noqa: E402

SETS = REPO / "tests" / "guard_sets"
POLICY = {"pii": "fix", "injection": "block", "unsafe": "fix", "grounded": "fix", "topic": "block"}


def timed(call: Callable[[str], Any], texts: list[str], rounds: int) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            call(text)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"calls": len(times), "p50_ms": round(statistics.median(times), 3),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3)}  # fmt: skip


def crafted(prefix: str, unit: str, size: int) -> str:
    return prefix + (unit * (size // len(unit) + 1))[: size - len(prefix)]


def _scan(pattern: re.Pattern[str]) -> Callable[[str], Any]:
    return lambda text: list(pattern.finditer(text))


def _pii(name: str) -> Callable[[str], Any]:
    return _scan(re.compile(getattr(pii_patterns, name), re.MULTILINE))  # as Presidio compiles them


# (pattern, its scan, the crafted input's prefix and repeated unit): what made each old pattern quadratic
ADVERSARIAL: list[tuple[str, Callable[[str], Any], str, str]] = [
    ("pii IDENTIFIER", _pii("IDENTIFIER"), "", "A-"),
    ("pii EMAIL", _pii("EMAIL"), "", "a."),
    ("pii BADGE_CUED", _pii("BADGE_CUED"), "badge", " "),
    ("pii PERSON_CUED", _pii("PERSON_CUED"), "told", "\t"),
    ("pii SPEAKER", _pii("SPEAKER"), "", "\n"),
    ("injection hidden elements", lambda t: list(injection.hidden_elements(t)), "", "<a_"),
    ("injection HIDDEN md comment", _scan(injection.HIDDEN[1]), "", "\n"),
    ("injection HIDDEN image alt", _scan(injection.HIDDEN[2]), "", "!["),
    ("injection HIDDEN attribute", _scan(injection.HIDDEN[3]), "", "data-"),
    ("injection HIDDEN ai line", _scan(injection.HIDDEN[4]), "", "ai"),
    ("injection CONTROL_TOKENS [[", _scan(injection.CONTROL_TOKENS), "", "[["),
    ("injection CONTROL_TOKENS ###", _scan(injection.CONTROL_TOKENS), "", "\n"),
    ("injection ADDRESSED", _scan(injection.ADDRESSED), "to", "\n"),
    ("injection override #9", _scan(injection.COMPILED["instruction_override"][9]), "disregard", "\n"),
    ("unsafe bypass_loto #3", _scan(unsafe.COMPILED["bypass_loto"][3]), "control", " "),
    ("unsafe UPSIZED", _scan(unsafe.UPSIZED), "", "1"),
    ("unsafe CITED", _scan(unsafe.CITED), "", "[wo:"),
    ("retrieved text, whole check", lambda t: injection.find_injections(t, "document"), "", "[["),
]
SIZES_KB = (8, 16, 32, 64)


def best_of(call: Callable[[str], Any], text: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call(text)
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def adversarial(rounds: int) -> None:
    """Each fixed pattern on crafted input of growing size against benign text of the same size."""
    benign_source = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "data").rglob("*.md")))
    results: dict[str, Any] = {"sizes_kb": list(SIZES_KB), "patterns": {}}
    print(f"{'pattern on crafted input':30}" + "".join(f"{f'{kb} KB ms (x benign)':>22}" for kb in SIZES_KB)
          + f"{'growth 8->64 KB':>17}")  # fmt: skip
    for name, call, prefix, unit in ADVERSARIAL:
        row = {}
        for kb in SIZES_KB:
            size = kb * 1024
            benign = (benign_source * (size // len(benign_source) + 1))[:size]
            crafted_ms, benign_ms = best_of(call, crafted(prefix, unit, size), rounds), best_of(call, benign, rounds)
            row[kb] = {"crafted_ms": round(crafted_ms, 3), "benign_ms": round(benign_ms, 3),
                       "ratio": round(crafted_ms / max(benign_ms, 1e-3), 2)}  # fmt: skip
        growth = row[SIZES_KB[-1]]["crafted_ms"] / max(row[SIZES_KB[0]]["crafted_ms"], 1e-3)
        results["patterns"][name] = {"by_kb": row, "growth_8_to_64kb": round(growth, 1)}
        cells = "".join(f"{'{:.1f} ({:.1f}x)'.format(row[kb]['crafted_ms'], row[kb]['ratio']):>22}" for kb in SIZES_KB)
        print(f"{name:30}{cells}{growth:>16.1f}x")
    out = REPO / "bench" / "results" / "guards_adversarial.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out.relative_to(REPO)} (growth 8->64 KB: ~8x is linear, ~64x quadratic)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="Passes over each set.")
    parser.add_argument("--adversarial", action="store_true", help="Only the crafted-input part.")
    args = parser.parse_args()
    if args.adversarial:
        adversarial(args.rounds)
        return

    pii_texts = [i["text"] for i in load(SETS / "pii.yaml")["items"]]
    injection_set = load(SETS / "injection.yaml")
    questions = [i["text"] for i in injection_set["attacks"] + injection_set["benign"] if i["channel"] == "input"]
    documents = [i["text"] for i in injection_set["attacks"] + injection_set["benign"] if i["channel"] == "document"]
    unsafe_set = load(SETS / "unsafe.yaml")
    answers = [i["text"] for i in unsafe_set["unsafe"] + unsafe_set["safe"]]
    evidence = {"doc:kes-1": "Bearing alarm 90 C, trip 105 C. Relief valve set at 10 bar.",
                "graph:LOTO-P101": "LOTO-P101: isolate M-101 at MCC-2 breaker, lock and tag."}  # fmt: skip
    cited = [f"{a} [doc:kes-1]" for a in answers]

    guards = PlantGuards(GuardConfig(policy=POLICY, pii=PiiConfig()))
    started = time.perf_counter()
    guards.warm_up()
    build_s = time.perf_counter() - started
    one = guards.guard_for  # the Guard for one check, as the chains build it

    def through(check: str, metadata: dict[str, Any]) -> Callable[[str], Any]:
        from guardrails.errors import ValidationError

        guard = one(check, POLICY[check] if check != "injection" else "fix", "replace", False)

        def call(text: str) -> Any:
            try:
                return guard.validate(text, metadata={**metadata, "findings": []})
            except ValidationError:  # a blocked text (the topic check's policy): timed all the same
                return None

        return call

    cases = {
        "pii": (guards.scanner.find, through("pii", {}), pii_texts),
        "injection (question)": (injection.find_injections, through("injection", {"channel": "input"}), questions),
        "injection (document)": (lambda t: injection.find_injections(t, "document"),
                                 through("injection", {"channel": "document"}), documents),
        "unsafe": (unsafe.find_unsafe, through("unsafe", {"isolation": []}), answers),
        "grounded": (lambda t: grounded.find_ungrounded(t, evidence),
                     through("grounded", {"evidence": evidence}), cited),
        "topic": (topic.find_off_topic, through("topic", {}), questions),
    }  # fmt: skip
    results: dict[str, Any] = {"pii_analyzer_build_s": round(build_s, 1), "checks": {}, "chains": {}}
    print(f"PII analyzer built in {build_s:.1f} s (Presidio + spaCy, once per process)")
    print(f"{'check':24} {'detector p50/p95 ms':>22} {'guard p50/p95 ms':>20} {'ratio p50':>10}")
    for name, (bare, guarded, texts) in cases.items():
        for call in (bare, guarded):  # first calls build regexes and guardrails' internals: not timed
            call(texts[0])
        base, real = timed(bare, texts, args.rounds), timed(guarded, texts, args.rounds)
        ratio = real["p50_ms"] / base["p50_ms"] if base["p50_ms"] else float("inf")
        results["checks"][name] = {"detector": base, "guard": real, "ratio_p50": round(ratio, 2)}
        print(f"{name:24} {base['p50_ms']:>10.2f} / {base['p95_ms']:<9.2f} {real['p50_ms']:>8.2f} / "
              f"{real['p95_ms']:<9.2f} {ratio:>9.1f}x")  # fmt: skip
    chains = {"question (input)": (guards.check_input, questions),
              "retrieved text": (guards.check_retrieved, documents),
              "answer (output)": (lambda t: guards.check_output(t, evidence), cited)}  # fmt: skip
    for name, (call, texts) in chains.items():
        results["chains"][name] = timed(call, texts, args.rounds)
        print(f"chain {name:18} p50 {results['chains'][name]['p50_ms']:.1f} ms, "
              f"p95 {results['chains'][name]['p95_ms']:.1f} ms")  # fmt: skip
    out = REPO / "bench" / "results" / "guards.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out.relative_to(REPO)}")
    adversarial(args.rounds)


if __name__ == "__main__":
    main()
