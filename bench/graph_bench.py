"""Knowledge-graph benchmark: load ~100k nodes / ~300k relationships, then run every named query.

    .venv/bin/python bench/graph_bench.py [--equipment 2850] [--runs 200]

Starts its own embedded services in a temporary directory. Loads a synthetic plant-shaped
graph (equipment with subunits, components, parts, sensors, FMEA entries, causes, symptoms,
procedures, LOTO and work orders) through the product's loader path (GraphBatch + commit:
MERGE on natural keys, lineage, all-or-nothing source transactions), and compares it with a
baseline measured in the same run: the same rows written by plain UNWIND ... CREATE through
the raw client. Then opens the assistant as the service and the CLI do (``open_assistant``,
no model server) and runs each multi-hop query ``--runs`` times on FalkorDB and through the
Bolt path (the neo4j driver and the Neo4j adapter against tests/bolt_falkordb.py), in that
default runtime (the start-up heap as ``open_assistant`` leaves it: frozen by
maintgraph.runtime) and, in the same run, in the baseline runtime (that heap unfrozen, as
before issue 27). The bench freezes nothing itself. Prints p50/p95 per query in both, their
p95 ratio, and which runtime it measured. Results are also written to bench/results/graph.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from maintgraph.config import Settings  # noqa: E402
from maintgraph.graph import queries  # noqa: E402
from maintgraph.graph.falkordb import FalkorDBStore  # noqa: E402
from maintgraph.graph.loaders import ensure_vocabulary  # noqa: E402
from maintgraph.graph.loaders.batch import GraphBatch, commit  # noqa: E402
from maintgraph.graph.loaders.tabular import Problems  # noqa: E402
from maintgraph.graph.loaders.vocab import build_batch as build_vocab_batch  # noqa: E402
from maintgraph.graph.schema import node_type  # noqa: E402
from maintgraph.graph.store import open_graph_store  # noqa: E402
from maintgraph.services import Services  # noqa: E402

MODES = ["VIB", "OHE", "ELP", "NOI", "BRD", "LOO", "PLU", "FTS"]
CLASSES = ["PU", "EM", "HE", "VA", "AG", "VE", "TA", "IC"]


def synthetic_batches(n_equipment: int, seed: int = 7) -> list[GraphBatch]:
    """One batch per source kind, shaped like the sample plant but ~100x larger."""
    rng = random.Random(seed)
    batches = {name: GraphBatch(name, Problems(name)) for name in ("parts", "assets", "fmea", "work", "loto")}
    parts, assets, fmea, work, loto = batches.values()
    for p in range(2000):
        parts.node("SparePart", f"SP-{p:05d}", {"name": f"part {p}"})
    assets.node("Site", "S1", {"name": "Bench site"})
    causes = [f"cause-{i}" for i in range(500)]
    symptoms = [f"symptom-{i}" for i in range(200)]
    for c in causes:
        fmea.node("Cause", c, {"name": c.replace("-", " ")})
    for s in symptoms:
        fmea.node("Symptom", s, {"name": s.replace("-", " ")})
    for i in range(n_equipment):
        tag, system = f"E-{i:05d}", f"SYS-{i // 100}"
        cls = CLASSES[i % len(CLASSES)]
        assets.node("System", system, {"name": system})
        assets.rel("HAS_SYSTEM", ("Site", "S1"), ("System", system))
        assets.node("Equipment", tag, {"name": f"equipment {i}", "class_code": cls})
        assets.rel("HAS_EQUIPMENT", ("System", system), ("Equipment", tag))
        assets.rel("OF_CLASS", ("Equipment", tag), ("EquipmentClass", cls))
        if i % 2 == 1:
            assets.rel("DRIVES", ("Equipment", f"E-{i - 1:05d}"), ("Equipment", tag))
        sensor = f"{tag}/VT"
        assets.node("Sensor", sensor, {"name": "vibration", "alarm_high": 7.1})
        components = []
        for su in range(2):
            subunit = f"{tag}/SU{su}"
            assets.node("Subunit", subunit, {"name": f"subunit {su}"})
            assets.rel("HAS_SUBUNIT", ("Equipment", tag), ("Subunit", subunit))
            for c in range(3):
                component = f"{tag}/C{su}{c}"
                components.append(component)
                assets.node("Component", component, {"name": f"component {su}{c}", "code": f"C{su}{c}"})
                assets.rel("HAS_COMPONENT", ("Subunit", subunit), ("Component", component))
                assets.rel("HAS_PART", ("Component", component), ("SparePart", f"SP-{rng.randrange(2000):05d}"))
        assets.rel("MONITORS", ("Sensor", sensor), ("Component", components[0]))
        for f in range(8):
            component, mode = components[f % 6], MODES[(i + f) % len(MODES)]
            entry = f"{component}/{mode}/{f}"
            s, o, d = rng.randint(1, 10), rng.randint(1, 10), rng.randint(1, 10)
            fmea.node("FMEAEntry", entry, {"severity": s, "occurrence": o, "detection": d, "rpn": s * o * d,
                                           "action_priority": "M"})  # fmt: skip
            fmea.rel("HAS_FMEA", ("Component", component), ("FMEAEntry", entry))
            fmea.rel("FOR_MODE", ("FMEAEntry", entry), ("FailureMode", mode))
            fmea.rel("CAN_FAIL_BY", ("Component", component), ("FailureMode", mode))
            fmea.rel("CAUSED_BY", ("FMEAEntry", entry), ("Cause", rng.choice(causes)))
            for symptom in rng.sample(symptoms, 2):
                fmea.rel("MANIFESTS_AS", ("FMEAEntry", entry), ("Symptom", symptom))
            fmea.rel("DETECTED_BY", ("FMEAEntry", entry), ("Sensor", sensor))
        for w in range(20):
            number = f"WO-{i:05d}-{w:02d}"
            work.node("WorkOrder", number, {"description": "BRG HOT", "wo_type": "CM"})
            work.rel("RECORDED_FOR", ("WorkOrder", number), ("Equipment", tag))
            if w % 2 == 0:
                work.rel("RECORDED_FOR", ("WorkOrder", number), ("FailureMode", MODES[w % len(MODES)]))
        if i % 10 == 0:
            loto_id = f"LOTO-{i:05d}"
            loto.node("LOTOProcedure", loto_id, {"name": f"isolate {tag}", "steps": ["lock", "verify"]})
            loto.node("Procedure", f"PR-{i:05d}", {"name": f"fix {tag}", "steps": ["apply LOTO", "replace"]})
            loto.rel("REQUIRES_LOTO", ("Procedure", f"PR-{i:05d}"), ("LOTOProcedure", loto_id))
            for j in range(10):
                target = f"E-{i + j:05d}"
                if i + j < n_equipment:
                    loto.rel("ISOLATES", ("LOTOProcedure", loto_id), ("Equipment", target))
                    loto.rel("APPLIES_TO_EQUIPMENT", ("Procedure", f"PR-{i:05d}"), ("Equipment", target))
            for mode in MODES[:4]:
                loto.rel("RESOLVED_BY", ("FailureMode", mode), ("Procedure", f"PR-{i:05d}"))
            loto.rel("REQUIRES_PART", ("Procedure", f"PR-{i:05d}"), ("SparePart", f"SP-{i % 2000:05d}"))
            energy, point = f"{loto_id}/E1", f"MCC-{i:05d}"
            loto.node("EnergySource", energy, {"name": "motor supply", "kind": "electrical"})
            loto.node("IsolationPoint", point, {"name": "breaker", "method": "lock off"})
            loto.rel("CONTROLS_ENERGY", ("LOTOProcedure", loto_id), ("EnergySource", energy))
            loto.rel("REQUIRES_ISOLATION", ("EnergySource", energy), ("IsolationPoint", point), {"step": 1})
    return list(batches.values())


def _count(batches: list[GraphBatch]) -> tuple[int, int]:
    return (sum(len(v) for b in batches for v in b.nodes.values()),
            sum(len(v) for b in batches for v in b.rels.values()))  # fmt: skip


def load_with_product(store, batches: list[GraphBatch]) -> float:
    started = time.perf_counter()
    for batch in batches:
        commit(store, batch)
    return time.perf_counter() - started


def load_baseline(graph, batches: list[GraphBatch]) -> float:
    """The same rows with plain UNWIND ... CREATE: no MERGE, no lineage, no checks, no transaction."""
    started = time.perf_counter()
    for batch in batches:
        for label, nodes in batch.nodes.items():
            rows = [{"key": k, "props": p} for k, p in nodes.items()]
            for i in range(0, len(rows), 2000):
                graph.query(f"UNWIND $rows AS row CREATE (n:{label} {{{node_type(label).key}: row.key}}) "
                            "SET n += row.props", {"rows": rows[i : i + 2000]})  # fmt: skip
    for batch in batches:
        for (rel, start, end), pairs in batch.rels.items():
            rows = [{"s": s, "e": e} for (s, e) in pairs]
            for i in range(0, len(rows), 2000):
                graph.query(f"UNWIND $rows AS row MATCH (a:{start} {{{node_type(start).key}: row.s}}) "
                            f"MATCH (b:{end} {{{node_type(end).key}: row.e}}) CREATE (a)-[:{rel}]->(b)",
                            {"rows": rows[i : i + 2000]})  # fmt: skip
    return time.perf_counter() - started


def query_calls(n_equipment: int, rng: random.Random) -> dict[str, object]:
    def tag() -> str:
        return f"E-{rng.randrange(n_equipment):05d}"

    def fixable() -> tuple[str, str]:
        return f"E-{rng.randrange(n_equipment // 10) * 10:05d}", "VIB"

    return {
        "equipment_neighbourhood": lambda s: queries.equipment_neighbourhood(s, tag()),
        "failure_modes": lambda s: queries.failure_modes(s, tag()),
        "symptom_causes": lambda s: queries.symptom_causes(s, tag(), "symptom 7"),
        "failure_mode_fix": lambda s: queries.failure_mode_fix(s, *fixable()),
        "shared_components": lambda s: queries.shared_components(s, tag()),
        "paths_between": lambda s: queries.paths_between(s, f"Equipment:{tag()}", "Equipment:E-00000", max_hops=4),
    }


class FullCollections:
    """The garbage collector's full (generation 2) passes while in the block, and their pauses."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self._started = 0.0

    def _observe(self, phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                self._started = time.perf_counter()
            else:
                self.pauses_ms.append((time.perf_counter() - self._started) * 1000)

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._observe)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._observe)


def time_queries(store, n_equipment: int, runs: int) -> dict[str, dict[str, float]]:
    """p50/p95/p99 per query over ``runs`` calls (after one warm-up call), in the process as it
    is: the bench freezes nothing itself. Also the full collections that landed in the calls."""
    results: dict[str, dict[str, float]] = {}
    for name, call in query_calls(n_equipment, random.Random(11)).items():
        call(store)  # warm up
        samples = []
        with FullCollections() as full:
            for _ in range(runs):
                started = time.perf_counter()
                call(store)
                samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        results[name] = {"p50_ms": statistics.median(samples), "p95_ms": samples[int(0.95 * (len(samples) - 1))],
                         "p99_ms": samples[int(0.99 * (len(samples) - 1))], "max_ms": samples[-1],
                         "full_gc_passes": len(full.pauses_ms),
                         "full_gc_mean_ms": statistics.fmean(full.pauses_ms) if full.pauses_ms else 0.0}  # fmt: skip
    return results


def in_both_runtimes(store, n_equipment: int, runs: int) -> dict[str, dict[str, dict[str, float]]]:
    """The queries in the product's default runtime (the heap as the assistant's start-up left it),
    then the baseline in the same process: that heap unfrozen, as the product ran before issue 27
    (every full collection walks the start-up objects), then frozen back."""
    default = time_queries(store, n_equipment, runs)
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    try:
        baseline = time_queries(store, n_equipment, runs)
    finally:
        if frozen:
            gc.freeze()  # gc.freeze() froze all of it at start-up; this freezes the same and the little since
    return {"default": default, "baseline": baseline}


def open_runtime(settings: Settings) -> tuple[object, str]:
    """The service's and the CLI's start-up (``open_assistant``: guards, linker, stores; no model
    server), and a description of the heap it leaves."""
    from maintgraph import runtime
    from maintgraph.agent.session import open_assistant

    started = time.perf_counter()
    assistant = open_assistant(settings, use_model=False)
    seconds = time.perf_counter() - started
    if runtime.settled:
        state = f"start-up heap frozen by maintgraph.runtime.settle_heap ({gc.get_freeze_count():,} objects)"
    else:
        state = f"start-up heap not frozen ({len(gc.get_objects()):,} tracked objects)"
    guards = "guards on (Presidio, spaCy loaded)" if settings.guard_enabled else "guards off"
    described = (f"product default runtime: open_assistant(use_model=False) as `maintgraph serve` and "
                 f"`maintgraph ask` start ({seconds:.1f} s, {guards}); {state}; "
                 f"GC thresholds {gc.get_threshold()}")  # fmt: skip
    return assistant, described


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--equipment", type=int, default=2850)  # ~112k nodes, ~300k relationships
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--skip-bolt-load", action="store_true", help="time the Bolt path without loading through it")
    args = parser.parse_args()

    import neo4j

    from maintgraph.graph.neo4j import Neo4jStore
    from tests.bolt_falkordb import BoltServer

    data_dir = Path(tempfile.mkdtemp(prefix="mgb-", dir="/tmp"))
    settings = Settings(data_dir=data_dir, graph_name=f"bench_{uuid.uuid4().hex[:6]}")
    services = Services(settings)
    services.up(llm=False)
    report: dict[str, object] = {"equipment": args.equipment, "runs": args.runs}
    assistant = None
    try:
        client = services.falkordb.client()
        batches = synthetic_batches(args.equipment)
        nodes, rels = _count(batches)
        report["nodes"], report["relationships"] = nodes, rels
        print(f"synthetic graph: {nodes:,} nodes, {rels:,} relationships ({args.equipment} equipment)")

        baseline_graph = client.select_graph(f"baseline_{uuid.uuid4().hex[:6]}")
        for label in ("Equipment", "Component", "Subunit", "FMEAEntry", "WorkOrder", "SparePart", "Sensor", "Cause",
                      "Symptom", "FailureMode", "EquipmentClass", "System", "Site", "Procedure", "LOTOProcedure",
                      "EnergySource", "IsolationPoint"):  # fmt: skip
            baseline_graph.query(f"CREATE INDEX FOR (n:{label}) ON (n.{node_type(label).key})")
        base_s = load_baseline(baseline_graph, [build_vocab_batch(), *batches])
        baseline_graph.delete()

        # The graph the assistant reads: settings.graph_name, as `maintgraph graph load` fills it.
        store = FalkorDBStore(client, settings.graph_name)
        store.ensure_schema()
        ensure_vocabulary(store)
        load_s = load_with_product(store, batches)
        rate, base_rate = (nodes + rels) / load_s, (nodes + rels) / base_s
        report["load"] = {"seconds": load_s, "rows_per_s": rate, "baseline_rows_per_s": base_rate}
        print(f"load (product path, FalkorDB): {load_s:.1f} s = {rate:,.0f} rows/s; "
              f"baseline plain CREATE: {base_rate:,.0f} rows/s; ratio product/baseline = {rate / base_rate:.2f} "
              f"(target >= 20,000 rows/s: {'met' if rate >= 20000 else 'NOT met'})")  # fmt: skip
        del batches

        bolt = BoltServer(str(services.dirs.falkordb_socket), store.graph_name).start()
        driver = neo4j.GraphDatabase.driver(bolt.uri, auth=("neo4j", "bench"))
        if not args.skip_bolt_load:
            bolt_graph = f"bolt_{uuid.uuid4().hex[:6]}"
            neo_load = Neo4jStore(driver, database=bolt_graph)
            neo_load.ensure_schema()
            ensure_vocabulary(neo_load)
            bolt_load = load_with_product(neo_load, synthetic_batches(args.equipment))
            report["load_bolt"] = {"seconds": bolt_load, "rows_per_s": (nodes + rels) / bolt_load}
            print(f"load (Neo4j adapter via Bolt): {bolt_load:.1f} s = {(nodes + rels) / bolt_load:,.0f} rows/s")
            client.connection.delete(bolt_graph)

        # Loads are another process in the product (`maintgraph graph load`); the serving process
        # starts after them and holds none of their rows.
        gc.collect()
        assistant, runtime = open_runtime(settings)
        report["runtime"] = runtime
        print(f"\nruntime measured: {runtime}\nbaseline (same run): the same heap unfrozen (gc.unfreeze()), "
              "as the product ran before issue 27")  # fmt: skip
        falkor_q = in_both_runtimes(open_graph_store(settings), args.equipment, args.runs)
        neo = Neo4jStore(driver, database=store.graph_name)
        bolt_q = in_both_runtimes(neo, args.equipment, args.runs)
        driver.close()
        bolt.stop()

        print(f"\n{'':26} {'FalkorDB p50 / p95 ms':^40} {'Bolt (Neo4j adapter) p50 / p95 ms':^40}")
        print(f"{'query':26} {'default':>15} {'baseline':>15} {'p95 x':>7} {'default':>15} {'baseline':>15} "
              f"{'p95 x':>7}  target p95 < 20 ms (FalkorDB, default)")  # fmt: skip
        for name in falkor_q["default"]:
            row = f"{name:26}"
            for q in (falkor_q, bolt_q):
                d, b = q["default"][name], q["baseline"][name]
                row += (f" {d['p50_ms']:6.2f} / {d['p95_ms']:6.2f} {b['p50_ms']:6.2f} / {b['p95_ms']:6.2f} "
                        f"{b['p95_ms'] / d['p95_ms']:6.2f}x")  # fmt: skip
            met = falkor_q["default"][name]["p95_ms"] < 20
            print(f"{row}  {'met' if met else 'NOT met'}")
        print("p95 x = baseline p95 / default p95 (how many times faster the default runtime's p95 is)")
        print(f"\n{'FalkorDB tail':26} {'p99 / max ms, full GC passes x mean ms':^44}")
        for name in falkor_q["default"]:
            row = f"{name:26}"
            for runtime_name in ("default", "baseline"):
                r = falkor_q[runtime_name][name]
                row += (f" {runtime_name}: {r['p99_ms']:6.1f} / {r['max_ms']:6.1f}, "
                        f"{r['full_gc_passes']:2d} x {r['full_gc_mean_ms']:5.1f}")  # fmt: skip
            print(row)
        report["queries_falkordb"], report["queries_bolt"] = falkor_q, bolt_q
        store.clear()
    finally:
        if assistant is not None:
            assistant.close()
        services.down()
    out = REPO / "bench" / "results" / "graph.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
