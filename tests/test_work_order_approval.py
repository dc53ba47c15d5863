"""One work order per approved request, through the assistant: a paused run approved again after a crash.

The crash is the one the decision lock cannot cover: the first decision's submission was committed
in the CMMS, then the process died before the checkpoint recorded it, so the run is still paused
and a second person approves it again. The approval reference names the paused run alone, so the
second approval finds the work order the first one created.
"""

from __future__ import annotations

import uuid

import psycopg

from maintgraph.agent.session import Assistant


def _count(conninfo: str, tag: str) -> int:
    with psycopg.connect(conninfo) as conn:
        return conn.execute("SELECT count(*) FROM work_orders WHERE asset_tag = %s", [tag]).fetchone()[0]


class _DiesBeforeTheCheckpoint(Assistant):
    """Makes the decision (the token the face would resume with) and stops there, as a crash would."""

    def __init__(self, assistant: Assistant) -> None:
        super().__init__(assistant.context, assistant.graph.checkpointer, None, assistant.approvals)
        self.tokens: list[str] = []

    def _run(self, payload, thread_id, question, decision=None):
        self.tokens.append(payload.resume["token"])
        return iter(())


def test_a_second_approval_by_another_person_after_a_crash_creates_no_second_work_order(assistant, plant_settings):
    from maintgraph.services import Services
    from maintgraph.tools.cmms import WorkOrderDraft

    conninfo = Services(plant_settings).pg_conninfo()
    conversation = f"t-{uuid.uuid4().hex[:10]}"
    before = _count(conninfo, "P-102")
    paused = assistant.ask("Raise a work order for the seal leak on P-102", conversation)
    draft = WorkOrderDraft.model_validate(paused.awaiting["draft"])
    crashed = _DiesBeforeTheCheckpoint(assistant)
    list(crashed.decide(conversation, True, "J. Smith"))
    first = assistant.context.cmms.submit_work_order(draft, crashed.tokens[0])  # committed; then the crash
    assert assistant.pending(conversation) is not None  # the checkpoint never saw it: still paused
    result = assistant.decide_now(conversation, True, "A. Jones")  # after the restart, someone else approves
    assert result.submitted and result.submitted["number"] == first["number"]
    assert _count(conninfo, "P-102") == before + 1
    assert assistant.pending(conversation) is None
