"""What Prometheus scrapes (``GET /metrics``), and the middleware that measures each request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response

from maintgraph.agent.session import TurnResult


class Metrics:
    """What Prometheus scrapes: requests, latency, tokens, guard actions, refusals at capacity."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("maintgraph_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)  # fmt: skip
        self.latency = Histogram("maintgraph_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
                                 registry=self.registry)  # fmt: skip
        self.tokens = Counter("maintgraph_model_tokens", "Model tokens of agent turns", ["kind"],
                              registry=self.registry)  # fmt: skip
        self.guards = Counter("maintgraph_guard_actions", "Guard decisions that changed or stopped a text",
                              ["guard", "direction", "action"], registry=self.registry)  # fmt: skip
        self.busy = Counter("maintgraph_agent_busy", "Turns refused at capacity (503)", registry=self.registry)
        self.limited = Counter("maintgraph_rate_limited", "Requests over a key's rate limit (429)", ["key"],
                               registry=self.registry)  # fmt: skip
        self.in_flight = Gauge("maintgraph_agent_turns_in_flight", "Agent turns running", registry=self.registry)

    def turn(self, result: TurnResult) -> None:
        for kind, count in result.tokens.items():
            self.tokens.labels(kind).inc(count)
        for decision in result.guards:
            if decision.get("action") not in (None, "passed"):
                self.guards.labels(decision["guard"], decision["direction"], decision["action"]).inc()

    def measure(self, app: FastAPI) -> None:
        """Count and time every request of ``app`` by method, route and status."""

        @app.middleware("http")
        async def measured(request: Request, call_next: Callable[[Request], Any]) -> Response:
            started = time.perf_counter()
            response = await call_next(request)
            route = getattr(request.scope.get("route"), "path", "unmatched")
            self.requests.labels(request.method, route, str(response.status_code)).inc()
            self.latency.labels(request.method, route).observe(time.perf_counter() - started)
            return response
