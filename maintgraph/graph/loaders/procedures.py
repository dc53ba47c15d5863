"""Maintenance procedures and lockout/tagout procedures (YAML lists).

A procedure names the equipment it applies to, the failure modes it resolves, its LOTO
procedure, parts, hazards and steps; a LOTO procedure names the equipment it isolates, each
energy source with its isolation points, hazards and steps. Energy-source ids are local to
their LOTO procedure (``E1`` in two procedures are two sources: keys ``LOTO-P101/E1``);
isolation points are plant tags (a breaker, a valve) and are shared by every procedure that
uses them. Problems are located as ``file:item:field``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from maintgraph.graph.loaders.batch import GraphBatch
from maintgraph.graph.loaders.tabular import Problems, slug

EnergyKind = Literal[
    "electrical", "mechanical", "hydraulic", "pneumatic", "thermal", "chemical", "gravity", "process-pressure"
]


class _Strict(BaseModel):
    model_config = {"extra": "forbid"}


class PartUse(_Strict):
    part_number: str
    quantity: int = Field(1, ge=1)


class Procedure(_Strict):
    id: str
    name: str
    revision: str | None = None
    equipment: list[str] = Field(min_length=1)
    failure_modes: list[str] = []
    loto: str | None = None
    parts: list[PartUse] = []
    hazards: list[str] = []
    steps: list[str] = Field(min_length=1)


class IsolationPoint(_Strict):
    id: str
    name: str
    method: str
    location: str | None = None


class EnergySource(_Strict):
    id: str
    kind: EnergyKind
    name: str
    magnitude: str | None = None
    isolation_points: list[IsolationPoint] = Field(min_length=1)


class LOTOProcedure(_Strict):
    id: str
    name: str
    equipment: list[str] = Field(min_length=1)
    hazards: list[str] = []
    energy_sources: list[EnergySource] = Field(min_length=1)
    steps: list[str] = Field(min_length=1)


def _items(path: Path, model: type[BaseModel], problems: Problems) -> list[tuple[int, BaseModel]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.add(None, None, f"cannot read the YAML ({exc})")
        problems.raise_if_any()
    if not isinstance(raw, list):
        problems.add(None, None, f"expected a list of {model.__name__} items")
        problems.raise_if_any()
    parsed = []
    for number, item in enumerate(raw, start=1):
        try:
            parsed.append((number, model.model_validate(item)))
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or None
                problems.add(number, field, error["msg"])
    return parsed


def _hazards(batch: GraphBatch, owner: tuple[str, str], hazards: list[str], item: int) -> None:
    for hazard in hazards:
        batch.node("Hazard", slug(hazard), {"name": hazard}, (item, "hazards"))
        batch.rel("HAS_HAZARD", owner, ("Hazard", slug(hazard)), where=(item, "hazards"))


def read_loto(path: Path, source: str) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    for item, loto in _items(path, LOTOProcedure, problems):
        assert isinstance(loto, LOTOProcedure)
        batch.row = item
        batch.node("LOTOProcedure", loto.id, {"name": loto.name, "steps": loto.steps}, (item, "id"))
        for tag in loto.equipment:
            batch.rel("ISOLATES", ("LOTOProcedure", loto.id), ("Equipment", tag.upper()), where=(item, "equipment"))
        _hazards(batch, ("LOTOProcedure", loto.id), loto.hazards, item)
        for energy in loto.energy_sources:
            energy_key = f"{loto.id}/{energy.id}"
            batch.node(
                "EnergySource",
                energy_key,
                {"name": energy.name, "kind": energy.kind, "magnitude": energy.magnitude},
                (item, "energy_sources"),
            )
            batch.rel("CONTROLS_ENERGY", ("LOTOProcedure", loto.id), ("EnergySource", energy_key))
            for step, point in enumerate(energy.isolation_points, start=1):
                batch.node(
                    "IsolationPoint",
                    point.id,
                    {"name": point.name, "method": point.method, "location": point.location},
                    (item, "isolation_points"),
                )
                batch.rel("REQUIRES_ISOLATION", ("EnergySource", energy_key), ("IsolationPoint", point.id),
                          {"step": step})  # fmt: skip
    return batch


def read_procedures(path: Path, source: str) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    for item, proc in _items(path, Procedure, problems):
        assert isinstance(proc, Procedure)
        batch.row = item
        node = ("Procedure", proc.id)
        batch.node("Procedure", proc.id, {"name": proc.name, "revision": proc.revision, "steps": proc.steps},
                   (item, "id"))  # fmt: skip
        for tag in proc.equipment:
            batch.rel("APPLIES_TO_EQUIPMENT", node, ("Equipment", tag.upper()), where=(item, "equipment"))
        for mode in proc.failure_modes:
            batch.rel("RESOLVED_BY", ("FailureMode", mode.upper()), node, where=(item, "failure_modes"))
        if proc.loto:
            batch.rel("REQUIRES_LOTO", node, ("LOTOProcedure", proc.loto), where=(item, "loto"))
        for part in proc.parts:
            batch.rel("REQUIRES_PART", node, ("SparePart", part.part_number.upper()), {"quantity": part.quantity},
                      where=(item, "parts"))  # fmt: skip
        _hazards(batch, node, proc.hazards, item)
    return batch
