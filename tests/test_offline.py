"""maintgraph works with the network unplugged: no code path it runs reaches beyond loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import short_tmp_dir

WORKLOAD = Path(__file__).with_name("offline_workload.py")


def _run(*args: str) -> dict:
    # A clean environment: the offline defaults must come from maintgraph itself.
    env = {k: v for k, v in os.environ.items() if k not in _offline_names() and not k.startswith("MAINTGRAPH_")}
    result = subprocess.run(
        [sys.executable, str(WORKLOAD), *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _offline_names() -> set[str]:
    from maintgraph.offline import OFFLINE_ENV

    return set(OFFLINE_ENV)


def test_the_audit_hook_catches_an_outbound_connection():
    report = _run("--probe-outside")
    assert report["blocked"] == ["socket.connect ('192.0.2.10', 80)", "socket.getaddrinfo 'huggingface.co'"]


def test_representative_workload_makes_no_outbound_connection():
    data_dir = short_tmp_dir()
    try:
        report = _run(str(data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    assert report["blocked"] == []
    done = report["done"]
    assert done["services"] == ["graph", "postgres"]
    from maintgraph.migrations import head

    assert done["migration"] == head()
    assert done["graph_rows"] == [[1]]
    assert done["embedding_dim"] == 384
    assert done["guard_passed"] is True
    assert done["email_domain"] == "example.co.uk"
    assert done["guarded_question"] == "Call <PERSON> on <PHONE_NUMBER> about P-101"
    assert done["injection_blocked"] is True and done["unsafe_fixed"] == "fixed"
