"""The HTTP service (``maintgraph serve``): a thin FastAPI face over :class:`AgentService`.

- ``POST /v1/chat/completions``: OpenAI-compatible (``stream: true`` for SSE). ``model`` picks
  the profile (``GET /v1/models``); ``thread_id`` in the body or an ``X-Thread-Id`` header
  carries the conversation (the agent remembers it; only the last user message is asked). The
  stream sends the *checked* answer: the model's raw draft may still be changed by the guards
  (personal data, unsafe advice, ungrounded sentences), and an OpenAI client keeps every delta.
- ``POST /v1/agent/runs`` and ``/v1/agent/runs/stream``: the agent's own result (answer,
  citations, evidence, route, trace id); the stream adds progress and the unchecked draft.
- ``POST /v1/agent/threads/{id}/resume``: approve or reject a drafted work order.
- ``GET /v1/traces/{id}``: a recorded turn of one of the key's own conversations (scope ``traces``),
  or of any conversation, other keys', Slack's and Teams' included (scope ``auditor``).
- ``GET /healthz``, ``GET /readyz`` (checked at most once per ``api_ready_cache_s``), ``GET /metrics``
  (Prometheus).

Every ``/v1`` route and ``/metrics`` need an API key (``Authorization: Bearer mg_...``) with the
route's scope; each key has a rate limit (429 with Retry-After beyond it), and turns beyond
the agent's capacity get 503 with Retry-After. Conversations are per key: one key cannot read
or resume another's threads, nor read their traces. A failure whose text is the server's (a
dependency's socket path or host) is logged under an error id; the client gets a short message
and the id. Bodies over ``api_max_body_bytes`` get 413; CORS is off unless
``api_cors_origins`` names origins. Swagger's pages are off (they load scripts from a CDN);
the schema is at ``/openapi.json``.
"""

from maintgraph.apps.api.app import create_app

__all__ = ["create_app"]
