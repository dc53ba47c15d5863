"""The one logging setup.

On a terminal, logs are short readable lines (Rich); anywhere else (CI, systemd, a pipe into
a log shipper) they are JSON lines with a timestamp, level, logger and any ``extra=`` fields.
A filter masks credentials in URLs and ``password=`` pairs so that a DSN handed to a log
call never leaks its secret.
"""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

_CREDENTIAL_IN_URL = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]+@")
_PASSWORD_PAIR = re.compile(r"(?P<head>\b(?:password|passwd|api_key|apikey|token)\s*[=:]\s*)\S+", re.I)


def redact(text: str) -> str:
    """Mask secrets that look like URL credentials or ``password=...`` pairs."""
    text = _CREDENTIAL_IN_URL.sub(r"\g<head>***@", text)
    return _PASSWORD_PAIR.sub(r"\g<head>***", text)


class RedactingFilter(logging.Filter):
    """Applies :func:`redact` to the fully formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup_logging(level: str = "INFO", fmt: str = "auto", stream=None) -> None:
    """Configure the root logger once; calling again replaces the previous setup."""
    stream = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    if use_json:
        handler: logging.Handler = logging.StreamHandler(stream)
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(console=Console(file=stream), show_path=False, rich_tracebacks=False)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Chatty third-party loggers stay at WARNING unless we debug.
    for noisy in ("httpx", "httpcore", "urllib3", "alembic.runtime.migration", "neo4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level != "DEBUG" else logging.DEBUG)
