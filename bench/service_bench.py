"""`maintgraph serve` under load, and with the model server killed mid-run (loopback only).

    .venv/bin/python bench/service_bench.py [--clients 20] [--seconds 120] [--fault-seconds 90]

Runs on the configured stack with the sample plant loaded and vLLM serving (what `make demo`
leaves running). Starts `maintgraph serve` on a free loopback port with a bench API key, then:

1. baseline: one client asking the sample plant's questions back to back (``--baseline-seconds``);
2. load: ``--clients`` clients doing the same at once for ``--seconds``. Reported: throughput,
   p50/p95 latency of answers, status counts, and the ratios against the baseline. Targets: no
   5xx other than 503 (a turn beyond capacity), every 429/503 carrying Retry-After, no request
   left hanging (a client gives up after ``--client-timeout``);
3. fault: four clients ask while the bench kills the vLLM server (SIGKILL) and starts it again
   (a third of ``--fault-seconds`` before the kill, two thirds after the restart).
   Reported: what requests got while it was down (an answer from the evidence with the model
   marked unchecked, or a clear error), that answers use the model again after the restart,
   and that a conversation started before the kill continues after it (its checkpoint intact).

Results go to bench/results/service.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from maintgraph.apps.keys import KeyStore  # noqa: E402
from maintgraph.config import load_settings  # noqa: E402
from maintgraph.evals.metrics import percentile  # noqa: E402
from maintgraph.evals.sets import resolve_set  # noqa: E402
from maintgraph.llm.server import VLLMServer  # noqa: E402
from maintgraph.services import Services  # noqa: E402


class Recorder:
    """Every request's outcome, from many client threads."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, **row: Any) -> None:
        with self.lock:
            self.rows.append(row)


def client_loop(base: str, key: str, questions: list[str], stop: threading.Event, recorder: Recorder,
                timeout: float, thread_prefix: str) -> None:  # fmt: skip
    """Ask questions back to back until ``stop`` is set; after a 429/503 wait its Retry-After, but
    at most 5 s: the bench keeps the service saturated."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=timeout) as http:
        n = 0
        while not stop.is_set():
            question = questions[n % len(questions)]
            n += 1
            started = time.monotonic()
            try:
                response = http.post("/v1/agent/runs", json={"question": question,
                                                             "thread_id": f"{thread_prefix}-{n}"})  # fmt: skip
            except httpx.TimeoutException:
                recorder.add(status="hang", seconds=time.monotonic() - started, at=started)
                continue
            except httpx.HTTPError as exc:
                recorder.add(status="connection", seconds=time.monotonic() - started, at=started, error=str(exc))
                time.sleep(1)
                continue
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            recorder.add(status=response.status_code, seconds=time.monotonic() - started, at=started,
                         retry_after=response.headers.get("Retry-After"),
                         tokens=(body.get("tokens") or {}).get("completion", 0) if response.status_code == 200 else 0,
                         unchecked="Could not check: the model" in (body.get("answer") or ""),
                         error=(body.get("error") or {}).get("message"))  # fmt: skip
            if response.status_code in (429, 503):
                time.sleep(min(float(response.headers.get("Retry-After") or 1), 5))


def run_clients(base: str, key: str, questions: list[str], clients: int, seconds: float, timeout: float,
                prefix: str) -> Recorder:  # fmt: skip
    recorder, stop = Recorder(), threading.Event()
    threads = start_clients(base, key, questions, clients, stop, recorder, timeout, prefix)
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return recorder


def start_clients(base: str, key: str, questions: list[str], clients: int, stop: threading.Event,
                  recorder: Recorder, timeout: float, prefix: str) -> list[threading.Thread]:  # fmt: skip
    threads = [threading.Thread(target=client_loop, args=(base, key, questions[i:] + questions[:i], stop, recorder,
                                                           timeout, f"{prefix}-{i}"))
               for i in range(clients)]  # fmt: skip
    for t in threads:
        t.start()
    return threads


def summary(recorder: Recorder, seconds: float) -> dict[str, Any]:
    rows = recorder.rows
    answered = [r["seconds"] for r in rows if r["status"] == 200]
    statuses = Counter(str(r["status"]) for r in rows)
    refused = [r for r in rows if r["status"] in (429, 503)]
    return {
        "requests": len(rows), "answered": len(answered), "throughput_per_min": round(len(answered) / seconds * 60, 2),
        "p50_s": round(percentile(answered, 0.5), 2) if answered else None,
        "p95_s": round(percentile(answered, 0.95), 2) if answered else None,
        "statuses": dict(statuses),
        "server_errors": sum(n for s, n in statuses.items() if s.startswith("5") and s != "503"),
        "refused_without_retry_after": sum(1 for r in refused if not r.get("retry_after")),
        "hangs": statuses.get("hang", 0),
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--baseline-seconds", type=float, default=60)
    parser.add_argument(
        "--fault-seconds",
        type=float,
        default=90,
        help="The fault phase: a third before the kill, two thirds after the restart (0: skip it).",
    )
    parser.add_argument("--client-timeout", type=float, default=300, help="A request unanswered this long: a hang.")
    args = parser.parse_args()

    settings = load_settings()
    services = Services(settings)
    if not all(row.ok for row in services.status()):
        sys.exit("the services are not all running: `make demo` (or `maintgraph up`) first")
    keys = KeyStore(services.pg_conninfo())
    key_row, key = keys.create("service-bench", ["ask"], rate_per_minute=100_000)
    questions = [i.question for i in resolve_set("sample_plant").items if not i.context][:40]
    port = free_port()
    env = {**os.environ, "MAINTGRAPH_API_PORT": str(port), "MAINTGRAPH_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([str(REPO / ".venv/bin/maintgraph"), "serve"], env=env, stdout=subprocess.DEVNULL,
                              stderr=open(REPO / "bench/results/service-serve.log", "w"))  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {"settings": {k: getattr(settings, k) for k in (
        "api_max_concurrent", "api_max_waiting", "api_queue_wait_s", "llm_answer_tokens")},
        "clients": args.clients, "seconds": args.seconds}  # fmt: skip
    try:
        _wait_ready(base, server)
        print(f"baseline: 1 client for {args.baseline_seconds:g} s ...", flush=True)
        base_rec = run_clients(base, key, questions, 1, args.baseline_seconds, args.client_timeout, "base")
        results["baseline"] = summary(base_rec, args.baseline_seconds)
        print(f"load: {args.clients} clients for {args.seconds:g} s ...", flush=True)
        load_rec = run_clients(base, key, questions, args.clients, args.seconds, args.client_timeout, "load")
        results["load"] = summary(load_rec, args.seconds)
        b, lo = results["baseline"], results["load"]
        results["ratios"] = {
            "throughput_load_over_baseline": round(lo["throughput_per_min"] / b["throughput_per_min"], 2)
            if b["throughput_per_min"] else None,
            "p50_load_over_baseline": round(lo["p50_s"] / b["p50_s"], 2) if b["p50_s"] and lo["p50_s"] else None,
        }  # fmt: skip
        if args.fault_seconds:
            results["fault"] = fault_phase(base, key, questions, settings, args)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        keys.revoke(key_row.id)
        keys.close()
    out = REPO / "bench/results/service.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))
    print(f"written to {out}")


def fault_phase(base: str, key: str, questions: list[str], settings: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Kill vLLM a third of the way in, start it again, keep asking; check a conversation
    started before the kill continues after it."""
    from maintgraph.agent.session import open_assistant

    vllm = VLLMServer(settings)
    thread = f"fault-{uuid.uuid4().hex[:6]}"
    http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=args.client_timeout)
    first = http.post("/v1/agent/runs", json={"question": "P-101 drive-end bearing runs hot. What should I check?",
                                              "thread_id": thread}).json()  # fmt: skip
    recorder, stop = Recorder(), threading.Event()
    started = time.monotonic()
    clients = start_clients(base, key, questions, 4, stop, recorder, args.client_timeout, "fault")
    time.sleep(args.fault_seconds / 3)
    pid = vllm.pid()
    killed_at = time.monotonic()
    print(f"fault: killing vLLM (pid {pid})", flush=True)
    if pid:
        os.kill(pid, signal.SIGKILL)
    time.sleep(5)
    print("fault: starting vLLM again", flush=True)
    restart_started = time.monotonic()
    vllm.start()
    restarted_at = time.monotonic()
    time.sleep(args.fault_seconds / 3 * 2)  # as long again after the restart as before the kill, and more
    stop.set()
    for t in clients:
        t.join()
    follow_up = http.post("/v1/agent/runs", json={"question": "which parts does it need?", "thread_id": thread})
    http.close()
    key_id = key.split("_")[1]
    assistant = open_assistant(settings, use_model=False)
    try:
        history = assistant.history(f"api/{key_id}/{thread}")
    finally:
        assistant.close()
    during = [r for r in recorder.rows if killed_at <= r["at"] < restarted_at]
    after = [r for r in recorder.rows if r["at"] >= restarted_at]
    return {
        "killed_pid": pid, "restart_seconds": round(restarted_at - restart_started, 1),
        "during_outage": {"requests": len(during), "statuses": dict(Counter(str(r["status"]) for r in during)),
                          "answered_from_evidence_unchecked": sum(1 for r in during if r.get("unchecked")),
                          "errors": sorted({r["error"] for r in during if r.get("error")})},
        "after_restart": {"requests": len(after), "statuses": dict(Counter(str(r["status"]) for r in after)),
                          "answered_with_model_tokens": sum(1 for r in after if r.get("tokens")),
                          "answered_from_evidence_unchecked": sum(1 for r in after if r.get("unchecked")),
                          "first_model_answer_s": min((round(r["at"] - restarted_at, 1) for r in after
                                                       if r.get("tokens")), default=None)},
        "overall": summary(recorder, time.monotonic() - started),
        "conversation_before_kill": {"first_tags": first.get("route", {}).get("tags"),
                                     "follow_up_status": follow_up.status_code,
                                     "follow_up_tags": follow_up.json().get("route", {}).get("tags"),
                                     "turns_in_checkpoint": len(history)},
    }  # fmt: skip


def _wait_ready(base: str, server: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"maintgraph serve exited ({server.returncode}); see bench/results/service-serve.log")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    sys.exit("maintgraph serve did not become ready")


if __name__ == "__main__":
    main()
