"""The HTTP endpoints of the fake Zoho Accounts (DESIGN 2.5).

`GET /oauth/v2/auth` shows the consent page and `POST /oauth/v2/auth` takes its
answer; `POST /oauth/v2/token` and `POST /oauth/v2/token/revoke` speak Zoho's
JSON. `/__emulator__/oauth/callback` is a redirect target for trying the flow
by hand: it shows the code and the command that exchanges it.
"""

from __future__ import annotations

import shlex
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import consent, pages, responses
from .config import Config, UserConfig
from .consent import AuthRequest
from .errors import ConfigError, PageError
from .oauth import Issuer, own_error
from .scopes import CREATE_SCOPE, READ_SCOPE

EMULATOR_PREFIX = "/__emulator__"
AUTH_PATH = "/oauth/v2/auth"
TOKEN_PATH = "/oauth/v2/token"
REVOKE_PATH = "/oauth/v2/token/revoke"
CALLBACK_PATH = f"{EMULATOR_PREFIX}/oauth/callback"
APPROVE, DENY = "approve", "deny"


def base_url(request: Request) -> str:
    """The emulator's own URL as the caller reached it."""
    return request.host_url.rstrip("/")


class Accounts:
    def __init__(self, issuer: Issuer, config: Config) -> None:
        self.issuer = issuer
        self.config = config

    def rules(self) -> list[Rule]:
        return [
            Rule(AUTH_PATH, endpoint=self.authorize),
            Rule(TOKEN_PATH, endpoint=self.token),
            Rule(REVOKE_PATH, endpoint=self.revoke),
            Rule(CALLBACK_PATH, endpoint=self.callback),
        ]

    def accounts_url(self, request: Request) -> str:
        return self.config.oauth.accounts_url or base_url(request)

    def api_domain(self, request: Request) -> str:
        return self.config.oauth.api_domain or base_url(request)

    # -- consent ------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        params = dict(request.values.items())
        auth = consent.parse(params, self.issuer.clients)
        if request.method == "POST":
            return self._decide(request, auth, params)
        if request.method not in ("GET", "HEAD"):
            raise PageError(
                "Method not allowed",
                f"open the consent page with GET and answer it with POST; found "
                f"{request.method}",
                status=405,
            )
        return pages.consent_page(
            pages.Consent(
                action=request.path,
                client_name=auth.client.title,
                client_id=auth.client.client_id,
                scopes=auth.scopes,
                users=self.config.users,
                hidden=_hidden_fields(auth),
                offline=auth.access_type == "offline",
            )
        )

    def _decide(
        self, request: Request, auth: AuthRequest, params: dict[str, str]
    ) -> Response:
        decision = params.get("decision", "")
        if decision == DENY:
            return self._back(auth, {"error": "access_denied"})
        if decision != APPROVE:
            raise PageError(
                "Missing decision",
                f"the consent form answers with decision=approve or decision=deny; "
                f"found '{decision}'",
            )
        user = self._user(params.get("user", ""))
        code = self.issuer.issue_code(auth, user.id)
        return self._back(
            auth,
            {
                "code": code,
                "location": self.config.oauth.location,
                "accounts-server": self.accounts_url(request),
            },
        )

    def _user(self, ref: str) -> UserConfig:
        if not ref:
            raise PageError(
                "Missing user",
                "pick the emulated user who approves: send user=<id or e-mail>",
            )
        try:
            return self.config.user(ref)
        except ConfigError as exc:
            raise PageError("Unknown user", exc.message) from None

    def _back(self, auth: AuthRequest, values: dict[str, str]) -> Response:
        if auth.state is not None:
            values["state"] = auth.state
        return redirect(with_query(auth.redirect_uri, values), code=302)

    # -- tokens ----------------------------------------------------------------

    def token(self, request: Request) -> Response:
        _require_post(request)
        issued = self.issuer.token(dict(request.values.items()))
        return responses.json_response(issued.body(self.api_domain(request)))

    def revoke(self, request: Request) -> Response:
        _require_post(request)
        secret = request.values.get("token", "")
        if not secret:
            error = own_error(
                "invalid_request",
                "missing parameter token: send the refresh or access token to revoke "
                "as ?token=...",
            )
            error.status = 400
            raise error
        self.issuer.revoke(secret)
        return responses.json_response({"status": "success"})

    # -- the sample redirect target -------------------------------------------

    def callback(self, request: Request) -> Response:
        values = dict(request.args.items())
        return pages.callback_page(values, self._exchange_command(request, values))

    def _exchange_command(self, request: Request, values: dict[str, str]) -> str:
        code = values.get("code", "")
        client = self.issuer.code_client(code) if code else None
        if client is None:
            return ""
        secret = next(
            (
                c.client_secret
                for c in self.config.oauth.clients
                if c.client_id == client.client_id
            ),
            "<client secret>",
        )
        form = {
            "grant_type": "authorization_code",
            "client_id": client.client_id,
            "client_secret": secret,
            "redirect_uri": base_url(request) + request.path,
            "code": code,
        }
        url = values.get("accounts-server") or self.accounts_url(request)
        data = shlex.quote(urlencode(form))
        return f"curl -X POST {shlex.quote(url + TOKEN_PATH)} \\\n  -d {data}"


def _require_post(request: Request) -> None:
    if request.method != "POST":
        error = own_error(
            "invalid_request",
            f"{request.path} takes POST with its parameters in the query string or "
            f"the form body; found {request.method}",
        )
        error.status = 405
        raise error


def _hidden_fields(auth: AuthRequest) -> tuple[tuple[str, str], ...]:
    fields = [
        ("client_id", auth.client.client_id),
        ("response_type", "code"),
        ("redirect_uri", auth.redirect_uri),
        ("scope", ",".join(auth.scopes)),
        ("access_type", auth.access_type),
    ]
    if auth.prompt:
        fields.append(("prompt", auth.prompt))
    if auth.state is not None:
        fields.append(("state", auth.state))
    return tuple(fields)


def consent_url(accounts_url: str, client_id: str, redirect_uri: str) -> str:
    """A consent-page URL asking for both function scopes, offline."""
    return with_query(
        accounts_url + AUTH_PATH,
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": f"{READ_SCOPE},{CREATE_SCOPE}",
            "access_type": "offline",
        },
    )


def with_query(url: str, values: dict[str, str]) -> str:
    """`url` with `values` added to its query string."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(values.items())
    return urlunsplit(parts._replace(query=urlencode(query, safe=",:/")))
