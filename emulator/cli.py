"""The `zcrm-emulator` command: thin click commands over the library.

Errors become CLI messages here and only here: an `EmulatorError` prints its
message and exits 1, without a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__, server
from . import config as config_module
from .apikeys import KeyStore
from .clock import Clock
from .config import Config
from .errors import EmulatorError
from .registry import Registry
from .store import Store


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EmulatorError as exc:
            raise click.ClickException(exc.message) from None


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=config_module.DEFAULT_FILE,
        show_default=True,
        envvar="ZCRM_EMULATOR_CONFIG",
        help="The project's config file; relative paths in it resolve against its folder.",
    )(command)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zcrm-emulator")
def main() -> None:
    """A local emulator of Zoho CRM functions exposed as REST APIs.

    Serves every script in functions/ at Zoho's URL shape, with Zoho's API-key
    authentication, request map and response envelopes. A development tool, not
    a hosting platform.
    """


@main.command()
@config_option
@click.option(
    "--host", help="Interface to listen on (default: server.host, 127.0.0.1)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port (default: server.port, 8000); 0 picks a free port.",
)
def serve(config_path: Path, host: str | None, port: int | None) -> None:
    """Serve the project's functions over HTTP until Ctrl-C."""
    config = config_module.load(config_path)
    server.serve(config, host=host, port=port, echo=click.echo)


@main.command()
@config_option
def check(config_path: Path) -> None:
    """Compile every function script and print every error; exit 1 if any."""
    config = config_module.load(config_path)
    registry = Registry(config.functions_path, config.root, config.entry_point)
    scripts = registry.load_all()
    broken = [s for s in scripts if not s.ok]
    for script in scripts:
        status = "ok" if script.ok else "FAILED"
        click.echo(f"{status:6} {script.display} (v{script.version})")
        for problem in script.problems:
            line = f":{problem.line}" if problem.line else ""
            click.echo(f"       {problem.file}{line}: {problem.message}")
    if not scripts:
        click.echo(f"no function scripts in {config.functions_path}")
    click.echo(f"{len(scripts)} functions, {len(broken)} with errors")
    if broken:
        raise SystemExit(1)


@main.group(cls=Group)
def keys() -> None:
    """Manage API keys (zapikey). A key belongs to an emulated user."""


def _keystore(config: Config) -> KeyStore:
    keystore = KeyStore(Store(config.state_path), Clock())
    keystore.seed(config.api_keys, [config.user(k.user).id for k in config.api_keys])
    return keystore


def _show_secret(config: Config, user_id: str, secret: str) -> None:
    user = config.user(user_id)
    click.echo(f"API key for {user.full_name} <{user.email}> (shown once, keep it):")
    click.echo(secret)


@keys.command("create")
@config_option
@click.option(
    "--user", default="", help="Owner's e-mail or id (default: the first user)."
)
@click.option("--label", default="", help="A note to tell keys apart in 'keys list'.")
def keys_create(config_path: Path, user: str, label: str) -> None:
    """Create a new API key and print its secret once."""
    config = config_module.load(config_path)
    owner = config.user(user)
    _, secret = _keystore(config).create(owner.id, label)
    _show_secret(config, owner.id, secret)


@keys.command("list")
@config_option
def keys_list(config_path: Path) -> None:
    """List API keys (masked) with their owners and state."""
    config = config_module.load(config_path)
    rows = _keystore(config).list()
    if not rows:
        click.echo("no API keys yet; 'zcrm-emulator keys create' makes one")
    emails = {u.id: u.email for u in config.users}
    for key in rows:
        state = "active" if key.active else f"revoked {_when(key.revoked_at)}"
        owner = emails.get(key.user_id, f"{key.user_id} (not in config)")
        label = f"  {key.label}" if key.label else ""
        click.echo(f"{key.id:>4}  {key.masked}  {owner}  {state}{label}")


@keys.command("revoke")
@config_option
@click.argument("key_id", type=int)
def keys_revoke(config_path: Path, key_id: int) -> None:
    """Revoke the key with id KEY_ID (see 'keys list'); calls with it fail at once."""
    config = config_module.load(config_path)
    key = _keystore(config).revoke(key_id)
    click.echo(f"revoked key {key.id} ({key.masked})")


@keys.command("regenerate")
@config_option
@click.option(
    "--user", default="", help="Owner's e-mail or id (default: the first user)."
)
def keys_regenerate(config_path: Path, user: str) -> None:
    """Revoke a user's keys and print a new one, as Zoho's 'regenerate' does."""
    config = config_module.load(config_path)
    owner = config.user(user)
    _, secret = _keystore(config).regenerate(owner.id)
    _show_secret(config, owner.id, secret)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return ""
    return dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")
