"""Asset register, equipment components, spare parts and sensors (CSV or XLSX)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from maintgraph.graph.loaders.batch import GraphBatch
from maintgraph.graph.loaders.mapping import SheetMapping, formats, read_mapped
from maintgraph.graph.loaders.tabular import Column, Problems, parse_datetime, parse_float, parse_int, slug
from maintgraph.graph.loaders.vocab import equipment_classes

ASSET_COLUMNS = [
    Column("site_id", ("site", "site code")),
    Column("site_name", ("site description",), required=False),
    Column("system_id", ("system", "system code")),
    Column("system_name", ("system description",), required=False),
    Column("tag", ("equipment tag", "equipment id", "asset", "asset number", "assetnum")),
    Column("name", ("equipment name", "description")),
    Column("class_code", ("class", "iso class", "equipment class", "equipment class code")),
    Column("criticality", ("crit", "criticality class"), required=False),
    Column("manufacturer", ("make", "vendor", "oem"), required=False),
    Column("model", (), required=False),
    Column("serial_number", ("serial", "serial no", "s/n"), required=False),
    Column("install_date", ("installed", "installation date", "commissioned"), required=False),
    Column("rated_power_kw", ("power kw", "rated power", "rating kw"), required=False),
    Column("driven_by", ("driver", "driven by tag"), required=False),
]
COMPONENT_COLUMNS = [
    Column("tag", ("equipment tag", "equipment", "asset")),
    Column("subunit", ("sub unit", "subunit name")),
    Column("component", ("component code", "maintainable item")),
    Column("component_name", ("description", "component description")),
    Column("component_type", ("type",), required=False),
    Column("part_number", ("part", "part no", "spare part", "item number"), required=False),
    Column("quantity", ("qty",), required=False),
]
PART_COLUMNS = [
    Column("part_number", ("part", "part no", "item number", "itemnum")),
    Column("name", ("description", "part name")),
    Column("manufacturer", ("make", "vendor"), required=False),
    Column("unit", ("uom", "unit of measure"), required=False),
]
SENSOR_COLUMNS = [
    Column("sensor_id", ("sensor", "instrument tag", "meter")),
    Column("tag", ("equipment tag", "equipment")),
    Column("component", ("component code",), required=False),
    Column("name", ("description",)),
    Column("measures", ("measurement", "variable")),
    Column("unit", ("uom",), required=False),
    Column("alarm_high", ("alarm", "high alarm"), required=False),
    Column("trip_high", ("trip", "high trip"), required=False),
]
CRITICALITY = {"A", "B", "C"}


def _date(text: str, mapping: SheetMapping | None = None) -> str | None:
    if mapping is not None and mapping.date_format:
        found = parse_datetime(text, formats(mapping, ("%Y-%m-%d",)))
        return found[:10] if found else None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def read_asset_register(path: Path, source: str, mapping: SheetMapping | None = None) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    classes = equipment_classes()
    system_site: dict[str, tuple[str, int]] = {}
    drives: dict[str, tuple[str, int]] = {}
    rows = read_mapped(path, ASSET_COLUMNS, problems, mapping)
    batch.mapping = dict(getattr(rows, "mapping", {}))
    for row in rows:
        batch.row = row.line
        tag, site, system = row.get("tag").upper(), row.get("site_id"), row.get("system_id")
        for column, value in (("tag", tag), ("site_id", site), ("system_id", system), ("name", row.get("name"))):
            if not value:
                problems.add(row.line, column, "is empty")
        class_code = row.get("class_code").upper()
        if class_code not in classes:
            problems.add(row.line, "class_code", f"{class_code!r} is not an ISO 14224 equipment class code")
        criticality = row.get("criticality").upper()
        if criticality and criticality not in CRITICALITY:
            problems.add(row.line, "criticality", f"{criticality!r} is not A, B or C")
        installed = row.get("install_date")
        if installed and _date(installed, mapping) is None:
            wanted = mapping.date_format if mapping and mapping.date_format else "YYYY-MM-DD"
            problems.add(row.line, "install_date", f"{installed!r} is not a date ({wanted})")
        if not (tag and site and system):
            continue
        earlier = system_site.setdefault(system, (site, row.line))
        if earlier[0] != site:
            problems.add(
                row.line, "site_id", f"system {system!r} is already under site {earlier[0]!r} (row {earlier[1]})"
            )
        where = (row.line, "tag")
        batch.node("Site", site, {"name": row.get("site_name") or site}, (row.line, "site_name"))
        batch.node("System", system, {"name": row.get("system_name") or system}, (row.line, "system_name"))
        batch.node(
            "Equipment",
            tag,
            {"name": row.get("name"), "class_code": class_code, "criticality": criticality,
             "manufacturer": row.get("manufacturer"), "model": row.get("model"),
             "serial_number": row.get("serial_number"),
             "install_date": _date(installed, mapping) if installed else None,
             "rated_power_kw": parse_float(row, "rated_power_kw", problems)},
            where,
        )  # fmt: skip
        batch.rel("HAS_SYSTEM", ("Site", site), ("System", system), where=(row.line, "system_id"))
        batch.rel("HAS_EQUIPMENT", ("System", system), ("Equipment", tag), where=where)
        batch.rel("OF_CLASS", ("Equipment", tag), ("EquipmentClass", class_code), where=(row.line, "class_code"))
        driver = row.get("driven_by").upper()
        if driver:
            if driver == tag:
                problems.add(row.line, "driven_by", f"{tag} cannot drive itself")
            drives[tag] = (driver, row.line)
            batch.rel("DRIVES", ("Equipment", driver), ("Equipment", tag), where=(row.line, "driven_by"))
    _check_drive_cycles(drives, problems)
    return batch


def _check_drive_cycles(drives: dict[str, tuple[str, int]], problems: Problems) -> None:
    """``driven_by`` chains must end; a loop (A drives B drives A) is a cycle in the hierarchy."""
    reported: set[str] = set()
    for start in drives:
        seen: list[str] = []
        current: str | None = start
        while current in drives and current not in seen:
            seen.append(current)
            current = drives[current][0]
        if current in seen and current not in reported:
            cycle = seen[seen.index(current) :]
            reported.update(cycle)
            problems.add(drives[current][1], "driven_by", "cycle in driven_by: " + " <- ".join([*cycle, current]))


def read_components(path: Path, source: str, mapping: SheetMapping | None = None) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    rows = read_mapped(path, COMPONENT_COLUMNS, problems, mapping)
    batch.mapping = dict(getattr(rows, "mapping", {}))
    for row in rows:
        batch.row = row.line
        tag, subunit, code = row.get("tag").upper(), row.get("subunit"), row.get("component").upper()
        if not (tag and subunit and code):
            problems.add(row.line, "tag/subunit/component", "tag, subunit and component must all be given")
            continue
        subunit_id, component_id = f"{tag}/{slug(subunit)}", f"{tag}/{code}"
        where = (row.line, "component")
        batch.node("Subunit", subunit_id, {"name": subunit, "equipment": tag}, where)
        batch.node(
            "Component", component_id,
            {"name": row.get("component_name"), "code": code, "component_type": row.get("component_type"),
             "equipment": tag},
            where,
        )  # fmt: skip
        batch.rel("HAS_SUBUNIT", ("Equipment", tag), ("Subunit", subunit_id), where=(row.line, "tag"))
        batch.rel("HAS_COMPONENT", ("Subunit", subunit_id), ("Component", component_id), where=where)
        part = row.get("part_number").upper()
        if part:
            quantity = parse_int(row, "quantity", problems, low=1) if row.get("quantity") else 1
            batch.rel("HAS_PART", ("Component", component_id), ("SparePart", part), {"quantity": quantity},
                      where=(row.line, "part_number"))  # fmt: skip
    return batch


def read_spare_parts(path: Path, source: str, mapping: SheetMapping | None = None) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    rows = read_mapped(path, PART_COLUMNS, problems, mapping)
    batch.mapping = dict(getattr(rows, "mapping", {}))
    for row in rows:
        batch.row = row.line
        part = row.get("part_number").upper()
        if not part:
            problems.add(row.line, "part_number", "is empty")
            continue
        batch.node(
            "SparePart", part,
            {"name": row.get("name"), "manufacturer": row.get("manufacturer"), "unit": row.get("unit")},
            (row.line, "part_number"),
        )  # fmt: skip
    return batch


def read_sensors(path: Path, source: str, mapping: SheetMapping | None = None) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    rows = read_mapped(path, SENSOR_COLUMNS, problems, mapping)
    batch.mapping = dict(getattr(rows, "mapping", {}))
    for row in rows:
        batch.row = row.line
        sensor, tag = row.get("sensor_id").upper(), row.get("tag").upper()
        if not (sensor and tag):
            problems.add(row.line, "sensor_id/tag", "sensor_id and tag must be given")
            continue
        alarm, trip = parse_float(row, "alarm_high", problems), parse_float(row, "trip_high", problems)
        if alarm is not None and trip is not None and trip < alarm:
            problems.add(row.line, "trip_high", f"trip {trip} is below alarm {alarm}")
        batch.node(
            "Sensor", sensor,
            {"name": row.get("name"), "measures": row.get("measures"), "unit": row.get("unit"),
             "alarm_high": alarm, "trip_high": trip, "equipment": tag},
            (row.line, "sensor_id"),
        )  # fmt: skip
        component = row.get("component").upper()
        target = ("Component", f"{tag}/{component}") if component else ("Equipment", tag)
        batch.rel("MONITORS", ("Sensor", sensor), target, where=(row.line, "component" if component else "tag"))
    return batch
