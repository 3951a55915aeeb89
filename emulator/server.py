"""Run the app on a real HTTP server: the banner, the socket, the log lines."""

from __future__ import annotations

import dataclasses
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import limits, prefork, registry, tokens
from .accounts import TOKEN_PATH, consent_url
from .app import Emulator, create_app
from .config import API_KEY_PATTERN, Config
from .errors import ConfigError
from .reporter import LineReporter, NullReporter
from .runner import InProcessRunner
from .watcher import Watcher, config_file_of

Echo = Callable[[str], None]


class RedactingHandler(WSGIRequestHandler):
    """Werkzeug's request handler, with secrets masked in the access log.

    Execute calls get their own console line from the reporter, so only other
    requests (the token endpoints, unknown URLs) are logged here.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if "/actions/execute" in self.path:
            return
        self.log("info", '"%s" %s %s', tokens.redact_url(self.requestline), code, size)


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def serve(
    config: Config,
    *,
    host: str | None,
    port: int | None,
    echo: Echo,
    color: bool = False,
    verbosity: int = 1,
    watch: bool = True,
    timeout: float | None = None,
    processes: int = 1,
) -> None:
    """Serve until Ctrl-C or SIGTERM; `timeout` overrides every wall-time limit;
    `processes` > 1 runs that many server processes on one socket."""
    config = _for_this_run(config, host, port, timeout)
    reporter = LineReporter(echo, color=color, verbosity=verbosity)
    if processes > 1:
        serve_processes(config, processes, reporter, echo, watch)
        return
    app = create_app(config, reporter=reporter)
    try:  # the workers go with the server, however it stops
        http = make_server(
            config.server.host, config.server.port, app, threaded=True,
            request_handler=RedactingHandler,
        )  # fmt: skip
        watcher = Watcher.for_app(app) if watch else None
        banner(app, base_url(config.server.host, http.port), echo, watch_line(watcher))
        _serve_forever(http, watcher, echo)
    finally:
        app.close()


def _for_this_run(
    config: Config, host: str | None, port: int | None, timeout: float | None
) -> Config:
    if timeout is not None:
        config = limits.with_timeout(config, timeout)
    server_config = dataclasses.replace(
        config.server,
        host=host or config.server.host,
        port=config.server.port if port is None else port,
    )
    if not port_free(server_config.host, server_config.port):
        raise ConfigError(
            f"cannot listen on {server_config.host}:{server_config.port}: the port is in use "
            f"or the address is not local. Pass --port N, or set server.port in config.yaml."
        )
    return dataclasses.replace(config, server=server_config)


def _serve_forever(http: BaseWSGIServer, watcher: Watcher | None, echo: Echo) -> None:
    if watcher:
        watcher.start()
    with stop_on_signals(http):
        try:
            http.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            echo("stopping")
            if watcher:
                watcher.stop()
            http.server_close()


def watch_line(watcher: Watcher | None) -> str:
    if watcher:
        return watcher.describe()
    return "Not watching for changes (--no-watch): restart to load edited scripts."


def serve_processes(
    config: Config, processes: int, reporter: LineReporter, echo: Echo, watch: bool
) -> None:
    """N server processes accepting from one socket, each with its own app (own
    workers, own SQLite connections, own watcher); the store keeps them agreed."""
    sock = prefork.listen(config.server.host, config.server.port)
    base = base_url(config.server.host, sock.getsockname()[1])
    # The banner comes from an app without workers: the children make their own.
    preview = create_app(config, runner=InProcessRunner(config.entry_point))
    try:
        watching = (
            "Watching functions/ and config.yaml in every process." if watch else None
        )
        banner(preview, base, echo, watching or watch_line(None))
    finally:
        preview.close()
    echo(f"{processes} server processes share {base}.")

    def child(slot: int) -> None:
        app = create_app(config, reporter=reporter)
        try:
            http = make_server(
                config.server.host, config.server.port, app, threaded=True,
                request_handler=RedactingHandler, fd=sock.fileno(),
            )  # fmt: skip
            # Every process reloads; only the first says so, once for all.
            quiet = reporter if slot == 0 else NullReporter()
            watcher = (
                Watcher(app.registry, quiet, config_file=_config_file(app))
                if watch
                else None
            )
            _serve_forever(http, watcher, lambda text: None)
        finally:
            app.close()

    try:
        prefork.Supervisor(processes, child, echo).run()
    finally:
        sock.close()
    echo("stopping")


def _config_file(app: Emulator) -> Path:
    return config_file_of(app.config.root, app.config.source)


@contextmanager
def stop_on_signals(http: BaseWSGIServer) -> Iterator[None]:
    """SIGTERM and Ctrl-C stop the server between two requests: serve_forever
    returns, then the workers are closed. Not a KeyboardInterrupt raised
    wherever the main thread is: raised while it hands a new connection to its
    thread, it closes that connection under the thread's feet (a traceback on
    the console). A second signal stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signalled: list[int] = []

    def stop(signum: int, frame: object) -> None:
        if signalled:
            raise KeyboardInterrupt
        signalled.append(signum)
        # shutdown() waits for serve_forever, which runs in this (main) thread.
        threading.Thread(target=http.shutdown, name="stop", daemon=True).start()

    previous = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def execute_url(base: str, name: str) -> str:
    return f"{base}/crm/v2/functions/{name}/actions/execute"


def banner(app: Emulator, base: str, echo: Echo, watching: str = "") -> None:
    config = app.config
    echo(f"zcrm-emulator serving {config.root} ({config.source})")
    scripts = app.registry.all()
    echo(f"Functions ({len(scripts)}) in {config.functions_path}:")
    for script in scripts:
        if script.ok:
            echo(
                f"  {script.name:24} {execute_url(base, script.name)}  v{script.version}"
            )
        for problem in script.problems:
            echo(f"  {script.name:24} LOAD ERROR {problem.where()}: {problem.message}")
    if not scripts:
        echo(f"  none yet: add a script such as {config.functions_dir}/hello.py")
    for warning in registry.warnings(
        config.functions_path, [s.name for s in scripts], config.functions
    ):
        echo(f"  note: {warning}")
    echo(limits_line(app))
    key = _key_to_show(app)
    echo(f"API key: {key}")
    names = [s.name for s in scripts if s.ok]
    example = "hello" if "hello" in names else (names or ["hello"])[0]
    if API_KEY_PATTERN.match(key):  # a usable key, not a masked one
        echo("Try it:")
        echo(f"  curl '{execute_url(base, example)}?auth_type=apikey&zapikey={key}'")
    for line in oauth_lines(app, base):
        echo(line)
    if watching:
        echo(watching)
    echo("A development tool, not a hosting platform. Ctrl-C stops it.")


def oauth_lines(app: Emulator, base: str) -> list[str]:
    """What a caller needs for OAuth: the accounts URL and a client to use."""
    accounts_url = app.config.oauth.accounts_url or base
    lines = [
        f"OAuth accounts URL: {accounts_url}  (token URL {accounts_url}{TOKEN_PATH})"
    ]
    listed = app.issuer.clients.list()
    if not listed:
        lines.append(
            "  no OAuth clients: add one under oauth.clients in config.yaml or with "
            "'zcrm-emulator clients add'; 'zcrm-emulator token' prints a token pair"
        )
        return lines
    client = listed[0]
    lines.append(f"  client {client.title}: {client.client_id}")
    if client.redirect_uris:
        # Prefer a redirect URI on this server (the sample's callback page).
        ours = [u for u in client.redirect_uris if u.startswith(base + "/")]
        redirect_uri = (ours or list(client.redirect_uris))[0]
        url = consent_url(accounts_url, client.client_id, redirect_uri)
        lines.append(f"  consent page: {url}")
        if not ours and "/__emulator__/" in redirect_uri:  # an emulator's callback page
            lines.append(
                f"  (it redirects to {redirect_uri}, the URI registered for this client, "
                f"not to this server; serve on that port, or register a URI of this one "
                f"with 'zcrm-emulator clients add')"
            )
    return lines


def limits_line(app: Emulator) -> str:
    given = app.config.limits
    workers = getattr(app.runner, "size", None)
    pool = f", {workers} workers" if workers else ""
    return (
        f"Limits per call: {given.timeout_seconds:g} s, {given.statements} statements, "
        f"{given.memory_mb} MB{pool} (config.yaml: limits)"
    )


def _key_to_show(app: Emulator) -> str:
    """A usable key to print: one seeded in config.yaml, or one created now."""
    for seed in app.config.api_keys:
        if app.keys.owner(seed.key):
            return seed.key
    created = app.keys.ensure_one(app.config.users[0].id)
    if created:
        return created
    active = [k for k in app.keys.list() if k.active]
    return (
        f"{active[0].masked} (secret shown when it was created; "
        f"'zcrm-emulator keys regenerate' prints a new one)"
    )
