"""``maintgraph keys``: the HTTP service's API keys."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from maintgraph.apps.cli.common import JsonOption, friendly_errors, opened, out, sub_app

app = sub_app("API keys of the HTTP service: create, list, revoke.")


@app.command("create")
@friendly_errors
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key, e.g. slack-bot or cmms-sync.")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="ask, approve, traces or metrics; repeat for several.")
    ] = ["ask"],  # noqa: B006 - Typer's way of a list default
    rate: Annotated[
        int | None, typer.Option("--rate", help="Requests per minute (default: MAINTGRAPH_API_RATE_PER_MINUTE).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print it once: only its hash is stored, so keep it now."""
    from maintgraph.apps.keys import KeyStore

    with opened(KeyStore) as store:
        key, secret = store.create(name, scope, rate)
    if as_json:
        out.print_json(json.dumps({"id": key.id, "name": key.name, "scopes": key.scopes, "key": secret}))
        return
    out.print(f"key {key.id} ({key.name}), scopes {', '.join(key.scopes)}:")
    out.print(secret, highlight=False, soft_wrap=True)
    out.print(
        "Shown once. Send it as `Authorization: Bearer <key>`; revoke with `maintgraph keys revoke " + key.id + "`"
    )


@app.command("list")
@friendly_errors
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The keys (never their secrets): scopes, rate limit, last use."""
    from maintgraph.apps.keys import KeyStore

    with opened(KeyStore) as store:
        keys = store.list(include_revoked=all_keys)
    if as_json:
        out.print_json(json.dumps([k.__dict__ for k in keys], default=str))
        return
    table = Table("id", "name", "scopes", "rate/min", "created", "last used", "revoked", header_style="bold")
    for k in keys:
        table.add_row(k.id, escape(k.name), ", ".join(k.scopes), str(k.rate_per_minute or "default"),
                      f"{k.created_at:%Y-%m-%d %H:%M}", f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "-",
                      f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "-")  # fmt: skip
    out.print(table)


@app.command("revoke")
@friendly_errors
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (see `maintgraph keys list`).")]) -> None:
    """Revoke a key: requests with it get 401 from the next one on."""
    from maintgraph.apps.keys import KeyStore

    with opened(KeyStore) as store:
        key = store.revoke(key_id)
    out.print(f"key {key.id} ({escape(key.name)}) revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S %Z}")
