"""The guards the product runs: on a person's question, on every retrieved text, on the answer,
and on documents before they are embedded.

Each check is a guardrails-ai ``Guard`` (or ``AsyncGuard``) around one ``maintgraph/``
validator, with the policy from the settings: ``block`` stops the text, ``fix`` passes the
sanitised text on, ``flag`` passes it unchanged and records the finding. Checks run in a fixed
order per direction, each on the previous one's output:

    input:      on topic -> prompt injection -> personal data
    retrieved:  prompt injection (always neutralised) -> personal data (always anonymised)
    output:     grounded -> unsafe procedure -> personal data
    ingestion:  personal data, with the operator the source's privacy class calls for

Every check yields a decision (what fired, on which span types and offsets, the action, the
time taken), never the text itself, so decisions can go to the trace and the audit log.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from maintgraph.citations import CITATION
from maintgraph.errors import ConfigError
from maintgraph.guardrails import validators
from maintgraph.guardrails.findings import Action, Check, Finding
from maintgraph.guardrails.pii import PiiConfig, PiiScanner
from maintgraph.guardrails.pii_anonymise import Operator
from maintgraph.guardrails.pii_tables import ColumnRole
from maintgraph.guardrails.topic import REFUSAL

log = logging.getLogger(__name__)

Direction = Literal["input", "retrieved", "output", "ingest"]
IngestOperator = Literal["replace", "mask", "hash", "encrypt", "keep"]
TAKEN = {"block": "blocked", "fix": "fixed", "flag": "flagged"}
VALIDATOR = {"pii": validators.PersonalData, "injection": validators.PromptInjection,
             "unsafe": validators.UnsafeProcedure, "grounded": validators.Grounded,
             "topic": validators.OnTopic}  # fmt: skip
ORDER: dict[Direction, tuple[Check, ...]] = {
    "input": ("topic", "injection", "pii"), "retrieved": ("injection", "pii"),
    "output": ("grounded", "unsafe", "pii"), "ingest": ("pii",),
}  # fmt: skip


@dataclass
class GuardVerdict:
    text: str  # what goes on: the text as given, or as a guard fixed it
    blocked: str = ""  # why it must not go on ("" when it may)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # what fired, on what, and the action


@dataclass(frozen=True)
class GuardConfig:
    policy: dict[Check, Action]
    pii: PiiConfig = field(default_factory=PiiConfig)
    pii_operator: Operator = "replace"
    pii_key: str | None = None  # AES key for the encrypt operator; salt for hashes
    ingest_operators: dict[str, IngestOperator] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any) -> GuardConfig:
        key = settings.guard_pii_key.get_secret_value() if settings.guard_pii_key else None
        return cls(
            policy={"pii": settings.guard_policy_pii, "injection": settings.guard_policy_injection,
                    "unsafe": settings.guard_policy_unsafe, "grounded": settings.guard_policy_grounded,
                    "topic": settings.guard_policy_topic},
            pii=PiiConfig(allow_list=tuple(settings.guard_pii_allow_list),
                          deny_list=tuple(settings.guard_pii_deny_list),
                          phone_regions=tuple(settings.guard_pii_phone_regions)),
            pii_operator=settings.guard_pii_operator, pii_key=key,
            ingest_operators=dict(settings.ingest_pii_operators),
        )  # fmt: skip

    def allowing(self, names: list[str] | tuple[str, ...]) -> GuardConfig:
        """The same configuration with ``names`` (the plant's manufacturers and sites) on the PII
        allow list: they are not people."""
        from dataclasses import replace

        return replace(self, pii=replace(self.pii, allow_list=self.pii.allow_list + tuple(names)))


def _why_blocked(check: Check, findings: list[Finding]) -> str:
    kinds = ", ".join(dict.fromkeys(f.kind.replace("_", " ") for f in findings))
    return {
        "injection": f"it reads as an instruction to the assistant ({kinds}), not a maintenance question",
        "topic": REFUSAL,
        "pii": f"it contains personal data ({kinds})",
        "unsafe": f"it advised unsafe work ({kinds})",
        "grounded": f"it states things the retrieved records do not support ({kinds})",
    }[check]


class PlantGuards:
    """Input, retrieved-text, output and ingestion guards for one configuration."""

    def __init__(self, config: GuardConfig) -> None:
        self.config = config
        self.scanner = PiiScanner(config.pii)
        self._guards: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Build the PII analyzer now (~20 s: Presidio and spaCy) rather than on the first question."""
        self.scanner.find("warm-up: call T. Nowak on 07700 900456")

    # -- the directions ------------------------------------------------------------------------
    def check_input(self, text: str) -> GuardVerdict:
        return self._chain("input", text, {"channel": "input"})

    def check_retrieved(self, text: str, source: str = "doc") -> GuardVerdict:
        """A retrieved text: ``source`` doc, wo (CMMS records) or graph. Graph facts are the plant's
        structured data (asset register, FMEA, LOTO), which hold no personal data: only injection
        is screened there, sparing spaCy's guesses at capitalised component names."""
        return self._chain("retrieved", text, {"channel": "document"}, skip=("pii",) if source == "graph" else ())

    def check_output(self, text: str, evidence: dict[str, str], notes: Sequence[str] = (),
                     composed: Sequence[str] = ()) -> GuardVerdict:  # fmt: skip
        """``evidence``: id -> text the answer may cite; ``notes``: lines the product itself wrote
        about the turn ("Could not check: ..."), which are not claims to ground; ``composed``: lines
        the product wrote from graph facts alone (its composer's rendering of the plant's FMEA, LOTO
        and asset data), trusted like graph facts quoted word for word."""
        return self._chain("output", text, self._output_metadata(text, evidence, notes, composed))

    def scrub(self, text: str, privacy_class: str, column: ColumnRole | None = None) -> GuardVerdict:
        """``text`` anonymised as its source's privacy class says, before it is embedded or stored;
        ``column``: ``text`` is one cell of a table column of that role (see ``pii_tables``)."""
        metadata = {"column": column} if column else {}
        return self._chain("ingest", text, metadata, operator=self.ingest_operator(privacy_class))

    async def acheck_input(self, text: str) -> GuardVerdict:
        return await self._achain("input", text, {"channel": "input"})

    async def acheck_output(self, text: str, evidence: dict[str, str], notes: Sequence[str] = (),
                            composed: Sequence[str] = ()) -> GuardVerdict:  # fmt: skip
        return await self._achain("output", text, self._output_metadata(text, evidence, notes, composed))

    @staticmethod
    def _output_metadata(text: str, evidence: dict[str, str], notes: Sequence[str],
                         composed: Sequence[str] = ()) -> dict[str, Any]:  # fmt: skip
        """The isolation lines an unsafe answer's fix quotes are trusted like quoted graph facts: they
        are the evidence's own words (graph facts, or retrieved text the retrieved-text guard already
        anonymised), so the PII check does not read them again. So are the composer's lines written
        from graph facts alone ("Motor protection relay failure to start on demand: relay left on
        manual reset...", an FMEA cause: it describes a failure, it does not advise one)."""
        isolation = isolation_lines(evidence)
        graph_only = [line for line in composed if graph_facts_only(line, evidence)]
        return {"evidence": evidence, "isolation": isolation, "notes": list(notes),
                "trusted_lines": quoted_graph_lines(text, evidence) + isolation + graph_only}  # fmt: skip

    def ingest_operator(self, privacy_class: str) -> IngestOperator:
        operator = self.config.ingest_operators.get(privacy_class, "replace")
        if operator == "encrypt" and not self.config.pii_key:
            raise ConfigError(f"privacy class {privacy_class!r} is encrypted at ingestion, but no key is set",
                              setting="MAINTGRAPH_GUARD_PII_KEY")  # fmt: skip
        return operator

    # -- running the checks ------------------------------------------------------------------------
    def _steps(self, direction: Direction, operator: IngestOperator | None,
               skip: Sequence[Check] = ()) -> list[tuple[Check, Action, Any]]:  # fmt: skip
        steps = []
        for check in (c for c in ORDER[direction] if c not in skip):
            action = self.config.policy[check]
            if direction in ("retrieved", "ingest"):  # a document is never refused: it is cleaned
                action = "fix"
            op = operator if direction == "ingest" else self.config.pii_operator
            if check == "pii" and op == "keep":
                continue
            steps.append((check, action, op))
        return steps

    def guard_for(self, check: Check, action: Action, operator: Any, asynchronous: bool) -> Any:
        """The guardrails-ai Guard for one check and policy, built once (parallel retrieval
        branches ask for it at the same time)."""
        key = (check, action, operator, asynchronous)
        with self._lock:
            if key not in self._guards:
                self._guards[key] = self._build_guard(check, action, operator, asynchronous)
            return self._guards[key]

    def _build_guard(self, check: Check, action: Action, operator: Any, asynchronous: bool) -> Any:
        from guardrails import AsyncGuard, Guard, OnFailAction

        on_fail = {"block": OnFailAction.EXCEPTION, "fix": OnFailAction.FIX, "flag": OnFailAction.NOOP}[action]
        kwargs: dict[str, Any] = {"on_fail": on_fail}
        if check == "pii":
            kwargs |= {"scanner": self.scanner, "operator": operator, "key": self.config.pii_key}
        cls = AsyncGuard if asynchronous else Guard
        # History of one call only: guardrails keeps raw texts there.
        return cls(name=f"maintgraph-{check}-{action}", history_max_length=1).use(VALIDATOR[check](**kwargs))

    def _chain(self, direction: Direction, text: str, metadata: dict[str, Any], operator: Any = None,
               skip: Sequence[Check] = ()) -> GuardVerdict:  # fmt: skip
        from guardrails.errors import ValidationError

        verdict = GuardVerdict(text)
        for check, action, op in self._steps(direction, operator, skip):
            started, found = time.perf_counter(), {**metadata, "findings": []}
            try:
                outcome = self.guard_for(check, action, op, asynchronous=False).validate(verdict.text, metadata=found)
                result = outcome.validated_output if outcome.validated_output is not None else verdict.text
            except ValidationError:  # on_fail=exception: the policy blocks
                result = None
            if self._record(verdict, direction, check, action, found["findings"], started, result):
                break
        return self._anonymised_if_blocked(verdict, direction, metadata)

    async def _achain(self, direction: Direction, text: str, metadata: dict[str, Any]) -> GuardVerdict:
        """The same chain through guardrails-ai's AsyncGuard, for async callers (the HTTP service)."""
        from guardrails.errors import ValidationError

        verdict = GuardVerdict(text)
        for check, action, op in self._steps(direction, None):
            started, found = time.perf_counter(), {**metadata, "findings": []}
            try:
                outcome = await self.guard_for(check, action, op, asynchronous=True).validate(
                    verdict.text, metadata=found
                )
                result = outcome.validated_output if outcome.validated_output is not None else verdict.text
            except ValidationError:
                result = None
            if self._record(verdict, direction, check, action, found["findings"], started, result):
                break
        return self._anonymised_if_blocked(verdict, direction, metadata)

    def _anonymised_if_blocked(
        self, verdict: GuardVerdict, direction: Direction, metadata: dict[str, Any]
    ) -> GuardVerdict:
        """A question blocked before the PII check still goes to the trace and the checkpoint:
        it is stored anonymised."""
        if direction != "input" or not verdict.blocked or any(d["guard"] == "pii" for d in verdict.decisions):
            return verdict
        stored = self._chain("input", verdict.text, metadata, skip=("topic", "injection"))
        verdict.text, verdict.decisions = stored.text, verdict.decisions + stored.decisions
        return verdict

    @staticmethod
    def _record(verdict: GuardVerdict, direction: Direction, check: Check, action: Action,
                findings: list[Finding], started: float, result: str | None) -> bool:  # fmt: skip
        """Add the decision to ``verdict``; True when the text was blocked (the chain stops)."""
        taken = TAKEN[action] if findings else "passed"
        verdict.decisions.append({
            "guard": check, "direction": direction, "action": taken, "policy": action,
            "findings": [{"kind": f.kind, "start": f.start, "end": f.end, "reason": f.reason} for f in findings],
            "ms": round((time.perf_counter() - started) * 1000, 2),
        })  # fmt: skip
        if result is None:
            verdict.blocked = _why_blocked(check, findings)
            return True
        verdict.text = result
        return False


def graph_facts_only(line: str, evidence: dict[str, str]) -> bool:
    """``line`` cites evidence, and only graph facts the answer may cite."""
    refs = CITATION.findall(line)
    return bool(refs) and all(ref.startswith("graph:") and ref in evidence for ref in refs)


def quoted_graph_lines(text: str, evidence: dict[str, str]) -> list[str]:
    """The answer's lines that quote a graph fact word for word (possibly cut short with "…"),
    citing it. Graph facts are the plant's structured data (asset register, FMEA, LOTO): such a
    line holds no personal data and describes failures rather than advising them, so the PII and
    unsafe-advice checks leave it alone. A line the model wrote itself is never one of them."""
    quoted = []
    for line in text.splitlines():
        if not graph_facts_only(line, evidence):
            continue
        refs = CITATION.findall(line)
        body = " ".join(CITATION.sub(" ", line).split()).removeprefix("- ").rstrip(".").removesuffix("…").strip()
        if body and any(body in " ".join(evidence[ref].split()) for ref in refs):
            quoted.append(line)
    return quoted


# A sentence of the evidence that states part of the safe procedure: isolating, proving dead, relieving
# pressure or stored energy, the permit and the gas test.
SAFE_STEP = re.compile(
    r"(?i)\b(?:isolat\w*|lock(?:ed)?[- ]?(?:out|off)|lock(?:s|ed|ing)? (?:the|it|each|your)\b|lockout|loto|padlock\w*|"
    r"lock and tag|prove\w* dead|zero energy|try[- ]start|absence of voltage|depressuri[sz]\w*|drain\w*|"
    r"vent(?:ed|ing)?|bleed\w*|to discharge|discharge time|gas test\w*|permit\w*|fire watch)\b"
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def isolation_lines(evidence: dict[str, str], most: int = 4) -> list[str]:
    """The equipment's isolation steps and safe procedure from the evidence, cited, for an unsafe
    answer's fix: the graph's lockout facts first, then the evidence's sentences that isolate, prove
    dead, relieve pressure or stored energy, or call for a permit or gas test (none that the rules read
    as unsafe advice). Computed for every answer, so it stays cheap: rules only, at most ``most`` lines."""
    from maintgraph.guardrails.unsafe import advises_unsafe

    lines = [f"{text} [{ref}]" for ref, text in evidence.items()
             if ref.startswith("graph:") and re.search(r"(?i)\b(?:lockout|loto|isolat\w*)\b", text)]  # fmt: skip
    for ref, text in evidence.items():
        if ref.startswith("graph:") and f"{text} [{ref}]" in lines:
            continue
        for sentence in _SENTENCE.finditer(text):
            step = " ".join(sentence.group().split())
            if len(lines) >= most:
                return lines
            if len(step) > 20 and step[0].isupper() and SAFE_STEP.search(step) and not advises_unsafe(step):
                lines.append(f"{step} [{ref}]")
    return lines[:most]
