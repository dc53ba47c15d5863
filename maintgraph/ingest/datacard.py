"""Data cards: every document collection says where it came from before it is ingested.

A data card is ``datacard.yaml`` (or ``.yml`` / ``.json``) in the collection's folder. It names
the collection, its provenance, owner, licence, privacy class and retention; documents inherit
the privacy class and licence. Ingestion refuses a file with no data card above it.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from maintgraph.errors import DataCardError, validation_problems
from maintgraph.search.records import PrivacyClass

CARD_NAMES = ("datacard.yaml", "datacard.yml", "datacard.json")


class DataCard(BaseModel):
    model_config = ConfigDict(extra="allow")

    collection: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str = ""
    description: str = ""
    owner: str = Field(min_length=1)
    provenance: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    privacy_class: PrivacyClass
    retention: str = Field(min_length=1)
    contact: str = ""

    @classmethod
    def read(cls, path: Path) -> DataCard:
        try:
            raw = path.read_text(encoding="utf-8")
            data = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
            raise DataCardError(f"{path}: cannot read the data card ({exc})") from None
        if not isinstance(data, dict):
            raise DataCardError(f"{path}: a data card is a mapping of fields, not {type(data).__name__}")
        data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise DataCardError(f"{path}: invalid data card: {validation_problems(exc, 'card')}") from None


def find_card(file: Path, root: Path) -> Path | None:
    """The nearest data card from ``file``'s folder up to ``root`` (inclusive)."""
    folder = file.parent.resolve()
    root = root.resolve()
    while True:
        for name in CARD_NAMES:
            if (folder / name).is_file():
                return folder / name
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent
