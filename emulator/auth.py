"""Who is calling: the chain of authenticators of the execute endpoint.

`auth_type` in the query string picks the authenticator (Zoho: `apikey` or
`oauth`); it returns a `Principal` or raises an `AuthError` that becomes
Zoho's envelope in `app`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from werkzeug.wrappers import Request

from . import errors, grants, scopes, tokens
from .apikeys import KeyStore
from .config import Config, UserConfig
from .errors import AuthError, ConfigError
from .grants import TokenRecord
from .oauth import Issuer
from .tokens import ZAPIKEY

AUTH_TYPE = "auth_type"
APIKEY = "apikey"
OAUTH = "oauth"
ZOHO_SCHEME = "Zoho-oauthtoken"
BEARER = "Bearer"
TOKEN_SHAPE = re.compile(r"^\d{4}\.[0-9a-f]{32}\.[0-9a-f]{32}$")


@dataclass(frozen=True)
class Principal:
    user: UserConfig
    auth_type: str
    scopes: frozenset[str] = field(default=frozenset())


class Authenticator(Protocol):
    def authenticate(self, request: Request) -> Principal: ...


def authentication_failed(hint: str) -> AuthError:
    return AuthError(
        "Authentication failed",
        code=errors.AUTHENTICATION_FAILURE,
        details={"hint": hint},
    )


class ApiKeyAuth:
    """`auth_type=apikey&zapikey=...`: the key is only ever read from the URL (Zoho)."""

    def __init__(self, keys: KeyStore, config: Config) -> None:
        self.keys = keys
        self.config = config

    def authenticate(self, request: Request) -> Principal:
        secret = request.args.get(ZAPIKEY, "")
        if not secret:
            raise self._missing(request)
        owner = self.keys.owner(secret)
        if owner is None:
            raise AuthError(
                "invalid api key",
                code=errors.INVALID_API_KEY,
                details={
                    "hint": "the zapikey is unknown or revoked; run 'zcrm-emulator keys list' "
                    "to see the active keys, or 'zcrm-emulator keys create' for a new one"
                },
            )
        try:
            return Principal(self.config.user(owner), APIKEY)
        except ConfigError as exc:
            raise AuthError(
                "invalid api key",
                code=errors.INVALID_API_KEY,
                details={
                    "hint": f"the key belongs to user {owner}, who is no longer in "
                    f"config.yaml; add the user back or create a key for another user"
                },
            ) from exc

    def _missing(self, request: Request) -> AuthError:
        misplaced = request.headers.get(ZAPIKEY) is not None or ZAPIKEY in request.form
        if misplaced:
            return AuthError(
                "the API key must be sent in the URL as the zapikey query parameter, "
                "not in a header or the body",
                code=errors.INVALID_API_KEY,
                details={"hint": "call ...?auth_type=apikey&zapikey=<key>"},
            )
        return AuthError(
            "invalid api key",
            code=errors.INVALID_API_KEY,
            details={
                "hint": "add &zapikey=<key> to the URL; 'zcrm-emulator keys list' shows the keys"
            },
        )


class OAuthAuth:
    """`auth_type=oauth` + `Authorization: Zoho-oauthtoken <access token>` (Zoho).

    GET needs ZohoCRM.functions.execute.READ, POST needs ...CREATE (Zoho).
    """

    def __init__(self, issuer: Issuer, config: Config) -> None:
        self.issuer = issuer
        self.config = config

    def authenticate(self, request: Request) -> Principal:
        secret = self._token(request)
        record = self.issuer.inspect(secret)
        problem = self._problem(secret, record, request)
        if problem or record is None:
            raise invalid_token(problem)
        try:
            user = self.config.user(record.user_id)
        except ConfigError:
            raise invalid_token(
                f"the token's user {record.user_id} is no longer in config.yaml; "
                f"get a new token for one of the emulated users"
            ) from None
        needed = scopes.READ_SCOPE if request.method == "GET" else scopes.CREATE_SCOPE
        if not scopes.scope_allows(record.scopes, needed, self.config.oauth.all_scopes):
            raise AuthError(
                "invalid oauth scope to access this URL",
                code=errors.OAUTH_SCOPE_MISMATCH,
                details={
                    "hint": f"{request.method} needs the scope {needed}; the token has "
                    f"{', '.join(record.scopes) or 'none'}. Get a token with that scope."
                },
            )
        return Principal(user, OAUTH, frozenset(record.scopes))

    def _token(self, request: Request) -> str:
        header = request.headers.get("Authorization", "").strip()
        scheme, _, token = header.partition(" ")
        schemes = [ZOHO_SCHEME.lower()]
        if self.config.oauth.accept_bearer:
            schemes.append(BEARER.lower())
        if scheme.lower() in schemes and token.strip():
            return token.strip()
        found = f"'{tokens.mask(header)}'" if header else "no Authorization header"
        return_hint = (
            f"send the header 'Authorization: {ZOHO_SCHEME} <access token>'; found "
            f"{found}"
        )
        if scheme.lower() == BEARER.lower():
            return_hint += " (Bearer is accepted only with oauth.accept_bearer: true)"
        raise authentication_failed(return_hint)

    def _problem(
        self, secret: str, record: TokenRecord | None, request: Request
    ) -> str:
        if record is None:
            if secret.startswith(tokens.API_KEY_PREFIX + "."):
                return "this is an API key; call with auth_type=apikey&zapikey=<key>"
            if not TOKEN_SHAPE.match(secret):
                return (
                    f"expected an access token like 1000.<32 hex>.<32 hex>; found "
                    f"'{tokens.mask(secret)}'; get a local one {_where(request)}"
                )
            return (
                f"this token was not issued by this emulator (a token from Zoho's own "
                f"accounts server works only there; a reset state database forgets "
                f"tokens); get a local one {_where(request)}"
            )
        now = self.issuer.clock.now()
        if record.kind != grants.ACCESS:
            return (
                "this is a refresh token; exchange it for an access token with "
                "POST /oauth/v2/token and grant_type=refresh_token"
            )
        if record.revoked_at is not None:
            return (
                f"the access token was {_revoked(record.revoked_reason)}; get a new "
                f"one {_where(request)}"
            )
        if record.expired(now):
            assert record.expires_at is not None
            return (
                f"the access token expired {now - record.expires_at:.0f} s ago "
                f"(tokens live {record.expires_at - record.created_at:.0f} s); get a new "
                f"one with grant_type=refresh_token"
            )
        return ""


def _where(request: Request) -> str:
    """Where a token comes from (built only for a refused call)."""
    return (
        f"from the consent page at {request.host_url}oauth/v2/auth or with "
        f"'zcrm-emulator token --scope {scopes.READ_SCOPE},{scopes.CREATE_SCOPE}'"
    )


def invalid_token(hint: str) -> AuthError:
    return AuthError(
        "invalid oauth token", code=errors.INVALID_TOKEN, details={"hint": hint}
    )


def _revoked(reason: str | None) -> str:
    return {
        "evicted": "evicted: its refresh token made more live access tokens than "
        "oauth.throttle.live_access_tokens allows, and the oldest go first",
        "refresh_revoked": "revoked with its refresh token",
        "refresh_evicted": "revoked with its refresh token, evicted by the "
        "refresh-tokens-per-user limit",
        "client_removed": "revoked when its OAuth client was removed",
    }.get(reason or "", "revoked")


class Chain:
    """Picks the authenticator named by `auth_type`."""

    def __init__(self, by_type: dict[str, Authenticator]) -> None:
        self.by_type = by_type

    def authenticate(self, request: Request) -> Principal:
        auth_type = request.args.get(AUTH_TYPE)
        authenticator = self.by_type.get(auth_type or "")
        if authenticator is None:
            found = (
                f"'{auth_type}'" if auth_type is not None else "no auth_type parameter"
            )
            raise authentication_failed(
                f"the query parameter auth_type must be apikey or oauth; found {found}"
            )
        return authenticator.authenticate(request)
