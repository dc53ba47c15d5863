"""The HTTP service (maintgraph serve): keys, the OpenAI-compatible and agent routes, approvals,
traces, limits, health and metrics, on the real agent over the sample plant; a schemathesis run
over its OpenAPI schema; the served process itself."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from maintgraph.services import Services

from .conftest import cli_env, free_port, run_cli, served

DIAGNOSIS = "P-101 drive-end bearing is running hot after greasing, what should I check?"


@pytest.fixture(scope="module")
def api_settings(plant_settings):
    # One turn at a time and nobody queued: a held slot makes the next turn a 503 at once.
    return plant_settings.model_copy(update={"api_max_concurrent": 1, "api_max_waiting": 0, "api_queue_wait_s": 1.0,
                                             "api_max_body_bytes": 4096})  # fmt: skip


@pytest.fixture(scope="module")
def api(api_settings):
    with served(api_settings) as opened:
        yield opened


@pytest.fixture(scope="module")
def client(api):
    return api[0]


@pytest.fixture(scope="module")
def service(api):
    return api[1]


@pytest.fixture(scope="module")
def keys(api):
    return api[2]


def bearer(keys, *scopes: str, rate: int | None = 1000) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.create('test', list(scopes), rate)[1]}"}


# -- keys ------------------------------------------------------------------------------------------


def test_keys_are_stored_hashed_scoped_and_stop_working_when_revoked(client, api_settings):
    env = cli_env(api_settings)
    created = run_cli("keys", "create", "--name", "cmms-sync", "--scope", "ask", "--json", env=env)
    assert created.returncode == 0, created.stderr
    made = json.loads(created.stdout)
    secret, headers = made["key"], {"Authorization": f"Bearer {made['key']}"}

    models = client.get("/v1/models", headers=headers)
    assert models.status_code == 200 and models.json()["data"][0]["id"] == "maintgraph", models.text
    with psycopg.connect(Services(api_settings).pg_conninfo()) as conn:
        stored = conn.execute("SELECT * FROM api_keys WHERE id = %s", [made["id"]]).fetchone()
    assert secret.split("_", 2)[2] not in json.dumps(stored, default=str)  # only the hash is kept
    listed = run_cli("keys", "list", env=env)
    assert made["id"] in listed.stdout and "cmms-sync" in listed.stdout and secret not in listed.stdout

    refused = client.get("/v1/traces/00000000-0000-0000-0000-000000000000", headers=headers)
    assert refused.status_code == 403 and "lacks the 'traces' scope" in refused.json()["error"]["message"]
    for wrong in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {secret[:-1]}x"}):
        answer = client.get("/v1/models", headers=wrong)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"

    revoked = run_cli("keys", "revoke", made["id"], env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert client.get("/v1/models", headers=headers).status_code == 401
    unknown = run_cli("keys", "revoke", "zzzzzzzz", env=env)
    assert unknown.returncode != 0 and "no API key with id 'zzzzzzzz'" in unknown.stderr
    bad = run_cli("keys", "create", "--name", "x", "--scope", "admin", env=env)
    assert bad.returncode == 2 and "--scope must be some of ask, approve, traces, auditor, metrics" in bad.stderr


# -- the agent's routes -------------------------------------------------------------------------------


def test_an_agent_run_answers_with_citations_and_its_trace_can_be_read(client, keys):
    asker, auditor = bearer(keys, "ask", "traces"), bearer(keys, "auditor")
    run = client.post("/v1/agent/runs", json={"question": DIAGNOSIS}, headers=asker)
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["citations"] and all(c["id"] in body["answer"] for c in body["citations"])
    assert body["route"]["tags"] == ["P-101"] and body["trace_id"]

    for reader in (asker, auditor):  # its own conversation's; any conversation's
        trace = client.get(f"/v1/traces/{body['trace_id']}", headers=reader)
        assert trace.status_code == 200 and trace.json()["question"] == DIAGNOSIS
    assert client.get("/v1/traces/not-a-trace", headers=auditor).status_code == 404
    unknown = client.post("/v1/agent/runs", json={"question": DIAGNOSIS, "model": "gpt-4"}, headers=asker)
    assert unknown.status_code == 400 and "model 'gpt-4' is not served here" in unknown.json()["error"]["message"]


def test_chat_completions_work_with_the_openai_client_streamed_or_not_and_keep_the_thread(client, keys, service):
    from openai import OpenAI

    headers = bearer(keys, "ask")
    openai = OpenAI(base_url="http://testserver/v1", api_key=headers["Authorization"][7:], http_client=client)
    whole = openai.chat.completions.with_raw_response.create(
        model="maintgraph", messages=[{"role": "user", "content": DIAGNOSIS}]
    )
    thread = whole.headers["X-Thread-Id"]
    completion = whole.parse()
    cited = completion.model_dump()["maintgraph"]["citations"]
    assert cited and all(f"[{c['id']}]" in completion.choices[0].message.content for c in cited)

    follow_up = [{"role": "user", "content": "which parts does it need?"}]
    stream = openai.chat.completions.create(model="maintgraph", messages=follow_up, stream=True,
                                            extra_body={"thread_id": thread})  # fmt: skip
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    final = chunks[-1].model_dump()
    assert chunks[-1].choices[0].finish_reason == "stop" and streamed == final["maintgraph"]["answer"]
    assert final["maintgraph"]["route"]["tags"] == ["P-101"]  # "it" is the pump of the thread's first question
    key_id = headers["Authorization"].split("_")[1]
    assert len(service.assistant("maintgraph").history(f"api/{key_id}/{thread}")) == 2


def test_a_drafted_work_order_is_submitted_only_on_an_approval_by_a_key_that_may_approve(client, keys):
    asker, approver = bearer(keys, "ask"), bearer(keys, "ask", "approve")
    ask = {"question": "Raise a work order for the seal leak on P-101", "thread_id": "wo-1"}
    drafted = client.post("/v1/agent/runs", json=ask, headers=approver).json()
    assert drafted["awaiting"]["draft"]["asset_tag"] == "P-101" and drafted["submitted"] is None
    again = client.post("/v1/agent/runs", json={**ask, "question": "status?"}, headers=approver)
    assert again.status_code == 409  # the conversation waits for the decision

    decision = {"approved": True, "by": "J. Smith"}
    assert client.post("/v1/agent/threads/wo-1/resume", json=decision, headers=asker).status_code == 403
    other = bearer(keys, "approve")  # another key's "wo-1" is another conversation: nothing waits there
    assert client.post("/v1/agent/threads/wo-1/resume", json=decision, headers=other).status_code == 409
    done = client.post("/v1/agent/threads/wo-1/resume", json=decision, headers=approver)
    assert done.status_code == 200 and done.json()["submitted"]["number"].startswith("WO-")
    assert client.post("/v1/agent/threads/wo-1/resume", json=decision, headers=approver).status_code == 409


def test_with_the_model_the_run_stream_sends_progress_the_draft_then_the_checked_result(api_settings, vllm,
                                                                                          llm_settings):  # fmt: skip
    # Tokens and a budget enough for the model to rephrase at least one sentence (with fewer it is
    # rightly skipped and writes nothing: the composed answer is the answer).
    settings = api_settings.model_copy(update={"llm_port": llm_settings.llm_port, "llm_answer_tokens": 64,
                                               "agent_model_budget_s": 120.0})  # fmt: skip
    with served(settings, use_model=True) as (model_client, _, model_keys):
        events = []
        ask = {"question": DIAGNOSIS, "model": "maintgraph/base"}
        with model_client.stream("POST", "/v1/agent/runs/stream", json=ask,
                                 headers=bearer(model_keys, "ask")) as response:  # fmt: skip
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            for block in response.iter_text():
                events += [e for e in block.split("\n\n") if e.strip()]
        kinds = [e.split("\n", 1)[0].removeprefix("event: ") for e in events]
        assert kinds[0] == "node" and "draft" in kinds and kinds[-1] == "result"
        result = json.loads(events[-1].split("data: ", 1)[1])
        assert 0 < result["tokens"]["completion"] <= 64 and result["citations"]
        metrics = model_client.get("/metrics", headers=bearer(model_keys, "metrics")).text
        assert 'maintgraph_model_tokens_total{kind="completion"}' in metrics


# -- limits, health, metrics -----------------------------------------------------------------------------


def test_beyond_a_key_s_rate_capacity_or_body_size_requests_are_refused_with_when_to_retry(client, keys, service):
    limited = bearer(keys, "ask", rate=2)
    assert [client.get("/v1/models", headers=limited).status_code for _ in range(3)] == [200, 200, 429]
    over = client.get("/v1/models", headers=limited)
    assert over.status_code == 429 and 1 <= int(over.headers["Retry-After"]) <= 60

    asker = bearer(keys, "ask")
    with service.slot():  # the one slot is taken and nobody may queue
        busy = client.post("/v1/agent/runs", json={"question": DIAGNOSIS}, headers=asker)
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
    assert "busy" in busy.json()["error"]["message"]
    huge = client.post("/v1/agent/runs", content=json.dumps({"question": "x" * 5000}), headers=asker)
    assert huge.status_code == 413
    long = client.post("/v1/agent/runs", json={"question": "x" * 2001}, headers=asker)
    assert long.status_code == 422
    nul = client.post("/v1/agent/runs", json={"question": "P-101\u0000 hot"}, headers=asker)
    assert nul.status_code == 422 and "control character (U+0000) at position 6" in nul.json()["error"]["message"]

    personal = {"question": "P-101 is hot again, call Priya Raman on 07700 900123"}
    assert "Priya" not in client.post("/v1/agent/runs", json=personal, headers=asker).json()["answer"]

    metrics = client.get("/metrics", headers=bearer(keys, "metrics"))
    assert metrics.status_code == 200
    text = metrics.text
    assert 'maintgraph_http_requests_total{method="GET",route="/v1/models",status="429"} 2.0' in text
    assert "maintgraph_agent_busy_total 1.0" in text
    assert 'maintgraph_guard_actions_total{action="fixed",direction="input",guard="pii"} 1.0' in text
    assert client.get("/metrics", headers=asker).status_code == 403


def test_a_stream_dropped_before_or_while_it_runs_frees_its_slot(service):
    from maintgraph.errors import Busy, ConversationBusy

    unread = service.stream(DIAGNOSIS, "dropped-1")  # the client went away before the stream started
    with pytest.raises(Busy):
        service.ask(DIAGNOSIS, "while-held")  # one slot, nobody may queue: held by the unread stream
    with pytest.raises(ConversationBusy):
        service.ask(DIAGNOSIS, "dropped-1")  # and its conversation has a turn running
    del unread
    gc.collect()
    started = service.stream(DIAGNOSIS, "dropped-2")
    assert next(started).kind == "node"
    started.close()  # a client that disconnects mid-stream
    assert service.ask(DIAGNOSIS, "after").answer  # the slot came back each time


def test_a_client_that_hangs_up_mid_stream_gives_its_slot_back_without_the_garbage_collector(
    api_settings, service, keys
):
    import uvicorn

    from maintgraph.apps.api import create_app
    from maintgraph.errors import Busy

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(api_settings, service, keys), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    gc.disable()  # what frees the slot must be the server noticing, not a collection
    try:
        while not server.started:
            time.sleep(0.1)
        with httpx.stream("POST", f"http://127.0.0.1:{port}/v1/agent/runs/stream", json={"question": DIAGNOSIS},
                          headers=bearer(keys, "ask"), timeout=60) as response:  # fmt: skip
            assert response.status_code == 200
            assert next(response.iter_lines()) == "event: node"
        # hung up: the connection is closed with the turn still running
        deadline = time.monotonic() + 60
        while True:
            try:
                with service.slot():
                    break
            except Busy:
                assert time.monotonic() < deadline, "the slot of a stream whose client hung up was never freed"
                time.sleep(0.2)
    finally:
        gc.enable()
        server.should_exit = True
        thread.join(30)


def test_a_second_question_while_a_conversation_is_answering_gets_409(client, keys, service):
    key, secret = keys.create("test", ["ask"], 1000)
    running = service.stream(DIAGNOSIS, f"api/{key.id}/busy-thread")
    try:
        again = client.post("/v1/agent/runs", json={"question": "and the seal?", "thread_id": "busy-thread"},
                            headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    finally:
        running.close()
    assert again.status_code == 409 and again.json()["error"]["type"] == "conversation_busy"
    assert "still answering" in again.json()["error"]["message"]


def test_while_the_database_refuses_the_key_store_requests_get_503_and_then_work_again(api_settings, service,
                                                                                       keys):  # fmt: skip
    from fastapi.testclient import TestClient

    from maintgraph.apps.api import create_app
    from maintgraph.apps.keys import KeyStore

    conninfo = Services(api_settings).pg_conninfo()
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS mg_keys_test")
        admin.execute("CREATE ROLE mg_keys_test LOGIN")
        admin.execute("GRANT SELECT, UPDATE ON api_keys TO mg_keys_test")
        own_keys = KeyStore(f"{conninfo} user=mg_keys_test", connect_timeout_s=2)
        headers = bearer(keys, "ask")
        try:
            with TestClient(create_app(api_settings, service, own_keys)) as client:
                assert client.get("/v1/models", headers=headers).status_code == 200
                admin.execute("ALTER ROLE mg_keys_test NOLOGIN")  # as a database going down for the app
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mg_keys_test'")
                down = client.get("/v1/models", headers=headers)
                assert down.status_code == 503 and int(down.headers["Retry-After"]) >= 1, down.text
                error = down.json()["error"]  # in short, with the id it is logged under: libpq's text stays here
                assert "unavailable" in error["message"] and f"error id {error['id']}" in error["message"]
                admin.execute("ALTER ROLE mg_keys_test LOGIN")
                deadline = time.monotonic() + 60
                while (status := client.get("/v1/models", headers=headers).status_code) != 200:
                    assert status == 503 and time.monotonic() < deadline, status
                    time.sleep(1)
        finally:
            own_keys.close()
            admin.execute("DROP OWNED BY mg_keys_test")
            admin.execute("DROP ROLE mg_keys_test")


def test_health_and_readiness_need_no_key_and_readiness_names_each_dependency(client):
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["services"] == {"postgres": "running", "graph": "running"}


# -- the schema -----------------------------------------------------------------------------------------


def test_no_request_the_schema_allows_gets_a_server_error(client, keys):
    # Each operation of /openapi.json, fuzzed by schemathesis's strategies (schemathesis's own
    # pytest.from_fixture does not run on pytest 9: it writes a private attribute pytest removed).
    headers = bearer(keys, "ask", "approve", "traces", "metrics", rate=100_000)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    tried = []
    for found in schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            case.validate_response(case.call(headers=headers), checks=[not_a_server_error])

        no_server_error()
        tried.append(operation.label)
    assert "POST /v1/chat/completions" in tried and len(tried) >= 9


# -- the served process ------------------------------------------------------------------------------------


def test_maintgraph_serve_answers_over_http_and_stops_cleanly_on_sigterm(api_settings, keys):
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MAINTGRAPH_")}
    env = {**inherited, **cli_env(api_settings), "MAINTGRAPH_API_PORT": str(port)}
    exe = Path(sys.executable).with_name("maintgraph")
    server = subprocess.Popen([str(exe), "serve", "--no-model"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            server.kill()
            pytest.fail(f"maintgraph serve did not become ready:\n{server.communicate()[0]}")
        run = httpx.post(f"{base}/v1/agent/runs", json={"question": DIAGNOSIS}, headers=bearer(keys, "ask"),
                         timeout=120)  # fmt: skip
        assert run.status_code == 200 and run.json()["citations"]
        assert httpx.post(f"{base}/v1/agent/runs", json={"question": DIAGNOSIS}, timeout=10).status_code == 401
        schema = httpx.get(f"{base}/openapi.json", timeout=10).json()
        assert {"/v1/chat/completions", "/v1/agent/runs", "/v1/agent/runs/stream"} <= set(schema["paths"])
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0]
    # uvicorn shuts down (in-flight requests finish), then re-raises the signal it caught.
    assert server.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in output, output
