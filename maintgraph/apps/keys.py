"""API keys of the HTTP service (``maintgraph keys create | list | revoke``).

A key reads ``mg_<id>_<secret>``: the id finds the row, the secret is checked against its
SHA-256 in constant time. The secret is shown once, at creation, and never stored. Keys are
looked up on every request, so a revoked key stops working at once.

Scopes: ``ask`` (questions: chat completions and agent runs), ``approve`` (approve or reject a
drafted work order), ``traces`` (read the recorded turns of the key's own conversations),
``auditor`` (read every recorded turn: other keys', Slack's and Teams'), ``metrics`` (Prometheus
scrapes).

An unknown key costs no write: the row is read (by its id, the primary key) and only a key whose
secret matches has its last use written, at most once a minute. Ids that match no key are
remembered for a while (:data:`UNKNOWN_TTL_S`), so the same made-up key again costs no lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from maintgraph.errors import ConfigError, MaintgraphError, ServiceUnavailable
from maintgraph.pg import open_pool

SCOPES = ("ask", "approve", "traces", "auditor", "metrics")
KEY_PATTERN = re.compile(r"^mg_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
UNKNOWN_TTL_S = 60.0  # how long an id that matches no key is answered without a lookup
UNKNOWN_MAX = 10_000  # ids remembered at most (the oldest go first)
LAST_USED_EVERY_S = 60  # a key's last use is written at most this often


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
        self._unknown: OrderedDict[str, float] = OrderedDict()  # key id -> when it was found to match no key
        self._unknown_lock = threading.Lock()

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
        self._forget_unknown(key_id)
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
        """The active key ``presented`` is, or None (unknown, malformed, wrong secret or revoked).

        Only a key that verifies is written to (its last use, at most once a minute): a flood of
        made-up keys costs a read each at most, and one made-up id repeated costs nothing."""
        match = KEY_PATTERN.match(presented.strip())
        if match is None:
            return None
        key_id, secret = match.groups()
        if self._known_unknown(key_id):
            return None
        try:  # checked on every request: a database that is down is the service's 503, not a 500
            with self.pool.connection(timeout=self.connect_timeout_s) as conn:
                row = conn.execute("SELECT * FROM api_keys WHERE id = %s", [key_id]).fetchone()
                if row is None:
                    self._remember_unknown(key_id)
                    return None
                # Compared in constant time: what an attacker controls is the hash of a guess.
                if row["revoked_at"] is not None or not hmac.compare_digest(row["secret_sha256"], _hash(secret)):
                    return None
                if row["last_used_at"] is None or time.time() - row["last_used_at"].timestamp() > LAST_USED_EVERY_S:
                    conn.execute("UPDATE api_keys SET last_used_at = now() WHERE id = %s", [key_id])
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise ServiceUnavailable(f"API key store (Postgres) unreachable: {str(exc).strip()}") from None
        return _key(row)

    def _known_unknown(self, key_id: str) -> bool:
        with self._unknown_lock:
            seen = self._unknown.get(key_id)
            if seen is None:
                return False
            if time.monotonic() - seen < UNKNOWN_TTL_S:
                return True
            del self._unknown[key_id]
            return False

    def _remember_unknown(self, key_id: str) -> None:
        with self._unknown_lock:
            self._unknown[key_id] = time.monotonic()
            self._unknown.move_to_end(key_id)
            while len(self._unknown) > UNKNOWN_MAX:
                self._unknown.popitem(last=False)

    def _forget_unknown(self, key_id: str) -> None:
        with self._unknown_lock:
            self._unknown.pop(key_id, None)
