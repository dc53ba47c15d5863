"""API keys on every ``/v1`` route and ``/metrics``: a valid key (``Authorization: Bearer mg_...``)
with the route's scope, within the key's rate limit (429 with Retry-After beyond it)."""

# No `from __future__ import annotations`: FastAPI reads the dependency's annotations at run time.
import math
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from maintgraph.apps.api.errors import ApiError
from maintgraph.apps.api.metrics import Metrics
from maintgraph.apps.keys import ApiKey, KeyStore
from maintgraph.config import Settings


class KeyCheck:
    """FastAPI dependencies, one per scope, that answer the request's key or refuse it (401, 403, 429)."""

    def __init__(self, settings: Settings, keys: Callable[[], KeyStore], metrics: Metrics) -> None:
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.settings, self.keys, self.metrics = settings, keys, metrics
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.bearer = HTTPBearer(auto_error=False, description="An API key from `maintgraph keys create`.")

    def scope(self, scope: str, *alternatives: str) -> Callable[..., ApiKey]:
        """The dependency for a route that needs ``scope`` (or one of ``alternatives``)."""
        from limits import RateLimitItemPerMinute

        either = f" (or {', '.join(repr(a) for a in alternatives)})" if alternatives else ""

        def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(self.bearer)]) -> ApiKey:
            key = self.keys().verify(credentials.credentials) if credentials else None
            if key is None:
                raise ApiError(401, "invalid_api_key", "a valid API key is required: Authorization: Bearer mg_...")
            if not {scope, *alternatives} & set(key.scopes):
                raise ApiError(403, "insufficient_scope", f"this key ({key.name}) lacks the {scope!r} scope{either}")
            limit = RateLimitItemPerMinute(key.rate_per_minute or self.settings.api_rate_per_minute)
            if not self.limiter.hit(limit, "key", key.id):
                reset = self.limiter.get_window_stats(limit, "key", key.id).reset_time
                self.metrics.limited.labels(key.id).inc()
                raise ApiError(429, "rate_limited", f"key {key.name} is over {limit.amount} requests per minute",
                               max(1, math.ceil(reset - time.time())))  # fmt: skip
            return key

        return check
