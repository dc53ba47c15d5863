"""Anonymising what :mod:`maintgraph.guardrails.pii` found: replace, mask, hash or encrypt each
finding (Presidio's anonymizer), and reveal encrypted values to whoever holds the key."""

from __future__ import annotations

import re
from typing import Any, Literal

from maintgraph.errors import ConfigError
from maintgraph.guardrails.findings import Finding

Operator = Literal["replace", "mask", "hash", "encrypt"]

ENCRYPTED = re.compile(r"<([A-Z_]+) enc:([A-Za-z0-9+/=_-]+)>")  # URL-safe base64


def _key_bytes(key: str | None) -> bytes:
    if not key:
        raise ConfigError(
            "the encrypt operator needs a key (16, 24 or 32 characters)", setting="MAINTGRAPH_GUARD_PII_KEY"
        )
    if len(key.encode()) not in (16, 24, 32):
        raise ConfigError(f"the key is {len(key.encode())} bytes; AES needs 16, 24 or 32",
                          setting="MAINTGRAPH_GUARD_PII_KEY")  # fmt: skip
    return key.encode()


def anonymise(text: str, findings: list[Finding], operator: Operator = "replace", key: str | None = None) -> str:
    """``text`` with each finding replaced: ``<PERSON>`` (replace), ``*****`` (mask), a salted
    SHA-256 (hash: the same value hashes alike under one key), or ``<PERSON enc:...>`` (encrypt:
    AES with ``key``; :func:`reveal` gives the original back to whoever holds the key)."""
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    if not findings:
        return text
    if operator == "encrypt":
        _key_bytes(key)
    params: dict[Operator, dict[str, Any]] = {
        "replace": {}, "mask": {"masking_char": "*", "chars_to_mask": 10_000, "from_end": False},
        "hash": {"hash_type": "sha256", **({"salt": key} if key else {})}, "encrypt": {"key": key},
    }  # fmt: skip
    results = [RecognizerResult(f.kind, f.start, f.end, f.score) for f in findings]
    out = AnonymizerEngine().anonymize(text, results, operators={"DEFAULT": OperatorConfig(operator, params[operator])})
    if operator != "encrypt":
        return out.text
    marked = out.text
    for item in sorted(out.items, key=lambda i: i.start, reverse=True):  # mark ciphertexts so reveal finds them
        marked = f"{marked[: item.start]}<{item.entity_type} enc:{item.text}>{marked[item.end :]}"
    return marked


def reveal(text: str, key: str) -> str:
    """The originals of ``<TYPE enc:...>`` values, for a data steward holding the key."""
    from presidio_anonymizer.operators.aes_cipher import AESCipher

    secret = _key_bytes(key)

    def decrypt(match: re.Match[str]) -> str:
        try:
            return AESCipher.decrypt(secret, match.group(2))
        except ValueError:
            raise ConfigError(
                "this key does not decrypt the text's values", setting="MAINTGRAPH_GUARD_PII_KEY"
            ) from None

    return ENCRYPTED.sub(decrypt, text)
