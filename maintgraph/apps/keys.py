"""API keys of the HTTP service (``maintgraph keys create | list | revoke``).

A key reads ``mg_<id>_<secret>``: the id finds the row, the secret is checked against its
SHA-256 in constant time. The secret is shown once, at creation, and never stored. Keys are
looked up on every request, so a revoked key stops working at once.

Scopes: ``ask`` (questions: chat completions and agent runs), ``approve`` (approve or reject a
drafted work order), ``traces`` (read recorded turns), ``metrics`` (Prometheus scrapes).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from maintgraph.errors import ConfigError, MaintgraphError, ServiceUnavailable
from maintgraph.pg import open_pool

SCOPES = ("ask", "approve", "traces", "metrics")
KEY_PATTERN = re.compile(r"^mg_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: tuple[str, ...]
    rate_per_minute: int | None  # None: the service's default (settings.api_rate_per_minute)
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(row["id"], row["name"], tuple(row["scopes"]), row["rate_per_minute"], row["created_at"],
                  row["last_used_at"], row["revoked_at"])  # fmt: skip


class KeyStore:
    def __init__(self, conninfo: str, connect_timeout_s: int = 5) -> None:
        self.pool = open_pool(conninfo, "API key store (Postgres)", connect_timeout_s,
                              connection_kwargs={"application_name": "maintgraph-api-keys"}, check=True)  # fmt: skip
        self.connect_timeout_s = connect_timeout_s

    def close(self) -> None:
        self.pool.close()

    def create(self, name: str, scopes: list[str], rate_per_minute: int | None = None) -> tuple[ApiKey, str]:
        """A new key and its full text (shown once: only its hash is kept)."""
        if not name.strip():
            raise ConfigError("a key needs a name (who or what uses it), e.g. `--name slack-bot`")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise ConfigError(f"--scope must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
        if rate_per_minute is not None and rate_per_minute < 1:
            raise ConfigError(f"--rate must be at least 1 request per minute, got {rate_per_minute}")
        key_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(8))
        secret = secrets.token_urlsafe(32)  # 43 characters, 256 bits
        with self.pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO api_keys (id, name, secret_sha256, scopes, rate_per_minute) VALUES (%s, %s, %s, %s, %s) "
                "RETURNING *",
                [key_id, name.strip(), _hash(secret), sorted(set(scopes)), rate_per_minute],
            ).fetchone()
        return _key(row), f"mg_{key_id}_{secret}"

    def list(self, include_revoked: bool = False) -> list[ApiKey]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT * FROM api_keys WHERE %s OR revoked_at IS NULL ORDER BY created_at", [include_revoked]
            ).fetchall()
        return [_key(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        with self.pool.connection() as conn:
            row = conn.execute(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s RETURNING *", [key_id]
            ).fetchone()
        if row is None:
            raise MaintgraphError(f"no API key with id {key_id!r} (see `maintgraph keys list`)")
        return _key(row)

    def verify(self, presented: str) -> ApiKey | None:
        """The active key ``presented`` is, or None (unknown, malformed, wrong secret or revoked)."""
        match = KEY_PATTERN.match(presented.strip())
        if match is None:
            return None
        key_id, secret = match.groups()
        # Compared in SQL: what an attacker controls is the hash of a guess, and timing that
        # comparison reveals nothing about which secret hashes to the stored value.
        try:  # checked on every request: a database that is down is the service's 503, not a 500
            with self.pool.connection(timeout=self.connect_timeout_s) as conn:
                row = conn.execute(
                    "UPDATE api_keys SET last_used_at = now() WHERE id = %s AND revoked_at IS NULL "
                    "AND secret_sha256 = %s RETURNING *",
                    [key_id, _hash(secret)],
                ).fetchone()
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise ServiceUnavailable(f"API key store (Postgres) unreachable: {str(exc).strip()}") from None
        return None if row is None else _key(row)
