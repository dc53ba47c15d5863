"""The adapter registry's life cycle: register what a run trained, promote, roll back, export.

Registration writes the site registry (``<data_dir>/models.yaml``) with the adapter's base
model, dataset version, hyper-parameters, training metrics and evaluation results. Promotion
hash-checks the adapter, loads it into the running vLLM if it is not served yet, then makes
it the default (``maintgraph.llm.registry.ActiveAdapter``); rollback restores the previous
default with one file write. Export copies the PEFT folder vLLM loads, with a model card.
"""

from __future__ import annotations

import getpass
import logging
import shutil
from pathlib import Path
from typing import Any

import yaml

from maintgraph.config import Settings
from maintgraph.errors import MaintgraphError, ModelError
from maintgraph.llm.registry import ADAPTER_WEIGHTS, TASKS, ActiveAdapter, AdapterSpec, ModelRegistry, sha256_of

log = logging.getLogger(__name__)


def register(settings: Settings, spec: AdapterSpec) -> AdapterSpec:
    registry = ModelRegistry(settings)
    registry.add(spec)
    registry.adapter_dir(spec.name, spec.base)  # the files are there and match the recorded hash
    return registry.adapter(spec.name)


def register_folder(settings: Settings, name: str, path: Path, base: str, description: str = "") -> AdapterSpec:
    """Register a PEFT adapter folder (``adapter_config.json`` + the weights) for ``base``; its
    weights' sha256 is recorded now and checked at every load."""
    import json

    folder = path.expanduser().resolve()
    try:
        config = json.loads((folder / "adapter_config.json").read_text())
        digest = sha256_of(folder / ADAPTER_WEIGHTS)
    except (OSError, ValueError) as exc:
        raise ModelError(f"adapter {name!r}: {folder} is not a PEFT adapter folder ({exc})") from None
    spec = AdapterSpec(name=name, base=base, path=str(folder), sha256=digest, rank=int(config.get("r", 8)),
                       description=description)  # fmt: skip
    ModelRegistry(settings).add(spec)
    return spec


def listing(settings: Settings) -> tuple[dict[str, str | None], list[AdapterSpec]]:
    """(each task's adapter, None for the base / answering model; every registered adapter)."""
    tasks = {task: ActiveAdapter(settings, task).name() for task in TASKS}
    return tasks, list(ModelRegistry(settings).adapters.values())


def describe(settings: Settings, name: str) -> dict[str, Any]:
    """One adapter's registry entry (its weights' sha256 verified), whether it is the default,
    and its promotions."""
    registry = ModelRegistry(settings)
    entry = registry.adapter(name).model_dump() | {"folder": str(registry.adapter_dir(name)), "sha256 verified": True}
    active = ActiveAdapter(settings)
    entry["default"] = active.name() == name
    entry["default_for"] = [task for task in TASKS if ActiveAdapter(settings, task).name() == name]
    entry["promotions"] = [h | {"task": task} for task in TASKS for h in ActiveAdapter(settings, task).history()
                           if h["adapter"] == name]  # fmt: skip
    return entry


def update(settings: Settings, name: str, **fields: Any) -> AdapterSpec:
    """Record ``fields`` in the adapter's site entry (a shipped adapter gets one, naming its
    folder by absolute path: a relative one would be read against the site registry's folder)."""
    registry = ModelRegistry(settings)
    entry = registry.adapter(name).model_copy(update={"path": str(registry.adapter_dir(name)), **fields})
    registry.add(entry)
    return entry


def served_base(settings: Settings) -> str:
    from maintgraph.llm.server import VLLMServer

    return VLLMServer(settings).served().get("model") or settings.llm_model


def make_servable(settings: Settings, name: str) -> None:
    """The adapter is loaded in the model server: the embedded vLLM loads it now if needed (a
    stopped one loads every registered adapter when it starts); an external endpoint must
    already list it."""
    from maintgraph.llm.client import LLMClient
    from maintgraph.llm.server import VLLMServer

    registry = ModelRegistry(settings)
    registry.adapter_dir(name, served_base(settings))  # hash and base checked before anything changes
    if settings.llm_embedded:
        server = VLLMServer(settings, registry)
        if server.running() and name not in server.served().get("adapters", []):
            server.load_adapter(name)
        return
    client = LLMClient(settings)
    if name not in client.served_models(refresh=True):
        raise ModelError(f"adapter {name!r} is not served by {client.base_url}: load it there first "
                         "(or start the embedded server: `maintgraph up`)")  # fmt: skip


def check_free_slot(settings: Settings) -> None:
    """The embedded vLLM can load one more adapter (checked before a long training run)."""
    from maintgraph.llm.server import SPARE_LORA_SLOTS, VLLMServer

    server = VLLMServer(settings)
    if settings.llm_embedded and server.running():
        served = server.served()
        loaded = served.get("adapters", [])
        if len(loaded) + 1 >= served.get("slots", len(loaded) + SPARE_LORA_SLOTS):
            raise ModelError(f"the model server has no free LoRA slot to evaluate a new adapter ({len(loaded)} "
                             f"loaded: {', '.join(loaded)}): unload one with `maintgraph llm unload NAME`, or "
                             "restart it (`maintgraph llm stop`, then `maintgraph up`)")  # fmt: skip


def release(settings: Settings, name: str) -> None:
    """Unload an evaluated adapter, unless a task uses it by default: its LoRA slot is needed for the next
    one (promoting it loads it again). Never fails the caller."""
    from maintgraph.llm.server import VLLMServer

    server = VLLMServer(settings)
    try:
        in_use = {ActiveAdapter(settings, task).name() for task in TASKS}
        if settings.llm_embedded and server.running() and name not in in_use:
            if name in server.served().get("adapters", []):
                server.unload_adapter(name)
    except MaintgraphError as exc:
        log.warning("adapter %s left loaded: %s", name, exc)


def promote(settings: Settings, name: str, task: str = "answer") -> str | None:
    """Make ``name`` the adapter that does ``task`` (:data:`~maintgraph.llm.registry.TASKS`);
    returns the one it replaces (None: the base model)."""
    active = ActiveAdapter(settings, task)
    previous = active.name()
    make_servable(settings, name)
    active.push(name, by=_user())
    return previous


def rollback(settings: Settings, task: str = "answer") -> tuple[str, str | None]:
    """Undo the last promotion for ``task``: (the adapter undone, the task's adapter now)."""
    active = ActiveAdapter(settings, task)
    undone = active.pop()
    now = active.name()
    if now:
        try:
            make_servable(settings, now)
        except MaintgraphError:
            active.push(undone["adapter"], by=_user())  # never leave a default that cannot answer
            raise
    return undone["adapter"], now


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def model_card(spec: AdapterSpec) -> str:
    """The README.md that travels with an exported adapter."""
    data = spec.dataset or {}
    metrics = spec.metrics or {}
    lines = [
        f"# {spec.name}", "", spec.description.strip() or "A LoRA adapter trained by maintgraph.", "",
        f"- base model: `{spec.base}` (maintgraph model registry)",
        f"- licence: {spec.licence}",
        f"- LoRA rank: {spec.rank}; weights `{ADAPTER_WEIGHTS}`, sha256 `{spec.sha256}`",
        f"- training run: {spec.run or 'not recorded'}",
    ]  # fmt: skip
    if data:
        counts = data.get("counts", {})
        lines += [f"- dataset: {data.get('name')} version {data.get('version')} ({counts.get('train')} train, "
                  f"{counts.get('validation')} validation examples; privacy class {data.get('privacy_class')}; "
                  f"licence {data.get('licence')})"]  # fmt: skip
    if spec.hyperparameters:
        hyper = yaml.safe_dump(spec.hyperparameters, sort_keys=False).strip()
        lines += ["", "## Hyper-parameters", "", "```yaml", hyper, "```"]
    if metrics:
        lines += ["", "## Training", "", "```yaml", yaml.safe_dump(metrics, sort_keys=False).strip(), "```"]
    if spec.evaluation:
        lines += ["", "## Evaluation (base model vs this adapter, same run)", "", "```yaml",
                  yaml.safe_dump(spec.evaluation, sort_keys=False).strip(), "```"]  # fmt: skip
    lines += ["", "## Use", "", "Serve with vLLM: `--enable-lora --max-lora-rank 16 --lora-modules "
              f"{spec.name}=<this folder>`, on the base model named above.", ""]  # fmt: skip
    return "\n".join(lines)


def export(settings: Settings, name: str, out: Path) -> Path:
    """The adapter's PEFT folder (hash-checked) and its model card, copied to ``out``."""
    registry = ModelRegistry(settings)
    folder = registry.adapter_dir(name)
    if out.exists() and any(out.iterdir()) and not (out / "adapter_config.json").is_file():
        raise ModelError(f"{out} exists and is not an adapter folder: choose an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    for file in ("adapter_config.json", ADAPTER_WEIGHTS):
        shutil.copy2(folder / file, out / file)
    spec = registry.adapter(name)
    (out / "README.md").write_text(model_card(spec))
    if sha256_of(out / ADAPTER_WEIGHTS) != spec.sha256:
        raise ModelError(f"{out / ADAPTER_WEIGHTS}: the copy does not match the registered sha256")
    return out
