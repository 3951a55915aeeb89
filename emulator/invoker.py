"""Call a function through the whole stack in-process, without a server.

Used by `zcrm-emulator invoke` and by the pytest plugin: the request goes
through routing, authentication, crmAPIRequest, the runner and the envelopes,
exactly as an HTTP call would.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass, field
from typing import Any

from werkzeug.test import Client

from .app import Emulator, create_app
from .auth import APIKEY, OAUTH, ZOHO_SCHEME
from .config import Config
from .errors import UsageError
from .oauth import Issued
from .reporter import Invocation, NullReporter, Reporter
from .scopes import CREATE_SCOPE, READ_SCOPE

DEFAULT_SCOPES = (READ_SCOPE, CREATE_SCOPE)


@dataclass(frozen=True)
class Result:
    """What one call answered, parsed for assertions."""

    status: int
    headers: dict[str, str]
    text: str
    envelope: Any  # the parsed JSON body, or None when the body is not JSON
    version: str
    info: tuple[str, ...] = ()
    printed: tuple[str, ...] = ()
    invocation: Invocation | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        return self.envelope.get("code") if isinstance(self.envelope, dict) else None

    @property
    def message(self) -> str | None:
        return self.envelope.get("message") if isinstance(self.envelope, dict) else None

    @property
    def details(self) -> dict[str, Any]:
        if isinstance(self.envelope, dict) and isinstance(
            self.envelope.get("details"), dict
        ):
            return dict(self.envelope["details"])
        return {}

    @property
    def user_message(self) -> list[str]:
        return list(self.details.get("userMessage", []))

    @property
    def output(self) -> Any:
        """details.output, parsed when it is JSON text; for a custom response, its body."""
        if self.code == "success" and "output" in self.details:
            return _maybe_json(self.details["output"])
        if self.envelope is not None:
            return self.envelope
        return self.text


def _maybe_json(text: str) -> Any:
    try:
        return jsonlib.loads(text)
    except ValueError:
        return text


class _Capture:
    """Passes records on, keeping the last one for the Result."""

    def __init__(self, inner: Reporter) -> None:
        self.inner = inner
        self.last: Invocation | None = None

    def invocation(self, record: Invocation) -> None:
        self.last = record
        self.inner.invocation(record)

    def note(self, text: str) -> None:
        self.inner.note(text)


class Invoker:
    def __init__(
        self, config: Config, reporter: Reporter | None = None, **options: Any
    ) -> None:
        self.capture = _Capture(reporter or NullReporter())
        self.app: Emulator = create_app(config, reporter=self.capture, **options)
        self.client = Client(self.app)
        self._keys: dict[str, tuple[int, str]] = {}
        self._tokens: dict[tuple[str, tuple[str, ...]], Issued] = {}
        self._made_client = ""

    def close(self) -> None:
        for key_id, _ in self._keys.values():
            self.app.keys.delete(key_id)
        for issued in self._tokens.values():
            if issued.refresh_token:
                self.app.issuer.revoke(issued.refresh_token)
        if self._made_client:
            self.app.issuer.clients.remove(self._made_client)
            self._made_client = ""
        self._keys.clear()
        self._tokens.clear()
        self.app.close()

    def __enter__(self) -> Invoker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def api_key(self, user: str = "") -> str:
        """A working zapikey of `user` (e-mail or id), made once and removed on close."""
        user_id = self.app.config.user(user).id
        if user_id not in self._keys:
            key, secret = self.app.keys.create(user_id, "invoker (temporary)")
            self._keys[user_id] = (key.id, secret)
        return self._keys[user_id][1]

    def token(self, user: str = "", scopes: tuple[str, ...] | None = None) -> str:
        """A working access token of `user` with `scopes` (default: READ and CREATE),
        issued as Zoho's Self Client does; revoked on close."""
        user_id = self.app.config.user(user).id
        wanted = tuple(scopes) if scopes is not None else DEFAULT_SCOPES
        if (user_id, wanted) not in self._tokens:
            client, secret = self.app.issuer.client_for_tokens()
            if secret:  # made just now: it goes on close, as the tokens do
                self._made_client = client.client_id
            self._tokens[(user_id, wanted)] = self.app.issuer.self_client(
                client, user_id, wanted
            )
        return self._tokens[(user_id, wanted)].access_token

    def advance_clock(self, seconds: float) -> float:
        """Move the emulated clock forward (token and code expiry follow it)."""
        return self.app.clock.advance(seconds)

    def invoke(
        self,
        name: str,
        *,
        params: dict[str, Any] | None = None,
        body: str | bytes | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        method: str | None = None,
        auth: str = APIKEY,
        user: str = "",
        scopes: tuple[str, ...] | None = None,
        version: str = "v2",
    ) -> Result:
        query, extra_headers = self._auth(auth, user, scopes)
        query.extend((k, _text(v)) for k, v in (params or {}).items())
        all_headers = {**extra_headers, **(headers or {})}
        data: Any = body
        if json is not None:
            data = jsonlib.dumps(json)
            all_headers.setdefault("Content-Type", "application/json")
        if files:
            data = {**(data if isinstance(data, dict) else {}), **files}
        verb = method or ("POST" if data is not None else "GET")
        self.capture.last = None
        response = self.client.open(
            f"/crm/{version}/functions/{name}/actions/execute",
            method=verb,
            query_string=query,
            data=data,
            headers=all_headers,
        )
        record = self.capture.last
        return Result(
            status=response.status_code,
            headers=dict(response.headers),
            text=response.get_data(as_text=True),
            envelope=response.get_json(silent=True, force=True),
            version=response.headers.get("X-Function-Version", ""),
            info=record.info if record else (),
            printed=record.printed if record else (),
            invocation=record,
        )

    def _auth(
        self, auth: str, user: str, scopes: tuple[str, ...] | None
    ) -> tuple[list[tuple[str, str]], dict[str, str]]:
        if auth == APIKEY:
            return [("auth_type", APIKEY), ("zapikey", self.api_key(user))], {}
        if auth == OAUTH:
            header = f"{ZOHO_SCHEME} {self.token(user, scopes)}"
            return [("auth_type", OAUTH)], {"Authorization": header}
        if auth == "none":
            return [], {}
        raise UsageError(f"auth must be 'apikey', 'oauth' or 'none'; found '{auth}'")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return jsonlib.dumps(value, separators=(",", ":"))
