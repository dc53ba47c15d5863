"""The process's start-up heap is frozen out of the garbage collector's full passes (issue 27)."""

import gc

from maintgraph import runtime


def test_settle_heap_freezes_what_is_alive_and_keeps_collecting():
    kept = [object() for _ in range(3)]
    try:
        gc.unfreeze()
        frozen = runtime.settle_heap()
        # other threads (the session's servers' clients) may free a frozen object meanwhile
        assert frozen > len(kept) and gc.get_freeze_count() >= frozen * 0.99
        assert runtime.settled[-1] == frozen
        assert gc.isenabled()  # later garbage is still collected; only the start-up heap is out of sight
    finally:
        gc.unfreeze()
    assert kept


def test_the_assistants_start_up_freezes_its_heap_once(plant_settings, monkeypatch):
    # open_assistant is the start-up the service (AgentService) and the CLI (`maintgraph ask`,
    # `maintgraph chat`) share: the graph queries' p95 depends on it freezing the heap.
    from maintgraph.agent.session import open_assistant

    calls = []
    monkeypatch.setattr(runtime, "settle_heap", lambda: calls.append("settled") or 0)
    opened = open_assistant(plant_settings, use_model=False)
    opened.close()
    assert calls == ["settled"]
