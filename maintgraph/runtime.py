"""How a long-running maintgraph process treats its heap once it has started (issue 27).

The assistant's start-up loads what the process keeps until it exits: Presidio and spaCy's
pipeline, the router's and linker's tables, the drivers. CPython's cyclic garbage collector
walks every tracked object on each full (generation 2) collection: a few hundred thousand
objects cost 50-90 ms per pass here. A graph query that parses a few thousand result objects
pushes enough survivors into generation 2 to trigger such a pass in ~1 call in 10, so the
pass, not the database, set the p95 of ``symptom_causes`` and ``shared_components``
(90-95 ms at 112k nodes; bench/graph_bench.py). Freezing the start-up heap (``gc.freeze``)
moves it out of the collector's sight: later passes walk only what was allocated since, and
reference counting still frees everything as before. Objects in cycles that die after the
freeze are not reclaimed; start-up state lives as long as the process anyway.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

settled: list[int] = []  # objects frozen by each settle_heap() of this process, in order


def settle_heap() -> int:
    """Collect the start-up garbage, then freeze everything still alive out of the collector's
    full passes. Call once a process has loaded what it keeps (the assistant's start-up does);
    calling again (a second model profile opened) freezes what was loaded since. Returns the
    number of objects now frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    settled.append(frozen)
    log.info("start-up heap frozen: %d objects out of the garbage collector's full passes", frozen)
    return frozen
