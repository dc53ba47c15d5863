"""Model serving benchmark: the real vLLM with the default base model and the shipped adapter.

    .venv/bin/python bench/llm_bench.py [--tokens 64] [--rounds 3]

Starts its own vLLM (in a temporary data dir, on a free port) and reports, all from this run:
- server start time (until /health answers) and its resident memory (API server + engine);
- per request kind (base model, LoRA adapter) and concurrency (1, 4): generated tokens/s
  (all requests together) and time to first token (streamed);
- the ratios adapter/base for each figure.
Results go to bench/results/llm.json.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from maintgraph.config import Settings  # noqa: E402
from maintgraph.llm.client import LLMClient  # noqa: E402
from maintgraph.llm.server import VLLMServer  # noqa: E402

QUESTIONS = [
    "The cooling water pump P-205 is vibrating. What should I check?",
    "Motor M-310 trips on overload during start-up. Where do I start?",
    "The air compressor discharge temperature is high. What are the likely causes?",
    "The control valve FV-120 sticks half open. What should I look at?",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def one_request(settings: Settings, model: str, question: str, tokens: int) -> tuple[int, float]:
    """Stream one answer; returns (completion tokens, time to first token). One client per
    request, so that concurrent requests never read each other's call record."""
    client = LLMClient(settings)
    messages = [{"role": "user", "content": question}]
    # ignore_eos: every request generates exactly `tokens`, so base and adapter do equal work.
    for _ in client.stream(messages, model=model, max_tokens=tokens, extra_body={"ignore_eos": True}):
        pass
    record = client.calls[-1]
    return record.completion_tokens or 0, record.first_token_s or 0.0


def measure(settings: Settings, model: str, concurrency: int, tokens: int, rounds: int) -> dict[str, float]:
    rates, first_tokens = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            runs = [pool.submit(one_request, settings, model, QUESTIONS[i % len(QUESTIONS)], tokens)
                    for i in range(concurrency)]  # fmt: skip
            results = [run.result() for run in runs]
        elapsed = time.perf_counter() - started
        rates.append(sum(n for n, _ in results) / elapsed)
        first_tokens += [ttft for _, ttft in results]
    return {"tokens_per_s": statistics.median(rates), "ttft_p50_s": statistics.median(first_tokens)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="mgb-", dir="/tmp")), llm_port=free_port(),
                        vllm_python=REPO / ".venv-vllm/bin/python")  # fmt: skip
    server = VLLMServer(settings)
    server.registry.prepare(settings.llm_model)  # prepared once, outside the start time
    started = time.perf_counter()
    server.start()
    report: dict[str, object] = {"start_s": time.perf_counter() - started, "tokens": args.tokens}
    try:
        one_request(settings, settings.llm_model, "warm up", 8)
        one_request(settings, "house-style", "warm up", 8)
        report["rss_mb_idle"] = rss_mb(server.pid() or 0)
        figures: dict[str, dict[str, float]] = {}
        for concurrency in (1, 4):
            for kind, model in (("base", settings.llm_model), ("adapter", "house-style")):
                figures[f"{kind}_x{concurrency}"] = measure(settings, model, concurrency, args.tokens, args.rounds)
                print(f"{kind:7} x{concurrency}: {figures[f'{kind}_x{concurrency}']['tokens_per_s']:6.1f} tok/s, "
                      f"first token {figures[f'{kind}_x{concurrency}']['ttft_p50_s'] * 1000:6.0f} ms")  # fmt: skip
        report["rss_mb_after"] = rss_mb(server.pid() or 0)
        report["figures"] = figures
        report["ratios_adapter_over_base"] = {
            f"x{c}": {
                "tokens_per_s": figures[f"adapter_x{c}"]["tokens_per_s"] / figures[f"base_x{c}"]["tokens_per_s"],
                "ttft": figures[f"adapter_x{c}"]["ttft_p50_s"] / figures[f"base_x{c}"]["ttft_p50_s"],
            }
            for c in (1, 4)
        }
        report["concurrency_gain_x4_over_x1"] = {
            kind: figures[f"{kind}_x4"]["tokens_per_s"] / figures[f"{kind}_x1"]["tokens_per_s"]
            for kind in ("base", "adapter")
        }
    finally:
        server.stop()
        shutil.rmtree(settings.data_dir, ignore_errors=True)  # the dequantised model is ~0.5 GB
    print(f"server start {report['start_s']:.0f} s, RSS {report['rss_mb_idle']:.0f} MB idle, "
          f"{report['rss_mb_after']:.0f} MB after the runs")  # fmt: skip
    for c, ratio in report["ratios_adapter_over_base"].items():  # type: ignore[union-attr]
        print(f"adapter/base {c}: tokens/s {ratio['tokens_per_s']:.2f}, time to first token {ratio['ttft']:.2f}")
    for kind, gain in report["concurrency_gain_x4_over_x1"].items():  # type: ignore[union-attr]
        print(f"{kind}: 4 concurrent / 1 = {gain:.2f}x tokens/s")
    out = REPO / "bench" / "results" / "llm.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
