"""Who is calling: the chain of authenticators of the execute endpoint.

`auth_type` in the query string picks the authenticator (Zoho: `apikey` or
`oauth`); it returns a `Principal` or raises an `AuthError` that becomes
Zoho's envelope in `app`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from werkzeug.wrappers import Request

from . import errors
from .apikeys import KeyStore
from .config import Config, UserConfig
from .errors import AuthError, ConfigError
from .tokens import ZAPIKEY

AUTH_TYPE = "auth_type"
APIKEY = "apikey"
OAUTH = "oauth"


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


class Chain:
    """Picks the authenticator named by `auth_type`."""

    def __init__(self, by_type: dict[str, Authenticator]) -> None:
        self.by_type = by_type

    def authenticate(self, request: Request) -> Principal:
        auth_type = request.args.get(AUTH_TYPE)
        authenticator = self.by_type.get(auth_type or "")
        if authenticator is None:
            found = f"'{auth_type}'" if auth_type is not None else "none"
            raise authentication_failed(
                f"the query parameter auth_type must be apikey or oauth; found {found}"
            )
        return authenticator.authenticate(request)
