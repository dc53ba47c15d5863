"""Per-call latency of each guard, against its bare detector measured in the same run.

    .venv/bin/python bench/guard_bench.py [--rounds 3]

Texts are the project's evaluation sets (tests/guard_sets): maintenance texts with personal
data, questions and documents with and without injections, procedural answers. For each check
it times the bare detector (the baseline) and the check as the product runs it (a guardrails-ai
Guard around the maintgraph/ validator, with its policy's fix), and prints p50/p95 per call and
the ratio guard/detector (what guardrails-ai costs on top). Then the whole chains per direction:
a question (injection -> topic -> PII), a retrieved text (injection -> PII), an answer
(grounded -> unsafe -> PII). No service is needed. Results go to bench/results/guards.json.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="Passes over each set.")
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
