"""The checks as guardrails-ai validators, registered under the ``maintgraph/`` namespace.

No Hub, no network: each validator wraps one of this package's detectors. A validator's fix
is the sanitised text (anonymised, neutralised, made safe, ungrounded sentences dropped), so a
Guard with ``on_fail=fix`` returns it, ``exception`` blocks, and ``noop`` flags. What each
found is appended to ``metadata["findings"]``, which is how the caller audits the decision
without reading personal data back out of guardrails' history.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from maintgraph import offline
from maintgraph.guardrails import grounded, injection, topic, unsafe
from maintgraph.guardrails.findings import Finding
from maintgraph.guardrails.pii import PiiScanner
from maintgraph.guardrails.pii_anonymise import Operator, anonymise

offline.quiet_guardrails()  # before guardrails is imported: no metrics, no remote inference, no NLTK download

from guardrails.validator_base import Validator, register_validator  # noqa: E402
from guardrails_ai.types import ErrorSpan, FailResult, PassResult  # noqa: E402


def _result(findings: list[Finding], metadata: dict[str, Any], fixed: str, message: str) -> Any:
    metadata.setdefault("findings", []).extend(findings)
    if not findings:
        return PassResult()
    spans = [ErrorSpan(start=f.start, end=f.end, reason=f.kind) for f in findings]
    return FailResult(error_message=message, fix_value=fixed, error_spans=spans)


@register_validator(name="maintgraph/pii", data_type="string")
class PersonalData(Validator):
    """Names, phone numbers, e-mail, badge ids, addresses, IPs; plant identifiers are kept."""

    def __init__(self, scanner: PiiScanner, operator: Operator = "replace", key: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.scanner, self.operator, self.key = scanner, operator, key

    def validate(self, value: str, metadata: dict[str, Any]) -> Any:
        found = self._find(value, set(metadata.get("trusted_lines") or ()), metadata.get("column"))
        fixed = anonymise(value, found, self.operator, self.key) if found else value
        kinds = ", ".join(sorted({f.kind for f in found}))
        return _result(found, metadata, fixed, f"personal data: {kinds}")

    def _find(self, value: str, trusted: set[str], column: Any = None) -> list[Finding]:
        """Findings in ``value``, except in ``trusted`` lines (quoted graph facts: see guard.quoted_graph_lines);
        ``column``: the role of the table column ``value`` is a cell of (an ingested sheet's)."""
        if not trusted:
            return self.scanner.find(value, column)
        found, offset = [], 0
        for line in value.splitlines(keepends=True):
            if line.rstrip("\n") not in trusted:
                found += [replace(f, start=f.start + offset, end=f.end + offset) for f in self.scanner.find(line)]
            offset += len(line)
        return found


@register_validator(name="maintgraph/prompt-injection", data_type="string")
class PromptInjection(Validator):
    """Instructions to the assistant in a question or a retrieved text (``metadata["channel"]``)."""

    def validate(self, value: str, metadata: dict[str, Any]) -> Any:
        found = injection.find_injections(value, metadata.get("channel", "input"))
        kinds = ", ".join(sorted({f.kind.replace("_", " ") for f in found}))
        return _result(found, metadata, injection.neutralise(value, found), f"prompt injection: {kinds}")


@register_validator(name="maintgraph/unsafe-procedure", data_type="string")
class UnsafeProcedure(Validator):
    """Advice to bypass LOTO, defeat interlocks or guards, work energised, silence alarms, exceed ratings.
    The fix leads with the safe procedure and the equipment's isolation steps (``metadata["isolation"]``)."""

    def validate(self, value: str, metadata: dict[str, Any]) -> Any:
        found = unsafe.find_unsafe(value, set(metadata.get("trusted_lines") or ()))
        fixed = unsafe.make_safe(value, found, metadata.get("isolation")) if found else value
        kinds = ", ".join(sorted({f.kind.replace("_", " ") for f in found}))
        return _result(found, metadata, fixed, f"unsafe advice: {kinds}")


@register_validator(name="maintgraph/grounded", data_type="string")
class Grounded(Validator):
    """Citations present and retrieved, numbers in the cited evidence (``metadata["evidence"]``: id -> text;
    ``metadata["notes"]``: the product's own status lines, not claims)."""

    def validate(self, value: str, metadata: dict[str, Any]) -> Any:
        found = grounded.find_ungrounded(value, metadata.get("evidence") or {}, metadata.get("notes") or ())
        fixed = grounded.drop_ungrounded(value, found) if found else value
        return _result(found, metadata, fixed, f"{len(found)} statement(s) not grounded in the evidence")


@register_validator(name="maintgraph/on-topic", data_type="string")
class OnTopic(Validator):
    """Off-topic requests and abuse get a polite refusal (the fix is the refusal)."""

    def validate(self, value: str, metadata: dict[str, Any]) -> Any:
        found = topic.find_off_topic(value)
        return _result(found, metadata, topic.REFUSAL, found[0].reason if found else "")
