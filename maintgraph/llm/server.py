"""The embedded model server: vLLM in its own virtual environment, on 127.0.0.1.

``maintgraph llm serve`` (and ``maintgraph up``) starts it with the registered base model
(prepared into a plain HF folder) and every adapter registered for that base, with the CPU
settings DESIGN.md measured. Its pid file and log live under ``<data_dir>/vllm/``. Adapters can
be loaded and unloaded while it runs (vLLM's ``/v1/load_lora_adapter``), always hash-checked
and refused when trained on another base.

It requires an API key on every route but ``GET /health``: ``MAINTGRAPH_LLM_API_KEY`` when set,
else one generated on first start; the key it runs with is kept in ``<data_dir>/vllm/api-key``
(0600), where the clients of the same data directory read it
(:func:`maintgraph.connections.llm_api_key`). vLLM's own ``--api-key`` (given as ``VLLM_API_KEY``
in its environment, never on its command line) covers only ``/v1`` and a few other prefixes, not
the SageMaker routes it also mounts (``POST /adapters`` loads an adapter from any path): the
middleware in :mod:`maintgraph.llm.vllm_guard` closes every route.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import psutil

from maintgraph.config import Settings
from maintgraph.connections import DataDir, llm_api_key, llm_api_key_file
from maintgraph.errors import AddressInUse, ConfigError, ModelError, ServiceError
from maintgraph.llm.registry import ModelRegistry
from maintgraph.processes import LocalServer, ServiceStatus, alive, read_pid_file, tail, wait_for, write_pid_file

log = logging.getLogger(__name__)

MAX_LORA_RANK = 16
# LoRA slots beyond the registered adapters: one for an adapter loaded at run time, and one
# always left empty, because with every slot full vLLM's CPU LoRA code applies an adapter to
# base-model requests batched beside it (DESIGN.md).
SPARE_LORA_SLOTS = 2
ENTRYPOINT = "vllm.entrypoints.launchers.api_server.entry"
# Put on vLLM's PYTHONPATH; its middleware requires the API key on every route (module doc).
GUARD_DIR = Path(__file__).with_name("vllm_guard")
GUARD_MIDDLEWARE = "maintgraph_vllm_guard.RequireKey"
# Offline and quiet everywhere; adapters can be loaded while it runs.
ENV = {
    "VLLM_NO_USAGE_STATS": "1",
    "VLLM_DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
}
# DESIGN.md: vLLM's CPU build on the machine's two cores, with a 1 GiB KV cache.
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "0-1"}


def has_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None


class VLLMServer(LocalServer):
    name = "llm"

    def __init__(self, settings: Settings, registry: ModelRegistry | None = None) -> None:
        self.settings = settings
        self._registry = registry
        self.home = settings.data_dir / "vllm"
        self.pid_file = self.home / "server.pid"
        self.state_file = self.home / "served.json"  # base model and adapters of the running server
        self.log_file = settings.data_dir / "vllm.log"
        self.key_file = llm_api_key_file(settings)
        self.base_url = f"http://127.0.0.1:{settings.llm_port}/v1"

    @property
    def where(self) -> str:
        return self.base_url

    @property
    def registry(self) -> ModelRegistry:
        # Read when needed: a broken models.yaml must not stop `down` or `status`.
        if self._registry is None:
            self._registry = ModelRegistry(self.settings)
        return self._registry

    # -- process --------------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The server's pid, if the process in the pid file is still the vLLM this data dir started
        (same start time, vLLM's entry point): a pid reused after a reboot is never signalled."""
        record = read_pid_file(self.pid_file)
        if record is None:
            self.stale = ""
            return None
        return self.trusted(self.pid_file, *record, marker=ENTRYPOINT)

    def api_key(self) -> str:
        """The key the server is started with: ``MAINTGRAPH_LLM_API_KEY``, else the kept one, else a new one;
        written to :attr:`key_file` (0600) for the clients of this data directory."""
        configured = self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key else ""
        try:
            kept = self.key_file.read_text().strip()
        except OSError:
            kept = ""
        key = configured or kept or secrets.token_urlsafe(32)
        if key != kept or _file_mode(self.key_file) != 0o600:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary = self.key_file.with_name(self.key_file.name + ".tmp")
            temporary.unlink(missing_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
            os.replace(temporary, self.key_file)
        return key

    def _headers(self) -> dict[str, str]:
        key = llm_api_key(self.settings)  # the key this server was started with, as every client reads it
        return {"Authorization": f"Bearer {key}"} if key else {}

    def ready(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.settings.llm_port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def served(self) -> dict:
        """What the running server was started with: {"model": ..., "adapters": [...]}."""
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def command(self, model_dir: Path, adapters: dict[str, Path], tool_call_parser: str) -> list[str]:
        python = self.settings.vllm_python.expanduser()
        if not python.is_file():
            raise ConfigError(f"{python} does not exist: run `make vllm-env` (vLLM lives in its own environment)",
                              setting="MAINTGRAPH_VLLM_PYTHON")  # fmt: skip
        command = [
            str(python), "-m", ENTRYPOINT,
            "--model", str(model_dir), "--served-model-name", self.settings.llm_model,
            "--host", "127.0.0.1", "--port", str(self.settings.llm_port),
            "--max-model-len", str(self.settings.llm_max_model_len),
            "--enable-lora", "--max-lora-rank", str(MAX_LORA_RANK),
            "--max-loras", str(len(adapters) + SPARE_LORA_SLOTS),
            # vLLM 0.32 builds its tool parser only with auto tool choice enabled, and refuses
            # named/required tool choice without one; the client itself never asks for "auto".
            "--enable-auto-tool-choice", "--tool-call-parser", tool_call_parser,
            "--disable-uvicorn-access-log",
            # JSON without free whitespace: a small model under a JSON grammar otherwise pads its
            # answer with newlines until max_tokens and the answer is cut (measured: 300 tokens of them).
            "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
            "--middleware", GUARD_MIDDLEWARE,  # the API key on every route, not only /v1 (module doc)
        ]  # fmt: skip
        if adapters:
            command += ["--lora-modules", *(f"{name}={path}" for name, path in adapters.items())]
        return command

    def start(self) -> None:
        if self.running():
            return
        self._reap_orphans()
        if _port_taken(self.settings.llm_port):
            raise AddressInUse(f"127.0.0.1:{self.settings.llm_port} is already in use by another process",
                               setting="MAINTGRAPH_LLM_PORT")  # fmt: skip
        base = self.settings.llm_model
        model_dir = self.registry.prepare(base)
        adapters = {a.name: self.registry.adapter_dir(a.name, base) for a in self.registry.adapters_for(base)}
        if self.settings.llm_adapter and self.settings.llm_adapter not in adapters:
            self.registry.adapter_dir(self.settings.llm_adapter, base)  # names what is wrong with it
        command = self.command(model_dir, adapters, self.registry.model(base).tool_call_parser)
        DataDir(self.settings.data_dir).ensure_writable()  # private: the key, the log, the registry
        self.home.mkdir(mode=0o700, exist_ok=True)
        log.info("starting vLLM (%s, adapters: %s) on %s", base, ", ".join(adapters) or "none", self.base_url)
        python_path = os.pathsep.join(filter(None, [str(GUARD_DIR), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, **ENV, **({} if has_gpu() else CPU_ENV), "VLLM_API_KEY": self.api_key(),
               "PYTHONPATH": python_path}  # fmt: skip
        log_fd = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(log_fd, "ab") as log_handle:
            process = subprocess.Popen(command, stdout=log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, start_new_session=True, umask=0o077)  # fmt: skip
        write_pid_file(self.pid_file, process.pid)
        self._write_state({"model": base, "adapters": sorted(adapters), "slots": len(adapters) + SPARE_LORA_SLOTS})
        timeout = self.settings.llm_start_timeout_s
        if not wait_for(lambda: self.ready() or process.poll() is not None, timeout, interval_s=0.5) or not (
            self.ready()
        ):
            exit_code = process.poll()
            self._terminate(process.pid)
            process.wait(timeout=5)
            self.pid_file.unlink(missing_ok=True)
            self.state_file.unlink(missing_ok=True)
            why = f"exited with code {exit_code}" if exit_code is not None else f"was not ready within {timeout:g} s"
            raise ServiceError(f"vLLM {why}; log {self.log_file}:\n{tail(self.log_file, 25)}")

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            log.info("stopping vLLM (pid %d)", pid)
            self._terminate(pid)
        else:
            self._reap_orphans()
        self.pid_file.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)

    def _reap_orphans(self) -> None:
        """Stop what a crashed server left: vLLM's engine processes outlive a killed API server (2-3 GB
        of memory each). They stay in its process group, whose id is the dead server's pid."""
        try:
            leader = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            if psutil.Process(leader).status() != psutil.STATUS_ZOMBIE:
                return  # alive (then running() decides), or the pid is another process's now: never signal it
        except psutil.NoSuchProcess:
            pass
        try:
            os.killpg(leader, signal.SIGTERM)
        except ProcessLookupError:
            return  # nothing left
        log.warning("stopping the processes a crashed vLLM server left behind (process group %d)", leader)
        if not wait_for(lambda: not _group_alive(leader), 30, interval_s=0.2):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(leader, signal.SIGKILL)
            wait_for(lambda: not _group_alive(leader), 10, interval_s=0.2)

    @staticmethod
    def _terminate(pid: int) -> None:
        # vLLM runs an engine core process beside the API server: stop the whole group.
        _signal_group(pid, signal.SIGTERM)
        if not wait_for(lambda: not alive(pid), 30, interval_s=0.2):
            _signal_group(pid, signal.SIGKILL)
            wait_for(lambda: not alive(pid), 10)

    def probe(self) -> ServiceStatus:
        served = self.served()
        detail = f"model {served.get('model')}, adapters: {', '.join(served.get('adapters', [])) or 'none'}"
        if not self.ready():
            return ServiceStatus(self.name, "embedded", "unreachable", self.where, detail=detail + " (not ready)")
        return ServiceStatus(self.name, "embedded", "running", self.where, "vLLM", detail)

    # -- adapters at run time -------------------------------------------------------------------
    def load_adapter(self, name: str) -> None:
        served = self.served()
        base = served.get("model") or self.settings.llm_model
        folder = self.registry.adapter_dir(name, base)
        loaded = served.get("adapters", [])
        if name not in loaded and len(loaded) + 1 >= served.get("slots", len(loaded) + SPARE_LORA_SLOTS):
            raise ModelError(f"cannot load adapter {name!r}: {len(loaded)} adapters are loaded and one LoRA slot "
                             "must stay free (base-model answers would be altered); unload one, or register it and "
                             "restart")  # fmt: skip
        self._post("/load_lora_adapter", {"lora_name": name, "lora_path": str(folder)})
        self._write_state(served | {"adapters": sorted({*loaded, name})})

    def unload_adapter(self, name: str) -> None:
        self._post("/unload_lora_adapter", {"lora_name": name})
        served = self.served()
        self._write_state(served | {"adapters": [a for a in served.get("adapters", []) if a != name]})

    def _write_state(self, state: dict) -> None:
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(json.dumps(state))
        os.replace(temporary, self.state_file)

    def _post(self, path: str, body: dict) -> None:
        try:
            response = httpx.post(self.base_url + path, json=body, headers=self._headers(), timeout=60)
        except httpx.HTTPError as exc:
            raise ServiceError(f"vLLM at {self.base_url} unreachable ({exc})") from None
        if response.status_code != 200:
            raise ModelError(f"vLLM refused {path} for {body['lora_name']!r}: {response.text.strip()[:300]}")


def _file_mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return None


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(os.getpgid(pid), sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        raise ServiceError(f"vLLM process {pid} belongs to another user: stop it as that user") from None
