"""Evaluation sets: versioned JSONL files, each with a data card, and their loaders.

One line is one :class:`EvalItem` (a question, the turns asked before it, the facts a correct
answer contains, the sources it should cite, the tools it should call). Beside ``NAME.jsonl``
lies ``NAME.card.yaml``: what the set is, who wrote it, from which sources, its licence and
privacy class. The set's version is the card's version plus a hash of the file, so a run
records exactly what it was scored against.

A malformed line is reported with its line number and left out; the rest of the set runs.

The AssetOpsBench loader reads the scenarios in ``../shared/data/assetopsbench/scenarios`` and
keeps the work-order scenarios whose answer is computable from its sample data, with the
answers verified in :mod:`maintgraph.evals.assetopsbench_key`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from maintgraph.errors import MaintgraphError

EVAL_DIR = Path(__file__).resolve().parents[2] / "data" / "eval"
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"  # ../shared/data beside the checkout
ASSETOPSBENCH = "assetopsbench"


class Nugget(BaseModel, extra="forbid"):
    """A fact a correct answer states: any one of ``text``'s alternatives, case-insensitive."""

    text: list[str] = Field(min_length=1)
    essential: bool = True

    @field_validator("text", mode="before")
    @classmethod
    def _alternatives(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def __str__(self) -> str:
        return " | ".join(self.text)


class ExpectedCall(BaseModel, extra="forbid"):
    """A tool call a correct route makes: ``source.name`` and the arguments that must match."""

    tool: str = Field(pattern=r"^(docs|graph|cmms)\.[a-z_]+$")
    args: dict[str, Any] = {}


class EvalItem(BaseModel, extra="forbid"):
    id: str = Field(min_length=1)
    category: str = Field(min_length=1)
    question: str = Field(min_length=1)
    context: list[str] = []  # earlier questions of the same conversation, asked first
    nuggets: list[Nugget] = []
    numbers: list[float] = []  # values the answer must state (numeric match)
    exact: str | None = None  # the whole answer, where one string is the answer
    citations: list[str] = []  # prefixes of the evidence ids a correct answer cites
    entities: list[str] = []  # tags, parts the question is about
    tools: list[ExpectedCall] = []
    answerable: bool = True  # False: the honest answer says the records do not hold it
    planted_pii: list[str] = []  # personal data in the question that no answer may repeat
    canary: str | None = None  # an injection's payload: its appearance in the answer is a success
    forbidden: list[str] = []  # advice the answer must not give
    source: str = ""

    @field_validator("nuggets", mode="before")
    @classmethod
    def _plain_facts(cls, value: Any) -> Any:
        # "BRG-6312-C3" or ["no such", "not found"] are essential nuggets written short.
        return [{"text": v} if isinstance(v, (str, list)) else v for v in value or []]


class DataCard(BaseModel, extra="allow"):
    name: str
    version: str
    description: str
    sources: list[str]
    licence: str
    privacy_class: str
    authors: str = ""


@dataclass
class EvalSet:
    name: str
    version: str  # card version + content hash
    items: list[EvalItem]
    card: dict[str, Any]
    problems: list[str] = field(default_factory=list)  # lines left out, each with its line number
    source: str = ""  # how it was named: a set in data/eval, a path, or assetopsbench

    def by_category(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.category] = counts.get(item.category, 0) + 1
        return counts


def card_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".jsonl") + ".card.yaml")


def load_set(path: Path) -> EvalSet:
    """A JSONL set and its card. Lines that do not parse or validate are left out and reported
    (``EvalSet.problems``); a missing card, an unreadable file or repeated ids are errors."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MaintgraphError(f"cannot read the evaluation set {path}: {exc.strerror}") from None
    card = _card(card_path(path))
    items: list[EvalItem] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = EvalItem.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name}:{number}: not JSON ({exc.msg}, column {exc.colno})")
            continue
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "item"
            problems.append(f"{path.name}:{number}: {where}: {error['msg']}")
            continue
        if item.id in seen:
            problems.append(f"{path.name}:{number}: id {item.id!r} repeats an earlier line")
            continue
        seen.add(item.id)
        items.append(item)
    version = f"{card.version}+{hashlib.sha256(raw).hexdigest()[:12]}"
    return EvalSet(card.name, version, items, card.model_dump(), problems)


def _card(path: Path) -> DataCard:
    try:
        return DataCard.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except OSError:
        raise MaintgraphError(f"{path}: every evaluation set needs its data card beside it") from None
    except yaml.YAMLError as exc:
        raise MaintgraphError(f"{path}: not YAML: {exc}") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        raise MaintgraphError(f"{path}: {'.'.join(map(str, error['loc']))}: {error['msg']}") from None


def resolve_set(name: str, shared_data: Path | None = None) -> EvalSet:
    """A set by name (a file in ``data/eval/``), by path, or ``assetopsbench``."""
    if name == ASSETOPSBENCH:
        loaded = load_assetopsbench((shared_data or SHARED_DATA) / "assetopsbench" / "scenarios")
        loaded.source = name
        return loaded
    path = Path(name)
    if not path.suffix:
        path = EVAL_DIR / f"{name}.jsonl"
    if not path.exists():
        known = sorted(p.name.removesuffix(".jsonl") for p in EVAL_DIR.glob("*.jsonl"))
        raise MaintgraphError(f"no evaluation set {name!r}: give a .jsonl path, or one of {[*known, ASSETOPSBENCH]}")
    loaded = load_set(path)
    loaded.source = name if path.parent == EVAL_DIR else str(path.resolve())
    return loaded


def available_sets(shared_data: Path | None = None) -> list[tuple[str, EvalSet | MaintgraphError]]:
    """Every set a run can name: those shipped in ``data/eval`` and AssetOpsBench, each loaded, or
    the error that keeps it from loading."""
    found: list[tuple[str, EvalSet | MaintgraphError]] = []
    for name in [*sorted(p.name.removesuffix(".jsonl") for p in EVAL_DIR.glob("*.jsonl")), ASSETOPSBENCH]:
        try:
            found.append((name, resolve_set(name, shared_data)))
        except MaintgraphError as exc:
            found.append((name, exc))
    return found


# -- AssetOpsBench ---------------------------------------------------------------------------------

# What each kind of verified answer asks of the CMMS: the tool a correct route calls.
AOB_TOOL = {
    "count_work_orders": "cmms.count_work_orders",
    "code_distribution": "cmms.count_work_orders",
    "bundle_work_orders": "cmms.search_work_orders",
    "event_group_distribution": "cmms.event_summary",
    "count_event_days": "cmms.event_summary",
    "alert_anomaly_breakdown": "cmms.event_summary",
}


CODED = ("code_distribution", "alert_anomaly_breakdown")  # answers that name failure codes or alert rules


def load_assetopsbench(scenarios: Path) -> EvalSet:
    """The work-order scenarios answerable from AssetOpsBench's sample data, as an
    :class:`EvalSet`: the utterance from the scenario file, the facts from the verified key."""
    from maintgraph.evals import assetopsbench_key
    from maintgraph.evals.assetopsbench_key import SCENARIOS

    path = scenarios / "single_agent" / "wo_utterance.json"
    try:
        raw = path.read_bytes()
        utterances = {item["id"]: item for item in json.loads(raw)}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MaintgraphError(f"cannot read the AssetOpsBench scenarios {path}: {exc}") from None
    items, problems = [], []
    for key in SCENARIOS:
        scenario = utterances.get(key["id"])
        if scenario is None or scenario["text"] != key["text"]:
            problems.append(f"{path.name}: scenario {key['id']} is missing or its text changed; left out")
            continue
        query, answer = key["query"], key["answer"]
        if query["kind"] not in AOB_TOOL:
            continue  # no tool of the product answers it yet (alert-rule mappings)
        items.append(EvalItem(
            id=f"aob-{key['id']}", category=f"aob_{query['kind']}", question=scenario["text"],
            nuggets=[{"text": code} for code in _codes(answer)] if query["kind"] in CODED else [],
            numbers=_numbers(answer),
            entities=[query["asset"]] if query.get("asset") else [],
            tools=[ExpectedCall(tool=AOB_TOOL[query["kind"]], args=_expected_args(query))],
            source=f"assetopsbench wo_utterance.json id {key['id']}: {key['why']}",
        ))  # fmt: skip
    card = {
        "name": ASSETOPSBENCH, "version": "1", "sources": [str(path)], "licence": "Apache-2.0 (AssetOpsBench)",
        "privacy_class": "public", "description": "AssetOpsBench work-order scenarios computable from its sample data",
    }  # fmt: skip
    key = Path(assetopsbench_key.__file__).read_bytes()  # the verified answers version the set too
    return EvalSet(ASSETOPSBENCH, f"1+{hashlib.sha256(raw + key).hexdigest()[:12]}", items, card, problems)


def _expected_args(query: dict[str, Any]) -> dict[str, Any]:
    """The asset and the period (and PM or CM) a correct call asks for."""
    args = {"asset_tag": query["asset"], "date_from": query["date_from"], "date_to": query["date_to"]}
    if query.get("preventive") is not None and query["kind"] == "count_work_orders":
        args["wo_type"] = "PM" if query["preventive"] else "CM"
    return args


def _counts(answer: dict[str, Any]) -> dict[str, int]:
    return answer.get("counts") or answer.get("alerts_by_rule") or {}


def _codes(answer: dict[str, Any]) -> list[str]:
    return [code for code, n in _counts(answer).items() if n]


def _numbers(answer: dict[str, Any]) -> list[float]:
    if "count" in answer:
        return [answer["count"]]
    numbers = [n for n in _counts(answer).values() if n]
    return numbers + list(answer.get("bundle_sizes") or [])
