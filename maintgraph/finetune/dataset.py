"""Building a supervision set: approved sources -> scrubbed, de-duplicated, checked, split.

Every source needs a data card beside it (``NAME.card.yaml``) whose privacy class the config
allows. Each example is scrubbed of personal data by the ingestion guard, exact duplicates
(same words) and near duplicates (rapidfuzz ratio of question + answer) are dropped, and the
build is refused when an evaluation item's question is among the training questions (compared
by hash), when fewer examples than the stated minimum remain, or when an example does not fit
the context. The split keeps examples that share an answer on one side, so a paraphrase of a
training question never validates. The set is written once, under its version (a hash of its
content), with its data card: ``<data_dir>/finetune/sets/NAME/VERSION/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from maintgraph.errors import MaintgraphError
from maintgraph.evals.sets import DataCard, resolve_set
from maintgraph.finetune.examples import Example, from_jsonl, from_templates, handwritten, normalised, text_hash
from maintgraph.finetune.spec import SourceSpec, TrainConfig

log = logging.getLogger(__name__)

PRIVACY_ORDER = ("public", "internal", "restricted", "personal")


class DatasetRefused(MaintgraphError):
    """The set cannot be built as configured; the message says which rule and which examples."""


@dataclass
class SupervisionSet:
    name: str
    version: str
    train: list[Example]
    validation: list[Example]
    card: dict[str, Any]
    folder: Path

    @classmethod
    def load(cls, folder: Path) -> SupervisionSet:
        try:
            card = yaml.safe_load((folder / "card.yaml").read_text())
            parts = {split: [_example(json.loads(line)) for line in (folder / f"{split}.jsonl").read_text().splitlines()
                             if line.strip()] for split in ("train", "validation")}  # fmt: skip
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise MaintgraphError(f"supervision set {folder} cannot be read ({exc}): build it again") from None
        return cls(card["name"], card["version"], parts["train"], parts["validation"], card, folder)


def _example(data: dict[str, Any]) -> Example:
    return Example(data["id"], data["question"], data["messages"], data.get("source", ""))


def source_card(path: Path) -> Path:
    return path.with_name(path.name.split(".", 1)[0] + ".card.yaml")


def read_card(source: SourceSpec, allowed: list[str]) -> DataCard:
    card_file = source_card(source.path)
    if not card_file.is_file():
        raise DatasetRefused(f"{source.path}: no data card ({card_file.name} beside it): only approved sources with "
                             "a data card go into training")  # fmt: skip
    try:
        card = DataCard.model_validate(yaml.safe_load(card_file.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise DatasetRefused(f"{card_file}: invalid data card ({exc})") from None
    if card.privacy_class not in allowed:
        raise DatasetRefused(f"{source.path}: privacy class {card.privacy_class!r} is not allowed in training "
                             f"(allowed: {', '.join(allowed)})")  # fmt: skip
    return card


@dataclass
class Builders:
    """What a build needs from the running product: the graph, the agent, the guard, the tokenizer."""

    read_graph: Callable[[str], list[dict[str, Any]]] | None = None
    ask: Callable[[str], list[dict[str, str]]] | None = None  # question -> the evidence the agent finds
    scrub: Callable[[str, str], tuple[str, int]] | None = None  # (text, privacy class) -> (text, findings)
    token_count: Callable[[list[dict[str, str]]], int] | None = None
    progress: Callable[[Any], Any] = iter


def load_source(source: SourceSpec, config: TrainConfig, builders: Builders) -> list[Example]:
    if not source.path.is_file():
        raise DatasetRefused(f"{source.path}: no such source file")
    if source.kind == "handwritten":
        examples = handwritten(source.path)
    elif source.kind == "examples":
        examples = from_jsonl(source.path)
    else:
        if builders.read_graph is None or builders.ask is None:
            raise DatasetRefused(f"{source.path}: template examples need the graph and the agent (`maintgraph up`)")
        examples = from_templates(source.path, builders.read_graph, builders.ask, config.dataset.prompt_chars,
                                  source.limit, builders.progress)  # fmt: skip
    for example in examples:
        example.source = source.path.name
    return examples[: source.limit or None]


def near_duplicates(examples: list[Example], threshold: float) -> set[int]:
    """Indexes of examples too like an earlier one (question + answer), by rapidfuzz ratio."""
    from rapidfuzz import fuzz, process

    keys = [normalised(f"{e.question} {e.answer}") for e in examples]
    scores = process.cdist(keys, keys, scorer=fuzz.ratio, score_cutoff=threshold, workers=1)
    return {j for i in range(len(keys)) for j in range(i + 1, len(keys)) if scores[i][j] >= threshold}


def asked(example: Example) -> set[str]:
    """Every question an example puts: its own, and each user message's (for a synthesis prompt,
    the question after its evidence; for a rewrite prompt, its ``Question:`` line)."""
    texts = {example.question}
    texts |= {m["content"].rsplit("\n\nQuestion: ", 1)[-1] for m in example.messages if m["role"] == "user"}
    # A rewrite prompt (maintgraph.agent.prompts.rewrite_question) puts its question first.
    texts |= {found for m in example.messages if m["role"] == "user"
              for found in re.findall(r"(?m)^Question: (.+)$", m["content"])}  # fmt: skip
    return {text_hash(text) for text in texts}


def leaked(examples: list[Example], set_names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Examples that ask an evaluation item's question, and the versions of the sets checked."""
    questions: dict[str, str] = {}
    versions = {}
    for name in set_names:
        eval_set = resolve_set(name)
        versions[eval_set.name] = eval_set.version
        for item in eval_set.items:
            for question in (item.question, *item.context):
                questions.setdefault(text_hash(question), f"{eval_set.name}:{item.id}")
    found = []
    for example in examples:
        hits = [questions[h] for h in asked(example) if h in questions]
        if hits:
            found.append(f"{example.id} (asks {', '.join(hits)})")
    return found, versions


def split(examples: list[Example], fraction: float) -> tuple[list[Example], list[Example]]:
    """Deterministic, by answer: examples sharing an answer (paraphrased questions) always land
    on the same side, chosen by a hash of the answer."""

    def key(example: Example) -> str:
        return hashlib.sha256(normalised(example.answer).encode()).hexdigest()

    groups: dict[str, list[Example]] = {}
    for example in examples:
        groups.setdefault(key(example), []).append(example)
    held = [key for key in groups if int(key[:8], 16) % 1000 < fraction * 1000]
    if not held or len(held) == len(groups):  # too few answers for the hash to split: the last groups by hash
        ordered = sorted(groups)
        held, count = [], 0
        while len(held) < len(ordered) - 1 and count < max(1, round(len(examples) * fraction)):
            held.append(ordered[-1 - len(held)])
            count += len(groups[held[-1]])
    return [e for e in examples if key(e) not in held], [e for e in examples if key(e) in held]  # in source order


def build(config: TrainConfig, sets_root: Path, builders: Builders) -> SupervisionSet:
    spec = config.dataset
    counts: dict[str, Any] = {"sources": {}}
    cards, examples = [], []
    for source in spec.sources:
        card = read_card(source, spec.allowed_privacy_classes)
        loaded = load_source(source, config, builders)
        counts["sources"][source.path.name] = len(loaded)
        cards.append({"file": source.path.name, "kind": source.kind, "card": card.model_dump()})
        if builders.scrub is not None:
            for example in loaded:
                example.question = builders.scrub(example.question, card.privacy_class)[0]
                for message in example.messages:
                    message["content"], found = builders.scrub(message["content"], card.privacy_class)
                    example.scrubbed += found
        examples += loaded
    counts["pii_replaced"] = sum(e.scrubbed for e in examples)

    unique: dict[str, Example] = {}
    for example in examples:
        unique.setdefault(hashlib.sha256(json.dumps(example.messages).lower().encode()).hexdigest(), example)
    counts["exact_duplicates"] = len(examples) - len(unique)
    examples = list(unique.values())
    close = near_duplicates(examples, spec.near_duplicate)
    counts["near_duplicates"] = len(close)
    examples = [e for i, e in enumerate(examples) if i not in close]

    # The sets the adapter is evaluated on are kept out too, whether or not the config lists them.
    leaks, eval_versions = leaked(examples, list(dict.fromkeys([*spec.exclude_eval_sets, *config.evaluation.sets])))
    if leaks:
        raise DatasetRefused(f"{len(leaks)} example(s) ask an evaluation item's question, which would score the "
                             f"adapter on what it was trained on: {'; '.join(leaks[:5])}"
                             f"{' …' if len(leaks) > 5 else ''}")  # fmt: skip
    if len(examples) < spec.min_examples:
        raise DatasetRefused(f"{len(examples)} examples remain after de-duplication; the config asks for at least "
                             f"{spec.min_examples} (dataset.min_examples)")  # fmt: skip
    if builders.token_count is not None:
        limit = config.training.max_length
        long = [(e.id, n) for e in examples if (n := builders.token_count(e.messages)) > limit]
        if long:
            listed = ", ".join(f"{i} ({n} tokens)" for i, n in long[:5])
            raise DatasetRefused(f"{len(long)} example(s) are longer than training.max_length = {limit} tokens and "
                                 f"would be cut: {listed}")  # fmt: skip
    train, validation = split(examples, spec.validation_fraction)
    content = json.dumps([[e.to_json() for e in train], [e.to_json() for e in validation]], sort_keys=True)
    version = hashlib.sha256(content.encode()).hexdigest()[:12]
    privacy = max((c["card"]["privacy_class"] for c in cards), key=PRIVACY_ORDER.index)
    card = {
        "name": config.name, "version": version, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": config.base, "format": "chat messages, rendered with the base model's own chat template",
        "sources": cards, "licence": " AND ".join(sorted({c["card"]["licence"] for c in cards})),
        "privacy_class": privacy, "excluded_eval_sets": eval_versions,
        "counts": {**counts, "train": len(train), "validation": len(validation)},
    }  # fmt: skip
    return _write(sets_root / config.name, version, train, validation, card)


def _write(root: Path, version: str, train: list[Example], validation: list[Example],
           card: dict[str, Any]) -> SupervisionSet:  # fmt: skip
    """Written whole or not at all: a temporary folder renamed into place. A set already
    written under this version is the same content: kept as it is."""
    folder = root / version
    if not (folder / "card.yaml").is_file():
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=root))
        try:
            for name, part in (("train", train), ("validation", validation)):
                (work / f"{name}.jsonl").write_text("".join(json.dumps(e.to_json()) + "\n" for e in part))
            (work / "card.yaml").write_text(yaml.safe_dump(card, sort_keys=False, allow_unicode=True))
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(work, folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    log.info("supervision set %s %s: %d train, %d validation", card["name"], version, len(train), len(validation))
    return SupervisionSet(card["name"], version, train, validation, card, folder)
