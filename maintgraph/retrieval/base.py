"""The retriever interface: a name, its source, typed arguments, the intents it serves, and
``run(args) -> list[Evidence]``.

A retriever owns its source's conversion into :class:`Evidence` and its evidence-id scheme
(:mod:`maintgraph.citations` builds the ids). It also says when the deterministic plan calls it
(:meth:`Retriever.plan`, from what the question's understanding holds) and, through its argument
model, whether the served model may call it: an argument marked :func:`linked` takes one of the
entities linking found (a tag, a failure term), and a retriever whose every argument is linked is
offered to the model as a strict tool (:meth:`Retriever.as_tool`), its arguments an enum of them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field, create_model

from maintgraph.citations import EvidenceKind
from maintgraph.graph.linking import Candidate

if TYPE_CHECKING:
    from maintgraph.graph.base import GraphStore
    from maintgraph.retrieval.community_reports import ReportSearch
    from maintgraph.retrieval.documents import DocumentIndex
    from maintgraph.tools.cmms_tools import CMMSTools

Source = Literal["docs", "graph", "cmms"]
Intent = Literal["work_order", "parts", "history", "procedure", "diagnose", "analytics", "general"]
PHYSICAL: tuple[Intent, ...] = ("diagnose", "procedure", "work_order")  # hands-on work: isolation first
MAX_ASSETS = 2  # a question about more assets than this is answered for the first two
Linked = Literal["tags", "terms", "modes", "parts"]


@dataclass
class Backends:
    """What retrievers run on; one left as None leaves the retrievers that need it unconfigured."""

    graph: GraphStore | None = None
    documents: DocumentIndex | None = None
    cmms: CMMSTools | None = None
    reports: ReportSearch | None = None


@dataclass(frozen=True)
class Evidence:
    """One citable item. ``text`` is what the model, the guards and the citation check read;
    ``fields`` the record it was rendered from (a graph fact's keys, a work order's columns), for
    the answer composer (:mod:`maintgraph.agent.compose`) to write sentences from. Items built
    from text alone (a replayed trace) have none, and the composer falls back to the text."""

    id: str  # doc:<chunk>, graph:<ref>, wo:<key> (maintgraph.citations)
    kind: EvidenceKind
    text: str
    title: str = ""
    fields: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Question(Protocol):
    """What a retriever plans from: the agent's understanding of the question."""

    question: str
    intent: Intent
    period: tuple[str, str] | None
    parts: list[Candidate]
    failure_terms: list[Candidate]

    @property
    def tags(self) -> list[str]: ...

    @property
    def topic(self) -> list[str]: ...


def linked_values(question: Question) -> dict[Linked, list[str]]:
    """The entities linking found, by the kind of argument they fill."""
    return {
        "tags": question.tags,
        "terms": [c.name for c in question.failure_terms],
        "modes": [c.key for c in question.failure_terms if c.label == "FailureMode"],
        "parts": [c.key for c in question.parts],
    }


def linked(kind: Linked, description: str = "") -> Any:
    """An argument that takes one of the linked entities of ``kind``."""
    return Field(description=description or f"one of the linked {kind}", json_schema_extra={"linked": kind})


def linked_kind(args: type[BaseModel], name: str) -> Linked | None:
    extra = args.model_fields[name].json_schema_extra
    return extra.get("linked") if isinstance(extra, dict) else None  # type: ignore[return-value]


@dataclass(frozen=True)
class Call:
    """One call of a retriever, hashable so a repeat is recognised."""

    source: Source
    name: str
    args: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)

    def __str__(self) -> str:
        return f"{self.source}.{self.name}({', '.join(f'{k}={v!r}' for k, v in self.args)})"


A = TypeVar("A", bound=BaseModel)


class Retriever(ABC, Generic[A]):
    """One source of evidence. Subclasses set the class attributes and implement :meth:`run`;
    those planned by rule implement :meth:`plan`."""

    name: ClassVar[str]
    source: ClassVar[Source]
    description: ClassVar[str]
    Args: ClassVar[type[BaseModel]]
    intents: ClassVar[frozenset[Intent]] = frozenset()  # what the model may call it for ("general": anything)
    per_asset: ClassVar[bool] = False  # planned once per linked asset (else once per question)
    needs: ClassVar[tuple[str, ...]] = ()  # the fields of Backends it runs on

    def __init__(self, backends: Backends) -> None:
        self.backends = backends

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        """The arguments of each call the deterministic plan makes of this retriever, for one
        linked asset (``tag``, when :attr:`per_asset`) or for the question (``tag`` None)."""
        return []

    @classmethod
    def call(cls, **kwargs: Any) -> Call:
        return Call(cls.source, cls.name, tuple(sorted(kwargs.items())))

    @abstractmethod
    def run(self, args: A) -> list[Evidence]: ...

    @classmethod
    def model_callable(cls) -> bool:
        """Offered to the model: every argument takes a linked entity."""
        return bool(cls.intents) and all(linked_kind(cls.Args, name) for name in cls.Args.model_fields)

    @classmethod
    def serves(cls, intent: Intent) -> bool:
        return cls.model_callable() and (intent == "general" or intent in cls.intents)

    @classmethod
    def as_tool(cls, question: Question) -> Any:
        """The strict tool the model is offered for ``question`` (its arguments an enum of the
        linked entities), or None when one of them has nothing linked to take."""
        from maintgraph.llm.client import Tool

        values = linked_values(question)
        kinds = {name: linked_kind(cls.Args, name) for name in cls.Args.model_fields}
        if not all(kind and values[kind] for kind in kinds.values()):
            return None
        fields: dict[str, Any] = {
            name: (Literal[tuple(values[kind])], Field(description=f"one of the linked {kind}"))  # type: ignore[index,misc]
            for name, kind in kinds.items()
            if kind
        }
        return Tool(cls.name, cls.description, create_model(f"{cls.name}_args", **fields))


@dataclass
class ToolCallRecord:
    call: str
    seconds: float
    evidence_ids: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Retrieved:
    evidence: list[Evidence] = field(default_factory=list)
    records: list[ToolCallRecord] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)  # what the answer must say it could not check
    skipped: list[str] = field(default_factory=list)  # repeats and calls over the budget


def render_fields(row: dict[str, Any]) -> str:
    """A record as ``key: value; ...`` text, empty values left out."""
    return "; ".join(f"{key}: {value}" for key, value in row.items() if value not in (None, "", [], {}))


def plain_numbers(row: dict[str, Any], quantities: tuple[str, ...] = ()) -> dict[str, Any]:
    """``row`` with whole quantities written whole (85.0 -> 85, Decimal 18.00 -> 18; the keys
    named in ``quantities`` also when they hold a decimal as a string, "18.00"), so that the text
    and a sentence written from the row state a number the same way."""

    def plain(key: str, value: Any) -> Any:
        if key in quantities and isinstance(value, str) and re.fullmatch(r"-?\d+\.\d+", value):
            value = Decimal(value)
        if not isinstance(value, (float, Decimal)):
            return value
        try:
            if value == int(value):
                return int(value)
        except (ValueError, OverflowError, ArithmeticError):  # NaN, infinity
            return value
        return value.normalize() if isinstance(value, Decimal) else value  # 0.50 -> 0.5

    return {key: plain(key, value) for key, value in row.items()}
