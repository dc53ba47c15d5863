"""The one error hierarchy of maintgraph.

Every error a user can cause or meet carries a message that names the input (a setting,
a file, a service) and what was wrong with it. The CLI prints ``str(error)`` as one line
and exits with ``error.exit_code``; library callers catch :class:`MaintgraphError`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

log = logging.getLogger(__name__)


class MaintgraphError(Exception):
    """Base class: a failure the user can understand and act on."""

    exit_code = 1

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        self.setting = setting
        super().__init__(f"{setting}: {message}" if setting else message)


class ConfigError(MaintgraphError):
    """A setting (env var or maintgraph.toml entry) is malformed or inconsistent."""

    exit_code = 2


class DataDirError(MaintgraphError):
    """The data directory cannot be created or written."""


class ServiceError(MaintgraphError):
    """An embedded service failed to start or stop, or an external one is unusable."""


class ServiceUnavailable(ServiceError):
    """A service (embedded or external) cannot be reached."""


class AddressInUse(ServiceError):
    """A socket or port that an embedded service needs is held by another process."""


class AlreadyInProgress(ServiceError):
    """Another ``maintgraph up``/``down`` holds the data directory's lock."""


class MigrationError(MaintgraphError):
    """A database migration failed or the database does not meet a requirement."""


class GraphQueryError(MaintgraphError):
    """The graph engine refused a Cypher query."""


class LoadError(MaintgraphError):
    """A source could not be loaded; nothing from it was written.

    ``problems`` lists every finding as ``file:row:column: what was wrong``.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:5]) + (f"; ... and {len(problems) - 5} more" if len(problems) > 5 else "")
        super().__init__(f"{source}: refused, nothing written ({len(problems)} problem(s)): {shown}")


class ReadError(MaintgraphError):
    """A document could not be read (unreadable, encrypted, empty, binary, wrong encoding)."""

    def __init__(self, path: object, reason: str) -> None:
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")


class InputTooLarge(ReadError):
    """A file over an ingestion limit (its size, its unzipped size or ratio, pages, cells): refused
    before it is parsed, naming the limit and the setting that raises it."""

    def __init__(self, path: object, reason: str, *, setting: str) -> None:
        super().__init__(path, f"{reason}; raise {setting} to ingest it")
        self.setting = setting


class DataCardError(MaintgraphError):
    """A document collection has no data card, or an invalid one."""


class EmbeddingMismatch(MaintgraphError):
    """The vectors in the store come from another embedding model or dimension."""


class ModelError(MaintgraphError):
    """A base model or adapter is not registered, does not verify, or does not fit the served model."""


class WeightsMismatch(ModelError):
    """A weight file's sha256 is not the one pinned in the model registry."""


class StructuredOutputError(MaintgraphError):
    """The model's answer did not validate against the requested schema, after the repair attempts."""


class CircuitOpen(ServiceUnavailable):
    """The model server failed repeatedly; calls fail fast until the cool-down has passed."""


class Busy(ServiceUnavailable):
    """Every agent slot is taken and the queue is full or the wait ran out: try again later."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class ConversationBusy(MaintgraphError):
    """A turn of the same conversation is still running: its answer comes first."""


class CMMSError(MaintgraphError):
    """The CMMS refused an operation (unknown record, lifecycle rule, stock, approval)."""


class NotFound(CMMSError):
    """A work order, asset, part or failure code that does not exist."""


class ApprovalRefused(CMMSError):
    """The product's own check refused a work-order approval (a malformed token, a token for another
    draft): its message is ours, for the person who approved."""


def validation_problems(exc: Any, whole: str, limit: int | None = None) -> str:
    """A pydantic ValidationError as one line, "field.path: message; ...", naming ``whole`` when
    the problem is with the whole object rather than a field."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or whole}: {e['msg']}" for e in exc.errors()[:limit])


# -- what a person may be told of an error -----------------------------------------------------

# What the client is told instead of the text of an error that is the server's business.
SHORT: dict[str, str] = {
    "service_unavailable": "a service the assistant needs is unavailable; try again shortly",
    "model_error": "the model's answer could not be used",
    "cmms_error": "the CMMS refused the operation",
    "internal_error": "an unexpected error",
}


def private_kind(exc: BaseException) -> str | None:
    """The SHORT kind of an error whose text must not reach a client, or None (it is for the client)."""
    if not isinstance(exc, MaintgraphError):
        return "internal_error"
    if isinstance(exc, Busy):  # our own words: how busy, when to retry
        return None
    if isinstance(exc, ServiceError):
        return "service_unavailable"
    if isinstance(exc, (ModelError, StructuredOutputError)):
        return "model_error"
    if isinstance(exc, CMMSError) and not isinstance(exc, NotFound | ApprovalRefused):  # Maximo's hosts, replies
        return "cmms_error"
    return "internal_error" if isinstance(exc, (GraphQueryError, MigrationError)) else None


def new_error_id() -> str:
    return uuid.uuid4().hex[:12]


def public_error(exc: BaseException, where: str, logger: logging.Logger | None = None) -> tuple[str, str | None]:
    """(what a client may be told of ``exc``, the error id it was logged under, or None). An
    error whose text is the server's (a dependency's socket path or host, a bug) is logged whole
    to ``logger`` with ``where`` and a new id, and told as a short message naming that id."""
    kind = private_kind(exc)
    if kind is None:
        return str(exc), None
    logger = logger or log
    error_id = new_error_id()
    if isinstance(exc, MaintgraphError):
        logger.error("error id %s (%s): %s", error_id, where, exc)
    else:
        logger.error("error id %s (%s): unexpected %s", error_id, where, type(exc).__name__, exc_info=exc)
    return f"{SHORT[kind]} (error id {error_id}; it is logged on the server)", error_id
