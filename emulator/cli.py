"""The `zcrm-emulator` command: thin click commands over the library.

Errors become CLI messages here and only here: an `EmulatorError` prints its
message and exits 1, without a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__, oauth, scaffold, server
from . import config as config_module
from . import registry as registry_module
from . import scopes as scopes_module
from .accounts import TOKEN_PATH
from .apikeys import KeyStore
from .clock import Clock, parse_duration
from .config import Config
from .control import clock_state
from .errors import EmulatorError, UsageError
from .history import History
from .invoker import Invoker
from .registry import Registry
from .reporter import NullReporter, format_invocation
from .responses import dumps
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
@click.option(
    "--quiet", "-q", is_flag=True, help="No line per call; notes and errors only."
)
@click.option(
    "--verbose", "-v", is_flag=True, help="Also show params, body and response."
)
@click.option(
    "--watch/--no-watch",
    default=True,
    show_default=True,
    help="Reload a function script as soon as it is saved.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Wall-time limit of every function for this run, overriding "
    "limits.timeout_seconds and functions.<name>.timeout_seconds (Zoho: 60).",
)
@click.option(
    "--processes",
    "-P",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes sharing the port (and the SQLite store), for heavy "
    "load: about one per core.",
)
def serve(
    config_path: Path,
    host: str | None,
    port: int | None,
    quiet: bool,
    verbose: bool,
    watch: bool,
    timeout: float | None,
    processes: int,
) -> None:
    """Serve the project's functions over HTTP until Ctrl-C."""
    config = config_module.load(config_path)
    server.serve(
        config,
        host=host,
        port=port,
        echo=click.echo,
        color=_is_terminal(),
        verbosity=0 if quiet else 2 if verbose else 1,
        watch=watch,
        timeout=timeout,
        processes=processes,
    )


def _is_terminal() -> bool:
    return sys.stdout.isatty()


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
    for warning in registry_module.warnings(
        config.functions_path, [s.name for s in scripts], config.functions
    ):
        click.echo(f"note   {warning}")
    click.echo(f"{len(scripts)} functions, {len(broken)} with errors")
    if broken:
        raise SystemExit(1)


@main.group(cls=Group)
def keys() -> None:
    """Manage API keys (zapikey). A key belongs to an emulated user."""


def _keystore(config: Config) -> KeyStore:
    store = Store(config.state_path)
    keystore = KeyStore(store, Clock(store))
    keystore.seed(config)
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
        return
    emails = {u.id: u.email for u in config.users}
    click.echo(f"{'id':>4}  {'key':14}  owner  state")
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


@main.command()
@config_option
@click.argument("name")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A query parameter; repeat for more.",
)
@click.option(
    "--json",
    "json_file",
    type=click.File("rb"),
    help="Send FILE ('-' for stdin) as a JSON body, byte for byte (it must be JSON).",
)
@click.option("--body", help="Send TEXT as the raw body; @FILE sends a file's bytes.")
@click.option(
    "--file",
    "input_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Send FILE as the multipart part inputFile (crmAPIRequest.file_content).",
)
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="A request header; repeat for more.",
)
@click.option(
    "--method",
    "-X",
    type=click.Choice(["GET", "POST"], case_sensitive=False),
    help="Default: POST when a body is sent, else GET.",
)
@click.option(
    "--auth",
    type=click.Choice(["apikey", "oauth", "none"]),
    default="apikey",
    show_default=True,
    help="How the call authenticates: a temporary API key, a temporary OAuth token "
    "(READ and CREATE scopes), or nothing.",
)
@click.option(
    "--user", default="", help="Caller's e-mail or id (default: the first user)."
)
def invoke(
    config_path: Path,
    name: str,
    params: tuple[str, ...],
    json_file: Any,
    body: str | None,
    input_file: Path | None,
    headers: tuple[str, ...],
    method: str | None,
    auth: str,
    user: str,
) -> None:
    """Call function NAME through the whole stack, without a server.

    Prints the response (pretty JSON on a terminal, raw when piped); exits 0
    for a 2xx status, 1 otherwise. The function's print lines go to stderr.
    """
    config = config_module.load(config_path)
    raw: str | bytes | None = (
        Path(body[1:]).read_bytes() if body and body.startswith("@") else body
    )
    extra = dict(_pair(h, ":", "--header") for h in headers)
    if json_file:
        raw = _json_body(json_file)
        extra.setdefault("Content-Type", "application/json")
    files = (
        {"inputFile": (input_file.open("rb"), input_file.name)} if input_file else None
    )
    with Invoker(config) as invoker:
        result = invoker.invoke(
            name,
            params=dict(_pair(p, "=", "--param") for p in params),
            body=raw,
            headers=extra,
            files=files,
            method=method.upper() if method else None,
            auth=auth,
            user=user,
        )
    click.echo(f"HTTP {result.status}", err=True)
    for line in result.printed:
        click.echo(f"print: {line}", err=True)
    pretty = _is_terminal() and result.envelope is not None
    click.echo(
        json.dumps(result.envelope, indent=2, ensure_ascii=False)
        if pretty
        else result.text
    )
    if not result.ok:
        raise SystemExit(1)


def _pair(text: str, sep: str, option: str) -> tuple[str, str]:
    key, found, value = text.partition(sep)
    if not found or not key.strip():
        raise click.BadParameter(
            f"expected NAME{sep}VALUE; found '{text}'", param_hint=option
        )
    return key.strip(), value.strip() if sep == ":" else value


def _json_body(stream: Any) -> bytes:
    """The file's bytes, sent unchanged (signatures are computed over them),
    once they are known to be JSON."""
    data: bytes = stream.read()
    try:
        json.loads(data)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--json") from exc
    return data


@main.command()
@config_option
@click.argument("name", required=False)
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing new calls until Ctrl-C."
)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per call, in full."
)
@click.option(
    "--lines", "-n", default=20, show_default=True, help="How many recent calls."
)
def logs(
    config_path: Path, name: str | None, follow: bool, as_json: bool, lines: int
) -> None:
    """Show recent calls (of function NAME, or all) from the invocation history."""
    config = config_module.load(config_path)
    history = History(config.state_path.parent, config.history, NullReporter())
    last = 0
    color = _is_terminal()
    while True:
        for entry in history.list(name, lines if last == 0 else 1000, last):
            last = entry.id
            if as_json:
                click.echo(json.dumps(entry.to_json(), ensure_ascii=False))
                continue
            for line in format_invocation(entry.invocation, color=color, stamp=True):
                click.echo(line)
        if not follow:
            if last == 0:
                which = f"of '{name}' " if name else ""
                click.echo(f"no calls {which}in the history yet", err=True)
            return
        time.sleep(0.5)


@main.command()
@config_option
@click.argument("name")
@click.option(
    "--template",
    "-t",
    type=click.Choice(sorted(scaffold.TEMPLATES)),
    default="plain",
    show_default=True,
    help="plain: arguments and info; signed-json: a JSON body with an HMAC "
    "signature check; response: crmAPIResponse with status and headers.",
)
def new(config_path: Path, name: str, template: str) -> None:
    """Write a new function NAME from a template (never overwrites)."""
    config = config_module.load(config_path)
    path = scaffold.new_function(config.functions_path, name, template)
    click.echo(f"wrote {path}")


@main.command()
@click.argument(
    "directory", default=".", type=click.Path(file_okay=False, path_type=Path)
)
def init(directory: Path) -> None:
    """Make a new project in DIRECTORY: config.yaml, functions/, an example test."""
    for path in scaffold.init_project(directory):
        click.echo(f"wrote {path}")
    go = "" if directory == Path(".") else f"cd {directory} && "
    click.echo(
        f"next: {go}zcrm-emulator serve    (and: pytest, to run the example test)"
    )


# -- OAuth: clients, tokens, the clock ---------------------------------------

DEFAULT_SCOPES = f"{scopes_module.READ_SCOPE},{scopes_module.CREATE_SCOPE}"


def _issuer(config: Config) -> oauth.Issuer:
    store = Store(config.state_path)
    return oauth.build(config, store, Clock(store))


def _base(config: Config) -> str:
    return server.base_url(config.server.host, config.server.port)


@main.group(cls=Group)
def clients() -> None:
    """Manage OAuth clients of the emulated Zoho Accounts."""


@clients.command("add")
@config_option
@click.option("--name", required=True, help="Shown on the consent page.")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help="Where the consent page sends the code (repeat for several).",
)
@click.option(
    "--user",
    default="",
    help="User for client_credentials tokens (default: the first user).",
)
def clients_add(
    config_path: Path, name: str, redirect_uris: tuple[str, ...], user: str
) -> None:
    """Register a client and print its id and secret (the secret only now)."""
    config = config_module.load(config_path)
    client, secret = _issuer(config).clients.add(
        name, redirect_uris, config.user(user).id
    )
    click.echo(f"OAuth client {client.title} (the secret is shown once, keep it):")
    click.echo(f"client_id:     {client.client_id}")
    click.echo(f"client_secret: {secret}")
    for uri in client.redirect_uris:
        click.echo(f"redirect_uri:  {uri}")


@clients.command("list")
@config_option
def clients_list(config_path: Path) -> None:
    """List the OAuth clients (secrets are never shown again)."""
    config = config_module.load(config_path)
    rows = _issuer(config).clients.list()
    if not rows:
        click.echo("no OAuth clients yet; 'zcrm-emulator clients add' makes one")
    for client in rows:
        source = "config.yaml" if client.seeded else "added"
        uris = ", ".join(client.redirect_uris) or "no redirect URIs"
        click.echo(f"{client.client_id}  {client.title}  [{source}]  {uris}")


@clients.command("remove")
@config_option
@click.argument("client_id")
def clients_remove(config_path: Path, client_id: str) -> None:
    """Remove a client added with 'clients add'; its tokens stop working at once."""
    config = config_module.load(config_path)
    client = _issuer(config).clients.remove(client_id)
    click.echo(
        f"removed client {client.client_id} ({client.title}); its tokens are revoked"
    )


@main.command()
@config_option
@click.option(
    "--scope",
    "scope_text",
    default=DEFAULT_SCOPES,
    show_default=True,
    help="Comma-separated scopes.",
)
@click.option("--user", default="", help="E-mail or id (default: the first user).")
@click.option(
    "--client", "client_id", default="", help="Client id (default: the first client)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print Zoho's token response as JSON only."
)
def token(
    config_path: Path, scope_text: str, user: str, client_id: str, as_json: bool
) -> None:
    """Print an access and refresh token pair, as Zoho's Self Client does."""
    config = config_module.load(config_path)
    issuer = _issuer(config)
    owner = config.user(user)
    scopes = scopes_module.parse_scopes(scope_text)
    if not scopes:
        raise UsageError("expected at least one scope in --scope; found none.")
    client, secret = issuer.client_for_tokens(client_id)
    issued = issuer.self_client(client, owner.id, scopes)
    base = config.oauth.api_domain or _base(config)
    if as_json:
        click.echo(dumps(issued.body(base)))
        return
    if secret:
        click.echo(
            f"Created the OAuth client '{oauth.SELF_CLIENT_NAME}' (secret shown once):"
        )
        click.echo(f"client_id:     {client.client_id}")
        click.echo(f"client_secret: {secret}")
    click.echo(
        f"Tokens for {owner.full_name} <{owner.email}>, client {client.title}, "
        f"scopes {' '.join(scopes)}:"
    )
    click.echo(f"access_token:  {issued.access_token}  (lives {issued.expires_in} s)")
    click.echo(f"refresh_token: {issued.refresh_token}")
    click.echo("Call a function with it:")
    click.echo(
        f"  curl -H 'Authorization: Zoho-oauthtoken {issued.access_token}' "
        f"'{server.execute_url(base, 'hello')}?auth_type=oauth'"
    )
    accounts = config.oauth.accounts_url or _base(config)
    shown = next(
        (
            c.client_secret
            for c in config.oauth.clients
            if c.client_id == client.client_id
        ),
        "<client secret>",
    )
    click.echo("Refresh it:")
    click.echo(
        f"  curl -X POST '{accounts}{TOKEN_PATH}' -d grant_type=refresh_token "
        f"-d client_id={client.client_id} -d client_secret={secret or shown} "
        f"-d refresh_token={issued.refresh_token}"
    )


@main.group(cls=Group)
def clock() -> None:
    """Show or move the emulated clock (token and code expiry follow it)."""


def _clock(config_path: Path) -> Clock:
    return Clock(Store(config_module.load(config_path).state_path))


def _show_clock(the_clock: Clock) -> None:
    state = clock_state(the_clock)
    click.echo(f"emulated time {state['time']} (offset {state['offset_seconds']:g} s)")


@clock.command("show")
@config_option
def clock_show(config_path: Path) -> None:
    """Print the emulated time and its offset from the wall clock."""
    _show_clock(_clock(config_path))


@clock.command("advance")
@config_option
@click.argument("duration")
def clock_advance(config_path: Path, duration: str) -> None:
    """Move the clock forward by DURATION (90, 90s, 15m, 1h, 2d) for every server."""
    the_clock = _clock(config_path)
    the_clock.advance(parse_duration(duration))
    _show_clock(the_clock)


@clock.command("reset")
@config_option
def clock_reset(config_path: Path) -> None:
    """Set the clock back to the wall time."""
    the_clock = _clock(config_path)
    the_clock.reset()
    _show_clock(the_clock)
