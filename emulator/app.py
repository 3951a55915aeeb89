"""The WSGI application: routing and the one place where errors become responses."""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import arguments, crm_request, errors, oauth, responses
from . import registry as registry_module
from .accounts import Accounts
from .apikeys import KeyStore
from .auth import APIKEY, OAUTH, ApiKeyAuth, Authenticator, Chain, OAuthAuth, Principal
from .clock import Clock
from .config import Config
from .control import ClockEndpoint
from .devapi import DevApi
from .errors import AccountsError, EmulatorError, PageError
from .history import History
from .outcome import Outcome
from .registry import Registry, Script
from .reporter import Invocation, NullReporter, Reporter
from .responses import Reply
from .runner import Runner
from .store import Store
from .workers import WorkerRunner

VERSIONS = frozenset({"v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"})
METHODS = ("GET", "POST")
VERSION_HEADER = "X-Function-Version"
EXECUTE_PATH = "/crm/<version>/functions/<api_name>/actions/execute"
# The execute rule as a regular expression: the hot path skips the URL map
# (same match as the rule: werkzeug's default converter, optional final slash).
EXECUTE_PATTERN = re.compile(r"/crm/([^/]+)/functions/([^/]+)/actions/execute/?")

URL_HINT = (
    "functions are served at /crm/v2/functions/<api_name>/actions/execute"
    "?auth_type=apikey&zapikey=<key> (versions v2, v2.1, v3 to v8)"
)


def not_found(hint: str = URL_HINT) -> EmulatorError:
    return errors.NotFound(
        "Please check if the URL trying to access is a correct one",
        details={"hint": hint},
    )


@dataclass
class Call:
    """What the execute view learned about one call, for the console line."""

    function: str
    principal: Principal | None = None
    script: Script | None = None
    request: dict[str, Any] | None = None
    outcome: Outcome | None = None
    error: EmulatorError | None = None


class Emulator:
    """One emulated org: its config, store, functions and runner. No shared state."""

    def __init__(
        self,
        config: Config,
        *,
        reporter: Reporter | None = None,
        clock: Clock | None = None,
        runner: Runner | None = None,
    ) -> None:
        self.config = config
        self.reporter = reporter or NullReporter()
        self.store = Store(config.state_path)
        self.clock = clock or Clock(self.store)
        self.keys = KeyStore(self.store, self.clock)
        self.keys.seed(config)
        self.registry = Registry(config.functions_path, config.root, config.entry_point)
        self.registry.load_all()
        self.runner = runner or WorkerRunner.from_config(config)
        self.history = History(config.state_path.parent, config.history, self.reporter)
        self.issuer = oauth.build(config, self.store, self.clock)
        self.accounts = Accounts(self.issuer, config)
        self.authenticators: dict[str, Authenticator] = {
            APIKEY: ApiKeyAuth(self.keys, config),
            OAUTH: OAuthAuth(self.issuer, config),
        }
        self.auth = Chain(self.authenticators)
        self.devapi = DevApi(self.registry, self.history)
        clock_endpoint = ClockEndpoint(self.clock, config.oauth.clock_endpoint)
        self.url_map = Map(
            [
                Rule(EXECUTE_PATH, endpoint="execute"),
                *self.devapi.rules(),
                *self.accounts.rules(),
                *clock_endpoint.rules(),
            ],
            strict_slashes=False,
        )

    def close(self) -> None:
        self.runner.close()
        self.history.close()
        self.store.close()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        # One byte over the limit: a chunked body (no Content-Length) is cut at
        # this size by Werkzeug without an error, so reading limit + 1 bytes is
        # how a body over the limit shows itself (see _read_body).
        request.max_content_length = self.config.limits.request_bytes + 1
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Reply | Response:
        try:
            execute = EXECUTE_PATTERN.fullmatch(request.path)
            if execute is not None:
                return self.view_execute(request, *execute.groups())
            adapter = self.url_map.bind_to_environ(request.environ)
            try:
                endpoint, values = adapter.match(method=request.method)
            except HTTPException as exc:
                raise not_found() from exc
            view = endpoint if callable(endpoint) else getattr(self, f"view_{endpoint}")
            response: Response = view(request, **values)
            return response
        except EmulatorError as exc:
            if isinstance(exc, AccountsError | PageError):
                self.reporter.note(
                    f"{request.method} {request.path} -> {exc.status} {exc.code}: "
                    f"{exc.message}"
                )
            return responses.error(exc)
        # The WSGI top level: a bug of ours becomes a 500 envelope and a console
        # note with the traceback, never a traceback sent to the caller.
        except Exception:  # noqa: BLE001
            self.reporter.note(traceback.format_exc())
            return responses.error(
                EmulatorError(
                    "internal error in the emulator; the console shows the details"
                )
            )

    def view_execute(
        self, request: Request, version: str, api_name: str
    ) -> Reply | Response:
        started = time.perf_counter()
        call = Call(api_name)
        response: Reply | Response
        try:
            response = self._execute(request, version, call)
        except EmulatorError as exc:
            call.error = exc
            response = responses.error(exc)
        if call.script is not None and call.script.version:
            if isinstance(response, Reply):
                response.headers.append((VERSION_HEADER, call.script.version))
            else:
                response.headers[VERSION_HEADER] = call.script.version
        self._report(request, call, response, started)
        return response

    def _execute(self, request: Request, version: str, call: Call) -> Reply | Response:
        if version not in VERSIONS:
            raise not_found(f"unknown API version '{version}'; " + URL_HINT)
        if request.method not in METHODS:
            raise errors.BadRequest(
                "The http request method type is not a valid one",
                code=errors.INVALID_REQUEST_METHOD,
                details={
                    "hint": f"call functions with GET or POST, not {request.method}"
                },
            )
        body = self._read_body(request)
        call.principal = principal = self.auth.authenticate(request)
        script = self._script(call, principal)
        call.request = crm = crm_request.build(
            request, body, principal, self.config.org
        )
        kwargs = arguments.bind(script.compiled.params, crm)
        call.outcome = outcome = self.runner.run(script, kwargs, principal.user.id)
        return responses.from_outcome(
            outcome, principal.user.id, self.config.limits.response_bytes
        )

    def _read_body(self, request: Request) -> bytes:
        limit = self.config.limits.request_bytes
        too_large = errors.TooLarge(
            f"request body too large: the limit is {limit} bytes. Send less data, or "
            f"raise limits.request_bytes in config.yaml.",
            details={"limit": "request_bytes", "value": limit},
        )
        if (request.content_length or 0) > limit:
            raise too_large
        if request.content_length is None and not _unbounded(request):
            return b""  # werkzeug reads no body then either: nothing to parse
        try:
            body = request.get_data(cache=True)
            if len(body) > limit:
                raise too_large
            request.form  # noqa: B018 - parse now, inside the size limit
        except RequestEntityTooLarge as exc:
            raise too_large from exc
        return body

    def _unknown_function_hint(self, name: str) -> str:
        file = self.config.functions_path / f"{name}.py"
        if file.is_file() and registry_module.api_name(file) is None:
            return registry_module.misnamed_hint(file)
        known = ", ".join(s.name for s in self.registry.all()) or "none"
        return f"no function named '{name}'; the functions are: {known}"

    def _script(self, call: Call, principal: Principal) -> Script:
        name = call.function
        # One lookup per call: the version header names the entry this call used,
        # even when a reload swaps it meanwhile or the script does not load.
        call.script = script = self.registry.get(name)
        if script is None:
            raise not_found(self._unknown_function_hint(name))
        rest = self.config.function(name).rest
        if not (rest.apikey if principal.auth_type == APIKEY else rest.oauth):
            mode = "API key" if principal.auth_type == APIKEY else "OAuth"
            raise errors.BadRequest(
                f"REST API access with {mode} is not enabled for function '{name}'",
                code=errors.NOT_ACTIVE,
                details={
                    "hint": f"set functions.{name}.rest.{principal.auth_type}: true in "
                    f"config.yaml and restart"
                },
            )
        if not script.ok:
            raise load_error(script)
        return script

    def _report(
        self, request: Request, call: Call, response: Reply | Response, started: float
    ) -> None:
        outcome, error, principal = call.outcome, call.error, call.principal
        record = Invocation(
            # Real time: the history says when a call happened; the emulated
            # clock (moved for expiry tests) is for tokens and codes.
            at=self.clock.wall(),
            method=request.method,
            function=call.function,
            status=response.status_code,
            auth_type=principal.auth_type if principal else "",
            user_id=principal.user.id if principal else "",
            duration_ms=(time.perf_counter() - started) * 1000,
            version=call.script.version if call.script else "",
            code=_code(error, outcome),
            message=error.message if error else "",
            info=outcome.info if outcome else (),
            printed=outcome.printed if outcome else (),
            request=crm_request.redacted(call.request) if call.request else None,
            response=response.get_data(as_text=True),
        )
        self.history.record(record)
        self.reporter.invocation(record)


def _code(error: EmulatorError | None, outcome: Outcome | None) -> str:
    """The console's word for a call: the error code, or how the function answered
    (its own crmAPIResponse may carry any status, so it is not called success)."""
    if error is not None:
        return error.code
    if outcome is not None and responses.is_custom(outcome.value):
        return "crmAPIResponse"
    return "success"


def _unbounded(request: Request) -> bool:
    """A body without a length that the server still delimits (chunked)."""
    return bool(request.environ.get("wsgi.input_terminated"))


def load_error(script: Script) -> EmulatorError:
    lines = "; ".join(f"{p.where()}: {p.message}" for p in script.problems)
    return errors.FunctionLoadError(
        f"{script.display} could not be loaded: {lines}",
        details={
            "errors": [
                {"file": p.file, "line": p.line, "message": p.message}
                for p in script.problems
            ]
        },
    )


def create_app(config: Config, **options: Any) -> Emulator:
    """The WSGI app for one project. Options: reporter, clock, runner."""
    return Emulator(config, **options)


__all__ = ["OAUTH", "Emulator", "create_app"]
