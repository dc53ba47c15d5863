"""Service addresses in settings: the DSN and URI shapes the product accepts, and how they are shown
(passwords never)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

NEO4J_SCHEMES = {"neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"}
FALKORDB_SCHEMES = {"falkor", "falkors", "redis", "rediss"}


def redact_url(url: str) -> str:
    """``scheme://user:secret@host/db`` -> ``scheme://user:***@host/db``; other text unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def check_pg_dsn(value: str) -> str:
    # Imported here: psycopg is only needed when a DSN is actually configured.
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    if "://" in value and urlsplit(value).scheme not in {"postgresql", "postgres"}:
        raise ValueError(
            f"scheme {urlsplit(value).scheme!r} is not PostgreSQL "
            "(expected postgresql://user:password@host:5432/dbname or key=value pairs)"
        )
    try:
        params = conninfo_to_dict(value)
    except ProgrammingError as exc:  # carries libpq's reason
        raise ValueError(f"not a valid PostgreSQL DSN ({exc})") from None
    if not params.get("host") and not params.get("hostaddr"):
        raise ValueError("no host given (expected postgresql://user:password@host:5432/dbname)")
    port = params.get("port")
    if port is not None and not str(port).isdigit():
        raise ValueError(f"port {port!r} is not a number")
    return value


def check_graph_uri(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in NEO4J_SCHEMES | FALKORDB_SCHEMES:
        known = ", ".join(sorted(NEO4J_SCHEMES | FALKORDB_SCHEMES))
        raise ValueError(f"scheme {parts.scheme or '(none)'!r} is not one of {known}")
    if not parts.hostname:
        raise ValueError(f"no host in {redact_url(value)!r} (expected e.g. neo4j://host:7687)")
    try:
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError:
        raise ValueError(f"port in {redact_url(value)!r} is not a number") from None
    return value


def check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{redact_url(value)!r} is not an http(s) URL (expected e.g. http://127.0.0.1:8000/v1)")
    return value.rstrip("/")
