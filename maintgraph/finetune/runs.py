"""The local experiment store: one folder per training run under ``<data_dir>/finetune/runs/``.

``run.json`` holds the config, its fingerprint, the supervision set, the status and the
results; ``metrics.jsonl`` the Trainer's log lines (loss, learning rate, validation loss,
tokens/s); ``checkpoints/`` what a resume continues from; ``adapter/`` the trained PEFT folder;
``report.md`` / ``report.html`` the run's report.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maintgraph.errors import MaintgraphError
from maintgraph.finetune.spec import TrainConfig


class RunStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "finetune" / "runs"

    def folder(self, run_id: str) -> Path:
        return self.root / run_id

    def create(self, config: TrainConfig) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        run_id, n = f"{config.name}-{stamp}", 1
        self.root.mkdir(parents=True, exist_ok=True)
        while self.folder(run_id).exists():  # two runs of one config in the same second
            n += 1
            run_id = f"{config.name}-{stamp}-{n}"
        self.folder(run_id).mkdir()
        self.write(run_id, {"id": run_id, "name": config.name, "status": "running", "started": _now(),
                            "config_file": str(config.source), "config": config.model_dump(mode="json"),
                            "fingerprint": config.fingerprint()})  # fmt: skip
        return run_id

    def get(self, run_id: str) -> dict[str, Any]:
        try:
            return json.loads((self.folder(run_id) / "run.json").read_text())
        except FileNotFoundError:
            known = ", ".join(r["id"] for r in self.list()[:5]) or "none"
            raise MaintgraphError(f"no training run {run_id!r} (latest: {known})") from None

    def update(self, run_id: str, **fields: Any) -> dict[str, Any]:
        run = self.get(run_id) | fields
        self.write(run_id, run)
        return run

    def write(self, run_id: str, run: dict[str, Any]) -> None:
        path = self.folder(run_id) / "run.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(run, indent=2, default=str))
        os.replace(temporary, path)

    def list(self) -> list[dict[str, Any]]:
        runs = []
        for path in sorted(self.root.glob("*/run.json"), reverse=True):
            try:
                runs.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        return sorted(runs, key=lambda r: r.get("started", ""), reverse=True)

    def check_resumable(self, run_id: str, config: TrainConfig) -> dict[str, Any]:
        run = self.get(run_id)
        if run["status"] == "complete":
            raise MaintgraphError(f"run {run_id} is already complete")
        changed = [k for k, v in config.fingerprint().items() if run["fingerprint"].get(k) != v]
        if changed:
            raise MaintgraphError(f"run {run_id} cannot resume: the config's {', '.join(changed)} changed since it "
                                  "started (the checkpoints belong to the old settings); start a new run")  # fmt: skip
        return run


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
