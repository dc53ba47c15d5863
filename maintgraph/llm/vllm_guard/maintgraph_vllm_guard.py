"""Every route of the embedded vLLM requires its API key, not only the ``/v1`` ones.

vLLM's ``--api-key`` guards paths under ``/v1`` (and ``/v2``, ``/inference``, ``/cohere``) only.
The SageMaker routes it also mounts are outside them: ``POST /adapters`` loads a LoRA adapter
from any path (``load_inplace`` replaces a served one), ``POST /invocations`` runs the model, and
``/metrics``, ``/tokenize`` and others answer anyone. This ASGI middleware refuses every request
without ``Authorization: Bearer <VLLM_API_KEY>``, except ``GET /health`` (readiness; it says
nothing). It runs inside vLLM's own environment: standard library only.
"""

from __future__ import annotations

import hmac
import json
import os

OPEN = {("GET", "/health")}


class RequireKey:
    def __init__(self, app) -> None:
        self.app = app
        self.expected = f"Bearer {os.environ.get('VLLM_API_KEY', '')}".encode()
        self.configured = bool(os.environ.get("VLLM_API_KEY"))  # no key: refuse everything (fail closed)

    def _allowed(self, scope) -> bool:
        if (scope.get("method", "GET"), scope.get("path", "")) in OPEN:
            return True
        if not self.configured:
            return False
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        return hmac.compare_digest(given, self.expected)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket") or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": "Unauthorized"}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
