"""The app environment is the pinned CPU one: no CUDA torch, no nvidia wheels, no vLLM inside."""

from __future__ import annotations

import importlib.util
import re
from importlib.metadata import distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _installed() -> dict[str, str]:
    return {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version for d in distributions()}


def test_torch_is_the_cpu_build_and_no_nvidia_wheels():
    installed = _installed()
    assert installed["torch"] == "2.13.0+cpu"
    assert [name for name in installed if name.startswith(("nvidia-", "triton"))] == []
    import torch

    assert torch.version.cuda is None


def test_vllm_is_not_in_the_app_environment():
    assert importlib.util.find_spec("vllm") is None


def test_installed_versions_match_the_lock():
    """What `make install` put here is what constraints.txt pins (the lock is real)."""
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    installed = _installed()
    mismatched = {n: (v, installed.get(n)) for n, v in pins.items() if installed.get(n) != v}
    assert mismatched == {}
    for required in ("guardrails-ai", "graphrag", "langchain-core", "typer", "torch"):
        assert required in pins
    assert pins["guardrails-ai"] == "0.11.0" and pins["graphrag"] == "3.1.1"
    assert pins["typer"].startswith("0.19.") and pins["langchain-core"] == "1.7.2"
