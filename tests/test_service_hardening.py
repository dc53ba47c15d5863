"""The service's access and load edges (issue 25), on the real agent over the sample plant: whose
traces a key reads, what an unknown key costs, how often /readyz probes, that approvals waiting on a
decision lock leave the conversation memory's pool alone, and that a dependency's internals (socket
paths, hosts) reach the log, with an error id, and never the client."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid

import psycopg
import pytest

from maintgraph.errors import MaintgraphError, ServiceUnavailable
from maintgraph.services import Services

from .conftest import served

DIAGNOSIS = "P-101 drive-end bearing is running hot after greasing, what should I check?"
# What libpq says when the server is away: the socket's path is this machine's business.
LIBPQ = ('trace store (Postgres) unreachable: connection failed: connection to server on socket '
         '"/tmp/mg-secret/run/pg/.s.PGSQL.5432" failed: FATAL:  role "svc" is not permitted to log in '
         '(host=db.plant.internal port=5432)')  # fmt: skip
ERROR_ID = re.compile(r"error id ([0-9a-f]{12})")


@pytest.fixture(scope="module")
def api(plant_settings):
    settings = plant_settings.model_copy(update={"api_max_concurrent": 1, "api_max_waiting": 0,
                                                 "api_queue_wait_s": 1.0})  # fmt: skip
    with served(settings) as opened:
        yield opened


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_key_reads_only_its_own_conversations_traces_and_the_auditor_scope_reads_every_one(api):
    client, service, keys = api
    owner, other = keys.create("owner", ["ask", "traces"], 1000)[1], keys.create("other", ["ask", "traces"], 1000)[1]
    run = client.post("/v1/agent/runs", json={"question": DIAGNOSIS}, headers=bearer(owner))
    assert run.status_code == 200, run.text
    mine = run.json()["trace_id"]
    slack = service.ask(DIAGNOSIS, f"slack/T0PLANT/C0MAINT/{time.time():.6f}").trace_id  # posted in a channel

    assert client.get(f"/v1/traces/{mine}", headers=bearer(owner)).status_code == 200
    for trace_id in (mine, slack):  # another key's, and a chat bot's: as if there were none
        refused = client.get(f"/v1/traces/{trace_id}", headers=bearer(other))
        assert refused.status_code == 404 and refused.json()["error"]["message"] == f"no trace {trace_id}"

    auditor = keys.create("audit", ["auditor"], 1000)[1]
    for trace_id in (mine, slack):
        read = client.get(f"/v1/traces/{trace_id}", headers=bearer(auditor))
        assert read.status_code == 200 and read.json()["question"] == DIAGNOSIS


def test_readiness_is_checked_at_most_once_per_cache_period(api, monkeypatch):
    client = api[0]
    probes = []
    real = Services.status

    def counted(self, *args, **kwargs):
        probes.append(time.monotonic())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Services, "status", counted)
    time.sleep(2.1)  # whatever an earlier test left cached has expired
    answers = [client.get("/readyz") for _ in range(10)]
    assert all(a.status_code == 200 and a.json()["ready"] for a in answers)
    assert len(probes) == 1  # the other nine came from the cache (api_ready_cache_s, 2 s)
    time.sleep(2.1)
    assert client.get("/readyz").status_code == 200 and len(probes) == 2


def test_an_unknown_key_costs_no_write_and_a_repeated_one_no_lookup(api, plant_settings):
    from fastapi.testclient import TestClient

    from maintgraph.apps.api import create_app
    from maintgraph.apps.keys import KeyStore

    client, service, keys = api
    real_id, real_secret = keys.create("real", ["ask"], 1000)
    bogus = "mg_abcdefgh_" + "x" * 43
    wrong_secret = f"mg_{real_id.id}_" + "y" * 43

    # A store whose role may only read the keys: an unknown key, or a known id with a wrong
    # secret, must not need to write (a flood of them would cost a write each).
    conninfo = Services(plant_settings).pg_conninfo()
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS mg_keys_reader")
        admin.execute("CREATE ROLE mg_keys_reader LOGIN")
        admin.execute("GRANT SELECT ON api_keys TO mg_keys_reader")
        reader = KeyStore(f"{conninfo} user=mg_keys_reader", connect_timeout_s=2)
        try:
            with TestClient(create_app(plant_settings, service, reader)) as read_only:
                for presented in (bogus, wrong_secret):
                    answer = read_only.get("/v1/models", headers=bearer(presented))
                    assert answer.status_code == 401, answer.text
        finally:
            reader.close()
            admin.execute("DROP OWNED BY mg_keys_reader")
            admin.execute("DROP ROLE mg_keys_reader")

    # The same unknown key again and again: answered without asking the database each time.
    before = keys.pool.get_stats().get("requests_num", 0)
    assert all(client.get("/v1/models", headers=bearer(bogus)).status_code == 401 for _ in range(20))
    assert keys.pool.get_stats().get("requests_num", 0) - before <= 1

    # A real key's last use is recorded, but not rewritten on every request.
    def last_used() -> object:
        with psycopg.connect(conninfo) as conn:
            return conn.execute("SELECT last_used_at FROM api_keys WHERE id = %s", [real_id.id]).fetchone()[0]

    assert client.get("/v1/models", headers=bearer(real_secret)).status_code == 200
    first = last_used()
    assert first is not None
    assert client.get("/v1/models", headers=bearer(real_secret)).status_code == 200
    assert last_used() == first


def test_a_dependency_s_internals_reach_the_log_with_an_error_id_never_the_client(api, monkeypatch, caplog):
    client, service, keys = api
    reader = keys.create("reader", ["ask", "traces"], 1000)[1]

    def down(*args: object, **kwargs: object) -> None:
        raise ServiceUnavailable(LIBPQ)

    monkeypatch.setattr(service, "trace", down)
    with caplog.at_level(logging.ERROR, logger="maintgraph.apps.api"):
        refused = client.get(f"/v1/traces/{uuid.uuid4()}", headers=bearer(reader))
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
    error = refused.json()["error"]
    for secret in ("/tmp/mg-secret", ".s.PGSQL", "db.plant.internal", "svc"):
        assert secret not in refused.text
    error_id = ERROR_ID.search(error["message"])[1]
    assert error["id"] == error_id and error["type"] == "service_unavailable"
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and "/tmp/mg-secret/run/pg/.s.PGSQL.5432" in logged[0].getMessage()

    # The same for a turn that fails after its stream has started.
    def failing(*args: object, **kwargs: object):
        yield from ()
        raise ServiceUnavailable(LIBPQ)

    monkeypatch.setattr(service, "stream", failing)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="maintgraph.apps.api"):
        streamed = client.post("/v1/agent/runs/stream", json={"question": DIAGNOSIS}, headers=bearer(reader))
    assert streamed.status_code == 200 and "event: error" in streamed.text
    assert ".s.PGSQL" not in streamed.text and "db.plant.internal" not in streamed.text
    sent = json.loads(streamed.text.split("event: error\ndata: ", 1)[1].split("\n", 1)[0])["error"]
    assert sent["code"] == "503" and any(sent["id"] in r.getMessage() and ".s.PGSQL" in r.getMessage()
                                         for r in caplog.records)  # fmt: skip


def test_decisions_waiting_on_a_conversation_lock_leave_the_memory_pool_free(assistant, plant_settings):
    # Four decisions (one per conversation) wait while another process holds their conversations'
    # decision locks: the conversation memory must still answer everyone else.
    threads = [f"lock-test/{uuid.uuid4().hex[:8]}" for _ in range(4)]
    outcomes: list[object] = []
    with psycopg.connect(Services(plant_settings).pg_conninfo(), autocommit=True) as holder:
        for thread in threads:
            holder.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"maintgraph-decision/{thread}"])

        def decide(thread: str) -> None:
            try:
                assistant.decide_now(thread, True, "J. Smith")
            except MaintgraphError as exc:
                outcomes.append(exc)

        deciding = [threading.Thread(target=decide, args=(t,), daemon=True) for t in threads]
        for worker in deciding:
            worker.start()
        time.sleep(1.5)  # each is waiting for its lock now
        answered: list[object] = []
        reader = threading.Thread(target=lambda: answered.append(assistant.pending("lock-test/another")), daemon=True)
        reader.start()
        reader.join(timeout=8)
        free = not reader.is_alive()
        for thread in threads:
            holder.execute("SELECT pg_advisory_unlock(hashtext(%s))", [f"maintgraph-decision/{thread}"])
        for worker in deciding:
            worker.join(timeout=60)
        reader.join(timeout=60)
    assert free, "the conversation memory's pool was held by decisions waiting for their locks"
    assert answered == [None]
    assert len(outcomes) == 4 and all("no work-order draft waiting" in str(o) for o in outcomes)
